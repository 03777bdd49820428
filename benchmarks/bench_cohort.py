"""Cohort PSA benchmark: the FMH-6 model (../shared/design/BENCHMARK-MODEL.md) for 10,000 parameter sets in one call.

heecon (scenario compiled with the drawn parameters, then the numba kernel) beside a plain NumPy implementation
of the same model in the same run; medians of repeated runs after a warm-up (compilation excluded). Also times a
second `heecon run` of a small deterministic scenario (numba cache warm). Last line: one JSON object.

    python benchmarks/bench_cohort.py [--quick] [--samples N]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
STATES = ["CS", "CR", "CU", "IP", "DO", "DV"]
ROWS = {"CS": [.850, .100, .020, .025, .004, .001], "CR": [.200, .600, .100, .080, .012, .008],
        "CU": [.100, .250, .600, .040, .006, .004], "IP": [.200, .150, .050, .585, .010, .005]}
IROWS = {"CS": [.900, .060, .010, .025, .004, .001], "CR": [.350, .500, .060, .070, .012, .008]}
COSTS = {"CS": 500, "CR": 1200, "CU": 8000, "IP": 15000}
UTILS = {"CS": .80, "CR": .65, "CU": .55, "IP": .45}


def draw(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    """PSA draws as BENCHMARK-MODEL.md defines them: Dirichlet(100 x row), gamma shape 25, beta SD 0.05."""
    rng = np.random.default_rng(seed)
    d: dict[str, np.ndarray] = {}
    for pre, rows in (("p", ROWS), ("pi", IROWS)):
        for a, row in rows.items():
            x = rng.dirichlet(100 * np.array(row), size=n)
            for j, b in enumerate(STATES):  # every cell, the diagonal included (fmh6.toml gives rows in full)
                d[f"{pre}_{a}_{b}"] = x[:, j]
    for a, c in COSTS.items():
        d[f"c_{a}"] = rng.gamma(25, c / 25, n)
    d["c_int"] = rng.gamma(25, 2000 / 25, n)
    for a, u in UTILS.items():
        k = u * (1 - u) / 0.05 ** 2 - 1
        d[f"u_{a}"] = rng.beta(u * k, (1 - u) * k, n)
    return d


def numpy_model(d: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Plain NumPy, vectorised over samples: per-person discounted costs and QALYs, [n, 2 strategies]."""
    n = len(d["c_CS"])
    S = 6

    def matrix(rows_prefix: dict[str, str]) -> np.ndarray:
        P = np.zeros((n, S, S))
        for i, a in enumerate(STATES):
            if a in ("DO", "DV"):
                P[:, i, i] = 1
                continue
            pre = rows_prefix.get(a, "p")
            for j, b in enumerate(STATES):
                if a != b:
                    P[:, i, j] = d[f"{pre}_{a}_{b}"]
            P[:, i, i] = 1 - P[:, i].sum(axis=1)
        return P

    P_uc = matrix({})
    P_int = matrix({"CS": "pi", "CR": "pi"})
    cost = np.stack([d["c_CS"], d["c_CR"], d["c_CU"], d["c_IP"], np.zeros(n), np.zeros(n)], axis=1)
    util = np.stack([d["u_CS"], d["u_CR"], d["u_CU"], d["u_IP"], np.zeros(n), np.zeros(n)], axis=1) * 0.25
    alive = np.array([1, 1, 1, 1, 0, 0.0])
    out_c = np.zeros((n, 2))
    out_q = np.zeros((n, 2))
    for s in range(2):
        m = np.zeros((n, S))
        m[:, 0] = 1
        for t in range(40):
            disc = 1.035 ** (-0.25 * t)
            out_c[:, s] += disc * (m * cost).sum(axis=1)
            out_q[:, s] += disc * (m * util).sum(axis=1)
            if s == 1 and t < 4:
                out_c[:, s] += disc * d["c_int"] * (m @ alive)
            P = P_int if (s == 1 and t < 4) else P_uc
            m = np.einsum("ns,nst->nt", m, P)
    return out_c, out_q


def median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--samples", type=int, default=10_000)
    args = ap.parse_args()
    reps = 3 if args.quick else 7
    sys.path.insert(0, str(ROOT))
    from heecon.engine.cohort import run_cohort
    from heecon.model.markov import compile_model
    from heecon import load_scenario

    sc = load_scenario(HERE / "fmh6.toml")
    d = draw(args.samples)

    def heecon_full():
        m = compile_model(sc, d, validate=False)
        out = run_cohort(m.P, m.P_map, m.V, m.V_map, m.TR, m.TR_map, m.m0, m.W, has_tr=m.has_tr, n_keep=0)
        return m, out

    m, out = heecon_full()  # warm-up: compilation / cache load
    kernel = lambda: run_cohort(m.P, m.P_map, m.V, m.V_map, m.TR, m.TR_map, m.m0, m.W, has_tr=False, n_keep=0)  # noqa: E731
    t_full = median_time(heecon_full, reps)
    t_kernel = median_time(kernel, reps)
    t_validated = median_time(lambda: compile_model(sc, d, validate=True), max(1, reps // 2))
    numpy_model(draw(10))
    t_numpy = median_time(lambda: numpy_model(d), reps)
    nc, nq = numpy_model(d)
    hc = out.totals[:, :, :2, 0].sum(axis=2)
    hq = out.totals[:, :, 2, 0]
    agree = float(max(np.max(np.abs(hc - nc) / nc), np.max(np.abs(hq - nq) / nq)))

    # second CLI run of a small deterministic scenario (numba cache warm after the first)
    cli_times = []
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "heecon.cli.app", "run", str(ROOT / "scenarios/published/hiv_chancellor.toml"),
               "--out", str(Path(tmp) / "r")]
        subprocess.run(cmd, check=True, capture_output=True)
        for _ in range(3):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            cli_times.append(time.perf_counter() - t0)
    res = {
        "benchmark": "cohort_fmh6_psa",
        "n_samples": args.samples,
        "heecon_s": round(t_full, 5),
        "heecon_kernel_s": round(t_kernel, 5),
        "heecon_compile_with_checks_s": round(t_validated, 5),
        "numpy_s": round(t_numpy, 5),
        "numpy_over_heecon": round(t_numpy / t_full, 2),
        "max_rel_diff_vs_numpy": agree,
        "cli_second_run_s": round(statistics.median(cli_times), 3),
    }
    print(f"FMH-6 cohort PSA, {args.samples} parameter sets x 2 strategies x 40 cycles (medians of {reps}):")
    print(f"  heecon compile+kernel {t_full:.4f} s (kernel alone {t_kernel:.4f} s; with every numeric check {t_validated:.4f} s)")
    print(f"  plain NumPy           {t_numpy:.4f} s  -> NumPy/heecon = {t_numpy / t_full:.1f}x; max rel. diff {agree:.1e}")
    print(f"  second `heecon run` of hiv_chancellor.toml: {statistics.median(cli_times):.2f} s wall")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
