"""Discounting and within-cycle correction as per-cycle weights.

Every counting convention in use (see docs/scenario-format.md, "Counting
conventions") is written as three weights per cycle k = 1..T and reward:

* ``a_k`` multiplies the reward of cycle k for the state occupied at point k-1
  (the start of the cycle),
* ``b_k`` multiplies it for the state occupied at point k (the end),
* ``c_k`` multiplies the one-off rewards of the moves made in cycle k.

so that a total is ``sum_k a_k m_{k-1}.v_k + b_k m_k.v_k + c_k flows_k.tr_k``.
With discount factor d_s at point s (time s × cycle length):

==============  ====================================  =====================
convention      a_k, b_k                              used by
==============  ====================================  =====================
end             a = 0, b = d_k                        Briggs et al. 2006; heemod "end", first = TRUE
beginning       a = d_{k-1}, b = 0                    heemod "beginning" (first = FALSE); TreeAge
all-points      a_1 = d_0, b_k = d_k                  DARTH without correction
half-cycle      a_1 = d_0/2, b_k = d_k, b_T = d_T/2   DARTH gen_wcc("half-cycle")
simpson         a_1 = d_0/3, b_k = w_k d_k            DARTH gen_wcc("Simpson1/3") (w: 1/3, 2/3, 4/3, ..., 1/3)
life-table      a = b = d_{k-1}/2                     heemod "life-table" (first = FALSE)
==============  ====================================  =====================

Transition rewards are booked at the moment of the move (point k): c_k = d_k,
times the point's correction weight for the DARTH point conventions (as
DARTH's transition-reward tutorial does).

Discount timing is a separate choice (``settings.discount_offset``, default 0):
d_s is the factor at time max(0, s - offset) cycles, so the same counting can
be discounted from the first cycle or from the second (heemod's
``discount(first = ...)``, Amua's discount start cycle); docs/cea.md maps each
tool's convention to these two settings.

References
----------
Alarid-Escudero F, et al. A tutorial on time-dependent cohort state-transition
models in R using a cost-effectiveness analysis example. Med Decis Making 2023.
Filipović-Pierucci A, Zarca K, Durand-Zaleski I. Markov models for health
economic evaluation: the R package heemod. 2017.
HM Treasury. The Green Book, annex A6 (declining long-term discount rates). 2022.
"""

from __future__ import annotations

import numpy as np

from heecon.scenario.types import DiscountSchedule

__all__ = ["discount_factors", "discount_points", "point_weights", "cycle_weights"]


def discount_factors(schedule: DiscountSchedule, times: np.ndarray, method: str = "discrete") -> np.ndarray:
    """Discount factor at each time (years) under a (possibly banded) annual rate."""
    times = np.asarray(times, dtype=float)
    log_df = np.zeros_like(times)
    bounds = list(schedule.from_years[1:]) + [np.inf]
    for start, end, rate in zip(schedule.from_years, bounds, schedule.rates):
        span = np.clip(times, start, end) - start
        if method == "continuous":
            log_df -= rate * span
        else:
            log_df -= np.log1p(rate) * span
    return np.exp(log_df)


def point_weights(method: str, n_cycles: int) -> np.ndarray:
    """Correction weights of points 0..T for the DARTH point conventions."""
    T = n_cycles
    w = np.ones(T + 1)
    if method == "half-cycle":
        w[0] = w[T] = 0.5
    elif method == "simpson":
        # DARTH gen_wcc("Simpson1/3") numbers the points 1..T+1 and gives even numbers 2/3, odd ones 4/3;
        # in 0-based indices that is 2/3 at odd and 4/3 at even points (first and last 1/3), also when T is odd.
        w[1::2] = 2.0 / 3.0
        w[2::2] = 4.0 / 3.0
        w[0] = w[T] = 1.0 / 3.0
    elif method != "all-points":
        raise ValueError(f"{method!r} is not a point convention")
    return w


def discount_points(n_cycles: int, offset: float = 0.0) -> np.ndarray:
    """The time, in cycles, at which each point 0..T is discounted: ``max(0, s - offset)``.

    ``offset`` (``settings.discount_offset``) moves discounting earlier by that many cycles (later when negative),
    never before the model's start: 1 leaves the first cycle of end-of-cycle counting undiscounted (heemod's
    ``discount(first = FALSE)`` with ``method = "end"``), -1 discounts the first cycle of beginning-of-cycle counting
    by a whole cycle (heemod's ``first = TRUE`` with ``"beginning"``); Amua's "discount start cycle" S is S - 1.
    """
    s = np.arange(n_cycles + 1, dtype=float)
    return s if offset == 0 else np.maximum(s - float(offset), 0.0)


def cycle_weights(method: str, n_cycles: int, cycle_years: float, schedule: DiscountSchedule,
                  discounting: str = "discrete", offset: float = 0.0) -> np.ndarray:
    """Weights ``[3, T]``: rows a (start-of-cycle state), b (end-of-cycle state), c (moves).

    ``offset`` shifts the discount time of every point by that many cycles (see :func:`discount_points`); the
    counting weights do not change.
    """
    T = n_cycles
    d = discount_factors(schedule, discount_points(T, offset) * cycle_years, discounting)
    W = np.zeros((3, T))
    k = np.arange(1, T + 1)
    if method == "end":
        W[1] = d[k]
        W[2] = d[k]
    elif method == "beginning":
        W[0] = d[k - 1]
        W[2] = d[k]
    elif method == "life-table":
        W[0] = 0.5 * d[k - 1]
        W[1] = 0.5 * d[k - 1]
        W[2] = d[k]
    else:
        w = point_weights(method, T)
        W[0, 0] = w[0] * d[0]
        W[1] = w[k] * d[k]
        W[2] = w[k] * d[k]
    return W
