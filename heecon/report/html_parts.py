"""The pieces every section of the HTML report is built from: escaping and number formats, tables from rows or
frames (wide tables scroll inside their own box, so no page is cut at 1280 px), figures embedded as base64 PNG
with numbered captions, and the section wrapper."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from heecon.report.format import format_money

# ------------------------------------------------------------------------------------------ formatting


def _esc(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _money(x: Any, cur: str | None) -> str:
    return format_money(float(x), cur, compact=False) if _finite(x) else "—"


def _q(x: Any, nd: int = 4) -> str:
    return f"{float(x):.{nd}f}" if _finite(x) else "—"


def _prob(p: Any) -> str:
    return f"{float(p):.2f}" if _finite(p) else "—"


def _wtp_key(w: float) -> str:
    return str(int(w) if float(w).is_integer() else w)


def _generic(x: Any, money: bool, cur: str | None) -> str:
    if isinstance(x, (bool, np.bool_)):
        return str(x)
    if isinstance(x, (int, float, np.integer, np.floating)):
        if not _finite(x):
            return "—"
        if money:
            return _money(x, cur)
        v = float(x)
        if float(v).is_integer() and abs(v) < 1e15:
            return f"{int(v):,}" if abs(v) >= 10000 else str(int(v))
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else str(x)


_MONEY_WORDS = ("cost", "nmb", "saving", "budget", "spend", "price", "evpi", "evppi")


def _is_money_col(name: str) -> bool:
    n = str(name).lower()
    return any(w in n for w in _MONEY_WORDS) and "qaly" not in n and "icer" not in n


def _table(headers: Sequence[str], rows: Iterable[Sequence[Any]], *, caption: str | None = None,
           left: int = 1, cls: str = "", text_cols: Sequence[int] = ()) -> str:
    """An HTML table; the first ``left`` columns (and ``text_cols``) are left-aligned text, the rest
    right-aligned numbers."""
    out = [f'<table class="{_esc(cls)}">' if cls else "<table>"]
    if caption:
        out.append(f"<caption>{_esc(caption)}</caption>")
    n_cols = len(headers)
    align = ["l" if (i < left or i in text_cols or i - n_cols in text_cols) else "n" for i in range(n_cols)]
    out.append("<thead><tr>" + "".join(
        f'<th class="{align[i]}" scope="col">{_esc(h)}</th>' for i, h in enumerate(headers))
        + "</tr></thead><tbody>")
    for r in rows:
        out.append("<tr>" + "".join(f'<td class="{align[i] if i < n_cols else "n"}">{_esc(v)}</td>'
                                    for i, v in enumerate(r)) + "</tr>")
    out.append("</tbody></table>")
    return '<div class="scroll">' + "".join(out) + "</div>"  # a wide table scrolls in its box, the page does not


def _frame_table(df: pd.DataFrame, cur: str | None, caption: str | None = None, max_rows: int = 200) -> str:
    """Any frame as a table: text columns left, numbers right; money columns (by name) in the currency."""
    df = df.head(max_rows)
    text_cols = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    cols = text_cols + [c for c in df.columns if c not in text_cols]
    rows = [[_generic(v, _is_money_col(c), cur) for c, v in zip(cols, r)] for r in df[cols].itertuples(index=False)]
    return _table([str(c) for c in cols], rows, caption=caption, left=len(text_cols))


# ---------------------------------------------------------------------------------------------- sections


def _figure_html(png: bytes, name: str, caption: str, num: int) -> str:
    b64 = base64.b64encode(png).decode("ascii")
    return (f'<figure id="fig-{_esc(name)}"><img src="data:image/png;base64,{b64}" '
            f'alt="{_esc(caption)}"><figcaption><b>Figure {num}.</b> {_esc(caption)}</figcaption></figure>')


class _Figs:
    def __init__(self, images: Mapping[str, tuple[bytes, str]]):
        self.images = images
        self.n = 0

    def get(self, name: str) -> str:
        if name not in self.images:
            return ""
        self.n += 1
        png, cap = self.images[name]
        return _figure_html(png, name, cap, self.n)


def _sec(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_esc(title)}</h2>{body}</section>'


def final_path(p: Any) -> Any:
    """The results folder a path stands for: a run writes into ``.NAME.partial-XXXX`` beside ``NAME`` and renames it
    at the end, so what a report names is ``NAME`` (never the temporary folder)."""
    import re
    from pathlib import Path

    p = Path(p)
    m = re.fullmatch(r"\.(.+)\.partial-[A-Za-z0-9_]+", p.name)
    return p.with_name(m.group(1)) if m else p
