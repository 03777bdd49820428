"""Run a scenario's base case and turn kernel outputs into results a health economist reads.

``run_base_case`` compiles and runs the deterministic model; ``BaseCaseResult``
holds per-strategy outcomes, the incremental table (dominance and extended
dominance), net benefit, and the trace; ``write_results`` writes a results
folder atomically (temporary folder renamed into place).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from heecon import __version__
from heecon.model.markov import CompiledModel, compile_model
from heecon.scenario.types import Scenario

__all__ = ["BaseCaseResult", "run_base_case", "write_results", "settings_summary", "atomic_output_dir"]


def settings_summary(scenario: Scenario) -> dict[str, Any]:
    """Every modelling choice, echoed in the output."""
    st = scenario.settings
    return {
        "engine": st.engine,
        "cycle_length_months": st.cycle_length_months,
        "n_cycles": st.n_cycles,
        "horizon_years": st.horizon_years,
        "start_age": st.start_age,
        "within_cycle_method": st.counting,
        "discounting": st.discounting,
        "discount_costs": st.discount_costs.to_json(),
        "discount_effects": st.discount_effects.to_json(),
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
        Discounted costs by sector, QALYs and LYs per strategy and cycle.
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
        for name, r in self.outcomes.iterrows():
            by = {s: float(r[s]) for s in sc.sectors}
            by_u = {s: float(r[f"{s}_undiscounted"]) for s in sc.sectors}
            entry = {
                "name": name, "label": sc.strategies[name].label,
                "costs": float(r["costs"]), "costs_by_sector": by, "qalys": float(r["qalys"]), "lys": float(r["lys"]),
                "undiscounted": {"costs": float(r["costs_undiscounted"]), "costs_by_sector": by_u,
                                 "qalys": float(r["qalys_undiscounted"]), "lys": float(r["lys_undiscounted"])},
            }
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
            "net_benefit": _jsonable(self.nmb().to_dict(orient="records")),
        }
        out.update(self.extra)
        return _jsonable(out)


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


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    return x


def outcome_frame(scenario: Scenario, totals: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Per-strategy outcomes from per-person totals ``[n_strat, R, 2]``."""
    sectors = list(scenario.sectors)
    R = len(names)
    df = pd.DataFrame(index=pd.Index(list(scenario.strategies), name="strategy"))
    for j, suffix in ((0, ""), (1, "_undiscounted")):
        for r in range(R):
            df[names[r] + suffix] = totals[:, r, j]
        for pname, secs in scenario.perspectives.items():
            idx = [sectors.index(s) for s in secs]
            df[f"costs[{pname}]{suffix}"] = totals[:, idx, j].sum(axis=1)
        df["costs" + suffix] = df[f"costs[{scenario.settings.perspective}]{suffix}"]
    return df


def incremental_tables(scenario: Scenario, outcomes: pd.DataFrame) -> dict[str, pd.DataFrame]:
    from heecon.cea import icer_table

    names = list(outcomes.index)
    return {p: icer_table(names, outcomes[f"costs[{p}]"].to_numpy(), outcomes["qalys"].to_numpy())
            for p in scenario.perspectives}


def run_base_case(scenario: Scenario) -> BaseCaseResult:
    """Compile and run the deterministic base case (cohort), or the base-case simulation (microsim)."""
    if scenario.settings.engine == "microsim":
        from heecon.engine.microsim.evaluate import run_microsim_base

        return run_microsim_base(scenario)
    from heecon.engine.cohort import run_cohort

    model = compile_model(scenario)
    raw = run_cohort(model.P, model.P_map, model.V, model.V_map, model.TR, model.TR_map, model.m0, model.W,
                     has_tr=model.has_tr, n_keep=1, small_numpy=True)
    totals = raw.totals[0] + model.start_rewards[0][:, :, None]
    outcomes = outcome_frame(scenario, totals, model.reward_names)
    tables = incremental_tables(scenario, outcomes)
    trace = trace_frame(model, raw.trace[0])
    per_cycle = per_cycle_frame(model, raw.per_cycle[0])
    return BaseCaseResult(scenario, model, totals, outcomes, tables[scenario.settings.perspective], tables, trace, per_cycle)


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


class atomic_output_dir:
    """Write into a temporary sibling folder; rename into place only on success.

    A crash or Ctrl-C leaves at most a hidden ``.DIR.partial-*`` folder, never a folder that looks complete.
    """

    def __init__(self, out_dir: str | Path, overwrite: bool = True):
        self.out_dir = Path(out_dir)
        self.overwrite = overwrite
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.partial-", dir=self.out_dir.parent))
        return self.tmp

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.tmp is not None
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        if self.out_dir.exists():
            if not self.overwrite:
                shutil.rmtree(self.tmp, ignore_errors=True)
                raise FileExistsError(f"{self.out_dir} exists")
            old = self.out_dir.with_name(f".{self.out_dir.name}.old-{os.getpid()}")
            os.replace(self.out_dir, old)
            os.replace(self.tmp, self.out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self.tmp, self.out_dir)


def full_summary(result: BaseCaseResult, psa: Any = None, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """summary.json: the base case, and the PSA summary (``psa``) when one was run."""
    summary = result.summary()
    from heecon.cea.headline import headline

    summary["headline"] = _jsonable(headline(result, psa))
    if psa is not None:
        summary["psa"] = _jsonable(psa.summary())
        summary["settings"]["psa_samples"] = int(psa.totals.shape[0])
    if extra:
        summary.update(_jsonable(extra))
    return summary


def write_results(result: BaseCaseResult, out_dir: str | Path, psa: Any = None,
                  extra: dict[str, Any] | None = None, writers: list[Any] | None = None) -> Path:
    """Write ``summary.json``, ``outcomes.csv``, ``icers.csv``, ``trace.csv``, ``per_cycle.csv`` (and the PSA
    files when a PSA result is given) into a temporary folder renamed into place at the end."""
    out_dir = Path(out_dir)
    with atomic_output_dir(out_dir) as tmp:
        summary = full_summary(result, psa, extra)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
        result.outcomes.to_csv(tmp / "outcomes.csv")
        result.icers.to_csv(tmp / "icers.csv", index=False)
        for p, t in result.icers_by_perspective.items():
            t.to_csv(tmp / f"icers_{p}.csv", index=False)
        result.trace.to_csv(tmp / "trace.csv", index=False)
        result.per_cycle.to_csv(tmp / "per_cycle.csv", index=False)
        result.nmb().to_csv(tmp / "net_benefit.csv", index=False)
        if getattr(result, "trajectories", None) is not None:
            result.trajectories.to_csv(tmp / "trajectories.csv", index=False)
        if getattr(result, "events_per_cycle", None) is not None:
            result.events_per_cycle.to_csv(tmp / "events_per_cycle.csv", index=False)
        if psa is not None:
            from heecon.sensitivity.psa import psa_writer

            psa_writer(psa)(tmp)
        for w in writers or []:
            w(tmp)
    return out_dir
