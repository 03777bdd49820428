"""The report's sections for the analyses later commands added to a results folder: value of information (EVPPI),
global sensitivity (Sobol', Morris) and PSA results analysed by ``heecon cea``; the DSA's thresholds and the note
that an analysis was computed from another version of the scenario."""

from __future__ import annotations

from heecon.report.html_parts import _Figs, _esc, _frame_table, _sec
from heecon.report.results_data import AnalysisData, ResultsData

__all__ = ["analysis_sections", "stale_note", "thresholds_html"]


def stale_note(a: AnalysisData | None, data: ResultsData) -> str:
    """A warning when the analysis was computed from another version of the scenario than the run's."""
    if a is None or not a.stale(data.summary):
        return ""
    return (f'<p class="note"><b>Computed from another version of the scenario</b> than these results (SHA-256 '
            f'{_esc(str(a.about.get("scenario_sha256"))[:12])}… against the run\'s '
            f'{_esc(str(data.summary.get("scenario_sha256"))[:12])}…): run <code>heecon {_esc(a.name.split("_")[0])}'
            f"</code> again into this folder to bring it up to date.</p>")


def _written(a: AnalysisData) -> str:
    return f'<p class="note">From <code>{_esc(a.path.name)}/</code>.</p>'


def thresholds_html(data: ResultsData, cur: str | None) -> str:
    a = data.analyses.get("dsa")
    t = a.tables.get("thresholds.csv") if a is not None else None
    if t is None or t.empty:
        return ""
    rows = "".join(f"<li>{_esc(m)}</li>" for m in t["message"].astype(str))
    return f"<h3>Threshold analysis</h3><ul>{rows}</ul>"


def _evppi(data: ResultsData, figs: _Figs, cur: str | None) -> tuple[str, str, str] | None:
    a = data.analyses.get("evppi")
    if a is None or "evppi.csv" not in a.tables:
        return None
    t = a.tables["evppi.csv"]
    keep = [c for c in ("group", "parameters", "method", "wtp", "evppi", "se", "evpi", "evppi_share", "r2",
                        "evppi_population") if c in t.columns]
    n = a.about.get("n_samples")
    body = (stale_note(a, data) + figs.get("evppi_bars")
            + _frame_table(t[keep], cur, caption=f"EVPPI per person by regression on {n:,} PSA samples (Strong, "
                           "Oakley & Brennan 2014); se: standard error of the fit; evppi_share: EVPPI / EVPI"
                           if isinstance(n, int) else "EVPPI per person")
            + _written(a))
    return "voi", "Value of information", body


def _evsi(data: ResultsData, figs: _Figs, cur: str | None) -> tuple[str, str, str] | None:
    """Research prioritisation: EVPI (the run's), EVPPI by group (when present), EVSI and ENBS of a proposed study,
    with the population and horizon they are computed over."""
    a = data.analyses.get("evsi")
    if a is None or "evsi.csv" not in a.tables:
        return None
    ab = a.about
    pop = ab.get("population") or {}
    parts = [stale_note(a, data)]
    informed = ", ".join(f"{k} ({v})" for k, v in (ab.get("informed_parameters") or {}).items())
    parts.append(f"<p>Proposed study: <b>{_esc(ab.get('design_label') or ab.get('design'))}</b> "
                 f"({_esc(ab.get('outcome'))} outcome, {ab.get('arms')} arm(s)), informing {_esc(informed)}. "
                 f"From {int(ab.get('n_samples') or 0):,} PSA samples ({_esc(ab.get('psa_from'))}), "
                 f"{_esc(ab.get('perspective'))} perspective.</p>")
    if pop:
        ppl = pop.get("population_per_year")
        ppl = ", ".join(f"{x:,.0f}" for x in ppl) if isinstance(ppl, list) else f"{float(ppl):,.0f}"
        parts.append(f"<p>Population: {ppl} people a year facing the decision over {pop.get('years')} years, later "
                     f"cohorts discounted at {float(pop.get('discount_rate') or 0):.1%} "
                     f"({float(pop.get('discounted_people') or 0):,.0f} people in all). Source: "
                     f"{_esc(pop.get('source') or 'not stated')}.</p>")
    evpi = ab.get("evpi") or []
    evppi = ab.get("evppi") or []
    wtps = ab.get("wtp") or []
    if evpi:
        parts.append("<ul>" + "".join(
            f"<li>At {float(w):,.0f} per QALY: EVPI {float(v):,.2f} per person; EVPPI of the parameters the study "
            f"informs {float(e):,.2f}</li>" for w, v, e in zip(wtps, evpi, evppi)) + "</ul>")
    if "evppi" in data.analyses:
        parts.append('<p>EVPPI by parameter group: see <a href="#voi">Value of information</a>.</p>')
    parts.append(figs.get("evsi_curve") + _frame_table(a.tables["evsi.csv"], cur, caption="EVSI per person by "
                 "sample size per arm, WTP and method (regression: Strong et al. 2015; gaussian: Jalal & "
                 "Alarid-Escudero 2018; is: Menzies 2016); evppi: ceiling for any study of these parameters"))
    if "enbs_optimal.csv" in a.tables:
        parts.append(figs.get("enbs_curve") + _frame_table(a.tables["enbs_optimal.csv"], cur, caption="Optimal "
                     "sample size per arm: the n with the highest expected net benefit of sampling (population EVSI "
                     "minus the study's cost); worthwhile: ENBS > 0"))
    parts.append(_written(a))
    return "research", "Research prioritisation", "".join(parts)


def _gsa(data: ResultsData, figs: _Figs, cur: str | None) -> tuple[str, str, str] | None:
    parts = []
    for name, fig, what, cols in (
            ("gsa_sobol", "sobol", "Sobol' indices", ["parameter", "S1", "S1_conf", "ST", "ST_conf"]),
            ("gsa_morris", "morris", "Morris screening", ["parameter", "mu", "mu_star", "mu_star_conf", "sigma"])):
        a = data.analyses.get(name)
        if a is None or f"{name}.csv" not in a.tables:
            continue
        t = a.tables[f"{name}.csv"]
        ab = a.about
        head = (f"{what} of incremental net monetary benefit, {ab.get('strategy')} vs {ab.get('comparator')} at "
                f"{float(ab.get('wtp') or 0):,.0f} per QALY ({int(ab.get('n_evaluations') or 0):,} model "
                f"evaluations, seed {ab.get('seed')})")
        parts.append(f"<h3>{_esc(what)}</h3>" + stale_note(a, data) + figs.get(fig)
                     + _frame_table(t[[c for c in cols if c in t.columns]], cur, caption=head) + _written(a))
    if not parts:
        return None
    return "gsa", "Global sensitivity analysis", "".join(parts)


def _cea(data: ResultsData, figs: _Figs, cur: str | None) -> tuple[str, str, str] | None:
    a = data.analyses.get("cea")
    if a is None or "icers.csv" not in a.tables:
        return None
    ab = a.about
    src = ", ".join(str(ab[k]) for k in ("costs_file", "effects_file") if ab.get(k))
    body = (f"<p>PSA results made elsewhere ({_esc(src) or 'CSV files'}; {int(ab.get('n_draws') or 0):,} draws), "
            "analysed by <code>heecon cea</code>.</p>"
            + _frame_table(a.tables["icers.csv"], None, caption="Incremental analysis on the means")
            + figs.get("cea_ce_plane") + figs.get("cea_ceac") + figs.get("cea_evpi") + _written(a))
    return "external-cea", "PSA results analysed with heecon cea", body


def analysis_sections(data: ResultsData, figs: _Figs, cur: str | None) -> list[tuple[str, str, str]]:
    """(anchor, navigation title, section HTML) of every analysis present in the folder besides the DSA."""
    out = []
    for fn in (_evppi, _evsi, _gsa, _cea):
        sec = fn(data, figs, cur)
        if sec is not None:
            anchor, title, body = sec
            out.append((anchor, title, _sec(anchor, title, body)))
    return out

