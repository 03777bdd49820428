"""What every figure shares: the palette, the style, the context of a result (currency, labels, strategies),
new axes and facets, and saving."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from heecon.report.format import currency_label
from heecon.report.results_data import ResultsData


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
_PER_CYCLE_META = ("strategy", "cycle", "period", "from_years", "to_years", "time_years", "qalys", "lys")


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


def _num(x: float) -> str:
    x = float(x)
    if x != 0 and (abs(x) >= 1e7 or abs(x) < 1e-3):
        return f"{x:.3g}"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def _thousands_formatter() -> Any:
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: f"{x:,.0f}")


def _percent_formatter() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


def _facet_legend(axes: list[Any], title: str, outside: bool) -> None:
    """One legend for all facets: outside on the right of a figure made here, else beside the last facet."""
    handles, labels = axes[0].get_legend_handles_labels()
    if outside:
        axes[0].figure.legend(handles, labels, loc="outside right center", title=title)
    else:
        axes[-1].legend(handles, labels, loc="center left", bbox_to_anchor=(1.02, 0.5), title=title)


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
    engine = fig.get_layout_engine()
    try:
        for i, fmt in enumerate(formats):
            p = stem.with_name(f"{stem.name}.{fmt}")
            meta = {"Date": None} if fmt == "svg" else ({"Software": None} if fmt == "png" else None)
            with _style():
                fig.savefig(p, format=fmt, dpi=dpi, metadata=meta, facecolor="white")
            out.append(p)
            if i == 0 and engine is not None and len(formats) > 1:
                # the first save laid the figure out (constrained layout: half the drawing time); the other formats
                # keep that layout instead of computing it again
                try:
                    fig.set_layout_engine("none")
                except RuntimeError:  # a colorbar made under this engine: keep it, and lay out each time
                    engine = None
    finally:
        if engine is not None and fig.get_layout_engine() is not engine:
            try:
                fig.set_layout_engine(engine)
            except RuntimeError:  # pragma: no cover - a colorbar added since: the saved layout stays
                pass
    return out
