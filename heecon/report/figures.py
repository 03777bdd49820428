"""Figures of finished results: the cost-effectiveness plane, CEAC/CEAF, EVPI, tornado, two-way heat map,
state occupancy, costs by sector over time, events averted over time and budget impact.

Every function takes finished results -- the frames of a results folder (:func:`load_results`), a result
object (``BaseCaseResult``, ``PSAResult``, ``CEAResult``, ``OneWayResult``) or a plain frame -- computes
nothing of the model, accepts ``ax=None`` and returns the axes it drew on (an array of axes for the faceted
figures). matplotlib is imported inside the functions; new figures are ``matplotlib.figure.Figure`` objects
rendered by Agg, so nothing here touches pyplot's global state or the interactive backend.

Colours are the Okabe-Ito palette (colour-blind safe); each strategy keeps its colour across figures (its
position in the results). Money axes say the currency and the price year.

References
----------
Okabe M, Ito K. Color Universal Design (CUD): how to make figures and presentations that are friendly to
colorblind people. J*Fly, 2008.
Fenwick E, Claxton K, Sculpher M. Representing uncertainty: the role of cost-effectiveness acceptability
curves. Health Econ 2001;10:779-87.
Black WC. The CE plane: a graphic representation of cost-effectiveness. Med Decis Making 1990;10:212-4.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "OKABE_ITO",
    "PALETTE",
    "ResultsData",
    "ResultsFolderError",
    "budget_impact",
    "ce_plane",
    "ceac",
    "costs_by_sector_over_time",
    "currency_label",
    "default_figures",
    "events_averted_over_time",
    "evpi_curve",
    "figure_builders",
    "format_money",
    "load_results",
    "money_formatter",
    "save_figure",
    "state_occupancy",
    "tornado",
    "two_way_heatmap",
]

#: The Okabe-Ito colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
#: Order in which strategies, states and sectors take colours (yellow last: weak on white).
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#000000", "#F0E442")
_GREY = "#6b6b6b"

CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "INR": "₹"}

_STYLE = {
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "svg.hashsalt": "heecon",
    "svg.fonttype": "path",
}

_TRACE_META = ("strategy", "cycle", "time_years", "time", "age")
_PER_CYCLE_META = ("strategy", "cycle", "time_years", "qalys", "lys")


class ResultsFolderError(ValueError):
    """A folder is not a readable heecon results folder (the message says what is wrong)."""


# --------------------------------------------------------------------------------------------- formatting


def _symbol(currency: str | None) -> str:
    return CURRENCY_SYMBOLS.get((currency or "").upper(), "")


def format_money(x: float, currency: str | None = "GBP", compact: bool = True) -> str:
    """``£12k``, ``-£1.5m``, ``£500`` (compact) or ``£12,345`` (full); codes without a symbol as ``CAD 12k``."""
    if x is None or not math.isfinite(float(x)):
        return "—"
    v = float(x)
    sign = "-" if v < 0 else ""
    a = abs(v)
    if compact:
        for div, suf in ((1e9, "bn"), (1e6, "m"), (1e3, "k")):
            if a >= div:
                body = f"{a / div:.3g}{suf}"
                break
        else:
            body = f"{a:.3g}" if a < 1 else f"{a:,.0f}"
    else:
        body = f"{a:,.0f}"
    sym = _symbol(currency)
    if sym:
        return f"{sign}{sym}{body}"
    return f"{sign}{currency} {body}" if currency else f"{sign}{body}"


def money_formatter(currency: str | None = "GBP") -> Any:
    """A matplotlib ``FuncFormatter`` writing ticks as ``£12k``."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: format_money(x, currency))


def currency_label(currency: str | None, price_year: int | None) -> str:
    """``£, GBP, 2023 prices`` (or ``price year not stated``)."""
    sym = _symbol(currency)
    cur = f"{sym}, {currency}" if sym else (currency or "currency not stated")
    year = f"{price_year} prices" if price_year else "price year not stated"
    return f"{cur}, {year}"


def _wtp_text(w: float, currency: str | None) -> str:
    return f"{format_money(w, currency)}/QALY"


# ------------------------------------------------------------------------------------------- results data


@dataclass
class ResultsData:
    """The files of a results folder, read into frames (``None`` where a file is absent).

    Attributes
    ----------
    summary
        ``summary.json`` as a dict.
    outcomes, icers, trace, per_cycle, net_benefit
        The base-case tables.
    ceac
        ``ceac.csv`` (``wtp``, one column per strategy, ``frontier``, ``frontier_probability``, ``evpi``).
    psa_samples
        ``psa_samples.parquet`` (one row per sample and strategy).
    dsa_one_way, dsa_two_way
        ``dsa_one_way.csv``, ``dsa_two_way.csv`` when a DSA was written into the folder.
    cost_consequence, budget_impact
        Optional tables (``cost_consequence.csv``, ``budget_impact.csv``).
    """

    path: Path
    summary: dict[str, Any]
    outcomes: pd.DataFrame | None = None
    icers: pd.DataFrame | None = None
    trace: pd.DataFrame | None = None
    per_cycle: pd.DataFrame | None = None
    net_benefit: pd.DataFrame | None = None
    ceac: pd.DataFrame | None = None
    psa_samples: pd.DataFrame | None = None
    dsa_one_way: pd.DataFrame | None = None
    dsa_two_way: pd.DataFrame | None = None
    cost_consequence: pd.DataFrame | None = None
    budget_impact: pd.DataFrame | None = None
    files: list[str] = field(default_factory=list)

    @property
    def settings(self) -> dict[str, Any]:
        return self.summary.get("settings", {})

    @property
    def strategies(self) -> list[str]:
        return [s["name"] for s in self.summary.get("strategies", [])]

    @property
    def labels(self) -> dict[str, str]:
        return {s["name"]: s.get("label") or s["name"] for s in self.summary.get("strategies", [])}

    @property
    def state_labels(self) -> dict[str, str]:
        st = self.summary.get("states")
        if isinstance(st, dict):
            return {k: (v.get("label", k) if isinstance(v, dict) else str(v)) for k, v in st.items()}
        if isinstance(st, list):
            return {d["name"]: d.get("label", d["name"]) for d in st if isinstance(d, dict) and "name" in d}
        return {}

    @property
    def has_psa(self) -> bool:
        return self.psa_samples is not None or self.ceac is not None


_CSV_FILES = {
    "outcomes": "outcomes.csv",
    "icers": "icers.csv",
    "trace": "trace.csv",
    "per_cycle": "per_cycle.csv",
    "net_benefit": "net_benefit.csv",
    "ceac": "ceac.csv",
    "dsa_one_way": "dsa_one_way.csv",
    "dsa_two_way": "dsa_two_way.csv",
    "cost_consequence": "cost_consequence.csv",
    "budget_impact": "budget_impact.csv",
}


def load_results(results_dir: str | Path) -> ResultsData:
    """Read a results folder written by ``heecon run`` (``write_results``). Reads files only; runs nothing.

    Raises
    ------
    ResultsFolderError
        The folder does not exist, has no readable ``summary.json``, or a file in it cannot be read.
    """
    p = Path(results_dir)
    if not p.exists():
        raise ResultsFolderError(f"{p} does not exist")
    if not p.is_dir():
        raise ResultsFolderError(f"{p} is not a folder")
    sj = p / "summary.json"
    if not sj.is_file():
        raise ResultsFolderError(f"{p} has no summary.json; give a folder written by `heecon run`")
    try:
        summary = json.loads(sj.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsFolderError(f"{sj} could not be read as JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("settings"), dict) \
            or not isinstance(summary.get("strategies"), list) or not summary["strategies"]:
        raise ResultsFolderError(f"{sj} is not a heecon summary (it needs 'settings' and 'strategies')")
    for s in summary["strategies"]:
        if not isinstance(s, dict) or "name" not in s:
            raise ResultsFolderError(f"{sj}: every entry of 'strategies' needs a 'name'")
    data = ResultsData(path=p, summary=summary, files=["summary.json"])
    for attr, name in _CSV_FILES.items():
        f = p / name
        if not f.is_file():
            continue
        try:
            df = pd.read_csv(f, index_col="strategy" if attr == "outcomes" else None)
        except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ResultsFolderError(f"{f} could not be read as CSV ({type(exc).__name__}: {exc})") from None
        setattr(data, attr, df)
        data.files.append(name)
    f = p / "psa_samples.parquet"
    if f.is_file():
        try:
            data.psa_samples = pd.read_parquet(f)
        except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
            raise ResultsFolderError(f"{f} could not be read as Parquet ({type(exc).__name__}: {exc})") from None
        data.files.append(f.name)
    return data


# --------------------------------------------------------------------------------------------- context


@dataclass
class _Ctx:
    currency: str | None = "GBP"
    price_year: int | None = None
    comparator: str | None = None
    wtp: list[float] = field(default_factory=list)
    perspective: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    strategies: list[str] = field(default_factory=list)
    sectors: list[str] | None = None
    cycle_length_months: float | None = None
    state_labels: dict[str, str] = field(default_factory=dict)
    engine: str = "cohort"

    def label(self, s: str) -> str:
        return self.labels.get(s, s)

    def color(self, s: str, names: Sequence[str] | None = None) -> str:
        order = self.strategies or list(names or [])
        i = order.index(s) if s in order else len(order) + list(names or [s]).index(s)
        return PALETTE[i % len(PALETTE)]

    @property
    def money_axis(self) -> str:
        return currency_label(self.currency, self.price_year)


def _ctx(obj: Any = None, **kw: Any) -> _Ctx:
    c = _Ctx()
    st: dict[str, Any] | None = None
    if isinstance(obj, ResultsData):
        st = obj.settings
        c.labels = obj.labels
        c.strategies = obj.strategies
        c.state_labels = obj.state_labels
    elif obj is not None and hasattr(obj, "scenario"):
        sc = obj.scenario
        s = sc.settings
        st = {"currency": s.currency, "price_year": s.price_year, "comparator": s.comparator, "wtp": list(s.wtp),
              "perspective": s.perspective, "sectors": list(sc.sectors), "cycle_length_months": s.cycle_length_months,
              "engine": s.engine}
        c.labels = {n: v.label for n, v in sc.strategies.items()}
        c.strategies = list(sc.strategies)
        c.state_labels = {n: v.label for n, v in sc.states.items()}
    if st:
        c.currency = st.get("currency", c.currency)
        c.price_year = st.get("price_year")
        c.comparator = st.get("comparator") or None
        c.wtp = [float(w) for w in (st.get("wtp") or [])]
        c.perspective = st.get("perspective")
        c.sectors = list(st["sectors"]) if st.get("sectors") else None
        c.cycle_length_months = st.get("cycle_length_months")
        c.engine = st.get("engine") or "cohort"
    for k, v in kw.items():
        if v is None:
            continue
        if k == "labels":
            c.labels = {**c.labels, **dict(v)}
        elif k == "state_labels":
            c.state_labels = {**c.state_labels, **dict(v)}
        elif k == "wtp":
            c.wtp = [float(v)] if np.isscalar(v) else [float(w) for w in v]
        else:
            setattr(c, k, v)
    return c


def _new_axes(ax: Any, figsize: tuple[float, float] = (6.4, 4.4)) -> Any:
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def _facets(n: int, ax: Any, width: float = 4.2, height: float = 3.6) -> tuple[list[Any], bool]:
    """``n`` axes side by side (new figure) or the ``n`` axes given. Returns (axes, one_axis_given)."""
    if ax is None:
        from matplotlib.figure import Figure

        ncols = 2 if n == 4 else min(n, 3)
        nrows = math.ceil(n / ncols)
        fig = Figure(figsize=(width * ncols + 1.0, height * nrows + 0.6), layout="constrained")
        axes = fig.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False).ravel().tolist()
        for extra in axes[n:]:
            extra.set_visible(False)
        return axes[:n], False
    if hasattr(ax, "plot"):  # a single Axes
        return [ax], True
    axes = list(np.ravel(ax))
    if len(axes) < n:
        raise ValueError(f"The 'ax' argument must hold one Axes per strategy ({n}). Got {len(axes)}.")
    return axes[:n], False


def _style() -> Any:
    import matplotlib

    return matplotlib.rc_context(_STYLE)


def _need(df: pd.DataFrame, cols: Iterable[str], what: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"The {what} needs the column(s) {', '.join(map(repr, missing))}. "
                         f"Got columns: {', '.join(map(str, df.columns))}.")


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
        ax.legend(loc="best")
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


def _num(x: float) -> str:
    x = float(x)
    if x != 0 and (abs(x) >= 1e7 or abs(x) < 1e-3):
        return f"{x:.3g}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


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


def _thousands_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: f"{x:,.0f}")


def _percent_formatter() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


def costs_by_sector_over_time(per_cycle: Any, ax: Any = None, *, by: str | None = None,
                              period_years: float | None = None, sectors: Sequence[str] | None = None,
                              cycle_length_months: float | None = None, currency: str | None = None,
                              price_year: int | None = None, labels: Mapping[str, str] | None = None) -> Any:
    """Discounted cost per person over time, stacked by sector, one facet per strategy.

    Parameters
    ----------
    per_cycle
        The per-cycle frame (``strategy``, ``cycle`` (1 = first cycle), one column per sector, ``qalys``,
        ``lys``), a ``BaseCaseResult`` or a :class:`ResultsData`.
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
                start = (f["cycle"].to_numpy(dtype=float) - 1) * cyc_years
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


def _facet_legend(axes: list[Any], title: str, outside: bool) -> None:
    """One legend for all facets: outside on the right of a figure made here, else beside the last facet."""
    handles, labels = axes[0].get_legend_handles_labels()
    if outside:
        axes[0].figure.legend(handles, labels, loc="outside right center", title=title)
    else:
        axes[-1].legend(handles, labels, loc="center left", bbox_to_anchor=(1.02, 0.5), title=title)


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


# ------------------------------------------------------------------------------------------ saving


def _figure_of(obj: Any) -> Any:
    if hasattr(obj, "savefig"):
        return obj
    if hasattr(obj, "figure") and hasattr(obj, "plot"):
        return obj.figure
    items = list(np.ravel(obj)) if not isinstance(obj, (str, bytes)) else []
    if items and hasattr(items[0], "figure"):
        return items[0].figure
    raise TypeError(f"Expected a Figure, an Axes or a list of Axes. Got {type(obj).__name__}.")


def save_figure(fig_or_ax: Any, path_stem: str | Path, *, dpi: int = 150,
                formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write the figure of ``fig_or_ax`` as ``<path_stem>.png`` and ``<path_stem>.svg`` (parents created).

    The SVG carries no date, so the same results give the same file.
    """
    fig = _figure_of(fig_or_ax)
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for fmt in formats:
        p = stem.with_name(f"{stem.name}.{fmt}")
        meta = {"Date": None} if fmt == "svg" else ({"Software": None} if fmt == "png" else None)
        with _style():
            fig.savefig(p, format=fmt, dpi=dpi, metadata=meta, facecolor="white")
        out.append(p)
    return out


def figure_builders(data: ResultsData) -> list[tuple[str, str, Any]]:
    """(name, caption, builder) for every figure the folder's data allows; each builder returns axes."""
    out: list[tuple[str, str, Any]] = []
    cur = data.settings.get("currency")
    py = data.settings.get("price_year")
    if data.trace is not None:
        out.append(("state_occupancy", "State occupancy over time, by strategy (base case).",
                    lambda: state_occupancy(data)))
    if data.per_cycle is not None:
        out.append(("costs_by_sector", "Discounted cost per person over time, stacked by sector (base case).",
                    lambda: costs_by_sector_over_time(data)))
    if data.psa_samples is not None:
        out.append(("ce_plane", "Incremental costs and QALYs of each PSA sample against the comparator; "
                    "large dots are the means, grey lines the WTP thresholds.", lambda: ce_plane(data)))
    if data.ceac is not None:
        out.append(("ceac", "Probability that each strategy is cost-effective (highest net benefit) by WTP; "
                    "the shaded band marks the frontier (highest expected net benefit).", lambda: ceac(data)))
        if "evpi" in data.ceac.columns:
            out.append(("evpi", "Expected value of perfect information per person by WTP.",
                        lambda: evpi_curve(data)))
    if data.dsa_one_way is not None:
        tab = data.dsa_one_way
        base = _dsa_base(data)
        if base is not None:
            b, note = base
            out.append(("tornado", "One-way sensitivity: incremental net monetary benefit at each parameter's "
                        f"low and high value{note}.",
                        lambda: tornado(tab, base=b, currency=cur, price_year=py, labels=data.labels,
                                        **_dsa_who(data))))
    if data.dsa_two_way is not None and data.dsa_two_way.shape[1] >= 3 and "inc_nmb" in data.dsa_two_way.columns:
        v = data.dsa_two_way["inc_nmb"].to_numpy(dtype=float)
        zero = ("the black line is where it is zero (the decision changes)" if np.nanmin(v) < 0 < np.nanmax(v)
                else f"it stays {'positive' if np.nanmin(v) >= 0 else 'negative'} over the whole grid")
        out.append(("two_way", "Two-way sensitivity: incremental net monetary benefit over two parameters' "
                    f"ranges; {zero}.",
                    lambda: two_way_heatmap(data.dsa_two_way, currency=cur, price_year=py)))
    ev_path = Path(data.path) / "events_per_cycle.csv"
    if ev_path.is_file() and data.settings.get("comparator"):
        ev = pd.read_csv(ev_path)
        cols = [c for c in ev.columns if c not in ("strategy", "cycle")]
        if cols and ev["strategy"].nunique() > 1:
            months = data.settings.get("cycle_length_months") or 12
            ev["time_years"] = ev["cycle"] * months / 12.0
            out.append(("events_averted", "Cumulative events per person, each strategy minus the comparator "
                        "(below zero: averted), base case.",
                        lambda: events_averted_over_time(ev, cols, comparator=data.settings["comparator"],
                                                         cumulative=True, x_col="time_years")))
    bi = data.budget_impact
    if bi is not None and {"year", "payer", "net_cost"} <= set(bi.columns):
        out.append(("budget_impact", "Net budget impact per year, by payer.",
                    lambda: budget_impact(bi, currency=cur, price_year=py)))
    return out


def _dsa_who(data: ResultsData) -> dict[str, Any]:
    tab = data.dsa_one_way
    st = data.settings
    others = [s for s in data.strategies if s != st.get("comparator")]
    return {"strategy": str(tab["strategy"].iloc[0]) if "strategy" in tab.columns else (others[0] if others else None),
            "comparator": str(tab["comparator"].iloc[0]) if "comparator" in tab.columns else st.get("comparator"),
            "wtp": float(tab["wtp"].iloc[0]) if "wtp" in tab.columns else (st.get("wtp") or [None])[0]}


def _dsa_base(data: ResultsData) -> tuple[float, str] | None:
    """Base-case incremental NMB of the one-way DSA: its ``base_inc_nmb`` column, else the results' base case
    for the DSA's defaults (first strategy besides the comparator, first WTP, headline perspective)."""
    tab = data.dsa_one_way
    if tab is None or tab.empty:
        return None
    if "base_inc_nmb" in tab.columns:
        return float(tab["base_inc_nmb"].iloc[0]), ""
    who = _dsa_who(data)
    recs = {r["strategy"]: r for r in data.summary.get("icers", [])}
    s, comp, w = who["strategy"], who["comparator"], who["wtp"]
    if s not in recs or comp not in recs or w is None:
        return None
    d = (w * recs[s]["effect"] - recs[s]["cost"]) - (w * recs[comp]["effect"] - recs[comp]["cost"])
    return float(d), " (base case taken from summary.json, assuming the DSA's default strategy and WTP)"


def default_figures(results_dir: str | Path) -> list[Path]:
    """Build every figure the folder's data allows into ``results_dir/figures/`` (PNG and SVG).

    Base case: state occupancy, costs by sector; with a PSA: CE plane, CEAC, EVPI; with ``dsa_one_way.csv``:
    tornado; with ``dsa_two_way.csv``: heat map; with ``budget_impact.csv`` (year, payer, net_cost): budget
    impact. Returns the paths written (PNG then SVG for each figure).
    """
    data = results_dir if isinstance(results_dir, ResultsData) else load_results(results_dir)
    out_dir = data.path / "figures"
    paths: list[Path] = []
    for name, _caption, build in figure_builders(data):
        axes = build()
        paths += save_figure(axes, out_dir / name)
    return paths
