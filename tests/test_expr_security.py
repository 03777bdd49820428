"""Scenario expressions are data: they can compute, never reach Python.

Every way out of plain arithmetic is refused with :class:`ExprError` before
anything is evaluated; arithmetic that would blow up (huge powers) is floating
point and finishes at once; absurd nesting and length are refused cleanly
(never RecursionError or MemoryError); and the same refusals come through a
scenario file and the CLI as exit code 2.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from heecon.cli import app
from heecon.scenario.expr import MAX_LENGTH, ExprError, make_functions, parse
from heecon.scenario.errors import ScenarioError
from heecon import load_scenario
from tests.scenario_factory import base_scenario, set_in, write_scenario

runner = CliRunner()
FUNCTIONS = make_functions(1.0)


def _refused(text: str) -> str:
    """The ExprError message for ``text`` (fails if it parses or raises anything else)."""
    with pytest.raises(ExprError) as info:
        parse(text)
    return str(info.value)


# --------------------------------------------------------------------------- escapes

ESCAPES = {
    # imports and arbitrary calls
    "import_builtin": ("__import__('os')", "'__import__'"),
    "import_system": ("__import__('os').system('true')", "not allowed"),
    "open_file": ("open('x')", "unknown function 'open'"),
    "eval": ("eval('1')", "unknown function 'eval'"),
    "exec": ("exec('x = 1')", "unknown function 'exec'"),
    "getattr": ("getattr(1, 'real')", "unknown function 'getattr'"),
    "compile": ("compile('1', 'f', 'eval')", "unknown function 'compile'"),
    "globals": ("globals()", "unknown function 'globals'"),
    "breakpoint": ("breakpoint()", "unknown function 'breakpoint'"),
    "call_of_call": ("min(1, 2)(3)", "calling anything but a function by its plain name"),
    "call_of_attribute": ("np.exp(1)", "calling anything but a function by its plain name"),
    # attributes and dunders
    "constant_class": ("(1).__class__", "attribute access"),
    "name_class": ("x.__class__", "attribute access"),
    "subclasses": ("(1).__class__.__base__.__subclasses__()", "not allowed"),
    "plain_attribute": ("x.real", "attribute access"),
    "dunder_name": ("__builtins__", "may not start with '_'"),
    "underscore_name": ("_private", "may not start with '_'"),
    "dunder_in_call": ("min(__name__, 1)", "may not start with '_'"),
    # subscripts and containers
    "subscript": ("x[0]", "subscripts"),
    "slice": ("x[1:2]", "subscripts"),
    "list": ("[1, 2]", "a list"),
    "tuple": ("(1, 2)", "a tuple"),
    "dict": ("{'a': 1}", "a dict"),
    "set": ("{1}", "a set"),
    # functions defined inline, comprehensions, generators
    "lambda": ("(lambda: 1)()", "not allowed"),
    "lambda_value": ("lambda: 1", "lambda"),
    "list_comprehension": ("[c for c in range(3)]", "a list comprehension"),
    "generator": ("sum(c for c in x)", "unknown function 'sum'"),
    "generator_in_allowed_call": ("max(c for c in x)", "a generator expression"),
    "dict_comprehension": ("{c: c for c in x}", "a dict comprehension"),
    # strings of every kind
    "string": ("'abc'", "the constant 'abc'"),
    "bytes": ("b'abc'", "the constant b'abc'"),
    "f_string": ("f'{x}'", "an f-string"),
    "string_concat": ("'a' + 'b'", "the constant 'a'"),
    # other syntax
    "walrus": ("(y := 1)", "walrus"),
    "keyword_argument": ("min(1, b=2)", "keyword arguments"),
    "double_star_kwargs": ("min(1, **x)", "keyword arguments"),
    "starred_args": ("min(*x)", "*args"),
    "boolean_constant": ("True", "the constant True"),
    "none_constant": ("None", "the constant None"),
    "ellipsis": ("...", "the constant Ellipsis"),
    "complex_number": ("1j", "the constant 1j"),
    "bitwise_invert": ("~1", "Invert"),
    "bitwise_and": ("1 & 2", "BitAnd"),
    "shift": ("1 << 1000000", "LShift"),
    "floor_division": ("7 // 2", "FloorDiv"),
    "matmul": ("x @ x", "MatMult"),
    "in_operator": ("1 in x", "In"),
    "is_operator": ("x is x", "Is"),
    "await": ("await x", "not allowed"),
    "yield": ("(yield)", "not allowed"),
    # not expressions at all
    "statement": ("import os", "cannot parse"),
    "assignment": ("x = 1", "cannot parse"),
    "semicolon": ("1; 2", "cannot parse"),
    "two_lines": ("1\n__import__('os')", "cannot parse"),
    "null_byte": ("1\x00", "cannot parse"),
}


@pytest.mark.parametrize("text,gist", ESCAPES.values(), ids=ESCAPES.keys())
def test_escape_is_refused_before_evaluation(text: str, gist: str) -> None:
    message = _refused(text)
    assert gist in message, message


def test_refusal_message_says_what_is_allowed() -> None:
    message = _refused("x.__class__")
    assert "attribute access" in message and "'x.__class__'" in message
    assert "allowed are numbers, parameter names" in message
    message = _refused("open('x')")
    assert "valid functions:" in message and "rate_to_prob" in message


def test_refusal_happens_at_parse_time_not_evaluation(tmp_path: Path) -> None:
    """A refused call never runs: nothing is opened or written, even inside a branch that is not taken."""
    target = tmp_path / "pwned"
    for text in (f"open({str(target)!r}, 'w')", f"0 if 1 else open({str(target)!r}, 'w')",
                 f"min(1, __import__('pathlib').Path({str(target)!r}).touch())"):
        with pytest.raises(ExprError):
            parse(text)
    assert not target.exists()


def test_function_names_must_be_whitelisted_even_when_passed_in() -> None:
    """Only the functions a model provides can be called, and only through their table entry."""
    with pytest.raises(ExprError, match="unknown function 'exp'"):
        parse("exp(1)", functions={"log"})
    e = parse("exp(1)")
    with pytest.raises(ExprError, match="not available"):
        e.evaluate({}, {"log": FUNCTIONS["log"]})


def test_names_are_looked_up_only_in_the_environment() -> None:
    """Names resolve to the given values only: never to Python builtins or module globals."""
    for name in ("open", "np", "math", "os", "print", "ExprError"):
        e = parse(f"{name} + 1")
        with pytest.raises(ExprError, match="unknown name"):
            e.evaluate({"x": 1.0}, FUNCTIONS)
    assert parse("open + 1").evaluate({"open": 2.0}, FUNCTIONS) == 3.0


# --------------------------------------------------------------------------- resource exhaustion


@pytest.mark.parametrize("text", ["9**9**9", "(10**10)**(10**10)", "10**10**10**10", "2**(2**(2**(2**(2**10))))",
                                  "99999999999999999999**99999999999999999999", "(-9)**9**9"])
def test_huge_powers_are_inf_at_once(text: str) -> None:
    start = time.perf_counter()
    value = parse(text).evaluate({}, FUNCTIONS)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0  # a safety bound (Python integers would take hours and gigabytes), not a benchmark
    assert math.isinf(value)


def test_huge_power_of_parameters_is_inf_at_once() -> None:
    start = time.perf_counter()
    value = parse("a ** b ** c").evaluate({"a": 9, "b": 9, "c": 9}, FUNCTIONS)  # integers passed in stay safe
    assert time.perf_counter() - start < 1.0
    assert math.isinf(value)


def test_huge_integer_literals_are_floats() -> None:
    start = time.perf_counter()
    assert parse("1" + "0" * 1500).constant == math.inf
    assert parse(10**5000).constant == math.inf
    assert parse(-(10**5000)).constant == -math.inf
    assert parse(10**5000).text == "inf"  # (repr of a 5000-digit int would raise ValueError)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize("levels", [300, 900, 10_000, 1_000_000])
def test_deeply_nested_parentheses_are_refused_cleanly(levels: int) -> None:
    text = "(" * levels + "1" + ")" * levels
    start = time.perf_counter()
    message = _refused(text)  # ExprError: not RecursionError, MemoryError or SyntaxError
    assert time.perf_counter() - start < 1.0
    assert "nested too deeply" in message or "too many nested parentheses" in message or "characters long" in message


@pytest.mark.parametrize("text", [
    "-" * 1500 + "1",
    "not " * 450 + "1",
    "1" + "**1" * 600,
    "1" + "+1" * 900,
    "min(" * 300 + "1" + ", 1)" * 300,
    "1 if " * 300 + "1" + " else 1" * 300,
    "(" * 10_000,
    "[" * 10_000,
    "x" + ".y" * 900,
])
def test_deep_structures_are_refused_cleanly(text: str) -> None:
    text = text[:MAX_LENGTH]
    start = time.perf_counter()
    with pytest.raises(ExprError):
        parse(text)
    assert time.perf_counter() - start < 1.0


def test_moderate_nesting_is_still_allowed() -> None:
    assert parse("(" * 20 + "1 + 2" + ")" * 20).evaluate({}, FUNCTIONS) == 3.0
    assert parse("(" * 150 + "x" + ")" * 150).evaluate({"x": 0.5}, FUNCTIONS) == 0.5  # parentheses add no depth
    assert parse("min(" * 10 + "5" + ", 4)" * 10).evaluate({}, FUNCTIONS) == 4.0


@pytest.mark.parametrize("length", [MAX_LENGTH + 1, 100_000, 10_000_000])
def test_very_long_expressions_are_refused(length: int) -> None:
    text = ("x + " * (length // 4 + 1))[: length - 1] + "1"
    start = time.perf_counter()
    message = _refused(text)
    assert time.perf_counter() - start < 1.0
    assert f"at most {MAX_LENGTH}" in message


def test_many_terms_within_the_length_limit_are_refused() -> None:
    text = "+".join(["x"] * 900)  # under MAX_LENGTH characters but too many nodes
    assert len(text) <= MAX_LENGTH
    assert "too deeply or too long" in _refused(text)


# --------------------------------------------------------------------------- through a scenario file and the CLI

MARKER = "heecon_expr_security_marker"

SCENARIO_ATTACKS = {
    "import": f"__import__('os').system('touch {MARKER}')",
    "import_pathlib": f"__import__('pathlib').Path('{MARKER}').touch()",
    "attribute": "(1).__class__.__bases__",
    "open": "open('/etc/passwd')",
    "lambda": "(lambda: 0.1)()",
    "nested_10000": "(" * 10_000 + "0.1" + ")" * 10_000,
    "long": "0.1" + " + 0" * 5000,
    "string": "'0.1'",
    "walrus": "(p := 0.1)",
}


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("attack", SCENARIO_ATTACKS.values(), ids=SCENARIO_ATTACKS.keys())
def test_refused_expression_in_scenario_exits_2(attack: str, command: str, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # where an executed 'touch' would leave the marker file
    path = write_scenario(tmp_path, set_in(base_scenario(), "transitions.H.S", attack))
    args = [command, str(path)] + (["--out", str(tmp_path / "out")] if command == "run" else [])
    start = time.perf_counter()
    result = runner.invoke(app, args)
    assert time.perf_counter() - start < 10.0
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert path.name in result.output and "  - transitions.H.S: " in result.output
    assert not (tmp_path / MARKER).exists()  # nothing was executed
    assert not (tmp_path / "out").exists()


def test_huge_power_in_scenario_is_a_probability_error_not_a_hang(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, set_in(base_scenario(), "parameters.p_HS", "9**9**9"))
    start = time.perf_counter()
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert time.perf_counter() - start < 10.0
    assert any(p.key == "transitions.H.S" and "probability is inf" in p.message for p in info.value.problems)


def test_set_override_cannot_inject_code(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, base_scenario())
    result = runner.invoke(app, ["validate", str(path), "--set", "parameters.p_HS=\"__import__('os').getcwd()\""])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "  - parameters.p_HS: " in result.output and "not allowed" in result.output
    assert "unknown name 'p_HS'" not in result.output  # the refused parameter does not cascade into its uses


# --------------------------------------------------------------------------- arithmetic is right

ARITHMETIC = [
    "1 + 2 * 3 - 4 / 5",
    "2 ** 3 ** 2",
    "-2 ** 2",
    "(1 - 0.25) ** 0.5 * 4",
    "7 % 3 + -7 % 3",
    "1 / 3 + 2 / 3",
    "x * (1 - y) + z",
    "x if y < z else z",
    "x if y > z else z",
    "1 < x < 2",
    "1 < x and y < 0.5 or not z",
    "0.1 + 0.2",
    "(x + y) * (x - y) / (z + 1)",
]


@pytest.mark.parametrize("text", ARITHMETIC)
def test_arithmetic_matches_python(text: str) -> None:
    env = {"x": 1.5, "y": 0.25, "z": 3.0}
    expected = eval(text, {"__builtins__": {}}, dict(env))  # trusted test literals only
    got = parse(text).evaluate(env, FUNCTIONS)
    assert float(got) == pytest.approx(float(expected), rel=1e-15, abs=1e-15)


def test_functions_match_numpy_and_math() -> None:
    env = {"x": 0.3}
    cases = {
        "min(x, 0.2, 0.5)": 0.2,
        "max(x, 0.2, 0.5)": 0.5,
        "exp(x)": math.exp(0.3),
        "log(x)": math.log(0.3),
        "sqrt(x)": math.sqrt(0.3),
        "abs(-x)": 0.3,
        "floor(2.7)": 2.0,
        "ceil(2.1)": 3.0,
        "clip(x, 0.4, 1)": 0.4,
        "ifelse(x > 0.5, 1, 2)": 2.0,
        "prob_to_odds(x)": 0.3 / 0.7,
        "odds_to_prob(prob_to_odds(x))": 0.3,
        "apply_or(x, 2)": (2 * 0.3 / 0.7) / (1 + 2 * 0.3 / 0.7),
    }
    for text, expected in cases.items():
        assert float(parse(text).evaluate(env, FUNCTIONS)) == pytest.approx(expected, rel=1e-12), text


def test_evaluation_broadcasts_over_arrays() -> None:
    cycles = np.arange(1.0, 4.0)[:, None]
    samples = np.array([0.1, 0.2])
    value = parse("p * cycle").evaluate({"p": samples, "cycle": cycles}, FUNCTIONS)
    assert value.shape == (3, 2)
    np.testing.assert_allclose(value, cycles * samples)


def test_rate_to_prob_and_back() -> None:
    annual = make_functions(1.0)
    monthly = make_functions(1.0 / 12.0)
    r = 0.15
    assert float(parse("rate_to_prob(r)").evaluate({"r": r}, annual)) == pytest.approx(1 - math.exp(-r), rel=1e-14)
    # the default period is one cycle
    assert float(parse("rate_to_prob(r)").evaluate({"r": r}, monthly)) == pytest.approx(1 - math.exp(-r / 12), rel=1e-14)
    assert float(parse("rate_to_prob(r, 5)").evaluate({"r": r}, monthly)) == pytest.approx(1 - math.exp(-5 * r), rel=1e-14)
    assert float(parse("prob_to_rate(rate_to_prob(r))").evaluate({"r": r}, annual)) == pytest.approx(r, rel=1e-14)
    assert float(parse("prob_to_rate(0.5, 2)").evaluate({}, annual)) == pytest.approx(math.log(2) / 2, rel=1e-14)
    # tiny rates keep their precision (expm1/log1p, not 1 - exp)
    assert float(parse("rate_to_prob(1e-12)").evaluate({}, annual)) == pytest.approx(1e-12, rel=1e-9)


def test_rescale_prob() -> None:
    annual = make_functions(1.0)
    monthly = make_functions(1.0 / 12.0)
    p = 0.2
    # a 1-year probability to one monthly cycle: 1 - (1 - p)^(1/12)
    assert float(parse("rescale_prob(p)").evaluate({"p": p}, monthly)) == pytest.approx(1 - (1 - p) ** (1 / 12), rel=1e-13)
    # a 5-year probability to one annual cycle
    assert float(parse("rescale_prob(p, 5)").evaluate({"p": p}, annual)) == pytest.approx(1 - (1 - p) ** (1 / 5), rel=1e-13)
    # explicit from and to
    assert float(parse("rescale_prob(p, 2, 6)").evaluate({"p": p}, annual)) == pytest.approx(1 - (1 - p) ** 3, rel=1e-13)
    # rescaling there and back is the identity; 0 and 1 stay 0 and 1
    assert float(parse("rescale_prob(rescale_prob(p, 1, 3), 3, 1)").evaluate({"p": p}, annual)) == pytest.approx(p)
    assert float(parse("rescale_prob(0, 1, 3)").evaluate({}, annual)) == 0.0
    assert float(parse("rescale_prob(1, 1, 3)").evaluate({}, annual)) == 1.0


def test_division_by_zero_gives_inf_or_nan_never_an_exception() -> None:
    for text in ("1 / 0", "0 / 0", "1 % 0", "prob_to_odds(1)", "odds_to_prob(-1)", "apply_or(1, 2)",
                 "prob_to_rate(0.5, 0)", "log(0)", "sqrt(-1)", "0 ** -1"):
        value = float(parse(text).evaluate({}, FUNCTIONS))
        assert math.isinf(value) or math.isnan(value), text


def test_wrong_number_of_arguments_is_an_expr_error() -> None:
    with pytest.raises(ExprError, match=r"exp\(\) takes 1 arguments, got 2"):
        parse("exp(1, 2)").evaluate({}, FUNCTIONS)
    with pytest.raises(ExprError, match=r"min\(\) takes 2 to 16 arguments, got 1"):
        parse("min(1)").evaluate({}, FUNCTIONS)


def test_default_functions_include_the_rate_helpers() -> None:
    """parse() accepts the rate helpers by default, so evaluate() without functions must provide them."""
    assert float(parse("rate_to_prob(0.1)").evaluate({})) == pytest.approx(1 - math.exp(-0.1))


def test_parsing_prints_no_python_warnings() -> None:
    """Python's own SyntaxWarnings (e.g. for '1if x else 2' or '1 is 1') are not shown to scenario authors."""
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert parse("1if 1 else 2").evaluate({}, FUNCTIONS) == 1.0
        with pytest.raises(ExprError):
            parse("1 is 1")
    assert not [w for w in caught if issubclass(w.category, SyntaxWarning)]
