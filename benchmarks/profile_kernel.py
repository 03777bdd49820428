"""Line-level profile of the microsimulation kernel on the flagship's PSA inputs (a developer's tool, not a benchmark).

numba's compiled code is invisible to profilers: perf sees anonymous executable pages, and numba's cached code has
no symbols it can read. This script makes it visible: it compiles the kernel with ``NUMBA_DEBUGINFO=1`` into a
cache folder of its own, runs the flagship's PSA kernel under ``perf record``, finds where the kernel's object code
(extracted from numba's cache file) was loaded, and maps every sample to a source line with ``addr2line``. It prints
the share of samples per source line (with the line's text), per library (libm's exp, NRT reference counts, Python)
and per compiled function. How it found what it finds (December 2026): the covariate row's call cost 18% of the
samples in NRT_incref/NRT_decref; the counter RNG's draws were out-of-line calls (6.5%).

    python3 benchmarks/profile_kernel.py [--model flagship|events] [--samples 20] [--threads 1] [--reps 4] [--top 40]

Needs ``perf``, ``objdump`` and ``addr2line`` (Debian: linux-perf, binutils). The first run compiles the kernel with
debug information (about a minute); later runs reuse that cache. Numbers: samples, not seconds; run it on a quiet
machine and compare shares, not counts, between versions.
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = Path(tempfile.gettempdir()) / "heecon-profile-numba-cache"


def flagship_inputs(n_samples: int) -> tuple[tuple, dict]:
    """The kernel arguments of the flagship's first PSA chunk of ``n_samples`` samples (as heecon run builds them)."""
    sys.path.insert(0, str(ROOT))
    from heecon.engine.microsim import cpu
    from heecon.pipeline import load_scenario
    from heecon.sensitivity.psa import run_psa

    captured = []

    class _Captured(Exception):
        pass

    def spy(*a, **k):
        captured.append((a, k))
        raise _Captured

    real = cpu.simulate
    cpu.simulate = spy
    try:
        run_psa(load_scenario(ROOT / "scenarios" / "mbt_aspd_vs_pau.toml"), max(2, n_samples), progress=False,
                chunk=n_samples)
    except _Captured:
        pass
    finally:
        cpu.simulate = real
    a, k = captured[0]
    return a, dict(k, moments=False)


def events_inputs(n_samples: int) -> tuple[tuple, dict]:
    """FMH-6 with eight Poisson event types and two history counters (bench_microsim's events model)."""
    sys.path.insert(0, str(HERE))
    import _fmh6_arrays as fmh6

    P, pmap, V, vmap, W = fmh6.psa_draws(n_samples)
    return (P, pmap, V, vmap, W), dict(fmh6.event_arrays(), n_ind=10_000, seed=1, moments=False)


def child(args: argparse.Namespace, out: Path) -> None:
    """Under perf: run the kernel, write the executable anonymous mappings' bytes and the timings to ``out``."""
    from heecon.engine.microsim import cpu

    a, k = (flagship_inputs if args.model == "flagship" else events_inputs)(args.samples)
    cpu.simulate(*a, **k)  # compile (or load the debug cache)
    with open("/proc/self/maps") as maps:
        lines = maps.read().splitlines()
    for line in lines:
        p = line.split()
        if len(p) == 5 and p[1] == "r-xp":  # anonymous executable: numba's code
            lo, hi = (int(x, 16) for x in p[0].split("-"))
            if hi - lo <= 1 << 24:
                (out / f"code_{lo:x}.bin").write_bytes(ctypes.string_at(lo, hi - lo))
    t0 = time.perf_counter()
    for _ in range(args.reps):
        cpu.simulate(*a, **k)
    (out / "seconds").write_text(str((time.perf_counter() - t0) / max(args.reps, 1)))


def kernel_object(cache: Path) -> bytes:
    """The ELF object of the newest cached cpu._kernel (numba stores it inside its pickled cache entry)."""
    files = sorted(cache.glob("*/cpu._kernel-*.nbc"), key=os.path.getmtime)
    if not files:
        raise SystemExit(f"no cached kernel under {cache}")
    data = files[-1].read_bytes()
    e = data[data.find(b"\x7fELF"):]
    shoff = struct.unpack_from("<Q", e, 0x28)[0]
    shentsize, shnum = struct.unpack_from("<HH", e, 0x3A)
    return e[:shoff + shentsize * shnum]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=int, default=20, help="PSA samples of the chunk profiled (10,000 men each)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--top", type=int, default=40)
    ap.add_argument("--model", choices=("flagship", "events"), default="flagship",
                    help="the flagship's PSA chunk, or FMH-6 with eight event types (bench_microsim)")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        child(args, Path(args._child))
        return 0
    for tool in ("perf", "objdump", "addr2line"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        env = dict(os.environ, NUMBA_DEBUGINFO="1", NUMBA_CACHE_DIR=str(CACHE), NUMBA_NUM_THREADS=str(args.threads))
        warm = out / "warm"  # compile (or find the cache current) outside perf: the profile is of the cached code
        warm.mkdir()
        subprocess.run([sys.executable, __file__, "--samples", "2", "--reps", "0", "--_child", str(warm)], env=env,
                       check=True)
        data = out / "perf.data"
        cmd = ["perf", "record", "-q", "-F", "5000", "-o", str(data), "--", sys.executable, __file__,
               "--samples", str(args.samples), "--reps", str(args.reps), "--model", args.model, "--_child", str(out)]
        subprocess.run(cmd, env=env, check=True)
        script = subprocess.run(["perf", "script", "-i", str(data), "-F", "ip,sym,dso"], capture_output=True,
                                text=True, check=True).stdout.splitlines()
        obj = out / "kernel.o"
        obj.write_bytes(kernel_object(CACHE))
        heads = subprocess.run(["objdump", "-h", str(obj)], capture_output=True, text=True, check=True).stdout.splitlines()
        sec = next(p for p in (h.split() for h in heads) if len(p) > 5 and p[1] == ".ltext")
        size, file_off = int(sec[2], 16), int(sec[5], 16)
        text = obj.read_bytes()[file_off:file_off + size]
        syms = subprocess.run(["objdump", "-t", str(obj)], capture_output=True, text=True, check=True).stdout.splitlines()
        block = next(s for s in syms if "_block_general" in s and " F " in s)
        at = int(block.split()[0], 16)
        sig = text[at:at + 48]  # the general block's first bytes locate the loaded copy of the object's code
        ips = [int(line.split()[0], 16) for line in script if line.split()]
        bases = []
        for f in glob.glob(str(out / "code_*.bin")):
            b = Path(f).read_bytes()
            j = b.find(sig)
            while j >= 0:
                bases.append(int(re.search(r"code_([0-9a-f]+)", f).group(1), 16) + j - at)
                j = b.find(sig, j + 1)
        if not bases:
            raise SystemExit("the kernel's code was not found among the process's mappings")
        # the copy that ran (a copy linked into the kernel may exist beside the block's own)
        base = max(bases, key=lambda b0: sum(b0 <= ip < b0 + size for ip in ips))
        samples = []
        libs = Counter()
        for line in script:
            p = line.split()
            if not p:
                continue
            ip = int(p[0], 16)
            samples.append(ip)
            dso = p[-1].strip("()")
            if base <= ip < base + size:
                libs["heecon kernel (numba)"] += 1
            elif "perf-" in dso:
                libs["other numba code (NRT reference counts, other functions)"] += 1
            else:
                libs[f"{Path(dso).name} {p[1] if len(p) > 2 else ''}".strip()] += 1
        offsets = Counter(ip - base for ip in samples if base <= ip < base + size)
        order = sorted(offsets)
        where = subprocess.run(["addr2line", "-f", "-e", str(obj)], input="\n".join(hex(o) for o in order),
                               capture_output=True, text=True, check=True).stdout.splitlines()
        lines, funcs = Counter(), Counter()
        for i, o in enumerate(order):
            funcs[re.sub(r"B\d+v\d+.*", "", where[2 * i])[:70]] += offsets[o]
            lines[where[2 * i + 1].split(" ")[0]] += offsets[o]
        total = len(samples)
        seconds = float((out / "seconds").read_text())
    print(f"{total} samples; the kernel call took {seconds:.3f} s ({args.model}: {args.samples} samples x 10,000 "
          f"individuals, {args.threads} thread(s), debug build)")
    print("\nby library / symbol:")
    for k, n in libs.most_common(12):
        print(f"  {100 * n / total:5.1f}%  {k}")
    print("\nby compiled function (kernel object):")
    for k, n in funcs.most_common(10):
        print(f"  {100 * n / total:5.1f}%  {k}")
    print("\nby source line (':?' is code without a line: mostly functions inlined from other modules):")
    src: dict[str, list[str]] = {}
    for loc, n in lines.most_common(args.top):
        fn, _, ln = loc.rpartition(":")
        txt = ""
        if ln.isdigit() and os.path.exists(fn):
            src.setdefault(fn, Path(fn).read_text().splitlines())
            txt = src[fn][int(ln) - 1].strip()[:80]
        print(f"  {100 * n / total:5.1f}%  {Path(fn).name}:{ln:5s} {txt}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
