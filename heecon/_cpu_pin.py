"""The same numbers on every x86-64 machine: pin the CPU-specific kernels of OpenBLAS and NumPy before NumPy loads.

OpenBLAS picks its matrix kernels by the CPU it finds (Haswell, SkylakeX, Zen, ...), and NumPy dispatches some loops
(float64 exp and log among them) to AVX-512 code where the CPU has it. Different kernels sum in a different order or
round differently, so a cohort trace (a matrix product), a regression or a Gaussian process moved in the last bits
from one machine to another (seen: every cohort model's golden digests differed between an AVX-512 machine and an
AVX2 one with the same packages). heecon's own numba kernels never depended on the CPU (no fast-math, no fused
multiply-add: tests/golden's kernel digests matched on both).

:func:`pin` (run by ``import heecon``, before anything imports NumPy) sets, unless the variable is already set:

* ``OPENBLAS_CORETYPE=Haswell`` on x86-64 Linux when the CPU has AVX2 and FMA (every x86-64-v3 machine runs the
  same kernel; an older CPU keeps its own, as Haswell's would not run there);
* ``NPY_DISABLE_CPU_FEATURES`` to NumPy's AVX-512 dispatch targets (NumPy >= 2.4 names them ``X86_V4``,
  ``AVX512_ICL``, ``AVX512_SPR``; older NumPy is left as it is).

``HEECON_NATIVE_CPU=1`` skips both (the machine's fastest kernels, numbers then machine-specific in the last bits).
When NumPy was imported before heecon the pin cannot apply and :func:`pinned` says so.
"""

from __future__ import annotations

import os
import platform
import sys

__all__ = ["pin", "pinned", "OPENBLAS_CORE", "NUMPY_DISABLED"]

OPENBLAS_CORE = "Haswell"
NUMPY_DISABLED = "X86_V4 AVX512_ICL AVX512_SPR"
_state = {"applied": False}


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _numpy_at_least(major: int, minor: int) -> bool:
    """Whether the NumPy that would be imported is at least major.minor, read from its version.py without importing
    it (importlib.metadata would cost the command line ~40 ms at every start)."""
    import importlib.util
    import re

    try:
        spec = importlib.util.find_spec("numpy")
        if spec is None or spec.origin is None:
            return False
        with open(os.path.join(os.path.dirname(spec.origin), "version.py"), encoding="utf-8") as fh:
            m = re.search(r"""^version(?::\s*str)?\s*=\s*["'](\d+)\.(\d+)""", fh.read(), re.M)
    except (OSError, ImportError, ValueError):
        return False
    return m is not None and (int(m.group(1)), int(m.group(2))) >= (major, minor)


def pin() -> None:
    """Set the two variables (see the module docstring); does nothing once NumPy is loaded or off x86-64."""
    if "numpy" in sys.modules or os.environ.get("HEECON_NATIVE_CPU") == "1":
        return
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return
    if sys.platform.startswith("linux") and {"avx2", "fma"} <= _cpu_flags():
        os.environ.setdefault("OPENBLAS_CORETYPE", OPENBLAS_CORE)
    if _numpy_at_least(2, 4):
        os.environ.setdefault("NPY_DISABLE_CPU_FEATURES", NUMPY_DISABLED)
    _state["applied"] = True


def pinned() -> bool:
    """Whether this process runs with the pinned kernels (pin() ran before NumPy loaded, on a machine it applies to)."""
    return _state["applied"]
