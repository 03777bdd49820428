"""``heecon report RESULTS_DIR``: figures and a self-contained HTML report of a results folder.

Registered in the main app as ``app.command("report")(report)``. Reads the folder's files only; no re-run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from heecon.cli._common import fail

__all__ = ["report"]


def report(
    results_dir: Annotated[
        Path,
        typer.Argument(help="Results folder written by `heecon run` (holds summary.json).", show_default=False),
    ],
) -> None:
    """Draw the figures (RESULTS_DIR/figures/) and write RESULTS_DIR/report.html, one self-contained file."""
    from heecon.execution.files import OutputError
    from heecon.report.results_data import ResultsFolderError
    from heecon.report.html import build_report

    try:
        path = build_report(results_dir)
    except ResultsFolderError as exc:
        raise fail(f"Invalid results folder {results_dir}: {exc}") from None
    except OutputError as exc:
        raise fail(f"Cannot write the report: {exc}") from None
    typer.echo(f"Report written to {path} (figures in {path.parent / 'figures'}/)")
