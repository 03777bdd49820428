"""Costs in a perspective: the sum of its sectors' costs, written once for every table that needs it.

Totals carry the reward columns (cost sectors first, in ``scenario.sectors`` order, then QALYs and life years) on
their second-last axis and (discounted, undiscounted) on the last. The sum over a perspective's sectors is always
taken as ``totals[..., idx, d].sum(axis=-1)``: the same operation (and so the same bits) wherever it is needed.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

__all__ = ["sector_index", "perspective_costs", "sector_sum", "distinct_perspectives"]


def sector_index(scenario: Any, perspective: str | Sequence[str] | None = None) -> list[int]:
    """Reward columns of a perspective's sectors (a perspective's name, or a list of sectors; default the headline)."""
    if perspective is None:
        perspective = scenario.settings.perspective
    secs = scenario.perspectives[perspective] if isinstance(perspective, str) else perspective
    sectors = list(scenario.sectors)
    return [sectors.index(s) for s in secs]


def sector_sum(values: np.ndarray, idx: Sequence[int]) -> np.ndarray:
    """``values[..., idx].sum(axis=-1)``: the sum over the given reward columns (last axis)."""
    return values[..., list(idx)].sum(axis=-1)


def perspective_costs(totals: np.ndarray, scenario: Any, perspective: str | Sequence[str] | None = None, *,
                      discounted: bool = True) -> np.ndarray:
    """Costs in a perspective from totals ``[..., R, 2]`` (the last axis discounted, undiscounted)."""
    return sector_sum(totals[..., 0 if discounted else 1], sector_index(scenario, perspective))


def distinct_perspectives(scenario: Any) -> list[str]:
    """Perspectives in scenario order, skipping one whose sectors repeat an earlier one (e.g. an implicit 'all')."""
    seen: set[frozenset[str]] = set()
    out = []
    for p, secs in scenario.perspectives.items():
        key = frozenset(secs)
        if key in seen:
            continue
        seen.add(key)
        out.append(p)
    return out
