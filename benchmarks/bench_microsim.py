"""Microsimulation benchmark on FMH-6 (shared/design/BENCHMARK-MODEL.md).

PSA of 1,000 samples x 10,000 individuals x 2 strategies x 40 cycles = 8e8 person-cycles, timed for
  * heecon's kernel (heecon.engine.microsim.cpu.simulate),
  * a hand-written minimal numba kernel of the same model with the same counter-based RNG inline
    (so its trajectories, hence its sums, equal heecon's),
  * a vectorised NumPy version (numpy.random.Generator), run on a slice and scaled,
and a second heecon run with 8 Poisson event types per cycle (rewards, history counters).
Each timing is the median of >= 3 runs after a warm-up (compilation) run. Also checks the deterministic
FMH-6 expectation (many individuals, base case) and, with --peak-memory, the peak RSS of a 1,000 x
100,000 run in a fresh process.

    python3 benchmarks/bench_microsim.py [--quick] [--peak-memory]

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import numba  # noqa: E402
from numba import prange, uint64  # noqa: E402

import _fmh6_arrays as fmh6  # noqa: E402


# --- the minimal hand-written kernel ----------------------------------------------------------------


@numba.njit(inline="always")
def _mix(z):
    z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
    return z ^ (z >> uint64(31))


@numba.njit(parallel=True)
def minimal_kernel(cumP, cost, qaly, int_cost, disc, n_ind, seed):
    """FMH-6 only: cumP[n, 2, 6, 6] (usual care, intervention rows; 2.0 after the last positive entry),
    cost/qaly per state [n, 6], int_cost [n]. Returns summed discounted cost and QALYs [n, 2, 2]."""
    n_samp = cumP.shape[0]
    T = disc.shape[0]
    out = np.zeros((n_samp, 2, 2))
    k_seed = _mix(uint64(seed) ^ uint64(0x6A09E667F3BCC909))
    tconst = np.empty(T + 1, np.uint64)
    for k in range(T + 1):
        tconst[k] = _mix(((uint64(k) << uint64(32)) | (uint64(1) << uint64(26))) + uint64(0xA54FF53A5F1D36F1))
    for sm in prange(n_samp):
        k_samp = _mix(k_seed + _mix(uint64(sm) + uint64(0xBB67AE8584CAA73B)))
        sc0 = 0.0
        sq0 = 0.0
        sc1 = 0.0
        sq1 = 0.0
        for i in range(n_ind):
            key = _mix(k_samp + _mix(uint64(i) + uint64(0x3C6EF372FE94F82B)))
            s0 = 0
            s1 = 0
            c0 = 0.0
            q0 = 0.0
            c1 = 0.0
            q1 = 0.0
            for k in range(1, T + 1):
                d = disc[k - 1]
                c0 += d * cost[sm, s0]
                q0 += d * qaly[sm, s0]
                c1 += d * cost[sm, s1]
                q1 += d * qaly[sm, s1]
                if k <= 4 and s1 < 4:
                    c1 += d * int_cost[sm]
                u = float(_mix(key + tconst[k]) >> uint64(11)) * (1.0 / 9007199254740992.0)
                j = 0
                while u >= cumP[sm, 0, s0, j]:
                    j += 1
                s0 = j
                m = 1 if k <= 4 else 0
                j = 0
                while u >= cumP[sm, m, s1, j]:
                    j += 1
                s1 = j
            sc0 += c0
            sq0 += q0
            sc1 += c1
            sq1 += q1
        out[sm, 0, 0] = sc0
        out[sm, 0, 1] = sq0
        out[sm, 1, 0] = sc1
        out[sm, 1, 1] = sq1
    return out


def minimal_inputs(P, V, W):
    cum = np.cumsum(P, axis=-1)
    last = P.shape[-1] - 1 - np.argmax((P > 0)[..., ::-1], axis=-1)
    cols = np.arange(P.shape[-1])
    cum = np.where(cols >= last[..., None], 2.0, cum)
    cost = np.ascontiguousarray(V[:, 0, :, 0])
    qaly = np.ascontiguousarray(V[:, 0, :, 1])
    int_cost = np.ascontiguousarray(V[:, 1, 0, 0] - V[:, 0, 0, 0])
    disc = np.ascontiguousarray(W[0, 0, 0])
    return np.ascontiguousarray(cum), cost, qaly, int_cost, disc


# --- vectorised NumPy ---------------------------------------------------------------------------------


def numpy_psa(P, V, pmap, W, n_ind, seed=1):
    """Vectorised over individuals; loops over samples, cycles and strategies. Returns mean cost/QALY."""
    g = np.random.default_rng(seed)
    n_samp = P.shape[0]
    T = pmap.shape[1]
    disc = W[0, 0, 0]
    cum = np.cumsum(P, axis=-1)
    out = np.zeros((n_samp, 2, 2))
    for sm in range(n_samp):
        state = np.zeros((2, n_ind), np.int64)
        acc = np.zeros((2, 2, n_ind))
        for k in range(1, T + 1):
            u = g.random(n_ind)
            for s in range(2):
                v = V[sm, pmap[s, k - 1]]
                acc[s, 0] += disc[k - 1] * v[state[s], 0]
                acc[s, 1] += disc[k - 1] * v[state[s], 1]
                c = cum[sm, pmap[s, k - 1]][state[s]]
                state[s] = np.minimum((u[:, None] >= c).sum(axis=1), 5)
        out[sm] = acc.mean(axis=2)
    return out


# --- helpers ---------------------------------------------------------------------------------------


def timed(fn, reps):
    times = []
    result = None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, result


def peak_child(n_samples: int, n_ind: int) -> None:
    from heecon.engine.microsim.cpu import simulate

    P, pmap, V, vmap, W = fmh6.psa_draws(n_samples)
    t0 = time.perf_counter()
    r = simulate(P, pmap, V, vmap, W, n_ind=n_ind, seed=1)
    took = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"peak_rss_mb": peak_kb / 1024.0, "seconds": took,
                      "mean_cost_uc": float(r.mean[:, 0, 0, 0].mean())}))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer samples (< 60 s in all)")
    ap.add_argument("--peak-memory", action="store_true", help="also measure the peak RSS of a 1,000 x 100,000 run")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--_peak-child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._peak_child:
        peak_child(*args._peak_child)
        return 0

    from heecon.engine.microsim.cpu import simulate

    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    n_ind = 10_000
    n_samp = 100 if args.quick else 1000
    n_samp_np = 2 if args.quick else 10
    n_samp_ev = 5 if args.quick else 100
    reps = max(3, args.reps)
    threads = numba.get_num_threads()
    T, n_strat = fmh6.T, fmh6.N_STRAT
    pc = n_samp * n_ind * n_strat * T

    P, pmap, V, vmap, W = fmh6.psa_draws(n_samp)

    # warm-up (compilation, or loading numba's cache)
    t0 = time.perf_counter()
    simulate(P[:2], pmap, V[:2], vmap, W, n_ind=100, seed=1)
    heecon_warm = time.perf_counter() - t0
    mins = minimal_inputs(P, V, W)
    t0 = time.perf_counter()
    minimal_kernel(mins[0][:2], mins[1][:2], mins[2][:2], mins[3][:2], mins[4], 100, 1)
    minimal_warm = time.perf_counter() - t0

    # heecon and the minimal kernel alternate, so that load from elsewhere hits both alike
    times_h, times_m = [], []
    for _ in range(reps):
        _, th, res_h = timed(lambda: simulate(P, pmap, V, vmap, W, n_ind=n_ind, seed=1), 1)
        _, tm, res_m = timed(lambda: minimal_kernel(*mins, n_ind, 1), 1)
        times_h += th
        times_m += tm
    t_h, t_m = statistics.median(times_h), statistics.median(times_m)
    # same RNG, same trajectories: the sums agree to rounding
    agree = float(np.max(np.abs(res_h.out_sum[:, :, :, 0] - res_m) / np.abs(res_m).clip(1e-300)))

    sl = slice(0, n_samp_np)
    t_np, times_np, _ = timed(lambda: numpy_psa(P[sl], V[sl], pmap, W, n_ind), reps)
    pc_np = n_samp_np * n_ind * n_strat * T

    evkw = fmh6.event_arrays()
    Pe, Ve = P[:n_samp_ev], V[:n_samp_ev]
    simulate(Pe[:2], pmap, Ve[:2], vmap, W, n_ind=100, seed=1, **evkw)
    t_ev, times_ev, res_ev = timed(lambda: simulate(Pe, pmap, Ve, vmap, W, n_ind=n_ind, seed=1, **evkw), reps)
    pc_ev = n_samp_ev * n_ind * n_strat * T

    # deterministic expectation of FMH-6 (base case, many individuals)
    n_check = 200_000 if args.quick else 1_000_000
    Pb, pmb, Vb, vmb, Wb = fmh6.base_case()
    rb = simulate(Pb, pmb, Vb, vmb, Wb, n_ind=n_check, seed=3)
    exact = fmh6.cohort_expectation(Pb, pmb, Vb, vmb, Wb)[0, :, :, 0]
    mean = rb.mean[0, :, :, 0]
    se = rb.se[0, :, :, 0]
    z = (mean - exact) / se
    published = np.array([fmh6.EXPECTED["usual care"], fmh6.EXPECTED["intervention"]])

    peak = None
    if args.peak_memory:
        proc = subprocess.run([sys.executable, __file__, "--_peak-child", "1000", "100000"],
                              capture_output=True, text=True, env=dict(os.environ))
        if proc.returncode == 0:
            peak = json.loads(proc.stdout.strip().splitlines()[-1])
        else:
            print(proc.stderr[-2000:], file=sys.stderr)

    fig = {
        "benchmark": "microsim_fmh6_psa",
        "threads": threads,
        "samples": n_samp,
        "individuals": n_ind,
        "person_cycles": pc,
        "heecon_s": t_h,
        "heecon_pc_per_s": pc / t_h,
        "minimal_numba_s": t_m,
        "minimal_numba_pc_per_s": pc / t_m,
        "numpy_s_slice": t_np,
        "numpy_slice_samples": n_samp_np,
        "numpy_pc_per_s": pc_np / t_np,
        "heecon_over_minimal": (pc / t_h) / (pc / t_m),
        "heecon_pc_per_s_best": pc / min(times_h),
        "minimal_numba_pc_per_s_best": pc / min(times_m),
        "heecon_over_numpy": (pc / t_h) / (pc_np / t_np),
        "events_samples": n_samp_ev,
        "events_s": t_ev,
        "events_pc_per_s": pc_ev / t_ev,
        "events_over_plain": (pc_ev / t_ev) / (pc / t_h),
        "heecon_vs_minimal_max_rel_diff": agree,
        "warmup_s": {"heecon": heecon_warm, "minimal": minimal_warm},
        "fmh6_check": {
            "individuals": n_check,
            "mean_cost": mean[:, 0].tolist(),
            "mean_qaly": mean[:, 1].tolist(),
            "expected_cost": published[:, 0].tolist(),
            "expected_qaly": published[:, 1].tolist(),
            "z": z.ravel().tolist(),
            "ok": bool(np.all(np.abs(z) < 4) and np.allclose(exact, published, rtol=2e-6)),
        },
        "peak_rss_mb_1000x100000": None if peak is None else peak["peak_rss_mb"],
        "peak_run_s_1000x100000": None if peak is None else peak["seconds"],
        "quick": args.quick,
        "load_average_1min": [load_start, os.getloadavg()[0]],
        "total_s": time.perf_counter() - t_start,
    }

    print(f"FMH-6 microsimulation PSA: {n_samp} samples x {n_ind} individuals x {n_strat} strategies x {T} cycles"
          f" = {pc:.2e} person-cycles, {threads} numba threads")
    print(f"{'engine':34s} {'median s':>10s} {'person-cycles/s':>16s}   runs")
    rows = [
        ("heecon kernel", t_h, pc / t_h, times_h),
        ("minimal numba (same RNG)", t_m, pc / t_m, times_m),
        (f"NumPy vectorised ({n_samp_np} samples)", t_np, pc_np / t_np, times_np),
        (f"heecon + 8 events ({n_samp_ev} samples)", t_ev, pc_ev / t_ev, times_ev),
    ]
    for name, t, rate, ts in rows:
        print(f"{name:34s} {t:10.3f} {rate:16.3e}   {' '.join(f'{x:.3f}' for x in ts)}")
    print(f"(best runs: heecon {fig['heecon_pc_per_s_best']:.3e}, minimal {fig['minimal_numba_pc_per_s_best']:.3e}; "
          f"1-min load average {load_start:.2f} at the start: other processes share the 2 cores)")
    print(f"heecon / minimal = {fig['heecon_over_minimal']:.2f}; heecon / NumPy = {fig['heecon_over_numpy']:.1f}; "
          f"events / plain = {fig['events_over_plain']:.2f}; heecon vs minimal sums: max rel diff {agree:.1e}")
    print(f"FMH-6 check ({n_check} individuals, base case): usual care {mean[0, 0]:.2f} / {mean[0, 1]:.6f}, "
          f"intervention {mean[1, 0]:.2f} / {mean[1, 1]:.6f}; expected {published[0, 0]:.2f} / {published[0, 1]:.6f},"
          f" {published[1, 0]:.2f} / {published[1, 1]:.6f}; z = {np.round(z.ravel(), 2).tolist()}")
    if peak is not None:
        print(f"peak RSS of a 1,000 x 100,000 run: {peak['peak_rss_mb']:.0f} MB ({peak['seconds']:.1f} s)")
    print(json.dumps(fig))
    return 0


if __name__ == "__main__":
    sys.exit(main())
