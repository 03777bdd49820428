"""``heecon evppi`` and ``heecon gsa``: value of partial information and global sensitivity from the command line.

Registered in the main app (``heecon/cli/app.py``, ``_register_optional``) as ``app.command("evppi")(evppi)`` and
``app.command("gsa")(gsa)``. Parse, load, call the library, print; nothing else.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

__all__ = ["evppi", "gsa"]

_SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a scenario value: key.path=value (TOML syntax), e.g. settings.seed=1. Repeatable."),
]
_OutOpt = Annotated[
    Optional[Path],
    typer.Option("--out", "-o", help="Output folder, replaced as a whole (default: results/<scenario>_evppi or results/<scenario>_gsa)."),
]
_JsonOpt = Annotated[bool, typer.Option("--json", help="Print the results as JSON instead of a table.")]


def _fail(message: str) -> typer.Exit:
    """Print ``message`` as one line on stderr and return the exit (code 2) to raise."""
    typer.echo(" ".join(str(message).split()), err=True)
    return typer.Exit(code=2)


def _load(scenario: Path, overrides: list[str]) -> Any:
    from heecon.cli.app import _load as load, _resolve_scenario

    return load(_resolve_scenario(scenario), overrides)


def _user_errors() -> tuple[type[BaseException], ...]:
    from heecon.params import DistributionError
    from heecon.sensitivity.dsa import DSAError
    from heecon.sensitivity.evppi import EVPPIError
    from heecon.sensitivity.gsa import GSAError

    return (EVPPIError, GSAError, DSAError, DistributionError)


def _scenario_error(exc: BaseException) -> typer.Exit:
    typer.echo(exc.format(), err=True)  # type: ignore[attr-defined]
    return typer.Exit(code=2)


def _write(out_dir: Path, files: dict[str, Any]) -> None:
    from heecon.outcomes.base_case import atomic_output_dir

    with atomic_output_dir(out_dir) as tmp:
        for name, frame in files.items():
            frame.to_csv(tmp / name, index=False)


def _num(x: Any, digits: int = 4) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.2f}"


def _print_table(title: str, frame: Any, columns: list[str]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title, box=box.SIMPLE, collapse_padding=True, pad_edge=False)
    for c in columns:
        t.add_column(c, justify="left" if c in ("group", "parameter", "parameters", "members", "method") else "right")
    for row in frame[columns].itertuples(index=False):
        t.add_row(*[v if isinstance(v, str) else _num(v) for v in row])
    Console().print(t)


def _records(frame: Any) -> list[dict[str, Any]]:
    out = []
    for rec in frame.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in rec.items()})
    return out


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
    out: _OutOpt = None,
    json_out: _JsonOpt = False,
    set_: _SetOpt = None,
) -> None:
    """Expected value of partial perfect information per parameter or group (regression on a PSA; Strong et al. 2014)."""
    from heecon.scenario.errors import ScenarioError
    from heecon.sensitivity.evppi import check_groups, evppi as run_evppi
    from heecon.sensitivity.psa import run_psa

    sc = _load(scenario, list(set_ or []))
    groups: Optional[list[Any]] = None
    if param:
        groups = []
        for p in param:
            names = [x.strip() for x in p.split(",")]
            if any(not x for x in names):
                raise _fail(f"Invalid --param {p!r}: a group is a comma list of parameter names with no empty item.")
            groups.append(names[0] if len(names) == 1 else names)
    try:
        if groups is not None:
            check_groups(sc, groups)  # fail on a misspelt name before the PSA runs
        result = run_psa(sc, psa, progress=not json_out)
        res = run_evppi(result, groups, wtp, gp_samples=gp_samples)
    except ScenarioError as exc:
        raise _scenario_error(exc) from None
    except _user_errors() as exc:
        raise _fail(f"Cannot compute EVPPI: {exc}") from None
    frame = res.to_frame()
    out_dir = out or Path("results") / f"{Path(scenario).stem}_evppi"
    _write(out_dir, {"evppi.csv": frame})
    if json_out:
        typer.echo(json.dumps({"n_samples": res.n_samples, "perspective": res.perspective, "wtp": res.wtp.tolist(),
                               "evpi": res.evpi.tolist(), "population": res.population,
                               "evppi": _records(frame)}, indent=2))
        return
    cols = ["group", "method", "wtp", "evppi", "se", "evppi_share", "r2"]
    if "evppi_population" in frame:
        cols.append("evppi_population")
    evpi = ", ".join(f"{_num(v)} at {w:,.0f}" for w, v in zip(res.wtp, res.evpi))
    _print_table(f"EVPPI per person ({res.n_samples:,} PSA samples; EVPI {evpi})", frame, cols)
    typer.echo("se: standard error from the regression fit; evppi_share: EVPPI / EVPI; r2: R² of the fit.")
    typer.echo(f"Results written to {out_dir}/")


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
    out: _OutOpt = None,
    json_out: _JsonOpt = False,
    set_: _SetOpt = None,
) -> None:
    """Global sensitivity of incremental net monetary benefit: Sobol' indices or Morris screening (SALib)."""
    from heecon.scenario.errors import ScenarioError
    from heecon.sensitivity import gsa as lib

    m = method.strip().lower()
    if m not in ("sobol", "morris"):
        raise _fail(f"Invalid --method {method!r}: choose sobol or morris.")
    sc = _load(scenario, list(set_ or []))
    try:
        if m == "sobol":
            res: Any = lib.sobol(sc, 1024 if n is None else n, strategy=strategy, wtp=wtp)
        else:
            res = lib.morris(sc, 20 if n is None else n, strategy=strategy, wtp=wtp)
    except ScenarioError as exc:
        raise _scenario_error(exc) from None
    except _user_errors() as exc:
        raise _fail(f"Cannot run the {m} analysis: {exc}") from None
    frame = res.to_frame()
    out_dir = out or Path("results") / f"{Path(scenario).stem}_gsa"
    _write(out_dir, {f"gsa_{m}.csv": frame})
    head = (f"{res.strategy} vs {res.comparator}, incremental NMB at {res.wtp:,.0f} per QALY "
            f"({res.n_evaluations:,} model evaluations, seed {res.seed})")
    if json_out:
        typer.echo(json.dumps({"method": m, "strategy": res.strategy, "comparator": res.comparator, "wtp": res.wtp,
                               "perspective": res.perspective, "n_evaluations": res.n_evaluations, "seed": res.seed,
                               "indices": _records(frame)}, indent=2))
        return
    if m == "sobol":
        _print_table(f"Sobol' indices: {head}", frame, ["parameter", "S1", "S1_conf", "ST", "ST_conf"])
        typer.echo("S1: share of the variance of iNMB due to the parameter alone; ST: including its interactions; "
                   "conf: 95% bootstrap half-width.")
    else:
        _print_table(f"Morris screening: {head}", frame, ["parameter", "mu", "mu_star", "mu_star_conf", "sigma"])
        typer.echo("mu_star: mean absolute elementary effect (importance); sigma: non-linearity or interactions.")
    typer.echo(f"Results written to {out_dir}/")
