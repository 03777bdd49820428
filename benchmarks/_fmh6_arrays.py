"""The FMH-6 benchmark model (shared/design/BENCHMARK-MODEL.md) as kernel arrays, plus its PSA draws.

Shared by the benchmarks. States CS, CR, CU, IP, DO, DV; 40 quarterly cycles;
strategies usual care (0) and intervention (1); reward columns costs (0) and
QALYs (1); "beginning of cycle" counting (points t = 0..39, i.e. a_k = d_{k-1},
b_k = c_k = 0) with discount factor 1.035**(-0.25 t).

Arrays follow the kernel contract of heecon.engine.microsim.cpu:
P_mats[nPs, 2, 6, 6] (matrix 0 usual care, 1 intervention rows), P_map[2, 40],
V_mats[nVs, 2, 6, 2] (V 1 adds the 2,000 per person alive), V_map[2, 40], W[2, 3, 2, 40].
"""

from __future__ import annotations

import numpy as np

STATES = ("CS", "CR", "CU", "IP", "DO", "DV")
S, T, N_STRAT, R = 6, 40, 2, 2
N_INTERVENTION_CYCLES = 4
EXPECTED = {  # deterministic per-person results (BENCHMARK-MODEL.md)
    "usual care": (72790.60, 5.144794),
    "intervention": (78616.33, 5.208984),
}

P_UC = np.array(
    [
        [0.850, 0.100, 0.020, 0.025, 0.004, 0.001],
        [0.200, 0.600, 0.100, 0.080, 0.012, 0.008],
        [0.100, 0.250, 0.600, 0.040, 0.006, 0.004],
        [0.200, 0.150, 0.050, 0.585, 0.010, 0.005],
        [0, 0, 0, 0, 1, 0],
        [0, 0, 0, 0, 0, 1],
    ]
)
INT_ROWS = np.array(
    [
        [0.900, 0.060, 0.010, 0.025, 0.004, 0.001],
        [0.350, 0.500, 0.060, 0.070, 0.012, 0.008],
    ]
)
COSTS = np.array([500.0, 1200.0, 8000.0, 15000.0, 0.0, 0.0])
UTILS = np.array([0.80, 0.65, 0.55, 0.45, 0.0, 0.0])
INT_COST = 2000.0
ALIVE = np.array([1, 1, 1, 1, 0, 0], dtype=float)


def _params_to_arrays(p_uc, int_rows, costs, utils, int_cost):
    """Leading sample axis on every input; returns P_mats, V_mats."""
    n = p_uc.shape[0]
    P = np.empty((n, 2, S, S))
    P[:, 0] = p_uc
    P[:, 1] = p_uc
    P[:, 1, :2] = int_rows
    V = np.zeros((n, 2, S, R))
    V[:, 0, :, 0] = costs
    V[:, 0, :, 1] = utils * 0.25
    V[:, 1] = V[:, 0]
    V[:, 1, :, 0] += int_cost[:, None] * ALIVE
    return P, V


def maps_and_weights():
    """P_map, V_map (identical) and W for beginning-of-cycle counting."""
    pmap = np.zeros((N_STRAT, T), np.int64)
    pmap[1, :N_INTERVENTION_CYCLES] = 1
    W = np.zeros((2, 3, R, T))
    t = np.arange(T)
    W[0, 0] = 1.035 ** (-0.25 * t)
    W[1, 0] = 1.0
    return pmap, pmap.copy(), W


def base_case():
    """Deterministic arrays (sample axis of length 1)."""
    P, V = _params_to_arrays(P_UC[None], INT_ROWS[None], COSTS[None], UTILS[None], np.array([INT_COST]))
    pmap, vmap, W = maps_and_weights()
    return P, pmap, V, vmap, W


def psa_draws(n_samples: int, seed: int = 2024):
    """PSA arrays: Dirichlet(100 x row) rows, gamma(shape 25) costs, beta(SD 0.05) utilities."""
    g = np.random.default_rng(np.random.SeedSequence(seed))
    p_uc = np.broadcast_to(P_UC, (n_samples, S, S)).copy()
    for i in range(4):
        p_uc[:, i] = g.dirichlet(100.0 * P_UC[i], size=n_samples)
    int_rows = np.stack([g.dirichlet(100.0 * INT_ROWS[i], size=n_samples) for i in range(2)], axis=1)
    shape = 25.0
    costs = np.zeros((n_samples, S))
    costs[:, :4] = g.gamma(shape, COSTS[:4] / shape, size=(n_samples, 4))
    int_cost = g.gamma(shape, INT_COST / shape, size=n_samples)
    sd = 0.05
    m = UTILS[:4]
    k = m * (1 - m) / sd**2 - 1
    utils = np.zeros((n_samples, S))
    utils[:, :4] = g.beta(m * k, (1 - m) * k, size=(n_samples, 4))
    P, V = _params_to_arrays(p_uc, int_rows, costs, utils, int_cost)
    pmap, vmap, W = maps_and_weights()
    return P, pmap, V, vmap, W


def cohort_expectation(P, pmap, V, vmap, W):
    """Exact expected per-person totals [n_samp, n_strat, R, 2] by the cohort trace."""
    n = P.shape[0]
    out = np.zeros((n, N_STRAT, R, 2))
    for s in range(N_STRAT):
        m = np.zeros((n, S))
        m[:, 0] = 1.0
        for k in range(1, T + 1):
            Vk = V[np.arange(n), vmap[s, k - 1]]  # [n, S, R]
            a = W[:, 0, :, k - 1]  # [2, R]
            val = np.einsum("ns,nsr->nr", m, Vk)
            out[:, s] += val[:, :, None] * a.T[None]
            m_new = np.einsum("ns,nst->nt", m, P[np.arange(n), pmap[s, k - 1]])
            b = W[:, 1, :, k - 1]
            out[:, s] += np.einsum("ns,nsr->nr", m_new, Vk)[:, :, None] * b.T[None]
            m = m_new
    return out


def event_arrays(n_events: int = 8, n_counters: int = 2, seed: int = 7):
    """Keyword arguments for heecon.engine.microsim.cpu.simulate adding `n_events` Poisson event types.

    Rates per cycle 0.02-0.4 in the four alive states (0 when dead), a cost per occurrence,
    each event type increments one of `n_counters` history counters, and the counters raise the
    rates of later events a little (log rate ratio 0.01 per previous occurrence); the intervention
    lowers the rates by 20% in its four cycles.
    """
    g = np.random.default_rng(seed)
    E, K = n_events, n_counters
    ev_rate = np.zeros((1, 1, S, E))
    ev_rate[0, 0, :4] = g.uniform(0.02, 0.4, size=(4, E))
    ev_reward = np.zeros((1, E, R))
    ev_reward[0, :, 0] = g.uniform(50, 2000, size=E)
    ev_counter = np.zeros((E, K), np.int64)
    ev_counter[np.arange(E), np.arange(E) % K] = 1
    ev_gamma = np.full((1, E, K), 0.01)
    ev_rr = np.ones((1, N_STRAT, T, E))
    ev_rr[0, 1, :N_INTERVENTION_CYCLES] = 0.8
    return dict(ev_rate=ev_rate, ev_reward=ev_reward, ev_counter=ev_counter, ev_gamma=ev_gamma, ev_rr=ev_rr,
                ev_kind=np.zeros(E, np.int64))
