"""The answer a commissioner reads first: per person, what each payer pays or saves, the measures (prison-years,
offences averted), the QALYs, whether the programme pays for itself (with the PSA's probability, the parameters
the answer depends on most and the break-even values found), and the name of the analysis each perspective gives.

Computed from the finished results of any scenario (nothing here is written for one answer); the words follow the
numbers: "pays for itself" is said only with its probability and its drivers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from heecon.cea.headline import finite_or_none
from heecon.scenario.sectors import SECTOR_LABELS, payer_groups

__all__ = ["PERSPECTIVE_LABELS", "answer", "answer_lines", "perspective_label", "perspective_short", "sector_label"]

#: Readable names of the usual perspectives (others are shown by their name).
PERSPECTIVE_LABELS: dict[str, str] = {
    "nhs_pss": "NHS and personal social services",
    "nhs": "NHS",
    "public_sector": "Public sector (NHS, social care and criminal justice)",
    "societal": "Societal (public sector and victims)",
    "all": "All sectors",
}


#: Short names of the usual perspectives, for table headers.
PERSPECTIVE_SHORT = {"nhs_pss": "NHS/PSS", "public_sector": "Public sector", "societal": "Societal", "nhs": "NHS",
                     "all": "All sectors"}


def perspective_short(name: str) -> str:
    return PERSPECTIVE_SHORT.get(name, name.replace("_", " "))


def sector_label(name: str, labels: dict[str, str] | None = None) -> str:
    return (labels or {}).get(name) or SECTOR_LABELS.get(name, name)


def perspective_label(name: str, labels: dict[str, str] | None = None) -> str:
    return (labels or {}).get(name) or PERSPECTIVE_LABELS.get(name, name.replace("_", " "))


def _interval(x: np.ndarray) -> list[float]:
    return [float(np.quantile(x, 0.025)), float(np.quantile(x, 0.975))]


def _measures(sc: Any, o: Any, s: str, comp: str) -> list[dict[str, Any]]:
    """Each ``[[measures]]`` entry: per person, the strategy, the comparator and the difference."""
    from heecon.model.markov import parameter_value

    out = []
    for m in getattr(sc.analyses, "measures", ()) or ():
        cols = [f"events:{e}" for e in m.events]
        if not all(c in o.columns for c in cols):
            continue
        w = [1.0 if x is None else parameter_value(sc, x) for x in m.weights]
        vals = {k: m.scale * float(sum(wi * o.loc[k, c] for wi, c in zip(w, cols))) for k in (s, comp)}
        if any(not math.isfinite(v) for v in vals.values()):
            continue
        out.append({"label": m.label, "unit": m.unit, "strategy": vals[s], "comparator": vals[comp],
                    "difference": vals[s] - vals[comp], "description": m.description})
    return out


def _drivers(frames: dict[str, Any], perspective: str, strategy: str, n: int = 3,
             sc: Any = None) -> list[dict[str, Any]]:
    """The parameters that move the incremental cost in ``perspective`` most (one-way DSA, dsa.csv)."""
    d = frames.get("dsa.csv")
    if d is None or d.empty or "inc_costs_low" not in d.columns:
        return []
    d = d[(d["perspective"] == perspective) & (d["strategy"] == strategy)].copy()
    if d.empty:
        return []
    d["cost_swing"] = (d["inc_costs_high"] - d["inc_costs_low"]).abs()
    d = d.sort_values("cost_swing", ascending=False, kind="stable").head(n)
    def label(p: str) -> str:
        par = sc.parameters.get(p) if sc is not None else None
        return (par.label if par is not None and par.label else p)

    return [{"parameter": r.parameter, "label": label(r.parameter), "low": finite_or_none(r.low), "high": finite_or_none(r.high), "inc_costs_low": finite_or_none(r.inc_costs_low),
             "inc_costs_high": finite_or_none(r.inc_costs_high),
             "crosses_zero": bool((r.inc_costs_low <= 0) != (r.inc_costs_high <= 0))} for r in d.itertuples()]


def _break_evens(frames: dict[str, Any], perspective: str, sc: Any = None) -> list[dict[str, Any]]:
    t = frames.get("thresholds.csv")
    if t is None or t.empty:
        return []
    t = t[(t["perspective"] == perspective) & (t["measure"] == "net_cost")]
    par = sc.parameters if sc is not None else {}
    return [{"parameter": r.parameter, "label": r.label, "threshold": finite_or_none(r.threshold), "base": finite_or_none(r.base),
             "parameter_label": (par[r.parameter].label if r.parameter in par and par[r.parameter].label else r.parameter),
             "message": str(r.message)} for r in t.itertuples()]


def _analysis_type(dq_interval: list[float] | None, dq: float, cba: bool) -> tuple[str, str]:
    if dq_interval is not None and dq_interval[0] <= 0 <= dq_interval[1]:
        kind, why = "cost-consequence", "the QALY difference's 95% interval includes zero, so costs are set beside " \
                                        "the consequences (events averted, measures, QALYs) rather than divided by them"
    elif dq == 0:
        kind, why = "cost-consequence", "no QALY difference is modelled"
    else:
        kind, why = "cost-utility", "QALYs differ beyond the PSA's uncertainty: an ICER per QALY gained is reported"
    if cba:
        kind += " and cost-benefit"
        why += "; the QALYs are also valued in money (net present social value, benefit-cost ratio)"
    return kind, why


def answer(result: Any, psa: Any = None, analyses: Any = None) -> dict[str, Any]:
    """The commissioner's answer for each strategy against the comparator (per person, discounted money)."""
    sc = result.scenario
    st = sc.settings
    o = result.outcomes
    comp = st.comparator
    frames = analyses.frames() if analyses is not None else {}
    groups = payer_groups(list(sc.sectors), getattr(sc, "payers", None))
    labels = dict(getattr(sc, "labels", {}) or {})
    strategies = list(sc.strategies)
    cba_persp = {r["perspective"] for r in frames["cba.csv"].to_dict(orient="records")} if "cba.csv" in frames else set()
    out: dict[str, Any] = {"comparator": comp, "comparator_label": sc.strategies[comp].label or comp,
                           "currency": st.currency, "perspective": st.perspective,
                           "payers": {k: list(v) for k, v in groups.items()}, "labels": labels,
                           "n_psa": int(psa.totals.shape[0]) if psa is not None else 0, "strategies": {}}
    events = [e for e in st.averted_events if f"events:{e}" in o.columns]
    for s in strategies:
        if s == comp:
            continue
        j, jc = strategies.index(s), strategies.index(comp)
        e: dict[str, Any] = {"label": sc.strategies[s].label or s}
        e["payers"] = {p: float(sum(o.loc[s, x] - o.loc[comp, x] for x in secs)) for p, secs in groups.items()}
        if psa is not None:
            ri = {r: psa.reward_names.index(r) for r in sc.sectors}
            e["payers_interval"] = {p: _interval(sum(psa.totals[:, j, ri[x], 0] - psa.totals[:, jc, ri[x], 0]
                                                     for x in secs)) for p, secs in groups.items()}
        dq = float(o.loc[s, "qalys"] - o.loc[comp, "qalys"])
        e["inc_qalys"] = dq
        dq_int = _interval(psa.effects()[:, j] - psa.effects()[:, jc]) if psa is not None else None
        e["inc_qalys_interval"] = dq_int
        if events:
            e["averted_per_100"] = 100.0 * float(sum(o.loc[comp, f"events:{x}"] - o.loc[s, f"events:{x}"] for x in events))
        e["measures"] = _measures(sc, o, s, comp)
        per: dict[str, Any] = {}
        for p in sc.perspectives:
            dc = float(o.loc[s, f"costs[{p}]"] - o.loc[comp, f"costs[{p}]"])
            kind, why = _analysis_type(dq_int, dq, p in cba_persp)
            q: dict[str, Any] = {"inc_costs": dc, "pays_for_itself": dc <= 0, "analysis": kind, "why": why}
            if psa is not None:
                inc = psa.costs(p)[:, j] - psa.costs(p)[:, jc]
                q["prob_pays_for_itself"] = float(np.mean(inc <= 0))
                q["inc_costs_interval"] = _interval(inc)
            q["drivers"] = _drivers(frames, p, s, sc=sc)
            q["break_even"] = _break_evens(frames, p, sc)
            per[p] = q
        e["perspectives"] = per
        out["strategies"][s] = e
    return out


def _money(x: float, cur: str | None) -> str:
    sym = "£" if cur == "GBP" else ("$" if cur == "USD" else ("€" if cur == "EUR" else ""))
    txt = f"{abs(x):,.0f}"
    return f"{sym}{txt}" if sym else f"{txt} {cur or ''}".strip()


def _payer_phrase(payer: str, dc: float, cur: str | None, ci: list[float] | None) -> str:
    rng = ""
    if ci:  # the interval of the amount the phrase names (a saving as a positive amount saved)
        lo, hi = sorted((-ci[0], -ci[1]) if dc < 0 else (ci[0], ci[1]))
        rng = f" (95% interval {'-' if lo < 0 else ''}{_money(lo, cur)} to {'-' if hi < 0 else ''}{_money(hi, cur)})"
    if payer.lower().startswith("victim"):
        return (f"victims are spared {_money(-dc, cur)} of harm" if dc < 0 else
                f"victims bear {_money(dc, cur)} more harm") + rng
    who = {"NHS/PSS": "the NHS and social care", "Justice": "the justice system"}.get(payer, payer)
    return (f"it costs {who} {_money(dc, cur)}" if dc > 0 else f"it saves {who} {_money(-dc, cur)}") + rng


def answer_lines(ans: dict[str, Any], labels: dict[str, str] | None = None) -> list[str]:
    """The answer in sentences, one strategy after another: money per payer and the measures, the QALYs, whether
    it pays for itself in each perspective (with the probability and the drivers), and the analysis named."""
    cur = ans.get("currency")
    labels = {**(ans.get("labels") or {}), **(labels or {})}
    comp = ans.get("comparator_label") or ans["comparator"]
    lines: list[str] = []
    for s, e in ans["strategies"].items():
        pay = "; ".join(_payer_phrase(p, dc, cur, (e.get("payers_interval") or {}).get(p))
                        for p, dc in e["payers"].items())
        meas = [f"{m['label']} {m['difference']:+.3g} {m['unit']}" for m in e.get("measures", [])]
        if e.get("averted_per_100") is not None:
            meas.insert(0, f"{e['averted_per_100']:.0f} fewer offences per 100 men" if e["averted_per_100"] >= 0
                        else f"{-e['averted_per_100']:.0f} more offences per 100 men")
        dq_int = e.get("inc_qalys_interval")
        q = f"QALYs {e['inc_qalys']:+.3f}" + (f" (95% interval {dq_int[0]:+.3f} to {dq_int[1]:+.3f})" if dq_int else "")
        lines.append(f"Per man, {e['label']} against {comp}: {pay}. " + (", ".join(meas) + ". " if meas else "") + q + ".")
        for p, r in e["perspectives"].items():
            if p == "all" and len(e["perspectives"]) > 1:
                continue
            name = perspective_label(p, labels)
            prob = r.get("prob_pays_for_itself")
            if r["pays_for_itself"]:
                verdict = f"saves {_money(-r['inc_costs'], cur)} per man: it pays for itself in the base case"
            else:
                verdict = f"costs {_money(r['inc_costs'], cur)} more per man: it does not pay for itself in the base case"
            if prob is not None:
                verdict += f", and in {prob:.0%} of {ans['n_psa']:,} PSA samples"
            drv = [d.get("label") or d["parameter"] for d in r.get("drivers", [])]
            be = [b for b in r.get("break_even", []) if b["threshold"] is not None]
            tail = ""
            if drv:
                tail += f"; the answer depends most on {', '.join(drv)} (one-way sensitivity)"
            if be:
                tail += "; it breaks even at " + ", ".join(f"{b.get('parameter_label') or b['parameter']} = {_num(b['threshold'])} (base {_num(b['base'])})"
                                                          for b in be)
            lines.append(f"{name}: {verdict}{tail}. A {r['analysis']} analysis: {r['why']}.")
    return lines


def _num(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"
