"""Deterministic sensitivity: the tornado of one-way DSA and the heat map of a two-way grid."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from heecon.report.figures._base import PALETTE, _GREY, _ctx, _need, _new_axes, _num, _style, _thousands_formatter
from heecon.report.format import _wtp_text, money_formatter


# ---------------------------------------------------------------------------------- DSA: tornado, heat map


def tornado(result: Any, ax: Any = None, *, base: float | None = None, max_parameters: int = 15,
            currency: str | None = None, price_year: int | None = None, labels: Mapping[str, str] | None = None,
            strategy: str | None = None, comparator: str | None = None, wtp: float | None = None) -> Any:
    """Tornado diagram of a one-way DSA: a bar per parameter from the base-case incremental NMB to its value at
    the parameter's low and at its high value, widest swing on top.

    Parameters
    ----------
    result
        A ``OneWayResult`` or its ``table`` (``parameter``, ``low``, ``high``, ``inc_nmb_low``,
        ``inc_nmb_high``; a ``base_inc_nmb`` column gives the base case when ``base`` is not passed).
    base
        Base-case incremental net monetary benefit (required for a table without ``base_inc_nmb``).

    Returns
    -------
    matplotlib.axes.Axes
        Two ``BarContainer``\\ s labelled ``"Low value"`` and ``"High value"`` (bar ``i``: left = base,
        width = value - base), a vertical base line labelled ``"Base case"``.
    """
    if hasattr(result, "table") and hasattr(result, "base"):
        tab = result.table
        base = float(result.base["inc_nmb"]) if base is None else base
        strategy = strategy or result.strategy
        comparator = comparator or result.comparator
        wtp = wtp if wtp is not None else result.wtp
    elif isinstance(result, pd.DataFrame):
        tab = result
    else:
        raise TypeError(f"tornado takes a OneWayResult or its table. Got {type(result).__name__}.")
    _need(tab, ["parameter", "low", "high", "inc_nmb_low", "inc_nmb_high"], "one-way table")
    if base is None:
        if "base_inc_nmb" in tab.columns:
            base = float(tab["base_inc_nmb"].iloc[0])
        else:
            raise ValueError("The tornado needs the base-case incremental net benefit: pass base=... "
                             "(or a table with a 'base_inc_nmb' column).")
    for col, val in (("strategy", strategy), ("comparator", comparator), ("wtp", wtp)):
        if val is None and col in tab.columns:
            if col == "wtp":
                wtp = float(tab[col].iloc[0])
            elif col == "strategy":
                strategy = str(tab[col].iloc[0])
            else:
                comparator = str(tab[col].iloc[0])
    c = _ctx(None, currency=currency, price_year=price_year, labels=labels)
    t = tab.copy()
    t["_swing"] = (t["inc_nmb_high"] - t["inc_nmb_low"]).abs()
    t = t.sort_values("_swing", ascending=False, kind="stable").head(max_parameters).iloc[::-1]
    y = np.arange(len(t))
    lo = t["inc_nmb_low"].to_numpy(dtype=float)
    hi = t["inc_nmb_high"].to_numpy(dtype=float)
    with _style():
        ax = _new_axes(ax, figsize=(7.2, 0.42 * len(t) + 1.8))
        ax.barh(y, lo - base, left=base, height=0.6, color=PALETTE[0], label="Low value")
        ax.barh(y, hi - base, left=base, height=0.6, color=PALETTE[3], label="High value")
        ax.axvline(base, color="black", linewidth=1.2, label="Base case")
        xmin = min(lo.min(), hi.min(), base)
        xmax = max(lo.max(), hi.max(), base)
        if xmin < 0 < xmax:
            ax.axvline(0, color=_GREY, linestyle="--", linewidth=1, label="Incremental NMB = 0")
        ax.set_yticks(y, [f"{p} ({_num(a)} to {_num(b)})" for p, a, b in zip(t["parameter"], t["low"], t["high"])])
        ax.grid(axis="y", visible=False)
        ax.xaxis.set_major_formatter(money_formatter(c.currency))
        at = f" at {_wtp_text(wtp, c.currency)}" if wtp is not None else ""
        ax.set_xlabel(f"Incremental net monetary benefit per person{at}\n({c.money_axis})")
        vs = f": {c.label(strategy)} vs {c.label(comparator)}" if strategy and comparator else ""
        ax.set_title(f"One-way sensitivity analysis{vs}")
        ax.legend(loc="lower right")
    return ax


def two_way_heatmap(frame: pd.DataFrame, ax: Any = None, *, a: str | None = None, b: str | None = None,
                    value: str = "inc_nmb", currency: str | None = None, price_year: int | None = None,
                    title: str | None = None) -> Any:
    """Heat map of a two-way DSA grid (``heecon.sensitivity.dsa.two_way``): ``value`` over parameter ``a``
    (x) and ``b`` (y), diverging colours centred on zero, the zero contour drawn where the decision changes.

    Returns
    -------
    matplotlib.axes.Axes
        A ``QuadMesh`` whose array is the pivot of ``value`` (rows = ``b`` values, columns = ``a`` values).
    """
    from matplotlib.colors import CenteredNorm

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"two_way_heatmap takes the two-way frame. Got {type(frame).__name__}.")
    a = a or str(frame.columns[0])
    b = b or str(frame.columns[1])
    _need(frame, [a, b, value], "two-way frame")
    c = _ctx(None, currency=currency, price_year=price_year)
    grid = frame.pivot_table(index=b, columns=a, values=value, aggfunc="mean").sort_index().sort_index(axis=1)
    xa = grid.columns.to_numpy(dtype=float)
    yb = grid.index.to_numpy(dtype=float)
    z = grid.to_numpy(dtype=float)
    money = value in ("inc_nmb", "inc_costs", "costs", "icer") or "cost" in value or "nmb" in value
    with _style():
        ax = _new_axes(ax, figsize=(6.6, 5.0))
        mesh = ax.pcolormesh(xa, yb, z, shading="nearest", cmap="PuOr", norm=CenteredNorm(vcenter=0.0))
        cb = ax.figure.colorbar(mesh, ax=ax)
        names = {"inc_nmb": "Incremental NMB per person", "icer": "ICER", "inc_costs": "Incremental cost",
                 "inc_qalys": "Incremental QALYs"}
        cb.set_label(f"{names.get(value, value)}" + (f" ({c.money_axis})" if money else ""))
        if money:
            cb.formatter = money_formatter(c.currency)
            cb.update_ticks()
        if np.nanmin(z) < 0 < np.nanmax(z) and len(xa) > 1 and len(yb) > 1:
            cs = ax.contour(xa, yb, z, levels=[0.0], colors="black", linewidths=1.4)
            ax.clabel(cs, fmt={0.0: "0"}, fontsize=8)
        ax.grid(False)
        for axis, vals in ((ax.xaxis, xa), (ax.yaxis, yb)):
            if np.nanmax(np.abs(vals)) >= 1000:
                axis.set_major_formatter(_thousands_formatter())
        ax.set_xlabel(a)
        ax.set_ylabel(b)
        ax.set_title(title or f"Two-way sensitivity analysis: {names.get(value, value)}")
    return ax



def _bars(labels: list[str], values: list[np.ndarray], errors: list[np.ndarray | None], legend: list[str],
          xlabel: str, title: str, ax: Any) -> Any:
    ax = _new_axes(ax, (6.4, 0.4 * len(labels) + 1.5))
    y = np.arange(len(labels))
    h = 0.8 / max(1, len(values))
    for i, (v, e, lab) in enumerate(zip(values, errors, legend)):
        ax.barh(y + i * h, v, height=h, xerr=e, label=lab, color=PALETTE[i % len(PALETTE)])
    ax.set_yticks(y + h * (len(values) - 1) / 2)
    ax.set_yticklabels(labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if len(values) > 1:
        ax.legend()
    return ax


def _table_of(result: Any) -> pd.DataFrame:
    return result if isinstance(result, pd.DataFrame) else result.table


def _who(result: Any, about: Mapping[str, Any] | None) -> str:
    a = dict(about or {})
    for k in ("strategy", "comparator", "wtp"):
        if hasattr(result, k):
            a.setdefault(k, getattr(result, k))
    if a.get("strategy") and a.get("comparator") and a.get("wtp") is not None:
        return f", {a['strategy']} vs {a['comparator']} at {float(a['wtp']):,.0f}/QALY"
    return ""


def evppi_bars(result: Any, ax: Any = None, *, currency: str | None = None, price_year: int | None = None) -> Any:
    """Horizontal bars of per-person EVPPI by parameter group, one set of bars per WTP (an ``EVPPIResult``, or
    its table as ``evppi.csv`` holds it); money in ``currency`` when given."""
    t = _table_of(result)
    groups = getattr(result, "groups", None)
    labels = list(groups) if groups else list(pd.unique(t["group"]))
    wtps = list(getattr(result, "wtp", [])) if not isinstance(result, pd.DataFrame) else list(pd.unique(t["wtp"]))
    values = [t[t["wtp"] == w].set_index("group").loc[labels, "evppi"].to_numpy() for w in wtps]
    with _style():
        ax = _bars(labels, values, [None] * len(values), [f"WTP {w:,.0f}" for w in wtps], "EVPPI per person",
                   "Expected value of partial perfect information", ax)
        if currency is not None:
            ax.xaxis.set_major_formatter(money_formatter(currency))
            ax.set_xlabel(f"EVPPI per person ({_ctx(None, currency=currency, price_year=price_year).money_axis})")
        return ax


def sobol_bars(result: Any, ax: Any = None, *, about: Mapping[str, Any] | None = None) -> Any:
    """Bars of the Sobol' first-order (S1) and total (ST) indices with their confidence intervals (a
    ``SobolResult`` or its table; ``about`` gives strategy, comparator and wtp for the title of a table)."""
    t = _table_of(result)
    with _style():
        return _bars(list(t["parameter"]), [t["S1"].to_numpy(), t["ST"].to_numpy()],
                     [t["S1_conf"].to_numpy(), t["ST_conf"].to_numpy()], ["S1 (first order)", "ST (total)"],
                     "Sobol' index", f"Sobol' indices of iNMB{_who(result, about)}", ax)


def morris_bars(result: Any, ax: Any = None, *, about: Mapping[str, Any] | None = None) -> Any:
    """Bars of Morris' mu* (mean absolute elementary effect) with their confidence intervals (a ``MorrisResult``
    or its table)."""
    t = _table_of(result)
    with _style():
        return _bars(list(t["parameter"]), [t["mu_star"].to_numpy()], [t["mu_star_conf"].to_numpy()], ["mu_star"],
                     "mu* (mean absolute elementary effect on iNMB)", f"Morris screening of iNMB{_who(result, about)}",
                     ax)
