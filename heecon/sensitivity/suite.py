"""The analyses a scenario asks its default run for (``Scenario.analyses``, parsed from ``[dsa]``,
``[[thresholds]]``, ``[evppi]``, ``[subgroups.NAME]``, ``[scenario_analysis.NAME]`` and ``[cba]``), run beside the
base case and the PSA, with one table each:

* ``dsa.csv``: one-way DSA per perspective (tornado data), from one engine call;
* ``thresholds.csv``: break-even values per parameter and perspective (incremental cost = 0: pays for itself;
  or incremental NMB = 0 at the WTP);
* ``evppi.csv``: EVPPI by parameter group, per person and for the decision's population;
* ``subgroups.csv`` and ``scenario_analysis.csv``: the base case of each subgroup and each variant or structural
  alternative, per perspective, with the same random numbers as the base case;
* ``cba.csv``: the cost-benefit view (net present social value, benefit-cost ratio).

Nothing here is specific to one scenario.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from heecon.outcomes.perspectives import distinct_perspectives

__all__ = ["AnalysisSuite", "run_suite", "variant_row", "suite_writer"]


@dataclass
class AnalysisSuite:
    """The tables of the analyses a scenario asked for (each None when not asked for) and notes on what failed."""

    dsa: dict[str, Any] = field(default_factory=dict)  # perspective -> OneWayResult
    thresholds: pd.DataFrame | None = None
    evppi: Any = None  # EVPPIResult
    subgroups: pd.DataFrame | None = None
    scenarios: pd.DataFrame | None = None
    cba: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def frames(self) -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {}
        if self.dsa:
            rows = []
            for p, r in self.dsa.items():
                t = r.table.copy()
                t.insert(0, "perspective", p)
                t.insert(1, "base_inc_nmb", float(r.base["inc_nmb"]))
                t.insert(2, "base_inc_costs", float(r.base["inc_costs"]))
                t["wtp"] = r.wtp
                t["strategy"] = r.strategy
                rows.append(t)
            out["dsa.csv"] = pd.concat(rows, ignore_index=True)
        for name, frame in (("thresholds.csv", self.thresholds), ("subgroups.csv", self.subgroups),
                            ("scenario_analysis.csv", self.scenarios), ("cba.csv", self.cba)):
            if frame is not None:
                out[name] = frame
        if self.evppi is not None:
            out["evppi.csv"] = self.evppi.to_frame()
        return out


def _perspectives(scenario: Any, asked: tuple[str, ...] = ()) -> list[str]:
    return list(asked) or distinct_perspectives(scenario)


def variant_row(scenario: Any, result: Any, comparator_of: Any = None) -> list[dict[str, Any]]:
    """One row per (strategy, perspective) of a base case: incremental cost, QALYs, NMB at each WTP, events
    averted per person, and the Monte Carlo standard errors of the increments where the engine gives them."""
    st = scenario.settings
    o = result.outcomes
    comp = st.comparator
    events = [e for e in st.averted_events if f"events:{e}" in o.columns]
    rows = []
    for s in scenario.strategies:
        if s == comp:
            continue
        dq = float(o.loc[s, "qalys"] - o.loc[comp, "qalys"])
        averted = float(sum(o.loc[comp, f"events:{e}"] - o.loc[s, f"events:{e}"] for e in events)) if events else None
        for p in _perspectives(scenario):
            col = f"costs[{p}]"
            dc = float(o.loc[s, col] - o.loc[comp, col])
            row: dict[str, Any] = {"strategy": s, "perspective": p, "inc_costs": dc, "inc_qalys": dq}
            for w in st.wtp:
                row[f"inc_nmb_{int(w) if float(w).is_integer() else w}"] = w * dq - dc
            row["averted_per_person"] = averted
            row["cost_per_averted"] = dc / averted if averted else None
            if "se_inc_qalys" in o.columns:
                row["se_inc_qalys"] = float(o.loc[s, "se_inc_qalys"])
                secs = scenario.perspectives[p]
                row["se_inc_costs_upper"] = float(sum(o.loc[s, f"se_inc_{x}"] for x in secs))
            rows.append(row)
    return rows


def _variants(scenario: Any, specs: list[Any], kind_column: str) -> pd.DataFrame:
    from types import SimpleNamespace

    from heecon.model.check import check_scenario
    from heecon.outcomes.base_case import base_case_outcomes, run_base_case
    from heecon.scenario.load import load_scenario

    rows = []
    for v in specs:
        sc = load_scenario(v.file or scenario.path, list(scenario.overrides) + list(v.overrides))
        model = check_scenario(sc)
        # a row needs the outcome frame only; an averted event booked in expectation needs the full base case
        expected = getattr(sc.microsim, "events", {}) if sc.microsim is not None else {}
        lean = not any(getattr(expected.get(e), "expected", False) for e in sc.settings.averted_events)
        # the lean row reuses the checked compilation (no second compile and check of the same variant)
        res = SimpleNamespace(outcomes=base_case_outcomes(sc, model)) if lean else run_base_case(sc)
        for r in variant_row(sc, res):
            rows.append({kind_column: v.name, "label": v.label, "kind": v.kind, **r})
    return pd.DataFrame(rows)


def _thresholds(scenario: Any, specs: list[Any]) -> pd.DataFrame:
    from heecon.sensitivity.dsa import DSAError, threshold

    rows = []
    memo: dict = {}  # model runs shared by the perspectives (and thresholds) of one parameter: the same grid
    for t in specs:
        for p in _perspectives(scenario, t.perspectives):
            try:
                r = threshold(scenario, t.parameter, strategy=t.strategy, perspective=p, bounds=t.bounds,
                              n_grid=11, measure=t.measure, memo=memo)
            except DSAError as exc:
                rows.append({"parameter": t.parameter, "label": t.label, "perspective": p, "measure": t.measure,
                             "threshold": None, "base": None, "message": str(exc)})
                continue
            base = scenario.parameters[t.parameter].expr.constant
            row = {"parameter": t.parameter, "label": t.label, "perspective": p, "measure": t.measure,
                   "threshold": r.threshold, "base": base, "low": float(r.grid[t.parameter].min()),
                   "high": float(r.grid[t.parameter].max()), "message": r.message}
            if t.equivalent is not None:
                from heecon.model.markov import parameter_value

                eq = parameter_value(scenario, t.equivalent)
                row["equivalent"] = t.equivalent
                row["equivalent_base"] = eq
                row["equivalent_threshold"] = (eq * r.threshold / base) if r.threshold is not None and base else None
            rows.append(row)
    return pd.DataFrame(rows)


#: fewest PSA samples the default run estimates EVPPI from (the regression's own minimum)
MIN_EVPPI_SAMPLES = 20


def _evppi(scenario: Any, psa: Any, spec: Any) -> Any:
    from heecon.sensitivity.evppi import evppi

    groups = {k: list(v) for k, v in spec.groups.items()} or None
    wtp = [spec.wtp] if spec.wtp is not None else None
    population = None
    if spec.population_per_year:
        rate = scenario.settings.discount_costs.rates[0]
        population = {"population_per_year": spec.population_per_year,
                      "years": int(spec.years or scenario.settings.evpi_years), "discount_rate": rate}
    return evppi(psa, groups, wtp, population=population)


def run_suite(scenario: Any, base: Any, psa: Any = None, *, progress: Callable[[str], None] | None = None
              ) -> AnalysisSuite:
    """Run every analysis the scenario asks for (``Scenario.analyses``)."""
    from heecon.cea.cba import cba_table
    from heecon.sensitivity.dsa import one_way_by_perspective

    spec = scenario.analyses
    out = AnalysisSuite()
    if spec is None or not spec.any:
        return out
    say = progress or (lambda _: None)
    if spec.dsa is not None:
        say("one-way sensitivity")
        out.dsa = one_way_by_perspective(scenario, list(spec.dsa.parameters) if spec.dsa.parameters else None,
                                         strategy=spec.dsa.strategy, wtp=spec.dsa.wtp,
                                         perspectives=_perspectives(scenario, spec.dsa.perspectives))
    if spec.thresholds:
        say("thresholds")
        out.thresholds = _thresholds(scenario, spec.thresholds)
    if spec.subgroups:
        say("subgroups")
        out.subgroups = _variants(scenario, spec.subgroups, "subgroup")
    if spec.scenarios:
        say("scenario analysis")
        out.scenarios = _variants(scenario, spec.scenarios, "scenario")
    if spec.evppi is not None:
        n_psa = 0 if psa is None else int(psa.totals.shape[0])
        if psa is None:
            out.notes.append("EVPPI needs a PSA: run with --psa N")
        elif n_psa < MIN_EVPPI_SAMPLES:  # regression on a handful of samples says nothing
            out.notes.append(f"EVPPI not estimated: it needs at least {MIN_EVPPI_SAMPLES} PSA samples (1,000 or more "
                             f"is usual); this run has {n_psa}")
        else:
            say("EVPPI")
            out.evppi = _evppi(scenario, psa, spec.evppi)
    if spec.cba is not None:
        out.cba = cba_table(scenario, base, psa)
    return out


def suite_writer(suite: AnalysisSuite) -> Callable[[Path], None]:
    """Write the suite's tables into a results folder."""

    def write(folder: Path) -> None:
        for name, frame in suite.frames().items():
            frame.to_csv(folder / name, index=False)

    return write
