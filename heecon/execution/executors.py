"""Where the chunks of a PSA run: in this process, in worker processes, or on a Dask cluster.

A PSA of ``n`` samples is cut into chunks of samples ``[lo, hi)``. A chunk is
``evaluate_totals(scenario, {name: values[lo:hi]}, hi - lo, sample_offset=lo)``: a pure function of the
scenario, the chunk's parameter values and its global sample offset (the microsimulation's random numbers are
keyed by the global sample index; the cohort engine treats every sample independently). So a chunk computed
anywhere, by any number of threads, gives the same bits, and the executors below differ only in where they run
it:

``local``
    In this process, one chunk at a time; numba threads parallelise within the chunk.
``processes``
    A :class:`concurrent.futures.ProcessPoolExecutor` (``spawn`` start method, so it is safe after numba has
    started its threads); one numba thread per worker process. Workers rebuild the scenario from its raw
    (already merged and overridden) TOML dict: compiled scenarios hold closures and are not picklable.
``dask``
    An existing Dask distributed scheduler (``tcp://HOST:PORT``). Workers need heecon installed and the
    scenario's data files (tables, population files) at the same absolute paths.
``dask-local``
    A :class:`dask.distributed.LocalCluster` started for the run (N worker processes, one thread each).

Dask is optional (``pip install heecon[dask]``) and imported only when a Dask executor is made.
"""

from __future__ import annotations

import copy
import math
import os
import re
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

import numpy as np

from heecon.scenario.types import Scenario

__all__ = [
    "EXECUTORS", "ExecutionError", "ScenarioRef", "Executor", "LocalExecutor", "ProcessExecutor", "DaskExecutor",
    "DaskLocalExecutor", "make_executor", "chunk_bounds", "default_chunk_size", "evaluate_chunk",
]

#: Names accepted by :func:`make_executor` and ``heecon run --executor``.
EXECUTORS = ("local", "processes", "dask", "dask-local")

DASK_MISSING = ("The '{name}' executor needs Dask distributed, which is not installed. "
                "Install it with: pip install heecon[dask]   (or: pip install \"dask[distributed]\")")


class ExecutionError(RuntimeError):
    """An executor could not be made or a chunk could not be run (the message says why and what to do)."""


# --------------------------------------------------------------------------- scenario shipping


@dataclass(frozen=True)
class ScenarioRef:
    """A picklable description of a loaded scenario, rebuilt in worker processes.

    ``raw`` is the scenario's TOML dict after ``extends`` and ``--set`` overrides, so rebuilding it gives the
    same scenario (checked by its sha256). Paths are made absolute so that a worker with another working
    directory finds the same data files.
    """

    raw: dict[str, Any]
    path: str
    origins: dict[str, str]
    files: tuple[str, ...]
    sha256: str

    @classmethod
    def from_scenario(cls, scenario: Scenario) -> "ScenarioRef":
        def absolute(p: str) -> str:
            q = Path(p)
            return str(q.absolute()) if not q.is_absolute() and q.exists() else p

        return cls(copy.deepcopy(scenario.raw), str(Path(scenario.path).absolute()),
                   {k: absolute(v) for k, v in scenario.origins.items()},
                   tuple(absolute(f) for f in scenario.files), scenario.sha256)

    def load(self) -> Scenario:
        """The scenario (built once per process and kept)."""
        key = (self.sha256, self.path)
        sc = _SCENARIO_CACHE.get(key)
        if sc is None:
            from heecon.scenario.load import build_scenario

            sc = build_scenario(copy.deepcopy(self.raw), Path(self.path), dict(self.origins), list(self.files))
            if sc.sha256 != self.sha256:
                raise ExecutionError(
                    f"A worker rebuilt scenario {self.path} with a different sha256 ({sc.sha256[:12]} instead of "
                    f"{self.sha256[:12]}): its table or population files differ on this worker's machine.")
            if len(_SCENARIO_CACHE) >= 4:
                _SCENARIO_CACHE.pop(next(iter(_SCENARIO_CACHE)))
            _SCENARIO_CACHE[key] = sc
        return sc


_SCENARIO_CACHE: dict[tuple[str, str], Scenario] = {}
# numba's workqueue threading layer must not run parallel kernels from two threads at once: a worker with
# several threads (a Dask worker started with --nthreads 4, say) runs its chunks one after another
_KERNEL_LOCK = threading.Lock()


# --------------------------------------------------------------------------- chunks


def chunk_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """``[(lo, hi), ...]`` covering ``0..n`` in chunks of ``size`` samples (the last may be shorter)."""
    if n < 1:
        raise ValueError(f"The number of samples must be positive. Got {n}.")
    if size < 1:
        raise ValueError(f"The chunk size must be a positive number of samples. Got {size}.")
    return [(lo, min(n, lo + size)) for lo in range(0, n, size)]


def default_chunk_size(scenario: Scenario, n: int, parallelism: int = 1) -> int:
    """Samples per chunk: the engines' own default, cut so that ``parallelism`` workers get ~4 chunks each."""
    if scenario.settings.engine == "microsim":
        from heecon.engine.microsim.evaluate import CHUNK_UNITS

        size = max(1, CHUNK_UNITS // max(int(scenario.settings.individuals), 1))
    else:
        from heecon.engine.evaluate import DEFAULT_CHUNK

        size = DEFAULT_CHUNK
    if parallelism > 1:
        size = min(size, max(1, math.ceil(n / (4 * parallelism))))
    return max(1, min(size, n))


def evaluate_chunk(scenario: Scenario, values: Mapping[str, np.ndarray], lo: int, hi: int) -> np.ndarray:
    """Totals ``[hi - lo, k, R, 2]`` of samples ``[lo, hi)``; ``values`` holds just those samples' draws.

    A validation error names the global PSA sample (the compiler counts from the start of the chunk).
    """
    from heecon.engine.evaluate import evaluate_totals
    from heecon.scenario.errors import ScenarioError

    try:
        with _KERNEL_LOCK:
            return evaluate_totals(scenario, values, hi - lo, chunk=hi - lo, sample_offset=lo)
    except ScenarioError as exc:
        raise _relabel(exc, lo, hi) from None


def _relabel(exc: Any, lo: int, hi: int) -> Any:
    from heecon.scenario.errors import Problem, ScenarioError

    if lo == 0 and hi - lo > 1:
        return exc
    probs = []
    for p in exc.problems:
        msg = re.sub(r"PSA sample (\d+)", lambda m: f"PSA sample {int(m.group(1)) + lo}", p.message)
        if hi - lo == 1 and "PSA sample" not in msg:
            msg += f" [PSA sample {lo}]"
        probs.append(Problem(p.file, p.key, msg))
    return ScenarioError(probs)


class ChunkFailure(Exception):
    """A picklable stand-in for a ScenarioError raised in a worker (ScenarioError itself does not unpickle)."""

    def __init__(self, message: str, problems: tuple[tuple[str, str, str], ...] = ()):
        super().__init__(message, problems)
        self.message = message
        self.problems = problems

    def __str__(self) -> str:
        return self.message

    def reraise(self) -> None:
        if self.problems:
            from heecon.scenario.errors import Problem, ScenarioError

            raise ScenarioError([Problem(*p) for p in self.problems]) from None
        raise ExecutionError(self.message) from None


def _init_worker(threads: int | None) -> None:
    """Process-pool initializer: limit numba threads (before numba starts them, where it is not imported yet)."""
    if threads:
        os.environ["NUMBA_NUM_THREADS"] = str(threads)
        _set_threads(threads)


def _set_threads(threads: int | None) -> None:
    if threads:
        import numba

        numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


def _worker_chunk(ref: ScenarioRef, values: dict[str, np.ndarray], lo: int, hi: int,
                  threads: int | None) -> np.ndarray:
    """Run one chunk in a worker (process pool or Dask): rebuild the scenario, evaluate, return the totals."""
    from heecon.scenario.errors import ScenarioError

    _set_threads(threads)  # thread-local in numba: set in the thread that runs the kernel
    try:
        return evaluate_chunk(ref.load(), values, lo, hi)
    except ScenarioError as exc:
        raise ChunkFailure(str(exc), tuple((p.file, p.key, p.message) for p in exc.problems)) from None


def _slice(values: Mapping[str, np.ndarray], lo: int, hi: int) -> dict[str, np.ndarray]:
    return {k: np.ascontiguousarray(v[lo:hi]) for k, v in values.items()}


# --------------------------------------------------------------------------- executors


class Executor:
    """Runs chunks of a PSA and yields ``(lo, hi, totals)`` as each finishes (in any order).

    Use as a context manager (or call :meth:`close`): pools and clusters are started on first use and kept
    for later runs until closed.
    """

    name = "executor"
    #: how many chunks may be in memory at once in this machine's processes (for the memory guard)
    concurrency = 1

    def run(self, scenario: Scenario, values: Mapping[str, np.ndarray],
            bounds: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int, np.ndarray]]:
        raise NotImplementedError

    @property
    def parallelism(self) -> int:
        """Chunks that run at the same time (the default chunk size gives each ~4)."""
        return 1

    def describe(self) -> str:
        return self.name

    def close(self) -> None:
        """Release workers (a no-op for ``local``)."""

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class LocalExecutor(Executor):
    """In this process, one chunk after another; ``threads`` numba threads within each (default: all)."""

    name = "local"

    def __init__(self, threads: int | None = None):
        self.threads = threads

    def describe(self) -> str:
        import numba

        return f"local ({self.threads or numba.get_num_threads()} numba threads)"

    def run(self, scenario, values, bounds):
        import numba

        before = numba.get_num_threads()
        try:
            _set_threads(self.threads)
            for lo, hi in bounds:
                yield lo, hi, evaluate_chunk(scenario, _slice(values, lo, hi), lo, hi)
        finally:
            numba.set_num_threads(before)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class ProcessExecutor(Executor):
    """A pool of ``workers`` processes (default: one per CPU), ``threads_per_worker`` numba threads each."""

    name = "processes"

    def __init__(self, workers: int | None = None, threads_per_worker: int = 1, start_method: str = "spawn"):
        self.workers = int(workers or _cpu_count())
        if self.workers < 1:
            raise ExecutionError(f"--workers must be at least 1. Got {self.workers}.")
        self.threads = int(threads_per_worker)
        self.start_method = start_method
        self._pool: Any = None

    @property
    def concurrency(self) -> int:  # type: ignore[override]
        return self.workers

    @property
    def parallelism(self) -> int:
        return self.workers

    def describe(self) -> str:
        return f"processes ({self.workers} workers x {self.threads} numba thread{'s' * (self.threads > 1)})"

    def _get_pool(self) -> Any:
        if self._pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context(self.start_method),
                                             initializer=_init_worker, initargs=(self.threads,))
        return self._pool

    def run(self, scenario, values, bounds):
        from concurrent.futures import FIRST_COMPLETED, wait

        pool = self._get_pool()
        ref = ScenarioRef.from_scenario(scenario)
        todo = list(bounds)
        pending: dict[Any, tuple[int, int]] = {}
        finished = False
        try:
            # a bounded number in flight: the draws of waiting chunks are not all pickled up front
            while todo or pending:
                while todo and len(pending) < 2 * self.workers:
                    lo, hi = todo.pop(0)
                    pending[pool.submit(_worker_chunk, ref, _slice(values, lo, hi), lo, hi, self.threads)] = (lo, hi)
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    lo, hi = pending.pop(fut)
                    yield lo, hi, _result(fut)
            finished = True
        finally:
            for fut in pending:
                fut.cancel()
            if not finished:  # an error or Ctrl-C: do not wait for the chunks still running
                self.close(abort=True)

    def close(self, abort: bool = False) -> None:
        """Shut the pool down (``abort``: stop the workers now rather than let running chunks finish)."""
        if self._pool is None:
            return
        pool, self._pool = self._pool, None
        if not abort:
            pool.shutdown(wait=True, cancel_futures=True)
            return
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            p.terminate()
        for p in procs:
            p.join(5)


def _result(fut: Any) -> np.ndarray:
    try:
        return fut.result()
    except ChunkFailure as exc:
        exc.reraise()
        raise  # pragma: no cover


def _import_distributed(name: str) -> Any:
    try:
        import distributed
    except ImportError:
        raise ExecutionError(DASK_MISSING.format(name=name)) from None
    return distributed


class DaskExecutor(Executor):
    """Chunks as tasks on a Dask distributed cluster: an existing scheduler ``address`` or ``client``."""

    name = "dask"

    def __init__(self, address: str | None = None, client: Any = None, threads_per_task: int | None = None):
        distributed = _import_distributed(self.name)
        if client is None and not address:
            raise ExecutionError("The 'dask' executor needs a scheduler address: --scheduler tcp://HOST:PORT "
                                 "(or use --executor dask-local to start a cluster on this machine).")
        self._own_client = client is None
        if client is None:
            try:
                client = distributed.Client(address, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ExecutionError(f"Cannot connect to the Dask scheduler at {address}: {exc}") from None
        self.client = client
        self.threads = threads_per_task

    @property
    def concurrency(self) -> int:  # type: ignore[override]
        return 0  # chunks live in the workers' memory, not this process's

    @property
    def parallelism(self) -> int:
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # pragma: no cover - scheduler gone
            return 1

    def describe(self) -> str:
        n = len(self.client.scheduler_info().get("workers", {}))
        return f"{self.name} ({self.client.scheduler.address}, {n} workers)"

    def run(self, scenario, values, bounds):
        distributed = _import_distributed(self.name)
        ref = ScenarioRef.from_scenario(scenario)
        token = uuid.uuid4().hex[:12]
        [ref_f] = self.client.scatter([ref], broadcast=True, hash=False)
        pending: dict[str, Any] = {}
        where: dict[str, tuple[int, int]] = {}
        for lo, hi in bounds:
            f = self.client.submit(_worker_chunk, ref_f, _slice(values, lo, hi), lo, hi, self.threads,
                                   key=f"heecon-chunk-{token}-{lo}-{hi}", pure=False)
            pending[f.key] = f
            where[f.key] = (lo, hi)
        try:
            for fut in distributed.as_completed(list(pending.values())):
                pending.pop(fut.key, None)
                lo, hi = where[fut.key]
                yield lo, hi, _result(fut)
        finally:
            if pending:
                self.client.cancel(list(pending.values()))
            pending.clear()
            ref_f.release()

    def close(self) -> None:
        if self._own_client and self.client is not None:
            self.client.close()
            self.client = None


class DaskLocalExecutor(DaskExecutor):
    """A Dask ``LocalCluster`` on this machine: ``workers`` processes with one thread (and one numba thread) each."""

    name = "dask-local"

    def __init__(self, workers: int | None = None, threads_per_worker: int = 1):
        distributed = _import_distributed(self.name)
        import logging

        self.workers = int(workers or _cpu_count())
        if self.workers < 1:
            raise ExecutionError(f"--workers must be at least 1. Got {self.workers}.")
        self.cluster = distributed.LocalCluster(
            n_workers=self.workers, threads_per_worker=threads_per_worker, processes=True, dashboard_address=None,
            silence_logs=logging.ERROR, env={"NUMBA_NUM_THREADS": str(threads_per_worker)})
        super().__init__(client=distributed.Client(self.cluster), threads_per_task=threads_per_worker)
        self._own_client = True

    @property
    def concurrency(self) -> int:  # type: ignore[override]
        return self.workers

    def describe(self) -> str:
        return f"dask-local (LocalCluster, {self.workers} workers x 1 thread)"

    def close(self) -> None:
        super().close()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None


def make_executor(name: str | Executor | None = "local", workers: int | None = None,
                  scheduler: str | None = None) -> Executor:
    """An executor by name.

    Parameters
    ----------
    name
        ``local`` (default), ``processes``, ``dask`` or ``dask-local``; an :class:`Executor` is returned as is.
    workers
        ``local``: numba threads (default all); ``processes`` / ``dask-local``: worker processes (default one
        per CPU). Ignored by ``dask`` (the cluster has its workers).
    scheduler
        ``dask``: the scheduler address, e.g. ``tcp://10.0.0.5:8786``.
    """
    if isinstance(name, Executor):
        return name
    name = (name or "local").lower()
    if name == "local":
        return LocalExecutor(workers)
    if name == "processes":
        return ProcessExecutor(workers)
    if name == "dask":
        return DaskExecutor(scheduler)
    if name in ("dask-local", "dask_local"):
        return DaskLocalExecutor(workers)
    raise ExecutionError(f"Unknown executor {name!r}. Valid: {', '.join(EXECUTORS)}.")

