"""Run the general GPU kernel in numba's CUDA simulator against the CPU kernel; print one JSON object.

    NUMBA_ENABLE_CUDASIM=1 HEECON_CUDASIM=1 python tests/gpu_sim_run.py [CASE ...]

The simulator executes the kernel's Python source thread by thread (blocks of 32 threads here), so the sizes are
tiny. tests/test_gpu_general.py runs this in a subprocess (the simulator must be switched on before numba is
imported) and asserts on the output: for each case the outputs that differ from the CPU run (none expected) and a
few facts showing that the features were exercised.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# the simulator hashes with NumPy uint64 scalars, which warn when a product wraps around (as intended)
warnings.filterwarnings("ignore", message=r"overflow encountered in scalar", category=RuntimeWarning)


def _kernel_case(name: str, n: int, n_samp: int) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        from heecon.engine.microsim.cpu import simulate
        from heecon.engine.microsim.gpu import simulate_gpu_general
        from tests.gpu_cases import kernel_cases, result_diffs

        kw = kernel_cases(n, n_samp)[name]
        cpu = simulate(**kw)
        # more than one batch of samples and launch of individuals where there are enough of them
        gpu = simulate_gpu_general(**kw, sample_batch=1 if n_samp > 2 else None, launch_individuals=32)
        return {"diffs": result_diffs(cpu, gpu), "events": int(cpu.ev_count.sum()),
                "moved": bool((cpu.trajectories == 3).any()), "kept": int(cpu.occupancy.shape[0]),
                "moments": [cpu.moments, gpu.moments]}
    return run


def _scenario_case(which: str) -> Callable[[], dict[str, Any]]:
    def run() -> dict[str, Any]:
        from tests.gpu_cases import FLAGSHIP, KRIJKAMP, run_diffs, scenario_runs, write_feature_scenario

        with tempfile.TemporaryDirectory() as tmp:
            if which == "features":  # a base case: kept output, trajectories, standard errors
                cpu, gpu = scenario_runs(write_feature_scenario(Path(tmp)), ["settings.individuals=16"], 2, psa=False)
            elif which == "flagship":  # a PSA chunk, as evaluate_totals runs it: means only
                cpu, gpu = scenario_runs(FLAGSHIP, ["settings.individuals=32", "settings.horizon_years=2", "budget_impact.years=2", "budget_impact.uptake=[0.5, 0.8]"], 2,
                                         psa=True, n_keep=0, n_traj=0, moments=False)
            else:
                cpu, gpu = scenario_runs(KRIJKAMP, ["settings.individuals=40", "settings.horizon_cycles=8"], 1,
                                         psa=False)
        return {"diffs": run_diffs(cpu, gpu), "events": float(np.nansum(cpu.events)),
                "inc_se_finite": bool(np.isfinite(gpu.inc_se).all())}
    return run


def _fast_case() -> dict[str, Any]:
    """The fast-path kernel (FMH-6) and its host wrapper: paths and occupancy exact, sums to 1e-9 (the simulator
    adds per thread where the GPU reduces per warp, so only the order of float additions differs)."""
    from heecon.engine.microsim.cpu import simulate
    from heecon.engine.microsim.gpu import simulate_gpu
    from tests.test_gpu import fmh6_arrays

    m = fmh6_arrays(2)
    kw = dict(n_ind=12, n_samples=2, seed=3, sample_offset=1, start_probs=m.m0)
    cpu = simulate(m.P, m.P_map, m.V, m.V_map, m.W, n_keep=1, n_traj=12, **kw)
    gpu = simulate_gpu(m.P, m.P_map, m.V, m.V_map, m.W, n_traj=12, threads_per_block=32, **kw)
    diffs = [k for k, a, b in (("trajectories", gpu["trajectories"], cpu.trajectories),
                               ("occupancy", gpu["occupancy"], cpu.occupancy[0])) if not np.array_equal(a, b)]
    diffs += [k for k, a, b in (("out_sum", gpu["out_sum"], cpu.out_sum), ("out_sq", gpu["out_sq"], cpu.out_sq))
              if not np.allclose(a, b, rtol=1e-9, atol=1e-9)]
    return {"diffs": diffs, "events": 0, "moved": bool((cpu.trajectories > 0).any())}


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "fast_path": _fast_case,
    "all_features": _kernel_case("all_features", 24, 2),
    "population_dose": _kernel_case("population_dose", 16, 2),
    "plain": _kernel_case("plain", 12, 3),
    "features_scenario": _scenario_case("features"),
    "flagship": _scenario_case("flagship"),
    "krijkamp": _scenario_case("krijkamp"),
}


def main() -> None:
    from heecon.engine.microsim import gpu as microsim_cuda

    out: dict[str, Any] = {"simulator": microsim_cuda.simulator(), "available": microsim_cuda.available()}
    os.environ.pop("HEECON_CUDASIM", None)
    out["available_without_opt_in"] = microsim_cuda.available()  # an ordinary run never picks the simulator
    os.environ["HEECON_CUDASIM"] = "1"
    for name in sys.argv[1:] or list(CASES):
        t0 = time.perf_counter()
        out[name] = CASES[name]()
        out[name]["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
