"""Cost-consequence table: what a strategy changes, per 100 participants, in natural units and in money by payer.

For each strategy against the comparator (``settings.comparator``), per ``per`` participants (default 100):

* every event added or averted (microsimulation ``events:<name>`` columns; labelled with the event's label),
  with a total of the ``settings.averted_events`` (labelled ``settings.averted_label``);
* days spent in each state that is not death (occupancy of the trace, weighted exactly as the model counts
  life years -- the scenario's within-cycle convention, undiscounted -- times the cycle length in days:
  91.3 days for a 3-month cycle);
* QALYs and life years (discounted);
* every sector's costs (discounted; positive = costs rise, negative = savings) and the total per perspective;
* the cost per event averted (``averted_label``) in each perspective;
* return on investment by payer: "NHS/PSS spends X, justice saves Y, victims are spared Z" as rows and as a
  sentence (:func:`roi_sentences`). Payers group sectors: NHS/PSS = nhs, nhs_victims, pss; justice = police,
  courts, prisons, probation; victims = victims (sectors in none of them form "other").

``value_per_100`` is always the base case (strategy minus comparator). ``lower`` / ``upper`` are the 2.5th and
97.5th percentiles over the PSA samples where the PSA holds the quantity (QALYs, life years, sector and
perspective costs, payer totals and ratios); the PSA does not record event counts or state occupancy, so those
rows (and the cost per event averted) have no interval.

:func:`consequence_writer` returns a writer for :func:`heecon.report.results_folder.write_results` that puts
``cost_consequence.csv`` (columns ``strategy, item, group, unit, value_per_100, lower, upper``) and
``cost_consequence.md`` into a results folder.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from heecon.outcomes.perspectives import distinct_perspectives, perspective_costs
from heecon.scenario.sectors import PAYER_GROUPS, SECTOR_LABELS, payer_groups

__all__ = ["PAYER_GROUPS", "SECTOR_LABELS", "cost_consequence", "consequence_markdown", "consequence_writer",
           "payer_groups", "roi_sentences"]

_COLUMNS = ["strategy", "item", "group", "unit", "value_per_100", "lower", "upper"]
_DAYS_PER_YEAR = 365.25


def _interval(x: np.ndarray | None) -> tuple[float, float]:
    if x is None:
        return math.nan, math.nan
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return math.nan, math.nan
    lo, hi = np.percentile(x, [2.5, 97.5])
    return float(lo), float(hi)


def _singular(label: str) -> str:
    return label[:-1] if label.endswith("s") and not label.endswith("ss") else label


def _days_in_states(result: Any) -> dict[str, dict[str, float]]:
    """Undiscounted days per person in each non-dead state, by strategy, weighted like the model's life years."""
    sc = result.scenario
    trace = result.trace
    model = result.model
    names = list(model.reward_names)
    r = names.index("lys") if "lys" in names else len(names) - 1
    W = np.asarray(model.W)  # [2, 3, R, T]; W[1] = undiscounted weights
    a, b = W[1, 0, r, :], W[1, 1, r, :]
    cycle_days = sc.settings.cycle_years * _DAYS_PER_YEAR
    states = [s for s, st in sc.states.items() if not st.dead and s in trace.columns]
    out: dict[str, dict[str, float]] = {}
    for strat in sc.strategies:
        f = trace[trace["strategy"] == strat].sort_values("cycle")
        T = len(a)
        out[strat] = {}
        for s in states:
            occ = f[s].to_numpy(dtype=float)
            if occ.size != T + 1:
                raise ValueError(f"trace of strategy '{strat}' has {occ.size} points; the model has {T} cycles")
            out[strat][s] = float((a * occ[:-1] + b * occ[1:]).sum() * cycle_days)
    return out


def cost_consequence(result: Any, psa: Any = None, per: float = 100) -> pd.DataFrame:
    """The cost-consequence table of a base case (and its PSA), per ``per`` participants.

    Parameters
    ----------
    result
        A :class:`heecon.outcomes.base_case.BaseCaseResult`.
    psa
        Optional :class:`heecon.sensitivity.psa.PSAResult` of the same scenario: 95% intervals.
    per
        Participants the table is expressed per (default 100).

    Returns
    -------
    pandas.DataFrame
        Columns ``strategy, item, group, unit, value_per_100, lower, upper`` (``value_per_100`` is per ``per``
        participants whatever ``per`` is); one block of rows per strategy other than the comparator. Money is
        discounted, in the scenario's currency and price year; positive = more with the strategy.
        ``frame.attrs["sentences"]`` holds the return-on-investment sentence of each strategy.
    """
    sc = result.scenario
    st = sc.settings
    o = result.outcomes
    comp = st.comparator
    strategies = list(sc.strategies)
    if comp not in strategies:
        raise ValueError(f"the comparator '{comp}' is not one of the strategies {strategies}")
    cur = st.currency
    sectors = list(sc.sectors)
    groups = payer_groups(sectors)
    perspectives = distinct_perspectives(sc)
    ev_labels = {n: e.label for n, e in (sc.microsim.events.items() if sc.microsim is not None else [])}
    ev_cols = [c for c in o.columns if c.startswith("events:")]
    averted = [e for e in st.averted_events if f"events:{e}" in o.columns]
    alabel = st.averted_label or "events"
    days = _days_in_states(result) if result.trace is not None and result.model is not None else {}
    if psa is not None:
        if list(psa.strategies) != strategies or list(psa.reward_names) != list(result.model.reward_names):
            raise ValueError("the PSA result is not of the same scenario (strategies or rewards differ)")
    icomp = strategies.index(comp)
    rows: list[dict[str, Any]] = []
    sentences: dict[str, str] = {}

    def add(strategy: str, item: str, group: str, unit: str, value: float, samples: np.ndarray | None = None) -> None:
        lo, hi = _interval(samples)
        rows.append({"strategy": strategy, "item": item, "group": group, "unit": unit,
                     "value_per_100": float(value), "lower": lo, "upper": hi})

    def psa_diff(j: int, r: int) -> np.ndarray | None:
        if psa is None:
            return None
        return (psa.totals[:, j, r, 0] - psa.totals[:, icomp, r, 0]) * per

    def psa_sectors(j: int, secs: Sequence[str]) -> np.ndarray | None:
        if psa is None:
            return None
        return (perspective_costs(psa.totals[:, j], sc, secs) - perspective_costs(psa.totals[:, icomp], sc, secs)) * per

    for s in strategies:
        if s == comp:
            continue
        j = strategies.index(s)
        # events
        for c in ev_cols:
            name = c.split(":", 1)[1]
            add(s, ev_labels.get(name, name), "events", "events (strategy minus comparator; negative = averted)",
                (o.loc[s, c] - o.loc[comp, c]) * per)
        n_averted = math.nan
        if averted:
            n_averted = float(sum(o.loc[comp, f"events:{e}"] - o.loc[s, f"events:{e}"] for e in averted))
            add(s, f"{alabel.capitalize()} averted (total of {len(averted)} event types)", "events",
                f"{alabel} averted (positive = fewer)", n_averted * per)
        # time in states
        for state, d in days.get(s, {}).items():
            label = sc.states[state].label or state
            add(s, f"Days: {label}", "time", "days (undiscounted; strategy minus comparator)",
                (d - days[comp][state]) * per)
        # health
        names = list(result.model.reward_names)
        for r_name, item in (("qalys", "QALYs"), ("lys", "Life years")):
            if r_name in o.columns:
                add(s, item, "health", f"{item} (discounted)", (o.loc[s, r_name] - o.loc[comp, r_name]) * per,
                    psa_diff(j, names.index(r_name)) if r_name in names else None)
        # sector costs
        for payer, secs in groups.items():
            for sec in secs:
                add(s, f"Costs: {SECTOR_LABELS.get(sec, sec)}", f"costs: {payer}",
                    f"{cur} (discounted; negative = saving)", (o.loc[s, sec] - o.loc[comp, sec]) * per,
                    psa_diff(j, sectors.index(sec)))
        # perspective totals
        inc_p: dict[str, float] = {}
        for p in perspectives:
            col = f"costs[{p}]"
            inc_p[p] = float(o.loc[s, col] - o.loc[comp, col])
            add(s, f"Total costs: {p} perspective ({', '.join(sc.perspectives[p])})", "costs: perspective totals",
                f"{cur} (discounted; negative = saving)", inc_p[p] * per,
                psa.costs(p)[:, j] * per - psa.costs(p)[:, icomp] * per if psa is not None else None)
        # cost per event averted
        if averted:
            for p in perspectives:
                v = inc_p[p] / n_averted if n_averted > 0 else math.nan
                add(s, f"Cost per {_singular(alabel)} averted: {p} perspective", f"cost per {_singular(alabel)} averted",
                    f"{cur} per {_singular(alabel)} averted (negative = saves money)", v)
        # return on investment by payer
        inc_g = {g: float(sum(o.loc[s, x] - o.loc[comp, x] for x in secs)) * per for g, secs in groups.items()}
        smp_g = {g: psa_sectors(j, secs) for g, secs in groups.items()}
        for g, secs in groups.items():
            verb, sign = _roi_verb(g, inc_g[g])
            add(s, f"{g} {verb}", "return on investment",
                f"{cur} (discounted; {'spend' if sign > 0 else 'saving'} shown positive)", sign * inc_g[g],
                sign * smp_g[g] if smp_g[g] is not None else None)
        health = "NHS/PSS"
        if health in groups and inc_g[health] > 0:
            spend, spend_s = inc_g[health], smp_g[health]
            others = [g for g in groups if g != health]
            combos = [[g] for g in others if g == "Justice"]
            if len(others) > 1 or not combos:
                combos.append(others)
            for targets in combos:
                if not targets:
                    continue
                saved = -sum(inc_g[g] for g in targets)
                samples = None
                if spend_s is not None and np.all(spend_s > 0):
                    samples = -np.sum([smp_g[g] for g in targets], axis=0) / spend_s
                add(s, f"{' + '.join(targets)} saving per 1 {cur} NHS/PSS spends", "return on investment",
                    f"ratio ({cur} saved per {cur} spent)", saved / spend, samples)
        sentences[s] = _roi_sentence(result, s, inc_g, smp_g, per, psa)
    df = pd.DataFrame(rows, columns=_COLUMNS)
    df.attrs["sentences"] = sentences
    df.attrs["per"] = per
    df.attrs["comparator"] = comp
    return df


def _roi_verb(group: str, inc: float) -> tuple[str, int]:
    """("spends", +1) when the payer's costs rise, ("saves", -1) when they fall; victims are 'spared' harm."""
    if group == "Victims":
        return ("are spared" if inc <= 0 else "bear more"), (-1 if inc <= 0 else 1)
    return ("spends" if inc > 0 else "saves"), (1 if inc > 0 else -1)


#: How the ROI sentence names each payer, with its verbs (costs rise, costs fall).
_PHRASES = {"NHS/PSS": ("the NHS and social care", "spend", "save"),
            "Justice": ("the criminal-justice system", "spends", "saves"),
            "Victims": ("victims", "bear", "are spared"),
            "Other": ("other payers", "spend", "save")}


def _roi_sentence(result: Any, s: str, inc_g: Mapping[str, float], smp_g: Mapping[str, np.ndarray | None],
                  per: float, psa: Any) -> str:
    from heecon.report.format import format_money

    sc = result.scenario
    st = sc.settings
    cur = st.currency
    comp = st.comparator
    parts = []
    for g, inc in inc_g.items():
        who, up, down = _PHRASES.get(g, (g, "spends", "saves"))
        sign = 1 if inc > 0 else -1
        txt = f"{who} {up if sign > 0 else down} {format_money(sign * inc, cur, compact=False)}"
        if g == "Victims":
            txt += " more in harm" if sign > 0 else " in harm"
        lo, hi = _interval(sign * smp_g[g] if smp_g.get(g) is not None else None)
        if math.isfinite(lo):
            txt += f" (95% interval {format_money(lo, cur, compact=False)} to {format_money(hi, cur, compact=False)})"
        parts.append(txt)
    if not parts:
        return ""
    body = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    label = sc.strategies[s].label or s
    clabel = sc.strategies[comp].label or comp
    py = f" {st.price_year}" if st.price_year else ""
    unc = f"; intervals from {psa.totals.shape[0]} PSA samples" if psa is not None else ""
    return (f"Per {per:g} participants, {label} instead of {clabel}: {body} over {st.horizon_years:g} years "
            f"(discounted {cur}{py}{unc}).")


def roi_sentences(result: Any, psa: Any = None, per: float = 100) -> dict[str, str]:
    """"NHS/PSS spends X, justice saves Y, victims are spared Z" for each strategy against the comparator."""
    return dict(cost_consequence(result, psa, per).attrs["sentences"])


def _fmt(v: Any, unit: str, cur: str | None) -> str:
    try:
        x = float(v)
    except (TypeError, ValueError):
        return ""
    if not math.isfinite(x):
        return "—"
    if unit.startswith("ratio"):
        return f"{x:.2f}"
    if cur and unit.startswith(cur):
        from heecon.report.format import format_money

        return format_money(x, cur, compact=False)
    if "QALY" in unit or "Life years" in unit:
        return f"{x:.3f}"
    return f"{x:,.1f}"


def consequence_markdown(frame: pd.DataFrame, result: Any, psa: Any = None) -> str:
    """The cost-consequence table as Markdown, with the return-on-investment sentences and the conventions."""
    sc = result.scenario
    st = sc.settings
    cur = st.currency
    per = frame.attrs.get("per", 100)
    lines = [f"# Cost-consequence analysis: {sc.title}", ""]
    for s, text in frame.attrs.get("sentences", {}).items():
        lines += [text, ""]
    for s in pd.unique(frame["strategy"]):
        lab = sc.strategies[s].label or s
        clab = sc.strategies[st.comparator].label or st.comparator
        lines += [f"## {lab} vs {clab}, per {per:g} participants", "",
                  "| Item | Group | Unit | Value | 95% interval |", "|---|---|---|---:|---|"]
        for r in frame[frame["strategy"] == s].itertuples(index=False):
            ci = (f"{_fmt(r.lower, r.unit, cur)} to {_fmt(r.upper, r.unit, cur)}"
                  if math.isfinite(float(r.lower)) else "—")
            lines.append(f"| {r.item} | {r.group} | {r.unit} | {_fmt(r.value_per_100, r.unit, cur)} | {ci} |")
        lines.append("")
    n_psa = f"{psa.totals.shape[0]} PSA samples" if psa is not None else "no PSA was run"
    lines += [
        "Notes",
        "",
        f"- Values are the base case, strategy minus comparator, per {per:g} participants over the "
        f"{st.horizon_years:g}-year horizon; money is discounted ({cur}, {st.price_year or 'price year not stated'}"
        " prices); a negative cost is a saving.",
        f"- 95% intervals: 2.5th-97.5th percentiles over the PSA ({n_psa}). Event counts, days in states and the "
        "cost per event averted are base case only (the PSA does not record them).",
        "- Days in each state: the trace's occupancy weighted as the model counts life years (within-cycle "
        "convention, undiscounted) times the cycle length in days (365.25 / year).",
        "- Payers: " + "; ".join(f"{g} = {', '.join(secs)}" for g, secs in payer_groups(list(sc.sectors)).items()) + ".",
    ]
    if st.engine == "microsim":
        lines.append(f"- Microsimulation of {result.extra.get('microsim', {}).get('individuals', st.individuals)} "
                     "individuals per strategy (common random numbers); base-case values carry Monte Carlo error.")
    return "\n".join(lines) + "\n"


def consequence_writer(result: Any, psa: Any = None, per: float = 100) -> Callable[[Path], None]:
    """A writer for :func:`heecon.report.results_folder.write_results`: ``cost_consequence.csv`` and ``cost_consequence.md``."""

    def write(folder: Path) -> None:
        if len(result.scenario.strategies) < 2:
            return  # nothing to compare
        folder = Path(folder)
        frame = cost_consequence(result, psa, per)
        frame.to_csv(folder / "cost_consequence.csv", index=False)
        (folder / "cost_consequence.md").write_text(consequence_markdown(frame, result, psa), encoding="utf-8")

    return write
