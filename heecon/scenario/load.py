"""Load a TOML scenario (with ``extends`` and ``--set`` overrides) and validate it.

Every problem found is collected and reported together, each naming the file,
the TOML key path and what would be valid. Structural checks happen here;
numeric checks that need parameter values (probabilities in [0, 1] at every
cycle, rows summing to 1, negative costs) happen when the model is compiled
for the base case, which :func:`load_scenario` does too unless ``check=False``.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from heecon.scenario.expr import KNOWN_FUNCTION_NAMES, TIME_NAMES, Expr, ExprError, parse
from heecon.scenario.errors import Collector, Problem, ScenarioError, did_you_mean, valid_list
from heecon.scenario.types import (
    COUNTING_METHODS,
    DEFAULT_SECTORS,
    DISCOUNTING_METHODS,
    ENGINES,
    DiscountSchedule,
    ExtraCost,
    Modifier,
    Parameter,
    PriceIndex,
    Scenario,
    Settings,
    State,
    Strategy,
    Table,
    TransitionReward,
)

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED = frozenset(TIME_NAMES) | {"tunnel_cycle", "C"} | KNOWN_FUNCTION_NAMES

TOP_KEYS = {
    "title": "a short title",
    "description": "a longer description",
    "extends": "the scenario this one modifies (a path relative to this file)",
    "format": "the scenario format version (1)",
    "settings": "model settings",
    "parameters": "named inputs",
    "tables": "lookup tables by age or cycle",
    "states": "health/model states",
    "transitions": "transition probabilities by from-state",
    "transition_rewards": "one-off costs and QALY changes on moves",
    "start": "starting distribution and one-off costs at model start",
    "strategies": "the strategies compared",
    "perspectives": "named sets of cost sectors",
    "price_index": "a published price index to bring costs to settings.price_year",
    "joints": "joint PSA distributions over groups of parameters (dirichlet, mvnormal, copula)",
    "population": "microsimulation population",
    "covariates": "microsimulation covariates on transitions and events",
    "time_in_state": "microsimulation rate multipliers by time in state",
    "events": "microsimulation events",
    "engagement": "microsimulation treatment engagement",
    "calibration": "calibration targets",
    "budget_impact": "budget impact settings",
    "evppi": "EVPPI settings",
    "dsa": "deterministic sensitivity settings",
    "gsa": "global sensitivity settings",
}
SETTINGS_KEYS = {
    "engine", "cycle_length_months", "horizon_years", "horizon_cycles", "start_age", "counting", "discounting",
    "discount_costs", "discount_effects", "wtp", "comparator", "currency", "price_year", "sectors", "perspective",
    "seed", "psa_samples", "individuals", "population_size", "evpi_years", "wtp_grid", "averted_events",
    "averted_label", "device", "trajectories", "report",
}
PARAM_KEYS = {"value", "source", "distribution", "range", "unit", "price_year", "label", "assumption", "notes"}
STATE_KEYS = {"label", "utility", "costs", "absorbing", "dead", "tunnel", "tunnel_exit", "description"}
TABLE_KEYS = {"file", "key", "value", "keys", "values", "kind", "interpolation", "multiplier", "source", "by"}
TR_KEYS = {"from", "to", "costs", "qalys", "strategies", "label", "source"}
START_KEYS = {"states", "costs", "qalys"}
STRATEGY_KEYS = {"label", "description", "parameters", "modifiers", "costs", "utilities", "event_modifiers", "engagement"}
MODIFIER_KEYS = {"transitions", "transition", "rr", "hr", "value", "cycles", "label"}
EXTRA_COST_KEYS = {"states", "costs", "cycles", "label"}


# --------------------------------------------------------------------------- TOML reading, extends, --set

def _read_toml(path: Path, col: Collector) -> dict[str, Any] | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        col.add("", f"file not found: {path}")
        return None
    except OSError as exc:
        col.add("", f"cannot read {path}: {exc}")
        return None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        col.add("", "the file is not UTF-8 text")
    except ValueError as exc:  # TOMLDecodeError, and tomllib's ValueError for an integer of over 4300 digits
        col.add("", f"not valid TOML: {exc}")
    return None


# Tables that are one definition: a child file replaces them whole instead of merging key by key (a parameter
# redefined with a table, any distribution), so that e.g. a fixed value never inherits the parent's lognormal keys.
_WHOLE = re.compile(r"^(parameters\.[^.]+|.*\.distribution)$")


def _merge(base: dict[str, Any], over: Mapping[str, Any], origins: dict[str, str], file: str, prefix: str = "") -> None:
    for k, v in over.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and isinstance(base.get(k), dict) and not _WHOLE.match(key):
            _merge(base[k], v, origins, file, key + ".")
        else:
            base[k] = copy.deepcopy(v)
            _mark(origins, key, v, file)


def _mark(origins: dict[str, str], key: str, v: Any, file: str) -> None:
    origins[key] = file
    if isinstance(v, Mapping):
        for k2, v2 in v.items():
            _mark(origins, f"{key}.{k2}", v2, file)


def _load_chain(path: Path, seen: tuple[Path, ...], problems: list[Problem]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    col = Collector(path)
    raw = _read_toml(path, col)
    if raw is None:
        problems.extend(col.problems)
        return {}, {}, [str(path)]
    files = [str(path)]
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    parent = raw.get("extends")
    if parent is not None:
        if not isinstance(parent, str) or not parent:
            col.add("extends", f"must be a path to another scenario file (a string), got {parent!r}")
        else:
            found = _existing_file(path.parent, parent)
            ppath = found or path.parent / parent
            if ppath in seen or ppath == path.resolve():
                chain = " -> ".join(str(p) for p in (*seen, path.resolve(), ppath))
                col.add("extends", f"scenario files extend each other in a cycle: {chain}")
            elif found is None:
                col.add("extends", f"the file {parent!r} does not exist (looked for {ppath})")
            else:
                merged, origins, pfiles = _load_chain(ppath, (*seen, path.resolve()), problems)
                files = pfiles + files
    problems.extend(col.problems)
    body = {k: v for k, v in raw.items() if k != "extends"}
    _merge(merged, body, origins, str(path))
    return merged, origins, files


def parse_set_value(text: str) -> Any:
    """A ``--set`` value: TOML syntax where it parses (numbers, booleans, lists), else a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except ValueError:  # TOMLDecodeError (or an integer of over 4300 digits): not a TOML value
        return text


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str], origins: dict[str, str], problems: list[Problem]) -> None:
    for item in overrides:
        if "=" not in item:
            problems.append(Problem("--set", item, "must look like key.path=value, e.g. settings.horizon_years=20"))
            continue
        key, value = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        if not all(parts):
            problems.append(Problem("--set", key, "is not a valid key path"))
            continue
        node = raw
        ok = True
        for p in parts[:-1]:
            nxt = node.get(p)
            if nxt is None:
                nxt = node[p] = {}
            if not isinstance(nxt, dict):
                problems.append(Problem("--set", key, f"'{p}' is a value, not a table, so it has no keys"))
                ok = False
                break
            node = nxt
        if ok:
            node[parts[-1]] = parse_set_value(value.strip())
            origins[key] = "--set"


# --------------------------------------------------------------------------- small readers

class _Reader:
    """Typed access to raw TOML values that records problems instead of raising."""

    def __init__(self, col: Collector, functions: frozenset[str]):
        self.col = col
        self.functions = functions

    def check_keys(self, table: Mapping[str, Any], allowed: Iterable[str], key: str, what: str) -> None:
        allowed = set(allowed)
        for k in table:
            if k not in allowed:
                self.col.add(f"{key}.{k}" if key else k,
                             f"unknown key in {what}.{did_you_mean(k, allowed)} Valid keys: {valid_list(allowed)}.")

    def tables(self, value: Any, key: str, array_msg: str, item_msg: str, allowed: Iterable[str],
               what: str) -> list[tuple[str, dict[str, Any]]]:
        """The tables of an array of tables (``[[...]]``) as (key path, table).

        A value that is not an array records ``array_msg`` at ``key``; an item that is not a table records
        ``item_msg`` at ``key[i]``; a table's unknown keys are recorded as :meth:`check_keys` does.
        """
        if not isinstance(value, list):
            self.col.add(key, array_msg)
            return []
        out = []
        for i, spec in enumerate(value):
            k = f"{key}[{i}]"
            if not isinstance(spec, dict):
                self.col.add(k, item_msg)
                continue
            self.check_keys(spec, allowed, k, what)
            out.append((k, spec))
        return out

    def table(self, value: Any, key: str, what: str = "a table") -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.col.add(key, f"must be {what} (e.g. [{key}] with keys below it), got {_typename(value)} {value!r}")
            return None
        return value

    def number(self, value: Any, key: str, *, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False, integer: bool = False) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a whole number" if integer else "a number"
            self.col.add(key, f"must be {kind}{_range_text(lo, hi, lo_open, hi_open)}. Got {_typename(value)} {value!r}.")
            return None
        v = _to_float(value)
        if integer and not v.is_integer():
            self.col.add(key, f"must be a whole number{_range_text(lo, hi, lo_open, hi_open)}. Got {value!r}.")
            return None
        bad = (not math.isfinite(v)) or (lo is not None and (v <= lo if lo_open else v < lo)) or (
            hi is not None and (v >= hi if hi_open else v > hi))
        if bad:
            self.col.add(key, f"must be a number{_range_text(lo, hi, lo_open, hi_open)}. Got {value!r}.")
            return None
        return v

    def string(self, value: Any, key: str, choices: Iterable[str] | None = None) -> str | None:
        if not isinstance(value, str):
            self.col.add(key, f"must be a string, got {_typename(value)} {value!r}")
            return None
        if choices is not None:
            ch = list(choices)
            if value not in ch:
                self.col.add(key, f"must be one of {valid_list(ch)}.{did_you_mean(value, ch)} Got {value!r}.")
                return None
        return value

    def boolean(self, value: Any, key: str) -> bool | None:
        if not isinstance(value, bool):
            self.col.add(key, f"must be true or false, got {_typename(value)} {value!r}")
            return None
        return value

    def expr(self, value: Any, key: str) -> Expr | None:
        if isinstance(value, dict):
            self.col.add(key, "must be a number or an expression string; a table is only allowed for [parameters] "
                              "entries (with 'value = ...')")
            return None
        try:
            return parse(value, self.functions)
        except ExprError as exc:
            self.col.add(key, str(exc))
            return None

    def cycles(self, value: Any, key: str, n_cycles: int) -> tuple[int, int]:
        if value is None:
            return (1, max(n_cycles, 1))
        if (not isinstance(value, list) or len(value) != 2 or
                not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            self.col.add(key, f"must be [first, last], two whole cycle numbers (1-based, inclusive), got {value!r}")
            return (1, max(n_cycles, 1))
        lo, hi = value
        if lo < 1 or hi < lo:
            self.col.add(key, f"must be [first, last] with 1 <= first <= last, got {value!r}")
            return (1, max(n_cycles, 1))
        if n_cycles and lo > n_cycles:
            self.col.add(key, f"starts at cycle {lo}, after the model's last cycle ({n_cycles})")
        return (lo, min(hi, n_cycles) if n_cycles else hi)

    def name_list(self, value: Any, key: str, valid: Iterable[str], what: str, allow_star: bool = False) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.col.add(key, f"must be a list of {what} names, got {value!r}")
            return ()
        valid = list(valid)
        out = []
        for i, v in enumerate(value):
            if allow_star and v == "*":
                out.append(v)
            elif v not in valid:
                self.col.unknown(f"{key}[{i}]", v, valid, what)
            else:
                out.append(v)
        return tuple(out)

    def costs(self, value: Any, key: str, sectors: tuple[str, ...]) -> dict[str, Expr]:
        tab = self.table(value, key, "a table of cost sector = amount (e.g. costs = { nhs = 120 })")
        out: dict[str, Expr] = {}
        if tab is None:
            return out
        for sector, v in tab.items():
            if sector not in sectors:
                self.col.add(f"{key}.{sector}", f"unknown cost sector '{sector}'.{did_you_mean(sector, sectors)} "
                                                f"Valid sectors: {valid_list(sectors)} (declare others in settings.sectors).")
                continue
            e = self.expr(v, f"{key}.{sector}")
            if e is not None:
                if e.constant is not None and e.constant < 0:
                    self.col.add(f"{key}.{sector}", f"costs must not be negative, got {e.constant:g}")
                out[sector] = e
        return out


def _to_float(v: int | float) -> float:
    """float(v), with integers beyond float range (tomllib reads integers of any size) as +-inf."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _existing_file(base: Path, name: str) -> Path | None:
    """``base / name`` resolved, or None where it is not an existing file (or not a usable path at all)."""
    try:
        p = (base / name).resolve()
        return p if p.is_file() else None
    except (OSError, ValueError):  # e.g. a name too long for the OS, or with a NUL character
        return None


def _is_number_text(x: Any) -> bool:
    try:
        float(x)
        return True
    except (TypeError, ValueError):
        return False


def _typename(v: Any) -> str:
    return {bool: "a boolean", int: "a whole number", float: "a number", str: "the string", list: "a list",
            dict: "a table"}.get(type(v), type(v).__name__)


def _range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f" {'>' if lo_open else '>='} {lo:g}"
    if lo is None:
        return f" {'<' if hi_open else '<='} {hi:g}"
    return f" in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"


# --------------------------------------------------------------------------- the loader

def load_scenario(path: str | Path, overrides: Iterable[str] = (), *, check: bool = True) -> Scenario:
    """Load, merge (``extends``), override (``--set``) and validate a scenario.

    Parameters
    ----------
    path
        The scenario TOML file.
    overrides
        ``key.path=value`` strings applied after ``extends`` (values in TOML syntax).
    check
        Also compile the base case and check every probability, row sum and cost
        at every cycle (default). All problems are reported together.

    Raises
    ------
    ScenarioError
        Listing every problem found.
    """
    path = Path(path)
    problems: list[Problem] = []
    raw, origins, files = _load_chain(path, (), problems)
    if problems:
        raise ScenarioError(problems)
    apply_overrides(raw, overrides, origins, problems)
    if problems:
        raise ScenarioError(problems)
    scenario = build_scenario(raw, path, origins, files)
    if check:
        from heecon.model.markov import check_scenario

        check_scenario(scenario)
    return scenario


def scenario_from_dict(raw: dict[str, Any], path: str | Path = "<scenario>", *, check: bool = True) -> Scenario:
    """Validate a scenario given as a Python dict (as parsed from TOML)."""
    scenario = build_scenario(copy.deepcopy(raw), Path(path), {}, [str(path)])
    if check:
        from heecon.model.markov import check_scenario

        check_scenario(scenario)
    return scenario


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
    rd = _Reader(col, functions)
    rd.check_keys(raw, TOP_KEYS, "", "the top level of a scenario")
    if "tables" in raw:
        rd.table(raw["tables"], "tables", "a table of lookup tables ([tables.NAME] sections)")
    fmt = raw.get("format", 1)
    if fmt != 1:
        col.add("format", f"this heecon reads scenario format 1, got {fmt!r}")

    title = raw.get("title", path.stem)
    if not isinstance(title, str):
        col.add("title", f"must be a string, got {_typename(title)}")
        title = path.stem
    description = raw.get("description", "")
    if not isinstance(description, str):
        col.add("description", "must be a string")
        description = ""

    settings_raw = rd.table(raw.get("settings", {}), "settings") or {}
    settings, sectors = _read_settings(settings_raw, rd)

    # parameters
    params: dict[str, Parameter] = {}
    ptab = rd.table(raw.get("parameters", {}), "parameters") or {}
    for name, spec in ptab.items():
        key = f"parameters.{name}"
        if not NAME_RE.match(name) or name in RESERVED:
            col.add(key, f"'{name}' cannot be a parameter name: use letters, digits and _ starting with a letter, "
                         f"and none of the reserved names ({', '.join(sorted(TIME_NAMES | {'tunnel_cycle'}))}, "
                         "function names, 'C')")
            continue
        p = _read_parameter(name, spec, key, rd)
        # A parameter that failed is already reported; a placeholder keeps its uses from being reported as
        # unknown names too (the scenario is refused anyway).
        params[name] = p if p is not None else Parameter(name=name, expr=parse(0.0), key=key)

    # tables
    tables: dict[str, Table] = {}
    for name, spec in (tables_raw or {}).items():
        key = f"tables.{name}"
        if not NAME_RE.match(name) or name in RESERVED or name in params:
            col.add(key, f"'{name}' cannot be a table name (it must be a plain name not used by a parameter or function)")
            continue
        t = _read_table(name, spec, key, rd, path, origins)
        if t is not None:
            tables[name] = t

    # states
    states: dict[str, State] = {}
    stab = rd.table(raw.get("states"), "states", "a table of states ([states.NAME] sections)")
    if not stab:
        col.add("states", "a scenario needs at least two states ([states.NAME] sections)")
        stab = {}
    for name, spec in stab.items():
        key = f"states.{name}"
        if not NAME_RE.match(name):
            col.add(key, f"'{name}' cannot be a state name: use letters, digits and _ starting with a letter")
            continue
        st = _read_state(name, spec, key, rd, sectors, settings)
        if st is not None:
            states[name] = st
    if len(stab) == 1:
        col.add("states", "a scenario needs at least two states")
    for st in states.values():
        if st.tunnel_exit is not None and st.tunnel_exit not in states:
            col.unknown(f"{st.key}.tunnel_exit", st.tunnel_exit, states, "state")

    transitions = _read_transitions(raw.get("transitions"), rd, states)
    trewards = _read_transition_rewards(raw.get("transition_rewards", []), rd, states, sectors)

    # start
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

    strategies = _read_strategies(raw.get("strategies"), rd, states, sectors, settings, transitions, params)
    if strategies:
        if not settings.comparator:
            settings.comparator = next(iter(strategies))
        elif settings.comparator not in strategies:
            col.unknown("settings.comparator", settings.comparator, strategies, "strategy")

    # perspectives
    perspectives: dict[str, tuple[str, ...]] = {}
    ptabs = rd.table(raw.get("perspectives", {}), "perspectives", "a table of name = [sectors]") or {}
    for pname, secs in ptabs.items():
        perspectives[pname] = rd.name_list(secs, f"perspectives.{pname}", sectors, "cost sector")
    # "all" (every sector) is added unless a named perspective already counts every sector and is the headline's
    if "all" not in perspectives and (settings.perspective == "all" or
                                      not any(set(v) == set(sectors) for v in perspectives.values())):
        perspectives["all"] = tuple(sectors)
    if settings.perspective not in perspectives:
        col.unknown("settings.perspective", settings.perspective, perspectives, "perspective")

    micro = None
    micro_keys = [k for k in ("population", "events", "covariates", "time_in_state") if k in raw]
    micro_keys += [f"strategies.{n}.{k}" for n, sp in (raw.get("strategies") or {}).items() if isinstance(sp, dict)
                   for k in ("event_modifiers", "engagement") if k in sp] if isinstance(raw.get("strategies"), dict) else []
    if settings.engine == "microsim":
        from heecon.scenario.microsim_spec import read_microsim

        micro = read_microsim(raw, rd, states, params, tuple(sectors), settings, transitions, path, _parse_transition_ref)
        _check_micro_names(col, micro, params, settings)
    elif micro_keys:
        col.add(micro_keys[0], "is a microsimulation section: set settings.engine = \"microsim\" to use it")

    joints = _read_joints(raw.get("joints", {}), rd, params)
    price_index = _read_price_index(raw.get("price_index"), rd, params, settings)

    # names used in expressions must exist
    _check_names(col, params, tables, states, transitions, trewards, start_states, start_costs, start_qalys,
                 strategies, settings)

    col.raise_if_any()
    table_files = [_existing_file(Path("."), f) for f in _table_files(raw, path)]
    extra = b"".join(t.read_bytes() for t in table_files if t is not None)
    return Scenario(
        path=path, files=tuple(files), title=title, description=description, settings=settings,
        parameters=params, tables=tables, states=states, transitions=transitions, transition_rewards=trewards,
        start_states=start_states, start_costs=start_costs, start_qalys=start_qalys, strategies=strategies,
        sectors=tuple(sectors), perspectives=perspectives, sha256=_sha256(raw, extra), raw=raw, origins=origins,
        joints=joints, price_index=price_index, microsim=micro,
    )


def _table_files(raw: Mapping[str, Any], path: Path) -> list[str]:
    out = []
    tables = raw.get("tables")
    for spec in (tables.values() if isinstance(tables, dict) else ()):
        if isinstance(spec, dict) and isinstance(spec.get("file"), str):
            out.append(str(path.parent / spec["file"]))
    return out


def _read_price_index(raw: Any, rd: _Reader, params: Mapping[str, Parameter], settings: Settings) -> PriceIndex | None:
    col = rd.col
    dated = [p for p in params.values() if p.price_year is not None]
    if raw is None:
        if settings.price_year is not None:
            for p in dated:
                if p.price_year != settings.price_year:
                    col.add(f"{p.key}.price_year", f"is {p.price_year} but settings.price_year is {settings.price_year}: "
                                                   "give a [price_index] (years, values, source) to bring costs to one price year")
        return None
    tab = rd.table(raw, "price_index", "a table with name, source, years and values")
    if tab is None:
        return None
    rd.check_keys(tab, {"name", "source", "years", "values"}, "price_index", "[price_index]")
    years, values = tab.get("years"), tab.get("values")
    ok = (isinstance(years, list) and isinstance(values, list) and years and len(years) == len(values)
          and all(isinstance(y, int) and not isinstance(y, bool) for y in years)
          and all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in values))
    if not ok:
        col.add("price_index", "needs years = [whole years] and values = [positive index values] of the same length")
        return None
    if not isinstance(tab.get("source"), str) or not tab.get("source"):
        col.add("price_index.source", "every price index needs its source (publisher, table, year)")
    if settings.price_year is None:
        col.add("settings.price_year", "is needed with a [price_index]: the year every cost is brought to")
    have = set(years)
    for p in dated:
        if p.price_year not in have:
            col.add(f"{p.key}.price_year", f"{p.price_year} is not covered by [price_index] (years {min(years)}-{max(years)})")
    if settings.price_year is not None and settings.price_year not in have:
        col.add("settings.price_year", f"{settings.price_year} is not covered by [price_index] (years {min(years)}-{max(years)})")
    return PriceIndex(str(tab.get("name", "price index")), str(tab.get("source", "")), tuple(years), tuple(float(v) for v in values))


def _read_joints(raw: Any, rd: _Reader, params: Mapping[str, Parameter]) -> dict[str, dict[str, Any]]:
    tab = rd.table(raw, "joints", "a table of [joints.NAME] sections") or {}
    out: dict[str, dict[str, Any]] = {}
    if not tab:
        return out
    try:
        from heecon.params import DistributionError, parse_distribution, parse_joint, validate_joints
    except ImportError:  # pragma: no cover
        return out
    parsed = []
    for name, spec in tab.items():
        key = f"joints.{name}"
        try:
            j = parse_joint(spec, where=key)
        except DistributionError as exc:  # names its own key path (joints.NAME.corr, ...)
            rd.col.add(exc.where, exc.message)
            continue
        except (ValueError, TypeError) as exc:
            rd.col.add(key, str(exc))
            continue
        missing = [m for m in j.members if m not in params]
        for m in missing:
            rd.col.unknown(f"{key}.members", m, params, "parameter")
        if not missing:
            parsed.append(j)
            out[name] = spec
    if parsed and not rd.col.problems:
        marg = {}
        for n, p in params.items():
            if p.distribution is not None:
                try:
                    marg[n] = parse_distribution(p.distribution, where=f"{p.key}.distribution")
                except (DistributionError, ValueError, TypeError):
                    pass
        try:
            validate_joints(marg, parsed)
        except (DistributionError, ValueError) as exc:
            rd.col.add("joints", str(exc))
    return out


def _read_settings(s: dict[str, Any], rd: _Reader) -> tuple[Settings, tuple[str, ...]]:
    col = rd.col
    rd.check_keys(s, SETTINGS_KEYS, "settings", "[settings]")
    st = Settings()
    if "engine" in s:
        st.engine = rd.string(s["engine"], "settings.engine", ENGINES) or st.engine
    if "cycle_length_months" in s:
        v = rd.number(s["cycle_length_months"], "settings.cycle_length_months", lo=0, lo_open=True, hi=1200)
        st.cycle_length_months = v if v is not None else st.cycle_length_months
    if "horizon_years" in s and "horizon_cycles" in s:
        col.add("settings.horizon_years", "give either horizon_years or horizon_cycles, not both")
    elif "horizon_cycles" in s:
        v = rd.number(s["horizon_cycles"], "settings.horizon_cycles", lo=1, hi=100000, integer=True)
        st.n_cycles = int(v) if v is not None else 1
    elif "horizon_years" in s:
        v = rd.number(s["horizon_years"], "settings.horizon_years", lo=0, lo_open=True, hi=1000)
        if v is not None:
            n = v / st.cycle_years
            if not n <= 100000:  # the limit of horizon_cycles (a tiny cycle length would make billions of cycles)
                col.add("settings.horizon_years", f"{v:g} years of {st.cycle_length_months:g}-month cycles is {n:.4g} "
                                                  "cycles; at most 100000 are allowed")
                n = 1
            elif abs(n - round(n)) > 1e-9:
                col.add("settings.horizon_years", f"{v:g} years is not a whole number of {st.cycle_length_months:g}-month "
                                                  f"cycles ({n:.4g}); use horizon_cycles or adjust the horizon")
            st.n_cycles = max(1, int(round(n)))
    else:
        col.add("settings", "the horizon is missing: give settings.horizon_years (e.g. 10) or settings.horizon_cycles")
        st.n_cycles = 1
    if "start_age" in s:
        st.start_age = rd.number(s["start_age"], "settings.start_age", lo=0, hi=130)
    if "counting" in s:
        st.counting = rd.string(s["counting"], "settings.counting", COUNTING_METHODS) or st.counting
    if "discounting" in s:
        st.discounting = rd.string(s["discounting"], "settings.discounting", DISCOUNTING_METHODS) or st.discounting
    for which in ("discount_costs", "discount_effects"):
        if which in s:
            sched = _read_discount(s[which], f"settings.{which}", rd)
            if sched is not None:
                setattr(st, which, sched)
    if "wtp" in s:
        w = s["wtp"]
        if isinstance(w, (int, float)) and not isinstance(w, bool):
            w = [w]
        if not isinstance(w, list) or not w:
            col.add("settings.wtp", f"must be a list of willingness-to-pay thresholds, e.g. [20000, 30000]; got {w!r}")
        else:
            vals = [rd.number(x, f"settings.wtp[{i}]", lo=0) for i, x in enumerate(w)]
            if all(v is not None for v in vals):
                st.wtp = tuple(float(v) for v in vals)  # type: ignore[arg-type]
    if "comparator" in s:
        st.comparator = rd.string(s["comparator"], "settings.comparator") or ""
    if "currency" in s:
        st.currency = rd.string(s["currency"], "settings.currency") or st.currency
    if "price_year" in s:
        v = rd.number(s["price_year"], "settings.price_year", lo=1900, hi=2200, integer=True)
        st.price_year = int(v) if v is not None else None
    if "perspective" in s:
        st.perspective = rd.string(s["perspective"], "settings.perspective") or st.perspective
    if "seed" in s:
        v = rd.number(s["seed"], "settings.seed", lo=0, hi=2**63 - 1, integer=True)
        st.seed = int(v) if v is not None else st.seed
    if "psa_samples" in s:
        v = rd.number(s["psa_samples"], "settings.psa_samples", lo=0, hi=10_000_000, integer=True)
        st.psa_samples = int(v) if v is not None else 0
    if "averted_events" in s:
        ae = s["averted_events"]
        if not isinstance(ae, list) or not all(isinstance(x, str) for x in ae):
            col.add("settings.averted_events", "must be a list of event names, e.g. [\"offence_other\"]")
        else:
            st.averted_events = tuple(ae)
    if "report" in s:
        st.report = bool(rd.boolean(s["report"], "settings.report"))
    if "trajectories" in s:
        v = rd.number(s["trajectories"], "settings.trajectories", lo=0, hi=1e7, integer=True)
        st.trajectories = int(v) if v is not None else 0
    if "device" in s:
        st.device = rd.string(s["device"], "settings.device", ("cpu", "gpu", "auto")) or st.device
    if "averted_label" in s:
        st.averted_label = rd.string(s["averted_label"], "settings.averted_label") or st.averted_label
    if "population_size" in s:
        st.population_size = rd.number(s["population_size"], "settings.population_size", lo=0)
    if "evpi_years" in s:
        v = rd.number(s["evpi_years"], "settings.evpi_years", lo=1, hi=200, integer=True)
        st.evpi_years = int(v) if v is not None else st.evpi_years
    if "wtp_grid" in s:
        g = s["wtp_grid"]
        if (not isinstance(g, list) or len(g) != 3 or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in g)
                or g[0] < 0 or g[1] <= g[0] or g[2] <= 0 or (g[1] - g[0]) / g[2] > 100000):
            col.add("settings.wtp_grid", f"must be [start, stop, step] with 0 <= start < stop and step > 0 "
                                         f"(at most 100,000 points), e.g. [0, 50000, 500]; got {g!r}")
        else:
            st.wtp_grid = (float(g[0]), float(g[1]), float(g[2]))
    if "individuals" in s:
        v = rd.number(s["individuals"], "settings.individuals", lo=1, hi=1e9, integer=True)
        st.individuals = int(v) if v is not None else st.individuals
    sectors: tuple[str, ...] = DEFAULT_SECTORS
    if "sectors" in s:
        secs = s["sectors"]
        if not isinstance(secs, list) or not secs or not all(isinstance(x, str) and NAME_RE.match(x) for x in secs):
            col.add("settings.sectors", f"must be a non-empty list of sector names (letters, digits, _), got {secs!r}")
        elif len(set(secs)) != len(secs):
            col.add("settings.sectors", "lists a sector twice")
        else:
            reserved = {"qalys", "lys", "total"} & set(secs)
            if reserved:
                col.add("settings.sectors", f"{sorted(reserved)} are outcome names, not cost sectors")
            else:
                sectors = tuple(secs)
    return st, sectors


def _read_discount(v: Any, key: str, rd: _Reader) -> DiscountSchedule | None:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        r = rd.number(v, key, lo=0, hi=1, hi_open=True)
        if r is None:
            return None
        if r >= 0.5:
            rd.col.add(key, f"must be a rate as a fraction in [0, 0.5), e.g. 0.035 for 3.5%; got {v!r}")
            return None
        return DiscountSchedule.constant(r)
    if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
        froms, rates = [], []
        for i, band in enumerate(v):
            rd.check_keys(band, {"from_year", "rate"}, f"{key}[{i}]", "a discount band")
            f = rd.number(band.get("from_year"), f"{key}[{i}].from_year", lo=0)
            r = rd.number(band.get("rate"), f"{key}[{i}].rate", lo=0, hi=0.5, hi_open=True)
            if f is None or r is None:
                return None
            froms.append(f)
            rates.append(r)
        if froms[0] != 0 or any(b <= a for a, b in zip(froms, froms[1:])):
            rd.col.add(key, "the bands' from_year values must start at 0 and increase, e.g. "
                            "[{from_year = 0, rate = 0.035}, {from_year = 30, rate = 0.03}]")
            return None
        return DiscountSchedule(tuple(froms), tuple(rates))
    rd.col.add(key, "must be an annual rate (e.g. 0.035) or a schedule of bands "
                    "[{from_year = 0, rate = 0.035}, {from_year = 30, rate = 0.03}]; got " + repr(v))
    return None


def _read_parameter(name: str, spec: Any, key: str, rd: _Reader) -> Parameter | None:
    if not isinstance(spec, dict):
        e = rd.expr(spec, key)
        return Parameter(name=name, expr=e, key=key) if e is not None else None
    rd.check_keys(spec, PARAM_KEYS, key, "a parameter")
    if "value" not in spec:
        rd.col.add(key, "a parameter table needs 'value' (a number or an expression), e.g. "
                        f"{name} = {{ value = 0.15, source = \"...\" }}")
        return None
    e = rd.expr(spec["value"], f"{key}.value")
    if e is None:
        return None
    p = Parameter(name=name, expr=e, key=key)
    for k in ("source", "unit", "label", "notes"):
        if k in spec:
            v = rd.string(spec[k], f"{key}.{k}")
            if k != "notes":
                setattr(p, k, v)
    if "price_year" in spec:
        v = rd.number(spec["price_year"], f"{key}.price_year", lo=1900, hi=2200, integer=True)
        p.price_year = int(v) if v is not None else None
    if "assumption" in spec:
        p.assumption = bool(rd.boolean(spec["assumption"], f"{key}.assumption"))
    if "distribution" in spec:
        d = spec["distribution"]
        if not isinstance(d, dict) or "type" not in d:
            rd.col.add(f"{key}.distribution", "must be a table with a 'type', e.g. "
                                              "{ type = \"beta\", mean = 0.5, se = 0.05 }")
        else:
            p.distribution = d
            _check_distribution(d, f"{key}.distribution", rd)
    if "range" in spec:
        r = spec["range"]
        if (not isinstance(r, list) or len(r) != 2 or
                not all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(_to_float(x)) for x in r)
                or r[0] > r[1]):
            rd.col.add(f"{key}.range", f"must be [low, high], two finite numbers with low <= high, got {r!r}")
        else:
            p.range = (float(r[0]), float(r[1]))
    return p


def _check_distribution(d: dict[str, Any], key: str, rd: _Reader) -> None:
    try:
        from heecon.params.distributions import parse_distribution
    except ImportError:  # the PSA layer is optional for validation of structure
        return
    base = Path(rd.col.file).parent
    origin = getattr(rd.col, "origins", {}).get(key)
    if origin and origin != "--set":
        base = Path(origin).parent
    try:
        parse_distribution(d, where=key, base_dir=base)
    except ValueError as exc:
        msg = str(exc)
        # "parameters.x.distribution.mean: must be ..." -> key "parameters.x.distribution.mean", not the key twice
        sub, sep, rest = msg.partition(": ")
        if sep and (sub == key or sub.startswith(key + ".")) and " " not in sub:
            rd.col.add(sub, rest)
        else:
            rd.col.add(key, msg)
    except Exception as exc:  # a malformed table must be reported, never crash validation
        rd.col.add(key, f"is not a valid distribution ({type(exc).__name__}: {exc})")


def _read_table(name: str, spec: Any, key: str, rd: _Reader, path: Path, origins: Mapping[str, str]) -> Table | None:
    col = rd.col
    if not isinstance(spec, dict):
        col.add(key, "must be a table with either 'file', 'key' and 'value' (a CSV next to the scenario) "
                     "or inline 'keys' and 'values' lists")
        return None
    rd.check_keys(spec, TABLE_KEYS, key, "a table")
    keys = values = None
    if "file" in spec:
        f = rd.string(spec["file"], f"{key}.file")
        kcol, vcol = spec.get("key"), spec.get("value")
        if not isinstance(kcol, str) or not isinstance(vcol, str):
            col.add(key, "a table read from a file needs 'key' (the column to look up by, e.g. \"Age\") and "
                         "'value' (the column of values, e.g. \"Male\")")
            return None
        if f is None:
            return None
        base = Path(origins.get(f"{key}.file", str(path))).parent if origins.get(f"{key}.file", "--set") != "--set" else path.parent
        fpath = _existing_file(base, f)
        if fpath is None:
            col.add(f"{key}.file", f"the file {f!r} does not exist (looked for {base / f})")
            return None
        try:
            with fpath.open(newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                cols = reader.fieldnames or []
                if kcol not in cols or vcol not in cols:
                    missing = kcol if kcol not in cols else vcol
                    col.add(f"{key}.{'key' if missing == kcol else 'value'}",
                            f"column {missing!r} is not in {f}.{did_you_mean(missing, cols)} Columns: {valid_list(cols)}.")
                    return None
                rows = [(r[kcol], r[vcol]) for r in reader]
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            col.add(f"{key}.file", f"cannot read {f} as a UTF-8 CSV file ({exc})")
            return None
        if not rows:
            col.add(f"{key}.file", f"{f} has a header but no rows of data")
            return None
        try:
            keys = np.array([float(a) for a, _ in rows])
            values = np.array([float(b) for _, b in rows])
        except (ValueError, TypeError):  # TypeError: a short row leaves a cell as None
            bad = next(i for i, (a, b) in enumerate(rows) if not (_is_number_text(a) and _is_number_text(b)))
            col.add(f"{key}.file", f"{f} row {bad + 2} has a {kcol!r} or {vcol!r} cell that is empty or not a number "
                                   f"({rows[bad][0]!r}, {rows[bad][1]!r}); both columns must hold numbers")
            return None
    elif "keys" in spec or "values" in spec:
        ks, vs = spec.get("keys"), spec.get("values")
        ok = all(isinstance(x, list) and x and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in x)
                 for x in (ks, vs))
        if not ok:
            col.add(key, "inline tables need 'keys' and 'values': two non-empty lists of numbers")
            return None
        if len(ks) != len(vs):  # type: ignore[arg-type]
            col.add(f"{key}.values", f"has {len(vs)} values for {len(ks)} keys; they must match")  # type: ignore[arg-type]
            return None
        keys, values = np.asarray(ks, dtype=float), np.asarray(vs, dtype=float)
    else:
        col.add(key, "needs either 'file' (with 'key' and 'value' columns) or inline 'keys' and 'values'")
        return None
    if not (np.all(np.isfinite(keys)) and np.all(np.isfinite(values))):
        col.add(key, "the keys and values must be finite numbers (no nan or inf)")
        return None
    if np.any(np.diff(keys) <= 0):
        col.add(key, "the keys must increase strictly (e.g. ages 0, 1, 2, ...)")
        return None
    kind = rd.string(spec.get("kind", "value"), f"{key}.kind", ("probability", "rate", "value")) or "value"
    interp = rd.string(spec.get("interpolation", "step"), f"{key}.interpolation", ("step", "linear")) or "step"
    if kind == "probability" and (np.any(values < 0) or np.any(values > 1)):
        bad = int(np.argmax((values < 0) | (values > 1)))
        col.add(key, f"is a table of probabilities but the value for key {keys[bad]:g} is {values[bad]:g}, outside [0, 1]")
    if kind == "rate" and np.any(values < 0):
        col.add(key, "is a table of rates but has a negative value")
    mult = rd.expr(spec["multiplier"], f"{key}.multiplier") if "multiplier" in spec else None
    src = spec.get("source")
    return Table(name=name, keys=keys, values=values, kind=kind, interpolation=interp, multiplier=mult,
                 source=src if isinstance(src, str) else None, key=key)


def _read_state(name: str, spec: Any, key: str, rd: _Reader, sectors: tuple[str, ...], settings: Settings) -> State | None:
    if not isinstance(spec, dict):
        rd.col.add(key, "must be a table ([states.NAME]) with e.g. utility and costs")
        return None
    rd.check_keys(spec, STATE_KEYS, key, "a state")
    dead = bool(rd.boolean(spec["dead"], f"{key}.dead")) if "dead" in spec else False
    absorbing = bool(rd.boolean(spec["absorbing"], f"{key}.absorbing")) if "absorbing" in spec else dead
    if dead and "absorbing" in spec and not absorbing:
        rd.col.add(f"{key}.absorbing", "a dead state is absorbing; remove 'absorbing = false'")
    if dead and "utility" in spec:
        rd.col.add(f"{key}.utility", "a dead state has no utility; remove it")
    utility = rd.expr(spec.get("utility", 0.0), f"{key}.utility") or parse(0.0)
    if utility.constant is not None and not (-1.0 <= utility.constant <= 1.0):
        rd.col.add(f"{key}.utility", f"must be at most 1 (full health) and not below -1, got {utility.constant:g}")
    costs = rd.costs(spec.get("costs", {}), f"{key}.costs", sectors)
    tunnel = 0
    if "tunnel" in spec:
        v = rd.number(spec["tunnel"], f"{key}.tunnel", lo=2, hi=10000, integer=True)
        tunnel = int(v) if v is not None else 0
        if absorbing:
            rd.col.add(f"{key}.tunnel", "an absorbing state cannot be a tunnel")
    texit = spec.get("tunnel_exit")
    if texit is not None:
        if not tunnel:
            rd.col.add(f"{key}.tunnel_exit", "only a tunnel state (tunnel = N cycles) has an exit state")
            texit = None
        elif not isinstance(texit, str):
            rd.col.add(f"{key}.tunnel_exit", "must be a state name")
            texit = None
    elif tunnel:
        rd.col.add(key, "a tunnel state needs tunnel_exit: the state people move to after the last tunnel cycle")
    label = spec.get("label", name)
    return State(name=name, label=label if isinstance(label, str) else name, utility=utility, costs=costs,
                 absorbing=absorbing, dead=dead, tunnel=tunnel, tunnel_exit=texit, key=key)


def _read_transitions(raw: Any, rd: _Reader, states: Mapping[str, State]) -> dict[str, dict[str, Expr | None]]:
    col = rd.col
    out: dict[str, dict[str, Expr | None]] = {}
    tab = rd.table(raw, "transitions", "a table of from-state = { to-state = probability, ... }")
    if tab is None:
        col.add("transitions", "missing: give [transitions] with a row per non-absorbing state, "
                               "e.g. H = { H = \"C\", S = \"p_HS\" }")
        tab = {}
    for frm, row in tab.items():
        key = f"transitions.{frm}"
        if frm not in states:
            col.unknown(key, frm, states, "state")
            continue
        if not isinstance(row, dict) or not row:
            col.add(key, "must be a table of to-state = probability (or \"C\" for the complement)")
            continue
        if states[frm].absorbing:
            col.add(key, f"'{frm}' is absorbing (or dead), so it has no transitions; remove this row or the flag")
            continue
        comp = [to for to, v in row.items() if isinstance(v, str) and v.strip() == "C"]
        if len(comp) > 1:
            col.add(key, f"has more than one complement \"C\" ({', '.join(comp)}); at most one entry per row may be \"C\"")
        cells: dict[str, Expr | None] = {}
        for to, v in row.items():
            k2 = f"{key}.{to}"
            if to not in states:
                col.unknown(k2, to, states, "state")
                continue
            if states[frm].tunnel and to == frm:
                col.add(k2, f"'{frm}' is a tunnel state: people stay for exactly {states[frm].tunnel} cycles, "
                            "so it cannot have a transition to itself (the complement moves them along the tunnel)")
                continue
            if isinstance(v, str) and v.strip() == "C":
                if states[frm].tunnel:
                    col.add(k2, f"'{frm}' is a tunnel state: whoever does not leave moves along the tunnel (and to "
                                "tunnel_exit after the last cycle), so its row takes no complement \"C\"")
                    continue
                cells[to] = None
                continue
            e = rd.expr(v, k2)
            if e is not None:
                if e.constant is not None and not (0.0 <= e.constant <= 1.0):
                    col.add(k2, f"is a probability and must be in [0, 1], got {e.constant:g}")
                cells[to] = e
            else:  # already reported; keep the cell so that strategy modifiers naming it are not reported too
                cells[to] = parse(0.0)
        out[frm] = cells
    for name, st in states.items():
        if not st.absorbing and not st.tunnel and name not in out and f"transitions.{name}" not in {p.key for p in col.problems}:
            col.add(f"transitions.{name}", f"missing: state '{name}' is not absorbing, so it needs a row of transitions "
                                           f"(or mark it absorbing = true)")
    return out


def _read_transition_rewards(raw: Any, rd: _Reader, states: Mapping[str, State], sectors: tuple[str, ...]) -> list[TransitionReward]:
    out: list[TransitionReward] = []
    for key, spec in rd.tables(raw, "transition_rewards",
                               "must be an array of tables: [[transition_rewards]] with from, to, costs/qalys",
                               "must be a table with from, to and costs and/or qalys", TR_KEYS, "a transition reward"):
        ends = []
        for end in ("from", "to"):
            v = spec.get(end)
            if not isinstance(v, str):
                rd.col.add(f"{key}.{end}", f"must be a state name or \"*\" (any state), got {v!r}")
                ends.append(None)
            elif v != "*" and v not in states:
                rd.col.unknown(f"{key}.{end}", v, states, "state")
                ends.append(None)
            else:
                ends.append(v)
        costs = rd.costs(spec.get("costs", {}), f"{key}.costs", sectors)
        qalys = rd.expr(spec["qalys"], f"{key}.qalys") if "qalys" in spec else None
        if not costs and qalys is None:
            rd.col.add(key, "gives neither costs nor qalys; a transition reward needs at least one")
        strategies = None
        if "strategies" in spec:
            v = spec["strategies"]
            if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
                rd.col.add(f"{key}.strategies", "must be a list of strategy names")
            else:
                strategies = tuple(v)
        if None not in ends:
            out.append(TransitionReward(ends[0], ends[1], costs, qalys, strategies, key))  # type: ignore[arg-type]
    return out


def _parse_transition_ref(text: str) -> tuple[str, str] | None:
    m = re.match(r"^\s*([A-Za-z*][A-Za-z0-9_]*|\*)\s*->\s*([A-Za-z*][A-Za-z0-9_]*|\*)\s*$", text)
    return (m.group(1), m.group(2)) if m else None


def _read_strategies(raw: Any, rd: _Reader, states: Mapping[str, State], sectors: tuple[str, ...], settings: Settings,
                     transitions: Mapping[str, Mapping[str, Expr | None]], params: Mapping[str, Parameter]) -> dict[str, Strategy]:
    col = rd.col
    out: dict[str, Strategy] = {}
    tab = rd.table(raw, "strategies", "a table of strategies ([strategies.NAME] sections)")
    if not tab:
        col.add("strategies", "a scenario needs at least one strategy ([strategies.NAME] with a label)")
        return out
    for name, spec in tab.items():
        key = f"strategies.{name}"
        if not NAME_RE.match(name):
            col.add(key, f"'{name}' cannot be a strategy name: use letters, digits and _ starting with a letter")
            continue
        if not isinstance(spec, dict):
            col.add(key, "must be a table ([strategies.NAME]) with a label and optional modifications")
            continue
        rd.check_keys(spec, STRATEGY_KEYS, key, "a strategy")
        label = spec.get("label", name)
        descr = spec.get("description", "")
        pover: dict[str, Expr] = {}
        for pname, v in (rd.table(spec.get("parameters", {}), f"{key}.parameters") or {}).items():
            if pname not in params:
                col.unknown(f"{key}.parameters.{pname}", pname, params, "parameter")
                continue
            e = rd.expr(v, f"{key}.parameters.{pname}")
            if e is not None:
                pover[pname] = e
        mods: list[Modifier] = []
        for mk, m in rd.tables(spec.get("modifiers", []), f"{key}.modifiers",
                               "must be an array of tables: [[strategies.NAME.modifiers]]",
                               "must be a table with transitions, rr or hr, and optional cycles", MODIFIER_KEYS,
                               "a modifier"):
            refs = m.get("transitions", m.get("transition"))
            if isinstance(refs, str):
                refs = [refs]
            pairs: list[tuple[str, str]] = []
            if not isinstance(refs, list) or not refs:
                col.add(mk, "needs transitions = [\"FROM -> TO\", ...] (\"*\" matches any state)")
            else:
                for j, r in enumerate(refs):
                    pr = _parse_transition_ref(r) if isinstance(r, str) else None
                    if pr is None:
                        col.add(f"{mk}.transitions[{j}]", f"must look like \"FROM -> TO\", got {r!r}")
                        continue
                    matched = [(f, t) for f, row in transitions.items() for t, e in row.items()
                               if e is not None and pr[0] in ("*", f) and pr[1] in ("*", t)]
                    for end, nm in zip(("from", "to"), pr):
                        if nm != "*" and nm not in states:
                            col.unknown(f"{mk}.transitions[{j}]", nm, states, f"state ({end})")
                    if not matched and all(nm == "*" or nm in states for nm in pr):
                        col.add(f"{mk}.transitions[{j}]", f"'{r}' matches no transition given in [transitions] "
                                                          "(the complement \"C\" cannot be modified: it absorbs the change)")
                    pairs.extend(matched)
            kinds = [k for k in ("rr", "hr", "value") if k in m]
            if len(kinds) != 1:
                col.add(mk, "needs exactly one of rr (relative risk: multiplies the probability), "
                            "hr (hazard ratio: p' = 1 - (1 - p)^hr) or value (replaces the probability)")
                continue
            val = rd.expr(m[kinds[0]], f"{mk}.{kinds[0]}")
            cyc = rd.cycles(m.get("cycles"), f"{mk}.cycles", settings.n_cycles)
            if val is not None:
                mods.append(Modifier(tuple(dict.fromkeys(pairs)), kinds[0], val, cyc, mk))
        extra: list[ExtraCost] = []
        clist = spec.get("costs", [])
        if isinstance(clist, dict):
            clist = [clist]
        for ck, c in rd.tables(clist, f"{key}.costs",
                               "must be an array of tables: [[strategies.NAME.costs]] with states, costs, cycles",
                               "must be a table with states, costs and optional cycles", EXTRA_COST_KEYS,
                               "strategy costs"):
            sts = rd.name_list(c.get("states", []), f"{ck}.states", states, "state")
            if not sts:
                col.add(ck, "needs states = [...]: the states in which the extra costs are paid")
            costs = rd.costs(c.get("costs", {}), f"{ck}.costs", sectors)
            if not costs:
                col.add(f"{ck}.costs", "needs at least one sector = amount")
            extra.append(ExtraCost(sts, costs, rd.cycles(c.get("cycles"), f"{ck}.cycles", settings.n_cycles), ck))
        utils: dict[str, Expr] = {}
        for sname, v in (rd.table(spec.get("utilities", {}), f"{key}.utilities") or {}).items():
            if sname not in states:
                col.unknown(f"{key}.utilities.{sname}", sname, states, "state")
                continue
            e = rd.expr(v, f"{key}.utilities.{sname}")
            if e is not None:
                utils[sname] = e
        out[name] = Strategy(name, label if isinstance(label, str) else name, descr if isinstance(descr, str) else "",
                             pover, mods, extra, utils, key)
    return out


def _check_names(col: Collector, params: Mapping[str, Parameter], tables: Mapping[str, Table], states: Mapping[str, State],
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
        ex = tun if s.tunnel else frozenset()
        check(s.utility, f"{s.key}.utility", ex)
        for sec, e in s.costs.items():
            check(e, f"{s.key}.costs.{sec}", ex)
    for frm, row in transitions.items():
        ex = tun if frm in states and states[frm].tunnel else frozenset()
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
            check(e, f"{st.key}.utilities.{sname}", tun if sname in states and states[sname].tunnel else frozenset())
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


def _check_micro_names(col: Collector, micro: Any, params: Mapping[str, Parameter], settings: Settings) -> None:
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
        for n in sorted(e.names - known):
            col.add(key, f"unknown name '{n}' in expression {e.text!r}.{did_you_mean(n, known)} "
                         "Names are parameters (see [parameters]) or cycle, time, age.")
        if any(t in key for t in timeless) and e.names & TIME_NAMES and ".rate." not in key:
            col.add(key, f"cannot depend on model time ({', '.join(sorted(e.names & TIME_NAMES))}) in this engine")


def find_cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    """A cycle in a dependency graph (name -> names it uses), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {n: WHITE for n in graph}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        color[n] = GREY
        stack.append(n)
        for m in graph.get(n, []):
            if color.get(m) == GREY:
                return stack[stack.index(m):]
            if color.get(m) == WHITE:
                r = visit(m)
                if r:
                    return r
        stack.pop()
        color[n] = BLACK
        return None

    for n in graph:
        if color[n] == WHITE:
            r = visit(n)
            if r:
                return r
    return None


def topological_order(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Names ordered so that each comes after the names it uses (graph must be acyclic)."""
    order: list[str] = []
    done: set[str] = set()

    def visit(n: str) -> None:
        if n in done:
            return
        done.add(n)
        for m in graph.get(n, ()):
            if m in graph:
                visit(m)
        order.append(n)

    for n in graph:
        visit(n)
    return order
