"""Execution layer: chunked PSA on local threads, a process pool and a Dask LocalCluster gives the same bits;
the memory guard refuses runs that will not fit, with a message saying what to change."""

from __future__ import annotations

import pickle
import sys
import tracemalloc

import numpy as np
import pytest
from typer.testing import CliRunner

from heecon.cli import app
from heecon.engine.evaluate import evaluate_totals
from heecon.execution import (
    ExecutionError,
    LocalExecutor,
    MemoryGuardError,
    ScenarioRef,
    chunk_bounds,
    default_chunk_size,
    estimate_psa_memory,
    evaluate_chunk,
    evaluate_chunked,
    make_executor,
)
from heecon.execution.executors import ChunkFailure, _relabel
from heecon.scenario.errors import Problem, ScenarioError
from heecon import load_scenario
from heecon.params.scenario_draws import draw_psa
from heecon.sensitivity.psa import run_psa

from .conftest import ROOT

FMH6 = ROOT / "benchmarks" / "fmh6.toml"
MICRO = ['settings.engine="microsim"', "settings.individuals=500"]
N_COHORT = 200
N_MICRO = 8


def _draws(sc, n):
    d = draw_psa(sc, n)
    return {k: d[k] for k in d.names}


@pytest.fixture(scope="module")
def cohort():
    sc = load_scenario(FMH6)
    v = _draws(sc, N_COHORT)
    return sc, v, evaluate_totals(sc, v, N_COHORT)


@pytest.fixture(scope="module")
def micro():
    sc = load_scenario(FMH6, MICRO)
    v = _draws(sc, N_MICRO)
    return sc, v, evaluate_totals(sc, v, N_MICRO)


# --------------------------------------------------------------------------- chunks


def test_chunk_bounds_cover_every_sample_once():
    assert chunk_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert chunk_bounds(3, 10) == [(0, 3)]
    with pytest.raises(ValueError, match="chunk size"):
        chunk_bounds(10, 0)


def test_default_chunk_size_gives_each_worker_several_chunks(cohort, micro):
    assert default_chunk_size(cohort[0], 10_000) == 4096  # the cohort engine's own default
    assert default_chunk_size(cohort[0], 10_000, parallelism=4) == 625
    assert default_chunk_size(micro[0], 8, parallelism=2) == 1


@pytest.mark.parametrize("size", [1, 7, 64, N_COHORT])
def test_cohort_chunks_are_bit_identical_to_one_call(cohort, size):
    sc, v, ref = cohort
    got = evaluate_chunked(sc, v, N_COHORT, chunk_size=size)
    assert np.array_equal(got, ref)


@pytest.mark.parametrize("size", [1, 3, N_MICRO])
def test_microsim_chunks_are_bit_identical_to_one_call(micro, size):
    sc, v, ref = micro
    assert np.array_equal(evaluate_chunked(sc, v, N_MICRO, chunk_size=size), ref)


@pytest.mark.parametrize("which", ["cohort", "micro"])
def test_numba_thread_count_does_not_change_a_bit(which, request):
    sc, v, ref = request.getfixturevalue(which)
    for threads in (1, 2):
        got = evaluate_chunked(sc, v, len(ref), executor=LocalExecutor(threads), chunk_size=3)
        assert np.array_equal(got, ref), threads


def test_run_psa_with_an_executor_matches_the_default_path(cohort):
    sc = cohort[0]
    a = run_psa(sc, 60)
    stats: dict = {}
    b = run_psa(sc, 60, executor="local", chunk=7)
    assert np.array_equal(a.totals, b.totals)
    assert a.summary() == b.summary()
    got = evaluate_chunked(sc, {k: a.draws[k] for k in a.draws.names}, 60, chunk_size=11, stats=stats)
    assert np.array_equal(got, a.totals)
    assert stats["chunks"] == 6 and stats["chunks_computed"] == 6 and stats["chunks_reused"] == 0


def test_scenario_rebuilt_from_its_raw_dict_is_the_same(micro):
    sc, v, ref = micro
    ref_ = pickle.loads(pickle.dumps(ScenarioRef.from_scenario(sc)))
    sc2 = ref_.load()
    assert sc2.sha256 == sc.sha256 and sc2.settings.engine == "microsim"
    assert np.array_equal(evaluate_chunk(sc2, {k: x[2:5] for k, x in v.items()}, 2, 5), ref[2:5])


# --------------------------------------------------------------------------- other executors


@pytest.fixture(scope="module")
def dask_cluster():
    pytest.importorskip("distributed")
    with make_executor("dask-local", workers=2) as ex:
        yield ex


def test_dask_local_cluster_gives_the_local_bits(dask_cluster, cohort, micro):
    assert dask_cluster.workers == 2
    sc, v, ref = cohort
    assert np.array_equal(evaluate_chunked(sc, v, N_COHORT, executor=dask_cluster, chunk_size=17), ref)
    assert np.array_equal(evaluate_chunked(sc, v, N_COHORT, executor=dask_cluster), ref)  # default: ~4 per worker
    sc, v, ref = micro
    assert np.array_equal(evaluate_chunked(sc, v, N_MICRO, executor=dask_cluster, chunk_size=1), ref)
    assert np.array_equal(evaluate_chunked(sc, v, N_MICRO, executor=dask_cluster, chunk_size=3), ref)


def test_process_pool_gives_the_local_bits(cohort, micro):
    with make_executor("processes", workers=2) as ex:
        sc, v, ref = cohort
        assert np.array_equal(evaluate_chunked(sc, v, N_COHORT, executor=ex, chunk_size=23), ref)
        sc, v, ref = micro
        assert np.array_equal(evaluate_chunked(sc, v, N_MICRO, executor=ex, chunk_size=1), ref)


def test_validation_errors_from_workers_come_back_as_scenario_errors_naming_the_global_sample():
    exc = ScenarioError([Problem("f.toml", "transitions.A.B",
                                 "must be in [0, 1], got 1.2 [strategy 'x', PSA sample 3]")])
    moved = _relabel(exc, 100, 110)
    assert "PSA sample 103" in str(moved)
    one = _relabel(ScenarioError([Problem("f.toml", "k", "must be in [0, 1] [strategy 'x']")]), 42, 43)
    assert "PSA sample 42" in str(one)
    failure = pickle.loads(pickle.dumps(ChunkFailure(str(moved), tuple((p.file, p.key, p.message)
                                                                       for p in moved.problems))))
    with pytest.raises(ScenarioError, match="PSA sample 103"):
        failure.reraise()


def test_missing_dask_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    for name in ("dask", "dask-local"):
        with pytest.raises(ExecutionError, match=r"pip install heecon\[dask\]"):
            make_executor(name, scheduler="tcp://127.0.0.1:1")


def test_unknown_executor_and_dask_without_scheduler_are_clear():
    with pytest.raises(ExecutionError, match="Unknown executor 'gpu'. Valid: local, processes, dask, dask-local"):
        make_executor("gpu")
    pytest.importorskip("distributed")
    with pytest.raises(ExecutionError, match="--scheduler tcp://HOST:PORT"):
        make_executor("dask")


# --------------------------------------------------------------------------- memory guard


def test_memory_estimate_grows_with_the_chunk_and_covers_the_measured_peak(cohort):
    sc, v, _ = cohort
    small = estimate_psa_memory(sc, 10_000, 100, values=v)
    big = estimate_psa_memory(sc, 10_000, 2_000, values=v)
    assert big.chunk_bytes() > 10 * small.chunk_bytes()
    assert big.fixed["totals"] == 10_000 * 2 * 4 * 2 * 8
    d = _draws(sc, 2_000)
    evaluate_chunk(sc, d, 0, 2_000)  # compile first
    tracemalloc.start()
    try:
        evaluate_chunk(sc, d, 0, 2_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    est = estimate_psa_memory(sc, 2_000, 2_000, values=d).chunk_bytes()
    assert peak <= est <= 4 * peak


def test_memory_guard_refuses_with_suggestions(cohort, monkeypatch):
    sc = cohort[0]
    monkeypatch.setenv("HEECON_MEMORY_LIMIT_MB", "1")
    with pytest.raises(MemoryGuardError) as info:
        run_psa(sc, 20_000, executor="local", chunk=10_000)
    msg = str(info.value)
    assert msg.startswith("Not enough memory for this run: its estimated peak is")
    assert "is available (HEECON_MEMORY_LIMIT_MB=1)" in msg
    assert "a smaller --chunk-size" in msg and "fewer PSA samples (--psa; now 20,000" in msg
    monkeypatch.setenv("HEECON_MEMORY_GUARD", "0")
    assert run_psa(sc, 20, executor="local").totals.shape == (20, 2, 4, 2)


def test_memory_guard_names_the_fitting_chunk_size_and_microsim_suggestions(cohort, micro):
    sc, v, _ = cohort
    est = estimate_psa_memory(sc, 1_000, 1_000, values=v)
    limit = (sum(est.fixed.values()) + est.chunk_bytes(300)) / 2**20
    with pytest.raises(MemoryGuardError, match=r"at most \d{3} samples per chunk fits"):
        evaluate_chunked(sc, _draws(sc, 1_000), 1_000, chunk_size=1_000, memory_limit_mb=limit)
    sc, v, _ = micro
    with pytest.raises(MemoryGuardError) as info:
        evaluate_chunked(sc, v, N_MICRO, memory_limit_mb=0.01)
    assert "fewer individuals (--set settings.individuals=...; now 500" in str(info.value)


def test_cli_memory_guard_exit_2(tmp_path, monkeypatch):
    monkeypatch.setenv("HEECON_MEMORY_LIMIT_MB", "1")
    r = CliRunner().invoke(app, ["run", str(FMH6), "--psa", "5000", "--out", str(tmp_path / "o"), "--json"])
    assert r.exit_code == 2, r.output
    assert "Not enough memory for this run" in r.output and "--chunk-size" in r.output
    assert list(tmp_path.iterdir()) == []  # refused before anything was written: no results, no checkpoint


def test_cli_executor_options(tmp_path):
    r = CliRunner().invoke(app, ["run", str(FMH6), "--psa", "40", "--executor", "nope", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "Unknown executor 'nope'" in r.output, r.output
    r = CliRunner().invoke(app, ["run", str(FMH6), "--psa", "40", "--chunk-size", "9", "--workers", "1",
                                 "--out", str(tmp_path / "o"), "--json"])
    assert r.exit_code == 0, r.output
    # the checkpoint is gone once the results are written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o"], r.output
