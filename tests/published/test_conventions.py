"""Every tool's counting and discounting convention, written as heecon settings (the table in docs/cea.md), checked
against figures computed without heecon's code.

Two kinds of figures:

* published: heemod's reproductions of Briggs, Claxton & Sculpher (2006) -- the HIV model (Exercise 2.5, heemod
  ``method = "end"``, ``discount(first = TRUE)``) and the total hip replacement model (Exercise 3.5, ``method =
  "beginning"``, ``discount(first = FALSE)``), from pierucci/heemod tests/testthat/test_dmhee.R (heemod >= 0.14,
  whose ``"beginning"``/``"end"`` are the reverse of earlier versions'); with a constant rate, moving discounting by a
  cycle multiplies every discounted reward after time 0 by (1 + r), so the other ``first`` follows exactly;
* each tool's own algorithm, transcribed below from its source (heemod ``correct_counts`` and ``discount``, hesim
  ``integrate_trapz`` and its Riemann sums, DARTH ``gen_wcc``, TreeAge Pro's initial/incremental/final rewards with
  ``Discount(value; rate; _stage)``, Amua's ``MarkovCohort`` with its discount start cycle) and run on a small model
  with NumPy matrix products: no heecon function computes these figures.

Tolerance: half a unit of the last published digit (5e-7 for costs and ICERs, 5e-8 for QALYs and life years);
1e-12 relative against the transcribed algorithms.
"""

from __future__ import annotations

import math
import re
import tomllib
from typing import Any, Callable

import numpy as np
import pytest

from heecon import load_scenario, scenario_from_dict
from heecon.outcomes.base_case import per_cycle_with_start, run_base_case

from ..conftest import ROOT, SCENARIOS

THR = SCENARIOS / "published" / "thr_briggs.toml"
HIV = SCENARIOS / "published" / "hiv_chancellor.toml"

# ---------------------------------------------------------------------------------------------- published figures

THR_PUBLISHED = {"standard": (512.434658, 14.6531896), "np1": (610.311818, 14.69770986)}
THR_ICER = 2198.486665
HIV_PUBLISHED = {"mono": (44663.4535637, 7.9912066), "comb": (50601.6513312, 8.9373889)}


@pytest.fixture(scope="module")
def thr():
    return run_base_case(load_scenario(THR))


def test_thr_heemod_beginning_first_false_matches_briggs_exercise_3_5(thr):
    """heemod method = "beginning" with discount(first = FALSE) is heecon's "beginning" (and the prosthesis, paid
    once at time 0, a start cost of each strategy)."""
    for s, (cost, qaly) in THR_PUBLISHED.items():
        assert thr.outcomes.loc[s, "costs"] == pytest.approx(cost, abs=5e-7)
        assert thr.outcomes.loc[s, "qalys"] == pytest.approx(qaly, abs=5e-8)
    assert thr.icers.set_index("strategy").loc["np1", "icer"] == pytest.approx(THR_ICER, abs=5e-7)


def test_thr_heemod_beginning_first_true_is_one_more_cycle_of_discounting():
    """heemod discount(first = TRUE) with "beginning": every reward after time 0 is discounted one cycle more,
    so costs (6%) are 394 + (512.434658 - 394) / 1.06 and QALYs (1.5%) 14.6531896 / 1.015."""
    res = run_base_case(load_scenario(THR, ["settings.discount_offset=-1"]))
    for s, prosthesis in (("standard", 394), ("np1", 579)):
        cost, qaly = THR_PUBLISHED[s]
        assert res.outcomes.loc[s, "costs"] == pytest.approx(prosthesis + (cost - prosthesis) / 1.06, abs=5e-7)
        assert res.outcomes.loc[s, "qalys"] == pytest.approx(qaly / 1.015, abs=5e-8)


def test_hiv_heemod_end_first_false_is_one_cycle_less_discounting():
    """heemod method = "end" with its default discount(first = FALSE): cycle t discounted by 1.06^-(t-1), i.e. the
    published first = TRUE costs times 1.06 (life years are undiscounted)."""
    res = run_base_case(load_scenario(HIV, ["settings.discount_offset=1"]))
    for s, (cost, ly) in HIV_PUBLISHED.items():
        assert res.outcomes.loc[s, "costs"] == pytest.approx(cost * 1.06, abs=5e-7 * 1.06)
        assert res.outcomes.loc[s, "lys"] == pytest.approx(ly, abs=5e-8)
        assert res.outcomes.loc[s, "costs_undiscounted"] == pytest.approx(
            run_base_case(load_scenario(HIV)).outcomes.loc[s, "costs_undiscounted"], rel=1e-12)


def test_thr_per_cycle_rows_with_the_time_0_row_sum_to_the_totals(thr):
    pc = per_cycle_with_start(thr)
    first = pc.groupby("strategy", sort=False).head(1)
    assert (first["cycle"] == 0).all()
    assert first.set_index("strategy")["health_care"].to_dict() == {"standard": 394.0, "np1": 579.0}
    for s in THR_PUBLISHED:
        f = pc[pc["strategy"] == s]
        assert list(f["cycle"]) == list(range(62))
        assert f["health_care"].sum() == pytest.approx(thr.outcomes.loc[s, "health_care"], rel=1e-12)
        assert f["qalys"].sum() == pytest.approx(thr.outcomes.loc[s, "qalys"], rel=1e-12)


# ------------------------------------------------------------------------- each tool's algorithm, transcribed

P = np.array([[0.80, 0.15, 0.05], [0.10, 0.70, 0.20], [0.0, 0.0, 1.0]])  # Well, Ill, Dead
COST = np.array([100.0, 1000.0, 0.0])  # per cycle
UTIL = np.array([1.0, 0.6, 0.0])
RC, RE = 0.05, 0.03


def _trace(T: int) -> np.ndarray:
    m = [np.array([1.0, 0.0, 0.0])]
    for _ in range(T):
        m.append(m[-1] @ P)
    return np.array(m)  # m_0 .. m_T


def heemod(method: str, first: bool, T: int, v: np.ndarray, r: float) -> float:
    """heemod >= 0.14: correct_counts (n0 = rows 1..T of the counts, n1 = rows 2..T+1; "end" -> n1, "beginning" ->
    n0, "life-table" -> (n0 + n1) / 2), then discount(x, r, first): x / (1 + r)^(seq_along(x) - (1 - first))."""
    counts = _trace(T)
    n0, n1 = counts[:-1], counts[1:]
    out = {"end": n1, "beginning": n0, "life-table": (n0 + n1) / 2}[method]
    x = out @ v
    dr = np.arange(1, T + 1) - (1 - int(first))
    return float(np.sum(x / (1 + r) ** dr))


def hesim(method: str, T: int, v: np.ndarray, r: float) -> float:
    """hesim: state probabilities at times t = 0..T (years), value exp(-dr t) * statval * prob at each, integrated
    by math::trapz (integrate_trapz), or by left / right Riemann sums."""
    t = np.arange(T + 1, dtype=float)
    f = np.exp(-r * t) * (_trace(T) @ v)
    step = np.diff(t)
    if method == "trapz":
        return float(np.sum(step * (f[:-1] + f[1:]) / 2))
    return float(np.sum(step * (f[:-1] if method == "riemann_left" else f[1:])))


def darth(method: str, T: int, v: np.ndarray, r: float) -> float:
    """DARTH: t(m_M %*% v) weighted by v_dw = 1 / (1 + r)^(0:n_cycles) and gen_wcc(n_cycles, method)."""
    v_cycles = np.arange(1, T + 2)
    if method == "Simpson1/3":
        wcc = (v_cycles % 2 == 0) * (2 / 3) + (v_cycles % 2 != 0) * (4 / 3)
        wcc[0] = wcc[T] = 1 / 3
    elif method == "half-cycle":
        wcc = np.ones(T + 1)
        wcc[0] = wcc[T] = 0.5
    else:
        wcc = np.ones(T + 1)
    dw = 1 / (1 + r) ** np.arange(T + 1)
    return float((_trace(T) @ v) @ (dw * wcc))


def treeage(hcc: bool, T: int, v: np.ndarray, r: float) -> float:
    """TreeAge Pro, traditional Markov cohort: termination _stage = T evaluated at the start of each cycle; at
    _stage 0 the initial reward, then the incremental reward, on the cohort starting the cycle in each state;
    at termination the final reward; every reward written as Discount(reward; r; _stage). Half-cycle correction:
    initial reward = incremental / 2, final reward = incremental / 2 (none without it)."""
    m = np.array([1.0, 0.0, 0.0])
    total, stage = 0.0, 0
    while True:
        disc = 1 / (1 + r) ** stage
        if stage == T:  # termination: final rewards, then stop
            if hcc:
                total += disc * (m @ (v / 2))
            return total
        reward = (v / 2 if hcc else v) if stage == 0 else v
        total += disc * (m @ reward)
        m = m @ P
        stage += 1


def amua(half_cycle: bool, last_t: int, start_cycle: int, v: np.ndarray, r: float) -> float:
    """Amua MarkovCohort.simulate: cycles t = 0, 1, ... until the termination condition t == last_t holds; each
    cycle's reward on the prevalence at its start; half-cycle correction halves cycle 0's and the last cycle's
    rewards; discount cycle disCycle = 0 while t < discountStartCycle, else t - discountStartCycle + 1."""
    m = np.array([1.0, 0.0, 0.0])
    rewards = []
    t = 0
    while True:
        rewards.append(m @ v)
        m = m @ P
        if t == 0 and half_cycle:
            rewards[0] *= 0.5
        if t == last_t:
            if half_cycle:
                rewards[-1] *= 0.5
            break
        t += 1
    total = 0.0
    for t, x in enumerate(rewards):
        dis = 0 if t < start_cycle else t - start_cycle + 1
        total += x / (1 + r) ** dis
    return total


T = 10
Oracle = Callable[[np.ndarray, float], float]
# (tool, its setting) -> (heecon settings, the tool's figure for rewards v at rate r)
ROWS: dict[tuple[str, str], tuple[dict[str, Any], Oracle]] = {
    ("heemod >= 0.14", 'method = "end", discount(first = TRUE)'):
        ({"counting": "end"}, lambda v, r: heemod("end", True, T, v, r)),
    ("heemod >= 0.14", 'method = "end", discount(first = FALSE) (the default)'):
        ({"counting": "end", "discount_offset": 1}, lambda v, r: heemod("end", False, T, v, r)),
    ("heemod >= 0.14", 'method = "beginning", discount(first = FALSE)'):
        ({"counting": "beginning"}, lambda v, r: heemod("beginning", False, T, v, r)),
    ("heemod >= 0.14", 'method = "beginning", discount(first = TRUE)'):
        ({"counting": "beginning", "discount_offset": -1}, lambda v, r: heemod("beginning", True, T, v, r)),
    ("heemod", 'method = "life-table" (the default), discount(first = FALSE)'):
        ({"counting": "life-table"}, lambda v, r: heemod("life-table", False, T, v, r)),
    ("heemod", 'method = "life-table", discount(first = TRUE)'):
        ({"counting": "life-table", "discount_offset": -1}, lambda v, r: heemod("life-table", True, T, v, r)),
    ("hesim", 'integrate_method = "trapz" (the default)'):
        ({"counting": "half-cycle", "discounting": "continuous"}, lambda v, r: hesim("trapz", T, v, r)),
    ("hesim", 'integrate_method = "riemann_left"'):
        ({"counting": "beginning", "discounting": "continuous"}, lambda v, r: hesim("riemann_left", T, v, r)),
    ("hesim", 'integrate_method = "riemann_right"'):
        ({"counting": "end", "discounting": "continuous"}, lambda v, r: hesim("riemann_right", T, v, r)),
    ("DARTH / dampack", 'gen_wcc(method = "none")'):
        ({"counting": "all-points"}, lambda v, r: darth("none", T, v, r)),
    ("DARTH / dampack", 'gen_wcc(method = "half-cycle")'):
        ({"counting": "half-cycle"}, lambda v, r: darth("half-cycle", T, v, r)),
    ("DARTH / dampack", 'gen_wcc(method = "Simpson1/3") (the default)'):
        ({"counting": "simpson"}, lambda v, r: darth("Simpson1/3", T, v, r)),
    ("TreeAge Pro", "traditional, no half-cycle correction, Discount(x; r; _stage)"):
        ({"counting": "beginning"}, lambda v, r: treeage(False, T, v, r)),
    ("TreeAge Pro", "traditional, half-cycle correction, Discount(x; r; _stage)"):
        ({"counting": "half-cycle"}, lambda v, r: treeage(True, T, v, r)),
    ("Amua", "no half-cycle correction, termination t == T - 1, discount start cycle 0 (the default)"):
        ({"counting": "beginning", "discount_offset": -1}, lambda v, r: amua(False, T - 1, 0, v, r)),
    ("Amua", "no half-cycle correction, termination t == T - 1, discount start cycle 3"):
        ({"counting": "beginning", "discount_offset": 2}, lambda v, r: amua(False, T - 1, 3, v, r)),
    ("Amua", "half-cycle correction, termination t == T, discount start cycle 1"):
        ({"counting": "half-cycle"}, lambda v, r: amua(True, T, 1, v, r)),
    ("Amua", "no half-cycle correction, termination t == T, discount start cycle 0"):
        ({"counting": "all-points", "discount_offset": -1}, lambda v, r: amua(False, T, 0, v, r)),
}


def _model(settings: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": "convention check",
        "settings": {"cycle_length_months": 12, "horizon_cycles": T, "discount_costs": RC, "discount_effects": RE,
                     "sectors": ["care"], **settings},
        "states": {"Well": {"utility": UTIL[0], "costs": {"care": COST[0]}},
                   "Ill": {"utility": UTIL[1], "costs": {"care": COST[1]}},
                   "Dead": {"dead": True}},
        "transitions": {"Well": {"Well": "C", "Ill": P[0, 1], "Dead": P[0, 2]},
                        "Ill": {"Well": P[1, 0], "Ill": "C", "Dead": P[1, 2]}},
        "strategies": {"only": {"label": "the model"}},
    }


@pytest.mark.parametrize("row", list(ROWS), ids=[f"{a}: {b}" for a, b in ROWS])
def test_each_convention_reproduces_the_tools_own_algorithm(row):
    settings, oracle = ROWS[row]
    res = run_base_case(scenario_from_dict(_model(settings)))
    o = res.outcomes.loc["only"]
    assert o["care"] == pytest.approx(oracle(COST, RC), rel=1e-12)
    assert o["qalys"] == pytest.approx(oracle(UTIL, RE), rel=1e-12)
    life = np.array([1.0, 1.0, 0.0])
    assert o["lys_undiscounted"] == pytest.approx(oracle(life, 0.0), rel=1e-12)


def test_the_discount_offset_changes_no_undiscounted_number():
    a = run_base_case(scenario_from_dict(_model({"counting": "end"}))).outcomes
    b = run_base_case(scenario_from_dict(_model({"counting": "end", "discount_offset": 1}))).outcomes
    und = [c for c in a.columns if c.endswith("_undiscounted")]
    assert (a[und] == b[und]).all().all()
    assert b.loc["only", "care"] == pytest.approx(a.loc["only", "care"] * (1 + RC), rel=1e-12)


def test_oracles_differ_so_the_rows_are_not_vacuous():
    figures = {row: fn(COST, RC) for row, (_, fn) in ROWS.items()}
    assert len({round(v, 6) for v in figures.values()}) >= 10
    assert math.isclose(heemod("end", False, T, COST, RC), (1 + RC) * heemod("end", True, T, COST, RC))


# ------------------------------------------------------------------------ the table in docs/cea.md is this table


def _doc_rows() -> dict[tuple[str, str], dict[str, Any]]:
    text = (ROOT / "docs" / "cea.md").read_text(encoding="utf-8")
    section = text.split("## Counting and discounting conventions of other tools", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not cells[2].startswith("`counting"):
            continue
        tool, setting = cells[0], cells[1].replace("`", "")
        rows[(tool, setting)] = tomllib.loads(re.sub(r",\s*(?=[a-z_]+ =)", "\n", cells[2].strip("`").replace("`, `", ", ")))
    return rows


def test_docs_table_lists_exactly_the_tested_conventions():
    doc = _doc_rows()
    assert set(doc) == set(ROWS), (sorted(set(doc) ^ set(ROWS)))
    for row, settings in doc.items():
        assert settings == ROWS[row][0], row
