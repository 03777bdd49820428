"""The command line: run, validate, --json, --set, --version, atomic results folders."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from heecon import __version__
from heecon.cli import app
from heecon.execution.files import atomic_output_dir

from .conftest import SCENARIOS

runner = CliRunner()
HIV = str(SCENARIOS / "published" / "hiv_chancellor.toml")


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0
    assert __version__ in r.output


def test_run_json_prints_the_summary_with_the_documented_keys(tmp_path):
    r = runner.invoke(app, ["run", HIV, "--out", str(tmp_path / "res"), "--json"])
    assert r.exit_code == 0, r.output
    s = json.loads(r.output)
    for key in ("heecon_version", "scenario_sha256", "settings", "strategies", "icers"):
        assert key in s
    assert s["settings"]["within_cycle_method"] == "end"
    assert s["settings"]["discount_costs"] == 0.06
    mono = s["strategies"][0]
    assert set(mono) >= {"name", "costs", "costs_by_sector", "qalys", "lys", "undiscounted"}
    assert [(x["strategy"], x["status"]) for x in s["icers"]] == [("mono", "ref"), ("comb", "ND")]
    assert s["icers"][1]["icer"] == pytest.approx(6275.9556, rel=1e-6)


def test_run_writes_a_complete_folder_and_no_partial_leftovers(tmp_path):
    out = tmp_path / "res"
    r = runner.invoke(app, ["run", HIV, "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "Incremental analysis" in r.output and "6,276" in r.output
    for f in ("summary.json", "icers.csv", "trace.csv", "per_cycle.csv", "outcomes.csv", "net_benefit.csv"):
        assert (out / f).is_file(), f
    assert [p.name for p in tmp_path.iterdir()] == ["res"]
    trace = (out / "trace.csv").read_text().splitlines()
    assert trace[0].startswith("strategy,cycle,time_years,A,B,C,D")
    assert len(trace) == 1 + 2 * 21


def test_set_overrides_a_value_and_changes_the_hash(tmp_path):
    a = json.loads(runner.invoke(app, ["run", HIV, "--out", str(tmp_path / "a"), "--json"]).output)
    b = json.loads(runner.invoke(app, ["run", HIV, "--out", str(tmp_path / "b"), "--json",
                                       "--set", "parameters.rr.value=1.0"]).output)
    assert b["strategies"][1]["lys"] < a["strategies"][1]["lys"]
    assert a["scenario_sha256"] != b["scenario_sha256"]


def test_validate_reports_valid():
    r = runner.invoke(app, ["validate", HIV])
    assert r.exit_code == 0
    assert "valid" in r.output


def test_missing_file_exits_2_without_traceback(tmp_path):
    r = runner.invoke(app, ["run", str(tmp_path / "nope.toml")])
    assert r.exit_code == 2
    assert "Traceback" not in r.output
    assert "nope.toml" in r.output


def test_atomic_output_dir_leaves_nothing_when_interrupted(tmp_path):
    out = tmp_path / "res"
    with pytest.raises(KeyboardInterrupt):
        with atomic_output_dir(out) as tmp:
            (tmp / "summary.json").write_text("{}")
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_atomic_output_dir_replaces_its_own_entries_and_keeps_everything_else(tmp_path):
    out = tmp_path / "res"
    with atomic_output_dir(out) as tmp:
        (tmp / "old.txt").write_text("old")
    (out / "notes.txt").write_text("mine")  # the user's own file in a results folder
    with atomic_output_dir(out, writer="dsa") as tmp:
        (tmp / "dsa").mkdir()
        (tmp / "dsa" / "t.csv").write_text("x")
    with atomic_output_dir(out) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == [".heecon-manifest.json", "dsa", "new.txt", "notes.txt"]
    assert (out / "notes.txt").read_text() == "mine" and (out / "dsa" / "t.csv").read_text() == "x"
    assert [p.name for p in tmp_path.iterdir()] == ["res"]


def test_atomic_output_dir_refuses_a_file_or_a_folder_heecon_did_not_make(tmp_path):
    from heecon.execution.files import OutputError

    f = tmp_path / "results.csv"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(OutputError, match="is a file"):
        with atomic_output_dir(f):
            pass
    assert f.read_text() == "a,b\n1,2\n"
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    with pytest.raises(OutputError, match="did not make"):
        with atomic_output_dir(mine):
            pass
    assert [p.name for p in mine.iterdir()] == ["thesis.docx"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with atomic_output_dir(empty) as tmp:
        (tmp / "summary.json").write_text("{}")
    assert (empty / "summary.json").is_file()
