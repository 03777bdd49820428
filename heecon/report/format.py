"""Numbers for people: money with its currency and price year, willingness to pay."""

from __future__ import annotations

import math
from typing import Any



CURRENCY_SYMBOLS = {"GBP": "£", "USD": "$", "EUR": "€", "JPY": "¥", "INR": "₹"}


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
    """``£, GBP, 2023/24 prices`` (a UK financial year for GBP; ``USD, 2023 prices``; or ``price year not
    stated``)."""
    sym = _symbol(currency)
    cur = f"{sym}, {currency}" if sym else (currency or "currency not stated")
    # UK public-sector costs are in financial years: 2023 reads 2023/24
    fy = f"{int(price_year)}/{(int(price_year) + 1) % 100:02d}" if price_year and currency == "GBP" else price_year
    year = f"{fy} prices" if price_year else "price year not stated"
    return f"{cur}, {year}"


def _wtp_text(w: float, currency: str | None) -> str:
    return f"{format_money(w, currency)}/QALY"
