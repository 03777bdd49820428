"""``[partitioned]``: a partitioned survival model with N states from N - 1 survival curves.

::

    [partitioned]
    states = ["PFS", "PD", "Dead"]      # ordered, healthiest first; default: the [states] in their order
    curves = ["pfs", "os"]              # [survival.NAME] curves: curve k is the share in the first k states
    crossing = "warn"                   # a lower curve above a higher one: "error", "truncate" or "warn"

``curves`` may instead be a table by strategy (``curves = { soc = ["pfs_soc", "os_soc"], new = [...] }``); a
curve may also be written inline (a table with ``distribution``, its parameters and ``units``). Arms usually
differ through strategy parameters (``[strategies.new.parameters] hr_pfs = 0.5`` with ``hr = "hr_pfs"`` on the
curve). The states keep their utilities and costs from ``[states]``; the model is compiled to the cohort
engine's arrays (see :mod:`heecon.model.partitioned`), so every analysis runs on it unchanged.

References
----------
Woods B, Sideris E, Palmer S, Latimer N, Soares M (2017, updated 2020). NICE DSU Technical Support Document 19:
partitioned survival analysis for decision modelling in health care: a critical review. NICE Decision Support
Unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from heecon.scenario.errors import valid_list
from heecon.scenario.survival_spec import SurvivalCurve, read_curve

__all__ = ["PartitionedSpec", "CROSSING", "read_partitioned"]

#: What to do when a lower curve rises above a higher one.
CROSSING = ("error", "truncate", "warn")
PARTITIONED_KEYS = {"states", "curves", "crossing", "label", "source"}


@dataclass
class PartitionedSpec:
    """A parsed ``[partitioned]`` section.

    Attributes
    ----------
    states
        The states, healthiest first (the last is usually death).
    curves
        Strategy -> its ``len(states) - 1`` curves: curve ``k`` is the share of the cohort in states ``0..k``.
    crossing
        ``"error"`` (refuse), ``"truncate"`` (cap each curve by the one above it, silently) or ``"warn"`` (cap
        and warn).
    """

    states: tuple[str, ...]
    curves: dict[str, tuple[SurvivalCurve, ...]]
    crossing: str = "warn"
    key: str = "partitioned"
    labels: dict[str, str] = field(default_factory=dict)


def _curve_list(v: Any, key: str, rd: Any, curves: Mapping[str, SurvivalCurve], params: Mapping[str, Any],
                n: int) -> tuple[SurvivalCurve, ...] | None:
    if not isinstance(v, list):
        rd.col.add(key, f"must be a list of {n} survival curves ([survival.NAME] names or inline curves), healthiest "
                        "state's first (e.g. [\"pfs\", \"os\"])")
        return None
    if len(v) != n:
        rd.col.add(key, f"has {len(v)} curves for {n + 1} states; a partitioned survival model with N states needs "
                        f"N - 1 = {n} curves")
        return None
    out = []
    for j, item in enumerate(v):
        k = f"{key}[{j}]"
        if isinstance(item, str):
            if item not in curves:
                rd.col.unknown(k, item, curves, "survival curve ([survival.NAME])")
                continue
            out.append(curves[item])
        else:
            c = read_curve(item, k, rd, params)
            if c is not None:
                out.append(c)
    return tuple(out) if len(out) == n else None


def read_partitioned(raw: Any, rd: Any, states: Mapping[str, Any], curves: Mapping[str, SurvivalCurve],
                     strategies: Mapping[str, Any], params: Mapping[str, Any], settings: Any) -> PartitionedSpec | None:
    """Read ``[partitioned]``; problems are recorded at their key paths."""
    col = rd.col
    tab = rd.table(raw, "partitioned", "a table: [partitioned] with states, curves and crossing")
    if tab is None:
        return None
    rd.check_keys(tab, PARTITIONED_KEYS, "partitioned", "[partitioned]")
    ok = True
    if settings.engine != "cohort":
        col.add("settings.engine", "a partitioned survival model is a cohort model: use engine = \"cohort\" "
                                   "(or leave it out)")
        ok = False
    names = tab.get("states", list(states))
    if not isinstance(names, list) or not all(isinstance(s, str) for s in names):
        col.add("partitioned.states", "must be a list of state names, healthiest first (e.g. [\"PFS\", \"PD\", \"Dead\"])")
        return None
    for i, s in enumerate(names):
        if s not in states:
            col.unknown(f"partitioned.states[{i}]", s, states, "state")
            ok = False
    if len(set(names)) != len(names):
        col.add("partitioned.states", "lists a state more than once")
        ok = False
    left = [s for s in states if s not in names]
    if left:
        col.add("partitioned.states", f"must list every state of [states] once; missing: {', '.join(left)}")
        ok = False
    if len(names) < 2:
        col.add("partitioned.states", "needs at least two states")
        ok = False
    for s in names:
        if s in states and states[s].tunnel:
            col.add(f"{states[s].key}.tunnel", "a partitioned survival model has no tunnel states (occupancy comes "
                                              "from the curves)")
            ok = False
    crossing = rd.string(tab.get("crossing", "warn"), "partitioned.crossing", CROSSING) or "warn"
    n = max(len(names) - 1, 1)
    raw_curves = tab.get("curves")
    by: dict[str, tuple[SurvivalCurve, ...]] = {}
    if raw_curves is None:
        col.add("partitioned.curves", f"is missing: give the {n} survival curves, healthiest state's first "
                                      "(e.g. curves = [\"pfs\", \"os\"])")
        return None
    if isinstance(raw_curves, dict):
        for s, v in raw_curves.items():
            if s not in strategies:
                col.unknown(f"partitioned.curves.{s}", s, strategies, "strategy")
                ok = False
                continue
            got = _curve_list(v, f"partitioned.curves.{s}", rd, curves, params, n)
            if got is not None:
                by[s] = got
        missing = [s for s in strategies if s not in raw_curves]
        if missing:
            col.add("partitioned.curves", f"gives curves by strategy but not for {', '.join(missing)} (strategies: "
                                          f"{valid_list(strategies)})")
            ok = False
    else:
        got = _curve_list(raw_curves, "partitioned.curves", rd, curves, params, n)
        if got is not None:
            by = {s: got for s in strategies}
    if not ok or len(by) != len(strategies):
        return None
    return PartitionedSpec(states=tuple(names), curves=by, crossing=crossing)
