"""Engine features checked against hand-written NumPy calculations: life table x SMR, time-dependent
transitions, start costs, transition rewards (DARTH booking), separate discount rates, discount schedules,
tunnel states, extends and --set."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from heecon.model.weights import discount_factors
from heecon.outcomes.base_case import run_base_case
from heecon import load_scenario
from heecon.scenario.types import DiscountSchedule

from .reference_cohort import trace


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_age_dependent_mortality_from_life_table_csv_times_smr(tmp_path, reference_data):
    shutil.copy(reference_data / "us_lifetable_mx_2015.csv", tmp_path / "lt.csv")
    p = write(tmp_path, """
        [settings]
        cycle_length_months = 12
        horizon_cycles = 60
        start_age = 30
        counting = "end"
        discount_costs = 0.0
        discount_effects = 0.0
        sectors = ["nhs"]
        [parameters]
        smr = { value = 2.5, source = "test" }
        p_sick = 0.1
        [tables.mx]
        file = "lt.csv"
        key = "Age"
        value = "Male"
        kind = "rate"
        multiplier = "smr"
        [states.W]
        utility = 1
        costs = { nhs = 100 }
        [states.S]
        utility = 0.5
        costs = { nhs = 1000 }
        [states.D]
        dead = true
        [transitions]
        W = { W = "C", S = "p_sick", D = "rate_to_prob(mx(age))" }
        S = { S = "C", D = "rate_to_prob(mx(age) * 2)" }
        [strategies.base]
        label = "Base"
        """)
    r = run_base_case(load_scenario(p))
    mx = np.loadtxt(tmp_path / "lt.csv", delimiter=",", skiprows=1, usecols=(1, 3))
    rate = dict(zip(mx[:, 0].astype(int), mx[:, 1]))
    Ps = []
    for t in range(1, 61):
        age = 30 + t - 1
        pd_ = 1 - np.exp(-rate[min(age, 109)] * 2.5)
        pd2 = 1 - np.exp(-rate[min(age, 109)] * 2.5 * 2)
        Ps.append(np.array([[1 - 0.1 - pd_, 0.1, pd_], [0, 1 - pd2, pd2], [0, 0, 1]]))
    m = trace(np.array(Ps), np.array([1.0, 0, 0]))
    assert r.outcomes.loc["base", "costs"] == pytest.approx((m[1:] @ [100, 1000, 0]).sum(), rel=1e-12)
    assert r.outcomes.loc["base", "qalys"] == pytest.approx((m[1:] @ [1, 0.5, 0]).sum(), rel=1e-12)
    assert r.model.P_map[0, -1] == 59  # every cycle its own matrix


def test_time_dependent_weibull_transition_from_time_since_start(tmp_path):
    p = write(tmp_path, """
        [settings]
        cycle_length_months = 6
        horizon_years = 10
        counting = "beginning"
        discount_costs = 0.035
        discount_effects = 0.015
        sectors = ["nhs"]
        [parameters]
        lam = 0.08
        shape = 1.4
        p_fail = "1 - exp(lam * (time ** shape - (time + 0.5) ** shape))"
        [states.OK]
        utility = 0.9
        costs = { nhs = 500 }
        [states.Fail]
        utility = 0.4
        costs = { nhs = 3000 }
        [states.D]
        dead = true
        [transitions]
        OK = { OK = "C", Fail = "p_fail" }
        Fail = { Fail = "C", D = 0.05 }
        [strategies.x]
        label = "x"
        """)
    r = run_base_case(load_scenario(p))
    Ps = []
    for k in range(1, 21):
        t = (k - 1) * 0.5
        pf = 1 - np.exp(0.08 * (t ** 1.4 - (t + 0.5) ** 1.4))
        Ps.append(np.array([[1 - pf, pf, 0], [0, 0.95, 0.05], [0, 0, 1]]))
    m = trace(np.array(Ps), np.array([1.0, 0, 0]))
    dc = 1.035 ** (-0.5 * np.arange(20))
    de = 1.015 ** (-0.5 * np.arange(20))
    assert r.outcomes.loc["x", "costs"] == pytest.approx((m[:-1] @ [500, 3000, 0]) @ dc, rel=1e-12)
    assert r.outcomes.loc["x", "qalys"] == pytest.approx((m[:-1] @ [0.45, 0.2, 0]) @ de, rel=1e-12)


def test_start_costs_once_and_transition_rewards_booked_as_darth(tmp_path):
    """DARTH: flows of cycle t, diag(m_{t-1}) P_t, are charged at index t with that index's weight and discount."""
    p = write(tmp_path, """
        [settings]
        cycle_length_months = 12
        horizon_cycles = 12
        counting = "half-cycle"
        discount_costs = 0.03
        discount_effects = 0.03
        sectors = ["nhs", "pss"]
        [parameters]
        c_diag = 1500
        [start]
        states = { H = 1 }
        costs = { nhs = "c_diag" }
        qalys = -0.01
        [states.H]
        utility = 1
        costs = { nhs = 10 }
        [states.S]
        utility = 0.7
        costs = { nhs = 100 }
        [states.D]
        dead = true
        [transitions]
        H = { H = "C", S = 0.2, D = 0.01 }
        S = { S = "C", H = 0.1, D = 0.05 }
        [[transition_rewards]]
        from = "H"
        to = "S"
        costs = { pss = 700 }
        qalys = -0.05
        [[transition_rewards]]
        from = "*"
        to = "D"
        costs = { nhs = 5000 }
        [strategies.only]
        label = "only"
        """)
    r = run_base_case(load_scenario(p))
    P = np.array([[0.79, 0.2, 0.01], [0.1, 0.85, 0.05], [0, 0, 1]])
    m = trace(np.repeat(P[None], 12, axis=0), np.array([1.0, 0, 0]))
    w = np.ones(13)
    w[0] = w[-1] = 0.5
    d = 1.03 ** -np.arange(13.0)
    state_nhs = sum(w[t] * d[t] * (m[t] @ [10, 100, 0]) for t in range(13))
    flows_HS = np.array([m[t - 1, 0] * 0.2 for t in range(1, 13)])
    flows_D = np.array([m[t - 1, 0] * 0.01 + m[t - 1, 1] * 0.05 for t in range(1, 13)])
    wd = w[1:] * d[1:]
    assert r.outcomes.loc["only", "pss"] == pytest.approx(700 * flows_HS @ wd, rel=1e-12)
    assert r.outcomes.loc["only", "nhs"] == pytest.approx(1500 + state_nhs + 5000 * flows_D @ wd, rel=1e-12)
    qalys = sum(w[t] * d[t] * (m[t] @ [1, 0.7, 0]) for t in range(13)) - 0.01 - 0.05 * flows_HS @ wd
    assert r.outcomes.loc["only", "qalys"] == pytest.approx(qalys, rel=1e-12)
    # start costs are not discounted away: undiscounted and discounted both carry 1500 once
    assert r.outcomes.loc["only", "nhs_undiscounted"] - r.outcomes.loc["only", "nhs"] > 0


def test_green_book_declining_schedule_discount_factors():
    gb = DiscountSchedule((0.0, 30.0, 75.0), (0.035, 0.03, 0.025))
    d = discount_factors(gb, np.array([0.0, 10.0, 30.0, 40.0, 80.0]))
    assert d[1] == pytest.approx(1.035 ** -10)
    assert d[2] == pytest.approx(1.035 ** -30)
    assert d[3] == pytest.approx(1.035 ** -30 * 1.03 ** -10)
    assert d[4] == pytest.approx(1.035 ** -30 * 1.03 ** -45 * 1.025 ** -5)
    c = discount_factors(DiscountSchedule.constant(0.035), np.array([2.0]), "continuous")
    assert c[0] == pytest.approx(np.exp(-0.07))


def test_tunnel_state_lasts_exactly_its_duration_and_extends_with_set_override(tmp_path):
    write(tmp_path, """
        title = "base"
        [settings]
        cycle_length_months = 3
        horizon_cycles = 12
        counting = "end"
        discount_costs = 0
        discount_effects = 0
        sectors = ["prisons"]
        [parameters]
        p_custody = 0.2
        c_prison = 12000
        [states.Community]
        utility = 0.6
        [states.Custody]
        utility = 0.5
        tunnel = 3
        tunnel_exit = "Community"
        costs = { prisons = "c_prison if tunnel_cycle == 1 else c_prison / 2" }
        [states.Dead]
        dead = true
        [transitions]
        Community = { Community = "C", Custody = "p_custody" }
        [strategies.pau]
        label = "PAU"
        """, "base.toml")
    child = write(tmp_path, """
        extends = "base.toml"
        title = "variant"
        [parameters]
        p_custody = 1.0
        """, "child.toml")
    sc = load_scenario(child, ["parameters.c_prison=8000"])
    assert sc.title == "variant"
    r = run_base_case(sc)
    tr = r.trace
    # everyone enters custody in cycle 1, stays exactly 3 cycles, leaves at cycle 4, re-enters at cycle 5
    assert list(tr["Custody"].round(12)) == [0, 1, 1, 1, 0, 1, 1, 1, 0, 1, 1, 1, 0]
    assert r.outcomes.loc["pau", "prisons"] == pytest.approx(3 * (8000 + 4000 + 4000))
    assert r.model.state_names[1:4] == ["Custody[1]", "Custody[2]", "Custody[3]"]


def test_costs_and_effects_discounted_at_different_rates(tmp_path):
    p = write(tmp_path, """
        [settings]
        cycle_length_months = 12
        horizon_cycles = 30
        counting = "end"
        discount_costs = 0.035
        discount_effects = 0.015
        sectors = ["nhs"]
        [states.A]
        utility = 0.8
        costs = { nhs = 1000 }
        [states.D]
        dead = true
        [transitions]
        A = { A = "C", D = 0.0 }
        [strategies.s]
        label = "s"
        """)
    r = run_base_case(load_scenario(p))
    t = np.arange(1, 31)
    assert r.outcomes.loc["s", "costs"] == pytest.approx(1000 * (1.035 ** -t).sum(), rel=1e-12)
    assert r.outcomes.loc["s", "qalys"] == pytest.approx(0.8 * (1.015 ** -t).sum(), rel=1e-12)
    assert r.outcomes.loc["s", "qalys_undiscounted"] == pytest.approx(24.0)


def test_four_strategies_with_windows_share_base_matrices(tmp_path):
    p = write(tmp_path, """
        [settings]
        cycle_length_months = 12
        horizon_cycles = 20
        counting = "end"
        sectors = ["nhs"]
        [parameters]
        p = 0.1
        [states.A]
        utility = 1
        [states.D]
        dead = true
        [transitions]
        A = { A = "C", D = "p" }
        [strategies.s0]
        label = "s0"
        [strategies.s1]
        label = "s1"
        modifiers = [{ transitions = ["A -> D"], hr = 0.5, cycles = [1, 5] }]
        [strategies.s2]
        label = "s2"
        modifiers = [{ transitions = ["A -> D"], rr = 0.5 }]
        costs = [{ states = ["A"], costs = { nhs = 100 }, cycles = [3, 4] }]
        [strategies.s3]
        label = "s3"
        parameters = { p = 0.05 }
        """)
    r = run_base_case(load_scenario(p))
    assert r.model.P.shape[1] == 1 + 2 + 3 + 1  # segments: s0 1, s1 2, s2 3 (cost window), s3 1
    surv = lambda ps: np.cumprod(ps)  # noqa: E731
    d = 1.035 ** -np.arange(1, 21)
    p1 = np.where(np.arange(1, 21) <= 5, 1 - 0.9 ** 0.5, 0.1)
    assert r.outcomes.loc["s1", "qalys"] == pytest.approx((surv(1 - p1) * d).sum(), rel=1e-12)
    s2 = surv(np.full(20, 0.95))
    assert r.outcomes.loc["s2", "costs"] == pytest.approx(100 * (s2[2] * d[2] + s2[3] * d[3]), rel=1e-12)
    assert r.outcomes.loc["s3", "qalys"] == pytest.approx((surv(np.full(20, 0.95)) * d).sum(), rel=1e-12)


def test_costs_are_brought_to_one_price_year_with_the_price_index(tmp_path):
    text = """
        [settings]
        cycle_length_months = 12
        horizon_cycles = 1
        counting = "end"
        discount_costs = 0
        price_year = 2023
        sectors = ["nhs"]
        [price_index]
        name = "NHS Cost Inflation Index"
        source = "test index"
        years = [2015, 2016, 2023]
        values = [100, 102.09, 126.24]
        [parameters]
        c_old = { value = 100, price_year = 2015, source = "a 2015/16 unit cost" }
        c_new = { value = 50, price_year = 2023, source = "a 2023/24 unit cost" }
        [states.A]
        utility = 1
        costs = { nhs = "c_old + c_new" }
        [states.D]
        dead = true
        [transitions]
        A = { A = "C", D = 0 }
        [strategies.s]
        label = "s"
        """
    r = run_base_case(load_scenario(write(tmp_path, text)))
    assert r.outcomes.loc["s", "costs"] == pytest.approx(126.24 + 50)
    from heecon.scenario.errors import ScenarioError

    bad = text.replace("price_year = 2015", "price_year = 2011")
    with pytest.raises(ScenarioError, match="2011 is not covered by \\[price_index\\]"):
        load_scenario(write(tmp_path, bad, "bad.toml"))
    no_index = text.split("[price_index]")[0] + "[parameters]" + text.split("[parameters]")[1]
    with pytest.raises(ScenarioError, match="give a \\[price_index\\]"):
        load_scenario(write(tmp_path, no_index, "noindex.toml"))


def test_named_price_indices_uprate_each_parameter_with_its_own_index(tmp_path):
    text = """
        [settings]
        cycle_length_months = 12
        horizon_cycles = 1
        counting = "end"
        discount_costs = 0
        price_year = 2023
        sectors = ["nhs", "police"]
        [price_index]
        name = "NHS Cost Inflation Index"
        source = "test index"
        years = [2015, 2023]
        values = [100, 126.24]
        [price_indices.gdp]
        name = "GDP deflator"
        source = "test deflator"
        years = [2015, 2023]
        values = [75.0, 96.0]
        [parameters]
        c_nhs = { value = 100, price_year = 2015, source = "NHS cost" }
        c_police = { value = 100, price_year = 2015, price_index = "gdp", source = "police cost" }
        [states.A]
        utility = 1
        costs = { nhs = "c_nhs", police = "c_police" }
        [states.D]
        dead = true
        [transitions]
        A = { A = "C", D = 0 }
        [strategies.s]
        label = "s"
        """
    r = run_base_case(load_scenario(write(tmp_path, text)))
    assert r.outcomes.loc["s", "nhs"] == pytest.approx(126.24)
    assert r.outcomes.loc["s", "police"] == pytest.approx(100 * 96.0 / 75.0)
    from heecon.scenario.errors import ScenarioError

    with pytest.raises(ScenarioError, match="parameters.c_police.price_index"):
        load_scenario(write(tmp_path, text.replace('price_index = "gdp"', 'price_index = "gpd"'), "typo.toml"))
    with pytest.raises(ScenarioError, match="2014 is not covered by \\[price_indices.gdp\\]"):
        load_scenario(write(tmp_path, text.replace('c_police = { value = 100, price_year = 2015', 'c_police = { value = 100, price_year = 2014'), "y.toml"))


def test_counters_no_covariate_reads_are_not_given_to_the_kernel():
    import numpy as np

    from heecon.model.microsim import _drop_unread_counters

    g_tr = np.zeros((1, 3, 3, 2))
    g_ev = np.zeros((1, 2, 2))
    g_ev[0, 1, 1] = 0.3  # the second counter is read by event 1's covariate, the first by nothing
    kw = {"gamma_tr": g_tr, "ev_gamma": g_ev, "ev_counter": np.array([[1.0, 0.0], [0.0, 1.0]])}
    assert _drop_unread_counters(kw, ["a", "b"]) == ["b"]
    assert kw["gamma_tr"].shape == (1, 3, 3, 1) and kw["ev_gamma"][0, 1, 0] == 0.3
    assert kw["ev_counter"].tolist() == [[0.0], [1.0]]
    kw2 = {"gamma_tr": np.ones((1, 3, 3, 1)), "ev_gamma": np.zeros((1, 2, 1)), "ev_counter": np.ones((2, 1))}
    assert _drop_unread_counters(kw2, ["c"]) == ["c"] and kw2["gamma_tr"].shape[-1] == 1
