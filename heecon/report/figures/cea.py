"""The cost-effectiveness plane, acceptability curves (CEAC/CEAF) and the EVPI curve."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from heecon.report.figures._base import PALETTE, _Ctx, _GREY, _ctx, _need, _new_axes, _style
from heecon.report.format import _wtp_text, format_money, money_formatter
from heecon.report.results_data import ResultsData


# ------------------------------------------------------------------------------------------- CE plane


def _psa_arrays(data: Any, c: _Ctx) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Per-sample costs and QALYs ``[n, k]`` and the strategy names."""
    if isinstance(data, ResultsData):
        if data.psa_samples is None:
            raise ValueError(f"{data.path} has no psa_samples.parquet; run the PSA (heecon run --psa N)")
        data = data.psa_samples
    if hasattr(data, "costs") and hasattr(data, "effects") and hasattr(data, "strategies"):  # PSAResult
        return np.asarray(data.costs(c.perspective)), np.asarray(data.effects()), list(data.strategies)
    if isinstance(data, pd.DataFrame):
        _need(data, ["sample", "strategy", "qalys"], "PSA samples frame")
        col = None
        for cand in ([f"costs[{c.perspective}]"] if c.perspective else []) + ["costs"]:
            if cand in data.columns:
                col = cand
                break
        if col is None:
            persp = [x for x in data.columns if str(x).startswith("costs[")]
            if len(persp) != 1:
                raise ValueError("The PSA samples frame needs a 'costs' column or one 'costs[perspective]' column; "
                                 f"pass perspective=... to choose among {persp}")
            col = persp[0]
        order = c.strategies or list(pd.unique(data["strategy"]))
        order = [s for s in order if s in set(data["strategy"])]
        cost = data.pivot(index="sample", columns="strategy", values=col)[order]
        eff = data.pivot(index="sample", columns="strategy", values="qalys")[order]
        return cost.to_numpy(), eff.to_numpy(), order
    raise TypeError(f"ce_plane takes a PSAResult, a ResultsData or a PSA samples frame. Got {type(data).__name__}.")


def ce_plane(data: Any, ax: Any = None, *, comparator: str | None = None, wtp: float | Sequence[float] | None = None,
             perspective: str | None = None, currency: str | None = None, price_year: int | None = None,
             labels: Mapping[str, str] | None = None) -> Any:
    """Incremental cost-effectiveness plane: each PSA sample of each strategy against the comparator.

    Parameters
    ----------
    data
        A ``PSAResult``, a :class:`ResultsData` with PSA samples, or a long samples frame (``sample``,
        ``strategy``, ``qalys``, ``costs`` or ``costs[perspective]``).
    comparator, wtp, perspective, currency, price_year, labels
        Default: the results' settings. ``wtp`` lines are drawn through the origin for every value.

    Returns
    -------
    matplotlib.axes.Axes
        Scatter collections labelled with the strategy label, mean points labelled ``"<label> (mean)"``,
        WTP lines labelled ``"WTP £20k/QALY"``.
    """
    c = _ctx(data, comparator=comparator, wtp=wtp, perspective=perspective, currency=currency,
             price_year=price_year, labels=labels)
    cost, eff, names = _psa_arrays(data, c)
    comp = c.comparator or names[0]
    if comp not in names:
        raise ValueError(f"The comparator '{comp}' is not among the strategies ({', '.join(names)}).")
    j0 = names.index(comp)
    with _style():
        ax = _new_axes(ax)
        dq_all, dc_all = [], []
        for j, s in enumerate(names):
            if j == j0:
                continue
            dq, dc = eff[:, j] - eff[:, j0], cost[:, j] - cost[:, j0]
            dq_all.append(dq)
            dc_all.append(dc)
            col = c.color(s, names)
            ax.scatter(dq, dc, s=9, alpha=0.35, color=col, edgecolors="none", label=c.label(s), zorder=2)
            ax.plot([dq.mean()], [dc.mean()], marker="o", markersize=9, color=col, markeredgecolor="black",
                    markeredgewidth=1.2, linestyle="none", label=f"{c.label(s)} (mean)", zorder=4)
        if not dq_all:
            raise ValueError("The CE plane needs at least one strategy besides the comparator.")
        x = np.concatenate(dq_all + [np.zeros(1)])
        y = np.concatenate(dc_all + [np.zeros(1)])
        xpad = (x.max() - x.min()) * 0.06 or 0.01
        ypad = (y.max() - y.min()) * 0.06 or 1.0
        xl = (x.min() - xpad, x.max() + xpad)
        yl = (y.min() - ypad, y.max() + ypad)
        ax.axhline(0, color="black", linewidth=0.8, zorder=1)
        ax.axvline(0, color="black", linewidth=0.8, zorder=1)
        styles = ["--", ":", "-.", (0, (5, 1, 1, 1))]
        for i, w in enumerate(c.wtp):
            xs = np.array(xl)
            ax.plot(xs, w * xs, linestyle=styles[i % len(styles)], color=_GREY, linewidth=1.2,
                    label=f"WTP {_wtp_text(w, c.currency)}", scalex=False, scaley=False, zorder=3)
        ax.set_xlim(*xl)
        ax.set_ylim(*yl)
        ax.yaxis.set_major_formatter(money_formatter(c.currency))
        ax.set_xlabel(f"Incremental QALYs per person (vs {c.label(comp)})")
        ax.set_ylabel(f"Incremental cost per person\n({c.money_axis})")
        ax.set_title(f"Cost-effectiveness plane ({cost.shape[0]:,} PSA samples)")
        # below the axes: never over the WTP lines or the samples
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    return ax


# ----------------------------------------------------------------------------------------- CEAC / EVPI


def _ceac_frame(data: Any, c: _Ctx) -> pd.DataFrame:
    if isinstance(data, ResultsData):
        other = data.path / f"ceac_{c.perspective}.csv"
        if c.perspective and c.perspective != data.settings.get("perspective") and other.is_file():
            return pd.read_csv(other)
        if data.ceac is None:
            raise ValueError(f"{data.path} has no ceac.csv; run the PSA (heecon run --psa N)")
        return data.ceac
    if hasattr(data, "ceac_frame"):  # PSAResult
        return data.ceac_frame(c.perspective)
    if hasattr(data, "ceaf_probability") and hasattr(data, "strategies"):  # CEAResult
        df = pd.DataFrame(np.asarray(data.ceac), columns=list(data.strategies))
        df.insert(0, "wtp", np.asarray(data.wtp))
        df["frontier"] = data.ceaf_strategies
        df["frontier_probability"] = np.asarray(data.ceaf_probability)
        df["evpi"] = np.asarray(data.evpi)
        return df
    if isinstance(data, pd.DataFrame):
        _need(data, ["wtp"], "CEAC frame")
        return data
    raise TypeError(f"Expected a PSAResult, CEAResult, ResultsData or CEAC frame. Got {type(data).__name__}.")


def ceac(data: Any, ax: Any = None, *, wtp: float | Sequence[float] | None = None, perspective: str | None = None,
         currency: str | None = None, price_year: int | None = None, labels: Mapping[str, str] | None = None) -> Any:
    """Cost-effectiveness acceptability curves, one line per strategy, with the frontier (CEAF) marked.

    The CEAF -- the strategy with the highest expected net benefit at each WTP, at its probability of being
    cost-effective -- is drawn as a thick translucent band over that strategy's curve. Dotted vertical
    lines mark the results' WTP values.

    Returns
    -------
    matplotlib.axes.Axes
        Curve lines labelled with the strategy label (x = ``wtp``, y = the CEAC column); the band lines are
        labelled ``"CEAF: <label>"``.
    """
    c = _ctx(data, wtp=wtp, perspective=perspective, currency=currency, price_year=price_year, labels=labels)
    df = _ceac_frame(data, c)
    names = [s for s in (c.strategies or []) if s in df.columns]
    if not names:
        names = [col for col in df.columns if col not in ("wtp", "frontier", "frontier_probability", "evpi")]
    x = df["wtp"].to_numpy(dtype=float)
    with _style():
        ax = _new_axes(ax)
        has_frontier = "frontier" in df.columns and "frontier_probability" in df.columns
        for s in names:
            col = c.color(s, names)
            y = df[s].to_numpy(dtype=float)
            ax.plot(x, y, color=col, linewidth=1.8, label=c.label(s), zorder=3)
            if has_frontier:
                on = (df["frontier"].astype(str) == s).to_numpy()
                if on.any():
                    band = np.where(on, df["frontier_probability"].to_numpy(dtype=float), np.nan)
                    ax.plot(x, band, color=col, linewidth=7, alpha=0.3, solid_capstyle="butt",
                            label=f"CEAF: {c.label(s)}", zorder=2)
                    prev = np.concatenate([[False], on[:-1]])
                    nxt = np.concatenate([on[1:], [False]])
                    alone = on & ~prev & ~nxt  # a one-point run has no segment to show: mark it
                    if alone.any():
                        ax.plot(x[alone], band[alone], color=col, alpha=0.3, marker="o", markersize=9,
                                markeredgewidth=0, linestyle="none", label="_nolegend_", zorder=2)
        for w in c.wtp:
            ax.axvline(w, color=_GREY, linestyle=":", linewidth=1, zorder=1)
            ax.annotate(_wtp_text(w, c.currency), (w, 1.0), xytext=(3, -3), textcoords="offset points",
                        ha="left", va="top", fontsize=8, color=_GREY)
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlim(x.min(), x.max())
        ax.xaxis.set_major_formatter(money_formatter(c.currency))
        ax.set_xlabel(f"Willingness to pay per QALY gained ({c.money_axis})")
        ax.set_ylabel("Probability cost-effective")
        ax.set_title("Cost-effectiveness acceptability curves and frontier")
        ax.legend(loc="best")
    return ax


def evpi_curve(data: Any, ax: Any = None, *, wtp: float | Sequence[float] | None = None,
               perspective: str | None = None, currency: str | None = None, price_year: int | None = None) -> Any:
    """Expected value of perfect information per person against willingness to pay.

    Returns
    -------
    matplotlib.axes.Axes
        The curve labelled ``"EVPI per person"`` (x = ``wtp``, y = ``evpi``); points at the results' WTP values.
    """
    c = _ctx(data, wtp=wtp, perspective=perspective, currency=currency, price_year=price_year)
    df = _ceac_frame(data, c)
    _need(df, ["wtp", "evpi"], "EVPI frame")
    x = df["wtp"].to_numpy(dtype=float)
    y = df["evpi"].to_numpy(dtype=float)
    with _style():
        ax = _new_axes(ax)
        ax.plot(x, y, color=PALETTE[0], linewidth=1.8, label="EVPI per person", zorder=3)
        ax.fill_between(x, 0, y, color=PALETTE[0], alpha=0.12, zorder=2)
        for w in c.wtp:
            v = float(np.interp(w, x, y))
            ax.plot([w], [v], marker="o", color=PALETTE[1], linestyle="none", zorder=4)
            ax.annotate(f"{format_money(v, c.currency, compact=False)} at {_wtp_text(w, c.currency)}", (w, v),
                        xytext=(-6, 8), textcoords="offset points", ha="right", fontsize=8)
        ax.set_xlim(x.min(), x.max())
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_formatter(money_formatter(c.currency))
        ax.yaxis.set_major_formatter(money_formatter(c.currency))
        ax.set_xlabel(f"Willingness to pay per QALY gained ({c.money_axis})")
        ax.set_ylabel(f"EVPI per person\n({c.money_axis})")
        ax.set_title("Expected value of perfect information")
    return ax
