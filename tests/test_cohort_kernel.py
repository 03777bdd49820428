"""Cohort kernel against the NumPy reference, and its invariants (unit tier)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heecon.model.weights import cycle_weights
from heecon.engine.cohort import run_cohort
from heecon.scenario.types import DiscountSchedule

from .reference_cohort import total, trace

METHODS = ["end", "beginning", "all-points", "half-cycle", "simpson", "life-table"]


def random_model(rng: np.random.Generator, S: int, n_absorbing: int = 1):
    P = rng.dirichlet(np.ones(S), size=S)
    for a in range(S - n_absorbing, S):
        P[a] = 0
        P[a, a] = 1
    return P


def kernel_totals(P_by_cycle, m0, v, rate, method, continuous=False, dt=1.0):
    T, S, _ = P_by_cycle.shape
    W = np.zeros((2, 3, 1, T))
    sched = DiscountSchedule.constant(rate)
    disc = "continuous" if continuous else "discrete"
    W[0, :, 0] = cycle_weights(method, T, dt, sched, disc)
    W[1, :, 0] = cycle_weights(method, T, dt, DiscountSchedule.constant(0.0), disc)
    P = P_by_cycle[None]
    P_map = np.arange(T)[None]
    V = np.broadcast_to(v[None, None, :, None], (1, 1, S, 1)).copy()
    TR = np.zeros((1, 1, S, S, 1))
    out = run_cohort(P, P_map, V, np.zeros_like(P_map), TR, np.zeros_like(P_map), m0[None, None], W)
    return out


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("continuous", [False, True])
def test_kernel_matches_numpy_reference_for_every_convention(method, continuous):
    rng = np.random.default_rng(1)
    S, T = 5, 17  # T odd on purpose: Simpson applied as DARTH does
    P_by_cycle = np.stack([random_model(rng, S) for _ in range(T)])
    m0 = rng.dirichlet(np.ones(S))
    v = rng.uniform(0, 100, S)
    out = kernel_totals(P_by_cycle, m0, v, 0.035, method, continuous, dt=0.25)
    m = trace(P_by_cycle, m0)
    np.testing.assert_allclose(out.trace[0, 0], m, rtol=1e-12, atol=1e-14)
    ref = total(m, v, 0.035, method, continuous, dt=0.25)
    assert out.totals[0, 0, 0, 0] == pytest.approx(ref, rel=1e-12)
    assert out.totals[0, 0, 0, 1] == pytest.approx(total(m, v, 0.0, method), rel=1e-12)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), S=st.integers(2, 7), T=st.integers(1, 30))
def test_trace_rows_sum_to_one_and_absorbing_mass_never_decreases(seed, S, T):
    rng = np.random.default_rng(seed)
    P_by_cycle = np.stack([random_model(rng, S) for _ in range(T)])
    m0 = rng.dirichlet(np.ones(S))
    out = kernel_totals(P_by_cycle, m0, np.ones(S), 0.0, "end")
    tr = out.trace[0, 0]
    np.testing.assert_allclose(tr.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all(np.diff(tr[:, -1]) >= -1e-15)


def test_sample_and_cycle_axes_broadcast_without_copies():
    """A sample axis of length 1 serves every sample; per-sample rewards give per-sample totals."""
    rng = np.random.default_rng(3)
    S, T, n = 4, 10, 300
    P = random_model(rng, S)[None, None]
    V = rng.uniform(0, 10, (n, 1, S, 1))
    W = np.ones((2, 3, 1, T))
    W[:, 0] = 0
    W[:, 2] = 0
    m0 = np.zeros((1, 1, S))
    m0[0, 0, 0] = 1
    zmap = np.zeros((1, T), dtype=np.int64)
    out = run_cohort(P, zmap, V, zmap, np.zeros((1, 1, S, S, 1)), zmap, m0, W, n_keep=0)
    m = trace(np.repeat(P[0], T, axis=0), m0[0, 0])
    expected = m[1:].sum(axis=0) @ V[:, 0, :, 0].T
    np.testing.assert_allclose(out.totals[:, 0, 0, 0], expected, rtol=1e-12)


def test_parallel_and_serial_kernels_agree_bit_for_bit():
    from heecon.engine import cohort

    rng = np.random.default_rng(5)
    S, T, n = 6, 40, 100
    P = np.stack([np.stack([random_model(rng, S)]) for _ in range(n)])
    zmap = np.zeros((1, T), dtype=np.int64)
    V = rng.uniform(0, 1, (n, 1, S, 2))
    W = rng.uniform(0, 1, (2, 3, 2, T))
    m0 = np.full((1, 1, S), 1 / S)
    TR = np.zeros((1, 1, S, S, 2))
    a = run_cohort(P, zmap, V, zmap, TR, zmap, m0, W)
    old = cohort.PARALLEL_MIN_JOBS
    try:
        cohort.PARALLEL_MIN_JOBS = 10**9
        b = run_cohort(P, zmap, V, zmap, TR, zmap, m0, W)
    finally:
        cohort.PARALLEL_MIN_JOBS = old
    assert np.array_equal(a.totals, b.totals)


def test_wrapper_rejects_inconsistent_shapes():
    with pytest.raises(ValueError, match="reward axes"):
        run_cohort(np.eye(2)[None, None], np.zeros((1, 3), np.int64), np.zeros((1, 1, 2, 1)), np.zeros((1, 3), np.int64),
                   np.zeros((1, 1, 2, 2, 1)), np.zeros((1, 3), np.int64), np.ones((1, 1, 2)) / 2, np.zeros((2, 3, 2, 3)))


@pytest.mark.parametrize("method", METHODS)
def test_numpy_twin_for_small_runs_agrees_with_the_kernel(method):
    """Tiny runs skip numba's start-up with a NumPy twin of the kernel; both must give the same numbers."""
    rng = np.random.default_rng(9)
    S, T = 5, 12
    P = np.stack([random_model(rng, S) for _ in range(3)])[None]
    P_map = np.array([[0] * T, [1] * 4 + [2] * (T - 4)], dtype=np.int64)
    V = rng.uniform(0, 50, (1, 3, S, 2))
    TR = rng.uniform(0, 5, (1, 3, S, S, 2))
    W = np.zeros((2, 3, 2, T))
    W[0] = cycle_weights(method, T, 0.25, DiscountSchedule.constant(0.035))[:, None, :]
    W[1] = cycle_weights(method, T, 0.25, DiscountSchedule.constant(0.0))[:, None, :]
    m0 = np.zeros((1, 2, S))
    m0[..., 0] = 1
    a = run_cohort(P, P_map, V, P_map, TR, P_map, m0, W, small_numpy=True)
    b = run_cohort(P, P_map, V, P_map, TR, P_map, m0, W)
    np.testing.assert_allclose(a.totals, b.totals, rtol=1e-13)
    np.testing.assert_allclose(a.trace, b.trace, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(a.per_cycle, b.per_cycle, rtol=1e-12, atol=1e-13)
