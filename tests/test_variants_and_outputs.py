"""Variants and results (issue 19): ``[extends]`` with replace and merge, what ``heecon validate`` says a variant
changes; results per person and per cohort (``settings.cohort_size``); one-off start costs per strategy and the
time-0 row of ``per_cycle.csv``, whose rows sum to the totals under every counting convention; the trace in
``heecon run --json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from heecon import load_scenario, scenario_from_dict
from heecon.cli import app
from heecon.outcomes.base_case import cohort_outcomes, per_cycle_with_start, run_base_case, trace_json
from heecon.scenario.errors import ScenarioError
from heecon.scenario.types import COUNTING_METHODS
from tests.gpu_cases import write_feature_scenario
from tests.scenario_factory import base_scenario, set_in, write_scenario

runner = CliRunner()


# --------------------------------------------------------------------------- 6. extends without traps


def _parent(tmp: Path) -> Path:
    d = base_scenario()
    d["parameters"]["rr_b"] = {"value": 0.5, "source": "assumption"}
    set_in(d, "strategies.trt.parameters", {"c_H": "c_S * rr_b"})
    return write_scenario(tmp, d, "base.toml")


def test_a_child_merges_a_strategys_parameters_by_default(tmp_path: Path) -> None:
    _parent(tmp_path)
    child = tmp_path / "child.toml"
    child.write_text('extends = "base.toml"\n[strategies.trt.parameters]\nc_S = "c_trt * 3"\n')
    sc = load_scenario(child)
    assert set(sc.strategies["trt"].parameters) == {"c_H", "c_S"}  # both changes apply


def test_a_child_can_replace_a_table_whole(tmp_path: Path) -> None:
    _parent(tmp_path)
    child = tmp_path / "child.toml"
    child.write_text('[extends]\nfile = "base.toml"\nreplace = ["strategies.trt.parameters"]\n'
                     '[strategies.trt.parameters]\nc_S = "c_trt * 3"\n')
    sc = load_scenario(child)
    assert set(sc.strategies["trt"].parameters) == {"c_S"}
    assert sc.origin("strategies.trt.parameters.c_S").endswith("child.toml")
    assert sc.origin("strategies.trt.label").endswith("base.toml")  # the rest of the strategy still merges
    base = run_base_case(load_scenario(tmp_path / "base.toml")).outcomes
    rep = run_base_case(sc).outcomes
    assert rep.loc["soc", "costs"] == base.loc["soc", "costs"] and rep.loc["trt", "costs"] != base.loc["trt", "costs"]


def test_a_child_can_merge_a_table_that_is_replaced_whole_by_default(tmp_path: Path) -> None:
    _parent(tmp_path)
    child = tmp_path / "child.toml"
    child.write_text('[extends]\nfile = "base.toml"\nmerge = ["parameters.p_HS"]\n'
                     '[parameters.p_HS]\nsource = "a better source"\n')
    sc = load_scenario(child)
    assert sc.parameters["p_HS"].source == "a better source" and sc.parameters["p_HS"].expr.constant == 0.1
    whole = tmp_path / "whole.toml"
    whole.write_text('extends = "base.toml"\n[parameters.p_HS]\nsource = "a better source"\n')
    with pytest.raises(ScenarioError, match="needs 'value'"):  # replaced whole by default: the value is gone
        load_scenario(whole)


@pytest.mark.parametrize("text, key, gist", [
    ('[extends]\nfile = "base.toml"\nreplace = ["strategies.trt.parameter"]\n[strategies.trt.parameters]\np_HD = 0.02\n',
     "extends.replace", "which this file does not give as a table"),
    ('[extends]\nfile = "base.toml"\nreplace = ["strategies.soc.parameters"]\n[strategies.soc.parameters]\np_HD = 0.02\n',
     "extends.replace", "the parent has no table there"),
    ('[extends]\nfile = "base.toml"\nreplace = ["parameters"]\nmerge = ["parameters"]\n[parameters]\nc_H = 1\n',
     "extends", "listed in both replace and merge"),
    ('[extends]\nfile = "base.toml"\nreplace = "parameters"\n', "extends.replace", "must be a list of table key paths"),
    ('[extends]\nfiel = "base.toml"\n', "extends.fiel", "Did you mean 'file'?"),
    ('[extends]\nreplace = []\n', "extends.file", "is missing"),
    ('[extends]\nfile = "nope.toml"\n', "extends.file", "does not exist"),
])
def test_extends_mistakes_are_refused(tmp_path: Path, text: str, key: str, gist: str) -> None:
    _parent(tmp_path)
    child = tmp_path / "child.toml"
    child.write_text(text)
    result = runner.invoke(app, ["validate", str(child)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert f"  - {key}: " in result.output and gist in result.output and "child.toml" in result.output


def test_validate_prints_what_a_variant_changes(tmp_path: Path) -> None:
    _parent(tmp_path)
    child = tmp_path / "child.toml"
    child.write_text('[extends]\nfile = "base.toml"\nreplace = ["strategies.trt.parameters"]\n'
                     '[strategies.trt.parameters]\nc_S = "c_trt * 3"\n[parameters]\nc_H = 150\n')
    result = runner.invoke(app, ["validate", str(child), "--set", "settings.horizon_years=20"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"Changes relative to {tmp_path / 'base.toml'} (extends):" in out
    assert "  parameters.c_H: 100 -> 150" in out
    assert '  + strategies.trt.parameters.c_S = "c_trt * 3"' in out
    assert '  - strategies.trt.parameters.c_H (was "c_S * rr_b"; removed by a table this file replaces)' in out
    assert "  --set settings.horizon_years = 20" in out
    plain = runner.invoke(app, ["validate", str(tmp_path / "base.toml")])
    assert plain.exit_code == 0 and "Changes relative" not in plain.output


VARIANTS = sorted((Path(__file__).resolve().parents[1] / "scenarios" / "variants").glob("*.toml"))


@pytest.mark.parametrize("variant", VARIANTS, ids=[p.stem for p in VARIANTS])
def test_the_shipped_variants_still_load_and_say_what_they_change(variant: Path) -> None:
    result = runner.invoke(app, ["validate", str(variant)])
    assert result.exit_code == 0, result.output
    # every variant extends the flagship, directly or through another variant (experts_by_experience builds on
    # dose_response)
    assert "Changes relative to" in result.output
    assert "mbt_aspd_vs_pau.toml" in result.output or "/scenarios/variants/" in result.output.split("Changes relative to")[1]


# --------------------------------------------------------------------------- 2. per person and per cohort


def test_cohort_size_scales_the_per_cohort_results_only(tmp_path: Path) -> None:
    one = run_base_case(scenario_from_dict(base_scenario()))
    sc = scenario_from_dict(set_in(base_scenario(), "settings.cohort_size", 1000))
    res = run_base_case(sc)
    pd.testing.assert_frame_equal(res.outcomes, one.outcomes)  # per person: unchanged
    coh = cohort_outcomes(res)
    assert (coh["people"] == 1000).all()
    for c in ("costs", "qalys", "lys", "nhs_undiscounted"):
        assert coh[c].to_numpy() == pytest.approx(1000 * one.outcomes[c].to_numpy(), rel=1e-15)
    s = res.summary()
    assert s["settings"]["cohort_size"] == 1000 and s["per_cohort"]["people"] == 1000
    assert s["per_cohort"]["strategies"]["trt"]["costs"] == pytest.approx(1000 * s["strategies"][1]["costs"])
    assert s["per_cohort"]["strategies"]["soc"]["undiscounted"]["qalys"] == pytest.approx(
        1000 * s["strategies"][0]["undiscounted"]["qalys"])


def test_both_are_written(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, set_in(base_scenario(), "settings.cohort_size", 250))
    out = tmp_path / "res"
    result = runner.invoke(app, ["run", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    per_person = pd.read_csv(out / "outcomes.csv", index_col="strategy")
    per_cohort = pd.read_csv(out / "outcomes_per_cohort.csv", index_col="strategy")
    assert per_cohort["costs"].to_numpy() == pytest.approx(250 * per_person["costs"].to_numpy(), rel=1e-12)
    assert json.loads((out / "summary.json").read_text())["per_cohort"]["people"] == 250


# --------------------------------------------------------------------------- 3. start costs, per_cycle's time-0 row


def _with_starts(counting: str) -> dict[str, Any]:
    d = base_scenario()
    set_in(d, "settings.counting", counting)
    d["start"] = {"costs": {"nhs": 40}, "qalys": -0.01}
    set_in(d, "strategies.trt.start", {"costs": {"nhs": "c_trt * 2", "pss": 15}, "qalys": -0.02})
    d["transition_rewards"] = [{"from": "H", "to": "S", "costs": {"nhs": 300}, "qalys": -0.05}]
    return d


def test_start_costs_of_a_strategy_are_paid_once_at_time_0_in_that_strategy_only() -> None:
    plain = base_scenario()
    plain["start"] = {"costs": {"nhs": 40}, "qalys": -0.01}
    plain["transition_rewards"] = [{"from": "H", "to": "S", "costs": {"nhs": 300}, "qalys": -0.05}]
    a = run_base_case(scenario_from_dict(plain)).outcomes
    b = run_base_case(scenario_from_dict(_with_starts("half-cycle"))).outcomes
    assert b.loc["soc", "nhs"] == a.loc["soc", "nhs"] and b.loc["soc", "pss"] == a.loc["soc", "pss"]
    for suffix in ("", "_undiscounted"):  # undiscounted: the same amount in both columns
        assert b.loc["trt", f"nhs{suffix}"] == pytest.approx(a.loc["trt", f"nhs{suffix}"] + 1000, rel=1e-12)
        assert b.loc["trt", f"pss{suffix}"] == pytest.approx(a.loc["trt", f"pss{suffix}"] + 15, rel=1e-12)
        assert b.loc["trt", f"qalys{suffix}"] == pytest.approx(a.loc["trt", f"qalys{suffix}"] - 0.02, rel=1e-12)


@pytest.mark.parametrize("counting", COUNTING_METHODS)
@pytest.mark.parametrize("offset", [0, 1])
def test_per_cycle_rows_sum_to_the_totals(counting: str, offset: int) -> None:
    d = set_in(_with_starts(counting), "settings.discount_offset", offset)
    res = run_base_case(scenario_from_dict(d))
    pc = per_cycle_with_start(res)
    for s in ("soc", "trt"):
        f = pc[pc["strategy"] == s]
        assert list(f["cycle"]) == list(range(11))
        zero = f[f["cycle"] == 0].iloc[0]
        assert zero["nhs"] == (40 if s == "soc" else 1040) and zero["qalys"] == pytest.approx(
            -0.01 if s == "soc" else -0.03)
        for c in ("nhs", "pss", "qalys", "lys"):
            assert f[c].sum() == pytest.approx(res.outcomes.loc[s, c], rel=1e-12, abs=1e-12)


def test_per_cycle_csv_has_the_time_0_row_and_sums_to_outcomes_csv(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, _with_starts("simpson"))
    out = tmp_path / "res"
    assert runner.invoke(app, ["run", str(path), "--out", str(out)]).exit_code == 0
    pc = pd.read_csv(out / "per_cycle.csv")
    o = pd.read_csv(out / "outcomes.csv", index_col="strategy")
    sums = pc.groupby("strategy")[["nhs", "pss", "qalys", "lys"]].sum()
    np.testing.assert_allclose(sums.loc[o.index].to_numpy(), o[["nhs", "pss", "qalys", "lys"]].to_numpy(), rtol=1e-10)
    assert pc.groupby("strategy")["cycle"].min().eq(0).all()


def test_microsimulation_per_cycle_rows_sum_to_the_totals(tmp_path: Path) -> None:
    sc = load_scenario(write_feature_scenario(tmp_path))
    res = run_base_case(sc)
    pc = per_cycle_with_start(res)
    for s in sc.strategies:
        f = pc[pc["strategy"] == s]
        for c in ("nhs", "police", "qalys"):
            assert f[c].sum() == pytest.approx(res.outcomes.loc[s, c], rel=1e-9)


# --------------------------------------------------------------------------- 7. the trace in --json


def test_run_json_includes_the_trace(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, base_scenario())
    result = runner.invoke(app, ["run", str(path), "--json", "--out", str(tmp_path / "res")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    tr = data["trace"]
    assert tr["cycle"] == list(range(11)) and tr["time_years"][:2] == [0.0, 1.0]
    assert set(tr["strategies"]) == {"soc", "trt"}
    for s, states in tr["strategies"].items():
        assert set(states) == {"H", "S", "D"}
        total = np.sum([states[k] for k in states], axis=0)
        np.testing.assert_allclose(total, 1.0, rtol=1e-12)
        assert states["H"][0] == 1.0
    res = run_base_case(load_scenario(path))
    csv = res.trace[res.trace["strategy"] == "trt"]["S"].to_numpy()
    np.testing.assert_array_equal(tr["strategies"]["trt"]["S"], csv)
    assert "trace" not in json.loads((tmp_path / "res" / "summary.json").read_text())  # summary.json is unchanged
    assert trace_json(res.trace) == tr
