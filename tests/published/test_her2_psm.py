"""Partitioned survival: adjuvant trastuzumab for HER2+ early breast cancer (HTA-in-R workshop 2026, session 8).

Source: RRC-HTA, AIIMS Bhopal and HTAIn, DHR. "R for HTA (Basics) - Workshop 2026", session 8, "Partitioned Survival
Model - Trastuzumab for HER2+ Breast Cancer" (github.com/drpakhare/HTA-R-Workshop-2026,
day3/session8-breast-cancer-psm/breast-cancer-psm.qmd; the printed tables are in the rendered page, kept in the
repository's _freeze/.../execute-results/html.json). Three states from Weibull PFS and OS curves, hazard ratios on
the Weibull lambda for trastuzumab, PFS capped by OS, annual cycles over 20 years, the occupancy averaged over each
cycle and discounted at 3% from the cycle's start. Tolerance: half a unit of the last printed digit (costs to the
rupee, QALYs to 0.001, occupancy to 0.001, life-years to 0.01).
"""

import numpy as np
import pytest

from heecon import load_scenario
from heecon.outcomes.base_case import run_base_case

from ..conftest import SCENARIOS

PATH = SCENARIOS / "published" / "her2_psm.toml"
PRINTED = {  # discounted cost (INR), discounted QALYs, total life-years, years in PF, years in PD
    "chemo": (729011, 6.577, 11.28, 6.98, 4.30),
    "trast": (895213, 8.061, 13.17, 10.98, 2.18),
}
OCCUPANCY = {  # year: (PF, PD, Dead), "State occupancy (proportion) at key time points"
    "chemo": {5: (0.522, 0.229, 0.249), 10: (0.260, 0.269, 0.470), 20: (0.062, 0.182, 0.756)},
    "trast": {5: (0.722, 0.096, 0.182), 10: (0.510, 0.131, 0.359), 20: (0.248, 0.124, 0.627)},
}


@pytest.fixture(scope="module")
def result():
    return run_base_case(load_scenario(PATH))


@pytest.mark.parametrize("strategy", list(PRINTED))
def test_her2_psm_costs_qalys_and_life_years_match_the_workshop(result, strategy):
    cost, qalys, lys, pf_years, pd_years = PRINTED[strategy]
    r = result.outcomes.loc[strategy]
    assert r["costs"] == pytest.approx(cost, abs=0.5)
    assert r["qalys"] == pytest.approx(qalys, abs=5e-4)
    assert r["lys_undiscounted"] == pytest.approx(lys, abs=5e-3)
    t = result.trace[result.trace.strategy == strategy]
    for state, years in (("PF", pf_years), ("PD", pd_years)):
        m = t[state].to_numpy()
        assert ((m[:-1] + m[1:]) / 2).sum() == pytest.approx(years, abs=5e-3)


@pytest.mark.parametrize("strategy", list(OCCUPANCY))
def test_her2_psm_state_occupancy_matches_the_workshop(result, strategy):
    t = result.trace[result.trace.strategy == strategy].set_index("cycle")
    for year, shares in OCCUPANCY[strategy].items():
        np.testing.assert_allclose(t.loc[year, ["PF", "PD", "Dead"]].to_numpy(dtype=float), shares, atol=5e-4)


def test_her2_psm_icer_and_net_benefit_match_the_workshop(result):
    t = result.icers.set_index("strategy")
    assert t.loc["trast", "inc_cost"] == pytest.approx(166202, abs=0.5)
    assert t.loc["trast", "inc_effect"] == pytest.approx(1.484, abs=5e-4)
    assert t.loc["trast", "icer"] == pytest.approx(112006, abs=0.5)
    nmb = result.nmb(170000).set_index("strategy")["nmb"]
    assert nmb["chemo"] == pytest.approx(389091, abs=0.5)
    assert nmb["trast"] == pytest.approx(475146, abs=0.5)
