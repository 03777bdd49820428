"""Expected value of partial perfect information (EVPPI) by nonparametric regression on the PSA sample.

For a parameter (or a group of parameters) ``phi``, EVPPI is the expected gain from learning ``phi`` exactly
before deciding::

    EVPPI(phi) = E_phi[ max_d E(NB_d | phi) ] - max_d E(NB_d)

Strong, Oakley & Brennan (2014) estimate the inner conditional expectations ``g_d(phi) = E(NB_d | phi)`` by
regressing each strategy's net benefit, sample by sample, on the sampled values of ``phi`` with a flexible
smoother, so the existing PSA sample is enough: no nested simulation. With fitted values ``g_d(phi_i)``::

    EVPPI ~ mean_i max_d g_d(phi_i) - max_d mean_i g_d(phi_i)

The regressions here are on the *incremental* net monetary benefit of every strategy against the first one
(``g_0 = 0``), which removes the noise common to all strategies and leaves ``k - 1`` fits per WTP.

Regression library and smoother
-------------------------------
scikit-learn (BSD, actively maintained, already a common dependency of scientific Python) supplies every
fitted model:

* one parameter, or a group with two free dimensions: a penalised regression spline, i.e. a GAM as in Strong
  et al. (their recommendation for up to about four parameters with ``mgcv``). The cubic B-spline basis comes from
  :class:`sklearn.preprocessing.SplineTransformer` (knots at quantiles of the sample), a tensor product of two
  such bases for two dimensions. The roughness penalty is the integrated squared second derivative
  (O'Sullivan penalised splines, Wand & Ormerod 2008), whose null space is the straight lines, so a heavily
  smoothed fit becomes a linear regression; for the tensor product it is the sum of the two marginal penalties
  (Wood 2006), with their ratio chosen per target from a small grid. It is rewritten in its mixed-model form (unpenalised null space plus
  ridge-penalised remainder), so the fit and the smoothing parameter are exactly what
  :class:`sklearn.linear_model.RidgeCV` computes: a ridge regression whose penalty is chosen per target by
  efficient leave-one-out cross-validation (sklearn's ``gcv_mode``), all targets (strategies x WTPs) in one
  decomposition;
* three or more free dimensions: a Gaussian process (squared-exponential kernel with one length scale per input
  plus a white-noise term, hyperparameters by maximum marginal likelihood) fitted on a random subsample of
  ``gp_samples`` points and evaluated at every sample, as Strong et al. recommend for larger groups. The model,
  start, bounds, objective and optimiser are those of :class:`sklearn.gaussian_process.GaussianProcessRegressor`
  (tested to find the same hyperparameters), written here with the distances computed once, ``K^-1`` from the
  Cholesky factor and, when the length scales are fixed, the likelihood in the correlation matrix's eigenvalues:
  the flagship's EVPPI (nine groups) 11.0 -> 3.5 s on one core.

``pygam`` is not used (unmaintained); ``statsmodels.GLMGam`` would do the one- and two-dimensional fits too,
but has no Gaussian process and selects smoothing parameters far more slowly.

Members of a Dirichlet group sum to 1, so one member is redundant; linearly dependent or constant inputs of a
group are dropped before fitting (the fit, and the EVPPI, are unchanged by this).

Standard error
--------------
The ``se`` column is Strong et al.'s Monte Carlo standard error of the estimate due to the regression: fitted
values are drawn from the approximate posterior of the smoother (GAM: ``sigma^2 (Z'Z + alpha I)^-1`` on the
penalised part plus the unpenalised part, as in ``mgcv``'s Bayesian covariance; GP: the latent posterior at the
subsample), EVPPI is recomputed for each draw and the standard deviation reported. It does not include the
Monte Carlo error of the PSA sample itself. ``r2`` is the smallest R^2 of the group's fits (over strategies);
a low R^2 is expected, not a fault, for a parameter that explains little.

An EVPPI estimate is never negative (Jensen's inequality holds for the fitted values). It is not clipped at the
EVPI of the same sample: an estimate above it is a sign of an overfitted or too-small sample.

References
----------
Strong M, Oakley JE, Brennan A. Estimating multiparameter partial expected value of perfect information from a
probabilistic sensitivity analysis sample: a nonparametric regression approach. Med Decis Making
2014;34(3):311-26.
Wand MP, Ormerod JT. On semiparametric regression with O'Sullivan penalized splines. Aust N Z J Stat
2008;50(2):179-98.
Wood SN. Low-rank scale-invariant tensor product smooths for generalized additive mixed models. Biometrics
2006;62(4):1025-36.
Rasmussen CE, Williams CKI. Gaussian Processes for Machine Learning. MIT Press 2006.
Briggs A, Claxton K, Sculpher M. Decision Modelling for Health Economic Evaluation. OUP 2006, ch. 7.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special

__all__ = ["evppi", "evppi_arrays", "default_groups", "check_groups", "EVPPIResult", "EVPPIError", "METHODS"]

#: Regression methods: ``auto`` picks ``gam`` for up to 2 free dimensions, else ``gp``.
METHODS = ("auto", "gam", "gp")

_N_KNOTS_1D = 20
_N_KNOTS_2D = 8
_ANISOTROPY = (1 / 16, 1 / 4, 1.0, 4.0, 16.0)


class EVPPIError(ValueError):
    """EVPPI cannot be computed as asked (the message says why and what would work)."""


# --------------------------------------------------------------------------- result


@dataclass
class EVPPIResult:
    """EVPPI per parameter group and WTP.

    Attributes
    ----------
    table
        One row per group and WTP: ``group``, ``parameters`` (comma list), ``method``, ``wtp``, ``evppi`` (per
        person), ``se``, ``evpi`` (of the same sample), ``evppi_share`` (``evppi / evpi``), ``r2``, and
        ``evppi_population`` when a population size is known.
    """

    table: pd.DataFrame
    wtp: np.ndarray
    evpi: np.ndarray
    strategies: list[str]
    n_samples: int
    perspective: str | None = None
    population: dict[str, Any] | None = None
    groups: dict[str, list[str]] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


# --------------------------------------------------------------------------- groups


def default_groups(scenario: Any) -> dict[str, list[str]]:
    """Every uncertain parameter on its own; the members of a Dirichlet joint together (labelled by the joint).

    Members of multivariate normal and copula joints stay single: regression on one correlated parameter
    estimates its EVPPI correctly (the correlation is in the sample).
    """
    from heecon.params.scenario_draws import scenario_distributions, uncertain_parameters

    _, joints = scenario_distributions(scenario)
    owner = {m: _joint_label(j, scenario) for j in joints if j.type == "dirichlet" for m in j.members}
    out: dict[str, list[str]] = {}
    for p in uncertain_parameters(scenario):
        label = owner.get(p, p)
        out.setdefault(label, []).append(p)
    return out


def _joint_label(joint: Any, scenario: Any) -> str:
    name = joint.where.split(".", 1)[1] if joint.where.startswith("joints.") else joint.where
    return name if name not in scenario.parameters else f"joints.{name}"


def check_groups(scenario: Any, groups: Any) -> dict[str, list[str]]:
    """Groups as label -> members, checked against the scenario's uncertain parameters (before running a PSA).

    Raises
    ------
    EVPPIError
        For unknown names (with a suggestion), parameters without a distribution, empty or repeated groups.
    """
    from heecon.params.scenario_draws import scenario_distributions, uncertain_parameters

    joints = {_joint_label(j, scenario): list(j.members) for j in scenario_distributions(scenario)[1]}
    if groups is None:
        return default_groups(scenario)
    return _normalise_groups(groups, uncertain_parameters(scenario), joints, list(scenario.parameters))


def _normalise_groups(groups: Any, available: Sequence[str], joints: Mapping[str, list[str]] | None = None,
                      known: Sequence[str] = ()) -> dict[str, list[str]]:
    from heecon.scenario.errors import did_you_mean

    joints = joints or {}
    if isinstance(groups, Mapping):
        items = [(str(k), v) for k, v in groups.items()]
    elif isinstance(groups, (str, bytes)):
        items = [(None, groups)]
    else:
        items = [(None, g) for g in groups]
    if not items:
        raise EVPPIError("no parameter groups were given; name at least one parameter")
    out: dict[str, list[str]] = {}
    avail = set(available)
    for label, g in items:
        if isinstance(g, str):
            if g in avail:
                members = [g]
            elif g in joints:
                members = list(joints[g])
            else:
                members = [g]
            label = label or g
        else:
            members = [str(m) for m in g]
            label = label or ",".join(members)
        if not members:
            raise EVPPIError(f"group {label!r} is empty; a group names one or more parameters")
        for m in members:
            if m not in avail:
                if m in known:
                    raise EVPPIError(f"parameter '{m}' has no distribution, so it does not vary in the PSA and its "
                                     "EVPPI is 0; give it a distribution or leave it out")
                raise EVPPIError(f"unknown parameter '{m}'.{did_you_mean(m, list(avail) + list(joints))} "
                                 f"Parameters that vary in the PSA: {', '.join(available)}")
        if len(set(members)) != len(members):
            dup = next(m for m in members if members.count(m) > 1)
            raise EVPPIError(f"group {label!r} names '{dup}' twice")
        if label in out:
            raise EVPPIError(f"group {label!r} is given twice")
        out[label] = members
    return out


# --------------------------------------------------------------------------- regressions


@dataclass
class _Fit:
    fitted: np.ndarray                  # (n, t)
    r2: np.ndarray                      # (t,)
    method: str
    draws: Any = None                   # callable(rng, n_draws) -> (n_draws, m, t) fitted-value draws, or None
    draw_rows: np.ndarray | None = None  # the sample rows the draws refer to (None: all)


def _free_inputs(X: np.ndarray) -> np.ndarray:
    """Columns of X that are neither constant nor linear combinations of the others (and the constant)."""
    if X.shape[1] == 0:
        return X
    sd = X.std(axis=0)
    keep = sd > 1e-12 * np.maximum(1.0, np.abs(X).max(axis=0))
    X = X[:, keep]
    if X.shape[1] <= 1:
        return X
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)
    from scipy.linalg import qr

    _, R, piv = qr(Xs, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > 1e-8 * d[0]))
    return X[:, np.sort(piv[:rank])]


def _spline_basis(x: np.ndarray, n_knots: int) -> tuple[np.ndarray, np.ndarray]:
    """Cubic B-spline basis at quantile knots (sklearn ``SplineTransformer``) and its roughness penalty.

    The penalty is ``S_ij = integral B_i''(x) B_j''(x) dx`` over the data range (O'Sullivan's penalised
    splines; Wand & Ormerod 2008), computed exactly by Simpson's rule on each knot interval (the integrand is
    piecewise quadratic). Its null space is the straight lines in ``x``, so heavy smoothing tends to linear
    regression whatever the spacing of the knots. Scaled to a largest eigenvalue of 1.
    """
    from sklearn.preprocessing import SplineTransformer

    knots = np.unique(np.quantile(x, np.linspace(0, 1, n_knots)))
    if knots.size < 2:  # pragma: no cover - constant inputs are dropped before
        knots = np.array([x.min(), x.min() + 1.0])
    st = SplineTransformer(knots=knots[:, None], degree=3, extrapolation="linear")
    B = st.fit_transform(x[:, None])
    d2 = st.bsplines_[0].derivative(2)
    lo, hi = knots[:-1], knots[1:]
    h = hi - lo
    S = np.zeros((B.shape[1], B.shape[1]))
    for pts, wgt in ((lo, h / 6), ((lo + hi) / 2, 4 * h / 6), (hi, h / 6)):
        D = np.asarray(d2(pts))  # (intervals, K)
        S += (D * wgt[:, None]).T @ D
    S = (S + S.T) / 2
    return B, S / max(float(np.linalg.eigvalsh(S).max()), 1e-300)


def _ridge_fit(B: np.ndarray, S: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
    """Penalised least squares ``|y - B beta|^2 + alpha beta' S beta``, alpha by leave-one-out per column of Y.

    The penalty is rewritten in mixed-model form: with ``S = U diag(ev) U'``, the null space of ``S``
    (``Xf = B U0``, unpenalised, holds the constant) is projected out (Frisch-Waugh-Lovell holds for
    penalised least squares, as the penalty does not involve it) and the remainder ``Z = B U+ ev+^-1/2`` is
    ridge-penalised with sklearn's ``RidgeCV``. Returns the fitted values, the LOO mean squared error per
    target and ``draws(rng, n_draws, t)``: draws of target ``t``'s fitted values from the approximate
    posterior ``N(fit, sigma^2 (Qf Qf' + Zr (Zr'Zr + alpha I)^-1 Zr'))``.
    """
    from sklearn.linear_model import RidgeCV

    ev, U = np.linalg.eigh(S)
    null = ev <= 1e-9 * max(float(ev.max()), 1e-300)
    Qf, Rf = np.linalg.qr(B @ U[:, null])
    Qf = Qf[:, np.abs(np.diag(Rf)) > 1e-10 * max(1.0, float(np.abs(np.diag(Rf)).max()))]
    Z = (B @ U[:, ~null]) / np.sqrt(ev[~null])
    Zr = Z - Qf @ (Qf.T @ Z)
    Yr = Y - Qf @ (Qf.T @ Y)
    G = Zr.T @ Zr
    alphas = max(float(np.trace(G)) / G.shape[0], 1e-300) * np.logspace(-8, 6, 57)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = RidgeCV(alphas=alphas, fit_intercept=False, alpha_per_target=True, gcv_mode="svd").fit(Zr, Yr)
    coef = np.atleast_2d(model.coef_)  # (t, p)
    fitted = Y - Yr + Zr @ coef.T
    loo = -np.atleast_1d(np.asarray(model.best_score_, dtype=float))
    loo = np.broadcast_to(loo, (Y.shape[1],)).copy()
    alpha_t = np.broadcast_to(np.atleast_1d(model.alpha_), (Y.shape[1],))
    n, p = Zr.shape
    resid = Y - fitted
    ev_g, V = np.linalg.eigh(G)
    ev_g = np.clip(ev_g, 0.0, None)

    def draws(rng: np.random.Generator, n_draws: int, t: int) -> np.ndarray:
        edf = Qf.shape[1] + float(np.sum(ev_g / (ev_g + alpha_t[t])))
        sigma = math.sqrt(max(float(resid[:, t] @ resid[:, t]) / max(n - edf, 1.0), 0.0))
        eu = rng.standard_normal((n_draws, p)) / np.sqrt(ev_g + alpha_t[t])
        ef = rng.standard_normal((n_draws, Qf.shape[1]))
        return fitted[:, t] + sigma * ((eu @ V.T) @ Zr.T + ef @ Qf.T)

    return fitted, loo, draws


def _gam_margins(X: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The marginal spline bases and penalties of :func:`_fit_gam` for the (one or two) columns of X."""
    n_knots = _N_KNOTS_1D if X.shape[1] == 1 else _N_KNOTS_2D
    return [_spline_basis(X[:, j], n_knots) for j in range(X.shape[1])]


def _row_kron(B1: np.ndarray, B2: np.ndarray) -> np.ndarray:
    """Row-wise Kronecker product of two bases: the tensor-product basis of :func:`_fit_gam`."""
    return (B1[:, :, None] * B2[:, None, :]).reshape(B1.shape[0], -1)


def _fit_gam(X: np.ndarray, Y: np.ndarray) -> _Fit:
    n, d = X.shape
    if d == 1:
        ((B, S),) = _gam_margins(X)
        fitted, _, dr = _ridge_fit(B, S, Y)
        per_target = [dr] * Y.shape[1]
    elif d == 2:
        (B1, S1), (B2, S2) = _gam_margins(X)
        B = _row_kron(B1, B2)
        I1, I2 = np.eye(B1.shape[1]), np.eye(B2.shape[1])
        fitted, best, per_target = np.empty_like(Y), np.full(Y.shape[1], np.inf), [None] * Y.shape[1]
        for r in _ANISOTROPY:  # the ratio of the two marginal penalties, chosen per target by LOO error
            S = math.sqrt(r) * np.kron(S1, I2) + np.kron(I1, S2) / math.sqrt(r)
            f, loo, dr = _ridge_fit(B, S, Y)
            for t in np.flatnonzero(loo < best):
                fitted[:, t], best[t], per_target[t] = f[:, t], loo[t], dr
    else:
        raise EVPPIError(f"method 'gam' handles groups of at most 2 free dimensions; this one has {d}. "
                         "Use method 'gp' (or 'auto')")

    def draws(rng: np.random.Generator, n_draws: int) -> np.ndarray:
        out = np.empty((n_draws, n, Y.shape[1]))
        for t, dr_t in enumerate(per_target):
            out[:, :, t] = dr_t(rng, n_draws, t)
        return out

    return _Fit(fitted, _r2(Y, fitted), "gam", draws)


# The GP's hyperparameter bounds: inputs are normal scores and y is standardised, so they are on a known scale
# (length scales below 0.3 SD and noise below 0.1% of the variance only ever came from interpolating noise)
_GP_START = (0.3, 3.0, 0.7)  # amplitude, every length scale, noise (starting values)
_GP_BOUNDS = ((1e-3, 1e1), (0.3, 1e3), (1e-3, 2.0))
_GP_JITTER = 1e-10  # added to the kernel's diagonal, as GaussianProcessRegressor's default alpha


def _gp_marginal_ml(D2: np.ndarray, y: np.ndarray, scales: np.ndarray | None,
                    eig: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, np.ndarray, float]:
    """Maximum marginal likelihood of ``amp * exp(-sum_j D2_j / 2 l_j^2) + noise I`` for data ``y``.

    ``D2`` (d, m, m) holds the squared differences of the m inputs per dimension. Length scales ``l`` are fitted
    unless ``scales`` fixes them; then ``eig``, the eigendecomposition of the correlation matrix at those scales,
    makes each evaluation O(m) (the kernel is ``V diag(amp w + noise) V'``). The same model, parameters (logs),
    starting point, bounds, objective, analytic gradient and optimiser (L-BFGS-B) as sklearn's
    ``GaussianProcessRegressor`` with kernel ``ConstantKernel * RBF + WhiteKernel`` (tested against it),
    evaluated without its per-call overheads: the distances are computed once, ``K^-1`` comes from the Cholesky
    factor (LAPACK ``potri``, its lower triangle only) and the gradient is one contraction. Returns (amplitude,
    length scales, noise).
    """
    from scipy.linalg import LinAlgError, cho_solve, cholesky, lapack
    from scipy.optimize import minimize

    d, m = D2.shape[0], D2.shape[1]
    D2f = D2.reshape(d, m * m)
    fixed = scales is not None
    diag = np.arange(m)
    lo = [_GP_BOUNDS[0]] + ([] if fixed else [_GP_BOUNDS[1]] * d) + [_GP_BOUNDS[2]]
    bounds = np.log(np.array(lo, dtype=float))
    theta0 = np.log(np.array([_GP_START[0]] + ([] if fixed else [_GP_START[1]] * d) + [_GP_START[2]]))
    log2pi = m / 2 * math.log(2 * math.pi)
    # sums over the symmetric m x m products from the lower triangle: weight 2 below the diagonal, 1 on it
    wt = np.tril(np.full((m, m), 2.0), -1) + np.eye(m)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        p = np.exp(theta)
        amp, noise = p[0], p[-1]
        inv_l2 = 1.0 / (scales if fixed else p[1:-1]) ** 2
        Kf = amp * np.exp(-0.5 * (inv_l2 @ D2f)).reshape(m, m)
        K = Kf.copy()
        K[diag, diag] += noise + _GP_JITTER
        try:
            L = cholesky(K, lower=True, check_finite=False)
        except LinAlgError:
            return math.inf, np.zeros_like(theta)
        a = cho_solve((L, True), y, check_finite=False)
        lml = -0.5 * float(y @ a) - float(np.log(np.diag(L)).sum()) - log2pi
        Kinv, info = lapack.dpotri(L, lower=1)  # the lower triangle of K^-1; above it, L's zeros
        if info != 0:  # pragma: no cover - the factor came from a successful Cholesky
            return math.inf, np.zeros_like(theta)
        # the gradient is 0.5 tr(inner dK/dtheta), inner = a a' - K^-1: dK/dlog amp = Kf,
        # dK/dlog l_j = Kf * D2_j / l_j^2, dK/dlog noise = noise I
        M = (np.outer(a, a) - Kinv) * (Kf * wt)
        grad = np.empty_like(theta)
        grad[0] = 0.5 * M.sum()
        if not fixed:
            grad[1:-1] = 0.5 * (D2f @ M.ravel()) * inv_l2
        grad[-1] = 0.5 * noise * (float(a @ a) - float(np.trace(Kinv)))
        return -lml, -grad

    if fixed and eig is not None:
        w, V = eig
        yt2 = (V.T @ y) ** 2

        def objective_eig(theta: np.ndarray) -> tuple[float, np.ndarray]:  # the same, in eigenvalues
            amp, noise = math.exp(theta[0]), math.exp(theta[1])
            kap = amp * w + (noise + _GP_JITTER)
            q = yt2 / kap
            lml = -0.5 * float(q.sum()) - 0.5 * float(np.log(kap).sum()) - log2pi
            g = (q - 1.0) / kap  # diag of V' inner V
            return -lml, -np.array([0.5 * amp * float(g @ w), 0.5 * noise * float(g.sum())])

    fun = objective_eig if fixed and eig is not None else objective
    res = minimize(fun, theta0, method="L-BFGS-B", jac=True, bounds=bounds)
    p = np.exp(res.x)
    return float(p[0]), (np.asarray(scales, dtype=float) if fixed else p[1:-1].copy()), float(p[-1])


def _sq_dist(A: np.ndarray, B: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Squared distances between the rows of A and B, each dimension divided by its length scale."""
    from scipy.spatial.distance import cdist

    return cdist(A / scales, B / scales, metric="sqeuclidean")


def _fit_gp(X: np.ndarray, Y: np.ndarray, rng: np.random.Generator, m: int, period: int | None = None) -> _Fit:
    """GP regression of every column of Y on X, fitted on ``m`` random rows and evaluated at all.

    Columns ``t`` and ``t + period`` (the same comparison at another WTP) share the RBF length scales, fitted
    on the first; amplitude and noise are refitted for each (this saves most of the optimisation).
    """
    from scipy.linalg import cho_solve, cholesky
    from scipy.stats import rankdata

    n, d = X.shape
    # normal scores of the ranks: a one-to-one map of each input, so E(NB | inputs) carries the same
    # information, but skewed inputs (a Dirichlet member with a small count) no longer defeat the kernel
    Xs = special.ndtri((rankdata(X, axis=0) - 0.5) / n)
    rows = np.sort(rng.choice(n, size=min(m, n), replace=False))
    Xr = Xs[rows]
    D2 = (Xr.T[:, :, None] - Xr.T[:, None, :]) ** 2  # (d, m, m)
    fitted = np.empty_like(Y)
    posts = []
    scales: dict[int, np.ndarray] = {}
    corr: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # eigenpairs of the correlation matrix at those scales
    for t in range(Y.shape[1]):
        y = Y[:, t]
        mu, s = float(y[rows].mean()), float(y[rows].std())
        if not s > 0:
            fitted[:, t] = y.mean()
            posts.append((fitted[rows, t], np.zeros((len(rows), 0))))
            continue
        first = t % period if period else t
        rng.integers(2**31)  # the draw that seeded sklearn's regressor (unused there too): the stream is kept
        yr = (y[rows] - mu) / s
        if first in scales:  # the length scales of the same comparison at the first WTP: fixed
            ell = scales[first]
            if first not in corr:
                wr, Vr = np.linalg.eigh(np.exp(-0.5 * _sq_dist(Xr, Xr, ell)))
                corr[first] = (np.clip(wr, 0.0, None), Vr)
            wr, Vr = corr[first]
            amp, _, noise = _gp_marginal_ml(D2, yr, ell, (wr, Vr))
            w, V = amp * wr, Vr
            a = V @ ((V.T @ yr) / (w + noise + _GP_JITTER))
        else:
            amp, ell, noise = _gp_marginal_ml(D2, yr, None)
            scales[first] = ell
            Kr = np.exp(-0.5 * _sq_dist(Xr, Xr, ell))
            K = amp * Kr
            K[np.diag_indices_from(K)] += noise + _GP_JITTER
            a = cho_solve((cholesky(K, lower=True, check_finite=False), True), yr, check_finite=False)
            w, V = np.linalg.eigh(amp * Kr)
            w = np.clip(w, 0.0, None)
        fitted[:, t] = mu + s * ((amp * np.exp(-0.5 * _sq_dist(Xs, Xr, ell))) @ a)
        # latent posterior at the subsample: Kf - Kf (Kf + noise I)^-1 Kf, Kf = amp Kr = V diag(w) V'
        post_var = w * noise / (w + noise)  # eigenvalues of the posterior covariance (same eigenvectors)
        mean_rows = mu + s * (V @ ((w / (w + noise)) * (V.T @ yr)))
        posts.append((mean_rows, s * V * np.sqrt(post_var)))

    def draws(rng_: np.random.Generator, n_draws: int) -> np.ndarray:
        out = np.empty((n_draws, len(rows), Y.shape[1]))
        for t, (mean_rows, L) in enumerate(posts):
            out[:, :, t] = mean_rows + rng_.standard_normal((n_draws, L.shape[1])) @ L.T
        return out

    return _Fit(fitted, _r2(Y, fitted), "gp", draws, rows)


def _fit_regression(X: np.ndarray, Y: np.ndarray, method: str, rng: np.random.Generator, gp_samples: int,
                    period: int | None = None) -> _Fit:
    """Regression of every column of Y on the free inputs X (see :func:`_free_inputs`), as EVPPI does it.

    ``method`` ``"auto"`` fits the penalised spline for up to 2 columns and a GP above; no column gives the
    mean. Shared by EVPPI and EVSI (:mod:`heecon.sensitivity.evsi` regresses on summaries of simulated data).
    """
    d = X.shape[1]
    if d == 0:
        return _Fit(np.tile(Y.mean(axis=0), (X.shape[0], 1)), np.zeros(Y.shape[1]), "none")
    if method == "gp" or (method == "auto" and d > 2):
        return _fit_gp(X, Y, rng, int(gp_samples), period)
    return _fit_gam(X, Y)


def _r2(Y: np.ndarray, fitted: np.ndarray) -> np.ndarray:
    tss = ((Y - Y.mean(axis=0)) ** 2).sum(axis=0)
    rss = ((Y - fitted) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tss > 0, 1.0 - rss / np.where(tss > 0, tss, 1.0), 1.0)


def _evppi_value(G: np.ndarray) -> np.ndarray:
    """EVPPI from incremental fitted values ``G (..., n, k-1)`` (strategy 0 is 0)."""
    full = np.concatenate([np.zeros(G.shape[:-1] + (1,)), G], axis=-1)
    return full.max(axis=-1).mean(axis=-1) - full.mean(axis=-2).max(axis=-1)


# --------------------------------------------------------------------------- core


def evppi_arrays(costs: Any, effects: Any, inputs: Mapping[str, Any] | pd.DataFrame,
                 groups: Sequence[str | Sequence[str]] | Mapping[str, Sequence[str]], wtp: float | Sequence[float], *,
                 strategies: Sequence[str] | None = None, method: str = "auto", gp_samples: int = 500,
                 se_draws: int = 200, seed: int = 0, population: Mapping[str, float] | None = None,
                 joints: Mapping[str, Sequence[str]] | None = None, known: Sequence[str] = ()) -> EVPPIResult:
    """EVPPI from PSA arrays: costs and effects ``(n, k)`` and the sampled inputs (name -> ``(n,)``).

    Parameters
    ----------
    costs, effects
        Per-sample costs and effects of the ``k`` strategies.
    inputs
        Sampled parameter values, one array of length ``n`` per name (a DataFrame works).
    groups
        Names (one parameter each), lists of names (a group), or a mapping label -> names.
    wtp
        Willingness to pay per unit of effect (one or several values).
    method
        ``"auto"`` (GAM for up to 2 free dimensions, GP above), ``"gam"`` or ``"gp"``.
    gp_samples
        Size of the random subsample a Gaussian process is fitted on.
    se_draws
        Posterior draws for the standard error (0: no standard error).
    seed
        Seed of the GP subsample and the standard-error draws (stream "gsa", keyed by the group label).
    population
        ``{"population_per_year", "years", "discount_rate"}`` to add population EVPPI.

    Returns
    -------
    EVPPIResult
    """
    from heecon.cea import evpi as _evpi

    c = np.asarray(costs, dtype=float)
    e = np.asarray(effects, dtype=float)
    if c.ndim != 2 or c.shape != e.shape:
        raise EVPPIError(f"costs and effects must be arrays of the same shape (samples, strategies); got {c.shape} "
                         f"and {e.shape}")
    n, k = c.shape
    if k < 2:
        raise EVPPIError("EVPPI compares strategies; the PSA has only one")
    if n < 20:
        raise EVPPIError(f"EVPPI by regression needs a PSA sample of at least 20 (1,000 or more is usual); got {n}")
    if not (np.all(np.isfinite(c)) and np.all(np.isfinite(e))):
        raise EVPPIError("costs and effects must be finite")
    if method not in METHODS:
        raise EVPPIError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    if isinstance(gp_samples, bool) or int(gp_samples) != gp_samples or gp_samples < 20:
        raise EVPPIError(f"gp_samples must be a whole number >= 20; got {gp_samples!r}")
    if isinstance(se_draws, bool) or int(se_draws) != se_draws or se_draws < 0:
        raise EVPPIError(f"se_draws must be a whole number >= 0; got {se_draws!r}")
    w = np.atleast_1d(np.asarray(wtp, dtype=float))
    if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise EVPPIError(f"wtp must be one or more finite numbers >= 0; got {wtp!r}")
    cols = {str(kname): np.asarray(v, dtype=float).ravel() for kname, v in dict(inputs).items()}
    for name, v in cols.items():
        if v.shape != (n,):
            raise EVPPIError(f"input '{name}' has {v.size} values but the PSA has {n} samples")
        if not np.all(np.isfinite(v)):
            raise EVPPIError(f"input '{name}' has values that are not finite")
    labels = list(strategies) if strategies is not None else [f"strategy {j}" for j in range(k)]
    if len(labels) != k:
        raise EVPPIError(f"{len(labels)} strategy names for {k} strategies")
    grp = _normalise_groups(groups, list(cols), {kk: list(v) for kk, v in (joints or {}).items()}, known)

    # targets: incremental NMB of strategies 1..k-1 against strategy 0, for every WTP: column (iw, j)
    dnmb = np.multiply.outer(w, e[:, 1:] - e[:, :1]) - (c[:, 1:] - c[:, :1])  # (W, n, k-1)
    Y = np.concatenate(list(dnmb), axis=1)  # (n, W*(k-1))
    evpi_w = np.atleast_1d(_evpi(c, e, w))
    # The matrices are small (n x ~100, m x m with m <= a few thousand): one BLAS thread is about as fast on an
    # idle machine and far faster on a busy one, where spinning BLAS threads compete for the cores.
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn

        limit: Any = threadpool_limits(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover
        import contextlib

        limit = contextlib.nullcontext()
    with limit:
        rows = _evppi_rows(c, e, w, Y, cols, grp, method, int(gp_samples), int(se_draws), seed, evpi_w, population)
    table = pd.DataFrame(rows)
    return EVPPIResult(table, w, evpi_w, labels, n, None, dict(population) if population else None, grp)


def _evppi_rows(c: np.ndarray, e: np.ndarray, w: np.ndarray, Y: np.ndarray, cols: dict[str, np.ndarray],
                grp: dict[str, list[str]], method: str, gp_samples: int, se_draws: int, seed: int,
                evpi_w: np.ndarray, population: Mapping[str, float] | None) -> list[dict[str, Any]]:
    from heecon.cea import population_evpi
    from heecon.params import stream_seed

    n, k = c.shape

    def group_rows(label: str, members: list[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        X = _free_inputs(np.column_stack([cols[m] for m in members]))
        d = X.shape[1]
        rng = np.random.Generator(np.random.PCG64(stream_seed(seed, "gsa", name=f"evppi:{label}")))
        fit = _fit_regression(X, Y, method, rng, int(gp_samples), k - 1)
        se = np.full(w.size, np.nan)
        if se_draws and fit.draws is not None:
            vals = np.empty((int(se_draws), w.size))
            step = max(1, int(2e7 // max(1, n * Y.shape[1])))
            for lo in range(0, int(se_draws), step):
                hi = min(int(se_draws), lo + step)
                Gd = fit.draws(rng, hi - lo)  # (s, m, W*(k-1))
                for iw in range(w.size):
                    vals[lo:hi, iw] = _evppi_value(Gd[:, :, iw * (k - 1):(iw + 1) * (k - 1)])
            se = vals.std(axis=0, ddof=1) if se_draws > 1 else np.zeros(w.size)
        elif fit.method == "none":
            se = np.zeros(w.size)
        for iw, wv in enumerate(w):
            sl = slice(iw * (k - 1), (iw + 1) * (k - 1))
            value = float(_evppi_value(fit.fitted[:, sl]))
            row = {"group": label, "parameters": ",".join(members), "n_parameters": len(members),
                   "free_dimensions": d, "method": fit.method, "wtp": float(wv), "evppi": max(value, 0.0),
                   "se": float(se[iw]), "evpi": float(evpi_w[iw]),
                   "evppi_share": (max(value, 0.0) / evpi_w[iw]) if evpi_w[iw] > 0 else math.nan,
                   "r2": float(np.min(fit.r2[sl]))}
            if population is not None:
                row["evppi_population"] = float(population_evpi(
                    row["evppi"], population["population_per_year"], int(population["years"]),
                    float(population["discount_rate"])))
            rows.append(row)
        return rows

    # The groups are independent (each has its own random stream; BLAS has one thread here): they run side by side
    # on the cores, in threads (the work is in LAPACK and numpy, which release the GIL); rows keep the group order.
    items = list(grp.items())
    workers = max(1, min(len(items), len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                         else (os.cpu_count() or 1)))
    if workers == 1:
        return [r for label, members in items for r in group_rows(label, members)]
    from concurrent.futures import ThreadPoolExecutor

    # warnings.catch_warnings (in _ridge_fit) is not thread-safe: this block restores the caller's filters when
    # every thread is done, and silences sklearn's convergence warnings for the whole pool
    with warnings.catch_warnings():
        try:
            from sklearn.exceptions import ConvergenceWarning

            warnings.simplefilter("ignore", ConvergenceWarning)
        except ImportError:  # pragma: no cover
            pass
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(lambda item: group_rows(*item), items))
    _release_thread_memory()
    return [r for part in parts for r in part]


def _release_thread_memory() -> None:
    """Give back to the system what the pool's threads freed: glibc keeps it in their own malloc arenas (the
    flagship's EVPPI otherwise leaves ~95 MB resident, ~55 MB after this; Linux with glibc only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # another C library: nothing to do
        pass


def evppi(psa_result: Any, groups: Sequence[str | Sequence[str]] | Mapping[str, Sequence[str]] | None = None,
          wtp: float | Sequence[float] | None = None, perspective: str | None = None, *, method: str = "auto",
          gp_samples: int = 500, se_draws: int = 200, seed: int | None = None,
          population: Mapping[str, Any] | None = None) -> EVPPIResult:
    """EVPPI of parameters and parameter groups from a PSA result (Strong, Oakley & Brennan 2014).

    Parameters
    ----------
    psa_result
        A :class:`heecon.sensitivity.psa.PSAResult`.
    groups
        Parameter names (each its own group), lists of names (groups), a mapping label -> names, or the name of
        a joint distribution (its members). Default: every parameter that varies in the PSA on its own, the
        members of each Dirichlet joint together (labelled by the joint's name).
    wtp
        Willingness to pay per QALY (default: ``settings.wtp``).
    perspective
        Costing perspective (default: ``settings.perspective``).
    method, gp_samples, se_draws
        See :func:`evppi_arrays`.
    seed
        Seed of the GP subsample and the SE draws (default: the PSA's seed).
    population
        ``{"population_per_year", "years", "discount_rate"}`` for population EVPPI (default: from
        ``settings.population_size``, ``settings.evpi_years`` and the cost discount rate).

    Returns
    -------
    EVPPIResult
        Per-person EVPPI at each WTP per group, its standard error, the R^2 of the fits, the EVPI of the same
        sample, and population EVPPI when ``settings.population_size`` is set.

    References
    ----------
    Strong M, Oakley JE, Brennan A. Med Decis Making 2014;34(3):311-26.
    """
    sc = psa_result.scenario
    st = sc.settings
    persp = perspective or st.perspective
    if persp not in sc.perspectives:
        from heecon.scenario.errors import did_you_mean

        raise EVPPIError(f"unknown perspective '{persp}'.{did_you_mean(persp, sc.perspectives)} "
                         f"Valid: {', '.join(sc.perspectives)}")
    draws = psa_result.draws
    if draws is None or not len(draws.names):
        raise EVPPIError("no parameter varies in this PSA (none has a distribution), so every EVPPI is 0")
    varying = [nm for nm in draws.names if np.ptp(draws[nm]) > 0]
    inputs = {nm: draws[nm] for nm in draws.names}
    from heecon.params.scenario_draws import scenario_distributions

    joints = {_joint_label(j, sc): list(j.members) for j in scenario_distributions(sc)[1]}
    if groups is None:
        groups = {lab: ms for lab, ms in default_groups(sc).items() if any(m in varying for m in ms)}
        if not groups:
            raise EVPPIError("no parameter varies in this PSA, so every EVPPI is 0")
    if population is None and st.population_size:
        population = {"population_per_year": st.population_size, "years": st.evpi_years,
                      "discount_rate": st.discount_costs.rates[0]}
    res = evppi_arrays(psa_result.costs(persp), psa_result.effects(), inputs, groups,
                       st.wtp if wtp is None else wtp, strategies=psa_result.strategies, method=method,
                       gp_samples=gp_samples, se_draws=se_draws, seed=psa_result.seed if seed is None else seed,
                       population=population, joints=joints, known=list(sc.parameters))
    res.perspective = persp
    return res

