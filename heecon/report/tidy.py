"""Long ("tidy") versions of a run's wide tables: one observation per row, plain column names (no ``costs[nhs]``),
ready for ``pandas``, R's ``tidyverse`` or a spreadsheet pivot table. Written beside the wide files
(``outcomes_long.csv``, ``trace_long.csv``, ``per_cycle_long.csv``, ``ceac_long.csv``, ``events_per_cycle_long.csv``).

The per-cycle table also gets labels that say what each row holds (:func:`label_per_cycle`).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from heecon.outcomes.base_case import per_cycle_with_start

__all__ = ["outcomes_long", "trace_long", "per_cycle_long", "ceac_long", "events_long", "label_per_cycle",
           "tidy_files"]

_OUTCOMES = {"qalys": "qalys", "lys": "life_years"}


def outcomes_long(outcomes: pd.DataFrame, sectors: Sequence[str], perspectives: Sequence[str]) -> pd.DataFrame:
    """``outcomes.csv`` as rows ``strategy, outcome, sector, perspective, event, discounted, value, mc_se``.

    ``outcome`` is ``cost`` (of one ``sector``, or the total of a ``perspective``), ``qalys``, ``life_years`` or
    ``events`` (a microsimulation's count per person of ``event``, undiscounted); ``mc_se`` is the Monte Carlo
    standard error of a microsimulation's mean where the results carry one (else empty).
    """
    rows = []

    def add(strategy: str, r: pd.Series, col: str, outcome: str, sector: str, persp: str, event: str,
            disc: bool) -> None:
        if col in r.index:
            se = r.get(f"se_{col}")
            rows.append((strategy, outcome, sector, persp, event, disc, float(r[col]),
                         float(se) if se is not None else np.nan))

    for strategy, r in outcomes.iterrows():
        for disc, suffix in ((True, ""), (False, "_undiscounted")):
            for col, name in _OUTCOMES.items():
                add(strategy, r, col + suffix, name, "", "", "", disc)
            for s in sectors:
                add(strategy, r, s + suffix, "cost", s, "", "", disc)
            for p in perspectives:
                add(strategy, r, f"costs[{p}]{suffix}", "cost", "", p, "", disc)
        for col in r.index:
            if str(col).startswith("events:"):
                add(strategy, r, col, "events", "", "", str(col)[len("events:"):], False)
    return pd.DataFrame(rows, columns=["strategy", "outcome", "sector", "perspective", "event", "discounted", "value",
                                       "mc_se"])


def trace_long(trace: pd.DataFrame, states: Sequence[str]) -> pd.DataFrame:
    """``trace.csv`` as rows ``strategy, cycle, time_years, state, share`` (share of the cohort in the state)."""
    keep = [c for c in ("strategy", "cycle", "time_years") if c in trace.columns]
    cols = [s for s in states if s in trace.columns]
    return trace.melt(id_vars=keep, value_vars=cols, var_name="state", value_name="share")


def label_per_cycle(per_cycle: pd.DataFrame, cycle_years: float) -> pd.DataFrame:
    """``per_cycle`` with ``period``, ``from_years`` and ``to_years`` after ``cycle``: what each row holds.

    Row ``cycle = k`` (1..T) holds the discounted rewards counted for cycle k, from ``(k-1) x`` to ``k x`` the
    cycle length in years (with the counting convention's within-cycle weights, and the one-off rewards of moves
    at its end; under the point conventions -- all-points, half-cycle, simpson -- row 1 also holds point 0's
    share); a row ``cycle = 0`` holds what is counted once at model start.
    """
    df = per_cycle.copy()
    c = df["cycle"].to_numpy()
    at = list(df.columns).index("cycle") + 1
    df.insert(at, "to_years", np.where(c == 0, 0.0, c * cycle_years))
    df.insert(at, "from_years", np.where(c == 0, 0.0, (c - 1) * cycle_years))
    df.insert(at, "period", [("model start (counted once)" if k == 0 else
                              f"cycle {k}: {(k - 1) * cycle_years:g} to {k * cycle_years:g} years") for k in c])
    return df


def per_cycle_long(per_cycle: pd.DataFrame, sectors: Sequence[str]) -> pd.DataFrame:
    """The labelled per-cycle table as rows ``strategy, cycle, period, from_years, to_years, outcome, sector,
    value`` (``outcome``: ``cost`` of a ``sector``, ``qalys``, ``life_years``; discounted)."""
    keep = [c for c in ("strategy", "cycle", "period", "from_years", "to_years") if c in per_cycle.columns]
    frames = []
    for s in sectors:
        if s in per_cycle.columns:
            frames.append(per_cycle[keep].assign(outcome="cost", sector=s, value=per_cycle[s].to_numpy()))
    for col, name in _OUTCOMES.items():
        if col in per_cycle.columns:
            frames.append(per_cycle[keep].assign(outcome=name, sector="", value=per_cycle[col].to_numpy()))
    if not frames:
        return pd.DataFrame(columns=[*keep, "outcome", "sector", "value"])
    return pd.concat(frames, ignore_index=True).sort_values(["strategy", "cycle"], kind="stable",
                                                            ignore_index=True)


def ceac_long(psa: Any) -> pd.DataFrame:
    """Every perspective's CEAC, CEAF and EVPI as rows ``perspective, wtp, strategy, probability_cost_effective,
    expected_nmb, on_frontier, evpi`` (a ``PSAResult``)."""
    frames = []
    for p, cea in psa.cea_by_perspective.items():
        f = cea.to_frame().rename(columns={"ceac": "probability_cost_effective"})
        f.insert(0, "perspective", p)
        frames.append(f[["perspective", "wtp", "strategy", "probability_cost_effective", "expected_nmb",
                         "on_frontier", "evpi"]])
    return pd.concat(frames, ignore_index=True)


def events_long(events: pd.DataFrame) -> pd.DataFrame:
    """``events_per_cycle.csv`` as rows ``strategy, cycle, event, per_person``."""
    keep = [c for c in ("strategy", "cycle") if c in events.columns]
    return events.melt(id_vars=keep, var_name="event", value_name="per_person")


def tidy_files(result: Any, psa: Any = None) -> dict[str, pd.DataFrame]:
    """The long files of a base case (and PSA), by file name."""
    sc = result.scenario
    out = {"outcomes_long.csv": outcomes_long(result.outcomes, list(sc.sectors), list(sc.perspectives)),
           "trace_long.csv": trace_long(result.trace, list(sc.states)),
           "per_cycle_long.csv": per_cycle_long(label_per_cycle(per_cycle_with_start(result), sc.settings.cycle_years),
                                                list(sc.sectors))}
    if getattr(result, "events_per_cycle", None) is not None:
        out["events_per_cycle_long.csv"] = events_long(result.events_per_cycle)
    if psa is not None:
        out["ceac_long.csv"] = ceac_long(psa)
    return out
