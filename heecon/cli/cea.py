"""``heecon cea``: cost-effectiveness summary of PSA draws stored as CSV files.

Registered in the main app as ``app.command("cea")(cea)``.
"""

from __future__ import annotations

import csv
import json
import math
import re
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import pandas as pd
import typer

from heecon.cea.analysis import CEAResult, analyse_psa

__all__ = ["cea", "parse_wtp", "read_draws", "strategy_names"]

_MAX_WTP_POINTS = 1_000_000
_WTP_HELP = (
    "use START:STOP:STEP (STOP included, STEP > 0, e.g. 0:50000:100) or a comma list "
    "(e.g. 0,20000,30000); values must be finite and >= 0"
)
_COST_SUFFIX = re.compile(r"[\s._-]+(costs?|c)$", re.IGNORECASE)
_EFFECT_SUFFIX = re.compile(
    r"[\s._-]+(effectiveness|effects?|effs?|e|qalys?|qalms?|lys?|outcomes?|benefits?)$", re.IGNORECASE
)


class _InputError(Exception):
    """A problem with the user's input; its message is printed on one line."""


def _fail(message: str) -> typer.Exit:
    """Print ``message`` as one line on stderr and return the exit to raise."""
    typer.echo(" ".join(message.split()), err=True)
    return typer.Exit(code=2)


def parse_wtp(text: str) -> np.ndarray:
    """Parse ``--wtp``: ``START:STOP:STEP`` (STOP included) or ``a,b,c``.

    Raises
    ------
    ValueError
        With a message saying what is wrong.
    """
    s = text.strip()
    if not s:
        raise ValueError("it is empty")
    if ":" in s:
        parts = s.split(":")
        if len(parts) != 3:
            raise ValueError("a range needs exactly three parts START:STOP:STEP")
        try:
            start, stop, step = (float(p) for p in parts)
        except ValueError:
            raise ValueError("START, STOP and STEP must be numbers") from None
        if not all(math.isfinite(x) for x in (start, stop, step)):
            raise ValueError("START, STOP and STEP must be finite")
        if step <= 0:
            raise ValueError("STEP must be > 0")
        if stop < start:
            raise ValueError("STOP must be >= START")
        span = (stop - start) / step
        if not span < _MAX_WTP_POINTS:
            raise ValueError(f"it gives more than {_MAX_WTP_POINTS:,} values (the limit)")
        n = math.floor(span + 1e-9) + 1
        w = start + step * np.arange(n)
        # keep STOP exact when the range lands on it
        if abs(w[-1] - stop) <= 1e-9 * max(1.0, abs(stop)):
            w[-1] = stop
    else:
        items = [p.strip() for p in s.split(",")]
        if any(not p for p in items):
            raise ValueError("the comma list has an empty item")
        try:
            w = np.array([float(p) for p in items])
        except ValueError:
            raise ValueError("every item of the comma list must be a number") from None
        if len(w) > _MAX_WTP_POINTS:
            raise ValueError(f"it has {len(w)} values, over the limit of {_MAX_WTP_POINTS:,}")
    if not np.all(np.isfinite(w)):
        raise ValueError("values must be finite")
    if np.any(w < 0):
        raise ValueError("values must be >= 0")
    return w


def read_draws(path: Path, option: str) -> pd.DataFrame:
    """Read a CSV of PSA draws: a header row of strategy names, then numbers only.

    Every data row must have as many fields as the header; blank lines are
    skipped. Raises ``_InputError`` with a one-line message naming ``option``
    and the file.
    """
    where = f"{option} '{path}'"
    shape_hint = "it needs a header row of strategy names and one row per PSA draw"
    file_hint = "give a CSV file with one column per strategy and one row per draw"
    if not path.exists():
        raise _InputError(f"Invalid {where}: the file does not exist; {file_hint}.")
    if not path.is_file():
        raise _InputError(f"Invalid {where}: not a file; {file_hint}.")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = [(n, r) for n, r in enumerate(csv.reader(fh), start=1) if any(f.strip() for f in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise _InputError(
            f"Invalid {where}: it could not be read as a UTF-8 CSV file ({type(exc).__name__}: {exc})."
        ) from None
    if not rows:
        raise _InputError(f"Invalid {where}: the file is empty; {shape_hint}.")
    _, header = rows[0]
    header = [h.strip() for h in header]
    for j, h in enumerate(header):
        if not h:
            raise _InputError(
                f"Invalid {where}: column {j + 1} has an empty header; every column needs a strategy name "
                "(drop any row-name column)."
            )
    if len(rows) == 1:
        raise _InputError(f"Invalid {where}: a header but no rows; {shape_hint}.")
    k = len(header)
    for line, r in rows[1:]:
        if len(r) != k:
            raise _InputError(
                f"Invalid {where}: line {line} has {len(r)} fields but the header has {k}; "
                "every row needs one number per strategy."
            )
    values = np.empty((len(rows) - 1, k))
    for j in range(k):
        col = [r[j] for _, r in rows[1:]]
        try:
            values[:, j] = np.array(col, dtype=float)
            ok = bool(np.all(np.isfinite(values[:, j])))
        except ValueError:
            ok = False
        if not ok:
            for (line, r), cell in zip(rows[1:], col):
                try:
                    good = math.isfinite(float(cell))
                except ValueError:
                    good = False
                if not good:
                    what = "is empty" if not cell.strip() else f"holds {cell.strip()!r}"
                    raise _InputError(
                        f"Invalid {where}: line {line}, column {j + 1} ({header[j]!r}) {what}; "
                        "every cell must be a finite number."
                    )
    return pd.DataFrame(values, columns=header)


def strategy_names(cost_headers: list[str], effect_headers: list[str]) -> list[str]:
    """Strategy names from the two headers, matched by position.

    Suffixes such as ``_Cost``/``_Eff`` (also ``.cost``, `` costs``,
    ``_effect``, ``_QALY``, ...) are stripped; if the stripped names agree and
    are unique they are used, else the cost headers as they are.
    """
    c = [_COST_SUFFIX.sub("", h).strip() for h in cost_headers]
    e = [_EFFECT_SUFFIX.sub("", h).strip() for h in effect_headers]
    if c == e and all(c) and len(set(c)) == len(c):
        return c
    return list(cost_headers)


def _resolve_ref(ref: str, names: list[str], cost_headers: list[str]) -> str:
    if ref in names:
        return ref
    if ref in cost_headers:
        return names[cost_headers.index(ref)]
    if ref.isdigit() and 1 <= int(ref) <= len(names):
        return names[int(ref) - 1]
    choices = ", ".join(repr(n) for n in names)
    raise _InputError(f"Invalid --ref {ref!r}: choose one of {choices} (or a column number 1..{len(names)}).")


def _fmt(x: float, money: bool = False) -> str:
    if x is None or not math.isfinite(x):
        return "-"
    if money or abs(x) >= 1000:
        return f"{x:,.2f}"
    return f"{x:.5g}"


def _fmt_wtp(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _pick(n: int, most: int = 5) -> list[int]:
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
) -> None:
    """Incremental table, CEAC, CEAF, EVPI and break-even WTPs from PSA draws."""
    try:
        grid = parse_wtp(wtp)
    except ValueError as exc:
        raise _fail(f"Invalid --wtp {wtp!r}: {exc}; {_WTP_HELP}.") from None
    try:
        cdf = read_draws(costs, "--costs")
        edf = read_draws(effects, "--effects")
        if cdf.shape[1] != edf.shape[1]:
            raise _InputError(
                f"Invalid --effects '{effects}': it has {edf.shape[1]} columns but --costs '{costs}' has "
                f"{cdf.shape[1]}; both files need one column per strategy, in the same order."
            )
        if cdf.shape[0] != edf.shape[0]:
            raise _InputError(
                f"Invalid --effects '{effects}': it has {edf.shape[0]} rows but --costs '{costs}' has "
                f"{cdf.shape[0]}; both files need one row per PSA draw."
            )
        cost_headers = list(cdf.columns)
        names = strategy_names(cost_headers, list(edf.columns))
        if len(set(names)) != len(names):
            dup = next(n for n in names if names.count(n) > 1)
            raise _InputError(
                f"Invalid --costs '{costs}': strategy name {dup!r} appears more than once; names must be unique."
            )
        ref_name = None if ref is None else _resolve_ref(ref, names, cost_headers)
    except _InputError as exc:
        raise _fail(str(exc)) from None
    res = analyse_psa(cdf.to_numpy(), edf.to_numpy(), names, grid, ref=ref_name)
    if json_out:
        typer.echo(json.dumps(res.to_dict(), allow_nan=False))
    else:
        _print_tables(res, costs, effects)
