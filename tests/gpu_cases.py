"""Models and comparisons shared by the GPU tests (tests/test_gpu_general.py) on a GPU and in numba's CUDA simulator
(tests/gpu_sim_run.py): the kernel-level feature models of tests/test_microsim_kernel.py, a scenario with every
microsimulation feature and a population file, the flagship and Krijkamp scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "mbt_aspd_vs_pau.toml"
KRIJKAMP = ROOT / "scenarios" / "published" / "krijkamp_microsim.toml"

#: A scenario with every feature the general GPU kernel covers: a population file with start states and attributes,
#: covariates on transitions (attribute and counter) and on events (attribute and counter), time-in-state multipliers,
#: Poisson (one with a mean above 30, drawn in pieces) and Bernoulli events, event-driven moves into a tunnel state
#: and out of illness (so that their precedence matters), a history counter, treatment engagement with dose-scaled
#: effect, dropout and a Beta(0.8, 2) propensity (shape below 1), and a waning strategy rate ratio.
FEATURES_TOML = """
title = "GPU feature model"
[settings]
engine = "microsim"
individuals = 64
cycle_length_months = 12
horizon_cycles = 10
counting = "half-cycle"
discount_costs = 0.035
discount_effects = 0.035
sectors = ["nhs", "police"]
comparator = "soc"
seed = 7

[population]
file = "people.csv"

[parameters]
p_WI = 0.15
p_IW = 0.3
p_die = 0.02
r_arrest = 0.3
c_arrest = 500

[[covariates]]
transitions = ["Well -> Ill"]
attribute = "risk"
coefficient = 0.4

[[covariates]]
transitions = ["Well -> Ill"]
counter = "arrests"
coefficient = 0.2

[[covariates]]
events = ["arrest"]
counter = "arrests"
coefficient = 0.1

[[covariates]]
events = ["arrest", "ae"]
attribute = "age"
centre = 40
coefficient = 0.02

[[time_in_state]]
transition = "Ill -> Well"
multipliers = [1.5, 1.0, 0.7]

[events.arrest]
kind = "poisson"
rate = { Well = "r_arrest", Ill = "r_arrest * 2" }
costs = { police = "c_arrest" }
counter = "arrests"
moves_to = "Custody"
move_probability = 0.3

[events.ae]
kind = "bernoulli"
rate = { Ill = 0.4 }
costs = { nhs = 200 }
qalys = -0.01

[events.contacts]
kind = "poisson"
rate = { Ill = 31 }
costs = { nhs = 1.5 }
moves_to = "Well"
move_probability = 0.01

[states.Well]
utility = 0.9
costs = { nhs = 100 }
[states.Ill]
utility = 0.6
costs = { nhs = 1000 }
[states.Custody]
utility = 0.7
tunnel = 2
tunnel_exit = "Well"
costs = { police = 3000 }
[states.Dead]
dead = true

[transitions]
Well = { Well = "C", Ill = "p_WI", Dead = "p_die" }
Ill = { Ill = "C", Well = "p_IW", Dead = "p_die * 3" }

[strategies.soc]
label = "Usual care"

[strategies.trt]
label = "Programme"

[strategies.trt.engagement]
sessions = 2.5
cycles = [1, 4]
attendance = { alpha = 0.8, beta = 2 }
dropout = 0.1
cost_per_session = { nhs = 40 }
cost_per_place = { nhs = 25 }
effect = "dose"
states = ["Well", "Ill"]

[[strategies.trt.event_modifiers]]
events = ["arrest"]
rr = 0.6
cycles = [1, 6]
waning_until = 9
"""


def write_feature_scenario(directory: Path, n_people: int = 50) -> Path:
    """Write FEATURES_TOML and its population file (start states, ages, risk scores) into ``directory``."""
    g = np.random.default_rng(3)
    st = g.choice(["Well", "Ill", "Custody"], n_people, p=[0.6, 0.3, 0.1])
    age = g.uniform(20, 70, n_people).round(1)
    risk = g.normal(0, 1, n_people).round(3)
    rows = ["state,age,risk"] + [f"{a},{b},{c}" for a, b, c in zip(st, age, risk)]
    (directory / "people.csv").write_text("\n".join(rows) + "\n")
    path = directory / "features.toml"
    path.write_text(FEATURES_TOML)
    return path


def kernel_cases(n: int, n_samp: int) -> dict[str, dict[str, Any]]:
    """Keyword arguments of microsim.simulate for kernel-level comparisons (tests/test_microsim_kernel.py's models).

    all_features: covariates, counters, time in state, complement -1, Poisson (mean 40: pieces), Bernoulli, moves of
    two event types to different states,
    engagement (ITT and dose, Beta propensity with a shape below 1, dropout, fractional sessions), kept samples.
    population_dose: the same with start states and supplied propensities, both strategies dose-scaled, no sums
    of squares (moments=False, as a PSA asks).
    plain: transitions and rewards only, with start states (a population file), a horizon of 20 cycles.
    """
    from .test_microsim_kernel import full_features, small_model

    g = np.random.default_rng(8)
    common = dict(n_ind=n, n_samples=n_samp, seed=11, sample_offset=3, ind_offset=7, n_keep=n_samp, n_traj=n)
    full = dict(common, **full_features(small_model(seed=5, n_samp=n_samp), n))
    # a second event with its own destination, so that the precedence of event-driven moves matters
    full.update(ev_move_state=np.array([3, 2, -1]), ev_move_prob=np.array([[0.5, 0.7, 0.0]]))
    pop = dict(full, start_state=g.integers(0, 4, n), eng_propensity=g.uniform(0, 1, n), eng_mode=np.array([1, 1]),
               n_keep=1, seed=12, moments=False)
    pop.pop("start_probs")
    plain = dict(common, **small_model(seed=6, n_samp=n_samp, T=20), start_state=g.integers(0, 5, n), n_keep=1)
    plain.pop("start_probs")
    return {"all_features": full, "population_dose": pop, "plain": plain}


def result_diffs(cpu: Any, gpu: Any, exact_sums: bool = True) -> list[str]:
    """Names of the MicrosimResult outputs that differ (paths, counts exactly; sums exactly or to 1e-9)."""
    bad = [k for k in ("trajectories", "occupancy", "ev_count", "cycle_events")
           if not np.array_equal(getattr(cpu, k), getattr(gpu, k))]
    if exact_sums:
        bad += [k for k in ("acc", "cycle_rewards_fx") if not np.array_equal(getattr(cpu, k), getattr(gpu, k))]
    else:
        for k, atol in (("out_sum", 1e-9), ("out_sq", 1e-6), ("out_dsq", 1e-6), ("cycle_rewards", 1e-9)):
            if not np.allclose(getattr(cpu, k), getattr(gpu, k), rtol=1e-9, atol=atol):
                bad.append(k)
    return bad


RUN_FIELDS = ("totals", "se", "inc_se", "events", "occupancy", "cycle_rewards", "cycle_events", "trajectories")


def run_diffs(cpu: Any, gpu: Any, exact: bool = True) -> list[str]:
    """Names of the MicrosimRun fields (heecon.engine.microsim.evaluate) that differ between a CPU and a GPU run."""
    bad = []
    for k in RUN_FIELDS:
        a, b = getattr(cpu, k), getattr(gpu, k)
        if a is None or b is None:
            if (a is None) != (b is None):
                bad.append(k)
            continue
        if exact or k in ("events", "occupancy", "cycle_events", "trajectories"):
            ok = np.array_equal(a, b, equal_nan=True)
        else:
            ok = np.allclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)
        if not ok:
            bad.append(k)
    return bad


def scenario_runs(path: Path, overrides: list[str], n: int, *, psa: bool, n_keep: int = 1, n_traj: int = 4,
                  moments: bool = True) -> tuple[Any, Any]:
    """evaluate_microsim of a scenario on settings.device "cpu" and "gpu" (PSA draws for ``n`` sets if ``psa``)."""
    from heecon.engine.microsim.evaluate import evaluate_microsim
    from heecon import load_scenario
    from heecon.params.scenario_draws import draw_psa

    cpu = load_scenario(path, overrides + ['settings.device="cpu"'])
    gpu = load_scenario(path, overrides + ['settings.device="gpu"'])
    values = None
    if psa:
        d = draw_psa(cpu, n, 5)
        values = {k: d[k] for k in d.names}
    a = evaluate_microsim(cpu, values, n, n_keep=n_keep, n_traj=n_traj, moments=moments)
    b = evaluate_microsim(gpu, values, n, n_keep=n_keep, n_traj=n_traj, moments=moments)
    return a, b
