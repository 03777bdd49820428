"""Budget impact (heecon.outcomes.budget_impact): the referral funnel, capacity, the uptake ramp, undiscounted per-person costs by
year since starting summed over cohorts, cashable savings, and clear errors for a malformed [budget_impact]."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from heecon.outcomes.budget_impact import (
    BUDGET_COLUMNS,
    budget_impact,
    budget_impact_details,
    per_person_by_year,
    referral_funnel,
    undiscounted_per_cycle,
)
from heecon.report.budget import budget_writer
from heecon.scenario.budget_spec import read_budget_spec
from heecon.outcomes.base_case import run_base_case
from heecon.scenario.errors import ScenarioError
from heecon import load_scenario, scenario_from_dict

from .conftest import SCENARIOS
from .scenario_factory import base_scenario, write_scenario

SECTORS = ["nhs", "prisons", "victims"]


def budget_section(**over):
    sec = {
        "years": 3, "sites": 2, "referred_per_site_year": 100, "share_assessed": 0.5, "share_eligible": 0.5,
        "share_starting": 0.75, "share_completing": 0.5, "groups_per_site": 1, "places_per_group": 10,
        "uptake": [0.5, 1.0, 1.0], "cashable": {"nhs": 0.5, "prisons": 0.25, "victims": 0.0},
        "payers": {"health": ["nhs"], "justice": ["prisons"], "victims": ["victims"]},
        "source": "test",
        "sources": {k: "test source" for k in ("years", "sites", "referred_per_site_year", "share_assessed",
                                                "share_eligible", "share_starting", "share_completing",
                                                "groups_per_site", "places_per_group", "uptake", "cashable")},
    }
    sec.update(over)
    return {k: v for k, v in sec.items() if v is not None}


def tiny_raw(horizon_years=3, **budget):
    """Quarterly cohort model: treatment costs the NHS in year 1 and at the start, and cuts time in S, which costs
    prisons and victims."""
    raw = base_scenario()
    raw["settings"].update({"cycle_length_months": 3, "horizon_years": horizon_years, "sectors": SECTORS,
                            "perspective": "public"})
    raw["perspectives"] = {"health": ["nhs"], "public": ["nhs", "prisons"], "societal": SECTORS}
    raw["parameters"].update({"c_start": 0, "c_prison": 2000, "c_victim": 500,
                              "p_HS": {"value": 0.05, "source": "assumption",
                                       "distribution": {"type": "beta", "mean": 0.05, "sd": 0.01}}})
    raw["states"]["S"]["costs"] = {"nhs": "c_S", "prisons": "c_prison", "victims": "c_victim"}
    raw["start"] = {"costs": {"nhs": "c_start"}}
    raw["strategies"]["trt"]["parameters"] = {"c_start": 250}
    raw["strategies"]["trt"]["costs"] = [{"states": ["H", "S"], "costs": {"nhs": "c_trt"}, "cycles": [1, 4]}]
    raw["budget_impact"] = budget_section(**budget)
    return raw


def tiny(horizon_years=3, **budget):
    return scenario_from_dict(tiny_raw(horizon_years, **budget), "tiny.toml")


@pytest.fixture(scope="module")
def tiny_result():
    return run_base_case(tiny())


# --------------------------------------------------------------------------------------------- funnel


def test_funnel_arithmetic_is_exact_on_a_hand_example():
    spec = read_budget_spec(tiny())
    f = referral_funnel(spec)
    # 2 sites x 100 = 200 referred; x 0.5 assessed = 100; x 0.5 eligible = 50; x 0.75 willing = 37.5
    assert f["referred"].tolist() == [200.0] * 3
    assert f["assessed"].tolist() == [100.0] * 3
    assert f["eligible"].tolist() == [50.0] * 3
    assert f["willing_to_start"].tolist() == [37.5] * 3
    assert f["demand"].tolist() == [18.75, 37.5, 37.5]  # x uptake 0.5, 1, 1
    assert f["capacity"].tolist() == [20.0] * 3  # 2 sites x 1 group x 10 places x 1 start per place-year
    assert f["starters"].tolist() == [18.75, 20.0, 20.0]
    assert f["capacity_binds"].tolist() == [False, True, True]
    assert f["completers"].tolist() == [9.375, 10.0, 10.0]


def test_capacity_binds_and_turnover_scales_it():
    spec = read_budget_spec(tiny(places_per_group=4, uptake=[1.0, 1.0, 1.0]))
    assert referral_funnel(spec)["starters"].tolist() == [8.0] * 3  # 2 x 1 x 4 < 37.5
    sec = budget_section(places_per_group=4, uptake=[1.0, 1.0, 1.0], starts_per_place_year=2)
    sec["sources"]["starts_per_place_year"] = "test: a 6-month programme"
    raw = tiny_raw()
    raw["budget_impact"] = sec
    spec = read_budget_spec(scenario_from_dict(raw, "tiny.toml"))
    assert referral_funnel(spec)["starters"].tolist() == [16.0] * 3


def test_uptake_ramp_scales_starters_when_capacity_is_ample():
    spec = read_budget_spec(tiny(places_per_group=1000, uptake=[0.25, 0.5, 1.0]))
    assert referral_funnel(spec)["starters"].tolist() == [37.5 * 0.25, 37.5 * 0.5, 37.5]


# ---------------------------------------------------------------------------------- costs by year and cohort


def test_one_year_horizon_totals_equal_per_person_increments_times_starters():
    sc = tiny(horizon_years=1, years=1, uptake=[0.5])
    res = run_base_case(sc)
    df = budget_impact(res)
    assert list(df.columns) == BUDGET_COLUMNS
    starters = 18.75
    o = res.outcomes
    for payer, secs in {"health": ["nhs"], "justice": ["prisons"], "victims": ["victims"]}.items():
        inc = sum(o.loc["trt", f"{s}_undiscounted"] - o.loc["soc", f"{s}_undiscounted"] for s in secs)
        row = df[df["payer"] == payer].iloc[0]
        assert row["net_cost"] == pytest.approx(starters * inc, rel=1e-12)
        assert row["starters"] == starters
    assert df.loc[df["payer"] == "health", "gross_cost"].item() > 0  # treatment and start costs
    assert df.loc[df["payer"] == "justice", "savings"].item() > 0  # less time in S


def test_per_person_years_add_up_to_the_undiscounted_totals(tiny_result):
    pp = per_person_by_year(tiny_result, 3, SECTORS)  # horizon = 3 years
    for i, _ in enumerate(tiny_result.scenario.strategies):
        assert pp[i].sum(axis=0) == pytest.approx(tiny_result.totals[i, :3, 1], rel=1e-12)
    # year 0 holds the start costs and the 4 first cycles, with the model's half-cycle weights
    pc = undiscounted_per_cycle(tiny_result)
    first = pc[(pc["strategy"] == "trt") & (pc["cycle"] <= 4)]["nhs"].sum() + 250
    assert pp[1, 0, 0] == pytest.approx(first, rel=1e-12)


def test_cohorts_sum_over_budget_years(tiny_result):
    bi = budget_impact_details(tiny_result)
    inc = bi.per_person[SECTORS].to_numpy()
    starters = [18.75, 20.0, 20.0]
    want = np.array([starters[0] * inc[0],
                     starters[0] * inc[1] + starters[1] * inc[0],
                     starters[0] * inc[2] + starters[1] * inc[1] + starters[2] * inc[0]])
    assert bi.by_sector[SECTORS].to_numpy() == pytest.approx(want, rel=1e-12)
    net = bi.frame.pivot(index="year", columns="payer", values="net_cost")
    assert net["justice"].to_numpy() == pytest.approx(want[:, 1], rel=1e-12)


def test_undiscounted_by_default_and_discounting_on_request(tiny_result):
    bi = budget_impact_details(tiny_result)
    assert bi.spec.discount_rate is None
    o = tiny_result.outcomes
    whole = bi.per_person[SECTORS].sum().to_numpy()
    und = np.array([o.loc["trt", f"{s}_undiscounted"] - o.loc["soc", f"{s}_undiscounted"] for s in SECTORS])
    disc = np.array([o.loc["trt", s] - o.loc["soc", s] for s in SECTORS])
    assert whole == pytest.approx(und, rel=1e-12)
    assert not np.allclose(whole, disc)
    d = budget_impact_details(run_base_case(tiny(discount=True)))
    factor = 1.035 ** -np.arange(3)
    assert d.by_sector[SECTORS].to_numpy() == pytest.approx(bi.by_sector[SECTORS].to_numpy() * factor[:, None],
                                                            rel=1e-12)
    d2 = budget_impact_details(tiny_result, spec=dataclasses.replace(bi.spec, discount_rate=0.05))
    assert d2.frame["net_cost"].to_numpy() == pytest.approx(
        bi.frame["net_cost"].to_numpy() * np.repeat(1.05 ** -np.arange(3), 3), rel=1e-12)


def test_gross_savings_and_cashable_split(tiny_result):
    bi = budget_impact_details(tiny_result)
    f = bi.frame
    assert (f["net_cost"] == f["gross_cost"] - f["savings"]).all()
    assert np.allclose(f["cashable_savings"] + f["non_cashable_savings"], f["savings"])
    for _, r in f.iterrows():
        d = bi.by_sector.loc[bi.by_sector["year"] == r["year"], {"health": "nhs", "justice": "prisons",
                                                                  "victims": "victims"}[r["payer"]]].item()
        assert r["gross_cost"] == pytest.approx(max(d, 0.0), abs=1e-9)
        assert r["savings"] == pytest.approx(max(-d, 0.0), abs=1e-9)
        share = {"health": 0.5, "justice": 0.25, "victims": 0.0}[r["payer"]]
        assert r["cashable_savings"] == pytest.approx(share * r["savings"], rel=1e-12, abs=1e-9)


def test_mid_year_entry_books_half_of_the_first_year(tiny_result):
    spec = dataclasses.replace(read_budget_spec(tiny()), entry="mid-year", years=1, uptake=(0.5,))
    bi = budget_impact_details(tiny_result, spec=spec)
    pc = undiscounted_per_cycle(tiny_result)
    first_half = {s: pc[(pc["strategy"] == s) & (pc["cycle"] <= 2)]["nhs"].sum() for s in ("soc", "trt")}
    want = 18.75 * (first_half["trt"] + 250 - first_half["soc"])
    assert bi.by_sector["nhs"].item() == pytest.approx(want, rel=1e-12)


def test_a_result_that_does_not_match_its_scenario_is_refused(tiny_result):
    raw = tiny_raw()
    raw["parameters"]["p_HS"]["value"] = 0.2
    stale = dataclasses.replace(tiny_result, scenario=scenario_from_dict(raw, "tiny.toml"))
    with pytest.raises(RuntimeError, match="does not reproduce"):
        undiscounted_per_cycle(stale)


# ----------------------------------------------------------------------------------------------- writer


def test_writer_writes_the_csv_and_is_a_no_op_without_a_section(tmp_path, tiny_result):
    budget_writer(tiny_result)(tmp_path)
    df = pd.read_csv(tmp_path / "budget_impact.csv")
    assert list(df.columns) == BUDGET_COLUMNS
    assert len(df) == 3 * 3
    assert (tmp_path / "budget_funnel.csv").is_file() and (tmp_path / "budget_impact.md").is_file()
    assert "test source" in (tmp_path / "budget_impact.md").read_text()
    raw = tiny_raw()
    del raw["budget_impact"]
    res = run_base_case(scenario_from_dict(raw, "tiny.toml"))
    empty = tmp_path / "none"
    empty.mkdir()
    budget_writer(res)(empty)
    assert list(empty.iterdir()) == []


# ----------------------------------------------------------------------------------------------- errors


def _problems(**over):
    with pytest.raises(ScenarioError) as exc:
        read_budget_spec(tiny(**over))
    return {p.key: p.message for p in exc.value.problems}, str(exc.value)


def test_missing_section_is_a_clear_error():
    raw = tiny_raw()
    del raw["budget_impact"]
    with pytest.raises(ScenarioError, match=r"budget_impact: the scenario has no \[budget_impact\] section"):
        read_budget_spec(scenario_from_dict(raw, "tiny.toml"))


@pytest.mark.parametrize("over, key, fragment", [
    ({"years": 2.5}, "budget_impact.years", "whole number"),
    ({"years": 5, "uptake": [1] * 5}, "budget_impact.years", "horizon is 3 years"),
    ({"share_eligible": 1.2}, "budget_impact.share_eligible", "between 0 and 1"),
    ({"sites": 0}, "budget_impact.sites", "positive"),
    ({"referred_per_site_year": "many"}, "budget_impact.referred_per_site_year", "must be a number"),
    ({"places_per_group": None}, "budget_impact.places_per_group", "missing"),
    ({"uptake": [0.5, 1.0]}, "budget_impact.uptake", "2 entries but years = 3"),
    ({"uptake": [0.5, 1.0, 1.5]}, "budget_impact.uptake", "between 0 and 1"),
    ({"discount": "yes"}, "budget_impact.discount", "must be false"),
    ({"cashable": {"nhs": 0.5, "prisons": 0.25}}, "budget_impact.cashable", "no share for sectors ['victims']"),
    ({"cashable": {"nhs": 0.5, "prisons": 0.25, "victims": 0, "prison": 0.1}}, "budget_impact.cashable.prison",
     "Did you mean 'prisons'"),
    ({"payers": {"health": ["nhs"], "justice": ["prisons"]}}, "budget_impact.payers", "['victims'] have no payer"),
    ({"strategy": "soc"}, "budget_impact.strategy", "other than the comparator"),
    ({"entry": "end"}, "budget_impact.entry", "must be one of"),
    ({"upatke": 1}, "budget_impact.upatke", "Did you mean 'uptake'"),
    ({"sources": {"years": "x"}}, "budget_impact.sources", "no source for"),
    ({"sources": {"years": ""}}, "budget_impact.sources.years", "non-empty string"),
])
def test_malformed_sections_name_the_key(over, key, fragment):
    problems, text = _problems(**over)
    assert key in problems, problems
    assert fragment in problems[key], problems[key]
    assert "Invalid scenario tiny.toml" in text


def test_every_problem_is_reported_at_once():
    problems, _ = _problems(years=0, share_assessed=-1, uptake="all")
    assert {"budget_impact.years", "budget_impact.share_assessed", "budget_impact.uptake"} <= set(problems)


def test_errors_name_the_file_a_malformed_section_came_from(tmp_path):
    raw = tiny_raw()
    raw["budget_impact"]["share_starting"] = 2
    path = write_scenario(tmp_path, raw, "bad.toml")
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)  # parsed at load (it was once parsed only when the writer was made, after the PSA)
    assert exc.value.problems[0].file == str(path)
    assert exc.value.problems[0].key == "budget_impact.share_starting"


# ----------------------------------------------------------------------------------------------- flagship


@pytest.fixture(scope="module")
def flagship_result():
    return run_base_case(load_scenario(SCENARIOS / "mbt_aspd_vs_pau.toml", ["settings.individuals=500"]))


def test_flagship_section_parses_with_sources(flagship_result):
    spec = read_budget_spec(flagship_result.scenario)
    assert spec.years == 5 and spec.sites == 13 and spec.discount_rate is None
    assert spec.strategy == "mbt" and spec.comparator == "pau"
    assert spec.starting_per_referral == pytest.approx(313 / 1946, rel=0.01)  # MOAM: 313 randomised of 1,946
    assert set(spec.cashable) == set(flagship_result.scenario.sectors)
    assert all("ASSUMPTION" in spec.sources[k] for k in ("share_assessed", "uptake", "cashable"))
    starters = referral_funnel(spec)["starters"].to_numpy()
    assert starters == pytest.approx([0.5 * 117.478, 0.8 * 117.478, 117.478, 117.478, 117.478], rel=1e-4)  # capacity 13 x 8 x 1.17 = 121.7 does not bind


def test_flagship_microsim_undiscounted_per_cycle_is_exact(flagship_result):
    r = flagship_result
    sectors = list(r.scenario.sectors)
    pp = per_person_by_year(r, 10, sectors)  # 10-year horizon
    for i, _ in enumerate(r.scenario.strategies):
        assert pp[i].sum(axis=0) == pytest.approx(r.totals[i, :len(sectors), 1], rel=1e-9)


def test_flagship_budget_impact(flagship_result):
    df = budget_impact(flagship_result)
    assert list(df["payer"].unique()) == ["NHS/PSS", "Justice", "Victims"]
    net = df.pivot(index="year", columns="payer", values="net_cost")
    assert (net["NHS/PSS"] > 0).all()  # MBT is delivered by the NHS
    assert (net["Justice"].iloc[1:] < 0).all()  # fewer offences, less custody
    assert (df.loc[df["payer"] == "Victims", "cashable_savings"] == 0).all()
