"""The mix of services that maximises an outcome within a budget: whole services (exact subset enumeration) or
divisible ones (a linear programme over the share of each service's capacity that is funded).

Pure decision arithmetic on numbers per service (value and cost of funding it at its capacity); the models are run
elsewhere (:mod:`heecon.sensitivity.portfolio`).

* :func:`best_subset`: ``max sum(v_i z_i)`` subject to ``sum(c_i z_i) <= budget``, ``z_i`` in {0, 1}, by
  enumerating every subset (exact; at most :data:`MAX_SERVICES` services). Ties go to the cheaper mix, then to the
  mix with fewer services, then to the first in enumeration order, so the answer is unique.
* :func:`best_shares`: the same with ``0 <= x_i <= 1`` (``scipy.optimize.linprog``, HiGHS).
* :func:`best_subsets` / :func:`best_shares_many`: one optimum per row of a matrix of values and costs (the PSA).
* :func:`greedy_shares`: the closed form of the divisible problem when every cost and value is positive (fund in
  order of value per unit cost; Dantzig 1957), used to check the LP.

References
----------
Dantzig GB. Discrete-variable extremum problems. Operations Research 1957;5:266-88.
Epstein DM, Chalabi Z, Claxton K, Sculpher M. Efficiency, equity, and budgetary policies: informing decisions
using mathematical programming. Med Decis Making 2007;27:128-37.
"""

from __future__ import annotations

import numpy as np

__all__ = ["MAX_SERVICES", "PortfolioError", "subset_masks", "best_subset", "best_subsets", "best_shares",
           "best_shares_many", "greedy_shares"]

#: exact enumeration visits 2**n subsets: 65,536 at 16 services
MAX_SERVICES = 16
_TOL = 1e-9


class PortfolioError(ValueError):
    """A portfolio that cannot be analysed as asked (the message says why and what would work)."""


def _check(values: np.ndarray, costs: np.ndarray) -> None:
    if values.shape != costs.shape:
        raise PortfolioError(f"values and costs differ in shape: {values.shape} and {costs.shape}")
    if not (np.all(np.isfinite(values)) and np.all(np.isfinite(costs))):
        raise PortfolioError("a service's value or cost is not a finite number (NaN or infinite), so no mix can be "
                             "chosen; check that every service reports the outcome being maximised")


def subset_masks(n: int) -> np.ndarray:
    """Every subset of ``n`` services as a ``[2**n, n]`` 0/1 matrix (row ``m`` holds the bits of ``m``)."""
    if n > MAX_SERVICES:
        raise PortfolioError(f"{n} services: exact enumeration of whole services visits 2**n mixes and is limited to "
                             f"{MAX_SERVICES} services; use the divisible mode (mode = \"divisible\", a linear "
                             "programme) or fewer services")
    m = np.arange(2 ** n, dtype=np.int64)[:, None]
    return ((m >> np.arange(n, dtype=np.int64)) & 1).astype(float)


def best_subsets(values: np.ndarray, costs: np.ndarray, budget: float, chunk: int = 64) -> np.ndarray:
    """The optimal whole-service mix of each row: ``values``, ``costs`` ``[rows, n]`` -> ``[rows, n]`` booleans."""
    values, costs = np.atleast_2d(np.asarray(values, float)), np.atleast_2d(np.asarray(costs, float))
    _check(values, costs)
    masks = subset_masks(values.shape[1])
    size = masks.sum(axis=1)
    out = np.zeros(values.shape, dtype=bool)
    for lo in range(0, values.shape[0], chunk):
        v = values[lo:lo + chunk] @ masks.T  # [rows, 2**n]
        c = costs[lo:lo + chunk] @ masks.T
        scale = max(1.0, float(np.abs(v).max(initial=0.0)))
        v = np.where(c <= budget + _TOL * max(1.0, abs(budget)), v, -np.inf)
        best = v.max(axis=1, keepdims=True)
        # ties: within a relative tolerance of the best, the cheapest, then the fewest services, then the first
        tied = v >= best - _TOL * scale
        c_t = np.where(tied, c, np.inf)
        cheapest = c_t <= c_t.min(axis=1, keepdims=True) + _TOL * max(1.0, abs(budget))
        key = np.where(tied & cheapest, size[None, :], np.inf)
        out[lo:lo + chunk] = masks[np.argmin(key, axis=1)].astype(bool)
    return out


def best_subset(values: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    """The optimal whole-service mix (booleans, one per service); the empty mix when nothing fits or helps."""
    return best_subsets(np.asarray(values, float)[None, :], np.asarray(costs, float)[None, :], budget)[0]


def best_shares(values: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    """The optimal share (0..1) of each service's capacity to fund, by linear programming."""
    from scipy.optimize import linprog

    values, costs = np.asarray(values, float), np.asarray(costs, float)
    _check(values, costs)
    res = linprog(-values, A_ub=costs[None, :], b_ub=[budget], bounds=[(0.0, 1.0)] * len(values), method="highs")
    if res.status != 0:  # only an infeasible budget (negative, with no cost-saving service) can fail
        raise PortfolioError(f"no mix satisfies the budget {budget:,.0f}: {res.message}")
    x = np.clip(res.x, 0.0, 1.0)
    x[x < 1e-9] = 0.0
    x[x > 1 - 1e-9] = 1.0
    return x


def best_shares_many(values: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    """:func:`best_shares` of each row of ``[rows, n]`` values and costs."""
    values, costs = np.atleast_2d(np.asarray(values, float)), np.atleast_2d(np.asarray(costs, float))
    return np.stack([best_shares(v, c, budget) for v, c in zip(values, costs)]) if len(values) else \
        np.zeros(values.shape)


def greedy_shares(values: np.ndarray, costs: np.ndarray, budget: float) -> np.ndarray:
    """The closed-form divisible optimum when every value and cost is positive: fund services in decreasing order
    of value per unit cost until the budget is spent (the last one in part)."""
    values, costs = np.asarray(values, float), np.asarray(costs, float)
    if np.any(values <= 0) or np.any(costs <= 0):
        raise PortfolioError("the greedy rule is the optimum only when every value and cost is positive")
    x = np.zeros(len(values))
    left = float(budget)
    for i in np.argsort(-values / costs, kind="stable"):
        if left <= 0:
            break
        x[i] = min(1.0, left / costs[i])
        left -= x[i] * costs[i]
    return x
