"""MBT-OP vs SCM-OP for borderline personality disorder (scenarios/services/mbt_op_bpd.toml): it validates, its
evidence table cannot drift, every number is sourced, and small runs go the way the trials imply."""

from __future__ import annotations

import json
import math
import re

import pytest
from typer.testing import CliRunner

from heecon import load_scenario
from heecon.cli import app
from heecon.model.markov import parameter_value
from heecon.outcomes.base_case import run_base_case
from heecon.report.evidence import evidence_markdown, evidence_rows

from .conftest import ROOT, SCENARIOS

SCENARIO = SCENARIOS / "services" / "mbt_op_bpd.toml"
SMALL = ["settings.individuals=1000"]


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIO, SMALL)


@pytest.fixture(scope="module")
def base(scenario):
    return run_base_case(scenario).outcomes


def _run(overrides):
    return run_base_case(load_scenario(SCENARIO, SMALL + overrides)).outcomes


def test_validates_from_the_command_line():
    res = CliRunner().invoke(app, ["validate", str(SCENARIO)])
    assert res.exit_code == 0, res.output
    assert "valid" in res.output


def test_evidence_table_is_generated_from_the_scenario():
    assert (ROOT / "docs" / "evidence-mbt_op_bpd.md").read_text() == evidence_markdown(load_scenario(SCENARIO)), (
        "docs/evidence-mbt_op_bpd.md is out of date: run `heecon evidence scenarios/services/mbt_op_bpd.toml "
        "--out docs/evidence-mbt_op_bpd.md`")


def test_every_number_has_a_source_and_every_assumption_is_varied(scenario):
    raw = SCENARIO.read_text()
    varied = set(re.findall(r"parameters\.(\w+)", raw))  # named in a scenario-analysis or subgroup override
    for name, p in scenario.parameters.items():
        if p.expr.constant is None:
            continue
        assert p.source, f"{name} has no source"
        if "ASSUMPTION" in p.source:
            assert p.distribution is not None or p.range is not None or name in varied, (
                f"{name} is an ASSUMPTION with neither a distribution nor a scenario that varies it")
    costs = [p.name for p in scenario.parameters.values() if p.name.startswith("c_") and p.expr.constant is not None]
    assert costs and all(scenario.parameters[c].price_year is not None for c in costs)
    assert any(r["assumption"] for r in evidence_rows(scenario))


def test_trial_inputs_are_the_published_counts(scenario):
    assert parameter_value(scenario, "log_rr_sa") == pytest.approx(math.log((2 / 71) / (16 / 63)), abs=1e-3)
    assert scenario.parameters["log_rr_sa"].distribution is not None
    # CONSORT, seed 001: 6 + 13 + 52 = 71 (MBT-OP) and 10 + 6 + 47 = 63 (SCM-OP)
    assert parameter_value(scenario, "drop_mbt_0_6m") == pytest.approx(6 / 71, abs=1e-3)
    assert parameter_value(scenario, "drop_mbt_6_12m") == pytest.approx(13 / 65, abs=1e-3)
    assert parameter_value(scenario, "drop_scm_0_6m") == pytest.approx(10 / 63, abs=1e-3)
    assert parameter_value(scenario, "drop_scm_6_12m") == pytest.approx(6 / 53, abs=1e-3)


def test_months_in_treatment_follow_the_consort_completion(base):
    """Quarters attended of the 6 offered: 1 + 0.957 + 2 x 0.916 + 2 x 0.732 in MBT-OP (52/71 complete), about 5.1
    in SCM-OP (47/63); deaths and sampling take a little off."""
    def expected(d1, d2):
        a = (1 - d1) ** 0.5
        return 1 + a + 2 * (1 - d1) * (1 + (1 - d2) ** 0.5) / 2 + 2 * (1 - d1) * (1 - d2)
    assert base.loc["mbt", "events:treatment_quarter"] == pytest.approx(expected(6 / 71, 13 / 65), abs=0.08)
    assert base.loc["scm", "events:treatment_quarter"] == pytest.approx(expected(10 / 63, 6 / 53), abs=0.08)


def test_mbt_averts_suicide_attempts_and_admissions_during_treatment_only(base):
    sa_mbt, sa_scm = base.loc["mbt", "events:suicide_attempt"], base.loc["scm", "events:suicide_attempt"]
    assert sa_mbt < sa_scm
    # SCM: 16/63 with an attempt per 6 months for 5 years; MBT-OP's RR applies (ramped) for 18 months only
    assert sa_scm == pytest.approx(-math.log(1 - 16 / 63) / 2 * 20, rel=0.02)
    assert 0.4 < sa_scm - sa_mbt < 0.8
    assert base.loc["mbt", "events:admission"] < base.loc["scm", "events:admission"]
    assert base.loc["mbt", "events:self_harm"] == pytest.approx(base.loc["scm", "events:self_harm"])  # RR 1 base case
    assert base.loc["mbt", "lys"] == pytest.approx(base.loc["scm", "lys"])  # no effect on deaths is modelled


def test_the_replication_removes_most_of_the_advantage(base):
    carlyle = _run(["parameters.log_rr_sa.value=-0.057", "parameters.rr_admission.value=1"])
    averted = base.loc["scm", "events:suicide_attempt"] - base.loc["mbt", "events:suicide_attempt"]
    averted_c = carlyle.loc["scm", "events:suicide_attempt"] - carlyle.loc["mbt", "events:suicide_attempt"]
    assert 0 < averted_c < 0.1 * averted
    inc = base.loc["mbt", "costs[nhs_pss]"] - base.loc["scm", "costs[nhs_pss]"]
    inc_c = carlyle.loc["mbt", "costs[nhs_pss]"] - carlyle.loc["scm", "costs[nhs_pss]"]
    assert inc < 0 < inc_c  # the savings come from the events the trial saw; without them MBT-OP's better retention costs


def test_without_any_effect_mbt_costs_more_and_gains_nothing():
    o = _run(["parameters.log_rr_sa.value=0", "parameters.rr_admission.value=1"])
    assert o.loc["mbt", "qalys"] == pytest.approx(o.loc["scm", "qalys"])
    assert o.loc["mbt", "nhs"] == pytest.approx(o.loc["scm", "nhs"])
    assert o.loc["mbt", "service"] > o.loc["scm", "service"]  # 52/71 complete against 47/63, same intensity


def test_perspectives_are_the_flagships_and_the_subgroups_carry_the_moderator(scenario):
    assert set(scenario.perspectives) == {"nhs_pss", "public_sector", "societal"}
    names = {s.name for s in scenario.analyses.subgroups}
    assert {"bpd_only", "comorbid_aspd"} <= names
    rows = {s.name for s in scenario.analyses.scenarios}
    assert {"carlyle_2020", "pooled_fixed", "pooled_random", "null_effect"} <= rows


def test_small_default_style_run_writes_the_headline(tmp_path):
    out = tmp_path / "r"
    res = CliRunner().invoke(app, ["run", str(SCENARIO), "--psa", "20", "--no-analyses", "--out", str(out),
                                   "--set", "settings.individuals=500"])
    assert res.exit_code == 0, res.output
    s = json.loads((out / "summary.json").read_text())
    assert s["settings"]["engine"] == "microsim"
    h = s["headline"]["perspectives"]
    assert set(h) == {"nhs_pss", "public_sector", "societal"}
    assert h["nhs_pss"]["strategy"] == "mbt"
    assert h["nhs_pss"]["averted_per_person"] > 0.3        # suicide attempts averted
    assert h["nhs_pss"]["inc_costs"] < 0 < h["nhs_pss"]["inc_qalys"]
    assert "psa" in s
