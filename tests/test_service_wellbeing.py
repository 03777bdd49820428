"""Clinician wellbeing on the flagship (scenarios/services/clinician_wellbeing.toml): it validates, its evidence
table cannot drift, its new numbers are sourced, and staff absence, leavers and supervision change the MBT arms'
costs (and nothing else) the way the arithmetic of a fixed site team implies."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from heecon import load_scenario
from heecon.cli import app
from heecon.model.markov import parameter_value
from heecon.outcomes.base_case import run_base_case
from heecon.report.evidence import evidence_markdown

from .conftest import ROOT, SCENARIOS

SCENARIO = SCENARIOS / "services" / "clinician_wellbeing.toml"
FLAGSHIP = SCENARIOS / "mbt_aspd_vs_pau.toml"
SMALL = ["settings.individuals=1000"]
NO_STAFF = ["parameters.absence_mbt.value=0.043", "parameters.leaver_rate=0"]
OFFENCES = ["events:offence_violent_injury", "events:offence_violent_no_injury", "events:offence_other"]


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(SCENARIO, SMALL)


@pytest.fixture(scope="module")
def base(scenario):
    return run_base_case(scenario).outcomes


@pytest.fixture(scope="module")
def flagship():
    return run_base_case(load_scenario(FLAGSHIP, SMALL)).outcomes


def _run(overrides):
    return run_base_case(load_scenario(SCENARIO, SMALL + overrides)).outcomes


def test_validates_and_extends_the_flagship():
    res = CliRunner().invoke(app, ["validate", str(SCENARIO)])
    assert res.exit_code == 0, res.output
    assert "extends" in res.output and "c_mbt_per_starter" in res.output


def test_evidence_table_is_generated_from_the_scenario():
    assert (ROOT / "docs" / "evidence-clinician_wellbeing.md").read_text() == evidence_markdown(
        load_scenario(SCENARIO)), ("docs/evidence-clinician_wellbeing.md is out of date: run `heecon evidence "
                                   "scenarios/services/clinician_wellbeing.toml --out docs/evidence-clinician_wellbeing.md`")


def test_every_number_has_a_source_and_new_assumptions_are_varied(scenario):
    raw = SCENARIO.read_text()
    own = set(re.findall(r"^(\w+) = ", raw.split("[parameters]")[1].split("\n[")[0], flags=re.M))
    varied = set(re.findall(r"parameters\.(\w+)", raw))
    assert {"absence_mbt", "leaver_rate", "vacancy_months", "c_replacement", "supervision_rr"} <= own
    for name, p in scenario.parameters.items():
        if p.expr.constant is None:
            continue
        assert p.source, f"{name} has no source"
        if name in own and "ASSUMPTION" in p.source:
            assert p.distribution is not None or name in varied, name
    for name in ("c_replacement", "c_qualification", "c_hour_supervisor", "c_hour_team"):
        assert scenario.parameters[name].price_year is not None, name


def test_default_run_is_kept_small_and_says_so(scenario):
    sc = load_scenario(SCENARIO)
    assert sc.settings.individuals == 2000 and sc.settings.psa_samples == 200
    assert "settings.individuals = 2,000" in sc.description
    assert {"nhs_pss", "public_sector", "societal"} == set(sc.perspectives)
    assert all("service_staff" in members for members in sc.perspectives.values())


def test_capacity_lost_is_excess_absence_plus_vacancies(scenario):
    lost = parameter_value(scenario, "capacity_lost")
    assert lost == pytest.approx((0.056 - 0.043) + 0.10 * 4 / 12, abs=1e-9)
    flag = load_scenario(FLAGSHIP, SMALL)
    assert parameter_value(scenario, "c_mbt_per_starter") == pytest.approx(
        parameter_value(flag, "c_mbt_per_starter") / (1 - lost), rel=1e-9)


def test_staff_costs_fall_on_the_mbt_arms_only(base, flagship):
    for col in ("costs[public_sector]", "qalys", *OFFENCES):
        assert base.loc["pau", col] == pytest.approx(flagship.loc["pau", col], rel=1e-12), col
    for col in ("qalys", *OFFENCES):  # the effect is the flagship's: same men, same offences
        assert base.loc["mbt", col] == pytest.approx(flagship.loc["mbt", col], rel=1e-12), col
    assert base.loc["pau", "service_staff"] == 0
    assert base.loc["mbt", "service_staff"] > 0
    assert base.loc["mbt", "service"] > flagship.loc["mbt", "service"]  # the capacity limit
    extra = base.loc["mbt", "costs[public_sector]"] - flagship.loc["mbt", "costs[public_sector]"]
    assert 300 < extra < 3000  # per man: about GBP 1,000 at the base-case rates


def test_without_excess_absence_or_leavers_the_flagship_costing_returns(flagship):
    o = _run(NO_STAFF)
    assert o.loc["mbt", "service_staff"] == 0
    assert o.loc["mbt", "service"] == pytest.approx(flagship.loc["mbt", "service"], rel=1e-9)
    assert o.loc["mbt", "costs[societal]"] == pytest.approx(flagship.loc["mbt", "costs[societal]"], rel=1e-9)


def test_more_leavers_cost_more(base):
    high = _run(["parameters.leaver_rate.value=0.25"])
    assert high.loc["mbt", "service_staff"] > base.loc["mbt", "service_staff"]
    assert high.loc["mbt", "service"] > base.loc["mbt", "service"]
    assert high.loc["pau", "costs[societal]"] == pytest.approx(base.loc["pau", "costs[societal]"])


def test_supervision_buys_capacity_but_costs_more_than_it_saves(base):
    sup, dlv = base.loc["mbt_supported"], base.loc["mbt"]
    assert sup["service"] < dlv["service"]            # fewer days and posts lost
    assert sup["service_staff"] > dlv["service_staff"]  # GBP 9,500 a site-year of supervision against a fifth of turnover
    assert sup["costs[nhs_pss]"] > dlv["costs[nhs_pss]"]
    no_effect = _run(["parameters.supervision_rr.value=1"])
    assert no_effect.loc["mbt_supported", "service"] == pytest.approx(no_effect.loc["mbt", "service"], rel=1e-9)
