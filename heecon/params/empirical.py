"""Empirical draws: a column of a CSV file (MCMC output, bootstrap replicates) as a distribution."""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from .distributions import Distribution, DistributionError
from .checks import _check_n, _check_rng, _require

__all__ = ["Empirical", "EMPIRICAL_METHODS"]


EMPIRICAL_METHODS = ("bootstrap", "sequential")


@dataclass(frozen=True, repr=False, eq=False)
class Empirical(Distribution):
    """Draws read from a column of a CSV file (e.g. MCMC output).

    ``method = "bootstrap"`` resamples rows with replacement;
    ``method = "sequential"`` takes rows 0, 1, 2, ... in order, so sample
    ``i`` of every column of the file comes from the same row.
    :func:`heecon.params.draw_parameters` draws bootstrap rows from a stream
    keyed by the file's content, so columns of one file share their rows
    under either method and keep their joint structure.
    """

    file: str
    column: str
    values: np.ndarray
    method: str = "bootstrap"
    digest: str = ""
    where: str = field(default="", compare=False)
    type: ClassVar[str] = "empirical"

    def __post_init__(self) -> None:
        w = self._where()
        _require(self.method in EMPIRICAL_METHODS, w, f"method must be one of {', '.join(map(repr, EMPIRICAL_METHODS))}; got {self.method!r}")
        vals = np.array(self.values, dtype=float)
        _require(vals.ndim == 1 and vals.size >= 1, w, "needs at least one draw")
        _require(bool(np.all(np.isfinite(vals))), w, "every draw must be a finite number")
        vals.setflags(write=False)
        object.__setattr__(self, "values", vals)
        if not self.digest:
            object.__setattr__(self, "digest", hashlib.blake2b(vals.tobytes(), digest_size=16).hexdigest())
        self._check_representable()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Empirical):
            return NotImplemented
        return (self.file, self.column, self.method) == (other.file, other.column, other.method) and np.array_equal(
            self.values, other.values
        )

    def __hash__(self) -> int:
        return hash((self.file, self.column, self.method, self.digest))

    @property
    def n_draws(self) -> int:
        """Number of rows in the column."""
        return int(self.values.size)

    @functools.cached_property
    def _sorted(self) -> np.ndarray:
        return np.sort(self.values)

    def rows(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Row indices for ``n`` samples: bootstrap draws from ``rng``; sequential ignores it."""
        n = _check_n(n)
        if self.method == "sequential":
            if n > self.n_draws:
                raise DistributionError(
                    self._where(),
                    f"{n} samples were asked for but column {self.column!r} of {self.file} has {self.n_draws} rows; "
                    "method = \"sequential\" takes one row per sample, so run at most "
                    f"{self.n_draws} samples or use method = \"bootstrap\"",
                )
            return np.arange(n)
        return _check_rng(rng).integers(0, self.n_draws, size=n)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.values[self.rows(rng, n)].copy()

    def _ppf(self, q: np.ndarray) -> np.ndarray:
        return np.quantile(self._sorted, q, method="inverted_cdf")

    def _cdf(self, x: np.ndarray) -> np.ndarray:
        return np.searchsorted(self._sorted, x, side="right") / self.n_draws

    def mean(self) -> float:
        return float(self.values.mean())

    def std(self) -> float:
        return float(self.values.std())

    @property
    def is_fixed(self) -> bool:
        return bool(self._sorted[0] == self._sorted[-1])

    def describe(self) -> str:
        return f"Empirical({os.path.basename(self.file)}[{self.column}], {self.n_draws} draws, {self.method})"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "empirical", "file": self.file, "column": self.column, "method": self.method}

    def __repr__(self) -> str:
        return f"Empirical(file={self.file!r}, column={self.column!r}, method={self.method!r}, n_draws={self.n_draws})"


# --------------------------------------------------------------------------
# fitting to a 95% interval
# --------------------------------------------------------------------------
