"""The ``[calibration]`` section: targets the model is checked (and fitted) against.

Parsed and checked when the scenario is loaded (``Scenario.calibration_targets``); evaluating and fitting them is
:mod:`heecon.calibration`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from heecon.scenario.errors import Problem, ScenarioError, did_you_mean, valid_list

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
                                    f"unknown key in [calibration].{did_you_mean(str(k), ['targets'])} [calibration] "
                                    "holds only targets ([calibration.targets.NAME] sections)"))
    tab = raw.get("targets", {})
    if not isinstance(tab, dict):
        problems.append(Problem(scenario.origin("calibration.targets"), "calibration.targets",
                                "must be a table of targets ([calibration.targets.NAME] sections)"))
        tab = {}
    out = []
    for name, t in (tab or {}).items():
        target = _read_target(scenario, str(name), t, problems)
        if target is not None:
            out.append(target)
    if problems:
        raise ScenarioError(problems)
    return out


def _number(t: dict[str, Any], k: str, bad: Any, *, lo: float | None = None, integer: bool = False,
            required: bool = True, default: float | None = None) -> float | None:
    """``t[k]`` as a number (a whole number with ``integer``) at least ``lo``, or None after reporting why not."""
    if k not in t:
        if required:
            bad(f"is missing: give {'a whole number' if integer else 'a number'}", k)
        return default
    v = t[k]
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(float(v))
    if ok and integer:
        ok = float(v).is_integer()
    if ok and lo is not None:
        ok = float(v) >= lo
    if not ok:
        kind = "a whole number" if integer else "a finite number"
        bad(f"must be {kind}{f' >= {lo:g}' if lo is not None else ''}, got {v!r}", k)
        return None
    return float(v)


def _read_target(scenario: Any, name: str, t: Any, problems: list[Problem]) -> CalibrationTarget | None:
    """One ``[calibration.targets.NAME]`` table; every problem of it is recorded (None if it cannot be used)."""
    key = f"calibration.targets.{name}"
    file = scenario.origin(key)
    n0 = len(problems)

    def bad(msg: str, k: str = "") -> None:
        problems.append(Problem(file, f"{key}.{k}" if k else key, msg))

    if not isinstance(t, dict):
        bad("must be a table with statistic, target, tolerance, cycles")
        return None
    for k in t:
        if k not in TARGET_KEYS:
            bad(f"unknown key in a calibration target.{did_you_mean(str(k), TARGET_KEYS)} "
                f"Valid keys: {valid_list(TARGET_KEYS)}.", str(k))
    stat = t.get("statistic")
    if stat not in STATISTICS:
        bad(f"must be one of {', '.join(STATISTICS)}, got {stat!r}.{did_you_mean(str(stat), STATISTICS)}", "statistic")
    strategy = t.get("strategy", scenario.settings.comparator)
    if strategy not in scenario.strategies:
        bad(f"unknown strategy {strategy!r}.{did_you_mean(str(strategy), scenario.strategies)} "
            f"Valid: {valid_list(scenario.strategies)}.", "strategy")
    comparator = t.get("comparator")
    if comparator is not None and comparator not in scenario.strategies:
        bad(f"unknown strategy {comparator!r}.{did_you_mean(str(comparator), scenario.strategies)} "
            f"Valid: {valid_list(scenario.strategies)}.", "comparator")
    events = t.get("events", [])
    if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
        bad(f"must be a list of event names, got {events!r}", "events")
        events = []
    micro = scenario.microsim
    valid_events = list(micro.events) if micro is not None else []
    for i, e in enumerate(events):
        if e in events[:i]:
            bad(f"lists event '{e}' twice; give each once", f"events[{i}]")
        elif e not in valid_events:
            bad(f"unknown event {e!r}.{did_you_mean(e, valid_events)} "
                + (f"Valid: {valid_list(valid_events)}." if valid_events else "A cohort model has no events."),
                f"events[{i}]")
    if stat in ("ever_event", "event_ratio", "mean_events") and not events:
        bad(f"a '{stat}' target needs events = [the event names it counts]", "events")
    state = t.get("state")
    states = _names(t, "states", [state] if state is not None else [], bad)
    of_states = _names(t, "of_states", [], bad)
    if stat in ("ever_state", "state_share") and not states:
        bad(f"needs state = \"NAME\" or states = [...]; valid: {valid_list(scenario.states)}", "states")
    for k_, names in (("states", states), ("of_states", of_states)):
        for x in names:
            if x not in scenario.states:
                bad(f"unknown state {x!r}.{did_you_mean(x, scenario.states)} Valid: {valid_list(scenario.states)}.", k_)
    if stat == "state_share" and not of_states:
        bad("a 'state_share' target needs of_states = [the states whose person-time it is a share of]", "of_states")
    sets = _names(t, "set", [], bad)
    if not all("=" in x for x in sets):
        bad("must be a list of \"key.path=value\" overrides (the target's population or settings)", "set")
        sets = []
    fit = t.get("fit")
    if fit is not None and fit not in scenario.parameters:
        bad(f"unknown parameter {fit!r}.{did_you_mean(str(fit), scenario.parameters)}", "fit")
    par = t.get("parameter")
    if stat == "mortality_ratio" and par not in scenario.parameters:
        bad("needs parameter = the SMR parameter", "parameter")
    tgt = _number(t, "target", bad)
    tol = _number(t, "tolerance", bad, lo=0.0, required=False, default=0.0)
    cyc = _number(t, "cycles", bad, lo=1, integer=True)
    # cycles may exceed the model's horizon: a target is evaluated on a copy run for exactly its cycles
    ind = _number(t, "individuals", bad, lo=1, integer=True, required=False)
    b = t.get("bounds")
    bounds = None
    if b is not None:
        if (not isinstance(b, list) or len(b) != 2
                or not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in b)
                or not b[0] < b[1]):
            bad(f"must be [low, high], two finite numbers with low < high, got {b!r}", "bounds")
        else:
            bounds = (float(b[0]), float(b[1]))
    src = t.get("source", "")
    if not isinstance(src, str):
        bad(f"must be a string, got {src!r}", "source")
    if len(problems) > n0:
        return None
    return CalibrationTarget(name, str(stat), float(tgt), float(tol), int(cyc), strategy, comparator, list(events),
                             state, par, fit, bounds, str(src), None if ind is None else int(ind), tuple(states),
                             tuple(of_states), tuple(sets))


def _names(t: dict[str, Any], k: str, default: list[str], bad: Any) -> list[str]:
    """``t[k]`` as a list of strings (one string counts as a list of one), or ``default``."""
    v = t.get(k, default)
    v = [v] if isinstance(v, str) else v
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        bad(f"must be a list of names, got {v!r}", k)
        return []
    return v
