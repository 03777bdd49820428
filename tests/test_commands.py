"""`validate` checks what `run` checks (issue 20, point 5), threshold bounds (6), `calibrate` without targets (11),
the README's commands (12) and command help that is not cut (8)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from heecon.cli import app

ROOT = Path(__file__).resolve().parents[1]
FMH6 = ROOT / "benchmarks" / "fmh6.toml"
FLAGSHIP = ROOT / "scenarios" / "mbt_aspd_vs_pau.toml"
KRIJKAMP = ROOT / "scenarios" / "published" / "krijkamp_microsim.toml"
runner = CliRunner()


def invoke(*args: object):
    r = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in r.output
    return r


# ------------------------------------------------------------------------- point 5: validate checks what run checks


def _child(tmp: Path, parent: Path, body: str) -> Path:
    p = tmp / "child.toml"
    p.write_text(f'extends = "{parent}"\n{body}')
    return p


BAD = {
    "misspelt section": (FMH6, "[budget_impakt]\nyears = 5\n", "Did you mean 'budget_impact'?"),
    "section nothing reads": (FMH6, "[gsa]\nn = 3\n", "unknown key in the top level"),
    "unknown key in an analysis section": (FMH6, "[dsa]\nn = 3\n", "unknown key in [dsa]"),
    "target without events": (KRIJKAMP, '[calibration.targets.t]\nstatistic = "ever_event"\ntarget = 0.5\n'
                                         'tolerance = 0.1\ncycles = 4\n', "needs events"),
    "life table shorter than the horizon": (FLAGSHIP, "[settings]\nhorizon_years = 70\nindividuals = 100\n",
                                            "beyond its last key 100"),
}


@pytest.mark.parametrize("name", list(BAD))
def test_validate_refuses_what_run_refuses(name, tmp_path):
    parent, body, message = BAD[name]
    path = _child(tmp_path, parent, body)
    v = invoke("validate", path)
    assert v.exit_code == 2 and message in v.output, v.output
    r = invoke("run", path, "--psa", "0", "--out", tmp_path / "out")
    assert r.exit_code == 2 and message in r.output, r.output
    assert not (tmp_path / "out").exists()


def test_a_table_that_says_how_to_extrapolate_carries_its_last_value(tmp_path):
    path = _child(tmp_path, FLAGSHIP, '[settings]\nhorizon_years = 70\nindividuals = 100\n'
                                      '[tables.qx]\nextrapolation = "constant"\n')
    r = invoke("validate", path)
    assert r.exit_code == 0, r.output
    bad = _child(tmp_path, FLAGSHIP, '[tables.qx]\nextrapolation = "last"\n')
    r = invoke("validate", bad)
    assert r.exit_code == 2 and "tables.qx.extrapolation" in r.output and "constant" in r.output


def test_an_inline_table_is_checked_before_its_first_key_too(tmp_path):
    from heecon import scenario_from_dict
    from heecon.scenario.errors import ScenarioError
    from tests.scenario_factory import base_scenario

    d = base_scenario()
    d["tables"] = {"eff": {"keys": [3, 10], "values": [0.5, 0.9]}}
    d["transitions"]["H"]["D"] = "0.01 * eff(cycle)"
    with pytest.raises(ScenarioError, match="before its first key 3"):
        scenario_from_dict(d)
    d["tables"]["eff"]["extrapolation"] = "constant"
    scenario_from_dict(d)


# ---------------------------------------------------------------------------------- point 6: threshold --bounds


def test_threshold_searches_the_bounds_given(tmp_path):
    r = invoke("dsa", FMH6, "-p", "c_int", "--threshold", "c_int", "--json", "--out", tmp_path / "a")
    assert r.exit_code == 0, r.output
    t = json.loads(r.output)["thresholds"][0]
    assert t["value"] is None and "--bounds" in t["message"]
    assert t["bounds_from"] == "95% interval of the distribution"
    r = invoke("dsa", FMH6, "-p", "c_int", "--threshold", "c_int", "--bounds", "0:2000", "--json",
               "--out", tmp_path / "b")
    assert r.exit_code == 0, r.output
    t = json.loads(r.output)["thresholds"][0]
    assert t["bounds"] == [0.0, 2000.0] and t["bounds_from"] == "given" and 0 < t["value"] < 1294
    assert (tmp_path / "b" / "dsa" / "threshold_c_int.csv").is_file()
    # bounds the model cannot take are the model's clean error (a cost cannot be negative)
    r = invoke("dsa", FMH6, "-p", "c_int", "--threshold", "c_int", "--bounds=-100:2000", "--out", tmp_path / "c")
    assert r.exit_code == 2 and "cost is -100" in r.output
    from heecon.cli.sensitivity import parse_bounds

    assert parse_bounds("-1:1") == (-1.0, 1.0) and parse_bounds("0.2,0.9") == (0.2, 0.9)


@pytest.mark.parametrize("args, message", [
    (["--threshold", "c_int", "--bounds", "5:1"], "LOW must be below HIGH"),
    (["--threshold", "c_int", "--bounds", "a:b"], "two numbers"),
    (["--threshold", "c_int", "--bounds", "0:1", "--bounds", "0:2"], "one --bounds LOW:HIGH per --threshold"),
])
def test_bad_bounds_are_one_clean_error(args, message, tmp_path):
    r = invoke("dsa", FMH6, *args, "--out", tmp_path / "x")
    assert r.exit_code == 2 and message in r.output
    assert not (tmp_path / "x").exists()


# --------------------------------------------------------------------------- point 11: calibrate without targets


def test_calibrate_without_targets_says_so_and_fails():
    r = invoke("calibrate", KRIJKAMP)
    assert r.exit_code == 2
    assert "has no calibration targets" in r.output and "[calibration.targets.NAME]" in r.output


# ------------------------------------------------------------------------------- point 8: help that is not cut


def _commands():
    import typer.main

    return typer.main.get_command(app).commands


def test_no_help_text_is_eaten_by_markup():
    """rich reads [..] as markup: `calibrate --help` once printed "Scenario TOML file with ." """
    from rich.text import Text

    for name, cmd in _commands().items():
        texts = [cmd.help or ""] + [getattr(p, "help", None) or "" for p in cmd.params]
        for t in texts:
            assert Text.from_markup(t).plain.replace("\\", "") == t.replace("\\", ""), (name, t)
    r = invoke("calibrate", "--help")
    assert "[calibration.targets.NAME]" in " ".join(r.output.split())


# ------------------------------------------------------------------------------- point 12: the README's commands


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return [b.strip() for b in re.findall(r"```bash\n(.*?)```", text, flags=re.S)][:2]


def test_the_readme_commands_work_where_pip_refuses_the_system_python():
    run_cmd, test_cmd = _readme_commands()
    for cmd in (run_cmd, test_cmd):
        assert cmd.startswith("python3 -m venv .venv && . .venv/bin/activate && "), cmd
        assert "python3 -m pip install" not in cmd  # the system pip that PEP 668 refuses
    assert run_cmd.endswith("&& heecon run") and 'pip install -e ".[test]"' in test_cmd
    assert ".venv/" in (ROOT / ".gitignore").read_text().split()


def test_ci_runs_the_readme_test_command():
    _, test_cmd = _readme_commands()
    assert test_cmd in (ROOT / ".ci" / "run").read_text()
