"""Figures of value of sample information: EVSI against the sample size of the proposed study (with EVPPI of the
parameters it informs and EVPI as ceilings), and the expected net benefit of sampling with its optimal size.

Both take an ``EVSIResult`` / ``ENBSResult`` or the tables ``evsi.csv`` / ``enbs.csv`` hold, at one willingness to
pay (default: the first in the table).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from heecon.report.figures._base import PALETTE, _GREY, _ctx, _need, _new_axes, _style
from heecon.report.format import _wtp_text, format_money, money_formatter

__all__ = ["evsi_curve", "enbs_curve"]


def _frame(obj: Any) -> pd.DataFrame:
    return obj if isinstance(obj, pd.DataFrame) else obj.to_frame()


def _at_wtp(df: pd.DataFrame, wtp: float | None) -> tuple[pd.DataFrame, float]:
    wtps = np.asarray(wtps_of(df))
    w = float(wtps[0]) if wtp is None else float(wtp)
    if not np.any(np.isclose(wtps, w)):
        raise ValueError(f"no rows at WTP {w:,.0f}; the table has {', '.join(f'{x:,.0f}' for x in wtps)}")
    return df[np.isclose(df["wtp"].astype(float), w)], w


def _method_lines(ax: Any, sub: pd.DataFrame, y: str, label: str) -> None:
    for i, (m, g) in enumerate(sub.groupby("method", sort=False)):
        g = g.sort_values("n")
        x = g["n"].to_numpy(dtype=float)
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(x, g[y].to_numpy(dtype=float), marker="o", markersize=3.5, color=colour, linewidth=1.6,
                label=f"{label} ({m})", zorder=3)
        lo, hi = g["lower"].to_numpy(dtype=float), g["upper"].to_numpy(dtype=float)
        if np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)):
            ax.fill_between(x, lo, hi, color=colour, alpha=0.13, zorder=2, linewidth=0)


def _finish(ax: Any, sub: pd.DataFrame, c: Any, ylabel: str, title: str, legend: str) -> None:
    """The sample-size axis (log scale, ticked at the sizes analysed), money on y, labels, title and legend."""
    from matplotlib.ticker import FixedLocator, NullLocator

    ns = sorted(set(int(v) for v in sub["n"]))
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(FixedLocator(ns))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{v:,}" for v in ns])
    ax.yaxis.set_major_formatter(money_formatter(c.currency))
    ax.set_xlabel("Sample size per arm of the proposed study (log scale)")
    ax.set_ylabel(f"{ylabel}\n({c.money_axis})")
    ax.set_title(title)
    ax.legend(loc=legend, fontsize=8, frameon=True)


def evsi_curve(result: Any, ax: Any = None, *, wtp: float | None = None, currency: str | None = None,
               price_year: int | None = None) -> Any:
    """EVSI per person against the sample size per arm, one line per method with its interval, and the EVPPI of
    the parameters the study informs and the EVPI as dashed ceilings (an ``EVSIResult`` or ``evsi.csv``)."""
    df = _frame(result)
    _need(df, ["wtp", "n", "method", "evsi", "lower", "upper", "evppi", "evpi"], "EVSI table")
    sub, w = _at_wtp(df, wtp)
    c = _ctx(None, currency=currency, price_year=price_year)
    with _style():
        ax = _new_axes(ax)
        _method_lines(ax, sub, "evsi", "EVSI")
        for col, style, text in (("evppi", "--", "EVPPI of the informed parameters"), ("evpi", ":", "EVPI")):
            v = float(sub[col].iloc[0])
            ax.axhline(v, color=_GREY, linestyle=style, linewidth=1.2, label=f"{text} ({format_money(v, c.currency)})")
        ax.set_ylim(bottom=0)
        _finish(ax, sub, c, "EVSI per person", f"Expected value of sample information at {_wtp_text(w, c.currency)}",
                "best")
    return ax


def enbs_curve(result: Any, ax: Any = None, *, wtp: float | None = None, currency: str | None = None,
               price_year: int | None = None, optimal: pd.DataFrame | None = None) -> Any:
    """Expected net benefit of sampling (population EVSI minus the study's cost) against the sample size per arm,
    one line per method with its interval, the zero line and the optimal size marked (an ``ENBSResult`` or
    ``enbs.csv``; ``optimal`` the ``enbs_optimal.csv`` table when a frame is given)."""
    df = _frame(result)
    _need(df, ["wtp", "method", "n", "enbs", "lower", "upper", "study_cost"], "ENBS table")
    sub, w = _at_wtp(df, wtp)
    best = optimal if optimal is not None else getattr(result, "optimal", None)
    c = _ctx(None, currency=currency, price_year=price_year)
    with _style():
        ax = _new_axes(ax)
        _method_lines(ax, sub, "enbs", "ENBS")
        ax.axhline(0.0, color=_GREY, linewidth=1.0)
        if best is not None and len(best):
            b = best[np.isclose(best["wtp"].astype(float), w)]
            for i, r in enumerate(b.itertuples()):
                ax.plot([r.n], [r.enbs], marker="D", markersize=7, color=PALETTE[i % len(PALETTE)],
                        linestyle="none", zorder=5, label=f"optimal n = {int(r.n):,} per arm ({r.method})")
        _finish(ax, sub, c, "ENBS, population", f"Expected net benefit of sampling at {_wtp_text(w, c.currency)}",
                "best")
    return ax


def wtps_of(result: Any) -> Sequence[float]:
    """The WTP values of an EVSI or ENBS result or table, in order."""
    return [float(x) for x in pd.unique(_frame(result)["wtp"].astype(float))]
