"""Parametric survival distributions in flexsurv's parameterisations.

Every distribution has the hazard ``h(t)``, cumulative hazard ``H(t)``,
survival ``S(t) = exp(-H(t))``, density, distribution and quantile functions,
the mean and the restricted mean ``int_0^t S(u) du``. Parameters may be
arrays: they broadcast against each other and against ``t`` (a fit with
covariates has one parameter value per person; a PSA has one per sample).

The names and parameterisations are flexsurv's (Jackson 2016), so estimates
compare directly with ``flexsurvreg(..., dist=NAME)``:

============  ===================  =========================  ============  ==========
``name``      class                parameters (transform)     location      covariates
============  ===================  =========================  ============  ==========
``exp``       `Exponential`        rate (log)                 rate          PH
``weibull``   `Weibull`            shape (log), scale (log)   scale         AFT
``gompertz``  `Gompertz`           shape (identity), rate     rate          PH
                                   (log)
``llogis``    `LogLogistic`        shape (log), scale (log)   scale         AFT
``lnorm``     `LogNormal`          meanlog (identity), sdlog  meanlog       AFT
                                   (log)
``gamma``     `Gamma`              shape (log), rate (log)    rate          AFT
``gengamma``  `GeneralizedGamma`   mu (identity), sigma       mu            AFT
                                   (log), Q (identity)
``pwexp``     `PiecewiseExponential` rate1..rateK (log)       all rates     PH
============  ===================  =========================  ============  ==========

These are survival-time distributions; `heecon.params` has its own
``LogNormal`` and ``Gamma`` for uncertain parameters, which are unrelated.

References
----------
Collett D (2015). *Modelling Survival Data in Medical Research*, 3rd ed., ch. 5-6. Chapman & Hall/CRC.
Jackson CH (2016). flexsurv: a platform for parametric survival modeling in R. *J Stat Softw* 70(8):1-33.
Prentice RL (1974). A log gamma model and its maximum likelihood estimation. *Biometrika* 61(3):539-544.
Cox C, Chu H, Schneider MF, Muñoz A (2007). Parametric survival analysis and taxonomy of hazard functions for
the generalized gamma distribution. *Stat Med* 26(23):4352-4374.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from scipy import integrate, special

__all__ = [
    "Exponential",
    "Gamma",
    "GeneralizedGamma",
    "Gompertz",
    "LogLogistic",
    "LogNormal",
    "PiecewiseExponential",
    "SurvivalDistribution",
    "Weibull",
]

_LOG_2PI_HALF = 0.5 * math.log(2.0 * math.pi)


def _arr(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _out(x: np.ndarray) -> Any:
    """A float for a 0-d result, the array otherwise."""
    x = np.asarray(x)
    return float(x) if x.ndim == 0 else x


def _check_positive(name: str, value: np.ndarray, cls: str) -> None:
    if not np.all(value > 0):
        bad = value[~(value > 0)] if value.ndim else value
        raise ValueError(f"The {name!r} parameter of a {cls} distribution must be > 0. Got {np.ravel(bad)[0]!r}.")


def _check_finite(name: str, value: np.ndarray, cls: str) -> None:
    if not np.all(np.isfinite(value)):
        raise ValueError(f"The {name!r} parameter of a {cls} distribution must be finite. Got {value!r}.")


class SurvivalDistribution(ABC):
    """Base class: a survival-time distribution with (broadcastable) parameters.

    Subclasses define ``_cumhaz`` and ``_log_hazard`` for ``t > 0`` and
    ``_ppf``; everything else follows (``S = exp(-H)``, ``f = h S``).
    """

    name: ClassVar[str]
    label: ClassVar[str]

    # ---- to be provided by subclasses --------------------------------
    @property
    @abstractmethod
    def params(self) -> dict[str, Any]:
        """The parameters by flexsurv name (floats or arrays)."""

    @abstractmethod
    def _cumhaz(self, t: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _log_hazard(self, t: np.ndarray) -> np.ndarray: ...

    @abstractmethod
    def _ppf(self, p: np.ndarray) -> np.ndarray: ...

    def _mean(self) -> np.ndarray:
        return self._integrate_survival(np.inf)

    def _rmst(self, t: np.ndarray) -> np.ndarray:
        return self._integrate_survival(t)

    # ---- shared ------------------------------------------------------
    def _shape(self) -> tuple[int, ...]:
        return np.broadcast_shapes(*(np.shape(v) for v in self._param_arrays()))

    def _param_arrays(self) -> list[np.ndarray]:
        return [np.asarray(v) for v in self.params.values()]

    def cumhaz(self, t: Any) -> Any:
        """Cumulative hazard ``H(t)`` (0 for ``t <= 0``)."""
        t = _arr(t)
        with np.errstate(all="ignore"):
            h = self._cumhaz(np.where(t > 0, t, 1.0))
        return _out(np.where(t > 0, h, 0.0))

    def hazard(self, t: Any) -> Any:
        """Hazard ``h(t)`` (0 for ``t < 0``; the limit at ``t = 0``, possibly ``inf``)."""
        t = _arr(t)
        with np.errstate(all="ignore"):
            h = np.exp(self._log_hazard(np.where(t >= 0, t, 1.0)))
        return _out(np.where(t >= 0, np.where(np.isnan(h) & (t == 0), 0.0, h), 0.0))

    def log_hazard(self, t: Any) -> Any:
        """``log h(t)`` for ``t > 0``."""
        with np.errstate(all="ignore"):
            return _out(self._log_hazard(_arr(t)))

    def survival(self, t: Any) -> Any:
        """Survival function ``S(t) = P(T > t) = exp(-H(t))``."""
        return _out(np.exp(-_arr(self.cumhaz(t))))

    sf = survival

    def cdf(self, t: Any) -> Any:
        """Distribution function ``F(t) = 1 - S(t)`` (computed as ``-expm1(-H)``)."""
        return _out(-np.expm1(-_arr(self.cumhaz(t))))

    def logpdf(self, t: Any) -> Any:
        """``log f(t) = log h(t) - H(t)`` (``-inf`` for ``t <= 0``)."""
        t = _arr(t)
        with np.errstate(all="ignore"):
            tt = np.where(t > 0, t, 1.0)
            v = self._log_hazard(tt) - self._cumhaz(tt)
            at0 = np.log(_arr(self.hazard(np.zeros_like(t))))  # f(0) = h(0)
        return _out(np.where(t > 0, v, np.where(t == 0, at0, -np.inf)))

    def pdf(self, t: Any) -> Any:
        """Density ``f(t) = h(t) S(t)``."""
        return _out(np.exp(_arr(self.logpdf(t))))

    def ppf(self, p: Any) -> Any:
        """Quantile function: the ``t`` with ``F(t) = p`` (``inf`` where the distribution has a cure fraction above ``1 - p``)."""
        p = _arr(p)
        if np.any((p < 0) | (p > 1) | np.isnan(p)):
            raise ValueError(f"Probabilities must lie in [0, 1]. Got {p!r}.")
        with np.errstate(all="ignore"):
            q = self._ppf(np.clip(p, 0.0, 1.0))
        q = np.where(p == 0, 0.0, q)
        return _out(np.where(p == 1, np.inf, q))

    quantile = ppf

    def median(self) -> Any:
        """The median survival time ``ppf(0.5)``."""
        return self.ppf(0.5)

    def mean(self) -> Any:
        """Mean survival time ``int_0^inf S(t) dt`` (``inf`` where it diverges)."""
        with np.errstate(all="ignore"):
            return _out(self._mean())

    def rmst(self, t: Any) -> Any:
        """Restricted mean survival time ``int_0^t S(u) du``."""
        t = _arr(t)
        if np.any(np.isnan(t)):
            raise ValueError("The restriction time must not be NaN.")
        with np.errstate(all="ignore"):
            return _out(np.where(t > 0, self._rmst(np.maximum(t, 0.0)), 0.0))

    restricted_mean = rmst

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """Draw survival times by inversion of ``rng.random(size)`` uniforms."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}.")
        return np.asarray(self.ppf(rng.random(size)))

    def _integrate_survival(self, upper: Any) -> np.ndarray:
        """``int_0^upper S`` by adaptive quadrature, element by element."""
        upper = np.asarray(upper, dtype=float)
        shape = np.broadcast_shapes(upper.shape, self._shape())
        out = np.empty(shape)
        ups = np.broadcast_to(upper, shape)
        for idx in np.ndindex(*shape) if shape else [()]:
            d = self._element(idx, shape)
            u = float(ups[idx])

            def s(x: float, d: SurvivalDistribution = d) -> float:
                return float(d.survival(x))

            if np.isinf(u):
                if float(d.survival(1e300)) > 0:  # cure fraction
                    out[idx] = np.inf
                    continue
                med = float(d.median())
                val = integrate.quad(s, 0.0, med, limit=200)[0] + integrate.quad(s, med, np.inf, limit=200)[0]
            else:
                val = integrate.quad(s, 0.0, u, limit=200)[0]
            out[idx] = val
        return out

    def _element(self, idx: tuple[int, ...], shape: tuple[int, ...]) -> SurvivalDistribution:
        vals = {k: np.broadcast_to(np.asarray(v), shape)[idx] for k, v in self.params.items()}
        return type(self)(**vals)

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={_fmt(v)}" for k, v in self.params.items())
        return f"{type(self).__name__}({inner})"


def _times_log(c: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``c * log(x)`` with ``0 * log(0) = 0`` (the hazard at t = 0 of a shape-1 Weibull)."""
    return np.where(c == 0, 0.0, c * np.log(x))


def _fmt(v: Any) -> str:
    a = np.asarray(v)
    if a.ndim == 0:
        return f"{float(a):.6g}"
    return f"array(shape={a.shape})"


# --------------------------------------------------------------------------
# the families
# --------------------------------------------------------------------------


class Exponential(SurvivalDistribution):
    """Exponential: constant hazard ``h(t) = rate`` (flexsurv ``exp``, R's ``dexp``).

    Parameters
    ----------
    rate : float or array_like
        The hazard, > 0.
    """

    name = "exp"
    label = "Exponential"

    def __init__(self, rate: Any) -> None:
        self.rate = _arr(rate)
        _check_positive("rate", self.rate, "exponential")

    @property
    def params(self) -> dict[str, Any]:
        return {"rate": _out(self.rate)}

    def _cumhaz(self, t: np.ndarray) -> np.ndarray:
        return self.rate * t

    def _log_hazard(self, t: np.ndarray) -> np.ndarray:
        return np.log(self.rate) + 0.0 * t

    def _ppf(self, p: np.ndarray) -> np.ndarray:
        return -np.log1p(-p) / self.rate

    def _mean(self) -> np.ndarray:
        return 1.0 / self.rate

    def _rmst(self, t: np.ndarray) -> np.ndarray:
        return -np.expm1(-self.rate * t) / self.rate


class Weibull(SurvivalDistribution):
    """Weibull as in R's ``dweibull`` (flexsurv ``weibull``): ``S(t) = exp(-(t/scale)^shape)``.

    Covariates act on ``scale`` (accelerated failure time); the hazard ratio of
    a coefficient ``b`` on ``log(scale)`` is ``exp(-shape * b)``.

    Parameters
    ----------
    shape, scale : float or array_like
        Both > 0.
    """

    name = "weibull"
    label = "Weibull"

    def __init__(self, shape: Any, scale: Any) -> None:
        self.shape, self.scale = _arr(shape), _arr(scale)
        _check_positive("shape", self.shape, "Weibull")
        _check_positive("scale", self.scale, "Weibull")

    @property
    def params(self) -> dict[str, Any]:
        return {"shape": _out(self.shape), "scale": _out(self.scale)}

    def _cumhaz(self, t: np.ndarray) -> np.ndarray:
        return (t / self.scale) ** self.shape

    def _log_hazard(self, t: np.ndarray) -> np.ndarray:
        return np.log(self.shape / self.scale) + _times_log(self.shape - 1.0, t / self.scale)

    def _ppf(self, p: np.ndarray) -> np.ndarray:
        return self.scale * (-np.log1p(-p)) ** (1.0 / self.shape)

    def _mean(self) -> np.ndarray:
        return self.scale * special.gamma(1.0 + 1.0 / self.shape)

    def _rmst(self, t: np.ndarray) -> np.ndarray:
        # int_0^t exp(-(u/b)^a) du = b Gamma(1 + 1/a) P(1/a, (t/b)^a)
        a = self.shape
        return self.scale * special.gamma(1.0 + 1.0 / a) * special.gammainc(1.0 / a, (t / self.scale) ** a)


def _exp_e1(x: np.ndarray) -> np.ndarray:
    """``exp(x) E1(x)`` for ``x > 0`` without overflow (asymptotic series beyond 50)."""
    x = np.asarray(x, dtype=float)
    small = x <= 50
    xs = np.where(small, x, 1.0)
    out = np.where(small, np.exp(xs) * special.exp1(xs), 0.0)
    xl = np.where(small, 100.0, x)
    series = np.zeros_like(xl)
    term = 1.0 / xl
    for k in range(12):
        series = series + term
        term = -term * (k + 1) / xl
    return np.where(small, out, series)


class Gompertz(SurvivalDistribution):
    """Gompertz (flexsurv ``gompertz``): ``h(t) = rate * exp(shape * t)``.

    ``shape`` may be negative: the hazard then falls and ``S(inf) =
    exp(rate/shape) > 0`` (a cure fraction; the mean is infinite and high
    quantiles are ``inf``). ``shape = 0`` is the exponential.

    Parameters
    ----------
    shape : float or array_like
        Any real number (identity transform in fits).
    rate : float or array_like
        > 0; covariates act on it (proportional hazards).
    """

    name = "gompertz"
    label = "Gompertz"

    def __init__(self, shape: Any, rate: Any) -> None:
        self.shape, self.rate = _arr(shape), _arr(rate)
        _check_finite("shape", self.shape, "Gompertz")
        _check_positive("rate", self.rate, "Gompertz")

    @property
    def params(self) -> dict[str, Any]:
        return {"shape": _out(self.shape), "rate": _out(self.rate)}

    def _cumhaz(self, t: np.ndarray) -> np.ndarray:
        a = self.shape
        at = a * t
        # rate * t * expm1(a t)/(a t), exact at a = 0
        ratio = np.where(at == 0, 1.0, special.expm1(at) / np.where(at == 0, 1.0, at))
        return self.rate * t * ratio

    def _log_hazard(self, t: np.ndarray) -> np.ndarray:
        return np.log(self.rate) + self.shape * t

    def _ppf(self, p: np.ndarray) -> np.ndarray:
        a, b = self.shape, self.rate
        h = -np.log1p(-p)
        z = a * h / b
        safe_a = np.where(a == 0, 1.0, a)
        t = np.where(a == 0, h / b, np.log1p(np.where(z > -1, z, 0.0)) / safe_a)
        return np.where((a != 0) & (z <= -1), np.inf, t)

    def _mean(self) -> np.ndarray:
        a, b = np.broadcast_arrays(self.shape, self.rate)
        pos = a > 0
        x = np.where(pos, b / np.where(pos, a, 1.0), 1.0)
        m = np.where(pos, _exp_e1(x) / np.where(pos, a, 1.0), 0.0)
        return np.where(a == 0, 1.0 / b, np.where(pos, m, np.inf))


class LogLogistic(SurvivalDistribution):
    """Log-logistic (flexsurv ``llogis``): ``S(t) = 1 / (1 + (t/scale)^shape)``.

    Parameters
    ----------
    shape, scale : float or array_like
        Both > 0; covariates act on ``scale`` (accelerated failure time).
    """

    name = "llogis"
    label = "Log-logistic"

    def __init__(self, shape: Any, scale: Any) -> None:
        self.shape, self.scale = _arr(shape), _arr(scale)
        _check_positive("shape", self.shape, "log-logistic")
        _check_positive("scale", self.scale, "log-logistic")

    @property
    def params(self) -> dict[str, Any]:
        return {"shape": _out(self.shape), "scale": _out(self.scale)}

    def _cumhaz(self, t: np.ndarray) -> np.ndarray:
        # log1p((t/b)^a) = logaddexp(0, a log(t/b)), stable both ways
        return np.logaddexp(0.0, self.shape * np.log(t / self.scale))

    def _log_hazard(self, t: np.ndarray) -> np.ndarray:
        z = self.shape * np.log(t / self.scale)
        return np.log(self.shape / self.scale) + _times_log(self.shape - 1.0, t / self.scale) - np.logaddexp(0.0, z)

    def _ppf(self, p: np.ndarray) -> np.ndarray:
        return self.scale * (p / (1.0 - p)) ** (1.0 / self.shape)

    def _mean(self) -> np.ndarray:
        a, b = np.broadcast_arrays(self.shape, self.scale)
        x = np.pi / a
        return np.where(a > 1, b * x / np.sin(np.where(a > 1, x, 1.0)), np.inf)


class LogNormal(SurvivalDistribution):
    """Log-normal (flexsurv ``lnorm``, R's ``dlnorm``): ``log T ~ N(meanlog, sdlog^2)``.

    Parameters
    ----------
    meanlog : float or array_like
        Covariates act on it (accelerated failure time).
    sdlog : float or array_like
        > 0.
    """

    name = "lnorm"
    label = "Log-normal"

    def __init__(self, meanlog: Any, sdlog: Any) -> None:
        self.meanlog, self.sdlog = _arr(meanlog), _arr(sdlog)
        _check_finite("meanlog", self.meanlog, "log-normal")
        _check_positive("sdlog", self.sdlog, "log-normal")

    @property
    def params(self) -> dict[str, Any]:
        return {"meanlog": _out(self.meanlog), "sdlog": _out(self.sdlog)}

    def _z(self, t: np.ndarray) -> np.ndarray:
        return (np.log(t) - self.meanlog) / self.sdlog

    def _cumhaz(self, t: np.ndarray) -> np.ndarray:
        return -special.log_ndtr(-self._z(t))

    def _log_hazard(self, t: np.ndarray) -> np.ndarray:
        z = self._z(t)
        return -0.5 * z * z - _LOG_2PI_HALF - np.log(self.sdlog * t) - special.log_ndtr(-z)

    def _ppf(self, p: np.ndarray) -> np.ndarray:
        return np.exp(self.meanlog + self.sdlog * special.ndtri(p))

    def _mean(self) -> np.ndarray:
        return np.exp(self.meanlog + 0.5 * self.sdlog**2)


def _gamma_cumhaz(a: np.ndarray, x: np.ndarray, upper: Any) -> np.ndarray:
    """``-log`` of the upper (``upper`` true) or lower regularised incomplete gamma, accurate near 1."""
    p = special.gammainc(a, x)
    q = special.gammaincc(a, x)
    keep, other = np.where(upper, q, p), np.where(upper, p, q)
    return np.where(other < 0.5, -np.log1p(-other), -np.log(keep))


class Gamma(SurvivalDistribution):
    """Gamma (flexsurv ``gamma``, R's ``dgamma`` with ``shape`` and ``rate``).

    Parameters
    ----------
    shape, rate : float or array_like
        Both > 0; covariates act on ``rate`` (an accelerated failure time model:
        a coefficient ``b`` on ``log(rate)`` multiplies times by ``exp(-b)``).
    """

    name = "gamma"
    label = "Gamma"

    def __init__(self, shape: Any, rate: Any) -> None:
        self.shape, self.rate = _arr(shape), _arr(rate)
        _check_positive("shape", self.shape, "gamma")
        _check_positive("rate", self.rate, "gamma")

    @property
    def params(self) -> dict[str, Any]:
        return {"shape": _out(self.shape), "rate": _out(self.rate)}

    def _cumhaz(self, t: np.ndarray) -> np.ndarray:
        return _gamma_cumhaz(self.shape, self.rate * t, True)

    def _log_hazard(self, t: np.ndarray) -> np.ndarray:
        a, r = self.shape, self.rate
        logf = a * np.log(r) + _times_log(a - 1.0, t) - r * t - special.gammaln(a)
        return logf + self._cumhaz(t)

    def _ppf(self, p: np.ndarray) -> np.ndarray:
        return special.gammaincinv(self.shape, p) / self.rate

    def _mean(self) -> np.ndarray:
        return self.shape / self.rate


def _stirling_tail(a: np.ndarray) -> np.ndarray:
    """``lgamma(a) - [(a - 1/2) log a - a + log(2 pi)/2]`` for large ``a`` (series; error < 1e-13 for a >= 10)."""
    a2 = a * a
    return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - 1.0 / (1188 * a2)) / a2) / a2) / a2) / a


def _g_series(u: np.ndarray) -> np.ndarray:
    """``(exp(u) - 1 - u) / u^2``, smooth through ``u = 0`` (1/2 there)."""
    small = np.abs(u) < 1e-2
    us = np.where(small, u, 0.0)
    series = 0.5 + us * (1 / 6 + us * (1 / 24 + us * (1 / 120 + us * (1 / 720 + us * (1 / 5040 + us / 40320)))))
    ul = np.where(small, 1.0, u)
    direct = (special.expm1(ul) - ul) / (ul * ul)
    return np.where(small, series, direct)


class GeneralizedGamma(SurvivalDistribution):
    """Generalised gamma in Prentice's (1974) parameterisation (flexsurv ``gengamma``).

    With ``w = (log t - mu) / sigma`` and, for ``Q != 0``, ``a = 1/Q^2``:
    ``a exp(Q w)`` has a ``Gamma(a, 1)`` distribution, so ``S(t) = 1 - P(a, a
    exp(Q w))`` for ``Q > 0`` and ``P(a, a exp(Q w))`` for ``Q < 0``. ``Q = 0``
    is the log-normal (``meanlog = mu``, ``sdlog = sigma``), ``Q = 1`` the
    Weibull (``shape = 1/sigma``, ``scale = exp(mu)``), ``Q = sigma`` the gamma.

    The density is computed as ``c(Q) - w^2 g(Q w)`` with ``g(u) = (e^u - 1 -
    u)/u^2`` and ``c(Q)`` from Stirling's series for small ``|Q|``, so it is
    smooth and accurate through ``Q = 0`` (flexsurv's direct formula cancels
    badly there), which matters for the numerical Hessian of a fit.

    Parameters
    ----------
    mu : float or array_like
        Location; covariates act on it (accelerated failure time).
    sigma : float or array_like
        Scale, > 0.
    Q : float or array_like
        Shape, any real number.
    """

    name = "gengamma"
    label = "Generalised gamma"

    #: below this |Q| the survival function is the log-normal's (the error is O(|Q|) and far below rounding of fits)
    _Q_LOGNORMAL = 1e-7

    def __init__(self, mu: Any, sigma: Any, Q: Any) -> None:
        self.mu, self.sigma, self.Q = _arr(mu), _arr(sigma), _arr(Q)
        _check_finite("mu", self.mu, "generalised gamma")
        _check_positive("sigma", self.sigma, "generalised gamma")
        _check_finite("Q", self.Q, "generalised gamma")

    @property
    def params(self) -> dict[str, Any]:
        return {"mu": _out(self.mu), "sigma": _out(self.sigma), "Q": _out(self.Q)}

    def _w(self, t: np.ndarray) -> np.ndarray:
        return (np.log(t) - self.mu) / self.sigma

    def _const(self) -> np.ndarray:
        q = np.abs(self.Q)
        big = q > 0.3
        qs = np.where(big, 1.0, np.where(q == 0, 1.0, q))
        a_small = 1.0 / (qs * qs)
        c_small = np.where(q == 0, -_LOG_2PI_HALF, -_LOG_2PI_HALF - _stirling_tail(a_small))
        qb = np.where(big, q, 1.0)
        a_big = 1.0 / (qb * qb)
        c_big = np.log(qb) * (1.0 - 2.0 * a_big) - a_big - special.gammaln(a_big)
        return np.where(big, c_big, np.where(q == 0, -_LOG_2PI_HALF, c_small))

    def _logpdf_pos(self, t: np.ndarray) -> np.ndarray:
        w = self._w(t)
        return -np.log(self.sigma * t) + self._const() - w * w * _g_series(self.Q * w)

    def _cumhaz(self, t: np.ndarray) -> np.ndarray:
        w = self._w(t)
        q = self.Q
        tiny = np.abs(q) < self._Q_LOGNORMAL
        qs = np.where(tiny, 1.0, q)
        a = 1.0 / (qs * qs)
        x = a * np.exp(qs * w)
        h_gamma = _gamma_cumhaz(a, x, qs > 0)
        h_ln = -special.log_ndtr(-w)
        return np.where(tiny, h_ln, h_gamma)

    def _log_hazard(self, t: np.ndarray) -> np.ndarray:
        return self._logpdf_pos(t) + self._cumhaz(t)

    def _ppf(self, p: np.ndarray) -> np.ndarray:
        q = self.Q
        tiny = np.abs(q) < self._Q_LOGNORMAL
        qs = np.where(tiny, 1.0, q)
        a = 1.0 / (qs * qs)
        g = np.where(qs > 0, special.gammaincinv(a, p), special.gammainccinv(a, p))
        w = np.where(tiny, special.ndtri(p), np.log(g / a) / qs)
        return np.exp(self.mu + self.sigma * w)

    def _mean(self) -> np.ndarray:
        mu, sigma, q = np.broadcast_arrays(self.mu, self.sigma, self.Q)
        out = np.empty(mu.shape)
        for idx in np.ndindex(*mu.shape) if mu.shape else [()]:
            m, s, qq = float(mu[idx]), float(sigma[idx]), float(q[idx])
            if 1.0 + s * qq <= 0:
                out[idx] = np.inf
            elif abs(qq) >= 1e-2:
                a = 1.0 / (qq * qq)
                out[idx] = math.exp(m + special.gammaln(a + s / qq) - special.gammaln(a) + 2.0 * s * math.log(abs(qq)) / qq)
            else:
                # E exp(sigma W) with W's density exp(c(Q) - w^2 g(Q w)), by quadrature (smooth through Q = 0)
                c = float(GeneralizedGamma(0.0, 1.0, qq)._const())

                def f(w: float, s: float = s, qq: float = qq, c: float = c) -> float:
                    return math.exp(s * w + c - w * w * float(_g_series(np.asarray(qq * w))))

                out[idx] = math.exp(m) * integrate.quad(f, -np.inf, np.inf, limit=200)[0]
        return out


class PiecewiseExponential(SurvivalDistribution):
    """Piecewise exponential: a constant hazard between given cut points.

    Parameters
    ----------
    cuts : sequence of float
        Interior cut points ``0 < c_1 < ... < c_m`` (years, or the data's time unit).
    rates : array_like, shape ``(..., m + 1)``
        The hazard on ``[0, c_1), [c_1, c_2), ..., [c_m, inf)``; the last axis
        indexes the pieces, the leading axes broadcast (one row per person or
        PSA sample). Rates must be >= 0 (a fitted rate is > 0).
    """

    name = "pwexp"
    label = "Piecewise exponential"

    def __init__(self, cuts: Sequence[float], rates: Any) -> None:
        cuts_a = np.asarray(cuts, dtype=float).reshape(-1)
        if cuts_a.size and (not np.all(np.isfinite(cuts_a)) or cuts_a[0] <= 0 or np.any(np.diff(cuts_a) <= 0)):
            raise ValueError(f"Cut points must be finite, > 0 and strictly increasing. Got {list(cuts_a)}.")
        rates_a = _arr(rates)
        if rates_a.ndim == 0 or rates_a.shape[-1] != cuts_a.size + 1:
            raise ValueError(
                f"{cuts_a.size} cut points need {cuts_a.size + 1} rates on the last axis. Got shape {rates_a.shape}."
            )
        if not np.all((rates_a >= 0) & np.isfinite(rates_a)):
            raise ValueError("Piecewise exponential rates must be finite and >= 0.")
        self.cuts = cuts_a
        self.rates = rates_a
        self._lo = np.concatenate([[0.0], cuts_a])
        self._width = np.concatenate([np.diff(self._lo), [np.inf]])

    @property
    def params(self) -> dict[str, Any]:
        return {f"rate{j + 1}": _out(self.rates[..., j]) for j in range(self.rates.shape[-1])}

    def _shape(self) -> tuple[int, ...]:
        return self.rates.shape[:-1]

    def _element(self, idx: tuple[int, ...], shape: tuple[int, ...]) -> SurvivalDistribution:
        return PiecewiseExponential(self.cuts, np.broadcast_to(self.rates, shape + self.rates.shape[-1:])[idx])

    def _exposure(self, t: np.ndarray) -> np.ndarray:
        return np.clip(t[..., None] - self._lo, 0.0, self._width)

    def _cumhaz(self, t: np.ndarray) -> np.ndarray:
        e = self._exposure(t)
        with np.errstate(invalid="ignore"):
            return np.sum(np.where(e > 0, e * self.rates, 0.0), axis=-1)

    def _piece(self, t: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.cuts, t, side="right")

    def _log_hazard(self, t: np.ndarray) -> np.ndarray:
        j = self._piece(t)
        r = np.broadcast_to(self.rates, np.broadcast_shapes(t.shape + (1,), self.rates.shape))
        return np.log(np.take_along_axis(r, np.broadcast_to(j[..., None], r.shape[:-1] + (1,)), axis=-1)[..., 0])

    def _ppf(self, p: np.ndarray) -> np.ndarray:
        shape = np.broadcast_shapes(p.shape, self._shape())
        rates = np.broadcast_to(self.rates, shape + self.rates.shape[-1:])
        target = np.broadcast_to(-np.log1p(-p), shape)
        out = np.empty(shape)
        for idx in np.ndindex(*shape) if shape else [()]:
            r = rates[idx]
            hcut = np.concatenate([[0.0], np.cumsum(r[:-1] * self._width[:-1])])
            h = float(target[idx])
            j = int(np.searchsorted(hcut, h, side="right") - 1)
            while j > 0 and r[j] == 0 and hcut[j] >= h:
                j -= 1
            out[idx] = self._lo[j] + (h - hcut[j]) / r[j] if r[j] > 0 else (self._lo[j] if h <= hcut[j] else np.inf)
        return out

    def _rmst(self, t: np.ndarray) -> np.ndarray:
        # sum over pieces of S(lo_j) (1 - exp(-r_j e_j)) / r_j with e_j the exposure in piece j
        e = self._exposure(np.asarray(t, dtype=float))
        with np.errstate(invalid="ignore", divide="ignore"):
            h_piece = np.where(e > 0, e * self.rates, 0.0)
            h_before = np.cumsum(h_piece, axis=-1) - h_piece
            r = np.broadcast_to(self.rates, h_piece.shape)
            part = np.where(r > 0, -np.expm1(-h_piece) / np.where(r > 0, r, 1.0), e)
            return np.sum(np.where(e > 0, np.exp(-h_before) * part, 0.0), axis=-1)

    def _mean(self) -> np.ndarray:
        last = self.rates[..., -1]
        end = np.asarray(self.cuts[-1] if self.cuts.size else 0.0)
        m = self._rmst(end)
        h_end = self._cumhaz(end)
        with np.errstate(divide="ignore"):
            tail = np.exp(-h_end) / last
        return np.where(last > 0, m + tail, np.inf)

    def __repr__(self) -> str:
        rates = _fmt(self.rates) if self.rates.ndim > 1 else [float(r) for r in self.rates]
        return f"PiecewiseExponential(cuts={[float(c) for c in self.cuts]}, rates={rates})"
