"""GPU microsimulation throughput (person-cycles per second), beside the CPU kernel: the FMH-6 benchmark model on the
fast path, and the flagship scenario (scenarios/mbt_aspd_vs_pau.toml: covariates, events with moves, counters,
treatment engagement) on the general kernel.

Runs only where numba-cuda finds a GPU (prints {"gpu": false} otherwise). Person-cycles count individuals x
strategies x cycles x samples, as bench_microsim.py does. Last line: one JSON object (the flagship's figures under
"flagship").

    python benchmarks/bench_gpu.py [--samples 1000] [--individuals 10000] [--flagship-samples 100]
                                   [--flagship-individuals 10000]
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
    ap.add_argument("--flagship-samples", type=int, default=100)
    ap.add_argument("--flagship-individuals", type=int, default=10000)
    args = ap.parse_args()
    from heecon.engine.microsim import gpu as microsim_cuda

    if not microsim_cuda.available():
        print(json.dumps({"gpu": False}))
        return
    from heecon.engine.microsim.cpu import simulate
    from heecon.model.markov import compile_model
    from heecon import load_scenario
    from heecon.params.scenario_draws import draw_psa

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
    res["flagship"] = flagship(args.flagship_samples, args.flagship_individuals, args.reps)
    print(json.dumps(res))


def flagship(n_samples: int, n_ind: int, reps: int) -> dict:
    """The flagship scenario's PSA on the general GPU kernel (person-cycles/s), beside the CPU kernel on a slice."""
    from heecon.engine.microsim import gpu as microsim_cuda
    from heecon.engine.microsim.cpu import simulate
    from heecon.model.population import centre_population, sample_population
    from heecon.model.microsim import compile_microsim
    from heecon import load_scenario
    from heecon.params.scenario_draws import draw_psa

    sc = load_scenario(ROOT / "scenarios" / "mbt_aspd_vs_pau.toml")
    d = draw_psa(sc, n_samples, 1)

    def inputs(n: int) -> tuple:
        arrays = compile_microsim(sc, {k: d[k][:n] for k in d.names}, validate=False)
        m = arrays.model
        kw = dict(arrays.kwargs, X=X, n_ind=n_ind, n_samples=n, seed=sc.settings.seed)
        if start is not None:
            kw.pop("start_probs", None)
            kw["start_state"] = start
        return (m.P, m.P_map, m.V, m.V_map, m.W), kw, m

    X, cols, start = sample_population(sc, n_ind)
    X = centre_population(sc, X, cols)
    args, kw, m = inputs(n_samples)
    pc = n_samples * n_ind * m.P_map.shape[0] * m.n_cycles
    a2, k2, _ = inputs(2)
    microsim_cuda.simulate_gpu_general(*a2, **k2)  # compile
    times, ktimes = [], []
    for _ in range(reps):
        tm: dict = {}
        t0 = time.perf_counter()
        g = microsim_cuda.simulate_gpu_general(*args, timings=tm, **kw)
        times.append(time.perf_counter() - t0)
        ktimes.append(tm["kernel_s"])
    t_gpu, t_kernel = statistics.median(times), statistics.median(ktimes)
    n_cpu = min(n_samples, 4)
    ac, kc, _ = inputs(n_cpu)
    simulate(*a2, **k2)  # compile
    t0 = time.perf_counter()
    cpu = simulate(*ac, **kc)
    t_cpu = time.perf_counter() - t0
    pc_cpu = n_cpu * n_ind * m.P_map.shape[0] * m.n_cycles
    same_paths = bool(np.array_equal(g.ev_count[:n_cpu], cpu.ev_count))
    rel = float(np.max(np.abs(g.out_sum[:n_cpu] - cpu.out_sum) / np.maximum(np.abs(cpu.out_sum), 1e-300)))
    res = {"samples": n_samples, "individuals": n_ind, "person_cycles": pc, "gpu_s": round(t_gpu, 4),
           "gpu_pc_per_s": pc / t_gpu, "gpu_kernel_s": round(t_kernel, 5), "gpu_kernel_pc_per_s": pc / t_kernel,
           "cpu_pc_per_s": pc_cpu / t_cpu, "gpu_over_cpu": (pc / t_gpu) / (pc_cpu / t_cpu),
           "event_counts_equal_cpu": same_paths, "max_rel_diff_vs_cpu": rel}
    print(f"Flagship (general kernel) on the GPU: {pc:.2e} person-cycles in {t_gpu:.3f} s (median of {reps}) = "
          f"{pc / t_gpu:.3e} person-cycles/s end to end, {pc / t_kernel:.3e}/s in the kernel; CPU here "
          f"{res['cpu_pc_per_s']:.3e}/s; event counts equal: {same_paths}; max rel. diff {rel:.1e}")
    return res


if __name__ == "__main__":
    main()
