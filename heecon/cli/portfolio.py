"""``heecon portfolio``: several services side by side, a league table, the mix that maximises an outcome within a
budget and capacity, and the probability that each service is in the optimal mix (docs/portfolio.md). Parse, call
the library, print; nothing else."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from heecon.cli._common import JsonOpt, fail, print_table, records, user_errors

__all__ = ["portfolio"]


def _print(res: Any, out: Path, seconds: float) -> None:
    from heecon.sensitivity.portfolio import mix_counts, outcome_label

    spec = res.spec
    o = spec.outcome
    lg = res.league().astype({"rank": str})
    print_table(f"League of services (per man, {spec.perspective} perspective; ranked by budget cost per unit of "
                f"{outcome_label(o)})", lg, ["rank", "service", "men_per_year", "inc_cost", "budget_cost",
                                             "inc_qalys", "offences_averted", "prison_years_averted",
                                             "cost_per_offence_averted", "icer"], left=("service",), width=150)
    period = "a year" if spec.budget_period == "year" else f"the horizon ({spec.intakes} intakes)"
    print_table(f"Optimal mix ({spec.mode} services) maximising {outcome_label(o)} within GBP {spec.budget:,.0f} "
                f"over {period}", res.optimal_mix(), ["service", "share_funded", "men_per_year", "budget_cost", o],
                left=("service",), width=150)
    if res.psa_mixes is not None:
        print_table(f"Probability in the optimal mix ({res.n_samples} PSA samples)", res.mix_probability(),
                    ["service", "probability_in_mix", "mean_share_funded"], left=("service",), width=150)
        for m in mix_counts(res, 3):
            typer.echo(f"  {m['share']:.0%} of samples: {m['mix']}")
    typer.echo(f"Results written to {out}/ ({seconds:.1f} s)")


def portfolio(
    file: Annotated[Path, typer.Argument(help="Portfolio TOML (e.g. scenarios/portfolio/opd_pathway.toml).")],
    psa: Annotated[Optional[int], typer.Option("--psa", help="PSA samples per service (default: the file's "
                                                             "psa_samples; 0 for none).", min=0)] = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="whole (fund a service fully or not at all: exact "
                                                               "enumeration, at most 16 services) or divisible "
                                                               "(fund a share of its capacity: linear programme)."
                                                )] = None,
    budget: Annotated[Optional[float], typer.Option("--budget", help="Override the budget (GBP, in the file's "
                                                                     "budget_period).", min=0)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Results folder (default "
                                                                     "results/portfolio/<file name>).")] = None,
    json_out: JsonOpt = False,
    no_figures: Annotated[bool, typer.Option("--no-figures", help="Write the tables only.")] = False,
) -> None:
    """Services side by side: league table, optimal mix within a budget, probability each is in the mix."""
    import dataclasses

    from heecon.execution.files import check_output_folder
    from heecon.report.portfolio import portfolio_summary, write_portfolio
    from heecon.scenario.portfolio_spec import MODES, read_portfolio
    from heecon.sensitivity.portfolio import run_portfolio

    if psa == 1:
        raise fail("Invalid --psa 1: a PSA needs at least 2 samples (or 0 for none).")
    if mode is not None and mode not in MODES:
        raise fail(f"Invalid --mode {mode!r}: choose whole or divisible.")
    t0 = time.perf_counter()
    with user_errors(f"Cannot analyse the portfolio {file}"):
        spec = read_portfolio(file)
        if mode is not None:
            spec = dataclasses.replace(spec, mode=mode)
        if budget is not None:
            spec = dataclasses.replace(spec, budget=float(budget))
        out_dir = out or Path("results") / "portfolio" / spec.name
        check_output_folder(out_dir)
        res = run_portfolio(spec, psa, progress=None if json_out else lambda m: typer.echo(f"running {m}",
                                                                                                   err=True))
        write_portfolio(res, out_dir, figures=not no_figures)
    seconds = time.perf_counter() - t0
    if json_out:
        summary = portfolio_summary(res)
        summary.update(league=records(res.league()), folder=str(out_dir), seconds=seconds)
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    _print(res, out_dir, seconds)
