"""Which figures a results folder gets, and drawing them all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from heecon.report.figures._base import save_figure
from heecon.report.figures.cea import ce_plane, ceac, evpi_curve
from heecon.report.figures.model import budget_impact, costs_by_sector_over_time, events_averted_over_time, state_occupancy
from heecon.report.figures.sensitivity import evppi_bars, morris_bars, sobol_bars, tornado, two_way_heatmap
from heecon.report.results_data import ResultsData, load_results


def figure_builders(data: ResultsData) -> list[tuple[str, str, Any]]:
    """(name, caption, builder) for every figure the folder's data allows; each builder returns axes.

    The figures an analysis's command drew into its own subfolder (``dsa/figures/tornado.png``, ...) come as
    (name, caption, path of the PNG) instead: they are embedded as they are, not drawn again.
    """
    out: list[tuple[str, str, Any]] = []
    cur = data.settings.get("currency")
    py = data.settings.get("price_year")
    if data.trace is not None:
        out.append(("state_occupancy", "State occupancy over time, by strategy (base case).",
                    lambda: state_occupancy(data)))
    if data.per_cycle is not None:
        out.append(("costs_by_sector", "Discounted cost per person over time, stacked by sector (base case).",
                    lambda: costs_by_sector_over_time(data)))
    if data.psa_samples is not None:
        out.append(("ce_plane", "Incremental costs and QALYs of each PSA sample against the comparator; "
                    "large dots are the means, grey lines the WTP thresholds.", lambda: ce_plane(data)))
    if data.ceac is not None:
        out.append(("ceac", "Probability that each strategy is cost-effective (highest net benefit) by WTP; "
                    "the shaded band marks the frontier (highest expected net benefit).", lambda: ceac(data)))
        if "evpi" in data.ceac.columns:
            out.append(("evpi", "Expected value of perfect information per person by WTP.",
                        lambda: evpi_curve(data)))
    dsa = data.analyses.get("dsa")
    dsa_figs = dsa.figures if dsa is not None else {}
    if "tornado" in dsa_figs:
        out.append(("tornado", "One-way sensitivity: incremental net monetary benefit at each parameter's low and "
                    "high value.", dsa_figs["tornado"]))
    elif data.dsa_one_way is not None:
        tab = data.dsa_one_way
        base = _dsa_base(data)
        if base is not None:
            b, note = base
            out.append(("tornado", "One-way sensitivity: incremental net monetary benefit at each parameter's "
                        f"low and high value{note}.",
                        lambda: tornado(tab, base=b, currency=cur, price_year=py, labels=data.labels,
                                        **_dsa_who(data))))
    suite_dsa = data.suite.get("dsa.csv")
    if suite_dsa is not None and not suite_dsa.empty and "base_inc_nmb" in suite_dsa.columns:
        for p, g in suite_dsa.groupby("perspective", sort=False):
            w = float(g["wtp"].iloc[0]) if "wtp" in g.columns else None
            strat = str(g["strategy"].iloc[0]) if "strategy" in g.columns else None
            out.append((f"tornado_{p}", f"One-way sensitivity ({p} perspective): incremental net monetary benefit "
                        "at each parameter's low and high value.",
                        lambda g=g, w=w, strat=strat: tornado(g, currency=cur, price_year=py, labels=data.labels,
                                                              strategy=strat, comparator=data.settings.get("comparator"),
                                                              wtp=w)))
    if data.dsa_two_way is not None and data.dsa_two_way.shape[1] >= 3 and "inc_nmb" in data.dsa_two_way.columns:
        tw = data.dsa_two_way
        v = data.dsa_two_way["inc_nmb"].to_numpy(dtype=float)
        zero = ("the black line is where it is zero (the decision changes)" if np.nanmin(v) < 0 < np.nanmax(v)
                else f"it stays {'positive' if np.nanmin(v) >= 0 else 'negative'} over the whole grid")
        out.append(("two_way", "Two-way sensitivity: incremental net monetary benefit over two parameters' "
                    f"ranges; {zero}.",
                    dsa_figs.get("two_way") or (lambda: two_way_heatmap(tw, currency=cur, price_year=py))))
    ev_path = Path(data.path) / "events_per_cycle.csv"
    if ev_path.is_file() and data.settings.get("comparator"):
        ev = pd.read_csv(ev_path)
        cols = [c for c in ev.columns if c not in ("strategy", "cycle")]
        if cols and ev["strategy"].nunique() > 1:
            months = data.settings.get("cycle_length_months") or 12
            ev["time_years"] = ev["cycle"] * months / 12.0
            elab = data.summary.get("event_labels") or {}
            ev = ev.rename(columns=elab)
            cols = [elab.get(c, c) for c in cols]
            ev["strategy"] = ev["strategy"].map(lambda s: data.labels.get(s, s))
            comp = data.labels.get(data.settings["comparator"], data.settings["comparator"])
            out.append(("events_averted", "Cumulative events per person, each strategy minus the comparator "
                        "(below zero: averted), base case.",
                        lambda: events_averted_over_time(ev, cols, comparator=comp, cumulative=True,
                                                         x_col="time_years")))
    bi = data.budget_impact
    if bi is not None and {"year", "payer", "net_cost"} <= set(bi.columns):
        out.append(("budget_impact", "Net budget impact per year, by payer.",
                    lambda: budget_impact(bi, currency=cur, price_year=py)))
    return out + _analysis_figures(data)


def _analysis_figures(data: ResultsData) -> list[tuple[str, str, Any]]:
    """The figures of EVPPI, GSA and external-CEA subfolders (their own PNG, else drawn from their tables)."""
    out: list[tuple[str, str, Any]] = []
    a = data.analyses.get("evppi")
    if a is not None and ("evppi" in a.figures or "evppi.csv" in a.tables):
        t = a.tables.get("evppi.csv")
        out.append(("evppi_bars", "Expected value of partial perfect information per person, by parameter or "
                    "group, at each WTP.", a.figures.get("evppi") or (lambda: evppi_bars(t))))
    a = data.analyses.get("evsi")
    if a is not None:
        for fig, what in (("evsi", "Expected value of sample information per person against the sample size per "
                           "arm of the proposed study, with the EVPPI of the parameters it informs and the EVPI."),
                          ("enbs", "Expected net benefit of sampling over the decision population against the "
                           "sample size per arm, with the optimal size marked.")):
            if fig in a.figures:
                out.append((f"{fig}_curve", what, a.figures[fig]))
    for name, fig, fn, what in (("gsa_sobol", "sobol", sobol_bars, "Sobol' first-order (S1) and total (ST) "
                                 "indices of incremental net monetary benefit, with 95% bootstrap intervals."),
                                ("gsa_morris", "morris", morris_bars, "Morris screening: mean absolute elementary "
                                 "effect (mu*) of each parameter on incremental net monetary benefit.")):
        a = data.analyses.get(name)
        if a is not None and (fig in a.figures or f"{name}.csv" in a.tables):
            t, about = a.tables.get(f"{name}.csv"), a.about
            out.append((fig, what, a.figures.get(fig) or (lambda t=t, about=about, fn=fn: fn(t, about=about))))
    a = data.analyses.get("cea")
    if a is not None:
        for fig, what in (("ce_plane", "Cost-effectiveness plane of the PSA results analysed by heecon cea."),
                          ("ceac", "Acceptability curves and frontier of the PSA results analysed by heecon cea."),
                          ("evpi", "EVPI per person of the PSA results analysed by heecon cea.")):
            if fig in a.figures:
                out.append((f"cea_{fig}", what, a.figures[fig]))
    return out


def _dsa_who(data: ResultsData) -> dict[str, Any]:
    tab = data.dsa_one_way
    st = data.settings
    others = [s for s in data.strategies if s != st.get("comparator")]
    return {"strategy": str(tab["strategy"].iloc[0]) if "strategy" in tab.columns else (others[0] if others else None),
            "comparator": str(tab["comparator"].iloc[0]) if "comparator" in tab.columns else st.get("comparator"),
            "wtp": float(tab["wtp"].iloc[0]) if "wtp" in tab.columns else (st.get("wtp") or [None])[0]}


def _dsa_base(data: ResultsData) -> tuple[float, str] | None:
    """Base-case incremental NMB of the one-way DSA: its ``base_inc_nmb`` column, else the results' base case
    for the DSA's defaults (first strategy besides the comparator, first WTP, headline perspective)."""
    tab = data.dsa_one_way
    if tab is None or tab.empty:
        return None
    if "base_inc_nmb" in tab.columns:
        return float(tab["base_inc_nmb"].iloc[0]), ""
    who = _dsa_who(data)
    recs = {r["strategy"]: r for r in data.summary.get("icers", [])}
    s, comp, w = who["strategy"], who["comparator"], who["wtp"]
    if s not in recs or comp not in recs or w is None:
        return None
    d = (w * recs[s]["effect"] - recs[s]["cost"]) - (w * recs[comp]["effect"] - recs[comp]["cost"])
    return float(d), " (base case taken from summary.json, assuming the DSA's default strategy and WTP)"


def default_figures(results_dir: str | Path) -> list[Path]:
    """Build every figure the folder's data allows into ``results_dir/figures/`` (PNG and SVG).

    Base case: state occupancy, costs by sector; with a PSA: CE plane, CEAC, EVPI; with ``dsa_one_way.csv``:
    tornado; with ``dsa_two_way.csv``: heat map; with ``budget_impact.csv`` (year, payer, net_cost): budget
    impact. Returns the paths written (PNG then SVG for each figure).
    """
    from heecon.execution.files import output_entries

    data = results_dir if isinstance(results_dir, ResultsData) else load_results(results_dir)
    paths: list[Path] = []
    # figures/ is the report's entry of the folder (the next `heecon run` or `heecon report` replaces it); it is
    # written beside the old one and swapped in, and refused if the folder's figures/ is not heecon's
    with output_entries(data.path, "report", ["figures"]) as tmp:
        for name, _caption, build in figure_builders(data):
            if isinstance(build, Path):  # an analysis's own figure: already in its folder
                continue
            axes = build()
            paths += [data.path / "figures" / p.name for p in save_figure(axes, tmp / "figures" / name)]
    return paths
