"""Global sensitivity analysis with SALib: Sobol' indices and Morris elementary effects.

The output analysed is the incremental net monetary benefit (iNMB) of one strategy against the comparator at
one willingness to pay, ``wtp * dQALYs - dCosts``, over the parameters' PSA distributions.

Sampling in unit space
----------------------
SALib samples every input in [0, 1] (its problem has ``unif`` bounds [0, 1] for every column) and heecon maps
the unit values to parameter values itself:

* a parameter with its own distribution: ``x = dist.ppf(u)``, exact for every marginal (beta, gamma, empirical,
  ... that SALib has no name for included);
* a Dirichlet joint (e.g. one row of a transition matrix): one unit column per member, ``g_i =`` the
  Gamma(``alpha_i``, 1) quantile of ``u_i`` and ``x = g / sum(g)``: exactly Dirichlet;
* a multivariate normal joint: ``x = mean + L ndtri(u)`` with ``L`` the Cholesky factor of the covariance;
* a Gaussian copula: latent ``z = L ndtri(u)``, then each member's own ``ppf(ndtr(z_i))``;
* empirical columns read from one file share their rows (one unit value picks the row for all of them).

Sobol' indices assume independent inputs. The members of a joint distribution (and the columns of one empirical
file) are therefore one SALib *group*: they move together in the Saltelli design and get one index, labelled
with the joint's name. Parameters without a distribution keep their base value.

Morris designs use the grid ``{0, 1/(p-1), ..., 1}``; the levels are mapped to the centres of ``p``
equal-probability bins, ``q = (i + 1/2) / p``, so unbounded distributions stay finite (Campolongo, Cariboni &
Saltelli 2007 take quantiles of the distribution in the same way). ``mu_star`` is in units of iNMB per unit of
the Morris grid; compare parameters with it, not across models.

All sample points of an analysis are evaluated in one call of :func:`heecon.engine.evaluate.evaluate_totals`.
Random numbers (the scrambling of the Sobol' sequence, the Morris trajectories, the bootstrap confidence
intervals) come from the scenario seed's "gsa" stream, so an analysis is reproducible; ``seed=0`` is a seed.

References
----------
Saltelli A, Annoni P, Azzini I, et al. Variance based sensitivity analysis of model output. Design and
estimator for the total sensitivity index. Comput Phys Commun 2010;181:259-70.
Sobol' IM. Global sensitivity indices for nonlinear mathematical models and their Monte Carlo estimates. Math
Comput Simul 2001;55:271-80.
Morris MD. Factorial sampling plans for preliminary computational experiments. Technometrics 1991;33:161-74.
Campolongo F, Cariboni J, Saltelli A. An effective screening design for sensitivity analysis of large models.
Environ Model Softw 2007;22:1509-18.
Herman J, Usher W. SALib: an open-source Python library for sensitivity analysis. J Open Source Softw 2017;2(9).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy import special

from heecon.scenario.types import Scenario

__all__ = ["sobol", "morris", "SobolResult", "MorrisResult", "GSAError", "unit_design"]

# the most extreme uniforms the distributions' own sampling uses (never exactly 0 or 1)
_U_MIN, _U_MAX = 0.5 / 2.0**52, 1.0 - 0.5 / 2.0**52


class GSAError(ValueError):
    """A global sensitivity analysis cannot be done as asked (the message says why and what would work)."""


# --------------------------------------------------------------------------- design


@dataclass
class UnitDesign:
    """A SALib problem over unit-space columns and the map from unit values to parameter values.

    Attributes
    ----------
    problem
        SALib problem: ``names`` (one column per varied parameter), ``bounds`` all [0, 1], ``groups`` (the
        parameter's own name, or the joint's label for members of a joint).
    members
        Group label -> the parameters it moves.
    """

    problem: dict[str, Any]
    members: dict[str, list[str]]
    _maps: list[tuple[list[int], Callable[[np.ndarray], dict[str, np.ndarray]]]] = field(repr=False)

    def values(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """Parameter values for the unit-space sample ``u`` ``(n, num_vars)``."""
        u = np.clip(np.asarray(u, dtype=float), _U_MIN, _U_MAX)
        out: dict[str, np.ndarray] = {}
        for cols, fn in self._maps:
            out.update(fn(u[:, cols]))
        return out


def _label(joint: Any, scenario: Scenario) -> str:
    name = joint.where.split(".", 1)[1] if joint.where.startswith("joints.") else joint.where
    return name if name not in scenario.parameters else f"joints.{name}"


def unit_design(scenario: Scenario, params: Sequence[str] | None = None) -> UnitDesign:
    """The unit-space SALib problem of the scenario's uncertain parameters (or of ``params`` only).

    Naming any member of a joint distribution (or its label) varies the whole joint.
    """
    from heecon.params import Dirichlet, Empirical, GaussianCopula, MultivariateNormal
    from heecon.scenario.errors import did_you_mean
    from heecon.params.scenario_draws import scenario_distributions

    marg, joints = scenario_distributions(scenario)
    owner = {m: j for j in joints for m in j.members}
    by_label = {_label(j, scenario): j for j in joints}
    varying = [n for n, d in marg.items() if not d.is_fixed and n not in owner]
    varying += [m for j in joints for m in j.members if m not in varying]
    if params is not None:
        if isinstance(params, str):
            params = [params]
        chosen: list[str] = []
        for name in params:
            if name in by_label and name not in scenario.parameters:
                chosen += list(by_label[name].members)
                continue
            if name not in scenario.parameters:
                raise GSAError(f"unknown parameter '{name}'.{did_you_mean(name, list(scenario.parameters) + list(by_label))}")
            if name not in varying:
                raise GSAError(f"parameter '{name}' has no distribution (or a fixed one), so it cannot be varied; "
                               f"give it a distribution or leave it out")
            chosen += list(owner[name].members) if name in owner else [name]
        keep = set(chosen)
        varying = [n for n in varying if n in keep]
    if not varying:
        raise GSAError("no parameter has a distribution to vary; add distributions to the parameters "
                       "(see docs/distributions.md)")

    names: list[str] = []
    groups: list[str] = []
    members: dict[str, list[str]] = {}
    maps: list[tuple[list[int], Callable[[np.ndarray], dict[str, np.ndarray]]]] = []

    def add(label: str, cols: list[str], fn: Callable[[np.ndarray], dict[str, np.ndarray]]) -> None:
        idx = list(range(len(names), len(names) + len(cols)))
        names.extend(cols)
        groups.extend([label] * len(cols))
        members[label] = list(cols)
        maps.append((idx, fn))

    done: set[str] = set()
    # empirical columns of one file share their rows
    files: dict[str, list[str]] = {}
    for n in varying:
        d = marg.get(n)
        if n not in owner and isinstance(d, Empirical):
            files.setdefault(d.digest, []).append(n)
    for n in varying:
        if n in done:
            continue
        if n in owner:
            j = owner[n]
            cols = list(j.members)
            label = _label(j, scenario)
            if isinstance(j, Dirichlet):
                alpha = np.asarray(j.alpha)

                def fn(u: np.ndarray, alpha: np.ndarray = alpha, cols: list[str] = cols) -> dict[str, np.ndarray]:
                    g = special.gammaincinv(alpha, u)
                    x = g / g.sum(axis=1, keepdims=True)
                    return {c: x[:, i] for i, c in enumerate(cols)}
            elif isinstance(j, MultivariateNormal):
                L = np.linalg.cholesky(np.asarray(j.cov))
                mean = np.asarray(j.mean)

                def fn(u: np.ndarray, L: np.ndarray = L, mean: np.ndarray = mean, cols: list[str] = cols) -> dict[str, np.ndarray]:
                    x = mean + special.ndtri(u) @ L.T
                    return {c: x[:, i] for i, c in enumerate(cols)}
            elif isinstance(j, GaussianCopula):
                L = np.linalg.cholesky(np.asarray(j.corr))
                ds = [marg[m] for m in cols]

                def fn(u: np.ndarray, L: np.ndarray = L, ds: list[Any] = ds, cols: list[str] = cols) -> dict[str, np.ndarray]:
                    q = np.clip(special.ndtr(special.ndtri(u) @ L.T), _U_MIN, _U_MAX)
                    return {c: np.asarray(d.ppf(q[:, i]), dtype=float) for i, (c, d) in enumerate(zip(cols, ds))}
            else:  # pragma: no cover - every joint type is handled above
                raise GSAError(f"joint distribution {label!r} of type {j.type!r} is not supported")
            add(label, cols, fn)
            done.update(cols)
        elif isinstance(marg[n], Empirical) and len(files[marg[n].digest]) > 1:  # type: ignore[union-attr]
            cols = files[marg[n].digest]  # type: ignore[union-attr]
            ds = [marg[c] for c in cols]
            nrows = ds[0].n_draws

            def fn(u: np.ndarray, ds: list[Any] = ds, cols: list[str] = cols, nrows: int = nrows) -> dict[str, np.ndarray]:
                row = np.minimum((u[:, 0] * nrows).astype(int), nrows - 1)
                return {c: d.values[row] for c, d in zip(cols, ds)}
            add("file:" + ",".join(cols), cols, fn)
            done.update(cols)
        else:
            d = marg[n]

            def fn(u: np.ndarray, d: Any = d, n: str = n) -> dict[str, np.ndarray]:
                return {n: np.asarray(d.ppf(u[:, 0]), dtype=float)}
            add(n, [n], fn)
            done.add(n)
    problem = {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names), "dists": ["unif"] * len(names),
               "groups": groups}
    return UnitDesign(problem, members, maps)


# --------------------------------------------------------------------------- shared


def _setup(scenario: Scenario, strategy: str | None, wtp: float | None, perspective: str | None,
           seed: int | None) -> tuple[str, float, str, int]:
    from heecon.sensitivity.dsa import DSAError, _pick

    try:
        strategy, w, persp = _pick(scenario, strategy, wtp, perspective)
    except DSAError as exc:
        raise GSAError(str(exc)) from None
    if not (math.isfinite(w) and w >= 0):
        raise GSAError(f"The 'wtp' must be a finite number >= 0. Got {wtp!r}.")
    s = scenario.settings.seed if seed is None else seed
    if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
        raise GSAError(f"The 'seed' must be a whole number >= 0. Got {seed!r}.")
    return strategy, w, persp, int(s)


def _inmb(scenario: Scenario, values: dict[str, np.ndarray], n: int, strategy: str, wtp: float,
          perspective: str, progress: Callable[[int], None] | None) -> np.ndarray:
    from heecon.engine.evaluate import evaluate_totals
    from heecon.sensitivity.dsa import _outcomes

    totals = evaluate_totals(scenario, values, n, progress=progress)
    return _outcomes(scenario, totals, strategy, wtp, perspective)["inc_nmb"].to_numpy()


def _rngs(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    from heecon.params import stream_seed

    a, b = stream_seed(seed, "gsa").spawn(2)
    return np.random.Generator(np.random.PCG64(a)), np.random.Generator(np.random.PCG64(b))


def _check_int(value: Any, name: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise GSAError(f"The '{name}' must be a whole number >= {low}. Got {value!r}.")
    return int(value)


# --------------------------------------------------------------------------- Sobol'


@dataclass
class SobolResult:
    """Sobol' first-order (``S1``) and total (``ST``) indices of iNMB, one row per parameter or joint group.

    ``S1_conf``/``ST_conf`` are half-widths of bootstrap 95% confidence intervals (SALib). ``S2`` holds the
    second-order indices when they were asked for.
    """

    table: pd.DataFrame
    strategy: str
    comparator: str
    wtp: float
    perspective: str
    n: int
    n_evaluations: int
    seed: int
    inmb_mean: float
    inmb_var: float
    S2: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def sobol(scenario: Scenario, n: int = 1024, *, strategy: str | None = None, wtp: float | None = None,
          perspective: str | None = None, params: Sequence[str] | None = None, seed: int | None = None,
          second_order: bool = False, num_resamples: int = 100, progress: Callable[[int], None] | None = None
          ) -> SobolResult:
    """Sobol' first-order and total indices of the incremental net monetary benefit.

    Parameters
    ----------
    scenario
        A validated scenario with distributions on its uncertain parameters.
    n
        Base sample size of the Saltelli design (a power of 2); the model is evaluated ``n * (D + 2)`` times
        (``n * (2 D + 2)`` with ``second_order``), ``D`` the number of parameters and joint groups.
    strategy
        The strategy compared with ``settings.comparator`` (default: the first other strategy).
    wtp
        Willingness to pay per QALY (default: the first of ``settings.wtp``).
    perspective
        Costing perspective (default: ``settings.perspective``).
    params
        Parameters to vary (default: every one with a distribution); the others keep their base value.
    seed
        Seed (default ``settings.seed``; 0 is valid); the "gsa" stream is used.

    Returns
    -------
    SobolResult
        ``to_frame()``: parameter (a parameter or a joint's label), members, S1, S1_conf, ST, ST_conf; rows by
        decreasing ST.

    References
    ----------
    Saltelli A, et al. Comput Phys Commun 2010;181:259-70 (the design and the estimators SALib uses).
    """
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    n = _check_int(n, "n", 2)
    if n & (n - 1):
        up = 1 << n.bit_length()
        raise GSAError(f"The 'n' must be a power of 2 (a Sobol' sequence is balanced only then). Got {n}; "
                       f"use {up // 2} or {up}.")
    num_resamples = _check_int(num_resamples, "num_resamples", 1)
    strategy, w, persp, s = _setup(scenario, strategy, wtp, perspective, seed)
    design = unit_design(scenario, params)
    rng_sample, rng_analyse = _rngs(s)
    problem = design.problem
    dummy = len(design.members) == 1 and problem["num_vars"] > 1
    if dummy:
        # SALib's sampler ignores a single group (it treats it as no groups) but its analysis does not; an
        # unused extra column in a group of its own keeps the two consistent (its indices are dropped)
        problem = {**problem, "num_vars": problem["num_vars"] + 1, "names": problem["names"] + ["_unused_"],
                   "bounds": problem["bounds"] + [[0.0, 1.0]], "dists": problem["dists"] + ["unif"],
                   "groups": problem["groups"] + ["_unused_"]}
    with warnings.catch_warnings():
        # n is a power of 2; scipy still warns when the Saltelli design appends the cross-sampled rows
        warnings.filterwarnings("ignore", message=".*balance properties.*")
        u = sobol_sample.sample(problem, n, calc_second_order=second_order, scramble=True, seed=rng_sample)
    y = _inmb(scenario, design.values(u[:, :design.problem["num_vars"]]), len(u), strategy, w, persp, progress)
    if not np.all(np.isfinite(y)):
        raise GSAError("the incremental net monetary benefit is not finite at some sample points")
    if not np.var(y) > 0:
        raise GSAError(f"the incremental net monetary benefit of {strategy} does not vary with these parameters, "
                       "so it has no variance to apportion")
    with np.errstate(divide="ignore", invalid="ignore"):
        res = sobol_analyze.analyze(problem, y, calc_second_order=second_order, num_resamples=num_resamples,
                                    conf_level=0.95, print_to_console=False, seed=rng_analyse)
    labels = list(design.members)
    g = len(labels)
    table = pd.DataFrame({
        "parameter": labels,
        "members": [",".join(design.members[lab]) for lab in labels],
        "S1": np.asarray(res["S1"], dtype=float)[:g], "S1_conf": np.asarray(res["S1_conf"], dtype=float)[:g],
        "ST": np.asarray(res["ST"], dtype=float)[:g], "ST_conf": np.asarray(res["ST_conf"], dtype=float)[:g],
    })
    s2 = None
    if second_order:
        s2 = pd.DataFrame(np.asarray(res["S2"], dtype=float)[:g, :g], index=labels, columns=labels)
    table = table.sort_values("ST", ascending=False, kind="stable").reset_index(drop=True)
    return SobolResult(table, strategy, scenario.settings.comparator, w, persp, n, int(len(u)), s,
                       float(np.mean(y)), float(np.var(y)), s2)


# --------------------------------------------------------------------------- Morris


@dataclass
class MorrisResult:
    """Morris elementary effects of iNMB: ``mu``, ``mu_star`` (mean absolute effect, with a bootstrap 95%
    half-width ``mu_star_conf``) and ``sigma`` (their standard deviation: non-linearity or interactions; not
    defined for a joint group), one row per parameter or joint group, most important first."""

    table: pd.DataFrame
    strategy: str
    comparator: str
    wtp: float
    perspective: str
    trajectories: int
    levels: int
    n_evaluations: int
    seed: int

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()


def morris(scenario: Scenario, trajectories: int = 20, levels: int = 4, *, strategy: str | None = None,
           wtp: float | None = None, perspective: str | None = None, params: Sequence[str] | None = None,
           seed: int | None = None, num_resamples: int = 1000,
           progress: Callable[[int], None] | None = None) -> MorrisResult:
    """Morris elementary-effects screening of the incremental net monetary benefit.

    Parameters
    ----------
    trajectories
        Number of Morris trajectories ``r``; the model is evaluated ``r * (D + 1)`` times.
    levels
        Grid levels ``p`` (even; 4 is usual). Levels map to the quantiles ``(i + 1/2) / p`` of each
        distribution.
    strategy, wtp, perspective, params, seed
        As for :func:`sobol`.

    Returns
    -------
    MorrisResult
        ``to_frame()``: parameter, members, mu, mu_star, mu_star_conf, sigma; rows by decreasing mu_star.

    References
    ----------
    Morris MD. Technometrics 1991;33:161-74. Campolongo F, Cariboni J, Saltelli A. Environ Model Softw
    2007;22:1509-18.
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.sample import morris as morris_sample

    trajectories = _check_int(trajectories, "trajectories", 2)
    levels = _check_int(levels, "levels", 2)
    if levels % 2:
        raise GSAError(f"The 'levels' must be an even number (the Morris step is levels / (2 (levels - 1))). "
                       f"Got {levels}.")
    num_resamples = _check_int(num_resamples, "num_resamples", 1)
    strategy, w, persp, s = _setup(scenario, strategy, wtp, perspective, seed)
    design = unit_design(scenario, params)
    rng_sample, rng_analyse = _rngs(s)
    grid = morris_sample.sample(design.problem, trajectories, num_levels=levels, seed=rng_sample)
    q = (np.rint(grid * (levels - 1)) + 0.5) / levels  # level i -> quantile (i + 1/2) / p
    y = _inmb(scenario, design.values(q), len(q), strategy, w, persp, progress)
    if not np.all(np.isfinite(y)):
        raise GSAError("the incremental net monetary benefit is not finite at some sample points")
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        res = morris_analyze.analyze(design.problem, grid, y, num_resamples=num_resamples, conf_level=0.95,
                                     print_to_console=False, num_levels=levels, seed=rng_analyse)
    labels = [str(x) for x in res["names"]]
    table = pd.DataFrame({
        "parameter": labels,
        "members": [",".join(design.members[g]) for g in labels],
        "mu": np.ma.filled(np.ma.asarray(res["mu"], dtype=float), np.nan),
        "mu_star": np.ma.filled(np.ma.asarray(res["mu_star"], dtype=float), np.nan),
        "mu_star_conf": np.ma.filled(np.ma.asarray(res["mu_star_conf"], dtype=float), np.nan),
        "sigma": np.asarray(res["sigma"], dtype=float),
    })
    table = table.sort_values("mu_star", ascending=False, kind="stable").reset_index(drop=True)
    return MorrisResult(table, strategy, scenario.settings.comparator, w, persp, trajectories, levels,
                        int(len(grid)), s)
