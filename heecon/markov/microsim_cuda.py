"""The microsimulation kernel on an NVIDIA GPU (numba-cuda): the same counter-based generator and the same
walk, so every state path (and so every count) equals the CPU run's, and float sums agree to rounding.

Scope: the kernel's fast path, i.e. Markov transitions with per-state rewards and one-off rewards on moves
(the FMH-6 benchmark model, and any scenario without covariates, events or treatment engagement). Models that
use those features run on the CPU kernel; :func:`supports` says which path a model needs.

One CUDA thread simulates one individual of one parameter set for every strategy (common random numbers);
blocks are laid out per sample so that a warp's totals are reduced with shuffles before one atomic add per
warp. The per-sample tables (cumulative transition rows, point-reward tables) are built on the host by the
CPU kernel's own functions, so both devices walk identical numbers.

Numba-cuda under NumPy >= 2.5 needs ``np.row_stack`` (removed in NumPy 2.5) restored before import; this module
does that.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

__all__ = ["available", "supports", "simulate_gpu"]

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


def available() -> bool:
    """True when numba-cuda is importable and a CUDA device is present."""
    try:
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


def _build_kernel() -> Any:
    global _KERNEL
    if _KERNEL is not None:
        return _KERNEL
    cuda = _cuda()
    from numba import float64, int16, uint64

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
                        R = TRw.shape[5] // 2
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
    (states of the first individuals of the first sample), as :func:`heecon.markov.microsim.simulate` defines them.
    """
    from heecon.markov.microsim import _cum_rows, _point_table, _transition_constants
    from heecon.markov.rng import KIND_START, counter_constant, seed_key

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
