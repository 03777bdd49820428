"""Scaling of a chunked PSA: numba threads, chunk size, and Dask / process-pool overhead, on the FMH-6 model.

Each thread count runs in its own subprocess (NUMBA_NUM_THREADS is read when numba starts). In each:

* cohort PSA, 10,000 samples, chunk sizes 100 / 1,000 / 10,000 samples;
* microsimulation PSA, 20 samples x 10,000 individuals (8 with --quick), one sample per chunk and all samples
  in one chunk.

Then, in one subprocess with W = --workers (default 2) numba threads, the same two PSAs on the local executor
(W threads), a Dask LocalCluster (W worker processes x 1 thread) and a process pool (W x 1): the overhead ratio
is the median time on the cluster over the median local time (cluster start-up and the workers' first run,
which loads numba's cache, reported apart).
Every configuration's totals are checked bit-for-bit against the first. Medians of repeats after a warm-up
(numba compilation or cache loading excluded). Prints a table; the last line is one JSON object.

    python benchmarks/bench_scaling.py [--quick] [--repeats N] [--threads 1,2,4] [--workers W]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FMH6 = HERE / "fmh6.toml"


def _setup(engine: str, n: int, individuals: int):
    from heecon import load_scenario
    from heecon.params.scenario_draws import draw_psa

    sets = [] if engine == "cohort" else ['settings.engine="microsim"', f"settings.individuals={individuals}"]
    sc = load_scenario(FMH6, sets)
    d = draw_psa(sc, n)
    return sc, {k: d[k] for k in d.names}


def _timed(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def _digest(a) -> str:
    return hashlib.sha256(a.tobytes()).hexdigest()[:16]


def child_threads(cfg: dict) -> dict:
    """Local executor at this process's numba thread count: every workload and chunk size."""
    import numba

    from heecon.execution import LocalExecutor, evaluate_chunked

    out = {"threads": numba.get_num_threads(), "runs": []}
    for w in cfg["workloads"]:
        sc, v = _setup(w["engine"], w["n"], w.get("individuals", 0))
        evaluate_chunked(sc, {k: x[:2] for k, x in v.items()}, 2, memory_guard=False)  # warm-up
        for size in w["chunks"]:
            med, times, tot = _timed(lambda: evaluate_chunked(sc, v, w["n"], executor=LocalExecutor(), chunk_size=size,
                                                              memory_guard=False), cfg["repeats"])
            out["runs"].append({"workload": w["name"], "chunk_size": size, "median_s": med, "times_s": times,
                                "digest": _digest(tot)})
    return out


def child_cluster(cfg: dict) -> dict:
    """Local (W threads) vs a Dask LocalCluster (W x 1) vs a process pool (W x 1) on the same PSAs."""
    from heecon.execution import default_chunk_size, evaluate_chunked, make_executor

    runs = []
    extra = {}
    data = [(w, *_setup(w["engine"], w["n"], w.get("individuals", 0))) for w in cfg["workloads"]]
    kinds = ["local", "dask-local", "processes"]
    try:
        import distributed  # noqa: F401
    except ImportError:
        kinds.remove("dask-local")
        extra["dask"] = "not installed (pip install heecon[dask])"
    for kind in kinds:
        t0 = time.perf_counter()
        ex = make_executor(kind, cfg["workers"])
        start = time.perf_counter() - t0
        try:
            for w, sc, v in data:
                size = w["cluster_chunk"] or default_chunk_size(sc, w["n"], cfg["workers"])
                t0 = time.perf_counter()
                evaluate_chunked(sc, v, w["n"], executor=ex, chunk_size=size, memory_guard=False)  # warm workers
                first = time.perf_counter() - t0
                med, times, tot = _timed(lambda: evaluate_chunked(sc, v, w["n"], executor=ex, chunk_size=size,
                                                                  memory_guard=False), cfg["repeats"])
                runs.append({"executor": kind, "workload": w["name"], "chunk_size": size, "median_s": med,
                             "times_s": times, "first_run_s": first, "start_s": start, "digest": _digest(tot)})
        finally:
            ex.close()
    return {"runs": runs, **extra}


def _child(mode: str, cfg: dict, threads: int) -> dict:
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), HEECON_BENCH_CFG=json.dumps(cfg))
    proc = subprocess.run([sys.executable, __file__, "--_child", mode], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"child {mode} ({threads} threads) failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="a smaller microsimulation PSA, 2 repeats (< 90 s in all)")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats per configuration (default 5; quick 2)")
    ap.add_argument("--threads", default="1,2", help="numba thread counts to compare (default 1,2)")
    ap.add_argument("--workers", type=int, default=2, help="workers of the Dask and process-pool runs (default 2)")
    ap.add_argument("--_child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._child:
        cfg = json.loads(os.environ["HEECON_BENCH_CFG"])
        res = child_threads(cfg) if args._child == "threads" else child_cluster(cfg)
        print(json.dumps(res))
        return 0

    t_start = time.perf_counter()
    q = args.quick
    repeats = args.repeats or (2 if q else 5)
    nc = 10_000
    nm, ind = (8, 10_000) if q else (20, 10_000)
    workloads = [
        {"name": "cohort", "engine": "cohort", "n": nc, "chunks": [100, 1_000, nc], "cluster_chunk": None},
        {"name": "microsim", "engine": "microsim", "n": nm, "individuals": ind, "chunks": [1, nm],
         "cluster_chunk": 1},
    ]
    cfg = {"workloads": workloads, "repeats": repeats, "workers": args.workers}
    threads = [int(t) for t in args.threads.split(",")]
    by_threads = {t: _child("threads", cfg, t) for t in threads}
    cluster = _child("cluster", cfg, args.workers)

    digests = {}
    for t, res in by_threads.items():
        for r in res["runs"]:
            digests.setdefault(r["workload"], set()).add(r["digest"])
    for r in cluster["runs"]:
        digests.setdefault(r["workload"], set()).add(r["digest"])
    identical = all(len(s) == 1 for s in digests.values())

    # --- table
    label = {"cohort": f"cohort PSA {nc:,} samples", "microsim": f"microsim PSA {nm} x {ind:,} individuals"}
    print(f"FMH-6 chunked PSA scaling (medians of {repeats}; {os.cpu_count()} CPUs)")
    print(f"{'workload':40s} {'chunk':>7s} " + " ".join(f"{f'{t} thr s':>9s}" for t in threads)
          + f" {'speed-up':>9s}")
    table = []
    for w in workloads:
        for size in w["chunks"]:
            meds = {t: next(r["median_s"] for r in by_threads[t]["runs"]
                            if r["workload"] == w["name"] and r["chunk_size"] == size) for t in threads}
            sp = meds[threads[0]] / meds[threads[-1]]
            table.append({"workload": w["name"], "chunk_size": size, "median_s": {str(t): meds[t] for t in threads},
                          "speedup": sp})
            print(f"{label[w['name']]:40s} {size:7d} " + " ".join(f"{meds[t]:9.3f}" for t in threads) + f" {sp:9.2f}")
    print()
    print(f"{f'executor ({args.workers} workers / threads)':50s} {'chunk':>7s} {'median s':>9s} {'vs local':>9s} "
          f"{'start s':>8s} {'1st run s':>9s}")
    overhead = {}
    for w in workloads:
        local = next(r for r in cluster["runs"] if r["executor"] == "local" and r["workload"] == w["name"])
        for r in (r for r in cluster["runs"] if r["workload"] == w["name"]):
            ratio = r["median_s"] / local["median_s"]
            overhead.setdefault(r["executor"], {})[w["name"]] = ratio
            print(f"{label[w['name']] + ': ' + r['executor']:50s} {r['chunk_size']:7d} {r['median_s']:9.3f} "
                  f"{ratio:9.2f} {r['start_s']:8.2f} {r['first_run_s']:9.2f}")
    print(f"\nbit-identical totals across every thread count, chunk size and executor: {identical}")
    fig = {
        "benchmark": "scaling_fmh6_psa",
        "quick": q,
        "repeats": repeats,
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "cohort_samples": nc,
        "microsim_samples": nm,
        "microsim_individuals": ind,
        "threads_table": table,
        "executors": cluster["runs"],
        "overhead_vs_local": overhead,
        "dask": cluster.get("dask", "installed"),
        "bit_identical": identical,
        "total_s": time.perf_counter() - t_start,
    }
    print(json.dumps(fig))
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
