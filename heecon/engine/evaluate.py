"""Evaluate a scenario for many parameter sets at once: the engine-neutral entry point.

Everything that varies parameters (PSA, one-way and two-way DSA, threshold search, global sensitivity
analysis, calibration) calls :func:`evaluate_totals` with a mapping of parameter name -> values (one per
parameter set). The cohort engine takes all sets in one kernel call per chunk (the sample axis); the
microsimulation engine simulates its individuals for each set with common random numbers.
"""

from __future__ import annotations

from typing import Callable, Mapping

import numpy as np

from heecon.scenario.types import Scenario

__all__ = ["evaluate_totals", "DEFAULT_CHUNK"]

DEFAULT_CHUNK = 4096


def evaluate_totals(scenario: Scenario, draws: Mapping[str, np.ndarray] | None, n: int | None = None, *,
                    chunk: int = DEFAULT_CHUNK, validate: bool = True,
                    progress: Callable[[int], None] | None = None, sample_offset: int = 0) -> np.ndarray:
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
    """
    draws = {k: np.asarray(v, dtype=float) for k, v in (draws or {}).items()}
    if n is None:
        n = len(next(iter(draws.values()))) if draws else 1
    if scenario.settings.engine == "microsim":
        from heecon.engine.microsim.evaluate import evaluate_microsim

        return evaluate_microsim(scenario, draws, n, chunk=chunk, validate=validate, progress=progress,
                                 sample_offset=sample_offset, moments=False).totals
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
