"""The mul() rule of the shared step (heecon/engine/microsim/step.py), checked on the source.

Every floating-point product that feeds an addition must be written ``mul(a, b)``: on the CPU that is the plain
product, on a GPU libdevice's ``dmul_rn``, which libNVVM never fuses with the addition into one multiply-add (a
fused multiply-add rounds once where the CPU rounds twice, so the GPU's sums would leave the CPU's bits). The rule
as checked here: a ``*`` that is an operand of ``+`` or ``-`` (or the value of ``+=``/``-=``) is an error, unless
it sits in a subscript (an index) or on a line marked ``# integer`` (integer arithmetic, e.g. counter indices).
It covers step.py and every function the GPU shares from rng.py and fixedpoint.py (twin.MODULES).
tests/test_gpu_ptx.py checks the compiled PTX on a GPU.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

from heecon.engine.microsim import step, twin


def products_feeding_sums(source: str) -> list[str]:
    """``line: text`` of every ``*`` that is an operand of ``+``/``-`` (or of ``+=``/``-=``) outside subscripts and
    lines marked ``# integer``."""
    tree = ast.parse(source)
    lines = source.splitlines()
    in_index: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript):
            in_index.update(id(n) for n in ast.walk(node.slice))
    bad = []

    def check(node: ast.AST) -> None:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and id(node) not in in_index:
            text = lines[node.lineno - 1]
            if not text.rstrip().endswith("# integer"):
                bad.append(f"{node.lineno}: {text.strip()}")

    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            check(node.left)
            check(node.right)
        elif isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub)):
            check(node.value)
    return bad


def test_step_writes_every_product_that_feeds_a_sum_as_mul():
    assert products_feeding_sums(Path(step.__file__).read_text()) == []


def test_every_shared_function_follows_the_rule():
    for m in twin.MODULES:
        for name in m.SHARED:
            src = textwrap.dedent(inspect.getsource(getattr(m, name).py_func))
            assert products_feeding_sums(src) == [], f"{m.__name__}.{name}"


def test_the_lint_finds_what_it_forbids():
    src = "def f(a, b, c, x, i):\n    x += a * b\n    y = c - a * b\n    z = x[2 * i + 1] + mul(a, b)\n" \
          "    w = i + 3 * i  # integer\n    return a * b + c\n"
    assert [s.split(":")[0] for s in products_feeding_sums(src)] == ["2", "3", "6"]


def test_every_shared_name_is_a_numba_function():
    for m in twin.MODULES:
        for name in m.SHARED:
            assert hasattr(getattr(m, name), "py_func"), f"{m.__name__}.{name}"
