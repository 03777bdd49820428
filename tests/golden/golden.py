"""Golden outputs: digests of the numbers a fixed set of runs produces, so that a change that moves code (and not
numbers) can show it leaves every number bit for bit as it was.

The set: the published models (Chancellor HIV, Sick-Sicker, Krijkamp), FMH-6 with a cohort PSA, a microsimulation
scenario with every kernel feature and a population file, a frozen copy of the flagship (as of 9aeea56, so that the
flagship's evidence can change without touching this check) with 2,000 men and a 50-sample PSA, DSA, EVPPI and
calibration outputs, and the kernel-level feature models called directly. Each output is reduced to the exact bytes
of its numbers (CSV and Parquet columns as float64/int64/str arrays, JSON numbers as repr) and hashed.

``python -m tests.golden.golden --write`` records the digests in tests/golden/digests.json;
``tests/test_golden.py`` recomputes and compares them. A deliberate change of numbers must update the file in a
commit that says why.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DIGESTS = HERE / "digests.json"
FROZEN_FLAGSHIP = HERE / "scenarios" / "flagship_9aeea56.toml"

# summary.json parts that are numbers of the model (not paths, versions, labels or formatting)
_SUMMARY_KEYS = ("strategies", "icers", "icers_by_perspective", "net_benefit", "microsim")
_SUMMARY_PSA_KEYS = ("mean", "ci", "icers", "evpi", "ceac", "prob_ce", "incremental")


def _digest_array(h: Any, a: np.ndarray) -> None:
    a = np.asarray(a)
    if a.dtype.kind in "fc":
        a = np.ascontiguousarray(a, dtype=np.float64)
        h.update(b"f" + str(a.shape).encode() + a.tobytes())
    elif a.dtype.kind in "iub":
        a = np.ascontiguousarray(a, dtype=np.int64)
        h.update(b"i" + str(a.shape).encode() + a.tobytes())
    else:
        h.update(b"s" + "\x1f".join(map(str, a.ravel().tolist())).encode())


def _json_numbers(x: Any, path: str = "") -> list[str]:
    """Every number of a JSON value with its key path, as repr (so floats keep all their bits)."""
    if isinstance(x, dict):
        return [s for k in sorted(x) for s in _json_numbers(x[k], f"{path}.{k}")]
    if isinstance(x, list):
        return [s for i, v in enumerate(x) for s in _json_numbers(v, f"{path}[{i}]")]
    if isinstance(x, bool) or x is None or isinstance(x, str):
        return []
    if isinstance(x, (int, float)):
        return [f"{path}={float(x)!r}"]
    return []


def digest_frame(df: Any, columns: list[str] | None = None) -> str:
    h = hashlib.sha256()
    cols = list(df.columns) if columns is None else columns
    for c in cols:
        h.update(str(c).encode() + b"\x00")
        _digest_array(h, df[c].to_numpy())
    return h.hexdigest()


def digest_folder(folder: Path, record: dict[str, Any] | None) -> dict[str, Any]:
    """Digests of a results folder: every CSV and Parquet file column by column, and summary.json's numbers.

    ``record`` (the recorded entry) fixes which columns of each file are compared, so that a later change which only
    adds a column or a file leaves the comparison of the recorded ones intact.
    """
    import pandas as pd

    out: dict[str, Any] = {}
    for f in sorted(folder.iterdir()):
        if f.suffix not in (".csv", ".parquet"):
            continue
        if record is not None and f.name not in record:
            continue
        df = pd.read_csv(f) if f.suffix == ".csv" else pd.read_parquet(f)
        cols = list(df.columns) if record is None else record[f.name]["columns"]
        missing = [c for c in cols if c not in df.columns]
        out[f.name] = {"columns": cols, "sha256": None if missing else digest_frame(df, cols),
                       "missing": missing}
    s = folder / "summary.json"
    if s.is_file():
        summary = json.loads(s.read_text())
        part = {k: summary[k] for k in _SUMMARY_KEYS if k in summary}
        psa = summary.get("psa") or {}
        part["psa"] = {k: psa[k] for k in _SUMMARY_PSA_KEYS if k in psa}
        out["summary.json"] = hashlib.sha256("\n".join(_json_numbers(part)).encode()).hexdigest()
    return out


def _run_cli(args: list[str]) -> None:
    from typer.testing import CliRunner

    from heecon.cli import app

    res = CliRunner().invoke(app, args)
    if res.exit_code != 0:
        raise RuntimeError(f"heecon {' '.join(args)} exited {res.exit_code}:\n{res.output}\n{res.exception!r}")


def _kernel_digests() -> dict[str, str]:
    sys.path.insert(0, str(ROOT))
    from tests.gpu_cases import kernel_cases

    try:
        from heecon.engine.microsim.cpu import simulate
    except ImportError:  # before the redesign
        from heecon.engine.microsim.cpu import simulate
    out = {}
    for name, kw in kernel_cases(300, 3).items():
        r = simulate(**kw)
        h = hashlib.sha256()
        for a in (r.acc, r.ev_count, r.occupancy, r.cycle_rewards_fx, r.cycle_events, r.trajectories):
            _digest_array(h, a)
        out[name] = h.hexdigest()
    return out


RUNS: dict[str, list[str]] = {
    "hiv_chancellor": ["run", "scenarios/published/hiv_chancellor.toml"],
    "sick_sicker": ["run", "scenarios/published/sick_sicker.toml"],
    "krijkamp": ["run", "scenarios/published/krijkamp_microsim.toml"],
    "fmh6_psa": ["run", "benchmarks/fmh6.toml", "--psa", "300", "--seed", "5"],
    "features": ["run", "{features}", "--psa", "0"],
    "flagship": ["run", str(FROZEN_FLAGSHIP.relative_to(ROOT)), "--psa", "50", "--set", "settings.individuals=2000",
                 "--set", "settings.report=false"],
    "fmh6_dsa": ["dsa", "benchmarks/fmh6.toml"],
    "fmh6_evppi": ["evppi", "benchmarks/fmh6.toml", "--psa", "300"],
}


def compute(workdir: Path, recorded: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run the golden set in ``workdir`` (the repository root is the working directory) and digest the outputs."""
    import os

    from heecon import _cpu_pin

    if not _cpu_pin.pinned() and os.environ.get("HEECON_NATIVE_CPU") != "1":
        raise RuntimeError("NumPy was imported before heecon, so its CPU kernels are not pinned (heecon/_cpu_pin.py) "
                           "and the digests would be this machine's: import heecon first")
    sys.path.insert(0, str(ROOT))
    from tests.gpu_cases import write_feature_scenario

    feat_dir = workdir / "features_scenario"  # not the results folder: heecon never writes into a folder it did not make
    feat_dir.mkdir(parents=True, exist_ok=True)
    features = write_feature_scenario(feat_dir)
    old = os.getcwd()
    os.chdir(ROOT)
    out: dict[str, Any] = {}
    try:
        for name, args in RUNS.items():
            folder = workdir / name
            args = [a.replace("{features}", str(features)) for a in args] + ["-o", str(folder)]
            _run_cli(args)
            # an analysis writes its own subfolder of the folder it is given (dsa/, evppi/)
            sub = folder / args[0] if args[0] in ("dsa", "evppi") else folder
            out[name] = digest_folder(sub, None if recorded is None else recorded.get(name))
    finally:
        os.chdir(old)
    out["kernel"] = _kernel_digests()
    return out


def main() -> None:
    import tempfile

    if "--write" not in sys.argv:
        print("usage: python -m tests.golden.golden --write")
        return
    with tempfile.TemporaryDirectory() as d:
        digests = compute(Path(d))
    DIGESTS.write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n")
    print(f"wrote {DIGESTS}")


if __name__ == "__main__":
    main()
