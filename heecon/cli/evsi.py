"""``heecon evsi``: expected value of sample information of a proposed study, its expected net benefit of sampling
and the optimal sample size, from a PSA (a new one, or the per-sample table of an earlier run). Parse, load, call
the library, print; nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from heecon.cli._common import JsonOpt, SetOpt, fail, load_or_exit, print_table, records, resolve_scenario, user_errors

__all__ = ["evsi", "parse_sizes", "parse_methods"]


def parse_sizes(text: str) -> list[int]:
    """``50,100,200`` as distinct whole numbers >= 1, in the order given."""
    out: list[int] = []
    for part in text.split(","):
        p = part.strip().replace("_", "")
        if not p.isdigit() or int(p) < 1:
            raise ValueError(f"{part.strip()!r} is not a whole number >= 1")
        if int(p) in out:
            raise ValueError(f"{int(p)} is given twice")
        out.append(int(p))
    return out


def parse_methods(text: str) -> list[str]:
    """A comma list of EVSI methods, each one of :data:`heecon.sensitivity.evsi.METHODS`."""
    from heecon.sensitivity.evsi import METHODS

    out = [m.strip().lower() for m in text.split(",") if m.strip()]
    bad = [m for m in out if m not in METHODS]
    if bad or not out:
        raise ValueError(f"unknown method(s) {', '.join(bad) or '(none)'}; choose from {', '.join(METHODS)}")
    return list(dict.fromkeys(out))


def _samples_of_run(run: Path, sc: Any) -> Any:
    """The per-sample table of an earlier ``heecon run`` of this same scenario (refused for another version)."""
    import pandas as pd

    summary, table = run / "summary.json", run / "psa_samples.parquet"
    if not summary.is_file() or not table.is_file():
        raise fail(f"--from-run {run}: not a results folder of `heecon run` with a PSA (it needs summary.json and "
                   "psa_samples.parquet); run `heecon run SCENARIO --psa N` first, or give --psa N here instead.")
    try:
        sha = json.loads(summary.read_text(encoding="utf-8")).get("scenario_sha256")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
        raise fail(f"--from-run {run}: {summary} could not be read ({type(exc).__name__}: {exc})") from None
    if sha != sc.sha256:
        raise fail(f"--from-run {run}: those results were made from another version of the scenario (or other "
                   f"--set overrides): SHA-256 {str(sha)[:12]}… against {sc.sha256[:12]}…. Give the same scenario "
                   "and --set values as that run, or run a new PSA with --psa N.")
    try:
        return pd.read_parquet(table)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise fail(f"--from-run {run}: {table} could not be read ({type(exc).__name__}: {exc})") from None


def _shown(frame: Any) -> Any:
    f = frame.copy()
    for c in ("n", "n_lower", "n_upper"):
        if c in f:
            f[c] = [f"{int(v):,}" if v == v else "" for v in f[c]]
    if "worthwhile" in f:
        f["worthwhile"] = ["yes" if v else "no" for v in f["worthwhile"]]
    return f


def _print(ev: Any, nb: Any, sub: Path) -> None:
    pop = ev.population
    d = ev.design
    print_table(f"EVSI per person of {d.label or d.name} ({ev.n_samples:,} PSA samples, {ev.perspective} "
                "perspective; n per arm)", _shown(ev.to_frame()), ["wtp", "n", "method", "evsi", "lower", "upper",
                                                                   "evppi", "evpi"], width=120)
    typer.echo("evppi: EVPPI of the parameters the study informs (the most any study of them could be worth); "
               f"lower/upper: {ev.level:.0%} interval (regression and Monte Carlo error).")
    if nb is None:
        typer.echo("No ENBS: the design has no [costs] or no [population] and the scenario no population_size.")
    else:
        ppl = ", ".join(f"{x:,.0f}" for x in (pop.population_per_year if isinstance(pop.population_per_year, tuple)
                                              else [pop.population_per_year]))
        print_table(f"Optimal sample size per arm (ENBS over {ppl} people a year for {pop.years} years, discounted at "
                    f"{pop.discount_rate:.1%}: {nb.population_factor:,.0f} people)", _shown(nb.optimal),
                    ["wtp", "method", "n", "enbs", "population_evsi", "study_cost", "worthwhile", "n_lower", "n_upper"],
                    width=140)
        typer.echo("worthwhile: the study's expected value to the population exceeds its cost at that n; "
                   "n_lower/n_upper: interval of the optimal n over bootstrap replicates.")
    typer.echo(f"Results written to {sub}/")


def evsi(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    design: Annotated[Path, typer.Option("--design", "-d", help="Study design TOML (see docs/evsi.md; e.g. "
                                                                "scenarios/designs/moam_followup.toml).")],
    n: Annotated[Optional[str], typer.Option("--n", help="Sample sizes per arm, a comma list (default: the "
                                                          "design's n_per_arm), e.g. --n 50,100,200,400.")] = None,
    method: Annotated[str, typer.Option("--method", help="EVSI methods, a comma list of regression (Strong 2015), "
                                                         "gaussian (Jalal & Alarid-Escudero 2018), is (Menzies 2016)."
                                        )] = "regression,gaussian",
    psa: Annotated[int, typer.Option("--psa", help="PSA samples to run (when --from-run is not given).",
                                     min=20)] = 1000,
    from_run: Annotated[Optional[Path], typer.Option("--from-run", help="Reuse the PSA of an earlier `heecon run` "
                                                                        "of this scenario (its psa_samples.parquet) "
                                                                        "instead of running the model again.")] = None,
    wtp: Annotated[Optional[float], typer.Option("--wtp", help="Willingness to pay per QALY (default: "
                                                              "settings.wtp).", min=0)] = None,
    perspective: Annotated[Optional[str], typer.Option("--perspective", help="Costing perspective (default: "
                                                                             "settings.perspective).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Results folder to add evsi/ to (a run's "
                                                                     "folder, so `heecon report` includes it, or a "
                                                                     "new one). Default: --from-run's folder, else "
                                                                     "results/<scenario>.")] = None,
    json_out: JsonOpt = False,
    no_figures: Annotated[bool, typer.Option("--no-figures", help="Write the tables only.")] = False,
    set_: SetOpt = None,
) -> None:
    """Expected value of sample information of a proposed study, ENBS and the optimal sample size (evsi.csv,
    enbs.csv, enbs_optimal.csv and figures in evsi/)."""
    from heecon.report.analyses import check_analysis_folder, save_analysis
    from heecon.sensitivity.design_read import check_design, read_design
    from heecon.sensitivity.evsi import enbs, evsi as run_evsi, evsi_from_samples

    try:
        sizes = parse_sizes(n) if n is not None else None
    except ValueError as exc:
        raise fail(f"Invalid --n {n!r}: {exc}.") from None
    try:
        methods = parse_methods(method)
    except ValueError as exc:
        raise fail(f"Invalid --method {method!r}: {exc}.") from None
    path = resolve_scenario(scenario)
    sc = load_or_exit(path, set_)
    out_dir = out or from_run or Path("results") / path.stem
    with user_errors("Cannot compute EVSI"):
        des = read_design(design)
        check_design(des, sc)  # a misspelt parameter fails before the PSA
        check_analysis_folder(out_dir, "evsi")
    opts: dict[str, Any] = {"method": methods, **({"n": sizes} if sizes else {})}
    with user_errors("Cannot compute EVSI"):
        if from_run is not None:
            ev = evsi_from_samples(sc, _samples_of_run(from_run, sc), des, wtp, perspective,
                                   seed=int(sc.settings.seed), **opts)
        else:
            from heecon.sensitivity.psa import run_psa

            ev = run_evsi(run_psa(sc, psa, progress=not json_out), des, wtp, perspective, **opts)
        nb = enbs(ev) if (des.costs is not None and ev.population is not None) else None
        sub = save_analysis(out_dir, ev, *([nb] if nb is not None else []), scenario=sc, figures=not no_figures,
                            meta={"psa_from": str(from_run) if from_run else f"new PSA of {psa} samples"})
    if json_out:
        res: dict[str, Any] = {"design": des.name, "perspective": ev.perspective, "n_samples": ev.n_samples,
                               "evsi": records(ev.to_frame()), "folder": str(sub)}
        if nb is not None:
            res.update(enbs=records(nb.to_frame()), optimal=records(nb.optimal),
                       population_factor=nb.population_factor)
        typer.echo(json.dumps(res, indent=2))
        return
    _print(ev, nb, sub)
