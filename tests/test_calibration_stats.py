"""Calibration statistics on a synthetic microsimulation whose values are known by hand (docs13): mean_events,
state_share and ever_state over several states, and a target's own population/settings (``set = [...]``).

The model: H -> A with p_HA (0.3), H -> B with 0.2, else stay; A -> B with certainty (A lasts one cycle); B stays;
no deaths (p = 0). A drawn (Poisson) event "e" occurs at rate 1 per year in H only; cycles are one year.
Occupancy from everyone in H: after cycle 1 H 0.5, A 0.3, B 0.2; after cycle 2 H 0.25, A 0.15, B 0.6.
"""

from __future__ import annotations


import pytest

from heecon import scenario_from_dict
from heecon.calibration import evaluate_target, targets

from .scenario_factory import base_scenario

N = 40000
TOL = 0.015  # ~4 Monte Carlo standard errors at N = 40,000


def _raw(extra_targets):
    raw = base_scenario()
    raw["settings"].update({"engine": "microsim", "individuals": N, "cycle_length_months": 12, "horizon_years": 3,
                            "seed": 7})
    raw["parameters"] = {"p_HA": {"value": 0.3, "source": "test"}, "p_HB": 0.2, "c_H": 0, "u_S": 0.7}
    raw["states"] = {"H": {"label": "H", "utility": 1.0}, "A": {"label": "A", "utility": "u_S"},
                     "B": {"label": "B", "utility": "u_S"}, "D": {"label": "Dead", "dead": True}}
    raw["transitions"] = {"H": {"H": "C", "A": "p_HA", "B": "p_HB", "D": 0},
                          "A": {"B": "C", "D": 0}, "B": {"B": "C", "D": 0}}
    raw["strategies"] = {"soc": {"label": "soc"}, "trt": {"label": "trt"}}
    raw["events"] = {"e": {"expected": False, "label": "e", "rate": {"H": 1.0}}}
    raw["calibration"] = {"targets": extra_targets}
    return raw


def _value(t):
    sc = scenario_from_dict(_raw({"t": t}), "calib.toml")
    return evaluate_target(sc, targets(sc)[0], individuals=N)


def base(**kw):
    t = {"strategy": "soc", "target": 0.5, "tolerance": 0.5, "source": "test"}
    t.update(kw)
    return t


def test_ever_state_over_several_states():
    # A and B made absorbing: ever in {A, B} by cycle 2 = 1 - 0.5^2
    v = _value(base(statistic="ever_state", states=["A", "B"], cycles=2))
    assert v == pytest.approx(0.75, abs=TOL)
    # A alone absorbing: 0.3 in cycle 1, then 0.3 of the 0.5 still in H (B never enters A): 0.3 + 0.15
    v = _value(base(statistic="ever_state", states=["A"], cycles=2))
    assert v == pytest.approx(0.45, abs=TOL)


def test_state_share_over_several_states():
    # person-time at points 1..2: A 0.3 + 0.15 = 0.45 of (H+A+B) 2.0 -> 0.225; {A, B} share = (0.45 + 0.8) / 2
    v = _value(base(statistic="state_share", states=["A"], of_states=["H", "A", "B"], cycles=2))
    assert v == pytest.approx(0.225, abs=TOL)
    v = _value(base(statistic="state_share", states=["A", "B"], of_states=["H", "A", "B"], cycles=2))
    assert v == pytest.approx(0.625, abs=TOL)


def test_mean_events_and_a_targets_own_settings():
    v = _value(base(statistic="mean_events", events=["e"], cycles=2))
    with_set = _value(base(statistic="mean_events", events=["e"], cycles=2, set=["parameters.p_HA=0"]))
    # a drawn event counts from the state at the start of each cycle: H 1 + 0.5 = 1.5 events per person in 2 cycles;
    # the target's own setting p_HA = 0 leaves 0.8 in H after cycle 1: 1 + 0.8 = 1.8
    assert v == pytest.approx(1.5, abs=0.03)
    assert with_set == pytest.approx(1.8, abs=0.03)
    share = _value(base(statistic="state_share", states=["A"], of_states=["H", "A", "B"], cycles=2,
                        set=["parameters.p_HA=0"]))
    assert share == 0.0  # nobody ever enters A once the target's own setting closes H -> A


def test_mean_events_of_an_event_booked_in_expectation():
    # the same event with expected = true: its count comes from the occupancy, exactly 1 + 0.5 = 1.5 in expectation
    # (it was NaN before: the occupancy it needs was not kept)
    raw = _raw({"t": base(statistic="mean_events", events=["e"], cycles=2)})
    raw["events"]["e"]["expected"] = True
    sc = scenario_from_dict(raw, "calib.toml")
    v = evaluate_target(sc, targets(sc)[0], individuals=N)
    assert v == pytest.approx(1.5, abs=0.03)
