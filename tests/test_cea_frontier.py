"""Unit and property tests for heecon.cea.frontier (ICER table, dominance)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heecon.cea import STATUSES, efficient_frontier, frontier_indices, icer_table

COLUMNS = ["strategy", "cost", "effect", "inc_cost", "inc_effect", "icer", "status"]


def _status(table: pd.DataFrame) -> dict[str, str]:
    return dict(zip(table["strategy"], table["status"]))


def _slow_statuses(costs, effects) -> list[str]:
    """Obviously-correct reference: dampack's loops written out literally (no ref_strat)."""
    k = len(costs)
    order = sorted(range(k), key=lambda i: (costs[i], -effects[i]))  # sorted() is stable
    if k == 1:
        return ["ref"]
    dom = set()
    for a in range(k - 1):
        for b in range(a + 1, k):
            if effects[order[b]] <= effects[order[a]]:
                dom.add(order[b])
    ed: set[int] = set()
    while True:
        nd = [i for i in order if i not in dom and i not in ed]
        if len(nd) <= 2:
            break
        icers = [None] + [
            (costs[nd[m]] - costs[nd[m - 1]]) / (effects[nd[m]] - effects[nd[m - 1]]) for m in range(1, len(nd))
        ]
        new = [nd[m] for m in range(1, len(nd) - 1) if icers[m] > icers[m + 1]]
        if not new:
            break
        ed.update(new)
    out = []
    nd = [i for i in order if i not in dom and i not in ed]
    for i in range(k):
        out.append("D" if i in dom else "ED" if i in ed else ("ref" if i == nd[0] else "ND"))
    return out


# ----------------------------------------------------------------------------- fixed cases


def test_columns_and_order_herc_like():
    t = icer_table(["E", "D", "C", "B", "A", "UC"], [55000, 35000, 25000, 10000, 12000, 5000], [5, 4, 3, 2, 1.5, 1])
    assert list(t.columns) == COLUMNS
    assert list(t["strategy"]) == ["UC", "B", "D", "E", "C", "A"]
    assert list(t["status"]) == ["ref", "ND", "ND", "ND", "ED", "D"]
    assert np.isnan(t.loc[0, ["inc_cost", "inc_effect", "icer"]].astype(float)).all()
    assert np.isnan(t.loc[4:, ["inc_cost", "inc_effect", "icer"]].to_numpy(dtype=float)).all()


def test_one_strategy_is_ref_with_nan_increments():
    t = icer_table(["only"], [10.0], [1.0])
    assert list(t.columns) == COLUMNS
    assert t["status"].tolist() == ["ref"]
    assert t[["inc_cost", "inc_effect", "icer"]].isna().all().all()
    assert efficient_frontier(["only"], [10.0], [1.0]) == ["only"]


def test_two_strategies_icer():
    t = icer_table(["a", "b"], [100.0, 300.0], [1.0, 2.0])
    assert t["status"].tolist() == ["ref", "ND"]
    assert t.loc[1, "icer"] == 200.0
    assert t.loc[1, "inc_cost"] == 200.0 and t.loc[1, "inc_effect"] == 1.0


def test_cheaper_and_more_effective_dominates():
    t = icer_table(["old", "new"], [300.0, 100.0], [1.0, 2.0])
    assert _status(t) == {"new": "ref", "old": "D"}


def test_equal_cost_lower_effect_is_dominated():
    t = icer_table(["a", "b", "c"], [100.0, 100.0, 200.0], [1.0, 1.5, 3.0])
    assert _status(t) == {"b": "ref", "a": "D", "c": "ND"}


def test_equal_effect_higher_cost_is_dominated():
    t = icer_table(["a", "b"], [100.0, 150.0], [1.0, 1.0])
    assert _status(t) == {"a": "ref", "b": "D"}


def test_identical_strategies_first_listed_wins():
    # dampack: stable sort, '<=' in the dominance test -> later copy is "D".
    t = icer_table(["x", "y", "z"], [10.0, 10.0, 20.0], [1.0, 1.0, 2.0])
    assert _status(t) == {"x": "ref", "y": "D", "z": "ND"}
    t2 = icer_table(["y", "x", "z"], [10.0, 10.0, 20.0], [1.0, 1.0, 2.0])
    assert _status(t2) == {"y": "ref", "x": "D", "z": "ND"}


def test_collinear_frontier_points_stay_nd():
    t = icer_table(["a", "b", "c"], [0.0, 10.0, 20.0], [0.0, 1.0, 2.0])
    assert t["status"].tolist() == ["ref", "ND", "ND"]
    assert t["icer"].tolist()[1:] == [10.0, 10.0]


def test_extended_dominance_is_iterated():
    # After removing 'b', 'c' becomes extendedly dominated by a -> d.
    costs = [0.0, 10.0, 25.0, 30.0]
    effects = [0.0, 1.0, 2.0, 4.0]
    t = icer_table(list("abcd"), costs, effects)
    assert _status(t) == dict(zip("abcd", _slow_statuses(costs, effects)))
    assert _status(t)["d"] == "ND"


def test_default_reference_is_cheapest_dampack_case():
    # dampack tests/testthat/test_calculate_icers.R "default reference strategy"
    t = icer_table(
        ["No Treat", "Treat all", "Test & treat"], [163771.0, 164848.7, 163765.1], [6.48273, 6.52861, 6.52861]
    )
    assert t["strategy"].iloc[0] == "Test & treat"
    assert t["status"].iloc[0] == "ref"


def test_custom_reference_strategy_dampack_case():
    # dampack tests/testthat/test_calculate_icers.R "custom reference strategy"
    t = icer_table(
        ["No Treat", "Treat all", "Test & treat"],
        [163771.0, 164848.7, 163765.1],
        [6.48273, 6.52861, 6.52861],
        ref_strategy="No Treat",
    )
    assert t["strategy"].iloc[0] == "No Treat"
    assert t["status"].iloc[0] == "ref"
    with pytest.raises(ValueError, match="ref_strategy"):
        icer_table(["a", "b"], [1, 2], [1, 2], ref_strategy="zzz")


def test_frontier_helpers():
    names = ["E", "D", "C", "B", "A", "UC"]
    costs = [55000, 35000, 25000, 10000, 12000, 5000]
    effects = [5, 4, 3, 2, 1.5, 1]
    assert efficient_frontier(names, costs, effects) == ["UC", "B", "D", "E"]
    assert frontier_indices(costs, effects).tolist() == [5, 3, 1, 0]


def test_names_none_and_numeric_names():
    t = icer_table(None, [1.0, 2.0], [1.0, 2.0])
    assert t["strategy"].tolist() == ["S1", "S2"]
    t = icer_table([1, 2], [1.0, 2.0], [1.0, 2.0])
    assert t["strategy"].tolist() == ["1", "2"]


@pytest.mark.parametrize(
    "names, costs, effects, match",
    [
        (["a", "b"], [1.0, 2.0, 3.0], [1.0, 2.0], r"Got 2 names, 3 costs and 2 effects"),
        (["a", "b"], [1.0, 2.0], [1.0], r"one value per strategy"),
        (["a", "b"], [1.0, np.nan], [1.0, 2.0], r"'costs' value of strategy 'b' \(position 1\) must be a finite"),
        (["a", "b"], [1.0, 2.0], [np.inf, 2.0], r"'effects' value of strategy 'a'"),
        (["a", "a"], [1.0, 2.0], [1.0, 2.0], r"unique.*'a' 2 times"),
        ([], [], [], r"At least one strategy"),
        (["a", "b"], [[1.0, 2.0]], [1.0, 2.0], r"one-dimensional"),
        (["a"], ["x"], [1.0], r"must hold numbers"),
    ],
)
def test_invalid_input_messages(names, costs, effects, match):
    with pytest.raises(ValueError, match=match):
        icer_table(names, costs, effects)


# ----------------------------------------------------------------------------- properties

_value = st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False)
_effect = st.floats(min_value=0, max_value=100, allow_nan=False, allow_infinity=False)
# small integer grids make ties (equal costs, equal effects, collinear points) common
_tie_cost = st.integers(0, 6).map(float)
_tie_eff = st.integers(0, 6).map(float)


@st.composite
def _strategies(draw, min_size=1, max_size=9, ties=False):
    n = draw(st.integers(min_size, max_size))
    cs = draw(st.lists(_tie_cost if ties else _value, min_size=n, max_size=n))
    es = draw(st.lists(_tie_eff if ties else _effect, min_size=n, max_size=n))
    return [f"s{i}" for i in range(n)], cs, es


@settings(max_examples=80, deadline=None)
@given(_strategies(ties=True))
def test_matches_literal_dampack_loops(case):
    names, cs, es = case
    t = icer_table(names, cs, es)
    assert _status(t) == dict(zip(names, _slow_statuses(cs, es)))


@settings(max_examples=45, deadline=None)
@given(_strategies())
def test_statuses_valid_one_ref_frontier_icers_increasing(case):
    names, cs, es = case
    t = icer_table(names, cs, es)
    assert set(t["status"]) <= set(STATUSES)
    assert (t["status"] == "ref").sum() == 1
    assert t["status"].iloc[0] == "ref"
    assert sorted(t["strategy"]) == sorted(names)
    front = t[t["status"].isin(["ref", "ND"])]
    assert np.all(np.diff(front["cost"].to_numpy()) > 0)
    assert np.all(np.diff(front["effect"].to_numpy()) > 0)
    icers = front["icer"].to_numpy()[1:]
    assert np.all(icers >= 0)  # > 0 in exact arithmetic; tiny costs can underflow to 0
    assert np.all(np.diff(icers) >= 0)
    # cheapest strategy (most effective among the cheapest) is the reference
    i0 = min(range(len(cs)), key=lambda i: (cs[i], -es[i]))
    assert t["strategy"].iloc[0] == names[i0]


@settings(max_examples=35, deadline=None)
@given(_strategies(min_size=1, max_size=8), st.data())
def test_adding_strictly_dominated_strategy_changes_nothing_else(case, data):
    names, cs, es = case
    before = icer_table(names, cs, es)
    j = data.draw(st.integers(0, len(names) - 1))
    extra_c = cs[j] + data.draw(st.floats(min_value=1.0, max_value=1e5))
    extra_e = es[j] - data.draw(st.floats(min_value=0.01, max_value=10.0))
    pos = data.draw(st.integers(0, len(names)))
    n2 = names[:pos] + ["new"] + names[pos:]
    c2 = cs[:pos] + [extra_c] + cs[pos:]
    e2 = es[:pos] + [extra_e] + es[pos:]
    after = icer_table(n2, c2, e2)
    st_after = _status(after)
    assert st_after.pop("new") == "D"
    assert st_after == _status(before)
    a = after[after["strategy"] != "new"].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, before)


@settings(max_examples=35, deadline=None)
@given(_strategies(ties=True), st.randoms(use_true_random=False))
def test_deterministic_and_order_independent_without_exact_duplicates(case, rnd):
    names, cs, es = case
    t1 = icer_table(names, cs, es)
    pd.testing.assert_frame_equal(t1, icer_table(names, cs, es))
    pairs = list(zip(cs, es))
    if len(set(pairs)) == len(pairs):
        perm = list(range(len(names)))
        rnd.shuffle(perm)
        t2 = icer_table([names[i] for i in perm], [cs[i] for i in perm], [es[i] for i in perm])
        assert _status(t2) == _status(t1)


@settings(max_examples=35, deadline=None)
@given(_strategies())
def test_non_frontier_never_beats_frontier_on_net_benefit(case):
    names, cs, es = case
    t = icer_table(names, cs, es)
    front = t[t["status"].isin(["ref", "ND"])]
    others = t[~t["status"].isin(["ref", "ND"])]
    lams = np.concatenate(([0.0], front["icer"].dropna().to_numpy(), [1e9]))
    best = (lams[:, None] * front["effect"].to_numpy()[None] - front["cost"].to_numpy()[None]).max(axis=1)
    for c, e in zip(others["cost"], others["effect"]):
        nmb = lams * e - c
        assert np.all(nmb <= best + 1e-6 * np.maximum(1.0, np.abs(best)))
