"""Expected value of sample information (EVSI), expected net benefit of sampling (ENBS) and optimal sample size.

EVSI is the expected gain from deciding after a proposed study of ``n`` per arm rather than now::

    EVSI(n) = E_X[ max_d E(NB_d | X) ] - max_d E(NB_d)

where ``X`` are the study's data, drawn from their prior predictive distribution. Every method here works from an
existing PSA (parameter draws and per-sample costs and effects); none re-runs the model. The data are simulated
from the PSA draws of the parameters the study depends on, as the design prescribes
(:mod:`heecon.sensitivity.designs`). As for EVPPI (:mod:`heecon.sensitivity.evppi`), the regressions are on the
incremental net monetary benefit of every strategy against the first, all WTPs at once, with the same smoothers
(penalised regression splines for up to two inputs, a Gaussian process above).

Methods
-------
All three start from ``g(theta)``, the EVPPI regression of the net benefits on the informed parameters as they
are named in the PSA (the ``evppi`` column of the result).

``"regression"`` (Strong, Oakley, Brennan & Breeze 2015)
    For each PSA sample ``i`` one data set ``X_i`` is simulated from that sample's parameter values; the net
    benefits are regressed on low-dimensional summaries ``T(X_i)`` (one per informed parameter, e.g. the log rate
    ratio estimate) and ``EVSI = mean_i max_d f_d(T_i) - max_d mean_i f_d(T_i)`` from the fitted values ``f``.
    One fit per sample size. When parameters that are not informed also generate the data (and vary), the target
    is ``g(theta_i)`` instead and the summaries include theirs: ``f`` estimates ``E(g | X)``, the decision model
    updated for the informed parameters only, by an analysis that uses every parameter's prior.
``"gaussian"`` (Jalal & Alarid-Escudero 2018)
    Each informed parameter's preposterior mean is approximated by shrinking it towards its mean by
    ``s = sqrt(n / (n + n0))``, with ``n0`` its prior effective sample size
    (:meth:`~heecon.sensitivity.designs.StudyDesign.prior_sample_size`, or given). As in the paper's (and
    dampack's) implementation the shrinkage is applied to a spline basis, ``B~ = s B + (1 - s) mean(B)`` for
    each margin, so for one parameter the fitted values themselves are shrunk, ``g~ = mean(g) + s (g - mean(g))``:
    their variance falls by ``n / (n + n0)``. Two parameters are first rotated to components that are
    uncorrelated a priori and in the data (which the paper's per-parameter shrinkage assumes; the two
    probabilities of voi's chemotherapy trial are strongly correlated), ``g`` is projected onto the tensor
    spline of the components, and each margin is shrunk by its own ``n0``. With a varying parameter that
    generates data but is not informed, the one informed parameter is shrunk by its Gaussian posterior
    variance given the priors of both. Rescaling the fitted values to the preposterior variance is also the
    moment-matching idea of Heath, Manolopoulou & Baio (2018), here with the variance from the Gaussian
    approximation instead of from re-running the model. Exact for a linear net benefit with a normal prior and
    likelihood; fast for any number of sample sizes. One or two informed parameters.
``"is"`` (Menzies 2016)
    Importance sampling: ``is_samples`` data sets are simulated from random PSA samples; the posterior mean of
    ``g(theta)`` given each is the likelihood-weighted mean over all PSA samples. The likelihood is that of all
    the parameters the data depend on, so it learns about those not in ``informs`` too (as ``voi``'s
    ``pars_datagen``); so it needs every one of them to vary in the PSA. It weakens when the posterior is much
    narrower than the prior (few samples carry the weight: large ``n``).

The three estimate the same quantity for a given design (see "What the analysis of the study's data knows" in
:mod:`heecon.sensitivity.designs`). An estimate is never negative and is not clipped at the EVPPI; an estimate
above the EVPPI of the informed parameters (reported alongside) is Monte Carlo or approximation error.

Uncertainty
-----------
``se`` combines (in quadrature) the regression's own error, from draws of the smoother's approximate posterior
(as EVPPI's ``se``; regression and gaussian), and the Monte Carlo error of the PSA sample, from ``bootstrap``
resamples of the samples (of the data sets for ``is``) with the fitted values held fixed. ``lower`` and
``upper`` are ``evsi -/+ z se`` (lower clipped at 0). The bootstrap resamples are the same rows at every
``n``, so the replicate EVSI curves (``EVSIResult.replicates``) give the uncertainty of the optimal sample size.

ENBS
----
``ENBS(n) = EVSI(n) x A - (fixed + per_participant x arms x n)`` with ``A`` the discounted number of people
affected, :func:`heecon.cea.population_evpi`'s convention (Ades, Lu & Claxton 2004). The optimal ``n`` maximises
it over the grid; a maximum at or below 0 means no study of this design is worth its cost.

References
----------
Strong M, Oakley JE, Brennan A, Breeze P. Estimating the expected value of sample information using the
probabilistic sensitivity analysis sample: a fast, nonparametric regression-based method. Med Decis Making
2015;35(5):570-83.
Jalal H, Alarid-Escudero F. A Gaussian approximation approach for value of information analysis. Med Decis
Making 2018;38(2):174-88.
Heath A, Manolopoulou I, Baio G. Efficient Monte Carlo estimation of the expected value of sample information
using moment matching. Med Decis Making 2018;38(2):163-73.
Menzies NA. An efficient estimator for the expected value of sample information. Med Decis Making
2016;36(3):308-20.
Ades AE, Lu G, Claxton K. Expected value of sample information calculations in medical decision modeling. Med
Decis Making 2004;24(2):207-27.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from heecon.sensitivity.design_read import parse_design, read_design
from heecon.sensitivity.designs import DecisionPopulation, StudyDesign
from heecon.sensitivity.evppi import (
    _evppi_value,
    _fit_regression,
    _free_inputs,
    _gam_margins,
    _row_kron,
)

__all__ = ["METHODS", "ENBSResult", "EVSIError", "EVSIResult", "enbs", "evsi", "evsi_arrays", "evsi_from_samples"]

#: EVSI methods.
METHODS = ("regression", "gaussian", "is")

_EVSI_COLUMNS = ["wtp", "n", "method", "evsi", "lower", "upper", "se", "evppi", "evpi"]
_ENBS_COLUMNS = ["wtp", "method", "n", "population_evsi", "study_cost", "enbs", "lower", "upper", "participants",
                 "p_optimal"]


class EVSIError(ValueError):
    """EVSI or ENBS cannot be computed as asked (the message says why and what would work)."""


# --------------------------------------------------------------------------- results


@dataclass
class EVSIResult:
    """EVSI of a study design per sample size, WTP and method.

    Attributes
    ----------
    table
        One row per WTP, ``n`` (per arm) and method: ``evsi`` (per person), ``lower``, ``upper`` (``level``
        interval), ``se``, and for reference ``evppi`` (of the informed parameters) and ``evpi`` (of the same
        PSA sample).
    replicates
        Method -> bootstrap replicate EVSI, shape ``(bootstrap, len(n), len(wtp))`` (same resampled rows at every
        ``n``).
    n0
        Prior effective sample size per arm of each informed role, ``E[v1] / Var(theta)`` on its own (or as given
        to ``gaussian``); the ``gaussian`` method shrinks the rotated components of two correlated parameters by
        their own values, and a parameter learnt alongside a nuisance one by its posterior variance.
    population
        Decision population for ENBS (the design's, or the scenario's when run through :func:`evsi`).
    """

    table: pd.DataFrame
    design: StudyDesign
    wtp: np.ndarray
    n: np.ndarray
    methods: list[str]
    strategies: list[str]
    n_samples: int
    evppi: np.ndarray
    evpi: np.ndarray
    n0: dict[str, float] = field(default_factory=dict)
    level: float = 0.95
    replicates: dict[str, np.ndarray] = field(default_factory=dict)
    population: DecisionPopulation | None = None
    perspective: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``wtp, n, method, evsi, lower, upper`` then ``se, evppi, evpi``."""
        return self.table[_EVSI_COLUMNS].copy()


@dataclass
class ENBSResult:
    """Expected net benefit of sampling per sample size, and the optimal sample size.

    Attributes
    ----------
    table
        One row per WTP, method and ``n`` (per arm): ``population_evsi``, ``study_cost``, ``enbs``, its
        ``lower``/``upper`` interval (from the EVSI interval), ``participants`` (all arms) and ``p_optimal``
        (share of bootstrap replicates in which this ``n`` has the highest ENBS; NaN without replicates).
    optimal
        One row per WTP and method: ``n`` maximising ENBS on the grid, its ``enbs``, ``population_evsi`` and
        ``study_cost``, ``worthwhile`` (ENBS > 0) and ``n_lower``/``n_upper``, the ``level`` interval of the
        optimal ``n`` over the replicates.
    population_factor
        Discounted number of people affected: population EVSI per unit of per-person EVSI.
    """

    table: pd.DataFrame
    optimal: pd.DataFrame
    population_factor: float
    fixed_cost: float
    cost_per_participant: float
    arms: int
    level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``wtp, method, n, population_evsi, study_cost, enbs, lower, upper, participants, p_optimal``."""
        return self.table[_ENBS_COLUMNS].copy()


# --------------------------------------------------------------------------- helpers


def _blas_one_thread() -> Any:
    try:
        from threadpoolctl import threadpool_limits  # installed with scikit-learn

        return threadpool_limits(limits=1, user_api="blas")
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()


def _rng(seed: int, name: str) -> np.random.Generator:
    from heecon.params import stream_seed

    return np.random.Generator(np.random.PCG64(stream_seed(seed, "gsa", name=name)))


def _whole(v: Any, name: str, lo: int) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer, float)) or not float(v).is_integer() or v < lo:
        raise EVSIError(f"The '{name}' must be a whole number >= {lo}. Got {v!r}.")
    return int(v)


def _sizes(n: Any, design: StudyDesign) -> np.ndarray:
    if n is None:
        vals = list(design.n_per_arm)
    elif isinstance(n, (int, np.integer, float)) and not isinstance(n, bool):
        vals = [n]
    else:
        vals = list(n)
    if not vals:
        raise EVSIError("The 'n' must list at least one sample size per arm.")
    out = sorted({_whole(v, "n", 1) for v in vals})
    return np.asarray(out, dtype=int)


def _values_per_wtp(G: np.ndarray, W: int, km1: int) -> np.ndarray:
    """EVSI per WTP from fitted values ``G (..., rows, W * (k-1))``: shape ``(..., W)``."""
    return np.stack([_evppi_value(G[..., iw * km1:(iw + 1) * km1]) for iw in range(W)], axis=-1)


def _bootstrap(G: np.ndarray, rows: np.ndarray, W: int, km1: int) -> np.ndarray:
    """EVSI per WTP for each bootstrap row set: ``(B, W)``."""
    out = np.empty((rows.shape[0], W))
    step = max(1, int(4e6 // max(1, G.size)))
    for lo in range(0, rows.shape[0], step):
        hi = min(rows.shape[0], lo + step)
        out[lo:hi] = _values_per_wtp(G[rows[lo:hi]], W, km1)
    return out


def _draw_se(draw_fn: Any, rng: np.random.Generator, se_draws: int, n_rows: int, T: int, W: int, km1: int,
             transform: Any = None) -> np.ndarray:
    """Standard deviation over posterior draws of the fitted values of the EVSI per WTP (0 draws: zeros)."""
    if not se_draws or draw_fn is None:
        return np.zeros(W)
    vals = np.empty((se_draws, W))
    step = max(1, int(2e7 // max(1, n_rows * T)))
    for lo in range(0, se_draws, step):
        hi = min(se_draws, lo + step)
        Gd = draw_fn(rng, hi - lo)
        if transform is not None:
            Gd = transform(Gd)
        vals[lo:hi] = _values_per_wtp(Gd, W, km1)
    return vals.std(axis=0, ddof=1) if se_draws > 1 else np.zeros(W)


class _Shrinker:
    """Gaussian-approximation preposterior of a spline fit: each margin's basis shrunk towards its mean."""

    def __init__(self, X: np.ndarray):
        self.margins = [B for B, _ in _gam_margins(X)]
        B = self.margins[0] if len(self.margins) == 1 else _row_kron(*self.margins)
        if B.shape[0] <= B.shape[1]:
            raise EVSIError(f"The 'gaussian' method's spline in the informed parameters has {B.shape[1]} terms, "
                            f"more than the {B.shape[0]} PSA samples can fit: run a larger PSA (1,000 or more is "
                            "usual) or use method 'regression'.")
        self.Q, self.R = np.linalg.qr(B)
        self.means = [Bm.mean(axis=0) for Bm in self.margins]

    def coefficients(self, G: np.ndarray) -> np.ndarray:
        """Spline coefficients of fitted values in the basis's column space: ``(..., rows, T) -> (..., p, T)``."""
        return np.linalg.solve(self.R, np.swapaxes(self.Q, -1, -2) @ G)

    def basis(self, s: Sequence[float]) -> np.ndarray:
        Ts = [si * Bm + (1.0 - si) * mu for si, Bm, mu in zip(s, self.margins, self.means)]
        return Ts[0] if len(Ts) == 1 else _row_kron(*Ts)


# --------------------------------------------------------------------------- core


def evsi_arrays(costs: Any, effects: Any, inputs: Mapping[str, Any] | pd.DataFrame,
                design: StudyDesign | Mapping[str, Any] | str | Path, wtp: float | Sequence[float], *,
                n: int | Sequence[int] | None = None, method: str | Sequence[str] = "regression",
                strategies: Sequence[str] | None = None, regression: str = "auto", gp_samples: int = 500,
                se_draws: int = 100, bootstrap: int = 200, is_samples: int = 1000,
                n0: float | Mapping[str, float] | None = None, level: float = 0.95, seed: int = 0) -> EVSIResult:
    """EVSI of a study design from PSA arrays, for each sample size, WTP and method.

    Parameters
    ----------
    costs, effects : array_like, shape (n_samples, n_strategies)
        Per-sample costs and effects of each strategy.
    inputs : mapping or DataFrame
        PSA parameter draws, name -> array ``(n_samples,)``; must hold every parameter the design names.
    design : StudyDesign, mapping or path
        The study (:func:`heecon.sensitivity.design_read.parse_design` for a mapping,
        :func:`~heecon.sensitivity.design_read.read_design` for a TOML path).
    wtp : float or sequence of float
        Willingness to pay per unit of effect.
    n : int or sequence of int, optional
        Sample sizes per arm (default: the design's ``n_per_arm``).
    method : str or sequence of str
        One or more of :data:`METHODS`.
    strategies : sequence of str, optional
        Strategy names (default ``strategy 0``, ...).
    regression : {"auto", "gam", "gp"}
        Smoother of the ``regression`` method and of the fit on the informed parameters (``evppi`` column and
        every method), as in :func:`heecon.sensitivity.evppi.evppi_arrays`; ``gaussian`` projects that fit onto
        a spline in the (rotated) informed parameters.
    gp_samples : int
        Subsample size of a Gaussian-process fit.
    se_draws : int
        Draws from the smoother's posterior for the regression part of ``se`` (0: none).
    bootstrap : int
        Bootstrap resamples for the Monte Carlo part of ``se`` and the replicates (0: none).
    is_samples : int
        Data sets simulated by the ``is`` method (at most the PSA size).
    n0 : float or mapping, optional
        Prior effective sample size per arm for ``gaussian``: one number for every informed role, or role (or
        parameter name) -> number (the others from the design). Given, it replaces the design's sampling model:
        the estimators are taken as uncorrelated and parameters that are not informed as not learnt about.
        Default from the design (``StudyDesign.sampling_covariance``; ``prior_sample_size`` per parameter).
    level : float
        Coverage of ``lower``/``upper``.
    seed : int
        Seed of the simulated data, GP subsamples, draws and resamples (stream ``gsa``, keyed by design, method
        and ``n``).

    Returns
    -------
    EVSIResult

    References
    ----------
    Strong M, Oakley JE, Brennan A, Breeze P. Med Decis Making 2015;35(5):570-83 (regression).
    Jalal H, Alarid-Escudero F. Med Decis Making 2018;38(2):174-88 (gaussian).
    Menzies NA. Med Decis Making 2016;36(3):308-20 (is).
    """
    from heecon.cea import evpi as _evpi

    if isinstance(design, (str, Path)):
        design = read_design(design)
    elif not isinstance(design, StudyDesign):
        design = parse_design(design)
    c = np.asarray(costs, dtype=float)
    e = np.asarray(effects, dtype=float)
    if c.ndim != 2 or c.shape != e.shape:
        raise EVSIError(f"The 'costs' and 'effects' must be arrays of the same shape (samples, strategies). Got "
                        f"{c.shape} and {e.shape}.")
    N, k = c.shape
    if k < 2:
        raise EVSIError("EVSI compares strategies; the PSA has only one.")
    if N < 50:
        raise EVSIError(f"EVSI by simulation needs a PSA sample of at least 50 (1,000 or more is usual). Got {N}.")
    if not (np.all(np.isfinite(c)) and np.all(np.isfinite(e))):
        raise EVSIError("The 'costs' and 'effects' must be finite.")
    methods = [method] if isinstance(method, str) else list(method)
    if not methods:
        raise EVSIError(f"The 'method' must name at least one of {', '.join(map(repr, METHODS))}.")
    for m in methods:
        if m not in METHODS:
            raise EVSIError(f"The 'method' must be one of {', '.join(map(repr, METHODS))}. Got {m!r}.")
    if len(set(methods)) != len(methods):
        raise EVSIError(f"The 'method' names a method twice. Got {methods!r}.")
    if regression not in ("auto", "gam", "gp"):
        raise EVSIError(f"The 'regression' must be one of 'auto', 'gam', 'gp'. Got {regression!r}.")
    gp_samples = _whole(gp_samples, "gp_samples", 20)
    se_draws = _whole(se_draws, "se_draws", 0)
    bootstrap = _whole(bootstrap, "bootstrap", 0)
    is_samples = _whole(is_samples, "is_samples", 20)
    if not (isinstance(level, (int, float)) and 0 < level < 1):
        raise EVSIError(f"The 'level' must be a number in (0, 1). Got {level!r}.")
    w = np.atleast_1d(np.asarray(wtp, dtype=float))
    if w.ndim != 1 or w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise EVSIError(f"The 'wtp' must be one or more finite numbers >= 0. Got {wtp!r}.")
    labels = list(strategies) if strategies is not None else [f"strategy {j}" for j in range(k)]
    if len(labels) != k:
        raise EVSIError(f"{len(labels)} strategy names for {k} strategies.")
    sizes = _sizes(n, design)
    values = design.resolve(dict(inputs), N)

    W, km1 = w.size, k - 1
    dnmb = np.multiply.outer(w, e[:, 1:] - e[:, :1]) - (c[:, 1:] - c[:, :1])  # (W, N, k-1)
    Y = np.concatenate(list(dnmb), axis=1)  # (N, W*(k-1)); column iw*(k-1)+j
    evpi_w = np.atleast_1d(_evpi(c, e, w))
    z = float(stats.norm.ppf(0.5 + level / 2))
    prior_n0 = design.prior_sample_size(values)
    n0_used = _n0(n0, design, prior_n0)
    U, shrink = (None, None)
    if "gaussian" in methods:
        U, shrink = _components(design, values, n0_used if n0 is not None else None)

    with _blas_one_thread():
        raw = _free_inputs(np.column_stack([values[r] for r in design.informs]))
        fit_p = _fit_regression(raw, Y, regression, _rng(seed, f"evsi:{design.name}:evppi"), gp_samples, km1)
        evppi_w = np.maximum(_values_per_wtp(fit_p.fitted, W, km1), 0.0)
        boot_rows = _rng(seed, f"evsi:{design.name}:bootstrap").integers(0, N, size=(bootstrap, N))
        rows, reps = [], {}
        for m in methods:
            est, se, rep = _run_method(m, design, values, Y, sizes, W, km1, seed, regression, gp_samples, se_draws,
                                       boot_rows, bootstrap, is_samples, fit_p, U, shrink)
            reps[m] = rep
            for iw, wv in enumerate(w):
                for i_n, nn in enumerate(sizes):
                    v, s = float(max(est[i_n, iw], 0.0)), float(se[i_n, iw])
                    rows.append({"wtp": float(wv), "n": int(nn), "method": m, "evsi": v,
                                 "lower": max(v - z * s, 0.0), "upper": v + z * s, "se": s,
                                 "evppi": float(evppi_w[iw]), "evpi": float(evpi_w[iw])})
    table = pd.DataFrame(rows, columns=_EVSI_COLUMNS)  # by method (as asked), then WTP, then n
    return EVSIResult(table, design, w, sizes, methods, labels, N, evppi_w, evpi_w,
                      n0_used if "gaussian" in methods else prior_n0, float(level), reps, design.population)


def _n0(n0: Any, design: StudyDesign, prior: dict[str, float]) -> dict[str, float]:
    if n0 is None:
        return dict(prior)
    if isinstance(n0, Mapping):
        out = dict(prior)
        names = {v: r for r, v in design.informed_parameters.items()}
        for key, v in n0.items():
            role = key if key in prior else names.get(key)
            if role is None:
                raise EVSIError(f"The 'n0' names '{key}', which is neither an informed role nor its parameter. "
                                f"Informed: {', '.join(f'{r} ({p})' for r, p in design.informed_parameters.items())}.")
            out[role] = _positive(v, f"n0[{key!r}]")
        return out
    v = _positive(n0, "n0")
    return {r: v for r in prior}


def _components(design: StudyDesign, values: Mapping[str, np.ndarray],
                n0: dict[str, float] | None) -> tuple[np.ndarray, Any]:
    """Informed parameters in coordinates independent a priori and in the data, and their shrinkage at ``n``.

    With ``S0`` the PSA covariance of the informed parameters (on the Gaussian scale) and ``V`` the sampling
    covariance of their estimators from one participant per arm, the generalised eigenvectors ``x_j``
    (``V x = d S0 x``, ``x' S0 x = 1``) give components ``u_j = x_j' (theta - mean)`` with unit prior variance,
    uncorrelated, and sampling variance ``d_j`` per participant: each is shrunk by ``sqrt(n / (n + d_j))``. For
    one parameter ``u`` is the standardised parameter and ``d = n0``. Given ``n0`` per role, ``V`` is taken as
    ``diag(n0_j Var(theta_j))``.

    When parameters that are not informed also generate the data (and vary), the analysis uses their prior too:
    with ``S`` and ``V`` over all of them, the posterior covariance is ``P(n) = (S^-1 + n V^-1)^-1`` and the one
    informed parameter is shrunk by ``sqrt(1 - P_11(n) / S_11)`` (without nuisance parameters this is the rule
    above).
    """
    from scipy import linalg

    scaled = design.gaussian_scale(values)
    S = np.column_stack([scaled[r] for r in design.informs])
    S0 = np.atleast_2d(np.cov(S, rowvar=False))
    if n0 is None:
        V = design.sampling_covariance(values)
    else:
        V = np.diag([n0[r] * S0[j, j] for j, r in enumerate(design.informs)])
    try:
        d, X = linalg.eigh(V, S0)
    except linalg.LinAlgError:
        raise EVSIError(f"The informed parameters {', '.join(design.informed_parameters.values())} are linearly "
                        "dependent in the PSA (one is a function of the others); inform only the independent ones "
                        "(e.g. p_control and log_odds_ratio rather than both probabilities and the ratio).") from None
    if not np.all(d > 0):
        raise EVSIError(f"The design's sampling covariance of {', '.join(design.informs)} is not positive definite; "
                        "check design.parameters.")
    U = (S - S.mean(axis=0)) @ X
    nuis = design.nuisance_roles(values)
    if n0 is not None or not nuis:
        return U, lambda n: [math.sqrt(n / (n + dj)) for dj in d]
    if len(design.informs) != 1:  # pragma: no cover - a design has at most two roles
        raise EVSIError("The 'gaussian' method with parameters that generate data but are not informed handles one "
                        "informed parameter.")
    roles = list(design.informs) + list(nuis)
    allv = design.gaussian_scale(values, roles)
    SR = np.atleast_2d(np.cov(np.column_stack([allv[r] for r in roles]), rowvar=False))
    VR = design.sampling_covariance(values, roles)
    SRi, VRi = np.linalg.inv(SR), np.linalg.inv(VR)

    def shrink(n: int) -> list[float]:
        P = np.linalg.inv(SRi + n * VRi)
        return [math.sqrt(max(0.0, 1.0 - P[0, 0] / SR[0, 0]))]

    return U, shrink


def _positive(v: Any, name: str) -> float:
    ok = isinstance(v, (int, float, np.floating, np.integer)) and not isinstance(v, bool)
    if not ok or not math.isfinite(v) or v <= 0:
        raise EVSIError(f"The '{name}' must be a positive number. Got {v!r}.")
    return float(v)


def _run_method(m: str, design: StudyDesign, values: dict[str, np.ndarray], Y: np.ndarray, sizes: np.ndarray,
                W: int, km1: int, seed: int, regression: str, gp_samples: int, se_draws: int, boot_rows: np.ndarray,
                bootstrap: int, is_samples: int, fit_p: Any, U: np.ndarray,
                shrink: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Estimates ``(len(n), W)``, their se and bootstrap replicates ``(B, len(n), W)`` for one method."""
    N, T = Y.shape
    est = np.empty((sizes.size, W))
    se = np.empty((sizes.size, W))
    rep = np.empty((bootstrap, sizes.size, W))
    if m == "gaussian":
        if U.shape[1] > 2:
            raise EVSIError(f"The 'gaussian' method handles one or two informed parameters; this design informs "
                            f"{', '.join(design.informs)}. Use method 'regression'.")
        # the fit on the parameters as given, projected onto the spline basis of the components (exact for a
        # spline in one parameter; close in two), whose margins are then shrunk
        shr = _Shrinker(U)
        beta = shr.coefficients(fit_p.fitted)
        draws = fit_p.draws if fit_p.draw_rows is None else None
        draw_rng = _rng(seed, f"evsi:{design.name}:gaussian:draws")
        for i_n, nn in enumerate(sizes):
            Tb = shr.basis(shrink(int(nn)))
            G = Tb @ beta
            est[i_n] = _values_per_wtp(G, W, km1)
            se_reg = _draw_se(draws, draw_rng, se_draws, N, T, W, km1,
                              transform=lambda Gd, Tb=Tb: Tb @ shr.coefficients(Gd))
            rep[:, i_n] = _bootstrap(G, boot_rows, W, km1)
            se[i_n] = np.sqrt(se_reg ** 2 + (rep[:, i_n].std(axis=0, ddof=1) if bootstrap > 1 else 0.0) ** 2)
        return est, se, rep
    if m == "is":
        fixed = design.fixed_roles(values)
        if fixed:
            raise EVSIError(f"The 'is' method needs a prior for every parameter the data depend on, but "
                            f"{', '.join(f'{r} ({design.parameters[r]})' for r in fixed)} does not vary in the PSA, "
                            "and the analysis is to estimate it from the data alone; use method 'regression' or "
                            "'gaussian'.")
        J = min(int(is_samples), N)
        rng = _rng(seed, f"evsi:{design.name}:is")
        jj = np.sort(rng.choice(N, size=J, replace=False))
        rows_j = rng.integers(0, J, size=(bootstrap, J))
        G0 = fit_p.fitted
        for i_n, nn in enumerate(sizes):
            data = design.simulate({r: v[jj] for r, v in values.items()}, int(nn),
                                   _rng(seed, f"evsi:{design.name}:is:n={nn}"))
            G = np.empty((J, T))
            step = max(1, int(4e6 // N))
            for lo in range(0, J, step):
                hi = min(J, lo + step)
                ll = design.log_likelihood({kk: v[lo:hi] for kk, v in data.items()}, values, int(nn))
                wgt = np.exp(ll - ll.max(axis=1, keepdims=True))
                G[lo:hi] = (wgt @ G0) / wgt.sum(axis=1, keepdims=True)
            est[i_n] = _values_per_wtp(G, W, km1)
            rep[:, i_n] = _bootstrap(G, rows_j, W, km1)
            se[i_n] = rep[:, i_n].std(axis=0, ddof=1) if bootstrap > 1 else 0.0
        return est, se, rep
    # regression on summaries of data simulated at each PSA sample; with data-generating parameters that are not
    # informed, the target is the informed parameters' fit g(theta_I), so E(g | summaries of all the data)
    nuis = design.nuisance_roles(values)
    target = fit_p.fitted if nuis else Y
    roles = list(design.informs) + list(nuis)
    for i_n, nn in enumerate(sizes):
        rng = _rng(seed, f"evsi:{design.name}:regression:n={nn}")
        data = design.simulate(values, int(nn), rng)
        _, S = design.summary_statistics(data, int(nn), roles)
        fit = _fit_regression(_free_inputs(S), target, regression, rng, gp_samples, km1)
        est[i_n] = _values_per_wtp(fit.fitted, W, km1)
        rows_fit = N if fit.draw_rows is None else fit.draw_rows.size
        se_reg = _draw_se(fit.draws, rng, se_draws, rows_fit, T, W, km1)
        rep[:, i_n] = _bootstrap(fit.fitted, boot_rows, W, km1)
        se[i_n] = np.sqrt(se_reg ** 2 + (rep[:, i_n].std(axis=0, ddof=1) if bootstrap > 1 else 0.0) ** 2)
    return est, se, rep


def evsi(psa_result: Any, design: StudyDesign | Mapping[str, Any] | str | Path,
         wtp: float | Sequence[float] | None = None, perspective: str | None = None, **options: Any) -> EVSIResult:
    """EVSI of a study design from a PSA result, without re-running the model.

    Parameters
    ----------
    psa_result
        A :class:`heecon.sensitivity.psa.PSAResult`.
    design
        A :class:`~heecon.sensitivity.designs.StudyDesign`, a mapping, or the path of a design TOML file.
    wtp
        Willingness to pay per QALY (default ``settings.wtp``).
    perspective
        Costing perspective (default ``settings.perspective``).
    **options
        Passed to :func:`evsi_arrays` (``n``, ``method``, ``regression``, ``se_draws``, ``bootstrap``, ``n0``,
        ``level``, ...); ``seed`` defaults to the PSA's.

    Returns
    -------
    EVSIResult
        With ``population`` the design's, or else the scenario's ``population_size`` over ``evpi_years``
        discounted at the cost discount rate (as population EVPI).

    References
    ----------
    Strong M, Oakley JE, Brennan A, Breeze P. Med Decis Making 2015;35(5):570-83.
    """
    draws = psa_result.draws
    if draws is None or not len(draws.names):
        raise EVSIError("no parameter varies in this PSA (none has a distribution), so every EVSI is 0")
    inputs = {nm: draws[nm] for nm in draws.names}
    options.setdefault("seed", psa_result.seed)
    return _scenario_evsi(psa_result.scenario, psa_result.costs, psa_result.effects(), inputs, design, wtp,
                          perspective, options)


def evsi_from_samples(scenario: Any, samples: pd.DataFrame, design: StudyDesign | Mapping[str, Any] | str | Path,
                      wtp: float | Sequence[float] | None = None, perspective: str | None = None,
                      **options: Any) -> EVSIResult:
    """EVSI from the per-sample table of an earlier run (``psa_samples.parquet``), without re-running the model.

    ``samples`` is the long table :meth:`heecon.sensitivity.psa.PSAResult.samples_frame` writes: one row per sample
    and strategy with ``costs[PERSPECTIVE]``, ``qalys`` and the sampled parameters as ``param:NAME``. The scenario
    must be the one the run was made from (its strategies and perspectives); other arguments as :func:`evsi`.
    """
    need = {"sample", "strategy", "qalys"}
    missing = sorted(need - set(samples.columns))
    if missing:
        raise EVSIError(f"the PSA samples table lacks column(s) {', '.join(missing)}: it was not written by "
                        "heecon run (psa_samples.parquet)")
    strategies = list(scenario.strategies)
    found = sorted(set(samples["strategy"].astype(str)))
    if found != sorted(strategies):
        raise EVSIError(f"the PSA samples are of strategies {', '.join(found)}; the scenario's are "
                        f"{', '.join(strategies)}: give the scenario the run was made from")

    def wide(col: str) -> np.ndarray:
        if col not in samples.columns:
            raise EVSIError(f"the PSA samples table has no column '{col}'")
        t = samples.pivot(index="sample", columns="strategy", values=col)
        return t[strategies].to_numpy(dtype=float)

    par = samples[samples["strategy"] == strategies[0]].sort_values("sample")
    inputs = {c.split(":", 1)[1]: par[c].to_numpy(dtype=float) for c in samples.columns if c.startswith("param:")}
    if not inputs:
        raise EVSIError("no parameter varies in this PSA (none has a distribution), so every EVSI is 0")
    return _scenario_evsi(scenario, lambda p: wide(f"costs[{p}]"), wide("qalys"), inputs, design, wtp, perspective,
                          options)


def _scenario_evsi(sc: Any, costs_of: Any, effects: np.ndarray, inputs: Mapping[str, np.ndarray],
                   design: StudyDesign | Mapping[str, Any] | str | Path, wtp: Any, perspective: str | None,
                   options: dict[str, Any]) -> EVSIResult:
    from heecon.scenario.errors import did_you_mean
    from heecon.sensitivity.design_read import check_design

    if isinstance(design, (str, Path)):
        design = read_design(design)
    elif not isinstance(design, StudyDesign):
        design = parse_design(design)
    st = sc.settings
    persp = perspective or st.perspective
    if persp not in sc.perspectives:
        raise EVSIError(f"unknown perspective '{persp}'.{did_you_mean(persp, sc.perspectives)} "
                        f"Valid: {', '.join(sc.perspectives)}")
    check_design(design, sc)
    res = evsi_arrays(costs_of(persp), effects, inputs, design, st.wtp if wtp is None else wtp,
                      strategies=list(sc.strategies), **options)
    res.perspective = persp
    if res.population is None and st.population_size:
        res.population = DecisionPopulation(float(st.population_size), int(st.evpi_years),
                                            float(st.discount_costs.rates[0]), "end",
                                            "scenario settings.population_size and evpi_years")
    return res


# --------------------------------------------------------------------------- ENBS


def enbs(evsi: EVSIResult | pd.DataFrame, *, population_per_year: float | Sequence[float] | None = None,
         years: int | None = None, discount_rate: float | None = None, timing: str | None = None,
         fixed_cost: float | None = None, cost_per_participant: float | None = None, arms: int | None = None,
         level: float | None = None) -> ENBSResult:
    """Expected net benefit of sampling over the sample sizes of an EVSI result, and the optimal sample size.

    ``ENBS(n) = EVSI(n) x A - (fixed_cost + cost_per_participant x arms x n)``, with ``A`` the discounted number
    of people facing the decision over the horizon (:func:`heecon.cea.population_evpi`: ``A = sum_t N_t (1 +
    r)^-t``, ``t = 1..years`` for ``timing="end"``).

    Parameters
    ----------
    evsi
        An :class:`EVSIResult`, or a DataFrame with columns ``n`` and ``evsi`` (optionally ``wtp``, ``method``,
        ``lower``, ``upper``), e.g. published EVSI figures.
    population_per_year, years, discount_rate, timing
        Decision population (default: the result's ``population``; ``timing`` ``"end"``).
    fixed_cost, cost_per_participant
        Study costs (default: the design's ``costs``).
    arms
        Participants per unit of ``n`` (default: the design's arms; 1 for a DataFrame).
    level
        Coverage of the interval of the optimal ``n`` (default: the result's level, else 0.95).

    Returns
    -------
    ENBSResult

    References
    ----------
    Ades AE, Lu G, Claxton K. Expected value of sample information calculations in medical decision modeling. Med
    Decis Making 2004;24(2):207-27.
    Heath A, Kunst N, Jackson C (eds). Value of Information for Healthcare Decision-Making. CRC Press 2024, ch. on
    ENBS (``voi::enbs``).
    """
    from heecon.cea import population_evpi

    if isinstance(evsi, EVSIResult):
        frame = evsi.table
        reps = evsi.replicates
        pop_obj = evsi.population
        cost_obj = evsi.design.costs
        arms_default = evsi.design.arms
        lvl = evsi.level if level is None else level
        n_order = list(evsi.n)
        wtp_order = list(evsi.wtp)
    elif isinstance(evsi, pd.DataFrame):
        missing = [col for col in ("n", "evsi") if col not in evsi.columns]
        if missing:
            raise EVSIError(f"The EVSI table needs columns 'n' and 'evsi'; it lacks {', '.join(map(repr, missing))}.")
        frame = evsi.copy()
        for col, default in (("wtp", math.nan), ("method", "given"), ("lower", math.nan), ("upper", math.nan)):
            if col not in frame.columns:
                frame[col] = default
        reps, pop_obj, cost_obj, arms_default = {}, None, None, 1
        lvl = 0.95 if level is None else level
        n_order, wtp_order = None, None
    else:
        raise EVSIError(f"enbs takes an EVSIResult or a DataFrame with columns n and evsi. Got {type(evsi).__name__}.")
    if not (isinstance(lvl, (int, float)) and 0 < lvl < 1):
        raise EVSIError(f"The 'level' must be a number in (0, 1). Got {lvl!r}.")

    def pick(given: Any, obj: Any, attr: str, what: str, table: str) -> Any:
        if given is not None:
            return given
        if obj is not None:
            return getattr(obj, attr)
        raise EVSIError(f"ENBS needs '{what}': give it, or use a design with a [{table}] table.")

    pop = pick(population_per_year, pop_obj, "population_per_year", "population_per_year", "population")
    yrs = pick(years, pop_obj, "years", "years", "population")
    rate = pick(discount_rate, pop_obj, "discount_rate", "discount_rate", "population")
    tim = timing if timing is not None else (pop_obj.timing if pop_obj is not None else "end")
    fixed = pick(fixed_cost, cost_obj, "fixed", "fixed_cost", "costs")
    pp = pick(cost_per_participant, cost_obj, "per_participant", "cost_per_participant", "costs")
    n_arms = _whole(arms if arms is not None else arms_default, "arms", 1)
    for v, name in ((fixed, "fixed_cost"), (pp, "cost_per_participant")):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
            raise EVSIError(f"The '{name}' must be a number >= 0. Got {v!r}.")
    try:
        factor = float(population_evpi(1.0, np.asarray(pop, dtype=float) if isinstance(pop, (tuple, list)) else pop,
                                       yrs, rate, tim))
    except ValueError as exc:
        raise EVSIError(str(exc)) from None

    rows, best = [], []
    qlo, qhi = (1 - lvl) / 2, 1 - (1 - lvl) / 2
    for (m, wv), sub in frame.groupby(["method", "wtp"], sort=False, dropna=False):
        sub = sub.sort_values("n", kind="stable")
        nn = sub["n"].to_numpy(dtype=float)
        if np.any(nn < 1) or len(np.unique(nn)) != nn.size:
            raise EVSIError(f"The EVSI table's n must be distinct values >= 1 per method and WTP. Got {list(nn)}.")
        part = n_arms * nn
        cost = fixed + pp * part
        pe = factor * sub["evsi"].to_numpy(dtype=float)
        val = pe - cost
        lo = factor * sub["lower"].to_numpy(dtype=float) - cost
        hi = factor * sub["upper"].to_numpy(dtype=float) - cost
        p_opt = np.full(nn.size, math.nan)
        n_lo = n_hi = math.nan
        rep = reps.get(m)
        if rep is not None and rep.shape[0] > 0 and n_order is not None:
            iw = wtp_order.index(wv)
            cols = [n_order.index(int(x)) for x in nn]
            curves = factor * rep[:, cols, iw] - cost[None, :]
            arg = curves.argmax(axis=1)
            p_opt = np.bincount(arg, minlength=nn.size) / arg.size
            n_lo, n_hi = (float(x) for x in np.quantile(nn[arg], [qlo, qhi], method="inverted_cdf"))
        for j in range(nn.size):
            rows.append({"wtp": wv, "method": m, "n": int(nn[j]), "population_evsi": pe[j], "study_cost": cost[j],
                         "enbs": val[j], "lower": lo[j], "upper": hi[j], "participants": int(part[j]),
                         "p_optimal": p_opt[j]})
        j = int(np.argmax(val))
        best.append({"wtp": wv, "method": m, "n": int(nn[j]), "enbs": val[j], "population_evsi": pe[j],
                     "study_cost": cost[j], "worthwhile": bool(val[j] > 0), "n_lower": n_lo, "n_upper": n_hi})
    table = pd.DataFrame(rows, columns=_ENBS_COLUMNS)
    optimal = pd.DataFrame(best, columns=["wtp", "method", "n", "enbs", "population_evsi", "study_cost",
                                          "worthwhile", "n_lower", "n_upper"])
    return ENBSResult(table, optimal, factor, float(fixed), float(pp), n_arms, float(lvl))
