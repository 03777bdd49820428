"""Checkpoint and resume: a PSA killed part-way (SIGINT or SIGKILL of a real `heecon run` process) leaves no
folder that looks complete, and `heecon run --resume DIR` computes only the missing chunks and ends with the
same bits and the same summary.json as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from heecon.cli import app
from heecon.execution import (
    Checkpoint,
    CheckpointBusy,
    CheckpointMismatch,
    CheckpointTarget,
    checkpoint_dir_for,
    evaluate_chunked,
    read_manifest,
)
from heecon import load_scenario
from heecon.params.scenario_draws import draw_psa
from heecon.sensitivity.psa import run_psa

from .conftest import ROOT

FMH6 = (ROOT / "benchmarks" / "fmh6.toml").absolute()
N = 120
runner = CliRunner()
TIMING_KEYS = {"seconds", "elapsed", "elapsed_seconds", "started", "finished", "wall_time", "timing"}


def _strip_timing(x):
    if isinstance(x, dict):
        return {k: _strip_timing(v) for k, v in x.items() if k not in TIMING_KEYS}
    if isinstance(x, list):
        return [_strip_timing(v) for v in x]
    return x


def _summary(folder: Path) -> dict:
    return _strip_timing(json.loads((folder / "summary.json").read_text()))


def _looks_complete(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("summary.json"))


def _same_results(a: Path, b: Path) -> None:
    assert _summary(a) == _summary(b)
    pa, pb = pd.read_parquet(a / "psa_samples.parquet"), pd.read_parquet(b / "psa_samples.parquet")
    pd.testing.assert_frame_equal(pa, pb, check_exact=True)
    num = pa.select_dtypes("number").to_numpy()
    assert np.array_equal(num, pb.select_dtypes("number").to_numpy())  # bit for bit, not just close
    for f in ("ceac.csv", "evpi.csv", "icers.csv", "outcomes.csv"):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run with the default chunking (one chunk): the bits every resumed run must match."""
    out = tmp_path_factory.mktemp("ref") / "res"
    r = runner.invoke(app, ["run", str(FMH6), "--psa", str(N), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    return out


def _start(out: Path, chunk: int = 1) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "heecon.cli.app", "run", str(FMH6), "--psa", str(N), "--chunk-size", str(chunk),
           "--out", str(out), "--json"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=out.parent)


def _wait_for_chunks(proc: subprocess.Popen, chunks: Path, at_least: int, timeout: float = 60.0) -> int:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        n = len(list(chunks.glob("chunk_*.npy"))) if chunks.is_dir() else 0
        if n >= at_least:
            return n
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended (rc {proc.returncode}) before {at_least} chunks were written:\n{err.decode()}")
        time.sleep(0.005)
    proc.kill()
    pytest.fail(f"no {at_least} chunk files after {timeout} s")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_killed_run_leaves_nothing_complete_and_resumes_to_identical_results(tmp_path, reference, sig):
    out = tmp_path / "res"
    ckpt = checkpoint_dir_for(out)
    assert ckpt == tmp_path / ".res.checkpoint"
    proc = _start(out)
    _wait_for_chunks(proc, ckpt / "chunks", at_least=3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    if sig == signal.SIGINT:
        assert "heecon run --resume" in err.decode()

    # nothing that looks complete: no results folder, no summary.json anywhere, only the hidden checkpoint
    assert not out.exists()
    assert _looks_complete(tmp_path) == []
    assert [p.name for p in tmp_path.iterdir()] == [".res.checkpoint"]
    done = sorted(p.name for p in (ckpt / "chunks").glob("chunk_*.npy"))
    assert 3 <= len(done) < N, len(done)
    manifest = read_manifest(ckpt)
    assert manifest["n"] == N and manifest["chunk_size"] == 1 and len(manifest["chunks"]) == N

    # resume: only the missing chunks are computed (the finished ones are not touched), results identical
    mtimes = {name: (ckpt / "chunks" / name).stat().st_mtime_ns for name in done}
    seen: list[int] = []
    real_save = Checkpoint.save

    def spy(self, lo, hi, totals):
        seen.append(lo)
        assert self.chunk_path(lo, hi).name not in mtimes, "a finished chunk was recomputed"
        return real_save(self, lo, hi, totals)

    Checkpoint.save = spy
    try:
        r = runner.invoke(app, ["run", "--resume", str(out), "--json"])
    finally:
        Checkpoint.save = real_save
    assert r.exit_code == 0, r.output
    assert len(seen) == N - len(done)
    _same_results(out, reference)
    assert [p.name for p in tmp_path.iterdir()] == ["res"]  # the checkpoint is removed with the results in place


@pytest.fixture()
def interrupted(tmp_path) -> Path:
    """A results folder whose PSA stopped with 2 of its 6 chunks missing (as a crash would leave it)."""
    out = tmp_path / "res"
    sc = load_scenario(FMH6)
    target = CheckpointTarget(checkpoint_dir_for(out), {"scenario": str(FMH6), "overrides": [], "out": str(out)},
                              resume=False)
    run_psa(sc, N, chunk=20, checkpoint_dir=target)
    for lo, hi in ((40, 60), (100, 120)):
        (checkpoint_dir_for(out) / "chunks" / f"chunk_{lo:06d}_{hi:06d}.npy").unlink()
    return out


def test_resume_refuses_another_seed_n_or_scenario(interrupted, reference):
    out = interrupted
    for args, what in ((["--seed", "7"], "seed: 20240601 in the interrupted run, 7 now"),
                       (["--psa", "300"], "number of PSA samples: 120 in the interrupted run, 300 now"),
                       ([str(FMH6), "--set", "parameters.c_int.value=2500"], "scenario (sha256")):
        r = runner.invoke(app, ["run", *args, "--resume", str(out)])
        assert r.exit_code == 2, r.output
        assert "Cannot resume" in r.output and what in r.output, r.output
        assert "The interrupted run was: heecon run" in r.output
    assert not out.exists() and read_manifest(checkpoint_dir_for(out)) is not None  # nothing was touched
    # the scenario given again (its --set values and --psa taken from the checkpoint) resumes
    r = runner.invoke(app, ["run", str(FMH6), "--resume", str(out), "--json"])
    assert r.exit_code == 0, r.output
    _same_results(out, reference)


def test_resume_with_nothing_to_resume_is_refused(tmp_path, reference):
    r = runner.invoke(app, ["run", "--resume", str(tmp_path / "nothing")])
    assert r.exit_code == 2 and "Nothing to resume" in r.output
    r = runner.invoke(app, ["run", "--resume", str(reference)])
    assert r.exit_code == 2 and "(it holds finished results)" in r.output
    r = runner.invoke(app, ["run", "--resume", str(reference), "--out", str(tmp_path / "x")])
    assert r.exit_code == 2 and "name different folders" in r.output


def test_a_fresh_run_discards_a_stale_checkpoint(interrupted, reference):
    r = runner.invoke(app, ["run", str(FMH6), "--psa", str(N), "--out", str(interrupted), "--json"])
    assert r.exit_code == 0, r.output
    assert "Starting afresh: discarding the checkpoint" in r.output
    _same_results(interrupted, reference)
    assert not checkpoint_dir_for(interrupted).exists()


# --------------------------------------------------------------------------- the library


def test_library_checkpoint_resumes_keeps_its_layout_and_recomputes_bad_chunks(tmp_path):
    sc = load_scenario(FMH6)
    d = draw_psa(sc, 90)
    v = {k: d[k] for k in d.names}
    ref = evaluate_chunked(sc, v, 90)
    folder = tmp_path / "ck"
    a = evaluate_chunked(sc, v, 90, chunk_size=20, checkpoint_dir=folder, seed=sc.settings.seed)
    assert np.array_equal(a, ref)
    (folder / "chunks" / "chunk_000020_000040.npy").write_bytes(b"truncated")  # unreadable: recomputed
    (folder / "chunks" / "chunk_000080_000090.npy").unlink()
    (folder / "chunks" / ".tmp-chunk_000080_000090-1-x.npy").write_bytes(b"left by a SIGKILL")
    stats: dict = {}
    b = evaluate_chunked(sc, v, 90, chunk_size=7, checkpoint_dir=folder, seed=sc.settings.seed, stats=stats)
    assert np.array_equal(b, ref)
    assert stats["chunk_size"] == 20 and stats["chunks_reused"] == 3 and stats["chunks_computed"] == 2
    assert not list((folder / "chunks").glob(".tmp-*"))
    with pytest.raises(CheckpointMismatch, match="parameter draws"):
        evaluate_chunked(sc, {k: x * 1.0000001 for k, x in v.items()}, 90, checkpoint_dir=folder,
                         seed=sc.settings.seed)
    with pytest.raises(CheckpointMismatch, match="number of PSA samples: 90 in the interrupted run, 80 now"):
        evaluate_chunked(sc, {k: x[:80] for k, x in v.items()}, 80, checkpoint_dir=folder, seed=sc.settings.seed)


def test_a_folder_that_is_not_a_checkpoint_is_never_deleted(tmp_path):
    sc = load_scenario(FMH6)
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="not a heecon checkpoint folder: refusing to delete it"):
        evaluate_chunked(sc, None, 4, checkpoint_dir=folder)
    assert (folder / "notes.txt").read_text() == "keep me"


def test_a_checkpoint_in_use_is_not_shared(tmp_path):
    sc = load_scenario(FMH6)
    d = draw_psa(sc, 10)
    v = {k: d[k] for k in d.names}
    folder = tmp_path / "ck"
    evaluate_chunked(sc, v, 10, chunk_size=5, checkpoint_dir=folder, seed=sc.settings.seed)
    held = Checkpoint.open(folder, read_manifest(folder))
    try:
        with pytest.raises(CheckpointBusy, match="Another heecon process"):
            evaluate_chunked(sc, v, 10, checkpoint_dir=folder, seed=sc.settings.seed)
    finally:
        held.close()
    assert os.path.isdir(folder)
