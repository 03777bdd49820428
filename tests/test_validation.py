"""Scenario validation: every malformed scenario is refused with a clear message.

Each case writes one malformed scenario into ``tmp_path`` and checks, through the
CLI (``heecon validate`` and ``heecon run``), that the exit code is 2, that no
traceback is printed, and that the message names the file, the TOML key path
and the gist of what is wrong / what would be valid. The same scenario is
loaded with :func:`load_scenario` to check that the problem is attributed to
the right key and file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest
from typer.testing import CliRunner

from heecon.cli import app
from heecon.scenario.errors import ScenarioError
from heecon import load_scenario, scenario_from_dict
from tests.scenario_factory import base_scenario, delete_in, set_in, to_toml, write_scenario

ROOT = Path(__file__).resolve().parents[1]
PUBLISHED = sorted((ROOT / "scenarios" / "published").glob("*.toml"))

runner = CliRunner()

Built = tuple[Path, list[str]]  # the scenario file to load and the --set overrides


@dataclass(frozen=True)
class Case:
    """One malformed scenario and what its error must say."""

    id: str
    build: Callable[[Path], Built]
    key: str  # the TOML key path the problem must be reported at
    gist: tuple[str, ...]  # text the message must contain (what is wrong, what would be valid)
    file: str = "scenario.toml"  # the file the problem must be attributed to ("--set" for overrides)
    absent: tuple[str, ...] = field(default=())  # text that must NOT appear (e.g. cascading errors)


# --------------------------------------------------------------------------- builders


def changed(*edits: tuple[str, Any], delete: tuple[str, ...] = (), overrides: tuple[str, ...] = ()) -> Callable[[Path], Built]:
    """The base scenario with ``set_in`` edits and deletions applied."""

    def build(tmp: Path) -> Built:
        d = base_scenario()
        for path, value in edits:
            set_in(d, path, value)
        for path in delete:
            delete_in(d, path)
        return write_scenario(tmp, d), list(overrides)

    return build


def with_dict(fn: Callable[[dict[str, Any]], None], extra_files: dict[str, str | bytes] | None = None) -> Callable[[Path], Built]:
    """The base scenario changed by ``fn``, plus extra files (CSV tables, parents) next to it."""

    def build(tmp: Path) -> Built:
        for name, content in (extra_files or {}).items():
            (tmp / name).write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
        d = base_scenario()
        fn(d)
        return write_scenario(tmp, d), []

    return build


def raw_text(text: str | bytes, extra_files: dict[str, str] | None = None, name: str = "scenario.toml") -> Callable[[Path], Built]:
    def build(tmp: Path) -> Built:
        for fname, content in (extra_files or {}).items():
            (tmp / fname).write_text(content, encoding="utf-8")
        path = tmp / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path, []

    return build


def _life_table_smr(tmp: Path) -> Built:
    # mort(age) * smr is 0.08 at 40-44 but 1.2 from age 45 (cycle 6): only a later cycle is out of range.
    d = base_scenario()
    d["parameters"]["smr"] = {"value": 4, "source": "assumed SMR"}
    d["transitions"]["H"]["D"] = "mort(age) * smr"
    text = to_toml(d) + ("\n[tables.mort]\nkeys = [0, 45]\nvalues = [0.02, 0.3]\nsource = \"made-up life table\"\n"
                         "extrapolation = \"constant\"\n")  # 45 and over: the last band is open
    return write_scenario(tmp, text), []


def _csv_table(columns: str, rows: str) -> Callable[[Path], Built]:
    def fn(d: dict[str, Any]) -> None:
        d["tables"] = {"mort": {"file": "life.csv", "key": "Age", "value": "Male"}}
        d["transitions"]["H"]["D"] = "mort(age)"

    return with_dict(fn, {"life.csv": f"{columns}\n{rows}"} if columns else None)


def _parent(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], Built]:
    """A child scenario that extends base.toml; ``change`` breaks the parent."""

    def build(tmp: Path) -> Built:
        parent = base_scenario()
        change(parent)
        write_scenario(tmp, parent, "base.toml")
        child = {"extends": "base.toml", "title": "Child scenario", "parameters": {"c_H": 200}}
        return write_scenario(tmp, child, "child.toml"), []

    return build


def _extends_cycle(tmp: Path) -> Built:
    write_scenario(tmp, {"extends": "b.toml", "title": "A"}, "a.toml")
    write_scenario(tmp, {"extends": "a.toml", "title": "B"}, "b.toml")
    return tmp / "a.toml", []


def _tunnel_without_exit(d: dict[str, Any]) -> None:
    d["states"]["S"]["tunnel"] = 3
    d["transitions"]["S"] = {"D": "p_SD"}


def _parameter_cycle(d: dict[str, Any]) -> None:
    d["parameters"]["a"] = "b + 1"
    d["parameters"]["b"] = "a * 2"


def _multiplier_cycle(d: dict[str, Any]) -> None:
    d["tables"] = {"mort": {"keys": [0, 50], "values": [0.01, 0.02], "multiplier": "p_HD"}}
    d["parameters"]["p_HD"] = "mort(age)"


CASES = [
    # ---- keys, names and types
    Case("unknown_top_level_key", changed(("titel", "A title")), "titel",
         ("unknown key in the top level", "Did you mean 'title'?", "Valid keys:")),
    Case("unknown_settings_key", changed(("settings.horizon_yeers", 20), delete=("settings.horizon_years",)),
         "settings.horizon_yeers", ("unknown key in [settings]", "Did you mean 'horizon_years'?")),
    Case("unknown_state_key", changed(("states.S.utilty", 0.5)), "states.S.utilty",
         ("unknown key in a state", "Did you mean 'utility'?")),
    Case("bad_counting_name", changed(("settings.counting", "halfcycle")), "settings.counting",
         ("must be one of", "'half-cycle'", "'simpson'", "Did you mean 'half-cycle'?", "'halfcycle'")),
    Case("bad_type_string_for_number", changed(("settings.cycle_length_months", "three")),
         "settings.cycle_length_months", ("must be a number", "the string 'three'")),
    Case("bad_type_list_for_parameter", changed(("parameters.c_H", [100, 200])), "parameters.c_H",
         ("expected a number or an expression string, got list",)),
    Case("integer_over_4300_digits", raw_text(to_toml(base_scenario()).replace("p_HD = 0.01", "p_HD = 1" + "0" * 5000)),
         "", ("not valid TOML", "4300 digits")),
    Case("refused_parameter_does_not_cascade", changed(("parameters.p_HS", "__import__('os')")), "parameters.p_HS",
         ("unknown function '__import__'",), absent=("unknown name 'p_HS'",)),
    Case("format_version", changed(("format", 2)), "format", ("reads scenario format 1, got 2",)),
    Case("integer_beyond_float_range", raw_text(to_toml(base_scenario()).replace(
        "horizon_years = 10", "horizon_cycles = 1" + "0" * 400)), "settings.horizon_cycles",
        ("must be a whole number in [1, 100000]",)),
    # ---- settings
    Case("negative_discount", changed(("settings.discount_costs", -0.035)), "settings.discount_costs",
         ("must be a number in [0, 1)", "-0.035")),
    Case("horizon_missing", changed(delete=("settings.horizon_years",)), "settings",
         ("the horizon is missing", "settings.horizon_years", "settings.horizon_cycles")),
    Case("horizon_not_whole_cycles", changed(("settings.cycle_length_months", 7)), "settings.horizon_years",
         ("not a whole number of 7-month cycles", "use horizon_cycles")),
    Case("horizon_too_many_cycles", changed(("settings.cycle_length_months", 1e-9)), "settings.horizon_years",
         ("at most 100000 are allowed",)),
    Case("comparator_not_a_strategy", changed(("settings.comparator", "trtt")), "settings.comparator",
         ("unknown strategy 'trtt'", "Did you mean 'trt'?", "'soc'")),
    # ---- states and transitions
    Case("unknown_state_in_transitions", changed(("transitions.H.Sick", 0.05)), "transitions.H.Sick",
         ("unknown state 'Sick'", "'D', 'H', 'S'")),
    Case("unknown_from_state_in_transitions", changed(("transitions.SS", {"SS": "C"})), "transitions.SS",
         ("unknown state 'SS'", "Did you mean 'S'?")),
    Case("two_complements_in_a_row", changed(("transitions.H.D", "C")), "transitions.H",
         ("more than one complement", "at most one entry per row may be \"C\"")),
    Case("missing_row_for_live_state", changed(delete=("transitions.S",)), "transitions.S",
         ("state 'S' is not absorbing, so it needs a row",)),
    Case("row_for_absorbing_state", changed(("transitions.D", {"D": 1})), "transitions.D",
         ("'D' is absorbing", "no transitions")),
    Case("probability_constant_1_5", changed(("transitions.H.S", 1.5)), "transitions.H.S",
         ("is a probability and must be in [0, 1], got 1.5",)),
    Case("probability_above_1_at_later_age_life_table_smr", _life_table_smr, "transitions.H.D",
         ("probability is 1.2", "must be in [0, 1]", "cycle 6 (age 45)")),
    Case("probability_above_1_at_later_cycle", changed(("transitions.H.S", "0.15 * cycle")), "transitions.H.S",
         ("probability is 1.05", "must be in [0, 1]", "cycle 7")),
    Case("row_not_summing_to_1", changed(("transitions.H", {"H": 0.85, "S": "p_HS", "D": "p_HD"})), "transitions.H",
         ("row 'H' sums to 0.96", "rows must sum to 1", "use \"C\" for the complement")),
    Case("complement_negative", changed(("transitions.H.S", 0.6), ("transitions.H.D", 0.5)), "transitions.H",
         ("sum to 1.1 > 1", "the complement \"C\" would be negative")),
    Case("tunnel_state_without_exit", with_dict(_tunnel_without_exit), "states.S",
         ("a tunnel state needs tunnel_exit",)),
    Case("tunnel_cycle_outside_a_tunnel", changed(("states.H.costs.nhs", "10 * tunnel_cycle")), "states.H.costs.nhs",
         ("'tunnel_cycle' is only defined in the expressions of a tunnel state",)),
    Case("start_shares_not_summing_to_1", changed(("start", {"states": {"H": 0.7, "S": 0.2}})), "start.states",
         ("the start shares sum to 0.9", "they must sum to 1")),
    Case("utility_above_1_constant", changed(("states.S.utility", 1.2)), "states.S.utility",
         ("must be at most 1 (full health)", "got 1.2")),
    Case("utility_above_1_from_parameter", changed(("parameters.u_S", 1.3)), "states.S.utility",
         ("utility is 1.3", "at most 1", "strategy 'soc'")),
    # ---- costs
    Case("negative_cost_constant", changed(("states.H.costs.nhs", -5)), "states.H.costs.nhs",
         ("costs must not be negative, got -5",)),
    Case("negative_cost_from_parameter", changed(("parameters.c_S", -1000)), "states.S.costs.nhs",
         ("cost is -1000", "costs must be finite and not negative")),
    Case("cost_negative_only_at_later_cycle", changed(("states.H.costs.nhs", "100 - 20 * cycle")), "states.H.costs.nhs",
         ("cost is -20", "not negative", "cycle 6 (age 45)")),
    Case("unknown_cost_sector", changed(("states.H.costs.nhss", 5)), "states.H.costs.nhss",
         ("unknown cost sector 'nhss'", "Did you mean 'nhs'?", "declare others in settings.sectors")),
    # ---- expressions and parameters
    Case("unknown_parameter_name", changed(("transitions.H.S", "p_HSS * 1")), "transitions.H.S",
         ("unknown name 'p_HSS'", "Did you mean 'p_HS'?", "parameters")),
    Case("unknown_function", changed(("transitions.H.S", "logit(p_HS)")), "transitions.H.S",
         ("unknown function 'logit'", "valid functions:", "rate_to_prob"),
         absent=("matches no transition",)),  # no cascading error from the modifier of 'H -> S'
    Case("parameter_cycle", with_dict(_parameter_cycle), "parameters.a",
         ("in a cycle", "a -> b -> a")),
    Case("parameter_cycle_through_table_multiplier", with_dict(_multiplier_cycle), "parameters.p_HD",
         ("in a cycle", "p_HD -> p_HD")),
    Case("age_without_start_age", changed(("states.S.costs.nhs", "c_S + age"), delete=("settings.start_age",)),
         "states.S.costs.nhs", ("uses 'age' but settings.start_age is not given",)),
    Case("bad_distribution", changed(("parameters.p_HS.distribution", {"type": "betta", "mean": 0.1, "se": 0.01})),
         "parameters.p_HS.distribution.type", ("unknown type 'betta'", "beta")),
    # ---- strategies
    Case("modifier_missing_transition", changed(("strategies.trt.modifiers", [{"transitions": ["S -> H"], "rr": 0.5}])),
         "strategies.trt.modifiers[0].transitions[0]", ("'S -> H' matches no transition given in [transitions]",)),
    Case("modifier_unknown_state", changed(("strategies.trt.modifiers", [{"transitions": ["H -> SS"], "rr": 0.5}])),
         "strategies.trt.modifiers[0].transitions[0]", ("unknown state (to) 'SS'", "Did you mean 'S'?")),
    Case("modifier_rr_and_hr", changed(("strategies.trt.modifiers", [{"transitions": ["H -> S"], "rr": 0.5, "hr": 0.5}])),
         "strategies.trt.modifiers[0]", ("needs exactly one of rr",)),
    Case("transition_reward_unknown_strategy", changed(("transition_rewards", [
        {"from": "H", "to": "S", "costs": {"nhs": 50}, "strategies": ["trtt"]}])),
        "transition_rewards[0].strategies", ("unknown strategy 'trtt'", "Did you mean 'trt'?")),
    # ---- tables
    Case("table_csv_file_missing", _csv_table("", ""), "tables.mort.file",
         ("the file 'life.csv' does not exist",)),
    Case("table_csv_column_missing", _csv_table("Age,Female", "0,0.01\n50,0.02\n"), "tables.mort.value",
         ("column 'Male' is not in life.csv", "Did you mean 'Female'?", "Columns: 'Age', 'Female'")),
    Case("table_csv_short_row", _csv_table("Age,Male", "0,0.01\n50\n"), "tables.mort.file",
         ("life.csv row 3", "empty or not a number")),
    Case("tables_not_a_table", changed(("tables", [1, 2])), "tables", ("must be a table",)),
    Case("table_keys_not_increasing", changed(("tables", {"t": {"keys": [5, 1], "values": [1, 2]}})), "tables.t",
         ("the keys must increase strictly",)),
    # ---- joint distributions (the message names the joint's own key)
    Case("joint_rho_out_of_range", changed(("joints", {"j": {"type": "copula", "members": ["p_HS", "p_HD"], "rho": 2}})),
         "joints.j.rho", ("must lie strictly between -1 and 1",)),
    Case("joint_unknown_type", changed(("joints", {"j": {"type": "dirichet", "counts": {"p_HS": 5, "p_HD": 1}}})),
         "joints.j.type", ("unknown type 'dirichet'",)),
    # ---- files: syntax, encoding, extends
    Case("invalid_toml_syntax", raw_text('title = "unterminated\n[settings\n'), "", ("not valid TOML", "line 1")),
    Case("not_utf8", raw_text(b'title = "caf\xe9"\n'), "", ("not UTF-8",)),
    Case("extends_missing_file", raw_text('extends = "nope.toml"\ntitle = "child"\n'), "extends",
         ("the file 'nope.toml' does not exist",)),
    Case("extends_cycle", _extends_cycle, "extends", ("extend each other in a cycle", "a.toml", "b.toml"), file="b.toml"),
    Case("error_in_parent_file_names_parent", _parent(lambda d: set_in(d, "settings.horizon_yeers", 5)),
         "settings.horizon_yeers", ("unknown key in [settings]", "Did you mean 'horizon_years'?"), file="base.toml"),
    Case("numeric_error_in_parent_file_names_parent", _parent(lambda d: set_in(d, "transitions.H.S", "p_HS * 20")),
         "transitions.H.S", ("probability is 2", "must be in [0, 1]"), file="base.toml"),
    # ---- --set overrides
    Case("set_bad_key_path", changed(overrides=("settings.horizon_years.x=3",)), "settings.horizon_years.x",
         ("'horizon_years' is a value, not a table",), file="--set"),
    Case("set_unknown_key", changed(overrides=("settings.horizonyears=3",)), "settings.horizonyears",
         ("unknown key in [settings]", "Did you mean 'horizon_years'?"), file="--set"),
    Case("set_without_equals", changed(overrides=("settings",)), "settings",
         ("must look like key.path=value",), file="--set"),
    Case("set_bad_value", changed(overrides=("transitions.H.S=2",)), "transitions.H.S",
         ("must be in [0, 1], got 2",), file="--set"),
]
CASE_IDS = [c.id for c in CASES]


def _cli_args(command: str, path: Path, overrides: list[str], tmp: Path) -> list[str]:
    args = [command, str(path)]
    for o in overrides:
        args += ["--set", o]
    if command == "run":
        args += ["--out", str(tmp / "results")]
    return args


def test_at_least_25_distinct_malformed_scenarios() -> None:
    assert len(set(CASE_IDS)) == len(CASES) >= 25


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cli_refuses_malformed_scenario(case: Case, command: str, tmp_path: Path) -> None:
    path, overrides = case.build(tmp_path)
    result = runner.invoke(app, _cli_args(command, path, overrides, tmp_path))
    out = result.output
    assert result.exit_code == 2, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in out
    assert out.startswith("Invalid scenario"), out
    assert case.file in out  # the file (or --set) is named
    if case.key:
        assert f"  - {case.key}: " in out, out  # the TOML key path is named
    for text in case.gist:
        assert text in out, f"{text!r} not in:\n{out}"
    for text in case.absent:
        assert text not in out, out
    if command == "run":
        assert not (tmp_path / "results").exists()  # nothing is written for an invalid scenario


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_loader_attributes_problem_to_key_and_file(case: Case, tmp_path: Path) -> None:
    path, overrides = case.build(tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    problems = info.value.problems
    assert problems
    matching = [p for p in problems if p.key == case.key]
    assert matching, f"no problem at {case.key!r}: {[p.key for p in problems]}"
    assert any(p.file == case.file or Path(p.file).name == case.file for p in matching), [p.file for p in matching]
    assert all(p.message for p in problems)


def test_several_problems_are_reported_together(tmp_path: Path) -> None:
    d = base_scenario()
    d["titel"] = "typo"
    set_in(d, "settings.counting", "halfcycle")
    set_in(d, "states.H.costs.nhs", -1)
    set_in(d, "states.S.utility", 1.5)
    set_in(d, "transitions.H.S", 1.5)
    set_in(d, "transitions.S.X", 0.1)
    set_in(d, "strategies.trt.costs.0.costs.nhs", "c_trtt")
    d["parameters"]["a"] = "b"
    d["parameters"]["b"] = "a"
    path = write_scenario(tmp_path, d)
    expected = [
        ("titel", "Did you mean 'title'?"),
        ("settings.counting", "Did you mean 'half-cycle'?"),
        ("states.H.costs.nhs", "must not be negative"),
        ("states.S.utility", "at most 1"),
        ("transitions.H.S", "must be in [0, 1]"),
        ("transitions.S.X", "unknown state 'X'"),
        ("strategies.trt.costs[0].costs.nhs", "Did you mean 'c_trt'?"),
        ("parameters.a", "a -> b -> a"),
    ]
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "Traceback" not in result.output and path.name in result.output
    for key, gist in expected:
        assert f"  - {key}: " in result.output, key
        assert gist in result.output, gist
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    assert {k for k, _ in expected} <= {p.key for p in info.value.problems}
    assert len(info.value.problems) >= len(expected)


def test_numeric_problems_of_several_rows_are_reported_together(tmp_path: Path) -> None:
    """The compiled-model checks also collect everything (per strategy), not just the first problem."""
    path = write_scenario(tmp_path, set_in(set_in(set_in(base_scenario(), "parameters.p_HS", 1.7),
                                                  "parameters.c_S", -3), "parameters.u_S", 2))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    keys = {p.key for p in info.value.problems}
    assert {"transitions.H.S", "transitions.H", "states.S.costs.nhs", "states.S.utility"} <= keys
    messages = str(info.value)
    assert "strategy 'soc'" in messages and "strategy 'trt'" in messages


def test_file_not_found_exits_2(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    for command in ("validate", "run"):
        result = runner.invoke(app, [command, str(missing)])
        assert result.exit_code == 2
        assert "Traceback" not in result.output and "nowhere.toml" in result.output


# --------------------------------------------------------------------------- valid scenarios


def test_valid_scenario_prints_valid(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, base_scenario())
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "Invalid" not in result.output
    assert path.name in result.output


def test_valid_scenario_with_overrides_and_parent(tmp_path: Path) -> None:
    write_scenario(tmp_path, base_scenario(), "base.toml")
    child = write_scenario(tmp_path, {"extends": "base.toml", "title": "Child", "parameters": {"c_H": 200}}, "child.toml")
    result = runner.invoke(app, ["validate", str(child), "--set", "settings.horizon_years=20"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output and "20 cycles" in result.output
    sc = load_scenario(child, ["settings.horizon_years=20"])
    assert sc.origin("parameters.c_H").endswith("child.toml")
    assert sc.origin("transitions.H.S").endswith("base.toml")
    assert sc.origin("settings.horizon_years") == "--set"


def test_valid_life_table_scenario(tmp_path: Path) -> None:
    """The life-table construction of the SMR case is valid with a plausible SMR."""
    path, _ = _life_table_smr(tmp_path)
    result = runner.invoke(app, ["validate", str(path), "--set", "parameters.smr=1.5"])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


@pytest.mark.parametrize("path", PUBLISHED, ids=[p.stem for p in PUBLISHED])
def test_published_scenarios_are_valid(path: Path) -> None:
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_scenario_from_dict_reports_problems() -> None:
    d = base_scenario()
    set_in(d, "settings.counting", "halfcycle")
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(d, "in-memory.toml")
    assert [p.key for p in info.value.problems] == ["settings.counting"]
    assert info.value.problems[0].file == "in-memory.toml"
    assert scenario_from_dict(base_scenario()).settings.n_cycles == 10
