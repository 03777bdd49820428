"""Load a TOML scenario (with ``extends`` and ``--set`` overrides) and check its structure.

Every problem found is collected and reported together, each naming the file, the TOML key path and what would be
valid. Everything that needs no numbers is checked here, every section (budget impact and calibration targets
included) and every distribution is parsed here, once. The numeric checks that need parameter values (probabilities
in [0, 1] at every cycle, rows summing to 1, negative costs) happen when the model is compiled for the base case:
:func:`heecon.load_scenario` does both.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any, Iterable, Mapping


from heecon.scenario.expr import KNOWN_FUNCTION_NAMES, Expr, parse
from heecon.scenario.errors import Collector, Problem, ScenarioError
from heecon.scenario.files import apply_overrides, load_chain
from heecon.scenario.analyses import read_analyses
from heecon.scenario.keys import NAME_RE, START_KEYS, TOP_KEYS, name_problem
from heecon.scenario.names import check_micro_names, check_names
from heecon.scenario.reader import Reader, existing_file, typename
from heecon.scenario.sections import read_discount, parse_transition_ref, read_joints, read_parameter, read_price_index, read_settings, read_state, read_strategies, read_table, read_transition_rewards
from heecon.scenario.model_types import add_end_state, is_pure_tree, read_model_types, read_transition_section, tree_settings
from heecon.scenario.types import (
    Parameter,
    Scenario,
    State,
    Table,
)

# --------------------------------------------------------------------------- the loader

def load_scenario(path: str | Path, overrides: Iterable[str] = ()) -> Scenario:
    """Load, merge (``extends``), override (``--set``) and check the structure of a scenario.

    Parameters
    ----------
    path
        The scenario TOML file.
    overrides
        ``key.path=value`` strings applied after ``extends`` (values in TOML syntax).

    Raises
    ------
    ScenarioError
        Listing every problem found. :func:`heecon.load_scenario` also compiles the base case and checks every
        probability, row sum and cost at every cycle.
    """
    path = Path(path)
    problems: list[Problem] = []
    raw, origins, files = load_chain(path, (), problems)
    if problems:
        raise ScenarioError(problems)
    overrides = tuple(overrides)
    apply_overrides(raw, overrides, origins, problems)
    if problems:
        raise ScenarioError(problems)
    scenario = build_scenario(raw, path, origins, files)
    scenario.overrides = overrides
    return scenario


def scenario_from_dict(raw: dict[str, Any], path: str | Path = "<scenario>") -> Scenario:
    """Check the structure of a scenario given as a Python dict (as parsed from TOML)."""
    return build_scenario(copy.deepcopy(raw), Path(path), {}, [str(path)])


def _sha256(raw: Mapping[str, Any], extra: bytes = b"") -> str:
    h = hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode())
    h.update(extra)
    return h.hexdigest()


class _OriginCollector(Collector):
    """A collector that attributes each problem to the file its key came from."""

    def __init__(self, default: str, origins: Mapping[str, str]):
        super().__init__(default)
        self.origins = origins

    def add(self, key: str, message: str) -> None:
        parts = key.replace("[", ".[").split(".")
        file = self.file
        for n in range(len(parts), 0, -1):
            k = ".".join(parts[:n]).replace(".[", "[")
            if k in self.origins:
                file = self.origins[k]
                break
        self.problems.append(Problem(file, key, message))


def build_scenario(raw: dict[str, Any], path: Path, origins: dict[str, str], files: list[str]) -> Scenario:
    col = _OriginCollector(str(path), origins)
    # Table names become functions in expressions, so collect them before parsing any expression.
    tables_raw = raw.get("tables") if isinstance(raw.get("tables"), dict) else {}
    functions = KNOWN_FUNCTION_NAMES | frozenset(k for k in tables_raw if isinstance(k, str))
    rd = Reader(col, functions)
    rd.check_keys(raw, TOP_KEYS, "", "the top level of a scenario")
    if "tables" in raw:
        rd.table(raw["tables"], "tables", "a table of lookup tables ([tables.NAME] sections)")
    fmt = raw.get("format", 1)
    if fmt != 1:
        col.add("format", f"this heecon reads scenario format 1, got {fmt!r}")

    title = raw.get("title", path.stem)
    if not isinstance(title, str):
        col.add("title", f"must be a string, got {typename(title)}")
        title = path.stem
    description = raw.get("description", "")
    if not isinstance(description, str):
        col.add("description", "must be a string")
        description = ""

    settings_raw = tree_settings(raw, rd.table(raw.get("settings", {}), "settings") or {})
    settings, sectors = read_settings(settings_raw, rd)

    params = _read_parameters(raw, rd, col)
    tables = _read_tables(tables_raw, rd, col, params, path, origins)

    states, stab = _read_states(raw, rd, col, sectors, settings)

    transitions, curves, cells = read_transition_section(raw, rd, states, params, settings)
    trewards = read_transition_rewards(raw.get("transition_rewards", []), rd, states, sectors)

    start_states, start_costs, start_qalys = _read_start(raw, rd, col, states, stab, sectors)

    strategies = read_strategies(raw.get("strategies"), rd, states, sectors, settings, transitions, params)
    if strategies:
        if not settings.comparator:
            settings.comparator = next(iter(strategies))
        elif settings.comparator not in strategies:
            col.unknown("settings.comparator", settings.comparator, strategies, "strategy")

    perspectives = _read_perspectives(raw, rd, col, settings, sectors)

    partitioned, tree, start_states = read_model_types(raw, rd, states, curves, strategies, params, settings, sectors,
                                                       start_states)
    micro = _read_micro_sections(raw, rd, col, states, params, sectors, settings, transitions, path, cells)

    joints, joint_specs = read_joints(raw.get("joints", {}), rd, params)
    analyses = read_analyses(raw, rd, path, params, perspectives, strategies, read_discount,
                             micro.events if micro is not None else None)
    price_index, price_indices = read_price_index(raw.get("price_index"), rd, params, settings, raw.get("price_indices"))

    # names used in expressions must exist
    check_names(col, params, tables, states, transitions, trewards, start_states, start_costs, start_qalys,
                 strategies, settings)

    payers, labels = _read_payers_labels(raw, rd, col, sectors, perspectives)
    budget, targets = _read_analysis_sections(raw, col, path, origins, settings, sectors, strategies, states, params,
                                              micro)
    col.raise_if_any()
    table_files = [existing_file(Path("."), f) for f in _table_files(raw, path)]
    extra = b"".join(t.read_bytes() for t in table_files if t is not None)
    return Scenario(
        path=path, files=tuple(files), title=title, description=description, settings=settings,
        parameters=params, tables=tables, states=states, transitions=transitions, transition_rewards=trewards,
        start_states=start_states, start_costs=start_costs, start_qalys=start_qalys, strategies=strategies,
        sectors=tuple(sectors), perspectives=perspectives, sha256=_sha256(raw, extra), raw=raw, origins=origins,
        joints=joints, price_index=price_index, price_indices=price_indices, microsim=micro, joint_specs=joint_specs, budget=budget, calibration_targets=targets, analyses=analyses,
        survival=curves, partitioned=partitioned, tree=tree, payers=payers, labels=labels,
    )


def _read_parameters(raw: dict[str, Any], rd: Reader, col: Collector) -> dict[str, Parameter]:
    """``[parameters]``: each one read once, a placeholder for one that failed (so its uses are not reported as
    unknown names too; the scenario is refused anyway)."""
    params: dict[str, Parameter] = {}
    ptab = rd.table(raw.get("parameters", {}), "parameters") or {}
    for name, spec in ptab.items():
        key = f"parameters.{name}"
        why = name_problem(name, "parameter")
        if why:
            col.add(key, why)
            continue
        p = read_parameter(name, spec, key, rd)
        params[name] = p if p is not None else Parameter(name=name, expr=parse(0.0), key=key)
    return params


def _read_tables(tables_raw: dict[str, Any], rd: Reader, col: Collector, params: dict[str, Parameter], path: Path,
                 origins: dict[str, str]) -> dict[str, Table]:
    """``[tables.NAME]`` lookup tables (called by name in expressions, so a name must not be a parameter's)."""
    tables: dict[str, Table] = {}
    for name, spec in (tables_raw or {}).items():
        key = f"tables.{name}"
        why = name_problem(name, "table") or (f"'{name}' cannot be a table name: a parameter has that name (tables "
                                              "are called by name in expressions, so names must differ)"
                                              if name in params else None)
        if why:
            col.add(key, why)
            continue
        t = read_table(name, spec, key, rd, path, origins)
        if t is not None:
            tables[name] = t
    return tables


def _read_states(raw: dict[str, Any], rd: Reader, col: Collector, sectors: Any,
                 settings: Any) -> tuple[dict[str, State], dict[str, Any]]:
    """``[states.NAME]`` (and the end state a model type adds); also the raw table, whose names ``[start]`` may use."""
    states: dict[str, State] = {}
    stab = rd.table(raw.get("states"), "states", "a table of states ([states.NAME] sections)")
    if not stab:
        if not is_pure_tree(raw):
            col.add("states", "a scenario needs at least two states ([states.NAME] sections)")
        stab = {}
    for name, spec in stab.items():
        key = f"states.{name}"
        if not NAME_RE.match(name):
            col.add(key, f"'{name}' cannot be a state name: use letters, digits and _ starting with a letter")
            continue
        st = read_state(name, spec, key, rd, sectors, settings)
        if st is not None:
            states[name] = st
    if len(stab) == 1:
        col.add("states", "a scenario needs at least two states")
    add_end_state(raw, states)
    for st in states.values():
        if st.tunnel_exit is not None and st.tunnel_exit not in states:
            col.unknown(f"{st.key}.tunnel_exit", st.tunnel_exit, states, "state")
    return states, stab


def _read_start(raw: dict[str, Any], rd: Reader, col: Collector, states: dict[str, State], stab: dict[str, Any],
                sectors: Any) -> tuple[dict[str, Expr], Any, Expr | None]:
    """``[start]``: the starting shares per state (all in the first state by default), costs and QALYs."""
    start_tab = rd.table(raw.get("start", {}), "start") or {}
    rd.check_keys(start_tab, START_KEYS, "start", "[start]")
    start_states: dict[str, Expr] = {}
    if "states" in start_tab:
        st_tab = rd.table(start_tab["states"], "start.states", "a table of state = share") or {}
        for sname, v in st_tab.items():
            if sname not in states and sname in stab:
                continue
            if sname not in states:
                col.unknown(f"start.states.{sname}", sname, states, "state")
                continue
            e = rd.expr(v, f"start.states.{sname}")
            if e is not None:
                start_states[sname] = e
    elif states:
        start_states = {next(iter(states)): parse(1.0)}
    start_costs = rd.costs(start_tab.get("costs", {}), "start.costs", sectors)
    start_qalys = rd.expr(start_tab["qalys"], "start.qalys") if "qalys" in start_tab else None
    return start_states, start_costs, start_qalys


def _read_perspectives(raw: dict[str, Any], rd: Reader, col: Collector, settings: Any,
                       sectors: Any) -> dict[str, tuple[str, ...]]:
    """``[perspectives]`` name = [sectors], with ``all`` (every sector) added unless a named perspective already
    counts every sector and is the headline's."""
    perspectives: dict[str, tuple[str, ...]] = {}
    ptabs = rd.table(raw.get("perspectives", {}), "perspectives", "a table of name = [sectors]") or {}
    for pname, secs in ptabs.items():
        perspectives[pname] = rd.name_list(secs, f"perspectives.{pname}", sectors, "cost sector")
        if isinstance(secs, list) and not secs:
            col.add(f"perspectives.{pname}", "lists no sector: a perspective counts the costs of at least one sector")
    if "all" not in perspectives and (settings.perspective == "all" or
                                      not any(set(v) == set(sectors) for v in perspectives.values())):
        perspectives["all"] = tuple(sectors)
    if settings.perspective not in perspectives:
        col.unknown("settings.perspective", settings.perspective, perspectives, "perspective")
    return perspectives


def _read_micro_sections(raw: dict[str, Any], rd: Reader, col: Collector, states: dict[str, State],
                         params: dict[str, Parameter], sectors: Any, settings: Any, transitions: Any, path: Path,
                         cells: Any) -> Any:
    """The microsimulation sections (population, events, covariates, time in state, event modifiers, engagement):
    read when ``settings.engine = "microsim"``, refused otherwise; then ``settings.averted_events`` checked."""
    micro = None
    micro_keys = [k for k in ("population", "events", "covariates", "time_in_state") if k in raw]
    micro_keys += [f"strategies.{n}.{k}" for n, sp in (raw.get("strategies") or {}).items() if isinstance(sp, dict)
                   for k in ("event_modifiers", "engagement") if k in sp] if isinstance(raw.get("strategies"), dict) else []
    if settings.engine == "microsim":
        from heecon.scenario.microsim_spec import read_microsim

        micro = read_microsim(raw, rd, states, params, tuple(sectors), settings, transitions, path, parse_transition_ref, cells)
        check_micro_names(col, micro, params, settings)
    elif micro_keys:
        col.add(micro_keys[0], "is a microsimulation section: set settings.engine = \"microsim\" to use it")
    _check_averted_events(col, settings, micro)
    return micro



def _read_payers_labels(raw: dict[str, Any], rd: Reader, col: Collector, sectors: Any,
                        perspectives: dict[str, tuple[str, ...]]) -> tuple[dict[str, tuple[str, ...]] | None, dict[str, str]]:
    """``[payers]`` (payer = [sectors], each sector with at most one payer) and ``[labels]`` (a sector's or a
    perspective's display name)."""
    payers = None
    if "payers" in raw:
        tab = rd.table(raw["payers"], "payers", "a table of payer = [sectors], e.g. NHS = [\"service\", \"nhs\"]") or {}
        payers = {}
        seen: dict[str, str] = {}
        for name, secs in tab.items():
            got = rd.name_list(secs, f"payers.{name}", sectors, "cost sector")
            for x in got:
                if x in seen:
                    col.add(f"payers.{name}", f"sector '{x}' is already paid by '{seen[x]}': each sector has one payer")
                seen.setdefault(x, name)
            if isinstance(secs, list) and not secs:
                col.add(f"payers.{name}", "lists no sector")
            payers[name] = got
    labels: dict[str, str] = {}
    tab = rd.table(raw.get("labels", {}), "labels", "a table of sector or perspective = \"display name\"") or {}
    known = list(sectors) + list(perspectives)
    for k, v in tab.items():
        if k not in known:
            col.unknown(f"labels.{k}", k, known, "sector or perspective")
            continue
        text = rd.string(v, f"labels.{k}")
        if text is not None:
            labels[k] = text
    return payers, labels

def _check_averted_events(col: Collector, settings: Any, micro: Any) -> None:
    """``settings.averted_events`` must name events of the scenario (a name that is not one would silently count
    nothing in the headline)."""
    events = {n: e for n, e in (micro.events.items() if micro is not None else ())}
    for i, name in enumerate(settings.averted_events):
        key = f"settings.averted_events[{i}]"
        if micro is None:
            col.add(key, f"names event '{name}', but a cohort model has no events ([events.NAME] sections are "
                         "microsimulation sections: settings.engine = \"microsim\")")
        elif name not in events:
            col.unknown(key, name, events, "event")


def _table_files(raw: Mapping[str, Any], path: Path) -> list[str]:
    out = []
    tables = raw.get("tables")
    for spec in (tables.values() if isinstance(tables, dict) else ()):
        if isinstance(spec, dict) and isinstance(spec.get("file"), str):
            out.append(str(path.parent / spec["file"]))
    return out


def _read_analysis_sections(raw: Mapping[str, Any], col: Collector, path: Path, origins: Mapping[str, str],
                            settings: Any, sectors: Any, strategies: Any, states: Any, params: Any,
                            micro: Any) -> tuple[Any, list[Any]]:
    """``[budget_impact]`` and ``[calibration]``, read with what the other sections gave (problems into ``col``)."""
    from types import SimpleNamespace

    from heecon.scenario.budget_spec import SECTION, read_budget_spec
    from heecon.scenario.calibration_targets import read_targets

    def origin(key: str) -> str:
        parts = key.split(".")
        for n in range(len(parts), 0, -1):
            k = ".".join(parts[:n])
            if k in origins:
                return origins[k]
        return str(path)

    ctx = SimpleNamespace(raw=raw, origin=origin, path=path, settings=settings, sectors=tuple(sectors),
                          strategies=strategies, states=states, parameters=params, microsim=micro)
    budget = None
    targets: list[Any] = []
    if raw.get(SECTION) is not None:
        try:
            budget = read_budget_spec(ctx)
        except ScenarioError as exc:
            col.problems.extend(exc.problems)
    if "calibration" in raw:
        try:
            targets = read_targets(ctx)
        except ScenarioError as exc:
            col.problems.extend(exc.problems)
    return budget, targets
