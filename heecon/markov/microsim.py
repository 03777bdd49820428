"""Individual-level Markov microsimulation kernel (numba, parallel, deterministic).

The private kernel :func:`_kernel` takes dense arrays (built by the scenario
compiler in :mod:`heecon.model`) and writes into ``out`` arrays; it validates
nothing. :func:`simulate` is the public wrapper: it validates shapes, dtypes and
ranges, fills in the optional pieces, allocates the outputs, calls the kernel
and returns a :class:`MicrosimResult`. :func:`combine` merges results of chunks
(of individuals or of PSA samples) exactly.

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
from dataclasses import dataclass, field

import numba
import numpy as np
from numba import prange

from heecon.markov import rng as _rng
from heecon.markov._accumulate import SHIFT_SQ, SHIFT_SUM, fx_add, fx_combine, fx_to_float, normalise
from heecon.markov.rng import (
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

__all__ = ["simulate", "combine", "MicrosimResult", "POISSON_PIECE"]

#: Poisson counts with a mean above this are drawn as a sum of independent
#: pieces of mean <= POISSON_PIECE (exact in distribution; one uniform each).
POISSON_PIECE = 30.0
#: Largest block of individuals accumulated before a carry (see _accumulate.py).
MAX_BLOCK = 1 << 22
_SQ_SCALE = 2.0**-SHIFT_SQ
_N_ACC = 6  # per (strategy, reward, discounting): (sum, sq, dsq) x (hi, lo)


# ---------------------------------------------------------------------------
# Small samplers (each a pure function of its uniforms)
# ---------------------------------------------------------------------------


@numba.njit(inline="always", cache=True)
def _walk(cum, m, row, u):
    """First j with u < cum[m, row, j]; cum holds 2.0 from the last positive entry on."""
    j = 0
    while u >= cum[m, row, j]:
        j += 1
    return j


@numba.njit(cache=True)
def _poisson_inv(lam, u):
    """Poisson(lam) by inversion with one uniform (lam <= POISSON_PIECE)."""
    p = math.exp(-lam)
    f = p
    n = 0
    while u >= f and n < 1000:
        n += 1
        p *= lam / n
        f += p
    return n


@numba.njit(cache=True)
def _poisson(lam, k_ind, cycle, e, n_ev):
    if lam <= POISSON_PIECE:
        return _poisson_inv(lam, uniform(k_ind, cycle, KIND_EVENT_COUNT, e))
    pieces = int(math.ceil(lam / POISSON_PIECE))
    part = lam / pieces
    n = 0
    for q in range(pieces):
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
    x = _gamma_draw(k_ind, a, 0)
    y = _gamma_draw(k_ind, b, 1 << 21)
    if x + y <= 0.0:
        return a / (a + b)
    return x / (x + y)


# ---------------------------------------------------------------------------
# Per-sample tables
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _cum_rows(P, out):
    """Cumulative rows of P[m, i, :]; entries from the last positive one on are 2.0."""
    nP, S = P.shape[0], P.shape[1]
    for m in range(nP):
        for i in range(S):
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
    """out[s, p, x, 2r + d]: weight of being in x at point p (a_{p+1} V_{p+1} + b_p V_p)."""
    n_strat, T = V_map.shape[0], V_map.shape[1]
    S, R = V.shape[1], V.shape[2]
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


@numba.njit(inline="always", cache=True)
def _book_individual(tot, acc, R):
    """Add one individual's totals (and squares, squared increments) to a block accumulator."""
    n_strat = tot.shape[0]
    for s in range(n_strat):
        for q in range(2 * R):
            v = tot[s, q]
            pos = (s * 2 * R + q) * _N_ACC
            fx_add(acc, pos, v)
            fx_add(acc, pos + 2, v * v * _SQ_SCALE)
            if s > 0:
                dv = v - tot[0, q]
                fx_add(acc, pos + 4, dv * dv * _SQ_SCALE)


@numba.njit(cache=True)
def _start_states(st, k_ind, i, start_state, scum):
    if start_state.shape[0] > 0:
        x0 = start_state[i]
        for s in range(st.shape[0]):
            st[s] = x0
    else:
        u0 = uniform(k_ind, 0, KIND_START, 0)
        for s in range(st.shape[0]):
            st[s] = _walk(scum, 0, s, u0)


# ---------------------------------------------------------------------------
# Blocks of individuals
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def _block_plain(i0, i1, k_samp, ind_offset, Pc, P_map, G, scum, start_state, tconst,
                 has_tr, TRs, TR_map, W, acc):
    """Fast path: no covariates, events, engagement or per-cycle output."""
    n_strat, T = P_map.shape[0], P_map.shape[1]
    R2 = G.shape[3]
    R = R2 // 2
    st = np.empty(n_strat, np.int64)
    tot = np.empty((n_strat, R2))
    for i in range(i0, i1):
        k_ind = individual_key(k_samp, ind_offset + i)
        _start_states(st, k_ind, i, start_state, scum)
        for s in range(n_strat):
            for q in range(R2):
                tot[s, q] = G[s, 0, st[s], q]
        for k in range(1, T + 1):
            u = bits_to_uniform(draw_bits(k_ind, tconst[k]))
            for s in range(n_strat):
                cur = st[s]
                j = _walk(Pc, P_map[s, k - 1], cur, u)
                st[s] = j
                for q in range(R2):
                    tot[s, q] += G[s, k, j, q]
                if has_tr:
                    mt = TR_map[s, k - 1]
                    for r in range(R):
                        tr = TRs[mt, cur, j, r]
                        tot[s, 2 * r] += W[0, 2, r, k - 1] * tr
                        tot[s, 2 * r + 1] += W[1, 2, r, k - 1] * tr
        _book_individual(tot, acc, R)


@numba.njit(cache=True)
def _cov_row_draw(P, m, cur, x_i, cnt_s, tis_s, betas, gammas, tis_tr, comp, u, prow, Pc):
    """Draw the move from `cur` with the individual's hazard ratios; see docs/microsim-kernel.md."""
    S = P.shape[1]
    A = x_i.shape[0]
    K = cnt_s.shape[0]
    L = tis_tr.shape[2]
    ti = tis_s if tis_s < L - 1 else L - 1
    modified = False
    for j in range(S):
        lin = 0.0
        for a in range(A):
            lin += betas[cur, j, a] * x_i[a]
        for c in range(K):
            lin += gammas[cur, j, c] * cnt_s[c]
        mult = tis_tr[cur, j, ti]
        p = P[m, cur, j]
        if mult != 1.0:
            lin += math.log(mult) if mult > 0.0 else -math.inf
        if lin != 0.0 and j != comp:
            modified = True
            hr = math.exp(lin)
            if hr == 0.0 or p <= 0.0:
                p = 0.0
            elif p >= 1.0:
                p = 1.0
            else:
                p = -math.expm1(hr * math.log1p(-p))
        prow[j] = p
    if not modified:
        return _walk(Pc, m, cur, u)
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
    acc = 0.0
    last = -1
    for j in range(S):
        acc += prow[j]
        if prow[j] > 0.0:
            last = j
            if u < acc:
                return j
    return last if last >= 0 else cur


@numba.njit(cache=True)
def _block_general(
    i0, i1, k_samp, ind_offset, sm, t_keep, Pc, P, P_map, G, scum, start_state, tconst,
    has_tr, TRs, TR_map, W, Vs, V_map,
    X, has_trcov, row_cov, betas, gammas, tis_tr, comp_col, has_trcount, tr_counter,
    has_events, has_evcov, evr, ev_map, ev_kind, evb, evg, evrr, evw, ev_counter, ev_move_state, evmp, ev_move_keep,
    has_eng, eng_on, eng_sessions, eng_drop, eng_ab, eng_propensity, eng_eligible, eng_cps, eng_cpp, eng_mode,
    acc, evc, p_occ, p_cr, p_ce, traj,
):
    """General path: covariates, counters, events, engagement, per-cycle output, trajectories."""
    n_strat, T = P_map.shape[0], P_map.shape[1]
    S = P.shape[1]
    R2 = G.shape[3]
    R = R2 // 2
    E = ev_kind.shape[0]
    K = ev_counter.shape[1]
    keep = t_keep >= 0
    n_traj = traj.shape[0] if sm == 0 else 0
    st = np.empty(n_strat, np.int64)
    tis = np.zeros(n_strat, np.int64)
    cnt = np.zeros((n_strat, K))
    tot = np.empty((n_strat, R2))
    nev = np.zeros(E, np.int64)
    prow = np.empty(S)
    prop = np.zeros(n_strat)
    enrolled = np.zeros(n_strat, np.bool_)
    cum_att = np.zeros(n_strat)
    cum_off = np.zeros(n_strat)
    for i in range(i0, i1):
        k_ind = individual_key(k_samp, ind_offset + i)
        _start_states(st, k_ind, i, start_state, scum)
        for s in range(n_strat):
            tis[s] = 0
            for c in range(K):
                cnt[s, c] = 0.0
            for q in range(R2):
                tot[s, q] = G[s, 0, st[s], q]
            if keep:
                p_occ[t_keep, s, 0, st[s]] += 1
            if i < n_traj:
                traj[i, s, 0] = st[s]
        if has_eng:
            for s in range(n_strat):
                enrolled[s] = eng_on[s]
                cum_att[s] = 0.0
                cum_off[s] = 0.0
                if not eng_on[s]:
                    prop[s] = 0.0
                elif eng_propensity.shape[0] > 0:
                    prop[s] = eng_propensity[i]
                else:
                    prop[s] = _beta_draw(k_ind, eng_ab[s, 0], eng_ab[s, 1])
        x_i = X[i]
        for k in range(1, T + 1):
            u = bits_to_uniform(draw_bits(k_ind, tconst[k]))
            for s in range(n_strat):
                cur = st[s]
                m = P_map[s, k - 1]
                # 1. the drawn transition
                if has_trcov and row_cov[cur]:
                    j = _cov_row_draw(P, m, cur, x_i, cnt[s], tis[s], betas, gammas, tis_tr,
                                      comp_col[cur], u, prow, Pc)
                else:
                    j = _walk(Pc, m, cur, u)
                # 2. treatment engagement (dropout, then sessions attended)
                attended = 0.0
                place = False
                dose = 0.0
                if has_eng and eng_on[s]:
                    off = eng_sessions[s, k - 1]
                    if off > 0.0 and eng_eligible[cur] != 0:
                        cum_off[s] += off
                        if enrolled[s]:
                            h = eng_drop[s]
                            if h > 0.0 and uniform(k_ind, k, KIND_ENG_DROPOUT, 0) < -math.expm1(-h):
                                enrolled[s] = False
                        if enrolled[s]:
                            place = True
                            whole = math.floor(off)
                            attended = float(_binomial_inv(int(whole), prop[s], uniform(k_ind, k, KIND_ENG_ATTEND, 0)))
                            frac = off - whole
                            if frac > 0.0 and uniform(k_ind, k, KIND_ENG_ATTEND, 1) < prop[s] * frac:
                                attended += 1.0
                            cum_att[s] += attended
                    if cum_off[s] > 0.0:
                        dose = cum_att[s] / cum_off[s]
                # 3. events (rates by the state at the start of the cycle)
                if has_events:
                    me = ev_map[s, k - 1]
                    for e in range(E):
                        n = 0
                        rate = evr[me, cur, e]
                        if rate > 0.0:
                            rr = evrr[s, k - 1, e]
                            if eng_mode[s] == 1:
                                rr = 1.0 - (1.0 - rr) * dose
                            lam = rate * rr
                            if has_evcov:
                                lin = 0.0
                                for a in range(x_i.shape[0]):
                                    lin += evb[e, a] * x_i[a]
                                for c in range(K):
                                    lin += evg[e, c] * cnt[s, c]
                                if lin != 0.0:
                                    lam *= math.exp(lin)
                            if lam > 0.0:
                                if ev_kind[e] == 0:
                                    n = _poisson(lam, k_ind, k, e, E)
                                elif uniform(k_ind, k, KIND_EVENT_COUNT, e) < -math.expm1(-lam):
                                    n = 1
                        nev[e] = n
                    # event-driven moves: lowest event index wins; kept destinations (death) win over all
                    if ev_move_keep[j] == 0:
                        for e in range(E):
                            dest = ev_move_state[e]
                            if dest >= 0 and nev[e] > 0:
                                pm = evmp[e]
                                if pm >= 1.0:
                                    hit = True
                                elif pm <= 0.0:
                                    hit = False
                                else:
                                    hit = uniform(k_ind, k, KIND_EVENT_MOVE, e) < -math.expm1(nev[e] * math.log1p(-pm))
                                if hit:
                                    j = dest
                                    break
                # 4. the new state, time in state, counters
                st[s] = j
                if j == cur:
                    tis[s] += 1
                else:
                    tis[s] = 0
                if has_events:
                    for e in range(E):
                        if nev[e] > 0:
                            for c in range(K):
                                cnt[s, c] += nev[e] * ev_counter[e, c]
                if has_trcount:
                    for c in range(K):
                        cnt[s, c] += tr_counter[cur, j, c]
                # 5. rewards: state points, transition, events, engagement (this order)
                for q in range(R2):
                    tot[s, q] += G[s, k, j, q]
                if has_tr:
                    mt = TR_map[s, k - 1]
                    for r in range(R):
                        tr = TRs[mt, cur, j, r]
                        tot[s, 2 * r] += W[0, 2, r, k - 1] * tr
                        tot[s, 2 * r + 1] += W[1, 2, r, k - 1] * tr
                if has_events:
                    for e in range(E):
                        if nev[e] > 0:
                            evc[s, e] += nev[e]
                            for r in range(R):
                                amt = nev[e] * evw[e, r]
                                tot[s, 2 * r] += W[0, 2, r, k - 1] * amt
                                tot[s, 2 * r + 1] += W[1, 2, r, k - 1] * amt
                if place:
                    for r in range(R):
                        amt = attended * eng_cps[s, r] + eng_cpp[s, r]
                        tot[s, 2 * r] += W[0, 2, r, k - 1] * amt
                        tot[s, 2 * r + 1] += W[1, 2, r, k - 1] * amt
                # 6. per-cycle output
                if keep:
                    p_occ[t_keep, s, k, j] += 1
                    mv = V_map[s, k - 1]
                    mt = TR_map[s, k - 1]
                    for r in range(R):
                        extra = 0.0
                        if has_tr:
                            extra += TRs[mt, cur, j, r]
                        if has_events:
                            for e in range(E):
                                extra += nev[e] * evw[e, r]
                        if place:
                            extra += attended * eng_cps[s, r] + eng_cpp[s, r]
                        cyc = (W[0, 0, r, k - 1] * Vs[mv, cur, r] + W[0, 1, r, k - 1] * Vs[mv, j, r]
                               + W[0, 2, r, k - 1] * extra)
                        fx_add(p_cr[t_keep, s, k - 1, r], 0, cyc)
                    if has_events:
                        for e in range(E):
                            p_ce[t_keep, s, k - 1, e] += nev[e]
                if i < n_traj:
                    traj[i, s, k] = j
        _book_individual(tot, acc, R)


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
    has_tr, has_trcov, has_trcount, has_events, has_evcov, has_eng,
    out_acc, out_ev, out_occ, out_cr, out_ce, out_traj,
):
    n_samp = out_acc.shape[0]
    n_ind = X.shape[0]
    n_strat, T = P_map.shape[0], P_map.shape[1]
    nP, S = P_mats.shape[1], P_mats.shape[2]
    R = V_mats.shape[3]
    E = ev_kind.shape[0]
    n_keep = out_occ.shape[0]
    n_blocks = (n_ind + block_size - 1) // block_size
    n_tasks = n_samp * n_blocks
    n_acc = out_acc.shape[1]
    general = has_trcov or has_events or has_eng

    part_acc = np.zeros((n_tasks, n_acc), np.int64)
    part_ev = np.zeros((n_tasks, n_strat, E), np.int64)
    n_kt = n_keep * n_blocks
    p_occ = np.zeros((n_kt, n_strat, T + 1, S), np.int64)
    p_cr = np.zeros((n_kt, n_strat, T, R, 2), np.int64)
    p_ce = np.zeros((n_kt, n_strat, T, E), np.int64)

    k_seed = seed_key(seed)
    tconst = np.empty(T + 1, np.uint64)
    for k in range(T + 1):
        tconst[k] = counter_constant(k, KIND_TRANSITION, 0)

    for t in prange(n_tasks):
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
        sp = start_probs[isp]
        scum = np.empty((1, n_strat, S))
        _cum_rows(sp.reshape((1, n_strat, S)), scum)
        iv = sm if V_mats.shape[0] > 1 else 0
        Vs = V_mats[iv]
        G = np.empty((n_strat, T + 1, S, 2 * R))
        _point_table(Vs, V_map, W, G)
        itr = sm if TR_mats.shape[0] > 1 else 0
        TRs = TR_mats[itr]
        t_keep = t if sm < n_keep else -1
        if general or t_keep >= 0 or (sm == 0 and out_traj.shape[0] > 0 and i0 < out_traj.shape[0]):
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
                i0, i1, k_samp, ind_offset, sm, t_keep, Pc, P, P_map, G, scum, start_state, tconst,
                has_tr, TRs, TR_map, W, Vs, V_map,
                X, has_trcov, row_cov, beta_tr[bt], gamma_tr[gt], tis_tr, comp_col, has_trcount, tr_counter,
                has_events, has_evcov, ev_rate[er], ev_map, ev_kind, ev_beta[eb], ev_gamma[eg],
                ev_rr[errs], ev_reward[ew], ev_counter, ev_move_state, ev_move_prob[emp], ev_move_keep,
                has_eng, eng_on, eng_sessions, eng_dropout[xd], eng_ab[xab], eng_propensity, eng_eligible,
                eng_cost_per_session[xcs], eng_cost_per_place[xcp], eng_mode,
                part_acc[t], part_ev[t], p_occ, p_cr, p_ce, out_traj,
            )
        else:
            _block_plain(i0, i1, k_samp, ind_offset, Pc, P_map, G, scum, start_state, tconst,
                         has_tr, TRs, TR_map, W, part_acc[t])
        normalise(part_acc[t])
        if t_keep >= 0:
            normalise(p_cr[t_keep].reshape(-1))

    # exact (integer) reduction of the blocks
    for t in range(n_tasks):
        sm = t // n_blocks
        for q in range(n_acc):
            out_acc[sm, q] += part_acc[t, q]
        for s in range(n_strat):
            for e in range(E):
                out_ev[sm, s, e] += part_ev[t, s, e]
    normalise(out_acc.reshape(-1))
    for t in range(n_kt):
        sm = t // n_blocks
        for s in range(n_strat):
            for k in range(T + 1):
                for x in range(S):
                    out_occ[sm, s, k, x] += p_occ[t, s, k, x]
            for k in range(T):
                for r in range(R):
                    out_cr[sm, s, k, r, 0] += p_cr[t, s, k, r, 0]
                    out_cr[sm, s, k, r, 1] += p_cr[t, s, k, r, 1]
                for e in range(E):
                    out_ce[sm, s, k, e] += p_ce[t, s, k, e]
    normalise(out_cr.reshape(-1))


# ---------------------------------------------------------------------------
# Public wrapper
# ---------------------------------------------------------------------------


def _fail(name: str, what: str, got: object) -> None:
    raise ValueError(f"The '{name}' array must {what}. Got {got}.")


def _as(name: str, a: object, dtype: type, shape: tuple, n_samp: int | None = None) -> np.ndarray:
    """C-contiguous copy-free view of `a` with the given dtype and shape.

    `shape` entries: an int (exact), None (anything); a leading "samples" entry
    accepts 1 or n_samp.
    """
    arr = np.asarray(a)
    if dtype is np.float64 and not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        _fail(name, "hold numbers", f"dtype {arr.dtype}")
    if dtype is np.int64 and not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        _fail(name, "hold integers", f"dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    want = []
    for q, n in enumerate(shape):
        want.append("1 or n_samples" if n == "samples" else ("any" if n is None else str(n)))
    if arr.ndim != len(shape):
        _fail(name, f"have {len(shape)} dimensions ({', '.join(want)})", f"shape {arr.shape}")
    for q, n in enumerate(shape):
        if n == "samples":
            if n_samp is not None and arr.shape[q] not in (1, n_samp):
                _fail(name, f"have 1 or n_samples = {n_samp} entries on axis {q}", f"shape {arr.shape}")
        elif n is not None and arr.shape[q] != n:
            _fail(name, f"have shape ({', '.join(want)})", f"shape {arr.shape}")
    return arr


def _check_index(name: str, a: np.ndarray, n: int) -> None:
    if a.size and (a.min() < 0 or a.max() >= n):
        bad = np.argwhere((a < 0) | (a >= n))[0]
        _fail(name, f"hold indices in [0, {n})", f"{a[tuple(bad)]} at {tuple(int(b) for b in bad)}")


def _check_finite(name: str, a: np.ndarray) -> None:
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        _fail(name, "hold finite numbers", f"{a[tuple(bad)]} at {tuple(int(b) for b in bad)}")


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
    (see heecon/markov/_accumulate.py); disc 0 discounted (W[0]), 1 undiscounted.
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
    extra: dict = field(default_factory=dict)

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
        var = (self.out_dsq - n * d**2) / max(n - 1, 1)
        return np.sqrt(np.maximum(var, 0.0) / n)


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

    Returns
    -------
    MicrosimResult
    """
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

    # sizes
    if n_ind is None:
        if X is not None:
            n_ind = np.shape(X)[0]
        elif start_state is not None:
            n_ind = np.shape(start_state)[0]
        else:
            raise ValueError("Give n_ind (the number of individuals), or X / start_state with one row each.")
    n_ind = int(n_ind)
    if n_ind < 1:
        raise ValueError(f"The 'n_ind' setting must be a positive integer. Got {n_ind}.")
    if n_samples is None:
        n_samples = _sample_axis_len(P_mats, V_mats, TR_mats, start_probs, beta_tr, gamma_tr, ev_rate, ev_beta,
                                     ev_gamma, ev_rr, ev_reward, ev_move_prob, eng_dropout, eng_ab,
                                     eng_cost_per_session, eng_cost_per_place)
    n_samp = int(n_samples)
    A = 0 if X is None else np.shape(X)[1]
    K = 0
    for a, ax in ((gamma_tr, 3), (ev_gamma, 2), (ev_counter, 1), (tr_counter, 2)):
        if a is not None:
            K = np.shape(a)[ax]
            break
    E = 0 if ev_rate is None else np.shape(ev_rate)[3]
    smp = "samples"

    P_mats = _as("P_mats", P_mats, np.float64, (smp, None, S, S), n_samp)
    _check_probs("P_mats", P_mats)
    _check_index("P_map", P_map, P_mats.shape[1])
    V_mats = _as("V_mats", V_mats, np.float64, (smp, None, S, R), n_samp)
    _check_finite("V_mats", V_mats)
    V_map = _as("V_map", V_map, np.int64, (n_strat, T))
    _check_index("V_map", V_map, V_mats.shape[1])
    W = _as("W", W, np.float64, (2, 3, R, T))
    _check_finite("W", W)

    if start_state is not None:
        start_state = _as("start_state", start_state, np.int64, (n_ind,))
        _check_index("start_state", start_state, S)
        start_probs = np.zeros((1, n_strat, S))
        start_probs[..., 0] = 1.0
    else:
        start_state = np.zeros(0, np.int64)
        if start_probs is None:
            start_probs = np.zeros((1, n_strat, S))
            start_probs[..., 0] = 1.0
        start_probs = _as("start_probs", start_probs, np.float64, (smp, n_strat, S), n_samp)
        _check_probs("start_probs", start_probs)

    if TR_mats is None:
        TR_mats = np.zeros((1, 1, S, S, R))
        TR_map = np.zeros((n_strat, T), np.int64)
    TR_mats = _as("TR_mats", TR_mats, np.float64, (smp, None, S, S, R), n_samp)
    _check_finite("TR_mats", TR_mats)
    TR_map = _as("TR_map", np.zeros((n_strat, T), np.int64) if TR_map is None else TR_map, np.int64, (n_strat, T))
    _check_index("TR_map", TR_map, TR_mats.shape[1])
    has_tr = bool(np.any(TR_mats != 0.0) and np.any(W[:, 2] != 0.0))

    # covariates on transitions
    X = _as("X", np.zeros((n_ind, 0)) if X is None else X, np.float64, (n_ind, A))
    _check_finite("X", X)
    beta_tr = _as("beta_tr", np.zeros((1, S, S, A)) if beta_tr is None else beta_tr, np.float64, (smp, S, S, A), n_samp)
    gamma_tr = _as("gamma_tr", np.zeros((1, S, S, K)) if gamma_tr is None else gamma_tr, np.float64,
                   (smp, S, S, K), n_samp)
    tis_tr = _as("tis_tr", np.ones((S, S, 1)) if tis_tr is None else tis_tr, np.float64, (S, S, None))
    if tis_tr.shape[2] < 1 or np.any(tis_tr < 0) or not np.all(np.isfinite(tis_tr)):
        _fail("tis_tr", "hold finite multipliers >= 0 with at least one time-in-state column", f"shape {tis_tr.shape}")
    _check_finite("beta_tr", beta_tr)
    _check_finite("gamma_tr", gamma_tr)
    comp_col = _as("comp_col", np.arange(S) if comp_col is None else comp_col, np.int64, (S,))
    if np.any((comp_col < -1) | (comp_col >= S)):
        _fail("comp_col", f"hold a column in [0, {S}) or -1 for each row", comp_col.tolist())
    row_cov = (np.any(beta_tr != 0.0, axis=(0, 2, 3)) | np.any(gamma_tr != 0.0, axis=(0, 2, 3))
               | np.any(tis_tr != 1.0, axis=(1, 2)))
    row_cov = np.ascontiguousarray(row_cov, dtype=np.bool_)
    has_trcov = bool(row_cov.any())
    tr_counter = _as("tr_counter", np.zeros((S, S, K)) if tr_counter is None else tr_counter, np.float64, (S, S, K))
    has_trcount = bool(np.any(tr_counter != 0.0))

    # events
    ev_rate = _as("ev_rate", np.zeros((1, 1, S, 0)) if ev_rate is None else ev_rate, np.float64, (smp, None, S, E), n_samp)
    if np.any(ev_rate < 0) or not np.all(np.isfinite(ev_rate)):
        _fail("ev_rate", "hold finite rates >= 0", "a negative or non-finite rate")
    ev_map = _as("ev_map", np.zeros((n_strat, T), np.int64) if ev_map is None else ev_map, np.int64, (n_strat, T))
    _check_index("ev_map", ev_map, ev_rate.shape[1])
    ev_kind = _as("ev_kind", np.zeros(E, np.int64) if ev_kind is None else ev_kind, np.int64, (E,))
    if np.any((ev_kind != 0) & (ev_kind != 1)):
        _fail("ev_kind", "hold 0 (Poisson count) or 1 (Bernoulli) per event type", ev_kind.tolist())
    ev_beta = _as("ev_beta", np.zeros((1, E, A)) if ev_beta is None else ev_beta, np.float64, (smp, E, A), n_samp)
    ev_gamma = _as("ev_gamma", np.zeros((1, E, K)) if ev_gamma is None else ev_gamma, np.float64, (smp, E, K), n_samp)
    _check_finite("ev_beta", ev_beta)
    _check_finite("ev_gamma", ev_gamma)
    ev_rr = _as("ev_rr", np.ones((1, n_strat, T, E)) if ev_rr is None else ev_rr, np.float64, (smp, n_strat, T, E), n_samp)
    if np.any(ev_rr < 0) or not np.all(np.isfinite(ev_rr)):
        _fail("ev_rr", "hold finite rate ratios >= 0", "a negative or non-finite ratio")
    ev_reward = _as("ev_reward", np.zeros((1, E, R)) if ev_reward is None else ev_reward, np.float64, (smp, E, R), n_samp)
    _check_finite("ev_reward", ev_reward)
    ev_counter = _as("ev_counter", np.zeros((E, K)) if ev_counter is None else ev_counter, np.float64, (E, K))
    ev_move_state = _as("ev_move_state", np.full(E, -1) if ev_move_state is None else ev_move_state, np.int64, (E,))
    if np.any((ev_move_state < -1) | (ev_move_state >= S)):
        _fail("ev_move_state", f"hold a state in [0, {S}) or -1 per event type", ev_move_state.tolist())
    ev_move_prob = _as("ev_move_prob", np.zeros((1, E)) if ev_move_prob is None else ev_move_prob, np.float64,
                       (smp, E), n_samp)
    if np.any((ev_move_prob < 0) | (ev_move_prob > 1)):
        _fail("ev_move_prob", "hold probabilities in [0, 1]", "a value outside")
    ev_move_keep = _as("ev_move_keep", np.zeros(S, np.int64) if ev_move_keep is None else ev_move_keep, np.int64, (S,))
    has_events = bool(E > 0 and np.any(ev_rate > 0.0))
    has_evcov = bool(np.any(ev_beta != 0.0) or np.any(ev_gamma != 0.0))

    # treatment engagement
    eng_sessions = _as("eng_sessions", np.zeros((n_strat, T)) if eng_sessions is None else eng_sessions, np.float64,
                       (n_strat, T))
    if np.any(eng_sessions < 0) or not np.all(np.isfinite(eng_sessions)):
        _fail("eng_sessions", "hold finite session counts >= 0", "a negative or non-finite value")
    eng_on = np.ascontiguousarray(np.any(eng_sessions > 0, axis=1), dtype=np.bool_)
    has_eng = bool(eng_on.any())
    eng_dropout = _as("eng_dropout", np.zeros((1, n_strat)) if eng_dropout is None else eng_dropout, np.float64,
                      (smp, n_strat), n_samp)
    eng_ab = _as("eng_ab", np.ones((1, n_strat, 2)) if eng_ab is None else eng_ab, np.float64, (smp, n_strat, 2), n_samp)
    if np.any(eng_ab <= 0) or np.any(eng_dropout < 0):
        _fail("eng_ab", "hold Beta shapes > 0 (and eng_dropout hazards >= 0)", "a value out of range")
    eng_propensity = _as("eng_propensity", np.zeros(0) if eng_propensity is None else eng_propensity, np.float64,
                         (None,))
    if eng_propensity.shape[0] not in (0, n_ind) or np.any((eng_propensity < 0) | (eng_propensity > 1)):
        _fail("eng_propensity", f"hold one probability per individual ({n_ind})", f"shape {eng_propensity.shape}")
    eng_eligible = _as("eng_eligible", np.ones(S, np.int64) if eng_eligible is None else eng_eligible, np.int64, (S,))
    eng_cost_per_session = _as("eng_cost_per_session", np.zeros((1, n_strat, R)) if eng_cost_per_session is None
                               else eng_cost_per_session, np.float64, (smp, n_strat, R), n_samp)
    eng_cost_per_place = _as("eng_cost_per_place", np.zeros((1, n_strat, R)) if eng_cost_per_place is None
                             else eng_cost_per_place, np.float64, (smp, n_strat, R), n_samp)
    eng_mode = _as("eng_mode", np.zeros(n_strat, np.int64) if eng_mode is None else eng_mode, np.int64, (n_strat,))
    if np.any((eng_mode != 0) & (eng_mode != 1)):
        _fail("eng_mode", "hold 0 (intention to treat) or 1 (dose-scaled) per strategy", eng_mode.tolist())

    n_keep = int(min(max(n_keep, 0), n_samp))
    n_traj = int(min(max(n_traj, 0), n_ind))
    if block_size is None:
        nb = max(1, math.ceil(8 * numba.get_num_threads() / n_samp))
        block_size = max(64, math.ceil(n_ind / nb))
    block_size = int(min(max(block_size, 1), MAX_BLOCK))

    out_acc = np.zeros((n_samp, n_strat * R * 2 * _N_ACC), np.int64)
    out_ev = np.zeros((n_samp, n_strat, E), np.int64)
    out_occ = np.zeros((n_keep, n_strat, T + 1, S), np.int64)
    out_cr = np.zeros((n_keep, n_strat, T, R, 2), np.int64)
    out_ce = np.zeros((n_keep, n_strat, T, E), np.int64)
    out_traj = np.full((n_traj, n_strat, T + 1), -1, np.int64)

    _kernel(
        P_mats, P_map, V_mats, V_map, TR_mats, TR_map, W, start_probs, start_state,
        X, beta_tr, gamma_tr, tis_tr, comp_col, row_cov, tr_counter,
        ev_rate, ev_map, ev_kind, ev_beta, ev_gamma, ev_rr, ev_reward, ev_counter,
        ev_move_state, ev_move_prob, ev_move_keep,
        eng_on, eng_sessions, eng_dropout, eng_ab, eng_propensity, eng_eligible,
        eng_cost_per_session, eng_cost_per_place, eng_mode,
        np.uint64(seed), np.int64(sample_offset), np.int64(ind_offset), np.int64(block_size),
        has_tr, has_trcov, has_trcount, has_events, has_evcov, has_eng,
        out_acc, out_ev, out_occ, out_cr, out_ce, out_traj,
    )
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
        )
    raise ValueError(f"The 'over' setting must be 'individuals' or 'samples'. Got {over!r}.")
