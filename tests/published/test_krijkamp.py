"""Krijkamp et al. 2018 microsimulation (Med Decis Making 38(3):400-422), oracles README §3, from the scenario file.

The exact expectation is the cohort equivalent (Appendix C): no treatment 75,976.1491 / 15.838848 QALYs; treatment
141,623.0282 / 16.400406. The microsimulation's means must lie within 4 Monte Carlo standard errors (estimated from
the run itself and reported in summary.json beside each mean) of the exact values.
"""

import json

import pytest
from typer.testing import CliRunner

from heecon.cli import app
from heecon.outcomes.base_case import run_base_case
from heecon import load_scenario

from ..conftest import SCENARIOS

PATH = SCENARIOS / "published" / "krijkamp_microsim.toml"
EXACT = {"no_trt": (75976.1491, 15.838848), "trt": (141623.0282, 16.400406)}


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    out = tmp_path_factory.mktemp("k") / "r"
    r = CliRunner().invoke(app, ["run", str(PATH), "--psa", "0", "--json", "--out", str(out)])
    assert r.exit_code == 0, r.output
    return json.loads(r.output)


def test_krijkamp_microsimulation_within_4_se_of_the_exact_expectation(summary):
    for s in summary["strategies"]:
        cost, qaly = EXACT[s["name"]]
        se = s["se"]
        assert abs(s["costs"] - cost) < 4 * se["costs"], (s["name"], s["costs"], se["costs"])
        assert abs(s["qalys"] - qaly) < 4 * se["qalys"], (s["name"], s["qalys"], se["qalys"])
        # the run's SEs are about the published sizes (100,000 individuals)
        assert se["qalys"] == pytest.approx(0.016, rel=0.15)


def test_krijkamp_common_random_numbers_shrink_the_incremental_error(summary):
    no_trt, trt = summary["strategies"]
    assert trt["se"]["inc_qalys"] <= min(no_trt["se"]["qalys"], trt["se"]["qalys"]) / 5
    assert trt["se"]["inc_qalys"] == pytest.approx(0.0011, rel=0.2)


def test_krijkamp_cohort_engine_gives_the_exact_expectation():
    r = run_base_case(load_scenario(PATH, ['settings.engine="cohort"']))
    for s, (cost, qaly) in EXACT.items():
        assert r.outcomes.loc[s, "costs"] == pytest.approx(cost, abs=5e-5)
        assert r.outcomes.loc[s, "qalys"] == pytest.approx(qaly, abs=5e-7)


def test_cohort_compatible_scenario_agrees_across_engines_within_4_se():
    """FMH-6 (a cohort scenario) under the microsimulation engine agrees with the cohort engine."""
    from ..conftest import ROOT

    fmh6 = ROOT / "benchmarks" / "fmh6.toml"
    cohort = run_base_case(load_scenario(fmh6))
    micro = run_base_case(load_scenario(fmh6, ['settings.engine="microsim"', "settings.individuals=50000"]))
    for s in ("usual", "intervention"):
        for col, se_col in (("qalys", "se_qalys"), ("health", "se_health"), ("lys", "se_lys")):
            diff = micro.outcomes.loc[s, col] - cohort.outcomes.loc[s, col]
            assert abs(diff) < 4 * micro.outcomes.loc[s, se_col], (s, col, diff)


def test_trajectories_of_chosen_individuals_are_written(tmp_path):
    out = tmp_path / "r"
    r = CliRunner().invoke(app, ["run", str(PATH), "--psa", "0", "--out", str(out), "--set", "settings.trajectories=5",
                                 "--set", "settings.individuals=500"])
    assert r.exit_code == 0, r.output
    import pandas as pd

    t = pd.read_csv(out / "trajectories.csv")
    assert len(t) == 5 * 2 * 31 and set(t["state"]) <= {"H", "S1", "S2", "D"}
    first = t[(t.individual == 0) & (t.cycle == 0)]
    assert list(first["state"]) == ["H", "H"]  # everyone starts healthy, in both strategies
