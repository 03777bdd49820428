"""Bad input of every category is refused where it is written (issue 19): names the expression language reserves,
unknown keys in every table, duplicated and dangling names, values outside their domain, numbers that are not finite,
bad population files and allocations that would not fit in memory.

Each case is a fresh malformed scenario; ``heecon validate`` and ``heecon run`` must both exit 2 with no traceback
and a message naming the file, the key path and the value or what would be valid (the harness of
tests/test_validation.py), and :func:`heecon.load_scenario` must attribute the problem to that key and file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Callable

import pytest
from typer.testing import CliRunner

from heecon import load_scenario
from heecon.cli import app
from heecon.scenario.errors import ScenarioError
from tests.gpu_cases import FEATURES_TOML, write_feature_scenario
from tests.scenario_factory import base_scenario, set_in, write_scenario
from tests.test_validation import Built, Case, _cli_args, changed, with_dict

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "mbt_aspd_vs_pau.toml"
runner = CliRunner()


# --------------------------------------------------------------------------- builders


def micro(*edits: tuple[str, Any], people: str | None = None) -> Callable[[Path], Built]:
    """The microsimulation feature scenario (tests/gpu_cases.py) with edits; its population file replaced by
    ``people`` when given."""

    def build(tmp: Path) -> Built:
        write_feature_scenario(tmp)
        if people is not None:
            (tmp / "people.csv").write_text(people, encoding="utf-8")
        d = tomllib.loads(FEATURES_TOML)
        for path, value in edits:
            set_in(d, path, value)
        return write_scenario(tmp, d), []

    return build


def _calibration(target: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def fn(d: dict[str, Any]) -> None:
        d["calibration"] = {"targets": {"t": {"statistic": "ever_state", "state": "S", "cycles": 2, "target": 0.1,
                                              **target}}}
    return with_dict(fn)


CASES = [
    # ---- 4. names the expression language reserves, refused where they are defined
    Case("param_named_lambda", changed(("parameters.lambda", 0.5)), "parameters.lambda",
         ("'lambda' cannot be a parameter name", "keyword of the expression language", "'lambda_'")),
    Case("param_named_if", changed(("parameters.if", 0.5)), "parameters.if", ("keyword of the expression language",)),
    Case("param_named_True", changed(("parameters.True", 1)), "parameters.True", ("keyword",)),
    Case("param_named_min", changed(("parameters.min", 0.5)), "parameters.min",
         ("function of the expression language", "min(a, b, ...)")),
    Case("param_named_rate_to_prob", changed(("parameters.rate_to_prob", 0.5)), "parameters.rate_to_prob",
         ("function of the expression language",)),
    Case("param_named_cycle", changed(("parameters.cycle", 3)), "parameters.cycle", ("model time",)),
    Case("table_named_and", changed(("tables", {"and": {"keys": [0, 1], "values": [1, 2]}})), "tables.and",
         ("'and' cannot be a table name", "keyword")),
    Case("table_named_like_a_parameter", changed(("tables", {"c_H": {"keys": [0, 1], "values": [1, 2]}})),
         "tables.c_H", ("a parameter has that name",)),
    # ---- 8. unknown keys, with a suggestion, in every table
    Case("calibration_unknown_key", _calibration({"tolerence": 0.1}), "calibration.targets.t.tolerence",
         ("unknown key in a calibration target", "Did you mean 'tolerance'?")),
    Case("calibration_section_unknown_key", changed(("calibration", {"target": {}})), "calibration.target",
         ("unknown key in [calibration]", "Did you mean 'targets'?")),
    Case("calibration_unknown_strategy", _calibration({"strategy": "trtt"}), "calibration.targets.t.strategy",
         ("unknown strategy 'trtt'", "Did you mean 'trt'?")),
    Case("calibration_bad_statistic", _calibration({"statistic": "ever_stat"}), "calibration.targets.t.statistic",
         ("must be one of", "Did you mean 'ever_state'?")),
    Case("strategy_start_unknown_key", changed(("strategies.trt.start", {"cost": {"nhs": 5}})),
         "strategies.trt.start.cost", ("unknown key in a strategy's start", "Did you mean 'costs'?")),
    Case("top_level_gsa_table", changed(("gsa", {"samples": 100})), "gsa",
         ("unknown key in the top level of a scenario",)),
    Case("dsa_unknown_key", changed(("dsa", {"params": ["p_HS"]})), "dsa.params",
         ("unknown key in [dsa]", "Did you mean 'parameters'?")),
    Case("table_by_key", changed(("tables", {"t": {"keys": [0, 1], "values": [1, 2], "by": "age"}})), "tables.t.by",
         ("unknown key in a table",)),
    Case("budget_unknown_key", changed(("budget_impact", {"yeers": 3})), "budget_impact.yeers",
         ("unknown key", "Did you mean 'years'?")),
    # ---- 9. duplicated and dangling names
    Case("perspective_sector_twice", changed(("perspectives", {"health": ["nhs", "pss", "nhs"]})),
         "perspectives.health[2]", ("lists cost sector 'nhs' twice",)),
    Case("perspective_without_sectors", changed(("perspectives", {"health": []})), "perspectives.health",
         ("lists no sector",)),
    Case("averted_event_in_a_cohort_model", changed(("settings.averted_events", ["offence"])),
         "settings.averted_events[0]", ("names event 'offence'", "a cohort model has no events")),
    Case("averted_event_unknown", micro(("settings.averted_events", ["arest"])), "settings.averted_events[0]",
         ("unknown event 'arest'", "Did you mean 'arrest'?")),
    Case("averted_event_twice", micro(("settings.averted_events", ["arrest", "arrest"])), "settings.averted_events[1]",
         ("lists event 'arrest' twice",)),
    Case("strategy_cost_state_twice", changed(("strategies.trt.costs", [{"states": ["H", "S", "H"],
                                                                         "costs": {"nhs": 1}}])),
         "strategies.trt.costs[0].states[2]", ("lists state 'H' twice",)),
    Case("modifier_transition_twice", changed(("strategies.trt.modifiers", [{"transitions": ["H -> S", "H->S"],
                                                                             "rr": 0.8}])),
         "strategies.trt.modifiers[0].transitions[1]", ("names 'H->S' twice",)),
    Case("wtp_twice", changed(("settings.wtp", [20000, 30000, 20000])), "settings.wtp[2]",
         ("lists the threshold 20000 twice",)),
    Case("price_index_year_twice", changed(("settings.price_year", 2020), ("price_index", {
        "name": "x", "source": "y", "years": [2019, 2020, 2020], "values": [1, 2, 3]})), "price_index.years",
         ("must increase, each year once",)),
    Case("joint_member_twice", changed(("joints", {"j": {"type": "copula", "members": ["p_HS", "p_HS"], "rho": 0.5}})),
         "joints.j.members", ("lists parameter 'p_HS' twice",)),
    Case("event_modifier_event_twice", micro(("strategies.trt.event_modifiers",
                                              [{"events": ["arrest", "arrest"], "rr": 0.5}])),
         "strategies.trt.event_modifiers[0].events[1]", ("lists event 'arrest' twice",)),
    Case("covariate_event_twice", micro(("covariates", [{"events": ["ae", "ae"], "attribute": "age",
                                                         "coefficient": 0.1}])),
         "covariates[0].events[1]", ("lists event 'ae' twice",)),
    Case("calibration_event_unknown", micro(("calibration", {"targets": {"t": {
        "statistic": "ever_event", "events": ["arest"], "cycles": 2, "target": 0.3}}})),
         "calibration.targets.t.events[0]", ("unknown event 'arest'", "Did you mean 'arrest'?")),
    # ---- 10. values outside their domain
    Case("event_cost_negative_from_expression", micro(("events.arrest.costs.police", "-c_arrest")),
         "events.arrest.costs.police", ("cost per occurrence is -500", "'-c_arrest'", "not negative")),
    Case("attendance_alpha_negative", micro(("strategies.trt.engagement.attendance.alpha", -1)),
         "strategies.trt.engagement.attendance.alpha", ("must be a finite number > 0, got -1",)),
    Case("attendance_beta_from_expression", micro(("parameters.b_att", -2),
                                                  ("strategies.trt.engagement.attendance.beta", "b_att")),
         "strategies.trt.engagement.attendance.beta", ("is -2", "'b_att'", "> 0")),
    Case("sessions_negative", micro(("strategies.trt.engagement.sessions", -2)), "strategies.trt.engagement.sessions",
         ("sessions offered per cycle", ">= 0, got -2")),
    Case("sessions_negative_from_expression", micro(("strategies.trt.engagement.sessions", "2 - 3")),
         "strategies.trt.engagement.sessions", ("is -1", ">= 0")),
    Case("dropout_negative", micro(("strategies.trt.engagement.dropout", -0.1)), "strategies.trt.engagement.dropout",
         ("dropout hazard", ">= 0, got -0.1")),
    Case("move_probability_above_1", micro(("events.arrest.move_probability", 1.5)), "events.arrest.move_probability",
         ("must be in [0, 1], got 1.5",)),
    Case("move_probability_above_1_from_expression", micro(("events.arrest.move_probability", "r_arrest * 5")),
         "events.arrest.move_probability", ("is 1.5", "'r_arrest * 5'", "[0, 1]")),
    Case("event_rate_ratio_negative", micro(("strategies.trt.event_modifiers", [{"events": ["arrest"], "rr": -0.6}])),
         "strategies.trt.event_modifiers[0].rr", ("a rate ratio must be a number >= 0, got -0.6",)),
    Case("modifier_rr_negative", changed(("strategies.trt.modifiers", [{"transitions": ["H -> S"], "rr": -0.5}])),
         "strategies.trt.modifiers[0].rr", ("a relative risk must be a finite number >= 0, got -0.5",)),
    Case("modifier_value_above_1", changed(("strategies.trt.modifiers", [{"transitions": ["H -> S"], "value": 1.5}])),
         "strategies.trt.modifiers[0].value", ("replaces a probability", "got 1.5")),
    Case("strategy_utility_in_dead_state", changed(("strategies.trt.utilities", {"D": 0.5})),
         "strategies.trt.utilities.D", ("'D' is a dead state",)),
    Case("strategy_utility_above_1", changed(("strategies.trt.utilities", {"S": 1.4})), "strategies.trt.utilities.S",
         ("must be at most 1", "got 1.4")),
    Case("strategy_start_cost_negative", changed(("strategies.trt.start", {"costs": {"nhs": -100}})),
         "strategies.trt.start.costs.nhs", ("costs must not be negative, got -100",)),
    Case("strategy_start_depends_on_time", changed(("strategies.trt.start", {"costs": {"nhs": "10 * cycle"}})),
         "strategies.trt.start.costs.nhs", ("cannot depend on model time",)),
    Case("cohort_size_zero", changed(("settings.cohort_size", 0)), "settings.cohort_size",
         ("must be a number in (0,", "Got 0")),
    Case("discount_offset_not_a_number", changed(("settings.discount_offset", "one")), "settings.discount_offset",
         ("must be a number", "'one'")),
    # ---- 11. numbers that are not finite: named with the parameter, its expression and where
    Case("parameter_divides_by_zero", changed(("parameters.z", "c_H / (p_HD - 0.01)")), "parameters.z",
         ("parameter 'z' is inf", "'c_H / (p_HD - 0.01)'", "strategy 'soc'")),
    Case("parameter_nan_used_in_a_cost", changed(("parameters.z", "0 / (p_HD - 0.01)"),
                                                 ("states.S.costs.nhs", "c_S + z")),
         "parameters.z", ("parameter 'z' is nan", "'0 / (p_HD - 0.01)'"), absent=("parameter 'c_S'",)),
    Case("parameter_infinite_at_a_later_cycle", changed(("parameters.z", "1 / (6 - cycle)"),
                                                        ("states.H.costs.nhs", "c_H + 0 * z")),
         "parameters.z", ("parameter 'z' is inf", "cycle 6")),
    Case("parameter_log_of_zero", changed(("parameters.z", "log(p_HD - 0.01)")), "parameters.z",
         ("parameter 'z' is -inf", "'log(p_HD - 0.01)'")),
    Case("strategy_parameter_infinite", changed(("strategies.trt.parameters", {"c_trt": "c_H / 0"})),
         "strategies.trt.parameters.c_trt", ("parameter 'c_trt' is inf", "strategy 'trt'")),
    Case("transition_reward_qalys_infinite", changed(("transition_rewards", [
        {"from": "H", "to": "S", "qalys": "1 / (p_HD - 0.01)"}])), "transition_rewards[0].qalys",
         ("the QALY change is inf", "'1 / (p_HD - 0.01)'")),
    Case("start_qalys_infinite", changed(("start", {"qalys": "1 / (p_HD - 0.01)"})), "start.qalys",
         ("QALYs are inf", "'1 / (p_HD - 0.01)'")),
    Case("strategy_start_cost_infinite", changed(("strategies.trt.start", {"costs": {"nhs": "c_H / (p_HD - 0.01)"}})),
         "strategies.trt.start.costs.nhs", ("cost is inf", "strategy 'trt'")),
    Case("utility_nan_inline", changed(("states.S.utility", "0 / (p_HD - 0.01)")), "states.S.utility",
         ("utility is nan", "'0 / (p_HD - 0.01)'")),
    Case("event_qalys_infinite", micro(("events.ae.qalys", "1 / (p_die - 0.02)")), "events.ae.qalys",
         ("the QALY change per occurrence is inf", "'1 / (p_die - 0.02)'")),
    Case("covariate_coefficient_infinite", micro(("covariates", [{"events": ["ae"], "attribute": "age",
                                                                  "coefficient": "log(p_die - 0.02)"}])),
         "covariates[0].coefficient", ("is -inf", "a coefficient must be a finite number")),
    Case("event_rate_infinite", micro(("events.ae.rate.Ill", "0.4 / (p_die - 0.02)")), "events.ae.rate.Ill",
         ("rate is inf", "strategy 'soc'")),
    # ---- 12. population files: file, row and column
    Case("population_cell_not_a_number", micro(people="state,age,risk\nWell,34,0.1\nIll,n/a,0.2\n"),
         "population.file", ("people.csv row 3, column 'age': 'n/a' is not a finite number",)),
    Case("population_cell_empty", micro(people="state,age,risk\nWell,34,\n"), "population.file",
         ("people.csv row 2, column 'risk': '' is not a finite number",)),
    Case("population_cell_nan", micro(people="state,age,risk\nWell,nan,0.1\n"), "population.file",
         ("row 2, column 'age': 'nan' is not a finite number",)),
    Case("population_unknown_state", micro(people="state,age,risk\nWell,34,0.1\nSick,40,0\n"), "population.file",
         ("row 3, column 'state': 'Sick' is not a state of the scenario", "Well")),
    Case("population_short_row", micro(people="state,age,risk\nWell,34\n"), "population.file",
         ("people.csv row 2 has 2 cells, the header 3",)),
    Case("population_duplicate_column", micro(people="state,age,age\nWell,34,35\n"), "population.file",
         ("two columns named 'age'",)),
    Case("population_no_rows", micro(people="state,age,risk\n"), "population.file",
         ("has a header but no individuals",)),
    Case("population_empty_file", micro(people=""), "population.file", ("people.csv is empty",)),
]
CASE_IDS = [c.id for c in CASES]


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cli_refuses(case: Case, command: str, tmp_path: Path) -> None:
    path, overrides = case.build(tmp_path)
    result = runner.invoke(app, _cli_args(command, path, overrides, tmp_path))
    out = result.output
    assert result.exit_code == 2, out
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in out
    assert out.startswith("Invalid scenario"), out
    assert case.file in out
    assert f"  - {case.key}: " in out, out
    for text in case.gist:
        assert text in out, f"{text!r} not in:\n{out}"
    for text in case.absent:
        assert text not in out, out
    if command == "run":
        assert not (tmp_path / "results").exists()
        assert "ICER" not in out


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_loader_attributes_the_problem(case: Case, tmp_path: Path) -> None:
    path, overrides = case.build(tmp_path)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, overrides)
    matching = [p for p in info.value.problems if p.key == case.key]
    assert matching, [str(p) for p in info.value.problems]
    assert any(Path(p.file).name == case.file for p in matching)


# --------------------------------------------------------------------------- 5. every problem at once


def _keys(tmp: Path, d: dict[str, Any] | str) -> dict[str, str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario(write_scenario(tmp, d))
    return {p.key: p.message for p in info.value.problems}


def test_an_unknown_key_does_not_hide_a_bad_value_in_a_distribution(tmp_path: Path) -> None:
    d = set_in(base_scenario(), "parameters.p_HS.distribution", {"type": "beta", "mean": 2, "se": 0.1, "sdd": 1,
                                                                  "foo": 2})
    keys = _keys(tmp_path, d)
    assert "unknown key 'sdd'" in keys["parameters.p_HS.distribution.sdd"]
    assert "unknown key 'foo'" in keys["parameters.p_HS.distribution.foo"]
    assert "strictly between 0 and 1; got 2" in keys["parameters.p_HS.distribution.mean"]


def test_an_unknown_key_does_not_hide_an_unknown_member_of_a_joint(tmp_path: Path) -> None:
    d = set_in(base_scenario(), "joints", {"j": {"type": "dirichlet", "counts": {"p_HS": 2, "p_XX": 3}, "colour": 1}})
    keys = _keys(tmp_path, d)
    assert "unknown parameter 'p_XX'" in keys["joints.j.members"]
    assert "unknown key 'colour'" in keys["joints.j.colour"]


def test_a_bad_statistic_does_not_hide_the_rest_of_a_calibration_target(tmp_path: Path) -> None:
    d = base_scenario()
    d["calibration"] = {"targets": {"t": {"statistic": "ever", "strategy": "nope", "cycles": 0, "target": "x",
                                          "bounds": [2, 1], "colour": 1}}}
    keys = _keys(tmp_path, d)
    assert {f"calibration.targets.t.{k}" for k in ("statistic", "strategy", "cycles", "target", "bounds", "colour")} \
        <= set(keys)


def test_every_table_reports_all_of_its_problems(tmp_path: Path) -> None:
    d = base_scenario()
    set_in(d, "strategies.trt.colour", 1)
    set_in(d, "strategies.trt.modifiers", [{"transitions": ["H -> S"], "rr": -1, "cycles": [0, 2]}])
    set_in(d, "states.H.colour", 1)
    set_in(d, "states.H.utility", 2)
    set_in(d, "settings.colour", 1)
    set_in(d, "settings.cohort_size", -5)
    set_in(d, "parameters.lambda", 1)
    set_in(d, "perspectives", {"x": ["nhs", "nhs"]})
    keys = _keys(tmp_path, d)
    assert {"strategies.trt.colour", "strategies.trt.modifiers[0].rr", "strategies.trt.modifiers[0].cycles",
            "states.H.colour", "states.H.utility", "settings.colour", "settings.cohort_size", "parameters.lambda",
            "perspectives.x[1]"} <= set(keys)


def test_a_parameter_that_is_not_finite_in_one_psa_sample_is_named_with_the_sample(tmp_path: Path) -> None:
    import numpy as np

    from heecon.engine.evaluate import evaluate_totals

    d = base_scenario()
    d["parameters"]["z"] = "c_H / (p_HS - 0.1)"  # used nowhere: a parameter is checked all the same
    sc = load_scenario(write_scenario(tmp_path, set_in(d, "parameters.p_HS", {"value": 0.2, "source": "x"})))
    with pytest.raises(ScenarioError) as info:
        evaluate_totals(sc, {"p_HS": np.array([0.2, 0.3, 0.1, 0.4])})
    msg = str(info.value)
    assert "parameter 'z' is inf" in msg and "PSA sample 2" in msg and "'c_H / (p_HS - 0.1)'" in msg


# --------------------------------------------------------------------------- 13. memory


def test_a_billion_individuals_on_the_flagship_is_refused_before_allocating(tmp_path: Path) -> None:
    out = tmp_path / "results"
    result = runner.invoke(app, ["run", str(FLAGSHIP), "--set", "settings.individuals=1000000000", "--psa", "0",
                                 "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    assert "Not enough memory to simulate 1,000,000,000 individuals" in result.output
    assert "population attributes" in result.output and "fewer individuals" in result.output
    assert not out.exists()


def test_stored_trajectories_are_counted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEECON_MEMORY_LIMIT_MB", "100")
    path = write_feature_scenario(tmp_path)
    result = runner.invoke(app, ["run", str(path), "--set", "settings.individuals=2000000", "--set",
                                 "settings.trajectories=2000000", "--psa", "0", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2, result.output
    assert "trajectories" in result.output and "fewer stored trajectories" in result.output
    assert "HEECON_MEMORY_LIMIT_MB=100" in result.output


def test_compiled_matrices_are_estimated_before_they_are_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEECON_MEMORY_LIMIT_MB", "150")
    d = base_scenario()
    set_in(d, "states.S.tunnel", 3000)
    set_in(d, "states.S.tunnel_exit", "H")
    d["transitions"]["S"] = {"D": "p_SD"}
    path = write_scenario(tmp_path, d)
    for command in ("validate", "run"):
        result = runner.invoke(app, _cli_args(command, path, [], tmp_path))
        assert result.exit_code == 2, result.output
        assert "Not enough memory to compile this model" in result.output and "Traceback" not in result.output
        assert "shorter tunnel states (the 3 states expand to 3,002 rows)" in result.output
    monkeypatch.setenv("HEECON_MEMORY_GUARD", "0")  # the check can be turned off (the model fits after all)
    monkeypatch.delenv("HEECON_MEMORY_LIMIT_MB")
    assert runner.invoke(app, ["validate", str(path)]).exit_code == 0


def test_check_allocation_passes_what_fits_and_refuses_what_does_not(monkeypatch: pytest.MonkeyPatch) -> None:
    from heecon.model.sizes import MemoryLimitError, check_allocation

    monkeypatch.setenv("HEECON_MEMORY_LIMIT_MB", "1000")
    check_allocation({"a": 900 * 2**20}, "to do a")
    with pytest.raises(MemoryLimitError) as info:
        check_allocation({"a": 600 * 2**20, "b": 600 * 2**20}, "to do a and b", ["less of b"])
    assert info.value.needed == 1200 * 2**20 and info.value.available == 1000 * 2**20
    assert "to do a and b" in str(info.value) and "  - less of b" in str(info.value)
