"""Run a microsimulation scenario: base case (with Monte Carlo standard errors) and many parameter sets.

Random numbers come from the kernel's counter-based generator keyed by (seed, sample, individual, cycle,
stream), so results do not depend on chunking or thread count, and strategies share random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from heecon.model.population import centre_population, sample_population
from heecon.model.microsim import compile_microsim
from heecon.scenario.types import Scenario

__all__ = ["MicrosimRun", "evaluate_microsim", "DeviceError", "CHUNK_UNITS"]

# person-sample units per kernel call: bounds memory of per-sample outputs, gives the progress bar its steps.
# 500,000 (the flagship's 10,000 men: 50 samples a chunk): `heecon run --no-analyses` of the flagship peaked at
# 441 MB with 200-sample chunks, 368 MB with 100, 343 MB with 50, and took no longer (55, 52, 50 s: one run each,
# December 2026, 2 cores); the per-sample arrays (transition rewards 345 kB a sample) dominate a chunk's memory
CHUNK_UNITS = 500_000


@dataclass
class MicrosimRun:
    """Per-person means of a microsimulation over parameter sets.

    Attributes
    ----------
    totals, se, inc_se
        ``[n, n_strategies, R, 2]``: mean per person (discounted, undiscounted; start rewards included), its Monte
        Carlo standard error, and the standard error of the difference from the first strategy (common random
        numbers).
    events
        ``[n, n_strategies, E]``: mean count of each event per person.
    occupancy, cycle_rewards, cycle_events
        For the first parameter set: share of individuals in each (expanded) state at points 0..T ``[k, T+1, S]``,
        discounted rewards per person per cycle ``[k, T, R]``, events per person per cycle ``[k, T, E]``.
    """

    totals: np.ndarray
    se: np.ndarray
    inc_se: np.ndarray
    events: np.ndarray
    event_names: list[str]
    occupancy: np.ndarray | None
    cycle_rewards: np.ndarray | None
    cycle_events: np.ndarray | None
    n_individuals: int
    trajectories: np.ndarray | None = None


def evaluate_microsim(scenario: Scenario, draws: Mapping[str, np.ndarray] | None, n: int, *, chunk: int | None = None,
                      validate: bool = True, progress: Callable[[int], None] | None = None, sample_offset: int = 0,
                      n_keep: int = 0, individuals: int | None = None, n_traj: int = 0,
                      moments: bool = True, crn: bool = False) -> MicrosimRun:
    """Simulate ``individuals`` people (default ``settings.individuals``) for each of ``n`` parameter sets.

    ``moments=False`` skips the sums of squares behind the Monte Carlo standard errors (``se`` and
    ``inc_se`` are then NaN; the means are the same bits): what a PSA, which uses the means only, asks for.
    ``crn=True`` gives every parameter set the random numbers of sample ``sample_offset`` (common random numbers
    across parameter sets, as a deterministic sensitivity analysis wants: a change of result is the parameter's,
    not the simulation's); a PSA leaves it off, so that its samples are independent.
    """
    from heecon.engine.microsim.cpu import simulate

    st = scenario.settings
    N = int(individuals or st.individuals)
    draws = {k: np.asarray(v, dtype=float) for k, v in (draws or {}).items()}
    _check_population_size(scenario, N, n, n_keep, n_traj)
    X, cols, start = sample_population(scenario, N)
    X = centre_population(scenario, X, cols)
    per = max(1, min(n, CHUNK_UNITS // max(N, 1))) if chunk is None else max(1, min(chunk, n))
    parts = []
    first = None
    for lo in range(0, n, per):
        hi = min(n, lo + per)
        arrays = compile_microsim(scenario, {k: v[lo:hi] for k, v in draws.items()}, validate=validate)
        m = arrays.model
        kw = dict(arrays.kwargs)
        if start is not None:
            kw.pop("start_probs", None)
            kw["start_state"] = start
        if _use_gpu(st.device, m, kw):
            res = _GpuResult.run(m, N, hi - lo, st.seed, sample_offset + lo, kw, X, n_keep if lo == 0 else 0,
                                 n_traj if lo == 0 else 0, moments)
        elif crn and hi - lo > 1:  # every parameter set meets the same random numbers (those of sample_offset)
            from heecon.engine.microsim.cpu import combine

            res = combine([simulate(*_sample_slice(m, kw, j, hi - lo), n_ind=N, n_samples=1, seed=st.seed,
                                    sample_offset=sample_offset, X=X, n_keep=n_keep if lo == 0 and j == 0 else 0,
                                    n_traj=n_traj if lo == 0 and j == 0 else 0, moments=moments,
                                    **_sample_slice_kw(kw, j, hi - lo)) for j in range(hi - lo)], over="samples")
        else:
            res = simulate(m.P, m.P_map, m.V, m.V_map, m.W, n_ind=N, n_samples=hi - lo, seed=st.seed,
                           sample_offset=sample_offset + lo, X=X, n_keep=n_keep if lo == 0 else 0,
                           n_traj=n_traj if lo == 0 else 0, moments=moments, **kw)
        if lo == 0:
            first = (res, arrays)
        parts.append((res, m.start_rewards))
        if progress is not None:
            progress(hi - lo)
    assert first is not None
    totals = np.concatenate([r.mean + sr[:, :, :, None] for r, sr in parts], axis=0)
    se = np.concatenate([r.se for r, _ in parts], axis=0)
    inc_se = np.concatenate([r.incremental_se for r, _ in parts], axis=0)
    events = np.concatenate([r.ev_count / N for r, _ in parts], axis=0).astype(float)
    res0, arrays0 = first
    occ = cr = ce = traj = None
    names = list(arrays0.event_names)
    x_names = list(getattr(arrays0, "expected_names", []))
    if n_keep:
        occ = res0.occupancy[0] / N
        cr = res0.cycle_rewards[0] / N
        ce = res0.cycle_events[0] / N
    if x_names:
        # events booked in expectation: expected counts from the state occupancy (first parameter set only)
        x_rate = arrays0.expected_rates  # [ns, blocks, S, Ex]
        P_map = arrays0.model.P_map
        k_s = P_map.shape[0]
        x_cycle = np.full((k_s, P_map.shape[1], len(x_names)), np.nan)
        if occ is not None:
            for s in range(k_s):
                for k in range(P_map.shape[1]):
                    x_cycle[s, k] = occ[s, k] @ x_rate[0, P_map[s, k]]
        x_tot = np.full((totals.shape[0], k_s, len(x_names)), np.nan)
        x_tot[0] = x_cycle.sum(axis=1)
        events = np.concatenate([events, x_tot], axis=2)
        if ce is not None:
            ce = np.concatenate([ce, x_cycle], axis=2)
        names += x_names
    if n_traj:
        traj = res0.trajectories
    return MicrosimRun(totals, se, inc_se, events, names, occ, cr, ce, N, traj)


#: kernel arguments with a leading axis of PSA samples (1 when shared by all samples)
_SAMPLE_AXIS = ("TR_mats", "start_probs", "beta_tr", "gamma_tr", "ev_rate", "ev_beta", "ev_gamma", "ev_rr", "ev_reward",
                "ev_move_prob", "eng_dropout", "eng_ab", "eng_cost_per_session", "eng_cost_per_place")


def _sample_slice(m: Any, kw: dict[str, Any], j: int, n: int) -> tuple[Any, ...]:
    """The positional kernel arrays of parameter set ``j`` alone."""
    def one(a: Any) -> Any:
        return a[j:j + 1] if a is not None and np.shape(a)[0] == n and n > 1 else a
    return one(m.P), m.P_map, one(m.V), m.V_map, m.W


def _sample_slice_kw(kw: dict[str, Any], j: int, n: int) -> dict[str, Any]:
    return {k: (v[j:j + 1] if k in _SAMPLE_AXIS and v is not None and np.shape(v)[0] == n and n > 1 else v)
            for k, v in kw.items()}


def _check_population_size(scenario: Scenario, N: int, n: int, n_keep: int, n_traj: int) -> None:
    """Refuse (:class:`heecon.model.sizes.MemoryLimitError`) before drawing a population that would not fit: its
    attributes ``[N, A]`` as drawn and centred, start states and subgroup draws; the stored trajectories; the rows of
    a population file as read."""
    from heecon.model.markov import reward_names
    from heecon.model.sizes import check_allocation

    spec = scenario.microsim
    A = len(spec.population.columns) if spec is not None else 0
    k = len(scenario.strategies)
    T = scenario.settings.n_cycles
    R = len(reward_names(scenario))
    parts = {"population attributes": 8.0 * N * (3 * A + 4),
             # the kernel's int64 array, then trajectories.csv's frame (four columns, states as object references)
             "trajectories": 56.0 * min(n_traj, N) * k * (T + 1),
             "per-sample results": 8.0 * n * k * (R * 2 * 6 + 8)}
    if spec is not None and spec.population.file is not None:
        try:
            parts["population file"] = 4.0 * spec.population.file.stat().st_size
        except OSError:
            pass
    tips = [f"fewer individuals (--set settings.individuals=...; now {N:,}: each needs about "
            f"{8 * (3 * A + 4):,} bytes for its {A} attribute columns)"]
    if n_traj:
        tips.append(f"fewer stored trajectories (settings.trajectories; now {n_traj:,})")
    check_allocation(parts, f"to simulate {N:,} individuals", tips)


class DeviceError(ValueError):
    """settings.device asks for a kernel this machine or model cannot provide (message meant for the user)."""


def _use_gpu(device: str, m: Any, kw: dict[str, Any]) -> bool:
    """Whether this run goes to a GPU kernel (settings.device "gpu" insists, "auto" takes it when it can).

    The GPU kernels cover every feature of the CPU kernel (covariates, counters, time in state, events and
    event-driven moves, treatment engagement, population files); what they refuse is a model beyond the
    general kernel's fixed per-thread sizes (heecon.engine.microsim.gpu.unsupported), or a machine without one.
    """
    if device == "cpu":
        return False
    from heecon.engine.microsim import gpu as microsim_cuda

    ok = microsim_cuda.available()
    why = None if not ok else microsim_cuda.unsupported(m.P, m.V, kw)
    if device == "gpu" and (not ok or why):
        reason = "no CUDA GPU was found (numba-cuda)" if not ok else f"this model has {why}"
        raise DeviceError(f"settings.device = \"gpu\" cannot be honoured: {reason}. Use \"auto\" or \"cpu\".")
    return ok and not why


class _GpuResult:
    """The fast-path GPU kernel's output in the shape of heecon.engine.microsim.cpu.MicrosimResult (what
    evaluate_microsim uses). The fast path keeps no paired squares, event counts or per-cycle rewards, so
    :meth:`run` takes it only where none is needed (no events, no per-cycle output); everything else runs on the
    general GPU kernel, which returns a full MicrosimResult."""

    def __init__(self, out_sum: np.ndarray, out_sq: np.ndarray, occupancy: np.ndarray, traj: np.ndarray, n: int,
                 T: int, E: int = 0):
        self.n_individuals = n
        self.mean = out_sum / n
        var = (out_sq - n * self.mean ** 2) / max(n - 1, 1)
        self.se = np.sqrt(np.maximum(var, 0.0) / n)
        self.incremental_se = np.full_like(self.se, np.nan)  # the fast kernel does not accumulate paired squares
        self.ev_count = np.zeros(out_sum.shape[:2] + (E,), np.int64)
        self.occupancy = occupancy[None]
        self.cycle_rewards = np.full((1, out_sum.shape[1], T, out_sum.shape[2]), np.nan)
        self.cycle_events = np.zeros((1, out_sum.shape[1], T, E))
        self.trajectories = traj

    @classmethod
    def run(cls, m: Any, n: int, ns: int, seed: int, offset: int, kw: dict[str, Any], X: np.ndarray, n_keep: int,
            n_traj: int, moments: bool = True) -> Any:
        """The chunk on the GPU: the fast kernel where it gives all that is needed, else the general one."""
        from heecon.engine.microsim.gpu import gpu_path, simulate_gpu, simulate_gpu_general

        if gpu_path(kw, n_keep=n_keep, n_cycles=m.n_cycles) == "general":
            return simulate_gpu_general(m.P, m.P_map, m.V, m.V_map, m.W, n_ind=n, n_samples=ns, seed=seed,
                                        sample_offset=offset, X=X, n_keep=n_keep, n_traj=n_traj, moments=moments,
                                        **kw)
        g = simulate_gpu(m.P, m.P_map, m.V, m.V_map, m.W, n_ind=n, n_samples=ns, seed=seed, sample_offset=offset,
                         start_probs=kw.get("start_probs"), TR_mats=kw.get("TR_mats"), TR_map=kw.get("TR_map"),
                         n_traj=n_traj)
        E = np.shape(kw["ev_rate"])[3] if kw.get("ev_rate") is not None else 0
        res = cls(g["out_sum"], g["out_sq"], g["occupancy"], g["trajectories"], n, m.n_cycles, E)
        if not moments:  # as the CPU kernel reports it: no standard errors were asked for
            res.se = np.full_like(res.se, np.nan)
        return res
