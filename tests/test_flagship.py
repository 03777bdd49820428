"""The flagship scenario: it loads, its evidence table cannot drift, its calibration targets hold, every variant
runs, and the headline comes out of a default-style run."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from heecon.calibration import calibrate, poisson_lognormal_sd
from heecon.cli import app
from heecon.report.evidence import evidence_markdown
from heecon import load_scenario

from .conftest import ROOT, SCENARIOS

FLAGSHIP = SCENARIOS / "mbt_aspd_vs_pau.toml"
VARIANTS = sorted((SCENARIOS / "variants").glob("*.toml"))


@pytest.fixture(scope="module")
def flagship():
    return load_scenario(FLAGSHIP)


def test_evidence_table_is_generated_from_the_scenario(flagship):
    assert (ROOT / "docs" / "evidence.md").read_text() == evidence_markdown(flagship), (
        "docs/evidence.md is out of date: run `heecon evidence scenarios/mbt_aspd_vs_pau.toml --out docs/evidence.md`")


def test_every_parameter_has_a_source_and_assumptions_are_labelled(flagship):
    for name, p in flagship.parameters.items():
        if p.expr.constant is not None:
            assert p.source, f"{name} has no source"
    md = evidence_markdown(flagship)
    assert "**A**" in md
    costs = [p for p in flagship.parameters.values() if p.name.startswith("c_") and p.expr.constant is not None]
    assert all(p.price_year is not None for p in costs), [p.name for p in costs if p.price_year is None]


def test_calibration_targets_hold_for_the_shipped_scenario(flagship):
    rows = calibrate(flagship, fit=False)
    names = {r["target"] for r in rows}
    assert len(names) >= 8 and {"reoffending_1y", "custody_1y"} <= names  # custody and the PAU arm's reoffending
    for r in rows:
        assert r["within_tolerance"], r


def test_at_most_a_fifth_of_the_sourced_parameters_rest_on_assumption(flagship):
    from heecon.report.evidence import evidence_rows

    sourced = [r for r in evidence_rows(flagship) if not r["derived"]]
    assumed = [r["parameter"] for r in sourced if r["assumption"]]
    assert len(assumed) <= 0.2 * len(sourced), (len(assumed), len(sourced), assumed)


def test_with_every_alive_utility_equal_only_survival_changes_qalys(tmp_path):
    """No structural QALY artefact: with the men's utilities equal everywhere and victims' health left out, the
    QALY difference is the utility times the life-year difference (here none: offending does not change survival)."""
    from heecon.outcomes.base_case import run_base_case

    sc = load_scenario(FLAGSHIP, ["settings.individuals=2000", "parameters.u_mh_inpatient=\"u_community\"",
                                  "parameters.u_custody_ratio.value=1", "parameters.count_victim_health.value=0"])
    o = run_base_case(sc).outcomes
    dq = o.loc["mbt", "qalys"] - o.loc["pau", "qalys"]
    dly = o.loc["mbt", "lys"] - o.loc["pau", "lys"]
    assert dq == pytest.approx(0.56 * dly, abs=1e-9)


def test_poisson_lognormal_heterogeneity_fit():
    sd = poisson_lognormal_sd(0.566 * 2.9, 0.566)
    assert sd == pytest.approx(1.175, abs=2e-3)
    rng = np.random.default_rng(0)
    z = rng.normal(-sd * sd / 2, sd, 400_000)
    share = np.mean(rng.poisson(0.566 * 2.9 * np.exp(z)) > 0)
    assert share == pytest.approx(0.566, abs=0.005)


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.stem for v in VARIANTS])
def test_variant_runs(variant, tmp_path):
    r = CliRunner().invoke(app, ["run", str(variant), "--psa", "0", "--json", "--out", str(tmp_path / "r"),
                                 "--set", "settings.individuals=400", "--no-analyses"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    assert len(s["strategies"]) >= 2
    assert set(s["icers_by_perspective"]) >= {"nhs_pss", "public_sector", "societal"}


def test_null_effect_variant_changes_no_offences(tmp_path):
    r = CliRunner().invoke(app, ["run", str(SCENARIOS / "variants" / "null_effect.toml"), "--psa", "0", "--json",
                                 "--out", str(tmp_path / "r"), "--set", "settings.individuals=2000", "--no-analyses"])
    s = json.loads(r.output)
    ev = {x["name"]: x["events_per_person"] for x in s["strategies"]}
    for e in ("offence_violent_injury", "offence_violent_no_injury", "offence_other"):
        assert ev["mbt"][e] == pytest.approx(ev["pau"][e], rel=1e-12)  # common random numbers: identical paths


def test_flagship_headline_in_a_small_probabilistic_run(tmp_path):
    out = tmp_path / "r"
    r = CliRunner().invoke(app, ["run", str(FLAGSHIP), "--psa", "20", "--out", str(out), "--set", "settings.individuals=1000"])
    assert r.exit_code == 0, r.output
    for text in ("Incremental analysis", "Probability cost-effective", "offences averted", "per offence averted"):
        assert text in r.output, text
    s = json.loads((out / "summary.json").read_text())
    assert s["headline"]["perspectives"]["societal"]["inc_costs"] is not None


def test_headline_icer_cell_names_the_quadrant():
    from heecon.report.console import _icer_text

    ne = {"inc_costs": 2000.0, "inc_qalys": 0.1, "icer": 20000.0}
    sw = {"inc_costs": -16000.0, "inc_qalys": -0.0002, "icer": 80_000_000.0}
    assert _icer_text(ne, "GBP") == "£20,000/QALY"
    assert _icer_text(sw, "GBP") == "saves £80,000,000 per QALY lost"
    assert _icer_text({"inc_costs": 1.0, "inc_qalys": 0.0, "icer": None}, "GBP") == "—"
