"""Chancellor et al. 1997 HIV model (Briggs, Claxton & Sculpher 2006, Exercise 2.5); oracles README §1.

Published values from heemod's test "exactly match HIV model" (tests/testthat/test_dmhee.R).
Convention: end of cycle (t = 1..20), costs discounted 6%, life years undiscounted. Tolerance 1e-6 relative.
"""

import pytest

from heecon.outcomes.base_case import run_base_case
from heecon import load_scenario

from ..conftest import SCENARIOS

REL = 1e-6


@pytest.fixture(scope="module")
def result():
    return run_base_case(load_scenario(SCENARIOS / "published" / "hiv_chancellor.toml"))


def test_chancellor_hiv_costs_and_life_years_match_briggs_exercise_2_5(result):
    o = result.outcomes
    assert o.loc["mono", "costs"] == pytest.approx(44663.4535637, rel=REL)
    assert o.loc["mono", "lys"] == pytest.approx(7.9912066, rel=REL)
    assert o.loc["comb", "costs"] == pytest.approx(50601.6513312, rel=REL)
    assert o.loc["comb", "lys"] == pytest.approx(8.9373889, rel=REL)


def test_chancellor_hiv_icer_per_life_year_matches_briggs_exercise_2_5(result):
    t = result.icers.set_index("strategy")
    assert t.loc["mono", "status"] == "ref"
    assert t.loc["comb", "status"] == "ND"
    assert t.loc["comb", "icer"] == pytest.approx(6275.95560, rel=REL)


def test_chancellor_hiv_summary_echoes_the_convention(result):
    s = result.summary()
    assert s["settings"]["within_cycle_method"] == "end"
    assert s["settings"]["discount_costs"] == 0.06
    assert s["settings"]["discount_effects"] == 0.0
    assert [x["status"] for x in s["icers"]] == ["ref", "ND"]
