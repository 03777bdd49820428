"""One run of a scenario, as ``heecon run`` does it: the entry points the CLI, the Python API and the notebook share.

``load_scenario`` reads a scenario and checks it completely (structure, then every number of the base case);
``run`` computes the base case, the PSA and the writers' files and writes the results folder atomically.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

__all__ = ["load_scenario", "scenario_from_dict", "run", "RunResult"]


def load_scenario(path: str | Path, overrides: Iterable[str] = (), *, check: bool = True) -> Any:
    """Load, merge (``extends``), override (``--set``) and validate a scenario.

    Parameters
    ----------
    path
        The scenario TOML file.
    overrides
        ``key.path=value`` strings applied after ``extends`` (values in TOML syntax).
    check
        Also compile the base case and check every probability, row sum and cost at every cycle (default). All
        problems are reported together.

    Raises
    ------
    heecon.scenario.errors.ScenarioError
        Listing every problem found.
    """
    from heecon.scenario.load import load_scenario as load

    scenario = load(path, overrides)
    if check:
        from heecon.model.check import check_scenario

        check_scenario(scenario)
    return scenario


def scenario_from_dict(raw: dict[str, Any], path: str | Path = "<scenario>", *, check: bool = True) -> Any:
    """Validate a scenario given as a Python dict (as parsed from TOML)."""
    from heecon.scenario.load import scenario_from_dict as build

    scenario = build(raw, path)
    if check:
        from heecon.model.check import check_scenario

        check_scenario(scenario)
    return scenario


@dataclass
class RunResult:
    """What one run computed and where it was written.

    Attributes
    ----------
    base
        The base case (``heecon.outcomes.base_case.BaseCaseResult``).
    psa
        The PSA (``heecon.sensitivity.psa.PSAResult``), or None when none was run.
    out_dir
        The results folder, or None when nothing was written.
    """

    base: Any
    psa: Any
    out_dir: Path | None
    analyses: Any = None  # heecon.sensitivity.suite.AnalysisSuite: what the scenario's analysis sections asked for

    def summary(self) -> dict[str, Any]:
        """``summary.json``'s content."""
        from heecon.report.results_folder import full_summary

        return full_summary(self.base, self.psa, analyses=self.analyses)


def run(scenario: Any, *, psa: int | None = None, out: str | Path | None = None, report: bool | None = None,
        executor: str | Any = "local", workers: int | None = None, scheduler: str | None = None,
        chunk_size: int | None = None, checkpoint: Any = None, progress: bool = False,
        on_interrupt: Callable[[Path], None] | None = None, analyses: bool = True) -> RunResult:
    """What ``heecon run`` does: the base case, the PSA, the cost-consequence and budget tables, the figures and
    report, written atomically into one results folder.

    Parameters
    ----------
    scenario
        A loaded scenario (:func:`load_scenario`), or the path of a scenario file.
    psa
        PSA samples (default ``settings.psa_samples``; 0 for none).
    out
        The results folder; None computes without writing anything.
    report
        Also draw the figures and write ``report.html`` (default ``settings.report``).
    executor, workers, scheduler, chunk_size
        Where the PSA's chunks run (:mod:`heecon.execution`); results are identical whichever.
    checkpoint
        A ``heecon.execution.CheckpointTarget`` (finished PSA chunks are saved there and a resumed run reuses
        them); removed once the results are in place.
    progress
        Show a progress bar for the PSA.
    on_interrupt
        Called with the checkpoint folder when the PSA is interrupted (Ctrl-C) with chunks saved.
    analyses
        Also run the analyses the scenario's sections ask for ([dsa], [[thresholds]], [evppi], [subgroups],
        [scenario_analysis], [cba]; :mod:`heecon.sensitivity.suite`).
    """
    from heecon.outcomes.base_case import run_base_case

    if not hasattr(scenario, "settings"):
        scenario = load_scenario(scenario)
    if out is not None:  # refuse a file, or a folder heecon did not make, before any work
        from heecon.execution.files import check_output_folder

        check_output_folder(out)
    n_psa = scenario.settings.psa_samples if psa is None else int(psa)
    base = run_base_case(scenario)
    psa_result = None
    if n_psa:
        from heecon.execution import make_executor
        from heecon.sensitivity.psa import run_psa

        try:
            with make_executor("dask" if scheduler and executor == "local" else executor, workers, scheduler) as ex:
                psa_result = run_psa(scenario, n_psa, progress=progress, chunk=chunk_size, executor=ex,
                                     checkpoint_dir=checkpoint)
        except KeyboardInterrupt:
            if checkpoint is not None and on_interrupt is not None and Path(checkpoint).is_dir():
                on_interrupt(Path(checkpoint))
            raise
    from heecon.sensitivity.suite import run_suite, suite_writer

    suite = run_suite(scenario, base, psa_result) if analyses else None
    if out is None:
        return RunResult(base, psa_result, None, suite)
    from heecon.report.budget import budget_writer
    from heecon.report.consequence import consequence_writer
    from heecon.report.results_folder import write_results

    writers = [consequence_writer(base, psa_result), budget_writer(base)]
    if suite is not None:
        writers.append(suite_writer(suite))
    if report or (report is None and scenario.settings.report):
        from heecon.report.html import write_report

        writers.append(write_report)  # built inside the temporary folder: the report lands with the rest or not at all
    out_dir = write_results(base, out, psa_result, writers=writers, analyses=suite)
    if psa_result is not None and checkpoint is not None:
        import shutil

        shutil.rmtree(Path(checkpoint), ignore_errors=True)  # the results are in place: the checkpoint is not needed
    return RunResult(base, psa_result, out_dir, suite)
