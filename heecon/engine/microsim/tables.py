"""Per-sample tables of the microsimulation, built by the same numba functions for both devices.

Everything here depends on the parameter set (or on nothing but the sizes), never on the individual: cumulative
transition rows, the point-reward table, which reward columns can be nonzero, origin-only transition rewards, the
per-cycle constants of the counter-based generator, and every transcendental value that does not depend on the
individual (log survival of the stored transition probabilities, log time-in-state multipliers, counter-step
factors exp(gamma * d), dropout and move probabilities). The CPU kernel builds the ones it needs per task (a task is
one sample and one block of individuals); the GPU wrappers build them on the host, per sample, with these very
functions, so both devices read the same numbers (numba on the CPU calls the same libm in both places).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from heecon.engine.microsim.rng import (
    KIND_ENG_ATTEND,
    KIND_ENG_DROPOUT,
    KIND_EVENT_COUNT,
    KIND_EVENT_MOVE,
    KIND_TRANSITION,
    counter_constant,
)
from heecon.engine.microsim.step import C_ATTEND, C_DROPOUT, C_EVENT, C_TRANSITION, POW_MAX

__all__ = ["cum_rows", "point_table", "reward_layout", "origin_rewards", "transition_constants", "draw_constants",
           "log1m_table", "log_table", "hazard_to_prob", "gamma_steps", "move_table", "row_dynamics", "counter_rows",
           "event_rows", "extra_columns", "coupling", "general_tables", "MAX_TRW"]


# ---------------------------------------------------------------------------
# Transitions and rewards along the path
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def cum_rows(P, out):
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
def point_table(V, V_map, W, out):
    """out[s, p, x, 2r + d] = a_{p+1} V_{p+1}[x, r] + b_p V_p[x, r]: the reward of being in x at point p.

    The last axis is padded with zeros to a multiple of 4 (see person.path_rewards).
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
def reward_layout(G, TRs, has_tr, gq, tr_nz, trc):
    """Which reward columns of a sample can be nonzero, so that the path sums skip the rest.

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
MAX_TRW = 1 << 20


@numba.njit(cache=True)
def origin_rewards(TRs, TR_map, W, trc, nc):
    """Weighted transition rewards that depend on the origin state only, as a per-sample table.

    When every transition-reward vector TRs[m, i, j] is the same for all destinations j (rewards of the
    state a cycle starts in, booked with weight c_k, such as events booked in expectation), returns
    TRW[s, k-1, i, 2c + d] = W[d, 2, r, k-1] * TRs[TR_map[s, k-1], i, 0, r] for the columns r = trc[c]:
    the very products the path sum would form, so summing them in cycle order gives the same bits.
    Otherwise (or when the table would exceed MAX_TRW entries) returns an empty table.
    """
    n_strat, T = TR_map.shape[0], TR_map.shape[1]
    nM, S = TRs.shape[0], TRs.shape[1]
    if n_strat * T * S * 2 * nc > MAX_TRW or nc == 0:
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


# ---------------------------------------------------------------------------
# The counter-based generator: per-cycle constants
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def transition_constants(T):
    """counter_constant(k, KIND_TRANSITION, 0) for k = 0..T (the per-cycle part of a transition draw)."""
    out = np.empty(T + 1, np.uint64)
    for k in range(T + 1):
        out[k] = counter_constant(k, KIND_TRANSITION, 0)
    return out


@numba.njit(cache=True)
def draw_constants(T, E):
    """The per-cycle constants of every draw of the general step, out[k, column] (k = 0..T): the transition
    (C_TRANSITION), dropout (C_DROPOUT), the two attendance draws (C_ATTEND, C_ATTEND + 1), the count of event e
    (C_EVENT + e) and its move (C_EVENT + E + e). A draw is then one mix of the individual's key and the constant
    (step.draw), the very number rng.uniform would compute."""
    out = np.empty((T + 1, C_EVENT + 2 * E), np.uint64)
    for k in range(T + 1):
        out[k, C_TRANSITION] = counter_constant(k, KIND_TRANSITION, 0)
        out[k, C_DROPOUT] = counter_constant(k, KIND_ENG_DROPOUT, 0)
        out[k, C_ATTEND] = counter_constant(k, KIND_ENG_ATTEND, 0)
        out[k, C_ATTEND + 1] = counter_constant(k, KIND_ENG_ATTEND, 1)
        for e in range(E):
            out[k, C_EVENT + e] = counter_constant(k, KIND_EVENT_COUNT, e)
            out[k, C_EVENT + E + e] = counter_constant(k, KIND_EVENT_MOVE, e)
    return out


# ---------------------------------------------------------------------------
# Transcendental values that do not depend on the individual
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def log1m_table(P, out):
    """out = log1p(-P) where 0 < P < 1, else 0 (the log survival that p' = 1 - (1 - p)**HR raises to HR)."""
    a = P.reshape(-1)
    o = out.reshape(-1)
    for x in range(a.size):
        p = a[x]
        o[x] = math.log1p(-p) if 0.0 < p < 1.0 else 0.0


@numba.njit(cache=True)
def log_table(mult, out):
    """out = log(mult) where mult is not 1 (-inf where it is 0), else 0 (time-in-state multipliers)."""
    a = mult.reshape(-1)
    o = out.reshape(-1)
    for x in range(a.size):
        v = a[x]
        if v == 1.0:
            o[x] = 0.0
        elif v > 0.0:
            o[x] = math.log(v)
        else:
            o[x] = -math.inf


@numba.njit(cache=True)
def hazard_to_prob(h, out):
    """out = -expm1(-h): the probability of a hazard h per cycle (dropout)."""
    a = h.reshape(-1)
    o = out.reshape(-1)
    for x in range(a.size):
        o[x] = -math.expm1(-a[x])


@numba.njit(cache=True)
def gamma_steps(evg, out):
    """out[n, e, c, d] = exp(evg[n, e, c] * d), d = 0..POW_MAX: the factor of the event rate ratio exp(gamma .
    counters) for a counter step of d (step.update_counters)."""
    for n in range(evg.shape[0]):
        for e in range(evg.shape[1]):
            for c in range(evg.shape[2]):
                for d in range(POW_MAX + 1):
                    out[n, e, c, d] = math.exp(evg[n, e, c] * d)


@numba.njit(cache=True)
def move_table(pm, out):
    """out[n, 0] = pm, out[n, 1] = log1p(-pm) where 0 < pm < 1 (else 0), out[n, 2] = -expm1(out[n, 1]): event move
    probabilities, the log survival that n occurrences multiply, and the probability after one occurrence."""
    for n in range(pm.shape[0]):
        for e in range(pm.shape[1]):
            p = pm[n, e]
            lp = math.log1p(-p) if 0.0 < p < 1.0 else 0.0
            out[n, 0, e] = p
            out[n, 1, e] = lp
            out[n, 2, e] = -math.expm1(lp)


# ---------------------------------------------------------------------------
# Work the CPU's general block can skip (results known in advance)
# ---------------------------------------------------------------------------


@numba.njit(cache=True)
def row_dynamics(row_cov, gammas, tis_tr, row_dyn):
    """row_dyn[i]: the covariate row i has hazard ratios that follow counters or time in state (gammas or
    time-in-state multipliers act on it), so it is rebuilt every cycle; a static one once per person."""
    S, L = gammas.shape[0], tis_tr.shape[2]
    for i in range(S):
        dyn = False
        if row_cov[i]:
            dyn = _reads_counters(gammas, i)
            for j in range(S):
                for t in range(L):
                    if tis_tr[i, j, t] != 1.0:
                        dyn = True
        row_dyn[i] = dyn


@numba.njit(inline="always", cache=True)
def _reads_counters(gammas, i):
    """Whether row i has a nonzero counter coefficient."""
    for j in range(gammas.shape[1]):
        for c in range(gammas.shape[2]):
            if gammas[i, j, c] != 0.0:
                return True
    return False


@numba.njit(cache=True)
def counter_rows(row_cov, gammas, row_cnt):
    """row_cnt[i]: the covariate row i has hazard ratios that follow counters (nonzero gammas), so it changes
    whenever they do; a row dynamic by time in state only is the same for every cycle with the same time-in-state
    multiplier (the CPU's general block caches it on that)."""
    for i in range(gammas.shape[0]):
        row_cnt[i] = row_cov[i] and _reads_counters(gammas, i)


@numba.njit(cache=True)
def event_rows(evr, ev_any):
    """ev_any[me, x]: the row x of event-rate table me has a positive rate (else the event loop is skipped)."""
    for me in range(evr.shape[0]):
        for x in range(evr.shape[1]):
            ev_any[me, x] = False
            for e in range(evr.shape[2]):
                if evr[me, x, e] > 0.0:
                    ev_any[me, x] = True


@numba.njit(cache=True)
def extra_columns(evw, eng_cps, eng_cpp, xcols):
    """The reward columns that events or engagement costs can reach, in xcols[:n]; returns n (the other columns
    would only ever add exact zeros)."""
    nx = 0
    for r in range(evw.shape[1]):
        nz = False
        for e in range(evw.shape[0]):
            if evw[e, r] != 0.0:
                nz = True
        for s in range(eng_cps.shape[0]):
            if eng_cps[s, r] != 0.0 or eng_cpp[s, r] != 0.0:
                nz = True
        if nz:
            xcols[nx] = r
            nx += 1
    return nx


@numba.njit(cache=True)
def coupling(P, P_map, evr, ev_map, evrr, evg, row_dyn, eng_on, eng_sessions, eng_mode, cpl):
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


@numba.njit(cache=True)
def general_tables(P, row_cov, gammas, tis_tr, has_trcov, evr, evg, evmp, evw, eng_drop, eng_cps, eng_cpp):
    """The per-sample tables of a task of the CPU's general block (the GPU wrapper builds the same ones on the
    host): log survival of the stored rows, dynamic covariate rows, log time-in-state multipliers, counter-step
    factors, event-move probabilities, dropout probabilities, rows with events, reward columns events reach."""
    S, E = P.shape[1], evr.shape[2]
    Lp = np.zeros((P.shape[0], S, S))
    row_dyn = np.zeros(S, np.bool_)
    if has_trcov:
        log1m_table(P, Lp)
        row_dynamics(row_cov, gammas, tis_tr, row_dyn)
    logtis = np.empty_like(tis_tr)
    log_table(tis_tr, logtis)
    egam = np.empty((1, E, evg.shape[1], POW_MAX + 1))
    gamma_steps(evg.reshape((1,) + evg.shape), egam)
    evm = np.empty((1, 3, E))
    move_table(evmp.reshape((1, E)), evm)
    pdrop = np.empty_like(eng_drop)
    hazard_to_prob(eng_drop, pdrop)
    ev_any = np.zeros((evr.shape[0], S), np.bool_)
    event_rows(evr, ev_any)
    xcols = np.empty(evw.shape[1], np.int64)
    nx = extra_columns(evw, eng_cps, eng_cpp, xcols)
    return Lp, row_dyn, logtis, egam[0], evm[0], pdrop, ev_any, xcols, nx
