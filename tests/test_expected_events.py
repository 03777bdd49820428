"""Events booked in expectation (`expected = true`): the same mean as drawn events, exact expected counts."""

from __future__ import annotations

import textwrap

import pytest

from heecon.outcomes.base_case import run_base_case
from heecon.scenario.errors import ScenarioError
from heecon import load_scenario

SCENARIO = """
[settings]
engine = "microsim"
individuals = 20000
cycle_length_months = 3
horizon_cycles = 12
counting = "half-cycle"
sectors = ["nhs"]
seed = 3
[parameters]
r_ae = 0.3
c_ae = 200
[states.Well]
utility = 0.8
[states.Dead]
dead = true
[transitions]
Well = { Well = "C", Dead = 0.02 }
[events.ae]
rate = { Well = "r_ae" }
costs = { nhs = "c_ae" }
EXPECTED
[strategies.a]
label = "a"
[strategies.b]
label = "b"
"""


def load(tmp_path, expected: str, extra: str = ""):
    p = tmp_path / f"s{len(expected)}{len(extra)}.toml"
    p.write_text(textwrap.dedent(SCENARIO.replace("EXPECTED", expected) + extra))
    return load_scenario(p)


def test_expected_events_match_drawn_events_in_mean(tmp_path):
    drawn = run_base_case(load(tmp_path, ""))
    exp = run_base_case(load(tmp_path, "expected = true"))
    d, e = drawn.outcomes.loc["a"], exp.outcomes.loc["a"]
    assert abs(d["nhs"] - e["nhs"]) < 4 * d["se_nhs"]
    # expected counts: rate x cycles spent alive at the start of each cycle, exactly
    alive = exp.trace[exp.trace.strategy == "a"]["Well"].to_numpy()[:-1]
    assert e["events:ae"] == pytest.approx(0.3 * alive.sum(), rel=1e-12)
    assert abs(d["events:ae"] - e["events:ae"]) < 0.02 * e["events:ae"]
    # no draw, so no Monte Carlo error from the events: the SE of the costs is smaller
    assert e["se_nhs"] < d["se_nhs"]


def test_expected_events_cannot_carry_counters_moves_or_modifiers(tmp_path):
    with pytest.raises(ScenarioError, match="cannot increment a counter or move people"):
        load(tmp_path, 'expected = true\ncounter = "n"')
    extra = '''
[[strategies.b.event_modifiers]]
events = ["ae"]
rr = 0.5
'''
    with pytest.raises(ScenarioError, match="cannot take a strategy rate ratio"):
        load(tmp_path, "expected = true", extra)
