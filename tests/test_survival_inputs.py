"""Survival curves as scenario inputs: [survival.NAME] and survival cells in [transitions] and event rates.

The engine's per-cycle probabilities must equal :func:`heecon.survival.transition_probabilities` exactly (the same
cumulative-hazard differences, bit for bit), on both clocks (time since model start: one matrix per cycle; time
in the state: the state expanded into sub-states), for every distribution, under the PSA's draws, in the cohort
model and the microsimulation; every malformed cell is reported at its key path.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

from heecon import load_scenario
from heecon.model.markov import compile_model
from heecon.scenario.errors import ScenarioError
from heecon.survival import (
    Exponential,
    Gamma,
    GeneralizedGamma,
    Gompertz,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    Weibull,
    transition_probabilities,
)

BASE = """
[settings]
cycle_length_months = CYCLE
horizon_cycles = T
counting = "half-cycle"
sectors = ["nhs"]
ENGINE
[parameters]
os_shape = 1.3
os_scale = 6.0
p_HS = 0.1
c_S = 1000
[survival.os]
distribution = "weibull"
shape = "os_shape"
scale = "os_scale"
units = "UNITS"
CURVE_EXTRA
[states.H]
utility = 1
[states.S]
utility = 0.6
costs = { nhs = "c_S" }
[states.D]
dead = true
[transitions]
H = { H = "C", S = "p_HS", D = HD }
S = { S = "C", D = SD }
[strategies.soc]
label = "soc"
[strategies.trt]
label = "trt"
"""


def scenario_text(*, hd="0.01", sd="0.05", cycle=12, T=10, units="years", curve_extra="", extra="", engine=""):
    return textwrap.dedent(BASE.replace("CYCLE", str(cycle)).replace("T", str(T), 1).replace("UNITS", units)
                           .replace("CURVE_EXTRA", curve_extra).replace("HD", hd).replace("SD", sd)
                           .replace("ENGINE", engine) + extra)


def scenario(tmp_path, *, name="s.toml", **kw):
    p = tmp_path / name
    p.write_text(scenario_text(**kw), encoding="utf-8")
    return load_scenario(p)


def row(model, frm, to, strategy=0, sample=0):
    """The engine's probability frm -> to at every cycle."""
    a, b = model.state_names.index(frm), model.state_names.index(to)
    return np.array([model.P[sample, model.P_map[strategy, k], a, b] for k in range(model.n_cycles)])


SINCE = '{ survival = "os", time = "since_start" }'
IN_STATE = '{ survival = "os", time = "in_state" }'


def test_since_start_equals_transition_probabilities_exactly(tmp_path):
    sc = scenario(tmp_path, hd=SINCE)
    m = compile_model(sc)
    expected = transition_probabilities(Weibull(1.3, 6.0), 1.0, 10)
    np.testing.assert_array_equal(row(m, "H", "D"), expected)
    # the complement takes the rest; every cycle has its own matrix
    np.testing.assert_allclose(row(m, "H", "H"), 1 - 0.1 - expected, rtol=0, atol=1e-15)
    assert len(set(m.P_map[0])) == 10


def test_months_curve_quarterly_cycles_and_an_offset(tmp_path):
    """A curve fitted in months, 3-month cycles, 2 years of follow-up already elapsed on the curve's clock."""
    sc = scenario(tmp_path, hd=SINCE, cycle=3, T=16, units="months", curve_extra="offset = 2")
    np.testing.assert_array_equal(row(compile_model(sc), "H", "D"),
                                  transition_probabilities(Weibull(1.3, 6.0), 0.25, 16, offset=2.0, units_per_year=12.0))


def test_in_state_expands_the_state_and_equals_the_curve_by_time_in_state(tmp_path):
    sc = scenario(tmp_path, sd=IN_STATE)
    m = compile_model(sc)
    assert sc.states["S"].clock == 10
    assert m.state_names == ["H"] + [f"S[{j}]" for j in range(1, 11)] + ["D"]
    p = transition_probabilities(Weibull(1.3, 6.0), 1.0, 10)
    rows = [m.state_names.index(f"S[{j}]") for j in range(1, 11)]
    d = m.state_names.index("D")
    np.testing.assert_array_equal(m.P[0, 0, rows, d], p)
    for j, r in enumerate(rows):  # staying moves one cycle on; the last sub-state holds
        nxt = rows[min(j + 1, 9)]
        assert m.P[0, 0, r, nxt] == pytest.approx(1 - p[j], abs=1e-15)
    # entering S goes to S[1]
    assert m.P[0, 0, 0, rows[0]] == pytest.approx(0.1)
    assert len(set(m.P_map[0])) == 1  # time in state needs no matrix per cycle


def test_in_state_cohort_follows_the_survival_curve(tmp_path):
    """Everyone starts in S: the share still in S at point k is S(k dt) of the curve (to rounding)."""
    sc = scenario(tmp_path, sd=IN_STATE, cycle=6, T=30, extra='[start]\nstates = { S = 1 }\n')
    from heecon.outcomes.base_case import run_base_case

    trace = run_base_case(sc).trace
    s = trace[trace.strategy == "soc"]["S"].to_numpy()
    np.testing.assert_allclose(s, Weibull(1.3, 6.0).survival(np.arange(31) * 0.5), rtol=1e-13, atol=1e-15)


def test_max_cycles_caps_the_tracked_time_and_the_last_probability_carries_on(tmp_path):
    cell = '{ survival = "os", time = "in_state", max_cycles = 4 }'
    m = compile_model(scenario(tmp_path, sd=cell))
    assert m.state_names.count("S[4]") == 1 and "S[5]" not in m.state_names
    p = transition_probabilities(Weibull(1.3, 6.0), 1.0, 4)
    rows = [m.state_names.index(f"S[{j}]") for j in range(1, 5)]
    np.testing.assert_array_equal(m.P[0, 0, rows, m.state_names.index("D")], p)
    assert m.P[0, 0, rows[3], rows[3]] == pytest.approx(1 - p[3], abs=1e-15)


CURVES = [
    ('distribution = "exp"\nrate = 0.2', Exponential(0.2)),
    ('distribution = "gompertz"\nshape = 0.15\nrate = 0.05', Gompertz(0.15, 0.05)),
    ('distribution = "gompertz"\nshape = -0.4\nrate = 0.3', Gompertz(-0.4, 0.3)),
    ('distribution = "llogis"\nshape = 1.8\nscale = 4', LogLogistic(1.8, 4.0)),
    ('distribution = "lnorm"\nmeanlog = 1.2\nsdlog = 0.8', LogNormal(1.2, 0.8)),
    ('distribution = "gamma"\nshape = 1.7\nrate = 0.4', Gamma(1.7, 0.4)),
    ('distribution = "gengamma"\nmu = 1.1\nsigma = 0.7\nQ = -0.5', GeneralizedGamma(1.1, 0.7, -0.5)),
    ('distribution = "pwexp"\ncuts = [2, 5]\nrates = [0.1, "2 * r2", 0.3]', PiecewiseExponential([2, 5], [0.1, 0.4, 0.3])),
]


@pytest.mark.parametrize("spec, dist", CURVES, ids=[c[1].name + str(i) for i, c in enumerate(CURVES)])
def test_every_distribution_equals_transition_probabilities_exactly(tmp_path, spec, dist):
    extra = f"[survival.c]\n{spec}\nunits = \"years\"\n"
    text = BASE.replace("[states.H]", extra + "[states.H]")
    sc = None
    p = tmp_path / "d.toml"
    p.write_text(textwrap.dedent(text.replace("CYCLE", "6").replace("T", "20", 1).replace("UNITS", "years")
                                 .replace("CURVE_EXTRA", "").replace("HD", '{ survival = "c", time = "since_start" }')
                                 .replace("SD", '{ survival = "c", time = "in_state" }').replace("ENGINE", "")
                                 .replace("c_S = 1000", "c_S = 1000\nr2 = 0.2")), encoding="utf-8")
    sc = load_scenario(p)
    m = compile_model(sc)
    expected = transition_probabilities(dist, 0.5, 20)
    np.testing.assert_array_equal(row(m, "H", "D"), expected)
    rows = [m.state_names.index(f"S[{j}]") for j in range(1, 21)]
    np.testing.assert_array_equal(m.P[0, 0, rows, m.state_names.index("D")], expected)


def test_inline_curve_and_strategy_hazard_ratio_modifier(tmp_path):
    """An inline curve; a strategy's hr modifier on a survival cell is proportional hazards, 1 - exp(-hr dH)."""
    cell = '{ survival = "weibull", shape = "os_shape", scale = "os_scale", units = "years", time = "since_start" }'
    extra = '[[strategies.trt.modifiers]]\ntransitions = ["H -> D"]\nhr = 0.6\n'
    m = compile_model(scenario(tmp_path, hd=cell, extra=extra))
    base = transition_probabilities(Weibull(1.3, 6.0), 1.0, 10)
    np.testing.assert_array_equal(row(m, "H", "D", 0), base)
    h = np.diff(Weibull(1.3, 6.0).cumhaz(np.arange(11.0)))
    np.testing.assert_allclose(row(m, "H", "D", 1), -np.expm1(-0.6 * h), rtol=1e-14)
    # the curve's own hr: the same numbers
    m2 = compile_model(scenario(tmp_path, hd=SINCE, curve_extra="hr = 0.6", name="hr.toml"))
    np.testing.assert_allclose(row(m2, "H", "D", 0), -np.expm1(-0.6 * h), rtol=1e-14)


def test_psa_draws_of_the_coefficients_give_the_curves_probabilities(tmp_path):
    """The multivariate normal on the log coefficients (what fit-survival writes) drives the curve in the PSA."""
    from heecon.params.scenario_draws import draw_psa
    extra = """
[joints.os_weibull]
type = "mvnormal"
members = ["os_log_shape", "os_log_scale"]
mean = [0.26, 1.79]
cov = [[0.004, -0.001], [-0.001, 0.01]]
"""
    text_params = "os_log_shape = { value = 0.26, source = \"fit\" }\nos_log_scale = { value = 1.79, source = \"fit\" }\n"
    path = tmp_path / "psa.toml"
    path.write_text(scenario_text(hd=SINCE, extra=extra).replace("os_shape = 1.3\nos_scale = 6.0\n",
                                                text_params + 'os_shape = "exp(os_log_shape)"\nos_scale = "exp(os_log_scale)"\n'),
                    encoding="utf-8")
    sc = load_scenario(path)
    draws = draw_psa(sc, 16)
    m = compile_model(sc, {k: draws[k] for k in ("os_log_shape", "os_log_scale")})
    assert m.n_samples == 16
    for i in range(16):
        dist = Weibull(np.exp(draws["os_log_shape"][i]), np.exp(draws["os_log_scale"][i]))
        np.testing.assert_array_equal(row(m, "H", "D", 0, i), transition_probabilities(dist, 1.0, 10))


def test_a_tunnel_state_uses_its_own_cycles(tmp_path):
    text = BASE.replace("[states.S]\nutility = 0.6", "[states.S]\nutility = 0.6\ntunnel = 3\ntunnel_exit = \"H\"")
    text = text.replace("S = { S = \"C\", D = SD }", "S = { D = { survival = \"os\", time = \"in_state\" } }")
    p = tmp_path / "tun.toml"
    p.write_text(textwrap.dedent(text.replace("CYCLE", "12").replace("T", "10", 1).replace("UNITS", "years")
                                 .replace("CURVE_EXTRA", "").replace("HD", "0.01").replace("ENGINE", "")))
    m = compile_model(load_scenario(p))
    rows = [m.state_names.index(f"S[{j}]") for j in (1, 2, 3)]
    np.testing.assert_array_equal(m.P[0, 0, rows, m.state_names.index("D")],
                                  transition_probabilities(Weibull(1.3, 6.0), 1.0, 3))


def test_microsimulation_uses_the_same_matrices_and_survival_event_rates(tmp_path):
    """The microsimulation compiles the same transition matrices; an event rate from a curve is the cumulative
    hazard increment per cycle (since start), or by time in the state; and the simulated cohort follows the curve."""
    from heecon.model.microsim import compile_microsim
    from heecon.outcomes.base_case import run_base_case

    events = """
[events.relapse]
kind = "bernoulli"
rate = { H = { survival = "os", time = "since_start" }, S = { survival = "os", time = "in_state" } }
costs = { nhs = 10 }
"""
    sc = scenario(tmp_path, hd=SINCE, sd=IN_STATE, engine='engine = "microsim"\nindividuals = 4000\nseed = 11',
                  extra=events)
    cohort_like = compile_model(sc)
    arrays = compile_microsim(sc)
    np.testing.assert_array_equal(arrays.model.P, cohort_like.P)
    h = np.diff(Weibull(1.3, 6.0).cumhaz(np.arange(11.0)))
    ev = arrays.kwargs["ev_rate"]
    names = arrays.model.state_names
    hi, s1, s3 = names.index("H"), names.index("S[1]"), names.index("S[3]")
    np.testing.assert_array_equal([ev[0, arrays.kwargs["ev_map"][0, k], hi, 0] for k in range(10)], h)
    assert ev[0, 0, s1, 0] == h[0] and ev[0, 0, s3, 0] == h[2]
    # the simulated share in H tracks the cohort model's within Monte Carlo error
    res = run_base_case(sc).trace
    alive = res[res.strategy == "soc"]["H"].to_numpy()
    p = transition_probabilities(Weibull(1.3, 6.0), 1.0, 10)
    exact = np.concatenate([[1.0], np.cumprod(1 - 0.1 - p)])
    assert np.max(np.abs(alive - exact)) < 4 * np.sqrt(0.25 / 4000)


BAD = [
    ('{ survival = "nope", time = "since_start" }', "transitions.H.D.survival", "neither a [survival.NAME] curve"),
    ('{ survival = "os" }', "transitions.H.D.time", "say which clock"),
    ('{ survival = "os", time = "later" }', "transitions.H.D.time", "since_start"),
    ('{ survival = "os", time = "since_start", max_cycles = 3 }', "transitions.H.D.max_cycles", "in_state"),
    ('{ survival = "weibull", shape = 1.2, units = "years", time = "since_start" }', "transitions.H.D", "missing: scale"),
    ('{ survival = "weibull", shape = -1, scale = 2, units = "years", time = "since_start" }', "transitions.H.D",
     "must be > 0"),
    ('{ survival = "weibull", shape = 1, scale = 2, rate = 3, units = "years", time = "since_start" }',
     "transitions.H.D.rate", "not a parameter of a weibull"),
    ('{ survival = "weibull", shape = "nope_x", scale = 2, units = "years", time = "since_start" }',
     "transitions.H.D.shape", "unknown name 'nope_x'"),
    ('{ survival = "weibull", shape = 1, scale = 2, units = "fortnights", time = "since_start" }',
     "transitions.H.D.units", "years"),
    ('{ survival = "os", time = "since_start", extra = 1 }', "transitions.H.D.extra", "unknown key"),
    ('{ time = "since_start" }', "transitions.H.D", "survival cell"),
]


@pytest.mark.parametrize("cell, key, gist", BAD, ids=[b[2][:20] for b in BAD])
def test_malformed_survival_cells_are_reported_at_their_key(tmp_path, cell, key, gist):
    with pytest.raises(ScenarioError) as exc:
        scenario(tmp_path, hd=cell)
    assert any(p.key == key and gist in p.message for p in exc.value.problems), exc.value.problems


def test_malformed_curves_are_reported_at_their_key(tmp_path):
    with pytest.raises(ScenarioError) as exc:
        scenario(tmp_path, hd=SINCE, curve_extra='offset = -1\nhr = "missing_hr"')
    keys = {p.key for p in exc.value.problems}
    assert {"survival.os.offset"} <= keys, exc.value.problems
    with pytest.raises(ScenarioError) as exc:
        scenario(tmp_path, hd=SINCE, curve_extra="offset = 1", sd=IN_STATE)
    assert any(p.key == "transitions.S.D.time" and "offset" in p.message for p in exc.value.problems)
    # a parameter value that breaks the curve at compile time is reported at the cell, with the strategy
    with pytest.raises(ScenarioError, match=r"transitions\.H\.D.*must be > 0"):
        scenario(tmp_path, hd=SINCE, extra='[strategies.trt.parameters]\nos_shape = "-1"\n', name="neg.toml")
