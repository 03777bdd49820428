"""Deterministic sensitivity analysis: one-way (tornado), two-way grids, and threshold analysis.

All parameter sets of an analysis are evaluated in one call of the engine (the sample axis of the cohort
kernel), so a one-way analysis over 40 parameters costs about as much as one run with 80 samples.

References
----------
Briggs AH, Weinstein MC, Fenwick EAL, et al. Model parameter estimation and uncertainty analysis: a report of
the ISPOR-SMDM Modeling Good Research Practices Task Force-6. Med Decis Making 2012;32:722-32.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from heecon.outcomes.perspectives import perspective_costs
from scipy.optimize import brentq

from heecon.engine.evaluate import evaluate_totals
from heecon.model.markov import reward_names
from heecon.scenario.types import Scenario

__all__ = ["parameter_ranges", "one_way", "two_way", "threshold", "OneWayResult", "ThresholdResult", "DSAError"]


class DSAError(ValueError):
    """A sensitivity analysis cannot be done as asked (the message says why and what would work)."""


def _base_value(scenario: Scenario, name: str) -> float:
    p = scenario.parameters.get(name)
    if p is None:
        from heecon.scenario.errors import did_you_mean

        raise DSAError(f"unknown parameter '{name}'.{did_you_mean(name, scenario.parameters)}")
    if p.expr.constant is None:
        raise DSAError(f"parameter '{name}' is derived ({p.expr.text!r}); vary the parameters it is made from")
    return float(p.expr.constant)


def parameter_ranges(scenario: Scenario, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Low/high values per parameter: the given ``range``, else the distribution's 2.5th/97.5th percentiles.

    Parameters without either (or derived ones) are skipped unless named explicitly, which is an error.
    """
    rows = []
    explicit = names is not None
    for name in (names if explicit else list(scenario.parameters)):
        p = scenario.parameters.get(name)
        if p is None:
            _base_value(scenario, name)  # raises with did-you-mean
            continue
        if p.expr.constant is None:
            if explicit:
                _base_value(scenario, name)
            continue
        lo = hi = None
        how = ""
        if p.range is not None:
            lo, hi = p.range
            how = "range"
        elif p.dist is not None:
            d = p.dist
            if not d.is_fixed:
                lo, hi = d.interval(0.95)
                how = "95% interval of the distribution"
        if lo is None:
            if explicit:
                raise DSAError(f"parameter '{name}' has neither a range nor a distribution to take one from; add "
                               f"range = [low, high] to parameters.{name}")
            continue
        rows.append({"parameter": name, "base": p.expr.constant, "low": float(lo), "high": float(hi), "from": how,
                     "source": p.source})
    return pd.DataFrame(rows, columns=["parameter", "base", "low", "high", "from", "source"])


def _outcomes(scenario: Scenario, totals: np.ndarray, strategy: str, wtp: float, perspective: str) -> pd.DataFrame:
    names = reward_names(scenario)
    costs = perspective_costs(totals, scenario, perspective)
    qalys = totals[:, :, names.index("qalys"), 0]
    strategies = list(scenario.strategies)
    j = strategies.index(strategy)
    c0 = strategies.index(scenario.settings.comparator)
    dc, de = costs[:, j] - costs[:, c0], qalys[:, j] - qalys[:, c0]
    with np.errstate(divide="ignore", invalid="ignore"):
        icer = np.where(de != 0, dc / de, np.nan)
    return pd.DataFrame({"costs": costs[:, j], "qalys": qalys[:, j], "inc_costs": dc, "inc_qalys": de,
                         "icer": icer, "inc_nmb": wtp * de - dc})


def _pick(scenario: Scenario, strategy: str | None, wtp: float | None, perspective: str | None) -> tuple[str, float, str]:
    strategies = list(scenario.strategies)
    comp = scenario.settings.comparator
    if strategy is None:
        others = [s for s in strategies if s != comp]
        if not others:
            raise DSAError("the scenario has one strategy; sensitivity analysis compares a strategy with the comparator")
        strategy = others[0]
    if strategy not in strategies:
        from heecon.scenario.errors import did_you_mean

        raise DSAError(f"unknown strategy '{strategy}'.{did_you_mean(strategy, strategies)} Valid: {', '.join(strategies)}")
    p = perspective or scenario.settings.perspective
    if p not in scenario.perspectives:
        raise DSAError(f"unknown perspective '{p}'; valid: {', '.join(scenario.perspectives)}")
    return strategy, float(wtp if wtp is not None else scenario.settings.wtp[0]), p


@dataclass
class OneWayResult:
    """Tornado data: one row per parameter, sorted by the swing in incremental net monetary benefit."""

    table: pd.DataFrame
    base: pd.Series
    strategy: str
    comparator: str
    wtp: float
    perspective: str

    def to_frame(self) -> pd.DataFrame:
        return self.table


def one_way(scenario: Scenario, params: Sequence[str] | None = None, *, strategy: str | None = None,
            wtp: float | None = None, perspective: str | None = None) -> OneWayResult:
    """One-way DSA of every parameter with a range (or a distribution), evaluated in one engine call."""
    p = perspective or scenario.settings.perspective
    return one_way_by_perspective(scenario, params, strategy=strategy, wtp=wtp, perspectives=[p])[p]


def one_way_by_perspective(scenario: Scenario, params: Sequence[str] | None = None, *, strategy: str | None = None,
                           wtp: float | None = None, perspectives: Sequence[str] | None = None
                           ) -> dict[str, OneWayResult]:
    """One-way DSA in several perspectives from one engine call (the same parameter sets, costs summed per
    perspective)."""
    perspectives = list(perspectives or [scenario.settings.perspective])
    picks = [_pick(scenario, strategy, wtp, p) for p in perspectives]
    ranges = parameter_ranges(scenario, params)
    if ranges.empty:
        raise DSAError("no parameter has a range or a distribution to vary; add range = [low, high] to parameters")
    names = list(ranges["parameter"])
    n = 1 + 2 * len(names)
    draws = {nm: np.full(n, float(b)) for nm, b in zip(names, ranges["base"])}
    for i, (nm, lo, hi) in enumerate(zip(names, ranges["low"], ranges["high"])):
        draws[nm][1 + 2 * i] = lo
        draws[nm][2 + 2 * i] = hi
    totals = evaluate_totals(scenario, draws, n, crn=True)
    results = {}
    for (strat, w, persp) in picks:
        out = _outcomes(scenario, totals, strat, w, persp)
        base = out.iloc[0]
        tab = ranges.copy()
        for col in ("inc_nmb", "icer", "inc_costs", "inc_qalys"):
            tab[f"{col}_low"] = out[col].to_numpy()[1::2]
            tab[f"{col}_high"] = out[col].to_numpy()[2::2]
        tab["swing"] = (tab["inc_nmb_high"] - tab["inc_nmb_low"]).abs()
        tab = tab.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)
        results[persp] = OneWayResult(tab, base, strat, scenario.settings.comparator, w, persp)
    return results


def two_way(scenario: Scenario, a: str, b: str, *, n: int = 11, strategy: str | None = None, wtp: float | None = None,
            perspective: str | None = None) -> pd.DataFrame:
    """Incremental NMB (and ICER) over an ``n`` x ``n`` grid of two parameters' ranges."""
    strategy, wtp, perspective = _pick(scenario, strategy, wtp, perspective)
    if a == b:
        raise DSAError("a two-way analysis needs two different parameters")
    r = parameter_ranges(scenario, [a, b]).set_index("parameter")
    xa = np.linspace(r.loc[a, "low"], r.loc[a, "high"], n)
    xb = np.linspace(r.loc[b, "low"], r.loc[b, "high"], n)
    ga, gb = np.meshgrid(xa, xb, indexing="ij")
    totals = evaluate_totals(scenario, {a: ga.ravel(), b: gb.ravel()}, n * n, crn=True)
    out = _outcomes(scenario, totals, strategy, wtp, perspective)
    out.insert(0, b, gb.ravel())
    out.insert(0, a, ga.ravel())
    out.attrs = {"analysis": "two_way", "parameters": [a, b], "strategy": strategy,
                 "comparator": scenario.settings.comparator, "wtp": wtp, "perspective": perspective}
    return out


@dataclass
class ThresholdResult:
    """Where incremental net benefit crosses zero as one parameter moves.

    Attributes
    ----------
    parameter
        The parameter searched.
    threshold
        Its value at which incremental NMB is zero (the ICER equals the WTP), or None when none lies in ``bounds``.
    message
        What was found, in words.
    grid
        The values tried (``parameter`` column) with costs, QALYs, increments, ICER and incremental NMB.
    bounds
        The interval searched.
    bounds_from
        ``"given"`` (``bounds=``), ``"range"`` or ``"95% interval of the distribution"``.
    """

    parameter: str
    threshold: float | None
    message: str
    grid: pd.DataFrame
    bounds: tuple[float, float] | None = None
    bounds_from: str = ""

    def to_frame(self) -> pd.DataFrame:
        return self.grid


def threshold(scenario: Scenario, param: str, *, strategy: str | None = None, wtp: float | None = None,
              perspective: str | None = None, bounds: tuple[float, float] | None = None,
              n_grid: int = 41, measure: str = "nmb", memo: dict | None = None) -> ThresholdResult:
    """The value of ``param`` at which ``strategy``'s ICER against the comparator equals ``wtp`` (``measure =
    "nmb"``), or at which its incremental cost in the perspective is zero: it pays for itself (``"net_cost"``).

    Solves incremental NMB(x) = 0 (equivalently ICER = WTP where the strategy gains QALYs), or incremental
    cost(x) = 0: a grid in one engine call brackets the sign changes, then Brent's method refines the first one.
    When the measure keeps one sign over the range, no threshold exists there and the message says which way the
    decision goes.

    Parameters
    ----------
    bounds
        The interval searched, ``(low, high)``; any values the model accepts (a threshold often lies outside the
        parameter's plausible range). Default: the parameter's ``range``, else its distribution's 95% interval.
    n_grid
        Grid points that bracket the sign changes.
    memo
        A dict shared by calls on the same scenario (e.g. one parameter's threshold in several perspectives): the
        model's totals at the parameter values already run are taken from it instead of being run again (the
        runs use common random numbers, so they are the same numbers).
    """
    if measure not in ("nmb", "net_cost"):
        raise DSAError(f"the threshold measure must be 'nmb' or 'net_cost', got {measure!r}")
    strategy, wtp, perspective = _pick(scenario, strategy, wtp, perspective)
    base = _base_value(scenario, param)
    if bounds is None:
        r = parameter_ranges(scenario, [param]).iloc[0]
        bounds, how = (float(r["low"]), float(r["high"])), str(r["from"])
    else:
        how = "given"
        try:
            lo, hi = (float(v) for v in bounds)
        except (TypeError, ValueError):
            raise DSAError(f"threshold bounds for {param} must be two numbers [low, high], got {bounds!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi)):
            raise DSAError(f"threshold bounds for {param} must be finite numbers, got [{lo}, {hi}]")
        bounds = (lo, hi)
    lo, hi = bounds
    if not lo < hi:
        raise DSAError(f"threshold search needs low < high, got [{lo:g}, {hi:g}]")
    xs = np.unique(np.append(np.linspace(lo, hi, n_grid), base))
    xs = xs[(xs >= lo) & (xs <= hi)]

    def totals(values: np.ndarray) -> np.ndarray:
        key = (param, values.tobytes())
        if memo is None or key not in memo:
            out = evaluate_totals(scenario, {param: values}, len(values), crn=True)
            if memo is None:
                return out
            memo[key] = out
        return memo[key]

    def inmb(values: np.ndarray) -> pd.DataFrame:
        return _outcomes(scenario, totals(values), strategy, wtp, perspective)

    col, sgn = ("inc_nmb", 1.0) if measure == "nmb" else ("inc_costs", -1.0)  # y > 0: the strategy is preferred
    grid = inmb(xs)
    grid.insert(0, param, xs)
    y = sgn * grid[col].to_numpy()
    sign = np.sign(y)
    idx = np.nonzero(sign[:-1] * sign[1:] <= 0)[0]
    what = (f"incremental NMB at {wtp:,.0f} per QALY" if measure == "nmb"
            else f"the incremental cost ({perspective} perspective)")
    if len(idx) == 0:
        if measure == "nmb":
            side = (f"cost-effective against {scenario.settings.comparator} at {wtp:,.0f} per QALY" if y[0] > 0 else
                    f"not cost-effective against {scenario.settings.comparator} at {wtp:,.0f} per QALY")
        else:
            side = ("cost-saving" if y[0] > 0 else "cost-increasing") + f" against {scenario.settings.comparator}"
        msg = (f"no threshold for {param} in [{lo:g}, {hi:g}]: {strategy} is {side} over the whole range "
               f"({what} from {(sgn * y).min():,.1f} to {(sgn * y).max():,.1f})"
               + ("" if how == "given" else f"; the search covered the parameter's {how}: give bounds (--bounds "
                                            "LOW:HIGH) to search further"))
        return ThresholdResult(param, None, msg, grid, (lo, hi), how)
    i = int(idx[0])
    x_lin = _affine_root(xs, y)
    if y[i] == 0:
        x = float(xs[i])
    elif x_lin is not None and xs[i] <= x_lin <= xs[i + 1]:
        # the measure is affine in the parameter over the grid (a cost that enters linearly): its root is exact by
        # interpolation, with no search (checked at the root: the search below runs when the check fails)
        y_lin = sgn * float(inmb(np.array([x_lin]))[col].iloc[0])
        scale = max(float(np.max(np.abs(y))), 1e-300)
        x = x_lin if abs(y_lin) <= 1e-9 * scale else _brent_root(inmb, col, xs, i)
    else:
        x = _brent_root(inmb, col, xs, i)
    more = f" (the sign changes {len(idx)} times in the range; this is the lowest)" if len(idx) > 1 else ""
    msg = (f"{strategy} vs {scenario.settings.comparator}: {what} is zero at {param} = {x:.6g} "
           f"(base case {base:g}){more}")
    return ThresholdResult(param, x, msg, grid, (lo, hi), how)


def _affine_root(xs: np.ndarray, y: np.ndarray) -> float | None:
    """The root of the least-squares line through the grid when every grid value lies on it (to 1e-9 of the
    values' scale); None when the measure is not affine in the parameter or the line is flat."""
    if len(xs) < 3:
        return None
    slope, icpt = np.polyfit(xs, y, 1)
    scale = float(np.max(np.abs(y)))
    if slope == 0 or not np.all(np.abs(slope * xs + icpt - y) <= 1e-9 * max(scale, 1e-300)):
        return None
    return float(-icpt / slope)


def _brent_root(inmb: Any, col: str, xs: np.ndarray, i: int) -> float:
    """Brent's method on the grid's bracket ``[xs[i], xs[i + 1]]``."""
    # to 1e-3 of the bracketing grid step (a grid of 11 points: 1e-4 of the range searched): below the Monte
    # Carlo error of a microsimulation's threshold (a step function of the parameter under common random numbers,
    # on which Brent's method bisects), in about half the model runs of 1e-10
    return float(brentq(lambda v: float(inmb(np.array([v]))[col].iloc[0]), xs[i], xs[i + 1],
                        xtol=1e-3 * (xs[i + 1] - xs[i]), rtol=1e-6))


def finite(x: float) -> bool:
    return isinstance(x, float) and math.isfinite(x)
