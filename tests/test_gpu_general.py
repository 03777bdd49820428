"""The general GPU microsimulation kernel (heecon.engine.microsim.gpu.simulate_gpu_general) against the CPU kernel.

Three tiers:

* ``cudasim`` (default run, ~30 s; the fast-path kernel too): tests/gpu_sim_run.py in a subprocess with numba's CUDA simulator, which runs the
  kernel's own source in Python: every feature (covariates with counters, time in state, Poisson and Bernoulli
  events with moves, engagement in both effect modes, population files, kept samples, trajectories, chunked
  launches) and the flagship, feature and Krijkamp scenarios through heecon.engine.microsim.evaluate, at tiny sizes. The
  simulator computes exactly what the CPU computes, so everything must be equal bit for bit.
* plain unit tests of the routing and the limits (no GPU needed).
* ``gpu`` (skip without a CUDA device): the same comparisons at real sizes on hardware. State paths, occupancy and
  event counts must be equal; sums agree to 1e-9 (bit for bit unless a transcendental function of libdevice and
  glibc differ in the last unit right at a uniform's threshold; see heecon/engine/microsim/gpu.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from heecon.engine.microsim import gpu as microsim_cuda

from .gpu_cases import FLAGSHIP, KRIJKAMP, ROOT, kernel_cases, result_diffs, run_diffs, scenario_runs, \
    write_feature_scenario

needs_gpu = pytest.mark.skipif(not microsim_cuda.available(), reason="no CUDA GPU (numba-cuda)")

# ---------------------------------------------------------------------------------------------------
# numba's CUDA simulator (runs everywhere)
# ---------------------------------------------------------------------------------------------------

SIM_CASES = ["fast_path", "all_features", "population_dose", "plain", "features_scenario", "flagship", "krijkamp"]


@pytest.fixture(scope="module")
def sim() -> dict:
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", HEECON_CUDASIM="1")
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "gpu_sim_run.py")], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        if "No module named" in proc.stderr and "simulator" in proc.stderr:
            pytest.skip("numba's CUDA simulator is not installed")
        raise AssertionError(f"the simulator run failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.cudasim
def test_simulator_is_never_picked_by_an_ordinary_run(sim):
    assert sim["simulator"] and sim["available"]  # opted in with HEECON_CUDASIM=1
    assert sim["available_without_opt_in"] is False


@pytest.mark.cudasim
@pytest.mark.parametrize("case", SIM_CASES)
def test_simulated_gpu_kernel_equals_cpu_bit_for_bit(sim, case):
    r = sim[case]
    assert r["diffs"] == [], f"{case}: {r['diffs']} differ from the CPU kernel"
    if case == "fast_path":  # people moved between states
        assert r["moved"]
    if case in ("all_features", "population_dose"):  # the features were exercised
        assert r["events"] > 0 and r["moved"]
    if case == "population_dose":
        assert r["moments"] == [False, False]  # no sums of squares on either device
    if case == "features_scenario":
        assert r["events"] > 0 and r["inc_se_finite"]
    if case == "flagship":  # a PSA chunk: means only, so no standard errors on either device
        assert r["events"] > 0 and not r["inc_se_finite"]


# ---------------------------------------------------------------------------------------------------
# Routing and limits (no GPU needed)
# ---------------------------------------------------------------------------------------------------


def test_routing_fast_path_only_where_it_gives_everything():
    plain = {"ev_rate": np.zeros((1, 1, 3, 2)), "tis_tr": np.ones((3, 3, 1))}
    assert microsim_cuda.gpu_path(plain) == "fast"
    assert microsim_cuda.gpu_path(plain, n_keep=1) == "general"  # per-cycle rewards, paired squares
    assert microsim_cuda.gpu_path({**plain, "start_state": np.zeros(4, np.int64)}) == "general"
    assert microsim_cuda.gpu_path(plain, n_cycles=microsim_cuda.MAX_POINTS) == "general"  # beyond the fast path's path
    ev = np.zeros((1, 1, 3, 2))
    ev[0, 0, 1, 0] = 0.1
    assert microsim_cuda.gpu_path({"ev_rate": ev}) == "general"


def test_limits_of_the_general_kernel_name_what_is_too_large():
    P, V = np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 4, 2))
    assert microsim_cuda.unsupported(P, V, {}) is None
    big_r = microsim_cuda.unsupported(P, np.zeros((1, 1, 4, microsim_cuda.GENERAL_MAX_R + 1)), {})
    assert big_r is not None and "reward columns" in big_r
    many_ev = microsim_cuda.unsupported(P, V, {"ev_rate": np.zeros((1, 1, 4, microsim_cuda.GENERAL_MAX_E + 1))})
    assert many_ev is not None and "event types" in many_ev
    S = microsim_cuda.GENERAL_MAX_S_COV + 1
    beta = np.zeros((1, S, S, 1))
    beta[0, 0, 1, 0] = 1.0
    assert "covariates" in microsim_cuda.unsupported(np.zeros((1, 1, S, S)), V, {"beta_tr": beta})
    assert microsim_cuda.unsupported(np.zeros((1, 1, S, S)), V, {}) is None  # many states without covariates


def test_device_gpu_without_a_gpu_says_why(monkeypatch):
    from heecon.engine.microsim.evaluate import DeviceError, _use_gpu

    monkeypatch.setattr(microsim_cuda, "available", lambda: False)

    class M:
        P, V = np.zeros((1, 1, 3, 3)), np.zeros((1, 1, 3, 1))

    assert _use_gpu("auto", M, {}) is False
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        _use_gpu("gpu", M, {})
    monkeypatch.setattr(microsim_cuda, "available", lambda: True)
    M.V = np.zeros((1, 1, 3, microsim_cuda.GENERAL_MAX_R + 1))
    with pytest.raises(DeviceError, match="reward columns"):
        _use_gpu("gpu", M, {})
    assert _use_gpu("auto", M, {}) is False


# ---------------------------------------------------------------------------------------------------
# On a GPU
# ---------------------------------------------------------------------------------------------------


def _flagship_kernel_inputs(n_ind: int, n_samples: int):
    from heecon.model.population import centre_population, sample_population
    from heecon.model.microsim import compile_microsim
    from heecon import load_scenario
    from heecon.params.scenario_draws import draw_psa

    sc = load_scenario(FLAGSHIP)
    d = draw_psa(sc, n_samples, 3)
    arrays = compile_microsim(sc, {k: d[k] for k in d.names}, validate=False)
    X, cols, start = sample_population(sc, n_ind)
    kw = dict(arrays.kwargs)
    if start is not None:
        kw.pop("start_probs", None)
        kw["start_state"] = start
    m = arrays.model
    return (m.P, m.P_map, m.V, m.V_map, m.W), dict(kw, X=centre_population(sc, X, cols), n_ind=n_ind,
                                                    n_samples=n_samples, seed=sc.settings.seed)


@pytest.mark.gpu
@needs_gpu
def test_gpu_flagship_matches_cpu():
    from heecon.engine.microsim.cpu import simulate

    args, kw = _flagship_kernel_inputs(5000, 4)
    kw.update(n_keep=4, n_traj=200, sample_offset=10)
    cpu = simulate(*args, **kw)
    gpu = microsim_cuda.simulate_gpu_general(*args, **kw)
    assert cpu.ev_count.sum() > 0
    assert result_diffs(cpu, gpu, exact_sums=False) == []


@pytest.mark.gpu
@needs_gpu
def test_gpu_flagship_sums_bit_for_bit():
    """Stronger than the contract (1e-9): with every product that feeds a sum rounded on its own, the GPU's exact
    fixed-point sums equal the CPU's. A failure here with test_gpu_flagship_matches_cpu passing means a multiply-add
    was fused somewhere (see heecon.engine.microsim.twin.device_mul)."""
    from heecon.engine.microsim.cpu import simulate

    args, kw = _flagship_kernel_inputs(3000, 2)
    kw.update(n_keep=2)
    cpu = simulate(*args, **kw)
    gpu = microsim_cuda.simulate_gpu_general(*args, **kw)
    assert result_diffs(cpu, gpu, exact_sums=True) == []


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("case", ["all_features", "population_dose", "plain"])
def test_gpu_kernel_features_match_cpu(case):
    from heecon.engine.microsim.cpu import simulate

    kw = kernel_cases(3000, 3)[case]
    cpu = simulate(**kw)
    for extra in ({}, {"sample_batch": 2, "launch_individuals": 1024, "threads_per_block": 64}):
        gpu = microsim_cuda.simulate_gpu_general(**kw, **extra)
        assert result_diffs(cpu, gpu, exact_sums=False) == [], extra


@pytest.mark.gpu
@needs_gpu
def test_gpu_feature_scenario_with_population_file_matches_cpu(tmp_path):
    path = write_feature_scenario(tmp_path, n_people=500)
    cpu, gpu = scenario_runs(path, ["settings.individuals=4000"], 3, psa=False, n_traj=50)
    assert run_diffs(cpu, gpu, exact=False) == []
    assert np.isfinite(gpu.inc_se).all() and gpu.events.sum() > 0


@pytest.mark.gpu
@needs_gpu
def test_gpu_krijkamp_matches_cpu_on_both_gpu_paths():
    cpu, gpu = scenario_runs(KRIJKAMP, ["settings.individuals=20000"], 1, psa=False)  # kept output: general kernel
    assert run_diffs(cpu, gpu, exact=False) == []
    cpu0, gpu0 = scenario_runs(KRIJKAMP, ["settings.individuals=20000"], 2, psa=False, n_keep=0, n_traj=0)  # fast
    np.testing.assert_allclose(gpu0.totals, cpu0.totals, rtol=1e-9)


@pytest.mark.gpu
@needs_gpu
def test_device_gpu_base_case_of_the_flagship_matches_cpu():
    from heecon.outcomes.base_case import run_base_case
    from heecon import load_scenario

    over = ["settings.individuals=3000"]
    a = run_base_case(load_scenario(FLAGSHIP, over + ['settings.device="cpu"']))
    b = run_base_case(load_scenario(FLAGSHIP, over + ['settings.device="gpu"']))
    cols = [c for c in a.outcomes.columns if a.outcomes[c].dtype.kind == "f"]
    np.testing.assert_allclose(b.outcomes[cols], a.outcomes[cols], rtol=1e-9, atol=1e-12)
    assert np.array_equal(a.trace.to_numpy(), b.trace.to_numpy())
