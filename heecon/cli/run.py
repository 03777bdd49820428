"""``heecon validate`` and ``heecon run``: check a scenario; run it (base case, PSA, tables, figures, report)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from heecon.cli._common import SetOpt, fail, load_or_exit, print_warnings, resolve_scenario, user_errors

__all__ = ["validate", "run"]


def validate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    set_: SetOpt = None,
) -> None:
    """Check a scenario file (structure, names, probabilities at every cycle) without running it; for a variant
    (``extends``), list what it changes relative to the scenario it extends."""
    from heecon.scenario.files import variant_changes

    sc = load_or_exit(scenario, set_)
    n_warn = print_warnings(sc)
    warned = f"; {n_warn} warning{'s' if n_warn > 1 else ''} above" if n_warn else ""
    if sc.tree is not None and sc.tree.pure:
        typer.echo(f"{scenario}: valid (a decision tree of {len(sc.tree.nodes)} nodes, {len(sc.strategies)} strategies, "
                   f"{len(sc.parameters)} parameters){warned}")
        return
    kind = ("partitioned survival, " if sc.partitioned is not None else
            f"a decision tree of {len(sc.tree.nodes)} nodes into " if sc.tree is not None else "")
    typer.echo(f"{scenario}: valid ({kind}{len(sc.states)} states, {len(sc.strategies)} strategies, "
               f"{len(sc.parameters)} parameters, {sc.settings.n_cycles} cycles of {sc.settings.cycle_length_months:g} "
               f"months){warned}")
    parent, lines = variant_changes(scenario, set_ or [])
    if parent is not None:  # a variant: what it changes relative to the scenario it extends
        typer.echo(f"Changes relative to {parent} (extends):")
        for line in lines or ["(none)"]:
            typer.echo(f"  {line}")


def run(
    scenario: Annotated[Optional[Path], typer.Argument(help="Scenario TOML file (default: the flagship scenario).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Results folder (default: results/<scenario name>): new, empty, or one heecon made. A run replaces its own files there and keeps everything else (analyses added later, your own files); a file, or a folder heecon did not make, is refused.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print summary.json to stdout instead of tables, with the trace (state occupancy per strategy at every cycle) added as \"trace\".")] = False,
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
    analyses: Annotated[bool, typer.Option("--analyses/--no-analyses", help="Run the analyses the scenario asks for (its dsa, thresholds, evppi, subgroups, scenario_analysis and cba sections).")] = True,
) -> None:
    """Run a scenario: costs, QALYs, life years, incremental table and net benefit per strategy (and a PSA)."""
    from heecon.execution.checkpoint import CheckpointTarget, checkpoint_dir_for, resume_manifest, resume_mismatch
    from heecon.pipeline import run as run_pipeline

    manifest = None
    if resume is not None:  # scenario, --set and --psa default to those of the interrupted run
        try:
            manifest = resume_manifest(resume, out)
        except ValueError as exc:
            raise fail(str(exc)) from None
        out, info = resume, manifest.get("run", {})
        scenario = Path(info["scenario"]) if scenario is None and info.get("scenario") else scenario
        set_ = list(info.get("overrides", [])) if set_ is None else set_
        psa = int(manifest["n"]) if psa is None else psa
    path = resolve_scenario(scenario)
    overrides = list(set_ or [])
    if seed is not None:
        overrides.append(f"settings.seed={seed}")
    if device is not None:
        overrides.append(f'settings.device="{device}"')
    sc = load_or_exit(path, overrides)
    print_warnings(sc)
    n_psa = sc.settings.psa_samples if psa is None else psa
    if manifest is not None and (problem := resume_mismatch(manifest, sc, n_psa)) is not None:
        raise fail(problem)
    out_dir = out or Path("results") / path.stem
    ckpt = CheckpointTarget(checkpoint_dir_for(out_dir), {"scenario": str(path.absolute()), "overrides": overrides,
                                                          "out": str(out_dir)}, resume=resume is not None)
    if resume is None and n_psa and (ckpt.folder / "manifest.json").is_file():
        typer.echo(f"Starting afresh: discarding the checkpoint of an interrupted run ({ckpt.folder}); "
                   f"`heecon run --resume {out_dir}` would have continued it.", err=True)

    def interrupted(folder: Path) -> None:
        typer.echo(f"Finished PSA chunks are kept; continue with: heecon run --resume {out_dir}", err=True)

    with user_errors(f"Cannot run {path}"):
        res = run_pipeline(sc, psa=n_psa, out=out_dir, report=True if report else None, executor=executor,
                           workers=workers, scheduler=scheduler, chunk_size=chunk_size,
                           checkpoint=ckpt if n_psa else None, progress=not json_out, on_interrupt=interrupted,
                           analyses=analyses)
    if json_out:
        from heecon.outcomes.base_case import trace_json

        typer.echo(json.dumps({**res.summary(), "trace": trace_json(res.base.trace)}, indent=2))
        return
    from heecon.report.console import print_answer, print_base_case, print_headline, print_psa

    print_base_case(res.base, None)
    if res.psa is not None:
        print_psa(res.psa)
    if len(sc.strategies) > 1:
        print_headline(res.base, res.psa)
    typer.echo(f"Results written to {out_dir}/")
    if len(sc.strategies) > 1:
        print_answer(res.base, res.psa, res.analyses)
