"""The report's first screen and the default run's analyses: the answer per payer (money, measures, QALYs, whether
it pays for itself and how sure that is), then the scenario analysis, one-way sensitivity per perspective,
break-even values, subgroups with the distributional note, the value of information over the decision population,
the cost-benefit view, the parameter table with every source, and the study's own account (objective, choices,
engagement, limitations, funding) that CHEERS 2022 asks for."""

from __future__ import annotations

from typing import Any

import pandas as pd

from heecon.cea.headline import finite_or_none
from heecon.report.answer import perspective_label, perspective_short
from heecon.report.html_parts import _esc, _Figs, _money, _sec, _table
from heecon.report.results_data import ResultsData

__all__ = ["REPORT_TEXT_TITLES", "answer_section", "study_sections"]

#: The [report] texts the report shows, in order, with their headings (and CHEERS item).
REPORT_TEXT_TITLES = {
    "objective": "Objective and decision problem (CHEERS 3)",
    "analysis_type": "Type of analysis",
    "analysis_plan": "Health economic analysis plan (CHEERS 4)",
    "population": "Population (CHEERS 5)",
    "setting": "Setting and location (CHEERS 6)",
    "comparators": "Comparators (CHEERS 7)",
    "perspective": "Perspective (CHEERS 8)",
    "time_horizon": "Time horizon (CHEERS 9)",
    "discount_rate": "Discount rate (CHEERS 10)",
    "outcomes": "Outcomes (CHEERS 11-12)",
    "valuation": "Valuation of outcomes (CHEERS 13)",
    "resources": "Resources and costs (CHEERS 14)",
    "model_rationale": "Rationale and description of the model (CHEERS 16)",
    "analytics": "Analytics and assumptions (CHEERS 17)",
    "heterogeneity": "Heterogeneity (CHEERS 18)",
    "distributional": "Distributional effects (CHEERS 19)",
    "engagement": "Engagement with patients and others affected (CHEERS 21, 25)",
    "engagement_effect": "Effect of engagement (CHEERS 25)",
    "limitations": "Limitations, generalisability and current knowledge (CHEERS 26)",
    "funding": "Source of funding (CHEERS 27)",
    "conflicts": "Conflicts of interest (CHEERS 28)",
}


def _ci(ci: Any, cur: str | None) -> str:
    if not ci:
        return ""
    return f"{_money(ci[0], cur)} to {_money(ci[1], cur)}"


def answer_section(data: ResultsData, figs: _Figs, cur: str | None) -> tuple[str, str, str] | None:
    """The first screen: the answer in sentences, the money per payer, the measures and the probability that it
    pays for itself in each perspective, and the events averted over time."""
    ans = data.summary.get("answer")
    if not ans or not ans.get("strategies"):
        return None
    body = ['<div class="answer">' + "".join(f"<p>{_esc(t)}</p>" for t in data.summary.get("answer_text", []))
            + "</div>"]
    for s, e in ans["strategies"].items():
        comp = ans.get("comparator_label") or ans["comparator"]
        rows = [[f"{p} ({'pays' if dc > 0 else 'saves'})", _money(dc, cur), _ci((e.get("payers_interval") or {}).get(p), cur)]
                for p, dc in e["payers"].items()]
        for m in e.get("measures", []):
            rows.append([f"{m['label']} ({m['unit']}, undiscounted)", f"{m['difference']:+.3g}", ""])
        if e.get("averted_per_100") is not None:
            rows.append(["Offences averted per 100 men", f"{e['averted_per_100']:.0f}", ""])
        qi = e.get("inc_qalys_interval")
        rows.append(["QALYs", f"{e['inc_qalys']:+.4f}", f"{qi[0]:+.4f} to {qi[1]:+.4f}" if qi else ""])
        body.append(_table(["Per man, against " + comp, "Difference", "95% interval (PSA)"], rows, cls="payers",
                           caption=f"{e['label']}: who pays and what changes (discounted money; a negative "
                                   "difference is a saving)"))
        prow = []
        for p, r in e["perspectives"].items():
            pr = r.get("prob_pays_for_itself")
            prow.append([perspective_label(p, ans.get("labels")), _money(r["inc_costs"], cur), _ci(r.get("inc_costs_interval"), cur),
                         "—" if pr is None else f"{pr:.0%}", r["analysis"]])
        body.append(_table(["Perspective", "Net cost per man", "95% interval", "P(pays for itself)", "Analysis"],
                           prow, text_cols=[4], caption="Does it pay for itself? (probability: share of PSA samples "
                                                        "with a net cost of zero or less)"))
    body.append(figs.get("events_averted"))
    return ("answer", "The answer", _sec("answer", "The answer", "".join(body)))


def _by_perspective(df: pd.DataFrame, key: str, cur: str | None, caption: str) -> str:
    """A row per variant (``key``) and a column pair (net cost, NMB at the first WTP) per perspective."""
    persp = list(dict.fromkeys(df["perspective"]))
    nmb = next((c for c in df.columns if c.startswith("inc_nmb_")), None)
    heads = ["", "ΔQALYs", "Averted per man"] + [f"Net cost, {perspective_short(p)}" for p in persp]
    rows = []
    for k, g in df.groupby(key, sort=False):
        g = g.set_index("perspective")
        first = g.iloc[0]
        rows.append([str(first.get("label") or k), f"{first['inc_qalys']:+.4f}",
                     "" if finite_or_none(first.get("averted_per_person")) is None else f"{first['averted_per_person']:.2f}"]
                    + [_money(g.loc[p, "inc_costs"], cur) if p in g.index else "" for p in persp])
    note = f" ({nmb.replace('inc_nmb_', 'net monetary benefit at ')} in the CSV)" if nmb else ""
    return _table(heads, rows, caption=caption + note)


def _scenarios(data: ResultsData, cur: str | None) -> str:
    df = data.suite.get("scenario_analysis.csv")
    if df is None or df.empty:
        return ""
    return _by_perspective(df, "scenario", cur, "Every variant and structural alternative against the comparator, "
                                                "per man (scenario_analysis.csv)")


def _dsa(data: ResultsData, figs: _Figs, cur: str | None) -> str:
    df = data.suite.get("dsa.csv")
    if df is None or df.empty:
        return ""
    out = []
    for p, g in df.groupby("perspective", sort=False):
        out.append(f"<h3>{_esc(perspective_label(p))}</h3>" + figs.get(f"tornado_{p}"))
        g = g.assign(cost_swing=(g["inc_costs_high"] - g["inc_costs_low"]).abs()).sort_values("cost_swing",
                                                                                               ascending=False)
        rows = [[r.parameter, f"{r.low:.4g} to {r.high:.4g}", _money(r.inc_costs_low, cur),
                 _money(r.inc_costs_high, cur), _money(r.inc_nmb_low, cur), _money(r.inc_nmb_high, cur)]
                for r in g.head(10).itertuples()]
        out.append(_table(["Parameter", "Range", "Net cost at low", "at high", "Net benefit at low", "at high"], rows,
                          caption="The ten parameters that move the net cost most (dsa.csv has all)"))
    return "".join(out)


def _thresholds(data: ResultsData) -> str:
    df = data.suite.get("thresholds.csv")
    if df is None or df.empty:
        return ""
    rows = [[str(r.label), perspective_short(str(r.perspective)),
             "none in range" if finite_or_none(r.threshold) is None else f"{r.threshold:,.4g}", f"{r.base:,.4g}", str(r.message)]
            for r in df.itertuples()]
    return _table(["Break-even value", "Perspective", "Threshold", "Base case", "What it means"], rows,
                  text_cols=[4], caption="Threshold analysis (thresholds.csv)")


def _subgroups(data: ResultsData, cur: str | None) -> str:
    df = data.suite.get("subgroups.csv")
    if df is None or df.empty:
        return ""
    texts = data.summary.get("report_texts") or {}
    note = "".join(f"<p>{_esc(texts[k])}</p>" for k in ("heterogeneity", "distributional") if texts.get(k))
    return _by_perspective(df, "subgroup", cur, "Results by subgroup, per man (subgroups.csv)") + note


def _evppi(data: ResultsData, cur: str | None) -> str:
    df = data.suite.get("evppi.csv")
    if df is None or df.empty:
        return ""
    rows = [[str(r.group), str(r.parameters).replace(",", ", "), f"{r.wtp:,.0f}", _money(r.evppi, cur), _money(r.evpi, cur),
             "" if finite_or_none(getattr(r, "evppi_population", None)) is None else _money(r.evppi_population, cur)]
            for r in df.itertuples()]
    return _table(["Group", "Parameters", "WTP", "EVPPI per man", "EVPI per man", "EVPPI, decision population"], rows,
                  text_cols=[1], caption="Value of information by group of parameters (evppi.csv); the decision "
                                         "population and its source are the scenario's [evppi] section")


def _cba(data: ResultsData, cur: str | None) -> str:
    df = data.suite.get("cba.csv")
    if df is None or df.empty:
        return ""
    rows = [[perspective_short(str(r.perspective)), _money(r.value_per_qaly, cur), _money(r.pv_benefits, cur),
             _money(r.pv_costs, cur), _money(r.npsv, cur), f"{r.bcr:.2f}",
             "" if finite_or_none(getattr(r, "prob_npsv_positive", None)) is None else f"{r.prob_npsv_positive:.0%}"]
            for r in df.itertuples()]
    return _table(["Perspective", "Value of a QALY", "PV benefits", "PV costs", "NPSV", "BCR", "P(NPSV > 0)"], rows,
                  caption="Cost-benefit analysis, Green Book style, per man (cba.csv)")


def _evidence(data: ResultsData) -> str:
    df = data.suite.get("evidence.csv")
    if df is None or df.empty:
        return ""
    n_a = int(df["assumption"].astype(bool).sum()) if "assumption" in df.columns else 0
    rows = [[str(r.parameter), "" if pd.isna(r.value) else str(r.value), "" if pd.isna(r.distribution) else str(r.distribution),
             "A" if bool(r.assumption) else "", "" if pd.isna(r.source) else str(r.source)] for r in df.itertuples()]
    return (f"<p>{len(df)} parameters, {n_a} marked as assumptions (A), each varied in the scenario analysis or the "
            "PSA. From evidence.csv (generated from the scenario file).</p>"
            + _table(["Parameter", "Value", "PSA distribution", "A", "Source"], rows, text_cols=[1, 2, 4],
                     cls="evidence"))


def study_sections(data: ResultsData, figs: _Figs, cur: str | None) -> list[tuple[str, str, str]]:
    """(anchor, title, html) of the default run's analyses, the parameter table and the study texts present."""
    out: list[tuple[str, str, str]] = []
    for anchor, title, body in (("scenario-analysis", "Scenario analysis", _scenarios(data, cur)),
                                ("one-way", "One-way sensitivity", _dsa(data, figs, cur)),
                                ("thresholds", "Break-even values", _thresholds(data)),
                                ("subgroups", "For whom: subgroups", _subgroups(data, cur)),
                                ("voi", "Value of information", _evppi(data, cur)),
                                ("cba", "Cost-benefit view", _cba(data, cur)),
                                ("evidence", "Parameters and sources", _evidence(data))):
        if body:
            out.append((anchor, title, _sec(anchor, title, body)))
    texts = data.summary.get("report_texts") or {}
    if texts:
        body = "".join(f"<h3>{_esc(t)}</h3><p>{_esc(texts[k])}</p>" for k, t in REPORT_TEXT_TITLES.items() if texts.get(k))
        out.append(("study", "About the study", _sec("study", "About the study", body)))
    return out
