"""The result of a microsimulation call on either device: exact fixed-point accumulators and counts.

:class:`MicrosimResult` holds the accumulators (heecon/engine/microsim/fixedpoint.py) and the derived means and
standard errors; :func:`combine` merges results of chunks (of individuals or of PSA samples) exactly, so any
chunking gives the same bits as one call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from heecon.engine.microsim.fixedpoint import SHIFT_SQ, SHIFT_SUM, fx_combine, fx_to_float

__all__ = ["MicrosimResult", "combine"]


@dataclass
class MicrosimResult:
    """Exact accumulators of one microsimulation call (or of combined chunks).

    ``acc[sample, strategy, reward, disc, kind, limb]``: kind 0 the sum over
    individuals of the per-individual totals, 1 the sum of squares, 2 the sum
    of squared (strategy s - strategy 0) differences; limb (hi, lo) fixed point
    (see heecon/engine/microsim/fixedpoint.py); disc 0 discounted (W[0]), 1 undiscounted.
    """

    acc: np.ndarray
    ev_count: np.ndarray  # int64[n_samp, n_strat, E]
    occupancy: np.ndarray  # int64[n_keep, n_strat, T+1, S]
    cycle_rewards_fx: np.ndarray  # int64[n_keep, n_strat, T, R, 2] (discounted, fixed point)
    cycle_events: np.ndarray  # int64[n_keep, n_strat, T, E]
    trajectories: np.ndarray  # int64[n_traj, n_strat, T+1]; -1 where not simulated
    n_individuals: int
    seed: int
    sample_offset: int = 0
    ind_offset: int = 0
    moments: bool = True  # squares accumulated (else se and incremental_se are NaN)

    @property
    def out_sum(self) -> np.ndarray:
        """float64[n_samp, n_strat, R, 2]: sum over individuals of the totals."""
        return fx_to_float(self.acc[..., 0, :], SHIFT_SUM)

    @property
    def out_sq(self) -> np.ndarray:
        """float64[n_samp, n_strat, R, 2]: sum over individuals of squared totals."""
        return fx_to_float(self.acc[..., 1, :], SHIFT_SQ)

    @property
    def out_dsq(self) -> np.ndarray:
        """float64[n_samp, n_strat, R, 2]: sum of squared (strategy s - strategy 0) differences."""
        return fx_to_float(self.acc[..., 2, :], SHIFT_SQ)

    @property
    def cycle_rewards(self) -> np.ndarray:
        """float64[n_keep, n_strat, T, R]: discounted rewards of each cycle, summed over individuals."""
        return fx_to_float(self.cycle_rewards_fx, SHIFT_SUM)

    @property
    def mean(self) -> np.ndarray:
        """Mean per individual, float64[n_samp, n_strat, R, 2]."""
        return self.out_sum / self.n_individuals

    @property
    def se(self) -> np.ndarray:
        """Monte Carlo standard error of :attr:`mean` (from the sums of squares)."""
        n = self.n_individuals
        if not self.moments:
            return np.full(self.acc.shape[:4], np.nan)
        var = (self.out_sq - n * self.mean**2) / max(n - 1, 1)
        return np.sqrt(np.maximum(var, 0.0) / n)

    @property
    def incremental_mean(self) -> np.ndarray:
        """Mean of (strategy s - strategy 0) per individual."""
        m = self.mean
        return m - m[:, :1]

    @property
    def incremental_se(self) -> np.ndarray:
        """Standard error of :attr:`incremental_mean` under common random numbers."""
        n = self.n_individuals
        d = self.incremental_mean
        if not self.moments:
            return np.full(d.shape, np.nan)
        var = (self.out_dsq - n * d**2) / max(n - 1, 1)
        return np.sqrt(np.maximum(var, 0.0) / n)


def combine(results, over: str = "individuals") -> MicrosimResult:
    """Merge chunk results exactly.

    ``over="individuals"``: chunks of different individuals of the same samples
    (accumulators, event counts and per-cycle output are added; trajectories are
    concatenated in order of ``ind_offset``). ``over="samples"``: chunks of
    different samples of the same individuals (arrays concatenated in order of
    ``sample_offset``).
    """
    results = list(results)
    if not results:
        raise ValueError("combine() needs at least one result.")
    seeds = {r.seed for r in results}
    if len(seeds) != 1:
        raise ValueError(f"Chunks to combine must share one seed. Got {sorted(seeds)}.")
    if over == "individuals":
        results.sort(key=lambda r: r.ind_offset)
        if len({r.sample_offset for r in results}) != 1 or len({r.acc.shape for r in results}) != 1:
            raise ValueError("Chunks of individuals must cover the same samples (same sample_offset and shapes).")
        trajs = [r.trajectories for r in results if r.trajectories.shape[0] > 0]
        return MicrosimResult(
            acc=fx_combine(*[r.acc for r in results]),
            ev_count=sum(r.ev_count for r in results),
            occupancy=sum(r.occupancy for r in results),
            cycle_rewards_fx=fx_combine(*[r.cycle_rewards_fx for r in results]),
            cycle_events=sum(r.cycle_events for r in results),
            trajectories=np.concatenate(trajs) if trajs else results[0].trajectories,
            n_individuals=sum(r.n_individuals for r in results),
            seed=results[0].seed,
            sample_offset=results[0].sample_offset,
            ind_offset=results[0].ind_offset,
            moments=all(r.moments for r in results),
        )
    if over == "samples":
        results.sort(key=lambda r: r.sample_offset)
        if len({(r.n_individuals, r.ind_offset) for r in results}) != 1:
            raise ValueError("Chunks of samples must cover the same individuals (same n_individuals and ind_offset).")
        return MicrosimResult(
            acc=np.concatenate([r.acc for r in results]),
            ev_count=np.concatenate([r.ev_count for r in results]),
            occupancy=np.concatenate([r.occupancy for r in results]),
            cycle_rewards_fx=np.concatenate([r.cycle_rewards_fx for r in results]),
            cycle_events=np.concatenate([r.cycle_events for r in results]),
            trajectories=results[0].trajectories,
            n_individuals=results[0].n_individuals,
            seed=results[0].seed,
            sample_offset=results[0].sample_offset,
            ind_offset=results[0].ind_offset,
            moments=all(r.moments for r in results),
        )
    raise ValueError(f"The 'over' setting must be 'individuals' or 'samples'. Got {over!r}.")
