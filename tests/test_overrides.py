"""Overrides that agree with the PSA (issue 20, point 1): `--set parameters.X.value=V` moves X's distribution to V
(mean V, SD kept) or is refused where that is impossible; `validate` warns when a base-case value lies far from its
distribution's centre."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from heecon import load_scenario
from heecon.cli import app
from heecon.params import DistributionError, parse_distribution
from heecon.params.recentre import recentre
from heecon.scenario.advice import scenario_warnings
from heecon.scenario.errors import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
FMH6 = ROOT / "benchmarks" / "fmh6.toml"
runner = CliRunner()


@pytest.mark.parametrize("spec", [
    {"type": "normal", "mean": 1.0, "sd": 0.3},
    {"type": "lognormal", "mean": 0.8, "sd": 0.1},
    {"type": "lognormal", "ci95": [0.6, 0.95]},
    {"type": "beta", "mean": 0.3, "se": 0.05},
    {"type": "beta", "alpha": 10, "beta": 30},
    {"type": "gamma", "shape": 25, "scale": 80.0},
    {"type": "uniform", "lower": 1, "upper": 3},
    {"type": "triangular", "lower": 0, "mode": 1, "upper": 4},
    {"type": "truncnormal", "mean": 30, "sd": 8, "lower": 18, "upper": 70},
])
def test_a_distribution_moves_to_the_new_value_with_its_sd_kept(spec):
    d = parse_distribution(spec, where="parameters.x.distribution")
    v = d.mean() * 0.9 + (0.05 if d.type == "beta" else 0.0)
    m = recentre(d, v, "parameters.x.distribution")
    assert type(m) is type(d)
    assert m.mean() == pytest.approx(v, rel=1e-9)
    if d.type == "truncnormal":  # keeps its bounds and its SD before truncation
        assert (m.sd, m.lower, m.upper) == (d.sd, d.lower, d.upper)
    else:
        assert m.std() == pytest.approx(d.std(), rel=1e-9)


def test_moves_that_cannot_be_made_say_what_to_do():
    beta = parse_distribution({"type": "beta", "mean": 0.5, "se": 0.2}, where="parameters.p.distribution")
    with pytest.raises(DistributionError, match="give the distribution too"):
        recentre(beta, 0.99, "parameters.p.distribution")
    tn = parse_distribution({"type": "truncnormal", "mean": 30, "sd": 8, "lower": 18, "upper": 70}, where="w")
    with pytest.raises(DistributionError, match="outside the bounds"):
        recentre(tn, 80.0, "w")
    fixed = parse_distribution({"type": "fixed", "value": 2}, where="w")
    assert recentre(fixed, 3.0, "w").mean() == 3.0


def test_set_value_moves_the_psa_with_the_base_case():
    sc = load_scenario(FMH6, ["parameters.c_int.value=4000"])
    p = sc.parameters["c_int"]
    assert p.expr.constant == 4000
    assert p.dist.mean() == pytest.approx(4000) and p.dist.std() == pytest.approx(400)  # gamma(25, 80): SD 400
    assert p.recentred_from.mean() == pytest.approx(2000)
    from heecon.params.scenario_draws import draw_psa

    draws = draw_psa(sc, 4000, 1)
    assert np.mean(draws["c_int"]) == pytest.approx(4000, rel=0.01)
    from heecon.report.evidence import evidence_rows

    row = next(r for r in evidence_rows(sc) if r["parameter"] == "c_int")
    assert "moved by --set" in row["distribution"]


def test_the_headline_and_the_psa_agree_after_an_override(tmp_path):
    """The reported failure: a --set base case cost-effective "with probability 0.10" while the PSA gave 0.90."""
    r = runner.invoke(app, ["run", str(FMH6), "--psa", "200", "--set", "parameters.c_int.value=300", "--json",
                            "--out", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    nmb = {x["strategy"]: x["nmb"] for x in s["net_benefit"] if x["wtp"] == 20000}
    best = max(nmb, key=nmb.get)
    assert best == "intervention"
    assert s["psa"]["prob_cost_effective"]["20000"][best] > 0.5


def test_refused_overrides_name_the_key_and_what_would_work(tmp_path):
    with pytest.raises(ScenarioError) as e:
        load_scenario(FMH6, ["parameters.u_CS.value=0.999"])
    p = e.value.problems[0]
    assert p.key == "parameters.u_CS.value" and "give the distribution too" in p.message
    with pytest.raises(ScenarioError) as e:
        load_scenario(FMH6, ["parameters.c_int.value=\"2 * c_IP\""])
    assert "expression" in e.value.problems[0].message
    with pytest.raises(ScenarioError) as e:  # a Dirichlet member: the joint draws it
        load_scenario(FMH6, ["parameters.p_CS_CR.value=0.2"])
    assert any(q.key == "parameters.p_CS_CR.value" and "dirichlet" in q.message for q in e.value.problems)
    emp = tmp_path / "draws.csv"
    emp.write_text("x\n" + "\n".join(str(0.5 + i / 1000) for i in range(100)) + "\n")
    sc_file = tmp_path / "s.toml"
    sc_file.write_text(f'extends = "{FMH6}"\n[parameters.c_int]\nvalue = 2000\n'
                       f'distribution = {{ type = "empirical", file = "{emp}", column = "x" }}\n')
    with pytest.raises(ScenarioError, match="read from a file"):
        load_scenario(sc_file, ["parameters.c_int.value=2500"])


def test_a_distribution_given_with_the_value_is_used_as_given():
    sc = load_scenario(FMH6, ["parameters.c_int.value=4000",
                              'parameters.c_int.distribution={type="gamma", mean=4000, sd=1000}'])
    p = sc.parameters["c_int"]
    assert p.dist.std() == pytest.approx(1000) and p.recentred_from is None
    sc = load_scenario(FMH6, ["parameters.c_int.distribution.scale=100"])  # a key of it: as given, value kept
    assert sc.parameters["c_int"].dist.mean() == pytest.approx(2500) and sc.parameters["c_int"].expr.constant == 2000


def test_validate_warns_when_a_base_case_value_lies_far_from_its_distribution(tmp_path):
    r = runner.invoke(app, ["validate", str(FMH6), "--set", "parameters.c_int.distribution.scale=200"])
    assert r.exit_code == 0, r.output
    assert "valid" in r.output and "1 warning" in r.output
    assert "parameters.c_int.value" in r.output and "95% interval" in r.output
    sc = load_scenario(FMH6, ["parameters.c_int.distribution.scale=200"])
    (w,) = scenario_warnings(sc)
    assert w.key == "parameters.c_int.value"
    r = runner.invoke(app, ["run", str(FMH6), "--psa", "0", "--out", str(tmp_path / "o"),
                            "--set", "parameters.c_int.distribution.scale=200"])
    assert r.exit_code == 0 and "95% interval" in r.output  # run says it too


@pytest.mark.parametrize("path", [FMH6, ROOT / "scenarios" / "mbt_aspd_vs_pau.toml",
                                  *sorted((ROOT / "scenarios" / "published").glob("*.toml")),
                                  *sorted((ROOT / "scenarios" / "variants").glob("*.toml"))],
                         ids=lambda p: p.stem)
def test_shipped_scenarios_have_no_such_warning(path):
    assert scenario_warnings(load_scenario(path, check=False)) == []


def test_label_unit_and_notes_of_a_parameter_reach_the_evidence_table():
    from heecon.report.evidence import evidence_markdown

    sc = load_scenario(FMH6, ['parameters.c_int={value = 2000, unit = "GBP per cycle", label = "intervention cost", '
                              'notes = "list price, 2024 catalogue", source = "FMH-6 benchmark"}'])
    line = next(ln for ln in evidence_markdown(sc).splitlines() if ln.startswith("| `c_int`"))
    assert line.startswith("| `c_int` (intervention cost) | 2,000 GBP per cycle |")
    assert line.endswith("FMH-6 benchmark Notes: list price, 2024 catalogue |")
