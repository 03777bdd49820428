"""heecon pins OpenBLAS's and NumPy's CPU-specific kernels before NumPy loads (heecon/_cpu_pin.py)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

from heecon import _cpu_pin

_PROBE = ("import json, os, sys\n{first}\nimport numpy\nfrom heecon import _cpu_pin\n"
          "print(json.dumps({{'pinned': _cpu_pin.pinned(), 'blas': os.environ.get('OPENBLAS_CORETYPE'), "
          "'npy': os.environ.get('NPY_DISABLE_CPU_FEATURES')}}))")


def _run(code: str, **env: str) -> object:
    """The last line a fresh Python prints, as JSON, run without the pin's variables (plus ``env``)."""
    e = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "NPY_DISABLE_CPU_FEATURES",
                                                           "HEECON_NATIVE_CPU")}
    e.update(env)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=e, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _probe(first: str, **env: str) -> dict:
    return _run(_PROBE.format(first=first), **env)


x86_linux = pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.machine() == "x86_64"
                                    and {"avx2", "fma"} <= _cpu_pin._cpu_flags()),
                               reason="the OpenBLAS pin applies to x86-64 Linux with AVX2 and FMA")


@x86_linux
def test_import_heecon_pins_the_kernels_before_numpy():
    got = _probe("import heecon")
    assert got["pinned"] and got["blas"] == _cpu_pin.OPENBLAS_CORE
    assert got["npy"] == (_cpu_pin.NUMPY_DISABLED if _cpu_pin._numpy_at_least(2, 4) else None)


@x86_linux
def test_the_pin_takes_effect_in_openblas():
    # OpenBLAS reports the core it runs; the pinned one whatever this machine is
    # (on a machine whose own core is Haswell the first check cannot tell; the second, a core set beforehand that
    # this machine would not pick, shows the variable heecon sets is the one OpenBLAS obeys)
    pytest.importorskip("threadpoolctl")
    code = ("import heecon, numpy, json\nimport threadpoolctl\n"
            "print(json.dumps([i.get('architecture') for i in threadpoolctl.threadpool_info()"
            " if i.get('internal_api') == 'openblas']))")
    archs = _run(code)
    assert archs and all(a == _cpu_pin.OPENBLAS_CORE for a in archs)
    archs = _run(code, OPENBLAS_CORETYPE="Sandybridge")
    assert archs and all(a == "Sandybridge" for a in archs)


def test_numpy_first_or_opt_out_leaves_the_machine_kernels():
    assert _probe("import numpy\nimport heecon")["pinned"] is False
    got = _probe("import heecon", HEECON_NATIVE_CPU="1")
    assert not got["pinned"] and got["blas"] is None and got["npy"] is None


def test_a_variable_the_user_set_is_kept():
    got = _probe("import heecon", OPENBLAS_CORETYPE="Prescott")
    assert got["blas"] == "Prescott"
