"""Checks that every name an expression uses exists (parameters, tables, states, strategies)."""

from __future__ import annotations

from typing import Any, Mapping


from heecon.scenario.expr import TIME_NAMES, Expr
from heecon.scenario.errors import Collector, did_you_mean
from heecon.scenario.graph import find_cycle
from heecon.scenario.types import (
    Parameter,
    Settings,
    State,
    Strategy,
    Table,
    TransitionReward,
)

def check_names(col: Collector, params: Mapping[str, Parameter], tables: Mapping[str, Table], states: Mapping[str, State],
                 transitions: Mapping[str, Mapping[str, Expr | None]], trewards: list[TransitionReward],
                 start_states: Mapping[str, Expr], start_costs: Mapping[str, Expr], start_qalys: Expr | None,
                 strategies: Mapping[str, Strategy], settings: Settings) -> None:
    known = set(params) | set(TIME_NAMES)

    def check(e: Expr | None, key: str, extra: frozenset[str] = frozenset(), timeless: bool = False) -> None:
        if e is None:
            return
        for n in sorted(e.names - known - extra):
            if n == "tunnel_cycle":
                col.add(key, "'tunnel_cycle' is only defined in the expressions of a tunnel state")
            else:
                col.add(key, f"unknown name '{n}' in expression {e.text!r}.{did_you_mean(n, known)} "
                             f"Names are parameters (see [parameters]) or {', '.join(sorted(TIME_NAMES))}.")
        if timeless:
            bad = sorted(e.names & TIME_NAMES)
            if bad:
                col.add(key, f"cannot depend on model time ({', '.join(bad)}): it is evaluated once, at the start")
        if "age" in e.names and settings.start_age is None:
            col.add(key, "uses 'age' but settings.start_age is not given")

    for p in params.values():
        check(p.expr, f"{p.key}.value" if p.source or p.distribution else p.key)
    for t in tables.values():
        check(t.multiplier, f"{t.key}.multiplier")
    tun = frozenset({"tunnel_cycle"})
    for s in states.values():
        ex = tun if s.timed else frozenset()
        check(s.utility, f"{s.key}.utility", ex)
        for sec, e in s.costs.items():
            check(e, f"{s.key}.costs.{sec}", ex)
    for frm, row in transitions.items():
        ex = tun if frm in states and states[frm].timed else frozenset()
        for to, e in row.items():
            check(e, f"transitions.{frm}.{to}", ex)
    for tr in trewards:
        for sec, e in tr.costs.items():
            check(e, f"{tr.key}.costs.{sec}")
        check(tr.qalys, f"{tr.key}.qalys")
        for s in tr.strategies or ():
            if s not in strategies:
                col.unknown(f"{tr.key}.strategies", s, strategies, "strategy")
    for sname, e in start_states.items():
        check(e, f"start.states.{sname}", timeless=True)
    for sec, e in start_costs.items():
        check(e, f"start.costs.{sec}", timeless=True)
    check(start_qalys, "start.qalys", timeless=True)
    for st in strategies.values():
        for pname, e in st.parameters.items():
            check(e, f"{st.key}.parameters.{pname}")
        for m in st.modifiers:
            check(m.value, f"{m.key}.{m.kind}")
        for c in st.extra_costs:
            for sec, e in c.costs.items():
                check(e, f"{c.key}.costs.{sec}")
        for sname, e in st.utilities.items():
            check(e, f"{st.key}.utilities.{sname}", tun if sname in states and states[sname].timed else frozenset())
        for sec, e in st.start_costs.items():
            check(e, f"{st.key}.start.costs.{sec}", timeless=True)
        check(st.start_qalys, f"{st.key}.start.qalys", timeless=True)
    # cycles in parameter definitions
    # (a table's multiplier is evaluated where the table is called, so it counts as used by the caller)
    def uses(e: Expr) -> set[str]:
        out = set(e.names)
        for t in e.calls & set(tables):
            if tables[t].multiplier is not None:
                out |= tables[t].multiplier.names
        return out & set(params)

    graph = {n: sorted(uses(p.expr)) for n, p in params.items()}
    cyc = find_cycle(graph)
    if cyc:
        col.add(params[cyc[0]].key, "parameters are defined in terms of each other in a cycle: "
                                    + " -> ".join(cyc + [cyc[0]]))


def check_micro_names(col: Collector, micro: Any, params: Mapping[str, Parameter], settings: Settings) -> None:
    known = set(params) | set(TIME_NAMES)
    pairs: list[tuple[Expr | None, str]] = []
    for ev in micro.events.values():
        pairs += [(e, f"{ev.key}.rate.{s}") for s, e in ev.rate.items()]
        pairs += [(e, f"{ev.key}.costs.{s}") for s, e in ev.costs.items()]
        pairs += [(ev.qalys, f"{ev.key}.qalys"), (ev.move_probability, f"{ev.key}.move_probability")]
    pairs += [(c.coefficient, f"{c.key}.coefficient") for c in micro.covariates]
    for mods in micro.event_modifiers.values():
        pairs += [(m.rr, f"{m.key}.rr") for m in mods]
    for en in micro.engagement.values():
        pairs += [(en.sessions, f"{en.key}.sessions"), (en.attendance_alpha, f"{en.key}.attendance.alpha"),
                  (en.attendance_beta, f"{en.key}.attendance.beta"), (en.dropout, f"{en.key}.dropout")]
        pairs += [(e, f"{en.key}.cost_per_session.{s}") for s, e in en.cost_per_session.items()]
        pairs += [(e, f"{en.key}.cost_per_place.{s}") for s, e in en.cost_per_place.items()]
    timeless = ("coefficient", "move_probability", ".rr", "attendance", "dropout", "cost_per", "qalys", ".costs.")
    for e, key in pairs:
        if e is None:
            continue
        own = {"tunnel_cycle"} if getattr(e, "clock", None) == "in_state" else set()  # a survival rate in a state
        for n in sorted(e.names - known - own):
            col.add(key, f"unknown name '{n}' in expression {e.text!r}.{did_you_mean(n, known)} "
                         "Names are parameters (see [parameters]) or cycle, time, age.")
        if any(t in key for t in timeless) and e.names & TIME_NAMES and ".rate." not in key:
            col.add(key, f"cannot depend on model time ({', '.join(sorted(e.names & TIME_NAMES))}) in this engine")
