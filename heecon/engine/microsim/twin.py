"""Device twins: the CUDA versions of the shared step functions, compiled from their own Python source.

:mod:`heecon.engine.microsim.step`, :mod:`~heecon.engine.microsim.rng` and :mod:`~heecon.engine.microsim.fixedpoint`
are ordinary numba CPU code. Each lists the functions the GPU kernels share in ``SHARED``. :func:`device_twins`
clones each one's ``py_func`` (the CPU dispatcher's Python function) with a globals dict in which ``mul`` is the
GPU's product and every shared name is its device twin, and compiles the clone with ``cuda.jit(device=True)``. So a
twin calls twins, the hash, the samplers and the steps exist once, and the kernels in
:mod:`heecon.engine.microsim.gpu` bind the twins as closure variables.

``mul`` on a GPU is libdevice's ``dmul_rn``: a product rounded on its own, never fused with an addition into one
multiply-add (libNVVM contracts ``a * b + c`` by default; numba-cuda has no switch). In numba's CUDA simulator,
which runs the kernels' Python source thread by thread, it is the plain product, which is what the CPU computes.
"""

from __future__ import annotations

import types
from types import SimpleNamespace
from typing import Any

from heecon.engine.microsim import fixedpoint, rng, step

#: The modules whose SHARED functions have device twins (later ones may call earlier ones).
MODULES = (rng, step, fixedpoint)

_TWINS: dict[bool, SimpleNamespace] = {}


def device_mul(cuda: Any, simulator: bool) -> Any:
    """The GPU's product: libdevice dmul_rn on hardware, the plain product in the simulator."""
    if simulator:
        def mul(a, b):
            return a * b
    else:
        from numba.cuda import libdevice

        def mul(a, b):
            return libdevice.dmul_rn(a, b)
    return cuda.jit(device=True, inline=True)(mul)


def build_twins(cuda: Any, overrides: dict[str, Any], modules: tuple = MODULES, **jit_options: Any) -> SimpleNamespace:
    """Device functions of every name in the modules' SHARED, compiled from the CPU functions' source with
    ``overrides`` (at least ``mul``) and the twins themselves in their globals; ``jit_options`` go to cuda.jit
    (tests/test_gpu_ptx.py asks for ``lineinfo``)."""
    g: dict[str, Any] = {}
    for m in modules:
        g.update(vars(m))  # constants, KIND_*, POISSON_PIECE, math, uint64 ...
    twins = dict(overrides)
    for m in modules:
        for name in m.SHARED:
            if name not in twins:
                f = getattr(m, name).py_func
                clone = types.FunctionType(f.__code__, g, name, f.__defaults__, f.__closure__)
                twins[name] = cuda.jit(device=True, inline=True, **jit_options)(clone)
    g.update(twins)  # calls between shared functions stay on the device
    return SimpleNamespace(**twins)


def device_twins(cuda: Any, simulator: bool) -> SimpleNamespace:
    """The device twins for this process (built once; ``simulator`` as heecon.engine.microsim.gpu.simulator())."""
    if simulator not in _TWINS:
        _TWINS[simulator] = build_twins(cuda, {"mul": device_mul(cuda, simulator)})
    return _TWINS[simulator]
