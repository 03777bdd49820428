"""Evaluate a scenario for many parameter sets at once: the engine-neutral entry point.

Everything that varies parameters (PSA, one-way and two-way DSA, threshold search, global sensitivity
analysis, calibration) calls :func:`evaluate_totals` with a mapping of parameter name -> values (one per
parameter set). The cohort engine takes all sets in one kernel call per chunk (the sample axis); the
microsimulation engine simulates its individuals for each set with common random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from heecon.scenario.types import Scenario

__all__ = ["evaluate_totals", "evaluate_base", "EngineRun", "DEFAULT_CHUNK"]

DEFAULT_CHUNK = 4096


def evaluate_totals(scenario: Scenario, draws: Mapping[str, np.ndarray] | None, n: int | None = None, *,
                    chunk: int = DEFAULT_CHUNK, validate: bool = True,
                    progress: Callable[[int], None] | None = None, sample_offset: int = 0,
                    crn: bool = False) -> np.ndarray:
    """Per-person totals ``[n, n_strategies, R, 2]`` (discounted, undiscounted), start rewards included.

    Parameters
    ----------
    scenario
        A validated scenario.
    draws
        Parameter name -> array of length ``n`` (parameters not named keep their base-case value).
    n
        Number of parameter sets (default: the length of the draws, or 1).
    chunk
        Parameter sets per kernel call (bounds memory).
    validate
        Check probabilities, rows and costs of every set (errors name the PSA sample).
    progress
        Called with the number of sets finished after each chunk.
    sample_offset
        Global index of the first set (the microsimulation's random numbers are keyed by it).
    crn
        Microsimulation: give every set the same random numbers (those of ``sample_offset``), as a deterministic
        sensitivity analysis wants (the cohort engine has none).
    """
    draws = {k: np.asarray(v, dtype=float) for k, v in (draws or {}).items()}
    if n is None:
        n = len(next(iter(draws.values()))) if draws else 1
    from heecon.model.markov import reward_names
    from heecon.model.sizes import check_allocation

    check_allocation({"totals": 8.0 * n * len(scenario.strategies) * len(reward_names(scenario)) * 2},
                     f"for the results of {n:,} parameter sets", ["fewer parameter sets (PSA samples, grid points)"])
    if scenario.settings.engine == "microsim":
        from heecon.engine.microsim.evaluate import evaluate_microsim

        return evaluate_microsim(scenario, draws, n, chunk=chunk, validate=validate, progress=progress,
                                 sample_offset=sample_offset, moments=False, crn=crn).totals
    from heecon.engine.cohort import run_cohort
    from heecon.model.markov import compile_model

    out = None
    for lo in range(0, n, chunk):
        hi = min(n, lo + chunk)
        part = {k: v[lo:hi] for k, v in draws.items()}
        model = compile_model(scenario, part, validate=validate)
        raw = run_cohort(model.P, model.P_map, model.V, model.V_map, model.TR, model.TR_map, model.m0, model.W,
                         has_tr=model.has_tr, n_samples=hi - lo, n_keep=0)
        tot = raw.totals + model.start_rewards[:, :, :, None]
        if out is None:
            out = np.empty((n,) + tot.shape[1:])
        out[lo:hi] = tot
        if progress is not None:
            progress(hi - lo)
    assert out is not None
    return out


@dataclass
class EngineRun:
    """What the engine computes for the base case, whichever engine (the arrays; frames are made by outcomes/).

    Attributes
    ----------
    model
        The compiled base case (reward and state names, the expansion of tunnel states).
    totals
        ``[n_strategies, R, 2]``: per-person totals (discounted, undiscounted), start rewards included.
    occupancy
        ``[n_strategies, T+1, S_expanded]``: share of the cohort in each expanded state at each point.
    per_cycle
        ``[n_strategies, T, R, 2]``: rewards per person per cycle (the microsimulation keeps discounted ones only,
        in both slots).
    se, inc_se
        Microsimulation only: Monte Carlo standard errors of ``totals`` and of the differences from the first
        strategy (common random numbers); None for the cohort.
    event_names, events, cycle_events
        Microsimulation only: mean events per person ``[n_strategies, E]`` and per cycle ``[n_strategies, T, E]``.
    trajectories
        Microsimulation only: states of the first individuals ``[n_traj, n_strategies, T+1]``, or None.
    n_individuals
        Microsimulation only: the number of people simulated.
    """

    model: Any
    totals: np.ndarray
    occupancy: np.ndarray
    per_cycle: np.ndarray
    se: np.ndarray | None = None
    inc_se: np.ndarray | None = None
    event_names: list[str] | None = None
    events: np.ndarray | None = None
    cycle_events: np.ndarray | None = None
    trajectories: np.ndarray | None = None
    n_individuals: int | None = None


def evaluate_base(scenario: Scenario) -> EngineRun:
    """Run the deterministic base case (cohort) or the base-case simulation (microsimulation)."""
    from heecon.model.markov import compile_model

    model = compile_model(scenario)
    if scenario.settings.engine == "microsim":
        from heecon.engine.microsim.evaluate import evaluate_microsim

        run = evaluate_microsim(scenario, None, 1, n_keep=1, n_traj=scenario.settings.trajectories)
        return EngineRun(model, run.totals[0], run.occupancy, np.stack([run.cycle_rewards, run.cycle_rewards], axis=-1),
                         se=run.se[0], inc_se=run.inc_se[0], event_names=list(run.event_names), events=run.events[0],
                         cycle_events=run.cycle_events, trajectories=run.trajectories,
                         n_individuals=run.n_individuals)
    from heecon.engine.cohort import run_cohort
    from heecon.model.sizes import check_allocation

    k, T, S, R = model.n_strategies, model.n_cycles, len(model.state_names), len(model.reward_names)
    check_allocation({"trace": 8.0 * k * (T + 1) * S, "per-cycle rewards": 8.0 * k * T * R * 2},
                     f"for the trace of {k} strategies x {T + 1:,} points x {S:,} states",
                     [f"fewer cycles (now {T:,})", "shorter tunnel states"])
    raw = run_cohort(model.P, model.P_map, model.V, model.V_map, model.TR, model.TR_map, model.m0, model.W,
                     has_tr=model.has_tr, n_keep=1, small_numpy=True)
    totals = raw.totals[0] + model.start_rewards[0][:, :, None]
    return EngineRun(model, totals, raw.trace[0], raw.per_cycle[0])
