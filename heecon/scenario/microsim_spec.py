"""Scenario sections for the individual-level engine: population, covariates, events, engagement.

Read into typed objects with every problem collected (file, key path, what would be valid), like the rest of
the scenario. See docs/scenario-format.md, "Microsimulation".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from heecon.scenario.expr import Expr

POP_KEYS = {"file", "attributes", "subgroups", "source"}
ATTR_KEYS = {"distribution", "share", "categories", "value", "source", "label"}
COV_KEYS = {"transition", "transitions", "event", "events", "attribute", "counter", "coefficient", "centre", "source", "label"}
EVENT_KEYS = {"label", "kind", "rate", "costs", "qalys", "counter", "moves_to", "move_probability", "source", "unit",
              "expected"}
EVMOD_KEYS = {"events", "rr", "cycles", "waning_until", "label"}
ENG_KEYS = {"sessions", "cycles", "attendance", "dropout", "cost_per_session", "cost_per_place", "effect",
            "states", "label", "source"}
TIS_KEYS = {"transition", "multipliers", "label", "source"}


@dataclass
class Attribute:
    name: str
    kind: str  # "distribution" | "binary" | "categorical" | "constant" | "file"
    distribution: dict[str, Any] | None = None
    share: float | None = None
    categories: dict[str, float] = field(default_factory=dict)
    value: float | None = None
    key: str = ""
    dist: Any = None  # the parsed distribution (kind "distribution"), parsed once at load

    @property
    def columns(self) -> list[str]:
        """Columns this attribute adds to the attribute matrix (one-hot indicators for categories)."""
        if self.kind == "categorical":
            return [f"{self.name}_{c}" for c in self.categories]
        return [self.name]


@dataclass
class Subgroup:
    name: str
    weight: float
    attributes: dict[str, Attribute]
    key: str


@dataclass
class Population:
    attributes: dict[str, Attribute]
    subgroups: list[Subgroup]
    file: Path | None
    file_columns: list[str]
    source: str | None

    @property
    def columns(self) -> list[str]:
        cols = list(self.file_columns)
        for a in self.attributes.values():
            cols += [c for c in a.columns if c not in cols]
        if self.subgroups:
            cols += [f"subgroup_{g.name}" for g in self.subgroups if f"subgroup_{g.name}" not in cols]
        return cols


@dataclass
class Covariate:
    transitions: tuple[tuple[str, str], ...]
    events: tuple[str, ...]
    attribute: str | None  # an attribute column
    counter: str | None
    coefficient: Expr
    centre: float
    key: str


@dataclass
class TimeInState:
    transition: tuple[str, str]
    multipliers: tuple[float, ...]
    key: str


@dataclass
class Event:
    name: str
    label: str
    kind: str  # "poisson" | "bernoulli"
    rate: dict[str, Expr]  # state -> per-cycle rate
    costs: dict[str, Expr]
    qalys: Expr | None
    counter: str | None
    moves_to: str | None
    move_probability: Expr | None
    key: str
    expected: bool = False  # booked in expectation (rate x cost per cycle) instead of drawn


@dataclass
class EventModifier:
    events: tuple[str, ...]
    rr: Expr
    cycles: tuple[int, int]
    waning_until: int | None
    key: str


@dataclass
class Engagement:
    sessions: Expr
    cycles: tuple[int, int]
    attendance_alpha: Expr
    attendance_beta: Expr
    dropout: Expr
    cost_per_session: dict[str, Expr]
    cost_per_place: dict[str, Expr]
    effect: str  # "itt" | "dose"
    states: tuple[str, ...] | None
    key: str


@dataclass
class MicrosimSpec:
    population: Population
    covariates: list[Covariate]
    time_in_state: list[TimeInState]
    events: dict[str, Event]
    counters: list[str]
    event_modifiers: dict[str, list[EventModifier]]  # strategy -> modifiers
    engagement: dict[str, Engagement]  # strategy -> engagement

    @property
    def has_events(self) -> bool:
        return bool(self.events)


def read_microsim(raw: Mapping[str, Any], rd: Any, states: Mapping[str, Any], params: Mapping[str, Any],
                  sectors: tuple[str, ...], settings: Any, transitions: Mapping[str, Mapping[str, Any]],
                  path: Path, parse_ref: Any, cells: Any = None) -> MicrosimSpec:
    """Read [population], [[covariates]], [[time_in_state]], [events.NAME] and the strategies' microsimulation keys.

    ``cells`` reads an event rate given as a table (a survival curve's cumulative-hazard increments,
    :func:`heecon.scenario.survival_spec.survival_cell_reader`)."""
    pop = _read_population(raw.get("population", {}), rd, path, states)

    events, counters = _read_events(raw, rd, states, params, sectors, settings, transitions, parse_ref, cells)
    covs, tis = _read_covariates(raw, rd, states, transitions, parse_ref, events, counters, pop.columns)
    evmods, engs = _read_strategy_keys(raw, rd, states, sectors, settings, events)
    return MicrosimSpec(pop, covs, tis, events, counters, evmods, engs)


def _read_population(raw: Any, rd: Any, path: Path, states: Mapping[str, Any] | None = None) -> Population:
    col = rd.col
    tab = rd.table(raw, "population", "a table: [population] with attributes and optional file/subgroups") or {}
    rd.check_keys(tab, POP_KEYS, "population", "[population]")
    file = None
    file_cols: list[str] = []
    if "file" in tab:
        f = tab["file"]
        if not isinstance(f, str):
            col.add("population.file", "must be the path of a CSV of individuals (one row each)")
        else:
            from heecon.scenario.sections import key_base_dir

            fp = (key_base_dir("population.file", rd) / f).resolve()
            if not fp.is_file():
                col.add("population.file", f"the file {f!r} does not exist (looked for {fp})")
            else:
                header = check_population_file(fp, f, states or {}, col)
                if header is not None:
                    file = fp
                    file_cols = [h for h in header if h != "state"]
    attrs = {}
    for name, spec in (rd.table(tab.get("attributes", {}), "population.attributes") or {}).items():
        a = _read_attribute(name, spec, f"population.attributes.{name}", rd)
        if a is not None:
            attrs[name] = a
    subgroups = []
    sg = rd.table(tab.get("subgroups", {}), "population.subgroups", "a table of [population.subgroups.NAME]") or {}
    total = 0.0
    for name, spec in sg.items():
        key = f"population.subgroups.{name}"
        if not isinstance(spec, dict):
            col.add(key, "must be a table with weight and attributes")
            continue
        rd.check_keys(spec, {"weight", "attributes", "label", "source"}, key, "a subgroup")
        w = rd.number(spec.get("weight"), f"{key}.weight", lo=0, lo_open=True)
        sub = {}
        for an, aspec in (rd.table(spec.get("attributes", {}), f"{key}.attributes") or {}).items():
            if an not in attrs:
                col.unknown(f"{key}.attributes.{an}", an, attrs, "population attribute")
                continue
            a = _read_attribute(an, aspec, f"{key}.attributes.{an}", rd)
            if a is not None:
                if a.kind == "categorical" and list(a.categories) != list(attrs[an].categories):
                    col.add(f"{key}.attributes.{an}", "must list the same categories, in the same order, as the population")
                sub[an] = a
        if w is not None:
            total += w
            subgroups.append(Subgroup(name, w, sub, key))
    if subgroups and abs(total - 1.0) > 1e-9:
        col.add("population.subgroups", f"the subgroup weights sum to {total:g}; they must sum to 1")
    src = tab.get("source")
    return Population(attrs, subgroups, file, file_cols, src if isinstance(src, str) else None)


#: at most this many bad cells of a population file are listed (the count of the rest is given)
_MAX_CELL_PROBLEMS = 10


def check_population_file(fp: Path, name: str, states: Mapping[str, Any], col: Any) -> list[str] | None:
    """Read a population CSV completely and report, at ``population.file``, every problem with the file, row and
    column: a header with empty or repeated names, rows with too few or too many cells, attribute cells that are
    not finite numbers, ``state`` cells that are not states of the scenario. Returns the header (None if unusable).
    """
    import csv

    key = "population.file"
    try:
        with fp.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        col.add(key, f"cannot read {name} as a UTF-8 CSV file ({exc})")
        return None
    if not rows or not any(h.strip() for h in rows[0]):
        col.add(key, f"{name} is empty: it needs a header row (attribute columns, optional 'state') and one row "
                     "per individual")
        return None
    header = list(rows[0])
    bad_header = False
    for j, h in enumerate(header):
        if not h:
            col.add(key, f"{name} column {j + 1} has no name in the header row")
            bad_header = True
        elif h in header[:j]:
            col.add(key, f"{name} has two columns named {h!r} (columns {header.index(h) + 1} and {j + 1})")
            bad_header = True
        elif h != "state" and not h.isidentifier():
            col.add(key, f"{name} column {j + 1} is named {h!r}: attribute names are letters, digits and _")
            bad_header = True
    if bad_header:
        return None
    if len(rows) < 2:
        col.add(key, f"{name} has a header but no individuals (no rows of data)")
        return None
    problems: list[str] = []
    n_bad = 0
    valid_states = list(states)
    for i, row in enumerate(rows[1:], start=2):
        if not row:
            continue  # a blank line
        if len(row) != len(header):
            n_bad += 1
            if len(problems) < _MAX_CELL_PROBLEMS:
                problems.append(f"row {i} has {len(row)} cells, the header {len(header)}")
            continue
        for h, cell in zip(header, row):
            text = cell.strip()
            if h == "state":
                ok = cell in states  # as the run reads it: exactly a state name
                why = f"is not a state of the scenario (valid: {', '.join(valid_states)})"
            else:
                try:
                    ok = math.isfinite(float(text))
                except ValueError:
                    ok = False
                why = "is not a finite number"
            if not ok:
                n_bad += 1
                if len(problems) < _MAX_CELL_PROBLEMS:
                    problems.append(f"row {i}, column {h!r}: {cell!r} {why}")
    for msg in problems:
        col.add(key, f"{name} {msg}")
    if n_bad > len(problems):
        col.add(key, f"{name} has {n_bad - len(problems)} more bad rows or cells like these")
    return header  # known columns even where cells are bad (reported), so that covariates naming them are not too


def _read_attribute(name: str, spec: Any, key: str, rd: Any) -> Attribute | None:
    col = rd.col
    if not name.isidentifier():
        col.add(key, "attribute names are letters, digits and _")
        return None
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        return Attribute(name, "constant", value=float(spec), key=key)
    if not isinstance(spec, dict):
        col.add(key, "must be a number or a table with one of distribution, share or categories")
        return None
    rd.check_keys(spec, ATTR_KEYS, key, "an attribute")
    kinds = [k for k in ("distribution", "share", "categories", "value") if k in spec]
    if len(kinds) != 1:
        col.add(key, "needs exactly one of distribution (a continuous attribute), share (a 0/1 attribute), "
                     "categories (shares of each category) or value")
        return None
    k = kinds[0]
    if k == "distribution":
        from heecon.scenario.sections import parse_distribution_at

        d = spec["distribution"]
        dist = parse_distribution_at(d, f"{key}.distribution", rd) if isinstance(d, dict) else None
        if dist is None:
            if not isinstance(d, dict):
                col.add(f"{key}.distribution", "must be a table with a 'type', e.g. { type = \"normal\", mean = 0, sd = 1 }")
            return None
        return Attribute(name, "distribution", distribution=d, key=key, dist=dist)
    if k == "share":
        v = rd.number(spec["share"], f"{key}.share", lo=0, hi=1)
        return Attribute(name, "binary", share=v, key=key) if v is not None else None
    if k == "value":
        v = rd.number(spec["value"], f"{key}.value")
        return Attribute(name, "constant", value=v, key=key) if v is not None else None
    cats = rd.table(spec["categories"], f"{key}.categories", "a table of category = share") or {}
    vals = {c: rd.number(v, f"{key}.categories.{c}", lo=0, hi=1) for c, v in cats.items()}
    if not vals or any(v is None for v in vals.values()):
        return None
    if abs(sum(vals.values()) - 1.0) > 1e-9:  # type: ignore[arg-type]
        col.add(f"{key}.categories", f"the shares sum to {sum(vals.values()):g}; they must sum to 1")  # type: ignore[arg-type]
        return None
    return Attribute(name, "categorical", categories=vals, key=key)  # type: ignore[arg-type]


def _read_events(raw: Mapping[str, Any], rd: Any, states: Mapping[str, Any], params: Mapping[str, Any],
                 sectors: tuple[str, ...], settings: Any, transitions: Mapping[str, Mapping[str, Any]],
                 parse_ref: Any, cells: Any = None) -> tuple[dict[str, Event], list[str]]:
    """``[events.NAME]``: rates by state, costs and QALYs per occurrence, counters, event-driven moves."""
    col = rd.col
    # events
    events: dict[str, Event] = {}
    counters: list[str] = []
    etab = rd.table(raw.get("events", {}), "events", "a table of [events.NAME] sections") or {}
    for name, spec in etab.items():
        key = f"events.{name}"
        if not isinstance(spec, dict):
            col.add(key, "must be a table with kind, rate (by state) and costs")
            continue
        rd.check_keys(spec, EVENT_KEYS, key, "an event")
        kind = rd.string(spec.get("kind", "poisson"), f"{key}.kind", ("poisson", "bernoulli")) or "poisson"
        rates: dict[str, Expr] = {}
        rtab = rd.table(spec.get("rate"), f"{key}.rate", "a table of state = rate per cycle")
        if rtab is None:
            col.add(f"{key}.rate", "is missing: give the rate per cycle by state, e.g. rate = { Community = \"r_ae\" }")
            rtab = {}
        for sname, v in rtab.items():
            if sname not in states:
                col.unknown(f"{key}.rate.{sname}", sname, states, "state")
                continue
            if isinstance(v, dict) and cells is not None:
                e = cells(v, f"{key}.rate.{sname}", sname, "rate")
            else:
                e = rd.expr(v, f"{key}.rate.{sname}")
            if e is not None:
                if e.constant is not None and e.constant < 0:
                    col.add(f"{key}.rate.{sname}", f"rates must not be negative, got {e.constant:g}")
                rates[sname] = e
        costs = rd.costs(spec.get("costs", {}), f"{key}.costs", sectors)
        qalys = rd.expr(spec["qalys"], f"{key}.qalys") if "qalys" in spec else None
        counter = spec.get("counter")
        if counter is not None:
            if not isinstance(counter, str) or not counter.isidentifier():
                col.add(f"{key}.counter", f"must be a counter name (letters, digits, _), got {counter!r}")
                counter = None
            elif counter not in counters:
                counters.append(counter)
        moves_to = spec.get("moves_to")
        if moves_to is not None and moves_to not in states:
            col.unknown(f"{key}.moves_to", str(moves_to), states, "state")
            moves_to = None
        mp = rd.expr(spec.get("move_probability", 1.0), f"{key}.move_probability") if moves_to else None
        if mp is not None and mp.constant is not None and not 0.0 <= mp.constant <= 1.0:
            col.add(f"{key}.move_probability", f"is a probability and must be in [0, 1], got {mp.constant:g}")
        if "move_probability" in spec and "moves_to" not in spec:
            col.add(f"{key}.move_probability", "only an event with moves_to = \"STATE\" moves people")
        label = spec.get("label", name)
        expected = False
        if "expected" in spec:
            expected = bool(rd.boolean(spec["expected"], f"{key}.expected"))
            if expected and (counter is not None or moves_to is not None):
                col.add(f"{key}.expected", "an event booked in expectation cannot increment a counter or move people; "
                                           "remove counter/moves_to or set expected = false")
        events[name] = Event(name, label if isinstance(label, str) else name, kind, rates, costs, qalys, counter,
                             moves_to, mp, key, expected)

    return events, counters


def _read_covariates(raw: Mapping[str, Any], rd: Any, states: Mapping[str, Any],
                     transitions: Mapping[str, Mapping[str, Any]], parse_ref: Any, events: Mapping[str, Event],
                     counters: list[str], attr_cols: list[str]) -> tuple[list[Covariate], list[TimeInState]]:
    """``[[covariates]]`` on transitions and events, and ``[[time_in_state]]`` rate multipliers."""
    col = rd.col
    # covariates
    covs: list[Covariate] = []
    for key, spec in rd.tables(raw.get("covariates", []), "covariates", "must be an array of tables: [[covariates]]",
                               "must be a table with transition/event, attribute/counter and coefficient", COV_KEYS,
                               "a covariate"):
        trs: list[tuple[str, str]] = []
        refs = spec.get("transitions", spec.get("transition", []))
        refs = [refs] if isinstance(refs, str) else refs
        for j, r in enumerate(refs if isinstance(refs, list) else []):
            pr = parse_ref(r) if isinstance(r, str) else None
            if pr is None or pr[0] not in states or pr[1] not in states:
                col.add(f"{key}.transitions[{j}]", f"must be \"FROM -> TO\" with two states, got {r!r}")
                continue
            if pr in trs:
                col.add(f"{key}.transitions[{j}]", f"names '{r}' twice; give each transition once")
                continue
            if pr[1] not in transitions.get(pr[0], {}) or transitions[pr[0]][pr[1]] is None:
                col.add(f"{key}.transitions[{j}]", f"'{r}' is not a transition given in [transitions] (a complement "
                                                   "\"C\" cannot carry a covariate: it absorbs the change)")
                continue
            trs.append(pr)
        evs = spec.get("events", spec.get("event", []))
        evs = [evs] if isinstance(evs, str) else evs
        ev_names: list[str] = []
        for j, e in enumerate(evs if isinstance(evs, list) else []):
            if e in evs[:j]:
                col.add(f"{key}.events[{j}]", f"lists event '{e}' twice; give each once")
            elif e == "*":
                ev_names += [n for n, ev in events.items() if not ev.expected]
            elif e not in events:
                col.unknown(f"{key}.events[{j}]", str(e), events, "event")
            else:
                ev_names.append(e)
        if not trs and not ev_names:
            col.add(key, "names no transition or event to act on: give transitions = [\"A -> B\"] or events = [...]")
        attr, ctr = spec.get("attribute"), spec.get("counter")
        if (attr is None) == (ctr is None):
            col.add(key, "needs exactly one of attribute (a population attribute) or counter (an event counter)")
        elif attr is not None and attr not in attr_cols:
            col.unknown(f"{key}.attribute", str(attr), attr_cols, "attribute column")
        elif ctr is not None and ctr not in counters:
            col.unknown(f"{key}.counter", str(ctr), counters, "counter")
        coef = rd.expr(spec.get("coefficient"), f"{key}.coefficient") if "coefficient" in spec else None
        if coef is None:
            col.add(f"{key}.coefficient", "is missing: the log rate ratio per unit of the attribute or counter")
            continue
        centre = spec.get("centre", 0.0)
        if not isinstance(centre, (int, float)) or isinstance(centre, bool):
            col.add(f"{key}.centre", "must be a number")
            centre = 0.0
        for en in ev_names:
            if events[en].expected:
                col.add(f"{key}.events", f"event '{en}' is booked in expectation (expected = true) and cannot carry a "
                                         "covariate; set expected = false on it")
        covs.append(Covariate(tuple(trs), tuple(ev_names), attr, ctr, coef, float(centre), key))

    tis: list[TimeInState] = []
    for key, spec in rd.tables(raw.get("time_in_state", []), "time_in_state",
                               "must be an array of tables: [[time_in_state]]",
                               "must be a table with transition and multipliers", TIS_KEYS, "a time-in-state table"):
        pr = parse_ref(spec.get("transition", "")) if isinstance(spec.get("transition"), str) else None
        mult = spec.get("multipliers")
        if pr is None or pr[0] not in states or pr[1] not in states:
            col.add(f"{key}.transition", "must be \"FROM -> TO\" with two states")
            continue
        if (not isinstance(mult, list) or not mult or
                not all(isinstance(m, (int, float)) and not isinstance(m, bool) and m >= 0 for m in mult)):
            col.add(f"{key}.multipliers", "must be a list of rate multipliers >= 0 by cycles already spent in the state "
                                          "(the last applies from then on)")
            continue
        tis.append(TimeInState(pr, tuple(float(m) for m in mult), key))

    return covs, tis


def _read_strategy_keys(raw: Mapping[str, Any], rd: Any, states: Mapping[str, Any], sectors: tuple[str, ...],
                        settings: Any, events: Mapping[str, Event]) -> tuple[dict[str, list[EventModifier]],
                                                                            dict[str, Engagement]]:
    """The strategies' microsimulation keys: ``[[strategies.NAME.event_modifiers]]`` and ``engagement``."""
    col = rd.col
    # strategies: event modifiers and engagement
    evmods: dict[str, list[EventModifier]] = {}
    engs: dict[str, Engagement] = {}
    stab = raw.get("strategies") if isinstance(raw.get("strategies"), dict) else {}
    for sname, sspec in stab.items():
        if not isinstance(sspec, dict):
            continue
        skey = f"strategies.{sname}"
        mods = []
        for mk, m in rd.tables(sspec.get("event_modifiers", []), f"{skey}.event_modifiers",
                               "must be an array of tables: [[strategies.NAME.event_modifiers]]",
                               "must be a table with events, rr and optional cycles and waning_until", EVMOD_KEYS,
                               "an event modifier"):
            evs = m.get("events", [])
            evs = [evs] if isinstance(evs, str) else evs
            names: list[str] = []
            for j, e in enumerate(evs if isinstance(evs, list) else []):
                if e in evs[:j]:
                    col.add(f"{mk}.events[{j}]", f"lists event '{e}' twice; give each once (the rate ratio applies once)")
                elif e == "*":
                    names += [n for n, ev in events.items() if not ev.expected]
                elif e not in events:
                    col.unknown(f"{mk}.events[{j}]", str(e), events, "event")
                else:
                    names.append(e)
            if not names:
                col.add(mk, "names no event: events = [\"offence\", ...] (\"*\" for all)")
            rr = rd.expr(m.get("rr"), f"{mk}.rr") if "rr" in m else None
            if rr is None:
                col.add(f"{mk}.rr", "is missing: the rate ratio applied to the events in the window")
                continue
            if rr.constant is not None and not rr.constant >= 0:
                col.add(f"{mk}.rr", f"a rate ratio must be a number >= 0, got {rr.constant:g}")
            cyc = rd.cycles(m.get("cycles"), f"{mk}.cycles", settings.n_cycles)
            wan = m.get("waning_until")
            if wan is not None and (not isinstance(wan, int) or isinstance(wan, bool) or wan <= cyc[1]):
                col.add(f"{mk}.waning_until", f"must be a whole cycle number after the window's last cycle ({cyc[1]}): the "
                                              "rate ratio returns linearly to 1 by then")
                wan = None
            for en in names:
                if events[en].expected:
                    col.add(f"{mk}.events", f"event '{en}' is booked in expectation (expected = true) and cannot take "
                                            "a strategy rate ratio; set expected = false on it")
            mods.append(EventModifier(tuple(dict.fromkeys(names)), rr, cyc, wan, mk))
        if mods:
            evmods[sname] = mods
        if "engagement" in sspec:
            ek = f"{skey}.engagement"
            e = rd.table(sspec["engagement"], ek, "a table with sessions, cycles, attendance, dropout, costs, effect")
            if e is None:
                continue
            rd.check_keys(e, ENG_KEYS, ek, "engagement")
            sessions = rd.expr(e.get("sessions"), f"{ek}.sessions") if "sessions" in e else None
            if sessions is None:
                col.add(f"{ek}.sessions", "is missing: sessions offered per cycle (an expression)")
                continue
            cyc = rd.cycles(e.get("cycles"), f"{ek}.cycles", settings.n_cycles)
            att = rd.table(e.get("attendance", {"alpha": 1, "beta": 1e-9}), f"{ek}.attendance",
                           "a table { alpha = ..., beta = ... } of the Beta distribution of attendance propensity") or {}
            rd.check_keys(att, {"alpha", "beta"}, f"{ek}.attendance", "attendance")
            a = rd.expr(att.get("alpha", 1.0), f"{ek}.attendance.alpha")
            b = rd.expr(att.get("beta", 1e-9), f"{ek}.attendance.beta")
            drop = rd.expr(e.get("dropout", 0.0), f"{ek}.dropout")
            for x, k, what, positive in ((sessions, "sessions", "sessions offered per cycle", False),
                                         (a, "attendance.alpha", "a shape of the Beta attendance propensity", True),
                                         (b, "attendance.beta", "a shape of the Beta attendance propensity", True),
                                         (drop, "dropout", "the dropout hazard per cycle", False)):
                c = x.constant if x is not None else None
                if c is not None and not (math.isfinite(c) and (c > 0 if positive else c >= 0)):
                    col.add(f"{ek}.{k}", f"is {what} and must be a finite number {'> 0' if positive else '>= 0'}, "
                                         f"got {c:g}")
            cps = rd.costs(e.get("cost_per_session", {}), f"{ek}.cost_per_session", sectors)
            cpp = rd.costs(e.get("cost_per_place", {}), f"{ek}.cost_per_place", sectors)
            eff = rd.string(e.get("effect", "itt"), f"{ek}.effect", ("itt", "dose")) or "itt"
            sts = rd.name_list(e["states"], f"{ek}.states", states, "state") if "states" in e else None
            if a is not None and b is not None and drop is not None:
                engs[sname] = Engagement(sessions, cyc, a, b, drop, cps, cpp, eff, sts, ek)
    return evmods, engs
