"""``heecon evidence``: the scenario's evidence table (one row per parameter, with its source)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from heecon.cli._common import load_or_exit

__all__ = ["evidence"]


def evidence(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the Markdown table here (default: print it).")] = None,
) -> None:
    """The scenario's evidence table (one row per parameter: value, distribution, source, price year, assumption flag)."""
    sc = load_or_exit(scenario)
    from heecon.execution.files import write_atomic
    from heecon.report.evidence import evidence_markdown

    text = evidence_markdown(sc)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(out, text)
    typer.echo(f"Evidence table written to {out}")
