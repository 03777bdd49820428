"""heecon portfolio: the optimisers against brute force, hand-computed and closed-form answers; the portfolio file's
errors; a portfolio of tiny cohort services end to end (library and command line); the flagship (slow)."""

from __future__ import annotations

import itertools
import json
import textwrap
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from heecon.cea.portfolio import (MAX_SERVICES, PortfolioError, best_shares, best_subset, best_subsets,
                                  greedy_shares, subset_masks)
from heecon.cli.app import app
from heecon.scenario.portfolio_spec import PortfolioSpecError, read_portfolio, toml_value
from heecon.sensitivity.portfolio import run_portfolio

ROOT = Path(__file__).resolve().parents[1]

# ------------------------------------------------------------------------------------------------ the optimisers


def _brute(v, c, budget):
    best, best_key = None, None
    for r in range(len(v) + 1):
        for comb in itertools.combinations(range(len(v)), r):
            cost = sum(c[i] for i in comb)
            if cost > budget + 1e-9:
                continue
            val = sum(v[i] for i in comb)
            if best is None or val > best + 1e-9:
                best, best_key = val, comb
    return best, best_key


def test_subset_enumeration_matches_itertools_brute_force():
    rng = np.random.default_rng(7)
    for trial in range(200):
        n = int(rng.integers(1, 9))
        v = rng.normal(2, 3, n)  # some services harm the outcome
        c = rng.normal(5, 4, n)  # some save money on the budget's basis
        budget = float(rng.uniform(0, 20))
        z = best_subset(v, c, budget)
        best, _ = _brute(v, c, budget)
        assert c[z].sum() <= budget + 1e-9
        assert v[z].sum() == pytest.approx(best, abs=1e-9), trial


def test_subset_hand_computed_case():
    # budget 10: A (value 6, cost 5) + B (5, 5) = 11 beats C (10, 9) alone = 10; a greedy by ratio takes C first
    # (1.11 per unit) and then nothing fits, so this is where exact enumeration differs from the ratio rule
    v, c = np.array([6.0, 5.0, 10.0]), np.array([5.0, 5.0, 9.0])
    assert best_subset(v, c, 10.0).tolist() == [True, True, False]
    # a cost-saving service with a gain is always in; a harmful one never
    v2, c2 = np.array([1.0, -1.0, 3.0]), np.array([-2.0, 0.0, 11.0])
    assert best_subset(v2, c2, 9.0).tolist() == [True, False, True]  # the saving frees the budget for the third
    # ties: the cheaper mix
    assert best_subset(np.array([2.0, 2.0]), np.array([3.0, 1.0]), 3.0).tolist() == [False, True]
    # nothing fits: the empty mix
    assert not best_subset(np.array([1.0, 2.0]), np.array([5.0, 6.0]), 4.0).any()


def test_subsets_row_by_row_equal_one_at_a_time():
    rng = np.random.default_rng(3)
    v, c = rng.normal(1, 2, (130, 5)), rng.uniform(1, 5, (130, 5))
    many = best_subsets(v, c, 7.0, chunk=16)
    assert all((many[i] == best_subset(v[i], c[i], 7.0)).all() for i in range(130))


def test_more_than_sixteen_whole_services_are_refused():
    assert subset_masks(MAX_SERVICES).shape == (2 ** MAX_SERVICES, MAX_SERVICES)
    with pytest.raises(PortfolioError, match="limited to 16 services.*divisible"):
        best_subset(np.ones(17), np.ones(17), 3.0)


def test_lp_matches_the_greedy_closed_form():
    rng = np.random.default_rng(11)
    for _ in range(50):
        n = int(rng.integers(1, 10))
        v, c = rng.uniform(0.1, 5, n), rng.uniform(0.1, 5, n)
        budget = float(rng.uniform(0, c.sum() * 1.2))
        x, g = best_shares(v, c, budget), greedy_shares(v, c, budget)
        assert v @ x == pytest.approx(v @ g, rel=1e-9, abs=1e-9)
        assert c @ x <= budget + 1e-7
    # closed form by hand: ratios 3, 2, 1; budget 3 buys A (cost 1) and B (cost 2), none of C
    x = best_shares(np.array([3.0, 4.0, 3.0]), np.array([1.0, 2.0, 3.0]), 3.0)
    assert x == pytest.approx([1.0, 1.0, 0.0])
    x = best_shares(np.array([3.0, 4.0, 3.0]), np.array([1.0, 2.0, 3.0]), 4.5)
    assert x == pytest.approx([1.0, 1.0, 0.5])


def test_lp_never_funds_a_harmful_service_and_takes_a_saving_one():
    x = best_shares(np.array([-1.0, 2.0, 1.0]), np.array([0.0, 4.0, -3.0]), 2.0)
    assert x == pytest.approx([0.0, 1.0, 1.0])  # the saving of 3 plus the budget of 2 pays for the second


# ------------------------------------------------------------------------------------------------ tiny cohort services

SERVICE = """
[settings]
cycle_length_months = 12
horizon_cycles = 2
counting = "end"
discount_costs = 0
discount_effects = 0
sectors = ["service", "nhs", "prisons"]
comparator = "usual"
wtp = 20000
seed = SEED
[perspectives]
public_sector = ["service", "nhs", "prisons"]
[parameters]
c_serv = 0
c_treat = { value = COST, source = "test", distribution = { type = "uniform", lower = LO, upper = HI } }
gain = { value = GAIN, source = "test", distribution = { type = "uniform", lower = 0.0, upper = GHI } }
u_gain = 0
[states.Well]
utility = "0.8 + u_gain"
costs = { service = "c_serv", nhs = 100 }
[states.Dead]
dead = true
[transitions]
Well = { Well = "C", Dead = 0 }
[strategies.usual]
label = "Usual care"
[strategies.serv]
label = "Service"
[strategies.serv.parameters]
c_serv = "c_treat"
u_gain = "gain"
"""


def _service(tmp: Path, name: str, cost: float, gain: float, seed: int = 1) -> Path:
    text = (SERVICE.replace("SEED", str(seed)).replace("COST", str(cost)).replace("GHI", str(2 * gain))
            .replace("LO", str(cost / 2)).replace("HI", str(cost * 1.5)).replace("GAIN", str(gain)))
    p = tmp / f"{name}.toml"
    p.write_text(text)
    return p


def _portfolio(tmp: Path, extra: str = "", outcome: str = "qalys", budget: float = 100_000, psa: int = 40,
               mode: str = "whole") -> Path:
    # per man (2 years): A costs 2,000 for 0.10 QALYs; B 1,000 for 0.04; C 3,000 for 0.16
    _service(tmp, "a", 1000, 0.05, seed=1)
    _service(tmp, "b", 500, 0.02, seed=2)
    _service(tmp, "c", 1500, 0.08, seed=3)
    text = f"""
    [portfolio]
    title = "Test portfolio"
    outcome = "{outcome}"
    perspective = "public_sector"
    wtp = 20000
    budget = {budget}
    budget_period = "year"
    budget_source = "ASSUMPTION: a test budget"
    cost_basis = ["service"]
    psa_samples = {psa}
    mode = "{mode}"
    {extra}
    [[services]]
    file = "a.toml"
    label = "A"
    capacity = 20
    capacity_source = "ASSUMPTION: test"
    [[services]]
    file = "b.toml"
    label = "B"
    capacity = 50
    capacity_source = "ASSUMPTION: test"
    [[services]]
    file = "c.toml"
    label = "C"
    capacity = 30
    capacity_source = "ASSUMPTION: test"
    set = {{ "settings.wtp" = 30000 }}
    """
    p = tmp / "pf.toml"
    p.write_text(textwrap.dedent(text))
    return p


def test_cohort_portfolio_hand_computed(tmp_path):
    # scaled to capacity: A 40,000 for 2.0 QALYs, B 50,000 for 2.0, C 90,000 for 4.8; budget 100,000:
    # A+B = 90,000 for 4.0; C alone 4.8 (and C + anything exceeds the budget): C
    res = run_portfolio(read_portfolio(_portfolio(tmp_path)))
    lg = res.league().set_index("service")
    assert lg.loc["A", "inc_cost"] == pytest.approx(2000)
    assert lg.loc["A", "budget_cost"] == pytest.approx(2000)
    assert lg.loc["A", "cost_payer:NHS/PSS"] == pytest.approx(2000)
    assert lg.loc["A", "cost_payer:Justice"] == pytest.approx(0)
    assert lg.loc["B", "inc_qalys"] == pytest.approx(0.04)
    assert lg.loc["C", "icer"] == pytest.approx(3000 / 0.16)
    assert lg.loc["C", "net_benefit"] == pytest.approx(0.16 * 20000 - 3000)
    assert np.isnan(lg.loc["C", "offences_averted"])  # a cohort model has no events
    assert lg.loc["C", "total_budget_cost"] == pytest.approx(90_000)
    # ranked by budget cost per QALY: C 18,750, A 20,000, B 25,000
    assert list(lg.index) == ["C", "A", "B"] and list(lg["rank"]) == [1, 2, 3]
    assert res.base_mix.tolist() == [0.0, 0.0, 1.0]
    mix = res.optimal_mix().set_index("service")
    assert mix.loc["TOTAL", "qalys"] == pytest.approx(4.8)
    pr = res.mix_probability().set_index("service")
    assert ((pr["probability_in_mix"] >= 0) & (pr["probability_in_mix"] <= 1)).all()
    assert res.psa_mixes.shape == (40, 3)
    # each sample's mix is the optimum of that sample's numbers
    vs = np.stack([s.psa["inc_qalys"] for s in res.services], axis=1) * [20, 50, 30]
    cs = np.stack([s.psa["budget_cost"] for s in res.services], axis=1) * [20, 50, 30]
    assert (res.psa_mixes.astype(bool) == best_subsets(vs, cs, 100_000)).all()
    from heecon.report.portfolio import write_portfolio

    out = write_portfolio(res, tmp_path / "out")
    assert all((out / "figures" / f"{f}.{x}").is_file() for f in ("league", "mix_probability") for x in ("png", "svg"))
    assert "| 1 | C |" in (out / "portfolio.md").read_text()


def test_cohort_portfolio_divisible_and_horizon(tmp_path):
    p = _portfolio(tmp_path, mode="divisible", psa=0)
    res = run_portfolio(read_portfolio(p))
    # QALYs per GBP at capacity: C 4.8/90,000, A 2/40,000, B 2/50,000: all of C, then A with the 10,000 left
    assert res.base_mix == pytest.approx([0.25, 0.0, 1.0])
    assert res.psa_mixes is None and res.mix_probability().empty
    text = p.read_text().replace('budget_period = "year"', 'budget_period = "horizon"\nyears = 2')
    text = text.replace("budget = 100000", "budget = 200000")
    p.write_text(text)
    res2 = run_portfolio(read_portfolio(p))  # two intakes, twice the budget: the same mix
    assert res2.base_mix == pytest.approx([0.25, 0.0, 1.0])


def test_psa_samples_are_those_of_the_scenario_psa(tmp_path):
    from heecon import load_scenario
    from heecon.sensitivity.psa import run_psa

    res = run_portfolio(read_portfolio(_portfolio(tmp_path, psa=25)))
    psa = run_psa(load_scenario(tmp_path / "a.toml"), 25)
    c = psa.costs("public_sector")
    assert res.services[0].psa["inc_cost"] == pytest.approx(c[:, 1] - c[:, 0], rel=1e-12)


@pytest.mark.parametrize("edit, match", [
    (('outcome = "qalys"', 'outcome = "qaly"'), r"portfolio\.outcome: must be one of .*Did you mean 'qalys'"),
    (('budget_source = "ASSUMPTION: a test budget"', ""), r"portfolio\.budget_source: the budget needs its source"),
    (('file = "b.toml"', 'file = "nope.toml"'), r"services\[1\]\.file: file not found"),
    (('capacity = 50', 'capacity = -5'), r"services\[1\]\.capacity: must be a number > 0"),
    (('cost_basis = ["service"]', 'cost_basis = 3'), r"portfolio\.cost_basis: must be \"net\""),
    (('mode = "whole"', 'mode = "fractional"'), r"portfolio\.mode: must be one of"),
    (('label = "B"', 'label = "A"'), r"services\[1\]\.label: 'A' names two services"),
    (('psa_samples = 40', 'psa_samples = 40\nbudgt = 3'), r"portfolio\.budgt: unknown key.*Did you mean 'budget'"),
])
def test_portfolio_file_errors_name_the_key(tmp_path, edit, match):
    p = _portfolio(tmp_path)
    text = p.read_text()
    assert edit[0] in text
    p.write_text(text.replace(edit[0], edit[1], 1))
    with pytest.raises(PortfolioSpecError, match=match) as e:
        read_portfolio(p)
    assert str(e.value).startswith(f"Invalid portfolio {p}")


def test_service_errors_name_the_service(tmp_path):
    p = _portfolio(tmp_path, outcome="offences_averted")
    with pytest.raises(PortfolioError, match=r"services\[0\] .*needs the scenario's settings\.averted_events"):
        run_portfolio(read_portfolio(p))
    p = _portfolio(tmp_path, extra='', outcome="qalys")
    p.write_text(p.read_text().replace('perspective = "public_sector"', 'perspective = "societal"'))
    with pytest.raises(PortfolioError, match=r"no perspective 'societal'.*it has public_sector"):
        run_portfolio(read_portfolio(p))


def test_toml_value_round_trips():
    import tomllib

    for v in [1, 2.5, True, "a \"q\" \\ é", [1, "x"], {"k": [1.5]}]:
        assert tomllib.loads(f"v = {toml_value(v)}")["v"] == v


def test_cli_writes_the_folder_and_refuses_bad_input(tmp_path):
    p = _portfolio(tmp_path, psa=10)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["portfolio", str(p), "--out", str(out), "--no-figures"])
    assert r.exit_code == 0, r.output
    assert "Optimal mix" in r.output and "Probability in the optimal mix" in r.output
    for f in ("league.csv", "optimal_mix.csv", "mix_probability.csv", "summary.json", "portfolio.md",
              ".heecon-manifest.json"):
        assert (out / f).is_file(), f
    summary = json.loads((out / "summary.json").read_text())
    assert summary["optimal_mix"] == ["C"] and summary["psa_samples"] == 10
    man = json.loads((out / ".heecon-manifest.json").read_text())
    assert man["entries"]["league.csv"]["writer"] == "portfolio"
    r = CliRunner().invoke(app, ["portfolio", str(p), "--out", str(out), "--json", "--psa", "0", "--mode", "divisible",
                                 "--no-figures"])
    assert r.exit_code == 0, r.output
    js = json.loads(r.output)
    assert js["mode"] == "divisible" and js["psa_samples"] == 0 and len(js["league"]) == 3
    assert not (out / "psa_mixes.csv").exists()  # the run's own earlier files are replaced
    # a folder heecon did not make is refused, nothing written
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("x")
    r = CliRunner().invoke(app, ["portfolio", str(p), "--out", str(mine)])
    assert r.exit_code == 2 and "heecon did not make" in r.output and not (mine / "league.csv").exists()
    # bad file: a message with the key path, exit 2, no traceback
    p.write_text(p.read_text().replace('outcome = "qalys"', 'outcome = "lives"'))
    r = CliRunner().invoke(app, ["portfolio", str(p), "--out", str(out)])
    assert r.exit_code == 2 and "portfolio.outcome" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(app, ["portfolio", str(p), "--mode", "halves"])
    assert r.exit_code == 2 and "choose whole or divisible" in r.output


def test_example_portfolio_reads():
    spec = read_portfolio(ROOT / "scenarios" / "portfolio" / "opd_pathway.toml")
    assert spec.outcome == "offences_averted" and len(spec.services) >= 3
    assert all(s.file.is_file() and s.capacity_source for s in spec.services)
    nhs = read_portfolio(ROOT / "scenarios" / "portfolio" / "pd_therapies_nhs.toml")
    assert nhs.outcome == "qalys" and all(s.file.is_file() and s.capacity_source for s in nhs.services)
    # every service scenario is in one of the two examples
    files = {s.file.resolve() for s in [*spec.services, *nhs.services]}
    assert set((ROOT / "scenarios" / "services").glob("*.toml")) <= files


@pytest.mark.slow
def test_a_service_whose_events_are_not_offences_is_refused_in_an_offences_portfolio_and_kept_apart(tmp_path):
    """MBT-OP's averted events are suicide attempts: an offences portfolio refuses it by name; a QALY portfolio
    keeps its events in their own column, labelled, and leaves offences_averted empty."""
    src = (ROOT / "scenarios" / "portfolio" / "pd_therapies_nhs.toml").read_text()
    src = src.replace("../services/", str(ROOT / "scenarios" / "services") + "/")
    p = tmp_path / "pf.toml"
    p.write_text(src.replace('outcome = "qalys"', 'outcome = "offences_averted"'))
    with pytest.raises(PortfolioError, match="this scenario's are 'suicide attempts'"):
        run_portfolio(read_portfolio(p), psa_samples=2)
    p.write_text(src)
    lg = run_portfolio(read_portfolio(p), psa_samples=2).league().set_index("service")
    op = lg.loc["MBT-OP for borderline personality disorder"]
    assert op["events_label"] == "suicide attempts" and op["events_averted"] > 0 and np.isnan(op["offences_averted"])


# ------------------------------------------------------------------------------------------------ a tiny microsimulation

MICRO = """[settings]
engine = "microsim"
individuals = 400
cycle_length_months = 3
horizon_cycles = 8
counting = "half-cycle"
sectors = ["service", "police", "prisons"]
averted_events = ["offence"]
comparator = "usual"
seed = 5
[perspectives]
public_sector = ["service", "police", "prisons"]
[parameters]
r_off = { value = 0.4, source = "test", distribution = { type = "uniform", lower = 0.3, upper = 0.5 } }
rr = { value = 0.7, source = "test", distribution = { type = "uniform", lower = 0.5, upper = 0.9 } }
harm = { value = 2.0, source = "test", distribution = { type = "uniform", lower = 1.0, upper = 3.0 } }
c_serv = 0
[states.Free]
utility = 0.8
costs = { service = "c_serv" }
[states.Dead]
dead = true
[transitions]
Free = { Free = "C", Dead = 0.01 }
[events.offence]
rate = { Free = "r_off" }
costs = { police = 500 }
[events.free_quarter]
expected = true
rate = { Free = 1 }
[strategies.usual]
label = "Usual"
[strategies.serv]
label = "Service"
[strategies.serv.parameters]
c_serv = 300
[[strategies.serv.event_modifiers]]
events = ["offence"]
rr = "rr"
[[measures]]
label = "Prison-years"
events = ["offence"]
weights = ["harm"]
scale = 0.25

[[measures]]
label = "Years free"
events = ["free_quarter"]
scale = 0.25
"""


def test_microsim_offences_and_measures_per_sample(tmp_path):
    """Offences from settings.averted_events; a measure with a weight (drawn in the PSA) and one of an event booked
    in expectation (the one-sample-per-call path, which must give the batch's numbers)."""
    (tmp_path / "m.toml").write_text(MICRO)
    (tmp_path / "pf.toml").write_text(textwrap.dedent("""
    [portfolio]
    outcome = "offences_averted"
    perspective = "public_sector"
    budget = 50000
    budget_period = "year"
    budget_source = "ASSUMPTION: test"
    psa_samples = 6
    [[services]]
    file = "m.toml"
    label = "weighted"
    capacity = 10
    capacity_source = "ASSUMPTION: test"
    [[services]]
    file = "m.toml"
    label = "expected"
    prison_years_measure = "Years free"
    capacity = 10
    capacity_source = "ASSUMPTION: test"
    """))
    from heecon.outcomes.base_case import run_base_case
    from heecon.params.scenario_draws import draw_psa

    res = run_portfolio(read_portfolio(tmp_path / "pf.toml"))
    w, x = res.services
    o = run_base_case(w.scenario).outcomes
    averted = o.loc["usual", "events:offence"] - o.loc["serv", "events:offence"]
    assert w.base["offences_averted"] == pytest.approx(averted) and averted > 0
    assert w.base["prison_years_averted"] == pytest.approx(0.25 * 2.0 * averted)
    assert w.base["inc_cost"] == pytest.approx(o.loc["serv", "costs[public_sector]"] - o.loc["usual", "costs[public_sector]"])
    harm = draw_psa(w.scenario, 6)["harm"]
    assert w.psa["prison_years_averted"] == pytest.approx(0.25 * harm * w.psa["offences_averted"])
    assert np.isfinite(x.psa["prison_years_averted"]).all()
    for k in ("inc_cost", "offences_averted", "inc_qalys"):  # one sample per call = the batch, bit for bit
        assert (x.psa[k] == w.psa[k]).all(), k
    # the net cost (the default basis) of 10 men each is well under the budget: both are funded
    assert 20 * w.base["budget_cost"] < 50_000 and res.base_mix.tolist() == [1.0, 1.0]


@pytest.mark.slow
def test_flagship_portfolio_runs(tmp_path):
    """The example portfolio (the flagship and the pathway's services, 2,000 men each) with a small PSA: offences and
    prison-years per sample (prison-years come from an event booked in expectation, one sample at a time); the
    flagship averts offences and prison-years, the services with a null base-case effect avert none."""
    from heecon.engine.evaluate import evaluate_totals
    from heecon.params.scenario_draws import draw_psa

    spec = read_portfolio(ROOT / "scenarios" / "portfolio" / "opd_pathway.toml")
    res = run_portfolio(spec, psa_samples=4)
    lg = res.league().set_index("service")
    assert np.isfinite(lg[["offences_averted", "prison_years_averted"]].to_numpy()).all()
    mbt = lg.loc["MBT-ASPD on probation (MOAM)"]
    assert mbt["offences_averted"] > 0 and mbt["prison_years_averted"] > 0
    s = res.services[0]
    assert np.isfinite(s.psa["prison_years_averted"]).all()
    draws = draw_psa(s.scenario, 4, s.scenario.settings.seed)
    tot = evaluate_totals(s.scenario, {n: draws[n] for n in draws.names}, 4)
    q = tot[:, :, list(s.scenario.sectors).index("service"), 0]
    assert s.psa["budget_cost"] == pytest.approx(q[:, 1] - q[:, 0], rel=1e-12)  # same numbers as the batch PSA
