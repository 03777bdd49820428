"""A self-contained HTML report of a results folder.

:func:`build_report` reads the files of a results folder (it runs no model), draws the figures the data
allows into ``figures/`` and writes ``report.html``: one file with the figures embedded as base64 PNG, the
CSS inline, and no script, font, stylesheet or image fetched from anywhere (a Content-Security-Policy meta
tag forbids it). Sections: headline, base-case results and incremental tables per perspective, model
structure, costs by sector, uncertainty (PSA), sensitivity (DSA), optional cost-consequence and budget
impact tables, conventions, provenance, and the CHEERS 2022 checklist.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from heecon import __version__
from heecon.execution.files import output_entries, write_atomic
from heecon.report.answer import perspective_label, perspective_short, sector_label
from heecon.report.cheers import CHEERS_REFERENCE, cheers_checklist
from heecon.report.figures import figure_builders, save_figure
from heecon.report.html_parts import (
    final_path,
    _esc,
    _finite,
    _money,
    _q,
    _prob,
    _wtp_key,
    _generic,
    _table,
    _frame_table,
    _Figs,
    _sec,
)
from heecon.report.results_data import ResultsData, ResultsFolderError, load_results  # noqa: F401  (ResultsFolderError: raised by load_results; build_report documents it)

__all__ = ["Headline", "build_report", "write_report", "headline", "render_report"]

_STATUS = {"ref": "reference (cheapest on the frontier)", "ND": "on the frontier", "D": "dominated",
           "ED": "extendedly dominated"}


# --------------------------------------------------------------------------------------------- headline


@dataclass(frozen=True)
class Headline:
    """The report's one-sentence result, with the numbers in it."""

    text: str
    wtp: float
    strategy: str
    versus: str | None
    probability: float | None
    icer: float | None
    icer_of: str | None


def headline(summary: Mapping[str, Any]) -> Headline:
    """The one-sentence result at the first WTP of the settings, in the headline perspective.

    The strategy with the highest base-case net monetary benefit is cost-effective. It is compared with the
    strategy next to it on the efficient frontier: the one before it (its ICER is then the strategy's own) or,
    when it is the cheapest on the frontier, the next one (whose ICER exceeds the WTP). The probability is the
    PSA's probability that the strategy has the highest net benefit (CEAC), when a PSA was run.
    """
    st = summary.get("settings", {})
    cur = st.get("currency")
    wtps = st.get("wtp") or [20000.0]
    w = float(wtps[0])
    labels = {s["name"]: s.get("label") or s["name"] for s in summary.get("strategies", [])}
    recs = [r for r in summary.get("icers", []) if _finite(r.get("cost")) and _finite(r.get("effect"))]
    if not recs:
        recs = [{"strategy": s["name"], "cost": s["costs"], "effect": s["qalys"], "status": None, "icer": None}
                for s in summary.get("strategies", [])]
    nmb = {r["strategy"]: w * float(r["effect"]) - float(r["cost"]) for r in recs}
    best = max(recs, key=lambda r: nmb[r["strategy"]])["strategy"]
    frontier = sorted([r for r in recs if r.get("status") in ("ref", "ND")], key=lambda r: float(r["cost"]))
    names = [r["strategy"] for r in frontier]
    psa = summary.get("psa") or {}
    prob = None
    pce = psa.get("prob_cost_effective", {}).get(_wtp_key(w))
    if isinstance(pce, dict) and best in pce:
        prob = float(pce[best])
    n = psa.get("n_samples")
    wt = f"{_money(w, cur)} per QALY"
    L = labels.get
    p_txt = f" with probability {_prob(prob)} ({n:,} PSA samples)" if prob is not None and n else ""
    versus = icer = icer_of = None
    if best in names and names.index(best) > 0:
        i = names.index(best)
        versus = names[i - 1]
        icer, icer_of = frontier[i].get("icer"), best
        text = (f"At {wt}, {L(best, best)} is cost-effective vs {L(versus, versus)}{p_txt}; "
                f"ICER {_money(icer, cur)} per QALY gained.")
    elif best in names and names.index(best) + 1 < len(names):
        i = names.index(best)
        versus = names[i + 1]
        icer, icer_of = frontier[i + 1].get("icer"), versus
        text = (f"At {wt}, {L(best, best)} is cost-effective vs {L(versus, versus)}{p_txt}; "
                f"the ICER of {L(versus, versus)} vs {L(best, best)} is {_money(icer, cur)} per QALY gained, "
                f"above the threshold.")
    else:
        others = [L(r["strategy"], r["strategy"]) for r in recs if r["strategy"] != best]
        what = f"every alternative ({', '.join(others)}) is dominated" if others else "it is the only strategy"
        text = f"At {wt}, {L(best, best)} is cost-effective{p_txt}; {what}."
    return Headline(text, w, best, versus, prob, float(icer) if _finite(icer) else None, icer_of)


def _results_section(d: ResultsData, cur: str | None) -> str:
    sm = d.summary
    st = d.settings
    sectors = list(st.get("sectors") or [])
    strats = sm["strategies"]
    used = [s for s in sectors if any(abs(x.get("costs_by_sector", {}).get(s, 0.0)) > 0 for x in strats)]
    # sectors as rows, strategies as columns: any number of sectors fits the page
    head = ["", *[x.get("label") or x["name"] for x in strats]]
    rows = [[f"Total costs ({perspective_short(st.get('perspective', 'all'))})", *[_money(x.get("costs"), cur) for x in strats]]]
    lab = (sm.get("answer") or {}).get("labels") or {}
    rows += [[f"  {sector_label(s, lab)}", *[_money(x.get("costs_by_sector", {}).get(s), cur) for x in strats]] for s in used]
    rows += [["QALYs", *[_q(x.get("qalys")) for x in strats]], ["Life years", *[_q(x.get("lys")) for x in strats]]]
    parts = [_table(head, rows, caption="Per person, discounted; total costs in the "
                                        f"{perspective_label(st.get('perspective', 'all'))} perspective")]
    labels = d.labels
    by_p = sm.get("icers_by_perspective") or {st.get("perspective", "all"): sm.get("icers", [])}
    persp = st.get("perspectives") or {}
    order = sorted(by_p, key=lambda p: p != st.get("perspective"))  # the headline perspective first
    for p in order:
        recs = by_p[p]
        secs = ", ".join(sector_label(x, lab) for x in persp.get(p, [])) or "—"
        mark = " (headline)" if p == st.get("perspective") else ""
        rows = []
        for r in recs:
            rows.append([f"{labels.get(r['strategy'], r['strategy'])} ({r['strategy']})", _money(r.get("cost"), cur),
                         _q(r.get("effect")), _money(r.get("inc_cost"), cur) if _finite(r.get("inc_cost")) else "",
                         _q(r.get("inc_effect")) if _finite(r.get("inc_effect")) else "",
                         _money(r.get("icer"), cur) if _finite(r.get("icer")) else "",
                         _STATUS.get(r.get("status"), r.get("status") or "")])
        parts.append(f'<h3 id="icers-{_esc(p)}">Incremental analysis: {_esc(perspective_label(p, lab))} perspective'
                     f'{_esc(mark)}</h3>')
        parts.append(_table(["Strategy", "Costs", "QALYs", "Inc. costs", "Inc. QALYs", "ICER per QALY gained",
                             "Status"], rows, caption=f"Sectors counted: {secs}. Increments are against the next "
                             "cheaper strategy on the efficient frontier (dominated strategies are left out).",
                             cls="icers", text_cols=(-1,)))
    nb = sm.get("net_benefit") or []
    if nb:
        wtps = sorted({float(r["wtp"]) for r in nb})
        rows = []
        for s in d.strategies:
            row = [labels.get(s, s)]
            for w in wtps:
                r = next((r for r in nb if r["strategy"] == s and float(r["wtp"]) == w), None)
                row += [_money(r["nmb"], cur) if r else "—", _q(r["nhb"], 3) if r else "—"]
            rows.append(row)
        head = ["Strategy"] + [h for w in wtps
                               for h in (f"NMB at {_money(w, cur)}/QALY", f"NHB (QALYs) at {_money(w, cur)}")]
        parts.append("<h3>Net benefit</h3>")
        parts.append(_table(head, rows, caption="Net monetary benefit (QALYs × WTP − costs) and net health benefit "
                            "per person, base case"))
    if all("undiscounted" in x for x in strats):
        rows = [[x.get("label") or x["name"], _money(x["undiscounted"].get("costs"), cur),
                 _q(x["undiscounted"].get("qalys")), _q(x["undiscounted"].get("lys"))] for x in strats]
        parts.append("<details><summary>Undiscounted totals</summary>"
                     + _table(["Strategy", "Costs", "QALYs", "Life years"], rows,
                              caption="Per person, undiscounted (the effect of discounting)") + "</details>")
    return _sec("results", "Base-case results", "".join(parts))


def _model_section(d: ResultsData, figs: _Figs) -> str:
    st = d.settings
    states = [c for c in (d.trace.columns if d.trace is not None else [])
              if c not in ("strategy", "cycle", "time_years", "time", "age")]
    engine = "Markov cohort model" if st.get("engine") == "cohort" else "individual-level microsimulation"
    p = [f"<p>{_esc(engine)} with {len(states)} health states ({_esc(', '.join(states))}), "
         f"{_esc(st.get('n_cycles'))} cycles of {_esc(_generic(st.get('cycle_length_months'), False, None))} "
         f"months ({_esc(_generic(st.get('horizon_years'), False, None))} years).</p>"]
    p.append(figs.get("state_occupancy"))
    return _sec("model", "Model structure and state occupancy", "".join(p))


def _costs_section(d: ResultsData, figs: _Figs, cur: str | None) -> str:
    st = d.settings
    sectors = list(st.get("sectors") or [])
    persp = st.get("perspectives") or {}
    rows = []
    for s in sectors:
        vals = [x.get("costs_by_sector", {}).get(s) for x in d.summary["strategies"]]
        inp = ", ".join(p for p, secs in persp.items() if s in secs) or "—"
        rows.append([s, inp, *[_money(v, cur) for v in vals]])
    head = ["Sector", "In perspective", *[d.labels.get(s, s) for s in d.strategies]]
    body = figs.get("costs_by_sector") + _table(head, rows, caption="Discounted cost per person by sector", left=2)
    return _sec("costs", "Costs by sector", body)


def _ci(dct: Mapping[str, Any] | None, fmt: Any) -> str:
    if not dct:
        return "—"
    return f"{fmt(dct.get('mean'))} [{fmt(dct.get('lower'))}, {fmt(dct.get('upper'))}]"


def _uncertainty_section(d: ResultsData, figs: _Figs, cur: str | None) -> tuple[str, str | None]:
    psa = d.summary.get("psa")
    if not psa and not d.has_psa:
        return _sec("uncertainty", "Uncertainty", "<p>No probabilistic sensitivity analysis in this results folder "
                    "(run <code>heecon run SCENARIO --psa N</code>).</p>"), None
    parts = []
    comp = d.settings.get("comparator")
    m = lambda x: _money(x, cur)  # noqa: E731
    q = lambda x: _q(x, 3)  # noqa: E731
    if psa:
        rows = []
        for r in psa.get("strategies", []):
            s = r["strategy"]
            is_c = s == comp
            rows.append([d.labels.get(s, s), _ci(r.get("costs"), m), _ci(r.get("qalys"), q),
                         "" if is_c else _ci(r.get("inc_costs"), m), "" if is_c else _ci(r.get("inc_qalys"), q),
                         "" if is_c else (m(r.get("icer_of_means")) if _finite(r.get("icer_of_means")) else "—")])
        parts.append(_table(["Strategy", "Costs", "QALYs", f"Inc. costs vs {d.labels.get(comp, comp)}",
                             "Inc. QALYs", "ICER of means"], rows,
                            caption=f"Probabilistic results: mean [95% interval] of {psa.get('n_samples', 0):,} "
                            f"samples (seed {psa.get('seed')}), {psa.get('perspective')} perspective"))
        pce = psa.get("prob_cost_effective", {})
        evpi = psa.get("evpi_per_person", {})
        pop = psa.get("evpi_population") or {}
        head = ["WTP per QALY", *[f"P(CE) {d.labels.get(s, s)}" for s in d.strategies], "EVPI per person"]
        if pop:
            head.append("Population EVPI")
        rows = []
        for w, probs in pce.items():
            row = [m(float(w)), *[_prob(probs.get(s)) for s in d.strategies], m(evpi.get(w))]
            if pop:
                row.append(m(pop.get(w)))
            rows.append(row)
        cap = "Probability each strategy is cost-effective (highest net benefit) and EVPI"
        ps = psa.get("evpi_population_settings")
        if ps:
            cap += (f"; population EVPI for {ps.get('population_per_year'):,} people a year over "
                    f"{ps.get('years')} years, discounted at {100 * float(ps.get('discount_rate', 0)):g}%")
        parts.append(_table(head, rows, caption=cap))
    for name in ("ce_plane", "ceac", "evpi"):
        parts.append(figs.get(name))
    par_anchor = None
    if d.psa_samples is not None:
        pcols = [c for c in d.psa_samples.columns if str(c).startswith("param:")]
        if pcols:
            draws = d.psa_samples.drop_duplicates("sample")[pcols] if "sample" in d.psa_samples.columns \
                else d.psa_samples[pcols]
            rows = []
            for c in pcols:
                v = draws[c].to_numpy(dtype=float)
                lo, hi = np.percentile(v, [2.5, 97.5])
                rows.append([c[len("param:"):], _generic(v.mean(), False, cur), _generic(v.std(ddof=1), False, cur),
                             _generic(lo, False, cur), _generic(hi, False, cur)])
            par_anchor = "parameters"
            parts.append('<details id="parameters"><summary>Sampled parameters '
                         f'({len(pcols)})</summary>'
                         + _table(["Parameter", "Mean", "SD", "2.5%", "97.5%"], rows,
                                  caption="Distribution of the PSA draws of each uncertain parameter")
                         + "</details>")
    return _sec("uncertainty", "Uncertainty (probabilistic sensitivity analysis)", "".join(parts)), par_anchor


def _sensitivity_section(d: ResultsData, figs: _Figs, cur: str | None) -> str | None:
    from heecon.report.html_analyses import stale_note, thresholds_html

    if d.dsa_one_way is None and d.dsa_two_way is None and "dsa" not in d.analyses:
        return None
    parts = [stale_note(d.analyses.get("dsa"), d), figs.get("tornado")]
    if d.dsa_one_way is not None:
        t = d.dsa_one_way
        keep = [c for c in ("parameter", "base", "low", "high", "inc_nmb_low", "inc_nmb_high", "swing", "from")
                if c in t.columns]
        parts.append("<details><summary>One-way sensitivity table</summary>"
                     + _frame_table(t[keep], cur, caption="Incremental net monetary benefit at each parameter's "
                                    "low and high value") + "</details>")
    parts.append(figs.get("two_way"))
    parts.append(thresholds_html(d, cur))
    return _sec("sensitivity", "Deterministic sensitivity analysis", "".join(parts))


def _optional_sections(d: ResultsData, figs: _Figs, cur: str | None) -> list[tuple[str, str, str]]:
    """OPTIONAL SECTION HOOK: cost-consequence and budget impact tables.

    Rendered only when the results folder holds ``cost_consequence.csv`` / ``budget_impact.csv`` (any columns;
    money columns recognised by name). A ``budget_impact.csv`` with ``year``, ``payer`` and ``net_cost``
    columns also gets a grouped bar chart. Returns (anchor, title, html) for each section present.
    """
    out = []
    if d.cost_consequence is not None:
        out.append(("cost-consequence", "Cost-consequence analysis",
                    _frame_table(d.cost_consequence, cur, caption="Costs and consequences per strategy "
                                 "(from cost_consequence.csv)")))
    if d.budget_impact is not None:
        out.append(("budget-impact", "Budget impact",
                    figs.get("budget_impact") + _frame_table(d.budget_impact, cur,
                                                             caption="Budget impact (from budget_impact.csv)")))
    return out


def _rate(r: Any) -> str:
    if isinstance(r, (int, float)):
        return f"{100 * float(r):g}% a year"
    if isinstance(r, list):
        return "; ".join(f"{100 * float(b['rate']):g}% from year {float(b['from_year']):g}" for b in r)
    return str(r)


def _conventions_section(d: ResultsData) -> str:
    st = d.settings
    persp = st.get("perspectives") or {}
    rows = [
        ("Model type", "Markov cohort" if st.get("engine") == "cohort" else f"{st.get('engine')}"),
        ("Within-cycle method", st.get("within_cycle_method")),
        ("Cycle length", f"{_generic(st.get('cycle_length_months'), False, None)} months"),
        ("Number of cycles", st.get("n_cycles")),
        ("Time horizon", f"{_generic(st.get('horizon_years'), False, None)} years"),
        ("Starting age",
         _generic(st.get("start_age"), False, None) if st.get("start_age") is not None else "not modelled"),
        ("Discounting", st.get("discounting")),
        ("Discount rate, costs", _rate(st.get("discount_costs"))),
        ("Discount rate, effects", _rate(st.get("discount_effects"))),
        ("Currency", st.get("currency")),
        ("Price year", st.get("price_year") or "not set in the scenario (settings.price_year)"),
        ("Headline perspective", st.get("perspective")),
        *[(f"Perspective '{p}' counts", ", ".join(secs)) for p, secs in persp.items()],
        ("Comparator", d.labels.get(st.get("comparator"), st.get("comparator"))),
        ("Willingness to pay", ", ".join(f"{_money(w, st.get('currency'))} per QALY" for w in st.get("wtp") or [])),
        ("PSA samples", _generic(st.get("psa_samples"), False, None) if st.get("psa_samples") else "none"),
    ]
    if st.get("individuals"):
        rows.append(("Simulated individuals", _generic(st.get("individuals"), False, None)))
    body = "<table class=\"kv\"><tbody>" + "".join(
        f'<tr><th scope="row">{_esc(k)}</th><td>{_esc(v)}</td></tr>' for k, v in rows) + "</tbody></table>"
    return _sec("conventions", "Conventions used", body)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _provenance_section(d: ResultsData, built: datetime) -> str:
    sm = d.summary
    sc = sm.get("scenario", {})
    sj = d.path / "summary.json"
    created = sm.get("created") or datetime.fromtimestamp(sj.stat().st_mtime, timezone.utc).isoformat(
        timespec="seconds")
    seed = d.settings.get("seed")
    psa_seed = (sm.get("psa") or {}).get("seed")
    rows = [
        ("Scenario", sc.get("title", "")),
        ("Scenario file", sc.get("path", "")),
        ("Scenario files (extends chain)", ", ".join(sc.get("files", []))),
        ("Scenario SHA-256", sm.get("scenario_sha256", "")),
        ("heecon version (run)", sm.get("heecon_version", "")),
        ("heecon version (report)", __version__),
        ("Seed", f"{seed}" + (f" (PSA seed {psa_seed})" if psa_seed is not None and psa_seed != seed else "")),
        ("Results written", created),
        ("Report built", built.isoformat(timespec="seconds")),
        ("Results folder", str(final_path(d.path))),
    ]
    body = "<table class=\"kv\"><tbody>" + "".join(
        f'<tr><th scope="row">{_esc(k)}</th><td><code>{_esc(v)}</code></td></tr>' for k, v in rows) + "</tbody></table>"
    files = [[f, f"{(d.path / f).stat().st_size:,}", _sha256(d.path / f)] for f in d.files if (d.path / f).is_file()]
    body += ("<details><summary>Files read for this report</summary>"
             + _table(["File", "Bytes", "SHA-256"], files, left=1, cls="files") + "</details>")
    return _sec("provenance", "Provenance", body)


def _cheers_section(d: ResultsData, have: set[str], titles: Mapping[str, str]) -> str:
    entries = cheers_checklist(d.summary, have)
    badge = {"reported": "Reported", "partly": "Partly", "analyst": "Analyst"}
    rows = []
    for e in entries:
        where = _esc(e.where)
        if e.anchor:
            where += f' <a href="#{_esc(e.anchor)}">&rarr;&nbsp;{_esc(titles.get(e.anchor, e.anchor))}</a>'
        rows.append(f'<tr class="{e.status}"><td class="n">{e.item.number}</td><td class="l">{_esc(e.item.section)}'
                    f'</td><td class="l"><b>{_esc(e.item.topic)}</b><br><span class="g">{_esc(e.item.guidance)}'
                    f'</span></td><td class="l"><span class="badge {e.status}">{badge[e.status]}</span></td>'
                    f'<td class="l">{where}</td></tr>')
    n = {k: sum(e.status == k for e in entries) for k in badge}
    body = (f"<p>{n['reported']} items reported, {n['partly']} partly (the report gives what the model knows), "
            f"{n['analyst']} for the analyst to supply. Guidance paraphrased from: {_esc(CHEERS_REFERENCE)}.</p>"
            '<table class="cheers"><thead><tr><th class="n" scope="col">Item</th><th class="l" scope="col">Section'
            '</th><th class="l" scope="col">Topic and guidance</th><th class="l" scope="col">Status</th>'
            '<th class="l" scope="col">Where in this report</th></tr></thead><tbody>' + "".join(rows)
            + "</tbody></table>")
    return _sec("cheers", "CHEERS 2022 checklist", body)


_CSS = """
:root{--fg:#1d1d1f;--muted:#5a5a5a;--line:#d9d9de;--band:#f5f6f8;--acc:#0072B2;--warn:#D55E00}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--fg);background:#fff}
header{background:#0b3d5c;color:#fff;padding:22px 32px}
header h1{margin:0 0 4px;font-size:24px}
header p{margin:0;color:#d7e6f0}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:8px 32px;z-index:2;font-size:13px;display:flex;flex-wrap:wrap;gap:2px 0}
nav a{color:var(--acc);text-decoration:none;margin-right:14px;white-space:nowrap}
main{max-width:1120px;margin:0 auto;padding:8px 32px 48px}
section{margin-top:28px}
h2{font-size:20px;border-bottom:2px solid var(--acc);padding-bottom:4px}
h3{font-size:16px;margin-top:22px}
.headline{font-size:19px;line-height:1.45;background:#eef6fb;border-left:6px solid var(--acc);padding:14px 18px;margin:18px 0 6px}
.note{color:var(--muted);font-size:13px}
table{border-collapse:collapse;margin:10px 0 16px;font-size:13.5px;font-variant-numeric:tabular-nums;width:auto;max-width:100%}
caption{caption-side:top;text-align:left;color:var(--muted);font-size:13px;padding-bottom:4px}
th,td{padding:5px 10px;border-bottom:1px solid var(--line);vertical-align:top}
thead th{background:var(--band);border-bottom:2px solid #b9bcc4}
tbody tr:nth-child(even){background:#fafbfc}
.l{text-align:left}.n{text-align:right;white-space:nowrap}
.scroll{overflow-x:auto;max-width:100%}
.answer{font-size:16px;line-height:1.5;background:#eef6fb;border-left:6px solid var(--acc);padding:12px 18px;margin:14px 0}
.answer p{margin:6px 0}
table.payers td,table.payers th{font-size:15px}
table.kv th{text-align:left;background:var(--band);font-weight:600;width:280px}
table.files td:last-child{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12px}
figure{margin:18px 0;padding:0}
figure img{max-width:100%;height:auto;border:1px solid var(--line);border-radius:4px}
figcaption{color:var(--muted);font-size:13px;margin-top:4px;max-width:900px}
details{margin:8px 0}
summary{cursor:pointer;color:var(--acc);font-weight:600}
code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px;word-break:break-all}
table.cheers td{font-size:13px}
table.cheers .g{color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600}
.badge.reported{background:#d9f0e6;color:#00603f}
.badge.partly{background:#fdf0d5;color:#7a4d00}
.badge.analyst{background:#f9e0d6;color:#8a2e00}
footer{max-width:1120px;margin:0 auto;padding:16px 32px 40px;color:var(--muted);font-size:12.5px;border-top:1px solid var(--line)}
@media print{nav{display:none}section{break-inside:avoid-page}}
"""


def render_report(data: ResultsData, images: Mapping[str, tuple[bytes, str]] | None = None,
                  built: datetime | None = None) -> str:
    """The report's HTML from the folder's data and the figures (name -> (PNG bytes, caption))."""
    built = built or datetime.now(timezone.utc)
    figs = _Figs(images or {})
    cur = data.settings.get("currency")
    sm = data.summary
    labels = data.labels
    title = sm.get("scenario", {}).get("title") or final_path(data.path).name
    strategies = ", ".join(labels.get(s, s) for s in data.strategies)
    h = headline(sm)
    sections: list[tuple[str, str, str]] = []  # anchor, nav title, html
    from heecon.report.html_answer import answer_section, study_sections

    first = answer_section(data, figs, cur)
    if first is not None:  # what a commissioner reads first: the money per payer, prison-years, the uncertainty
        sections.append(first)
    hl = (f'<section id="headline"><h2>Headline</h2><p class="headline">{_esc(h.text)}</p>'
          f'<p class="note">Perspective: {_esc(perspective_label(data.settings.get("perspective", "all")))}; per person; discounted; '
          f'{_esc("ICERs from the base case" + (", probabilities from the PSA" if sm.get("psa") else ""))}.</p>'
          "</section>")
    sections.append(("headline", "Headline", hl))
    sections.append(("results", "Results", _results_section(data, cur)))
    if data.trace is not None:
        sections.append(("model", "Model", _model_section(data, figs)))
    sections.append(("costs", "Costs by sector", _costs_section(data, figs, cur)))
    unc, par = _uncertainty_section(data, figs, cur)
    sections.append(("uncertainty", "Uncertainty", unc))
    sens = _sensitivity_section(data, figs, cur)
    if sens:
        sections.append(("sensitivity", "Sensitivity", sens))
    from heecon.report.html_analyses import analysis_sections

    sections += study_sections(data, figs, cur)
    sections += analysis_sections(data, figs, cur)
    for anchor, t, body in _optional_sections(data, figs, cur):
        sections.append((anchor, t, _sec(anchor, t, body)))
    sections.append(("conventions", "Conventions", _conventions_section(data)))
    sections.append(("provenance", "Provenance", _provenance_section(data, built)))
    have = {a for a, _, _ in sections} | {"top"} | ({par} if par else set())
    titles = {a: t for a, t, _ in sections} | {"top": "Title", "parameters": "Sampled parameters"}
    sections.append(("cheers", "CHEERS 2022", _cheers_section(data, have, titles)))
    nav = "".join(f'<a href="#{a}">{_esc(t)}</a>' for a, t, _ in sections)
    csp = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}: cost-effectiveness report</title><style>{_CSS}</style></head><body>"
        f'<header id="top"><h1>{_esc(title)}</h1><p>Economic evaluation ({_esc(_analysis_kinds(sm))}) comparing '
        f"{_esc(strategies)}. Report from heecon {_esc(__version__)}.</p></header>"
        f"<nav>{nav}</nav><main>" + "".join(s for _, _, s in sections) + "</main>"
        f"<footer>Built {_esc(built.strftime('%Y-%m-%d %H:%M UTC'))} by heecon {_esc(__version__)} from the files "
        f"of {_esc(final_path(data.path).name)}/ (no model was re-run). CHEERS 2022: {_esc(CHEERS_REFERENCE)}.</footer>"
        "</body></html>\n"
    )


def _analysis_kinds(summary: Mapping[str, Any]) -> str:
    """What kind of analysis the report is, from the answer's naming per perspective (cost-utility when QALYs
    differ beyond the PSA's uncertainty, cost-consequence otherwise, cost-benefit with a [cba] section)."""
    ans = summary.get("answer") or {}
    kinds: dict[str, list[str]] = {}
    for e in (ans.get("strategies") or {}).values():
        for p, r in e.get("perspectives", {}).items():
            if p != "all":
                kinds.setdefault(r["analysis"], []).append(perspective_short(p))
        break
    if not kinds:
        return "cost-utility analysis"
    return "; ".join(f"{k} analysis: {', '.join(v)}" for k, v in kinds.items())


_FIGURE_JOBS: list[tuple[Path, str, str, Any]] = []


def _render_one(i: int) -> tuple[str, bytes, str]:
    """Build, save (PNG + SVG) and close figure i of _FIGURE_JOBS; return its name, PNG bytes and caption."""
    import matplotlib.pyplot as plt

    folder, name, caption, build = _FIGURE_JOBS[i]
    ax = build()
    paths = save_figure(ax, folder / name)
    plt.close("all")
    return name, paths[0].read_bytes(), caption


def _render_figures(folder: Path, jobs: list[tuple[str, str, Any]]) -> list[tuple[str, bytes, str]]:
    """Render the figures, on two forked processes where the platform forks and has the cores.

    Each figure is a pure function of the results already in memory, so the children (which inherit them)
    write the same files as a sequential run; matplotlib is not thread-safe, hence processes. Any failure
    in a child is raised here.
    """
    import multiprocessing as mp
    import sys

    global _FIGURE_JOBS
    _FIGURE_JOBS = [(folder, name, caption, build) for name, caption, build in jobs]
    try:
        n_proc = min(2, len(_FIGURE_JOBS), os.cpu_count() or 1)
        if n_proc > 1 and sys.platform.startswith("linux") and "fork" in mp.get_all_start_methods():
            with mp.get_context("fork").Pool(n_proc) as pool:
                return pool.map(_render_one, range(len(_FIGURE_JOBS)), chunksize=1)
        return [_render_one(i) for i in range(len(_FIGURE_JOBS))]
    finally:
        _FIGURE_JOBS = []


def _write_report(data: ResultsData, folder: Path, figures: bool) -> Path:
    """Draw the figures into ``folder/figures`` and write ``folder/report.html`` from ``data``."""
    images: dict[str, tuple[bytes, str]] = {}
    if figures:
        jobs = figure_builders(data)
        drawn = [j for j in jobs if not isinstance(j[2], Path)]
        for name, png, caption in _render_figures(folder / "figures", drawn):
            images[name] = (png, caption)
        for name, caption, png_path in jobs:  # an analysis's own figure, drawn by its command: embedded as it is
            if isinstance(png_path, Path):
                images[name] = (png_path.read_bytes(), caption)
    text = render_report(data, images)
    out = folder / "report.html"
    write_atomic(out, text.encode("utf-8"))
    return out


def write_report(folder: str | Path, *, figures: bool = True) -> Path:
    """Write ``report.html`` and ``figures/`` into a results folder being written (a writer of
    :func:`heecon.report.results_folder.write_results`: the folder is the run's temporary one)."""
    return _write_report(load_results(folder), Path(folder), figures)


def build_report(results_dir: str | Path, *, figures: bool = True) -> Path:
    """Write ``report.html`` (and the figures in ``figures/``) into a results folder; return the report's path.

    Reads only the folder's files, the analyses later commands added to it included (``dsa/``, ``evppi/``,
    ``gsa_sobol/``, ``gsa_morris/``, ``cea/``): rebuilding a report needs no re-run. ``report.html`` and
    ``figures/`` are replaced only when heecon wrote them.

    Raises
    ------
    ResultsFolderError
        The folder is missing or not a readable heecon results folder.
    heecon.execution.files.OutputError
        ``report.html`` or ``figures/`` there was not written by heecon.
    """
    data = load_results(results_dir)
    info = {"scenario_sha256": data.summary.get("scenario_sha256")}
    with output_entries(data.path, "report", ["report.html", "figures"], info=info) as tmp:
        _write_report(data, tmp, figures)
    return data.path / "report.html"
