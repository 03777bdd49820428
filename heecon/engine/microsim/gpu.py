"""The microsimulation kernel on an NVIDIA GPU (numba-cuda): the same counter-based generator, the same walk and
the same steps, so every state path (and so every count) equals the CPU run's, and sums agree to rounding.

Two kernels:

* the fast path (:func:`simulate_gpu`): Markov transitions with per-state rewards and one-off rewards on moves
  (the FMH-6 benchmark model). One CUDA thread simulates one individual of one parameter set for every strategy
  (common random numbers); a warp's float totals are reduced with shuffles before one atomic add per warp. It
  keeps sums and sums of squares only (no paired squares, event counts or per-cycle rewards).
* the general kernel (:func:`simulate_gpu_general`, source in :mod:`heecon.engine.microsim.gpu_general`):
  everything the CPU kernel's general block does -- covariates on transitions (attributes, history counters,
  time in state, complement columns), counters, Poisson and Bernoulli events with covariates, strategy rate
  ratios, rewards and event-driven moves, treatment engagement (Beta or supplied propensity, dropout,
  attendance, ITT or dose-scaled effect), population files (start states), event counts, incremental standard
  errors, per-cycle output for kept samples and trajectories. It returns a
  :class:`heecon.engine.microsim.cpu.MicrosimResult` with the CPU kernel's exact fixed-point accumulators.

:func:`gpu_path` picks the kernel (the fast one only where it gives everything the caller needs),
:func:`unsupported` says what the general kernel cannot hold (a few size limits), :func:`available` whether a GPU
is there. The per-sample tables (cumulative rows, point-reward tables, and every transcendental value that does
not depend on the individual) are built on the host by the CPU kernel's own functions.

Verification: the general kernel was checked in numba's CUDA simulator, which runs its source in Python, against
the CPU kernel on every feature and on the flagship, feature and Krijkamp scenarios (tests/test_gpu_general.py,
``cudasim`` tests, part of the default run): state paths, counts and the exact accumulators are equal bit for bit.
Its PTX was compiled with libNVVM (CUDA 13, sm_90) to check that it builds and that no product feeding a sum is
fused into a multiply-add. The same comparisons at real sizes on a GPU (``gpu`` tests) are written but had not yet
been run on hardware when this kernel was added. The fast kernel and its host wrapper also run in the simulator
(the ``fast_path`` case: paths and occupancy exact, sums to 1e-9); on the GPU they passed tests/test_gpu.py on an
H100 when they were written.

Numba-cuda under NumPy >= 2.5 needs ``np.row_stack`` (removed in NumPy 2.5) restored before import; this module
does that.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np

__all__ = ["available", "simulator", "supports", "unsupported", "gpu_path", "simulate_gpu",
           "simulate_gpu_general"]

_CUDA: Any = None
_KERNEL: Any = None
MAX_POINTS = 512  # cycles + 1 a GPU thread can hold (longer horizons run on the CPU kernel)


def _cuda() -> Any:
    global _CUDA
    if _CUDA is None:
        if not hasattr(np, "row_stack"):
            np.row_stack = np.vstack  # type: ignore[attr-defined]
        from numba import cuda

        _CUDA = cuda
    return _CUDA


def simulator() -> bool:
    """True when numba's CUDA simulator is switched on (``NUMBA_ENABLE_CUDASIM=1`` before numba is imported)."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return True
    try:
        from numba import config

        return bool(getattr(config, "ENABLE_CUDASIM", 0))
    except Exception:
        return False


def available() -> bool:
    """True when numba-cuda is importable and a CUDA device is present.

    numba's CUDA simulator reports a device too, but it runs kernels in Python (thousands of times slower):
    it counts only where ``HEECON_CUDASIM=1`` asks for it explicitly (the simulator tests do, in a subprocess),
    so no ordinary run ever picks it.
    """
    try:
        if simulator() and os.environ.get("HEECON_CUDASIM") != "1":
            return False
        cuda = _cuda()
        return bool(cuda.is_available())
    except Exception:  # no numba-cuda, no driver, no device
        return False


def supports(kwargs: dict[str, Any]) -> bool:
    """Whether a model's extra arrays (microsim kernel keyword arguments) stay on the fast path."""
    def nonzero(name: str) -> bool:
        a = kwargs.get(name)
        return a is not None and np.size(a) > 0 and bool(np.any(np.asarray(a) != 0))

    if any(nonzero(k) for k in ("beta_tr", "gamma_tr", "ev_rate", "eng_sessions", "tr_counter")):
        return False
    tis = kwargs.get("tis_tr")
    return tis is None or bool(np.all(np.asarray(tis) == 1.0))


#: Limits of the general kernel (its per-thread arrays have sizes fixed at compile time; see unsupported()).
GENERAL_MAX_R = 32  # reward columns
GENERAL_MAX_E = 64  # event types
GENERAL_MAX_K = 32  # history counters
GENERAL_MAX_S_COV = 512  # states, when transitions have covariates (one row of probabilities per thread)


def unsupported(P_mats: Any, V_mats: Any, kwargs: dict[str, Any]) -> str | None:
    """Why the general GPU kernel cannot run a model (None when it can); ``kwargs`` as for ``simulate``."""
    S = np.shape(P_mats)[2]
    R = np.shape(V_mats)[3]
    E = np.shape(kwargs["ev_rate"])[3] if kwargs.get("ev_rate") is not None else 0
    K = 0
    for name, ax in (("gamma_tr", 3), ("ev_gamma", 2), ("ev_counter", 1), ("tr_counter", 2)):
        if kwargs.get(name) is not None:
            K = np.shape(kwargs[name])[ax]
            break
    if R > GENERAL_MAX_R:
        return f"{R} reward columns (the GPU kernel holds at most {GENERAL_MAX_R})"
    if E > GENERAL_MAX_E:
        return f"{E} event types (the GPU kernel holds at most {GENERAL_MAX_E})"
    if K > GENERAL_MAX_K:
        return f"{K} history counters (the GPU kernel holds at most {GENERAL_MAX_K})"
    if S > GENERAL_MAX_S_COV and not supports({k: kwargs.get(k) for k in ("beta_tr", "gamma_tr", "tis_tr")}):
        return f"{S} states with covariates on transitions (the GPU kernel holds at most {GENERAL_MAX_S_COV})"
    return None


def gpu_path(kwargs: dict[str, Any], *, n_keep: int = 0, n_cycles: int = 0) -> str:
    """Which GPU kernel a run takes: "fast" where the fast path gives all the caller needs, else "general".

    The fast path has no covariates, counters, events, engagement or population file (``start_state``), no
    per-cycle rewards or paired squares (incremental SE), and at most MAX_POINTS - 1 cycles; the general kernel
    has everything. Under the CUDA simulator runs take the general kernel (the simulator tests call the fast one
    directly; there it adds per thread instead of reducing per warp with shuffles, which the simulator lacks).
    """
    fast = (supports(kwargs) and kwargs.get("start_state") is None and n_keep == 0 and n_cycles + 1 <= MAX_POINTS
            and not simulator())
    return "fast" if fast else "general"


def _build_kernel() -> Any:
    # `cuda` is a module global, not a local: numba's CUDA simulator swaps the module globals named `cuda` of a
    # kernel for its own module, so this kernel also runs (slowly, in Python) under NUMBA_ENABLE_CUDASIM=1
    global _KERNEL, cuda
    if _KERNEL is not None:
        return _KERNEL
    cuda = _cuda()
    from numba import float64, int16, uint64

    sim = simulator()  # a constant of the kernel: False on a GPU, where the branch below is never taken

    @cuda.jit(device=True, inline=True)
    def mix64(z):
        z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
        return z ^ (z >> uint64(31))

    @cuda.jit(device=True, inline=True)
    def to_uniform(bits):
        return float64(bits >> uint64(11)) * (1.0 / 9007199254740992.0)

    @cuda.jit
    def kernel(k_seed, sample_offset, ind_offset, n_ind, Pc, pc_per_sample, P_map, G, g_per_sample, scum,
               s_per_sample, tconst, c0, has_tr, TRw, tr_per_sample, TR_map, out, out_sq, occ, traj):
        # out[sample, strategy, q] (q = 2r + d), occ[strategy, T+1, S] for sample 0, traj[i, strategy, T+1]
        smp = cuda.blockIdx.y
        i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        n_strat = P_map.shape[0]
        T = P_map.shape[1]
        S = Pc.shape[3]
        Q = G.shape[4]
        active = i < n_ind
        pi = smp if pc_per_sample else 0
        gi = smp if g_per_sample else 0
        si = smp if s_per_sample else 0
        ti = smp if tr_per_sample else 0
        k_samp = mix64(uint64(k_seed) + mix64(uint64(sample_offset + smp) + uint64(0xBB67AE8584CAA73B)))
        k_ind = mix64(k_samp + mix64(uint64(ind_offset + i) + uint64(0x3C6EF372FE94F82B)))
        lane = cuda.threadIdx.x & 31
        path = cuda.local.array(MAX_POINTS, int16)
        for s in range(n_strat):
            # 1. the path: starting state from one shared uniform, then one uniform per cycle (as on the CPU)
            if active:
                u0 = to_uniform(mix64(k_ind + uint64(c0)))
                x = 0
                while u0 >= scum[si, s, x]:
                    x += 1
                path[0] = int16(x)
                for k in range(1, T + 1):
                    u = to_uniform(mix64(k_ind + tconst[k]))
                    m = P_map[s, k - 1]
                    j = 0
                    for c in range(S):
                        j += u >= Pc[pi, m, x, c]
                    path[k] = int16(j)
                    x = j
                if smp == 0:
                    for k in range(T + 1):
                        cuda.atomic.add(occ, (s, k, path[k]), 1)
                        if i < traj.shape[0]:
                            traj[i, s, k] = path[k]
            # 2. rewards along the path: four independent chains over points 0..T, then the moves' rewards
            for q0 in range(0, Q, 4):
                a0 = 0.0
                a1 = 0.0
                a2 = 0.0
                a3 = 0.0
                if active:
                    for p in range(T + 1):
                        y = path[p]
                        a0 += G[gi, s, p, y, q0]
                        a1 += G[gi, s, p, y, q0 + 1]
                        a2 += G[gi, s, p, y, q0 + 2]
                        a3 += G[gi, s, p, y, q0 + 3]
                    if has_tr:
                        b0 = 0.0
                        b1 = 0.0
                        b2 = 0.0
                        b3 = 0.0
                        for k in range(1, T + 1):
                            f = path[k - 1]
                            t = path[k]
                            b0 += TRw[ti, s, k - 1, f, t, q0]
                            b1 += TRw[ti, s, k - 1, f, t, q0 + 1]
                            b2 += TRw[ti, s, k - 1, f, t, q0 + 2]
                            b3 += TRw[ti, s, k - 1, f, t, q0 + 3]
                        a0 += b0
                        a1 += b1
                        a2 += b2
                        a3 += b3
                for z in range(4):
                    v = a0 if z == 0 else (a1 if z == 1 else (a2 if z == 2 else a3))
                    v2 = v * v
                    if sim:
                        # numba's CUDA simulator has no warp shuffles: one atomic per thread (only the order of
                        # the float additions differs from the GPU's)
                        if active and q0 + z < Q:
                            cuda.atomic.add(out, (smp, s, q0 + z), v)
                            cuda.atomic.add(out_sq, (smp, s, q0 + z), v2)
                        continue
                    # warp reduction, then one atomic per warp (blocks never straddle samples)
                    off = 16
                    while off > 0:
                        v += cuda.shfl_down_sync(0xFFFFFFFF, v, off)
                        v2 += cuda.shfl_down_sync(0xFFFFFFFF, v2, off)
                        off //= 2
                    if lane == 0 and q0 + z < Q:
                        cuda.atomic.add(out, (smp, s, q0 + z), v)
                        cuda.atomic.add(out_sq, (smp, s, q0 + z), v2)

    _KERNEL = kernel
    return kernel


def simulate_gpu(P_mats: np.ndarray, P_map: np.ndarray, V_mats: np.ndarray, V_map: np.ndarray, W: np.ndarray, *,
                 n_ind: int, n_samples: int | None = None, seed: int = 0, sample_offset: int = 0,
                 ind_offset: int = 0, start_probs: np.ndarray | None = None, TR_mats: np.ndarray | None = None,
                 TR_map: np.ndarray | None = None, n_traj: int = 0, threads_per_block: int = 256,
                 sample_batch: int | None = None) -> dict[str, np.ndarray]:
    """Fast-path microsimulation on the GPU.

    Returns ``out_sum`` ``[n_samples, n_strat, R, 2]`` (sums over individuals, discounted/undiscounted),
    ``occupancy`` ``[n_strat, T+1, S]`` counts for the first sample, and ``trajectories`` ``[n_traj, n_strat, T+1]``
    (states of the first individuals of the first sample), as :func:`heecon.engine.microsim.cpu.simulate` defines them.
    """
    from heecon.engine.microsim.rng import KIND_START, counter_constant, seed_key
    from heecon.engine.microsim.tables import cum_rows as _cum_rows
    from heecon.engine.microsim.tables import point_table as _point_table
    from heecon.engine.microsim.tables import transition_constants as _transition_constants

    cuda = _cuda()
    kernel = _build_kernel()
    P_map = np.ascontiguousarray(P_map, dtype=np.int64)
    V_map = np.ascontiguousarray(V_map, dtype=np.int64)
    P_mats = np.ascontiguousarray(P_mats, dtype=np.float64)
    V_mats = np.ascontiguousarray(V_mats, dtype=np.float64)
    W = np.ascontiguousarray(W, dtype=np.float64)
    n_strat, T = P_map.shape
    if T + 1 > MAX_POINTS:
        raise ValueError(f"the GPU kernel holds at most {MAX_POINTS - 1} cycles; this model has {T}: use the CPU kernel")
    S = P_mats.shape[2]
    R = V_mats.shape[3]
    ns = int(n_samples or max(P_mats.shape[0], V_mats.shape[0]))
    Q = 2 * R
    Q4 = -(-Q // 4) * 4
    # host tables, built by the CPU kernel's own functions (identical numbers on both devices)
    Pc = np.empty_like(P_mats)
    for a in range(P_mats.shape[0]):
        _cum_rows(P_mats[a], Pc[a])
    G = np.zeros((V_mats.shape[0], n_strat, T + 1, S, Q4))
    for a in range(V_mats.shape[0]):
        _point_table(V_mats[a], V_map, W, G[a])
    if start_probs is None:
        start_probs = np.zeros((1, n_strat, S))
        start_probs[..., 0] = 1.0
    scum = np.empty((start_probs.shape[0], n_strat, S))
    for a in range(start_probs.shape[0]):
        _cum_rows(start_probs[a][None], scum[a][None])
    has_tr = TR_mats is not None and bool(np.any(TR_mats != 0) and np.any(W[:, 2] != 0))
    if has_tr:
        TR_map = np.ascontiguousarray(TR_map, dtype=np.int64)
        TRw = np.zeros((TR_mats.shape[0], n_strat, T, S, S, Q4))
        for k in range(T):
            for r in range(R):
                for d in range(2):
                    TRw[:, :, k, :, :, 2 * r + d] = W[d, 2, r, k] * TR_mats[..., r][:, TR_map[:, k]]
    else:
        TRw = np.zeros((1, 1, 1, 1, 1, 2))
        TR_map = np.zeros((n_strat, T), np.int64)
    tconst = _transition_constants(T)
    # numba returns these as Python ints; pass them as uint64 explicitly (an int64-typed key would turn the
    # unsigned hash arithmetic into float arithmetic)
    c0 = np.uint64(counter_constant(0, KIND_START, 0))
    k_seed = np.uint64(seed_key(seed))
    d_Pc, d_G, d_scum, d_TRw = (cuda.to_device(x) for x in (Pc, G, scum, TRw))
    d_Pmap, d_TRmap, d_tconst = (cuda.to_device(x) for x in (P_map, TR_map, tconst))
    out = np.zeros((ns, n_strat, Q4))
    out_sq = np.zeros((ns, n_strat, Q4))
    occ = np.zeros((n_strat, T + 1, S), np.int64)
    traj = np.full((max(n_traj, 0), n_strat, T + 1), -1, np.int64)
    d_occ = cuda.to_device(occ)
    d_traj = cuda.to_device(traj)
    if S > 32767:
        raise ValueError("the GPU kernel handles at most 32,767 states")
    tpb = int(threads_per_block)
    kernel_s = 0.0
    batch = int(sample_batch or max(1, min(ns, 65535)))
    for lo in range(0, ns, batch):
        hi = min(ns, lo + batch)
        d_out = cuda.to_device(np.zeros((hi - lo, n_strat, Q4)))
        d_out_sq = cuda.to_device(np.zeros((hi - lo, n_strat, Q4)))
        grid = (math.ceil(n_ind / tpb), hi - lo)
        # per-sample tables: pass the slice of this batch (or the shared one)
        sl = lambda a: a[lo:hi] if a.shape[0] > 1 else a  # noqa: E731
        cuda.synchronize()
        t0 = time.perf_counter()
        kernel[grid, tpb](k_seed, np.int64(sample_offset + lo), np.int64(ind_offset), np.int64(n_ind),
                          cuda.to_device(sl(Pc)) if Pc.shape[0] > 1 else d_Pc, Pc.shape[0] > 1, d_Pmap,
                          cuda.to_device(sl(G)) if G.shape[0] > 1 else d_G, G.shape[0] > 1,
                          cuda.to_device(sl(scum)) if scum.shape[0] > 1 else d_scum, scum.shape[0] > 1,
                          d_tconst, c0, has_tr, cuda.to_device(sl(TRw)) if TRw.shape[0] > 1 else d_TRw,
                          TRw.shape[0] > 1, d_TRmap, d_out, d_out_sq, d_occ if lo == 0 else cuda.to_device(occ.copy()),
                          d_traj if lo == 0 else cuda.to_device(traj.copy()))
        cuda.synchronize()
        kernel_s += time.perf_counter() - t0
        out[lo:hi] = d_out.copy_to_host()
        out_sq[lo:hi] = d_out_sq.copy_to_host()
    cuda.synchronize()
    out_sum = out[:, :, :Q].reshape(ns, n_strat, R, 2)
    out_sq_r = out_sq[:, :, :Q].reshape(ns, n_strat, R, 2)
    return {"out_sum": out_sum, "out_sq": out_sq_r, "kernel_s": np.float64(kernel_s), "occupancy": d_occ.copy_to_host(),
            "trajectories": d_traj.copy_to_host()}


# ---------------------------------------------------------------------------
# The general kernel (covariates, counters, events, engagement, population files, per-cycle output)
# ---------------------------------------------------------------------------

_GENERAL_KERNELS: dict[tuple[int, ...], Any] = {}


def _pow2(n: int, lo: int = 4) -> int:
    """Smallest power of two >= max(n, lo) (compile-time array sizes, so similar models share a kernel)."""
    return max(lo, 1 << max(int(n) - 1, 0).bit_length())


def _dev_array(a: np.ndarray, dtype: Any) -> np.ndarray:
    """C-contiguous copy of ``a`` with every axis at least 1 long (zero-size arrays padded with zeros)."""
    a = np.asarray(a, dtype=dtype)
    if a.size == 0:
        return np.zeros(tuple(max(n, 1) for n in a.shape), dtype)
    return np.ascontiguousarray(a)


def _general_kernel(tpb: int, chunk: int, mq: int, me: int, mk: int, ms: int) -> Any:
    key = (tpb, chunk, mq, me, mk, ms)
    if key not in _GENERAL_KERNELS:
        _cuda()
        from heecon.engine.microsim import gpu_general as gk

        _GENERAL_KERNELS[key] = gk.build_kernel(*key)
    return _GENERAL_KERNELS[key]


def simulate_gpu_general(P_mats: np.ndarray, P_map: np.ndarray, V_mats: np.ndarray, V_map: np.ndarray,
                         W: np.ndarray, *, threads_per_block: int | None = None, chunk: int | None = None,
                         sample_batch: int | None = None, launch_individuals: int | None = None,
                         timings: dict[str, float] | None = None, **kwargs: Any) -> Any:
    """The microsimulation with every feature of the CPU kernel, on the GPU.

    Takes the arguments of :func:`heecon.engine.microsim.cpu.simulate` (``n_ind``, ``n_samples``, ``seed``,
    ``sample_offset``, ``ind_offset``, ``start_probs``, ``start_state``, ``TR_mats`` ... ``eng_mode``, ``n_keep``,
    ``n_traj``, ``moments``; ``block_size`` is ignored) and returns the same
    :class:`~heecon.engine.microsim.cpu.MicrosimResult`: the same state paths, counts and per-cycle output, and the
    same exact fixed-point accumulators (see the module docstring of :mod:`heecon.engine.microsim.gpu_general`
    for the one caveat, transcendental functions).

    GPU settings: ``threads_per_block`` (individuals per CUDA block; a power of two; default 128) and ``chunk``
    (accumulators reduced per pass over the block's shared memory; default 16) -- in the CUDA simulator 32 and
    64, which cut the simulator's per-thread and per-barrier costs and leave the code path as it is --,
    ``sample_batch`` (samples per launch, at most 65,535), ``launch_individuals`` (individuals per launch; at
    most 2**22 so that no int64 limb can overflow), and ``timings``: a dict that receives ``kernel_s``, the
    seconds spent in the kernel.
    """
    from heecon.engine.microsim import gpu_general as gk
    from heecon.engine.microsim import tables
    from heecon.engine.microsim.fixedpoint import MAX_BLOCK, normalise
    from heecon.engine.microsim.result import MicrosimResult
    from heecon.engine.microsim.rng import KIND_EVENT_COUNT, KIND_START, counter_constant, seed_key
    from heecon.engine.microsim.tables import cum_rows as _cum_rows
    from heecon.engine.microsim.tables import point_table as _point_table
    from heecon.engine.microsim.tables import transition_constants as _transition_constants

    kwargs.pop("block_size", None)
    sample_offset = int(kwargs.pop("sample_offset", 0))
    ind_offset = int(kwargs.pop("ind_offset", 0))
    from heecon.engine.microsim.inputs import prepare_inputs

    a = prepare_inputs(P_mats, P_map, V_mats, V_map, W, **kwargs)
    why = unsupported(a["P_mats"], a["V_mats"], {k: a[k] for k in ("ev_rate", "gamma_tr", "beta_tr", "tis_tr")})
    if why:
        raise ValueError(f"the GPU kernel cannot run this model: {why}; use the CPU kernel")
    sim = simulator()
    tpb = int(threads_per_block or (32 if sim else 128))
    chunk = int(chunk or (64 if sim else 16))
    if tpb < 1 or tpb & (tpb - 1) or tpb > 1024:
        raise ValueError(f"threads_per_block must be a power of two up to 1024. Got {tpb}.")
    cuda = _cuda()
    n_ind, ns, n_strat, T, S, R, E, K, A = (a[k] for k in ("n_ind", "n_samp", "n_strat", "T", "S", "R", "E", "K",
                                                            "A"))
    Q = 2 * R
    nsl = 6 * Q + E
    n_keep, n_traj = a["n_keep"], a["n_traj"]
    mq, me, mk = _pow2(Q), _pow2(E), _pow2(K)
    ms = _pow2(S) if a["has_trcov"] else 1
    kernel = _general_kernel(tpb, int(chunk), mq, me, mk, ms)

    # host tables, built with the CPU kernel's own functions (the same numbers on both devices)
    P = a["P_mats"]
    PP = np.empty((P.shape[0], 3) + P.shape[1:])
    for x in range(P.shape[0]):
        _cum_rows(P[x], PP[x, 0])
    PP[:, 1] = P
    lp = np.empty_like(P)
    tables.log1m_table(P, lp)
    PP[:, 2] = lp
    Vm = a["V_mats"]
    G = np.zeros((Vm.shape[0], n_strat, T + 1, S, -(-Q // 4) * 4))
    for x in range(Vm.shape[0]):
        _point_table(Vm[x], a["V_map"], a["W"], G[x])
    sp = a["start_probs"]
    scum = np.empty((sp.shape[0], n_strat, S))
    for x in range(sp.shape[0]):
        _cum_rows(sp[x][None], scum[x][None])
    maps = np.stack([a["P_map"], a["V_map"], a["TR_map"], a["ev_map"]])
    consts = np.empty((T + 1, 1 + E), np.uint64)
    consts[:, 0] = _transition_constants(T)
    for k in range(T + 1):
        for e in range(E):
            consts[k, 1 + e] = counter_constant(k, KIND_EVENT_COUNT, e)
    logtis = np.empty_like(a["tis_tr"])
    tables.log_table(a["tis_tr"], logtis)
    stint = np.stack([a["row_cov"].astype(np.int64), a["comp_col"], a["ev_move_keep"], a["eng_eligible"]])
    ev_int = np.stack([a["ev_kind"], a["ev_move_state"]])
    evg = a["ev_gamma"]
    egam = np.empty(evg.shape + (tables.POW_MAX + 1,))
    tables.gamma_steps(evg, egam)
    pm = a["ev_move_prob"]
    ev_move = np.empty((pm.shape[0], 2, E))
    ev_move[:, 0] = pm
    lpm = np.empty_like(pm)
    tables.log1m_table(pm, lpm)
    ev_move[:, 1] = lpm
    strat_int = np.stack([a["eng_on"].astype(np.int64), a["eng_mode"]])
    eng_drop = np.empty_like(a["eng_dropout"])
    tables.hazard_to_prob(a["eng_dropout"], eng_drop)
    cps, cpp = np.broadcast_arrays(a["eng_cps"], a["eng_cpp"])
    eng_cost = np.stack([cps, cpp], axis=1)
    cfg = np.zeros(gk.CFG_LEN, np.int64)
    cfg[gk.CFG_HAS_TR] = a["has_tr"]
    cfg[gk.CFG_HAS_TRCOV] = a["has_trcov"]
    cfg[gk.CFG_HAS_TRCOUNT] = a["has_trcount"]
    cfg[gk.CFG_HAS_EVENTS] = a["has_events"]
    cfg[gk.CFG_HAS_EVCOV] = a["has_evcov"]
    cfg[gk.CFG_HAS_ENG] = a["has_eng"]
    cfg[gk.CFG_BRANCHLESS] = S <= 12
    cfg[gk.CFG_HAS_START] = a["start_state"].shape[0] > 0
    cfg[gk.CFG_HAS_PROP] = a["eng_propensity"].shape[0] > 0
    cfg[gk.CFG_S], cfg[gk.CFG_R], cfg[gk.CFG_E], cfg[gk.CFG_K], cfg[gk.CFG_A] = S, R, E, K, A
    cfg[gk.CFG_NKEEP], cfg[gk.CFG_NTRAJ] = n_keep, n_traj
    cfg[gk.CFG_MOMENTS] = a["moments"]

    f8, i8 = np.float64, np.int64
    # arrays with a sample axis (sliced per batch of samples), in the kernel's argument order
    per_sample = {"PP": (PP, f8), "G": (G, f8), "scum": (scum, f8), "TR": (a["TR_mats"], f8), "V": (Vm, f8),
                  "betas": (a["beta_tr"], f8), "gammas": (a["gamma_tr"], f8), "ev_rate": (a["ev_rate"], f8),
                  "ev_beta": (a["ev_beta"], f8), "ev_gamma": (evg, f8), "egam": (egam, f8), "ev_rr": (a["ev_rr"], f8),
                  "ev_reward": (a["ev_reward"], f8), "ev_move": (ev_move, f8), "eng_drop": (eng_drop, f8),
                  "eng_ab": (a["eng_ab"], f8), "eng_cost": (eng_cost, f8)}
    shared = {name: cuda.to_device(_dev_array(x, t)) for name, (x, t) in {
        "cfg": (cfg, i8), "maps": (maps, i8), "start_state": (a["start_state"], i8), "consts": (consts, np.uint64),
        "W": (a["W"], f8), "X": (a["X"], f8), "logtis": (logtis, f8), "tr_counter": (a["tr_counter"], f8),
        "stint": (stint, i8), "ev_int": (ev_int, i8), "ev_counter": (a["ev_counter"], f8),
        "strat_int": (strat_int, i8), "eng_sessions": (a["eng_sessions"], f8),
        "eng_prop": (a["eng_propensity"], f8)}.items()}
    once = {name: cuda.to_device(_dev_array(x, t)) for name, (x, t) in per_sample.items() if x.shape[0] == 1}

    acc = np.zeros((ns, n_strat, 6 * Q), np.int64)  # (sum, sq, dsq) x (hi, lo) per reward column and discounting
    ev_count = np.zeros((ns, n_strat, E), np.int64)
    p_cr = np.zeros((max(n_keep, 1), n_strat, T, R, 2), np.int64)
    d_occ = cuda.to_device(np.zeros((max(n_keep, 1), n_strat, T + 1, S), np.int64))
    d_ce = cuda.to_device(np.zeros((max(n_keep, 1), n_strat, T, max(E, 1)), np.int64))
    d_traj = cuda.to_device(np.full((max(n_traj, 1), n_strat, T + 1), -1, np.int64))
    k_seed = np.uint64(seed_key(a["seed"]))  # uint64 explicitly: an int64-typed key would turn the hashing into floats
    c_start = np.uint64(counter_constant(0, KIND_START, 0))
    batch = int(min(sample_batch or ns, 65535))
    per_launch = int(min(launch_individuals or MAX_BLOCK, MAX_BLOCK))
    per_launch = max(tpb, per_launch // tpb * tpb)
    kernel_s = 0.0
    for lo in range(0, ns, batch):
        hi = min(ns, lo + batch)
        dev = {name: once[name] if name in once else cuda.to_device(_dev_array(x[lo:hi], t))
               for name, (x, t) in per_sample.items()}
        for i_lo in range(0, n_ind, per_launch):
            i_hi = min(n_ind, i_lo + per_launch)
            d_acc = cuda.to_device(np.zeros((hi - lo, n_strat * nsl), np.int64))
            kept = lo < n_keep
            d_cr = cuda.to_device(np.zeros_like(p_cr)) if kept else cuda.to_device(np.zeros((1, 1, 1, 1, 2), np.int64))
            grid = (-(-(i_hi - i_lo) // tpb), hi - lo)
            cuda.synchronize()
            t0 = time.perf_counter()
            kernel[grid, tpb](
                k_seed, np.int64(sample_offset + lo), np.int64(lo), np.int64(ind_offset), np.int64(i_lo),
                np.int64(i_hi), c_start, shared["cfg"], dev["PP"], shared["maps"], dev["G"], dev["scum"],
                shared["start_state"], shared["consts"], dev["TR"], shared["W"], dev["V"], shared["X"], dev["betas"],
                dev["gammas"], shared["logtis"], shared["tr_counter"], shared["stint"], dev["ev_rate"],
                shared["ev_int"], dev["ev_beta"], dev["ev_gamma"], dev["egam"], dev["ev_rr"], dev["ev_reward"],
                shared["ev_counter"], dev["ev_move"], shared["strat_int"], shared["eng_sessions"], dev["eng_drop"],
                dev["eng_ab"], shared["eng_prop"], dev["eng_cost"], d_acc, d_occ, d_cr, d_ce, d_traj)
            cuda.synchronize()
            kernel_s += time.perf_counter() - t0
            # exact integer sums: carry each launch's fraction limbs (at most 2**22 people: no overflow), then add
            part = d_acc.copy_to_host().reshape(hi - lo, n_strat, nsl)
            limbs = np.ascontiguousarray(part[:, :, :6 * Q])
            normalise(limbs.reshape(-1))
            acc[lo:hi] += limbs
            normalise(acc[lo:hi].reshape(-1))
            ev_count[lo:hi] += part[:, :, 6 * Q:]
            if kept:
                cr = d_cr.copy_to_host()
                normalise(cr.reshape(-1))
                p_cr += cr
                normalise(p_cr.reshape(-1))
    if timings is not None:
        timings["kernel_s"] = kernel_s
    return MicrosimResult(
        acc=acc.reshape(ns, n_strat, R, 2, 3, 2),
        ev_count=ev_count,
        occupancy=d_occ.copy_to_host()[:n_keep],
        cycle_rewards_fx=p_cr[:n_keep],
        cycle_events=d_ce.copy_to_host()[:n_keep, :, :, :E],
        trajectories=d_traj.copy_to_host()[:n_traj],
        n_individuals=n_ind,
        seed=a["seed"],
        sample_offset=sample_offset,
        ind_offset=ind_offset,
        moments=a["moments"],
    )
