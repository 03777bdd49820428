"""Budget impact with fixed costs per site-year and one-off set-up costs per site: a closed-form hand case (docs13)."""

from __future__ import annotations

import numpy as np

from heecon import scenario_from_dict
from heecon.outcomes.base_case import run_base_case
from heecon.outcomes.budget_impact import budget_impact_details

from .test_budget_impact import tiny_raw


def _raw(**budget):
    raw = tiny_raw(**budget)
    raw["parameters"].update({
        "c_team_site_year": {"value": 120000, "source": "test: team cost per site-year"},
        "c_setup_site": {"value": 30000, "source": "test: set-up per site"},
    })
    return raw


def test_fixed_and_setup_costs_closed_form():
    # 2 sites; NHS per-person costs replaced by the team: NHS = 2 x 120,000 a year + 2 x 30,000 in year 1 only
    raw = _raw(fixed_costs={"nhs": "c_team_site_year"}, setup_costs={"nhs": "c_setup_site"}, replaces=["nhs"])
    sc = scenario_from_dict(raw, "tiny.toml")
    bi = budget_impact_details(run_base_case(sc))
    nhs = bi.by_sector["nhs"].to_numpy()
    np.testing.assert_allclose(nhs, [300000.0, 240000.0, 240000.0])
    health = bi.frame[bi.frame["payer"] == "health"]
    np.testing.assert_allclose(health["gross_cost"].to_numpy(), [300000.0, 240000.0, 240000.0])
    np.testing.assert_allclose(health["savings"].to_numpy(), 0.0)


def test_fixed_costs_leave_other_sectors_unchanged_and_add_without_replaces():
    plain = scenario_from_dict(_raw(), "tiny.toml")
    res = run_base_case(plain)
    base = budget_impact_details(res)
    fixed = budget_impact_details(res, scenario_from_dict(_raw(fixed_costs={"nhs": "c_team_site_year"}), "tiny.toml"))
    np.testing.assert_allclose(fixed.by_sector["prisons"], base.by_sector["prisons"])
    # without `replaces` the fixed cost is added on top of the per-person NHS increments
    np.testing.assert_allclose(fixed.by_sector["nhs"] - base.by_sector["nhs"], [240000.0] * 3)
