"""Run a scenario's base case and turn kernel outputs into results a health economist reads.

``run_base_case`` compiles and runs the deterministic model; ``BaseCaseResult``
holds per-strategy outcomes, the incremental table (dominance and extended
dominance), net benefit, and the trace; ``write_results`` writes a results
folder atomically (temporary folder renamed into place).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from heecon import __version__
from heecon.outcomes.perspectives import perspective_costs, sector_index, sector_sum
from heecon.model.markov import CompiledModel
from heecon.scenario.types import Scenario

__all__ = ["BaseCaseResult", "run_base_case", "base_case_result", "settings_summary", "model_type", "outcome_frame",
           "incremental_tables", "trace_frame", "per_cycle_frame", "per_cycle_with_start", "cohort_outcomes", "trace_json",
           "jsonable"]


def settings_summary(scenario: Scenario) -> dict[str, Any]:
    """Every modelling choice, echoed in the output."""
    st = scenario.settings
    return {
        "engine": st.engine,
        "model": model_type(scenario),
        "cycle_length_months": st.cycle_length_months,
        "n_cycles": st.n_cycles,
        "horizon_years": st.horizon_years,
        "start_age": st.start_age,
        "within_cycle_method": st.counting,
        "discounting": st.discounting,
        "discount_costs": st.discount_costs.to_json(),
        "discount_effects": st.discount_effects.to_json(),
        "discount_offset": st.discount_offset,
        "cohort_size": st.cohort_size,
        "wtp": list(st.wtp),
        "comparator": st.comparator,
        "currency": st.currency,
        "price_year": st.price_year,
        "perspective": st.perspective,
        "perspectives": {k: list(v) for k, v in scenario.perspectives.items()},
        "sectors": list(scenario.sectors),
        "seed": st.seed,
        "psa_samples": st.psa_samples,
        "individuals": st.individuals if st.engine == "microsim" else None,
    }


def model_type(scenario: Scenario) -> str:
    """What kind of model the scenario is: every kind is compiled to the same arrays."""
    if scenario.partitioned is not None:
        return "partitioned survival"
    if scenario.tree is not None:
        return "decision tree" if scenario.tree.pure else "decision tree with a Markov model"
    return "microsimulation" if scenario.settings.engine == "microsim" else "Markov cohort"


@dataclass
class BaseCaseResult:
    """Deterministic results of a scenario.

    Attributes
    ----------
    outcomes
        One row per strategy: ``costs`` (in the scenario's perspective), each sector, ``qalys``, ``lys``,
        discounted; the same with suffix ``_undiscounted``.
    icers
        The incremental table of the scenario's perspective (status ``ref|ND|D|ED``).
    icers_by_perspective
        Incremental tables for every perspective.
    trace
        State occupancy per strategy and point (named states; tunnels summed).
    per_cycle
        Discounted costs by sector, QALYs and LYs per person, per strategy and cycle 1..T (what the counting
        convention books in each cycle; :func:`per_cycle_with_start` adds the time-0 row of start costs and QALYs,
        as ``per_cycle.csv`` has it, so that its rows sum to the totals).

    Everything is per person; :func:`cohort_outcomes` scales the outcomes to ``settings.cohort_size`` people.
    """

    scenario: Scenario
    model: CompiledModel
    totals: np.ndarray  # [n_strat, R, 2] per person incl. start rewards
    outcomes: pd.DataFrame
    icers: pd.DataFrame
    icers_by_perspective: dict[str, pd.DataFrame]
    trace: pd.DataFrame
    per_cycle: pd.DataFrame
    extra: dict[str, Any] = field(default_factory=dict)
    events_per_cycle: pd.DataFrame | None = None  # microsimulation: events per person per cycle
    trajectories: pd.DataFrame | None = None  # microsimulation: states of the first individuals

    def nmb(self, wtp: float | None = None, perspective: str | None = None) -> pd.DataFrame:
        """Net monetary and net health benefit per strategy at each WTP of the scenario (or the one given)."""
        wtps = [wtp] if wtp is not None else list(self.scenario.settings.wtp)
        col = _cost_col(perspective or self.scenario.settings.perspective)
        rows = []
        for w in wtps:
            for name, r in self.outcomes.iterrows():
                rows.append({"wtp": w, "strategy": name, "nmb": r["qalys"] * w - r[col],
                             "nhb": r["qalys"] - r[col] / w if w > 0 else math.nan})
        return pd.DataFrame(rows)

    def summary(self) -> dict[str, Any]:
        sc = self.scenario
        strategies = []
        n = sc.settings.cohort_size
        cohort: dict[str, Any] = {}
        for name, r in self.outcomes.iterrows():
            by = {s: float(r[s]) for s in sc.sectors}
            by_u = {s: float(r[f"{s}_undiscounted"]) for s in sc.sectors}
            entry = {
                "name": name, "label": sc.strategies[name].label,
                "costs": float(r["costs"]), "costs_by_sector": by, "qalys": float(r["qalys"]), "lys": float(r["lys"]),
                "undiscounted": {"costs": float(r["costs_undiscounted"]), "costs_by_sector": by_u,
                                 "qalys": float(r["qalys_undiscounted"]), "lys": float(r["lys_undiscounted"])},
            }
            cohort[name] = {"costs": n * float(r["costs"]), "costs_by_sector": {s: n * v for s, v in by.items()},
                            "qalys": n * float(r["qalys"]), "lys": n * float(r["lys"]),
                            "undiscounted": {"costs": n * float(r["costs_undiscounted"]),
                                             "costs_by_sector": {s: n * v for s, v in by_u.items()},
                                             "qalys": n * float(r["qalys_undiscounted"]),
                                             "lys": n * float(r["lys_undiscounted"])}}
            if "se_qalys" in r.index:  # microsimulation: Monte Carlo standard errors beside each mean
                secs = sc.perspectives[sc.settings.perspective]
                entry["se"] = {
                    "costs": float(r[f"se_{secs[0]}"]) if len(secs) == 1 else None,
                    "costs_upper_bound": float(r[f"se_costs[{sc.settings.perspective}]_upper"]),
                    "costs_by_sector": {s: float(r[f"se_{s}"]) for s in sc.sectors},
                    "qalys": float(r["se_qalys"]), "lys": float(r["se_lys"]),
                    "inc_qalys": float(r["se_inc_qalys"]),
                    "inc_costs_by_sector": {s: float(r[f"se_inc_{s}"]) for s in sc.sectors},
                }
                entry["events_per_person"] = {c.split(":", 1)[1]: float(r[c]) for c in r.index if c.startswith("events:")}
            strategies.append(entry)
        out: dict[str, Any] = {
            "heecon_version": __version__,
            "scenario": {"path": str(sc.path), "title": sc.title, "files": list(sc.files)},
            "scenario_sha256": sc.sha256,
            "settings": settings_summary(sc),
            "strategies": strategies,
            "icers": _icer_records(self.icers),
            "icers_by_perspective": {k: _icer_records(v) for k, v in self.icers_by_perspective.items()},
            "net_benefit": jsonable(self.nmb().to_dict(orient="records")),
            # everything above is per person; the same per cohort of settings.cohort_size people
            "per_cohort": {"people": n, "strategies": cohort},
        }
        out.update(self.extra)
        return jsonable(out)


def _cost_col(perspective: str) -> str:
    return "costs" if perspective is None else f"costs[{perspective}]"


def _icer_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    recs = []
    for _, r in df.iterrows():
        recs.append({"strategy": r["strategy"], "status": r["status"], "icer": _num(r["icer"]),
                     "cost": _num(r["cost"]), "effect": _num(r["effect"]),
                     "inc_cost": _num(r.get("inc_cost")), "inc_effect": _num(r.get("inc_effect"))})
    return recs


def _num(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    return x


def outcome_frame(scenario: Scenario, totals: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Per-strategy outcomes from per-person totals ``[n_strat, R, 2]``."""
    cols: dict[str, np.ndarray] = {}
    for j, suffix in ((0, ""), (1, "_undiscounted")):
        for r, nm in enumerate(names):
            cols[nm + suffix] = totals[:, r, j]
        for pname in scenario.perspectives:
            cols[f"costs[{pname}]{suffix}"] = perspective_costs(totals, scenario, pname, discounted=j == 0)
        cols["costs" + suffix] = cols[f"costs[{scenario.settings.perspective}]{suffix}"]
    # one block (a column at a time copies the frame at every insert)
    return pd.DataFrame(cols, index=pd.Index(list(scenario.strategies), name="strategy"))


def incremental_tables(scenario: Scenario, outcomes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    from heecon.cea import icer_table

    names = list(outcomes.index)
    return {p: icer_table(names, outcomes[f"costs[{p}]"].to_numpy(), outcomes["qalys"].to_numpy())
            for p in scenario.perspectives}


def run_base_case(scenario: Scenario) -> BaseCaseResult:
    """Compile and run the deterministic base case (cohort), or the base-case simulation (microsim)."""
    from heecon.engine.evaluate import evaluate_base

    return base_case_result(scenario, evaluate_base(scenario))


def base_case_outcomes(scenario: Scenario, model: CompiledModel | None = None) -> pd.DataFrame:
    """The base case's outcome frame only (:attr:`BaseCaseResult.outcomes`, the same bits), without the trace,
    per-cycle rewards and trajectories: what a scenario or subgroup row needs. A microsimulation then runs without
    per-cycle output (several times faster); events booked in expectation, which come from that output, are NaN.

    ``model``: the base case as :func:`heecon.model.check.check_scenario` compiled it, every check passed; it is
    used as it is and the simulation's arrays are not checked again (a scenario analysis checks each variant first).
    """
    st = scenario.settings
    if st.engine != "microsim":
        return run_base_case(scenario).outcomes
    from heecon.engine.evaluate import EngineRun
    from heecon.engine.microsim.evaluate import evaluate_microsim
    from heecon.model.markov import compile_model

    checked = model is not None
    if model is None:
        model = compile_model(scenario)
    run = evaluate_microsim(scenario, None, 1, n_keep=0, n_traj=0, validate=not checked)
    eng = EngineRun(model, run.totals[0], None, None, se=run.se[0], inc_se=run.inc_se[0],
                    event_names=list(run.event_names), events=run.events[0], n_individuals=run.n_individuals)
    outcomes = outcome_frame(scenario, eng.totals, model.reward_names)
    return _add_monte_carlo_columns(scenario, outcomes, eng)


def base_case_result(scenario: Scenario, run: Any) -> BaseCaseResult:
    """The base case's frames from the engine's arrays (``heecon.engine.evaluate.EngineRun``), for either engine."""
    model = run.model
    outcomes = outcome_frame(scenario, run.totals, model.reward_names)
    if run.se is not None:
        outcomes = _add_monte_carlo_columns(scenario, outcomes, run)
    tables = incremental_tables(scenario, outcomes)
    trace = trace_frame(model, run.occupancy)
    per_cycle = per_cycle_frame(model, run.per_cycle)
    result = BaseCaseResult(scenario, model, run.totals, outcomes, tables[scenario.settings.perspective], tables,
                            trace, per_cycle)
    if getattr(model, "notes", None):  # what the compilation changed, e.g. crossing survival curves capped
        result.extra["notes"] = list(model.notes)
    if run.se is not None:
        result.extra["microsim"] = _microsim_summary(scenario, run)
        result.events_per_cycle = _events_per_cycle(scenario, model, run)
        result.trajectories = _trajectory_frame(scenario, model, run.trajectories)
    return result


def _add_monte_carlo_columns(scenario: Scenario, outcomes: pd.DataFrame, run: Any) -> pd.DataFrame:
    """The outcome frame with Monte Carlo standard errors beside each mean (and a bound for perspective sums), and
    events per person."""
    se, names = run.se, run.model.reward_names
    cols: dict[str, np.ndarray] = {}
    for j, suffix in ((0, ""), (1, "_undiscounted")):
        for r, nm in enumerate(names):
            cols[f"se_{nm}{suffix}"] = se[:, r, j]
            cols[f"se_inc_{nm}{suffix}"] = run.inc_se[:, r, j]
        for pname in scenario.perspectives:
            # SE of a sum of sectors is not the sum of SEs; bound it by assuming perfect correlation (conservative)
            cols[f"se_costs[{pname}]{suffix}_upper"] = sector_sum(se[:, :, j], sector_index(scenario, pname))
    for e, nm in enumerate(run.event_names):
        cols[f"events:{nm}"] = run.events[:, e]
    if any(c in outcomes.columns for c in cols):
        for c, v in cols.items():
            outcomes[c] = v
        return outcomes
    # one block, not a column at a time (each insert copies the frame: ~20 ms per flagship row)
    return pd.concat([outcomes, pd.DataFrame(cols, index=outcomes.index)], axis=1)


def _microsim_summary(scenario: Scenario, run: Any) -> dict[str, Any]:
    se, names = run.se, run.model.reward_names
    return {
        "individuals": run.n_individuals,
        "standard_errors": {s: {nm: {"discounted": float(se[i, r, 0]), "undiscounted": float(se[i, r, 1]),
                                     "incremental_discounted": float(run.inc_se[i, r, 0])}
                                for r, nm in enumerate(names)} for i, s in enumerate(scenario.strategies)},
        "events_per_person": {s: {nm: float(run.events[i, e]) for e, nm in enumerate(run.event_names)}
                              for i, s in enumerate(scenario.strategies)},
    }


def _events_per_cycle(scenario: Scenario, model: CompiledModel, run: Any) -> pd.DataFrame | None:
    if not run.event_names:
        return None
    ev = []
    for si, s in enumerate(scenario.strategies):
        f = pd.DataFrame(run.cycle_events[si], columns=run.event_names)
        f.insert(0, "cycle", np.arange(1, model.n_cycles + 1))
        f.insert(0, "strategy", s)
        ev.append(f)
    return pd.concat(ev, ignore_index=True)


def _trajectory_frame(scenario: Scenario, model: CompiledModel, tr: np.ndarray | None) -> pd.DataFrame | None:
    if tr is None or not tr.size:
        return None
    names = model.state_names
    n, k, t1 = tr.shape  # [n_traj, n_strat, T+1]
    return pd.DataFrame({
        "individual": np.repeat(np.arange(n), k * t1),
        "strategy": np.tile(np.repeat(list(scenario.strategies), t1), n),
        "cycle": np.tile(np.arange(t1), n * k),
        "state": [names[x] for x in tr.ravel()],
    })


def trace_frame(model: CompiledModel, trace: np.ndarray) -> pd.DataFrame:
    """Occupancy of the named states ``[n_strat, T+1, S_expanded]`` -> long-ish frame."""
    sc = model.scenario
    named = list(sc.states)
    agg = np.zeros(trace.shape[:2] + (len(named),))
    for i, owner in enumerate(model.state_of):
        agg[:, :, owner] += trace[:, :, i]
    frames = []
    T1 = trace.shape[1]
    for si, s in enumerate(sc.strategies):
        f = pd.DataFrame(agg[si], columns=named)
        f.insert(0, "time_years", np.arange(T1) * sc.settings.cycle_years)
        f.insert(0, "cycle", np.arange(T1))
        f.insert(0, "strategy", s)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def cohort_outcomes(result: BaseCaseResult) -> pd.DataFrame:
    """The outcomes frame per cohort: every column of ``result.outcomes`` (per person) times
    ``settings.cohort_size`` (Monte Carlo standard errors scale the same way; ``events:`` columns are events per
    cohort). Written as ``outcomes_per_cohort.csv``."""
    n = result.scenario.settings.cohort_size
    out = result.outcomes.copy()
    for c in out.columns:
        if pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c] * n
    out.insert(0, "people", n)
    return out


def trace_json(trace: pd.DataFrame) -> dict[str, Any]:
    """The trace as JSON: ``{"cycle": [0..T], "time_years": [...], "strategies": {name: {state: [share at each
    point]}}}`` (what ``heecon run --json`` adds to summary.json's content)."""
    out: dict[str, Any] = {"cycle": [], "time_years": [], "strategies": {}}
    states = [c for c in trace.columns if c not in ("strategy", "cycle", "time_years")]
    for i, (name, f) in enumerate(trace.groupby("strategy", sort=False)):
        if i == 0:
            out["cycle"] = [int(c) for c in f["cycle"]]
            out["time_years"] = [float(t) for t in f["time_years"]]
        out["strategies"][str(name)] = {s: [float(v) for v in f[s]] for s in states}
    return jsonable(out)


def per_cycle_with_start(result: BaseCaseResult) -> pd.DataFrame:
    """``per_cycle.csv``: a cycle-0 row per strategy holding the one-off rewards at time 0 (``[start]`` and each
    strategy's ``start`` costs and QALYs, undiscounted), then cycles 1..T as :attr:`BaseCaseResult.per_cycle`, so
    that each strategy's rows sum to its (discounted) totals."""
    pc = result.per_cycle
    model = result.model
    start = np.asarray(model.start_rewards)[0]  # [n_strat, R]
    rows = pd.DataFrame(start, columns=model.reward_names)
    rows.insert(0, "cycle", 0)
    rows.insert(0, "strategy", list(result.scenario.strategies))
    frames = []
    for s in result.scenario.strategies:
        frames += [rows[rows["strategy"] == s], pc[pc["strategy"] == s]]
    return pd.concat(frames, ignore_index=True)[list(pc.columns)]


def per_cycle_frame(model: CompiledModel, per_cycle: np.ndarray) -> pd.DataFrame:
    sc = model.scenario
    frames = []
    T = per_cycle.shape[1]
    for si, s in enumerate(sc.strategies):
        f = pd.DataFrame(per_cycle[si, :, :, 0], columns=model.reward_names)
        f.insert(0, "cycle", np.arange(1, T + 1))
        f.insert(0, "strategy", s)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)
