"""``heecon dsa``, ``heecon evppi`` and ``heecon gsa``: deterministic sensitivity, value of partial information and
global sensitivity from the command line. Parse, load, call the library, print; nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from heecon.cli._common import (
    JsonOpt,
    SetOpt,
    fail,
    load_or_exit,
    num,
    print_table,
    records,
    resolve_scenario,
    user_errors,
)

__all__ = ["dsa", "evppi", "gsa", "parse_bounds"]

OutOpt = Annotated[
    Optional[Path],
    typer.Option("--out", "-o", help="Results folder to add the analysis to, as its own subfolder (dsa/, evppi/, "
                                     "gsa_sobol/, gsa_morris/): a run's folder, so that `heecon report` includes it, "
                                     "or a new one. Nothing else in the folder is touched. Default: "
                                     "results/<scenario>, where `heecon run` writes."),
]
NoFigOpt = Annotated[bool, typer.Option("--no-figures", help="Write the tables only (no PNG/SVG figures).")]


def _start(out: Optional[Path], path: Path, entry: str) -> Path:
    """The folder to write into, checked before any work (a file, a folder heecon did not make: refused)."""
    from heecon.report.analyses import check_analysis_folder

    out_dir = out or Path("results") / path.stem
    with user_errors("Cannot write the results"):
        check_analysis_folder(out_dir, entry)
    return out_dir


def _save(out_dir: Path, *results: Any, scenario: Any, figures: bool) -> Path:
    from heecon.report.analyses import save_analysis

    with user_errors("Cannot write the results"):
        return save_analysis(out_dir, *results, scenario=scenario, figures=figures)


def _written(sub: Path) -> None:
    folder = sub.parent
    more = (f"; `heecon report {folder}` adds it to the report" if (folder / "summary.json").is_file()
            else "")
    typer.echo(f"Results written to {sub}/{more}")


def parse_bounds(text: str) -> tuple[float, float]:
    """``LOW:HIGH`` (or ``LOW,HIGH``) as two numbers, low < high."""
    parts = text.replace(",", ":").split(":")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError:
        raise ValueError("give two numbers LOW:HIGH, e.g. --bounds 0:0.5") from None
    if not lo < hi:
        raise ValueError("LOW must be below HIGH")
    return lo, hi


def dsa(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="Parameter to vary (repeatable; default: every parameter with a range or distribution).")] = None,
    strategy: Annotated[Optional[str], typer.Option(help="Strategy compared with the comparator (default: the first other).")] = None,
    wtp: Annotated[Optional[float], typer.Option(help="WTP per QALY for net benefit (default: the first in settings.wtp).")] = None,
    two_way: Annotated[Optional[list[str]], typer.Option("--two-way", help="Two parameters for a two-way grid: --two-way A --two-way B.")] = None,
    threshold: Annotated[Optional[list[str]], typer.Option("--threshold", help="Find the value of this parameter at which the ICER equals the WTP (repeatable).")] = None,
    bounds: Annotated[Optional[list[str]], typer.Option("--bounds", metavar="LOW:HIGH", help="Where the threshold of --threshold is searched (default: the parameter's range, else its distribution's 95% interval). Once per --threshold, in the same order (write --bounds=-1:1 for a negative LOW).")] = None,
    out: OutOpt = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    no_figures: NoFigOpt = False,
    set_: SetOpt = None,
) -> None:
    """Deterministic sensitivity analysis: one-way (tornado), two-way grid (heat map), threshold values."""
    path = resolve_scenario(scenario)
    sc = load_or_exit(path, set_)
    from heecon.sensitivity.dsa import DSAError, one_way, threshold as find_threshold, two_way as run_two_way

    searched: list[Any] = [None] * len(threshold or [])
    if bounds:
        if len(bounds) != len(threshold or []):
            raise fail(f"--bounds is given {len(bounds)} time(s) for {len(threshold or [])} --threshold "
                       "parameter(s): give one --bounds LOW:HIGH per --threshold, in the same order.")
        for i, b in enumerate(bounds):
            try:
                searched[i] = parse_bounds(b)
            except ValueError as exc:
                raise fail(f"Invalid --bounds {b!r}: {exc}.") from None
    out_dir = _start(out, path, "dsa")
    with user_errors(f"Cannot run the sensitivity analysis of {path}"):
        ow = one_way(sc, param or None, strategy=strategy, wtp=wtp)
        tw = None
        if two_way:
            if len(two_way) != 2:
                raise DSAError("--two-way takes exactly two parameters: --two-way A --two-way B")
            tw = run_two_way(sc, two_way[0], two_way[1], strategy=strategy, wtp=wtp)
        th = [find_threshold(sc, p, strategy=strategy, wtp=wtp, bounds=b) for p, b in zip(threshold or [], searched)]
    sub = _save(out_dir, ow, *([tw] if tw is not None else []), *th, scenario=sc, figures=not no_figures)
    res = {"strategy": ow.strategy, "comparator": ow.comparator, "wtp": ow.wtp, "perspective": ow.perspective,
           "base_inc_nmb": float(ow.base["inc_nmb"]), "one_way": json.loads(ow.table.to_json(orient="records")),
           "thresholds": [{"parameter": t.parameter, "value": t.threshold, "bounds": list(t.bounds or ()),
                           "bounds_from": t.bounds_from, "message": t.message} for t in th],
           "folder": str(sub)}
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
    _written(sub)


def evppi(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    psa: Annotated[int, typer.Option("--psa", help="PSA samples to run (1,000 or more is usual).", min=20)] = 1000,
    wtp: Annotated[Optional[float], typer.Option("--wtp", help="Willingness to pay per QALY (default: settings.wtp).", min=0)] = None,
    param: Annotated[
        Optional[list[str]],
        typer.Option("--param", help="A parameter, a group as a comma list (a,b), or a joint's name. Repeatable. "
                                     "Default: every uncertain parameter, Dirichlet joints as groups."),
    ] = None,
    gp_samples: Annotated[
        int, typer.Option("--gp-samples", help="Subsample a Gaussian process is fitted on (groups of 3 or more "
                                               "free parameters); more is slower and more accurate.", min=20)
    ] = 500,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    no_figures: NoFigOpt = False,
    set_: SetOpt = None,
) -> None:
    """Expected value of partial perfect information per parameter or group (regression on a PSA; Strong et al. 2014)."""
    from heecon.sensitivity.evppi import check_groups, evppi as run_evppi
    from heecon.sensitivity.psa import run_psa

    path = resolve_scenario(scenario)
    sc = load_or_exit(path, set_)
    groups: Optional[list[Any]] = None
    if param:
        groups = []
        for p in param:
            names = [x.strip() for x in p.split(",")]
            if any(not x for x in names):
                raise fail(f"Invalid --param {p!r}: a group is a comma list of parameter names with no empty item.")
            groups.append(names[0] if len(names) == 1 else names)
    out_dir = _start(out, path, "evppi")
    with user_errors("Cannot compute EVPPI"):
        if groups is not None:
            check_groups(sc, groups)  # fail on a misspelt name before the PSA runs
        result = run_psa(sc, psa, progress=not json_out)
        res = run_evppi(result, groups, wtp, gp_samples=gp_samples)
    frame = res.to_frame()
    sub = _save(out_dir, res, scenario=sc, figures=not no_figures)
    if json_out:
        typer.echo(json.dumps({"n_samples": res.n_samples, "perspective": res.perspective, "wtp": res.wtp.tolist(),
                               "evpi": res.evpi.tolist(), "population": res.population,
                               "evppi": records(frame)}, indent=2))
        return
    cols = ["group", "method", "wtp", "evppi", "se", "evppi_share", "r2"]
    if "evppi_population" in frame:
        cols.append("evppi_population")
    evpi = ", ".join(f"{num(v)} at {w:,.0f}" for w, v in zip(res.wtp, res.evpi))
    print_table(f"EVPPI per person ({res.n_samples:,} PSA samples; EVPI {evpi})", frame, cols)
    typer.echo("se: standard error from the regression fit; evppi_share: EVPPI / EVPI; r2: R² of the fit.")
    _written(sub)


def gsa(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    method: Annotated[str, typer.Option("--method", help="sobol (first and total order indices) or morris (screening).")] = "sobol",
    n: Annotated[
        Optional[int],
        typer.Option("--n", "-n", help="Sobol: base sample size, a power of 2 (default 1024); "
                                      "Morris: trajectories (default 20).", min=2),
    ] = None,
    wtp: Annotated[Optional[float], typer.Option("--wtp", help="Willingness to pay per QALY (default: the first of settings.wtp).", min=0)] = None,
    strategy: Annotated[Optional[str], typer.Option("--strategy", help="Strategy compared with the comparator (default: the first other one).")] = None,
    out: OutOpt = None,
    json_out: JsonOpt = False,
    no_figures: NoFigOpt = False,
    set_: SetOpt = None,
) -> None:
    """Global sensitivity of incremental net monetary benefit: Sobol' indices or Morris screening (SALib)."""
    from heecon.sensitivity import gsa as lib

    m = method.strip().lower()
    if m not in ("sobol", "morris"):
        raise fail(f"Invalid --method {method!r}: choose sobol or morris.")
    path = resolve_scenario(scenario)
    sc = load_or_exit(path, set_)
    out_dir = _start(out, path, f"gsa_{m}")
    with user_errors(f"Cannot run the {m} analysis"):
        if m == "sobol":
            res: Any = lib.sobol(sc, 1024 if n is None else n, strategy=strategy, wtp=wtp)
        else:
            res = lib.morris(sc, 20 if n is None else n, strategy=strategy, wtp=wtp)
    frame = res.to_frame()
    sub = _save(out_dir, res, scenario=sc, figures=not no_figures)
    head = (f"{res.strategy} vs {res.comparator}, incremental NMB at {res.wtp:,.0f} per QALY "
            f"({res.n_evaluations:,} model evaluations, seed {res.seed})")
    if json_out:
        typer.echo(json.dumps({"method": m, "strategy": res.strategy, "comparator": res.comparator, "wtp": res.wtp,
                               "perspective": res.perspective, "n_evaluations": res.n_evaluations, "seed": res.seed,
                               "indices": records(frame)}, indent=2))
        return
    if m == "sobol":
        print_table(f"Sobol' indices: {head}", frame, ["parameter", "S1", "S1_conf", "ST", "ST_conf"])
        typer.echo("S1: share of the variance of iNMB due to the parameter alone; ST: including its interactions; "
                   "conf: 95% bootstrap half-width.")
    else:
        print_table(f"Morris screening: {head}", frame, ["parameter", "mu", "mu_star", "mu_star_conf", "sigma"])
        typer.echo("mu_star: mean absolute elementary effect (importance); sigma: non-linearity or interactions.")
    _written(sub)
