"""Restricted arithmetic expressions for scenario files.

Scenario files are data. A number in a scenario may be written as a small
expression over parameter names, model time and a fixed set of functions::

    "rate_to_prob(r_HD * hr_S1)"
    "min(1, mort(age) * smr)"
    "c_trt if cycle <= 2 else 0"

Expressions are parsed with :mod:`ast` and every node is checked against a
whitelist: numbers, names, ``+ - * / ** %``, unary minus, comparisons,
``and``/``or``/``not``, ``a if cond else b`` and calls of whitelisted
functions by plain name. Attribute access, subscripts, keyword arguments,
lambdas, comprehensions, strings and everything else are refused before
anything is evaluated. Python's ``eval`` is never used: a parsed expression is
compiled into a tree of closures over NumPy operations, so it broadcasts over
PSA samples and model cycles, and all arithmetic is floating point (``9**9**9``
is ``inf`` at once, never a hang on big integers).
"""

from __future__ import annotations

import ast
import functools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

__all__ = ["Expr", "ExprError", "parse", "BUILTIN_FUNCTIONS", "TIME_NAMES", "make_functions"]

#: Names that the model provides at every cycle (see docs/scenario-format.md).
TIME_NAMES = frozenset({"cycle", "time", "age"})

MAX_LENGTH = 2000
MAX_DEPTH = 40
MAX_NODES = 500


class ExprError(ValueError):
    """An expression could not be parsed or is not allowed."""


def _nary(fn: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    def f(*args: Any) -> Any:
        out = args[0]
        for a in args[1:]:
            out = fn(out, a)
        return out

    return f


def _ifelse(cond: Any, a: Any, b: Any) -> Any:
    return np.where(np.asarray(cond) != 0, a, b)


def _clip(x: Any, lo: Any, hi: Any) -> Any:
    return np.minimum(np.maximum(x, lo), hi)


# np.divide, not '/': arguments may be plain Python floats, and 1.0 / 0.0 raises ZeroDivisionError
# where NumPy gives inf or nan (which the model checks then report).
def _prob_to_odds(p: Any) -> Any:
    return np.divide(p, np.subtract(1.0, p))


def _odds_to_prob(o: Any) -> Any:
    return np.divide(o, np.add(1.0, o))


def _apply_or(p: Any, odds_ratio: Any) -> Any:
    o = np.divide(np.multiply(odds_ratio, p), np.subtract(1.0, p))
    return np.divide(o, np.add(1.0, o))


# name -> (callable, min args, max args, one-line help)
BUILTIN_FUNCTIONS: dict[str, tuple[Callable[..., Any], int, int, str]] = {
    "min": (_nary(np.minimum), 2, 16, "min(a, b, ...): smallest"),
    "max": (_nary(np.maximum), 2, 16, "max(a, b, ...): largest"),
    "exp": (np.exp, 1, 1, "exp(x)"),
    "log": (np.log, 1, 1, "log(x): natural logarithm"),
    "sqrt": (np.sqrt, 1, 1, "sqrt(x)"),
    "abs": (np.abs, 1, 1, "abs(x)"),
    "floor": (np.floor, 1, 1, "floor(x)"),
    "ceil": (np.ceil, 1, 1, "ceil(x)"),
    "clip": (_clip, 3, 3, "clip(x, lo, hi)"),
    "ifelse": (_ifelse, 3, 3, "ifelse(cond, a, b): a where cond is true, else b"),
    "prob_to_odds": (_prob_to_odds, 1, 1, "prob_to_odds(p) = p / (1 - p)"),
    "odds_to_prob": (_odds_to_prob, 1, 1, "odds_to_prob(o) = o / (1 + o)"),
    "apply_or": (_apply_or, 2, 2, "apply_or(p, OR): probability p after an odds ratio"),
}

# Functions that need the cycle length; bound by make_functions().
_CYCLE_FUNCTIONS_HELP = {
    "rate_to_prob": (1, 2, "rate_to_prob(rate[, years]): 1 - exp(-rate * years); years defaults to one cycle"),
    "prob_to_rate": (1, 2, "prob_to_rate(p[, years]): -log(1 - p) / years; years defaults to one cycle"),
    "rescale_prob": (
        1,
        3,
        "rescale_prob(p[, from_years[, to_years]]): a probability over from_years (default 1) "
        "rescaled to to_years (default one cycle) at a constant rate",
    ),
}


def make_functions(
    cycle_years: float, tables: Mapping[str, Callable[[Any], Any]] | None = None
) -> dict[str, tuple[Callable[..., Any], int, int, str]]:
    """The functions available to a model's expressions.

    Parameters
    ----------
    cycle_years
        Cycle length in years, the default time step of the rate helpers.
    tables
        Lookup functions by table name (one argument: the key, e.g. ``age``).
    """

    def rate_to_prob(rate: Any, years: Any = cycle_years) -> Any:
        return -np.expm1(np.multiply(np.negative(rate), years))

    def prob_to_rate(p: Any, years: Any = cycle_years) -> Any:
        return np.divide(-np.log1p(np.negative(p)), years)

    def rescale_prob(p: Any, from_years: Any = 1.0, to_years: Any = cycle_years) -> Any:
        return -np.expm1(np.multiply(np.log1p(np.negative(p)), np.divide(to_years, from_years)))

    funcs = dict(BUILTIN_FUNCTIONS)
    for name, fn in (("rate_to_prob", rate_to_prob), ("prob_to_rate", prob_to_rate), ("rescale_prob", rescale_prob)):
        lo, hi, doc = _CYCLE_FUNCTIONS_HELP[name]
        funcs[name] = (fn, lo, hi, doc)
    for name, fn in (tables or {}).items():
        funcs[name] = (fn, 1, 1, f"{name}(key): value from table '{name}'")
    return funcs


#: Functions used by :meth:`Expr.evaluate` when none are given: the built-ins and the
#: rate helpers with a one-year cycle (every name :func:`parse` allows by default).
DEFAULT_FUNCTIONS = make_functions(1.0)

#: Function names known without a model (used when parsing before tables are known).
KNOWN_FUNCTION_NAMES = frozenset(BUILTIN_FUNCTIONS) | frozenset(_CYCLE_FUNCTIONS_HELP)

_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
    ast.Pow: np.power,
    ast.Mod: np.mod,
}
_BINOP_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.Mod: "%"}
_CMPOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: np.not_equal,
}

# Friendly names for refused syntax, used in error messages.
_NODE_NAMES = {
    "Attribute": "attribute access (a.b)",
    "Subscript": "subscripts (a[i])",
    "Lambda": "lambda",
    "ListComp": "a list comprehension",
    "SetComp": "a set comprehension",
    "DictComp": "a dict comprehension",
    "GeneratorExp": "a generator expression",
    "JoinedStr": "an f-string",
    "FormattedValue": "an f-string",
    "NamedExpr": "the walrus operator (:=)",
    "List": "a list",
    "Tuple": "a tuple",
    "Set": "a set",
    "Dict": "a dict",
    "Starred": "*args",
    "Slice": "a slice",
    "Await": "await",
    "Yield": "yield",
    "YieldFrom": "yield",
}

Evaluator = Callable[[Mapping[str, Any], Mapping[str, tuple]], Any]


@dataclass(frozen=True)
class Expr:
    """A parsed, checked expression.

    Attributes
    ----------
    text
        The source text (or the number it was given as).
    names
        Free variable names: parameters and model-time names.
    calls
        Names of the functions it calls.
    constant
        The value when the expression is a plain number, else ``None``.
    """

    text: str
    names: frozenset[str]
    calls: frozenset[str]
    constant: float | None = None
    _fn: Evaluator | None = field(default=None, repr=False, compare=False)

    def evaluate(self, env: Mapping[str, Any], functions: Mapping[str, tuple] | None = None) -> Any:
        """Evaluate with NumPy broadcasting; ``env`` maps names to floats or arrays.

        ``functions`` defaults to :data:`DEFAULT_FUNCTIONS`. A name missing from
        ``env`` or a function missing from ``functions`` raises :class:`ExprError`.
        """
        if self.constant is not None:
            return self.constant
        assert self._fn is not None
        with np.errstate(all="ignore"):
            return self._fn(env, functions if functions is not None else DEFAULT_FUNCTIONS)

    @property
    def is_constant(self) -> bool:
        return self.constant is not None


def parse(source: str | float | int, functions: frozenset[str] | set[str] | None = None) -> Expr:
    """Parse and check an expression.

    Parameters
    ----------
    source
        A number, or the expression text.
    functions
        Function names allowed in calls (default: the built-in and rate helpers).

    Raises
    ------
    ExprError
        With a message saying what is not allowed and what would be.
    """
    if isinstance(source, bool):
        raise ExprError(f"expected a number or an expression, got the boolean {str(source).lower()}")
    if isinstance(source, (int, float)):
        try:
            value = float(source)
        except OverflowError:  # an integer beyond float range (TOML integers are unbounded in tomllib)
            value = math.inf if source > 0 else -math.inf
        text = repr(source) if math.isfinite(value) else repr(value)  # repr of a huge int can raise ValueError
        return Expr(text=text, names=frozenset(), calls=frozenset(), constant=value)
    if not isinstance(source, str):
        raise ExprError(f"expected a number or an expression string, got {type(source).__name__}")
    text = source.strip()
    if not text:
        raise ExprError("expected a number or an expression, got an empty string")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression is {len(text)} characters long; at most {MAX_LENGTH} are allowed")
    allowed = KNOWN_FUNCTION_NAMES if functions is None else frozenset(functions)
    key = (text, allowed)
    hit = _PARSED.get(key)
    if hit is None:
        hit = _parse_text(text, allowed)  # raises ExprError (never stored)
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = hit
    return hit


#: Parsed expressions by (text, allowed functions). An Expr is immutable and its evaluator pure, so a scenario
#: analysis that loads the flagship 33 times (about 6,000 expressions a load) parses each text once.
_PARSED: dict[tuple[str, frozenset[str]], Expr] = {}
_PARSED_MAX = 8192


def _parse_text(text: str, allowed: frozenset[str]) -> Expr:
    """parse() of a stripped, non-empty expression text of allowed length."""
    try:
        with warnings.catch_warnings():  # e.g. SyntaxWarning for '1if x else 2': Python's noise, not the user's
            warnings.simplefilter("ignore")
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ExprError(f"cannot parse expression {text!r}: {exc.msg}") from None
    except (ValueError, MemoryError, RecursionError) as exc:  # e.g. null bytes, absurd nesting
        raise ExprError(f"cannot parse expression {text!r}: {exc}") from None
    checker = _Compiler(text, allowed)
    fn = checker.compile(tree.body, 0)
    if isinstance(tree.body, ast.Constant) or (
        isinstance(tree.body, ast.UnaryOp) and isinstance(tree.body.operand, ast.Constant)
    ):
        with np.errstate(all="ignore"):
            value = float(fn({}, {}))
        return Expr(text=text, names=frozenset(), calls=frozenset(), constant=value)
    return Expr(text=text, names=frozenset(checker.names), calls=frozenset(checker.calls), _fn=fn)


class _Compiler:
    def __init__(self, text: str, functions: frozenset[str]):
        self.text = text
        self.functions = functions
        self.names: set[str] = set()
        self.calls: set[str] = set()
        self.count = 0

    def fail(self, what: str) -> ExprError:
        return ExprError(f"{what} is not allowed in expression {self.text!r}; allowed are numbers, parameter names, "
                         "+ - * / ** %, comparisons, and/or/not, 'a if cond else b' and the listed functions")

    def compile(self, node: ast.AST, depth: int) -> Evaluator:
        self.count += 1
        if depth > MAX_DEPTH or self.count > MAX_NODES:
            raise ExprError(f"expression {self.text[:60]!r} is nested too deeply or too long")
        d = depth + 1
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise self.fail(f"the constant {v!r}")
            fv = float(v) if abs(v) < 1e308 else math.inf
            return lambda env, fns: fv
        if isinstance(node, ast.Name):
            name = node.id
            if name.startswith("_"):
                raise self.fail(f"the name {name!r} (names may not start with '_')")
            self.names.add(name)
            text = self.text

            def lookup(env: Mapping[str, Any], fns: Mapping[str, tuple]) -> Any:
                try:
                    return env[name]
                except KeyError:
                    raise ExprError(f"unknown name {name!r} in expression {text!r}: it is not defined here") from None

            return lookup
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise self.fail(f"the operator {type(node.op).__name__}")
            left, right = self.compile(node.left, d), self.compile(node.right, d)
            if isinstance(node.op, ast.Pow):
                def power(env: Mapping[str, Any], fns: Mapping[str, tuple]) -> Any:
                    return np.power(np.asarray(left(env, fns), dtype=float), right(env, fns))
                return power
            return lambda env, fns: op(left(env, fns), right(env, fns))
        if isinstance(node, ast.UnaryOp):
            operand = self.compile(node.operand, d)
            if isinstance(node.op, ast.USub):
                return lambda env, fns: np.negative(operand(env, fns))
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Not):
                return lambda env, fns: (np.asarray(operand(env, fns)) == 0).astype(float)
            raise self.fail(f"the operator {type(node.op).__name__}")
        if isinstance(node, ast.Compare):
            parts = [self.compile(node.left, d)] + [self.compile(c, d) for c in node.comparators]
            ops = []
            for o in node.ops:
                f = _CMPOPS.get(type(o))
                if f is None:
                    raise self.fail(f"the comparison {type(o).__name__}")
                ops.append(f)

            def compare(env: Mapping[str, Any], fns: Mapping[str, tuple]) -> Any:
                values = [p(env, fns) for p in parts]
                out = ops[0](values[0], values[1])
                for i in range(1, len(ops)):
                    out = np.logical_and(out, ops[i](values[i], values[i + 1]))
                return np.asarray(out, dtype=float)

            return compare
        if isinstance(node, ast.BoolOp):
            vals = [self.compile(v, d) for v in node.values]
            combine = np.logical_and if isinstance(node.op, ast.And) else np.logical_or

            def boolop(env: Mapping[str, Any], fns: Mapping[str, tuple]) -> Any:
                out = np.asarray(vals[0](env, fns)) != 0
                for v in vals[1:]:
                    out = combine(out, np.asarray(v(env, fns)) != 0)
                return out.astype(float)

            return boolop
        if isinstance(node, ast.IfExp):
            test, body, orelse = self.compile(node.test, d), self.compile(node.body, d), self.compile(node.orelse, d)
            return lambda env, fns: np.where(np.asarray(test(env, fns)) != 0, body(env, fns), orelse(env, fns))
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise self.fail("calling anything but a function by its plain name")
            fname = node.func.id
            if node.keywords:
                raise self.fail(f"keyword arguments (in the call of {fname!r})")
            if fname not in self.functions:
                valid = ", ".join(sorted(self.functions))
                raise ExprError(f"unknown function {fname!r} in expression {self.text!r}; valid functions: {valid}")
            args = []
            for a in node.args:
                if isinstance(a, ast.Starred):
                    raise self.fail("*args")
                args.append(self.compile(a, d))
            self.calls.add(fname)
            nargs = len(args)

            def call(env: Mapping[str, Any], fns: Mapping[str, tuple]) -> Any:
                entry = fns.get(fname)
                if entry is None:
                    raise ExprError(f"the function {fname!r} is not available here (in expression {self.text!r})")
                fn, lo, hi, _ = entry
                if not lo <= nargs <= hi:
                    raise ExprError(f"{fname}() takes {lo}" + (f" to {hi}" if hi != lo else "") +
                                    f" arguments, got {nargs}, in expression {self.text!r}")
                return fn(*(a(env, fns) for a in args))

            return call
        what = _NODE_NAMES.get(type(node).__name__, type(node).__name__)
        raise self.fail(what)


@functools.lru_cache(maxsize=4096)
def _calls(text: str) -> tuple[tuple[str, int], ...]:
    """(function name, number of arguments) of every call by name in an expression, parsed once per text."""
    return tuple((node.func.id, len(node.args)) for node in ast.walk(ast.parse(text, mode="eval"))
                 if isinstance(node, ast.Call) and isinstance(node.func, ast.Name))


def check_arity(expr: Expr, functions: Mapping[str, tuple]) -> list[str]:
    """Messages for calls with the wrong number of arguments (checked without evaluating)."""
    problems: list[str] = []
    if expr.constant is not None:
        return problems
    for name, n in _calls(expr.text):
        if name in functions:
            _, lo, hi, doc = functions[name]
            if not lo <= n <= hi:
                rng = f"{lo}" if lo == hi else f"{lo} to {hi}"
                problems.append(f"{name}() takes {rng} arguments, got {n} ({doc})")
    return problems
    tree = ast.parse(expr.text, mode="eval")
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in functions:
            _, lo, hi, doc = functions[node.func.id]
            n = len(node.args)
            if not lo <= n <= hi:
                rng = f"{lo}" if lo == hi else f"{lo} to {hi}"
                problems.append(f"{node.func.id}() takes {rng} arguments, got {n} ({doc})")
    return problems
