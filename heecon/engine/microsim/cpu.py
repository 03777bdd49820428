"""Individual-level Markov microsimulation on the CPU (numba, parallel, deterministic): the drivers.

The private kernel :func:`_kernel` (``parallel=True`` over samples x blocks of
individuals) takes dense arrays (built by the scenario compiler in
:mod:`heecon.model`) and writes exact integer partial sums into ``out`` arrays;
it validates nothing. Each task (one sample, one block of individuals) runs the
fast block :func:`_block_plain` (:func:`_block_plain2` for two strategies with one group of reward columns) or
the general block :func:`_block_general`.
:func:`simulate` is the public wrapper: it validates the arguments
(:func:`heecon.engine.microsim.inputs.prepare_inputs`), allocates the outputs,
calls the kernel, adds up the partial sums and returns a
:class:`~heecon.engine.microsim.result.MicrosimResult`;
:func:`~heecon.engine.microsim.result.combine` merges results of chunks exactly.

Where the rest lives: the per-person step (samplers, moves, engagement, events,
counters, cycle rewards) in :mod:`heecon.engine.microsim.step`, one source with
the GPU kernels; per-sample tables in :mod:`heecon.engine.microsim.tables`; the
counter-based generator in :mod:`heecon.engine.microsim.rng`; the exact sums in
:mod:`heecon.engine.microsim.fixedpoint`; an individual's start states, rewards
along the stored path and booking in :mod:`heecon.engine.microsim.person`. The
drivers here keep what is the CPU's own: cycle-outer, strategy-inner order,
strategy coupling, the covariate-row and attendance caches, per-block scratch.

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

import numba
import numpy as np
from numba import prange

from heecon.engine.microsim.fixedpoint import MAX_BLOCK, N_ACC, fx_limbs, normalise
from heecon.engine.microsim.inputs import prepare_inputs
from heecon.engine.microsim.person import book_individual, path_rewards, start_states
from heecon.engine.microsim.result import MicrosimResult, combine
from heecon.engine.microsim.rng import (
    bits_to_uniform,
    draw_bits,
    individual_key,
    sample_key,
    seed_key,
)
from heecon.engine.microsim.step import (
    C_ATTEND,
    C_DROPOUT,
    C_EVENT,
    C_TRANSITION,
    POISSON_PIECE,
    POW_MAX,
    beta_draw,
    binomial_cdf,
    cycle_value,
    linear_predictor,
    poisson,
    walk,
)
from heecon.engine.microsim.tables import (
    counter_rows,
    coupling,
    cum_rows,
    draw_constants,
    general_tables,
    origin_rewards,
    point_table,
    reward_layout,
    transition_constants,
)

__all__ = ["simulate", "prepare_inputs", "combine", "MicrosimResult", "POISSON_PIECE", "MAX_BLOCK"]

#: Up to this many states the next state is found by a branch-free count.
_BRANCHLESS_MAX_S = 12


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
    if n_strat == 2 and ng == 1 and not has_tr:
        _block_plain2(i0, i1, k_samp, ind_offset, Pc, P_map, G, gq[0], scum, start_state, tconst, R, moments, acc,
                      path, tot, branchless)
        return
    for i in range(i0, i1):
        k_ind = individual_key(k_samp, ind_offset + i)
        start_states(path, k_ind, i, start_state, scum)
        for k in range(1, T + 1):
            u = bits_to_uniform(draw_bits(k_ind, tconst[k]))
            for s in range(n_strat):
                path[s, k] = walk(Pc, P_map[s, k - 1], path[s, k - 1], u, branchless)
        path_rewards(path, G, gq, ng, has_tr, TRs, TR_map, tr_nz, trc, nc, TRW, W, tot, ctr)
        book_individual(tot, acc, R, moments)


@numba.njit(cache=True)
def _block_plain2(i0, i1, k_samp, ind_offset, Pc, P_map, G, q, scum, start_state, tconst, R, moments, acc, path, tot,
                  branchless):
    """_block_plain for the commonest model: two strategies and one group of four nonzero reward columns (e.g. costs
    and QALYs, discounted and not), no transition rewards. The point rewards are summed as the walk goes, in
    registers (the same additions in the same order as person.path_rewards: the same bits); nothing is stored but
    the states the next cycle needs."""
    T = P_map.shape[1]
    for q4 in range(tot.shape[1]):
        tot[0, q4] = 0.0
        tot[1, q4] = 0.0
    for i in range(i0, i1):
        k_ind = individual_key(k_samp, ind_offset + i)
        start_states(path, k_ind, i, start_state, scum)
        x0 = np.uintp(path[0, 0])
        x1 = np.uintp(path[1, 0])
        a0 = 0.0
        a1 = 0.0
        a2 = 0.0
        a3 = 0.0
        b0 = 0.0
        b1 = 0.0
        b2 = 0.0
        b3 = 0.0
        for k in range(T + 1):
            if k > 0:
                u = bits_to_uniform(draw_bits(k_ind, tconst[k]))
                x0 = np.uintp(walk(Pc, P_map[0, k - 1], x0, u, branchless))
                x1 = np.uintp(walk(Pc, P_map[1, k - 1], x1, u, branchless))
            a0 += G[0, k, x0, q]
            a1 += G[0, k, x0, q + 1]
            a2 += G[0, k, x0, q + 2]
            a3 += G[0, k, x0, q + 3]
            b0 += G[1, k, x1, q]
            b1 += G[1, k, x1, q + 1]
            b2 += G[1, k, x1, q + 2]
            b3 += G[1, k, x1, q + 3]
        tot[0, q] = a0
        tot[0, q + 1] = a1
        tot[0, q + 2] = a2
        tot[0, q + 3] = a3
        tot[1, q] = b0
        tot[1, q + 1] = b1
        tot[1, q + 2] = b2
        tot[1, q + 3] = b3
        book_individual(tot, acc, R, moments)


@numba.njit(cache=True)
def _cov_person(X, i, A, row_cov, row_dyn, comp_col, betas, linx, hrx, row_mod):
    """One individual's attribute part of the log hazard ratios, linx[i, j] = beta_tr[i, j] . x (summed in
    attribute order, as step.cov_row continues it), exp(linx) for rows without counters or time in state, and
    row_mod[i]: whether such a row differs from the stored one for this individual."""
    S = linx.shape[0]
    for cur in range(S):
        if not row_cov[cur]:
            continue
        mod = False
        for j in range(S):
            lin = linear_predictor(betas, cur, j, X, i, A)
            linx[cur, j] = lin
            if not row_dyn[cur] and lin != 0.0 and j != comp_col[cur]:
                mod = True
                hrx[cur, j] = math.exp(lin)
        row_mod[cur] = mod or row_dyn[cur]


@numba.njit(cache=True)
def _block_general(
    i0, i1, k_samp, ind_offset, sm, t_keep, Pc, P, P_map, G, gq, ng, scum, start_state, consts,
    has_tr, TRs, TR_map, tr_nz, trc, nc, TRW, W, Vs, V_map,
    X, has_trcov, row_cov, betas, gammas, tis_tr, comp_col, has_trcount, tr_counter,
    has_events, has_evcov, evr, ev_map, ev_kind, evb, evg, evrr, evw, ev_counter, ev_move_state, evmp, ev_move_keep,
    has_eng, eng_on, eng_sessions, eng_drop, eng_ab, eng_propensity, eng_eligible, eng_cps, eng_cpp, eng_mode,
    moments, acc, evc, p_occ, p_cr, p_ce, traj,
):
    """General path: covariates, counters, events, engagement, per-cycle output, trajectories.

    Steps of cycle k for each strategy (docs/microsim-kernel.md; the functions of heecon.engine.microsim.step):
    1. the drawn move (step.walk, or step.cov_row and step.draw_from_row); 2. engagement (step.engagement);
    3. event counts from the state at point k-1 and the counters at its start (step.event_counts), then
    event-driven moves (step.event_move); 4. new state, time in state, counters (step.update_counters); 5. event
    and engagement rewards, weight c_k (step.reward_amount, step.book_extra), into `extra`, and the per-cycle output
    of kept samples (step.cycle_value). Point and transition rewards come from the path as on the fast path, and
    `extra` is added last. Cycle-outer, strategy-inner: a strategy coupled to strategy 0 in a cycle (tables.coupling)
    reuses its steps 1-3.

    Why this is one long function: the covariate row (step.cov_row with step.complete_row) and steps 2-5 are
    written out here, the very operations of their step.py functions, which the GPU kernel calls. Called from
    this loop (inlined or not) with their array arguments, they made the flagship's PSA 1.3-2 times slower
    (benchmarks/bench_flagship.py; numba's reference counting of array arguments: an atomic increment and
    decrement per array per call, contended between threads for arrays they share; the covariate row's nine
    arrays took 18% of the flagship kernel's profile samples, December 2026); the leaf samplers and the tables cost
    nothing and are shared. The cudasim tests (tests/test_gpu_general.py) check bit for bit
    that the written-out steps and the shared functions agree.
    """
    n_strat, T = P_map.shape[0], P_map.shape[1]
    S = P.shape[1]
    R = Vs.shape[2]
    E = ev_kind.shape[0]
    K = ev_counter.shape[1]
    A = X.shape[1]
    branchless = S <= _BRANCHLESS_MAX_S
    keep = t_keep >= 0
    n_traj = traj.shape[0] if sm == 0 else 0
    Lp, row_dyn, logtis, egam, evm, pdrop, ev_any, xcols, nx = general_tables(
        P, row_cov, gammas, tis_tr, has_trcov, evr, evg, evmp, evw, eng_drop, eng_cps, eng_cpp)
    ecols = np.empty((E, R), np.int64)  # ecols[e, :necol[e]]: the reward columns an occurrence of e books
    necol = np.zeros(E, np.int64)
    for e in range(E):
        for r in range(R):
            if evw[e, r] != 0.0:
                ecols[e, necol[e]] = r
                necol[e] += 1
    path = np.empty((n_strat, T + 1), np.int64)
    tis = np.zeros(n_strat, np.int64)
    cnt = np.zeros((n_strat, K))
    tot = np.empty((n_strat, G.shape[3]))
    extra = np.zeros((n_strat, 2 * R))
    nev = np.zeros(E, np.int64)
    ue = np.zeros(E)
    ue_k = np.full(E, -1, np.int64)  # the cycle whose uniform ue[e] holds (drawn when first needed)
    ev_hr = np.ones((n_strat, E))  # exp(beta.x + gamma.counters) per strategy and event type
    occurred = np.zeros(E, np.int64)  # event types with a count this cycle
    dcnt = np.zeros(K)  # counter increments of this cycle
    n_whole = 0
    for s in range(n_strat):
        for k in range(T):
            n_whole = max(n_whole, int(math.floor(eng_sessions[s, k])))
    bcdf = np.empty((n_strat, n_whole + 1))  # a person's attendance CDF per strategy, for bn[s] sessions
    bn = np.full(n_strat, -1, np.int64)
    prop = np.zeros(n_strat)
    enrolled = np.zeros(n_strat, np.bool_)
    cum_att = np.zeros(n_strat)
    cum_off = np.zeros(n_strat)
    prow = np.empty(S)
    ctr = np.empty(2 * R)
    row_mod = np.zeros(S, np.bool_)
    linx = np.zeros((S, S))
    hrx = np.ones((S, S))
    # per strategy: the last static covariate row built (matrix, state), its running sums and fallback
    rc_m = np.full(n_strat, -1, np.int64)
    rc_cur = np.full(n_strat, -1, np.int64)
    rc_fb = np.zeros(n_strat, np.int64)
    rc_t = np.full(n_strat, -1, np.int64)  # and its time-in-state step (rows dynamic by time in state only)
    row_cnt = np.zeros(S, np.bool_)
    counter_rows(row_cov, gammas, row_cnt)
    L_tis = logtis.shape[2]
    rc_cum = np.empty((n_strat, S))
    # coupling of strategies to strategy 0 (cycles whose inputs are identical), and strategy 0's step
    cpl = np.zeros((n_strat, T + 1), np.bool_)
    cpl_dyn = coupling(P, P_map, evr, ev_map, evrr, evg, row_dyn, eng_on, eng_sessions, eng_mode, cpl)
    j0 = 0
    n_occ0 = 0
    occ0 = np.zeros(E, np.int64)
    nev0 = np.zeros(E, np.int64)
    for i in range(i0, i1):
        k_ind = individual_key(k_samp, ind_offset + i)
        start_states(path, k_ind, i, start_state, scum)
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
                    prop[s] = beta_draw(k_ind, eng_ab[s, 0], eng_ab[s, 1])
        if has_trcov:
            _cov_person(X, i, A, row_cov, row_dyn, comp_col, betas, linx, hrx, row_mod)
            for s in range(n_strat):
                rc_m[s] = -1
        if has_evcov:
            for e in range(E):
                lx = linear_predictor(evb, 0, e, X, i, A)
                hx = math.exp(lx) if lx != 0.0 else 1.0
                for s in range(n_strat):
                    ev_hr[s, e] = hx
        for e in range(E):
            ue_k[e] = -1
        for k in range(1, T + 1):
            u = bits_to_uniform(draw_bits(k_ind, consts[k, C_TRANSITION]))
            for s in range(n_strat):
                cur = path[s, k - 1]
                same = s > 0 and cpl[s, k] and cur == path[0, k - 1]
                if same and cpl_dyn:
                    # the inputs of steps 1-3 that are the person's own: event rate ratios, and time in state and
                    # counters where the row of the current state reads them (a dynamic row); written out, as a call
                    # with array arguments costs reference counts
                    if has_trcov and row_dyn[cur]:
                        if tis[s] != tis[0]:
                            same = False
                        for c in range(K):
                            if cnt[s, c] != cnt[0, c]:
                                same = False
                    for e in range(E):
                        if ev_hr[s, e] != ev_hr[0, e]:
                            same = False
                if same:
                    # coupled: this strategy's cycle k has the same inputs as strategy 0's (see tables.coupling), so
                    # steps 1-3 give strategy 0's move and events; steps 4-5 then book them to this strategy
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
                    use_row = False
                    if has_trcov and row_mod[cur]:
                        # a covariate row: a static one is built once per (person, strategy, matrix, state) and
                        # reused; a dynamic one (counters, time in state) every cycle
                        # reused: a row dynamic by time in state only is the same for every cycle of the same
                        # time-in-state multiplier, so it is cached on that as well
                        dyn = row_dyn[cur]
                        by_cnt = dyn and row_cnt[cur]
                        ti = -1
                        if dyn and not by_cnt:
                            ti = tis[s] if tis[s] < L_tis - 1 else L_tis - 1
                        if by_cnt or rc_m[s] != m or rc_cur[s] != cur or rc_t[s] != ti:
                            # a row that does not read counters is the person's (matrix, state, time-in-state step)
                            # alone: an earlier strategy's copy of it is the same numbers
                            src = -1
                            if not by_cnt:
                                for s2 in range(s):
                                    if rc_m[s2] == m and rc_cur[s2] == cur and rc_t[s2] == ti:
                                        src = s2
                                        break
                            if src >= 0:
                                rc_fb[s] = rc_fb[src]
                                for x in range(S):
                                    rc_cum[s, x] = rc_cum[src, x]
                            else:
                                # step.cov_row (with step.complete_row), written out: a call with array arguments
                                # costs reference counts (18 atomic operations a row)
                                tr_i = tis[s] if tis[s] < L_tis - 1 else L_tis - 1
                                comp = comp_col[cur]
                                modified = False
                                for x in range(S):
                                    lin = linx[cur, x]
                                    if dyn:
                                        for c in range(K):
                                            lin += gammas[cur, x, c] * cnt[s, c]
                                        lt = logtis[cur, x, tr_i]
                                        if lt != 0.0:
                                            lin += lt
                                    p = P[m, cur, x]
                                    if lin != 0.0 and x != comp:
                                        modified = True
                                        if p <= 0.0:
                                            p = 0.0
                                        else:
                                            hr = math.exp(lin) if dyn else hrx[cur, x]
                                            if hr == 0.0:
                                                p = 0.0
                                            elif p < 1.0:
                                                p = -math.expm1(hr * Lp[m, cur, x])
                                    prow[x] = p
                                if not modified:
                                    rc_fb[s] = -2
                                else:
                                    if comp >= 0:
                                        off = 0.0
                                        for x in range(S):
                                            if x != comp:
                                                off += prow[x]
                                        if off > 1.0:
                                            for x in range(S):
                                                prow[x] /= off
                                            prow[comp] = 0.0
                                        else:
                                            prow[comp] = 1.0 - off
                                    else:
                                        rtot = 0.0
                                        for x in range(S):
                                            rtot += prow[x]
                                        if rtot > 0.0:
                                            for x in range(S):
                                                prow[x] /= rtot
                                    racc = 0.0
                                    last = -1
                                    for x in range(S):
                                        racc += prow[x]
                                        if prow[x] > 0.0:
                                            last = x
                                            rc_cum[s, x] = racc
                                        else:
                                            rc_cum[s, x] = -1.0
                                    rc_fb[s] = last if last >= 0 else cur
                            rc_m[s] = -1 if by_cnt else m
                            rc_cur[s] = cur
                            rc_t[s] = ti
                        use_row = rc_fb[s] != -2  # -2: every hazard ratio is 1, the stored row applies
                    # step.draw_from_row or step.walk, written out (calls with array arguments cost reference counts)
                    j = 0
                    if use_row:
                        j = rc_fb[s]
                        for x in range(S):
                            if u < rc_cum[s, x]:
                                j = x
                                break
                    else:
                        mu, cu = np.uintp(m), np.uintp(cur)
                        if branchless:
                            for x in range(S):
                                j += u >= Pc[mu, cu, x]
                        else:
                            while u >= Pc[mu, cu, j]:
                                j += 1
                    # 2. treatment engagement (step.engagement, written out with the attendance-CDF cache)
                    attended = 0.0
                    place = False
                    dose = 0.0
                    if has_eng and eng_on[s]:
                        off = eng_sessions[s, k - 1]
                        if off > 0.0 and eng_eligible[cur] != 0:
                            cum_off[s] += off
                            if enrolled[s]:
                                if pdrop[s] > 0.0 and bits_to_uniform(draw_bits(k_ind, consts[k, C_DROPOUT])) < pdrop[s]:
                                    enrolled[s] = False
                            if enrolled[s]:
                                place = True
                                whole = math.floor(off)
                                nw = int(whole)
                                if bn[s] != nw:
                                    if 0 < nw and 0.0 < prop[s] < 1.0:
                                        binomial_cdf(nw, prop[s], bcdf, s)
                                    bn[s] = nw
                                ua = bits_to_uniform(draw_bits(k_ind, consts[k, C_ATTEND]))
                                # step.binomial_from_cdf, written out
                                ps = prop[s]
                                if nw <= 0 or ps <= 0.0:
                                    na = 0
                                elif ps >= 1.0:
                                    na = nw
                                else:
                                    na = nw
                                    for x in range(nw):
                                        if ua < bcdf[s, x]:
                                            na = x
                                            break
                                attended = float(na)
                                frac = off - whole
                                if frac > 0.0 and bits_to_uniform(draw_bits(k_ind, consts[k, C_ATTEND + 1])) < prop[s] * frac:
                                    attended += 1.0
                                cum_att[s] += attended
                        if cum_off[s] > 0.0:
                            dose = cum_att[s] / cum_off[s]
                    # 3. events, by the state at point k-1 and the counters at the start of the cycle
                    # (step.event_counts and step.event_move, written out)
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
                                        ue[e] = bits_to_uniform(draw_bits(k_ind, consts[k, C_EVENT + e]))
                                        ue_k[e] = k
                                    if ev_kind[e] == 0:
                                        if ue[e] >= 1.0 - lam:  # else no occurrence (see step.poisson_inv)
                                            n = poisson(lam, ue[e], k_ind, k, e, E)
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
                                    pm = evm[0, e]
                                    if pm >= 1.0:
                                        hit = True
                                    elif pm <= 0.0:
                                        hit = False
                                    else:
                                        um = bits_to_uniform(draw_bits(k_ind, consts[k, C_EVENT + E + e]))
                                        hit = um < (evm[2, e] if nev[e] == 1 else -math.expm1(nev[e] * evm[1, e]))
                                    if hit:
                                        j = dest
                                        break
                    if s == 0:
                        j0 = j
                        n_occ0 = n_occ
                        for o in range(n_occ):
                            occ0[o] = occurred[o]
                            nev0[occurred[o]] = nev[occurred[o]]
                # 4. the new state, time in state, counters (step.update_counters, written out)
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
                    for c in range(K):
                        d = dcnt[c]
                        if d != 0.0:
                            cnt[s, c] += d
                            if has_evcov:
                                di = int(d) if (d == math.floor(d) and 0.0 < d <= POW_MAX) else -1
                                for e in range(E):
                                    g = evg[e, c]
                                    if g != 0.0:
                                        ev_hr[s, e] *= egam[e, c, di] if di > 0 else math.exp(g * d)
                # 5. event and engagement rewards of cycle k, weight c_k (step.reward_amount, step.book_extra,
                # written out); the per-cycle output (discounted) of kept samples
                if n_occ == 1 and not place and not keep:
                    # the common case, one event type and no session: only the columns it books (the other
                    # columns would add nothing, as amt is 0 there)
                    e1 = occurred[0]
                    n1 = nev[e1]
                    for c1 in range(necol[e1]):
                        r = ecols[e1, c1]
                        amt = 0.0
                        amt += n1 * evw[e1, r]
                        if amt != 0.0:
                            extra[s, 2 * r] += W[0, 2, r, k - 1] * amt
                            extra[s, 2 * r + 1] += W[1, 2, r, k - 1] * amt
                elif n_occ > 0 or place or keep:
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
                        if keep:
                            cyc = cycle_value(W, Vs, V_map[s, k - 1], cur, j, r, k, amt, TRs[TR_map[s, k - 1], cur, j, r])
                            hi, lo = fx_limbs(cyc)
                            p_cr[t_keep, s, k - 1, r, 0] += hi
                            p_cr[t_keep, s, k - 1, r, 1] += lo
                if keep:
                    p_occ[t_keep, s, k, j] += 1
                    for o in range(n_occ):
                        p_ce[t_keep, s, k - 1, occurred[o]] += nev[occurred[o]]
        if i < n_traj:
            for s in range(n_strat):
                for k in range(T + 1):
                    traj[i, s, k] = path[s, k]
        path_rewards(path, G, gq, ng, has_tr, TRs, TR_map, tr_nz, trc, nc, TRW, W, tot, ctr)
        for s in range(n_strat):
            for q in range(2 * R):
                tot[s, q] += extra[s, q]
        book_individual(tot, acc, R, moments)


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
    tconst, consts, part_acc, part_ev, p_occ, p_cr, p_ce, out_traj,
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
        cum_rows(P, Pc)
        isp = sm if start_probs.shape[0] > 1 else 0
        scum = np.empty((1, n_strat, S))
        cum_rows(start_probs[isp:isp + 1], scum)
        iv = sm if V_mats.shape[0] > 1 else 0
        Vs = V_mats[iv]
        G = np.empty((n_strat, T + 1, S, ((2 * R + 3) // 4) * 4))
        point_table(Vs, V_map, W, G)
        itr = sm if TR_mats.shape[0] > 1 else 0
        TRs = TR_mats[itr]
        gq = np.empty(G.shape[3] // 4, np.int64)
        tr_nz = np.zeros((TRs.shape[0], S, S), np.bool_)
        trc = np.empty(R, np.int64)
        ng, nc = reward_layout(G, TRs, has_tr, gq, tr_nz, trc)
        TRW = origin_rewards(TRs, TR_map, W, trc, nc)
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
                i0, i1, k_samp, ind_offset, sm, t_keep, Pc, P, P_map, G, gq, ng, scum, start_state, consts,
                has_tr, TRs, TR_map, tr_nz, trc, nc, TRW, W, Vs, V_map,
                X, has_trcov, row_cov, beta_tr[bt], gamma_tr[gt], tis_tr, comp_col, has_trcount, tr_counter,
                has_events, has_evcov, ev_rate[er], ev_map, ev_kind, ev_beta[eb:eb + 1], ev_gamma[eg],
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

#: simulate()'s keyword arguments that prepare_inputs validates (the others set up the call).
_INPUTS = ("n_ind", "n_samples", "seed", "start_probs", "start_state", "TR_mats", "TR_map", "X", "beta_tr", "gamma_tr",
           "tis_tr", "comp_col", "tr_counter", "ev_rate", "ev_map", "ev_kind", "ev_beta", "ev_gamma", "ev_rr",
           "ev_reward", "ev_counter", "ev_move_state", "ev_move_prob", "ev_move_keep", "eng_sessions", "eng_dropout",
           "eng_ab", "eng_propensity", "eng_eligible", "eng_cost_per_session", "eng_cost_per_place", "eng_mode",
           "n_keep", "n_traj", "moments")
#: The kernel's array arguments, in its order (names as prepare_inputs returns them).
_KERNEL_ARRAYS = ("P_mats", "P_map", "V_mats", "V_map", "TR_mats", "TR_map", "W", "start_probs", "start_state", "X",
                  "beta_tr", "gamma_tr", "tis_tr", "comp_col", "row_cov", "tr_counter", "ev_rate", "ev_map", "ev_kind",
                  "ev_beta", "ev_gamma", "ev_rr", "ev_reward", "ev_counter", "ev_move_state", "ev_move_prob",
                  "ev_move_keep", "eng_on", "eng_sessions", "eng_dropout", "eng_ab", "eng_propensity", "eng_eligible",
                  "eng_cps", "eng_cpp", "eng_mode")
_KERNEL_FLAGS = ("has_tr", "has_trcov", "has_trcount", "has_events", "has_evcov", "has_eng", "moments")


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
    given = locals()
    a = prepare_inputs(P_mats, P_map, V_mats, V_map, W, **{k: given[k] for k in _INPUTS})
    if block_size is None:
        nb = max(1, math.ceil(8 * numba.get_num_threads() / a["n_samp"]))
        block_size = max(64, math.ceil(a["n_ind"] / nb))
    block_size = int(min(max(block_size, 1), MAX_BLOCK))
    parts = _run_kernel(a, int(sample_offset), int(ind_offset), block_size)
    return _reduce(a, parts, -(-a["n_ind"] // block_size), int(sample_offset), int(ind_offset))


def _run_kernel(a: dict, sample_offset: int, ind_offset: int, block_size: int) -> tuple[np.ndarray, ...]:
    """Allocate the per-task partial outputs and run the kernel over them; returns them."""
    n_ind, n_samp, n_strat, T, S, R, E = (a[k] for k in ("n_ind", "n_samp", "n_strat", "T", "S", "R", "E"))
    n_keep, n_traj = a["n_keep"], a["n_traj"]
    n_blocks = -(-n_ind // block_size)
    n_tasks = n_samp * n_blocks
    part_acc = np.zeros((n_tasks, n_strat * R * 2 * N_ACC), np.int64)
    part_ev = np.zeros((n_tasks, n_strat, E), np.int64)
    p_occ = np.zeros((n_keep * n_blocks, n_strat, T + 1, S), np.int64)
    p_cr = np.zeros((n_keep * n_blocks, n_strat, T, R, 2), np.int64)
    p_ce = np.zeros((n_keep * n_blocks, n_strat, T, E), np.int64)
    out_traj = np.full((n_traj, n_strat, T + 1), -1, np.int64)
    # dynamic scheduling, one task at a time: a core shared with other work takes fewer tasks
    # (the results do not depend on which thread runs which task)
    old_chunk = numba.get_parallel_chunksize()
    numba.set_parallel_chunksize(1)
    try:
        _kernel(*(a[k] for k in _KERNEL_ARRAYS), np.uint64(a["seed"]), np.int64(sample_offset), np.int64(ind_offset),
                np.int64(block_size), *(a[k] for k in _KERNEL_FLAGS), transition_constants(T), draw_constants(T, E),
                part_acc, part_ev, p_occ, p_cr, p_ce, out_traj)
    finally:
        numba.set_parallel_chunksize(old_chunk)
    return part_acc, part_ev, p_occ, p_cr, p_ce, out_traj


def _reduce(a: dict, parts: tuple[np.ndarray, ...], n_blocks: int, sample_offset: int,
            ind_offset: int) -> MicrosimResult:
    """The exact reduction over the blocks of each sample (int64 sums; every partial is normalised)."""
    n_samp, n_strat, T, S, R, E, n_keep = (a[k] for k in ("n_samp", "n_strat", "T", "S", "R", "E", "n_keep"))
    part_acc, part_ev, p_occ, p_cr, p_ce, out_traj = parts
    out_acc = part_acc.reshape(n_samp, n_blocks, -1).sum(axis=1)
    normalise(out_acc.reshape(-1))
    out_cr = p_cr.reshape(n_keep, n_blocks, n_strat, T, R, 2).sum(axis=1)
    normalise(out_cr.reshape(-1))
    return MicrosimResult(
        acc=out_acc.reshape(n_samp, n_strat, R, 2, 3, 2),
        ev_count=part_ev.reshape(n_samp, n_blocks, n_strat, E).sum(axis=1),
        occupancy=p_occ.reshape(n_keep, n_blocks, n_strat, T + 1, S).sum(axis=1),
        cycle_rewards_fx=out_cr,
        cycle_events=p_ce.reshape(n_keep, n_blocks, n_strat, T, E).sum(axis=1),
        trajectories=out_traj,
        n_individuals=a["n_ind"],
        seed=int(a["seed"]),
        sample_offset=sample_offset,
        ind_offset=ind_offset,
        moments=bool(a["moments"]),
    )
