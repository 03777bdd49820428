"""The self-contained HTML report, the CHEERS 2022 checklist and the ``report`` command."""

from __future__ import annotations

import base64
import json
import re
import shutil
from types import SimpleNamespace

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from heecon import __version__
from heecon.cli.report import report as report_command
from heecon.report.cheers import ANALYST, CHEERS_2022, cheers_checklist
from heecon.report.html import _money, build_report, headline
from tests.test_figures import make_results

# CHEERS 2022 (Husereau et al., BMJ 2022;376:e067975), Table 1: item number -> topic.
CHEERS_TOPICS = {
    1: "Title", 2: "Abstract", 3: "Background and objectives", 4: "Health economic analysis plan",
    5: "Study population", 6: "Setting and location", 7: "Comparators", 8: "Perspective", 9: "Time horizon",
    10: "Discount rate", 11: "Selection of outcomes", 12: "Measurement of outcomes", 13: "Valuation of outcomes",
    14: "Measurement and valuation of resources and costs", 15: "Currency, price date, and conversion",
    16: "Rationale and description of model", 17: "Analytics and assumptions", 18: "Characterising heterogeneity",
    19: "Characterising distributional effects", 20: "Characterising uncertainty",
    21: "Approach to engagement with patients and others affected by the study", 22: "Study parameters",
    23: "Summary of main results", 24: "Effect of uncertainty",
    25: "Effect of engagement with patients and others affected by the study",
    26: "Study findings, limitations, generalisability, and current knowledge", 27: "Source of funding",
    28: "Conflicts of interest",
}


@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    r = make_results(tmp_path_factory.mktemp("html") / "fmh6", n_psa=200, dsa=True)
    r.report = build_report(r.dir)
    r.html = r.report.read_text(encoding="utf-8")
    r.summary = json.loads((r.dir / "summary.json").read_text())
    return r


def _text(html: str) -> str:
    """The page's text, roughly: tags dropped, entities of interest decoded, whitespace collapsed."""
    t = re.sub(r"<style.*?</style>", " ", html, flags=re.S)
    t = re.sub(r"<[^>]+>", " ", t)
    t = t.replace("&#x27;", "'").replace("&amp;", "&").replace("&quot;", '"').replace("&nbsp;", " ")
    return " ".join(t.split())


# ------------------------------------------------------------------------------------------ the file


def test_report_is_one_self_contained_file(res):
    html = res.html
    assert res.report == res.dir / "report.html"
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html and "url(" not in html
    for attr, value in re.findall(r'\b(src|href)\s*=\s*["\']([^"\']*)["\']', html, flags=re.I):
        assert not value.lower().startswith(("http://", "https://", "//")), (attr, value[:80])
        if attr.lower() == "src":
            assert value.startswith("data:image/png;base64,")
        else:
            assert value.startswith("#")
    assert "Content-Security-Policy" in html and "default-src 'none'" in html


def test_every_figure_is_embedded_as_a_png(res):
    srcs = re.findall(r'<img src="data:image/png;base64,([^"]+)"', res.html)
    assert len(srcs) == 7
    for s in srcs:
        assert base64.b64decode(s)[:8] == b"\x89PNG\r\n\x1a\n"
    ids = re.findall(r'<figure id="(fig-[^"]+)"', res.html)
    assert ids == ["fig-state_occupancy", "fig-costs_by_sector", "fig-ce_plane", "fig-ceac", "fig-evpi",
                   "fig-tornado", "fig-two_way"]
    assert (res.dir / "figures" / "ceac.png").is_file() and (res.dir / "figures" / "ceac.svg").is_file()


def test_report_has_every_section(res):
    for anchor in ("headline", "results", "model", "costs", "uncertainty", "parameters", "sensitivity",
                   "conventions", "provenance", "cheers"):
        assert f'id="{anchor}"' in res.html, anchor
    assert 'id="cost-consequence"' not in res.html and 'id="budget-impact"' not in res.html


# ----------------------------------------------------------------------------------------- headline


def test_headline_numbers(res):
    s = res.summary
    h = headline(s)
    p = s["psa"]["prob_cost_effective"]["20000"]["usual"]
    icer = next(r["icer"] for r in s["icers"] if r["strategy"] == "intervention")
    assert h.strategy == "usual" and h.versus == "intervention" and h.icer_of == "intervention"
    assert h.probability == pytest.approx(p) and h.icer == pytest.approx(icer)
    assert h.text == (f"At £20,000 per QALY, Usual care is cost-effective vs Intervention with probability "
                      f"{p:.2f} (200 PSA samples); the ICER of Intervention vs Usual care is {_money(icer, 'GBP')} "
                      "per QALY gained, above the threshold.")
    assert _money(icer, "GBP") == "£90,757"
    assert h.text in _text(res.html)


def _summary(wtp, recs, psa=None):
    return {"settings": {"currency": "GBP", "wtp": wtp},
            "strategies": [{"name": r[0], "label": r[0].upper()} for r in recs],
            "icers": [{"strategy": n, "cost": c, "effect": e, "status": st, "icer": i} for n, c, e, st, i in recs],
            **({"psa": psa} if psa else {})}


def test_headline_when_the_dearer_strategy_is_cost_effective():
    recs = [("a", 1000.0, 1.0, "ref", None), ("b", 3000.0, 1.1, "ND", 20000.0), ("c", 9000.0, 1.15, "ND", 120000.0),
            ("d", 5000.0, 1.0, "D", None)]
    psa = {"n_samples": 1000, "prob_cost_effective": {"30000": {"a": 0.2, "b": 0.7, "c": 0.1, "d": 0.0}}}
    h = headline(_summary([30000], recs, psa))
    assert (h.strategy, h.versus, h.icer) == ("b", "a", 20000.0)
    assert h.text == ("At £30,000 per QALY, B is cost-effective vs A with probability 0.70 (1,000 PSA samples); "
                      "ICER £20,000 per QALY gained.")


def test_headline_without_psa_and_with_a_dominant_strategy():
    recs = [("a", 1000.0, 1.2, "ref", None), ("b", 3000.0, 1.1, "D", None)]
    h = headline(_summary([20000], recs))
    assert h.probability is None and h.versus is None
    assert h.text == "At £20,000 per QALY, A is cost-effective; every alternative (B) is dominated."


# ------------------------------------------------------------------------------------------- tables


def test_incremental_table_per_perspective(res):
    html = res.html
    assert html.index('id="icers-all"') < html.index('id="icers-health_only"')  # headline perspective first
    part = html[html.index('id="icers-health_only"'):]
    part = part[:part.index("</table>")]
    # health sector only: the intervention saves health costs and gains QALYs, so usual care is dominated
    assert "dominated" in part and "Sectors counted: health." in part
    assert "£70,785" in part
    all_part = html[html.index('id="icers-all"'):]
    all_part = _text(all_part[:all_part.index("</table>")])
    assert "£5,826" in all_part and "£90,757" in all_part and "0.0642" in all_part


def test_psa_and_cost_tables(res):
    t = _text(res.html)
    psa = res.summary["psa"]
    iv = next(r for r in psa["strategies"] if r["strategy"] == "intervention")
    m = iv["inc_costs"]
    assert f"{_money(m['mean'], 'GBP')} [{_money(m['lower'], 'GBP')}, {_money(m['upper'], 'GBP')}]" in t
    assert _money(psa["evpi_per_person"]["20000"], "GBP") in t
    assert "Sampled parameters (45)" in t
    assert "£7,831" in t  # intervention sector cost of the intervention


def test_conventions_and_provenance(res):
    t = _text(res.html)
    s = res.summary
    for needle in ("Within-cycle method beginning", "Cycle length 3 months", "Time horizon 10 years",
                   "Discount rate, costs 3.5% a year", "Discount rate, effects 3.5% a year", "Currency GBP",
                   "Price year 2023", "Headline perspective all", "Perspective 'health_only' counts health",
                   "Comparator Usual care"):
        assert needle in t, needle
    assert s["scenario_sha256"] in t
    assert f"heecon version (run) {__version__}" in t
    assert f"Seed {s['settings']['seed']}" in t
    assert s["scenario"]["path"] in t
    assert re.search(r"Results written \d{4}-\d\d-\d\dT", t)


# ----------------------------------------------------------------------------------------------- CHEERS


def test_cheers_2022_has_the_28_published_items():
    assert [i.number for i in CHEERS_2022] == list(range(1, 29))
    assert {i.number: i.topic for i in CHEERS_2022} == CHEERS_TOPICS
    sections = {i.number: i.section for i in CHEERS_2022}
    assert sections[1] == "Title" and sections[2] == "Abstract" and sections[3] == "Introduction"
    assert all(sections[n] == "Methods" for n in range(4, 22))
    assert all(sections[n] == "Results" for n in range(22, 26))
    assert sections[26] == "Discussion" and sections[27] == sections[28] == "Other relevant information"


def test_cheers_checklist_in_the_report(res):
    html = res.html
    part = html[html.index('id="cheers"'):]
    rows = re.findall(r"<tr class=\"(reported|partly|analyst)\">(.*?)</tr>", part, flags=re.S)
    assert len(rows) == 28
    for (status, row), item in zip(rows, CHEERS_2022):
        assert f">{item.number}</td>" in row and item.topic.replace("'", "&#x27;") in row
        if status == "analyst":
            assert ANALYST in row
        for anchor in re.findall(r'href="#([^"]+)"', row):
            assert f'id="{anchor}"' in html, (item.number, anchor)
    by_item = dict(zip(range(1, 29), (s for s, _ in rows)))
    for n in (4, 21, 25, 26, 27, 28):
        assert by_item[n] == "analyst", n
    for n in (11, 20, 23):
        assert by_item[n] == "reported", n
    assert "BMJ 2022;376:e067975" in html


def test_cheers_without_psa_or_price_year_says_what_is_missing():
    summary = {"settings": {"currency": "GBP", "price_year": None, "perspective": "all", "comparator": "a"},
               "strategies": [{"name": "a"}, {"name": "b"}]}
    entries = {e.item.number: e for e in cheers_checklist(summary, {"results", "conventions"})}
    assert entries[20].status == "analyst" and ANALYST in entries[20].where
    assert "price year is not set" in entries[15].where
    assert entries[24].status == "analyst"
    assert all(e.status in ("reported", "partly", "analyst") for e in entries.values())


# --------------------------------------------------------------------------------- optional, rebuild


def test_optional_cost_consequence_and_budget_impact_tables(res, tmp_path):
    d = tmp_path / "with_optional"
    shutil.copytree(res.dir, d)
    pd.DataFrame({"outcome": ["Arrests", "Admissions"], "usual": [1.25, 0.5], "intervention": [1.0, 0.45]}) \
        .to_csv(d / "cost_consequence.csv", index=False)
    pd.DataFrame({"year": [1, 1, 2, 2], "payer": ["NHS", "Police"] * 2,
                  "net_cost": [125000.0, -20000.0, 80000.0, -25000.0]}).to_csv(d / "budget_impact.csv", index=False)
    html = build_report(d).read_text()
    t = _text(html)
    assert 'id="cost-consequence"' in html and 'id="budget-impact"' in html
    assert "Arrests" in t and "1.25" in t
    assert "£125,000" in t and "-£25,000" in t
    assert 'id="fig-budget_impact"' in html
    assert (d / "figures" / "budget_impact.png").is_file()


def test_rebuilding_the_report_runs_no_model(res, tmp_path, monkeypatch):
    import heecon.engine.evaluate
    import heecon.engine.cohort
    import heecon.outcomes.base_case
    import heecon.sensitivity.psa

    def boom(*a, **k):
        raise AssertionError("the report must not run the model")

    for mod, name in ((heecon.outcomes.base_case, "run_base_case"), (heecon.sensitivity.psa, "run_psa"),
                      (heecon.engine.evaluate, "evaluate_totals"), (heecon.engine.cohort, "run_cohort")):
        monkeypatch.setattr(mod, name, boom)
    d = tmp_path / "copy"
    shutil.copytree(res.dir, d)
    shutil.rmtree(d / "figures")
    (d / "report.html").unlink()
    out = build_report(d)
    assert out.is_file() and (d / "figures" / "ce_plane.png").is_file()


def test_report_of_a_base_case_without_psa(tmp_path):
    r = make_results(tmp_path / "base", n_psa=0, dsa=False)
    html = build_report(r.dir).read_text()
    t = _text(html)
    assert "No probabilistic sensitivity analysis in this results folder" in t
    assert "with probability" not in headline(json.loads((r.dir / "summary.json").read_text())).text
    assert len(re.findall(r"<img ", html)) == 2
    assert 'id="sensitivity"' not in html


# ------------------------------------------------------------------------------------------------ CLI


@pytest.fixture
def cli():
    app = typer.Typer()
    app.command()(report_command)
    return app


def test_report_command_writes_the_report(cli, res, tmp_path):
    d = tmp_path / "cli"
    shutil.copytree(res.dir, d)
    (d / "report.html").unlink()
    r = CliRunner().invoke(cli, [str(d)])
    assert r.exit_code == 0, r.output
    assert str(d / "report.html") in r.output
    assert (d / "report.html").is_file()


@pytest.mark.parametrize("setup, message", [
    (lambda p: None, "does not exist"),
    (lambda p: p.mkdir(), "has no summary.json"),
    (lambda p: (p.mkdir(), (p / "summary.json").write_text("{oops")), "could not be read as JSON"),
    (lambda p: p.write_text("x"), "is not a folder"),
])
def test_report_command_rejects_a_bad_folder_cleanly(cli, tmp_path, setup, message):
    p = tmp_path / "bad"
    setup(p)
    r = CliRunner().invoke(cli, [str(p)])
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
