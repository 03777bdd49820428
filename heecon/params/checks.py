"""What every distribution shares: the error it raises, the SALib entry it gives, the checks of its arguments and
sample sizes, number formats for messages, and the uniforms its inverse-CDF sampling uses (on a 2**52 grid, offset
by half a step: never exactly 0 or 1)."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any, NamedTuple

import numpy as np

_GRID = 4503599627370496.0  # 2**52


class DistributionError(ValueError):
    """A distribution specification is malformed or impossible.

    Parameters
    ----------
    where : str
        TOML key path of the offending value, e.g.
        ``"parameters.u_pd.distribution.se"``.
    message : str
        What was given and what would be valid.

    The string form is ``"{where}: {message}"``, ready for the CLI's
    one-bullet-per-problem report.
    """

    def __init__(self, where: str, message: str) -> None:
        super().__init__(where, message)
        self.where = where
        self.message = message

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class SalibEntry(NamedTuple):
    """One parameter's entry in a SALib problem description.

    Attributes
    ----------
    dist : str
        A SALib distribution name ("unif", "triang", "norm", "truncnorm", "lognorm").
    bounds : tuple of float
        The SALib ``bounds`` row for that name (see ``SALib.util._nonuniform_scale_samples``).
    exact : bool
        True when SALib reproduces the distribution exactly. False for
        distributions SALib does not have (beta, gamma, empirical, some
        triangulars): the entry is then a uniform over the 0.1% and 99.9%
        quantiles. For exact marginals of any type, give SALib ``unif`` on
        [0, 1] and map its samples through :meth:`Distribution.ppf`.
    """

    dist: str
    bounds: tuple[float, ...]
    exact: bool


# --------------------------------------------------------------------------
# formatting and value checks
# --------------------------------------------------------------------------


def _fmt(x: float) -> str:
    """Short human form of a number for describe() and messages."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e6 or a < 1e-3:
        return f"{x:.3g}"
    if a >= 100:
        return f"{x:,.0f}"
    s = f"{x:.3g}"
    return s if "." in s else s + ".0"


def _g(x: float) -> str:
    """Number as written in error messages (up to 6 significant digits)."""
    return f"{float(x):.6g}"


def _what(value: Any) -> str:
    """Describe a wrongly typed value for an error message."""
    if isinstance(value, (bool, np.bool_)):
        return f"{str(bool(value)).lower()} (a boolean)"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if value is None:
        return "nothing"
    if _is_number(value):
        text = repr(value) if not isinstance(value, int) or abs(value) < 10**15 else "a huge integer"
        return f"{text} (a number)"
    return f"a value of type {type(value).__name__}"


def _suggest(word: str, options: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (Real, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def _to_float(value: Any, path: str, *, allow_inf: bool = False) -> float:
    """Convert a TOML value to float or raise a DistributionError naming ``path``."""
    if not _is_number(value):
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                pass
            else:
                raise DistributionError(path, f"must be a number, not text; got {value!r}: write it without quotes")
        raise DistributionError(path, f"must be a number; got {_what(value)}")
    try:
        x = float(value)
    except (OverflowError, ValueError, TypeError):
        raise DistributionError(path, "must be a number of ordinary size; got an integer too large for a float") from None
    if math.isnan(x):
        raise DistributionError(path, "must be a number; got nan")
    if math.isinf(x) and not allow_inf:
        raise DistributionError(path, f"must be a finite number; got {_g(x)}")
    return x


def _require(ok: bool, where: str, message: str) -> None:
    if not ok:
        raise DistributionError(where, message)


def _positive(x: float, where: str, name: str) -> None:
    _require(math.isfinite(x) and x > 0, where, f"{name} must be a finite number > 0; got {_g(x)}")


def _finite(x: float, where: str, name: str) -> None:
    _require(math.isfinite(x), where, f"{name} must be a finite number; got {_g(x)}")


def _check_n(n: Any) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"The number of draws must be an integer; got {_what(n)}.")
    if n < 0:
        raise ValueError(f"The number of draws must be >= 0; got {n}.")
    return int(n)


def _check_rng(rng: Any) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            "rng must be a numpy.random.Generator (see heecon.params.stream_rng); "
            f"got {type(rng).__name__}."
        )
    return rng


def _uniforms(rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
    """Uniform(0, 1) draws strictly inside (0, 1), one per ``rng.random`` value.

    The values lie on the grid ``(k + 0.5) / 2**52``, so ``ppf`` of any
    draw is finite (``rng.random`` itself can return exactly 0).
    """
    u = rng.random(size)
    np.multiply(u, _GRID, out=u)
    np.floor(u, out=u)
    u += 0.5
    u /= _GRID
    return u


def _check_q(q: Any) -> tuple[np.ndarray, bool]:
    arr = np.asarray(q, dtype=float)
    if np.any(np.isnan(arr)) or np.any((arr < 0) | (arr > 1)):
        raise ValueError("Quantile levels must lie in [0, 1].")
    return arr, arr.ndim == 0


# --------------------------------------------------------------------------
# the distributions
# --------------------------------------------------------------------------
