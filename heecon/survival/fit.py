"""Maximum-likelihood fits of parametric survival models to individual data.

Right-censored data, optionally left-truncated (delayed entry), optionally with
covariates acting on the location parameter as in flexsurv's default
(``flexsurvreg(Surv(time, event) ~ x, dist=...)``).

The log-likelihood (Collett 2015, §5.6; with delayed entry, §13.2) is

    l = sum_i [ d_i log h(t_i) - H(t_i) + H(s_i) ]

with ``d_i`` the event indicator and ``s_i`` the entry time (0 when there is
none). Coefficients are on flexsurv's transformed scale (log for positive
parameters), in flexsurv's order: the baseline parameters, then one
coefficient per covariate on the transformed location parameter.

How the fit is made robust:

* it runs on ``t / tau`` (``tau`` the median observed time) with covariates
  centred and scaled, so all coefficients are of order one; estimates and
  covariance are mapped back exactly (the map is affine);
* several starting values per distribution (flexsurv's, moment-based ones, and
  for the generalised gamma the fitted log-normal, Weibull and gamma), the best
  taken;
* BFGS with central-difference gradients, falling back to Nelder-Mead (then
  BFGS again) and Powell when BFGS stops short of a zero gradient;
* the covariance is the inverse of the negative Hessian of the log-likelihood
  by central second differences with Richardson extrapolation.

References
----------
Collett D (2015). *Modelling Survival Data in Medical Research*, 3rd ed. Chapman & Hall/CRC.
Jackson CH (2016). flexsurv: a platform for parametric survival modeling in R. *J Stat Softw* 70(8):1-33.
Latimer N (2011, updated 2013). NICE DSU Technical Support Document 14: survival analysis for economic
evaluations alongside clinical trials - extrapolation with patient-level data. NICE Decision Support Unit.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ._numdiff import gradient, hessian
from .distributions import SurvivalDistribution
from .families import Family, family
from .likelihood import _Data, _loglik, _read_data, _values, log_likelihood

__all__ = [
    "DEFAULT_COMPARISON",
    "SurvivalFit",
    "compare_fits",
    "family_name",
    "fit_all",
    "fit_survival",
    "log_likelihood",
]

#: The distributions `fit_all` fits by default (NICE DSU TSD 14's standard set plus gamma and generalised gamma).
DEFAULT_COMPARISON: tuple[str, ...] = ("exp", "weibull", "gompertz", "llogis", "lnorm", "gamma", "gengamma")

_Z95 = float(stats.norm.ppf(0.975))


# --------------------------------------------------------------------------
# the fit
# --------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SurvivalFit:
    """A fitted parametric survival model (the result of `fit_survival`).

    Attributes
    ----------
    family : Family
        The distribution fitted (``family.name`` is flexsurv's name).
    coef : ndarray
        Coefficients on flexsurv's transformed scale (``res.t``): baseline
        parameters, then covariate effects on the transformed location parameter.
    coef_names : tuple of str
        flexsurv's names: the parameter names, then the covariate names.
    cov : ndarray
        Covariance matrix of ``coef`` (inverse of the negative Hessian); NaN when
        the Hessian is not negative definite.
    loglik : float
        Maximised log-likelihood.
    n_obs, n_events : int
        Observations and events.
    converged : bool
        The gradient vanished (max |gradient| below 1e-4 on the internal scale) and
        the Hessian is negative definite.
    method : str
        The optimiser that produced the estimate.
    message : str
        Diagnostics (empty when all is well).
    time, event, entry, X : ndarray
        The data fitted (read-only), kept for Kaplan-Meier comparisons and plots.
    covariate_names : tuple of str
    """

    family: Family
    coef: np.ndarray
    coef_names: tuple[str, ...]
    cov: np.ndarray
    loglik: float
    n_obs: int
    n_events: int
    converged: bool
    method: str
    message: str
    time: np.ndarray = field(repr=False)
    event: np.ndarray = field(repr=False)
    entry: np.ndarray | None = field(repr=False)
    X: np.ndarray = field(repr=False)
    covariate_names: tuple[str, ...] = ()

    # ---- summaries ----------------------------------------------------
    @property
    def dist(self) -> str:
        """flexsurv's name of the distribution (``"weibull"``, ...)."""
        return self.family.name

    @property
    def label(self) -> str:
        return self.family.label

    @property
    def n_params(self) -> int:
        """Number of estimated coefficients (flexsurv's ``npars``)."""
        return int(self.coef.size)

    @property
    def aic(self) -> float:
        """Akaike's information criterion ``-2 loglik + 2 k``."""
        return -2.0 * self.loglik + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        """Bayesian information criterion ``-2 loglik + k log(n)`` with ``n`` the number of observations (flexsurv's default)."""
        return -2.0 * self.loglik + self.n_params * math.log(self.n_obs)

    @property
    def se(self) -> np.ndarray:
        """Standard errors of ``coef``."""
        return np.sqrt(np.diag(self.cov))

    @property
    def estimates(self) -> dict[str, float]:
        """Baseline parameters on their natural scale (flexsurv's ``res[, "est"]``) and covariate coefficients."""
        out = {}
        for i, name in enumerate(self.coef_names):
            c = float(self.coef[i])
            out[name] = math.exp(c) if i < self.family.n_parameters and self.family.transforms[i] == "log" else c
        return out

    @property
    def transforms(self) -> tuple[str, ...]:
        """``"log"`` or ``"identity"`` for each coefficient (covariate effects: identity)."""
        return self.family.transforms + ("identity",) * len(self.covariate_names)

    @property
    def max_time(self) -> float:
        """The longest observed time: beyond it the curve is an extrapolation."""
        return float(np.max(self.time))

    def summary(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Estimates as flexsurv prints them.

        Returns
        -------
        DataFrame
            Index: ``coef_names``. Columns ``est``, ``lower``, ``upper``, ``se`` on the
            natural scale (CIs of log-transformed parameters are ``exp(coef ± z se)``;
            their ``se`` is the delta-method ``est * se(coef)``, as flexsurv's), then
            ``coef`` and ``coef_se`` on the transformed scale and ``transform``.
        """
        z = float(stats.norm.ppf(0.5 + conf_level / 2.0))
        rows = []
        se = self.se
        for i, name in enumerate(self.coef_names):
            c, s, tr = float(self.coef[i]), float(se[i]), self.transforms[i]
            if tr == "log":
                est, lo, hi, s_nat = math.exp(c), math.exp(c - z * s), math.exp(c + z * s), math.exp(c) * s
            else:
                est, lo, hi, s_nat = c, c - z * s, c + z * s, s
            rows.append({"est": est, "lower": lo, "upper": hi, "se": s_nat, "coef": c, "coef_se": s, "transform": tr})
        return pd.DataFrame(rows, index=pd.Index(self.coef_names, name="parameter"))

    def covariate_effects(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Hazard ratios and time ratios of the covariates, with confidence intervals.

        For a PH family (exponential, Gompertz, piecewise exponential) the hazard
        ratio is ``exp(coef)``; for an AFT family the time ratio (acceleration
        factor) is ``exp(coef)`` (``exp(-coef)`` for the gamma, whose location is
        a rate). The exponential and Weibull are both: for the Weibull the hazard
        ratio is ``exp(-shape * coef)`` (delta-method CI on the log scale); for the
        exponential the time ratio is ``exp(-coef)``. Ratios that the family does
        not define are NaN.
        """
        z = float(stats.norm.ppf(0.5 + conf_level / 2.0))
        nb = self.family.n_parameters
        rows = []
        name = self.family.name
        for j, cov_name in enumerate(self.covariate_names):
            i = nb + j
            b, s = float(self.coef[i]), float(self.se[i])
            log_hr = log_tr = se_hr = se_tr = math.nan
            if self.family.effect == "PH":
                log_hr, se_hr = b, s
                if name == "exp":
                    log_tr, se_tr = -b, s
            else:
                log_tr, se_tr = (-b, s) if name == "gamma" else (b, s)
                if name == "weibull":
                    shape = math.exp(float(self.coef[0]))
                    grad = np.zeros(self.coef.size)
                    grad[0], grad[i] = -shape * b, -shape
                    log_hr, se_hr = -shape * b, float(np.sqrt(grad @ self.cov @ grad))
            rows.append({
                "coef": b, "coef_se": s,
                "hazard_ratio": math.exp(log_hr), "hr_lower": math.exp(log_hr - z * se_hr), "hr_upper": math.exp(log_hr + z * se_hr),
                "time_ratio": math.exp(log_tr), "tr_lower": math.exp(log_tr - z * se_tr), "tr_upper": math.exp(log_tr + z * se_tr),
            })
        cols = ["coef", "coef_se", "hazard_ratio", "hr_lower", "hr_upper", "time_ratio", "tr_lower", "tr_upper"]
        return pd.DataFrame(rows, index=pd.Index(self.covariate_names, name="covariate"), columns=cols)

    # ---- the fitted curve ---------------------------------------------
    def _x_row(self, x: Any) -> np.ndarray:
        p = len(self.covariate_names)
        if x is None:
            return np.zeros((1, p))
        if isinstance(x, Mapping):
            unknown = [k for k in x if k not in self.covariate_names]
            if unknown:
                raise ValueError(f"Unknown covariate {unknown[0]!r}; the fit has {list(self.covariate_names) or 'none'}.")
            missing = [k for k in self.covariate_names if k not in x]
            if missing:
                raise ValueError(f"A value for covariate {missing[0]!r} is needed (the fit has {list(self.covariate_names)}).")
            return np.array([[float(x[k]) for k in self.covariate_names]])
        a = np.asarray(x, dtype=float)
        if a.ndim == 0:
            a = a.reshape(1, 1)
        elif a.ndim == 1:
            a = a[None, :]
        if a.shape[-1] != p:
            raise ValueError(f"x needs {p} covariate value(s) ({list(self.covariate_names)}); got {a.shape[-1]}.")
        return a

    def distribution(self, x: Any = None) -> SurvivalDistribution:
        """The fitted distribution for covariate values ``x``.

        Parameters
        ----------
        x : mapping, sequence or 2-d array, optional
            Covariate values by name (``{"treat": 1}``), in order, or one row per
            profile (then the parameters are arrays). Default: all covariates 0 (the
            reference group).
        """
        return self.distribution_from_coefficients(self.coef, x)

    def distribution_from_coefficients(self, coefficients: Any, x: Any = None) -> SurvivalDistribution:
        """The distribution for other coefficient values (e.g. PSA draws of shape ``(n, k)``).

        With draws of shape ``(n, k)`` and one covariate profile the parameters have
        shape ``(n, 1)``, ready to broadcast against a vector of times.
        """
        c = np.asarray(coefficients, dtype=float)
        if c.shape[-1] != self.coef.size:
            raise ValueError(f"Expected {self.coef.size} coefficients ({list(self.coef_names)}) on the last axis; got {c.shape}.")
        X = self._x_row(x)
        if c.ndim == 1:
            vals = _values(self.family, c, X)
            if X.shape[0] == 1:
                vals = [np.asarray(v).reshape(()) if np.size(v) == 1 else v for v in vals]
            return self.family.build(vals)
        return self.family.build(_values(self.family, c, X))

    def survival(self, t: Any, x: Any = None) -> Any:
        """Fitted ``S(t)`` for covariate values ``x`` (see `distribution`)."""
        return self.distribution(x).survival(t)

    def hazard(self, t: Any, x: Any = None) -> Any:
        """Fitted ``h(t)``."""
        return self.distribution(x).hazard(t)

    def cumhaz(self, t: Any, x: Any = None) -> Any:
        """Fitted ``H(t)``."""
        return self.distribution(x).cumhaz(t)

    def sample_coefficients(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws of the coefficients from their asymptotic multivariate normal.

        ``coef + z @ L.T`` with ``z = rng.standard_normal((n, k))`` and ``L`` the
        Cholesky factor of ``cov``.

        Returns
        -------
        ndarray, shape ``(n, k)``
        """
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator; got {type(rng).__name__}.")
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive integer. Got {n!r}.")
        try:
            chol = np.linalg.cholesky(self.cov)
        except np.linalg.LinAlgError:
            raise ValueError(f"The covariance matrix of the {self.label} fit is not positive definite ({self.message}).") from None
        z = rng.standard_normal((int(n), self.coef.size))
        return self.coef + z @ chol.T

    def __repr__(self) -> str:
        est = ", ".join(f"{k}={v:.6g}" for k, v in self.estimates.items())
        flag = "" if self.converged else ", NOT converged"
        return f"SurvivalFit({self.dist}: {est}; loglik={self.loglik:.6f}, AIC={self.aic:.4f}{flag})"


# --------------------------------------------------------------------------
# fitting
# --------------------------------------------------------------------------


def _log_time_moments(data: _Data) -> tuple[float, float]:
    lt = np.log(data.time[(data.event == 1) & (data.time > 0)])
    m = float(np.mean(lt))
    s = float(np.std(lt, ddof=1)) if lt.size > 1 else 1.0
    return m, (s if s > 1e-3 else 1.0)


def _exposure(data: _Data) -> float:
    return float(np.sum(data.time - (data.entry if data.entry is not None else 0.0)))


def _pw_start(fam: Family, data: _Data) -> np.ndarray:
    lo = np.concatenate([[0.0], fam.cuts])
    width = np.concatenate([np.diff(lo), [np.inf]])
    start = data.entry if data.entry is not None else np.zeros_like(data.time)
    expo = np.clip(data.time[:, None] - lo, 0.0, width) - np.clip(start[:, None] - lo, 0.0, width)
    piece = np.searchsorted(np.asarray(fam.cuts), data.time, side="right")
    d = np.bincount(piece[data.event == 1], minlength=len(lo)).astype(float)
    e = expo.sum(axis=0)
    empty = [j for j in range(len(lo)) if d[j] == 0]
    if empty:
        j = empty[0]
        hi = fam.cuts[j] if j < len(fam.cuts) else math.inf
        raise ValueError(
            f"The piecewise exponential's interval {j + 1} [{lo[j]:g}, {hi:g}) has no events, so its rate has no "
            "maximum-likelihood estimate; use fewer or other cut points."
        )
    return np.log(d / e)


def _starts(fam: Family, data: _Data) -> list[np.ndarray]:
    """Starting values (baseline coefficients, time already rescaled)."""
    rate = float(data.event.sum()) / _exposure(data)
    lr = math.log(rate)
    m, s = _log_time_moments(data)
    name = fam.name
    if name == "exp":
        return [np.array([lr])]
    if name == "weibull":
        shape = 1.2825498 / s
        return [np.array([0.0, -lr]), np.array([math.log(shape), m + 0.5772157 / shape])]
    if name == "gompertz":
        mean_t = float(np.mean(data.time))
        return [np.array([0.001, -math.log(mean_t)]), np.array([0.0, lr]), np.array([0.5, lr - 0.5]),
                np.array([-0.5, lr + 0.5])]
    if name == "llogis":
        return [np.array([0.0, -lr]), np.array([math.log(1.8137994 / s), m])]
    if name == "lnorm":
        return [np.array([m, math.log(s)]), np.array([-lr, 0.0])]
    if name == "gamma":
        return [np.array([0.0, lr]), np.array([math.log(2.0), math.log(2.0 * rate)])]
    if name == "gengamma":
        starts = [np.array([m, math.log(s), 0.0])]
        base = _Data(data.time, data.event, data.entry, np.zeros((data.time.size, 0)), ())
        for sub in ("lnorm", "weibull", "gamma"):
            try:
                th, ll, _, _ = _optimise(family(sub), base, _starts(family(sub), base))
            except ValueError:
                continue
            if not np.isfinite(ll):
                continue
            if sub == "lnorm":
                starts.append(np.array([th[0], th[1], 0.0]))
            elif sub == "weibull":
                starts.append(np.array([th[1], -th[0], 1.0]))
            else:
                k, r = math.exp(th[0]), math.exp(th[1])
                sig = 1.0 / math.sqrt(k)
                starts.append(np.array([math.log(k / r), math.log(sig), sig]))
        return starts
    if name == "pwexp":
        return [_pw_start(fam, data)]
    raise AssertionError(name)  # pragma: no cover


def _optimise(fam: Family, data: _Data, starts: Sequence[np.ndarray]) -> tuple[np.ndarray, float, str, float]:
    """Maximise the log-likelihood from several starts; return ``(theta, loglik, method, max|grad|)``."""

    def negll(th: np.ndarray) -> float:
        v = -_loglik(fam, th, data)
        return v if np.isfinite(v) else np.inf

    def jac(th: np.ndarray) -> np.ndarray:
        return gradient(negll, th)

    candidates = [np.asarray(s, dtype=float) for s in starts]
    finite = [(negll(s), s) for s in candidates]
    finite = [(v, s) for v, s in finite if np.isfinite(v)]
    if not finite:
        raise ValueError(f"The {fam.label} log-likelihood is not finite at any starting value.")
    best: tuple[float, np.ndarray, str] | None = None

    def consider(x: np.ndarray, method: str) -> None:
        nonlocal best
        v = negll(x)
        if np.isfinite(v) and (best is None or v < best[0]):
            best = (v, np.array(x, dtype=float), method)

    def grad_ok(x: np.ndarray) -> float:
        g = jac(x)
        return float(np.max(np.abs(g))) if np.all(np.isfinite(g)) else np.inf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _, s in finite:
            r = optimize.minimize(negll, s, jac=jac, method="BFGS", options={"gtol": 1e-7, "maxiter": 2000})
            consider(r.x, "BFGS")
        assert best is not None
        if grad_ok(best[1]) > 1e-4:
            r = optimize.minimize(negll, best[1], method="Nelder-Mead",
                                  options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 40000, "maxfev": 80000})
            consider(r.x, "Nelder-Mead")
            r = optimize.minimize(negll, best[1], jac=jac, method="BFGS", options={"gtol": 1e-7, "maxiter": 2000})
            consider(r.x, "Nelder-Mead, then BFGS")
        if grad_ok(best[1]) > 1e-4:
            r = optimize.minimize(negll, best[1], method="Powell", options={"xtol": 1e-10, "ftol": 1e-13, "maxiter": 40000})
            consider(r.x, "Powell")
    v, x, method = best
    return x, -v, method, grad_ok(x)


def fit_survival(
    time: Any,
    event: Any,
    dist: str = "weibull",
    *,
    covariates: Any = None,
    entry: Any = None,
    cuts: Sequence[float] | None = None,
    init: Sequence[float] | None = None,
) -> SurvivalFit:
    """Fit a parametric survival distribution by maximum likelihood.

    Parameters
    ----------
    time : array_like
        Follow-up (exit) times, >= 0.
    event : array_like
        1 for an event, 0 for a right-censored time.
    dist : str
        flexsurv's name: ``"exp"``, ``"weibull"``, ``"gompertz"``, ``"llogis"``,
        ``"lnorm"``, ``"gamma"``, ``"gengamma"`` or ``"pwexp"``.
    covariates : Series, DataFrame, mapping of name to values, or array, optional
        Covariates acting on the location parameter (flexsurv's default: scale
        for Weibull and log-logistic, rate for exponential, Gompertz and gamma, mu
        for the generalised gamma, meanlog for the log-normal, every rate of a
        piecewise exponential). A binary treatment indicator gives a hazard ratio
        (PH families) or a time ratio (AFT families); see
        `SurvivalFit.covariate_effects`. Factors must be coded as 0/1 columns.
    entry : array_like, optional
        Left-truncation (delayed entry) times, below the exit times.
    cuts : sequence of float, optional
        Interior cut points of a piecewise exponential (``dist="pwexp"``).
    init : sequence of float, optional
        Starting coefficients on the transformed scale, in ``coef_names`` order;
        tried alongside the automatic ones.

    Returns
    -------
    SurvivalFit

    Raises
    ------
    ValueError
        Malformed data, an unknown distribution, or no finite likelihood anywhere.

    Notes
    -----
    Compare ``flexsurvreg(Surv(time, event) ~ covariates, dist=dist)``: same
    parameters, same transformed coefficients (``res.t``) and covariance
    (``cov``), same log-likelihood, AIC and BIC (Jackson 2016).

    References
    ----------
    Collett D (2015). *Modelling Survival Data in Medical Research*, 3rd ed., ch. 5-6.
    Jackson CH (2016). flexsurv: a platform for parametric survival modeling in R. *J Stat Softw* 70(8).
    Latimer N (2011). NICE DSU Technical Support Document 14.
    """
    fam = family(dist, cuts)
    data = _read_data(time, event, entry, covariates)
    nb, p = fam.n_parameters, len(data.names)
    if fam.name == "pwexp":
        _pw_start(fam, data)  # refuses intervals without events, in the data's time unit

    # internal scale: time in units of tau, covariates standardised
    tau = float(np.median(data.time[data.time > 0]))
    mean_x = data.X.mean(axis=0)
    sd_x = data.X.std(axis=0)
    Z = (data.X - mean_x) / np.where(sd_x > 0, sd_x, 1.0)
    sfam = fam.rescaled(tau)
    sdata = _Data(data.time / tau, data.event, None if data.entry is None else data.entry / tau, Z, data.names)

    # coef = A @ theta_scaled + c
    factor, shift = fam.time_map(tau)
    A = np.zeros((nb + p, nb + p))
    c = np.zeros(nb + p)
    A[:nb, :nb] = np.diag(factor)
    c[:nb] = shift
    for j in range(p):
        A[nb + j, nb + j] = 1.0 / sd_x[j]
        for i in fam.location:
            A[i, nb + j] = -mean_x[j] / sd_x[j]

    base_data = sdata if p == 0 else _Data(sdata.time, sdata.event, sdata.entry, np.zeros((sdata.time.size, 0)), ())
    starts = [np.concatenate([s, np.zeros(p)]) for s in _starts(sfam, base_data)]
    if p:
        # the baseline fitted without covariates is an excellent start (covariates are centred)
        try:
            th0, _, _, _ = _optimise(sfam, base_data, _starts(sfam, base_data))
            starts.insert(0, np.concatenate([th0, np.zeros(p)]))
        except ValueError:
            pass
    if init is not None:
        init_a = np.asarray(init, dtype=float)
        if init_a.shape != (nb + p,):
            raise ValueError(f"init needs {nb + p} values ({list(fam.parameters) + list(data.names)}); got {init_a.size}.")
        starts.insert(0, np.linalg.solve(A, init_a - c))

    theta_s, _, method, gmax = _optimise(sfam, sdata, starts)

    messages = []
    converged = gmax <= 1e-4
    if not converged:
        messages.append(f"the gradient did not vanish (max |gradient| {gmax:.2g})")
    hess = hessian(lambda th: _loglik(sfam, th, sdata), theta_s)
    cov_s = np.full_like(hess, np.nan)
    if np.all(np.isfinite(hess)):
        try:
            np.linalg.cholesky(-hess)
            cov_s = np.linalg.inv(-hess)
        except np.linalg.LinAlgError:
            converged = False
            ev = np.linalg.eigvalsh(-hess)
            messages.append(f"the Hessian is not negative definite (smallest eigenvalue of -H {ev.min():.3g}): "
                            "the estimate may be on a boundary or not identifiable")
    else:
        converged = False
        messages.append("the Hessian is not finite at the estimate")
    coef = A @ theta_s + c
    cov = A @ cov_s @ A.T
    cov = (cov + cov.T) / 2.0
    loglik = _loglik(fam, coef, data)
    for arr in (coef, cov, data.time, data.event, data.X) + ((data.entry,) if data.entry is not None else ()):
        arr.setflags(write=False)
    return SurvivalFit(
        family=fam,
        coef=coef,
        coef_names=fam.parameters + data.names,
        cov=cov,
        loglik=loglik,
        n_obs=int(data.time.size),
        n_events=int(data.event.sum()),
        converged=bool(converged),
        method=method,
        message="; ".join(messages),
        time=data.time,
        event=data.event,
        entry=data.entry,
        X=data.X,
        covariate_names=data.names,
    )


def fit_all(
    time: Any,
    event: Any,
    dists: Sequence[str] = DEFAULT_COMPARISON,
    *,
    covariates: Any = None,
    entry: Any = None,
    cuts: Sequence[float] | None = None,
    errors: str = "warn",
) -> dict[str, SurvivalFit]:
    """Fit several distributions to the same data (NICE DSU TSD 14's first step).

    Parameters
    ----------
    time, event, covariates, entry, cuts
        As for `fit_survival` (``cuts`` is used by ``"pwexp"`` only).
    dists : sequence of str
        flexsurv names; default `DEFAULT_COMPARISON`.
    errors : {"warn", "raise"}
        What to do when one distribution cannot be fitted: leave it out with a
        warning, or raise.

    Returns
    -------
    dict
        ``{name: SurvivalFit}`` in AIC order (best first); see `compare_fits`.

    References
    ----------
    Latimer N (2011). NICE DSU Technical Support Document 14, §3.
    """
    if errors not in ("warn", "raise"):
        raise ValueError(f"errors must be 'warn' or 'raise'. Got {errors!r}.")
    fits: dict[str, SurvivalFit] = {}
    for name in dists:
        key = family_name(name)
        try:
            fits[key] = fit_survival(time, event, key, covariates=covariates, entry=entry,
                                     cuts=cuts if key == "pwexp" else None)
        except ValueError as exc:
            if errors == "raise":
                raise
            warnings.warn(f"{name}: not fitted: {exc}", stacklevel=2)
    return dict(sorted(fits.items(), key=lambda kv: kv[1].aic))


def family_name(name: str) -> str:
    """The canonical flexsurv name of a distribution name or alias (``"lognormal"`` -> ``"lnorm"``)."""
    if isinstance(name, str) and name.lower() in ("pwexp", "piecewise", "piecewise exponential"):
        return "pwexp"
    return family(name).name


def compare_fits(fits: Mapping[str, SurvivalFit] | Sequence[SurvivalFit]) -> pd.DataFrame:
    """Model comparison table, best AIC first.

    Returns
    -------
    DataFrame
        Columns ``dist`` (flexsurv name), ``label``, ``n_params``, ``loglik``,
        ``aic``, ``bic``, ``delta_aic`` (from the best), ``aic_weight`` (Akaike
        weight ``exp(-delta/2)``, normalised), ``delta_bic``, ``converged``.

    Notes
    -----
    Information criteria compare fit within the data's follow-up only; NICE DSU
    TSD 14 asks for visual inspection, hazard plausibility and external data
    before choosing an extrapolation.
    """
    items = list(fits.values()) if isinstance(fits, Mapping) else list(fits)
    if not items:
        raise ValueError("No fits to compare.")
    n = {f.n_obs for f in items}
    if len(n) > 1:
        raise ValueError(f"The fits are to different data (numbers of observations {sorted(n)}); AIC would not compare.")
    rows = [{"dist": f.dist, "label": f.label, "n_params": f.n_params, "loglik": f.loglik, "aic": f.aic, "bic": f.bic,
             "converged": f.converged} for f in items]
    df = pd.DataFrame(rows).sort_values("aic", kind="stable").reset_index(drop=True)
    df["delta_aic"] = df["aic"] - df["aic"].min()
    w = np.exp(-0.5 * df["delta_aic"].to_numpy())
    df["aic_weight"] = w / w.sum()
    df["delta_bic"] = df["bic"] - df["bic"].min()
    return df[["dist", "label", "n_params", "loglik", "aic", "bic", "delta_aic", "aic_weight", "delta_bic", "converged"]]

