"""The flagship's probabilistic analysis (scenarios/mbt_aspd_vs_pau.toml) against the FMH-6 fast path.

The flagship is the microsimulation's general path at work: five states with a four-cycle custody tunnel, a
covariate on the end of supervision, three drawn offence types with covariates, a strategy rate ratio and moves
to custody, seven event types booked in expectation, treatment engagement (Beta attendance, dropout). Timed here:

  * the PSA as ``heecon run`` computes it (heecon.engine.evaluate.evaluate_totals: parameter draws already made,
    compilation of each chunk, the kernel, means only), 10,000 men, 2 strategies, 40 cycles;
  * the reference in the same run: heecon's kernel on FMH-6 (shared/design/BENCHMARK-MODEL.md, the fast path) for
    the same number of person-cycles; the ratio of the two rates is what the general path costs;
  * without --quick, also three whole ``heecon run`` of the default scenario (base case, PSA of 1,000 samples x
    10,000 men, figures, HTML report) in fresh processes: the wall time that issue 5 bounds by 60 s on 2 cores.

Medians of 3 runs after a warm-up run (compilation or loading numba's cache); flagship and reference alternate so
that load from elsewhere hits both alike. The last line printed is one JSON object with the figures.

    python3 benchmarks/bench_flagship.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import numba  # noqa: E402

import _fmh6_arrays as fmh6  # noqa: E402

FLAGSHIP = ROOT / "scenarios" / "mbt_aspd_vs_pau.toml"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="40 PSA samples, no whole runs (about 30 s)")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()

    from heecon.engine.evaluate import evaluate_totals
    from heecon.engine.microsim.cpu import simulate
    from heecon import load_scenario
    from heecon.params.scenario_draws import draw_psa

    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    reps = max(3, args.reps)
    n_samp = 40 if args.quick else 200
    sc = load_scenario(FLAGSHIP)
    n_ind = sc.settings.individuals
    T = sc.settings.n_cycles
    n_strat = len(sc.strategies)
    draws = draw_psa(sc, n_samp)
    values = {k: draws[k] for k in draws.names}
    pc = n_samp * n_ind * n_strat * T

    # the reference: FMH-6 on the fast path, the same number of person-cycles
    P, pmap, V, vmap, W = fmh6.psa_draws(n_samp)
    ref_ind = pc // (n_samp * fmh6.N_STRAT * fmh6.T)

    t0 = time.perf_counter()
    evaluate_totals(sc, {k: v[:2] for k, v in values.items()}, 2)
    warm_flagship = time.perf_counter() - t0
    t0 = time.perf_counter()
    simulate(P[:2], pmap, V[:2], vmap, W, n_ind=100, seed=1)
    warm_ref = time.perf_counter() - t0

    t_f, t_r = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        evaluate_totals(sc, values, n_samp)
        t_f.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        simulate(P, pmap, V, vmap, W, n_ind=ref_ind, seed=1, moments=False)
        t_r.append(time.perf_counter() - t0)
    med_f, med_r = statistics.median(t_f), statistics.median(t_r)

    runs = []
    if not args.quick:
        for _ in range(reps):
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                proc = subprocess.run([sys.executable, "-m", "heecon.cli.app", "run", "--out", str(Path(tmp) / "out")],
                                      cwd=ROOT, capture_output=True, text=True)
                took = time.perf_counter() - t0
                if proc.returncode != 0:
                    print(proc.stderr[-3000:], file=sys.stderr)
                    return 1
                runs.append(took)

    fig = {
        "benchmark": "flagship_psa",
        "threads": numba.get_num_threads(),
        "samples": n_samp,
        "individuals": n_ind,
        "person_cycles": pc,
        "flagship_psa_s": med_f,
        "flagship_pc_per_s": pc / med_f,
        "flagship_runs_s": t_f,
        "fmh6_fast_path_s": med_r,
        "fmh6_pc_per_s": pc / med_r,
        "fmh6_runs_s": t_r,
        "flagship_over_fmh6": med_f / med_r,
        "flagship_psa_1000_samples_projected_s": med_f / n_samp * 1000,
        "default_run_s": statistics.median(runs) if runs else None,
        "default_run_runs_s": runs,
        "warmup_s": {"flagship": warm_flagship, "fmh6": warm_ref},
        "quick": args.quick,
        "load_average_1min": [load_start, os.getloadavg()[0]],
        "total_s": time.perf_counter() - t_start,
    }
    print(f"Flagship PSA: {n_samp} samples x {n_ind} men x {n_strat} strategies x {T} cycles = {pc:.2e} person-cycles,"
          f" {fig['threads']} numba threads")
    print(f"  flagship (general path)  median {med_f:7.2f} s  {pc / med_f:.3g} person-cycles/s"
          f"  (1,000 samples: {med_f / n_samp * 1000:.1f} s)")
    print(f"  FMH-6 (fast path)        median {med_r:7.2f} s  {pc / med_r:.3g} person-cycles/s")
    print(f"  flagship / FMH-6 time    {med_f / med_r:.2f}")
    if runs:
        print(f"  whole default `heecon run` (1,000 x 10,000, figures, report): median {statistics.median(runs):.1f} s"
              f" of {', '.join(f'{r:.1f}' for r in runs)}")
    print(json.dumps(fig))
    return 0


if __name__ == "__main__":
    sys.exit(main())
