"""Checkpoints of a chunked PSA: each finished chunk on disk as it completes, so a stopped run can resume.

Layout of a checkpoint folder (``heecon run`` keeps it in the hidden sibling ``.OUT.checkpoint`` of its results
folder ``OUT`` and removes it once the results are written)::

    manifest.json                      what is being computed: scenario sha256, n, seed, draws sha256,
                                       chunk layout, heecon version (+ how the run was started)
    chunks/chunk_000000_000250.npy     totals [hi - lo, k, R, 2] of samples [lo, hi), float64
    chunks/chunk_000250_000500.npy     ...
    .lock                              held (flock) by the process writing the checkpoint

Every file is written under a temporary name, flushed to disk and renamed into place, so a chunk file that
exists is complete whatever stopped the run (Ctrl-C, SIGKILL, power loss after the rename). Resuming reads the
manifest, refuses if the PSA it describes differs from the one asked for (:class:`CheckpointMismatch`) and
computes only the chunks that have no file. Chunks are pure functions of (scenario, draws, global sample
range), so the resumed totals are bit-identical to an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from heecon import __version__
from heecon.execution.files import write_atomic
from heecon.scenario.types import Scenario

__all__ = ["Checkpoint", "CheckpointMismatch", "CheckpointBusy", "CheckpointTarget", "psa_manifest", "draws_sha256",
           "read_manifest", "checkpoint_dir_for", "resume_manifest", "resume_mismatch", "FORMAT"]

FORMAT = 1
MANIFEST = "manifest.json"
CHUNKS = "chunks"
LOCK = ".lock"

#: manifest keys that must agree for a checkpoint to be resumed, with the words used in messages
COMPARED = {
    "format": "checkpoint format",
    "heecon_version": "heecon version",
    "scenario_sha256": "scenario (sha256 of the merged TOML and its data files)",
    "n": "number of PSA samples",
    "seed": "seed",
    "draws_sha256": "parameter draws (sha256)",
    "outcome_shape": "outcome shape [strategies, outcomes, 2]",
}


class CheckpointMismatch(ValueError):
    """The checkpoint folder holds chunks of a different PSA (scenario, seed, n, ...)."""

    def __init__(self, folder: Path, differences: list[tuple[str, Any, Any]]):
        self.folder = Path(folder)
        self.differences = differences
        lines = [f"Cannot resume from {folder}: the interrupted run computed a different PSA."]
        for key, old, new in differences:
            lines.append(f"  - {COMPARED.get(key, key)}: {_short(old)} in the interrupted run, {_short(new)} now")
        super().__init__("\n".join(lines))


class CheckpointBusy(RuntimeError):
    """Another process holds the checkpoint's lock (it is still running)."""


@dataclass(frozen=True)
class CheckpointTarget:
    """A checkpoint folder with how to open it: ``resume`` an existing one (default) or start afresh, and notes
    on how the run was started (stored in the manifest; ``heecon run --resume`` reads them back)."""

    folder: Path
    run_info: Mapping[str, Any] = field(default_factory=dict)
    resume: bool = True

    def __fspath__(self) -> str:
        return str(self.folder)


def checkpoint_dir_for(out_dir: str | Path) -> Path:
    """Where ``heecon run --out OUT`` keeps its checkpoint: the hidden sibling ``.OUT.checkpoint``."""
    out_dir = Path(out_dir)
    return out_dir.parent / f".{out_dir.name}.checkpoint"


def _short(x: Any) -> str:
    if isinstance(x, str) and len(x) == 64 and all(c in "0123456789abcdef" for c in x):
        return x[:12] + "..."
    return json.dumps(x)


def draws_sha256(values: Mapping[str, np.ndarray]) -> str:
    """sha256 of the parameter draws (names and float64 bytes, in name order)."""
    h = hashlib.sha256()
    for name in sorted(values):
        h.update(name.encode() + b"\0")
        h.update(np.ascontiguousarray(values[name], dtype=np.float64).tobytes())
    return h.hexdigest()


def psa_manifest(scenario: Scenario, n: int, seed: int | None, values: Mapping[str, np.ndarray],
                 bounds: list[tuple[int, int]], run: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of a chunked PSA (``run``: free-form notes on how it was started, not compared)."""
    from heecon.model.markov import reward_names

    st = scenario.settings
    return {
        "format": FORMAT,
        "heecon_version": __version__,
        "scenario_sha256": scenario.sha256,
        "scenario_path": str(scenario.path),
        "engine": st.engine,
        "individuals": int(st.individuals) if st.engine == "microsim" else None,
        "n": int(n),
        "seed": int(st.seed if seed is None else seed),
        "draws_sha256": draws_sha256(values),
        "outcome_shape": [len(scenario.strategies), len(reward_names(scenario)), 2],
        "chunk_size": int(bounds[0][1] - bounds[0][0]),
        "chunks": [[int(lo), int(hi)] for lo, hi in bounds],
        "run": dict(run or {}),
    }


def read_manifest(folder: str | Path) -> dict[str, Any] | None:
    """The manifest of a checkpoint folder, or None if there is none (or it cannot be read)."""
    try:
        return json.loads((Path(folder) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None


class Checkpoint:
    """A checkpoint folder: the manifest of one PSA and the chunks finished so far.

    Open with :meth:`open`; :meth:`save` each chunk as it finishes; :meth:`completed` lists those on disk.
    """

    def __init__(self, folder: str | Path, manifest: dict[str, Any]):
        self.folder = Path(folder)
        self.manifest = manifest
        self._lock_fd: int | None = None

    # ----------------------------------------------------------------- opening

    @classmethod
    def open(cls, folder: str | Path, manifest: dict[str, Any], *, resume: bool = True) -> "Checkpoint":
        """Resume the checkpoint in ``folder`` if it holds the same PSA, else start one there.

        ``resume=False`` always starts afresh (deleting what is there). An existing checkpoint of a different
        PSA raises :class:`CheckpointMismatch` (nothing is deleted); the chunk layout of an existing checkpoint
        is kept even if ``manifest`` asks for another chunk size (results do not depend on it).
        """
        folder = Path(folder)
        old = read_manifest(folder) if resume else None
        if old is not None:
            diffs = [(k, old.get(k), manifest.get(k)) for k in COMPARED if old.get(k) != manifest.get(k)]
            if diffs:
                raise CheckpointMismatch(folder, diffs)
            ck = cls(folder, old)
            ck._acquire()
            (folder / CHUNKS).mkdir(exist_ok=True)
            ck._clean_temporaries()
            return ck
        ck = cls(folder, manifest)
        if folder.exists():
            known = {MANIFEST, CHUNKS, LOCK}
            if not folder.is_dir() or any(p.name not in known and not p.name.startswith(".tmp-")
                                          for p in folder.iterdir()):
                raise ValueError(f"{folder} exists and is not a heecon checkpoint folder: refusing to delete it. "
                                 "Give a new or empty folder for the checkpoint.")
            ck._acquire()  # refuse to wipe a checkpoint another process is writing
            ck._release()
            shutil.rmtree(folder)
        (folder / CHUNKS).mkdir(parents=True)
        ck._acquire()
        write_atomic(folder / MANIFEST, json.dumps(manifest, indent=1).encode())
        return ck

    def _acquire(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no advisory lock
            self._lock_fd = fd
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise CheckpointBusy(f"Another heecon process is writing the checkpoint {self.folder} "
                                 "(it holds its lock). Wait for it to finish, or stop it first.") from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing the descriptor drops the flock
            self._lock_fd = None

    def _clean_temporaries(self) -> None:
        for d in (self.folder, self.folder / CHUNKS):
            for p in d.glob(".tmp-*"):
                p.unlink(missing_ok=True)

    # ----------------------------------------------------------------- chunks

    @property
    def bounds(self) -> list[tuple[int, int]]:
        return [(int(lo), int(hi)) for lo, hi in self.manifest["chunks"]]

    @property
    def chunk_shape(self) -> tuple[int, ...]:
        return tuple(int(x) for x in self.manifest["outcome_shape"])

    def chunk_path(self, lo: int, hi: int) -> Path:
        return self.folder / CHUNKS / f"chunk_{lo:06d}_{hi:06d}.npy"

    def save(self, lo: int, hi: int, totals: np.ndarray) -> Path:
        """Write a finished chunk (temporary name, fsync, rename)."""
        path = self.chunk_path(lo, hi)
        arr = np.ascontiguousarray(totals, dtype=np.float64)
        return write_atomic(path, lambda f: np.save(f, arr, allow_pickle=False))

    def load(self, lo: int, hi: int) -> np.ndarray | None:
        """A saved chunk, or None if it is missing or unreadable (then it is recomputed)."""
        path = self.chunk_path(lo, hi)
        if not path.is_file():
            return None
        try:
            arr = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError):
            path.unlink(missing_ok=True)
            return None
        if arr.dtype != np.float64 or arr.shape != (hi - lo,) + self.chunk_shape:
            path.unlink(missing_ok=True)
            return None
        return arr

    def completed(self) -> list[tuple[int, int]]:
        """Chunks with a file on disk (not yet checked for readability: :meth:`load` does that)."""
        return [(lo, hi) for lo, hi in self.bounds if self.chunk_path(lo, hi).is_file()]

    # ----------------------------------------------------------------- the end

    def close(self) -> None:
        """Release the lock; the files stay (for a later resume)."""
        self._release()

    def remove(self) -> None:
        """Delete the checkpoint folder (after the results are safely written)."""
        self._release()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> "Checkpoint":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# --------------------------------------------------------------------------- heecon run --resume


def resume_manifest(out_dir: str | Path, out: str | Path | None = None) -> dict[str, Any]:
    """The manifest of the interrupted run whose results folder is ``out_dir`` (ValueError saying why not)."""
    out_dir = Path(out_dir)
    if out is not None and Path(out).absolute() != out_dir.absolute():
        raise ValueError(f"--out {out} and --resume {out_dir} name different folders: --resume DIR continues the "
                         "run whose results folder is DIR (no --out needed).")
    folder = checkpoint_dir_for(out_dir)
    manifest = read_manifest(folder)
    if manifest is None:
        done = " (it holds finished results)" if (out_dir / "summary.json").is_file() else ""
        raise ValueError(f"Nothing to resume for {out_dir}{done}: there is no checkpoint of an interrupted PSA at "
                         f"{folder}. Run without --resume to start a new run.")
    return manifest


def resume_mismatch(manifest: Mapping[str, Any], scenario: Scenario, n: int) -> str | None:
    """Why the run asked for differs from the interrupted one (scenario, seed, n), or None if it does not."""
    diffs = []
    if manifest.get("scenario_sha256") != scenario.sha256:
        diffs.append(("scenario_sha256", manifest.get("scenario_sha256"), scenario.sha256))
    if manifest.get("seed") != int(scenario.settings.seed):
        diffs.append(("seed", manifest.get("seed"), int(scenario.settings.seed)))
    if manifest.get("n") != int(n):
        diffs.append(("n", manifest.get("n"), int(n)))
    if not diffs:
        return None
    info = manifest.get("run") or {}
    lines = [f"  - {COMPARED[k]}: {_short(old)} in the interrupted run, {_short(new)} now" for k, old, new in diffs]
    cmd = " ".join(["heecon run", str(info.get("scenario", manifest.get("scenario_path", "SCENARIO")))]
                   + [f"--set '{o}'" for o in info.get("overrides", [])] + [f"--psa {manifest.get('n')}"])
    return "\n".join(
        [f"Cannot resume {info.get('out', 'this run')}: it was started with a different PSA (refusing to mix the "
         "chunks of two runs)."] + lines
        + [f"The interrupted run was: {cmd}",
           "Resume it with the same scenario, --set values, --seed and --psa (or give none of them: they are "
           "taken from the checkpoint), or run without --resume to start afresh."])
