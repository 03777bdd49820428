"""Slow, obviously-correct NumPy reference of the cohort calculation, written from the formulas in
../shared/oracles/README.md (counting conventions) rather than from heecon's weight arrays."""

from __future__ import annotations

import numpy as np


def trace(P_by_cycle: np.ndarray, m0: np.ndarray) -> np.ndarray:
    """P_by_cycle[t-1] moves m_{t-1} to m_t."""
    T = len(P_by_cycle)
    m = np.zeros((T + 1, len(m0)))
    m[0] = m0
    for t in range(1, T + 1):
        m[t] = m[t - 1] @ P_by_cycle[t - 1]
    return m


def total(m: np.ndarray, v: np.ndarray, r: float, method: str, continuous: bool = False, dt: float = 1.0) -> float:
    """Reward total with a time-homogeneous per-cycle reward vector v."""
    T = len(m) - 1

    def d(t: float) -> float:
        return np.exp(-r * t * dt) if continuous else (1 + r) ** (-t * dt)

    if method == "end":
        return sum(m[t] @ v * d(t) for t in range(1, T + 1))
    if method == "beginning":
        return sum(m[t] @ v * d(t) for t in range(0, T))
    if method == "all-points":
        return sum(m[t] @ v * d(t) for t in range(0, T + 1))
    if method == "half-cycle":
        w = np.ones(T + 1)
        w[0] = w[-1] = 0.5
        return sum(w[t] * (m[t] @ v) * d(t) for t in range(T + 1))
    if method == "simpson":  # DARTH gen_wcc: points numbered 1..T+1, even numbers 2/3, odd 4/3, ends 1/3
        n = np.arange(1, T + 2)
        w = np.where(n % 2 == 0, 2 / 3, 4 / 3)
        w[0] = w[-1] = 1 / 3
        return sum(w[t] * (m[t] @ v) * d(t) for t in range(T + 1))
    if method == "life-table":
        return sum((m[t - 1] + m[t]) / 2 @ v * d(t - 1) for t in range(1, T + 1))
    raise ValueError(method)
