"""``heecon evsi``: EVSI and ENBS of a proposed study from a new PSA or from an earlier run's per-sample table, its
files, figures and report section, and its refusals (bad sizes or methods, a misspelt design parameter, a run of
another version of the scenario)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import heecon
from heecon.cli.app import app
from heecon.cli.evsi import parse_methods, parse_sizes
from heecon.sensitivity.evsi import evsi, evsi_from_samples
from heecon.sensitivity.psa import run_psa

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "mbt_aspd_vs_pau.toml"
DESIGN = ROOT / "scenarios" / "designs" / "moam_followup.toml"
SMALL = ["--set", "settings.individuals=300"]
runner = CliRunner()


def test_parse_sizes_and_methods():
    assert parse_sizes("50, 100,1_000") == [50, 100, 1000]
    for bad in ("0", "50,50", "ten", "50,-1"):
        with pytest.raises(ValueError):
            parse_sizes(bad)
    assert parse_methods("gaussian,regression,gaussian") == ["gaussian", "regression"]
    with pytest.raises(ValueError, match="choose from regression, gaussian, is"):
        parse_methods("moment")


def test_evsi_from_a_runs_samples_equals_evsi_of_the_psa_itself():
    sc = heecon.load_scenario(FLAGSHIP, ["settings.individuals=300"])
    psa = run_psa(sc, 60, progress=False)
    a = evsi(psa, DESIGN, n=[50, 400], method="regression", bootstrap=20, se_draws=10)
    b = evsi_from_samples(sc, psa.samples_frame(), DESIGN, n=[50, 400], method="regression", bootstrap=20,
                          se_draws=10, seed=psa.seed)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert (a.to_frame()["evppi"] <= a.to_frame()["evpi"] + 1e-9).all()


def test_cli_from_run_writes_tables_figures_and_a_report_section(tmp_path):
    out = tmp_path / "run"
    r = runner.invoke(app, ["run", str(FLAGSHIP), "--psa", "60", "--no-analyses", "--out", str(out), *SMALL])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["evsi", str(FLAGSHIP), "--design", str(DESIGN), "--from-run", str(out), "--n", "50,400",
                            "--method", "regression", "--json", *SMALL])
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    sub = out / "evsi"
    for f in ("evsi.csv", "enbs.csv", "enbs_optimal.csv", "analysis.json", "figures/evsi.png", "figures/enbs.png"):
        assert (sub / f).is_file(), f
    ev = pd.read_csv(sub / "evsi.csv")
    assert sorted(set(ev["n"])) == [50, 400] and set(ev["method"]) == {"regression"}
    nb = pd.read_csv(sub / "enbs.csv")
    # ENBS = population EVSI - (fixed + per participant x 2 arms x n), the design's costs
    assert np.allclose(nb["study_cost"], 1_000_000 + 2_000 * 2 * nb["n"])
    assert np.allclose(nb["enbs"], nb["population_evsi"] - nb["study_cost"])
    about = json.loads((sub / "analysis.json").read_text())
    assert about["population"]["population_per_year"] == 2000 and about["population"]["years"] == 10
    assert res["folder"] == str(sub) and len(res["evsi"]) == len(ev)
    r = runner.invoke(app, ["report", str(out)])
    assert r.exit_code == 0, r.output
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Research prioritisation" in html and "2,000 people a year" in html and "optimal" in html.lower()


def test_cli_refuses_another_version_of_the_scenario_and_bad_input(tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(app, ["run", str(FLAGSHIP), "--psa", "30", "--no-analyses", "--out", str(out),
                               *SMALL]).exit_code == 0
    r = runner.invoke(app, ["evsi", str(FLAGSHIP), "--design", str(DESIGN), "--from-run", str(out),
                            "--set", "settings.individuals=400"])
    assert r.exit_code == 2 and "another version of the scenario" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["evsi", str(FLAGSHIP), "--design", str(DESIGN), "--n", "50,zero", *SMALL])
    assert r.exit_code == 2 and "Invalid --n" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text(DESIGN.read_text().replace('rate_ratio = "irr_offences"', 'rate_ratio = "irr_ofences"'))
    r = runner.invoke(app, ["evsi", str(FLAGSHIP), "--design", str(bad), "--out", str(tmp_path / "o"), *SMALL])
    assert r.exit_code == 2 and "irr_ofences" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "o").exists()
    r = runner.invoke(app, ["evsi", str(FLAGSHIP), "--design", str(DESIGN), "--from-run", str(tmp_path / "none"),
                            "--out", str(tmp_path / "o2"), *SMALL])
    assert r.exit_code == 2 and "psa_samples.parquet" in r.output and not (tmp_path / "o2").exists()
