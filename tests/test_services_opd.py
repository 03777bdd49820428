"""The OPD-pathway service scenarios (scenarios/services/): each loads, carries a source on every number, labels and
varies its assumptions, keeps its evidence table in step, reports offences averted and prison-years, and a small run
gives the direction its evidence implies."""

from __future__ import annotations

import re

import pytest

from heecon import load_scenario
from heecon.outcomes.base_case import run_base_case
from heecon.report.evidence import evidence_markdown, evidence_rows

from .conftest import ROOT, SCENARIOS

SERVICES = SCENARIOS / "services"
NAMES = ["opd_community", "iirms", "pipe_men", "pipe_women", "court_mh_pilot"]
EFFECTS = {"opd_community": ("opd", ["rr_opd_reoffending", "rr_opd_recall"]),
           "iirms": ("iirms", ["rr_iirms_reoffending", "rr_iirms_recall"]),
           "pipe_men": ("pipe", ["rr_pipe_recall", "rr_pipe_reoffending"]),
           "pipe_women": ("pipe", ["rr_pipe_recall", "rr_pipe_reoffending"]),
           "court_mh_pilot": ("pilot", ["rr_pilot_custody", "rr_pilot_reoffending"])}
OFFENCES = ["offence_violent_injury", "offence_violent_no_injury", "offence_other"]
SMALL = ["settings.individuals=400", "settings.psa_samples=0"]


def _load(name, extra=()):
    return load_scenario(SERVICES / f"{name}.toml", [*SMALL, *extra])


def _run(name, extra=()):
    return run_base_case(_load(name, extra)).outcomes


def _inc(o, strategy, column):
    return float(o.loc[strategy, column] - o.loc["pau", column])


def _offences(o, strategy):
    return sum(_inc(o, strategy, f"events:{e}") for e in OFFENCES)


@pytest.fixture(scope="module", params=NAMES)
def service(request):
    return request.param, load_scenario(SERVICES / f"{request.param}.toml")


def test_loads_with_the_flagships_perspectives_and_measures(service):
    name, sc = service
    assert sc.settings.comparator == "pau"
    assert set(sc.perspectives) == {"nhs_pss", "public_sector", "societal"}
    assert list(sc.settings.averted_events) == OFFENCES
    labels = {m.label: m for m in sc.analyses.measures}
    assert labels["Prison-years"].events == ("prison_quarter",) and labels["Prison-years"].scale == 0.25
    assert "Recalls" in labels


def test_every_number_has_a_source_and_costs_a_price_year(service):
    name, sc = service
    missing = [n for n, p in sc.parameters.items() if p.expr.constant is not None and not p.source]
    assert not missing, missing
    undated = [n for n, p in sc.parameters.items()
               if n.startswith("c_") and p.expr.constant is not None and p.price_year is None
               and p.expr.constant != 0]
    assert not undated, undated


def test_every_assumption_is_varied(service):
    """An ASSUMPTION has a PSA distribution or a DSA range, or a scenario analysis sets it."""
    name, sc = service
    set_in_scenarios = " ".join(" ".join(v.overrides) for v in sc.analyses.scenarios)
    rows = [r for r in evidence_rows(sc) if r["assumption"] and not r["derived"]]
    assert rows
    unvaried = [r["parameter"] for r in rows
                if not r["distribution"] and not r["range"]
                and not re.search(rf"parameters\.{r['parameter']}\b", set_in_scenarios)]
    assert not unvaried, unvaried


def test_no_comparative_estimate_is_said_and_break_even_is_asked(service):
    name, sc = service
    strategy, effects = EFFECTS[name]
    assert any(t.parameter in effects and t.measure == "net_cost" for t in sc.analyses.thresholds)
    sources = " ".join(sc.parameters[e].source for e in effects)
    assert re.search(r"NOT FOUND|NO comparative|no statistically significant|not for the pilot|no evidence of an "
                     r"impact", sources), sources
    for e in effects:
        assert sc.parameters[e].distribution is not None, e


def test_evidence_table_is_generated_from_the_scenario(service):
    name, sc = service
    doc = ROOT / "docs" / f"evidence-{name}.md"
    assert doc.read_text() == evidence_markdown(sc), (
        f"{doc.name} is out of date: run `heecon evidence scenarios/services/{name}.toml --out docs/{doc.name}`")


@pytest.mark.parametrize("name", ["opd_community", "iirms", "pipe_men", "pipe_women"])
def test_null_effect_costs_the_service_and_an_effect_averts_offences(name):
    """The evidence gives no effect: the base case costs the service and averts nothing; a lower reoffending ratio
    averts offences and lowers the public sector's net cost."""
    strategy, (rr_reoff, rr_recall) = EFFECTS[name][0], sorted(EFFECTS[name][1], key=lambda s: "recall" in s)
    base = _run(name)
    assert _inc(base, strategy, "costs[nhs_pss]") > 0
    assert _inc(base, strategy, "costs[public_sector]") > 0
    assert _offences(base, strategy) == pytest.approx(0, abs=1e-9)
    better = _run(name, [f"parameters.{rr_reoff}.value=0.7"])
    assert _offences(better, strategy) < -0.01
    assert _inc(better, strategy, "costs[public_sector]") < _inc(base, strategy, "costs[public_sector]")
    fewer_recalls = _run(name, [f"parameters.{rr_recall}.value=0.5"])
    assert _inc(fewer_recalls, strategy, "events:recall") < 0
    assert _inc(fewer_recalls, strategy, "events:prison_quarter") < 0


def test_court_pilot_diverts_from_custody():
    """RAND: custody after L&D almost half the control group's; no effect on offending. Fewer prison-years, the
    prison savings offset the pilot's cost for the public sector, and (incapacitation) a few more offences at
    liberty."""
    o = _run("court_mh_pilot")
    assert _inc(o, "pilot", "events:prison_quarter") < 0
    assert _inc(o, "pilot", "prisons") < 0
    assert _inc(o, "pilot", "service") > 0
    assert _inc(o, "pilot", "costs[public_sector]") < _inc(o, "pilot", "costs[nhs_pss]")
    assert _offences(o, "pilot") > 0
    none = _run("court_mh_pilot", ["parameters.rr_pilot_custody.value=1"])
    assert _inc(none, "pilot", "events:prison_quarter") == pytest.approx(0, abs=1e-9)
    assert _inc(none, "pilot", "costs[public_sector]") > _inc(o, "pilot", "costs[public_sector]")


def test_women_pipe_extends_the_mens():
    men, women = load_scenario(SERVICES / "pipe_men.toml"), load_scenario(SERVICES / "pipe_women.toml")
    assert women.parameters["offences_per_year"].expr.constant > men.parameters["offences_per_year"].expr.constant
    assert women.parameters["share_violent_injury"].expr.constant < men.parameters["share_violent_injury"].expr.constant
    assert set(women.parameters) == set(men.parameters)
