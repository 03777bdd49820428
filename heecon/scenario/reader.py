"""Small readers of scenario values that report each problem at its TOML key path."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Iterable, Mapping


from heecon.scenario.expr import Expr, ExprError, parse
from heecon.scenario.errors import Collector, did_you_mean, valid_list

# --------------------------------------------------------------------------- small readers

class Reader:
    """Typed access to raw TOML values that records problems instead of raising."""

    def __init__(self, col: Collector, functions: frozenset[str]):
        self.col = col
        self.functions = functions

    def check_keys(self, table: Mapping[str, Any], allowed: Iterable[str], key: str, what: str) -> None:
        allowed = set(allowed)
        for k in table:
            if k not in allowed:
                self.col.add(f"{key}.{k}" if key else k,
                             f"unknown key in {what}.{did_you_mean(k, allowed)} Valid keys: {valid_list(allowed)}.")

    def tables(self, value: Any, key: str, array_msg: str, item_msg: str, allowed: Iterable[str],
               what: str) -> list[tuple[str, dict[str, Any]]]:
        """The tables of an array of tables (``[[...]]``) as (key path, table).

        A value that is not an array records ``array_msg`` at ``key``; an item that is not a table records
        ``item_msg`` at ``key[i]``; a table's unknown keys are recorded as :meth:`check_keys` does.
        """
        if not isinstance(value, list):
            self.col.add(key, array_msg)
            return []
        out = []
        for i, spec in enumerate(value):
            k = f"{key}[{i}]"
            if not isinstance(spec, dict):
                self.col.add(k, item_msg)
                continue
            self.check_keys(spec, allowed, k, what)
            out.append((k, spec))
        return out

    def table(self, value: Any, key: str, what: str = "a table") -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.col.add(key, f"must be {what} (e.g. [{key}] with keys below it), got {typename(value)} {value!r}")
            return None
        return value

    def number(self, value: Any, key: str, *, lo: float | None = None, hi: float | None = None,
               lo_open: bool = False, hi_open: bool = False, integer: bool = False) -> float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            kind = "a whole number" if integer else "a number"
            self.col.add(key, f"must be {kind}{range_text(lo, hi, lo_open, hi_open)}. Got {typename(value)} {value!r}.")
            return None
        v = to_float(value)
        if integer and not v.is_integer():
            self.col.add(key, f"must be a whole number{range_text(lo, hi, lo_open, hi_open)}. Got {value!r}.")
            return None
        bad = (not math.isfinite(v)) or (lo is not None and (v <= lo if lo_open else v < lo)) or (
            hi is not None and (v >= hi if hi_open else v > hi))
        if bad:
            self.col.add(key, f"must be a number{range_text(lo, hi, lo_open, hi_open)}. Got {value!r}.")
            return None
        return v

    def string(self, value: Any, key: str, choices: Iterable[str] | None = None) -> str | None:
        if not isinstance(value, str):
            self.col.add(key, f"must be a string, got {typename(value)} {value!r}")
            return None
        if choices is not None:
            ch = list(choices)
            if value not in ch:
                self.col.add(key, f"must be one of {valid_list(ch)}.{did_you_mean(value, ch)} Got {value!r}.")
                return None
        return value

    def boolean(self, value: Any, key: str) -> bool | None:
        if not isinstance(value, bool):
            self.col.add(key, f"must be true or false, got {typename(value)} {value!r}")
            return None
        return value

    def expr(self, value: Any, key: str) -> Expr | None:
        if isinstance(value, dict):
            self.col.add(key, "must be a number or an expression string; a table is only allowed for [parameters] "
                              "entries (with 'value = ...')")
            return None
        try:
            return parse(value, self.functions)
        except ExprError as exc:
            self.col.add(key, str(exc))
            return None

    def cycles(self, value: Any, key: str, n_cycles: int) -> tuple[int, int]:
        if value is None:
            return (1, max(n_cycles, 1))
        if (not isinstance(value, list) or len(value) != 2 or
                not all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
            self.col.add(key, f"must be [first, last], two whole cycle numbers (1-based, inclusive), got {value!r}")
            return (1, max(n_cycles, 1))
        lo, hi = value
        if lo < 1 or hi < lo:
            self.col.add(key, f"must be [first, last] with 1 <= first <= last, got {value!r}")
            return (1, max(n_cycles, 1))
        if n_cycles and lo > n_cycles:
            self.col.add(key, f"starts at cycle {lo}, after the model's last cycle ({n_cycles})")
        return (lo, min(hi, n_cycles) if n_cycles else hi)

    def name_list(self, value: Any, key: str, valid: Iterable[str], what: str, allow_star: bool = False) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.col.add(key, f"must be a list of {what} names, got {value!r}")
            return ()
        valid = list(valid)
        out = []
        for i, v in enumerate(value):
            if v in value[:i]:
                self.col.add(f"{key}[{i}]", f"lists {what} '{v}' twice (also at [{value.index(v)}]); give each once")
            elif allow_star and v == "*":
                out.append(v)
            elif v not in valid:
                self.col.unknown(f"{key}[{i}]", v, valid, what)
            else:
                out.append(v)
        return tuple(out)

    def costs(self, value: Any, key: str, sectors: tuple[str, ...]) -> dict[str, Expr]:
        tab = self.table(value, key, "a table of cost sector = amount (e.g. costs = { nhs = 120 })")
        out: dict[str, Expr] = {}
        if tab is None:
            return out
        for sector, v in tab.items():
            if sector not in sectors:
                self.col.add(f"{key}.{sector}", f"unknown cost sector '{sector}'.{did_you_mean(sector, sectors)} "
                                                f"Valid sectors: {valid_list(sectors)} (declare others in settings.sectors).")
                continue
            e = self.expr(v, f"{key}.{sector}")
            if e is not None:
                if e.constant is not None and e.constant < 0:
                    self.col.add(f"{key}.{sector}", f"costs must not be negative, got {e.constant:g}")
                out[sector] = e
        return out


def to_float(v: int | float) -> float:
    """float(v), with integers beyond float range (tomllib reads integers of any size) as +-inf."""
    try:
        return float(v)
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def existing_file(base: Path, name: str) -> Path | None:
    """``base / name`` resolved, or None where it is not an existing file (or not a usable path at all)."""
    try:
        p = (base / name).resolve()
        return p if p.is_file() else None
    except (OSError, ValueError):  # e.g. a name too long for the OS, or with a NUL character
        return None


def is_number_text(x: Any) -> bool:
    try:
        float(x)
        return True
    except (TypeError, ValueError):
        return False


def typename(v: Any) -> str:
    return {bool: "a boolean", int: "a whole number", float: "a number", str: "the string", list: "a list",
            dict: "a table"}.get(type(v), type(v).__name__)


def range_text(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    if lo is None and hi is None:
        return ""
    if hi is None:
        return f" {'>' if lo_open else '>='} {lo:g}"
    if lo is None:
        return f" {'<' if hi_open else '<='} {hi:g}"
    return f" in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
