"""Slow, obviously-correct NumPy reference of the microsimulation kernel (heecon.engine.microsim.cpu).

Written from the contract in docs/microsim-kernel.md, not from the kernel's code: it loops over samples,
cycles, strategies and event types, vectorised over individuals, and books every reward cycle by cycle
with the plain formula

    total_r = sum_k a_k V_k[s_{k-1}, r] + b_k V_k[s_k, r] + c_k (TR_k[s_{k-1}, s_k, r] + events + engagement).

It uses the same counter-based random numbers (heecon.engine.microsim.rng.uniforms_np), so for the same seed it
must give the same trajectories and event counts as the kernel, and totals equal to rounding.
Poisson and binomial counts come from scipy's distribution functions (inversion of the same uniform).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from heecon.engine.microsim import rng as R_


def _u(seed, sample, ind, cycle, kind, index):
    return R_.uniforms_np(seed, sample, ind, cycle, kind, index)


def _pick(probs: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Row-wise inverse CDF: first j with u < cumsum(p)[j]; if rounding leaves u above the total,
    the last state with positive probability."""
    cum = np.cumsum(probs, axis=-1)
    pos = probs > 0
    last = probs.shape[-1] - 1 - np.argmax(pos[:, ::-1], axis=1)
    j = np.argmax(u[:, None] < cum, axis=1)
    none = ~np.any(u[:, None] < cum, axis=1)
    j[none] = last[none]
    # a state with zero probability is never chosen (cum does not rise there)
    return j


def _gamma_mt(seed, sample, ind, shape, base):
    """Marsaglia-Tsang with the kernel's counter layout (index base + 3t, +1, +2; boost at base + 2**20)."""
    a = shape
    boost = 1.0
    K = R_.KIND_ENG_PROPENSITY
    if a < 1.0:
        boost = float(_u(seed, sample, ind, 0, K, base + (1 << 20))) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    for t in range(300000):
        u1, u2, u3 = (float(_u(seed, sample, ind, 0, K, base + 3 * t + q)) for q in range(3))
        z = math.sqrt(-2.0 * math.log(1.0 - u1)) * math.cos(2.0 * math.pi * u2)
        v = 1.0 + c * z
        if v <= 0.0:
            continue
        v = v**3
        if math.log(1.0 - u3) < 0.5 * z * z + d - d * v + d * math.log(v):
            return d * v * boost
    return d * boost


def _poisson_count(lam, seed, sample, ind, cycle, e, E, piece=30.0):
    if lam <= piece:
        return int(stats.poisson.ppf(float(_u(seed, sample, ind, cycle, R_.KIND_EVENT_COUNT, e)), lam))
    m = int(math.ceil(lam / piece))
    return sum(
        int(stats.poisson.ppf(float(_u(seed, sample, ind, cycle, R_.KIND_EVENT_COUNT, e + E * q)), lam / m))
        for q in range(m)
    )


def simulate_reference(
    P_mats, P_map, V_mats, V_map, W, *, n_ind, n_samples=1, seed=0, sample_offset=0, ind_offset=0,
    start_probs=None, start_state=None, TR_mats=None, TR_map=None,
    X=None, beta_tr=None, gamma_tr=None, tis_tr=None, comp_col=None, tr_counter=None,
    ev_rate=None, ev_map=None, ev_kind=None, ev_beta=None, ev_gamma=None, ev_rr=None, ev_reward=None,
    ev_counter=None, ev_move_state=None, ev_move_prob=None, ev_move_keep=None,
    eng_sessions=None, eng_dropout=None, eng_ab=None, eng_propensity=None, eng_eligible=None,
    eng_cost_per_session=None, eng_cost_per_place=None, eng_mode=None,
):
    """Per-individual results: totals [n_samp, n_strat, n_ind, R, 2], events [n_samp, n_strat, n_ind, E],
    trajectories [n_samp, n_strat, n_ind, T+1], discounted per-cycle rewards [n_samp, n_strat, n_ind, T, R]."""
    P_mats = np.asarray(P_mats, float)
    n_strat, T = np.shape(P_map)
    S = P_mats.shape[2]
    Rn = np.shape(V_mats)[3]
    A = 0 if X is None else np.shape(X)[1]
    E = 0 if ev_rate is None else np.shape(ev_rate)[3]
    K = 0
    for a, ax in ((gamma_tr, 3), (ev_gamma, 2), (ev_counter, 1), (tr_counter, 2)):
        if a is not None:
            K = np.shape(a)[ax]
            break

    def take(a, sm):  # the sample slice of an array with a leading sample axis of 1 or n_samples
        a = np.asarray(a)
        return a[sm if a.shape[0] > 1 else 0]

    X = np.zeros((n_ind, A)) if X is None else np.asarray(X, float)
    TR_mats = np.zeros((1, 1, S, S, Rn)) if TR_mats is None else TR_mats
    TR_map = np.zeros((n_strat, T), int) if TR_map is None else TR_map
    beta_tr = np.zeros((1, S, S, A)) if beta_tr is None else beta_tr
    gamma_tr = np.zeros((1, S, S, K)) if gamma_tr is None else gamma_tr
    tis_tr = np.ones((S, S, 1)) if tis_tr is None else np.asarray(tis_tr, float)
    comp_col = np.arange(S) if comp_col is None else np.asarray(comp_col)
    tr_counter = np.zeros((S, S, K)) if tr_counter is None else np.asarray(tr_counter, float)
    if E == 0:
        ev_rate = np.zeros((1, 1, S, 0))
    ev_map = np.zeros((n_strat, T), int) if ev_map is None else ev_map
    ev_kind = np.zeros(E, int) if ev_kind is None else np.asarray(ev_kind)
    ev_beta = np.zeros((1, E, A)) if ev_beta is None else ev_beta
    ev_gamma = np.zeros((1, E, K)) if ev_gamma is None else ev_gamma
    ev_rr = np.ones((1, n_strat, T, E)) if ev_rr is None else ev_rr
    ev_reward = np.zeros((1, E, Rn)) if ev_reward is None else ev_reward
    ev_counter = np.zeros((E, K)) if ev_counter is None else np.asarray(ev_counter, float)
    ev_move_state = np.full(E, -1) if ev_move_state is None else np.asarray(ev_move_state)
    ev_move_prob = np.zeros((1, E)) if ev_move_prob is None else ev_move_prob
    ev_move_keep = np.zeros(S, int) if ev_move_keep is None else np.asarray(ev_move_keep)
    eng_sessions = np.zeros((n_strat, T)) if eng_sessions is None else np.asarray(eng_sessions, float)
    eng_dropout = np.zeros((1, n_strat)) if eng_dropout is None else eng_dropout
    eng_ab = np.ones((1, n_strat, 2)) if eng_ab is None else eng_ab
    eng_eligible = np.ones(S, int) if eng_eligible is None else np.asarray(eng_eligible)
    eng_cost_per_session = np.zeros((1, n_strat, Rn)) if eng_cost_per_session is None else eng_cost_per_session
    eng_cost_per_place = np.zeros((1, n_strat, Rn)) if eng_cost_per_place is None else eng_cost_per_place
    eng_mode = np.zeros(n_strat, int) if eng_mode is None else np.asarray(eng_mode)
    eng_on = np.any(eng_sessions > 0, axis=1)

    L = tis_tr.shape[2]
    n = n_ind
    gi = ind_offset + np.arange(n)
    totals = np.zeros((n_samples, n_strat, n, Rn, 2))
    events = np.zeros((n_samples, n_strat, n, E), np.int64)
    trajs = np.zeros((n_samples, n_strat, n, T + 1), np.int64)
    cyc = np.zeros((n_samples, n_strat, n, T, Rn))

    for sm in range(n_samples):
        gs = sample_offset + sm
        P = take(P_mats, sm)
        V = take(V_mats, sm)
        TRs = take(TR_mats, sm)
        betas, gammas = take(beta_tr, sm), take(gamma_tr, sm)
        evr, evb, evg = take(ev_rate, sm), take(ev_beta, sm), take(ev_gamma, sm)
        evrr, evw, evmp = take(ev_rr, sm), take(ev_reward, sm), take(ev_move_prob, sm)
        edrop, eab = take(eng_dropout, sm), take(eng_ab, sm)
        ecs, ecp = take(eng_cost_per_session, sm), take(eng_cost_per_place, sm)

        # starting states (one uniform per individual, shared by the strategies)
        state = np.zeros((n_strat, n), np.int64)
        if start_state is not None:
            state[:] = np.asarray(start_state)[None, :]
        else:
            sp = take(np.array([[[1.0] + [0.0] * (S - 1)] * n_strat]) if start_probs is None else start_probs, sm)
            u0 = _u(seed, gs, gi, 0, R_.KIND_START, 0)
            for s in range(n_strat):
                state[s] = _pick(np.broadcast_to(sp[s], (n, S)), u0)
        trajs[sm, :, :, 0] = state
        tis = np.zeros((n_strat, n), np.int64)
        cnt = np.zeros((n_strat, n, K))
        prop = np.zeros((n_strat, n))
        enrolled = np.zeros((n_strat, n), bool)
        cum_att = np.zeros((n_strat, n))
        cum_off = np.zeros((n_strat, n))
        for s in range(n_strat):
            if eng_on[s]:
                enrolled[s] = True
                if eng_propensity is not None:
                    prop[s] = eng_propensity
                else:
                    for i in range(n):
                        x = _gamma_mt(seed, gs, gi[i], eab[s, 0], 0)
                        y = _gamma_mt(seed, gs, gi[i], eab[s, 1], 1 << 21)
                        prop[s, i] = x / (x + y) if x + y > 0 else eab[s, 0] / eab[s].sum()

        for k in range(1, T + 1):
            u = _u(seed, gs, gi, k, R_.KIND_TRANSITION, 0)
            for s in range(n_strat):
                cur = state[s].copy()
                m = P_map[s][k - 1]
                rows = P[m][cur]  # [n, S]
                # 1. hazard ratios on the row
                lin = np.einsum("nja,na->nj", betas[cur], X) + np.einsum("njc,nc->nj", gammas[cur], cnt[s])
                mult = tis_tr[cur, :, np.minimum(tis[s], L - 1)]
                with np.errstate(divide="ignore"):
                    lin = lin + np.log(mult)
                comp = comp_col[cur]
                is_comp = np.arange(S)[None, :] == comp[:, None]
                mod = (lin != 0) & ~is_comp
                with np.errstate(divide="ignore", invalid="ignore"):
                    pnew = np.where(mod, 1.0 - (1.0 - rows) ** np.exp(lin), rows)
                pnew = np.where(mod & (rows <= 0), 0.0, pnew)
                any_mod = mod.any(axis=1)
                probs = rows.copy()
                for i in np.flatnonzero(any_mod):
                    p = pnew[i].copy()
                    c = comp[i]
                    if c >= 0:
                        off = p.sum() - p[c]
                        if off > 1.0:
                            p = p / off
                            p[c] = 0.0
                        else:
                            p[c] = 1.0 - off
                    else:
                        p = p / p.sum()
                    probs[i] = p
                j = _pick(probs, u)
                # 2. engagement
                attended = np.zeros(n)
                place = np.zeros(n, bool)
                dose = np.zeros(n)
                if eng_on[s]:
                    off = eng_sessions[s, k - 1]
                    elig = eng_eligible[cur] != 0
                    if off > 0:
                        cum_off[s] += np.where(elig, off, 0.0)
                        ud = _u(seed, gs, gi, k, R_.KIND_ENG_DROPOUT, 0)
                        drop = elig & enrolled[s] & (edrop[s] > 0) & (ud < 1.0 - np.exp(-edrop[s]))
                        enrolled[s] &= ~drop
                        place = elig & enrolled[s]
                        ua = _u(seed, gs, gi, k, R_.KIND_ENG_ATTEND, 0)
                        ub = _u(seed, gs, gi, k, R_.KIND_ENG_ATTEND, 1)
                        whole = math.floor(off)
                        frac = off - whole
                        a_whole = np.array([
                            int(stats.binom.ppf(ua[i], whole, prop[s, i])) if 0 < prop[s, i] < 1 and whole > 0
                            else (whole if prop[s, i] >= 1 else 0) for i in range(n)
                        ], float)
                        a_frac = (frac > 0) & (ub < prop[s] * frac)
                        attended = np.where(place, a_whole + a_frac, 0.0)
                        cum_att[s] += attended
                    dose = np.where(cum_off[s] > 0, cum_att[s] / np.where(cum_off[s] > 0, cum_off[s], 1.0), 0.0)
                # 3. events
                nev = np.zeros((n, E), np.int64)
                me = ev_map[s][k - 1]
                for e in range(E):
                    rate = evr[me][cur, e]
                    rr = evrr[s, k - 1, e]
                    rr_i = 1.0 - (1.0 - rr) * dose if eng_mode[s] == 1 else np.full(n, rr)
                    lam = rate * rr_i * np.exp(X @ evb[e] + cnt[s] @ evg[e])
                    ue = _u(seed, gs, gi, k, R_.KIND_EVENT_COUNT, e)
                    for i in range(n):
                        if lam[i] > 0:
                            if ev_kind[e] == 0:
                                nev[i, e] = _poisson_count(lam[i], seed, gs, gi[i], k, e, E)
                            else:
                                nev[i, e] = int(ue[i] < 1.0 - math.exp(-lam[i]))
                for i in range(n):
                    if ev_move_keep[j[i]]:
                        continue
                    for e in range(E):
                        if ev_move_state[e] >= 0 and nev[i, e] > 0:
                            pm = evmp[e]
                            um = float(_u(seed, gs, gi[i], k, R_.KIND_EVENT_MOVE, e))
                            if pm >= 1.0 or (pm > 0 and um < 1.0 - (1.0 - pm) ** nev[i, e]):
                                j[i] = ev_move_state[e]
                                break
                # 4. new state, time in state, counters
                tis[s] = np.where(j == cur, tis[s] + 1, 0)
                cnt[s] += nev @ ev_counter + tr_counter[cur, j]
                events[sm, s] += nev
                # 5. rewards of cycle k
                Vk = V[V_map[s][k - 1]]
                tr = TRs[TR_map[s][k - 1]][cur, j]  # [n, R]
                extra = nev @ evw + np.where(place[:, None], attended[:, None] * ecs[s] + ecp[s], 0.0)
                for d in range(2):
                    a_k, b_k, c_k = W[d, 0, :, k - 1], W[d, 1, :, k - 1], W[d, 2, :, k - 1]
                    totals[sm, s, :, :, d] += a_k * Vk[cur] + b_k * Vk[j] + c_k * (tr + extra)
                a_k, b_k, c_k = W[0, 0, :, k - 1], W[0, 1, :, k - 1], W[0, 2, :, k - 1]
                cyc[sm, s, :, k - 1] = a_k * Vk[cur] + b_k * Vk[j] + c_k * (tr + extra)
                state[s] = j
                trajs[sm, s, :, k] = j
    return {"totals": totals, "events": events, "trajectories": trajs, "cycle_rewards": cyc}
