"""The microsimulation on an NVIDIA GPU (numba-cuda): the same counter-based generator, the same walk and the same
steps as the CPU, so every state path (and so every count) equals the CPU run's.

The per-person step is not written here: the kernels call the device twins of heecon.engine.microsim.step, rng
and fixedpoint (:mod:`heecon.engine.microsim.twin` compiles the CPU functions' own Python source for CUDA, with
every product that feeds a sum rounded on its own), and the per-sample tables come from
:mod:`heecon.engine.microsim.tables`, built on the host by the CPU's own functions. What is the GPU's own is the
driver: one thread per individual and parameter set, strategies one after the other, no stored path, per-thread
local arrays, and the reductions.

Two kernels:

* the fast path (:func:`simulate_gpu`): Markov transitions with per-state rewards and one-off rewards on moves
  (the FMH-6 benchmark model). A warp's float totals are reduced with shuffles before one atomic add per warp. It
  keeps sums and sums of squares only (no paired squares, event counts or per-cycle rewards).
* the general kernel (:func:`simulate_gpu_general`): everything the CPU kernel's general block does --
  covariates on transitions (attributes, history counters, time in state, complement columns), counters, Poisson
  and Bernoulli events with covariates, strategy rate ratios, rewards and event-driven moves, treatment engagement
  (Beta or supplied propensity, dropout, attendance, ITT or dose-scaled effect), population files (start
  states), event counts, incremental standard errors, per-cycle output for kept samples and trajectories. Each
  thread turns its totals into the CPU's exact fixed-point limbs (int64), summed over the block in shared memory
  and added to global memory with integer atomics, so it returns a
  :class:`heecon.engine.microsim.result.MicrosimResult` with the CPU's accumulators bit for bit.

:func:`gpu_path` picks the kernel (the fast one only where it gives everything the caller needs),
:func:`unsupported` says what the general kernel cannot hold (a few size limits), :func:`available` whether a GPU
is there.

Transcendental functions come from libdevice on the GPU (1-2 units in the last place, not always glibc's). Those
that do not depend on the individual are tabulated on the host with the CPU's functions (tables.py); the others
(covariate hazard ratios, Poisson and Bernoulli thresholds, the propensity's gamma draw) feed only comparisons with
a uniform, so an outcome can change only if a uniform falls within that unit of a threshold (~1e-16 per
comparison); rewards never pass through them.

Verification: numba's CUDA simulator runs the kernels' Python source, twins included, against the CPU kernel on
every feature and on the flagship, feature and Krijkamp scenarios (tests/test_gpu_general.py, ``cudasim``, in the
default run): paths, counts and exact accumulators equal bit for bit. tests/test_gpu_ptx.py checks the general
kernel's PTX for fused products of its own; the ``gpu`` tests repeat the comparisons on hardware.

Numba-cuda under NumPy >= 2.5 needs ``np.row_stack`` (removed in NumPy 2.5) restored before import; this module
does that.
"""

from __future__ import annotations

import math
import os
import time
from typing import Any

import numpy as np
from numba import float64, int16, int64

__all__ = ["available", "simulator", "supports", "unsupported", "gpu_path", "simulate_gpu",
           "simulate_gpu_general"]

_CUDA: Any = None
_KERNEL: Any = None
MAX_POINTS = 512  # cycles + 1 a GPU thread can hold on the fast path (longer horizons take the general kernel)


def _cuda() -> Any:
    """numba.cuda, imported on first use (after restoring np.row_stack), also as this module's global ``cuda``:
    numba's CUDA simulator swaps the module globals named ``cuda`` of a kernel for its own module, so the kernels
    here also run (slowly, in Python) under NUMBA_ENABLE_CUDASIM=1."""
    global _CUDA, cuda
    if _CUDA is None:
        if not hasattr(np, "row_stack"):
            np.row_stack = np.vstack  # type: ignore[attr-defined]
        from numba import cuda

        _CUDA = cuda
    cuda = _CUDA
    return _CUDA


def _twins() -> Any:
    from heecon.engine.microsim.twin import device_twins

    return device_twins(_cuda(), simulator())


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


# ---------------------------------------------------------------------------
# The fast kernel (Markov transitions and rewards only)
# ---------------------------------------------------------------------------


def _build_kernel() -> Any:
    global _KERNEL
    if _KERNEL is not None:
        return _KERNEL
    _cuda()
    tw = _twins()
    sample_key, individual_key, draw_bits, bits_to_uniform, walk = (
        tw.sample_key, tw.individual_key, tw.draw_bits, tw.bits_to_uniform, tw.walk)
    sim = simulator()  # a constant of the kernel: False on a GPU, where the branch below is never taken

    @cuda.jit
    def kernel(k_seed, sample_offset, ind_offset, n_ind, Pc, pc_per_sample, P_map, G, g_per_sample, scum,
               s_per_sample, tconst, c0, has_tr, TRw, tr_per_sample, TR_map, out, out_sq, occ, traj):
        # out[sample, strategy, q] (q = 2r + d), occ[strategy, T+1, S] for sample 0, traj[i, strategy, T+1]
        smp = cuda.blockIdx.y
        i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
        n_strat = P_map.shape[0]
        T = P_map.shape[1]
        Q = G.shape[4]
        active = i < n_ind
        pcs = Pc[smp if pc_per_sample else 0]
        gi = smp if g_per_sample else 0
        si = smp if s_per_sample else 0
        ti = smp if tr_per_sample else 0
        k_ind = individual_key(sample_key(k_seed, sample_offset + smp), ind_offset + i)
        lane = cuda.threadIdx.x & 31
        path = cuda.local.array(MAX_POINTS, int16)
        for s in range(n_strat):
            # 1. the path: starting state from one shared uniform, then one uniform per cycle (as on the CPU)
            if active:
                x = walk(scum, si, s, bits_to_uniform(draw_bits(k_ind, c0)), False)
                path[0] = int16(x)
                for k in range(1, T + 1):
                    x = walk(pcs, P_map[s, k - 1], x, bits_to_uniform(draw_bits(k_ind, tconst[k])), True)
                    path[k] = int16(x)
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
    from heecon.engine.microsim.tables import cum_rows, point_table, transition_constants

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
    # host tables, built by the CPU's own functions (identical numbers on both devices)
    Pc = np.empty_like(P_mats)
    for a in range(P_mats.shape[0]):
        cum_rows(P_mats[a], Pc[a])
    G = np.zeros((V_mats.shape[0], n_strat, T + 1, S, Q4))
    for a in range(V_mats.shape[0]):
        point_table(V_mats[a], V_map, W, G[a])
    if start_probs is None:
        start_probs = np.zeros((1, n_strat, S))
        start_probs[..., 0] = 1.0
    scum = np.empty((start_probs.shape[0], n_strat, S))
    for a in range(start_probs.shape[0]):
        cum_rows(start_probs[a][None], scum[a][None])
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
    tconst = transition_constants(T)
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

# flags and sizes in the general kernel's cfg array
CFG_HAS_TR, CFG_HAS_TRCOV, CFG_HAS_TRCOUNT, CFG_HAS_EVENTS, CFG_HAS_EVCOV, CFG_HAS_ENG = range(6)
CFG_BRANCHLESS, CFG_HAS_START, CFG_HAS_PROP, CFG_S, CFG_R, CFG_E, CFG_K, CFG_A, CFG_NKEEP, CFG_NTRAJ = range(6, 16)
CFG_MOMENTS = 16  # accumulate squares and squared increments (else those limbs stay 0, as on the CPU)
CFG_LEN = 17

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
        _GENERAL_KERNELS[key] = build_general_kernel(*key)
    return _GENERAL_KERNELS[key]


def build_general_kernel(tpb: int, chunk: int, mq: int, me: int, mk: int, ms: int, twins: Any = None,
                         **jit_options: Any) -> Any:
    """The general kernel for blocks of ``tpb`` threads, reducing ``chunk`` accumulators at a time, with
    per-thread arrays for up to ``mq`` reward columns x 2, ``me`` event types, ``mk`` counters and ``ms``
    states (compile-time sizes of CUDA local memory); ``twins`` and ``jit_options`` for tests/test_gpu_ptx.py."""
    _cuda()
    from heecon.engine.microsim.fixedpoint import SQ_SCALE
    from heecon.engine.microsim.rng import KIND_START
    from heecon.engine.microsim.step import C_TRANSITION

    tw = twins or _twins()
    mul, uniform, draw_bits, bits_to_uniform, sample_key, individual_key = (
        tw.mul, tw.uniform, tw.draw_bits, tw.bits_to_uniform, tw.sample_key, tw.individual_key)
    walk, cov_row, draw_from_row, linear_predictor, beta_draw, engagement = (
        tw.walk, tw.cov_row, tw.draw_from_row, tw.linear_predictor, tw.beta_draw, tw.engagement)
    event_counts, event_move, update_counters, reward_amount, book_extra, cycle_value, fx_limbs = (
        tw.event_counts, tw.event_move, tw.update_counters, tw.reward_amount, tw.book_extra, tw.cycle_value,
        tw.fx_limbs)
    TPB = int(tpb)
    CH = int(chunk)
    LD = CH + 1  # padded row of the shared reduction buffer (fewer bank conflicts)
    NSH = TPB * LD
    MQ, ME, MK, MS = int(mq), int(me), int(mk), int(ms)

    @cuda.jit(device=True, inline=True)
    def ix(a, smp):
        return smp if a.shape[0] > 1 else 0  # the row of a per-sample table for this sample (or the shared one)

    @cuda.jit(**jit_options)
    def kernel(k_seed, sample_offset, batch_lo, ind_offset, i_lo, n_ind, cfg, PP, maps, G, scum, start_state,
               consts, TR, W, V, X, betas, gammas, logtis, tr_counter, stint, ev_rate, ev_int, ev_beta, ev_gamma,
               egam, ev_rr, ev_reward, ev_counter, ev_move, strat_int, eng_sessions, eng_drop, eng_ab, eng_prop,
               eng_cost, acc, p_occ, p_cr, p_ce, traj):
        """acc[sample of the batch, strategy * (6Q + E) + slot] += the block's exact integer sums.

        One thread is one individual of one sample; it runs the strategies one after the other, cycle by cycle,
        calling the step functions' twins (steps of cycle k: docs/microsim-kernel.md), and adds the point and
        transition rewards as it goes, in the association of the CPU's path sums. Then the block turns its totals
        into fixed-point limbs and reduces them in shared memory. It is one function of about 200 lines because a
        CUDA kernel is: its steps are the shared device functions already; what is left is the driver's own
        bookkeeping (two dozen per-thread arrays, views of the sample's tables, the path's rewards, atomics and
        the block reduction), which device functions would only take as more arguments (more registers and
        parameter space; the kernel's parameters are already near CUDA's 4 kB limit).
        """
        tid = cuda.threadIdx.x
        smp = cuda.blockIdx.y
        sc = batch_lo + smp  # the sample's index within the call (kept samples, trajectories)
        i = i_lo + cuda.blockIdx.x * TPB + tid
        active = i < n_ind
        red = cuda.shared.array(NSH, int64)
        a_pt = cuda.local.array(MQ, float64)  # point rewards summed along the path
        a_tr = cuda.local.array(MQ, float64)  # transition rewards
        extra = cuda.local.array((1, MQ), float64)  # event and engagement rewards (slot 0)
        tot = cuda.local.array(MQ, float64)
        tot0 = cuda.local.array(MQ, float64)  # strategy 0's totals (squared increments)
        cnt = cuda.local.array((1, MK), float64)
        dcnt = cuda.local.array(MK, float64)
        ev_hr = cuda.local.array((1, ME), float64)
        hx0 = cuda.local.array(ME, float64)
        ue = cuda.local.array(ME, float64)
        ue_k = cuda.local.array(ME, int64)
        nev = cuda.local.array(ME, int64)
        occurred = cuda.local.array(ME, int64)
        evn = cuda.local.array((1, ME), int64)
        linx = cuda.local.array((1, MS), float64)
        prow = cuda.local.array(MS, float64)
        cum = cuda.local.array((1, MS), float64)
        est = cuda.local.array((1, 3), float64)
        no_cdf = cuda.local.array((1, 1), float64)
        no_bn = cuda.local.array(1, int64)
        has_tr, has_trcov, has_trcount = cfg[CFG_HAS_TR] != 0, cfg[CFG_HAS_TRCOV] != 0, cfg[CFG_HAS_TRCOUNT] != 0
        has_events, has_evcov, has_eng = cfg[CFG_HAS_EVENTS] != 0, cfg[CFG_HAS_EVCOV] != 0, cfg[CFG_HAS_ENG] != 0
        branchless = cfg[CFG_BRANCHLESS] != 0
        moments = cfg[CFG_MOMENTS] != 0
        S, R, E, K, A = cfg[CFG_S], cfg[CFG_R], cfg[CFG_E], cfg[CFG_K], cfg[CFG_A]
        Q = 2 * R
        nsl = 6 * Q + E
        n_strat = maps.shape[1]
        T = maps.shape[2]
        keep = sc < cfg[CFG_NKEEP]
        tr_out = sc == 0 and i < cfg[CFG_NTRAJ]
        # the sample's tables: the batch's own row, or the one shared by all samples
        pp = PP[ix(PP, smp)]
        Pc, P, Lp = pp[0], pp[1], pp[2]  # cumulative rows, stored rows, log1p(-stored)
        Gs, TRs, Vs = G[ix(G, smp)], TR[ix(TR, smp)], V[ix(V, smp)]
        bet, gam, evr = betas[ix(betas, smp)], gammas[ix(gammas, smp)], ev_rate[ix(ev_rate, smp)]
        evg, egs, evrr = ev_gamma[ix(ev_gamma, smp)], egam[ix(egam, smp)], ev_rr[ix(ev_rr, smp)]
        evw, evm = ev_reward[ix(ev_reward, smp)], ev_move[ix(ev_move, smp)]
        pdrop, eab, ecost = eng_drop[ix(eng_drop, smp)], eng_ab[ix(eng_ab, smp)], eng_cost[ix(eng_cost, smp)]
        cps, cpp = ecost[0], ecost[1]
        im, ieb = ix(scum, smp), ix(ev_beta, smp)
        ev_kind, ev_move_state = ev_int[0], ev_int[1]

        k_ind = individual_key(sample_key(k_seed, sample_offset + smp), ind_offset + i)
        u0 = uniform(k_ind, 0, KIND_START, 0)
        for e in range(E):
            ue_k[e] = -1
        if active and has_evcov:
            for e in range(E):
                lx = linear_predictor(ev_beta, ieb, e, X, i, A)
                hx0[e] = math.exp(lx) if lx != 0.0 else 1.0
        for s in range(n_strat):
            if active:
                for q in range(Q):
                    a_pt[q] = 0.0
                    a_tr[q] = 0.0
                    extra[0, q] = 0.0
                for c in range(K):
                    cnt[0, c] = 0.0
                for e in range(E):
                    evn[0, e] = 0
                    ev_hr[0, e] = hx0[e] if has_evcov else 1.0
                # the starting state: the given one, or the shared uniform walked along the strategy's row
                cur = start_state[i] if cfg[CFG_HAS_START] != 0 else walk(scum, im, s, u0, False)
                for q in range(Q):
                    a_pt[q] += Gs[s, 0, cur, q]
                if keep:
                    cuda.atomic.add(p_occ, (sc, s, 0, cur), 1)
                if tr_out:
                    traj[i, s, 0] = cur
                tis = 0
                eng_on = strat_int[0, s] != 0
                dose_mode = strat_int[1, s] == 1
                est[0, 0] = 1.0 if eng_on else 0.0
                est[0, 1] = 0.0
                est[0, 2] = 0.0
                prop = 0.0
                if has_eng and eng_on:
                    prop = eng_prop[i] if cfg[CFG_HAS_PROP] != 0 else beta_draw(k_ind, eab[s, 0], eab[s, 1])
                for k in range(1, T + 1):
                    u = bits_to_uniform(draw_bits(k_ind, consts[k, C_TRANSITION]))
                    m = maps[0, s, k - 1]
                    # 1. the drawn move (a covariate row: beta . x per destination, then counters, time in state)
                    j = -2
                    if has_trcov and stint[0, cur] != 0:
                        for x in range(S):
                            linx[0, x] = linear_predictor(bet, cur, x, X, i, A)
                        fb = cov_row(P, Lp, m, cur, linx, linx, 0, True, cnt, 0, tis, gam, logtis, K, stint[1, cur],
                                     prow, cum, 0)
                        if fb != -2:
                            j = draw_from_row(cum, 0, fb, u, S)
                    if j == -2:
                        j = walk(Pc, m, cur, u, branchless)
                    # 2. treatment engagement
                    attended = 0.0
                    place = False
                    dose = 0.0
                    if has_eng and eng_on:
                        attended, place, dose = engagement(k_ind, k, s, 0, eng_sessions, stint[3, cur], pdrop, prop,
                                                           est, consts, False, no_cdf, no_bn)
                    # 3. events by the state at point k-1 and the counters at the start of the cycle; their moves
                    n_occ = 0
                    if has_events:
                        n_occ = event_counts(k_ind, k, s, 0, cur, maps[3, s, k - 1], evr, evrr, dose_mode, dose,
                                             has_evcov, ev_hr, ev_kind, consts, E, ue, ue_k, nev, occurred)
                        if stint[2, j] == 0:
                            j = event_move(k_ind, k, j, n_occ, occurred, nev, ev_move_state, evm, consts, E)
                    # 4. time in state, counters
                    tis = tis + 1 if j == cur else 0
                    if n_occ > 0 or has_trcount:
                        update_counters(0, cur, j, n_occ, occurred, nev, evn, 0, ev_counter, has_trcount, tr_counter,
                                        K, cnt, dcnt, has_evcov, evg, egs, ev_hr, E)
                    # 5. event and engagement rewards of cycle k (weight c_k); per-cycle output of kept samples
                    if n_occ > 0 or place or keep:
                        for r in range(R):
                            amt = reward_amount(s, r, n_occ, occurred, nev, evw, place, attended, cps, cpp)
                            book_extra(extra, 0, r, W, k, amt)
                            if keep:
                                hi, lo = fx_limbs(cycle_value(W, Vs, maps[1, s, k - 1], cur, j, r, k, amt,
                                                              TRs[maps[2, s, k - 1], cur, j, r]))
                                cuda.atomic.add(p_cr, (sc, s, k - 1, r, 0), hi)
                                cuda.atomic.add(p_cr, (sc, s, k - 1, r, 1), lo)
                    if keep:
                        cuda.atomic.add(p_occ, (sc, s, k, j), 1)
                        for o in range(n_occ):
                            cuda.atomic.add(p_ce, (sc, s, k - 1, occurred[o]), nev[occurred[o]])
                    # the path's rewards, point k and the move of cycle k, in the CPU kernel's order
                    for q in range(Q):
                        a_pt[q] += Gs[s, k, j, q]
                    if has_tr:
                        mt = maps[2, s, k - 1]
                        for r in range(R):
                            trv = TRs[mt, cur, j, r]
                            a_tr[2 * r] += mul(W[0, 2, r, k - 1], trv)
                            a_tr[2 * r + 1] += mul(W[1, 2, r, k - 1], trv)
                    if tr_out:
                        traj[i, s, k] = j
                    cur = j
                # the individual's totals: point rewards, + transition rewards, + events and engagement
                for q in range(Q):
                    v = a_pt[q]
                    if has_tr:
                        v += a_tr[q]
                    v += extra[0, q]
                    tot[q] = v
                    if s == 0:
                        tot0[q] = v
            # exact sums over the block: fixed-point limbs (fixedpoint.fx_limbs), CH accumulators at a time
            for c0 in range(0, nsl, CH):
                for z in range(CH):
                    sl = c0 + z
                    val = int64(0)
                    if active and sl < nsl:
                        if sl < 6 * Q:
                            q = sl // 6
                            kind = (sl % 6) // 2
                            w = tot[q]
                            if kind == 1:
                                w = mul(mul(w, w), SQ_SCALE) if moments else 0.0
                            elif kind == 2:
                                dv = w - tot0[q]
                                w = mul(mul(dv, dv), SQ_SCALE) if (s > 0 and moments) else 0.0
                            hi, lo = fx_limbs(w)
                            val = hi if sl % 2 == 0 else lo
                        else:
                            val = evn[0, sl - 6 * Q]
                    red[tid * LD + z] = val
                cuda.syncthreads()
                for z in range(tid, CH, TPB):  # thread z adds up slot z over the block (CH may exceed TPB)
                    if c0 + z < nsl:
                        part = int64(0)
                        for t in range(TPB):
                            part += red[t * LD + z]
                        if part != 0:
                            cuda.atomic.add(acc, (smp, s * nsl + c0 + z), part)
                cuda.syncthreads()

    return kernel


def simulate_gpu_general(P_mats: np.ndarray, P_map: np.ndarray, V_mats: np.ndarray, V_map: np.ndarray,
                         W: np.ndarray, *, threads_per_block: int | None = None, chunk: int | None = None,
                         sample_batch: int | None = None, launch_individuals: int | None = None,
                         timings: dict[str, float] | None = None, **kwargs: Any) -> Any:
    """The microsimulation with every feature of the CPU kernel, on the GPU.

    Takes the arguments of :func:`heecon.engine.microsim.cpu.simulate` (``n_ind``, ``n_samples``, ``seed``,
    ``sample_offset``, ``ind_offset``, ``start_probs``, ``start_state``, ``TR_mats`` ... ``eng_mode``, ``n_keep``,
    ``n_traj``, ``moments``; ``block_size`` is ignored) and returns the same
    :class:`~heecon.engine.microsim.result.MicrosimResult`: the same state paths, counts and per-cycle output, and
    the same exact fixed-point accumulators (see the module docstring for the one caveat, transcendental
    functions).

    GPU settings: ``threads_per_block`` (individuals per CUDA block; a power of two; default 128) and ``chunk``
    (accumulators reduced per pass over the block's shared memory; default 16) -- in the CUDA simulator 32 and
    64, which cut the simulator's per-thread and per-barrier costs and leave the code path as it is --,
    ``sample_batch`` (samples per launch, at most 65,535), ``launch_individuals`` (individuals per launch; at
    most 2**22 so that no int64 limb can overflow), and ``timings``: a dict that receives ``kernel_s``, the
    seconds spent in the kernel.
    """
    from heecon.engine.microsim.inputs import prepare_inputs
    from heecon.engine.microsim.result import MicrosimResult

    kwargs.pop("block_size", None)
    sample_offset = int(kwargs.pop("sample_offset", 0))
    ind_offset = int(kwargs.pop("ind_offset", 0))
    a = prepare_inputs(P_mats, P_map, V_mats, V_map, W, **kwargs)
    why = unsupported(a["P_mats"], a["V_mats"], {k: a[k] for k in ("ev_rate", "gamma_tr", "beta_tr", "tis_tr")})
    if why:
        raise ValueError(f"the GPU kernel cannot run this model: {why}; use the CPU kernel")
    sim = simulator()
    tpb = int(threads_per_block or (32 if sim else 128))
    chunk = int(chunk or (64 if sim else 16))
    if tpb < 1 or tpb & (tpb - 1) or tpb > 1024:
        raise ValueError(f"threads_per_block must be a power of two up to 1024. Got {tpb}.")
    ms = _pow2(a["S"]) if a["has_trcov"] else 1
    kernel = _general_kernel(tpb, chunk, _pow2(2 * a["R"]), _pow2(a["E"]), _pow2(a["K"]), ms)
    per_sample, shared = _general_host_tables(a)
    out, kernel_s = _launch_general(kernel, a, per_sample, shared, tpb, sample_offset, ind_offset, sample_batch,
                                    launch_individuals)
    if timings is not None:
        timings["kernel_s"] = kernel_s
    ns, n_strat, R, E, n_keep, n_traj = (a[k] for k in ("n_samp", "n_strat", "R", "E", "n_keep", "n_traj"))
    acc, ev_count, p_cr, occ, ce, traj = out
    return MicrosimResult(acc=acc.reshape(ns, n_strat, R, 2, 3, 2), ev_count=ev_count, occupancy=occ[:n_keep],
                          cycle_rewards_fx=p_cr[:n_keep], cycle_events=ce[:n_keep, :, :, :E],
                          trajectories=traj[:n_traj], n_individuals=a["n_ind"], seed=a["seed"],
                          sample_offset=sample_offset, ind_offset=ind_offset, moments=a["moments"])


def _general_host_tables(a: dict[str, Any]) -> tuple[dict[str, tuple[np.ndarray, Any]], dict[str, Any]]:
    """The general kernel's inputs from prepare_inputs' arrays (on the host): the per-sample tables (built with
    tables.py, the functions the CPU kernel uses), with their sample axis and dtype, and the shared arrays."""
    from heecon.engine.microsim import tables

    n_strat, T, S, R, E, K, A = (a[k] for k in ("n_strat", "T", "S", "R", "E", "K", "A"))
    P = a["P_mats"]
    PP = np.empty((P.shape[0], 3) + P.shape[1:])  # cumulative rows, stored rows, log1p(-stored) per sample
    for x in range(P.shape[0]):
        tables.cum_rows(P[x], PP[x, 0])
    PP[:, 1] = P
    lp = np.empty_like(P)
    tables.log1m_table(P, lp)
    PP[:, 2] = lp
    Vm = a["V_mats"]
    G = np.zeros((Vm.shape[0], n_strat, T + 1, S, -(-2 * R // 4) * 4))
    for x in range(Vm.shape[0]):
        tables.point_table(Vm[x], a["V_map"], a["W"], G[x])
    sp = a["start_probs"]
    scum = np.empty((sp.shape[0], n_strat, S))
    for x in range(sp.shape[0]):
        tables.cum_rows(sp[x][None], scum[x][None])
    logtis = np.empty_like(a["tis_tr"])
    tables.log_table(a["tis_tr"], logtis)
    evg = a["ev_gamma"]
    egam = np.empty(evg.shape + (tables.POW_MAX + 1,))
    tables.gamma_steps(evg, egam)
    ev_move = np.empty((a["ev_move_prob"].shape[0], 3, E))
    tables.move_table(a["ev_move_prob"], ev_move)
    eng_drop = np.empty_like(a["eng_dropout"])
    tables.hazard_to_prob(a["eng_dropout"], eng_drop)
    cfg = np.zeros(CFG_LEN, np.int64)
    for pos, flag in ((CFG_HAS_TR, "has_tr"), (CFG_HAS_TRCOV, "has_trcov"), (CFG_HAS_TRCOUNT, "has_trcount"),
                      (CFG_HAS_EVENTS, "has_events"), (CFG_HAS_EVCOV, "has_evcov"), (CFG_HAS_ENG, "has_eng"),
                      (CFG_MOMENTS, "moments")):
        cfg[pos] = a[flag]
    cfg[CFG_BRANCHLESS] = S <= 12
    cfg[CFG_HAS_START] = a["start_state"].shape[0] > 0
    cfg[CFG_HAS_PROP] = a["eng_propensity"].shape[0] > 0
    cfg[CFG_S], cfg[CFG_R], cfg[CFG_E], cfg[CFG_K], cfg[CFG_A] = S, R, E, K, A
    cfg[CFG_NKEEP], cfg[CFG_NTRAJ] = a["n_keep"], a["n_traj"]
    f8, i8 = np.float64, np.int64
    per_sample = {"PP": (PP, f8), "G": (G, f8), "scum": (scum, f8), "TR": (a["TR_mats"], f8), "V": (Vm, f8),
                  "betas": (a["beta_tr"], f8), "gammas": (a["gamma_tr"], f8), "ev_rate": (a["ev_rate"], f8),
                  "ev_beta": (a["ev_beta"], f8), "ev_gamma": (evg, f8), "egam": (egam, f8), "ev_rr": (a["ev_rr"], f8),
                  "ev_reward": (a["ev_reward"], f8), "ev_move": (ev_move, f8), "eng_drop": (eng_drop, f8),
                  "eng_ab": (a["eng_ab"], f8),
                  "eng_cost": (np.stack(np.broadcast_arrays(a["eng_cps"], a["eng_cpp"]), axis=1), f8)}
    shared = {name: _dev_array(x, t) for name, (x, t) in {
        "cfg": (cfg, i8), "maps": (np.stack([a["P_map"], a["V_map"], a["TR_map"], a["ev_map"]]), i8),
        "start_state": (a["start_state"], i8), "consts": (tables.draw_constants(T, E), np.uint64),
        "W": (a["W"], f8), "X": (a["X"], f8), "logtis": (logtis, f8), "tr_counter": (a["tr_counter"], f8),
        "stint": (np.stack([a["row_cov"].astype(i8), a["comp_col"], a["ev_move_keep"], a["eng_eligible"]]), i8),
        "ev_int": (np.stack([a["ev_kind"], a["ev_move_state"]]), i8), "ev_counter": (a["ev_counter"], f8),
        "strat_int": (np.stack([a["eng_on"].astype(i8), a["eng_mode"]]), i8),
        "eng_sessions": (a["eng_sessions"], f8), "eng_prop": (a["eng_propensity"], f8)}.items()}
    return per_sample, shared


#: The general kernel's arguments, in its order.
GENERAL_ARGS = ("k_seed", "sample_offset", "batch_lo", "ind_offset", "i_lo", "n_ind", "cfg", "PP", "maps", "G",
                "scum", "start_state", "consts", "TR", "W", "V", "X", "betas", "gammas", "logtis", "tr_counter",
                "stint", "ev_rate", "ev_int", "ev_beta", "ev_gamma", "egam", "ev_rr", "ev_reward", "ev_counter",
                "ev_move", "strat_int", "eng_sessions", "eng_drop", "eng_ab", "eng_prop", "eng_cost", "acc", "p_occ",
                "p_cr", "p_ce", "traj")


def _launch_general(kernel: Any, a: dict[str, Any], per_sample: dict[str, tuple[np.ndarray, Any]],
                    shared: dict[str, Any], tpb: int, sample_offset: int, ind_offset: int, sample_batch: int | None,
                    launch_individuals: int | None) -> tuple[tuple[np.ndarray, ...], float]:
    """Launch the general kernel over batches of samples and individuals; returns the exact accumulators, event
    counts, per-cycle rewards, occupancy, per-cycle events and trajectories, and the seconds in the kernel."""
    from heecon.engine.microsim.fixedpoint import MAX_BLOCK, normalise
    from heecon.engine.microsim.rng import seed_key

    cuda = _cuda()
    n_ind, ns, n_strat, T, S, R, E = (a[k] for k in ("n_ind", "n_samp", "n_strat", "T", "S", "R", "E"))
    n_keep, n_traj = a["n_keep"], a["n_traj"]
    Q = 2 * R
    nsl = 6 * Q + E
    once = {name: cuda.to_device(_dev_array(x, t)) for name, (x, t) in per_sample.items() if x.shape[0] == 1}
    acc = np.zeros((ns, n_strat, 6 * Q), np.int64)  # (sum, sq, dsq) x (hi, lo) per reward column and discounting
    ev_count = np.zeros((ns, n_strat, E), np.int64)
    p_cr = np.zeros((max(n_keep, 1), n_strat, T, R, 2), np.int64)
    d_occ = cuda.to_device(np.zeros((max(n_keep, 1), n_strat, T + 1, S), np.int64))
    d_ce = cuda.to_device(np.zeros((max(n_keep, 1), n_strat, T, max(E, 1)), np.int64))
    d_traj = cuda.to_device(np.full((max(n_traj, 1), n_strat, T + 1), -1, np.int64))
    batch = int(min(sample_batch or ns, 65535))
    per_launch = int(min(launch_individuals or MAX_BLOCK, MAX_BLOCK))
    per_launch = max(tpb, per_launch // tpb * tpb)
    sh = {name: cuda.to_device(x) for name, x in shared.items()}
    sh["k_seed"] = np.uint64(seed_key(a["seed"]))  # uint64 explicitly: an int64 key would hash in floats
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
            args = dict(sh, **dev, sample_offset=np.int64(sample_offset + lo), batch_lo=np.int64(lo),
                        ind_offset=np.int64(ind_offset), i_lo=np.int64(i_lo), n_ind=np.int64(i_hi), acc=d_acc,
                        p_occ=d_occ, p_cr=d_cr, p_ce=d_ce, traj=d_traj)
            kernel[grid, tpb](*(args[name] for name in GENERAL_ARGS))
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
    out = (acc, ev_count, p_cr, d_occ.copy_to_host(), d_ce.copy_to_host(), d_traj.copy_to_host())
    return out, kernel_s
