"""The budget impact as people read it: a Markdown table per payer and year, and the files of a results folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from heecon.outcomes.budget_impact import BudgetImpact, budget_impact_details, budget_totals
from heecon.report.format import format_money

__all__ = ["budget_markdown", "budget_writer"]


def budget_markdown(bi: BudgetImpact, result: Any) -> str:
    """The budget impact, its funnel and its sources as Markdown."""
    sc = result.scenario
    st = sc.settings
    spec, funnel, frame = bi.spec, bi.funnel, bi.frame
    cur = st.currency
    m = lambda x: format_money(float(x), cur, compact=False)  # noqa: E731
    lab = sc.strategies[spec.strategy].label or spec.strategy
    clab = sc.strategies[spec.comparator].label or spec.comparator
    disc = "undiscounted" if spec.discount_rate is None else f"discounted at {spec.discount_rate:.1%} a year"
    lines = [f"# Budget impact: {lab} instead of {clab}", "",
             f"{spec.years} budget years, {cur} {st.price_year or ''} prices, {disc}; cohorts start at the "
             f"{'start' if spec.entry == 'start' else 'middle'} of each year. {spec.source}".rstrip(), "",
             "## Referral funnel (people per year)", "",
             "| Year | Referred | Assessed | Eligible | Willing to start | Uptake | Demand | Capacity | Starters | "
             "Completers |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in funnel.itertuples(index=False):
        lines.append(f"| {r.year} | {r.referred:,.1f} | {r.assessed:,.1f} | {r.eligible:,.1f} | "
                     f"{r.willing_to_start:,.1f} | {r.uptake:.0%} | {r.demand:,.1f} | {r.capacity:,.1f} | "
                     f"{r.starters:,.1f}{' (capacity)' if r.capacity_binds else ''} | {r.completers:,.1f} |")
    lines += ["", "## Net budget impact by payer (positive = extra spending)", "",
              "| Year | Payer | Gross cost | Savings | Net cost | Cashable savings | Non-cashable savings |",
              "|---:|---|---:|---:|---:|---:|---:|"]
    for r in frame.itertuples(index=False):
        lines.append(f"| {r.year} | {r.payer} | {m(r.gross_cost)} | {m(r.savings)} | {m(r.net_cost)} | "
                     f"{m(r.cashable_savings)} | {m(r.non_cashable_savings)} |")
    for r in budget_totals(frame).itertuples(index=False):
        lines.append(f"| {spec.years}-year total | {r.payer} | {m(r.gross_cost)} | {m(r.savings)} | "
                     f"{m(r.net_cost)} | {m(r.cashable_savings)} | {m(r.non_cashable_savings)} |")
    lines += ["", "Payers: " + "; ".join(f"{p} = {', '.join(s)}" for p, s in spec.payers.items()) + ".",
              "Cashable shares: " + ", ".join(f"{k} {v:g}" for k, v in spec.cashable.items()) + ".",
              "", "## Sources", ""]
    lines += [f"- `{k}`: {v}" for k, v in spec.sources.items()]
    return "\n".join(lines) + "\n"


def budget_writer(result: Any, scenario: Any = None) -> Callable[[Path], None]:
    """A writer for :func:`heecon.report.results_folder.write_results`: ``budget_impact.csv`` (year x payer),
    ``budget_funnel.csv``, ``budget_by_sector.csv`` and ``budget_impact.md``.

    Does nothing when the scenario has no ``[budget_impact]`` section; a malformed section raises
    :class:`ScenarioError` when the writer is made, before any results are written.
    """
    scenario = result.scenario if scenario is None else scenario
    if getattr(scenario, "budget", None) is None:
        return lambda folder: None
    spec = scenario.budget

    def write(folder: Path) -> None:
        folder = Path(folder)
        bi = budget_impact_details(result, scenario, spec=spec)
        bi.frame.to_csv(folder / "budget_impact.csv", index=False)
        bi.funnel.to_csv(folder / "budget_funnel.csv", index=False)
        bi.by_sector.to_csv(folder / "budget_by_sector.csv", index=False)
        (folder / "budget_impact.md").write_text(budget_markdown(bi, result), encoding="utf-8")

    return write
