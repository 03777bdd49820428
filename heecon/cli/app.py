"""The ``heecon`` command line: parses, loads, calls the library, prints. Nothing else."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from heecon import __version__

app = typer.Typer(
    name="heecon",
    help="Health-economics simulation engine: run TOML scenarios, get costs, QALYs, ICERs and decision uncertainty.",
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DEFAULT_SCENARIO = Path("scenarios/mbt_aspd_vs_pau.toml")


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


def _fail(message: str, code: int = 2) -> "typer.Exit":
    typer.echo(message, err=True)
    return typer.Exit(code=code)


def _load(scenario: Path, overrides: list[str]) -> Any:
    from heecon.scenario.errors import ScenarioError
    from heecon import load_scenario

    try:
        return load_scenario(scenario, overrides)
    except ScenarioError as exc:
        raise _fail(exc.format()) from None


def _resolve_scenario(scenario: Optional[Path]) -> Path:
    if scenario is None:
        if not DEFAULT_SCENARIO.is_file():
            raise _fail(f"No scenario given and the default scenario {DEFAULT_SCENARIO} was not found here. "
                        "Run `heecon run PATH/TO/scenario.toml` (or run from the heecon repository root).")
        return DEFAULT_SCENARIO
    if not scenario.is_file():
        raise _fail(f"Invalid scenario {scenario}:\n  - file not found")
    return scenario


SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a scenario value: key.path=value (TOML syntax), e.g. settings.horizon_years=20. Repeatable."),
]


@app.command()
def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    set_: SetOpt = None,
) -> None:
    """Check a scenario file (structure, names, probabilities at every cycle) without running it."""
    sc = _load(_resolve_scenario(scenario), set_ or [])
    typer.echo(f"{scenario}: valid ({len(sc.states)} states, {len(sc.strategies)} strategies, "
               f"{len(sc.parameters)} parameters, {sc.settings.n_cycles} cycles of {sc.settings.cycle_length_months:g} months)")


@app.command()
def run(
    scenario: Annotated[Optional[Path], typer.Argument(help="Scenario TOML file (default: the flagship scenario).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Results folder (default: results/<scenario name>).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print summary.json to stdout instead of tables.")] = False,
    psa: Annotated[Optional[int], typer.Option("--psa", help="PSA samples (default: settings.psa_samples; 0 = none).", min=0)] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Random seed (default: settings.seed).", min=0)] = None,
    report: Annotated[bool, typer.Option("--report", help="Also write figures and report.html into the results folder.")] = False,
    device: Annotated[Optional[str], typer.Option("--device", help="Microsimulation kernel: cpu, gpu (numba-cuda) or auto (GPU when present).")] = None,
    set_: SetOpt = None,
    executor: Annotated[str, typer.Option("--executor", help="Where PSA chunks run: local (this process, numba threads), processes (a process pool), dask (a Dask scheduler: --scheduler), dask-local (a Dask LocalCluster here). Results are identical whichever.")] = "local",
    workers: Annotated[Optional[int], typer.Option("--workers", min=1, help="local: numba threads; processes / dask-local: worker processes (default: one per CPU).")] = None,
    scheduler: Annotated[Optional[str], typer.Option("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (implies --executor dask).")] = None,
    chunk_size: Annotated[Optional[int], typer.Option("--chunk-size", min=1, help="PSA samples per chunk (default: the engine's, ~4 chunks per worker). Finished chunks are checkpointed.")] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue the interrupted PSA run whose results folder is DIR: only chunks not yet finished are computed.", metavar="DIR")] = None,
) -> None:
    """Run a scenario: costs, QALYs, life years, incremental table and net benefit per strategy (and a PSA)."""
    manifest = None
    if resume is not None:  # scenario, --set and --psa default to those of the interrupted run
        from heecon.execution.checkpoint import resume_manifest

        try:
            manifest = resume_manifest(resume, out)
        except ValueError as exc:
            raise _fail(str(exc)) from None
        out, info = resume, manifest.get("run", {})
        scenario = Path(info["scenario"]) if scenario is None and info.get("scenario") else scenario
        set_ = list(info.get("overrides", [])) if set_ is None else set_
        psa = int(manifest["n"]) if psa is None else psa
    path = _resolve_scenario(scenario)
    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"settings.seed={seed}")
    if device is not None:
        overrides.append(f'settings.device="{device}"')
    sc = _load(path, overrides)
    from heecon.execution import RUN_ERRORS, CheckpointTarget, checkpoint_dir_for, make_executor
    from heecon.engine.microsim.evaluate import DeviceError
    from heecon.outcomes.base_case import full_summary, run_base_case, write_results
    from heecon.scenario.errors import ScenarioError

    n_psa = sc.settings.psa_samples if psa is None else psa
    if manifest is not None:
        from heecon.execution.checkpoint import resume_mismatch

        if (problem := resume_mismatch(manifest, sc, n_psa)) is not None:
            raise _fail(problem)
    out_dir = out or Path("results") / path.stem
    ckpt = CheckpointTarget(checkpoint_dir_for(out_dir), {"scenario": str(path.absolute()), "overrides": overrides,
                                                          "out": str(out_dir)}, resume=resume is not None)
    if resume is None and n_psa and (ckpt.folder / "manifest.json").is_file():
        typer.echo(f"Starting afresh: discarding the checkpoint of an interrupted run ({ckpt.folder}); "
                   f"`heecon run --resume {out_dir}` would have continued it.", err=True)
    try:
        result = run_base_case(sc)
        psa_result = None
        if n_psa:
            from heecon.sensitivity.psa import run_psa

            with make_executor("dask" if scheduler and executor == "local" else executor, workers, scheduler) as ex:
                psa_result = run_psa(sc, n_psa, progress=not json_out, chunk=chunk_size, executor=ex,
                                     checkpoint_dir=ckpt)
        from heecon.outcomes.budget_impact import budget_writer
        from heecon.report.consequence import consequence_writer

        writers = [consequence_writer(result, psa_result), budget_writer(result)]
    except ScenarioError as exc:
        raise _fail(exc.format()) from None
    except RUN_ERRORS as exc:
        raise _fail(str(exc)) from None
    except DeviceError as exc:
        raise _fail(f"Cannot run {path}: {exc}") from None
    except KeyboardInterrupt:
        if n_psa and ckpt.folder.is_dir():
            typer.echo(f"Finished PSA chunks are kept; continue with: heecon run --resume {out_dir}", err=True)
        raise
    if report or sc.settings.report:
        from heecon.report.html import build_report

        writers.append(build_report)  # built inside the temporary folder, so the report lands with the rest or not at all
    write_results(result, out_dir, psa_result, writers=writers)
    if psa_result is not None:
        import shutil

        shutil.rmtree(ckpt.folder, ignore_errors=True)  # the results are in place: the checkpoint is no longer needed
    if json_out:
        typer.echo(json.dumps(full_summary(result, psa_result), indent=2))
        return
    from heecon.report.console import print_base_case, print_headline, print_psa

    print_base_case(result, None)
    if psa_result is not None:
        print_psa(psa_result)
    if len(sc.strategies) > 1:
        print_headline(result, psa_result)
    typer.echo(f"Results written to {out_dir}/")


@app.command()
def dsa(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Parameter to vary (repeatable; default: every parameter with a range or distribution).")] = None,
    strategy: Annotated[Optional[str], typer.Option(help="Strategy compared with the comparator (default: the first other).")] = None,
    wtp: Annotated[Optional[float], typer.Option(help="WTP per QALY for net benefit (default: the first in settings.wtp).")] = None,
    two_way: Annotated[Optional[list[str]], typer.Option("--two-way", help="Two parameters for a two-way grid: --two-way A --two-way B.")] = None,
    threshold: Annotated[Optional[list[str]], typer.Option("--threshold", help="Find the value of this parameter at which the ICER equals the WTP (repeatable).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Results folder (default: results/<scenario>_dsa).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    set_: SetOpt = None,
) -> None:
    """Deterministic sensitivity analysis: one-way (tornado data), two-way grid, threshold values."""
    path = _resolve_scenario(scenario)
    sc = _load(path, set_ or [])
    from heecon.outcomes.base_case import atomic_output_dir
    from heecon.scenario.errors import ScenarioError
    from heecon.sensitivity.dsa import DSAError, one_way, threshold as find_threshold, two_way as run_two_way

    try:
        ow = one_way(sc, param or None, strategy=strategy, wtp=wtp)
        tw = None
        if two_way:
            if len(two_way) != 2:
                raise DSAError("--two-way takes exactly two parameters: --two-way A --two-way B")
            tw = run_two_way(sc, two_way[0], two_way[1], strategy=strategy, wtp=wtp)
        th = [find_threshold(sc, p, strategy=strategy, wtp=wtp) for p in (threshold or [])]
    except (DSAError, ScenarioError) as exc:
        raise _fail(f"Cannot run the sensitivity analysis of {path}: {exc}") from None
    out_dir = out or Path("results") / f"{path.stem}_dsa"
    with atomic_output_dir(out_dir) as tmp:
        ow.table.to_csv(tmp / "dsa_one_way.csv", index=False)
        if tw is not None:
            tw.to_csv(tmp / "dsa_two_way.csv", index=False)
        for t in th:
            t.grid.to_csv(tmp / f"threshold_{t.parameter}.csv", index=False)
    res = {"strategy": ow.strategy, "comparator": ow.comparator, "wtp": ow.wtp, "perspective": ow.perspective,
           "base_inc_nmb": float(ow.base["inc_nmb"]), "one_way": json.loads(ow.table.to_json(orient="records")),
           "thresholds": [{"parameter": t.parameter, "value": t.threshold, "message": t.message} for t in th]}
    if json_out:
        typer.echo(json.dumps(res, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    con = Console(width=120)
    t = Table(title=f"One-way sensitivity: incremental NMB of {ow.strategy} vs {ow.comparator} at {ow.wtp:,.0f}/QALY "
                    f"(base {ow.base['inc_nmb']:,.0f})")
    for c in ("Parameter", "Low", "High", "iNMB at low", "iNMB at high", "Swing", "Range from"):
        t.add_column(c, justify="left" if c in ("Parameter", "Range from") else "right")
    for r in ow.table.itertuples():
        t.add_row(r.parameter, f"{r.low:.4g}", f"{r.high:.4g}", f"{r.inc_nmb_low:,.0f}", f"{r.inc_nmb_high:,.0f}",
                  f"{r.swing:,.0f}", getattr(r, "_5"))
    con.print(t)
    for th_ in th:
        con.print(th_.message)
    con.print(f"Results written to {out_dir}/")


@app.command()
def evidence(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the Markdown table here (default: print it).")] = None,
) -> None:
    """The scenario's evidence table (one row per parameter: value, distribution, source, price year, assumption flag)."""
    sc = _load(_resolve_scenario(scenario), [])
    from heecon.report.evidence import evidence_markdown

    text = evidence_markdown(sc)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(text)
    tmp.replace(out)
    typer.echo(f"Evidence table written to {out}")


@app.command()
def calibrate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file with [calibration.targets].")],
    fit: Annotated[bool, typer.Option("--fit", help="Fit each target's `fit` parameter to the target (Brent's method).")] = False,
    individuals: Annotated[Optional[int], typer.Option(help="Simulated individuals (default: the target's or settings.individuals).", min=100)] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    set_: SetOpt = None,
) -> None:
    """Check the model against its calibration targets (and fit named parameters with --fit)."""
    sc = _load(_resolve_scenario(scenario), set_ or [])
    from heecon.calibration import calibrate as run_calibration
    from heecon.scenario.errors import ScenarioError

    try:
        rows = run_calibration(sc, fit=fit, individuals=individuals)
    except ScenarioError as exc:
        raise _fail(exc.format()) from None
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


def _register_commands() -> None:
    """Commands whose code lives in their own modules (imported when the CLI starts)."""
    from heecon.cli.cea import cea
    from heecon.cli.report import report
    from heecon.cli.sensitivity import evppi, gsa

    app.command("cea", help="Analyse PSA results made elsewhere: incremental table, CEAC, CEAF, EVPI, break-even WTP.")(cea)
    app.command("report", help="Figures and a self-contained HTML report of a results folder (no re-run).")(report)
    app.command("evppi", help="Expected value of partial perfect information by regression on a PSA (Strong et al. 2014).")(evppi)
    app.command("gsa", help="Global sensitivity analysis (SALib Sobol or Morris) on incremental net benefit.")(gsa)


_register_commands()


def main() -> None:
    """Console entry point."""
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("Interrupted; no results were written for the unfinished run.", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
