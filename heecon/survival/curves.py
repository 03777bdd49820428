"""Tidy data for plots of fitted survival curves over the Kaplan-Meier estimate.

The figures themselves belong to ``heecon.report``; this module gives them the
numbers: fitted survival, hazard and cumulative hazard on a time grid (within
the data and beyond it), optional pointwise intervals from coefficient draws,
and the Kaplan-Meier estimate with Greenwood intervals.

References
----------
Latimer N (2011, updated 2013). NICE DSU Technical Support Document 14, §3.2-3.4 (visual inspection of
fitted curves against the Kaplan-Meier, and of the extrapolated hazard). NICE Decision Support Unit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .fit import SurvivalFit
from .km import kaplan_meier

__all__ = ["CURVE_COLUMNS", "survival_curves"]

#: Columns of `survival_curves`.
CURVE_COLUMNS = ("curve", "dist", "kind", "time", "survival", "lower", "upper", "hazard", "cumhaz", "n_risk",
                 "extrapolated")


def _as_mapping(fits: Any) -> dict[str, SurvivalFit]:
    if isinstance(fits, SurvivalFit):
        return {fits.label: fits}
    if isinstance(fits, Mapping):
        out = {}
        for k, f in fits.items():
            if not isinstance(f, SurvivalFit):
                raise TypeError(f"fits[{k!r}] must be a SurvivalFit; got {type(f).__name__}.")
            out[str(k)] = f
        return out
    if isinstance(fits, Sequence):
        out = {}
        for f in fits:
            if not isinstance(f, SurvivalFit):
                raise TypeError(f"fits must hold SurvivalFit objects; got {type(f).__name__}.")
            out[f.label] = f
        return out
    raise TypeError(f"fits must be a SurvivalFit, a sequence or a mapping of them; got {type(fits).__name__}.")


def _rows_matching(fit: SurvivalFit, x: Any) -> np.ndarray:
    if not fit.covariate_names:
        return np.ones(fit.time.size, dtype=bool)
    row = fit._x_row(x)[0]
    return np.all(fit.X == row, axis=1)


def survival_curves(
    fits: SurvivalFit | Sequence[SurvivalFit] | Mapping[str, SurvivalFit],
    times: Any = None,
    *,
    x: Any = None,
    km: Any = "auto",
    conf_level: float = 0.95,
    conf_type: str = "log",
    n_draws: int = 0,
    rng: np.random.Generator | None = None,
) -> pd.DataFrame:
    """Fitted curves on a time grid, with the Kaplan-Meier estimate, as one tidy table.

    Parameters
    ----------
    fits : SurvivalFit, sequence or mapping of label to SurvivalFit
        Curves to evaluate (labelled by their distribution's name unless a mapping gives labels).
    times : array_like, optional
        The grid, in the data's time unit; extend it past the data to show
        extrapolation. Default: 101 points from 0 to the longest observed time.
    x : mapping or sequence, optional
        Covariate values for fits with covariates (default: all 0).
    km : "auto", None or tuple
        ``"auto"``: the Kaplan-Meier of the first fit's data (for fits with
        covariates, of the observations whose covariates equal ``x``, e.g. one
        arm); ``None``: no Kaplan-Meier rows; ``(time, event)`` or ``(time, event,
        entry)``: the Kaplan-Meier of these data.
    conf_level, conf_type : float, str
        Interval level, and the Kaplan-Meier interval type (see `kaplan_meier`).
    n_draws : int
        When > 0, pointwise intervals for the fitted survival from this many draws
        of the coefficients (their asymptotic normal, as flexsurv's ``summary``
        does), with ``rng``.
    rng : numpy.random.Generator, optional
        Required when ``n_draws > 0``.

    Returns
    -------
    DataFrame
        Columns `CURVE_COLUMNS`: ``curve`` (label; ``"Kaplan-Meier"`` for the
        estimate), ``dist`` (flexsurv name, ``"km"``), ``kind`` (``"fitted"`` or
        ``"km"``), ``time``, ``survival``, ``lower``/``upper`` (Greenwood for the
        Kaplan-Meier; from draws for fitted curves, else NaN), ``hazard``,
        ``cumhaz``, ``n_risk`` (Kaplan-Meier only) and ``extrapolated`` (time beyond
        the longest observed time). Kaplan-Meier rows are the steps of a
        right-continuous function (plot with ``drawstyle="steps-post"``).
    """
    curves = _as_mapping(fits)
    if not curves:
        raise ValueError("No fits given.")
    first = next(iter(curves.values()))
    if times is None:
        grid = np.linspace(0.0, max(f.max_time for f in curves.values()), 101)
    else:
        grid = np.asarray(times, dtype=float).reshape(-1)
        if grid.size == 0 or not np.all(np.isfinite(grid)) or np.any(grid < 0):
            raise ValueError("times must be finite numbers >= 0.")
    if n_draws and not isinstance(rng, np.random.Generator):
        raise ValueError("n_draws > 0 needs rng, a numpy.random.Generator.")
    alpha = (1.0 - conf_level) / 2.0
    frames = []
    for label, fit in curves.items():
        dist = fit.distribution(x)
        lower = upper = np.full(grid.size, np.nan)
        if n_draws:
            draws = fit.sample_coefficients(rng, int(n_draws))
            s_draws = np.asarray(fit.distribution_from_coefficients(draws, x).survival(grid)).reshape(int(n_draws), grid.size)
            lower, upper = np.quantile(s_draws, [alpha, 1.0 - alpha], axis=0)
        frames.append(pd.DataFrame({
            "curve": label, "dist": fit.dist, "kind": "fitted", "time": grid,
            "survival": np.asarray(dist.survival(grid), dtype=float).reshape(-1),
            "lower": lower, "upper": upper,
            "hazard": np.asarray(dist.hazard(grid), dtype=float).reshape(-1),
            "cumhaz": np.asarray(dist.cumhaz(grid), dtype=float).reshape(-1),
            "n_risk": np.nan, "extrapolated": grid > fit.max_time,
        }))
    if isinstance(km, str):
        if km != "auto":
            raise ValueError(f"km must be 'auto', None or (time, event[, entry]); got {km!r}.")
        keep = _rows_matching(first, x)
        km_args = (first.time[keep], first.event[keep], None if first.entry is None else first.entry[keep])
        max_time = first.max_time
    elif km is None:
        km_args = None
    else:
        if not isinstance(km, (tuple, list)) or len(km) not in (2, 3):
            raise ValueError("km must be 'auto', None or a tuple (time, event) or (time, event, entry).")
        km_args = (km[0], km[1], km[2] if len(km) == 3 else None)
        max_time = float(np.max(np.asarray(km[0], dtype=float)))
    if km_args is not None:
        tab = kaplan_meier(km_args[0], km_args[1], entry=km_args[2], conf_level=conf_level, conf_type=conf_type)
        with np.errstate(divide="ignore"):
            cumhaz = -np.log(tab["survival"].to_numpy()) + 0.0  # no -0.0
        frames.append(pd.DataFrame({
            "curve": "Kaplan-Meier", "dist": "km", "kind": "km", "time": tab["time"].to_numpy(),
            "survival": tab["survival"].to_numpy(), "lower": tab["lower"].to_numpy(), "upper": tab["upper"].to_numpy(),
            "hazard": np.nan, "cumhaz": cumhaz, "n_risk": tab["n_risk"].to_numpy(dtype=float),
            "extrapolated": tab["time"].to_numpy() > max_time,
        }))
    out = pd.concat(frames, ignore_index=True)
    return out[list(CURVE_COLUMNS)]
