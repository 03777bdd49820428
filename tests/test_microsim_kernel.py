"""Microsimulation kernel (heecon.engine.microsim.cpu): determinism, common random numbers, the NumPy
reference, the counter-based RNG, events, covariates, tunnels and treatment engagement (unit tier),
and Krijkamp et al. 2018 within 4 Monte Carlo standard errors (published tier)."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
from scipy import stats

from heecon.engine.microsim import rng
from heecon.engine.microsim.fixedpoint import fx_combine, fx_to_float
from heecon.engine.microsim.cpu import MicrosimResult, combine, simulate

from .reference_microsim import simulate_reference

# ---------------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------------


def krijkamp():
    """Krijkamp et al. 2018 (oracles README §3): H, S1, S2, D; 30 cycles; discount 1.03^-t at t = 0..30,
    all points, no correction (a_1 = d_0 for point 0, b_k = d_k); rewards columns costs, QALYs."""
    r_hd = -math.log(1 - 0.005)
    p_s1d = 1 - math.exp(-3 * r_hd)
    p_s2d = 1 - math.exp(-10 * r_hd)
    P = np.array([
        [1 - 0.15 - 0.005, 0.15, 0.0, 0.005],
        [0.5, 1 - 0.5 - 0.105 - p_s1d, 0.105, p_s1d],
        [0.0, 0.0, 1 - p_s2d, p_s2d],
        [0.0, 0.0, 0.0, 1.0],
    ])
    T = 30
    V = np.zeros((1, 2, 4, 2))
    V[0, 0, :, 0] = [2000, 4000, 15000, 0]
    V[0, 0, :, 1] = [1, 0.75, 0.5, 0]
    V[0, 1, :, 0] = [2000, 4000 + 12000, 15000 + 12000, 0]
    V[0, 1, :, 1] = [1, 0.95, 0.5, 0]
    W = np.zeros((2, 3, 2, T))
    d = 1.03 ** -np.arange(T + 1)
    W[0, 0, :, 0] = d[0]
    W[0, 1] = d[1:]
    W[1, 0, :, 0] = 1.0
    W[1, 1] = 1.0
    P_map = np.zeros((2, T), np.int64)
    V_map = np.zeros((2, T), np.int64)
    V_map[1] = 1
    return P[None, None], P_map, V, V_map, W


KRIJKAMP_EXACT = {0: (75976.1491, 15.838848), 1: (141623.0282, 16.400406)}


def small_model(seed=0, S=5, T=12, n_strat=2, R=3, n_samp=3):
    """A random time-varying model (sample axis on P and V) with transition rewards."""
    g = np.random.default_rng(seed)
    P = g.dirichlet(np.ones(S), size=(n_samp, 3, S))
    P[:, :, S - 1] = 0
    P[:, :, S - 1, S - 1] = 1
    P[:, :, 1, 3] = 0  # a zero inside a row
    P[:, :, 1] /= P[:, :, 1].sum(-1, keepdims=True)
    kw = dict(
        P_mats=P,
        P_map=g.integers(0, 3, size=(n_strat, T)),
        V_mats=g.normal(size=(n_samp, 2, S, R)) * 100,
        V_map=g.integers(0, 2, size=(n_strat, T)),
        W=g.uniform(0, 1, size=(2, 3, R, T)),
        start_probs=g.dirichlet(np.ones(S), size=(1, n_strat)),
        TR_mats=g.normal(size=(1, 2, S, S, R)),
        TR_map=g.integers(0, 2, size=(n_strat, T)),
    )
    return kw


def full_features(kw, n, seed=1, A=2, K=2, E=3):
    """Add covariates, counters, time in state, events (Poisson incl. a large mean, Bernoulli, a move)
    and treatment engagement to a small_model."""
    g = np.random.default_rng(seed)
    n_samp, _, S, _ = kw["P_mats"].shape
    n_strat, T = kw["P_map"].shape
    R = kw["V_mats"].shape[3]
    beta = np.zeros((1, S, S, A))
    beta[0, 0, 1] = [0.5, -0.3]
    beta[0, 1, 2] = [0.2, 0.1]
    gamma = np.zeros((1, S, S, K))
    gamma[0, 0, 2] = [0.3, 0.0]
    tis = np.ones((S, S, 3))
    tis[0, 1] = [1.0, 0.8, 0.5]
    comp = np.arange(S)
    comp[2] = -1
    trc = np.zeros((S, S, K))
    trc[0, 1, 1] = 1
    ev_rate = g.uniform(0, 0.5, size=(n_samp, 2, S, E))
    ev_rate[:, :, S - 1] = 0
    ev_rate[:, :, 0, 2] = 40.0  # a Poisson mean above POISSON_PIECE
    out = dict(kw)
    out.update(
        X=g.normal(size=(n, A)), beta_tr=beta, gamma_tr=gamma, tis_tr=tis, comp_col=comp, tr_counter=trc,
        ev_rate=ev_rate, ev_map=g.integers(0, 2, size=(n_strat, T)), ev_kind=np.array([0, 1, 0]),
        ev_beta=np.array([[[0.4, 0.0], [0.0, 0.0], [0.0, 0.0]]]),
        ev_gamma=np.array([[[0.0, 0.0], [0.1, 0.2], [0.0, 0.0]]]),
        ev_rr=g.uniform(0.5, 1.0, size=(1, n_strat, T, E)), ev_reward=g.normal(size=(1, E, R)),
        ev_counter=np.array([[1, 0], [0, 1], [0, 0]]), ev_move_state=np.array([3, -1, -1]),
        ev_move_prob=np.array([[0.5, 0, 0]]), ev_move_keep=np.eye(S, dtype=np.int64)[S - 1],
        eng_sessions=np.where(np.arange(T)[None, :] < 6, [[0.0], [2.5]], 0.0),
        eng_dropout=np.array([[0.0, 0.1]]), eng_ab=np.array([[[1.0, 1.0], [2.0, 0.7]]]),
        eng_cost_per_session=np.array([[[0.0] * R, [10.0] + [0.0] * (R - 1)]]),
        eng_cost_per_place=np.array([[[0.0] * R, [3.0] + [0.0] * (R - 1)]]),
        eng_mode=np.array([0, 1]), eng_eligible=np.array([1, 1, 1, 0, 0]),
    )
    return out


def same(a: MicrosimResult, b: MicrosimResult) -> bool:
    return (np.array_equal(a.acc, b.acc) and np.array_equal(a.ev_count, b.ev_count)
            and np.array_equal(a.occupancy, b.occupancy) and np.array_equal(a.cycle_rewards_fx, b.cycle_rewards_fx)
            and np.array_equal(a.cycle_events, b.cycle_events))


# ---------------------------------------------------------------------------------------------------
# The counter-based RNG
# ---------------------------------------------------------------------------------------------------


def test_rng_numba_and_numpy_twins_agree():
    @numba.njit
    def draw(seed, s, i, c, kind, idx):
        k = rng.individual_key(rng.sample_key(rng.seed_key(seed), s), i)
        return rng.uniform(k, c, kind, idx)

    for args in [(0, 0, 0, 0, 0, 0), (2**64 - 1, 999, 123456, 40, 1, 0), (7, 3, 5, 2, 2, 12345)]:
        assert draw(np.uint64(args[0]), *args[1:]) == rng.uniforms_np(*args)


def test_rng_uniformity_chi_square_and_ks():
    n = 400_000
    ind = np.arange(n)
    u = rng.uniforms_np(12345, 0, ind, 1, rng.KIND_TRANSITION, 0)
    assert u.min() >= 0.0 and u.max() < 1.0
    counts = np.bincount((u * 1000).astype(int), minlength=1000)
    assert stats.chisquare(counts).pvalue > 1e-4
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    # along cycles for one individual, and along samples
    u_cyc = rng.uniforms_np(1, 0, 17, np.arange(1, 200_001), rng.KIND_TRANSITION, 0)
    assert stats.kstest(u_cyc, "uniform").pvalue > 1e-4
    u_smp = rng.uniforms_np(1, np.arange(200_000), 17, 1, rng.KIND_TRANSITION, 0)
    assert stats.kstest(u_smp, "uniform").pvalue > 1e-4
    # pairs (u_i, u_{i+1}) fill the unit square evenly (serial test, 20 x 20 cells)
    cells = (u[:-1:2] * 20).astype(int) * 20 + (u[1::2] * 20).astype(int)
    assert stats.chisquare(np.bincount(cells, minlength=400)).pvalue > 1e-4
    # every one of the 53 bits is balanced
    bits = (u * 2.0**53).astype(np.uint64)
    ones = np.array([((bits >> np.uint64(b)) & np.uint64(1)).sum() for b in range(53)])
    assert np.all(np.abs(ones - n / 2) < 5 * math.sqrt(n / 4))


def test_rng_neighbouring_keys_are_uncorrelated():
    n = 200_000
    lim = 5 / math.sqrt(n)
    i = np.arange(n)
    base = rng.uniforms_np(9, 4, i, 3, rng.KIND_TRANSITION, 0)
    neighbours = {
        "next individual": rng.uniforms_np(9, 4, i + 1, 3, rng.KIND_TRANSITION, 0),
        "next cycle": rng.uniforms_np(9, 4, i, 4, rng.KIND_TRANSITION, 0),
        "next sample": rng.uniforms_np(9, 5, i, 3, rng.KIND_TRANSITION, 0),
        "next seed": rng.uniforms_np(10, 4, i, 3, rng.KIND_TRANSITION, 0),
        "next stream": rng.uniforms_np(9, 4, i, 3, rng.KIND_EVENT_COUNT, 0),
        "next index": rng.uniforms_np(9, 4, i, 3, rng.KIND_TRANSITION, 1),
    }
    for name, other in neighbours.items():
        r = np.corrcoef(base, other)[0, 1]
        assert abs(r) < lim, name
        assert not np.any(base == other), name


# ---------------------------------------------------------------------------------------------------
# Exact accumulation
# ---------------------------------------------------------------------------------------------------


def test_fixed_point_sums_are_exact_and_order_free():
    from heecon.engine.microsim.fixedpoint import fx_add, normalise

    @numba.njit
    def acc_of(values):
        a = np.zeros(2, np.int64)
        for v in values:
            fx_add(a, 0, v)
        normalise(a)
        return a

    g = np.random.default_rng(3)
    v = np.concatenate([g.normal(0, 1e5, 5000), g.normal(0, 1e-3, 5000), -g.uniform(0, 1, 100)])
    a = acc_of(v)
    b = acc_of(v[g.permutation(v.size)])
    c = fx_combine(acc_of(v[:3000]), acc_of(v[3000:]))
    assert np.array_equal(a, b) and np.array_equal(a, c)
    assert fx_to_float(a, 0) == pytest.approx(math.fsum(v), abs=v.size * 2.0**-40)


# ---------------------------------------------------------------------------------------------------
# Determinism: threads, chunks, blocks
# ---------------------------------------------------------------------------------------------------


@pytest.fixture
def restore_threads():
    n = numba.get_num_threads()
    yield
    numba.set_num_threads(n)


@pytest.mark.parametrize("features", [False, True], ids=["plain", "all-features"])
def test_same_bits_with_one_and_two_threads(features, restore_threads):
    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("needs 2 numba threads")
    n = 3000
    kw = small_model()
    if features:
        kw = full_features(kw, n)
    out = []
    for threads in (1, 2):
        numba.set_num_threads(threads)
        out.append(simulate(n_ind=n, seed=42, n_keep=2, n_traj=50, **kw))
    assert same(out[0], out[1])
    assert np.array_equal(out[0].trajectories, out[1].trajectories)


@pytest.mark.parametrize("features", [False, True], ids=["plain", "all-features"])
def test_same_bits_for_any_chunking_of_individuals_and_samples(features):
    n = 4000
    kw = small_model()
    if features:
        kw = full_features(kw, n)
    whole = simulate(n_ind=n, seed=7, n_keep=3, **kw)
    # individuals [0, 1500) and [1500, 4000), and odd block sizes
    parts = []
    for lo, hi in [(0, 1500), (1500, n)]:
        kwp = dict(kw)
        for name in ("X",):
            if name in kwp:
                kwp[name] = kw[name][lo:hi]
        parts.append(simulate(n_ind=hi - lo, ind_offset=lo, seed=7, n_keep=3, **kwp))
    assert same(combine(parts[::-1], over="individuals"), whole)
    assert same(simulate(n_ind=n, seed=7, n_keep=3, block_size=333, **kw), whole)
    # samples [0, 1) and [1, 3) of the sample axis
    sparts = []
    for lo, hi in [(0, 1), (1, 3)]:
        kws = {k: (v[lo:hi] if k in ("P_mats", "V_mats", "ev_rate") else v) for k, v in kw.items()}
        sparts.append(simulate(n_ind=n, n_samples=hi - lo, sample_offset=lo, seed=7, n_keep=3, **kws))
    joined = combine(sparts, over="samples")
    assert np.array_equal(joined.acc, whole.acc) and np.array_equal(joined.ev_count, whole.ev_count)
    assert np.array_equal(joined.occupancy[:3], whole.occupancy)


def test_seed_changes_results_and_repeats_exactly():
    kw = small_model()
    a = simulate(n_ind=2000, seed=1, **kw)
    assert same(a, simulate(n_ind=2000, seed=1, **kw))
    assert not np.array_equal(a.acc, simulate(n_ind=2000, seed=2, **kw).acc)


def test_kept_samples_and_trajectories_do_not_change_totals():
    kw = small_model()
    a = simulate(n_ind=2000, seed=5, **kw)
    b = simulate(n_ind=2000, seed=5, n_keep=3, n_traj=2000, **kw)
    assert np.array_equal(a.acc, b.acc)
    # per-cycle output is consistent with the totals and the trajectories
    assert np.allclose(b.cycle_rewards.sum(axis=2), b.out_sum[:, :, :, 0], rtol=1e-9, atol=1e-6)
    occ0 = (b.trajectories[:, :, :, None] == np.arange(5)).sum(axis=0)
    assert np.array_equal(b.occupancy[0], occ0)
    assert np.all(b.occupancy.sum(axis=3) == 2000)


@pytest.mark.parametrize("R, n_strat", [(2, 2), (1, 2), (2, 3), (3, 2)])
def test_the_two_strategy_fast_block_gives_the_general_paths_bits(R, n_strat):
    # two strategies whose nonzero rewards fit one group of four columns (costs and QALYs, say) and no transition
    # rewards take cpu._block_plain2, which sums the rewards in registers as it walks; every other fast-path model
    # takes _block_plain. Both must give the bits of the general block (forced by per-cycle output and trajectories)
    kw = small_model(seed=4, R=R, n_strat=n_strat, n_samp=3)
    del kw["TR_mats"], kw["TR_map"]
    kw["V_mats"][:, :, :, 0] *= 37.0  # a cost-sized column beside QALY-sized ones
    fast = simulate(n_ind=3000, seed=9, **kw)
    general = simulate(n_ind=3000, seed=9, n_keep=3, n_traj=3000, **kw)
    assert np.array_equal(fast.acc, general.acc)
    assert np.all(fast.out_sum[:, :, :, 0] != 0.0)


# ---------------------------------------------------------------------------------------------------
# Against the NumPy reference
# ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("features, origin_only, tis_only", [(False, False, False), (True, False, False),
                                                             (True, True, False), (True, False, True)],
                         ids=["plain", "all-features", "origin-only-transition-rewards", "time-in-state-rows"])
def test_matches_numpy_reference(features, origin_only, tis_only):
    n, n_samp = 150, 2
    kw = small_model(seed=5, n_samp=n_samp)
    if origin_only:  # rewards of the state a cycle starts in, booked with c_k (the kernel tabulates them)
        kw["TR_mats"] = np.repeat(kw["TR_mats"][:, :, :, :1], kw["TR_mats"].shape[3], axis=3)
    if features:
        kw = full_features(kw, n)
    if tis_only:  # a row that follows the time in state and no counter: the CPU reuses it per time-in-state step
        kw["gamma_tr"] = np.zeros_like(kw["gamma_tr"])
    res = simulate(n_ind=n, n_samples=n_samp, seed=11, sample_offset=3, ind_offset=7, n_keep=n_samp, n_traj=n,
                   **kw)
    ref = simulate_reference(n_ind=n, n_samples=n_samp, seed=11, sample_offset=3, ind_offset=7, **kw)
    assert np.array_equal(res.trajectories, ref["trajectories"][0].transpose(1, 0, 2))
    occ = (ref["trajectories"][..., None] == np.arange(5)).sum(axis=2)
    assert np.array_equal(res.occupancy, occ)
    assert np.array_equal(res.ev_count, ref["events"].sum(axis=2))
    assert np.array_equal(res.cycle_events.sum(axis=2), ref["events"].sum(axis=2))
    tot = ref["totals"]
    assert np.allclose(res.out_sum, tot.sum(axis=2), rtol=1e-10, atol=1e-8)
    assert np.allclose(res.out_sq, (tot**2).sum(axis=2), rtol=1e-9, atol=1e-6)
    d = tot - tot[:, :1]
    assert np.allclose(res.out_dsq, (d**2).sum(axis=2), rtol=1e-9, atol=1e-5)
    assert np.allclose(res.cycle_rewards, ref["cycle_rewards"].sum(axis=2), rtol=1e-10, atol=1e-8)
    if features:  # the features were exercised
        assert res.ev_count.min() > 0
        assert (ref["trajectories"] == 3).any()


# ---------------------------------------------------------------------------------------------------
# Krijkamp et al. 2018: means within 4 SE, common random numbers
# ---------------------------------------------------------------------------------------------------


def test_krijkamp_means_within_4_se_and_crn_shrinks_incremental_error():
    P, P_map, V, V_map, W = krijkamp()
    res = simulate(P, P_map, V, V_map, W, n_ind=100_000, seed=2018)
    mean, se = res.mean[0, :, :, 0], res.se[0, :, :, 0]
    for s, (cost, qaly) in KRIJKAMP_EXACT.items():
        assert abs(mean[s, 0] - cost) < 4 * se[s, 0], (s, mean[s, 0], se[s, 0])
        assert abs(mean[s, 1] - qaly) < 4 * se[s, 1], (s, mean[s, 1], se[s, 1])
    # standard errors of the published size (oracles README: ~183, ~342, ~0.016)
    assert 150 < se[0, 0] < 220 and 290 < se[1, 0] < 400 and 0.012 < se[0, 1] < 0.02
    inc_se = res.incremental_se[0, 1, 1, 0]
    assert inc_se <= min(se[0, 1], se[1, 1]) / 5
    d_exact = KRIJKAMP_EXACT[1][1] - KRIJKAMP_EXACT[0][1]
    assert abs(res.incremental_mean[0, 1, 1, 0] - d_exact) < 4 * inc_se


def test_identical_strategies_share_every_random_number():
    P, P_map, V, V_map, W = krijkamp()
    V2 = V.copy()
    V2[0, 1] = V2[0, 0]
    res = simulate(P, P_map, V2, V_map, W, n_ind=5000, seed=1, n_traj=100)
    assert np.array_equal(res.acc[:, 0, :, :, :2], res.acc[:, 1, :, :, :2])  # sums and sums of squares
    assert np.all(res.out_dsq == 0)
    assert np.array_equal(res.trajectories[:, 0], res.trajectories[:, 1])


def partly_identical_strategies(seed, dynamic):
    """Three strategies that differ in their first cycles (event rate ratios, treatment sessions) and are
    identical after cycle 7, with every feature on; ``dynamic`` keeps counters and time in state acting on
    rates (the kernel must then compare them before it reuses strategy 0's step, where the current row reads them);
    ``"tis"``: time in state only, on one row."""
    T, n_strat = 14, 3
    f = full_features(small_model(seed=seed, n_strat=n_strat, T=T), 600, seed=seed)
    f["eng_sessions"] = np.zeros((n_strat, T))
    f["eng_sessions"][1, :4] = 2.5
    f["eng_mode"] = np.zeros(n_strat, np.int64)
    f["eng_dropout"] = np.array([[0.0, 0.1, 0.0]])
    f["eng_ab"] = np.array([[[1.0, 1.0], [2.0, 0.7], [1.0, 1.0]]])
    f["eng_cost_per_session"] = np.zeros((1, n_strat, 3))
    f["eng_cost_per_session"][0, 1, 0] = 10.0
    f["eng_cost_per_place"] = np.zeros((1, n_strat, 3))
    for key in ("P_map", "ev_map"):
        f[key] = f[key].copy()
        f[key][1:, 5:] = f[key][0, 5:]
    f["ev_rr"] = np.repeat(f["ev_rr"][:, :1], n_strat, axis=1)
    f["ev_rr"][:, 1, :7] *= 0.5
    if not dynamic:
        f["gamma_tr"] = np.zeros_like(f["gamma_tr"])
        f["tis_tr"] = np.ones_like(f["tis_tr"])
        f["ev_gamma"] = np.zeros_like(f["ev_gamma"])
    elif dynamic == "tis":  # time in state acts on one row and nothing else does: the other rows may couple
        f["gamma_tr"] = np.zeros_like(f["gamma_tr"])
        f["ev_gamma"] = np.zeros_like(f["ev_gamma"])
    return f


def one_strategy(kw, s):
    """The keyword arguments of a model with strategy s alone."""
    out = dict(kw)
    for key in ("P_map", "V_map", "TR_map", "ev_map", "eng_sessions", "eng_mode"):
        out[key] = kw[key][s:s + 1]
    for key in ("ev_rr", "start_probs", "eng_dropout", "eng_ab", "eng_cost_per_session", "eng_cost_per_place"):
        out[key] = kw[key][:, s:s + 1]
    return out


@pytest.mark.parametrize("seed, dynamic", [(0, True), (1, False), (2, True), (3, "tis")])
def test_a_strategy_gives_the_same_bits_alone_or_beside_others(seed, dynamic):
    """Where strategies coincide the kernel reuses strategy 0's draws (coupling); a strategy's paths, counts
    and sums must still be exactly those it has when simulated alone."""
    kw = partly_identical_strategies(seed, dynamic)
    both = simulate(n_ind=600, seed=seed, n_keep=1, n_traj=40, **kw)
    for s in range(3):
        alone = simulate(n_ind=600, seed=seed, n_keep=1, n_traj=40, **one_strategy(kw, s))
        assert np.array_equal(both.acc[:, s, :, :, :2], alone.acc[:, 0, :, :, :2])
        assert np.array_equal(both.ev_count[:, s], alone.ev_count[:, 0])
        assert np.array_equal(both.occupancy[:, s], alone.occupancy[:, 0])
        assert np.array_equal(both.cycle_rewards_fx[:, s], alone.cycle_rewards_fx[:, 0])
        assert np.array_equal(both.trajectories[:, s], alone.trajectories[:, 0])
    # the strategies differ early and coincide late: the comparison above is not vacuous
    assert not np.array_equal(both.ev_count[:, 0], both.ev_count[:, 1])


# ---------------------------------------------------------------------------------------------------
# Events, covariates, tunnels, engagement
# ---------------------------------------------------------------------------------------------------


def one_state(T=1, R=1):
    """One state, T cycles, reward column 0 counts nothing by itself (events add to it with weight c_k = 1)."""
    P = np.ones((1, 1, 1, 1))
    V = np.zeros((1, 1, 1, R))
    W = np.zeros((2, 3, R, T))
    W[:, 2] = 1.0
    z = np.zeros((1, T), np.int64)
    return P, z, V, z.copy(), W


@pytest.mark.parametrize("lam", [0.3, 2.5, 75.0])
def test_poisson_counts_have_the_right_mean_and_variance(lam):
    P, pm, V, vm, W = one_state()
    n = 200_000
    res = simulate(P, pm, V, vm, W, n_ind=n, seed=3, ev_rate=np.full((1, 1, 1, 1), lam),
                   ev_reward=np.ones((1, 1, 1)))
    mean = res.ev_count[0, 0, 0] / n
    assert res.mean[0, 0, 0, 0] == pytest.approx(mean)
    var = res.out_sq[0, 0, 0, 0] / n - mean**2
    assert abs(mean - lam) < 4 * math.sqrt(lam / n)
    assert abs(var / lam - 1) < 4 * math.sqrt(2 / n) + 0.01


def test_bernoulli_events_have_probability_one_minus_exp_rate():
    P, pm, V, vm, W = one_state()
    n = 200_000
    res = simulate(P, pm, V, vm, W, n_ind=n, seed=4, ev_rate=np.full((1, 1, 1, 1), 0.4), ev_kind=np.array([1]))
    p = 1 - math.exp(-0.4)
    assert abs(res.ev_count[0, 0, 0] / n - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_covariate_coefficient_log2_doubles_an_event_rate():
    P, pm, V, vm, W = one_state(T=5)
    n = 100_000
    common = dict(ev_rate=np.full((1, 1, 1, 1), 0.2), ev_beta=np.full((1, 1, 1), math.log(2)))
    x0 = simulate(P, pm, V, vm, W, seed=5, X=np.zeros((n, 1)), **common).ev_count[0, 0, 0]
    x1 = simulate(P, pm, V, vm, W, seed=5, X=np.ones((n, 1)), **common).ev_count[0, 0, 0]
    ratio = x1 / x0
    assert abs(ratio - 2) < 4 * 2 * math.sqrt(1 / x0 + 1 / x1)


def test_counters_feed_back_into_event_rates():
    # each occurrence adds 1 to a counter; gamma = log 2 doubles the rate per previous occurrence
    P, pm, V, vm, W = one_state(T=2)
    n = 100_000
    res = simulate(P, pm, V, vm, W, n_ind=n, seed=6, n_keep=1, ev_rate=np.full((1, 1, 1, 1), 0.1),
                   ev_kind=np.array([1]), ev_counter=np.array([[1]]), ev_gamma=np.full((1, 1, 1), math.log(2)))
    p1 = 1 - math.exp(-0.1)
    p2 = 1 - math.exp(-0.2)
    expected_cycle2 = n * (p1 * p2 + (1 - p1) * p1)
    got = res.cycle_events[0, 0, 1, 0]
    assert abs(got - expected_cycle2) < 4 * math.sqrt(expected_cycle2)


def test_transition_hazard_ratio_and_complement():
    # S = 3: from state 0, p(0->1) = 0.2 with HR 2 for x = 1 -> 1 - 0.8**2 = 0.36; complement column 0
    P = np.array([[[[0.7, 0.2, 0.1], [0, 1, 0], [0, 0, 1]]]])
    pm = np.zeros((1, 1), np.int64)
    V = np.zeros((1, 1, 3, 1))
    W = np.zeros((2, 3, 1, 1))
    beta = np.zeros((1, 3, 3, 1))
    beta[0, 0, 1, 0] = math.log(2)
    n = 200_000
    res = simulate(P, pm, V, pm, W, seed=7, X=np.ones((n, 1)), beta_tr=beta, n_keep=1)
    occ = res.occupancy[0, 0, 1] / n
    assert abs(occ[1] - 0.36) < 4 * math.sqrt(0.36 * 0.64 / n)
    assert abs(occ[2] - 0.1) < 4 * math.sqrt(0.09 / n)
    assert abs(occ[0] - 0.54) < 4 * math.sqrt(0.54 * 0.46 / n)


def test_custody_tunnel_duration_is_exact():
    # community (0), custody tunnel C1..C4 (1..4) as a chain with probability 1, dead (5)
    S, T, L = 6, 40, 4
    P = np.zeros((1, 1, S, S))
    P[0, 0, 0] = [0.98, 0, 0, 0, 0, 0.02]
    for c in range(1, L):
        P[0, 0, c, c + 1] = 1.0
    P[0, 0, L, 0] = 1.0
    P[0, 0, 5, 5] = 1.0
    ev_rate = np.zeros((1, 1, S, 1))
    ev_rate[0, 0, 0, 0] = 0.15  # convictions, in the community only
    z = np.zeros((1, T), np.int64)
    n = 3000
    res = simulate(P, z, np.zeros((1, 1, S, 1)), z, np.zeros((2, 3, 1, T)), n_ind=n, seed=8, n_traj=n,
                   ev_rate=ev_rate, ev_kind=np.array([1]), ev_move_state=np.array([1]),
                   ev_move_prob=np.ones((1, 1)), ev_move_keep=np.eye(S, dtype=np.int64)[5])
    spells = 0
    for path in res.trajectories[:, 0]:
        k = 0
        while k <= T:
            if path[k] == 1:
                run = 0
                while k <= T and 1 <= path[k] <= L:
                    assert path[k] == 1 + run  # C1, C2, C3, C4 in order
                    run += 1
                    k += 1
                if k <= T:  # a completed spell lasts exactly L points and ends in the community
                    assert run == L and path[k] == 0
                spells += 1
            else:
                k += 1
    assert spells > 1000
    # every conviction in the community starts a spell unless the person died in that cycle
    assert res.ev_count[0, 0, 0] >= spells


def test_dose_scaled_effect():
    # event rate 0.5 per cycle, strategy rate ratio 0.4; four sessions per cycle
    P, pm, V, vm, W = one_state(T=10)
    pm = np.zeros((1, 10), np.int64)
    n = 100_000
    base = dict(ev_rate=np.full((1, 1, 1, 1), 0.5), ev_rr=np.full((1, 1, 10, 1), 0.4),
                eng_sessions=np.full((1, 10), 4.0), eng_cost_per_session=np.full((1, 1, 1), 25.0))

    def run(mode, prop):
        return simulate(P, pm, V, pm, W, n_ind=n, seed=9, eng_mode=np.array([mode]), eng_propensity=np.full(n, prop),
                        **base)

    itt = run(0, 0.3)
    full = run(1, 1.0)  # dose 1: the full effect, the same draws as intention to treat
    none = run(1, 0.0)  # dose 0: no effect
    no_rr = simulate(P, pm, V, pm, W, n_ind=n, seed=9, **{k: v for k, v in base.items() if k != "ev_rr"})
    assert np.array_equal(itt.ev_count, full.ev_count)
    assert np.array_equal(none.ev_count, no_rr.ev_count)
    # propensity 0.5: E[dose] = 0.5, so the mean rate is 0.5 * (1 - 0.6 * 0.5) = 0.35 per cycle
    half = run(1, 0.5)
    mean = half.ev_count[0, 0, 0] / (n * 10)
    assert abs(mean - 0.35) < 4 * math.sqrt(0.35 / (n * 10)) + 0.002
    # costs follow attendance: 4 sessions x 0.5 x 25 per cycle (the event reward is 0 here)
    assert half.mean[0, 0, 0, 0] == pytest.approx(10 * 4 * 0.5 * 25.0, rel=0.01)


def test_engagement_dropout_and_beta_propensity():
    P, pm, V, vm, W = one_state(T=8, R=2)
    n = 50_000
    res = simulate(P, pm, V, vm, W, n_ind=n, seed=10, eng_sessions=np.full((1, 8), 1.0),
                   eng_dropout=np.full((1, 1), 0.2), eng_ab=np.array([[[2.0, 6.0]]]),
                   eng_cost_per_place=np.array([[[1.0, 0.0]]]), eng_cost_per_session=np.array([[[0.0, 1.0]]]))
    # places: enrolled in cycle k with probability exp(-0.2 k) (dropout before the sessions of each cycle)
    places = sum(math.exp(-0.2 * k) for k in range(1, 9))
    assert res.mean[0, 0, 0, 0] == pytest.approx(places, rel=0.01)
    # sessions attended: one offered per enrolled cycle, attended with the Beta(2, 6) propensity (mean 1/4)
    assert res.mean[0, 0, 1, 0] == pytest.approx(places * 0.25, rel=0.02)


# ---------------------------------------------------------------------------------------------------
# The wrapper
# ---------------------------------------------------------------------------------------------------


def test_wrapper_messages_name_the_array():
    P, P_map, V, V_map, W = krijkamp()
    with pytest.raises(ValueError, match="'W' array must have shape"):
        simulate(P, P_map, V, V_map, W[:, :, :, :5], n_ind=10)
    bad = P.copy()
    bad[0, 0, 1, 1] += 0.1
    with pytest.raises(ValueError, match="'P_mats'.*summing to 1"):
        simulate(bad, P_map, V, V_map, W, n_ind=10)
    with pytest.raises(ValueError, match="'P_map' array must hold indices"):
        simulate(P, P_map + 3, V, V_map, W, n_ind=10)


def test_never_allocates_samples_by_individuals_by_cycles():
    # 50 samples x 20,000 individuals x 30 cycles would be 240 MB as int64; the run needs far less
    import tracemalloc

    P, P_map, V, V_map, W = krijkamp()
    simulate(P, P_map, V, V_map, W, n_ind=10, n_samples=2)
    tracemalloc.start()
    simulate(P, P_map, V, V_map, W, n_ind=20_000, n_samples=50)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 5e6


def test_without_moments_the_means_keep_their_bits_and_the_errors_are_nan():
    """A PSA uses the means only: moments=False skips the squares and changes no sum."""
    kw = full_features(small_model(seed=1), 700, seed=1)
    full = simulate(n_ind=700, seed=1, **kw)
    lean = simulate(n_ind=700, seed=1, moments=False, **kw)
    assert np.array_equal(full.acc[..., 0, :], lean.acc[..., 0, :])
    assert np.array_equal(full.ev_count, lean.ev_count)
    assert np.all(lean.acc[..., 1:, :] == 0)
    assert np.isnan(lean.se).all() and np.isnan(lean.incremental_se).all()
    assert not combine([lean, full], over="samples").moments
