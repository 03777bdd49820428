"""Where PSA chunks run (local threads, worker processes, Dask), checkpoints, and the memory guard.

:func:`evaluate_chunked` is the entry point: it cuts ``n`` parameter sets into chunks of samples ``[lo, hi)``,
hands the chunks that are not already on disk to an executor, writes each finished chunk to the checkpoint
folder (when one is given) and returns the totals ``[n, strategies, outcomes, 2]``. The totals are
bit-identical whatever the executor, worker count, thread count and chunk size, and whether or not the run was
resumed (see docs/scaling.md for why).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from heecon.execution.checkpoint import (
    Checkpoint,
    CheckpointBusy,
    CheckpointMismatch,
    CheckpointTarget,
    checkpoint_dir_for,
    psa_manifest,
    read_manifest,
)
from heecon.execution.executors import (
    EXECUTORS,
    DaskExecutor,
    DaskLocalExecutor,
    ExecutionError,
    Executor,
    LocalExecutor,
    ProcessExecutor,
    ScenarioRef,
    chunk_bounds,
    default_chunk_size,
    evaluate_chunk,
    make_executor,
)
from heecon.execution.memory import MemoryEstimate, MemoryGuardError, check_memory, estimate_psa_memory, guard_psa
from heecon.scenario.types import Scenario

__all__ = [
    "evaluate_chunked", "make_executor", "EXECUTORS", "Executor", "LocalExecutor", "ProcessExecutor", "DaskExecutor",
    "DaskLocalExecutor", "ExecutionError", "ScenarioRef", "chunk_bounds", "default_chunk_size", "evaluate_chunk",
    "Checkpoint", "CheckpointMismatch", "CheckpointBusy", "CheckpointTarget", "checkpoint_dir_for", "psa_manifest",
    "read_manifest", "MemoryEstimate",
    "MemoryGuardError", "estimate_psa_memory", "check_memory", "guard_psa", "RUN_ERRORS",
]

#: errors of the execution layer whose message is meant for the user as is (the CLI prints them, exit 2)
RUN_ERRORS = (ExecutionError, CheckpointMismatch, CheckpointBusy, MemoryGuardError)


def evaluate_chunked(scenario: Scenario, values: Mapping[str, np.ndarray] | None, n: int | None = None, *,
                     executor: str | Executor | None = "local", workers: int | None = None,
                     scheduler: str | None = None, chunk_size: int | None = None,
                     checkpoint_dir: str | Path | CheckpointTarget | None = None, resume: bool = True,
                     seed: int | None = None,
                     progress: Callable[[int], None] | None = None, memory_guard: bool = True,
                     memory_limit_mb: float | None = None, run_info: Mapping[str, Any] | None = None,
                     stats: dict[str, Any] | None = None) -> np.ndarray:
    """Totals ``[n, n_strategies, R, 2]`` of ``n`` parameter sets, computed chunk by chunk.

    Parameters
    ----------
    values
        Parameter name -> ``n`` values (others keep their base value).
    executor
        ``local`` (default), ``processes``, ``dask``, ``dask-local``, or an :class:`Executor` (left open).
    workers, scheduler
        Passed to :func:`make_executor` when ``executor`` is a name.
    chunk_size
        Samples per chunk (default: :func:`default_chunk_size`). An existing checkpoint keeps its own layout.
    checkpoint_dir
        Write each finished chunk here; an existing checkpoint of the same PSA is resumed (only the missing
        chunks are computed), one of a different PSA raises :class:`CheckpointMismatch`. ``resume=False``
        starts afresh. A :class:`CheckpointTarget` carries its own ``resume`` and ``run_info``. The folder is left
        in place: remove it once the results are safely stored.
    seed
        The seed the draws came from (recorded in the checkpoint manifest and compared on resume).
    progress
        Called with the number of samples of each chunk finished (or found on disk).
    memory_guard, memory_limit_mb
        Estimate the peak memory first and raise :class:`MemoryGuardError` if it exceeds the memory available
        (or ``memory_limit_mb``; see :mod:`heecon.execution.memory`).
    run_info
        Notes stored in the manifest (how the run was started), not compared on resume.
    stats
        A dict filled with what happened: executor, chunk size, chunks computed and reused, seconds.
    """
    from heecon.model.markov import reward_names

    t0 = time.perf_counter()
    values = {k: np.asarray(v, dtype=float) for k, v in (values or {}).items()}
    if n is None:
        n = len(next(iter(values.values()))) if values else 1
    n = int(n)
    own = not isinstance(executor, Executor)
    ex = make_executor(executor, workers, scheduler)
    ckpt: Checkpoint | None = None
    try:
        size = int(chunk_size) if chunk_size else default_chunk_size(scenario, n, ex.parallelism)
        bounds = chunk_bounds(n, size)
        if isinstance(checkpoint_dir, CheckpointTarget):
            run_info = {**checkpoint_dir.run_info, **(run_info or {})}
            resume = checkpoint_dir.resume
            checkpoint_dir = checkpoint_dir.folder
        if memory_guard:  # before the checkpoint is opened: a refused run leaves nothing behind
            old = read_manifest(checkpoint_dir) if checkpoint_dir is not None and resume else None
            largest = max(hi - lo for lo, hi in (old or {}).get("chunks") or bounds)
            guard_psa(scenario, n, largest, concurrency=ex.concurrency, values=values,
                      worker_processes=ex.concurrency if ex.concurrency > 1 else 0, limit_mb=memory_limit_mb,
                      threads=getattr(ex, "threads", None))
        if checkpoint_dir is not None:
            ckpt = Checkpoint.open(checkpoint_dir, psa_manifest(scenario, n, seed, values, bounds, run_info),
                                   resume=resume)
            bounds = ckpt.bounds
        shape = (len(scenario.strategies), len(reward_names(scenario)), 2)
        totals = np.empty((n,) + shape)
        todo = []
        reused = 0
        for lo, hi in bounds:
            arr = ckpt.load(lo, hi) if ckpt is not None else None
            if arr is None:
                todo.append((lo, hi))
                continue
            totals[lo:hi] = arr
            reused += 1
            if progress is not None:
                progress(hi - lo)
        for lo, hi, arr in ex.run(scenario, values, todo):
            if arr.shape != (hi - lo,) + shape:
                raise ExecutionError(f"Chunk [{lo}, {hi}) came back with shape {arr.shape}, expected "
                                     f"{(hi - lo,) + shape}.")
            if ckpt is not None:
                ckpt.save(lo, hi, arr)
            totals[lo:hi] = arr
            if progress is not None:
                progress(hi - lo)
        if stats is not None:
            stats.update(executor=ex.describe(), chunk_size=int(bounds[0][1] - bounds[0][0]), chunks=len(bounds),
                         chunks_reused=reused, chunks_computed=len(todo), seconds=time.perf_counter() - t0)
        return totals
    finally:
        if ckpt is not None:
            ckpt.close()
        if own:
            ex.close()
