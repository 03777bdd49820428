"""``heecon fit-survival``: fit survival distributions to individual (or reconstructed) data for a scenario."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from heecon.cli._common import fail, print_table

__all__ = ["fit_survival"]

_UNITS = ("years", "months", "weeks", "days")


def _read_csv(path: Path, what: str):  # noqa: ANN202 - a DataFrame
    import pandas as pd

    if not path.is_file():
        raise fail(f"Cannot fit survival curves: the {what} file {path} does not exist.")
    try:
        return pd.read_csv(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise fail(f"Cannot fit survival curves: {path} is not a readable CSV file ({exc}).") from None


def _column(df, col: str, path: Path, what: str):  # noqa: ANN001, ANN202
    import numpy as np
    import pandas as pd

    if col not in df.columns:
        from heecon.scenario.errors import did_you_mean

        raise fail(f"Cannot fit survival curves: {path} has no column {col!r} ({what}).{did_you_mean(col, df.columns)} "
                   f"Columns: {', '.join(map(str, df.columns))}.")
    v = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(v)):
        bad = int(np.argmax(~np.isfinite(v)))
        raise fail(f"Cannot fit survival curves: {path} row {bad + 2}, column {col!r} ({what}) is {df[col].iloc[bad]!r}; "
                   "it must be a number.")
    return v


def _two_columns(path: Path, what: str):  # noqa: ANN202
    df = _read_csv(path, what)
    if df.shape[1] < 2:
        raise fail(f"Cannot fit survival curves: {path} needs two columns ({what}); it has {df.shape[1]}.")
    return _column(df, df.columns[0], path, what), _column(df, df.columns[1], path, what)


def fit_survival(
    data: Annotated[Optional[Path], typer.Argument(help="CSV of individual data, one row per person (omit with --km-coords).")] = None,
    time: Annotated[Optional[str], typer.Option("--time", help="Column of follow-up times.")] = None,
    event: Annotated[Optional[str], typer.Option("--event", help="Column of event indicators (1 event, 0 censored).")] = None,
    group: Annotated[Optional[str], typer.Option("--group", help="Column of groups (e.g. the arm): indicator covariates in every fit, one curve per group.")] = None,
    dists: Annotated[str, typer.Option("--dists", help="Distributions to fit, comma-separated (flexsurv names: exp, weibull, gompertz, llogis, lnorm, gamma, gengamma, pwexp).")] = "exp,weibull,gompertz,llogis,lnorm,gamma,gengamma",
    cuts: Annotated[Optional[str], typer.Option("--cuts", help="Cut points of the piecewise exponential (pwexp), comma-separated, in the data's unit.")] = None,
    km_coords: Annotated[Optional[Path], typer.Option("--km-coords", help="Digitised Kaplan-Meier curve: a CSV of time, survival (proportion) to reconstruct the data from (Guyot et al. 2012).")] = None,
    at_risk: Annotated[Optional[Path], typer.Option("--at-risk", help="Numbers at risk for --km-coords: a CSV of time, number at risk (first time 0).")] = None,
    total_events: Annotated[Optional[int], typer.Option("--total-events", min=0, help="The reported total number of events (with --km-coords).")] = None,
    time_unit: Annotated[str, typer.Option("--time-unit", help="The data's time unit: years, months, weeks or days.")] = "years",
    prefix: Annotated[str, typer.Option("--prefix", help="Prefix of the scenario parameters and curves (e.g. os, pfs).")] = "surv",
    choose: Annotated[Optional[str], typer.Option("--choose", help="The distribution to write for the scenario (default: the lowest AIC that converged).")] = None,
    horizon: Annotated[Optional[float], typer.Option("--horizon", help="Extrapolate the curves to this time (default: 3 x the longest follow-up).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder (default: results/fit-survival-<data name>).")] = None,
    no_figures: Annotated[bool, typer.Option("--no-figures", help="Skip the figures.")] = False,
) -> None:
    """Fit survival distributions by maximum likelihood (AIC/BIC table, curves over the data and extrapolated,
    the chosen fit as scenario parameters with a multivariate normal for the PSA, and [survival.NAME] curves)."""
    from heecon.survival import analyse_survival, reconstruct_ipd

    if time_unit not in _UNITS:
        raise fail(f"Cannot fit survival curves: --time-unit must be one of {', '.join(_UNITS)}. Got {time_unit!r}.")
    dist_list = [d.strip() for d in dists.split(",") if d.strip()]
    try:
        cut_list = [float(c) for c in cuts.split(",")] if cuts else None
    except ValueError:
        raise fail(f"Cannot fit survival curves: --cuts must be numbers separated by commas. Got {cuts!r}.") from None
    ipd = None
    labels = None
    if km_coords is not None or at_risk is not None:
        if km_coords is None or at_risk is None:
            raise fail("Cannot fit survival curves: reconstructing data needs both --km-coords and --at-risk.")
        if data is not None or group is not None:
            raise fail("Cannot fit survival curves: give either DATA.csv (individual data) or --km-coords with "
                       "--at-risk (one published curve), not both; --group needs individual data.")
        kt, ks = _two_columns(km_coords, "time, survival")
        rt, rn = _two_columns(at_risk, "time, number at risk")
        if ks.max() > 1.0 + 1e-9:
            raise fail(f"Cannot fit survival curves: {km_coords} has survival above 1 (up to {ks.max():g}); give "
                       "proportions, not percentages.")
        try:
            ipd = reconstruct_ipd(kt, ks, rt, rn, total_events=total_events)
        except ValueError as exc:
            raise fail(f"Cannot reconstruct the data from {km_coords} and {at_risk}: {exc}") from None
        t, e = ipd["time"].to_numpy(dtype=float), ipd["event"].to_numpy(dtype=float)
        source = f"data reconstructed (Guyot et al. 2012) from {km_coords.name} and {at_risk.name}, {len(ipd)} people"
        name = km_coords.stem
    else:
        if data is None:
            raise fail("Cannot fit survival curves: give DATA.csv with --time and --event, or --km-coords and --at-risk.")
        if time is None or event is None:
            raise fail("Cannot fit survival curves: --time and --event name the columns of DATA.csv to fit.")
        df = _read_csv(data, "data")
        t, e = _column(df, time, data, "times"), _column(df, event, data, "event indicators")
        if group is not None:
            if group not in df.columns:
                _column(df, group, data, "groups")  # reports the missing column
            labels = df[group].astype(str).to_numpy()
        source = f"{data.name}: {time}, {event}" + (f" by {group}" if group else "") + f" ({len(df)} rows)"
        name = data.stem
    try:
        analysis = analyse_survival(t, e, group=labels, group_name=group, dists=dist_list, cuts=cut_list,
                                    time_unit=time_unit, prefix=prefix, choose=choose, horizon=horizon,
                                    data_source=source, ipd=ipd)
    except ValueError as exc:
        raise fail(f"Cannot fit survival curves to {data or km_coords}: {exc}") from None
    out_dir = out or Path("results") / f"fit-survival-{name}"
    from heecon.report.survival import write_survival_results

    try:
        files = write_survival_results(analysis, out_dir, figures=not no_figures)
    except (FileExistsError, ValueError) as exc:
        raise fail(f"Cannot write the survival fits: {exc}") from None
    for w in analysis.warnings:
        typer.echo(f"Warning: {w}", err=True)
    print_table(f"Survival fits to {source} (best AIC first)", analysis.table,
                ["dist", "n_params", "loglik", "aic", "bic", "delta_aic", "aic_weight", "converged", "chosen"],
                cells=lambda r: [r[0], str(r[1]), f"{r[2]:.3f}", f"{r[3]:.2f}", f"{r[4]:.2f}", f"{r[5]:.2f}",
                                 f"{r[6]:.3f}", "yes" if r[7] else "NO", "*" if r[8] else ""], width=110)
    fit = analysis.chosen_fit
    curves = ", ".join(f"[survival.{n}]" for n in analysis.curve_names().values())
    typer.echo(f"Chosen: {fit.label} ({analysis.chosen}); scenario parameters {prefix}_*, the multivariate normal "
               f"[joints.{prefix}_{fit.dist}] and {curves} in {files['survival.toml']}")
    typer.echo(f"Results written to {out_dir}/")
