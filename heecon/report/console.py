"""Readable console tables (rich) for finished results. No computation here."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from heecon.report.answer import perspective_short


def money(x: float, currency: str = "GBP") -> str:
    sym = {"GBP": "£", "USD": "$", "EUR": "€"}.get(currency, "")
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    return f"{'-' if x < 0 else ''}{sym}{abs(x):,.0f}" if sym else f"{x:,.0f} {currency}"


def price_text(year: Any, currency: str | None) -> str:
    """UK public-sector prices are financial years: 2023 reads "2023/24" (GBP); other currencies keep the year."""
    if year is None:
        return ""
    return f"{int(year)}/{(int(year) + 1) % 100:02d}" if currency == "GBP" else f"{int(year)}"


def print_answer(result: Any, psa: Any = None, analyses: Any = None, console: Console | None = None) -> None:
    """The commissioner's answer (heecon.report.answer), printed last so that it is the screen a run ends on."""
    from heecon.report.answer import answer, answer_lines

    con = console or Console(width=120)
    lines = answer_lines(answer(result, psa, analyses))
    if not lines:
        return
    con.print("[bold]The answer[/bold] (per man, discounted; PSA intervals and probabilities where a PSA ran)")
    for ln in lines:
        con.print(ln, highlight=False)


def print_base_case(result: Any, out_dir: Path | None = None, console: Console | None = None) -> None:
    con = console or Console(width=120)
    sc = result.scenario
    st = sc.settings
    cur = st.currency
    con.print(f"[bold]{sc.title}[/bold]")
    price = f", {price_text(st.price_year, cur)} prices" if st.price_year else ""
    con.print(
        f"{st.engine} model, {st.n_cycles} cycles of {st.cycle_length_months:g} months ({st.horizon_years:g} years); "
        f"counting: {st.counting}; discounting {st.discounting}: costs {st.discount_costs.describe()}, "
        f"effects {st.discount_effects.describe()}; perspective: {perspective_short(st.perspective)}; {cur}{price}"
    )
    # sectors as rows, strategies as columns: as many sectors as a scenario has, nothing is cut at 80-120 columns
    from heecon.report.answer import sector_label

    t = Table(title="Per person (discounted)")
    t.add_column("")
    names = list(result.outcomes.index)
    for name in names:
        t.add_column(sc.strategies[name].label or name, justify="right")
    t.add_row("Costs (" + perspective_short(st.perspective) + ")", *[money(result.outcomes.loc[n, "costs"], cur) for n in names])
    for s in sc.sectors:
        if (result.outcomes[s] != 0).any():
            t.add_row(f"  {sector_label(s, sc.labels)}", *[money(result.outcomes.loc[n, s], cur) for n in names])
    t.add_row("QALYs", *[f"{result.outcomes.loc[n, 'qalys']:.4f}" for n in names])
    t.add_row("Life years", *[f"{result.outcomes.loc[n, 'lys']:.4f}" for n in names])
    con.print(t)
    it = Table(title=f"Incremental analysis ({perspective_short(st.perspective)} perspective)")
    for c in ("Strategy", "Costs", "QALYs", "Inc. costs", "Inc. QALYs", "ICER", "Status"):
        it.add_column(c, justify="left" if c in ("Strategy", "Status") else "right")
    status_text = {"ref": "reference", "ND": "frontier", "D": "dominated", "ED": "ext. dominated"}
    for _, r in result.icers.iterrows():
        icer = r["icer"]
        it.add_row(str(r["strategy"]), money(r["cost"], cur), f"{r['effect']:.4f}",
                   money(r["inc_cost"], cur) if _finite(r["inc_cost"]) else "",
                   f"{r['inc_effect']:.4f}" if _finite(r["inc_effect"]) else "",
                   money(icer, cur) + "/QALY" if _finite(icer) else "", status_text.get(r["status"], r["status"]))
    con.print(it)
    nmb = result.nmb()
    nt = Table(title="Net monetary benefit per person")
    nt.add_column("Strategy")
    for w in st.wtp:
        nt.add_column(f"at {money(w, cur)}/QALY", justify="right")
    for name in result.outcomes.index:
        nt.add_row(name, *[money(float(nmb[(nmb.wtp == w) & (nmb.strategy == name)].nmb.iloc[0]), cur) for w in st.wtp])
    con.print(nt)
    if out_dir is not None:
        con.print(f"Results written to {out_dir}/")


def _finite(x: Any) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def print_psa(psa: Any, console: Console | None = None) -> None:
    con = console or Console(width=120)
    sc = psa.scenario
    st = sc.settings
    cur = st.currency
    summ = psa.summary()
    t = Table(title=f"Probabilistic analysis: {summ['n_samples']:,} samples (seed {summ['seed']}), mean [95% interval]")
    for c in ("Strategy", "Costs", "QALYs", "Inc. costs", "Inc. QALYs"):
        t.add_column(c, justify="left" if c == "Strategy" else "right")
    for row in summ["strategies"]:
        def ci(d: dict, fmt: Any) -> str:
            return f"{fmt(d['mean'])} [{fmt(d['lower'])}, {fmt(d['upper'])}]"
        m = lambda x: money(x, cur)  # noqa: E731
        q = lambda x: f"{x:.3f}"  # noqa: E731
        t.add_row(row["strategy"], ci(row["costs"], m), ci(row["qalys"], q),
                  ci(row["inc_costs"], m) if row["strategy"] != st.comparator else "",
                  ci(row["inc_qalys"], q) if row["strategy"] != st.comparator else "")
    con.print(t)
    pt = Table(title="Probability cost-effective and EVPI per person")
    pt.add_column("WTP per QALY")
    for s in psa.strategies:
        pt.add_column(s, justify="right")
    pt.add_column("EVPI", justify="right")
    for w, probs in summ["prob_cost_effective"].items():
        pt.add_row(money(float(w), cur), *[f"{probs[s]:.3f}" for s in psa.strategies],
                   money(summ["evpi_per_person"][w], cur))
    con.print(pt)


def _icer_text(e: dict[str, Any], cur: Any) -> str:
    """The ICER cell of a headline row: per QALY gained (north-east) or, when the strategy is cheaper and less
    effective (south-west), the saving per QALY lost, which a bare ratio would present as a cost per QALY."""
    if e["icer"] is None:
        return "—"
    if e["inc_costs"] < 0 and e["inc_qalys"] < 0:
        return f"saves {money(-e['inc_costs'] / -e['inc_qalys'], cur)} per QALY lost"
    return money(e["icer"], cur) + "/QALY"


def print_headline(result: Any, psa: Any = None, console: Console | None = None) -> None:
    """Per perspective: incremental cost and QALYs, ICER, net benefit, P(cost-effective), events averted."""
    from heecon.cea.headline import headline

    con = console or Console(width=120)
    h = headline(result, psa)
    cur = result.scenario.settings.currency
    lab = h["averted_label"]
    # one table per strategy, a column per perspective: every cell fits, nothing is cut
    persp = list(h["perspectives"])
    by_strategy: dict[str, dict[str, dict[str, Any]]] = {}
    for p, per in h["perspectives"].items():
        entries = per.values() if per and "strategy" not in per else [per]
        for e in entries:
            if e:
                by_strategy.setdefault(e["strategy"], {})[p] = e
    for strat, cells in by_strategy.items():
        t = Table(title=f"Headline per person: {strat} vs {h['comparator']} (discounted)")
        t.add_column("")
        for p in persp:
            t.add_column(perspective_short(p), justify="right")

        def row(label: str, fn: Any) -> None:
            t.add_row(label, *[fn(cells[p]) if p in cells else "—" for p in persp])

        row("Incremental cost", lambda e: money(e["inc_costs"], cur))
        row("Incremental QALYs", lambda e: f"{e['inc_qalys']:.4f}")
        row("ICER", lambda e: e["dominance"] or _icer_text(e, cur))
        for w in h["wtp"]:
            row(f"Inc. net benefit at {money(w, cur)}/QALY", lambda e, w=w: money(e["inc_nmb"][str(int(w))], cur))
        if psa is not None:
            for w in h["wtp"]:
                row(f"P(cost-effective) at {money(w, cur)}/QALY",
                    lambda e, w=w: f"{e['prob_cost_effective'][str(int(w))]:.3f}")
        if h["averted_events"]:
            row(f"{lab.capitalize()} averted per 100",
                lambda e: f"{e['averted_per_100']:.1f}" if e.get("averted_per_100") is not None else "—")
            row(f"Net cost per {lab.rstrip('s')} averted",
                lambda e: money(e["cost_per_averted"], cur) if e.get("cost_per_averted") is not None else "—")
        con.print(t)
    if h["averted_events"]:
        sing = lab[:-1] if lab.endswith("s") else lab
        for p, per in h["perspectives"].items():
            entries = per.values() if per and "strategy" not in per else [per]
            for e in entries:
                if e and e.get("averted_per_100") is not None:
                    cpa = e.get("cost_per_averted")
                    word = "net saving" if cpa is not None and cpa < 0 else "net cost"
                    con.print(f"{perspective_short(p)}: {e['strategy']} vs {h['comparator']}: {e['averted_per_100']:.1f} {lab} averted per 100 "
                              f"people; {word} per {sing} averted "
                              f"{money(abs(cpa), cur) if cpa is not None else 'n/a'}")
