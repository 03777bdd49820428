"""Individual-level Markov microsimulation kernel (numba, parallel, deterministic).

The private kernel :func:`_kernel` (``parallel=True`` over samples x blocks of
individuals) takes dense arrays (built by the scenario compiler in
:mod:`heecon.model`) and writes exact integer partial sums into ``out`` arrays;
it validates nothing. :func:`simulate` is the public wrapper: it validates
shapes, dtypes and ranges, fills in the optional pieces, allocates the outputs,
calls the kernel, adds up the partial sums and returns a :class:`MicrosimResult`.
:func:`combine` merges results of chunks (of individuals or of PSA samples)
exactly, so any chunking gives the same bits as one call.

Notation: S states, R reward columns, T cycles, E event types, A individual
attributes, K history counters. Cycle k = 1..T moves an individual from its
state at point k-1 to point k. Every array with a leading "sample" axis may
have length 1 there (shared by all samples of the chunk; broadcast, never
copied) or the number of samples of the chunk.

The full contract, the random-number scheme, the exact accumulation and the
conventions (order of steps within a cycle, precedence of event-driven moves,
how events and treatment costs are weighted) are in docs/microsim-kernel.md.

References
----------
Krijkamp EM, Alarid-Escudero F, Enns EA, et al. Microsimulation modeling for
health decision sciences using R: a tutorial. Med Decis Making 2018;38(3):400-422.
Stout NK, Goldie SJ. Keeping the noise down: common random numbers for disease
simulation modeling. Health Care Manag Sci 2008;11(4):399-406.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
from numba import prange

from heecon.engine.microsim.fixedpoint import (
    FX_SCALE,
    SHIFT_SQ,
    SHIFT_SUM,
    fx_add,
    fx_combine,
    fx_to_float,
    normalise,
)
from heecon.engine.microsim.rng import (
    KIND_ENG_ATTEND,
    KIND_ENG_DROPOUT,
    KIND_ENG_PROPENSITY,
    KIND_EVENT_COUNT,
    KIND_EVENT_MOVE,
    KIND_START,
    KIND_TRANSITION,
    bits_to_uniform,
    counter_constant,
    draw_bits,
    individual_key,
    sample_key,
    seed_key,
    uniform,
)

__all__ = ["simulate", "prepare_inputs", "combine", "MicrosimResult", "POISSON_PIECE"]

#: Poisson counts with a mean above this are drawn as a sum of independent
#: pieces of mean <= POISSON_PIECE (exact in distribution; one uniform each).
POISSON_PIECE = 30.0
#: Largest block of individuals accumulated before a carry (see _accumulate.py).
MAX_BLOCK = 1 << 22
_SQ_SCALE = 2.0**-SHIFT_SQ
_N_ACC = 6  # per (strategy, reward, discounting): (sum, sq, dsq) x (hi, lo)
#: Up to this many states the next state is found by a branch-free count.
_BRANCHLESS_MAX_S = 12
#: Counter steps up to this size use tabulated rate-ratio factors exp(gamma * d).
_POW_MAX = 16


# ---------------------------------------------------------------------------
# Small samplers (each a pure function of its uniforms)
# ---------------------------------------------------------------------------


@numba.njit(inline="always", cache=True)
def _walk(cum, m, row, u, branchless):
    """First j with u < cum[m, row, j] (cum is nondecreasing, 2.0 from the last positive entry on).

    For few states the count of entries <= u is taken without branches (the same j).
    """
    mu = np.uintp(m)  # unsigned indices skip numba's negative-index wraparound
    ru = np.uintp(row)
    if branchless:
        j = 0
        for x in range(cum.shape[2]):
            j += u >= cum[mu, ru, x]
        return j
    j = 0
    while u >= cum[mu, ru, j]:
        j += 1
    return j


@numba.njit(cache=True)
def _poisson_inv(lam, u):
    """Poisson(lam) by inversion with one uniform (lam <= POISSON_PIECE).

    The count is the first n with u < F(n). As exp(-lam) >= 1 - lam, u < 1 - lam
    already means n = 0, and the exponential is needed only otherwise.
    """
    if u < 1.0 - lam:
        return 0
    p = math.exp(-lam)
    f = p
    n = 0
    while u >= f and n < 1000:
        n += 1
        p *= lam / n
        f += p
    return n


@numba.njit(cache=True)
def _poisson(lam, u_first, k_ind, cycle, e, n_ev):
    """Poisson(lam): one uniform per piece of mean <= POISSON_PIECE (index e + n_ev * piece).

    ``u_first`` is the uniform of piece 0, ``uniform(k_ind, cycle, KIND_EVENT_COUNT, e)``.
    """
    if lam <= POISSON_PIECE:
        return _poisson_inv(lam, u_first)
    pieces = int(math.ceil(lam / POISSON_PIECE))
    part = lam / pieces
    n = _poisson_inv(part, u_first)
    for q in range(1, pieces):
        n += _poisson_inv(part, uniform(k_ind, cycle, KIND_EVENT_COUNT, e + n_ev * q))
    return n


@numba.njit(cache=True)
def _binomial_inv(n, p, u):
    """Binomial(n, p) by inversion with one uniform."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    q = 1.0 - p
    pmf = q**n
    f = pmf
    x = 0
    ratio = p / q
    while u >= f and x < n:
        pmf *= (n - x) / (x + 1.0) * ratio
        x += 1
        f += pmf
    return x


@numba.njit(cache=True)
def _binomial_cdf(n, p, out):
    """out[x] = F(x) for x = 0..n-1 as _binomial_inv accumulates it (the same operations, so the same bits)."""
    q = 1.0 - p
    pmf = q**n
    f = pmf
    ratio = p / q
    for x in range(n):
        out[x] = f
        pmf *= (n - x) / (x + 1.0) * ratio
        f += pmf


@numba.njit(inline="always", cache=True)
def _binomial_from_cdf(n, p, u, cdf):
    """_binomial_inv(n, p, u) from a table of _binomial_cdf(n, p) (for a person's repeated draws)."""
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    for x in range(n):
        if u < cdf[x]:
            return x
    return n


@numba.njit(cache=True)
def _gamma_draw(k_ind, shape, base):
    """Gamma(shape, 1) by Marsaglia & Tsang (2000) with counter uniforms.

    Attempt t uses KIND_ENG_PROPENSITY indices base + 3t, +1, +2; shapes below
    one use the boost Gamma(a) = Gamma(a + 1) U**(1/a) with index base + 2**20.
    """
    a = shape
    boost = 1.0
    if a < 1.0:
        boost = uniform(k_ind, 0, KIND_ENG_PROPENSITY, base + (1 << 20)) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    for t in range(300000):
        u1 = uniform(k_ind, 0, KIND_ENG_PROPENSITY, base + 3 * t)
        u2 = uniform(k_ind, 0, KIND_ENG_PROPENSITY, base + 3 * t + 1)
        u3 = uniform(k_ind, 0, KIND_ENG_PROPENSITY, base + 3 * t + 2)
        z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v * v * v
        if math.log(1.0 - u3) < 0.5 * z * z + d - d * v + d * math.log(v):
            return d * v * boost
    return d * boost


@numba.njit(cache=True)
def _beta_draw(k_ind, a, b):
    """Beta(a, b) as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b) (index bases 0 and 2**21)."""
    x = _gamma_draw(k_ind, a, 0)
    y = _gamma_draw(k_ind, b, 1 << 21)
    if x + y <= 0.0:
        return a / (a + b)
    return x / (x + y)


# ---------------------------------------------------------------------------
# Per-sample tables and per-individual bookkeeping
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _cum_rows(P, out):
    """Cumulative rows of P[m, i, :]; entries from the last positive one on are 2.0."""
    nP, n_rows, S = P.shape[0], P.shape[1], P.shape[2]
    for m in range(nP):
        for i in range(n_rows):
            last = S - 1
            for j in range(S - 1, -1, -1):
                if P[m, i, j] > 0.0:
                    last = j
                    break
            c = 0.0
            for j in range(S):
                c += P[m, i, j]
                out[m, i, j] = c if j < last else 2.0


@numba.njit(cache=True)
def _point_table(V, V_map, W, out):
    """out[s, p, x, 2r + d] = a_{p+1} V_{p+1}[x, r] + b_p V_p[x, r]: the reward of being in x at point p.

    The last axis is padded with zeros to a multiple of 4 (see _path_rewards).
    """
    n_strat, T = V_map.shape[0], V_map.shape[1]
    S, R = V.shape[1], V.shape[2]
    out[:] = 0.0
    for s in range(n_strat):
        for p in range(T + 1):
            for x in range(S):
                for r in range(R):
                    for d in range(2):
                        v = 0.0
                        if p < T:
                            v = W[d, 0, r, p] * V[V_map[s, p], x, r]
                        if p >= 1:
                            v += W[d, 1, r, p - 1] * V[V_map[s, p - 1], x, r]
                        out[s, p, x, 2 * r + d] = v


@numba.njit(cache=True)
def _reward_layout(G, TRs, has_tr, gq, tr_nz, trc):
    """Which reward columns of a sample can be nonzero, so that _path_rewards skips the rest.

    gq: first columns of the 4-column groups of G with a nonzero entry; tr_nz[m, i, j]: whether the
    transition reward vector TRs[m, i, j] has a nonzero entry; trc: reward columns with a nonzero
    transition reward. Returns (number of groups, number of transition columns). Skipping only drops
    additions of exact zeros, so the totals keep their bits.
    """
    n_strat, T1, S, R4 = G.shape[0], G.shape[1], G.shape[2], G.shape[3]
    ng = 0
    for q in range(0, R4, 4):
        nz = False
        for s in range(n_strat):
            for p in range(T1):
                for x in range(S):
                    for d in range(4):
                        if G[s, p, x, q + d] != 0.0:
                            nz = True
        if nz:
            gq[ng] = q
            ng += 1
    nc = 0
    if has_tr:
        nM, R = TRs.shape[0], TRs.shape[3]
        for m in range(nM):
            for i in range(S):
                for j in range(S):
                    nz = False
                    for r in range(R):
                        if TRs[m, i, j, r] != 0.0:
                            nz = True
                    tr_nz[m, i, j] = nz
        for r in range(R):
            nz = False
            for m in range(nM):
                for i in range(S):
                    for j in range(S):
                        if TRs[m, i, j, r] != 0.0:
                            nz = True
            if nz:
                trc[nc] = r
                nc += 1
    return ng, nc


#: Largest per-sample table of origin-only transition rewards (doubles); larger models use the general sum.
_MAX_TRW = 1 << 20


@numba.njit(cache=True)
def _origin_rewards(TRs, TR_map, W, trc, nc):
    """Weighted transition rewards that depend on the origin state only, as a per-sample table.

    When every transition-reward vector TRs[m, i, j] is the same for all destinations j (rewards of the
    state a cycle starts in, booked with weight c_k, such as events booked in expectation), returns
    TRW[s, k-1, i, 2c + d] = W[d, 2, r, k-1] * TRs[TR_map[s, k-1], i, 0, r] for the columns r = trc[c]:
    the very products _path_rewards would form, so summing them in cycle order gives the same bits.
    Otherwise (or when the table would exceed _MAX_TRW entries) returns an empty table.
    """
    n_strat, T = TR_map.shape[0], TR_map.shape[1]
    nM, S = TRs.shape[0], TRs.shape[1]
    if n_strat * T * S * 2 * nc > _MAX_TRW or nc == 0:
        return np.zeros((0, 0, 0, 0))
    for m in range(nM):
        for i in range(S):
            for j in range(1, S):
                for c in range(nc):
                    if TRs[m, i, j, trc[c]] != TRs[m, i, 0, trc[c]]:
                        return np.zeros((0, 0, 0, 0))
    out = np.empty((n_strat, T, S, 2 * nc))
    for s in range(n_strat):
        for k in range(T):
            mt = TR_map[s, k]
            for i in range(S):
                for c in range(nc):
                    r = trc[c]
                    tr = TRs[mt, i, 0, r]
                    out[s, k, i, 2 * c] = W[0, 2, r, k] * tr
                    out[s, k, i, 2 * c + 1] = W[1, 2, r, k] * tr
    return out


@numba.njit(inline="always", cache=True)
def _path_rewards(path, G, gq, ng, has_tr, TRs, TR_map, tr_nz, trc, nc, TRW, W, tot, ctr):
    """tot[s, q] = sum over points of G[s, p, path[s, p], q] (+ weighted transition rewards).

    Point rewards are summed over p = 0..T in order, four reward columns at a
    time (independent chains); transition rewards c_k TR_k[path[k-1], path[k]]
    are summed separately over k = 1..T and then added. This fixed association
    is the definition of an individual's total (docs/microsim-kernel.md).
    Columns and moves whose rewards are all zero (see _reward_layout) are
    skipped: they would only add exact zeros.
    """
    n_strat, T1, R4 = G.shape[0], G.shape[1], G.shape[3]
    for s in range(n_strat):
        for q in range(R4):
            tot[s, q] = 0.0
        for g in range(ng):
            q = gq[g]
            a0 = 0.0
            a1 = 0.0
            a2 = 0.0
            a3 = 0.0
            for p in range(T1):
                x = np.uintp(path[s, p])  # unsigned indices skip numba's negative-index wraparound
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
def _book_individual(tot, acc, R, moments):
    """Add one individual's totals (and, with ``moments``, squares and squared increments) to a block accumulator."""
    n_strat = tot.shape[0]
    for s in range(n_strat):
        for q in range(2 * R):
            v = tot[s, q]
            pos = (s * 2 * R + q) * _N_ACC
            fx_add(acc, pos, v)
            if not moments:
                continue
            fx_add(acc, pos + 2, v * v * _SQ_SCALE)
            if s > 0:
                dv = v - tot[0, q]
                fx_add(acc, pos + 4, dv * dv * _SQ_SCALE)


@numba.njit(inline="always", cache=True)
def _start_states(path, k_ind, i, start_state, scum):
    """path[s, 0] for every strategy: the given state, or one shared uniform walked per strategy."""
    if start_state.shape[0] > 0:
        x0 = start_state[i]
        for s in range(path.shape[0]):
            path[s, 0] = x0
    else:
        u0 = uniform(k_ind, 0, KIND_START, 0)
        for s in range(path.shape[0]):
            path[s, 0] = _walk(scum, 0, s, u0, False)


# ---------------------------------------------------------------------------
# Blocks of individuals
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _block_plain(i0, i1, k_samp, ind_offset, Pc, P_map, G, gq, ng, scum, start_state, tconst,
                 has_tr, TRs, TR_map, tr_nz, trc, nc, TRW, W, R, moments, acc):
    """Fast path (no covariates, events, engagement or per-cycle output).

    Phase 1 walks every strategy through the cycles on the shared uniforms,
    strategies inner so their dependency chains interleave; phase 2 sums the
    rewards along the stored path.
    """
    n_strat, T = P_map.shape[0], P_map.shape[1]
    branchless = Pc.shape[2] <= _BRANCHLESS_MAX_S
    path = np.empty((n_strat, T + 1), np.int64)
    tot = np.empty((n_strat, G.shape[3]))
    ctr = np.empty(2 * R)
    for i in range(i0, i1):
        k_ind = individual_key(k_samp, ind_offset + i)
        _start_states(path, k_ind, i, start_state, scum)
        for k in range(1, T + 1):
            u = bits_to_uniform(draw_bits(k_ind, tconst[k]))
            for s in range(n_strat):
                path[s, k] = _walk(Pc, P_map[s, k - 1], path[s, k - 1], u, branchless)
        _path_rewards(path, G, gq, ng, has_tr, TRs, TR_map, tr_nz, trc, nc, TRW, W, tot, ctr)
        _book_individual(tot, acc, R, moments)


@numba.njit(cache=True)
def _cov_rows_prepare(P, row_cov, gammas, tis_tr, row_dyn, Lp):
    """Per-sample tables of the covariate rows: row_dyn[i] (the row's hazard ratios follow counters or time
    in state) and Lp[m, i, j] = log1p(-P[m, i, j]) for 0 < p < 1 (the log survival that p' = 1 - (1 - p)**HR
    raises to HR)."""
    nP, S = P.shape[0], P.shape[1]
    K, L = gammas.shape[2], tis_tr.shape[2]
    for i in range(S):
        dyn = False
        if row_cov[i]:
            for j in range(S):
                for c in range(K):
                    if gammas[i, j, c] != 0.0:
                        dyn = True
                for t in range(L):
                    if tis_tr[i, j, t] != 1.0:
                        dyn = True
            for m in range(nP):
                for j in range(S):
                    p = P[m, i, j]
                    Lp[m, i, j] = math.log1p(-p) if 0.0 < p < 1.0 else 0.0
        row_dyn[i] = dyn


@numba.njit(cache=True)
def _cov_person(X, i, row_cov, row_dyn, comp_col, betas, linx, hrx, row_mod):
    """One individual's attribute part of the log hazard ratios, linx[i, j] = beta_tr[i, j] . x (summed in
    attribute order, as _cov_row_cum continues it), exp(linx) for rows without counters or time in state, and
    row_mod[i]: whether such a row differs from the stored one for this individual."""
    S, A = linx.shape[0], X.shape[1]
    for cur in range(S):
        if not row_cov[cur]:
            continue
        mod = False
        for j in range(S):
            lin = 0.0
            for a in range(A):
                lin += betas[cur, j, a] * X[i, a]
            linx[cur, j] = lin
            if not row_dyn[cur] and lin != 0.0 and j != comp_col[cur]:
                mod = True
                hrx[cur, j] = math.exp(lin)
        row_mod[cur] = mod or row_dyn[cur]


@numba.njit(inline="always", cache=True)
def _complete_row(prow, comp):
    """Give the complement column comp what the other entries leave (scaling them to 1 if they sum above it,
    comp then 0); comp = -1 renormalises the whole row."""
    S = prow.shape[0]
    if comp >= 0:
        off = 0.0
        for j in range(S):
            if j != comp:
                off += prow[j]
        if off > 1.0:
            for j in range(S):
                prow[j] /= off
            prow[comp] = 0.0
        else:
            prow[comp] = 1.0 - off
    else:
        tot = 0.0
        for j in range(S):
            tot += prow[j]
        if tot > 0.0:
            for j in range(S):
                prow[j] /= tot


@numba.njit(inline="always", cache=True)  # inlined: an array argument in the hot loop costs reference counting
def _cov_row_cum(P, Lp, m, cur, linx, hrx, dyn, cnt, s, tis_s, gammas, tis_tr, comp, prow, cum):
    """Row `cur` of matrix m with the individual's hazard ratios, as running sums to draw from; see
    docs/microsim-kernel.md.

    p'_j = 1 - (1 - p_j)**HR_j with HR_j = exp(beta.x + gamma.counters) * tis[time in state];
    the complement column comp absorbs the difference (if the other entries sum above 1 they are scaled to 1
    and the complement gets 0); comp = -1 renormalises the row. beta.x comes precomputed in linx (and exp of it
    in hrx when the row is not dynamic, dyn False: then the counter and time-in-state terms are exactly 0).

    Returns -2 when every HR_j is exactly 1 (the stored row applies, so an individual without effects moves
    exactly as on the fast path). Otherwise fills cum[j] with the running sum of the row where p'_j > 0 (else
    -1, never drawn) and returns the fallback state (the last with positive probability, else cur): the move
    for a uniform u is the first j with u < cum[j], else the fallback. A static row is built once per person,
    matrix and state and drawn from again (the block's cache); a dynamic one every cycle.
    """
    S = P.shape[1]
    K = cnt.shape[1]
    L = tis_tr.shape[2]
    ti = tis_s if tis_s < L - 1 else L - 1
    modified = False
    for j in range(S):
        lin = linx[cur, j]
        if dyn:
            for c in range(K):
                lin += gammas[cur, j, c] * cnt[s, c]
            mult = tis_tr[cur, j, ti]
            if mult != 1.0:
                lin += math.log(mult) if mult > 0.0 else -math.inf
        p = P[m, cur, j]
        if lin != 0.0 and j != comp:
            modified = True
            hr = math.exp(lin) if dyn else hrx[cur, j]
            if hr == 0.0 or p <= 0.0:
                p = 0.0
            elif p < 1.0:
                p = -math.expm1(hr * Lp[m, cur, j])
        prow[j] = p
    if not modified:
        return -2
    _complete_row(prow, comp)
    acc = 0.0
    last = -1
    for j in range(S):
        acc += prow[j]
        if prow[j] > 0.0:
            last = j
            cum[j] = acc
        else:
            cum[j] = -1.0
    return last if last >= 0 else cur


@numba.njit(cache=True)
def _coupling(P, P_map, evr, ev_map, evrr, evg, row_dyn, eng_on, eng_sessions, eng_mode, cpl):
    """cpl[s, k]: strategy s > 0 takes the same step in cycle k as strategy 0 from the same state.

    True when the transition matrices, event-rate rows and event rate ratios of the two strategies are
    equal entry by entry in cycle k and neither has treatment sessions in it or a dose-scaled effect. Then
    an individual in the same state (with the same counters and time in state, where those act: the
    return value says whether they must be compared) draws the same move and the same events from the
    same random numbers, so the kernel reuses strategy 0's step and only books it. Returns whether
    counters or time in state act on any rate.
    """
    n_strat, T = P_map.shape[0], P_map.shape[1]
    S, E = P.shape[1], evr.shape[2]
    for s in range(1, n_strat):
        for k in range(1, T + 1):
            ok = True
            for q in (0, s):
                if eng_on[q] and (eng_sessions[q, k - 1] > 0.0 or eng_mode[q] != 0):
                    ok = False
            m0, m1 = P_map[0, k - 1], P_map[s, k - 1]
            e0, e1 = ev_map[0, k - 1], ev_map[s, k - 1]
            if ok and m0 != m1:
                for i in range(S):
                    for j in range(S):
                        if P[m0, i, j] != P[m1, i, j]:
                            ok = False
            if ok:
                for e in range(E):
                    if evrr[0, k - 1, e] != evrr[s, k - 1, e]:
                        ok = False
                    if e0 != e1:
                        for i in range(S):
                            if evr[e0, i, e] != evr[e1, i, e]:
                                ok = False
            cpl[s, k] = ok
    dyn = False
    for i in range(S):
        if row_dyn[i]:
            dyn = True
    for e in range(evg.shape[0]):
        for c in range(evg.shape[1]):
            if evg[e, c] != 0.0:
                dyn = True
    return dyn


@numba.njit(inline="always", cache=True)
def _same_dynamics(s, tis, cnt, ev_hr):
    """Whether strategy s carries the same time in state, counters and event rate ratios as strategy 0."""
    if tis[s] != tis[0]:
        return False
    for c in range(cnt.shape[1]):
        if cnt[s, c] != cnt[0, c]:
            return False
    for e in range(ev_hr.shape[1]):
        if ev_hr[s, e] != ev_hr[0, e]:
            return False
    return True


@numba.njit(cache=True)
def _block_general(
    i0, i1, k_samp, ind_offset, sm, t_keep, Pc, P, P_map, G, gq, ng, scum, start_state, tconst,
    has_tr, TRs, TR_map, tr_nz, trc, nc, TRW, W, Vs, V_map,
    X, has_trcov, row_cov, betas, gammas, tis_tr, comp_col, has_trcount, tr_counter,
    has_events, has_evcov, evr, ev_map, ev_kind, evb, evg, evrr, evw, ev_counter, ev_move_state, evmp, ev_move_keep,
    has_eng, eng_on, eng_sessions, eng_drop, eng_ab, eng_propensity, eng_eligible, eng_cps, eng_cpp, eng_mode,
    moments, acc, evc, p_occ, p_cr, p_ce, traj,
):
    """General path: covariates, counters, events, engagement, per-cycle output, trajectories.

    Steps of cycle k for each strategy (docs/microsim-kernel.md): 1. the drawn
    move; 2. engagement (dropout, sessions attended, dose); 3. event counts from
    the state at point k-1 and the counters at its start, then event-driven
    moves; 4. new state, time in state, counters; 5. event and engagement
    rewards (weight c_k) into `extra`. Point and transition rewards come from
    the path as on the fast path, and `extra` is added last.
    """
    n_strat, T = P_map.shape[0], P_map.shape[1]
    S = P.shape[1]
    R = Vs.shape[2]
    E = ev_kind.shape[0]
    K = ev_counter.shape[1]
    branchless = S <= _BRANCHLESS_MAX_S
    keep = t_keep >= 0
    n_traj = traj.shape[0] if sm == 0 else 0
    path = np.empty((n_strat, T + 1), np.int64)
    tis = np.zeros(n_strat, np.int64)
    cnt = np.zeros((n_strat, K))
    tot = np.empty((n_strat, G.shape[3]))
    extra = np.zeros((n_strat, 2 * R))
    nev = np.zeros(E, np.int64)
    ue = np.zeros(E)
    ev_hr = np.ones((n_strat, E))  # exp(beta.x + gamma.counters) per strategy and event type
    egam = np.empty((E, K, _POW_MAX + 1))  # exp(gamma * d): the factor of d more counts
    for e in range(E):
        for c in range(K):
            for d in range(_POW_MAX + 1):
                egam[e, c, d] = math.exp(evg[e, c] * d)
    occurred = np.zeros(E, np.int64)  # event types with a count this cycle
    dcnt = np.zeros(K)  # counter increments of this cycle
    econst = np.empty((T + 1, E), np.uint64)
    mconst = np.empty((T + 1, E), np.uint64)
    for k in range(T + 1):
        for e in range(E):
            econst[k, e] = counter_constant(k, KIND_EVENT_COUNT, e)
            mconst[k, e] = counter_constant(k, KIND_EVENT_MOVE, e)
    # constants of the engagement draws and of a move after a single occurrence (the same values as computed
    # in place: n * log1p(-pm) is log1p(-pm) for n = 1)
    dconst = np.empty(T + 1, np.uint64)
    aconst = np.empty((T + 1, 2), np.uint64)
    for k in range(T + 1):
        dconst[k] = counter_constant(k, KIND_ENG_DROPOUT, 0)
        aconst[k, 0] = counter_constant(k, KIND_ENG_ATTEND, 0)
        aconst[k, 1] = counter_constant(k, KIND_ENG_ATTEND, 1)
    pdrop = np.empty(n_strat)
    for s in range(n_strat):
        pdrop[s] = -math.expm1(-eng_drop[s])
    lpm = np.empty(E)
    hit1 = np.empty(E)
    for e in range(E):
        lpm[e] = math.log1p(-evmp[e]) if 0.0 < evmp[e] < 1.0 else 0.0
        hit1[e] = -math.expm1(lpm[e])
    # rows of the event-rate tables with a positive rate (the event loop skips the others), and the reward
    # columns that events or engagement can reach (the others would only ever add exact zeros)
    ev_any = np.zeros((evr.shape[0], S), np.bool_)
    for me in range(evr.shape[0]):
        for x in range(S):
            for e in range(E):
                if evr[me, x, e] > 0.0:
                    ev_any[me, x] = True
    xcols = np.empty(R, np.int64)
    nx = 0
    for r in range(R):
        nz = False
        for e in range(E):
            if evw[e, r] != 0.0:
                nz = True
        for s in range(n_strat):
            if eng_cps[s, r] != 0.0 or eng_cpp[s, r] != 0.0:
                nz = True
        if nz:
            xcols[nx] = r
            nx += 1
    ue_k = np.full(E, -1, np.int64)  # the cycle whose uniform ue[e] holds (drawn when first needed)
    n_whole = 0
    for s in range(n_strat):
        for k in range(T):
            n_whole = max(n_whole, int(math.floor(eng_sessions[s, k])))
    bcdf = np.empty((n_strat, n_whole + 1))  # a person's attendance CDF per strategy, for bn[s] sessions
    bn = np.full(n_strat, -1, np.int64)
    prow = np.empty(S)
    ctr = np.empty(2 * R)
    row_dyn = np.zeros(S, np.bool_)
    row_mod = np.zeros(S, np.bool_)
    linx = np.zeros((S, S))
    hrx = np.ones((S, S))
    Lp = np.zeros((P.shape[0], S, S))
    if has_trcov:
        _cov_rows_prepare(P, row_cov, gammas, tis_tr, row_dyn, Lp)
    # per strategy: the last static covariate row built (matrix, state), its running sums and fallback
    rc_m = np.full(n_strat, -1, np.int64)
    rc_cur = np.full(n_strat, -1, np.int64)
    rc_fb = np.zeros(n_strat, np.int64)
    rc_cum = np.empty((n_strat, S))
    # coupling of strategies to strategy 0 (cycles whose inputs are identical), and strategy 0's step
    cpl = np.zeros((n_strat, T + 1), np.bool_)
    cpl_dyn = _coupling(P, P_map, evr, ev_map, evrr, evg, row_dyn, eng_on, eng_sessions, eng_mode, cpl)
    j0 = 0
    n_occ0 = 0
    occ0 = np.zeros(E, np.int64)
    nev0 = np.zeros(E, np.int64)
    prop = np.zeros(n_strat)
    enrolled = np.zeros(n_strat, np.bool_)
    cum_att = np.zeros(n_strat)
    cum_off = np.zeros(n_strat)
    for i in range(i0, i1):
        k_ind = individual_key(k_samp, ind_offset + i)
        _start_states(path, k_ind, i, start_state, scum)
        for s in range(n_strat):
            tis[s] = 0
            for c in range(K):
                cnt[s, c] = 0.0
            for q in range(2 * R):
                extra[s, q] = 0.0
            if keep:
                p_occ[t_keep, s, 0, path[s, 0]] += 1
        if has_eng:
            for s in range(n_strat):
                bn[s] = -1
                enrolled[s] = eng_on[s]
                cum_att[s] = 0.0
                cum_off[s] = 0.0
                if not eng_on[s]:
                    prop[s] = 0.0
                elif eng_propensity.shape[0] > 0:
                    prop[s] = eng_propensity[i]
                else:
                    prop[s] = _beta_draw(k_ind, eng_ab[s, 0], eng_ab[s, 1])
        if has_trcov:
            _cov_person(X, i, row_cov, row_dyn, comp_col, betas, linx, hrx, row_mod)
            for s in range(n_strat):
                rc_m[s] = -1
        if has_evcov:
            for e in range(E):
                lx = 0.0
                for a in range(X.shape[1]):
                    lx += evb[e, a] * X[i, a]
                hx = math.exp(lx) if lx != 0.0 else 1.0
                for s in range(n_strat):
                    ev_hr[s, e] = hx
        for e in range(E):
            ue_k[e] = -1
        for k in range(1, T + 1):
            u = bits_to_uniform(draw_bits(k_ind, tconst[k]))
            for s in range(n_strat):
                cur = path[s, k - 1]
                if s > 0 and cpl[s, k] and cur == path[0, k - 1] and (not cpl_dyn or _same_dynamics(s, tis, cnt, ev_hr)):
                    # coupled: this strategy's cycle k has the same inputs as strategy 0's (see _coupling), so
                    # steps 1-3 give strategy 0's move and events; steps 4-6 then book them to this strategy
                    j = j0
                    n_occ = n_occ0
                    for o in range(n_occ0):
                        occurred[o] = occ0[o]
                        nev[occ0[o]] = nev0[occ0[o]]
                    attended = 0.0
                    place = False
                else:
                    m = P_map[s, k - 1]
                    # 1. the drawn move
                    if has_trcov and row_mod[cur]:
                        # a covariate row: a static one is built once per (person, strategy, matrix, state) and
                        # reused; a dynamic one (counters, time in state) every cycle
                        dyn = row_dyn[cur]
                        if dyn or rc_m[s] != m or rc_cur[s] != cur:
                            rc_fb[s] = _cov_row_cum(P, Lp, m, cur, linx, hrx, dyn, cnt, s, tis[s], gammas, tis_tr,
                                                    comp_col[cur], prow, rc_cum[s])
                            rc_m[s] = -1 if dyn else m
                            rc_cur[s] = cur
                        if rc_fb[s] == -2:
                            j = _walk(Pc, m, cur, u, branchless)
                        else:
                            j = rc_fb[s]
                            for x in range(S):
                                if u < rc_cum[s, x]:
                                    j = x
                                    break
                    else:
                        # _walk, written out: an array handed to a helper inside this loop costs reference counting
                        j = 0
                        mu, cu = np.uintp(m), np.uintp(cur)
                        if branchless:
                            for x in range(S):
                                j += u >= Pc[mu, cu, x]
                        else:
                            while u >= Pc[mu, cu, j]:
                                j += 1
                    # 2. treatment engagement: dropout, then sessions attended; dose
                    attended = 0.0
                    place = False
                    dose = 0.0
                    if has_eng and eng_on[s]:
                        off = eng_sessions[s, k - 1]
                        if off > 0.0 and eng_eligible[cur] != 0:
                            cum_off[s] += off
                            if enrolled[s]:
                                if eng_drop[s] > 0.0 and bits_to_uniform(draw_bits(k_ind, dconst[k])) < pdrop[s]:
                                    enrolled[s] = False
                            if enrolled[s]:
                                place = True
                                whole = math.floor(off)
                                nw = int(whole)
                                if bn[s] != nw:
                                    if 0 < nw and 0.0 < prop[s] < 1.0:
                                        _binomial_cdf(nw, prop[s], bcdf[s])
                                    bn[s] = nw
                                ua = bits_to_uniform(draw_bits(k_ind, aconst[k, 0]))
                                attended = float(_binomial_from_cdf(nw, prop[s], ua, bcdf[s]))
                                frac = off - whole
                                if frac > 0.0 and bits_to_uniform(draw_bits(k_ind, aconst[k, 1])) < prop[s] * frac:
                                    attended += 1.0
                                cum_att[s] += attended
                        if cum_off[s] > 0.0:
                            dose = cum_att[s] / cum_off[s]
                    # 3. events, by the state at point k-1 and the counters at the start of the cycle
                    n_occ = 0
                    me = ev_map[s, k - 1]
                    if has_events and ev_any[me, cur]:
                        for e in range(E):
                            n = 0
                            rate = evr[me, cur, e]
                            if rate > 0.0:
                                rr = evrr[s, k - 1, e]
                                if eng_mode[s] == 1:
                                    rr = 1.0 - (1.0 - rr) * dose
                                lam = rate * rr
                                if has_evcov:
                                    lam *= ev_hr[s, e]
                                if lam > 0.0:
                                    if ue_k[e] != k:
                                        ue[e] = bits_to_uniform(draw_bits(k_ind, econst[k, e]))
                                        ue_k[e] = k
                                    if ev_kind[e] == 0:
                                        if ue[e] >= 1.0 - lam:  # else no occurrence (see _poisson_inv)
                                            n = _poisson(lam, ue[e], k_ind, k, e, E)
                                    elif ue[e] < lam - 0.5 * lam * lam or (ue[e] < lam and ue[e] < -math.expm1(-lam)):
                                        n = 1  # 1 - exp(-lam) lies in [lam - lam^2/2, lam]
                            nev[e] = n
                            if n > 0:
                                occurred[n_occ] = e
                                n_occ += 1
                        # event-driven moves: the lowest event index wins; kept destinations (death) beat them all
                        if ev_move_keep[j] == 0:
                            for o in range(n_occ):
                                e = occurred[o]
                                dest = ev_move_state[e]
                                if dest >= 0:
                                    pm = evmp[e]
                                    if pm >= 1.0:
                                        hit = True
                                    elif pm <= 0.0:
                                        hit = False
                                    else:
                                        um = bits_to_uniform(draw_bits(k_ind, mconst[k, e]))
                                        hit = um < (hit1[e] if nev[e] == 1 else -math.expm1(nev[e] * lpm[e]))
                                    if hit:
                                        j = dest
                                        break
                    if s == 0:
                        j0 = j
                        n_occ0 = n_occ
                        for o in range(n_occ):
                            occ0[o] = occurred[o]
                            nev0[occurred[o]] = nev[occurred[o]]
                # 4. the new state, time in state, counters
                path[s, k] = j
                if j == cur:
                    tis[s] += 1
                else:
                    tis[s] = 0
                if n_occ > 0 or has_trcount:
                    for c in range(K):
                        dcnt[c] = 0.0
                    for o in range(n_occ):
                        e = occurred[o]
                        evc[s, e] += nev[e]
                        for c in range(K):
                            dcnt[c] += nev[e] * ev_counter[e, c]
                    if has_trcount:
                        for c in range(K):
                            dcnt[c] += tr_counter[cur, j, c]
                    # the event rate ratios exp(gamma[e, c] * count) follow the counters multiplicatively,
                    # by exp(gamma * d) for a step of d (tabulated for whole steps up to _POW_MAX)
                    for c in range(K):
                        d = dcnt[c]
                        if d != 0.0:
                            cnt[s, c] += d
                            if has_evcov:
                                di = int(d) if (d == math.floor(d) and 0.0 < d <= _POW_MAX) else -1
                                for e in range(E):
                                    g = evg[e, c]
                                    if g != 0.0:
                                        ev_hr[s, e] *= egam[e, c, di] if di > 0 else math.exp(g * d)
                # 5. event and engagement rewards of cycle k, weight c_k
                if n_occ > 0 or place or keep:
                    for rx in range(R if keep else nx):
                        r = rx if keep else xcols[rx]
                        amt = 0.0
                        for o in range(n_occ):
                            amt += nev[occurred[o]] * evw[occurred[o], r]
                        if place:
                            amt += attended * eng_cps[s, r] + eng_cpp[s, r]
                        if amt != 0.0:
                            extra[s, 2 * r] += W[0, 2, r, k - 1] * amt
                            extra[s, 2 * r + 1] += W[1, 2, r, k - 1] * amt
                        # 6. per-cycle output (discounted), kept samples only
                        if keep:
                            mv = V_map[s, k - 1]
                            cyc = W[0, 0, r, k - 1] * Vs[mv, cur, r] + W[0, 1, r, k - 1] * Vs[mv, j, r]
                            cyc += W[0, 2, r, k - 1] * (amt + TRs[TR_map[s, k - 1], cur, j, r])
                            fl = math.floor(cyc)
                            p_cr[t_keep, s, k - 1, r, 0] += np.int64(fl)
                            p_cr[t_keep, s, k - 1, r, 1] += np.int64((cyc - fl) * FX_SCALE + 0.5)
                if keep:
                    p_occ[t_keep, s, k, j] += 1
                    for o in range(n_occ):
                        p_ce[t_keep, s, k - 1, occurred[o]] += nev[occurred[o]]
        if i < n_traj:
            for s in range(n_strat):
                for k in range(T + 1):
                    traj[i, s, k] = path[s, k]
        _path_rewards(path, G, gq, ng, has_tr, TRs, TR_map, tr_nz, trc, nc, TRW, W, tot, ctr)
        for s in range(n_strat):
            for q in range(2 * R):
                tot[s, q] += extra[s, q]
        _book_individual(tot, acc, R, moments)


# ---------------------------------------------------------------------------
# The kernel
# ---------------------------------------------------------------------------


@numba.njit(cache=True, parallel=True, fastmath=False)
def _kernel(
    P_mats, P_map, V_mats, V_map, TR_mats, TR_map, W, start_probs, start_state,
    X, beta_tr, gamma_tr, tis_tr, comp_col, row_cov, tr_counter,
    ev_rate, ev_map, ev_kind, ev_beta, ev_gamma, ev_rr, ev_reward, ev_counter,
    ev_move_state, ev_move_prob, ev_move_keep,
    eng_on, eng_sessions, eng_dropout, eng_ab, eng_propensity, eng_eligible,
    eng_cost_per_session, eng_cost_per_place, eng_mode,
    seed, sample_offset, ind_offset, block_size,
    has_tr, has_trcov, has_trcount, has_events, has_evcov, has_eng, moments,
    tconst, part_acc, part_ev, p_occ, p_cr, p_ce, out_traj,
):
    """Simulate every (sample, block of individuals) task in parallel into per-task partial outputs.

    Task t = sm * n_blocks + b covers individuals [b * block_size, ...) of local
    sample sm; part_acc[t], part_ev[t] (and p_occ[t], p_cr[t], p_ce[t] for the
    first n_keep samples) receive its exact integer partial sums, which the
    caller adds up (integer addition: the order does not matter).
    """
    n_tasks = part_acc.shape[0]
    n_blocks = (X.shape[0] + block_size - 1) // block_size
    n_keep = p_occ.shape[0] // n_blocks
    general = has_trcov or has_events or has_eng
    k_seed = seed_key(seed)
    for tt in prange(n_tasks):
        t = np.int64(tt)
        n_ind = X.shape[0]
        n_strat, T = P_map.shape[0], P_map.shape[1]
        nP, S = P_mats.shape[1], P_mats.shape[2]
        R = V_mats.shape[3]
        sm = t // n_blocks
        b = t - sm * n_blocks
        i0 = b * block_size
        i1 = min(n_ind, i0 + block_size)
        k_samp = sample_key(k_seed, sample_offset + sm)
        ip = sm if P_mats.shape[0] > 1 else 0
        P = P_mats[ip]
        Pc = np.empty((nP, S, S))
        _cum_rows(P, Pc)
        isp = sm if start_probs.shape[0] > 1 else 0
        scum = np.empty((1, n_strat, S))
        _cum_rows(start_probs[isp:isp + 1], scum)
        iv = sm if V_mats.shape[0] > 1 else 0
        Vs = V_mats[iv]
        G = np.empty((n_strat, T + 1, S, ((2 * R + 3) // 4) * 4))
        _point_table(Vs, V_map, W, G)
        itr = sm if TR_mats.shape[0] > 1 else 0
        TRs = TR_mats[itr]
        gq = np.empty(G.shape[3] // 4, np.int64)
        tr_nz = np.zeros((TRs.shape[0], S, S), np.bool_)
        trc = np.empty(R, np.int64)
        ng, nc = _reward_layout(G, TRs, has_tr, gq, tr_nz, trc)
        TRW = _origin_rewards(TRs, TR_map, W, trc, nc)
        t_keep = np.int64(-1)
        if sm < n_keep:
            t_keep = t
        if general or t_keep >= 0 or (sm == 0 and i0 < out_traj.shape[0]):
            bt = sm if beta_tr.shape[0] > 1 else 0
            gt = sm if gamma_tr.shape[0] > 1 else 0
            er = sm if ev_rate.shape[0] > 1 else 0
            eb = sm if ev_beta.shape[0] > 1 else 0
            eg = sm if ev_gamma.shape[0] > 1 else 0
            errs = sm if ev_rr.shape[0] > 1 else 0
            ew = sm if ev_reward.shape[0] > 1 else 0
            emp = sm if ev_move_prob.shape[0] > 1 else 0
            xd = sm if eng_dropout.shape[0] > 1 else 0
            xab = sm if eng_ab.shape[0] > 1 else 0
            xcs = sm if eng_cost_per_session.shape[0] > 1 else 0
            xcp = sm if eng_cost_per_place.shape[0] > 1 else 0
            _block_general(
                i0, i1, k_samp, ind_offset, sm, t_keep, Pc, P, P_map, G, gq, ng, scum, start_state, tconst,
                has_tr, TRs, TR_map, tr_nz, trc, nc, TRW, W, Vs, V_map,
                X, has_trcov, row_cov, beta_tr[bt], gamma_tr[gt], tis_tr, comp_col, has_trcount, tr_counter,
                has_events, has_evcov, ev_rate[er], ev_map, ev_kind, ev_beta[eb], ev_gamma[eg],
                ev_rr[errs], ev_reward[ew], ev_counter, ev_move_state, ev_move_prob[emp], ev_move_keep,
                has_eng, eng_on, eng_sessions, eng_dropout[xd], eng_ab[xab], eng_propensity, eng_eligible,
                eng_cost_per_session[xcs], eng_cost_per_place[xcp], eng_mode,
                moments, part_acc[t], part_ev[t], p_occ, p_cr, p_ce, out_traj,
            )
        else:
            _block_plain(i0, i1, k_samp, ind_offset, Pc, P_map, G, gq, ng, scum, start_state, tconst,
                         has_tr, TRs, TR_map, tr_nz, trc, nc, TRW, W, R, moments, part_acc[t])
        normalise(part_acc[t])
        if t_keep >= 0:
            normalise(p_cr[t_keep].reshape(-1))


# ---------------------------------------------------------------------------
# Public wrapper
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _transition_constants(T):
    """counter_constant(k, KIND_TRANSITION, 0) for k = 0..T (the per-cycle part of a transition draw)."""
    out = np.empty(T + 1, np.uint64)
    for k in range(T + 1):
        out[k] = counter_constant(k, KIND_TRANSITION, 0)
    return out


def _fail(name: str, what: str, got: object) -> None:
    raise ValueError(f"The '{name}' array must {what}. Got {got}.")


def _as(name: str, a: object, dtype: type, shape: tuple, n_samp: int | None = None, *, default: object = None,
        lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """C-contiguous array of the given dtype and shape, checked; `default` when `a` is None.

    `shape` entries: an int (exact), None (any), or "samples" (1 or n_samp).
    Float arrays must be finite and, with `lo`/`hi`, inside [lo, hi].
    """
    arr = np.asarray(default if a is None else a)
    if dtype is np.float64 and not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        _fail(name, "hold numbers", f"dtype {arr.dtype}")
    if dtype is np.int64 and not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        _fail(name, "hold integers", f"dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    want = ", ".join("1 or n_samples" if n == "samples" else ("any" if n is None else str(n)) for n in shape)
    if arr.ndim != len(shape):
        _fail(name, f"have {len(shape)} dimensions ({want})", f"shape {arr.shape}")
    for q, n in enumerate(shape):
        if n == "samples":
            if n_samp is not None and arr.shape[q] not in (1, n_samp):
                _fail(name, f"have 1 or n_samples = {n_samp} entries on axis {q}", f"shape {arr.shape}")
        elif n is not None and arr.shape[q] != n:
            _fail(name, f"have shape ({want})", f"shape {arr.shape}")
    if dtype is np.float64:
        bad = ~np.isfinite(arr)
        if lo is not None:
            bad |= arr < lo
        if hi is not None:
            bad |= arr > hi
        if bad.any():
            where = tuple(int(x) for x in np.argwhere(bad)[0])
            rng_txt = "" if lo is None and hi is None else f" in [{lo}, {'inf' if hi is None else hi}]"
            _fail(name, f"hold finite numbers{rng_txt}", f"{arr[where]} at {where}")
    return arr


def _check_index(name: str, a: np.ndarray, n: int) -> None:
    if a.size and (a.min() < 0 or a.max() >= n):
        bad = np.argwhere((a < 0) | (a >= n))[0]
        _fail(name, f"hold indices in [0, {n})", f"{a[tuple(bad)]} at {tuple(int(b) for b in bad)}")


def _check_probs(name: str, a: np.ndarray, row_axis_name: str = "row") -> None:
    if a.size == 0:
        return
    if a.min() < 0.0 or a.max() > 1.0:
        bad = np.argwhere((a < 0.0) | (a > 1.0))[0]
        _fail(name, "hold probabilities in [0, 1]", f"{a[tuple(bad)]} at {tuple(int(b) for b in bad)}")
    sums = a.sum(axis=-1)
    off = np.abs(sums - 1.0) > 1e-9
    if off.any():
        bad = tuple(int(b) for b in np.argwhere(off)[0])
        _fail(name, f"have every {row_axis_name} summing to 1", f"{sums[bad]:.12g} for the {row_axis_name} at {bad}")


def _dedupe(mats: np.ndarray, maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated matrices (equal in every sample) and point the map at the first copy.

    A scenario compiler stores one matrix per strategy and segment; where strategies or segments share
    one (the same mortality year, say), the kernel then sees the repeat, which lets it keep a person's
    covariate-modified row from one cycle to the next. The numbers do not change.
    """
    n = mats.shape[1]
    if n <= 1:
        return mats, maps
    first: dict[bytes, int] = {}
    keep: list[int] = []
    where = np.empty(n, np.int64)
    for m in range(n):
        key = np.ascontiguousarray(mats[:, m]).tobytes()
        if key not in first:
            first[key] = len(keep)
            keep.append(m)
        where[m] = first[key]
    if len(keep) == n:
        return mats, maps
    return np.ascontiguousarray(mats[:, keep]), where[maps]


def _sample_axis_len(*arrays: object) -> int:
    n = 1
    for a in arrays:
        if a is not None:
            m = np.shape(a)[0]
            if m != 1:
                if n != 1 and m != n:
                    raise ValueError(f"Arrays disagree on the number of samples: {n} and {m}.")
                n = m
    return n


@dataclass
class MicrosimResult:
    """Exact accumulators of one microsimulation call (or of combined chunks).

    ``acc[sample, strategy, reward, disc, kind, limb]``: kind 0 the sum over
    individuals of the per-individual totals, 1 the sum of squares, 2 the sum
    of squared (strategy s - strategy 0) differences; limb (hi, lo) fixed point
    (see heecon/engine/microsim/fixedpoint.py); disc 0 discounted (W[0]), 1 undiscounted.
    """

    acc: np.ndarray
    ev_count: np.ndarray  # int64[n_samp, n_strat, E]
    occupancy: np.ndarray  # int64[n_keep, n_strat, T+1, S]
    cycle_rewards_fx: np.ndarray  # int64[n_keep, n_strat, T, R, 2] (discounted, fixed point)
    cycle_events: np.ndarray  # int64[n_keep, n_strat, T, E]
    trajectories: np.ndarray  # int64[n_traj, n_strat, T+1]; -1 where not simulated
    n_individuals: int
    seed: int
    sample_offset: int = 0
    ind_offset: int = 0
    moments: bool = True  # squares accumulated (else se and incremental_se are NaN)

    @property
    def out_sum(self) -> np.ndarray:
        """float64[n_samp, n_strat, R, 2]: sum over individuals of the totals."""
        return fx_to_float(self.acc[..., 0, :], SHIFT_SUM)

    @property
    def out_sq(self) -> np.ndarray:
        """float64[n_samp, n_strat, R, 2]: sum over individuals of squared totals."""
        return fx_to_float(self.acc[..., 1, :], SHIFT_SQ)

    @property
    def out_dsq(self) -> np.ndarray:
        """float64[n_samp, n_strat, R, 2]: sum of squared (strategy s - strategy 0) differences."""
        return fx_to_float(self.acc[..., 2, :], SHIFT_SQ)

    @property
    def cycle_rewards(self) -> np.ndarray:
        """float64[n_keep, n_strat, T, R]: discounted rewards of each cycle, summed over individuals."""
        return fx_to_float(self.cycle_rewards_fx, SHIFT_SUM)

    @property
    def mean(self) -> np.ndarray:
        """Mean per individual, float64[n_samp, n_strat, R, 2]."""
        return self.out_sum / self.n_individuals

    @property
    def se(self) -> np.ndarray:
        """Monte Carlo standard error of :attr:`mean` (from the sums of squares)."""
        n = self.n_individuals
        if not self.moments:
            return np.full(self.acc.shape[:4], np.nan)
        var = (self.out_sq - n * self.mean**2) / max(n - 1, 1)
        return np.sqrt(np.maximum(var, 0.0) / n)

    @property
    def incremental_mean(self) -> np.ndarray:
        """Mean of (strategy s - strategy 0) per individual."""
        m = self.mean
        return m - m[:, :1]

    @property
    def incremental_se(self) -> np.ndarray:
        """Standard error of :attr:`incremental_mean` under common random numbers."""
        n = self.n_individuals
        d = self.incremental_mean
        if not self.moments:
            return np.full(d.shape, np.nan)
        var = (self.out_dsq - n * d**2) / max(n - 1, 1)
        return np.sqrt(np.maximum(var, 0.0) / n)


def prepare_inputs(P_mats: Any, P_map: Any, V_mats: Any, V_map: Any, W: Any, **kw: Any) -> dict[str, Any]:
    """The arguments of :func:`simulate` (also those of the GPU kernels), validated, with defaults filled in.

    Returns a dict: every array under its own name (``eng_cost_per_session`` and ``eng_cost_per_place`` as
    ``eng_cps`` and ``eng_cpp``), the sizes ``n_ind``, ``n_samp``, ``n_strat``, ``T``, ``S``, ``R``, ``E``, ``K``,
    ``A``, the flags ``has_tr`` ... ``has_eng`` and ``row_cov``/``eng_on``, and ``seed``, ``n_keep``, ``n_traj``,
    ``moments``. Repeated transition matrices are merged (:func:`_dedupe`). Raises ValueError naming the array.
    """
    g = kw.get
    P_map = _as("P_map", P_map, np.int64, (None, None))
    n_strat, T = P_map.shape
    P_mats = np.asarray(P_mats)
    if P_mats.ndim != 4:
        _fail("P_mats", "have 4 dimensions (samples, matrices, S, S)", f"shape {P_mats.shape}")
    S = P_mats.shape[2]
    V_mats = np.asarray(V_mats)
    if V_mats.ndim != 4:
        _fail("V_mats", "have 4 dimensions (samples, matrices, S, R)", f"shape {V_mats.shape}")
    R = V_mats.shape[3]
    n_ind = g("n_ind")
    if n_ind is None:
        if g("X") is not None:
            n_ind = np.shape(g("X"))[0]
        elif g("start_state") is not None:
            n_ind = np.shape(g("start_state"))[0]
        else:
            raise ValueError("Give n_ind (the number of individuals), or X / start_state with one row each.")
    n_ind = int(n_ind)
    if n_ind < 1:
        raise ValueError(f"The 'n_ind' setting must be a positive integer. Got {n_ind}.")
    n_samp = g("n_samples")
    if n_samp is None:
        n_samp = _sample_axis_len(P_mats, V_mats, *(g(k) for k in (
            "TR_mats", "start_probs", "beta_tr", "gamma_tr", "ev_rate", "ev_beta", "ev_gamma", "ev_rr", "ev_reward",
            "ev_move_prob", "eng_dropout", "eng_ab", "eng_cost_per_session", "eng_cost_per_place")))
    n_samp = int(n_samp)
    X = g("X")
    A = 0 if X is None else np.shape(X)[1]
    K = 0
    for name, ax in (("gamma_tr", 3), ("ev_gamma", 2), ("ev_counter", 1), ("tr_counter", 2)):
        if g(name) is not None:
            K = np.shape(g(name))[ax]
            break
    E = 0 if g("ev_rate") is None else np.shape(g("ev_rate"))[3]
    smp = "samples"
    o: dict[str, Any] = {"n_ind": n_ind, "n_samp": n_samp, "n_strat": n_strat, "T": T, "S": S, "R": R, "E": E,
                         "K": K, "A": A}
    o["P_map"] = P_map
    o["P_mats"] = P_mats = _as("P_mats", P_mats, np.float64, (smp, None, S, S), n_samp)
    _check_probs("P_mats", P_mats)
    _check_index("P_map", P_map, P_mats.shape[1])
    o["P_mats"], o["P_map"] = _dedupe(P_mats, P_map)
    o["V_mats"] = _as("V_mats", V_mats, np.float64, (smp, None, S, R), n_samp)
    o["V_map"] = V_map = _as("V_map", V_map, np.int64, (n_strat, T))
    _check_index("V_map", V_map, o["V_mats"].shape[1])
    o["W"] = W = _as("W", W, np.float64, (2, 3, R, T))
    state0 = np.zeros((1, n_strat, S))
    state0[..., 0] = 1.0
    if g("start_state") is not None:
        o["start_state"] = _as("start_state", g("start_state"), np.int64, (n_ind,))
        _check_index("start_state", o["start_state"], S)
        o["start_probs"] = state0
    else:
        o["start_state"] = np.zeros(0, np.int64)
        o["start_probs"] = _as("start_probs", g("start_probs"), np.float64, (smp, n_strat, S), n_samp, default=state0)
        _check_probs("start_probs", o["start_probs"])
    zmap = np.zeros((n_strat, T), np.int64)
    o["TR_mats"] = _as("TR_mats", g("TR_mats"), np.float64, (smp, None, S, S, R), n_samp,
                       default=np.zeros((1, 1, S, S, R)))
    o["TR_map"] = _as("TR_map", g("TR_map"), np.int64, (n_strat, T), default=zmap)
    _check_index("TR_map", o["TR_map"], o["TR_mats"].shape[1])
    o["has_tr"] = bool(np.any(o["TR_mats"] != 0.0) and np.any(W[:, 2] != 0.0))
    o["X"] = _as("X", X, np.float64, (n_ind, A), default=np.zeros((n_ind, 0)))
    o["beta_tr"] = _as("beta_tr", g("beta_tr"), np.float64, (smp, S, S, A), n_samp, default=np.zeros((1, S, S, A)))
    o["gamma_tr"] = _as("gamma_tr", g("gamma_tr"), np.float64, (smp, S, S, K), n_samp, default=np.zeros((1, S, S, K)))
    o["tis_tr"] = tis = _as("tis_tr", g("tis_tr"), np.float64, (S, S, None), default=np.ones((S, S, 1)), lo=0.0)
    if tis.shape[2] < 1:
        _fail("tis_tr", "have at least one time-in-state column", f"shape {tis.shape}")
    o["comp_col"] = comp = _as("comp_col", g("comp_col"), np.int64, (S,), default=np.arange(S))
    if np.any((comp < -1) | (comp >= S)):
        _fail("comp_col", f"hold a column in [0, {S}) or -1 for each row", comp.tolist())
    o["row_cov"] = (np.any(o["beta_tr"] != 0.0, axis=(0, 2, 3)) | np.any(o["gamma_tr"] != 0.0, axis=(0, 2, 3))
                    | np.any(tis != 1.0, axis=(1, 2)))
    o["has_trcov"] = bool(o["row_cov"].any())
    o["tr_counter"] = _as("tr_counter", g("tr_counter"), np.float64, (S, S, K), default=np.zeros((S, S, K)))
    o["has_trcount"] = bool(np.any(o["tr_counter"] != 0.0))
    o["ev_rate"] = _as("ev_rate", g("ev_rate"), np.float64, (smp, None, S, E), n_samp, default=np.zeros((1, 1, S, 0)),
                       lo=0.0)
    o["ev_map"] = _as("ev_map", g("ev_map"), np.int64, (n_strat, T), default=zmap)
    _check_index("ev_map", o["ev_map"], o["ev_rate"].shape[1])
    o["ev_kind"] = _as("ev_kind", g("ev_kind"), np.int64, (E,), default=np.zeros(E, np.int64))
    if np.any((o["ev_kind"] != 0) & (o["ev_kind"] != 1)):
        _fail("ev_kind", "hold 0 (Poisson count) or 1 (Bernoulli) per event type", o["ev_kind"].tolist())
    o["ev_beta"] = _as("ev_beta", g("ev_beta"), np.float64, (smp, E, A), n_samp, default=np.zeros((1, E, A)))
    o["ev_gamma"] = _as("ev_gamma", g("ev_gamma"), np.float64, (smp, E, K), n_samp, default=np.zeros((1, E, K)))
    o["ev_rr"] = _as("ev_rr", g("ev_rr"), np.float64, (smp, n_strat, T, E), n_samp,
                     default=np.ones((1, n_strat, T, E)), lo=0.0)
    o["ev_reward"] = _as("ev_reward", g("ev_reward"), np.float64, (smp, E, R), n_samp, default=np.zeros((1, E, R)))
    o["ev_counter"] = _as("ev_counter", g("ev_counter"), np.float64, (E, K), default=np.zeros((E, K)))
    o["ev_move_state"] = ms = _as("ev_move_state", g("ev_move_state"), np.int64, (E,), default=np.full(E, -1))
    if np.any((ms < -1) | (ms >= S)):
        _fail("ev_move_state", f"hold a state in [0, {S}) or -1 per event type", ms.tolist())
    o["ev_move_prob"] = _as("ev_move_prob", g("ev_move_prob"), np.float64, (smp, E), n_samp, default=np.zeros((1, E)),
                            lo=0.0, hi=1.0)
    o["ev_move_keep"] = _as("ev_move_keep", g("ev_move_keep"), np.int64, (S,), default=np.zeros(S, np.int64))
    o["has_events"] = bool(E > 0 and np.any(o["ev_rate"] > 0.0))
    o["has_evcov"] = bool(np.any(o["ev_beta"] != 0.0) or np.any(o["ev_gamma"] != 0.0))
    o["eng_sessions"] = ses = _as("eng_sessions", g("eng_sessions"), np.float64, (n_strat, T),
                                  default=np.zeros((n_strat, T)), lo=0.0)
    o["eng_on"] = np.any(ses > 0, axis=1)
    o["has_eng"] = bool(o["eng_on"].any())
    o["eng_dropout"] = _as("eng_dropout", g("eng_dropout"), np.float64, (smp, n_strat), n_samp,
                           default=np.zeros((1, n_strat)), lo=0.0)
    o["eng_ab"] = _as("eng_ab", g("eng_ab"), np.float64, (smp, n_strat, 2), n_samp, default=np.ones((1, n_strat, 2)),
                      lo=1e-300)
    o["eng_propensity"] = pr = _as("eng_propensity", g("eng_propensity"), np.float64, (None,), default=np.zeros(0),
                                   lo=0.0, hi=1.0)
    if pr.shape[0] not in (0, n_ind):
        _fail("eng_propensity", f"hold one probability per individual ({n_ind})", f"shape {pr.shape}")
    o["eng_eligible"] = _as("eng_eligible", g("eng_eligible"), np.int64, (S,), default=np.ones(S, np.int64))
    o["eng_cps"] = _as("eng_cost_per_session", g("eng_cost_per_session"), np.float64, (smp, n_strat, R), n_samp,
                       default=np.zeros((1, n_strat, R)))
    o["eng_cpp"] = _as("eng_cost_per_place", g("eng_cost_per_place"), np.float64, (smp, n_strat, R), n_samp,
                       default=np.zeros((1, n_strat, R)))
    o["eng_mode"] = _as("eng_mode", g("eng_mode"), np.int64, (n_strat,), default=np.zeros(n_strat, np.int64))
    if np.any((o["eng_mode"] != 0) & (o["eng_mode"] != 1)):
        _fail("eng_mode", "hold 0 (intention to treat) or 1 (dose-scaled) per strategy", o["eng_mode"].tolist())
    seed = int(g("seed") or 0)
    if not 0 <= seed < 2**64:
        raise ValueError(f"The 'seed' setting must be an integer in [0, 2**64). Got {seed}.")
    o["seed"] = seed
    o["n_keep"] = int(min(max(int(g("n_keep") or 0), 0), n_samp))
    o["n_traj"] = int(min(max(int(g("n_traj") or 0), 0), n_ind))
    o["moments"] = bool(g("moments", True))
    return o


def simulate(
    P_mats,
    P_map,
    V_mats,
    V_map,
    W,
    *,
    n_ind: int | None = None,
    n_samples: int | None = None,
    seed: int = 0,
    sample_offset: int = 0,
    ind_offset: int = 0,
    start_probs=None,
    start_state=None,
    TR_mats=None,
    TR_map=None,
    X=None,
    beta_tr=None,
    gamma_tr=None,
    tis_tr=None,
    comp_col=None,
    tr_counter=None,
    ev_rate=None,
    ev_map=None,
    ev_kind=None,
    ev_beta=None,
    ev_gamma=None,
    ev_rr=None,
    ev_reward=None,
    ev_counter=None,
    ev_move_state=None,
    ev_move_prob=None,
    ev_move_keep=None,
    eng_sessions=None,
    eng_dropout=None,
    eng_ab=None,
    eng_propensity=None,
    eng_eligible=None,
    eng_cost_per_session=None,
    eng_cost_per_place=None,
    eng_mode=None,
    n_keep: int = 0,
    n_traj: int = 0,
    block_size: int | None = None,
    moments: bool = True,
) -> MicrosimResult:
    """Run the microsimulation for one chunk of samples and individuals.

    Parameters follow docs/microsim-kernel.md (shapes: S states, R rewards, T
    cycles, E event types, A attributes, K counters; a leading sample axis of
    length 1 is shared by all samples). Everything after ``W`` is optional:
    by default everyone starts in state 0, there are no transition rewards,
    attributes, counters, events or treatment engagement.

    Parameters
    ----------
    P_mats : float64[nPs, nP, S, S]
    P_map : int64[n_strat, T]
    V_mats : float64[nVs, nV, S, R]
    V_map : int64[n_strat, T]
    W : float64[2, 3, R, T]
    n_ind : number of individuals of this chunk (default: rows of X or start_state).
    n_samples : number of PSA samples of this chunk (default: the longest sample axis).
    seed, sample_offset, ind_offset : counter-RNG key; offsets are the global
        indices of the first sample and the first individual of this chunk.
    n_keep : per-cycle occupancy, rewards and event counts for the first n_keep samples.
    n_traj : states at every point of the first n_traj individuals of sample 0.
    block_size : individuals per parallel task (results do not depend on it).
    moments : also accumulate sums of squares and of squared increments (the Monte Carlo
        standard errors); without them ``se`` and ``incremental_se`` are NaN and the means are unchanged.

    Returns
    -------
    MicrosimResult
    """
    a = prepare_inputs(
        P_mats, P_map, V_mats, V_map, W, n_ind=n_ind, n_samples=n_samples, seed=seed, start_probs=start_probs,
        start_state=start_state, TR_mats=TR_mats, TR_map=TR_map, X=X, beta_tr=beta_tr, gamma_tr=gamma_tr,
        tis_tr=tis_tr, comp_col=comp_col, tr_counter=tr_counter, ev_rate=ev_rate, ev_map=ev_map, ev_kind=ev_kind,
        ev_beta=ev_beta, ev_gamma=ev_gamma, ev_rr=ev_rr, ev_reward=ev_reward, ev_counter=ev_counter,
        ev_move_state=ev_move_state, ev_move_prob=ev_move_prob, ev_move_keep=ev_move_keep,
        eng_sessions=eng_sessions, eng_dropout=eng_dropout, eng_ab=eng_ab, eng_propensity=eng_propensity,
        eng_eligible=eng_eligible, eng_cost_per_session=eng_cost_per_session,
        eng_cost_per_place=eng_cost_per_place, eng_mode=eng_mode, n_keep=n_keep, n_traj=n_traj, moments=moments)
    n_ind, n_samp, n_strat, T, S, R, E = (a[k] for k in ("n_ind", "n_samp", "n_strat", "T", "S", "R", "E"))
    n_keep, n_traj, seed = a["n_keep"], a["n_traj"], a["seed"]
    if block_size is None:
        nb = max(1, math.ceil(8 * numba.get_num_threads() / n_samp))
        block_size = max(64, math.ceil(n_ind / nb))
    block_size = int(min(max(block_size, 1), MAX_BLOCK))

    n_blocks = -(-n_ind // block_size)
    n_tasks = n_samp * n_blocks
    part_acc = np.zeros((n_tasks, n_strat * R * 2 * _N_ACC), np.int64)
    part_ev = np.zeros((n_tasks, n_strat, E), np.int64)
    p_occ = np.zeros((n_keep * n_blocks, n_strat, T + 1, S), np.int64)
    p_cr = np.zeros((n_keep * n_blocks, n_strat, T, R, 2), np.int64)
    p_ce = np.zeros((n_keep * n_blocks, n_strat, T, E), np.int64)
    out_traj = np.full((n_traj, n_strat, T + 1), -1, np.int64)
    tconst = _transition_constants(T)

    # dynamic scheduling, one task at a time: a core shared with other work takes fewer tasks
    # (the results do not depend on which thread runs which task)
    old_chunk = numba.get_parallel_chunksize()
    numba.set_parallel_chunksize(1)
    try:
        _kernel(
            *(a[k] for k in ("P_mats", "P_map", "V_mats", "V_map", "TR_mats", "TR_map", "W", "start_probs",
                             "start_state", "X", "beta_tr", "gamma_tr", "tis_tr", "comp_col", "row_cov",
                             "tr_counter", "ev_rate", "ev_map", "ev_kind", "ev_beta", "ev_gamma", "ev_rr",
                             "ev_reward", "ev_counter", "ev_move_state", "ev_move_prob", "ev_move_keep", "eng_on",
                             "eng_sessions", "eng_dropout", "eng_ab", "eng_propensity", "eng_eligible", "eng_cps",
                             "eng_cpp", "eng_mode")),
            np.uint64(seed), np.int64(sample_offset), np.int64(ind_offset), np.int64(block_size),
            *(a[k] for k in ("has_tr", "has_trcov", "has_trcount", "has_events", "has_evcov", "has_eng",
                             "moments")),
            tconst, part_acc, part_ev, p_occ, p_cr, p_ce, out_traj,
        )
    finally:
        numba.set_parallel_chunksize(old_chunk)
    # exact reduction over the blocks of each sample (int64 sums; every partial is normalised)
    out_acc = part_acc.reshape(n_samp, n_blocks, -1).sum(axis=1)
    normalise(out_acc.reshape(-1))
    out_ev = part_ev.reshape(n_samp, n_blocks, n_strat, E).sum(axis=1)
    out_occ = p_occ.reshape(n_keep, n_blocks, n_strat, T + 1, S).sum(axis=1)
    out_cr = p_cr.reshape(n_keep, n_blocks, n_strat, T, R, 2).sum(axis=1)
    normalise(out_cr.reshape(-1))
    out_ce = p_ce.reshape(n_keep, n_blocks, n_strat, T, E).sum(axis=1)
    return MicrosimResult(
        acc=out_acc.reshape(n_samp, n_strat, R, 2, 3, 2),
        ev_count=out_ev,
        occupancy=out_occ,
        cycle_rewards_fx=out_cr,
        cycle_events=out_ce,
        trajectories=out_traj,
        n_individuals=n_ind,
        seed=int(seed),
        sample_offset=int(sample_offset),
        ind_offset=int(ind_offset),
        moments=bool(moments),
    )


def combine(results, over: str = "individuals") -> MicrosimResult:
    """Merge chunk results exactly.

    ``over="individuals"``: chunks of different individuals of the same samples
    (accumulators, event counts and per-cycle output are added; trajectories are
    concatenated in order of ``ind_offset``). ``over="samples"``: chunks of
    different samples of the same individuals (arrays concatenated in order of
    ``sample_offset``).
    """
    results = list(results)
    if not results:
        raise ValueError("combine() needs at least one result.")
    seeds = {r.seed for r in results}
    if len(seeds) != 1:
        raise ValueError(f"Chunks to combine must share one seed. Got {sorted(seeds)}.")
    if over == "individuals":
        results.sort(key=lambda r: r.ind_offset)
        if len({r.sample_offset for r in results}) != 1 or len({r.acc.shape for r in results}) != 1:
            raise ValueError("Chunks of individuals must cover the same samples (same sample_offset and shapes).")
        trajs = [r.trajectories for r in results if r.trajectories.shape[0] > 0]
        return MicrosimResult(
            acc=fx_combine(*[r.acc for r in results]),
            ev_count=sum(r.ev_count for r in results),
            occupancy=sum(r.occupancy for r in results),
            cycle_rewards_fx=fx_combine(*[r.cycle_rewards_fx for r in results]),
            cycle_events=sum(r.cycle_events for r in results),
            trajectories=np.concatenate(trajs) if trajs else results[0].trajectories,
            n_individuals=sum(r.n_individuals for r in results),
            seed=results[0].seed,
            sample_offset=results[0].sample_offset,
            ind_offset=results[0].ind_offset,
            moments=all(r.moments for r in results),
        )
    if over == "samples":
        results.sort(key=lambda r: r.sample_offset)
        if len({(r.n_individuals, r.ind_offset) for r in results}) != 1:
            raise ValueError("Chunks of samples must cover the same individuals (same n_individuals and ind_offset).")
        return MicrosimResult(
            acc=np.concatenate([r.acc for r in results]),
            ev_count=np.concatenate([r.ev_count for r in results]),
            occupancy=np.concatenate([r.occupancy for r in results]),
            cycle_rewards_fx=np.concatenate([r.cycle_rewards_fx for r in results]),
            cycle_events=np.concatenate([r.cycle_events for r in results]),
            trajectories=results[0].trajectories,
            n_individuals=results[0].n_individuals,
            seed=results[0].seed,
            sample_offset=results[0].sample_offset,
            ind_offset=results[0].ind_offset,
            moments=all(r.moments for r in results),
        )
    raise ValueError(f"The 'over' setting must be 'individuals' or 'samples'. Got {over!r}.")
