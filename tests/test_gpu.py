"""GPU microsimulation (numba-cuda) against the CPU kernel: identical state paths and counts, sums to 1e-9.

Skips cleanly without a CUDA device (CI has none); run on a GPU machine with `python -m pytest tests/test_gpu.py`.
"""

from __future__ import annotations

import numpy as np
import pytest

from heecon.engine.microsim import gpu as microsim_cuda

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not microsim_cuda.available(), reason="no CUDA GPU (numba-cuda)")]


def fmh6_arrays(n_samples: int):
    from heecon.model.markov import compile_model
    from heecon import load_scenario
    from heecon.params.scenario_draws import draw_psa

    from .conftest import ROOT

    sc = load_scenario(ROOT / "benchmarks" / "fmh6.toml")
    d = draw_psa(sc, n_samples, 3) if n_samples > 1 else None
    m = compile_model(sc, {k: d[k] for k in d.names} if d is not None else None, validate=False)
    return m


@pytest.mark.parametrize("n_samples, seed, offset", [(1, 0, 0), (16, 11, 5), (16, 1, 0)])
def test_gpu_matches_cpu_paths_counts_and_sums(n_samples, seed, offset):
    from heecon.engine.microsim.cpu import simulate

    m = fmh6_arrays(n_samples)
    kw = dict(n_ind=3000, n_samples=n_samples, seed=seed, sample_offset=offset, start_probs=m.m0)
    cpu = simulate(m.P, m.P_map, m.V, m.V_map, m.W, n_keep=1, n_traj=50, **kw)
    gpu = microsim_cuda.simulate_gpu(m.P, m.P_map, m.V, m.V_map, m.W, n_traj=50, **kw)
    assert np.array_equal(gpu["trajectories"], cpu.trajectories)  # the same state paths, exactly
    assert np.array_equal(gpu["occupancy"], cpu.occupancy[0])  # the same counts in every state and cycle
    np.testing.assert_allclose(gpu["out_sum"], cpu.out_sum, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(gpu["out_sq"], cpu.out_sq, rtol=1e-9, atol=1e-6)


def test_gpu_with_transition_rewards_matches_cpu():
    from heecon.engine.microsim.cpu import simulate

    m = fmh6_arrays(1)
    TR = np.zeros((1, 1) + m.P.shape[2:] + (m.V.shape[3],))
    TR[0, 0, 0, 2, 0] = 1000.0  # a one-off cost on CS -> CU
    TR_map = np.zeros_like(m.P_map)
    kw = dict(n_ind=2000, n_samples=1, seed=2, start_probs=m.m0, TR_mats=TR, TR_map=TR_map)
    cpu = simulate(m.P, m.P_map, m.V, m.V_map, m.W, **kw)
    gpu = microsim_cuda.simulate_gpu(m.P, m.P_map, m.V, m.V_map, m.W, **kw)
    np.testing.assert_allclose(gpu["out_sum"], cpu.out_sum, rtol=1e-9)


def test_device_gpu_run_matches_cpu_run_end_to_end():
    from heecon.engine.evaluate import evaluate_totals
    from heecon.outcomes.base_case import run_base_case
    from heecon import load_scenario
    from heecon.params.scenario_draws import draw_psa

    from .conftest import ROOT

    over = ['settings.engine="microsim"', "settings.individuals=5000"]
    cpu = load_scenario(ROOT / "benchmarks" / "fmh6.toml", over + ['settings.device="cpu"'])
    gpu = load_scenario(ROOT / "benchmarks" / "fmh6.toml", over + ['settings.device="gpu"'])
    a, b = run_base_case(cpu), run_base_case(gpu)
    np.testing.assert_allclose(b.outcomes[["costs", "qalys", "lys"]], a.outcomes[["costs", "qalys", "lys"]], rtol=1e-9)
    assert np.array_equal(a.trace.to_numpy(), b.trace.to_numpy())
    d = draw_psa(cpu, 8, 4)
    values = {k: d[k] for k in d.names}
    np.testing.assert_allclose(evaluate_totals(gpu, values, 8), evaluate_totals(cpu, values, 8), rtol=1e-9)
