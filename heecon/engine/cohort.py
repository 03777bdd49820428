"""Markov cohort engine: numba kernel and its thin public wrapper.

The kernel walks the cohort distribution through the cycles of every
(sample, strategy) pair in parallel and accumulates discounted and
undiscounted rewards with the per-cycle weights of
:mod:`heecon.model.weights`. It validates nothing: :func:`run_cohort`
checks shapes and allocates the outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["run_cohort", "CohortOutput"]


def _cohort_body(P, P_map, V, V_map, TR, TR_map, has_tr, m0, W, out, trace, per_cycle):  # pragma: no cover - jitted
    n_samp = out.shape[0]
    n_strat = out.shape[1]
    S = P.shape[2]
    R = V.shape[3]
    T = P_map.shape[1]
    n_keep = trace.shape[0]
    for job in nb.prange(n_samp * n_strat):  # noqa: F821  (nb is set when the kernel is compiled, see _kernel)
        i = job // n_strat
        s = job - i * n_strat
        pi = i if P.shape[0] > 1 else 0
        vi = i if V.shape[0] > 1 else 0
        ti = i if TR.shape[0] > 1 else 0
        mi = i if m0.shape[0] > 1 else 0
        m = np.empty(S)
        new = np.empty(S)
        vprev = np.empty(R)
        vnew = np.empty(R)
        trs = np.zeros(R)
        acc = np.zeros((R, 2))
        for a in range(S):
            m[a] = m0[mi, s, a]
        if i < n_keep:
            for a in range(S):
                trace[i, s, 0, a] = m[a]
        for k in range(T):
            Pk = P[pi, P_map[s, k]]
            Vk = V[vi, V_map[s, k]]
            for b in range(S):
                new[b] = 0.0
            for r in range(R):
                trs[r] = 0.0
            if has_tr:
                TRk = TR[ti, TR_map[s, k]]
                for a in range(S):
                    ma = m[a]
                    if ma != 0.0:
                        for b in range(S):
                            f = ma * Pk[a, b]
                            new[b] += f
                            if f != 0.0:
                                for r in range(R):
                                    trs[r] += f * TRk[a, b, r]
            else:
                for a in range(S):
                    ma = m[a]
                    if ma != 0.0:
                        for b in range(S):
                            new[b] += ma * Pk[a, b]
            for r in range(R):
                x = 0.0
                y = 0.0
                for a in range(S):
                    x += m[a] * Vk[a, r]
                    y += new[a] * Vk[a, r]
                vprev[r] = x
                vnew[r] = y
            for r in range(R):
                for d in range(2):
                    c = W[d, 0, r, k] * vprev[r] + W[d, 1, r, k] * vnew[r] + W[d, 2, r, k] * trs[r]
                    acc[r, d] += c
                    if i < n_keep:
                        per_cycle[i, s, k, r, d] = c
            for a in range(S):
                m[a] = new[a]
            if i < n_keep:
                for a in range(S):
                    trace[i, s, k + 1, a] = m[a]
        for r in range(R):
            out[i, s, r, 0] = acc[r, 0]
            out[i, s, r, 1] = acc[r, 1]


# One body, two compilations: the parallel kernel for PSA-sized work and a serial one for middling runs. Tiny runs
# (a deterministic base case: a few strategies, one parameter set) take the NumPy twin below instead, because
# starting numba in a fresh process (importing it and loading cached machine code) costs about 1.3 s, far more
# than the arithmetic; the twin follows the kernel's formulas and agrees to rounding (tests/test_cohort_kernel.py).
_KERNELS: dict[str, object] = {}
PARALLEL_MIN_JOBS = 64
NUMPY_MAX_JOBS = 8


def _kernel(parallel: bool):  # pragma: no cover - jitted
    key = "parallel" if parallel else "serial"
    if key not in _KERNELS:
        import numba as nb

        globals()["nb"] = nb  # the body refers to nb.prange; numba resolves it from this module's globals
        _KERNELS[key] = nb.njit(cache=True, parallel=parallel, fastmath=False)(_cohort_body)
    return _KERNELS[key]


def _cohort_numpy(P, P_map, V, V_map, TR, TR_map, has_tr, m0, W, out, trace, per_cycle):
    """NumPy twin of the kernel for a handful of (sample, strategy) pairs: the same formulas, cycle by cycle."""
    n_samp, n_strat = out.shape[0], out.shape[1]
    T = P_map.shape[1]
    n_keep = trace.shape[0]
    for i in range(n_samp):
        pi = i if P.shape[0] > 1 else 0
        vi = i if V.shape[0] > 1 else 0
        ti = i if TR.shape[0] > 1 else 0
        mi = i if m0.shape[0] > 1 else 0
        for s in range(n_strat):
            m = m0[mi, s].copy()
            acc = np.zeros((V.shape[3], 2))
            if i < n_keep:
                trace[i, s, 0] = m
            for k in range(T):
                Pk = P[pi, P_map[s, k]]
                Vk = V[vi, V_map[s, k]]
                new = m @ Pk
                trs = np.einsum("a,ab,abr->r", m, Pk, TR[ti, TR_map[s, k]]) if has_tr else 0.0
                c = W[:, 0, :, k] * (m @ Vk) + W[:, 1, :, k] * (new @ Vk) + W[:, 2, :, k] * trs
                acc += c.T
                if i < n_keep:
                    per_cycle[i, s, k] = c.T
                    trace[i, s, k + 1] = new
                m = new
            out[i, s] = acc


@dataclass
class CohortOutput:
    """Raw kernel outputs.

    Attributes
    ----------
    totals
        ``[n_samples, n_strategies, R, 2]``: per-person totals, discounted (0) and undiscounted (1).
    trace
        ``[n_keep, n_strategies, T + 1, S]``: state occupancy at points 0..T for the first ``n_keep`` samples.
    per_cycle
        ``[n_keep, n_strategies, T, R, 2]``: each cycle's weighted rewards.
    """

    totals: np.ndarray
    trace: np.ndarray
    per_cycle: np.ndarray


def _check(name: str, a: np.ndarray, ndim: int, dtype: type = np.float64) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    return a


def run_cohort(P: np.ndarray, P_map: np.ndarray, V: np.ndarray, V_map: np.ndarray, TR: np.ndarray, TR_map: np.ndarray,
               m0: np.ndarray, W: np.ndarray, *, has_tr: bool | None = None, n_samples: int | None = None,
               n_keep: int = 1, small_numpy: bool = False) -> CohortOutput:
    """Run the cohort kernel.

    Parameters
    ----------
    P, P_map, V, V_map, TR, TR_map, m0, W
        Arrays as documented in :mod:`heecon.model.markov` (leading sample axes of length 1 broadcast).
    has_tr
        Whether any transition reward is non-zero (default: inferred).
    n_samples
        Number of samples (default: the longest sample axis).
    n_keep
        Keep the trace and per-cycle rewards of this many leading samples.
    small_numpy
        Take the NumPy twin when there are at most ``NUMPY_MAX_JOBS`` (sample, strategy) pairs (used by the
        deterministic base case to skip numba's start-up; never by chunked analyses, whose numbers must not depend
        on chunk sizes).
    """
    P = _check("P", P, 4)
    V = _check("V", V, 4)
    TR = _check("TR", TR, 5)
    m0 = _check("m0", m0, 3)
    W = _check("W", W, 4)
    P_map = _check("P_map", P_map, 2, np.int64)
    V_map = _check("V_map", V_map, 2, np.int64)
    TR_map = _check("TR_map", TR_map, 2, np.int64)
    n_strat, T = P_map.shape
    S = P.shape[2]
    R = V.shape[3]
    if P.shape[3] != S or V.shape[2] != S or TR.shape[2:4] != (S, S) or m0.shape[2] != S:
        raise ValueError("state axes of P, V, TR and m0 disagree")
    if TR.shape[4] != R or W.shape != (2, 3, R, T):
        raise ValueError(f"reward axes disagree: V has {R} rewards, TR {TR.shape[4]}, W shape {W.shape} (want (2, 3, {R}, {T}))")
    if V_map.shape != (n_strat, T) or TR_map.shape != (n_strat, T) or m0.shape[1] != n_strat:
        raise ValueError("strategy/cycle maps disagree")
    for nm, mp, arr in (("P_map", P_map, P), ("V_map", V_map, V), ("TR_map", TR_map, TR)):
        if mp.size and (mp.min() < 0 or mp.max() >= arr.shape[1]):
            raise ValueError(f"{nm} points outside its matrices")
    ns = n_samples or max(P.shape[0], V.shape[0], TR.shape[0], m0.shape[0])
    for nm, arr in (("P", P), ("V", V), ("TR", TR), ("m0", m0)):
        if arr.shape[0] not in (1, ns):
            raise ValueError(f"{nm} has {arr.shape[0]} samples; expected 1 or {ns}")
    if has_tr is None:
        has_tr = bool(np.any(TR != 0))
    n_keep = max(0, min(n_keep, ns))
    out = np.zeros((ns, n_strat, R, 2))
    trace = np.zeros((n_keep, n_strat, T + 1, S))
    per_cycle = np.zeros((n_keep, n_strat, T, R, 2))
    jobs = ns * n_strat
    if small_numpy and jobs <= NUMPY_MAX_JOBS:
        _cohort_numpy(P, P_map, V, V_map, TR, TR_map, has_tr, m0, W, out, trace, per_cycle)
    else:
        _kernel(jobs >= PARALLEL_MIN_JOBS)(P, P_map, V, V_map, TR, TR_map, has_tr, m0, W, out, trace, per_cycle)
    return CohortOutput(out, trace, per_cycle)
