"""Survival fits: the fitted curves over the data, their extrapolation, and their hazards.

Each function takes finished results: the curve table of :func:`heecon.survival.survival_curves` (with an
optional ``group`` column), or a :class:`heecon.survival.SurvivalAnalysis`; it draws one facet per group,
accepts ``ax=None`` and returns the axes. Kaplan-Meier estimates are drawn as steps with their Greenwood
interval; the chosen fit is drawn thicker.

References
----------
Latimer N (2011, updated 2013). NICE DSU Technical Support Document 14, section 3.4 (visual inspection of fits
and of their extrapolation; plausibility of the hazard). NICE Decision Support Unit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from heecon.report.figures._base import PALETTE, _GREY, _facet_legend, _facets, _need, _percent_formatter, _style

__all__ = ["survival_fit_plot", "survival_extrapolation_plot", "hazard_plot"]

_KM = "Kaplan-Meier"


def _unpack(curves: Any, chosen: str | None, time_unit: str | None) -> tuple[pd.DataFrame, str | None, str | None]:
    if hasattr(curves, "curves") and hasattr(curves, "chosen"):
        return curves.curves, chosen or curves.chosen, time_unit or curves.time_unit
    if not isinstance(curves, pd.DataFrame):
        raise TypeError(f"Expected the curve table of survival_curves or a SurvivalAnalysis. Got {type(curves).__name__}.")
    return curves, chosen, time_unit


def _draw(curves: Any, ax: Any, what: str, chosen: str | None, time_unit: str | None, title: str) -> list[Any]:
    df, chosen, time_unit = _unpack(curves, chosen, time_unit)
    _need(df, ["curve", "kind", "time", "survival", "extrapolated"], "curve table")
    groups = list(pd.unique(df["group"])) if "group" in df.columns else [None]
    fitted = [c for c in pd.unique(df.loc[df["kind"] == "fitted", "curve"])]
    pal = [c for c in PALETTE if c != "#000000"]  # black is the Kaplan-Meier's
    colors = {c: pal[i % len(pal)] for i, c in enumerate(fitted)}
    unit = time_unit or "time"
    with _style():
        axes, single = _facets(len(groups), ax)
        for i, g in enumerate(groups):
            a = axes[0] if single else axes[i]
            f = df if g is None else df[df["group"] == g]
            km = f[f["kind"] == "km"]
            end = float(km["time"].max()) if len(km) else float(f.loc[~f["extrapolated"], "time"].max())
            for c in fitted:
                fc = f[(f["curve"] == c) & (f["kind"] == "fitted")]
                if what == "data":
                    fc = fc[fc["time"] <= end]
                x = fc["time"].to_numpy(dtype=float)
                y = (fc["hazard"] if what == "hazard" else fc["survival"]).to_numpy(dtype=float)
                keep = np.isfinite(y)  # a hazard may be infinite at time 0 (e.g. a Weibull shape below 1)
                label = c + (" (chosen)" if c == chosen else "")
                a.plot(x[keep], y[keep], color=colors[c],
                       linewidth=2.4 if c == chosen else 1.2, label=label, zorder=3 if c == chosen else 2)
            if what != "hazard" and len(km):
                t = km["time"].to_numpy(dtype=float)
                a.fill_between(t, km["lower"].to_numpy(dtype=float), km["upper"].to_numpy(dtype=float), step="post",
                               color=_GREY, alpha=0.18, linewidth=0, label="95% CI (Greenwood)")
                a.step(t, km["survival"].to_numpy(dtype=float), where="post", color="black", linewidth=1.3,
                       label=_KM, zorder=4)
            if what != "data":
                a.axvline(end, color=_GREY, linestyle=":", linewidth=1)
                xmax = float(f["time"].max())
                if xmax > end:
                    a.axvspan(end, xmax, color=_GREY, alpha=0.06, linewidth=0)
                    a.text(end, 1.0 if what != "hazard" else 0.98, " extrapolated", transform=a.get_xaxis_transform(),
                           va="top", ha="left", fontsize=8, color=_GREY)
            a.set_xlim(0, end if what == "data" else float(f["time"].max()))
            if what == "hazard":
                a.set_ylim(bottom=0)
                a.set_ylabel(f"Hazard (per {unit.rstrip('s')})" if time_unit else "Hazard")
            else:
                a.set_ylim(0, 1.02)
                a.yaxis.set_major_formatter(_percent_formatter())
                a.set_ylabel("Survival")
            a.set_xlabel(f"Time ({unit})" if time_unit else "Time")
            a.tick_params(labelbottom=True, labelleft=True)
            if g is not None:
                a.set_title(str(g))
        if single or len(groups) == 1:
            axes[0].legend(loc="best")
            if len(groups) == 1:
                axes[0].set_title(title)
        else:
            _facet_legend(axes, "Curve", outside=ax is None)
            axes[0].figure.suptitle(title, fontweight="bold")
    return axes


def survival_fit_plot(curves: Any, ax: Any = None, *, chosen: str | None = None, time_unit: str | None = None) -> Any:
    """The fitted survival curves over the data's follow-up, with the Kaplan-Meier estimate (one facet per group).

    Parameters
    ----------
    curves
        The table of :func:`heecon.survival.survival_curves` (``group`` column optional) or a ``SurvivalAnalysis``.
    ax
        None (a new figure), one Axes per group, or one Axes.
    chosen
        The fit to draw thicker (default: the analysis's choice).
    time_unit
        The time axis's unit (default: the analysis's).

    Returns
    -------
    list of matplotlib.axes.Axes
    """
    return _draw(curves, ax, "data", chosen, time_unit, "Fitted curves and Kaplan-Meier")


def survival_extrapolation_plot(curves: Any, ax: Any = None, *, chosen: str | None = None,
                                time_unit: str | None = None) -> Any:
    """The fitted curves to the horizon, the follow-up marked (a dotted line) and the extrapolation shaded."""
    return _draw(curves, ax, "extrapolation", chosen, time_unit, "Extrapolated survival")


def hazard_plot(curves: Any, ax: Any = None, *, chosen: str | None = None, time_unit: str | None = None) -> Any:
    """The fitted hazards to the horizon (is the extrapolated hazard plausible?)."""
    df, _, _ = _unpack(curves, chosen, time_unit)
    _need(df, ["hazard"], "curve table")
    if not np.any(np.isfinite(df.loc[df["kind"] == "fitted", "hazard"].to_numpy(dtype=float))):
        raise ValueError("The curve table has no finite fitted hazards.")
    return _draw(curves, ax, "hazard", chosen, time_unit, "Fitted hazards")
