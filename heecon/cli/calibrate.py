"""``heecon calibrate``: check the model against its calibration targets, and fit named parameters."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from heecon.cli._common import JsonOpt, SetOpt, fail, load_or_exit, user_errors

__all__ = ["calibrate"]


def calibrate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file with calibration targets (its "
                                                  "\\[calibration.targets.NAME] sections).")],
    fit: Annotated[bool, typer.Option("--fit", help="Fit each target's `fit` parameter to the target (Brent's method).")] = False,
    individuals: Annotated[Optional[int], typer.Option(help="Simulated individuals (default: the target's or settings.individuals).", min=100)] = None,
    json_out: JsonOpt = False,
    set_: SetOpt = None,
) -> None:
    """Check the model against its calibration targets (and fit named parameters with --fit)."""
    sc = load_or_exit(scenario, set_)
    if not sc.calibration_targets:
        raise fail(f"{scenario} has no calibration targets, so there is nothing to check or fit: add "
                   "[calibration.targets.NAME] sections (statistic, target, tolerance, cycles, ...; see "
                   "docs/scenario-format.md, 'Calibration targets').")
    from heecon.calibration import calibrate as run_calibration

    with user_errors(f"Cannot calibrate {scenario}"):
        rows = run_calibration(sc, fit=fit, individuals=individuals)
    if json_out:
        typer.echo(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"Calibration targets of {scenario}")
    for c in ("Target", "Statistic", "Observed", "Model", "Tolerance", "OK", "Fitted"):
        t.add_column(c)
    for r in rows:
        f = r.get("fit") or {}
        fitted = f"{f['parameter']} = {f['value']:.4g} -> {f['model_after']:.4g}" if "value" in f else f.get("result", "")
        t.add_row(r["target"], r["statistic"], f"{r['observed_target']:.4g}", f"{r['model']:.4g}", f"±{r['tolerance']:g}",
                  "yes" if r["within_tolerance"] else "NO", fitted)
    Console(width=140).print(t)
