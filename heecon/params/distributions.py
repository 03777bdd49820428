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

import functools
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .checks import (
    _GRID,
    DistributionError,
    SalibEntry,
    _check_n,
    _check_q,
    _check_rng,
    _finite,
    _fmt,
    _g,
    _is_number,
    _positive,
    _require,
    _uniforms,
)
from .incomplete import beta_i, gamma_p

__all__ = [
    "Beta",
    "Distribution",
    "DistributionError",
    "Fixed",
    "Gamma",
    "LogNormal",
    "Normal",
    "SalibEntry",
    "Triangular",
    "TruncNormal",
    "Uniform",
]

def _special():
    """scipy.special, imported when a quantile or distribution function is first needed (not to load a scenario:
    `heecon validate` then starts without scipy)."""
    from scipy import special

    return special


def _ndtr(x: float) -> float:
    """The standard normal CDF of a float, from the C library's erfc (accurate in the far tails): the load-time
    checks of a truncated normal use it, so that loading a scenario needs no scipy."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


#: z such that P(Z <= z) = 0.975 for a standard normal Z: scipy.special.ndtri(0.975) as a literal (tested), so that
#: loading a scenario needs no scipy.
Z975 = 1.959963984540054
#: scipy.special.ndtri at the most extreme uniforms a sample uses (_U_MIN, _U_MAX below), as literals (tested).
_Z_MIN, _Z_MAX = -8.209536151601387, 8.209536151601387
#: log(1 / (1 - _U_MAX)) = 53 log 2: the upper tail a sample can reach, in nats.
_L_TAIL = 53.0 * math.log(2.0)

# Uniforms on a 2**52 grid, offset by half a step: never exactly 0 or 1, so
# ppf(u) is finite for every distribution with unbounded support.
_U_MIN, _U_MAX = 0.5 / _GRID, 1.0 - 0.5 / _GRID  # the most extreme uniforms sample() can use


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

    def cdf_light(self, x: float) -> float | None:
        """The CDF at one value computed without scipy (for load-time checks, to about 1e-12), or None where the
        family has no such form or it did not converge: then use :meth:`cdf`."""
        return None

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

    def _extremes(self) -> list[float] | None:
        """Bounds on the most extreme draws (ppf at _U_MIN and _U_MAX) computed without scipy, or None where the
        family has none: then the check below computes the quantiles. Where given, they are finite only if the
        quantiles are."""
        return None

    def _check_representable(self) -> None:
        """Refuse parameters whose mean, SD or extreme draws overflow double precision."""
        with np.errstate(all="ignore"):
            fast = self._extremes()
        if fast is not None and all(math.isfinite(v) for v in [self.mean(), self.std(), *fast]):
            return  # finite bounds: the quantiles are finite too (loading a scenario needs no scipy)
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
        return self.mu + self.sd * _special().ndtri(q)

    def _extremes(self) -> list[float]:
        return [self.mu + self.sd * _Z_MIN, self.mu + self.sd * _Z_MAX]  # the quantiles themselves

    def cdf_light(self, x: float) -> float | None:
        return _ndtr((x - self.mu) / self.sd)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return _special().ndtr((x - self.mu) / self.sd)

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
                mass = _ndtr(-a) - _ndtr(-b)
            else:
                mass = _ndtr(b) - _ndtr(a)
        _require(
            mass > 1e-9,
            w,
            f"a normal with mean {_g(self.mu)} and sd {_g(self.sd)} has almost no probability "
            f"between {_g(self.lower)} and {_g(self.upper)} (the bounds are {_g(min(abs(a), abs(b)))} SDs "
            "from the mean); mean and sd are those of the normal before truncation, check them",
        )
        self._check_representable()

    def closed_form_moments(self) -> tuple[float, float]:
        """Mean and SD from the closed form (Johnson, Kotz & Balakrishnan 1994, section 10.1), without scipy.stats:
        ``mu + sd (phi(a) - phi(b)) / Z`` and ``sd^2 [1 + (a phi(a) - b phi(b)) / Z - ((phi(a) - phi(b)) / Z)^2]``
        with ``a``, ``b`` the standardised bounds and ``Z`` the mass between them. Used by the load-time check, so
        that loading a scenario does not build ``scipy.stats.truncnorm`` (importing ``scipy.stats`` was most of
        ``heecon validate``'s time); :meth:`mean` and :meth:`std`, which results use, stay scipy's."""
        a, b = (self.lower - self.mu) / self.sd, (self.upper - self.mu) / self.sd
        with np.errstate(all="ignore"):
            pa = 0.0 if math.isinf(a) else math.exp(-0.5 * a * a) / math.sqrt(2.0 * math.pi)
            pb = 0.0 if math.isinf(b) else math.exp(-0.5 * b * b) / math.sqrt(2.0 * math.pi)
            z = _ndtr(-a) - _ndtr(-b) if a > 0 else _ndtr(b) - _ndtr(a)
        r = (pa - pb) / z
        ta = 0.0 if math.isinf(a) else a * pa
        tb = 0.0 if math.isinf(b) else b * pb
        var = self.sd * self.sd * max(0.0, 1.0 + (ta - tb) / z - r * r)
        return self.mu + self.sd * r, math.sqrt(var)

    def _check_representable(self) -> None:
        """As the base class's check, from :meth:`closed_form_moments`; draws lie within the bounds (a bound that is
        infinite: within 40 SDs of the mean)."""
        try:
            mean, sd = self.closed_form_moments()
        except (ArithmeticError, ValueError):
            mean = sd = math.nan
        lo = self.lower if math.isfinite(self.lower) else self.mu - 40.0 * self.sd
        hi = self.upper if math.isfinite(self.upper) else self.mu + 40.0 * self.sd
        _require(
            all(math.isfinite(v) for v in (mean, sd, lo, hi)),
            self._where(),
            f"{self.describe()} has a mean, SD or draws too large to represent in double precision; check its parameters",
        )

    def cdf_light(self, x: float) -> float | None:
        if x <= self.lower:
            return 0.0
        if x >= self.upper:
            return 1.0
        a, b, z = (self.lower - self.mu) / self.sd, (self.upper - self.mu) / self.sd, (x - self.mu) / self.sd
        if a > 0:  # in the far upper tail, from the upper tail's mass
            return (_ndtr(-a) - _ndtr(-z)) / (_ndtr(-a) - _ndtr(-b))
        return (_ndtr(z) - _ndtr(a)) / (_ndtr(b) - _ndtr(a))

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
            return np.exp(self.meanlog + self.sdlog * _special().ndtri(q))

    def _extremes(self) -> list[float]:
        return [float(np.exp(self.meanlog + self.sdlog * z)) for z in (_Z_MIN, _Z_MAX)]  # the quantiles themselves

    def cdf_light(self, x: float) -> float | None:
        return _ndtr((math.log(x) - self.meanlog) / self.sdlog) if x > 0 else 0.0

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (np.log(np.where(x > 0, x, np.nan)) - self.meanlog) / self.sdlog
        return np.where(x > 0, _special().ndtr(z), 0.0)

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
        return _special().betaincinv(self.alpha, self.beta, q)

    def _extremes(self) -> list[float] | None:
        # draws lie in [0, 1]; outside this range of the parameters scipy computes the quantiles to check them
        return [0.0, 1.0] if 1e-3 <= min(self.alpha, self.beta) and max(self.alpha, self.beta) <= 1e12 else None

    def cdf_light(self, x: float) -> float | None:
        return beta_i(self.alpha, self.beta, x)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return _special().betainc(self.alpha, self.beta, np.clip(x, 0.0, 1.0))

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
            return _special().gammaincinv(self.shape, q) * self.scale

    def _extremes(self) -> list[float] | None:
        """0 and the sub-gamma tail bound P(X >= θ(k + sqrt(2kL) + L)) <= exp(-L) at L = 53 log 2 (Boucheron,
        Lugosi & Massart 2013, section 2.4): the largest draw is at most that."""
        k = self.shape
        if not 1e-3 <= k <= 1e12:
            return None
        return [0.0, self.scale * (k + math.sqrt(2.0 * k * _L_TAIL) + _L_TAIL)]

    def cdf_light(self, x: float) -> float | None:
        return gamma_p(self.shape, x / self.scale)

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return _special().gammainc(self.shape, np.maximum(x, 0.0) / self.scale)

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
