"""PSA results made elsewhere, read from CSV files (BCEA/dampack style), and willingness-to-pay grids as typed."""

from __future__ import annotations

import csv
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["CEAInputError", "parse_wtp", "read_draws", "strategy_names", "resolve_ref", "read_psa_csv", "WTP_HELP"]

_MAX_WTP_POINTS = 1_000_000
WTP_HELP = (
    "use START:STOP:STEP (STOP included, STEP > 0, e.g. 0:50000:100) or a comma list "
    "(e.g. 0,20000,30000); values must be finite and >= 0"
)
_COST_SUFFIX = re.compile(r"[\s._-]+(costs?|c)$", re.IGNORECASE)
_EFFECT_SUFFIX = re.compile(
    r"[\s._-]+(effectiveness|effects?|effs?|e|qalys?|qalms?|lys?|outcomes?|benefits?)$", re.IGNORECASE
)


class CEAInputError(ValueError):
    """A problem with the user's input; its message is printed on one line."""


def parse_wtp(text: str) -> np.ndarray:
    """Parse ``--wtp``: ``START:STOP:STEP`` (STOP included) or ``a,b,c``.

    Raises
    ------
    ValueError
        With a message saying what is wrong.
    """
    s = text.strip()
    if not s:
        raise ValueError("it is empty")
    if ":" in s:
        parts = s.split(":")
        if len(parts) != 3:
            raise ValueError("a range needs exactly three parts START:STOP:STEP")
        try:
            start, stop, step = (float(p) for p in parts)
        except ValueError:
            raise ValueError("START, STOP and STEP must be numbers") from None
        if not all(math.isfinite(x) for x in (start, stop, step)):
            raise ValueError("START, STOP and STEP must be finite")
        if step <= 0:
            raise ValueError("STEP must be > 0")
        if stop < start:
            raise ValueError("STOP must be >= START")
        span = (stop - start) / step
        if not span < _MAX_WTP_POINTS:
            raise ValueError(f"it gives more than {_MAX_WTP_POINTS:,} values (the limit)")
        n = math.floor(span + 1e-9) + 1
        w = start + step * np.arange(n)
        # keep STOP exact when the range lands on it
        if abs(w[-1] - stop) <= 1e-9 * max(1.0, abs(stop)):
            w[-1] = stop
    else:
        items = [p.strip() for p in s.split(",")]
        if any(not p for p in items):
            raise ValueError("the comma list has an empty item")
        try:
            w = np.array([float(p) for p in items])
        except ValueError:
            raise ValueError("every item of the comma list must be a number") from None
        if len(w) > _MAX_WTP_POINTS:
            raise ValueError(f"it has {len(w)} values, over the limit of {_MAX_WTP_POINTS:,}")
    if not np.all(np.isfinite(w)):
        raise ValueError("values must be finite")
    if np.any(w < 0):
        raise ValueError("values must be >= 0")
    return w


def read_draws(path: Path, option: str) -> pd.DataFrame:
    """Read a CSV of PSA draws: a header row of strategy names, then numbers only.

    Every data row must have as many fields as the header; blank lines are
    skipped. Raises ``CEAInputError`` with a one-line message naming ``option``
    and the file.
    """
    where = f"{option} '{path}'"
    shape_hint = "it needs a header row of strategy names and one row per PSA draw"
    file_hint = "give a CSV file with one column per strategy and one row per draw"
    if not path.exists():
        raise CEAInputError(f"Invalid {where}: the file does not exist; {file_hint}.")
    if not path.is_file():
        raise CEAInputError(f"Invalid {where}: not a file; {file_hint}.")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            rows = [(n, r) for n, r in enumerate(csv.reader(fh), start=1) if any(f.strip() for f in r)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CEAInputError(
            f"Invalid {where}: it could not be read as a UTF-8 CSV file ({type(exc).__name__}: {exc})."
        ) from None
    if not rows:
        raise CEAInputError(f"Invalid {where}: the file is empty; {shape_hint}.")
    _, header = rows[0]
    header = [h.strip() for h in header]
    for j, h in enumerate(header):
        if not h:
            raise CEAInputError(
                f"Invalid {where}: column {j + 1} has an empty header; every column needs a strategy name "
                "(drop any row-name column)."
            )
    if len(rows) == 1:
        raise CEAInputError(f"Invalid {where}: a header but no rows; {shape_hint}.")
    k = len(header)
    for line, r in rows[1:]:
        if len(r) != k:
            raise CEAInputError(
                f"Invalid {where}: line {line} has {len(r)} fields but the header has {k}; "
                "every row needs one number per strategy."
            )
    values = np.empty((len(rows) - 1, k))
    for j in range(k):
        col = [r[j] for _, r in rows[1:]]
        try:
            values[:, j] = np.array(col, dtype=float)
            ok = bool(np.all(np.isfinite(values[:, j])))
        except ValueError:
            ok = False
        if not ok:
            for (line, r), cell in zip(rows[1:], col):
                try:
                    good = math.isfinite(float(cell))
                except ValueError:
                    good = False
                if not good:
                    what = "is empty" if not cell.strip() else f"holds {cell.strip()!r}"
                    raise CEAInputError(
                        f"Invalid {where}: line {line}, column {j + 1} ({header[j]!r}) {what}; "
                        "every cell must be a finite number."
                    )
    return pd.DataFrame(values, columns=header)


def strategy_names(cost_headers: list[str], effect_headers: list[str]) -> list[str]:
    """Strategy names from the two headers, matched by position.

    Suffixes such as ``_Cost``/``_Eff`` (also ``.cost``, `` costs``,
    ``_effect``, ``_QALY``, ...) are stripped; if the stripped names agree and
    are unique they are used, else the cost headers as they are.
    """
    c = [_COST_SUFFIX.sub("", h).strip() for h in cost_headers]
    e = [_EFFECT_SUFFIX.sub("", h).strip() for h in effect_headers]
    if c == e and all(c) and len(set(c)) == len(c):
        return c
    return list(cost_headers)


def resolve_ref(ref: str, names: list[str], cost_headers: list[str]) -> str:
    if ref in names:
        return ref
    if ref in cost_headers:
        return names[cost_headers.index(ref)]
    if ref.isdigit() and 1 <= int(ref) <= len(names):
        return names[int(ref) - 1]
    choices = ", ".join(repr(n) for n in names)
    raise CEAInputError(f"Invalid --ref {ref!r}: choose one of {choices} (or a column number 1..{len(names)}).")




def read_psa_csv(costs: Path, effects: Path, ref: str | None = None) -> tuple[np.ndarray, np.ndarray, list[str], str | None]:
    """PSA draws made elsewhere (BCEA/dampack style): cost and effect arrays ``[draws, strategies]``, the strategy
    names (from the headers) and the reference strategy's name (``ref`` by name or column number).

    Raises
    ------
    CEAInputError
        Naming the file and what is wrong.
    """
    cdf = read_draws(costs, "--costs")
    edf = read_draws(effects, "--effects")
    if cdf.shape[1] != edf.shape[1]:
        raise CEAInputError(
            f"Invalid --effects '{effects}': it has {edf.shape[1]} columns but --costs '{costs}' has "
            f"{cdf.shape[1]}; both files need one column per strategy, in the same order."
        )
    if cdf.shape[0] != edf.shape[0]:
        raise CEAInputError(
            f"Invalid --effects '{effects}': it has {edf.shape[0]} rows but --costs '{costs}' has "
            f"{cdf.shape[0]}; both files need one row per PSA draw."
        )
    cost_headers = list(cdf.columns)
    names = strategy_names(cost_headers, list(edf.columns))
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise CEAInputError(
            f"Invalid --costs '{costs}': strategy name {dup!r} appears more than once; names must be unique."
        )
    ref_name = None if ref is None else resolve_ref(ref, names, cost_headers)
    return cdf.to_numpy(), edf.to_numpy(), names, ref_name
