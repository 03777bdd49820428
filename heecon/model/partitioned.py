"""A partitioned survival model compiled to the cohort engine's arrays.

With N states ordered healthiest first and N - 1 survival curves ``S_1 <= ... <= S_{N-1}`` (curve ``k`` the
share of the cohort in states ``1..k``; NICE DSU TSD 19, hesim's ``Psm``), the occupancy at time ``t`` is

    m_1(t) = S_1(t),   m_k(t) = S_k(t) - S_{k-1}(t),   m_N(t) = 1 - S_{N-1}(t).

The cohort kernel moves a distribution with ``m_k = m_{k-1} P_k``. This module writes, for every cycle, the
transition matrix that takes the occupancy at the cycle's start exactly to the occupancy at its end: the
cohort is laid out on (0, 1], state ``i`` holding ``(S_{i-1}(t), S_i(t)]`` (``S_0 = 0``, ``S_N = 1``); as the
curves fall, every position moves to a state at least as sick, and

    P_k[i, l] = |(S_{i-1}(a), S_i(a)] ∩ (S_{l-1}(b), S_l(b)]| / m_i(a)     (a, b the cycle's start and end)

(a rank-preserving coupling: a row sums to 1 and ``m(a) P_k = m(b)`` by construction). The kernel therefore
reproduces the partitioned occupancy to rounding at every point, and state rewards, within-cycle corrections,
discounting, the PSA, DSA, VoI and the report are the Markov engine's, with no special case. One-off rewards on
moves see the flows of this coupling (e.g. the drop of the first curve is the flow out of state 1).

A lower curve above a higher one gives negative occupancy; ``[partitioned] crossing`` chooses what happens:
``"error"`` refuses the parameter set (naming the strategy, time and PSA sample), ``"truncate"`` caps each curve
by the one above it (``S_k = min(S_k, S_{k+1})``, as ``pmin(pfs, os)`` in most published models) and notes it,
``"warn"`` caps and also issues a warning.

References
----------
Woods B, Sideris E, Palmer S, Latimer N, Soares M (2017, updated 2020). NICE DSU Technical Support Document 19:
partitioned survival analysis for decision modelling in health care: a critical review. NICE Decision Support
Unit.
Incerti D, Jansen JP (2021). hesim: health economic simulation modeling and decision analysis. arXiv:2102.09437
(the N-state partitioned survival model, ``Psm``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from heecon.scenario.errors import Problem
from heecon.scenario.expr import TIME_NAMES, ExprError

__all__ = ["partitioned_transitions", "state_curves", "CrossingWarning"]

CROSS_TOL = 1e-12


class CrossingWarning(UserWarning):
    """A lower survival curve rose above a higher one and was capped."""


def _env_values(blk: Any) -> Any:
    def ev(e: Any, key: str) -> np.ndarray:
        v = np.asarray(blk.env.eval(e, key), dtype=float)
        if v.ndim == 0:
            return v.reshape(1, 1)
        # one value per PSA sample, broadcast over the time grid (a [segments, samples] value does not vary by
        # segment: curves that change with model time are refused)
        return (v if v.ndim == 1 else v[0]).reshape(-1, 1)

    return ev


def state_curves(blk: Any) -> np.ndarray | None:
    """The strategy's curves on the points ``0, dt, ..., T dt``: ``[N - 1, ns, T + 1]`` (None after a problem)."""
    from heecon.model.env import _time_dependent_params

    scenario, strat, ns = blk.scenario, blk.strat, blk.ns
    spec = scenario.partitioned
    st = scenario.settings
    tdep = _time_dependent_params(scenario, strat.parameters)
    ok = True
    for c in spec.curves[strat.name]:
        bad = sorted(c.names & (set(TIME_NAMES) | tdep))
        if bad:
            blk.problems.append(Problem(scenario.origin(c.key), c.key, (
                f"a partitioned survival curve cannot change with model time, but {c.describe()!r} depends on "
                f"{', '.join(bad)} [strategy '{strat.name}']; the curves themselves give the time course")))
            ok = False
    if not ok:
        return None
    years = np.arange(st.n_cycles + 1, dtype=float) * st.cycle_years
    ev = _env_values(blk)
    out = np.empty((len(spec.curves[strat.name]), ns, years.size))
    for j, c in enumerate(spec.curves[strat.name]):
        try:
            dist = c.distribution(ev)
            off = np.asarray(c.offset_years(ev), dtype=float)
            h = c.cumhaz(ev, off + years[None, :], dist) - c.cumhaz(ev, off, dist)
            hr = c.hazard_ratio(ev)
            with np.errstate(invalid="ignore", over="ignore"):
                s = np.exp(-(h if hr is None else np.asarray(hr, dtype=float) * h))
            out[j] = np.broadcast_to(np.where(np.isnan(s) & np.isinf(h), 0.0, s), (ns, years.size))
        except (ExprError, ValueError) as exc:  # a curve that cannot be built at these values: reported at it
            blk.problems.append(Problem(scenario.origin(c.key), c.key, f"{exc} [strategy '{strat.name}']"))
            ok = False
            continue
        if blk.validate and not np.all(np.isfinite(out[j])):
            blk.problems.append(Problem(scenario.origin(c.key), c.key,
                                        f"the curve {c.describe()!r} is not finite [strategy '{strat.name}']"))
            ok = False
    return out if ok else None


def _crossing(blk: Any, S: np.ndarray) -> np.ndarray:
    """Check that each curve lies below the next; handle a crossing as ``[partitioned] crossing`` says."""
    scenario, strat = blk.scenario, blk.strat
    spec = scenario.partitioned
    curves = spec.curves[strat.name]
    dt = scenario.settings.cycle_years
    for j in range(S.shape[0] - 2, -1, -1):
        bad = S[j] > S[j + 1] + CROSS_TOL
        if not np.any(bad):
            continue
        i, k = (int(x) for x in np.argwhere(bad)[0])
        n = int(bad.sum())
        where = f"strategy '{strat.name}'" + (f", PSA sample {i}" if S.shape[1] > 1 else "")
        msg = (f"the curve {curves[j].describe()!r} ({S[j, i, k]:.6g}) lies above {curves[j + 1].describe()!r} "
               f"({S[j + 1, i, k]:.6g}) at year {k * dt:g} [{where}]" + (f" ({n - 1} more points)" if n > 1 else ""))
        if spec.crossing == "error":
            blk.problems.append(Problem(scenario.origin("partitioned.crossing"), "partitioned.crossing",
                                        f"{msg}; the state between them would be negative. Refit the curves, or set "
                                        "crossing = \"truncate\" (cap the lower curve by the upper) or \"warn\""))
            continue
        note = f"partitioned.crossing: {msg}; capped at the upper curve"
        blk.notes.append(note)
        if spec.crossing == "warn":
            warnings.warn(note, CrossingWarning, stacklevel=2)
        S[j] = np.minimum(S[j], S[j + 1])
    return S


def partitioned_transitions(blk: Any) -> np.ndarray:
    """The transition matrices ``[ns, T, S, S]`` (one segment per cycle) that reproduce the partitioned occupancy."""
    scenario, exp, ns = blk.scenario, blk.exp, blk.ns
    spec = scenario.partitioned
    T = scenario.settings.n_cycles
    S_exp = exp.S
    P = np.zeros((ns, T, S_exp, S_exp))
    idx = [exp.first[s] for s in spec.states]
    curves = state_curves(blk)
    if curves is None:
        for e in idx:
            P[:, :, e, e] = 1.0
        return P
    curves = _crossing(blk, np.clip(curves, 0.0, 1.0))
    N = len(spec.states)
    cum = np.concatenate([np.zeros((1,) + curves.shape[1:]), curves, np.ones((1,) + curves.shape[1:])], axis=0)
    lo, hi = cum[:-1], cum[1:]  # [N, ns, T + 1]: state i holds (lo_i, hi_i]
    lo_a, hi_a, lo_b, hi_b = lo[:, :, :-1], hi[:, :, :-1], lo[:, :, 1:], hi[:, :, 1:]
    overlap = np.clip(np.minimum(hi_a[:, None], hi_b[None, :]) - np.maximum(lo_a[:, None], lo_b[None, :]), 0.0, None)
    mass = hi_a - lo_a  # [N, ns, T]
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(mass[:, None] > 0, overlap / np.where(mass > 0, mass, 1.0)[:, None], 0.0)
    for i in range(N):
        empty = mass[i] <= 0  # nobody there: any valid row (stay)
        frac[i, i] = np.where(empty, 1.0, frac[i, i])
        for q in range(N):
            P[:, :, idx[i], idx[q]] = frac[i, q]
    return P
