"""The ``heecon`` command line: the typer app, ``--version`` and every command registered in one list.

Each command is a plain function in its own module (run, sensitivity, cea, calibrate, evidence, report, survival) that
parses its options, loads the scenario, calls one library function inside ``user_errors`` and prints.
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from heecon import __version__
from heecon.cli.calibrate import calibrate
from heecon.cli.cea import cea
from heecon.cli.evidence import evidence
from heecon.cli.evsi import evsi
from heecon.cli.portfolio import portfolio
from heecon.cli.report import report
from heecon.cli.run import run, validate
from heecon.cli.sensitivity import dsa, evppi, gsa
from heecon.cli.survival import fit_survival

__all__ = ["app", "main"]

app = typer.Typer(
    name="heecon",
    help="Health-economics simulation engine: run TOML scenarios, get costs, QALYs, ICERs and decision uncertainty.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"heecon {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
) -> None:
    """heecon: health-economic models from TOML scenarios."""


COMMANDS = [
    (validate, "validate", None),
    (run, "run", None),
    (dsa, "dsa", None),
    (evidence, "evidence", None),
    (calibrate, "calibrate", None),
    (cea, "cea", "Analyse PSA results made elsewhere: incremental table, CEAC, CEAF, EVPI, break-even WTP."),
    (report, "report", "Figures and a self-contained HTML report of a results folder (no re-run)."),
    (evppi, "evppi", "Expected value of partial perfect information by regression on a PSA (Strong et al. 2014)."),
    (gsa, "gsa", "Global sensitivity analysis (SALib Sobol or Morris) on incremental net benefit."),
    (evsi, "evsi", "Expected value of sample information of a proposed study, ENBS and the optimal sample size."),
    (portfolio, "portfolio", "Several services side by side: league table, the mix that maximises an outcome within a "
                             "budget and capacity, and the probability each service is in the optimal mix."),
    (fit_survival, "fit-survival", "Fit survival distributions (AIC/BIC, curves, extrapolation) and write the chosen "
                                   "fit as scenario parameters with a multivariate normal for the PSA."),
]
for _fn, _name, _help in COMMANDS:
    app.command(_name, help=_help)(_fn)


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("Interrupted; no results were written for the unfinished run.", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
