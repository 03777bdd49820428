"""Deterministic sensitivity analysis: one-way, two-way, threshold."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from heecon.cli import app
from heecon.outcomes.base_case import run_base_case
from heecon import load_scenario
from heecon.sensitivity.dsa import DSAError, one_way, parameter_ranges, threshold, two_way

from .conftest import ROOT, SCENARIOS

HIV = SCENARIOS / "published" / "hiv_chancellor.toml"
FMH6 = ROOT / "benchmarks" / "fmh6.toml"


def test_one_way_matches_separate_runs_and_sorts_by_swing():
    sc = load_scenario(FMH6)
    ow = one_way(sc, wtp=30000)
    assert list(ow.table["swing"]) == sorted(ow.table["swing"], reverse=True)
    top = ow.table.iloc[0]
    lo = run_base_case(load_scenario(FMH6, [f"parameters.{top.parameter}.value={float(top.low)!r}"]))
    inmb = 30000 * (lo.outcomes.loc["intervention", "qalys"] - lo.outcomes.loc["usual", "qalys"]) - (
        lo.outcomes.loc["intervention", "costs"] - lo.outcomes.loc["usual", "costs"])
    assert top.inc_nmb_low == pytest.approx(inmb, rel=1e-10)


def test_ranges_come_from_range_or_distribution_percentiles():
    sc = load_scenario(FMH6)
    r = parameter_ranges(sc).set_index("parameter")
    assert r.loc["c_int", "from"].startswith("95%")
    from scipy import stats

    assert r.loc["c_int", "low"] == pytest.approx(stats.gamma(25, scale=80).ppf(0.025), rel=1e-6)
    assert "p_CS_CR" not in r.index  # Dirichlet members have no own range


def test_threshold_is_where_the_icer_equals_the_wtp():
    sc = load_scenario(HIV)
    t = threshold(sc, "c_lamivudine", wtp=10000, bounds=(0, 50000))
    assert t.threshold is not None
    r = run_base_case(load_scenario(HIV, [f"parameters.c_lamivudine.value={t.threshold!r}"]))
    icer = r.icers.set_index("strategy").loc["comb", "icer"]
    assert icer == pytest.approx(10000, rel=1e-8)


def test_thresholds_sharing_a_memo_run_the_grid_once_with_the_same_results(monkeypatch):
    """The default run's thresholds in several perspectives share the grid of model runs (heecon.sensitivity.suite)."""
    import heecon.sensitivity.dsa as dsa

    sc = load_scenario(HIV)
    alone = [threshold(sc, "c_lamivudine", wtp=w, bounds=(0, 50000)) for w in (10000, 20000)]
    calls = []
    real = dsa.evaluate_totals
    monkeypatch.setattr(dsa, "evaluate_totals", lambda *a, **k: calls.append(len(a[1]["c_lamivudine"])) or real(*a, **k))
    memo: dict = {}
    shared = [threshold(sc, "c_lamivudine", wtp=w, bounds=(0, 50000), memo=memo) for w in (10000, 20000)]
    for a, b in zip(alone, shared):
        assert a.threshold == b.threshold and a.message == b.message
        assert a.grid.equals(b.grid)
    grid_runs = [n for n in calls if n > 1]
    assert len(grid_runs) == 1  # the second search took the grid from the memo
    assert alone[0].threshold != alone[1].threshold


def test_threshold_says_when_none_exists():
    t = threshold(load_scenario(HIV), "rr", wtp=10000)
    assert t.threshold is None
    assert "no threshold for rr" in t.message and "cost-effective" in t.message


def test_two_way_grid_and_errors():
    sc = load_scenario(FMH6)
    g = two_way(sc, "c_int", "u_CS", n=4)
    assert len(g) == 16 and {"c_int", "u_CS", "inc_nmb", "icer"} <= set(g.columns)
    with pytest.raises(DSAError, match="did you mean|Did you mean"):
        one_way(sc, ["c_itn"])
    with pytest.raises(DSAError, match="neither a range nor a distribution"):
        one_way(load_scenario(HIV), ["c_med_A"])


def test_cli_dsa_json_and_bad_parameter(tmp_path):
    r = CliRunner().invoke(app, ["dsa", str(HIV), "--threshold", "c_lamivudine", "--wtp", "10000", "--json",
                                 "--set", "parameters.c_lamivudine.range=[0, 50000]", "--out", str(tmp_path / "d")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "d" / "dsa" / "dsa_one_way.csv").is_file()
    bad = CliRunner().invoke(app, ["dsa", str(HIV), "-p", "nope", "--out", str(tmp_path / "e")])
    assert bad.exit_code == 2 and "unknown parameter 'nope'" in bad.output and "Traceback" not in bad.output
