"""Calibration targets: check a scenario against observed statistics, and fit named parameters when it misses.

Targets live in the scenario (``[calibration.targets.NAME]``) so that they travel with the evidence:

.. code-block:: toml

    [calibration.targets.reoffending_1y]
    statistic = "ever_event"            # share with >= 1 of these events by the end of `cycles`
    events = ["offence_violent_injury", "offence_violent_no_injury", "offence_other"]
    strategy = "pau"
    cycles = 4
    target = 0.566
    tolerance = 0.03
    fit = "offences_per_year"           # fitted (scipy.optimize.brentq) if the target is missed
    bounds = [0.5, 6.0]
    source = "MoJ proven reoffending ..."

Statistics:

* ``ever_event``: share of people with at least one of ``events`` within ``cycles`` (computed exactly by a
  variant of the model in which those events move people to an absorbing flag state);
* ``ever_state``: share ever entering ``state`` within ``cycles`` (the state is made absorbing in a variant);
* ``event_ratio``: ratio of the mean count of ``events`` over ``cycles`` between ``strategy`` and ``comparator``;
* ``mortality_ratio``: deaths within ``cycles`` relative to the same model with ``parameter`` (the SMR) set to 1.

Every statistic is computed with the engine itself, with common random numbers, so a fitted value moves
the statistic smoothly enough for root finding.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np

from heecon.scenario.calibration_targets import CalibrationTarget
from heecon.scenario.load import build_scenario
from heecon.scenario.types import Scenario

__all__ = ["CalibrationTarget", "targets", "evaluate_target", "calibrate", "poisson_lognormal_sd"]

def targets(scenario: Scenario) -> list[CalibrationTarget]:
    """The scenario's calibration targets (parsed and checked when it was loaded)."""
    return list(scenario.calibration_targets)


def _variant(scenario: Scenario, edit: Any, overrides: dict[str, float] | None = None,
             sets: tuple[str, ...] = ()) -> Scenario:
    raw = copy.deepcopy(scenario.raw)
    for k in ("budget_impact", "scenario_analysis", "subgroups", "thresholds", "dsa", "evppi"):
        raw.pop(k, None)  # a variant runs only the model (its horizon may be shorter than the budget's)
    if sets:
        from heecon.scenario.errors import ScenarioError
        from heecon.scenario.files import apply_overrides

        problems: list[Any] = []
        apply_overrides(raw, sets, dict(scenario.origins), problems)
        if problems:
            raise ScenarioError(problems)
    edit(raw)
    for name, v in (overrides or {}).items():
        spec = raw["parameters"][name]
        if isinstance(spec, dict):
            spec["value"] = float(v)
        else:
            raw["parameters"][name] = float(v)
    return build_scenario(raw, scenario.path, dict(scenario.origins), list(scenario.files))


def evaluate_target(scenario: Scenario, t: CalibrationTarget, overrides: dict[str, float] | None = None,
                    individuals: int | None = None) -> float:
    """The model's value of a target statistic (base-case parameters, plus ``overrides``)."""
    from heecon.engine.evaluate import evaluate_totals  # noqa: F401  (engine entry point)
    from heecon.engine.microsim.evaluate import evaluate_microsim

    n_ind = individuals or t.individuals
    strategies = list(scenario.strategies)

    def horizon(raw: dict[str, Any], cycles: int) -> None:
        st = raw.setdefault("settings", {})
        st.pop("horizon_years", None)
        st["horizon_cycles"] = cycles

    if t.statistic == "ever_event":
        def edit(raw: dict[str, Any]) -> None:
            horizon(raw, t.cycles)
            raw["states"]["Calibration_flag"] = {"label": "had the event", "absorbing": True}
            for e in t.events:
                raw["events"][e]["expected"] = False  # drawn, so that "at least one" can be counted
                raw["events"][e]["moves_to"] = "Calibration_flag"
                raw["events"][e]["move_probability"] = 1.0
        sc = _variant(scenario, edit, overrides, t.overrides)
        run = evaluate_microsim(sc, None, 1, n_keep=1, individuals=n_ind)
        flag = list(sc.states).index("Calibration_flag")
        col = _expanded_index(sc, flag)
        return float(run.occupancy[strategies.index(t.strategy), t.cycles, col])
    if t.statistic == "ever_state":
        def edit(raw: dict[str, Any]) -> None:
            horizon(raw, t.cycles)
            for st in t.states:
                raw["states"][st]["absorbing"] = True
                raw["states"][st].pop("tunnel", None)
                raw["states"][st].pop("tunnel_exit", None)
                raw["transitions"].pop(st, None)
                for c in raw.get("covariates", []):  # covariates on moves out of the now-absorbing state
                    trs = c.get("transitions")
                    if isinstance(trs, list):
                        c["transitions"] = [x for x in trs if not x.replace(" ", "").startswith(f"{st}->")]
                raw["time_in_state"] = [x for x in raw.get("time_in_state", [])
                                        if not str(x.get("transition", "")).replace(" ", "").startswith(f"{st}->")]
            raw["covariates"] = [c for c in raw.get("covariates", []) if c.get("transitions") != [] or c.get("events")]
        sc = _variant(scenario, edit, overrides, t.overrides)
        run = evaluate_microsim(sc, None, 1, n_keep=1, individuals=n_ind)
        cols = [_expanded_index(sc, list(sc.states).index(st)) for st in t.states]
        return float(run.occupancy[strategies.index(t.strategy), t.cycles, cols].sum())
    if t.statistic == "mean_events":
        sc = _variant(scenario, lambda raw: horizon(raw, t.cycles), overrides, t.overrides)
        # n_keep=1: events booked in expectation (expected = true) are counted from the kept state occupancy
        run = evaluate_microsim(sc, None, 1, n_keep=1, individuals=n_ind)
        idx = [run.event_names.index(e) for e in t.events]
        return float(run.events[0][strategies.index(t.strategy), idx].sum())
    if t.statistic == "state_share":
        sc = _variant(scenario, lambda raw: horizon(raw, t.cycles), overrides, t.overrides)
        run = evaluate_microsim(sc, None, 1, n_keep=1, individuals=n_ind)
        occ = run.occupancy[strategies.index(t.strategy), 1:t.cycles + 1]  # points 1..cycles

        def person_time(names: tuple[str, ...]) -> float:
            cols = []
            for st in names:
                i0 = _expanded_index(sc, list(sc.states).index(st))
                cols += list(range(i0, i0 + max(sc.states[st].tunnel, 1)))
            return float(occ[:, cols].sum())

        den = person_time(t.of_states)
        return person_time(t.states) / den if den > 0 else float("nan")
    if t.statistic == "event_ratio":
        sc = _variant(scenario, lambda raw: horizon(raw, t.cycles), overrides, t.overrides)
        run = evaluate_microsim(sc, None, 1, n_keep=1, individuals=n_ind)  # n_keep=1 as mean_events
        idx = [run.event_names.index(e) for e in t.events]
        a = run.events[0][strategies.index(t.strategy), idx].sum()
        b = run.events[0][strategies.index(t.comparator or scenario.settings.comparator), idx].sum()
        return float(a / b)
    # mortality ratio: deaths with the SMR as given vs with the SMR set to 1 (same people, same random numbers)
    dead = [i for i, s in enumerate(scenario.states.values()) if s.dead]
    res = []
    for smr in (None, 1.0):
        ov = dict(overrides or {})
        if smr is not None:
            ov[t.parameter] = smr  # type: ignore[index]
        sc = _variant(scenario, lambda raw: horizon(raw, t.cycles), ov, t.overrides)
        run = evaluate_microsim(sc, None, 1, n_keep=1, individuals=n_ind)
        cols = [_expanded_index(sc, d) for d in dead]
        res.append(run.occupancy[strategies.index(t.strategy), t.cycles, cols].sum())
    return float(res[0] / res[1]) if res[1] > 0 else float("nan")


def _expanded_index(sc: Scenario, named: int) -> int:
    i = 0
    for k, s in enumerate(sc.states.values()):
        if k == named:
            return i
        i += s.n_sub
    raise IndexError(named)


def calibrate(scenario: Scenario, *, fit: bool = False, individuals: int | None = None) -> list[dict[str, Any]]:
    """Evaluate every target; with ``fit``, fit each target's ``fit`` parameter to its centre by Brent's method.

    Fits are done in the order the targets are listed, each with the previous fits applied.
    """
    from scipy.optimize import brentq

    fitted: dict[str, float] = {}
    rows = []
    for t in targets(scenario):
        value = evaluate_target(scenario, t, fitted, individuals)
        row: dict[str, Any] = {"target": t.name, "statistic": t.statistic, "strategy": t.strategy, "cycles": t.cycles,
                               "observed_target": t.target, "tolerance": t.tolerance, "model": value,
                               "within_tolerance": bool(abs(value - t.target) <= t.tolerance), "source": t.source}
        if fit and t.fit:  # fitted to the target's centre (tolerance is the acceptance band of the check)
            lo, hi = t.bounds or (0.5 * float(scenario.parameters[t.fit].expr.constant or 1.0),
                                  2.0 * float(scenario.parameters[t.fit].expr.constant or 1.0))

            def g(x: float) -> float:
                return evaluate_target(scenario, t, {**fitted, t.fit: x}, individuals) - t.target

            try:
                x = brentq(g, lo, hi, xtol=1e-4 * max(abs(lo), abs(hi), 1e-9), maxiter=60)
            except ValueError:
                row["fit"] = {"parameter": t.fit, "result": f"no root in [{lo:g}, {hi:g}]: the target cannot be hit "
                                                            "by this parameter within its bounds"}
            else:
                fitted[t.fit] = float(x)
                after = evaluate_target(scenario, t, fitted, individuals)
                row["fit"] = {"parameter": t.fit, "value": float(x), "method": "scipy.optimize.brentq on the "
                              "model statistic (common random numbers)", "bounds": [lo, hi], "model_after": after,
                              "within_tolerance_after": bool(abs(after - t.target) <= t.tolerance)}
        rows.append(row)
    return rows


def poisson_lognormal_sd(mean_rate: float, share_with_event: float) -> float:
    """The log-scale SD of lognormal heterogeneity (mean 1) at which a Poisson count with mean ``mean_rate``
    has probability ``share_with_event`` of being at least 1 (Gauss-Hermite quadrature, Brent's method)."""
    from scipy.optimize import brentq

    x, w = np.polynomial.hermite_e.hermegauss(80)
    w = w / w.sum()

    def f(s: float) -> float:
        return float((w * (1 - np.exp(-mean_rate * np.exp(s * x - s * s / 2)))).sum() - share_with_event)

    if f(1e-6) < 0:
        raise ValueError(f"no heterogeneity gives {share_with_event}: a Poisson with mean {mean_rate} already gives "
                         f"{f(1e-6) + share_with_event:.3f}, below the target (heterogeneity only lowers it)")
    return float(brentq(f, 1e-6, 10.0))


def write_calibration(rows: list[dict[str, Any]], path: Path) -> None:
    path.write_text(json.dumps(rows, indent=2))
