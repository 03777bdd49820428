"""Property-based fuzzing of the expression evaluator and the scenario loader.

The contract under test: whatever the input, the expression parser/evaluator
returns a value or raises :class:`ExprError`, and the scenario loader returns a
:class:`Scenario` or raises :class:`ScenarioError` (with at least one problem,
each naming a file and a key). Any other exception is a bug.

Every test is derandomized (reproducible in CI) and has no deadline; the
example counts keep the whole file well under a minute.
"""

from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from heecon.scenario.expr import ExprError, make_functions, parse
from heecon.scenario.errors import ScenarioError
from heecon import load_scenario, scenario_from_dict
from heecon.scenario.types import Scenario
from tests.scenario_factory import base_scenario, to_toml

def fuzz(max_examples: int) -> settings:
    """Reproducible (derandomized), no deadline, a bounded number of examples."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               HealthCheck.function_scoped_fixture],
    )

# --------------------------------------------------------------------------- expressions

# The environment the evaluator sees: scalars and arrays of shapes that broadcast the way
# the model compiler's do ((segments, 1) for model time, (samples,) for PSA draws).
ENV: dict[str, Any] = {
    "x": 0.25,
    "y": -3.0,
    "p": np.array([0.1, 0.5, 0.9, 1.0]),
    "cycle": np.arange(1.0, 4.0)[:, None],
    "time": np.arange(0.0, 3.0)[:, None],
    "age": np.arange(40.0, 43.0)[:, None],
    "big": 1e308,
}
TABLE_KEYS = np.array([0.0, 40.0, 60.0])
TABLE_VALUES = np.array([0.01, 0.02, 0.1])


def _mort(a: Any) -> Any:
    idx = np.clip(np.searchsorted(TABLE_KEYS, np.asarray(a, dtype=float), side="right") - 1, 0, len(TABLE_KEYS) - 1)
    return TABLE_VALUES[idx]


FUNCTIONS = make_functions(1.0, {"mort": _mort})
FUNCTION_NAMES = frozenset(FUNCTIONS)

NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["0", "1", "0.5", "1e308", "1e999", "9" * 400, "0x10", "1_000", "1.", ".5", "1e-400", "00"]),
)
NAMES = st.sampled_from(["x", "y", "p", "cycle", "time", "age", "big", "unknown_name", "__class__", "_x", "C",
                         "min", "mort", "tunnel_cycle", "True", "None", "nan", "inf"])
GARBAGE = st.sampled_from(["[", "]", "(", ")", "{", "}", ",", ".", ":", ";", "'", '"', "\\", "@", "~", "`", "$", "?",
                           "!", "#", "//", "<<", ">>", "&", "|", "^", "->", ":=", "...", "lambda", "import", "yield",
                           "await", "del", "is", "in", "f'", "b'x'", "\x00", "\n", "\t", "é", "∞", "🙂"])
BINOPS = st.sampled_from(["+", "-", "*", "/", "**", "%", "//", "<", "<=", ">", ">=", "==", "!=", "and", "or", "@",
                          "<<", "&", "is", "in"])
FUNCS = st.sampled_from(sorted(FUNCTION_NAMES) + ["eval", "exec", "open", "getattr", "__import__", "logit", "print"])


def _compound(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(children, BINOPS, children).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        children.map(lambda c: f"({c})"),
        st.tuples(st.sampled_from(["-", "+", "not ", "~"]), children).map(lambda t: t[0] + t[1]),
        st.tuples(FUNCS, st.lists(children, max_size=4)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} if {t[1]} else {t[2]}"),
        st.tuples(children, children, children).map(lambda t: f"{t[0]} < {t[1]} <= {t[2]}"),
        st.tuples(FUNCS, children).map(lambda t: f"{t[0]}(*{t[1]})"),
        st.tuples(FUNCS, children).map(lambda t: f"{t[0]}(k={t[1]})"),
        children.map(lambda c: f"({c}).__class__"),
        st.tuples(children, children).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(children, GARBAGE).map(lambda t: t[0] + t[1]),
        st.tuples(GARBAGE, children).map(lambda t: t[0] + t[1]),
    )


GRAMMAR = st.recursive(st.one_of(NUMBERS, NAMES, GARBAGE), _compound, max_leaves=25)


def _check_expression(text: Any) -> None:
    """The contract: a value or ExprError, for parsing and for evaluating."""
    try:
        e = parse(text, FUNCTION_NAMES)
    except ExprError as exc:
        assert str(exc)
        return
    assert e.text
    try:
        value = e.evaluate(ENV, FUNCTIONS)
    except ExprError as exc:
        assert str(exc)
        return
    arr = np.asarray(value, dtype=float)  # a number or an array of numbers, never anything else
    assert arr.ndim <= 2


@fuzz(400)
@given(st.text(max_size=80))
def test_random_text_gives_value_or_expr_error(text: str) -> None:
    _check_expression(text)


@fuzz(600)
@given(GRAMMAR)
def test_grammar_expressions_give_value_or_expr_error(text: str) -> None:
    _check_expression(text)


@fuzz(200)
@given(st.one_of(st.integers(), st.floats(), st.booleans(), st.none(), st.lists(st.integers(), max_size=3),
                 st.dictionaries(st.text(max_size=3), st.integers(), max_size=2), st.binary(max_size=5)))
def test_non_string_sources_give_value_or_expr_error(value: Any) -> None:
    _check_expression(value)


@fuzz(150)
@given(st.integers(min_value=-(10**600), max_value=10**600))
def test_huge_integer_constants_are_floats(n: int) -> None:
    e = parse(n)
    assert e.constant is not None
    if abs(n) < 10**300:
        assert e.constant == pytest.approx(float(n))
    else:
        assert math.isinf(e.constant) and (e.constant > 0) == (n > 0)


# --------------------------------------------------------------------------- scenarios

# Values a fuzzer may put anywhere in a scenario: TOML-representable data (no None), biased
# towards things that are nearly right (names, expressions, boundary numbers) so that deep
# validation and the numeric checks of the compiled model are reached, not just type checks.
NEARLY_RIGHT_STRINGS = st.sampled_from([
    "", "C", "H", "S", "D", "X", "soc", "trt", "nhs", "nhss", "p_HS", "p_HSS", "c_trt", "age", "cycle", "time",
    "tunnel_cycle", "H -> S", "S -> H", "* -> D", "H ->", "rate_to_prob(p_HS)", "p_HS * 20", "1 - p_HS",
    "min(1, 0.01 * 1.5 ** (age - 40))", "mort(age)", "logit(p_HS)", "p_HS if cycle <= 2 else 0", "(1).__class__",
    "__import__('os')", "9**9**9", "1/0", "-1", "nan", "inf", "half-cycle", "simpson", "cohort", "microsim",
    "beta", "gamma", "normal", "lognormal", "uniform", "fixed", "lt.csv", "missing.csv", "../x", "a\x00b", "x" * 300,
])
SCALARS = st.one_of(
    st.integers(min_value=-5, max_value=5),
    st.integers(),
    st.sampled_from([10**400, -(10**400), 2**63, 100000, 100001, 1200, 1900, 2200]),
    st.floats(),  # includes nan and +-inf
    st.sampled_from([0.0, 1.0, -0.0, 0.5, 1.5, -0.5, 1e-300, 1e300, 0.035, 0.999999999999]),
    st.booleans(),
    NEARLY_RIGHT_STRINGS,
    st.text(max_size=12),
)
KEYS = st.one_of(
    st.sampled_from(["value", "type", "mean", "se", "keys", "values", "file", "key", "kind", "multiplier", "tunnel",
                     "tunnel_exit", "dead", "absorbing", "utility", "costs", "rr", "hr", "cycles", "transitions",
                     "states", "from", "to", "qalys", "label", "extends", "tables", "start", "H", "S", "D", "X", "nhs",
                     "horizon_cycles", "horizon_years", "start_age", "sectors", "comparator", "perspective",
                     "interpolation", "distribution", "range", "from_year", "rate", "format"]),
    st.text(max_size=8),
)
VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=4)),
    max_leaves=12,
)
# Whole replacement sub-structures that are close to valid pieces of a scenario.
PIECES = st.sampled_from([
    {"keys": [0, 45], "values": [0.02, 0.3]},
    {"keys": [0, 45], "values": [0.02, 0.3], "kind": "probability", "interpolation": "linear"},
    {"keys": [45, 0], "values": [0.02, 0.3]},
    {"keys": [0, float("nan")], "values": [0.02, 0.3]},
    {"file": "lt.csv", "key": "Age", "value": "Male"},
    {"file": "lt.csv", "key": "Age", "value": "Female"},
    {"file": "nope.csv", "key": "Age", "value": "Male"},
    {"value": 0.5, "distribution": {"type": "beta", "mean": 0.5, "se": 0.05}},
    {"value": 0.5, "distribution": {"type": "beta", "mean": "x", "se": [1]}},
    {"value": 0.5, "distribution": {"type": "gamma", "mean": -1, "se": 0}},
    {"value": 0.5, "distribution": {"type": "nope"}},
    {"value": 0.5, "range": [0.1, 10**400]},
    {"utility": 0.5, "tunnel": 3, "tunnel_exit": "S", "costs": {"nhs": "100 * tunnel_cycle"}},
    {"utility": 0.5, "tunnel": 3},
    {"H": "C", "S": "p_HS", "D": "mort(age)"},
    {"S": "C", "D": "p_SD * 40"},
    {"transitions": ["* -> D"], "hr": 0.5, "cycles": [1, 3]},
    {"transitions": ["H -> S"], "rr": "rr_trt", "cycles": [20, 30]},
    [{"from": "H", "to": "S", "costs": {"nhs": 50}, "qalys": -0.1}],
    [{"from_year": 0, "rate": 0.035}, {"from_year": 30, "rate": 0.03}],
    {"states": {"H": 0.5, "S": 0.5}, "costs": {"nhs": 10}},
    {"states": {"H": "age / 100"}},
])


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path (a tuple of dict keys / list indices) into a nested structure, the root included."""
    yield prefix
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, prefix + (i,))


def _get(root: Any, path: tuple) -> Any:
    for p in path:
        root = root[p]
    return root


def _mutate(raw: dict[str, Any], data: st.DataObject, n_max: int = 3) -> dict[str, Any]:
    for _ in range(data.draw(st.integers(min_value=1, max_value=n_max), label="n_mutations")):
        path = data.draw(st.sampled_from(list(_paths(raw))), label="path")
        node = _get(raw, path)
        # "scalar" swaps in a single nearly-right value, which keeps most of the scenario valid so that the
        # later stages (name checks, the compiled model's numeric checks) are reached too.
        action = data.draw(st.sampled_from(["scalar", "scalar", "scalar", "delete", "replace", "piece", "add"]),
                           label="action")
        if action == "add" and isinstance(node, dict):
            node[data.draw(KEYS, label="new key")] = data.draw(VALUES, label="new value")
        elif action == "add" and isinstance(node, list):
            node.append(data.draw(VALUES, label="new item"))
        elif not path:  # the root itself: only adding makes sense
            raw[data.draw(KEYS, label="new key")] = data.draw(VALUES, label="new value")
        else:
            parent = _get(raw, path[:-1])
            if action == "delete":
                del parent[path[-1]]
            else:
                new = data.draw({"piece": PIECES, "scalar": SCALARS}.get(action, VALUES), label="value")
                parent[path[-1]] = copy.deepcopy(new)  # PIECES are shared objects: never mutate them
    return raw


NUMERIC = st.one_of(
    st.floats(),
    st.integers(min_value=-3, max_value=3),
    st.sampled_from([0.0, 1.0, 0.5, 1.5, -0.5, 1e-300, 1e300, 10**400, 0.999999999999, 1.000000001]),
    GRAMMAR.filter(lambda t: len(t) < 200),
    st.sampled_from(["p_HS * 20", "1 - p_HS", "min(1, 0.01 * 1.5 ** (age - 40))", "p_HS if cycle <= 2 else 2",
                     "rate_to_prob(c_S)", "prob_to_odds(1)", "-c_H", "u_S * 2", "log(0)", "1/0", "0/0",
                     "rescale_prob(p_HS, 0)", "clip(age, 0, 1)", "ifelse(time > 3, 1.2, 0.1)", "rr_trt * 1e308"]),
)


def _numeric_leaves(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Paths to the numbers and expression strings of a scenario (not names, labels or flags)."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k not in ("label", "source", "title", "comparator", "counting", "states", "transitions", "dead"):
                yield from _numeric_leaves(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _numeric_leaves(v, prefix + (i,))
    elif isinstance(node, (int, float, str)) and not isinstance(node, bool) and node != "C":
        yield prefix


def _check_outcome(fn: Any, *args: Any, **kwargs: Any) -> Scenario | None:
    """The contract: a Scenario, or a ScenarioError whose problems each say where and what."""
    try:
        sc = fn(*args, **kwargs)
    except ScenarioError as exc:
        assert exc.problems, "a ScenarioError must list its problems"
        for p in exc.problems:
            assert p.file and p.message
        assert "Invalid scenario" in str(exc)
        return None
    assert isinstance(sc, Scenario)
    return sc


@fuzz(400)
@given(data=st.data())
def test_scenarios_with_fuzzed_numbers_give_scenario_or_scenario_error(data: st.DataObject) -> None:
    """Structure kept valid, numbers and expressions fuzzed: exercises the compiled model's checks."""
    raw = base_scenario()
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="n")):
        path = data.draw(st.sampled_from(list(_numeric_leaves(raw))), label="leaf")
        _get(raw, path[:-1])[path[-1]] = data.draw(NUMERIC, label="value")
    _check_outcome(scenario_from_dict, raw, "numbers.toml")


@pytest.fixture(scope="module")
def fuzz_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="heecon-fuzz-") as d:
        path = Path(d)
        (path / "lt.csv").write_text("Age,Male\n0,0.01\n45,0.3\n60,\n", encoding="utf-8")  # a short last row
        yield path


@fuzz(500)
@given(data=st.data())
def test_mutated_scenario_dicts_give_scenario_or_scenario_error(data: st.DataObject) -> None:
    raw = _mutate(base_scenario(), data)
    _check_outcome(scenario_from_dict, raw, "fuzzed.toml")


@fuzz(150)
@given(data=st.data())
def test_mutated_scenario_files_give_scenario_or_scenario_error(fuzz_dir: Path, data: st.DataObject) -> None:
    raw = _mutate(base_scenario(), data, n_max=3)
    path = fuzz_dir / "fuzzed.toml"
    path.write_text(to_toml(raw), encoding="utf-8")
    overrides = data.draw(st.lists(st.sampled_from([
        "settings.horizon_years=5", "settings.horizon_years.x=1", "parameters.p_HS=2", "states.H.costs.nhs=-1",
        "nope", "=1", "a..b=1", "settings.start_age=\"old\"", "tables.t.keys=[1]",
    ]), max_size=2), label="overrides")
    _check_outcome(load_scenario, path, overrides)


@fuzz(150)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_random_top_level_structures_give_scenario_or_scenario_error(raw: dict[str, Any]) -> None:
    _check_outcome(scenario_from_dict, raw)


@fuzz(100)
@given(st.binary(max_size=200) | st.text(max_size=200).map(lambda s: s.encode("utf-8")))
def test_random_file_bytes_give_scenario_or_scenario_error(fuzz_dir: Path, blob: bytes) -> None:
    path = fuzz_dir / "bytes.toml"
    path.write_bytes(blob)
    _check_outcome(load_scenario, path)


def test_unmutated_base_scenario_is_valid() -> None:
    """The fuzzers start from a valid scenario (so every failure found is caused by a mutation)."""
    assert isinstance(scenario_from_dict(base_scenario()), Scenario)
