"""Static checks that catch what the tests cannot reach: undefined names and unused variables (pyflakes rules of
ruff) in the package, the tests and the benchmarks. Two bugs of this kind (a NameError in the scenario loader's
joint-distribution errors, an undefined name in the GPU fast path that the CPU-only CI never runs) were found
this way."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from .conftest import ROOT


def test_no_undefined_names_or_unused_variables():
    try:
        import ruff  # noqa: F401
    except ImportError:
        if shutil.which("ruff") is None:
            pytest.skip("ruff is not installed (pip install -e '.[test]')")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--select", "F", "--output-format", "concise",
                           "--no-cache", "heecon", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
