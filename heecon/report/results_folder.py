"""A results folder: ``summary.json``, the tables of the base case and the PSA, and whatever writers add.

Written into a temporary folder renamed into place at the end (:class:`heecon.execution.files.atomic_output_dir`),
so a crash or Ctrl-C never leaves a folder that looks complete.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from heecon.cea.headline import headline
from heecon.execution.files import atomic_output_dir
from heecon.outcomes.base_case import BaseCaseResult, cohort_outcomes, jsonable, per_cycle_with_start
from heecon.report.tidy import label_per_cycle, tidy_files

__all__ = ["full_summary", "write_results", "atomic_output_dir"]


def full_summary(result: BaseCaseResult, psa: Any = None, extra: dict[str, Any] | None = None,
                 analyses: Any = None) -> dict[str, Any]:
    """summary.json: the base case, and the PSA summary (``psa``) when one was run."""
    summary = result.summary()

    summary["headline"] = jsonable(headline(result, psa))
    if len(result.scenario.strategies) > 1:
        from heecon.report.answer import answer, answer_lines

        ans = jsonable(answer(result, psa, analyses))
        summary["answer"] = ans
        summary["answer_text"] = answer_lines(ans)
    texts = getattr(result.scenario.analyses, "report", None) if result.scenario.analyses is not None else None
    if texts:
        summary["report_texts"] = dict(texts)
    if psa is not None:
        summary["psa"] = jsonable(psa.summary())
        summary["settings"]["psa_samples"] = int(psa.totals.shape[0])
    if analyses is not None:
        frames = analyses.frames()
        summary["analyses"] = jsonable({
            "files": sorted(frames),
            "thresholds": frames["thresholds.csv"].to_dict(orient="records") if "thresholds.csv" in frames else [],
            "cba": frames["cba.csv"].to_dict(orient="records") if "cba.csv" in frames else [],
            "notes": list(analyses.notes),
        })
    summary["has_evidence_table"] = True  # evidence.csv: every parameter with its source
    micro = getattr(result.scenario, "microsim", None)
    if micro is not None:  # the names people read, for figures and tables built from the folder
        summary["event_labels"] = {n: (e.label or n) for n, e in micro.events.items()}
    if extra:
        summary.update(jsonable(extra))
    from heecon.report.cheers import cheers_checklist, cheers_counts

    sections = {"top", "results", "conventions", "provenance", "costs"} | ({"uncertainty", "parameters"} if psa else set())
    summary["cheers"] = cheers_counts(cheers_checklist(summary, sections))
    return summary


def write_results(result: BaseCaseResult, out_dir: str | Path, psa: Any = None,
                  extra: dict[str, Any] | None = None, writers: list[Any] | None = None, analyses: Any = None) -> Path:
    """Write ``summary.json``, ``outcomes.csv`` (per person), ``outcomes_per_cohort.csv`` (times
    ``settings.cohort_size``), ``icers.csv``, ``trace.csv``, ``per_cycle.csv`` (with its time-0 row of start rewards), their long
    versions (``*_long.csv``) and the PSA files when a PSA result is given, into a temporary folder renamed into
    place at the end (every file: docs/scenario-format.md, *Results*).

    The folder must be new, empty or a results folder heecon made; the entries other commands added to it (``dsa/``,
    ``evppi/``, ...) and files the user put there are kept (:class:`heecon.execution.files.atomic_output_dir`).
    """
    out_dir = Path(out_dir)
    sc = result.scenario
    info = {"scenario": str(sc.path), "scenario_sha256": sc.sha256}
    with atomic_output_dir(out_dir, writer="run", info=info) as tmp:
        summary = full_summary(result, psa, extra, analyses)
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2))
        result.outcomes.to_csv(tmp / "outcomes.csv")
        _evidence_frame(sc).to_csv(tmp / "evidence.csv", index=False)  # the parameter table, for the report
        cohort_outcomes(result).to_csv(tmp / "outcomes_per_cohort.csv")
        result.icers.to_csv(tmp / "icers.csv", index=False)  # the headline perspective's
        for p, t in result.icers_by_perspective.items():
            if p != sc.settings.perspective:  # the headline's is icers.csv: no duplicate
                t.to_csv(tmp / f"icers_{p}.csv", index=False)
        result.trace.to_csv(tmp / "trace.csv", index=False)
        label_per_cycle(per_cycle_with_start(result), sc.settings.cycle_years).to_csv(tmp / "per_cycle.csv", index=False)
        result.nmb().to_csv(tmp / "net_benefit.csv", index=False)
        if getattr(result, "trajectories", None) is not None:
            result.trajectories.to_csv(tmp / "trajectories.csv", index=False)
        if getattr(result, "events_per_cycle", None) is not None:
            result.events_per_cycle.to_csv(tmp / "events_per_cycle.csv", index=False)
        if psa is not None:
            psa.writer()(tmp)  # the PSA's own files (per-sample Parquet, CEAC, EVPI)
        for name, frame in tidy_files(result, psa).items():  # long ("tidy") versions, plain column names
            frame.to_csv(tmp / name, index=False)
        for w in writers or []:
            w(tmp)
    return out_dir


def _evidence_frame(sc: Any) -> Any:
    import pandas as pd

    from heecon.report.evidence import evidence_rows

    rows = evidence_rows(sc)
    for r in rows:
        r["range"] = "" if not r["range"] else f"{r['range'][0]:g} to {r['range'][1]:g}"
    return pd.DataFrame(rows)
