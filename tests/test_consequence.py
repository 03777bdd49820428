"""Cost-consequence table (heecon.report.consequence): per 100 participants, events, days in states, sector and
perspective costs with PSA intervals, cost per event averted and return on investment by payer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from heecon.report.consequence import consequence_writer, cost_consequence, roi_sentences
from heecon.scenario.sectors import payer_groups
from heecon.outcomes.base_case import run_base_case
from heecon.report.results_folder import write_results
from heecon import load_scenario, scenario_from_dict
from heecon.sensitivity.psa import run_psa

from .conftest import SCENARIOS
from .test_budget_impact import SECTORS, tiny_raw

CSV_COLUMNS = ["strategy", "item", "group", "unit", "value_per_100", "lower", "upper"]


@pytest.fixture(scope="module")
def tiny_run():
    sc = scenario_from_dict(tiny_raw(), "tiny.toml")
    return run_base_case(sc), run_psa(sc, 40)


@pytest.fixture(scope="module")
def flagship_run():
    sc = load_scenario(SCENARIOS / "mbt_aspd_vs_pau.toml", ["settings.individuals=500"])
    return run_base_case(sc), run_psa(sc, 8)


def _row(df, item, strategy=None):
    sel = df[df["item"] == item]
    if strategy is not None:
        sel = sel[sel["strategy"] == strategy]
    assert len(sel) == 1, (item, sel)
    return sel.iloc[0]


def test_sector_and_perspective_costs_per_100_with_psa_intervals(tiny_run):
    res, psa = tiny_run
    df = cost_consequence(res, psa)
    assert list(df.columns) == CSV_COLUMNS
    o = res.outcomes
    for s, label in (("nhs", "NHS"), ("prisons", "Prisons"), ("victims", "Victims (harm to victims)")):
        r = _row(df, f"Costs: {label}")
        assert r["value_per_100"] == pytest.approx(100 * (o.loc["trt", s] - o.loc["soc", s]), rel=1e-12)
        d = 100 * (psa.totals[:, 1, SECTORS.index(s), 0] - psa.totals[:, 0, SECTORS.index(s), 0])
        assert (r["lower"], r["upper"]) == pytest.approx(tuple(np.percentile(d, [2.5, 97.5])), rel=1e-12)
    assert _row(df, "Costs: Prisons")["group"] == "costs: Justice"
    r = _row(df, "Total costs: public perspective (nhs, prisons)")
    assert r["value_per_100"] == pytest.approx(100 * (o.loc["trt", "costs[public]"] - o.loc["soc", "costs[public]"]))
    d = 100 * (psa.costs("public")[:, 1] - psa.costs("public")[:, 0])
    assert r["lower"] == pytest.approx(np.percentile(d, 2.5))
    # the implicit 'all' perspective repeats 'societal' and is not shown twice
    assert not df["item"].str.startswith("Total costs: all").any()
    q = _row(df, "QALYs")
    assert q["value_per_100"] == pytest.approx(100 * (o.loc["trt", "qalys"] - o.loc["soc", "qalys"]))
    assert q["lower"] <= q["upper"]


def test_days_in_states_add_up_to_life_years(tiny_run):
    res, _ = tiny_run
    df = cost_consequence(res, per=1)
    days = df[df["group"] == "time"]
    assert set(days["item"]) == {"Days: Healthy", "Days: Sick"}  # not Dead
    o = res.outcomes
    d_ly = o.loc["trt", "lys_undiscounted"] - o.loc["soc", "lys_undiscounted"]
    assert days["value_per_100"].sum() == pytest.approx(d_ly * 365.25, rel=1e-9)
    # the trace by hand: half-cycle weights, 3-month cycles of 91.3125 days
    tr = res.trace
    w = np.ones(13)
    w[[0, -1]] = 0.5
    sick = {s: (tr.loc[tr["strategy"] == s, "S"].to_numpy() * w).sum() * 91.3125 for s in ("soc", "trt")}
    assert _row(df, "Days: Sick")["value_per_100"] == pytest.approx(sick["trt"] - sick["soc"], rel=1e-9)
    assert math.isnan(_row(df, "Days: Sick")["lower"])


def test_per_scales_everything_but_ratios(tiny_run):
    res, psa = tiny_run
    a, b = cost_consequence(res, psa, per=100), cost_consequence(res, psa, per=1)
    ratio = a["unit"].str.startswith("ratio") | a["group"].str.startswith("cost per")
    assert np.allclose(a.loc[~ratio, "value_per_100"], 100 * b.loc[~ratio, "value_per_100"])
    assert np.allclose(a.loc[ratio, "value_per_100"], b.loc[ratio, "value_per_100"])


def test_return_on_investment_rows_and_sentence(tiny_run):
    res, psa = tiny_run
    df = cost_consequence(res, psa)
    o = res.outcomes
    spend = 100 * (o.loc["trt", "nhs"] - o.loc["soc", "nhs"])
    saved = -100 * (o.loc["trt", "prisons"] - o.loc["soc", "prisons"])
    spared = -100 * (o.loc["trt", "victims"] - o.loc["soc", "victims"])
    assert spend > 0 and saved > 0 and spared > 0
    roi = df[df["group"] == "return on investment"].set_index("item")
    assert roi.loc["NHS/PSS spends", "value_per_100"] == pytest.approx(spend)
    assert roi.loc["Justice saves", "value_per_100"] == pytest.approx(saved)
    assert roi.loc["Victims are spared", "value_per_100"] == pytest.approx(spared)
    assert roi.loc["Justice saving per 1 GBP NHS/PSS spends", "value_per_100"] == pytest.approx(saved / spend)
    assert roi.loc["Justice + Victims saving per 1 GBP NHS/PSS spends", "value_per_100"] == pytest.approx(
        (saved + spared) / spend)
    text = roi_sentences(res, psa)["trt"]
    assert text.startswith("Per 100 participants, Treatment instead of Standard care: the NHS and social care spend £")
    assert "the criminal-justice system saves £" in text and "victims are spared £" in text
    assert "95% interval" in text and "40 PSA samples" in text


def test_payer_groups_follow_the_scenario_sectors():
    assert payer_groups(["nhs", "pss", "prisons", "personal"]) == {
        "NHS/PSS": ("nhs", "pss"), "Justice": ("prisons",), "Other": ("personal",)}


def test_flagship_events_custody_and_cost_per_offence(flagship_run):
    res, psa = flagship_run
    sc = res.scenario
    df = cost_consequence(res, psa)
    o = res.outcomes
    ev = df[df["group"] == "events"]
    for name, e in sc.microsim.events.items():
        r = _row(ev, e.label)
        assert r["value_per_100"] == pytest.approx(100 * (o.loc["mbt", f"events:{name}"] - o.loc["pau", f"events:{name}"]))
        assert math.isnan(r["lower"])  # the PSA does not record events
    averted = sum(o.loc["pau", f"events:{e}"] - o.loc["mbt", f"events:{e}"] for e in sc.settings.averted_events)
    assert _row(df, "Offences averted (total of 3 event types)")["value_per_100"] == pytest.approx(100 * averted)
    assert averted > 0
    cust = _row(df, "Days: In custody, serving a sentence for violence with injury")
    tr = res.trace
    w = np.ones(41)
    w[[0, -1]] = 0.5
    days = {s: (tr.loc[tr["strategy"] == s, "Custody"].to_numpy() * w).sum() * 91.3125 for s in ("pau", "mbt")}
    assert cust["value_per_100"] == pytest.approx(100 * (days["mbt"] - days["pau"]), rel=1e-9)
    assert cust["value_per_100"] < 0
    for p in ("nhs_pss", "public_sector", "societal"):
        r = _row(df, f"Cost per offence averted: {p} perspective")
        assert r["value_per_100"] == pytest.approx((o.loc["mbt", f"costs[{p}]"] - o.loc["pau", f"costs[{p}]"]) / averted)
    # intervals from the PSA where it has the quantity
    sec = df[df["group"].str.startswith("costs")]
    assert sec["lower"].notna().all() and (sec["lower"] <= sec["upper"]).all()


def test_without_a_psa_there_are_no_intervals(flagship_run):
    res, _ = flagship_run
    df = cost_consequence(res)
    assert df["lower"].isna().all() and df["upper"].isna().all()
    assert "95% interval" not in df.attrs["sentences"]["mbt"]


def test_several_strategies_each_get_a_block():
    raw = tiny_raw()
    raw["strategies"]["trt2"] = {"label": "Cheaper treatment",
                                 "modifiers": [{"transitions": ["H -> S"], "rr": 0.9}]}
    raw.get("budget_impact", {})["strategy"] = "trt"  # a budget section names the strategy adopted (checked at load)
    res = run_base_case(scenario_from_dict(raw, "tiny.toml"))
    df = cost_consequence(res)
    assert list(pd.unique(df["strategy"])) == ["trt", "trt2"]
    assert set(df.attrs["sentences"]) == {"trt", "trt2"}


def test_writer_writes_csv_and_markdown(tmp_path, flagship_run):
    res, psa = flagship_run
    out = write_results(res, tmp_path / "res", psa, writers=[consequence_writer(res, psa)])
    df = pd.read_csv(out / "cost_consequence.csv")
    assert list(df.columns) == CSV_COLUMNS
    md = (out / "cost_consequence.md").read_text()
    assert md.startswith("# Cost-consequence analysis")
    assert "| Days: In custody, serving a sentence for violence with injury |" in md and "8 PSA samples" in md
    from heecon.report.html import build_report

    html = build_report(out, figures=False).read_text()
    assert "Cost-consequence analysis" in html
