"""Univariate parameter distributions for probabilistic sensitivity analysis.

A scenario file gives each uncertain parameter a distribution as a TOML
inline table, for example::

    [parameters.u_pd]
    value = 0.56
    distribution = {type = "beta", mean = 0.56, se = 0.02}

:func:`parse_distribution` turns such a table (a plain ``dict`` once the TOML
is parsed) into a :class:`Distribution`. Every distribution can be given by
its own parameters, and most also by a mean with a standard error (method of
moments) or by a 95% interval (``ci95 = [lo, hi]``, fitted exactly to the
2.5% and 97.5% quantiles). Anything malformed raises
:class:`DistributionError`, whose message names the TOML key path, what was
given and what would be valid.

All distributions sample by inversion: ``x = F^{-1}(u)`` with ``u`` from
``rng.random``. One draw therefore uses one uniform, the first ``n`` draws
of a longer run are the draws of a shorter run, and correlated draws (a
Gaussian copula, Latin hypercube or SALib designs) use the same
:meth:`Distribution.ppf` as plain sampling.

See ``docs/distributions.md`` for the accepted keys of every type.

References
----------
Briggs A, Claxton K, Sculpher M (2006). Decision Modelling for Health
Economic Evaluation, chapter 4. Oxford University Press.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import io
import math
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, NamedTuple, Sequence

import numpy as np
from scipy import special

__all__ = [
    "DISTRIBUTION_TYPES",
    "Beta",
    "Distribution",
    "DistributionError",
    "Empirical",
    "Fixed",
    "Gamma",
    "LogNormal",
    "Normal",
    "SalibEntry",
    "Triangular",
    "TruncNormal",
    "Uniform",
    "parse_distribution",
]

#: z such that P(Z <= z) = 0.975 for a standard normal Z (1.959964...).
Z975 = float(special.ndtri(0.975))

# Uniforms on a 2**52 grid, offset by half a step: never exactly 0 or 1, so
# ppf(u) is finite for every distribution with unbounded support.
_GRID = 4503599627370496.0  # 2**52
_U_MIN, _U_MAX = 0.5 / _GRID, 1.0 - 0.5 / _GRID  # the most extreme uniforms sample() can use


class DistributionError(ValueError):
    """A distribution specification is malformed or impossible.

    Parameters
    ----------
    where : str
        TOML key path of the offending value, e.g.
        ``"parameters.u_pd.distribution.se"``.
    message : str
        What was given and what would be valid.

    The string form is ``"{where}: {message}"``, ready for the CLI's
    one-bullet-per-problem report.
    """

    def __init__(self, where: str, message: str) -> None:
        super().__init__(where, message)
        self.where = where
        self.message = message

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class SalibEntry(NamedTuple):
    """One parameter's entry in a SALib problem description.

    Attributes
    ----------
    dist : str
        A SALib distribution name ("unif", "triang", "norm", "truncnorm", "lognorm").
    bounds : tuple of float
        The SALib ``bounds`` row for that name (see ``SALib.util._nonuniform_scale_samples``).
    exact : bool
        True when SALib reproduces the distribution exactly. False for
        distributions SALib does not have (beta, gamma, empirical, some
        triangulars): the entry is then a uniform over the 0.1% and 99.9%
        quantiles. For exact marginals of any type, give SALib ``unif`` on
        [0, 1] and map its samples through :meth:`Distribution.ppf`.
    """

    dist: str
    bounds: tuple[float, ...]
    exact: bool


# --------------------------------------------------------------------------
# formatting and value checks
# --------------------------------------------------------------------------


def _fmt(x: float) -> str:
    """Short human form of a number for describe() and messages."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e6 or a < 1e-3:
        return f"{x:.3g}"
    if a >= 100:
        return f"{x:,.0f}"
    s = f"{x:.3g}"
    return s if "." in s else s + ".0"


def _g(x: float) -> str:
    """Number as written in error messages (up to 6 significant digits)."""
    return f"{float(x):.6g}"


def _what(value: Any) -> str:
    """Describe a wrongly typed value for an error message."""
    if isinstance(value, (bool, np.bool_)):
        return f"{str(bool(value)).lower()} (a boolean)"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if value is None:
        return "nothing"
    if _is_number(value):
        text = repr(value) if not isinstance(value, int) or abs(value) < 10**15 else "a huge integer"
        return f"{text} (a number)"
    return f"a value of type {type(value).__name__}"


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (Real, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _to_float(value: Any, path: str, *, allow_inf: bool = False) -> float:
    """Convert a TOML value to float or raise a DistributionError naming ``path``."""
    if not _is_number(value):
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                pass
            else:
                raise DistributionError(path, f"must be a number, not text; got {value!r}: write it without quotes")
        raise DistributionError(path, f"must be a number; got {_what(value)}")
    try:
        x = float(value)
    except (OverflowError, ValueError, TypeError):
        raise DistributionError(path, "must be a number of ordinary size; got an integer too large for a float") from None
    if math.isnan(x):
        raise DistributionError(path, "must be a number; got nan")
    if math.isinf(x) and not allow_inf:
        raise DistributionError(path, f"must be a finite number; got {_g(x)}")
    return x


def _require(ok: bool, where: str, message: str) -> None:
    if not ok:
        raise DistributionError(where, message)


def _positive(x: float, where: str, name: str) -> None:
    _require(math.isfinite(x) and x > 0, where, f"{name} must be a finite number > 0; got {_g(x)}")


def _finite(x: float, where: str, name: str) -> None:
    _require(math.isfinite(x), where, f"{name} must be a finite number; got {_g(x)}")


def _check_n(n: Any) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"The number of draws must be an integer; got {_what(n)}.")
    if n < 0:
        raise ValueError(f"The number of draws must be >= 0; got {n}.")
    return int(n)


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "rng must be a numpy.random.Generator (see heecon.params.stream_rng); "
            f"got {type(rng).__name__}."
        )
    return rng


def _uniforms(rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
    """Uniform(0, 1) draws strictly inside (0, 1), one per ``rng.random`` value.

    The values lie on the grid ``(k + 0.5) / 2**52``, so ``ppf`` of any
    draw is finite (``rng.random`` itself can return exactly 0).
    """
    u = rng.random(size)
    np.multiply(u, _GRID, out=u)
    np.floor(u, out=u)
    u += 0.5
    u /= _GRID
    return u


def _check_q(q: Any) -> tuple[np.ndarray, bool]:
    arr = np.asarray(q, dtype=float)
    if np.any(np.isnan(arr)) or np.any((arr < 0) | (arr > 1)):
        raise ValueError("Quantile levels must lie in [0, 1].")
    return arr, arr.ndim == 0


# --------------------------------------------------------------------------
# the distributions
# --------------------------------------------------------------------------


class Distribution(ABC):
    """A univariate parameter distribution.

    Subclasses are frozen dataclasses whose fields are the distribution's own
    parameters (plus ``where``, the TOML key path it was read from, used in
    later error messages and ignored by ``==``).
    """

    type: ClassVar[str]
    where: str

    # -- required from subclasses ---------------------------------------
    @abstractmethod
    def _ppf(self, q: np.ndarray) -> np.ndarray:
        """Quantile function on a float array in (0, 1); no checks."""

    @abstractmethod
    def _cdf(self, x: np.ndarray) -> np.ndarray:
        """Distribution function on a float array; no checks."""

    @abstractmethod
    def mean(self) -> float:
        """Mean of the distribution."""

    @abstractmethod
    def std(self) -> float:
        """Standard deviation of the distribution (the parameter's SE)."""

    @abstractmethod
    def describe(self) -> str:
        """Short human-readable form for the evidence table, e.g. ``Beta(α=10.2, β=8.0)``."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The distribution as a spec in its own parameters; ``parse_distribution`` reads it back."""

    # -- shared behaviour --------------------------------------------------
    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Draw ``n`` values by inversion of ``n`` uniforms from ``rng``.

        Parameters
        ----------
        rng : numpy.random.Generator
            The stream to draw from (see :func:`heecon.params.stream_rng`).
        n : int
            Number of draws (>= 0).

        Returns
        -------
        numpy.ndarray
            float64 array of shape ``(n,)``.
        """
        rng = _check_rng(rng)
        n = _check_n(n)
        return np.asarray(self._ppf(_uniforms(rng, n)), dtype=float)

    def ppf(self, q: Any) -> Any:
        """Quantile function (inverse CDF); a float for a scalar ``q``, else an array."""
        arr, scalar = _check_q(q)
        with np.errstate(all="ignore"):
            out = np.asarray(self._ppf(np.atleast_1d(arr)), dtype=float).reshape(arr.shape)
        return float(out) if scalar else out

    def cdf(self, x: Any) -> Any:
        """Cumulative distribution function; a float for a scalar ``x``, else an array."""
        arr = np.asarray(x, dtype=float)
        with np.errstate(all="ignore"):
            out = np.asarray(self._cdf(np.atleast_1d(arr)), dtype=float).reshape(arr.shape)
        return float(out) if arr.ndim == 0 else out

    def var(self) -> float:
        """Variance of the distribution."""
        return self.std() ** 2

    def interval(self, confidence: float = 0.95) -> tuple[float, float]:
        """Central interval holding ``confidence`` of the mass.

        ``interval(0.95)`` (the 2.5% and 97.5% quantiles) is the default range
        of a one-way deterministic sensitivity analysis.
        """
        if not _is_number(confidence) or not 0 < float(confidence) < 1:
            raise ValueError(f"confidence must be a number in (0, 1); got {confidence!r}.")
        tail = (1.0 - float(confidence)) / 2.0
        lo, hi = self.ppf(np.array([tail, 1.0 - tail]))
        return float(lo), float(hi)

    @property
    def is_fixed(self) -> bool:
        """True when the distribution has no spread (every draw is the same value)."""
        return False

    def salib(self) -> SalibEntry:
        """This parameter's SALib ``dists`` name and ``bounds`` row.

        Distributions that SALib 1.6 cannot represent get ``("unif",
        (ppf(0.001), ppf(0.999)), exact=False)``; see :class:`SalibEntry`.
        """
        lo, hi = self.ppf(np.array([0.001, 0.999]))
        if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
            raise DistributionError(
                self._where(),
                f"{self.describe()} cannot be given to SALib: it does not vary over its 0.1%-99.9% range",
            )
        return SalibEntry("unif", (float(lo), float(hi)), False)

    def _where(self) -> str:
        return self.where or type(self).__name__

    def _check_representable(self) -> None:
        """Refuse parameters whose mean, SD or extreme draws overflow double precision."""
        try:
            with np.errstate(all="ignore"):
                values = [self.mean(), self.std(), *np.asarray(self._ppf(np.array([_U_MIN, _U_MAX])), dtype=float)]
        except (ArithmeticError, ValueError):
            values = [math.nan]
        _require(
            all(math.isfinite(v) for v in values),
            self._where(),
            f"{self.describe()} has a mean, SD or draws too large to represent in double precision; check its parameters",
        )

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True, repr=False)
class Fixed(Distribution):
    """A parameter without uncertainty: every draw is ``value``."""

    value: float
    where: str = field(default="", compare=False)
    type: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        _finite(self.value, self._where(), "value")
        self._check_representable()

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        return np.full(q.shape, self.value)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return (x >= self.value).astype(float)

    def mean(self) -> float:
        return float(self.value)

    def std(self) -> float:
        return 0.0

    @property
    def is_fixed(self) -> bool:
        return True

    def salib(self) -> SalibEntry:
        raise DistributionError(
            self._where(),
            f"a fixed parameter ({_g(self.value)}) does not vary and cannot be part of a SALib problem; leave it out",
        )

    def describe(self) -> str:
        return f"Fixed({_fmt(self.value)})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "fixed", "value": self.value}

    def __repr__(self) -> str:
        return f"Fixed(value={self.value!r})"


@dataclass(frozen=True, repr=False)
class Normal(Distribution):
    """Normal distribution with mean ``mu`` and standard deviation ``sd``."""

    mu: float
    sd: float
    where: str = field(default="", compare=False)
    type: ClassVar[str] = "normal"

    def __post_init__(self) -> None:
        _finite(self.mu, self._where(), "mean")
        _positive(self.sd, self._where(), "sd")
        self._check_representable()

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        return self.mu + self.sd * special.ndtri(q)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return special.ndtr((x - self.mu) / self.sd)

    def mean(self) -> float:
        return float(self.mu)

    def std(self) -> float:
        return float(self.sd)

    def salib(self) -> SalibEntry:
        return SalibEntry("norm", (float(self.mu), float(self.sd)), True)

    def describe(self) -> str:
        return f"Normal(μ={_fmt(self.mu)}, σ={_fmt(self.sd)})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "normal", "mean": self.mu, "sd": self.sd}

    def __repr__(self) -> str:
        return f"Normal(mean={self.mu!r}, sd={self.sd!r})"


@dataclass(frozen=True, repr=False)
class TruncNormal(Distribution):
    """Normal(``mu``, ``sd``) restricted to [``lower``, ``upper``].

    ``mu`` and ``sd`` (TOML keys ``mean`` and ``sd``) belong to the normal before truncation; the
    distribution's own mean is :meth:`mean`. Either bound may be infinite.
    """

    mu: float
    sd: float
    lower: float = -math.inf
    upper: float = math.inf
    where: str = field(default="", compare=False)
    type: ClassVar[str] = "truncnormal"

    def __post_init__(self) -> None:
        w = self._where()
        _finite(self.mu, w, "mean")
        _positive(self.sd, w, "sd")
        _require(
            not (math.isnan(self.lower) or math.isnan(self.upper)) and self.lower < self.upper,
            w,
            f"the lower bound must be below the upper bound; got lower = {_g(self.lower)}, upper = {_g(self.upper)}",
        )
        _require(
            not (math.isinf(self.lower) and math.isinf(self.upper)),
            w,
            "both bounds are infinite: that is a normal distribution, write type = \"normal\"",
        )
        a, b = (self.lower - self.mu) / self.sd, (self.upper - self.mu) / self.sd
        # probability mass of the parent normal inside the bounds, computed in the far tail
        with np.errstate(all="ignore"):
            if a > 0:
                mass = special.ndtr(-a) - special.ndtr(-b)
            else:
                mass = special.ndtr(b) - special.ndtr(a)
        _require(
            mass > 1e-9,
            w,
            f"a normal with mean {_g(self.mu)} and sd {_g(self.sd)} has almost no probability "
            f"between {_g(self.lower)} and {_g(self.upper)} (the bounds are {_g(min(abs(a), abs(b)))} SDs "
            "from the mean); mean and sd are those of the normal before truncation, check them",
        )
        self._check_representable()

    @functools.cached_property
    def _rv(self) -> Any:
        from scipy import stats

        a, b = (self.lower - self.mu) / self.sd, (self.upper - self.mu) / self.sd
        return stats.truncnorm(a, b, loc=self.mu, scale=self.sd)

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.clip(self._rv.ppf(q), self.lower, self.upper)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return self._rv.cdf(x)

    def mean(self) -> float:
        with np.errstate(all="ignore"):
            return float(self._rv.mean())

    def std(self) -> float:
        with np.errstate(all="ignore"):
            return float(self._rv.std())

    def salib(self) -> SalibEntry:
        return SalibEntry("truncnorm", (float(self.lower), float(self.upper), float(self.mu), float(self.sd)), True)

    def describe(self) -> str:
        return f"TruncNormal(μ={_fmt(self.mu)}, σ={_fmt(self.sd)}, [{_fmt(self.lower)}, {_fmt(self.upper)}])"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": "truncnormal", "mean": self.mu, "sd": self.sd}
        if math.isfinite(self.lower):
            d["lower"] = self.lower
        if math.isfinite(self.upper):
            d["upper"] = self.upper
        return d

    def __repr__(self) -> str:
        return f"TruncNormal(mean={self.mu!r}, sd={self.sd!r}, lower={self.lower!r}, upper={self.upper!r})"


@dataclass(frozen=True, repr=False)
class LogNormal(Distribution):
    """Lognormal: ``log(X)`` is Normal(``meanlog``, ``sdlog``)."""

    meanlog: float
    sdlog: float
    where: str = field(default="", compare=False)
    type: ClassVar[str] = "lognormal"

    def __post_init__(self) -> None:
        _finite(self.meanlog, self._where(), "meanlog")
        _positive(self.sdlog, self._where(), "sdlog")
        self._check_representable()

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return np.exp(self.meanlog + self.sdlog * special.ndtri(q))

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(np.where(x > 0, x, np.nan)) - self.meanlog) / self.sdlog
        return np.where(x > 0, special.ndtr(z), 0.0)

    def mean(self) -> float:
        with np.errstate(over="ignore"):
            return float(np.exp(self.meanlog + self.sdlog**2 / 2))

    def std(self) -> float:
        with np.errstate(over="ignore", invalid="ignore"):
            return float(np.sqrt(np.expm1(self.sdlog**2)) * self.mean())

    def salib(self) -> SalibEntry:
        return SalibEntry("lognorm", (float(self.meanlog), float(self.sdlog)), True)

    def describe(self) -> str:
        return f"LogNormal(μ_log={_fmt(self.meanlog)}, σ_log={_fmt(self.sdlog)})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "lognormal", "meanlog": self.meanlog, "sdlog": self.sdlog}

    def __repr__(self) -> str:
        return f"LogNormal(meanlog={self.meanlog!r}, sdlog={self.sdlog!r})"


_BETA_MAX_CONCENTRATION = 1e15


@dataclass(frozen=True, repr=False)
class Beta(Distribution):
    """Beta(``alpha``, ``beta``) on [0, 1], for probabilities and utilities."""

    alpha: float
    beta: float
    where: str = field(default="", compare=False)
    type: ClassVar[str] = "beta"

    def __post_init__(self) -> None:
        _positive(self.alpha, self._where(), "alpha")
        _positive(self.beta, self._where(), "beta")
        _require(
            self.alpha + self.beta <= _BETA_MAX_CONCENTRATION,
            self._where(),
            f"alpha + beta = {_g(self.alpha + self.beta)} exceeds 1e15: the distribution is a single point for all "
            "purposes (and its quantiles cannot be computed); use type = \"fixed\"",
        )
        self._check_representable()

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        return special.betaincinv(self.alpha, self.beta, q)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return special.betainc(self.alpha, self.beta, np.clip(x, 0.0, 1.0))

    def mean(self) -> float:
        return self.alpha / (self.alpha + self.beta)

    def std(self) -> float:
        s = self.alpha + self.beta
        return math.sqrt(self.alpha / s * (self.beta / s) / (s + 1))

    def describe(self) -> str:
        return f"Beta(α={_fmt(self.alpha)}, β={_fmt(self.beta)})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "beta", "alpha": self.alpha, "beta": self.beta}

    def __repr__(self) -> str:
        return f"Beta(alpha={self.alpha!r}, beta={self.beta!r})"


@dataclass(frozen=True, repr=False)
class Gamma(Distribution):
    """Gamma with shape ``shape`` (k) and scale ``scale`` (θ = 1 / rate), for costs and rates."""

    shape: float
    scale: float
    where: str = field(default="", compare=False)
    type: ClassVar[str] = "gamma"

    def __post_init__(self) -> None:
        _positive(self.shape, self._where(), "shape")
        _positive(self.scale, self._where(), "scale")
        self._check_representable()

    @property
    def rate(self) -> float:
        return 1.0 / self.scale

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return special.gammaincinv(self.shape, q) * self.scale

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return special.gammainc(self.shape, np.maximum(x, 0.0) / self.scale)

    def mean(self) -> float:
        return self.shape * self.scale

    def std(self) -> float:
        return math.sqrt(self.shape) * self.scale

    def describe(self) -> str:
        return f"Gamma(k={_fmt(self.shape)}, θ={_fmt(self.scale)})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "gamma", "shape": self.shape, "scale": self.scale}

    def __repr__(self) -> str:
        return f"Gamma(shape={self.shape!r}, scale={self.scale!r})"


@dataclass(frozen=True, repr=False)
class Uniform(Distribution):
    """Uniform on [``lower``, ``upper``]."""

    lower: float
    upper: float
    where: str = field(default="", compare=False)
    type: ClassVar[str] = "uniform"

    def __post_init__(self) -> None:
        w = self._where()
        _finite(self.lower, w, "lower")
        _finite(self.upper, w, "upper")
        _require(
            self.lower < self.upper,
            w,
            f"lower must be below upper; got lower = {_g(self.lower)}, upper = {_g(self.upper)}",
        )
        _require(math.isfinite(self.upper - self.lower), w, "the range from lower to upper is too wide to represent")
        self._check_representable()

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        return self.lower + q * (self.upper - self.lower)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return np.clip((x - self.lower) / (self.upper - self.lower), 0.0, 1.0)

    def mean(self) -> float:
        return (self.lower + self.upper) / 2

    def std(self) -> float:
        return (self.upper - self.lower) / math.sqrt(12.0)

    def salib(self) -> SalibEntry:
        return SalibEntry("unif", (float(self.lower), float(self.upper)), True)

    def describe(self) -> str:
        return f"Uniform({_fmt(self.lower)}, {_fmt(self.upper)})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "uniform", "lower": self.lower, "upper": self.upper}

    def __repr__(self) -> str:
        return f"Uniform(lower={self.lower!r}, upper={self.upper!r})"


@dataclass(frozen=True, repr=False)
class Triangular(Distribution):
    """Triangular on [``lower``, ``upper``] with its peak at ``mode``."""

    lower: float
    mode: float
    upper: float
    where: str = field(default="", compare=False)
    type: ClassVar[str] = "triangular"

    def __post_init__(self) -> None:
        w = self._where()
        for key in ("lower", "mode", "upper"):
            _finite(getattr(self, key), w, key)
        _require(math.isfinite(self.upper - self.lower), w, "the range from lower to upper is too wide to represent")
        _require(
            self.lower <= self.mode <= self.upper and self.lower < self.upper,
            w,
            "a triangular distribution needs lower <= mode <= upper with lower < upper; got "
            f"lower = {_g(self.lower)}, mode = {_g(self.mode)}, upper = {_g(self.upper)}",
        )
        self._check_representable()

    @property
    def _c(self) -> float:
        return (self.mode - self.lower) / (self.upper - self.lower)

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        width, c = self.upper - self.lower, self._c
        left = self.lower + np.sqrt(q * c) * width
        right = self.upper - np.sqrt((1.0 - q) * (1.0 - c)) * width
        return np.where(q < c, left, right)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        width, c = self.upper - self.lower, self._c
        t = np.clip((x - self.lower) / width, 0.0, 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            left = np.where(c > 0, t * t / c, 1.0)
            right = 1.0 - np.where(c < 1, (1.0 - t) ** 2 / (1.0 - c), 0.0)
        return np.where(t <= c, np.where(t < c, left, c), right)

    def mean(self) -> float:
        return (self.lower + self.mode + self.upper) / 3

    def std(self) -> float:
        a, c, b = self.lower, self.mode, self.upper
        return math.sqrt(max(a * a + b * b + c * c - a * b - a * c - b * c, 0.0) / 18.0)

    def salib(self) -> SalibEntry:
        # SALib 1.6 "triang" takes [lower, upper, peak as a fraction of the width],
        # and rejects a peak fraction of 1 and a negative upper end.
        c = self._c
        if c < 1 and self.upper >= 0:
            return SalibEntry("triang", (float(self.lower), float(self.upper), float(c)), True)
        return super().salib()

    def describe(self) -> str:
        return f"Triangular({_fmt(self.lower)}, {_fmt(self.mode)}, {_fmt(self.upper)})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "triangular", "lower": self.lower, "mode": self.mode, "upper": self.upper}

    def __repr__(self) -> str:
        return f"Triangular(lower={self.lower!r}, mode={self.mode!r}, upper={self.upper!r})"


EMPIRICAL_METHODS = ("bootstrap", "sequential")


@dataclass(frozen=True, repr=False, eq=False)
class Empirical(Distribution):
    """Draws read from a column of a CSV file (e.g. MCMC output).

    ``method = "bootstrap"`` resamples rows with replacement;
    ``method = "sequential"`` takes rows 0, 1, 2, ... in order, so sample
    ``i`` of every column of the file comes from the same row.
    :func:`heecon.params.draw_parameters` draws bootstrap rows from a stream
    keyed by the file's content, so columns of one file share their rows
    under either method and keep their joint structure.
    """

    file: str
    column: str
    values: np.ndarray
    method: str = "bootstrap"
    digest: str = ""
    where: str = field(default="", compare=False)
    type: ClassVar[str] = "empirical"

    def __post_init__(self) -> None:
        w = self._where()
        _require(self.method in EMPIRICAL_METHODS, w, f"method must be one of {', '.join(map(repr, EMPIRICAL_METHODS))}; got {self.method!r}")
        vals = np.array(self.values, dtype=float)
        _require(vals.ndim == 1 and vals.size >= 1, w, "needs at least one draw")
        _require(bool(np.all(np.isfinite(vals))), w, "every draw must be a finite number")
        vals.setflags(write=False)
        object.__setattr__(self, "values", vals)
        if not self.digest:
            object.__setattr__(self, "digest", hashlib.blake2b(vals.tobytes(), digest_size=16).hexdigest())
        self._check_representable()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Empirical):
            return NotImplemented
        return (self.file, self.column, self.method) == (other.file, other.column, other.method) and np.array_equal(
            self.values, other.values
        )

    def __hash__(self) -> int:
        return hash((self.file, self.column, self.method, self.digest))

    @property
    def n_draws(self) -> int:
        """Number of rows in the column."""
        return int(self.values.size)

    @functools.cached_property
    def _sorted(self) -> np.ndarray:
        return np.sort(self.values)

    def rows(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Row indices for ``n`` samples: bootstrap draws from ``rng``; sequential ignores it."""
        n = _check_n(n)
        if self.method == "sequential":
            if n > self.n_draws:
                raise DistributionError(
                    self._where(),
                    f"{n} samples were asked for but column {self.column!r} of {self.file} has {self.n_draws} rows; "
                    "method = \"sequential\" takes one row per sample, so run at most "
                    f"{self.n_draws} samples or use method = \"bootstrap\"",
                )
            return np.arange(n)
        return _check_rng(rng).integers(0, self.n_draws, size=n)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.values[self.rows(rng, n)].copy()

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        return np.quantile(self._sorted, q, method="inverted_cdf")

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return np.searchsorted(self._sorted, x, side="right") / self.n_draws

    def mean(self) -> float:
        return float(self.values.mean())

    def std(self) -> float:
        return float(self.values.std())

    @property
    def is_fixed(self) -> bool:
        return bool(self._sorted[0] == self._sorted[-1])

    def describe(self) -> str:
        return f"Empirical({os.path.basename(self.file)}[{self.column}], {self.n_draws} draws, {self.method})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "empirical", "file": self.file, "column": self.column, "method": self.method}

    def __repr__(self) -> str:
        return f"Empirical(file={self.file!r}, column={self.column!r}, method={self.method!r}, n_draws={self.n_draws})"


# --------------------------------------------------------------------------
# fitting to a 95% interval
# --------------------------------------------------------------------------


def _brentq(f: Callable[[float], float], a: float, b: float) -> float | None:
    """Root of f in [a, b] or None when f does not change sign there."""
    from scipy import optimize

    with np.errstate(all="ignore"):
        fa, fb = f(a), f(b)
        if math.isnan(fa) or math.isnan(fb):
            return None
        if fa == 0:
            return a
        if fb == 0:
            return b
        if np.sign(fa) == np.sign(fb):
            return None
        try:
            return float(optimize.brentq(f, a, b, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))
        except (RuntimeError, ValueError):
            return None


def _fit_beta_ci(lo: float, hi: float) -> tuple[float, float] | None:
    """Beta(α, β) whose 2.5% and 97.5% quantiles are ``lo`` and ``hi``.

    With μ = α/(α+β) and κ = α+β: for fixed κ the lower quantile increases
    with μ, so μ(κ) matching ``lo`` is a bracketed root; with it, the upper
    quantile falls from near 1 (κ → 0) to ``lo`` (κ → ∞), a second bracketed
    root. Both searches run on logit/log scales.
    """
    llo, lhi = special.logit(lo), special.logit(hi)

    def mu_logit(kappa: float) -> float | None:
        def f(t: float) -> float:
            return special.logit(special.betaincinv(special.expit(t) * kappa, special.expit(-t) * kappa, 0.025)) - llo

        return _brentq(f, -60.0, 60.0)

    def g(log_kappa: float) -> float:
        kappa = math.exp(log_kappa)
        t = mu_logit(kappa)
        if t is None:
            return math.nan
        return special.logit(special.betaincinv(special.expit(t) * kappa, special.expit(-t) * kappa, 0.975)) - lhi

    log_kappa = _brentq(g, math.log(1e-4), math.log(_BETA_MAX_CONCENTRATION))
    if log_kappa is None:
        return None
    kappa = math.exp(log_kappa)
    t = mu_logit(kappa)
    if t is None:
        return None
    return float(special.expit(t) * kappa), float(special.expit(-t) * kappa)


def _fit_gamma_ci(lo: float, hi: float) -> tuple[float, float] | None:
    """Gamma(shape, scale) whose 2.5% and 97.5% quantiles are ``lo`` and ``hi``.

    The ratio of the two quantiles depends on the shape alone and falls
    monotonically from ∞ to 1 as the shape grows: one bracketed root in
    log(shape), then scale = lo / (2.5% quantile of Gamma(shape, 1)).
    """
    target = math.log(hi) - math.log(lo)

    def f(log_k: float) -> float:
        k = math.exp(log_k)
        with np.errstate(divide="ignore"):
            return float(np.log(special.gammaincinv(k, 0.975)) - np.log(special.gammaincinv(k, 0.025)) - target)

    log_k = _brentq(f, math.log(1e-4), math.log(1e14))
    if log_k is None:
        return None
    k = math.exp(log_k)
    q = float(special.gammaincinv(k, 0.025))
    if not q > 0:
        return None
    return k, lo / q


# --------------------------------------------------------------------------
# reading specs
# --------------------------------------------------------------------------


class _Reader:
    """Typed access to one spec dict, with errors naming ``where.key``."""

    def __init__(self, spec: Mapping[str, Any], where: str, type_: str) -> None:
        self.spec, self.where, self.type = spec, where, type_

    def path(self, key: str) -> str:
        return f"{self.where}.{key}"

    def number(self, key: str, *, allow_inf: bool = False) -> float:
        return _to_float(self.spec[key], self.path(key), allow_inf=allow_inf)

    def positive(self, key: str, hint: str = "") -> float:
        x = self.number(key)
        _require(x > 0, self.path(key), f"must be > 0 for a {self.type} distribution; got {_g(x)}{hint}")
        return x

    def sd(self) -> tuple[float, str]:
        key = "sd" if "sd" in self.spec else "se"
        hint = ". For a parameter without uncertainty write {type = \"fixed\", value = ...}" if key in self.spec else ""
        return self.positive(key, hint), key.upper()

    def text(self, key: str) -> str:
        value = self.spec[key]
        _require(isinstance(value, str) and value != "", self.path(key), f"must be a non-empty text; got {_what(value)}")
        _require("\x00" not in value, self.path(key), "must not contain a NUL character")
        return value

    def ci95(self, *, low: float | None = None, high: float | None = None, what: str = "") -> tuple[float, float]:
        key, value = "ci95", self.spec["ci95"]
        p = self.path(key)
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise DistributionError(p, f"must be a list of two numbers [lower, upper]; got {_what(value)}")
        lo = _to_float(value[0], f"{p}[0]")
        hi = _to_float(value[1], f"{p}[1]")
        _require(lo < hi, p, f"the lower limit must come first and be below the upper limit; got [{_g(lo)}, {_g(hi)}]")
        if low is not None and high is not None:
            _require(
                low < lo and hi < high,
                p,
                f"a {self.type} distribution lies strictly between {_g(low)} and {_g(high)}{what}, "
                f"so both limits must too; got [{_g(lo)}, {_g(hi)}]",
            )
        elif low is not None:
            _require(
                lo > low,
                p,
                f"a {self.type} distribution has only values above {_g(low)}{what}, so both limits must be > {_g(low)}; "
                f"got [{_g(lo)}, {_g(hi)}]",
            )
        return lo, hi


@dataclass(frozen=True)
class _Form:
    keys: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        text = " + ".join(k if k != "sd" else "sd (or se)" for k in self.keys)
        if self.optional:
            text += " (optional: " + ", ".join(self.optional) + ")"
        return text


def _derived(where: str, given: str, build: Callable[[], Distribution]) -> Distribution:
    """Build a distribution from converted parameters; explain when they are not representable."""
    try:
        with np.errstate(all="ignore"):
            return build()
    except DistributionError as exc:
        raise DistributionError(
            where, f"{given} lead to an invalid distribution ({exc.message}); the values are too extreme to represent"
        ) from None
    except ArithmeticError:
        raise DistributionError(where, f"{given} cannot be converted: the values are too extreme to represent") from None


# ---- per-type builders: (reader, keys given) -> Distribution --------------


def _build_fixed(r: _Reader, keys: frozenset[str]) -> Distribution:
    return Fixed(r.number("value"), where=r.where)


def _build_normal(r: _Reader, keys: frozenset[str]) -> Distribution:
    if "ci95" in keys:
        lo, hi = r.ci95()
        return _derived(r.where, f"ci95 = [{_g(lo)}, {_g(hi)}]", lambda: Normal((lo + hi) / 2, (hi - lo) / (2 * Z975), where=r.where))
    mean = r.number("mean")
    sd, _ = r.sd()
    return Normal(mean, sd, where=r.where)


def _build_truncnormal(r: _Reader, keys: frozenset[str]) -> Distribution:
    mean = r.number("mean")
    sd, _ = r.sd()
    lower = r.number("lower", allow_inf=True) if "lower" in keys else -math.inf
    upper = r.number("upper", allow_inf=True) if "upper" in keys else math.inf
    return TruncNormal(mean, sd, lower, upper, where=r.where)


def _build_lognormal(r: _Reader, keys: frozenset[str]) -> Distribution:
    if "ci95" in keys:
        lo, hi = r.ci95(low=0.0)
        given = f"ci95 = [{_g(lo)}, {_g(hi)}]"
        return _derived(
            r.where,
            given,
            lambda: LogNormal((math.log(lo) + math.log(hi)) / 2, (math.log(hi) - math.log(lo)) / (2 * Z975), where=r.where),
        )
    if "meanlog" in keys:
        return LogNormal(r.number("meanlog"), r.positive("sdlog"), where=r.where)
    mean = r.number("mean")
    _require(
        mean > 0,
        r.path("mean"),
        f"a lognormal distribution has positive values only, so its mean must be > 0; got {_g(mean)}. "
        "For the mean and SD of log(x) write meanlog and sdlog",
    )
    sd, sd_name = r.sd()

    def build() -> Distribution:
        sigma2 = math.log1p((sd / mean) ** 2)
        return LogNormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), where=r.where)

    return _derived(r.where, f"mean {_g(mean)} and {sd_name} {_g(sd)}", build)


def _build_beta(r: _Reader, keys: frozenset[str]) -> Distribution:
    if "ci95" in keys:
        lo, hi = r.ci95(low=0.0, high=1.0)
        fit = _fit_beta_ci(lo, hi)
        _require(
            fit is not None,
            r.where,
            f"no beta distribution could be fitted to ci95 = [{_g(lo)}, {_g(hi)}]; an interval this narrow or "
            "this close to 0 or 1 is better given as mean and se, or as a normal distribution",
        )
        a, b = fit if fit is not None else (math.nan, math.nan)
        return _derived(r.where, f"ci95 = [{_g(lo)}, {_g(hi)}]", lambda: Beta(a, b, where=r.where))
    if "alpha" in keys:
        return Beta(r.positive("alpha"), r.positive("beta"), where=r.where)
    mean = r.number("mean")
    _require(
        0 < mean < 1,
        r.path("mean"),
        f"the mean of a beta distribution must lie strictly between 0 and 1; got {_g(mean)}. "
        "For a quantity that is not a probability or utility use gamma, lognormal or normal",
    )
    sd, sd_name = r.sd()
    limit = math.sqrt(mean * (1 - mean))
    _require(
        sd < limit,
        r.where,
        f"a beta distribution with mean {_g(mean)} and {sd_name} {_g(sd)} does not exist: "
        f"the {sd_name} must be below sqrt(mean*(1-mean)) = {_g(limit)}",
    )

    def build() -> Distribution:
        common = mean * (1 - mean) / sd**2 - 1
        return Beta(mean * common, (1 - mean) * common, where=r.where)

    return _derived(r.where, f"mean {_g(mean)} and {sd_name} {_g(sd)}", build)


def _build_gamma(r: _Reader, keys: frozenset[str]) -> Distribution:
    if "ci95" in keys:
        lo, hi = r.ci95(low=0.0)
        fit = _fit_gamma_ci(lo, hi)
        _require(
            fit is not None,
            r.where,
            f"no gamma distribution could be fitted to ci95 = [{_g(lo)}, {_g(hi)}]; for an interval this narrow "
            "relative to its values use a normal distribution",
        )
        k, theta = fit if fit is not None else (math.nan, math.nan)
        return _derived(r.where, f"ci95 = [{_g(lo)}, {_g(hi)}]", lambda: Gamma(k, theta, where=r.where))
    if "shape" in keys:
        shape = r.positive("shape")
        if "scale" in keys:
            return Gamma(shape, r.positive("scale"), where=r.where)
        rate = r.positive("rate")
        return _derived(r.where, f"shape {_g(shape)} and rate {_g(rate)}", lambda: Gamma(shape, 1.0 / rate, where=r.where))
    mean = r.number("mean")
    _require(
        mean > 0,
        r.path("mean"),
        f"a gamma distribution has positive values only, so its mean must be > 0; got {_g(mean)}. "
        "For a quantity that can be zero or negative use normal",
    )
    if "cv" in keys:
        cv = r.positive("cv")
        return _derived(r.where, f"mean {_g(mean)} and cv {_g(cv)}", lambda: Gamma(1.0 / cv**2, mean * cv**2, where=r.where))
    sd, sd_name = r.sd()
    return _derived(
        r.where, f"mean {_g(mean)} and {sd_name} {_g(sd)}", lambda: Gamma((mean / sd) ** 2, sd * (sd / mean), where=r.where)
    )


def _build_uniform(r: _Reader, keys: frozenset[str]) -> Distribution:
    if "mean" in keys:
        mean = r.number("mean")
        sd, sd_name = r.sd()
        half = math.sqrt(3.0) * sd
        return _derived(r.where, f"mean {_g(mean)} and {sd_name} {_g(sd)}", lambda: Uniform(mean - half, mean + half, where=r.where))
    return Uniform(r.number("lower"), r.number("upper"), where=r.where)


def _build_triangular(r: _Reader, keys: frozenset[str]) -> Distribution:
    return Triangular(r.number("lower"), r.number("mode"), r.number("upper"), where=r.where)


@functools.lru_cache(maxsize=16)
def _read_csv(path: str, mtime_ns: int, size: int) -> tuple[Any, str]:
    """CSV file as a DataFrame plus the BLAKE2b digest of its bytes (cached per file version)."""
    import pandas as pd

    data = Path(path).read_bytes()
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    frame = pd.read_csv(io.BytesIO(data), comment="#", skipinitialspace=True)
    return frame, digest


def _build_empirical(r: _Reader, keys: frozenset[str], base_dir: str | os.PathLike[str] | None) -> Distribution:
    import pandas as pd

    file = r.text("file")
    column = r.text("column")
    method = r.text("method") if "method" in keys else "bootstrap"
    _require(
        method in EMPIRICAL_METHODS,
        r.path("method"),
        f"must be \"bootstrap\" (resample rows with replacement) or \"sequential\" (take rows in order); "
        f"got {method!r}{_suggest(method, EMPIRICAL_METHODS)}",
    )
    path = Path(file)
    if not path.is_absolute():
        path = Path(base_dir if base_dir is not None else os.getcwd()) / path
    where_file = r.path("file")
    try:
        st = path.stat()
        _require(path.is_file(), where_file, f"{file!r} is not a file (resolved to {str(path)!r})")
        frame, digest = _read_csv(str(path), st.st_mtime_ns, st.st_size)
    except DistributionError:
        raise
    except FileNotFoundError:
        raise DistributionError(where_file, f"file {file!r} not found (looked for {str(path)!r})") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DistributionError(where_file, f"cannot read {file!r} as CSV: {exc}") from None
    columns = [str(c) for c in frame.columns]
    if column not in columns:
        shown = ", ".join(repr(c) for c in columns[:20]) + (", ..." if len(columns) > 20 else "")
        raise DistributionError(
            r.path("column"),
            f"{file!r} has no column {column!r}{_suggest(column, columns)}; its columns are {shown or 'none'}",
        )
    raw = frame.iloc[:, columns.index(column)]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        raise DistributionError(
            r.path("column"),
            f"column {column!r} of {file!r} must hold numbers only; data row {row + 1} holds {raw.iloc[row]!r}"
            + (f" ({bad.size} such rows)" if bad.size > 1 else ""),
        )
    _require(values.size >= 1, r.path("column"), f"column {column!r} of {file!r} has no rows")
    return Empirical(file, column, values, method=method, digest=digest, where=r.where)


_SD = ("sd",)
# type -> (forms, builder)
_TYPES: dict[str, tuple[tuple[_Form, ...], Callable[..., Distribution]]] = {
    "fixed": ((_Form(("value",)),), _build_fixed),
    "normal": ((_Form(("mean", "sd")), _Form(("ci95",))), _build_normal),
    "truncnormal": ((_Form(("mean", "sd"), ("lower", "upper")),), _build_truncnormal),
    "lognormal": ((_Form(("meanlog", "sdlog")), _Form(("mean", "sd")), _Form(("ci95",))), _build_lognormal),
    "beta": ((_Form(("alpha", "beta")), _Form(("mean", "sd")), _Form(("ci95",))), _build_beta),
    "gamma": (
        (_Form(("shape", "scale")), _Form(("shape", "rate")), _Form(("mean", "sd")), _Form(("mean", "cv")), _Form(("ci95",))),
        _build_gamma,
    ),
    "uniform": ((_Form(("lower", "upper")), _Form(("mean", "sd"))), _build_uniform),
    "triangular": ((_Form(("lower", "mode", "upper")),), _build_triangular),
    "empirical": ((_Form(("file", "column"), ("method",)),), _build_empirical),
}

#: The accepted ``type`` names of a single parameter's distribution.
DISTRIBUTION_TYPES: tuple[str, ...] = tuple(sorted(_TYPES))


def _allowed_keys(forms: Sequence[_Form]) -> list[str]:
    keys: list[str] = []
    for form in forms:
        for k in form.keys + form.optional:
            if k not in keys:
                keys.append(k)
            if k == "sd" and "se" not in keys:
                keys.append("se")
    return keys


def _check_table(spec: Any, where: str, what: str, example: str) -> dict[str, Any]:
    """Check that ``spec`` is a table with text keys; return it as a dict."""
    if not isinstance(spec, Mapping):
        raise DistributionError(where, f"must be a table like {example}; got {_what(spec)}")
    for key in spec:
        if not isinstance(key, str):
            raise DistributionError(where, f"keys of {what} must be text; got {_what(key)}")
    return dict(spec)


def _type_name(spec: Mapping[str, Any], where: str, valid: Sequence[str], what: str) -> str:
    """The ``type`` entry of a spec, checked against ``valid``."""
    listed = ", ".join(valid)
    if "type" not in spec:
        raise DistributionError(where, f"{what} needs a 'type'; one of {listed}")
    name = spec["type"]
    if not isinstance(name, str):
        raise DistributionError(f"{where}.type", f"must be the text name of a type, one of {listed}; got {_what(name)}")
    if name not in valid:
        hint = _suggest(name, valid)
        if not hint and name.lower() in valid:
            hint = f" (did you mean {name.lower()!r}?)"
        raise DistributionError(f"{where}.type", f"unknown type {name!r}{hint}; valid types are {listed}")
    return name


def _match_form(spec: Mapping[str, Any], where: str, type_: str, forms: Sequence[_Form]) -> frozenset[str]:
    """Check the keys of ``spec`` against the accepted forms of ``type_``; return the keys given."""
    allowed = _allowed_keys(forms)
    given = [k for k in spec if k != "type"]
    unknown = [k for k in given if k not in allowed]
    if unknown:
        k = unknown[0]
        more = f" (and {', '.join(map(repr, unknown[1:]))})" if len(unknown) > 1 else ""
        raise DistributionError(
            f"{where}.{k}",
            f"unknown key {k!r}{more} for a {type_} distribution{_suggest(k, allowed)}; "
            f"valid keys are {', '.join(allowed)}",
        )
    if "sd" in given and "se" in given:
        raise DistributionError(
            where,
            "give sd or se, not both: both mean the standard deviation of the parameter's distribution "
            "(the standard error of its estimate)",
        )
    keys = frozenset("sd" if k == "se" else k for k in given)
    for form in forms:
        if set(form.keys) <= keys <= set(form.keys) | set(form.optional):
            if type_ == "truncnormal" and not keys & {"lower", "upper"}:
                raise DistributionError(
                    where,
                    "a truncnormal distribution needs lower, upper or both; without bounds write type = \"normal\"",
                )
            return frozenset(given)
    options = "; ".join(f.label for f in forms)
    shown = ", ".join(given) if given else "no parameters"
    hint = ""
    if "mean" in keys and "ci95" in keys:
        hint = ". With ci95 leave out the mean: it is implied by the interval"
    elif any(set(f.keys) < keys for f in forms):
        hint = ". Give one of these sets only"
    raise DistributionError(
        where,
        f"a {type_} distribution is given by exactly one of: {options}; got {shown}{hint}",
    )


def parse_distribution(
    spec: Mapping[str, Any],
    *,
    where: str,
    base_dir: str | os.PathLike[str] | None = None,
) -> Distribution:
    """Read one parameter's distribution from its TOML table.

    Parameters
    ----------
    spec : mapping
        The parsed TOML table, e.g. ``{"type": "beta", "mean": 0.56, "se": 0.02}``.
    where : str
        TOML key path of ``spec`` for error messages, e.g. ``"parameters.u_pd.distribution"``.
    base_dir : path, optional
        Folder that relative ``file`` paths of ``empirical`` distributions are
        resolved against (normally the scenario file's folder); the current
        directory when omitted.

    Returns
    -------
    Distribution

    Raises
    ------
    DistributionError
        For unknown or missing keys, wrong value types and impossible
        combinations; the message starts with the key path.

    Notes
    -----
    Method of moments (Briggs, Claxton & Sculpher 2006, section 4.3), with
    ``m`` the mean and ``s`` the SE:

    * beta: ``α = m (m(1-m)/s² - 1)``, ``β = (1-m)(m(1-m)/s² - 1)``, needs ``s < sqrt(m(1-m))``;
    * gamma: ``k = m²/s²``, ``θ = s²/m``; with a coefficient of variation ``k = 1/cv²``, ``θ = m cv²``;
    * lognormal: ``σ² = log(1 + s²/m²)``, ``μ = log(m) - σ²/2``;
    * uniform: ``m ± sqrt(3) s``.

    A ``ci95 = [lo, hi]`` is matched exactly at the 2.5% and 97.5% quantiles:
    in closed form for normal (``sd = (hi - lo) / (2 × 1.959964)``) and
    lognormal (log-symmetric), by bracketed root finding for beta and gamma.
    """
    spec = _check_table(spec, where, "a distribution", '{type = "beta", mean = 0.5, se = 0.1}')
    type_ = _type_name(spec, where, DISTRIBUTION_TYPES, "a distribution")
    forms, builder = _TYPES[type_]
    keys = _match_form(spec, where, type_, forms)
    reader = _Reader(spec, where, type_)
    if type_ == "empirical":
        return builder(reader, keys, base_dir)
    return builder(reader, keys)
