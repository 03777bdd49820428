"""GPU microsimulation throughput on the FMH-6 benchmark model (person-cycles per second), beside the CPU kernel.

Runs only where numba-cuda finds a GPU (prints {"gpu": false} otherwise). Person-cycles count individuals x
strategies x cycles x samples, as bench_microsim.py does. Last line: one JSON object.

    python benchmarks/bench_gpu.py [--samples 1000] [--individuals 10000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--individuals", type=int, default=10000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    from heecon.markov import microsim_cuda

    if not microsim_cuda.available():
        print(json.dumps({"gpu": False}))
        return
    from heecon.markov.microsim import simulate
    from heecon.model.compile import compile_model
    from heecon.scenario.load import load_scenario
    from heecon.sensitivity.psa import draw_psa

    sc = load_scenario(ROOT / "benchmarks" / "fmh6.toml")
    d = draw_psa(sc, args.samples, 1)
    m = compile_model(sc, {k: d[k] for k in d.names}, validate=False)
    kw = dict(n_ind=args.individuals, n_samples=args.samples, seed=1, start_probs=m.m0)
    pc = args.samples * args.individuals * 2 * m.n_cycles
    def head(a, n):
        return a[:n] if a.shape[0] > 1 else a

    microsim_cuda.simulate_gpu(head(m.P, 2), m.P_map, head(m.V, 2), m.V_map, m.W, **{**kw, "n_samples": 2})  # compile
    times, ktimes = [], []
    for _ in range(args.reps):
        t0 = time.perf_counter()
        g = microsim_cuda.simulate_gpu(m.P, m.P_map, m.V, m.V_map, m.W, **kw)
        times.append(time.perf_counter() - t0)
        ktimes.append(float(g["kernel_s"]))
    t_gpu = statistics.median(times)
    t_kernel = statistics.median(ktimes)
    # CPU on a slice of samples (same random numbers), for the ratio and a check of the sums
    n_cpu = min(args.samples, 20)
    simulate(head(m.P, 2), m.P_map, head(m.V, 2), m.V_map, m.W, **{**kw, "n_samples": 2})
    t0 = time.perf_counter()
    cpu = simulate(head(m.P, n_cpu), m.P_map, head(m.V, n_cpu), m.V_map, m.W, **{**kw, "n_samples": n_cpu})
    t_cpu = time.perf_counter() - t0
    rel = float(np.max(np.abs(g["out_sum"][:n_cpu] - cpu.out_sum) / np.maximum(np.abs(cpu.out_sum), 1e-300)))
    res = {"gpu": True, "samples": args.samples, "individuals": args.individuals, "person_cycles": pc,
           "gpu_s": round(t_gpu, 4), "gpu_pc_per_s": pc / t_gpu, "gpu_kernel_s": round(t_kernel, 5),
           "gpu_kernel_pc_per_s": pc / t_kernel,
           "cpu_pc_per_s": n_cpu * args.individuals * 2 * m.n_cycles / t_cpu,
           "gpu_over_cpu": (pc / t_gpu) / (n_cpu * args.individuals * 2 * m.n_cycles / t_cpu),
           "max_rel_diff_vs_cpu": rel}
    print(f"FMH-6 microsimulation on the GPU: {pc:.2e} person-cycles in {t_gpu:.3f} s (median of {args.reps}) = "
          f"{pc / t_gpu:.3e} person-cycles/s end to end, {pc / t_kernel:.3e}/s in the kernel; CPU here {res['cpu_pc_per_s']:.3e}/s; max rel. diff {rel:.1e}")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
