"""``heecon cea``: cost-effectiveness summary of PSA draws stored as CSV files (reading them: :mod:`heecon.cea.io`)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from heecon.cli._common import fail

if TYPE_CHECKING:  # the library is imported when the command runs, so that `heecon --help` starts at once
    from heecon.cea.analysis import CEAResult

__all__ = ["cea"]


def _fmt(x: float, money: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if money or abs(x) >= 1000:
        return f"{x:,.2f}"
    return f"{x:.5g}"


def _fmt_wtp(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _pick(n: int, most: int = 5) -> list[int]:
    import numpy as np

    if n <= most:
        return list(range(n))
    return sorted(set(int(round(i)) for i in np.linspace(0, n - 1, most)))


def _print_tables(res: CEAResult, costs: Path, effects: Path) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    con = Console()
    con.print(
        f"Cost-effectiveness of {len(res.strategies)} strategies from {res.n_draws:,} PSA draws "
        f"({costs.name}, {effects.name}); WTP {_fmt_wtp(res.wtp[0])} to {_fmt_wtp(res.wtp[-1])} "
        f"({res.wtp.size} values)."
    )
    def table(title: str) -> Table:
        return Table(title=title, box=box.SIMPLE, collapse_padding=True, pad_edge=False)

    t = table("Incremental analysis on the means (dampack calculate_icers)")
    for col in ("Strategy", "Cost", "Effect", "Inc. cost", "Inc. eff.", "ICER", "Status"):
        t.add_column(col, justify="left" if col in ("Strategy", "Status") else "right")
    for r in res.icers.itertuples(index=False):
        t.add_row(
            str(r.strategy), _fmt(r.cost, True), _fmt(r.effect), _fmt(r.inc_cost, True),
            _fmt(r.inc_effect), _fmt(r.icer, True), str(r.status),
        )
    con.print(t)
    con.print("Status: ref = reference (cheapest on the frontier), ND = on the frontier, "
              "ED = extendedly dominated, D = dominated.")

    picks = _pick(res.wtp.size)
    t = table("Decision uncertainty at selected WTP values")
    t.add_column("WTP", justify="right")
    t.add_column("Optimal")
    t.add_column("P(CE)", justify="right")
    t.add_column("EVPI", justify="right")
    for i in picks:
        t.add_row(
            _fmt_wtp(res.wtp[i]), res.strategies[res.ceaf[i]], f"{res.ceaf_probability[i]:.4f}", _fmt(res.evpi[i])
        )
    con.print(t)
    con.print("Optimal: highest expected net monetary benefit (the CEAF); P(CE): its probability of being "
              "cost-effective; EVPI: expected value of perfect information per person.")

    if res.ref is not None:
        t = table(f"Reference {res.ref} against each comparator (BCEA: reference minus comparator)")
        t.add_column("Comparator")
        t.add_column("WTP", justify="right")
        t.add_column("EIB", justify="right")
        t.add_column("P(ref better)", justify="right")
        for comp in res.eib:
            for i in picks:
                t.add_row(comp, _fmt_wtp(res.wtp[i]), _fmt(res.eib[comp][i]), f"{res.prob_ref_better[comp][i]:.4f}")
        con.print(t)

    lo, hi = _fmt_wtp(float(res.wtp.min())), _fmt_wtp(float(res.wtp.max()))
    if res.breakeven.empty:
        con.print(f"Break-even WTP: none in [{lo}, {hi}]; {res.strategies[res.ceaf[0]]} is optimal throughout.")
    for wtp_, a, b in res.breakeven[["wtp", "from", "to"]].itertuples(index=False, name=None):
        con.print(f"Break-even WTP (exact, on the means): {_fmt(wtp_, True)}  {a} -> {b}")
    for wtp_, a, b in res.breakeven_grid[["wtp", "from", "to"]].itertuples(index=False, name=None):
        con.print(f"Break-even WTP (first grid value, as BCEA): {_fmt_wtp(wtp_)}  {a} -> {b}")


def cea(
    costs: Annotated[
        Path,
        typer.Option(
            "--costs", help="CSV of PSA cost draws: one column per strategy (header = names), one row per draw."
        ),
    ],
    effects: Annotated[
        Path,
        typer.Option("--effects", help="CSV of PSA effect draws (e.g. QALYs), columns in the same order as --costs."),
    ],
    wtp: Annotated[
        str,
        typer.Option("--wtp", help="Willingness-to-pay grid: START:STOP:STEP (STOP included) or a comma list."),
    ] = "0:50000:100",
    json_out: Annotated[
        bool,
        typer.Option("--json", help="Print one JSON object instead of tables."),
    ] = False,
    ref: Annotated[
        Optional[str],
        typer.Option(
            "--ref", help="BCEA-style reference strategy (name or column number): adds EIB and P(ref better)."
        ),
    ] = None,
    out: Annotated[
        Optional[Path],
        typer.Option("--out", "-o", help="Folder to write the tables and figures to, as its subfolder cea/ (nothing "
                                         "else in it is touched). Default: results/<costs file name>."),
    ] = None,
    no_figures: Annotated[bool, typer.Option("--no-figures", help="Write the tables only (no figures).")] = False,
) -> None:
    """Incremental table, CEAC, CEAF, EVPI and break-even WTPs from PSA draws; tables and figures (CE plane, CEAC
    and CEAF, EVPI) in OUT/cea/."""
    from heecon.cea.analysis import analyse_psa
    from heecon.cea.io import WTP_HELP, CEAInputError, parse_wtp, read_psa_csv
    from heecon.execution.files import OutputError
    from heecon.report.analyses import check_analysis_folder, save_analysis

    try:
        grid = parse_wtp(wtp)
    except ValueError as exc:
        raise fail(f"Invalid --wtp {wtp!r}: {exc}; {WTP_HELP}.") from None
    out_dir = out or Path("results") / costs.stem
    try:
        check_analysis_folder(out_dir, "cea")
        c_arr, e_arr, names, ref_name = read_psa_csv(costs, effects, ref)
    except (CEAInputError, OutputError) as exc:
        raise fail(str(exc)) from None
    res = analyse_psa(c_arr, e_arr, names, grid, ref=ref_name)
    try:
        sub = save_analysis(out_dir, res, figures=not no_figures,
                            meta={"costs_file": str(costs), "effects_file": str(effects)})
    except OutputError as exc:
        raise fail(str(exc)) from None
    if json_out:
        typer.echo(json.dumps(res.to_dict(), allow_nan=False))
    else:
        _print_tables(res, costs, effects)
        typer.echo(f"Tables and figures written to {sub}/")
