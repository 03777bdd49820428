"""Partitioned survival models and decision trees compile to the cohort engine's arrays, so every analysis runs.

Partitioned survival (N states from N - 1 curves): the kernel's trace equals the partitioned occupancy
``S_1, S_2 - S_1, ..., 1 - S_{N-1}`` at every point; totals are the within-cycle weights applied to that
occupancy; crossing curves are refused, capped or capped with a warning; PSA and DSA run without special cases.

Decision trees: rollback gives expected payoffs (start rewards) and where the cohort enters the Markov model
(the start distribution); a tree handing its cohort on equals a Markov model started from the tree's shares plus
the tree's payoffs; inner decision nodes follow each strategy's choice; malformed trees are reported at their
key paths.
"""

from __future__ import annotations

import textwrap
import warnings

import numpy as np
import pytest

from heecon import load_scenario
from heecon.engine.evaluate import evaluate_totals
from heecon.model.markov import compile_model
from heecon.model.partitioned import CrossingWarning
from heecon.outcomes.base_case import run_base_case
from heecon.scenario.errors import ScenarioError
from heecon.survival import Exponential, Weibull

PSM4 = """
title = "four-state partitioned survival"
[settings]
cycle_length_months = 6
horizon_years = 15
counting = "half-cycle"
discount_costs = 0.035
discount_effects = 0.035
sectors = ["nhs"]
[parameters]
r1 = { value = 0.4, distribution = { type = "gamma", mean = 0.4, sd = 0.05 } }
r2 = 0.15
s3 = { value = 1.4, distribution = { type = "lognormal", mean = 1.4, sd = 0.1 } }
c3 = 12
hr_new = { value = 0.7, range = [0.5, 0.9] }
hr = 1
u1 = 0.85
u2 = 0.7
u3 = 0.4
[survival.pfs]
distribution = "exp"
rate = "r1"
units = "years"
hr = "hr"
[survival.ttf]
distribution = "exp"
rate = "r2"
units = "years"
[survival.os]
distribution = "weibull"
shape = "s3"
scale = "c3"
units = "years"
[partitioned]
states = ["PF", "P1", "P2", "Dead"]
curves = ["pfs", "ttf", "os"]
CROSSING
[states.PF]
utility = "u1"
costs = { nhs = 1000 }
[states.P1]
utility = "u2"
costs = { nhs = 3000 }
[states.P2]
utility = "u3"
costs = { nhs = 5000 }
[states.Dead]
dead = true
[strategies.soc]
label = "Standard care"
[strategies.new]
label = "New drug"
parameters = { hr = "hr_new" }
"""


def psm(tmp_path, text=PSM4, crossing="", name="psm.toml", overrides=()):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text.replace("CROSSING", crossing)), encoding="utf-8")
    return load_scenario(p, list(overrides))


def _curves(t, hr=1.0):
    s1 = Exponential(0.4 * hr).survival(t)
    s2 = Exponential(0.15).survival(t)
    s3 = Weibull(1.4, 12.0).survival(t)
    return np.column_stack([s1, s2 - s1, s3 - s2, 1 - s3])


def test_four_state_trace_equals_the_partitioned_occupancy(tmp_path):
    base = run_base_case(psm(tmp_path))
    t = np.arange(31) * 0.5
    for s, hr in (("soc", 1.0), ("new", 0.7)):
        tr = base.trace[base.trace.strategy == s][["PF", "P1", "P2", "Dead"]].to_numpy()
        np.testing.assert_allclose(tr, _curves(t, hr), rtol=0, atol=1e-13)
    assert base.summary()["settings"]["model"] == "partitioned survival"


def test_totals_are_the_markov_weights_applied_to_the_occupancy(tmp_path):
    """Half-cycle correction and discounting exactly as the Markov engine's (model/weights.py)."""
    sc = psm(tmp_path)
    base = run_base_case(sc)
    W = compile_model(sc).W
    t = np.arange(31) * 0.5
    for s, hr in (("soc", 1.0), ("new", 0.7)):
        m = _curves(t, hr)
        costs = m @ np.array([1000, 3000, 5000, 0.0])  # state costs are per cycle, utilities per year
        qalys = m @ np.array([0.85, 0.7, 0.4, 0.0]) * 0.5
        for name, v, r in (("nhs", costs, 0), ("qalys", qalys, 1)):
            expected = np.sum(W[0, 0, r] * v[:-1] + W[0, 1, r] * v[1:])
            assert base.outcomes.loc[s, name] == pytest.approx(expected, rel=1e-12)


CROSS = """
[settings]
cycle_length_months = 12
horizon_cycles = 10
sectors = ["nhs"]
[parameters]
r_pfs = 0.1
r_os = 0.3
[survival.pfs]
distribution = "exp"
rate = "r_pfs"
units = "years"
[survival.os]
distribution = "weibull"
shape = 2
scale = 3
units = "years"
[partitioned]
curves = ["pfs", "os"]
CROSSING
[states.PFS]
utility = 0.8
[states.PD]
utility = 0.5
[states.Dead]
dead = true
[strategies.a]
label = "a"
"""


def test_crossing_curves_are_refused_capped_or_capped_with_a_warning(tmp_path):
    with pytest.raises(ScenarioError) as exc:
        psm(tmp_path, CROSS, 'crossing = "error"')
    p = exc.value.problems[0]
    assert p.key == "partitioned.crossing" and "'pfs'" in p.message and "lies above 'os'" in p.message
    assert "year 1" in p.message and "strategy 'a'" in p.message
    sc = psm(tmp_path, CROSS, 'crossing = "truncate"', name="t.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        base = run_base_case(sc)
    t = np.arange(11.0)
    pfs, os_ = Exponential(0.1).survival(t), Weibull(2, 3).survival(t)
    tr = base.trace[["PFS", "PD", "Dead"]].to_numpy()
    np.testing.assert_allclose(tr[:, 0], np.minimum(pfs, os_), atol=1e-13)
    np.testing.assert_allclose(tr[:, 1], os_ - np.minimum(pfs, os_), atol=1e-13)
    assert any("capped" in n for n in base.summary()["notes"])
    with pytest.warns(CrossingWarning, match="lies above"):
        run_base_case(psm(tmp_path, CROSS, 'crossing = "warn"', name="w.toml"))


def test_psa_and_dsa_run_on_a_partitioned_model_without_special_cases(tmp_path):
    from heecon.sensitivity.dsa import one_way
    from heecon.sensitivity.psa import run_psa

    sc = psm(tmp_path)
    res = run_psa(sc, 40, seed=5)
    tot = res.totals if hasattr(res, "totals") else None
    assert tot is not None and np.all(np.isfinite(tot))
    # one PSA sample equals the base case with that sample's values
    i = 7
    draws = {k: res.draws[k] for k in ("r1", "s3")}
    one = evaluate_totals(sc, {k: v[i:i + 1] for k, v in draws.items()})[0]
    fixed = psm(tmp_path, name="fixed.toml", overrides=[f"parameters.r1={float(draws['r1'][i])!r}",
                                                         f"parameters.s3={float(draws['s3'][i])!r}"])
    np.testing.assert_allclose(one, run_base_case(fixed).totals, rtol=1e-12)
    np.testing.assert_allclose(tot[i], one, rtol=1e-12)
    dsa = one_way(sc, ["hr_new"], strategy="new").to_frame()
    assert len(dsa) == 1 and dsa.iloc[0]["low"] != dsa.iloc[0]["high"]


PSM_BAD = [
    ("[transitions]\nPF = { PF = \"C\" }\n", "transitions", "remove [transitions]"),
    ("[start]\nstates = { PF = 1 }\n", "start.states", "curves put it"),
]


@pytest.mark.parametrize("extra, key, gist", PSM_BAD)
def test_partitioned_refuses_transitions_and_start_states(tmp_path, extra, key, gist):
    with pytest.raises(ScenarioError) as exc:
        psm(tmp_path, PSM4 + extra)
    assert any(p.key == key and gist in p.message for p in exc.value.problems), exc.value.problems


@pytest.mark.parametrize("old, new, key, gist", [
    ('curves = ["pfs", "ttf", "os"]', 'curves = ["pfs", "os"]', "partitioned.curves", "N - 1 = 3 curves"),
    ('curves = ["pfs", "ttf", "os"]', 'curves = ["pfs", "ttx", "os"]', "partitioned.curves[1]", "unknown survival curve"),
    ('states = ["PF", "P1", "P2", "Dead"]', 'states = ["PF", "P1", "Dead"]', "partitioned.states", "missing: P2"),
    ('curves = ["pfs", "ttf", "os"]', 'curves = { soc = ["pfs", "ttf", "os"] }', "partitioned.curves", "not for new"),
    ('[partitioned]', '[partitioned]\ncrossing = "ignore"', "partitioned.crossing", "'error'"),
    ('[settings]', '[settings]\nengine = "microsim"', "settings.engine", "cohort model"),
    ('rate = "r1"', 'rate = "r1 * (1 + cycle / 100)"', "survival.pfs", "cannot change with model time"),
])
def test_malformed_partitioned_sections_are_reported_at_their_key(tmp_path, old, new, key, gist):
    with pytest.raises(ScenarioError) as exc:
        psm(tmp_path, PSM4.replace(old, new, 1))
    assert any(p.key == key and gist in p.message for p in exc.value.problems), exc.value.problems


def test_curves_by_strategy(tmp_path):
    text = PSM4.replace('curves = ["pfs", "ttf", "os"]', 'curves = { soc = ["pfs", "ttf", "os"], new = ["pfs2", "ttf", "os"] }')
    text = text.replace("[partitioned]", '[survival.pfs2]\ndistribution = "exp"\nrate = 0.2\nunits = "years"\n[partitioned]')
    base = run_base_case(psm(tmp_path, text))
    tr = base.trace[base.trace.strategy == "new"]["PF"].to_numpy()
    np.testing.assert_allclose(tr, Exponential(0.2).survival(np.arange(31) * 0.5), atol=1e-13)


# ------------------------------------------------------------------------------------------------------ trees

TREE = """
title = "screening tree handing its cohort to a Markov model"
[settings]
cycle_length_months = 12
horizon_cycles = 20
counting = "half-cycle"
sectors = ["nhs"]
[parameters]
prev = { value = 0.2, distribution = { type = "beta", mean = 0.2, sd = 0.03 } }
sens = 0.9
p_cure = 0.6
c_test = 50
c_treat = 800
p_sick_die = 0.1
p_well_sick = 0.02
[states.Well]
utility = 0.95
costs = { nhs = 100 }
[states.Sick]
utility = 0.6
costs = { nhs = 2000 }
[states.Dead]
dead = true
[transitions]
Well = { Well = "C", Sick = "p_well_sick", Dead = 0.01 }
Sick = { Sick = "C", Dead = "p_sick_die" }
[strategies.none]
label = "No screening"
[strategies.screen]
label = "Screen and treat"
[strategies.screen_wait]
label = "Screen, treat later"
[tree]
root = "start"
[tree.nodes.start]
type = "decision"
branches = [
  { name = "none", to = "untested" },
  { name = "screen", to = "tested", costs = { nhs = "c_test" } },
  { name = "screen_wait", to = "tested", costs = { nhs = "c_test" } },
]
[tree.nodes.untested]
type = "chance"
branches = [{ to = "sick", p = "prev" }, { to = "well", p = "C" }]
[tree.nodes.tested]
type = "chance"
branches = [{ to = "positive", p = "prev * sens" }, { to = "missed", p = "prev * (1 - sens)" }, { to = "well", p = "C" }]
[tree.nodes.positive]
type = "decision"
branches = [{ name = "treat", to = "treated", costs = { nhs = "c_treat" } }, { name = "wait", to = "sick" }]
choose = { screen = "treat", screen_wait = "wait" }
[tree.nodes.treated]
type = "chance"
branches = [{ to = "well", p = "p_cure", qalys = -0.05 }, { to = "sick", p = "C" }]
[tree.nodes.missed]
type = "terminal"
state = "Sick"
[tree.nodes.sick]
type = "terminal"
state = "Sick"
[tree.nodes.well]
type = "terminal"
state = "Well"
"""


def tree(tmp_path, text=TREE, name="tree.toml", overrides=()):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return load_scenario(p, list(overrides))


def test_tree_rollback_gives_the_start_distribution_and_payoffs(tmp_path):
    sc = tree(tmp_path)
    m = compile_model(sc)
    well, sick = m.state_names.index("Well"), m.state_names.index("Sick")
    shares = {"none": 0.2, "screen": 0.2 * 0.9 * 0.4 + 0.2 * 0.1, "screen_wait": 0.2}
    for si, s in enumerate(sc.strategies):
        assert m.m0[0, si, sick] == pytest.approx(shares[s], rel=1e-14)
        assert m.m0[0, si, well] == pytest.approx(1 - shares[s], rel=1e-14)
    r = m.start_rewards[0]
    assert r[0, 0] == 0 and r[1, 0] == pytest.approx(50 + 0.18 * 800) and r[2, 0] == pytest.approx(50)
    assert r[1, 1] == pytest.approx(-0.05 * 0.18 * 0.6)  # QALYs of the cured branch


def test_a_tree_handing_on_its_cohort_equals_the_markov_model_started_there(tmp_path):
    """Tree totals = the tree's expected payoffs + the Markov model's totals from the tree's start shares."""
    sc = tree(tmp_path)
    totals = run_base_case(sc).totals
    markov = TREE.split("[tree]")[0].replace("[strategies.screen]\nlabel = \"Screen and treat\"\n", "")
    markov = markov.replace("[strategies.screen_wait]\nlabel = \"Screen, treat later\"\n", "")
    sick = 0.2 * 0.9 * 0.4 + 0.2 * 0.1
    plain = tree(tmp_path, markov + f"[start]\nstates = {{ Well = {1 - sick!r}, Sick = {sick!r} }}\n", name="m.toml")
    mt = run_base_case(plain).totals[0]
    expected = mt.copy()
    expected[0] += 50 + 0.18 * 800
    expected[1] += -0.05 * 0.18 * 0.6
    np.testing.assert_allclose(totals[1], expected, rtol=1e-12)


def test_tree_psa_and_dsa_run_without_special_cases(tmp_path):
    from heecon.sensitivity.dsa import one_way
    from heecon.sensitivity.psa import run_psa

    sc = tree(tmp_path)
    res = run_psa(sc, 30, seed=2)
    m = compile_model(sc, {"prev": res.draws["prev"]})
    sick = sc.states and m.state_names.index("Sick")
    np.testing.assert_allclose(m.m0[:, 0, sick], res.draws["prev"], rtol=1e-14)
    assert np.all(np.isfinite(res.totals))
    dsa = one_way(tree(tmp_path, TREE.replace("sens = 0.9", "sens = { value = 0.9, range = [0.8, 0.95] }"),
                       name="dsa.toml"), ["sens"], strategy="screen").to_frame()
    assert dsa.iloc[0]["low"] != dsa.iloc[0]["high"]


TREE_BAD = [
    ("choose = { screen = \"treat\", screen_wait = \"wait\" }", "choose = { screen = \"treat\" }",
     "tree.nodes.positive.choose", "does not say which option"),
    ("choose = { screen = \"treat\", screen_wait = \"wait\" }", "choose = { screen = \"cure\", screen_wait = \"wait\" }",
     "tree.nodes.positive.choose.screen", "not an option"),
    ('{ name = "none", to = "untested" },', "", "tree.nodes.start.branches", "no option for the strategy none"),
    ('{ to = "well", p = "C" }]\n[tree.nodes.tested]', '{ to = "well", p = 1.2 }]\n[tree.nodes.tested]',
     "tree.nodes.untested.branches[1].p", "must be in [0, 1]"),
    ("[tree.nodes.missed]\ntype = \"terminal\"\nstate = \"Sick\"", "[tree.nodes.missed]\ntype = \"terminal\"",
     "tree.nodes.missed.state", "every terminal node hands its cohort"),
    ("[tree.nodes.missed]\ntype = \"terminal\"\nstate = \"Sick\"", "[tree.nodes.missed]\ntype = \"terminal\"\nstate = \"Sik\"",
     "tree.nodes.missed.state", "unknown state"),
    ('{ to = "sick", p = "C" }]\n[tree.nodes.missed]', '{ to = "tested", p = "C" }]\n[tree.nodes.missed]',
     "tree.nodes.tested.branches", "cycle"),
    ('{ to = "sick", p = "prev" }', '{ to = "sick", p = "prev * cycle" }', "tree.nodes.untested.branches[0].p",
     "evaluated once"),
    ('root = "start"', 'root = "untested"', "tree.nodes.untested.type", "root must be a decision node"),
    ('type = "chance"\nbranches = [{ to = "sick"', 'type = "lottery"\nbranches = [{ to = "sick"', "tree.nodes.untested.type",
     "'chance'"),
    ('{ to = "missed", p = "prev * (1 - sens)" }, ', "", "tree.nodes.missed", "not reached from the root"),
    ("[states.Well]", "[start]\nstates = { Well = 1 }\n[states.Well]", "start.states", "terminal nodes send it"),
]


@pytest.mark.parametrize("old, new, key, gist", TREE_BAD, ids=[t[3][:25] for t in TREE_BAD])
def test_malformed_trees_are_reported_at_their_key(tmp_path, old, new, key, gist):
    assert old in TREE
    with pytest.raises(ScenarioError) as exc:
        tree(tmp_path, TREE.replace(old, new, 1))
    assert any(p.key == key and gist in p.message for p in exc.value.problems), exc.value.problems


def test_branch_probabilities_that_do_not_sum_to_one_are_reported_with_the_strategy(tmp_path):
    with pytest.raises(ScenarioError) as exc:
        tree(tmp_path, TREE.replace('{ to = "well", p = "C" }]\n[tree.nodes.positive]',
                                    '{ to = "well", p = "0.5" }]\n[tree.nodes.positive]'))
    p = exc.value.problems[0]
    assert p.key == "tree.nodes.tested.branches" and "sum to 0.7" in p.message and "strategy 'screen'" in p.message


def test_a_pure_tree_needs_no_states_and_runs_through_the_pipeline_with_a_report(tmp_path):
    import heecon

    from .conftest import SCENARIOS

    sc = load_scenario(SCENARIOS / "published" / "sumatriptan_tree.toml",
                       ["parameters.p_er={ value = 0.08, distribution = { type = \"beta\", mean = 0.08, sd = 0.02 } }"])
    assert list(sc.states) == ["end"] and sc.settings.n_cycles == 1
    res = heecon.run(sc, psa=50, out=tmp_path / "out", report=True)
    assert (tmp_path / "out" / "report.html").is_file()
    summary = res.summary()
    assert summary["settings"]["model"] == "decision tree"
    p = res.psa.draws["p_er"]
    expected = 16.10 + 0.558 * 0.406 * 16.10 + 0.442 * p * (63.16 + 0.002 * 1093.0)
    np.testing.assert_allclose(res.psa.totals[:, 0, 0, 0], expected, rtol=1e-12)


def test_a_tree_in_the_microsimulation_is_the_microsimulation_of_its_start_plus_its_payoffs(tmp_path):
    """The microsimulation starts individuals from the tree's distribution: with the same seed it equals the
    microsimulation of the Markov model started from the tree's shares, plus the tree's expected payoffs."""
    micro = 'sectors = ["nhs"]\nengine = "microsim"\nindividuals = 3000\nseed = 9'
    sc = tree(tmp_path, TREE.replace('sectors = ["nhs"]', micro), name="tm.toml")
    totals = run_base_case(sc).totals
    sick = 0.2 * 0.9 * 0.4 + 0.2 * 0.1
    markov = TREE.split("[tree]")[0].replace('sectors = ["nhs"]', micro)
    for s in ("screen_wait", "none"):
        markov = markov.replace(f"[strategies.{s}]\nlabel", f"[strategies.x_{s}]\nlabel")
    plain = tree(tmp_path, markov.replace("[strategies.x_none]\nlabel = \"No screening\"\n", "").replace(
        "[strategies.x_screen_wait]\nlabel = \"Screen, treat later\"\n", "")
        + f"[start]\nstates = {{ Well = {1 - sick!r}, Sick = {sick!r} }}\n", name="pm.toml")
    expected = run_base_case(plain).totals[0].copy()
    expected[0] += 50 + 0.18 * 800
    expected[1] += -0.05 * 0.18 * 0.6
    np.testing.assert_allclose(totals[1], expected, rtol=1e-12)


def test_validate_says_what_kind_of_model_it_checked(tmp_path):
    from typer.testing import CliRunner

    from heecon.cli import app

    from .conftest import SCENARIOS

    out = CliRunner().invoke(app, ["validate", str(SCENARIOS / "published" / "sumatriptan_tree.toml")]).output
    assert "valid (a decision tree of 19 nodes, 2 strategies" in out
    out = CliRunner().invoke(app, ["validate", str(SCENARIOS / "published" / "her2_psm.toml")]).output
    assert "valid (partitioned survival, 3 states" in out
