"""The analyses a scenario asks its default run for ([dsa], [[thresholds]], [evppi], [subgroups], [scenario_analysis],
[cba]): parsed at load, run by heecon.run, one table each, checked against direct computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import heecon
from heecon.scenario.errors import ScenarioError

from .conftest import SCENARIOS
from .scenario_factory import base_scenario, write_scenario


def _scenario(tmp_path, **extra):
    raw = base_scenario()
    raw["settings"].update({"psa_samples": 200, "sectors": ["nhs", "police"], "perspective": "health",
                            "price_year": 2023})
    raw["perspectives"] = {"health": ["nhs"], "public": ["nhs", "police"]}
    raw["parameters"].update({
        "p_HS": {"value": 0.1, "source": "test", "distribution": {"type": "beta", "mean": 0.1, "sd": 0.02}},
        "c_trt": {"value": 500, "source": "test", "distribution": {"type": "gamma", "mean": 500, "sd": 100}},
        "c_police_S": {"value": 300, "source": "test", "range": [100, 600]},
        "qaly_value": {"value": 70000, "price_year": 2023, "source": "HM Treasury Green Book (test)"},
    })
    raw["states"]["S"]["costs"] = {"nhs": "c_S", "police": "c_police_S"}
    raw.update(extra)
    return raw


def test_the_suite_writes_one_table_per_analysis_and_each_matches_a_direct_computation(tmp_path):
    raw = _scenario(tmp_path,
                    dsa={"parameters": ["p_HS", "c_trt", "c_police_S"], "perspectives": ["health", "public"]},
                    thresholds=[{"parameter": "c_trt", "measure": "net_cost", "bounds": [0, 50000],
                                 "perspectives": ["health"]},
                                {"parameter": "rr_trt", "measure": "nmb", "bounds": [0.1, 1.0]}],
                    subgroups={"high_risk": {"label": "High risk", "set": ["parameters.p_HS.value=0.2"]}},
                    scenario_analysis={"cheap": {"label": "Cheaper treatment", "set": ["parameters.c_trt.value=100"]}},
                    evppi={"groups": {"transition": ["p_HS"], "cost": ["c_trt"]}, "population_per_year": 1000,
                           "years": 5, "population_source": "test"},
                    cba={"value_per_qaly": "qaly_value", "discount_effects": 0.015, "perspective": "public",
                         "source": "HM Treasury Green Book 2022"})
    path = write_scenario(tmp_path, raw)
    run = heecon.run(heecon.load_scenario(path), out=tmp_path / "out", report=False)
    files = {f.name for f in (tmp_path / "out").iterdir()}
    assert {"dsa.csv", "thresholds.csv", "subgroups.csv", "scenario_analysis.csv", "evppi.csv", "cba.csv"} <= files
    dsa = pd.read_csv(tmp_path / "out" / "dsa.csv")
    assert set(dsa["perspective"]) == {"health", "public"} and set(dsa["parameter"]) == {"p_HS", "c_trt", "c_police_S"}
    # the police cost moves the public-sector result and not the health one
    row = dsa.set_index(["perspective", "parameter"])
    assert row.loc[("health", "c_police_S"), "swing"] == pytest.approx(0, abs=1e-9)
    assert row.loc[("public", "c_police_S"), "swing"] > 0
    # the break-even treatment cost makes the incremental NHS cost zero
    th = pd.read_csv(tmp_path / "out" / "thresholds.csv")
    x = th[(th["parameter"] == "c_trt")].iloc[0]["threshold"]
    be = heecon.run(heecon.load_scenario(path, [f"parameters.c_trt.value={x}"]), psa=0, analyses=False).base.outcomes
    assert be.loc["trt", "costs[health]"] - be.loc["soc", "costs[health]"] == pytest.approx(0, abs=1e-6)
    # a subgroup and a variant are the base case of the scenario with their overrides
    sub = pd.read_csv(tmp_path / "out" / "subgroups.csv").set_index(["subgroup", "perspective"])
    direct = heecon.run(heecon.load_scenario(path, ["parameters.p_HS.value=0.2"]), psa=0, analyses=False).base.outcomes
    assert sub.loc[("high_risk", "health"), "inc_costs"] == pytest.approx(
        direct.loc["trt", "costs[health]"] - direct.loc["soc", "costs[health]"])
    # EVPPI of each group is at most the EVPI, and the population figure uses the section's population
    ev = pd.read_csv(tmp_path / "out" / "evppi.csv")
    assert (ev["evppi"] <= ev["evpi"] * 1.05 + 1e-9).all() and "evppi_population" in ev
    # the cost-benefit view: NPSV = value x dQALY (at 1.5%) - sum of incremental public-sector costs
    cba = pd.read_csv(tmp_path / "out" / "cba.csv").iloc[0]
    o = run.base.outcomes
    dq = o.loc["trt", "qalys_cba"] - o.loc["soc", "qalys_cba"]
    dc = sum(o.loc["trt", s] - o.loc["soc", s] for s in ("nhs", "police"))
    assert cba["npsv"] == pytest.approx(70000 * dq - dc)
    assert 0 <= cba["prob_npsv_positive"] <= 1
    # 1.5% health discounting gives more QALYs than the 3.5% of the NICE reference case
    assert o.loc["soc", "qalys_cba"] > o.loc["soc", "qalys"]
    und = o.loc["soc", "qalys_undiscounted"]
    assert o.loc["soc", "qalys_cba_undiscounted"] == pytest.approx(und)
    assert math.isfinite(run.summary()["analyses"]["cba"][0]["npsv"])


def test_analysis_sections_report_every_mistake_at_load(tmp_path):
    raw = _scenario(tmp_path,
                    dsa={"parameters": ["p_HZ"], "perspectivs": ["health"]},
                    thresholds=[{"parameter": "c_trtt", "measure": "cost"}],
                    subgroups={"x": {"set": ["no_equals_sign"]}},
                    scenario_analysis={"y": {"file": "missing.toml"}},
                    cba={"value_per_qaly": "nope", "perspective": "all_of_it"})
    with pytest.raises(ScenarioError) as exc:
        heecon.load_scenario(write_scenario(tmp_path, raw))
    keys = {p.key for p in exc.value.problems}
    assert {"dsa.parameters[0]", "dsa.perspectivs", "thresholds[0].parameter", "subgroups.x.set",
            "scenario_analysis.y.file", "cba.value_per_qaly", "cba.perspective"} <= keys


def test_a_scenario_without_analysis_sections_gets_none_and_its_numbers_do_not_change(tmp_path):
    raw = base_scenario()
    sc = heecon.load_scenario(write_scenario(tmp_path, raw))
    assert sc.analyses is not None and not sc.analyses.any
    run = heecon.run(sc, psa=0, out=tmp_path / "o", report=False)
    assert "qalys_cba" not in run.base.outcomes.columns
    assert not any(f.name in ("dsa.csv", "cba.csv") for f in (tmp_path / "o").iterdir())
    assert np.isfinite(run.base.outcomes["qalys"]).all()


def test_a_scenario_row_uses_the_lean_base_case_with_the_same_bits():
    """Scenario and subgroup rows run the microsimulation without per-cycle output: the outcome frame must be the
    full base case's, bit for bit (events booked in expectation aside: they need the per-cycle occupancy)."""
    from heecon.outcomes.base_case import base_case_outcomes, run_base_case

    sc = heecon.load_scenario(SCENARIOS / "mbt_aspd_vs_pau.toml", ["settings.individuals=300"])
    full = run_base_case(sc).outcomes
    lean = base_case_outcomes(sc)
    assert list(lean.columns) == list(full.columns)
    expected = {f"events:{n}" for n, e in sc.microsim.events.items() if e.expected}
    same = [c for c in full.columns if c not in expected]
    pd.testing.assert_frame_equal(lean[same], full[same], check_exact=True)
    assert lean[sorted(expected)].isna().all().all()
