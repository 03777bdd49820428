"""Writing files so that a crash never leaves a half-written one, and nothing a user made is ever replaced: the one
atomic-write helper of heecon.

:func:`write_atomic` writes a file under a temporary name, flushes it to disk and renames it into place.

Results folders carry a manifest (``.heecon-manifest.json``) that records every entry (file or subfolder) heecon
wrote there and which command wrote it (its *writer*: ``run``, ``report``, ``dsa``, ``evppi``, ``gsa_sobol``,
``gsa_morris``, ``cea``). Two context managers write into such a folder:

* :class:`atomic_output_dir`: the whole folder of one writer (``heecon run``). The new files are written into a
  temporary sibling folder; the entries of the folder's other writers (a DSA added later, say) and any file the
  user put there are carried over, and the folder is swapped into place at the end. The writer's own earlier
  entries are replaced.
* :class:`output_entries`: some entries of a folder (an analysis's subfolder, the report), each swapped into place
  at the end; everything else in the folder is left as it is.

Both refuse (:class:`OutputError`, before any work where they can) to write into a path that is a file, into a
non-empty folder heecon did not make, or over an entry heecon did not write.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import tempfile
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, IO, Iterable, Mapping

__all__ = ["write_atomic", "atomic_output_dir", "output_entries", "OutputError", "MANIFEST", "folder_manifest",
           "check_output_folder"]

#: the file that marks a folder as heecon's and records who wrote each entry
MANIFEST = ".heecon-manifest.json"
#: entries of a results folder written before manifests existed (a summary.json with heecon_version)
_LEGACY = ("summary.json", "*.csv", "*.parquet", "report.html", "figures")
#: names heecon itself leaves while writing (never the user's)
_OWN_TEMP = (MANIFEST, ".partial-*", ".tmp-*", ".*.partial-*", ".*.old-*")


class OutputError(ValueError):
    """heecon refuses to write where it was asked (the message says why and what would work)."""


def write_atomic(path: str | Path, data: bytes | str | Callable[[IO[bytes]], None]) -> Path:
    """Write ``data`` (bytes, text, or a function writing into a binary file) to ``path`` atomically."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.stem}-{os.getpid()}-{uuid.uuid4().hex[:8]}{path.suffix}")
    try:
        with open(tmp, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# ------------------------------------------------------------------------------------------------ the manifest


def _own_temp(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pat) for pat in _OWN_TEMP)


def _entries_on_disk(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if not _own_temp(p.name))


def _files_under(path: Path) -> list[str]:
    if path.is_dir():
        return sorted(str(p.relative_to(path)) for p in path.rglob("*") if p.is_file())
    return []


def folder_manifest(folder: str | Path) -> dict[str, dict[str, Any]] | None:
    """The entries heecon recorded in ``folder`` (name -> record with ``writer``), or None for a folder heecon did
    not make. A results folder written before manifests existed (its ``summary.json`` names a heecon version)
    counts as written by ``run``, for the entries such a run wrote.

    Raises
    ------
    OutputError
        The manifest exists but cannot be read.
    """
    folder = Path(folder)
    m = folder / MANIFEST
    if m.is_file():
        try:
            data = json.loads(m.read_text(encoding="utf-8"))
            entries = data["entries"]
            if not isinstance(entries, dict) or not all(isinstance(v, dict) for v in entries.values()):
                raise ValueError("entries is not a table of records")
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise OutputError(f"{m} could not be read ({type(exc).__name__}: {exc}); it records which files of "
                              f"{folder} heecon wrote, so heecon will not write there until it is repaired or the "
                              "folder is moved away") from None
        return dict(entries)
    s = folder / "summary.json"
    if s.is_file():
        try:
            legacy = "heecon_version" in json.loads(s.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            legacy = False
        if legacy:
            return {n: {"writer": "run", "legacy": True} for n in _entries_on_disk(folder)
                    if any(fnmatch.fnmatchcase(n, pat) for pat in _LEGACY)}
    return None


def check_output_folder(out_dir: str | Path, entries: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """Refuse early what a later write would refuse; return the folder's manifest (``{}`` for a new folder).

    ``out_dir`` must be absent, an empty folder, or a folder heecon made; each of ``entries`` that exists there must
    have been written by heecon (a subfolder: every file in it).

    Raises
    ------
    OutputError
        ``out_dir`` is a file, a non-empty folder heecon did not make, or holds one of ``entries`` heecon did not write.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputError(f"{out_dir} is a file, not a folder: heecon writes a folder of results. Give the path "
                          "of a folder to create (or of a results folder heecon made); the file is left as it is.")
    if not out_dir.exists():
        return {}
    manifest = folder_manifest(out_dir)
    if manifest is None:
        if _entries_on_disk(out_dir):
            raise OutputError(f"{out_dir} is a folder heecon did not make (it has no {MANIFEST}) and it is not "
                              "empty; heecon never writes into such a folder. Give a new folder, an empty one, or "
                              "a results folder heecon made.")
        return {}
    for e in entries:
        _check_entry(out_dir, e, manifest)
    return manifest


def _check_entry(out_dir: Path, name: str, manifest: Mapping[str, Mapping[str, Any]]) -> None:
    path = out_dir / name
    if not (path.exists() or path.is_symlink()):
        return
    rec = manifest.get(name)
    if rec is None:
        raise OutputError(f"{path} was not written by heecon (it is not in {out_dir / MANIFEST}); heecon never "
                          "replaces it. Move it away, or give another folder.")
    if path.is_dir() and "files" in rec:
        extra = sorted(set(_files_under(path)) - set(rec["files"]))
        if extra:
            raise OutputError(f"{path} holds {', '.join(extra[:5])}{' ...' if len(extra) > 5 else ''}, which heecon "
                              "did not write; heecon never deletes it. Move it away, or give another folder.")


def _record(path: Path, writer: str, info: Mapping[str, Any] | None) -> dict[str, Any]:
    from heecon import __version__

    rec: dict[str, Any] = {"writer": writer,
                           "written": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                           "heecon_version": __version__}
    rec.update(info or {})
    if path.is_dir():
        rec["files"] = _files_under(path)
    return rec


def _manifest_text(entries: Mapping[str, Any]) -> str:
    return json.dumps({"about": "the entries of this folder that heecon wrote, and which command wrote each; heecon "
                                "replaces only these", "entries": dict(sorted(entries.items()))}, indent=1) + "\n"


def _copy(src: Path, dst: Path, link: bool = True) -> None:
    """Copy a file or folder: hard links where the file system allows (no data duplicated), else real copies."""
    def link_or_copy(a: str, b: str) -> None:
        try:
            if not link:
                raise OSError
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    if src.is_dir() and not src.is_symlink():
        shutil.copytree(src, dst, symlinks=True, copy_function=link_or_copy)
    elif src.is_symlink():
        os.symlink(os.readlink(src), dst)
    else:
        link_or_copy(str(src), str(dst))


# ------------------------------------------------------------------------------------------------ the writers


class atomic_output_dir:
    """Write one writer's results folder into a temporary sibling; swap it into place only on success.

    A crash or Ctrl-C leaves at most a hidden ``.DIR.partial-*`` folder, never a folder that looks complete. The
    writer's earlier entries (and those of ``replaces``) are replaced; every other entry of the folder (analyses
    other commands added, files the user put there) is carried into the new folder unchanged.

    Parameters
    ----------
    out_dir
        The results folder: absent, empty, or one heecon made.
    overwrite
        False: refuse (``FileExistsError``) when the folder already holds entries of this writer.
    writer
        The command writing (recorded in the manifest).
    replaces
        Further writers whose entries this one replaces (``run`` replaces the ``report`` built from its files).
    info
        Recorded with each entry (e.g. ``scenario_sha256``).

    Raises
    ------
    OutputError
        ``out_dir`` is a file or a non-empty folder heecon did not make (on entering), or this writer wrote an entry
        whose name the user's own file holds (on leaving; nothing is changed then).
    """

    def __init__(self, out_dir: str | Path, overwrite: bool = True, *, writer: str = "run",
                 replaces: Iterable[str] = ("report",), info: Mapping[str, Any] | None = None):
        self.out_dir = Path(out_dir)
        self.overwrite = overwrite
        self.writer = writer
        self.mine = {writer, *replaces}
        self.info = dict(info or {})
        self.tmp: Path | None = None
        self.carried: dict[str, Any] = {}

    def _others(self, manifest: Mapping[str, Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
        return {n: r for n, r in manifest.items() if r.get("writer") not in self.mine}

    def __enter__(self) -> Path:
        manifest = check_output_folder(self.out_dir)
        if not self.overwrite and any(r.get("writer") in self.mine for r in manifest.values()):
            raise FileExistsError(f"{self.out_dir} exists")
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.partial-", dir=self.out_dir.parent))
        try:  # other writers' entries are copied now, so that a report built in the new folder sees them
            for name, rec in self._others(manifest).items():
                if (self.out_dir / name).exists():
                    _copy(self.out_dir / name, self.tmp / name, link=False)  # writers may write beside them
                    self.carried[name] = rec
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise
        return self.tmp

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.tmp is not None
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        try:
            self._finish(self.tmp)
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise

    def _finish(self, tmp: Path) -> None:
        manifest = folder_manifest(self.out_dir) if self.out_dir.is_dir() else {}
        manifest = manifest or {}
        others = self._others(manifest)
        entries: dict[str, Any] = {}
        for name in _entries_on_disk(tmp):
            if name in self.carried:
                continue
            entries[name] = _record(tmp / name, self.writer, self.info)
        # entries another command wrote while this one ran, and the user's own files, join the new folder
        foreign = [n for n in (_entries_on_disk(self.out_dir) if self.out_dir.is_dir() else []) if n not in manifest]
        clash = sorted(n for n in foreign if n in entries)
        if clash:
            raise OutputError(f"{self.out_dir / clash[0]} was not written by heecon; heecon never replaces it. Move "
                              "it away, or give another folder. Nothing was written.")
        for name, rec in others.items():
            if name in self.carried and rec == self.carried[name]:
                continue
            if (self.out_dir / name).exists():
                if (tmp / name).exists() or (tmp / name).is_symlink():
                    shutil.rmtree(tmp / name) if (tmp / name).is_dir() else (tmp / name).unlink()
                _copy(self.out_dir / name, tmp / name)
            self.carried[name] = rec
        for name in foreign:
            _copy(self.out_dir / name, tmp / name)
        recorded = {n: r for n, r in self.carried.items() if (tmp / n).exists()}
        recorded.update(entries)
        (tmp / MANIFEST).write_text(_manifest_text(recorded), encoding="utf-8")
        if self.out_dir.exists():
            old = self.out_dir.with_name(f".{self.out_dir.name}.old-{os.getpid()}-{uuid.uuid4().hex[:6]}")
            os.replace(self.out_dir, old)
            os.replace(tmp, self.out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, self.out_dir)


class output_entries:
    """Write some entries (files or subfolders) of a folder, each swapped into place on success.

    ``with output_entries(folder, "dsa", ["dsa"]) as tmp:`` write ``tmp / "dsa" / ...``; on leaving, ``folder/dsa``
    is replaced by the new one and recorded in the manifest, and nothing else in ``folder`` is touched. An entry the
    block did not write is left as it was. A crash leaves at most a hidden ``.partial-*`` folder inside ``folder``.

    Raises
    ------
    OutputError
        ``folder`` is a file or a non-empty folder heecon did not make, or one of ``entries`` exists there and heecon
        did not write it (all checked on entering, before any work).
    """

    def __init__(self, folder: str | Path, writer: str, entries: Iterable[str], info: Mapping[str, Any] | None = None):
        self.folder = Path(folder)
        self.writer = writer
        self.entries = list(entries)
        self.info = dict(info or {})
        self.tmp: Path | None = None

    def __enter__(self) -> Path:
        check_output_folder(self.folder, self.entries)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=".partial-", dir=self.folder))
        return self.tmp

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        assert self.tmp is not None
        try:
            if exc_type is None:
                self._finish(self.tmp)
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def _finish(self, tmp: Path) -> None:
        written = [e for e in self.entries if (tmp / e).exists()]
        manifest = check_output_folder(self.folder, written)
        trash = tmp / ".old"
        trash.mkdir()
        try:
            for e in written:
                manifest[e] = _record(tmp / e, self.writer, self.info)
                dst = self.folder / e
                if dst.exists() or dst.is_symlink():
                    os.replace(dst, trash / e)
                os.replace(tmp / e, dst)
        except BaseException:  # put back what was moved aside (the new entries already in place stay)
            for old in trash.iterdir():
                if not (self.folder / old.name).exists():
                    os.replace(old, self.folder / old.name)
            raise
        finally:
            write_atomic(self.folder / MANIFEST, _manifest_text(
                {n: r for n, r in manifest.items() if (self.folder / n).exists() or n not in written}))
