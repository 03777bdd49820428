"""PSA pipeline: reproducibility, chunking invariance, summaries, outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from heecon.cli import app
from heecon.engine.evaluate import evaluate_totals
from heecon.outcomes.base_case import run_base_case
from heecon import load_scenario
from heecon.params.scenario_draws import draw_psa
from heecon.sensitivity.psa import run_psa

from .conftest import ROOT

FMH6 = ROOT / "benchmarks" / "fmh6.toml"


@pytest.fixture(scope="module")
def fmh6():
    return load_scenario(FMH6)


def test_same_seed_same_numbers_and_seed_zero_is_a_seed(fmh6):
    a = run_psa(fmh6, 64, seed=0)
    b = run_psa(fmh6, 64, seed=0)
    c = run_psa(fmh6, 64, seed=1)
    assert np.array_equal(a.totals, b.totals)
    assert not np.array_equal(a.totals, c.totals)
    assert a.summary()["seed"] == 0


def test_chunking_does_not_change_a_single_number(fmh6):
    d = draw_psa(fmh6, 300, 7)
    values = {k: d[k] for k in d.names}
    whole = evaluate_totals(fmh6, values, 300, chunk=4096)
    pieces = evaluate_totals(fmh6, values, 300, chunk=37)
    assert np.array_equal(whole, pieces)


def test_dirichlet_rows_are_drawn_and_sum_to_one(fmh6):
    d = draw_psa(fmh6, 500, 3)
    row = sum(d[f"p_CS_{b}"] for b in ["CS", "CR", "CU", "IP", "DO", "DV"])
    np.testing.assert_allclose(row, 1.0, atol=1e-12)
    assert d["p_CS_CR"].std() > 0.01


def test_psa_means_near_base_case_and_summary_has_intervals(fmh6):
    base = run_base_case(fmh6)
    psa = run_psa(fmh6, 2000, seed=11)
    s = psa.summary()
    usual = s["strategies"][0]
    assert usual["costs"]["lower"] < base.outcomes.loc["usual", "costs"] < usual["costs"]["upper"]
    assert usual["costs"]["mean"] == pytest.approx(base.outcomes.loc["usual", "costs"], rel=0.05)
    assert set(s["prob_cost_effective"]) == {"20000", "30000"}
    for probs in s["prob_cost_effective"].values():
        assert sum(probs.values()) == pytest.approx(1.0)
    assert all(v >= 0 for v in s["evpi_per_person"].values())
    ceac = psa.ceac_frame()
    assert {"wtp", "usual", "intervention", "frontier", "evpi"} <= set(ceac.columns)
    np.testing.assert_allclose(ceac[["usual", "intervention"]].sum(axis=1), 1.0)


def test_population_evpi_when_population_size_given():
    sc = load_scenario(FMH6, ["settings.population_size=1000", "settings.evpi_years=5"])
    s = run_psa(sc, 200, seed=2).summary()
    for w, v in s["evpi_per_person"].items():
        annuity = sum(1.035 ** -t for t in range(1, 6))
        assert s["evpi_population"][w] == pytest.approx(v * 1000 * annuity, rel=1e-9)


def test_cli_run_with_psa_writes_parquet_with_parameters_and_summary(tmp_path):
    out = tmp_path / "r"
    res = CliRunner().invoke(app, ["run", str(FMH6), "--psa", "50", "--seed", "0", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["psa"]["n_samples"] == 50 and s["settings"]["psa_samples"] == 50 and s["settings"]["seed"] == 0
    df = pd.read_parquet(out / "psa_samples.parquet")
    assert len(df) == 100
    assert "param:c_int" in df.columns and "param:p_CS_CR" in df.columns
    for f in ("ceac.csv", "evpi.csv", "summary.json"):
        assert (out / f).is_file()
