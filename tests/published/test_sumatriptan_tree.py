"""Decision tree: oral sumatriptan versus caffeine/ergotamine for migraine (Briggs et al. 2006, Box 2.3).

Evans KW, Boan JA, Evans JL, Shuaib A. Economic evaluation of oral sumatriptan compared with oral caffeine/ergotamine
for migraine. PharmacoEconomics 1997;12(5):565-77, as the textbook example of Briggs A, Claxton K, Sculpher M.
Decision Modelling for Health Economic Evaluation (OUP 2006), Box 2.3. Printed results: rdecision's vignette
"Elementary decision tree (Evans 1997)" (A. J. Sims; ajsims1704/rdecision, vignettes/DT01-Sumatriptan), whose
expected costs and utilities are "consistent with that reported by Evans et al (1997)", and its table of the ten
paths. Tolerance: half a unit of the last printed digit.
"""

import pytest

from heecon import load_scenario
from heecon.model.tree import tree_paths
from heecon.outcomes.base_case import run_base_case

from ..conftest import SCENARIOS

PATH = SCENARIOS / "published" / "sumatriptan_tree.toml"
PRINTED = {"sumatriptan": (22.06, 0.41686), "caffeine": (4.71, 0.20128)}
PATHS = {  # leaf: probability, path cost, path utility, expected cost, expected utility
    "A": (0.3315, 16.10, 1.0, 5.34, 0.3315), "B": (0.2265, 32.20, 0.9, 7.29, 0.2039),
    "C": (0.4066, 16.10, -0.3, 6.55, -0.1220), "D": (0.0353, 79.26, 0.1, 2.80, 0.0035),
    "E": (0.0001, 1172.26, -0.3, 0.08, 0.0000), "F": (0.2664, 1.32, 1.0, 0.35, 0.2664),
    "G": (0.1126, 2.64, 0.9, 0.30, 0.1013), "H": (0.5713, 1.32, -0.3, 0.75, -0.1714),
    "I": (0.0496, 64.48, 0.1, 3.20, 0.0050), "J": (0.0001, 1157.48, -0.3, 0.12, 0.0000),
}


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(PATH)


@pytest.mark.parametrize("strategy", list(PRINTED))
def test_sumatriptan_tree_expected_cost_and_utility_match_briggs_box_2_3(scenario, strategy):
    r = run_base_case(scenario).outcomes.loc[strategy]
    cost, utility = PRINTED[strategy]
    assert r["costs"] == pytest.approx(cost, abs=5e-3)
    assert r["qalys"] == pytest.approx(utility, abs=5e-6)
    assert r["costs_undiscounted"] == r["costs"]  # tree payoffs are at model start


def test_sumatriptan_tree_paths_match_the_printed_table(scenario):
    paths = tree_paths(scenario).set_index("terminal")
    assert len(paths) == 10
    for leaf, (p, cost, utility, ecost, eutility) in PATHS.items():
        r = paths.loc[leaf]
        assert r["probability"] == pytest.approx(p, abs=5e-5)
        assert r["costs"] == pytest.approx(cost, abs=5e-3)
        assert r["qalys"] == pytest.approx(utility, abs=5e-2)
        assert r["expected_costs"] == pytest.approx(ecost, abs=5e-3)
        assert r["expected_qalys"] == pytest.approx(eutility, abs=5e-5)
    sums = paths.groupby("strategy")[["expected_costs", "expected_qalys", "probability"]].sum()
    for s, (cost, utility) in PRINTED.items():
        assert sums.loc[s, "expected_costs"] == pytest.approx(cost, abs=5e-3)
        assert sums.loc[s, "expected_qalys"] == pytest.approx(utility, abs=5e-6)
        assert sums.loc[s, "probability"] == pytest.approx(1.0, abs=1e-12)
