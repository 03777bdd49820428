"""Memory guard: estimate a PSA's peak memory before running it, and refuse clearly when it will not fit.

The estimate is built from the pieces that grow with the run (all float64 unless noted):

* per chunk, in each process that runs one: the compiled kernel arrays of the chunk (measured by compiling the
  scenario for one and two samples, so tunnels, time-varying tables and events are counted as they are), times
  a factor for the compiler's temporaries; the chunk's outputs; for the microsimulation also the population
  attributes X ``[individuals, attributes]``, the kernel's per-task partial sums and scratch, kept per-cycle
  arrays and stored trajectories;
* in this process: the totals ``[n, strategies, outcomes, 2]``, the draws ``[n, parameters]`` and, at the end,
  the per-sample results table written to Parquet;
* per extra worker process (``processes``, ``dask-local``): the interpreter with numpy, numba and heecon loaded.

It is compared with the memory available now (``psutil.virtual_memory().available``, or ``MemAvailable`` from
/proc/meminfo), or with ``HEECON_MEMORY_LIMIT_MB`` / the ``limit_mb`` argument when set. ``HEECON_MEMORY_GUARD=0``
turns the check off.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from heecon.model.sizes import COMPILE_FACTOR, ENV_GUARD, ENV_LIMIT, available_memory, fmt_bytes
from heecon.scenario.types import Scenario

__all__ = ["MemoryEstimate", "MemoryGuardError", "estimate_psa_memory", "check_memory", "available_memory",
           "guard_psa", "ENV_LIMIT", "ENV_GUARD"]

#: resident memory of a worker process with numpy, numba, pandas and heecon imported (measured ~250 MiB)
WORKER_BASELINE = 300 * 2**20


class MemoryGuardError(RuntimeError):
    """The estimated peak memory of a run exceeds the memory available (the message says what to change)."""

    def __init__(self, message: str, estimate: "MemoryEstimate", available: int):
        super().__init__(message)
        self.estimate = estimate
        self.available = available


@dataclass
class MemoryEstimate:
    """Estimated peak memory of a chunked PSA, in bytes.

    ``chunk_shared + chunk_per_sample * chunk_size`` is one chunk in one process; ``concurrency`` chunks are in
    this machine's memory at once; ``fixed`` holds the parts that do not depend on the chunk size.
    """

    engine: str
    n: int
    chunk_size: int
    concurrency: int
    chunk_shared: int
    chunk_per_sample: int
    fixed: dict[str, int] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    def chunk_bytes(self, chunk_size: int | None = None) -> int:
        c = self.chunk_size if chunk_size is None else chunk_size
        return int(self.chunk_shared + self.chunk_per_sample * c)

    def total(self, chunk_size: int | None = None) -> int:
        return int(sum(self.fixed.values()) + self.concurrency * self.chunk_bytes(chunk_size))

    @property
    def parts(self) -> dict[str, int]:
        out = dict(self.fixed)
        if self.concurrency:
            key = "chunk" if self.concurrency == 1 else f"chunks ({self.concurrency} at once)"
            out[key] = self.concurrency * self.chunk_bytes()
        return out

    def largest_chunk(self, available: int) -> int:
        """The largest chunk size (samples) whose estimate fits in ``available`` bytes (0 if none does)."""
        if not self.concurrency or self.chunk_per_sample <= 0:
            return self.chunk_size if self.total() <= available else 0
        room = available - sum(self.fixed.values()) - self.concurrency * self.chunk_shared
        return max(0, int(room // (self.concurrency * self.chunk_per_sample)))

    def describe(self) -> str:
        return ", ".join(f"{k} {fmt_bytes(v)}" for k, v in self.parts.items() if v > 0)


def _real_bytes(a: Any) -> int:
    """Memory an array really holds (a broadcast view counts once)."""
    if not isinstance(a, np.ndarray) or a.size == 0:
        return 0
    return int(a.itemsize * math.prod(s for s, st in zip(a.shape, a.strides) if st != 0))


def _compiled_bytes(scenario: Scenario, values: Mapping[str, np.ndarray], c: int) -> tuple[int, Any, Any]:
    part = {k: np.asarray(v[:c], dtype=float) for k, v in values.items()}
    if scenario.settings.engine == "microsim":
        from heecon.model.microsim import compile_microsim

        arrays = compile_microsim(scenario, part, validate=False)
        m = arrays.model
        extra = sum(_real_bytes(v) for v in arrays.kwargs.values())
    else:
        from heecon.model.markov import compile_model

        arrays = None
        m = compile_model(scenario, part, validate=False)
        extra = 0
    total = extra + sum(_real_bytes(getattr(m, k)) for k in ("P", "V", "TR", "m0", "start_rewards", "W",
                                                               "P_map", "V_map", "TR_map"))
    return total, m, arrays


def estimate_psa_memory(scenario: Scenario, n: int, chunk_size: int, *, concurrency: int = 1,
                        values: Mapping[str, np.ndarray] | None = None, worker_processes: int = 0,
                        threads: int | None = None, n_keep: int = 0, n_traj: int = 0,
                        tables: bool = True) -> MemoryEstimate:
    """Estimate the peak memory of evaluating ``n`` samples in chunks of ``chunk_size``.

    Parameters
    ----------
    values
        The draws (parameter -> values); only their first two samples are compiled (default: two fresh draws).
    concurrency
        Chunks held at once in this machine's memory (1 local; the number of workers for processes and
        dask-local; 0 for a remote Dask cluster).
    worker_processes
        Extra worker processes started on this machine (each adds an interpreter's baseline).
    threads
        Numba threads per chunk (default: numba's current count); the microsimulation keeps scratch per thread.
    n_keep, n_traj
        Samples whose per-cycle arrays are kept, and individuals whose trajectories are stored (microsim).
    tables
        Count the per-sample results table written at the end.
    """
    from heecon.model.markov import reward_names

    if values is None:
        from heecon.params.scenario_draws import draw_psa

        d = draw_psa(scenario, 2)
        values = {k: d[k] for k in d.names}
    n_par = len(values)
    st = scenario.settings
    k = len(scenario.strategies)
    R = len(reward_names(scenario))
    c1, m, arrays = _compiled_bytes(scenario, values, 1)
    c2, _, _ = _compiled_bytes(scenario, values, 2) if any(len(v) > 1 for v in values.values()) else (c1, None, None)
    per = max(0, c2 - c1)
    shared = max(0, c1 - per)
    out_per_sample = k * R * 2 * 8
    chunk_shared = COMPILE_FACTOR * shared
    chunk_per = COMPILE_FACTOR * per + 3 * out_per_sample + 2 * n_par * 8
    notes: dict[str, Any] = {"compiled_bytes_per_sample": per, "compiled_bytes_shared": shared}
    if st.engine == "microsim":
        if threads is None:
            import numba

            threads = numba.get_num_threads()
        N = int(st.individuals)
        A = len(scenario.microsim.population.columns) if scenario.microsim is not None else 0
        S = len(m.state_names)
        T = m.n_cycles
        E = len(arrays.event_names) if arrays is not None else 0
        nP = m.P.shape[1]
        R4 = ((2 * R + 3) // 4) * 4
        x_bytes = N * (3 * A + 2) * 8  # X as drawn and centred, start states, engagement propensity
        nb = max(1, math.ceil(8 * threads / max(chunk_size, 1)))  # blocks of individuals per sample (simulate)
        partial = nb * k * (R * 2 * 6 + E) * 8
        scratch = threads * (nP * S * S + k * (T + 1) * S * R4 + 4 * k * (T + 1)) * 8
        kept = n_keep * nb * k * ((T + 1) * S + T * R * 2 + T * E) * 8
        traj = n_traj * k * (T + 1) * 8
        chunk_shared += x_bytes + scratch + kept + traj
        chunk_per += partial + out_per_sample * 12 + k * E * 8 * 2
        notes.update(individuals=N, attributes=A, population_bytes=x_bytes, trajectories_bytes=traj,
                     kept_per_cycle_bytes=kept)
    fixed = {
        "totals": n * out_per_sample,
        "draws": 2 * n * n_par * 8,
    }
    if tables:
        cols = 2 * R + len(scenario.perspectives) + 2 + n_par
        fixed["results table"] = 3 * n * k * cols * 8
    if worker_processes:
        fixed[f"{worker_processes} worker processes"] = worker_processes * WORKER_BASELINE
    return MemoryEstimate(st.engine, int(n), int(chunk_size), int(concurrency), int(chunk_shared), int(chunk_per),
                          fixed, notes)


def check_memory(estimate: MemoryEstimate, limit_mb: float | None = None) -> None:
    """Raise :class:`MemoryGuardError` (with what to change) if the estimate exceeds the memory available."""
    avail, source = available_memory(limit_mb)
    if avail is None:
        return
    need = estimate.total()
    if need <= avail:
        return
    tips = []
    best = estimate.largest_chunk(avail)
    if estimate.concurrency and 1 <= best < estimate.chunk_size:
        tips.append(f"a smaller --chunk-size (at most {best:,} samples per chunk fits the estimate)")
    elif estimate.concurrency and estimate.chunk_size > 1:
        tips.append("a smaller --chunk-size (even 1 sample per chunk does not fit with the rest)")
    if estimate.concurrency > 1:
        tips.append(f"fewer --workers (each holds its own chunk; now {estimate.concurrency})")
    if estimate.engine == "microsim":
        N = estimate.notes.get("individuals")
        tips.append(f"fewer individuals (--set settings.individuals=...; now {N:,}: the population alone is "
                    f"{fmt_bytes(estimate.notes.get('population_bytes', 0))} per process)")
        if estimate.notes.get("trajectories_bytes"):
            tips.append("fewer stored trajectories")
        if estimate.notes.get("kept_per_cycle_bytes"):
            tips.append("fewer samples with per-cycle output kept")
    if estimate.fixed.get("totals", 0) + estimate.fixed.get("results table", 0) > avail / 4:
        tips.append(f"fewer PSA samples (--psa; now {estimate.n:,}: the per-sample results alone take "
                    f"{fmt_bytes(estimate.fixed.get('totals', 0) + estimate.fixed.get('results table', 0))})")
    tips.append("a remote Dask cluster (--executor dask --scheduler tcp://HOST:PORT) for chunks that need "
                "more memory than this machine has")
    msg = (f"Not enough memory for this run: its estimated peak is {fmt_bytes(need)} ({estimate.describe()}), "
           f"but {fmt_bytes(avail)} is available ({source}).\nTry:\n" + "\n".join(f"  - {t}" for t in tips)
           + f"\n(Set {ENV_LIMIT} to change the figure compared with, or {ENV_GUARD}=0 to skip this check.)")
    raise MemoryGuardError(msg, estimate, avail)


def guard_psa(scenario: Scenario, n: int, chunk_size: int, *, concurrency: int = 1,
              values: Mapping[str, np.ndarray] | None = None, worker_processes: int = 0,
              limit_mb: float | None = None, **kw: Any) -> MemoryEstimate | None:
    """Estimate and check (unless ``HEECON_MEMORY_GUARD=0``); returns the estimate."""
    if os.environ.get(ENV_GUARD, "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    est = estimate_psa_memory(scenario, n, chunk_size, concurrency=concurrency, values=values,
                              worker_processes=worker_processes, **kw)
    check_memory(est, limit_mb)
    return est
