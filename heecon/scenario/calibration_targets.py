"""The ``[calibration]`` section: targets the model is checked (and fitted) against.

Parsed and checked when the scenario is loaded (``Scenario.calibration_targets``); evaluating and fitting them is
:mod:`heecon.calibration`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from heecon.scenario.errors import Problem, ScenarioError

__all__ = ["CalibrationTarget", "read_targets", "STATISTICS", "TARGET_KEYS"]

STATISTICS = ("ever_event", "ever_state", "event_ratio", "mortality_ratio", "mean_events", "state_share")
TARGET_KEYS = {"statistic", "events", "state", "states", "of_states", "strategy", "comparator", "cycles", "target",
               "tolerance", "fit", "bounds", "source", "parameter", "label", "individuals", "set"}


@dataclass
class CalibrationTarget:
    name: str
    statistic: str
    target: float
    tolerance: float
    cycles: int
    strategy: str
    comparator: str | None
    events: list[str]
    state: str | None
    parameter: str | None
    fit: str | None
    bounds: tuple[float, float] | None
    source: str
    individuals: int | None
    states: tuple[str, ...] = ()  # ever_state / state_share: the states counted (``state`` or ``states``)
    of_states: tuple[str, ...] = ()  # state_share: the person-time it is a share of
    overrides: tuple[str, ...] = ()  # set = ["key.path=value", ...]: the target's population or setting


def read_targets(scenario: Any) -> list[CalibrationTarget]:
    """The ``[calibration.targets.NAME]`` tables of a scenario, checked (errors name the key path).

    ``scenario`` needs ``raw``, ``origin``, ``settings``, ``strategies``, ``states``, ``parameters`` and
    ``microsim`` (the loader passes the sections it has read).
    """
    raw = scenario.raw.get("calibration", {}) or {}
    problems: list[Problem] = []
    if not isinstance(raw, dict):
        problems.append(Problem(scenario.origin("calibration"), "calibration",
                                "must be a table of targets ([calibration.targets.NAME] sections)"))
        raise ScenarioError(problems)
    for k in raw:
        if k != "targets":
            problems.append(Problem(scenario.origin(f"calibration.{k}"), f"calibration.{k}",
                                    "unknown key: [calibration] holds only targets ([calibration.targets.NAME])"))
    tab = raw.get("targets", {})
    out = []
    for name, t in (tab or {}).items():
        key = f"calibration.targets.{name}"
        file = scenario.origin(key)

        def bad(msg: str, k: str = "") -> None:
            problems.append(Problem(file, f"{key}.{k}" if k else key, msg))

        if not isinstance(t, dict):
            bad("must be a table with statistic, target, tolerance, cycles")
            continue
        for k in t:
            if k not in TARGET_KEYS:
                bad(f"unknown key; valid: {', '.join(sorted(TARGET_KEYS))}", k)
        stat = t.get("statistic")
        if stat not in STATISTICS:
            bad(f"must be one of {', '.join(STATISTICS)}", "statistic")
            continue
        strategy = t.get("strategy", scenario.settings.comparator)
        if strategy not in scenario.strategies:
            bad(f"unknown strategy {strategy!r}", "strategy")
        events = t.get("events", [])
        micro = scenario.microsim
        for e in events:
            if micro is None or e not in micro.events:
                bad(f"unknown event {e!r}", "events")
        if stat in ("ever_event", "event_ratio", "mean_events") and not events:
            bad(f"a '{stat}' target needs events = [the event names it counts]", "events")
        state = t.get("state")
        states = t.get("states", [state] if state is not None else [])
        states = [states] if isinstance(states, str) else states
        of_states = t.get("of_states", [])
        of_states = [of_states] if isinstance(of_states, str) else of_states
        if stat in ("ever_state", "state_share") and (not isinstance(states, list) or not states):
            bad(f"needs state = \"NAME\" or states = [...]; valid: {', '.join(scenario.states)}", "states")
            states = []
        for k_, names in (("states", states), ("of_states", of_states)):
            for x in names if isinstance(names, list) else []:
                if x not in scenario.states:
                    bad(f"unknown state {x!r}; valid: {', '.join(scenario.states)}", k_)
        if stat == "state_share" and not of_states:
            bad("a 'state_share' target needs of_states = [the states whose person-time it is a share of]", "of_states")
        if stat == "mean_events" and not events:
            bad("a 'mean_events' target needs events = [the event names it counts]", "events")
        sets = t.get("set", [])
        sets = [sets] if isinstance(sets, str) else sets
        if not isinstance(sets, list) or not all(isinstance(x, str) and "=" in x for x in sets):
            bad("must be a list of \"key.path=value\" overrides (the target's population or settings)", "set")
            sets = []
        fit = t.get("fit")
        if fit is not None and fit not in scenario.parameters:
            bad(f"unknown parameter {fit!r}", "fit")
        par = t.get("parameter")
        if stat == "mortality_ratio" and par not in scenario.parameters:
            bad("needs parameter = the SMR parameter", "parameter")
        try:
            tgt, tol, cyc = float(t["target"]), float(t.get("tolerance", 0.0)), int(t["cycles"])
        except (KeyError, TypeError, ValueError):
            bad("needs target (number), tolerance (number) and cycles (whole number)")
            continue
        b = t.get("bounds")
        out.append(CalibrationTarget(name, stat, tgt, tol, cyc, strategy, t.get("comparator"), list(events), state,
                                     par, fit, (float(b[0]), float(b[1])) if b else None, str(t.get("source", "")),
                                     t.get("individuals"), tuple(states if isinstance(states, list) else []),
                                     tuple(of_states if isinstance(of_states, list) else []), tuple(sets)))
    if problems:
        raise ScenarioError(problems)
    return out
