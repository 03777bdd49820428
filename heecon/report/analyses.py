"""The files and figures of an analysis, written into its own subfolder of a results folder.

``heecon dsa``, ``heecon evppi``, ``heecon gsa`` and ``heecon cea`` (and :func:`save_analysis` from Python) each
write one subfolder of the folder they are given -- ``dsa/``, ``evppi/``, ``gsa_sobol/``, ``gsa_morris/``,
``cea/`` -- so that a run's folder can receive later analyses without losing anything: the subfolder is replaced
as a whole (when heecon wrote it), nothing else in the folder is touched, and ``heecon report`` then includes it.

Each subfolder holds the analysis's tables (wide as the console shows them, and long, "tidy", with plain column
names), ``analysis.json`` (what was analysed: strategy, comparator, WTP, perspective, scenario and its SHA-256)
and ``figures/`` (PNG and SVG).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from heecon.execution.files import check_output_folder, output_entries

__all__ = ["save_analysis", "analysis_entry", "ANALYSIS_ENTRIES", "check_analysis_folder"]

#: subfolder -> what it holds (the report's order)
ANALYSIS_ENTRIES = {
    "dsa": "deterministic sensitivity analysis (one-way, two-way, threshold)",
    "evppi": "expected value of partial perfect information",
    "gsa_sobol": "global sensitivity analysis: Sobol' indices",
    "gsa_morris": "global sensitivity analysis: Morris screening",
    "cea": "cost-effectiveness of PSA results made elsewhere (heecon cea)",
    "evsi": "expected value of sample information and net benefit of sampling of a proposed study (heecon evsi)",
}


def _kind(r: Any) -> str:
    name = type(r).__name__
    if name in ("OneWayResult", "ThresholdResult") or (isinstance(r, pd.DataFrame)
                                                        and r.attrs.get("analysis") == "two_way"):
        return "dsa"
    if name == "EVPPIResult":
        return "evppi"
    if name == "SobolResult":
        return "gsa_sobol"
    if name == "MorrisResult":
        return "gsa_morris"
    if name == "CEAResult":
        return "cea"
    if name in ("EVSIResult", "ENBSResult"):
        return "evsi"
    raise TypeError(f"save_analysis takes the results of one_way, two_way, threshold, evppi, sobol, morris, cea, "
                    f"evsi or enbs. "
                    f"Got {type(r).__name__}.")


def analysis_entry(*results: Any) -> str:
    """The subfolder ``results`` are written to (they must all belong to one analysis)."""
    kinds = {_kind(r) for r in results}
    if len(kinds) != 1:
        raise ValueError(f"save_analysis writes one analysis at a time; got results of {', '.join(sorted(kinds))}: "
                         "call it once for each")
    return kinds.pop()


def check_analysis_folder(folder: str | Path, entry: str) -> None:
    """Refuse, before any work, a folder the analysis could not be written into (:func:`check_output_folder`)."""
    check_output_folder(folder, [entry])


def _ctx(scenario: Any) -> dict[str, Any]:
    if scenario is None:
        return {}
    st = scenario.settings
    return {"currency": st.currency, "price_year": st.price_year,
            "labels": {n: s.label for n, s in scenario.strategies.items()}}


def _save(ax: Any, folder: Path, name: str) -> None:
    from heecon.report.figures import save_figure

    save_figure(ax, folder / "figures" / name)


def save_analysis(folder: str | Path, *results: Any, scenario: Any = None, figures: bool = True,
                  meta: Mapping[str, Any] | None = None) -> Path:
    """Write an analysis's tables, ``analysis.json`` and figures into its subfolder of ``folder``.

    Parameters
    ----------
    folder
        A results folder (``heecon run``'s, to add the analysis to its report), or any new or empty folder.
    *results
        The parts of one analysis: for a DSA any of ``one_way(...)``, ``two_way(...)`` and ``threshold(...)``
        results; else one ``evppi``, ``sobol``, ``morris`` or ``cea`` result.
    scenario
        The scenario analysed (labels, currency and price year of the figures; recorded in ``analysis.json``).
    figures
        Also draw the figures (PNG and SVG in ``figures/``).
    meta
        More to record in ``analysis.json``.

    Returns
    -------
    pathlib.Path
        The subfolder written (``folder/dsa``, ``folder/evppi``, ...).

    Raises
    ------
    heecon.execution.files.OutputError
        ``folder`` is a file or a folder heecon did not make, or its subfolder was not written by heecon.
    """
    entry = analysis_entry(*results)
    folder = Path(folder)
    info: dict[str, Any] = {}
    if scenario is not None:
        info = {"scenario": str(scenario.path), "scenario_sha256": scenario.sha256}
    with output_entries(folder, entry, [entry], info=info) as tmp:
        sub = tmp / entry
        sub.mkdir()
        about = {"analysis": entry, "what": ANALYSIS_ENTRIES[entry], **info, **dict(meta or {})}
        about.update(_WRITERS[entry](sub, results, scenario, figures))
        (sub / "analysis.json").write_text(json.dumps(_jsonable(about), indent=2) + "\n", encoding="utf-8")
    return folder / entry


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if np.isfinite(v) else None
    if isinstance(x, np.integer):
        return int(x)
    return x


# ------------------------------------------------------------------------------------------------------- DSA


def one_way_long(result: Any) -> pd.DataFrame:
    """The one-way table in long form: one row per parameter and end of its range (``low``/``high``)."""
    t = result.table if hasattr(result, "table") else result
    rows = []
    for r in t.itertuples(index=False):
        d = r._asdict()
        for end in ("low", "high"):
            rows.append({"parameter": d["parameter"], "end": end, "value": d[end], "base_value": d["base"],
                         "range_from": d.get("from", ""), "inc_nmb": d[f"inc_nmb_{end}"], "icer": d[f"icer_{end}"],
                         "inc_costs": d[f"inc_costs_{end}"], "inc_qalys": d[f"inc_qalys_{end}"]})
    return pd.DataFrame(rows, columns=["parameter", "end", "value", "base_value", "range_from", "inc_nmb", "icer",
                                       "inc_costs", "inc_qalys"])


def _write_dsa(sub: Path, results: Iterable[Any], scenario: Any, figures: bool) -> dict[str, Any]:
    from heecon.report.figures import tornado, two_way_heatmap

    ow = [r for r in results if type(r).__name__ == "OneWayResult"]
    tw = [r for r in results if isinstance(r, pd.DataFrame)]
    th = [r for r in results if type(r).__name__ == "ThresholdResult"]
    if len(ow) > 1 or len(tw) > 1:
        raise ValueError("a DSA folder holds one one-way and one two-way analysis; save the others elsewhere")
    about: dict[str, Any] = {}
    c = _ctx(scenario)
    if ow:
        r = ow[0]
        tab = r.table.copy()
        for k, v in (("base_inc_nmb", float(r.base["inc_nmb"])), ("strategy", r.strategy),
                     ("comparator", r.comparator), ("wtp", r.wtp), ("perspective", r.perspective)):
            tab[k] = v
        tab.to_csv(sub / "dsa_one_way.csv", index=False)
        one_way_long(r).to_csv(sub / "dsa_one_way_long.csv", index=False)
        about.update({"strategy": r.strategy, "comparator": r.comparator, "wtp": r.wtp, "perspective": r.perspective,
                      "base_inc_nmb": float(r.base["inc_nmb"]), "one_way_parameters": list(r.table["parameter"])})
        if figures:
            _save(tornado(r, labels=c.get("labels"), currency=c.get("currency"), price_year=c.get("price_year")),
                  sub, "tornado")
    if tw:
        f = tw[0]
        f.to_csv(sub / "dsa_two_way.csv", index=False)
        about["two_way"] = {k: v for k, v in f.attrs.items() if k != "analysis"}
        if figures:
            _save(two_way_heatmap(f, currency=c.get("currency"), price_year=c.get("price_year")), sub, "two_way")
    if th:
        rows = []
        for t in th:
            t.grid.to_csv(sub / f"threshold_{t.parameter}.csv", index=False)
            lo, hi = t.bounds if t.bounds is not None else (None, None)
            rows.append({"parameter": t.parameter, "threshold": t.threshold, "search_low": lo, "search_high": hi,
                         "bounds_from": t.bounds_from, "message": t.message})
        pd.DataFrame(rows).to_csv(sub / "thresholds.csv", index=False)
        about["thresholds"] = rows
    return about


# ----------------------------------------------------------------------------------------- EVPPI and GSA


def _write_evppi(sub: Path, results: Iterable[Any], scenario: Any, figures: bool) -> dict[str, Any]:
    from heecon.report.figures import evppi_bars

    (r,) = results
    r.to_frame().to_csv(sub / "evppi.csv", index=False)
    if figures:
        c = _ctx(scenario)
        _save(evppi_bars(r, currency=c.get("currency"), price_year=c.get("price_year")), sub, "evppi")
    return {"n_samples": r.n_samples, "perspective": r.perspective, "wtp": list(map(float, r.wtp)),
            "evpi": list(map(float, r.evpi)), "population": r.population, "groups": r.groups}


def _write_gsa(sub: Path, results: Iterable[Any], scenario: Any, figures: bool) -> dict[str, Any]:
    from heecon.report.figures import morris_bars, sobol_bars

    (r,) = results
    sobol = type(r).__name__ == "SobolResult"
    name = "gsa_sobol" if sobol else "gsa_morris"
    r.to_frame().to_csv(sub / f"{name}.csv", index=False)
    if sobol and r.S2 is not None:
        r.S2.to_csv(sub / "gsa_sobol_S2.csv")
    if figures:
        _save((sobol_bars if sobol else morris_bars)(r), sub, "sobol" if sobol else "morris")
    return {"method": "sobol" if sobol else "morris", "strategy": r.strategy, "comparator": r.comparator,
            "wtp": r.wtp, "perspective": r.perspective, "n_evaluations": r.n_evaluations, "seed": r.seed}


# ------------------------------------------------------------------------------------------------------- CEA


def cea_tables(r: Any) -> dict[str, pd.DataFrame]:
    """The tables of a :class:`heecon.cea.CEAResult`, as ``heecon cea`` writes them."""
    ceac = pd.DataFrame(np.asarray(r.ceac), columns=list(r.strategies))
    ceac.insert(0, "wtp", np.asarray(r.wtp))
    ceac["frontier"] = r.ceaf_strategies
    ceac["frontier_probability"] = np.asarray(r.ceaf_probability)
    ceac["evpi"] = np.asarray(r.evpi)
    long = r.to_frame().rename(columns={"ceac": "probability_cost_effective"})
    out = {"icers.csv": r.icers, "ceac.csv": ceac, "ceac_long.csv": long,
           "breakeven_wtp.csv": pd.concat([r.breakeven.assign(method="exact (on the means)"),
                                           r.breakeven_grid.assign(method="grid (as BCEA)")], ignore_index=True)}
    if r.ref is not None:
        rows = []
        for comp in r.eib:
            for w, e, p in zip(r.wtp, r.eib[comp], r.prob_ref_better[comp]):
                rows.append({"reference": r.ref, "comparator": comp, "wtp": float(w), "eib": float(e),
                             "probability_reference_better": float(p)})
        out["pairwise.csv"] = pd.DataFrame(rows)
    return out


def _write_cea(sub: Path, results: Iterable[Any], scenario: Any, figures: bool) -> dict[str, Any]:
    from heecon.report.figures import ce_plane, ceac, evpi_curve

    (r,) = results
    for name, frame in cea_tables(r).items():
        frame.to_csv(sub / name, index=False)
    comp = r.ref if r.ref is not None else next((str(x.strategy) for x in r.icers.itertuples() if x.status == "ref"),
                                                r.strategies[0])
    lines = [float(w) for w in r.wtp] if np.asarray(r.wtp).size <= 4 else []
    if figures:
        if r.costs is not None and len(r.strategies) > 1:
            n, k = r.costs.shape
            frame = pd.DataFrame({"sample": np.repeat(np.arange(n), k), "strategy": np.tile(r.strategies, n),
                                  "costs": np.asarray(r.costs).ravel(), "qalys": np.asarray(r.effects).ravel()})
            ax = ce_plane(frame, comparator=comp, wtp=lines or None, currency="")
            ax.set_xlabel(f"Incremental effect per person (vs {comp})")
            ax.set_ylabel("Incremental cost per person")
            _save(ax, sub, "ce_plane")
        if np.asarray(r.wtp).size > 1:
            _save(ceac(r, currency=""), sub, "ceac")
            _save(evpi_curve(r, currency=""), sub, "evpi")
    return {"strategies": list(r.strategies), "n_draws": int(r.n_draws), "ce_plane_comparator": comp,
            "wtp_first": float(np.min(r.wtp)), "wtp_last": float(np.max(r.wtp)), "wtp_values": int(np.size(r.wtp)),
            "ref": r.ref}


def _write_evsi(sub: Path, results: Iterable[Any], scenario: Any, figures: bool) -> dict[str, Any]:
    from heecon.report.figures.voi import enbs_curve, evsi_curve, wtps_of

    ev = next((r for r in results if type(r).__name__ == "EVSIResult"), None)
    nb = next((r for r in results if type(r).__name__ == "ENBSResult"), None)
    if ev is None:
        raise TypeError("save_analysis of value of sample information needs the EVSIResult (and optionally its ENBS)")
    ev.to_frame().to_csv(sub / "evsi.csv", index=False)
    if nb is not None:
        nb.to_frame().to_csv(sub / "enbs.csv", index=False)
        nb.optimal.to_csv(sub / "enbs_optimal.csv", index=False)
    if figures:
        c = _ctx(scenario)
        money = {"currency": c.get("currency"), "price_year": c.get("price_year")}
        for i, w in enumerate(wtps_of(ev)):
            tag = "" if i == 0 else f"_{w:.0f}"
            _save(evsi_curve(ev, wtp=w, **money), sub, f"evsi{tag}")
            if nb is not None:
                _save(enbs_curve(nb, wtp=w, **money), sub, f"enbs{tag}")
    d = ev.design
    pop = ev.population
    about: dict[str, Any] = {
        "design": d.name, "design_label": d.label, "outcome": d.outcome, "arms": d.arms,
        "informs": list(d.informs), "informed_parameters": d.informed_parameters,
        "parameters": dict(d.parameters), "follow_up_years": d.follow_up_years,
        "n_per_arm": [int(x) for x in ev.n], "methods": list(ev.methods), "n_samples": int(ev.n_samples),
        "perspective": ev.perspective, "wtp": [float(w) for w in ev.wtp],
        "evpi": [float(x) for x in ev.evpi], "evppi": [float(x) for x in ev.evppi], "level": float(ev.level),
        "n0": {k: float(v) for k, v in ev.n0.items()},
    }
    if pop is not None:
        about["population"] = {"population_per_year": pop.population_per_year, "years": pop.years,
                               "discount_rate": pop.discount_rate, "timing": pop.timing, "source": pop.source,
                               "discounted_people": pop.factor()}
    if nb is not None:
        about["study_costs"] = {"fixed": nb.fixed_cost, "per_participant": nb.cost_per_participant, "arms": nb.arms}
    return about


_WRITERS = {"dsa": _write_dsa, "evppi": _write_evppi, "gsa_sobol": _write_gsa, "gsa_morris": _write_gsa,
            "cea": _write_cea, "evsi": _write_evsi}
