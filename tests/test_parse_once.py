"""Every scenario section and distribution is parsed once, at load: the two defects this removed stay removed.

1. ``heecon validate`` reported "valid" for typos in ``[budget_impact]`` and ``[calibration]`` (they were parsed
   outside the scenario loader, the budget only after the whole PSA had run).
2. A relative empirical-distribution file was looked for in the current directory by ``dsa`` and ``evidence``
   (a traceback) and, through ``--set``, by ``run``, while ``validate`` looked beside the scenario.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from heecon.cli import app

from .conftest import SCENARIOS
from .scenario_factory import base_scenario, write_scenario

FLAGSHIP = SCENARIOS / "mbt_aspd_vs_pau.toml"
runner = CliRunner()


@pytest.mark.parametrize("override, key", [
    ("budget_impact.uptakee=0.5", "budget_impact.uptakee"),
    ("budget_impact.share_starting=1.5", "budget_impact.share_starting"),
    ('calibration.targets.reoffending_1y.statisticc="mean"', "calibration.targets.reoffending_1y.statisticc"),
    ('calibration.targets.reoffending_1y.statistic="mean"', "calibration.targets.reoffending_1y.statistic"),
    ("calibration.target_list=1", "calibration.target_list"),
])
def test_validate_reports_budget_and_calibration_mistakes(override, key):
    res = runner.invoke(app, ["validate", str(FLAGSHIP), "--set", override])
    assert res.exit_code == 2, res.output
    assert key in res.output and "Traceback" not in res.output


def test_run_refuses_a_budget_typo_before_computing_anything(tmp_path):
    res = runner.invoke(app, ["run", str(FLAGSHIP), "--set", "budget_impact.uptakee=0.5", "-o", str(tmp_path / "r")])
    assert res.exit_code == 2 and "budget_impact.uptakee" in res.output
    assert not (tmp_path / "r").exists()


def test_calibration_target_without_events_is_refused():
    res = runner.invoke(app, ["validate", str(FLAGSHIP), "--set", "calibration.targets.reoffending_1y.events=[]"])
    assert res.exit_code == 2 and "calibration.targets.reoffending_1y.events" in res.output


@pytest.fixture
def empirical_scenario(tmp_path: Path) -> Path:
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "draws.csv").write_text("p\n" + "\n".join(f"{0.05 + 0.001 * i:.3f}" for i in range(100)) + "\n")
    raw = base_scenario()
    raw["parameters"]["p_HS"] = {"value": 0.1, "source": "test",
                                 "distribution": {"type": "empirical", "file": "draws.csv", "column": "p"}}
    return write_scenario(sub, raw, "model.toml")


@pytest.mark.parametrize("command", [["validate"], ["run", "--psa", "20"], ["dsa"], ["evidence"]])
def test_relative_empirical_file_is_read_beside_the_scenario_from_any_directory(empirical_scenario, tmp_path,
                                                                                command, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    args = [command[0], str(empirical_scenario), *command[1:]]
    if command[0] in ("run", "dsa"):
        args += ["-o", str(tmp_path / f"out_{command[0]}")]
    if command[0] == "evidence":
        args += ["--out", str(tmp_path / "evidence.md")]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output


def test_a_set_distribution_file_is_read_beside_the_scenario_by_validate_and_run(empirical_scenario, tmp_path,
                                                                                  monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the scenario's folder
    dist = '{type = "empirical", file = "draws.csv", column = "p"}'
    for cmd in (["validate"], ["run", "--psa", "20", "-o", str(tmp_path / "o")]):
        res = runner.invoke(app, [cmd[0], str(empirical_scenario), *cmd[1:], "--set", f"parameters.p_HS.distribution={dist}"])
        assert res.exit_code == 0, (cmd, res.output)
    assert os.getcwd() == str(tmp_path)
