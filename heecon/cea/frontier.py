"""Incremental cost-effectiveness table: dominance, extended dominance, ICERs.

The algorithm is dampack's ``calculate_icers`` (DARTH workgroup), reproduced
step for step so that heecon's statuses and ICERs match dampack's to the last
bit on the same inputs:

1. sort the strategies by cost (ascending), ties by effect (descending);
   the sort is stable, so identical (cost, effect) pairs keep input order;
2. strong dominance ("D"): a strategy is dominated when some strategy
   earlier in that order (cheaper, or as cheap) has an effect at least as
   large, i.e. ``effect[j] <= max(effect[:j])``;
3. extended dominance ("ED"): among the remaining strategies compute the
   ICERs of consecutive pairs; every strategy (other than the first and the
   last) whose ICER is strictly greater than the next strategy's ICER is
   marked "ED" -- all such strategies at once -- and the step is repeated
   until no new strategy is marked or at most two remain;
4. the survivors form the frontier, with ICERs against the next cheaper
   frontier strategy; the cheapest gets status "ref" (ICER NaN), the
   others "ND".

Ties, as dampack handles them
-----------------------------
* Equal cost, different effect: the more effective one comes first and the
  other is "D".
* Equal effect, different cost: the dearer one is "D".
* Identical cost and effect: the one listed first in the input stays, every
  later copy is "D" (``<=`` in step 2). This is deterministic.
* Frontier points on one straight line (equal consecutive ICERs) are all
  kept as "ND": step 3 uses a strict ``>``.

After step 2 the remaining strategies have strictly increasing costs and
effects, so no ICER divides by zero.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

__all__ = ["icer_table", "frontier_indices", "efficient_frontier", "STATUSES"]

#: The statuses a strategy can have in :func:`icer_table`.
STATUSES = ("ref", "ND", "ED", "D")

_COLUMNS = ["strategy", "cost", "effect", "inc_cost", "inc_effect", "icer", "status"]


def _as_vector(name: str, values: Iterable[float]) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"The '{name}' argument must hold numbers, one per strategy. Got {values!r}.") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(
            f"The '{name}' argument must be one-dimensional (one value per strategy). Got shape {arr.shape}."
        )
    return arr


def _validate(
    names: Sequence[str] | None, costs: Iterable[float], effects: Iterable[float]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    c = _as_vector("costs", costs)
    e = _as_vector("effects", effects)
    if names is None:
        labels = [f"S{i + 1}" for i in range(c.size)]
    elif isinstance(names, str):
        labels = [names]
    else:
        labels = [str(n) for n in names]
    if not (len(labels) == c.size == e.size):
        raise ValueError(
            "names, costs and effects must have one value per strategy. "
            f"Got {len(labels)} names, {c.size} costs and {e.size} effects."
        )
    if c.size == 0:
        raise ValueError("At least one strategy is needed. Got 0.")
    dups = [n for n, k in Counter(labels).items() if k > 1]
    if dups:
        raise ValueError(f"Strategy names must be unique. Got {dups[0]!r} {labels.count(dups[0])} times.")
    for arg, arr in (("costs", c), ("effects", e)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"The '{arg}' value of strategy {labels[i]!r} (position {i}) must be a finite number. Got {arr[i]}."
            )
    return labels, c, e


def _sorted_order(c: np.ndarray, e: np.ndarray, ref: int | None) -> np.ndarray:
    # Stable sort by cost ascending then effect descending (dplyr::arrange is stable).
    order = np.lexsort((-e, c))
    if ref is not None:
        order = np.concatenate(([ref], order[order != ref]))
    return order


def _classify(c: np.ndarray, e: np.ndarray, ref: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (order, dominated, ext_dominated); masks are indexed by input position."""
    k = c.size
    order = _sorted_order(c, e, ref)
    es = e[order]
    dominated = np.zeros(k, dtype=bool)
    if k > 1:
        prev_max = np.maximum.accumulate(es)[:-1]
        dominated[order[1:][es[1:] <= prev_max]] = True
    ext = np.zeros(k, dtype=bool)
    while True:
        nd = order[~(dominated[order] | ext[order])]
        if nd.size <= 2:
            break
        with np.errstate(over="ignore"):  # as R: a vanishing effect difference gives Inf
            icer = np.diff(c[nd]) / np.diff(e[nd])  # icer[m] belongs to nd[m + 1]
        new = nd[1:-1][icer[:-1] > icer[1:]]
        if new.size == 0:
            break
        ext[new] = True
    return order, dominated, ext


def icer_table(
    names: Sequence[str] | None,
    costs: Iterable[float],
    effects: Iterable[float],
    *,
    ref_strategy: str | None = None,
) -> pd.DataFrame:
    """Incremental cost-effectiveness table with dominance and extended dominance.

    Parameters
    ----------
    names : sequence of str or None
        Strategy names, unique. ``None`` names them ``S1``, ``S2``, ...
    costs, effects : array_like of float, shape (k,)
        Mean cost and mean effect (e.g. QALYs) of each strategy; finite.
    ref_strategy : str, optional
        dampack's ``ref_strat``: put this strategy first in the sorted order
        before the dominance checks (so every strategy no more effective than
        it is "D") and list it first. Default: the cheapest strategy.

    Returns
    -------
    pandas.DataFrame
        Columns ``strategy, cost, effect, inc_cost, inc_effect, icer, status``.
        Rows: the frontier in order of increasing cost (the first row has
        status ``"ref"`` and NaN increments), then the extendedly dominated
        (``"ED"``) and the dominated (``"D"``) strategies, each by cost then
        descending effect. Increments and ICERs are NaN except on frontier
        rows after the first; ``inc_*`` is against the next cheaper frontier
        strategy.

    Raises
    ------
    ValueError
        If the lengths differ, a value is NaN or infinite, a name repeats, or
        there are no strategies.

    Notes
    -----
    Reproduces dampack ``calculate_icers`` (see the module docstring for the
    steps and for ties). One deliberate difference: with a single strategy
    dampack returns a frame without a ``Status`` column; heecon returns the
    usual columns with status ``"ref"`` and NaN increments.

    References
    ----------
    .. [1] Alarid-Escudero F, Knowlton G, Easterly CA, Enns EA. dampack:
       Decision-Analytic Modeling Package, R package, ``calculate_icers``.
       https://github.com/DARTH-git/dampack
    .. [2] Drummond MF, Sculpher MJ, Claxton K, Stoddart GL, Torrance GW.
       Methods for the Economic Evaluation of Health Care Programmes, 4th ed.
       Oxford University Press; 2015 (dominance and extended dominance).

    Examples
    --------
    >>> t = icer_table(["UC", "A", "B"], [5000, 12000, 10000], [1, 1.5, 2])
    >>> list(t["status"])
    ['ref', 'ND', 'D']
    """
    labels, c, e = _validate(names, costs, effects)
    ref: int | None = None
    if ref_strategy is not None:
        if str(ref_strategy) not in labels:
            raise ValueError(f"The 'ref_strategy' must be one of {labels}. Got {ref_strategy!r}.")
        ref = labels.index(str(ref_strategy))
    k = c.size
    inc_c = np.full(k, np.nan)
    inc_e = np.full(k, np.nan)
    icer = np.full(k, np.nan)
    status = np.empty(k, dtype=object)
    if k == 1:
        status[0] = "ref"
        rows = np.array([0])
    else:
        order, dom, ext = _classify(c, e, ref)
        nd = order[~(dom[order] | ext[order])]
        inc_c[nd[1:]] = np.diff(c[nd])
        inc_e[nd[1:]] = np.diff(e[nd])
        with np.errstate(over="ignore"):
            icer[nd[1:]] = inc_c[nd[1:]] / inc_e[nd[1:]]
        status[:] = "ND"
        status[ext] = "ED"
        status[dom] = "D"
        plain = np.lexsort((-e, c))
        if ref is None:
            nd_rows = plain[np.isin(plain, nd)]
        else:
            nd_rows = np.concatenate(([ref], plain[np.isin(plain, nd) & (plain != ref)]))
        rows = np.concatenate((nd_rows, plain[ext[plain]], plain[dom[plain]]))
        status[rows[0]] = "ref"
    return pd.DataFrame(
        {
            "strategy": [labels[i] for i in rows],
            "cost": c[rows],
            "effect": e[rows],
            "inc_cost": inc_c[rows],
            "inc_effect": inc_e[rows],
            "icer": icer[rows],
            "status": list(status[rows]),
        },
        columns=_COLUMNS,
    )


def frontier_indices(costs: Iterable[float], effects: Iterable[float]) -> np.ndarray:
    """Positions of the strategies on the cost-effectiveness frontier.

    Parameters
    ----------
    costs, effects : array_like of float, shape (k,)
        Mean cost and effect of each strategy.

    Returns
    -------
    numpy.ndarray of int
        Indices into the inputs of the "ref" and "ND" strategies of
        :func:`icer_table`, in order of increasing cost.

    References
    ----------
    .. [1] dampack ``calculate_icers``, https://github.com/DARTH-git/dampack
    """
    _, c, e = _validate(None, costs, effects)
    if c.size == 1:
        return np.array([0])
    order, dom, ext = _classify(c, e)
    return order[~(dom[order] | ext[order])]


def efficient_frontier(names: Sequence[str], costs: Iterable[float], effects: Iterable[float]) -> list[str]:
    """Names of the frontier strategies in order of increasing cost.

    See :func:`icer_table` for the algorithm and :func:`frontier_indices`
    for the positional variant.

    Examples
    --------
    >>> efficient_frontier(["UC", "A", "B"], [5000, 12000, 10000], [1, 1.5, 2])
    ['UC', 'B']
    """
    labels, c, e = _validate(names, costs, effects)
    return [labels[i] for i in frontier_indices(c, e)]
