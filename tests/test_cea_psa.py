"""Unit and property tests for heecon.cea.psa and heecon.cea.analysis."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from heecon.cea import (
    analyse_psa,
    breakeven_wtp,
    breakeven_wtp_grid,
    ceac,
    ceaf,
    eib,
    evpi,
    icer_table,
    nhb,
    nmb,
    population_evpi,
    prob_better,
)
from heecon.cea.psa import _psa_kernel

# ----------------------------------------------------------------------------- slow references


def _slow_ceac_evpi(c, e, wtp):
    """Loop over WTP and draws; ties split evenly; EVPI from its definition."""
    n, k = c.shape
    out_ceac = np.zeros((len(wtp), k))
    out_evpi = np.zeros(len(wtp))
    for i, lam in enumerate(wtp):
        v = lam * e - c
        for d in range(n):
            winners = np.flatnonzero(v[d] == v[d].max())
            out_ceac[i, winners] += 1.0 / len(winners) / n
        out_evpi[i] = v.max(axis=1).mean() - v.mean(axis=0).max()
    return out_ceac, out_evpi


def _draws(seed=1, n=400, k=3):
    rng = np.random.default_rng(seed)
    c = rng.normal([1000.0, 1500.0, 2500.0][:k] + [3000.0] * max(0, k - 3), 300.0, size=(n, k))
    e = rng.normal([1.0, 1.05, 1.1][:k] + [1.12] * max(0, k - 3), 0.05, size=(n, k))
    return c, e


# ----------------------------------------------------------------------------- net benefit


def test_nmb_nhb_values_and_shapes():
    c = np.array([[10.0, 20.0], [30.0, 40.0]])
    e = np.array([[1.0, 2.0], [3.0, 4.0]])
    assert np.array_equal(nmb(c, e, 100.0), 100.0 * e - c)
    out = nmb(c, e, [0.0, 100.0])
    assert out.shape == (2, 2, 2)
    assert np.array_equal(out[1], 100.0 * e - c)
    assert nmb(c[0], e[0], np.array([1.0, 2.0, 3.0])).shape == (3, 2)
    assert np.allclose(nhb(c, e, 10.0), e - c / 10.0)
    assert nhb(c, e, [10.0, 20.0]).shape == (2, 2, 2)
    assert np.allclose(nhb(c, e, 10.0) * 10.0, nmb(c, e, 10.0))
    with pytest.raises(ValueError, match="must be > 0"):
        nhb(c, e, [10.0, 0.0])


# ----------------------------------------------------------------------------- CEAC / CEAF / EVPI


def test_ceac_evpi_match_slow_reference():
    c, e = _draws()
    wtp = np.array([0.0, 5000.0, 10000.0, 20000.0, 50000.0])
    ref_ceac, ref_evpi = _slow_ceac_evpi(c, e, wtp)
    np.testing.assert_allclose(ceac(c, e, wtp), ref_ceac, atol=1e-12)
    np.testing.assert_allclose(evpi(c, e, wtp), ref_evpi, rtol=1e-10, atol=1e-9)


def test_chunking_does_not_change_results():
    c, e = _draws(n=300)
    wtp = np.linspace(0, 60000, 37)
    full = _psa_kernel(c, e, wtp, max_elements=10**9)
    for m in (1, 900, 5000):
        parts = _psa_kernel(c, e, wtp, max_elements=m)
        for a, b in zip(full, parts):
            np.testing.assert_array_equal(a, b)


def test_scalar_wtp_returns_scalars():
    c, e = _draws(n=50)
    assert ceac(c, e, 1000.0).shape == (3,)
    assert isinstance(evpi(c, e, 1000.0), float)
    f = ceaf(c, e, 1000.0)
    assert isinstance(f.optimal, int) and isinstance(f.probability, float)
    assert isinstance(eib(c, e, 1000.0, 0, 1), float)
    assert isinstance(prob_better(c, e, 1000.0, 0, 1), float)


def test_ceac_ties_split_evenly():
    # identical costs at WTP 0: every draw is a two-way tie
    c = np.array([[5.0, 5.0], [7.0, 7.0]])
    e = np.array([[1.0, 2.0], [2.0, 1.0]])
    np.testing.assert_array_equal(ceac(c, e, 0.0), [0.5, 0.5])
    np.testing.assert_array_equal(ceac(c, e, [0.0, 1.0]), [[0.5, 0.5], [0.5, 0.5]])


def test_ceaf_ties_go_to_first_column_and_probability_is_its_ceac():
    c = np.array([[5.0, 5.0], [7.0, 7.0]])
    e = np.array([[1.0, 2.0], [2.0, 1.0]])
    f = ceaf(c, e, [0.0, 10.0])
    assert f.optimal.tolist() == [0, 0]
    np.testing.assert_array_equal(f.probability, [0.5, 0.5])
    c2, e2 = _draws()
    wtp = np.linspace(0, 50000, 11)
    f2 = ceaf(c2, e2, wtp)
    exp_opt = (wtp[:, None] * e2.mean(0) - c2.mean(0)).argmax(axis=1)
    assert f2.optimal.tolist() == exp_opt.tolist()
    np.testing.assert_allclose(f2.probability, ceac(c2, e2, wtp)[np.arange(11), exp_opt])


def test_evpi_zero_when_one_strategy_always_best():
    c = np.array([[1.0, 2.0], [1.5, 3.0], [0.5, 9.0]])
    e = np.array([[2.0, 1.0], [2.0, 1.5], [3.0, 1.0]])
    np.testing.assert_array_equal(evpi(c, e, [0.0, 10.0, 1e4]), [0.0, 0.0, 0.0])


def test_single_strategy():
    c = np.array([[1.0], [2.0]])
    e = np.array([[1.0], [1.0]])
    assert ceac(c, e, 5.0).tolist() == [1.0]
    assert evpi(c, e, 5.0) == 0.0
    r = analyse_psa(c, e, ["only"], [0.0, 1.0])
    assert r.icers["status"].tolist() == ["ref"]
    assert r.breakeven.empty and r.breakeven_grid.empty


finite = st.floats(min_value=-1e4, max_value=1e4, allow_nan=False, allow_infinity=False)


@st.composite
def psa_draws(draw):
    n = draw(st.integers(1, 30))
    k = draw(st.integers(1, 5))
    c = draw(arrays(np.float64, (n, k), elements=finite))
    e = draw(arrays(np.float64, (n, k), elements=st.floats(-10, 10)))
    wtp = draw(arrays(np.float64, draw(st.integers(1, 6)), elements=st.floats(0, 1e5)))
    return c, e, wtp


@settings(max_examples=40, deadline=None)
@given(psa_draws())
def test_property_ceac_rows_sum_to_one_and_evpi_nonnegative(case):
    c, e, wtp = case
    p = ceac(c, e, wtp)
    assert p.shape == (wtp.size, c.shape[1])
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    assert np.all(p >= 0)
    assert np.all(evpi(c, e, wtp) >= 0)
    f = ceaf(c, e, wtp)
    assert np.all((f.probability >= 0) & (f.probability <= 1))


@settings(max_examples=40, deadline=None)
@given(psa_draws())
def test_property_kernel_matches_slow_reference(case):
    c, e, wtp = case
    ref_ceac, ref_evpi = _slow_ceac_evpi(c, e, wtp)
    np.testing.assert_allclose(ceac(c, e, wtp), ref_ceac, atol=1e-12)
    np.testing.assert_allclose(evpi(c, e, wtp), np.maximum(ref_evpi, 0), rtol=1e-9, atol=1e-6)


def test_performance_10000_draws_3_strategies_1000_wtp():
    rng = np.random.default_rng(0)
    c = rng.normal(1e4, 2e3, size=(10_000, 3))
    e = rng.normal(10.0, 1.0, size=(10_000, 3))
    wtp = np.linspace(0, 2e5, 1000)
    t0 = time.perf_counter()
    res = analyse_psa(c, e, ["a", "b", "c"], wtp)
    elapsed = time.perf_counter() - t0
    assert res.ceac.shape == (1000, 3)
    assert elapsed < 5.0, f"analyse_psa took {elapsed:.2f} s"  # about 0.15 s on a laptop


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "costs, effects, wtp, match",
    [
        (np.ones(3), np.ones(3), 1.0, r"'costs' draws must be a 2-D array"),
        (np.ones((3, 2)), np.ones((3, 3)), 1.0, r"same shape.*\(3, 2\) and \(3, 3\)"),
        (np.ones((0, 2)), np.ones((0, 2)), 1.0, r"at least one draw"),
        (np.array([[1.0, np.nan]]), np.ones((1, 2)), 1.0, r"'costs' draws must be finite.*draw 0, strategy 1"),
        (np.ones((2, 2)), np.ones((2, 2)), [1.0, np.inf], r"'wtp' values must be finite"),
        (np.ones((2, 2)), np.ones((2, 2)), [], r"non-empty"),
        (np.ones((2, 2)), np.ones((2, 2)), "abc", r"'wtp' must be a number"),
    ],
)
def test_invalid_psa_input(costs, effects, wtp, match):
    with pytest.raises(ValueError, match=match):
        ceac(costs, effects, wtp)


def test_invalid_strategy_index():
    c, e = _draws(n=5)
    with pytest.raises(ValueError, match=r"'comparator' must be a strategy column index in \[0, 3\)"):
        eib(c, e, 0.0, 0, 7)
    with pytest.raises(ValueError, match="'ref' must be one of"):
        analyse_psa(c, e, ["a", "b", "c"], [0.0], ref="zzz")
    with pytest.raises(ValueError, match="one name per strategy"):
        analyse_psa(c, e, ["a", "b"], [0.0])


# ----------------------------------------------------------------------------- population EVPI


def test_population_evpi_annuity_formula():
    # r = 0: EVPI * N * T
    assert population_evpi(2.0, 1000, 10, 0.0) == pytest.approx(20000.0)
    r, t, n = 0.035, 10, 5000
    annuity = (1 - (1 + r) ** -t) / r
    assert population_evpi(3.0, n, t, r) == pytest.approx(3.0 * n * annuity, rel=1e-12)
    assert population_evpi(3.0, n, t, r, timing="start") == pytest.approx(3.0 * n * annuity * (1 + r), rel=1e-12)
    pops = np.array([100.0, 200.0, 300.0])
    exp = 1.5 * sum(p / (1 + r) ** (i + 1) for i, p in enumerate(pops))
    assert population_evpi(1.5, pops, 3, r) == pytest.approx(exp, rel=1e-12)
    arr = population_evpi(np.array([1.0, 2.0]), n, t, r)
    np.testing.assert_allclose(arr, np.array([1.0, 2.0]) * n * annuity)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"years": 0}, "'years' must be a whole number >= 1"),
        ({"years": 2.5}, "'years' must be a whole number"),
        ({"discount_rate": 3.5}, r"'discount_rate' must be a number in \[0, 1\). Got 3.5"),
        ({"discount_rate": -0.1}, "discount_rate"),
        ({"timing": "middle"}, "'timing' must be 'end' or 'start'"),
        ({"population_per_year": [1.0, 2.0]}, "one value per year"),
        ({"population_per_year": -1.0}, ">= 0"),
    ],
)
def test_population_evpi_validation(kwargs, match):
    args = {"evpi_per_person": 1.0, "population_per_year": 10.0, "years": 5, "discount_rate": 0.03}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        population_evpi(**args)


# ----------------------------------------------------------------------------- break-even


def test_breakeven_exact_equals_frontier_icers():
    costs = np.array([55000, 35000, 25000, 10000, 12000, 5000.0])
    effects = np.array([5, 4, 3, 2, 1.5, 1.0])
    names = ["E", "D", "C", "B", "A", "UC"]
    be = breakeven_wtp(costs, effects, names=names)
    assert be["wtp"].tolist() == [5000.0, 12500.0, 20000.0]
    assert be["from"].tolist() == ["UC", "B", "D"]
    assert be["to"].tolist() == ["B", "D", "E"]
    # range restriction
    assert breakeven_wtp(costs, effects, (6000, 15000), names=names)["wtp"].tolist() == [12500.0]
    # grid variant: first grid value where the optimum changes
    g = breakeven_wtp_grid(costs, effects, np.arange(0, 30001, 700.0), names=names)
    assert g["wtp"].tolist() == [5600.0, 12600.0, 20300.0]
    assert g["from"].tolist() == ["UC", "B", "D"]


def test_breakeven_skips_collinear_points():
    be = breakeven_wtp([0.0, 10.0, 20.0], [0.0, 1.0, 2.0])
    assert be["wtp"].tolist() == [10.0]
    assert be["from"].tolist() == [0] and be["to"].tolist() == [2]


def test_breakeven_tie_at_lower_end_starts_on_steeper_line():
    be = breakeven_wtp([0.0, 0.0, 10.0], [1.0, 2.0, 3.0])
    assert be["from"].tolist() == [1] and be["wtp"].tolist() == [10.0]


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 7), elements=st.floats(0, 1e4, allow_subnormal=False)),
    st.data(),
)
def test_property_breakeven_matches_icer_frontier(costs, data):
    # subnormal inputs (e.g. an effect of 5e-324) overflow the ICER itself; they are not health-economic data
    effects = data.draw(arrays(np.float64, costs.size, elements=st.floats(0, 10, allow_subnormal=False)))
    t = icer_table(None, costs, effects)
    front = t[t["status"].isin(["ref", "ND"])]
    icers = front["icer"].to_numpy()[1:]
    be = breakeven_wtp(costs, effects)["wtp"].to_numpy()
    # the envelope switches at every distinct frontier ICER (collinear points are jumped)
    assert np.all(np.diff(be) > 0)
    for x in be:
        assert np.isclose(icers, x, rtol=1e-9, atol=1e-12).any()
    for x in icers:
        assert np.isclose(be, x, rtol=1e-9, atol=1e-12).any()


def test_eib_and_prob_better():
    c = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    e = np.array([[0.0, 0.1], [0.0, 0.0], [0.0, 0.1]])
    # ref 0 minus comparator 1: dC = [-2, 0, 2], dE = [-0.1, 0, -0.1]
    np.testing.assert_allclose(eib(c, e, [0.0, 10.0], 0, 1), [0.0, 10 * (-0.2 / 3)])
    np.testing.assert_allclose(prob_better(c, e, [0.0, 10.0], 0, 1), [1 / 3, 1 / 3])
    np.testing.assert_allclose(prob_better(c, e, [0.0, 10.0], 0, 1, max_elements=1), [1 / 3, 1 / 3])


# ----------------------------------------------------------------------------- result object


def test_analyse_psa_result_object():
    c, e = _draws(n=200)
    cdf = pd.DataFrame(c, columns=["low", "mid", "high"])
    wtp = np.arange(0, 40001, 500.0)
    r = analyse_psa(cdf, e, wtp=wtp, ref="mid")
    assert r.strategies == ["low", "mid", "high"]
    assert r.n_draws == 200
    np.testing.assert_allclose(r.ceac, ceac(c, e, wtp))
    np.testing.assert_allclose(r.evpi, evpi(c, e, wtp))
    assert r.ceaf_strategies == [r.strategies[i] for i in ceaf(c, e, wtp).optimal]
    pd.testing.assert_frame_equal(r.icers, icer_table(["low", "mid", "high"], c.mean(0), e.mean(0)))
    assert set(r.eib) == {"low", "high"}
    np.testing.assert_allclose(r.eib["low"], eib(c, e, wtp, 1, 0))
    np.testing.assert_allclose(r.prob_ref_better["high"], prob_better(c, e, wtp, 1, 2))

    f = r.to_frame()
    assert list(f.columns) == ["wtp", "strategy", "expected_nmb", "ceac", "on_frontier", "evpi"]
    assert len(f) == wtp.size * 3
    assert f.groupby("wtp")["on_frontier"].sum().eq(1).all()
    np.testing.assert_allclose(f.groupby("wtp")["ceac"].sum(), 1.0)

    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)
    back = json.loads(text)
    assert set(back) >= {"strategies", "icers", "wtp", "ceac", "ceaf", "evpi", "breakeven_wtp", "eib"}
    assert back["icers"][0]["icer"] is None and back["icers"][0]["status"] == "ref"
    assert set(back["icers"][0]) >= {"strategy", "status", "icer", "cost", "effect"}
    assert len(back["ceac"]["low"]) == wtp.size
    # exact break-evens lie within the grid range; grid ones are grid values
    for b in back["breakeven_wtp"]:
        assert wtp.min() <= b["wtp"] <= wtp.max()
    for b in back["breakeven_wtp_grid"]:
        assert b["wtp"] in set(wtp.tolist())


def test_analyse_psa_default_grid():
    c, e = _draws(n=20)
    r = analyse_psa(c, e)
    assert r.wtp[0] == 0.0 and r.wtp[-1] == 50000.0 and r.wtp.size == 501
    assert r.strategies == ["S1", "S2", "S3"]
    assert r.ref is None and "eib" not in r.to_dict()
