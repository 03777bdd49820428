"""Sick-Sicker, time-independent (Alarid-Escudero et al. 2023, Med Decis Making 43(1):3-20); oracles README §2.

Full-precision values from DARTH-git/cohort-modeling-tutorial-intro (analysis/cSTM_time_indep.R). Simpson 1/3
correction (DARTH gen_wcc), costs and QALYs discounted 3% at t = 0..75. Tolerance: 1e-9 relative to the printed
digits (the printed values carry 10 significant figures).
"""

import pytest

from heecon.outcomes.base_case import run_base_case
from heecon import load_scenario

from ..conftest import SCENARIOS

PATH = SCENARIOS / "published" / "sick_sicker.toml"
EXPECTED = {  # cost, QALYs
    "SoC": (151579.8660, 20.711331),
    "A": (284804.5134, 21.498663),
    "B": (259100.4106, 22.184465),
    "AB": (378875.1984, 23.136844),
}


@pytest.fixture(scope="module")
def result():
    return run_base_case(load_scenario(PATH))


@pytest.mark.parametrize("strategy", list(EXPECTED))
def test_sick_sicker_simpson_matches_alarid_escudero_2023(result, strategy):
    cost, qaly = EXPECTED[strategy]
    assert result.outcomes.loc[strategy, "costs"] == pytest.approx(cost, abs=5e-5)
    assert result.outcomes.loc[strategy, "qalys"] == pytest.approx(qaly, abs=5e-7)


def test_sick_sicker_frontier_has_a_dominated_and_both_icers(result):
    t = result.icers.set_index("strategy")
    assert t.loc["SoC", "status"] == "ref"
    assert t.loc["A", "status"] == "D"
    assert t.loc["B", "status"] == "ND"
    assert t.loc["AB", "status"] == "ND"
    assert t.loc["B", "icer"] == pytest.approx(72987.6361, abs=5e-4)
    assert t.loc["AB", "icer"] == pytest.approx(125763.7858, abs=5e-4)


@pytest.mark.parametrize("method, cost, qaly", [
    ("half-cycle", 152262.29, 21.038151),
    ("all-points", 153541.41, 21.554487),
])
def test_sick_sicker_correction_switch_really_switches(method, cost, qaly):
    r = run_base_case(load_scenario(PATH, [f'settings.counting="{method}"']))
    assert r.outcomes.loc["SoC", "costs"] == pytest.approx(cost, abs=5e-3)
    assert r.outcomes.loc["SoC", "qalys"] == pytest.approx(qaly, abs=5e-7)
    assert r.summary()["settings"]["within_cycle_method"] == method
