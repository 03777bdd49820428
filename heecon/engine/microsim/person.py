"""An individual's bookkeeping on the CPU: the starting states, the rewards summed along the stored path, and the
booking of the totals into a block's exact accumulator (both CPU blocks, heecon.engine.microsim.cpu, call them
once per individual; the conventions are in docs/microsim-kernel.md)."""

from __future__ import annotations

import numba
import numpy as np

from heecon.engine.microsim.fixedpoint import N_ACC, SQ_SCALE, fx_add
from heecon.engine.microsim.rng import KIND_START, uniform
from heecon.engine.microsim.step import walk

__all__ = ["path_rewards", "book_individual", "start_states"]


@numba.njit(inline="always", cache=True)
def path_rewards(path, G, gq, ng, has_tr, TRs, TR_map, tr_nz, trc, nc, TRW, W, tot, ctr):
    """tot[s, q] = sum over points of G[s, p, path[s, p], q] (+ weighted transition rewards).

    Point rewards are summed over p = 0..T in order, eight reward columns a pass
    over the path (two groups of four: independent chains that hide the latency of
    the additions; three groups a pass measured slower than two: too many registers);
    transition rewards c_k TR_k[path[k-1], path[k]]
    are summed separately over k = 1..T and then added. This fixed association
    is the definition of an individual's total (docs/microsim-kernel.md).
    Columns and moves whose rewards are all zero (see tables.reward_layout) are
    skipped: they would only add exact zeros.
    """
    n_strat, T1, R4 = G.shape[0], G.shape[1], G.shape[3]
    for s in range(n_strat):
        for q in range(R4):
            tot[s, q] = 0.0
        g = 0
        while g + 1 < ng:
            # two groups a pass: eight independent sums hide the latency of the additions
            q = gq[g]
            q2 = gq[g + 1]
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            b0 = 0.0
            b1 = 0.0
            b2 = 0.0
            b3 = 0.0
            for p in range(T1):
                x = np.uintp(path[s, p])  # unsigned indices skip numba's negative-index wraparound
                a0 += G[s, p, x, q]
                a1 += G[s, p, x, q + 1]
                a2 += G[s, p, x, q + 2]
                a3 += G[s, p, x, q + 3]
                b0 += G[s, p, x, q2]
                b1 += G[s, p, x, q2 + 1]
                b2 += G[s, p, x, q2 + 2]
                b3 += G[s, p, x, q2 + 3]
            tot[s, q] = a0
            tot[s, q + 1] = a1
            tot[s, q + 2] = a2
            tot[s, q + 3] = a3
            tot[s, q2] = b0
            tot[s, q2 + 1] = b1
            tot[s, q2 + 2] = b2
            tot[s, q2 + 3] = b3
            g += 2
        if g < ng:
            q = gq[g]
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            for p in range(T1):
                x = np.uintp(path[s, p])
                a0 += G[s, p, x, q]
                a1 += G[s, p, x, q + 1]
                a2 += G[s, p, x, q + 2]
                a3 += G[s, p, x, q + 3]
            tot[s, q] = a0
            tot[s, q + 1] = a1
            tot[s, q + 2] = a2
            tot[s, q + 3] = a3
        if has_tr and TRW.shape[0] > 0:
            # origin-only transition rewards: the tabulated products, added in cycle order
            for c in range(2 * nc):
                ctr[c] = 0.0
            for k in range(1, T1):
                a = np.uintp(path[s, k - 1])
                for c in range(2 * nc):
                    ctr[c] += TRW[s, k - 1, a, c]
            for c in range(nc):
                r = trc[c]
                tot[s, 2 * r] += ctr[2 * c]
                tot[s, 2 * r + 1] += ctr[2 * c + 1]
        elif has_tr:
            for c in range(2 * nc):
                ctr[c] = 0.0
            for k in range(1, T1):
                mt = np.uintp(TR_map[s, k - 1])
                a = np.uintp(path[s, k - 1])
                b = np.uintp(path[s, k])
                if tr_nz[mt, a, b]:
                    for c in range(nc):
                        r = np.uintp(trc[c])
                        tr = TRs[mt, a, b, r]
                        ctr[2 * c] += W[0, 2, r, k - 1] * tr
                        ctr[2 * c + 1] += W[1, 2, r, k - 1] * tr
            for c in range(nc):
                r = trc[c]
                tot[s, 2 * r] += ctr[2 * c]
                tot[s, 2 * r + 1] += ctr[2 * c + 1]


@numba.njit(inline="always", cache=True)
def book_individual(tot, acc, R, moments):
    """Add one individual's totals (and, with ``moments``, squares and squared increments) to a block accumulator."""
    n_strat = tot.shape[0]
    for s in range(n_strat):
        for q in range(2 * R):
            v = tot[s, q]
            pos = (s * 2 * R + q) * N_ACC
            fx_add(acc, pos, v)
            if not moments:
                continue
            fx_add(acc, pos + 2, v * v * SQ_SCALE)
            if s > 0:
                dv = v - tot[0, q]
                fx_add(acc, pos + 4, dv * dv * SQ_SCALE)


@numba.njit(inline="always", cache=True)
def start_states(path, k_ind, i, start_state, scum):
    """path[s, 0] for every strategy: the given state, or one shared uniform walked per strategy."""
    if start_state.shape[0] > 0:
        x0 = start_state[i]
        for s in range(path.shape[0]):
            path[s, 0] = x0
    else:
        u0 = uniform(k_ind, 0, KIND_START, 0)
        for s in range(path.shape[0]):
            path[s, 0] = walk(scum, 0, s, u0, False)
