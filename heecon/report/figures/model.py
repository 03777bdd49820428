"""The base case over time: state occupancy, costs by sector, events averted; and the budget impact."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from heecon.report.figures._base import PALETTE, _GREY, _PER_CYCLE_META, _TRACE_META, _ctx, _facet_legend, _facets, _need, _new_axes, _percent_formatter, _style
from heecon.report.format import money_formatter


# ---------------------------------------------------------------------------------- base case over time


def state_occupancy(trace: Any, ax: Any = None, *, kind: str = "area", labels: Mapping[str, str] | None = None,
                    state_labels: Mapping[str, str] | None = None, strategies: Sequence[str] | None = None) -> Any:
    """State occupancy over time, one facet per strategy (stacked areas, or lines with ``kind="lines"``).

    Parameters
    ----------
    trace
        The trace frame (``strategy``, ``cycle``, ``time_years``, one column per state), a ``BaseCaseResult``
        or a :class:`ResultsData`.
    ax
        ``None`` (new figure), one Axes per strategy, or a single Axes: then every strategy is drawn there as
        lines (colour = state, line style = strategy).

    Returns
    -------
    list of matplotlib.axes.Axes
        One per strategy (a single-element list when one Axes was given).
    """
    c = _ctx(trace, labels=labels, state_labels=state_labels)
    df = trace.trace if hasattr(trace, "trace") else trace
    if df is None:
        raise ValueError("These results have no trace (trace.csv).")
    _need(df, ["strategy"], "trace")
    states = [col for col in df.columns if col not in _TRACE_META]
    names = list(strategies) if strategies else [s for s in (c.strategies or pd.unique(df["strategy"]))
                                                 if s in set(df["strategy"])]
    xcol = "time_years" if "time_years" in df.columns else "cycle"
    xlabel = "Years since start" if xcol == "time_years" else "Cycle"
    who = "individuals" if c.engine == "microsim" else "cohort"
    colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(states)}
    hatches = {s: (None if i < len(PALETTE) else "//") for i, s in enumerate(states)}
    with _style():
        axes, single = _facets(len(names), ax)
        if single and len(names) > 1:
            kind = "lines"
        ls = ["-", "--", ":", "-."]
        for i, s in enumerate(names):
            a = axes[0] if single else axes[i]
            f = df[df["strategy"] == s]
            x = f[xcol].to_numpy(dtype=float)
            if kind == "area":
                extra = {"hatch": [hatches[st] for st in states]} if len(states) > len(PALETTE) else {}
                a.stackplot(x, *[f[st].to_numpy(dtype=float) for st in states],
                            labels=[c.state_labels.get(st, st) for st in states],
                            colors=[colors[st] for st in states], alpha=0.85, linewidth=0.3, edgecolor="white",
                            **extra)
                a.set_ylim(0, 1)
            elif kind == "lines":
                for st in states:
                    lab = c.state_labels.get(st, st)
                    a.plot(x, f[st].to_numpy(dtype=float), color=colors[st], linestyle=ls[i % len(ls)],
                           label=lab if not single or len(names) == 1 else f"{lab} ({c.label(s)})")
                a.set_ylim(bottom=0)
            else:
                raise ValueError(f"The 'kind' argument must be 'area' or 'lines'. Got {kind!r}.")
            a.set_xlim(x.min(), x.max())
            a.tick_params(labelbottom=True)
            if not single or len(names) == 1:
                a.set_title(c.label(s))
            a.set_xlabel(xlabel)
        axes[0].set_ylabel(f"Proportion of {who}")
        axes[0].yaxis.set_major_formatter(_percent_formatter())
        if single:
            axes[0].set_title("State occupancy")
            axes[0].legend(loc="best", ncols=1 if len(states) * len(names) < 10 else 2)
        else:
            _facet_legend(axes, "State", outside=ax is None)
            axes[0].figure.suptitle("State occupancy over time", fontweight="bold")
    return axes


def costs_by_sector_over_time(per_cycle: Any, ax: Any = None, *, by: str | None = None,
                              period_years: float | None = None, sectors: Sequence[str] | None = None,
                              cycle_length_months: float | None = None, currency: str | None = None,
                              price_year: int | None = None, labels: Mapping[str, str] | None = None) -> Any:
    """Discounted cost per person over time, stacked by sector, one facet per strategy.

    Parameters
    ----------
    per_cycle
        The per-cycle frame (``strategy``, ``cycle`` (1 = first cycle; 0, as in ``per_cycle.csv``, the start
        costs at time 0), one column per sector, ``qalys``, ``lys``), a ``BaseCaseResult`` or a
        :class:`ResultsData`.
    by
        ``"year"`` (cycles summed into periods of ``period_years`` by when they start; needs the cycle length)
        or ``"cycle"`` (one bar per cycle). Default: ``"year"`` when the cycle length is known.
    period_years
        Length of a bar with ``by="year"``: default the shortest of 1, 2, 5, 10, 20, 50 years (and at least
        a cycle) that gives at most 30 bars.
    sectors
        Sectors to stack (default: the results' sectors with any non-zero cost).

    Returns
    -------
    list of matplotlib.axes.Axes
        One per strategy; each holds one ``BarContainer`` per sector labelled with the sector name, whose
        heights are that sector's cost per period (bars start at the period's start, in years, or the cycle).
    """
    c = _ctx(per_cycle, currency=currency, price_year=price_year, labels=labels, sectors=sectors,
             cycle_length_months=cycle_length_months)
    df = per_cycle.per_cycle if hasattr(per_cycle, "per_cycle") else per_cycle
    if df is None:
        raise ValueError("These results have no per-cycle costs (per_cycle.csv).")
    _need(df, ["strategy", "cycle"], "per-cycle frame")
    secs = [s for s in (c.sectors or [col for col in df.columns if col not in _PER_CYCLE_META]) if s in df.columns]
    secs = [s for s in secs if (df[s].to_numpy(dtype=float) != 0).any()] or secs[:1]
    cyc_years = (c.cycle_length_months / 12.0) if c.cycle_length_months else None
    if by is None:
        by = "year" if cyc_years else "cycle"
    if by not in ("year", "cycle"):
        raise ValueError(f"The 'by' argument must be 'year' or 'cycle'. Got {by!r}.")
    if by == "year" and not cyc_years:
        raise ValueError("Costs by year need the cycle length: pass cycle_length_months=...")
    if by == "year" and period_years is None:
        horizon = float(df["cycle"].max()) * cyc_years
        period_years = next((p for p in (1, 2, 5, 10, 20, 50) if p >= cyc_years - 1e-9 and horizon / p <= 30), 50)
    names = [s for s in (c.strategies or pd.unique(df["strategy"])) if s in set(df["strategy"])]
    all_colors = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(c.sectors or secs)}
    with _style():
        axes, single = _facets(len(names), ax)
        if single and len(names) > 1:
            raise ValueError(f"Costs by sector draw one facet per strategy: pass {len(names)} Axes or ax=None.")
        for i, s in enumerate(names):
            a = axes[i]
            f = df[df["strategy"] == s].sort_values("cycle")
            if by == "year":
                # cycle 0 (per_cycle.csv's row of start costs, at time 0) falls in the first period
                start = (np.maximum(f["cycle"].to_numpy(dtype=float), 1.0) - 1) * cyc_years
                period = np.floor(start / period_years + 1e-9).astype(int)
                g = f[secs].groupby(period).sum()
                x = g.index.to_numpy(dtype=float) * period_years
                width = 0.9 * period_years
            else:
                g = f.set_index("cycle")[secs]
                x = g.index.to_numpy(dtype=float)
                width = 0.85
            bottom_pos = np.zeros(len(g))
            bottom_neg = np.zeros(len(g))
            for sec in secs:
                v = g[sec].to_numpy(dtype=float)
                bottom = np.where(v >= 0, bottom_pos, bottom_neg)
                a.bar(x, v, bottom=bottom, width=width, align="edge" if by == "year" else "center",
                      color=all_colors.get(sec, _GREY), label=sec, edgecolor="white", linewidth=0.3)
                bottom_pos = bottom_pos + np.where(v >= 0, v, 0)
                bottom_neg = bottom_neg + np.where(v < 0, v, 0)
            a.set_title(c.label(s))
            a.set_xlabel("Years since start" if by == "year" else "Cycle")
            a.yaxis.set_major_formatter(money_formatter(c.currency))
            a.grid(axis="x", visible=False)
            a.tick_params(labelbottom=True)
        if by == "year":
            per = "year" if period_years == 1 else f"{period_years:g} years"
        else:
            per = "cycle"
        axes[0].set_ylabel(f"Discounted cost per person per {per}\n({c.money_axis})")
        _facet_legend(axes, "Sector", outside=ax is None)
        axes[0].figure.suptitle("Costs by sector over time", fontweight="bold")
    return axes


def events_averted_over_time(frame: pd.DataFrame, events: Sequence[str] | Mapping[str, str], ax: Any = None, *,
                             comparator: str, strategies: Sequence[str] | None = None, cycle_col: str = "cycle",
                             strategy_col: str = "strategy", x_col: str | None = None, cumulative: bool = False,
                             labels: Mapping[str, str] | None = None, unit: str = "per person") -> Any:
    """Difference in event counts, strategy minus comparator, over time (below zero: events averted).

    Parameters
    ----------
    frame
        One row per strategy and cycle: ``cycle_col``, ``strategy_col`` and one column per event count.
    events
        Event columns to draw (or a mapping column -> label).
    comparator
        The strategy subtracted.
    strategies
        Strategies compared with it (default: every other strategy in the frame).
    x_col
        Column for the x axis (default ``time_years`` if present, else ``cycle_col``).
    cumulative
        Cumulative differences instead of per-cycle ones.

    Returns
    -------
    matplotlib.axes.Axes
        One line per (strategy, event), labelled ``"<event label>"`` (one strategy) or
        ``"<event label>: <strategy label>"``; y = strategy minus comparator.
    """
    ev = dict(events) if isinstance(events, Mapping) else {e: e for e in events}
    _need(frame, [cycle_col, strategy_col, *ev], "events frame")
    if comparator not in set(frame[strategy_col]):
        raise ValueError(f"The comparator '{comparator}' is not in the frame's '{strategy_col}' column.")
    x_col = x_col or ("time_years" if "time_years" in frame.columns else cycle_col)
    others = list(strategies) if strategies else [s for s in pd.unique(frame[strategy_col]) if s != comparator]
    c = _ctx(None, labels=labels)
    base = frame[frame[strategy_col] == comparator].set_index(cycle_col).sort_index()
    ls = ["-", "--", ":", "-."]
    with _style():
        ax = _new_axes(ax, figsize=(7.0, 4.4))
        for i, s in enumerate(others):
            f = frame[frame[strategy_col] == s].set_index(cycle_col).sort_index()
            idx = f.index.intersection(base.index)
            x = f.loc[idx, x_col].to_numpy(dtype=float) if x_col != cycle_col else idx.to_numpy(dtype=float)
            for k, (col, lab) in enumerate(ev.items()):
                d = f.loc[idx, col].to_numpy(dtype=float) - base.loc[idx, col].to_numpy(dtype=float)
                if cumulative:
                    d = np.cumsum(d)
                ax.plot(x, d, color=PALETTE[k % len(PALETTE)], linestyle=ls[i % len(ls)], linewidth=1.8,
                        label=lab if len(others) == 1 else f"{lab}: {c.label(s)}")
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xlabel("Years since start" if x_col == "time_years" else ("Cycle" if x_col == cycle_col else x_col))
        what = "Cumulative difference" if cumulative else "Difference"
        ax.set_ylabel(f"{what} in events {unit}\n(strategy − {c.label(comparator)}; below 0 = averted)")
        vs = c.label(others[0]) if len(others) == 1 else "each strategy"
        ax.set_title(f"Events averted over time: {vs} vs {c.label(comparator)}")
        ax.legend(loc="best")
    return ax


def budget_impact(frame: pd.DataFrame, ax: Any = None, *, year_col: str = "year", payer_col: str = "payer",
                  value_col: str = "net_cost", currency: str | None = None, price_year: int | None = None) -> Any:
    """Net budget impact per year, grouped bars by payer.

    Returns
    -------
    matplotlib.axes.Axes
        One ``BarContainer`` per payer labelled with the payer name, bar heights = ``value_col`` by year.
    """
    _need(frame, [year_col, payer_col, value_col], "budget impact frame")
    c = _ctx(None, currency=currency, price_year=price_year)
    grid = frame.pivot_table(index=year_col, columns=payer_col, values=value_col, aggfunc="sum", sort=False)
    years = list(grid.index)
    payers = list(grid.columns)
    n = max(len(payers), 1)
    width = 0.8 / n
    x = np.arange(len(years))
    with _style():
        ax = _new_axes(ax, figsize=(max(6.0, 0.9 * len(years) + 2), 4.4))
        for i, p in enumerate(payers):
            ax.bar(x - 0.4 + width * (i + 0.5), grid[p].to_numpy(dtype=float), width=width * 0.95,
                   color=PALETTE[i % len(PALETTE)], label=str(p))
        ax.axhline(0, color="black", linewidth=0.8)
        ax.set_xticks(x, [str(y) for y in years])
        ax.grid(axis="x", visible=False)
        ax.yaxis.set_major_formatter(money_formatter(c.currency))
        ax.set_xlabel(year_col.replace("_", " ").capitalize())
        ax.set_ylabel(f"Net budget impact ({c.money_axis})")
        ax.set_title("Budget impact by payer")
        ax.legend(title="Payer", loc="best")
    return ax
