"""Survival families: what a fit needs to know about each distribution (flexsurv's parameterisation, transforms,
location parameter and starting values), and :func:`family` to look one up by name or alias.

The distributions themselves are in :mod:`heecon.survival.distributions`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .distributions import (
    Exponential,
    Gamma,
    GeneralizedGamma,
    Gompertz,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    SurvivalDistribution,
    Weibull,
    _arr,
)

__all__ = ["DISTRIBUTION_NAMES", "Family", "family"]


@dataclass(frozen=True)
class Family:
    """How a distribution is fitted: its coefficients on flexsurv's transformed scale.

    Attributes
    ----------
    name, label : str
        flexsurv's name (``"weibull"``) and a display name (``"Weibull"``).
    parameters : tuple of str
        Parameter names, in flexsurv's order.
    transforms : tuple of str
        ``"log"`` or ``"identity"`` for each parameter (flexsurv's ``transforms``).
    location : tuple of int
        Indices of the parameters that covariates act on (flexsurv's location parameter;
        every rate of a piecewise exponential).
    effect : str
        ``"PH"`` when a covariate coefficient is a log hazard ratio, ``"AFT"`` when it
        acts on the time scale.
    cuts : tuple of float
        The cut points of a piecewise exponential; empty otherwise.
    """

    name: str
    label: str
    parameters: tuple[str, ...]
    transforms: tuple[str, ...]
    location: tuple[int, ...]
    effect: str
    cuts: tuple[float, ...] = ()

    @property
    def n_parameters(self) -> int:
        return len(self.parameters)

    def build(self, values: Sequence[Any]) -> SurvivalDistribution:
        """The distribution from its coefficients on the transformed scale (any broadcastable shapes)."""
        nat = [np.exp(_arr(v)) if tr == "log" else _arr(v) for v, tr in zip(values, self.transforms)]
        if self.name == "pwexp":
            return PiecewiseExponential(self.cuts, np.stack(np.broadcast_arrays(*nat), axis=-1))
        return _CLASSES[self.name](*nat)

    def coefficients(self, dist: SurvivalDistribution) -> np.ndarray:
        """The transformed coefficients of a (scalar-parameter) distribution of this family."""
        vals = [float(v) for v in dist.params.values()]
        return np.array([math.log(v) if tr == "log" else v for v, tr in zip(vals, self.transforms)])

    def time_map(self, tau: float) -> tuple[np.ndarray, np.ndarray]:
        """``(factor, shift)`` with ``coef = factor * coef_scaled + shift`` when time is measured in units of ``tau``.

        Fits run on ``t / tau`` (so every family's coefficients are of order one);
        this maps their coefficients back to the data's time unit.
        """
        lt = math.log(tau)
        k = self.n_parameters
        factor, shift = np.ones(k), np.zeros(k)
        if self.name in ("exp", "gamma", "pwexp"):
            shift[[i for i, p in enumerate(self.parameters) if p.startswith("rate")]] = -lt
        elif self.name in ("weibull", "llogis"):
            shift[1] = lt
        elif self.name in ("lnorm", "gengamma"):
            shift[0] = lt
        elif self.name == "gompertz":
            factor[0] = 1.0 / tau
            shift[1] = -lt
        return factor, shift

    def rescaled(self, tau: float) -> Family:
        """The same family with cut points in units of ``tau``."""
        if not self.cuts:
            return self
        return Family(self.name, self.label, self.parameters, self.transforms, self.location, self.effect,
                      tuple(c / tau for c in self.cuts))


_CLASSES: dict[str, Callable[..., SurvivalDistribution]] = {
    "exp": Exponential,
    "weibull": Weibull,
    "gompertz": Gompertz,
    "llogis": LogLogistic,
    "lnorm": LogNormal,
    "gamma": Gamma,
    "gengamma": GeneralizedGamma,
}

_FAMILIES: dict[str, Family] = {
    "exp": Family("exp", "Exponential", ("rate",), ("log",), (0,), "PH"),
    "weibull": Family("weibull", "Weibull", ("shape", "scale"), ("log", "log"), (1,), "AFT"),
    "gompertz": Family("gompertz", "Gompertz", ("shape", "rate"), ("identity", "log"), (1,), "PH"),
    "llogis": Family("llogis", "Log-logistic", ("shape", "scale"), ("log", "log"), (1,), "AFT"),
    "lnorm": Family("lnorm", "Log-normal", ("meanlog", "sdlog"), ("identity", "log"), (0,), "AFT"),
    "gamma": Family("gamma", "Gamma", ("shape", "rate"), ("log", "log"), (1,), "AFT"),
    "gengamma": Family("gengamma", "Generalised gamma", ("mu", "sigma", "Q"), ("identity", "log", "identity"), (0,), "AFT"),
}

_ALIASES = {"exponential": "exp", "lognormal": "lnorm", "loglogistic": "llogis", "generalized gamma": "gengamma",
            "piecewise exponential": "pwexp", "piecewise": "pwexp"}

#: flexsurv names of the distributions, in the order of a default comparison.
DISTRIBUTION_NAMES: tuple[str, ...] = ("exp", "weibull", "gompertz", "llogis", "lnorm", "gamma", "gengamma", "pwexp")


def family(name: str, cuts: Sequence[float] | None = None) -> Family:
    """The `Family` of a distribution by its flexsurv name (``"weibull"``, ``"gengamma"``, ...).

    Parameters
    ----------
    name : str
        One of `DISTRIBUTION_NAMES` (or an alias such as ``"exponential"``, ``"lognormal"``).
    cuts : sequence of float, optional
        Interior cut points; required for ``"pwexp"`` and refused otherwise.
    """
    if not isinstance(name, str):
        raise TypeError(f"The distribution name must be a string; got {type(name).__name__}.")
    key = _ALIASES.get(name.lower(), name.lower())
    if key == "pwexp":
        if cuts is None:
            raise ValueError("A piecewise exponential ('pwexp') needs its cut points: cuts=[...].")
        c = tuple(float(x) for x in np.asarray(cuts, dtype=float).reshape(-1))
        PiecewiseExponential(c, np.ones(len(c) + 1))  # validates the cuts
        k = len(c) + 1
        return Family("pwexp", "Piecewise exponential", tuple(f"rate{j + 1}" for j in range(k)), ("log",) * k,
                      tuple(range(k)), "PH", c)
    if key not in _FAMILIES:
        raise ValueError(f"Unknown survival distribution {name!r}; valid names are {', '.join(DISTRIBUTION_NAMES)}.")
    if cuts is not None:
        raise ValueError(f"cuts are for the piecewise exponential ('pwexp'), not {key!r}.")
    return _FAMILIES[key]
