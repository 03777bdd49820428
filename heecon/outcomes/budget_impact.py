"""Budget impact: what adopting a strategy costs each payer, year by year, for the people who would start it.

A scenario's ``[budget_impact]`` section (see docs/budget-impact.md) gives a referral funnel, service capacity,
an uptake ramp and the share of each sector's savings that is cashable. Then, for budget years y = 1..``years``:

* **starters** in year y = min(capacity, referrals x share_assessed x share_eligible x share_starting x
  uptake[y]), with referrals = sites x referred_per_site_year and capacity = sites x groups_per_site x
  places_per_group x starts_per_place_year;
* each cohort of starters incurs the model's **undiscounted** per-person costs of the strategy minus those of
  the comparator, by sector and year since starting (the start-of-model costs fall in its first year);
* summing the cohorts gives each sector's change in spending per budget year; a sector whose costs rise that
  year adds to its payer's ``gross_cost``, one whose costs fall adds to ``savings``; ``net_cost`` = gross_cost -
  savings; ``cashable_savings`` = the ``cashable`` share of each sector's savings, the rest
  ``non_cashable_savings``.

Budget impact analysis is undiscounted by convention (ISPOR 2014 good practice: Sullivan et al., Value Health
2014;17:5-14); ``discount = true`` (the scenario's cost discount rate) or a rate discounts year y by its start.

The model's per-cycle results (``BaseCaseResult.per_cycle``) are discounted. The undiscounted per-cycle costs
are computed exactly by running the same base case again with both discount rates set to zero: the
microsimulation's random numbers are keyed by (seed, sample, individual, cycle, stream), so every individual
follows the same path and only the weights change; the undiscounted totals of that run are checked against
the result's ``*_undiscounted`` outcomes.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from heecon.scenario.budget_spec import ENTRY_OFFSETS, BudgetSpec, read_budget_spec
from heecon.model.markov import parameter_value

__all__ = ["BudgetImpact", "BudgetSpec", "budget_impact_details", "read_budget_spec", "referral_funnel", "undiscounted_per_cycle", "per_person_by_year",
           "budget_impact", "budget_totals", "BUDGET_COLUMNS"]

BUDGET_COLUMNS = ["year", "payer", "gross_cost", "savings", "net_cost", "cashable_savings", "non_cashable_savings",
                  "starters"]

def scenario_budget(scenario: Any) -> BudgetSpec:
    """The scenario's parsed ``[budget_impact]`` section (``Scenario.budget``, parsed at load)."""
    spec = getattr(scenario, "budget", None)
    return read_budget_spec(scenario) if spec is None else spec  # None: the reader says what is missing


# ------------------------------------------------------------------------------------------------- funnel


def referral_funnel(spec: BudgetSpec) -> pd.DataFrame:
    """People at each step of the referral funnel per budget year, and the starters after capacity.

    Columns: ``year, referred, assessed, eligible, willing_to_start, uptake, demand, capacity, starters,
    capacity_binds, completers`` (expected numbers, not rounded).
    """
    rows = []
    for y, u in enumerate(spec.uptake, start=1):
        referred = spec.referrals_per_year
        assessed = referred * spec.share_assessed
        eligible = assessed * spec.share_eligible
        willing = eligible * spec.share_starting
        demand = willing * u
        cap = spec.capacity_per_year
        starters = min(cap, demand)
        rows.append({"year": y, "referred": referred, "assessed": assessed, "eligible": eligible,
                     "willing_to_start": willing, "uptake": u, "demand": demand, "capacity": cap,
                     "starters": starters, "capacity_binds": bool(demand > cap),
                     "completers": starters * spec.share_completing})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------- per-person costs by year


def _undiscounted_scenario(scenario: Any) -> Any:
    from heecon.scenario.types import DiscountSchedule

    zero = DiscountSchedule.constant(0.0)
    st = dataclasses.replace(scenario.settings, discount_costs=zero, discount_effects=zero)
    analyses = scenario.analyses
    if analyses is not None and analyses.cba is not None:  # the cost-benefit QALY column too
        analyses = dataclasses.replace(analyses, cba=dataclasses.replace(analyses.cba, discount_effects=zero))
    return dataclasses.replace(scenario, settings=st, analyses=analyses)


def undiscounted_per_cycle(result: Any) -> pd.DataFrame:
    """Undiscounted rewards per person per cycle (``strategy, cycle`` and one column per reward).

    Uses ``result.per_cycle_undiscounted`` when the result has it; ``result.per_cycle`` when the scenario does
    not discount; otherwise runs the base case again with zero discount rates (same random numbers, so the same
    individual paths) and checks its totals against the result's undiscounted outcomes. Cached on the result.
    """
    cached = getattr(result, "per_cycle_undiscounted", None)
    if cached is not None:
        return cached
    sc = result.scenario
    st = sc.settings
    if set(st.discount_costs.rates) == {0.0} and set(st.discount_effects.rates) == {0.0}:
        frame = result.per_cycle
    else:
        from heecon.outcomes.base_case import run_base_case

        again = run_base_case(_undiscounted_scenario(sc))
        want = np.asarray(result.totals)[:, :, 1]
        got = np.asarray(again.totals)[:, :, 0]
        if want.shape != got.shape or not np.allclose(got, want, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(want).max())):
            raise RuntimeError(
                "The undiscounted re-run of the base case does not reproduce the result's undiscounted totals "
                f"(largest difference {np.abs(got - want).max():.3g}); the result was not made from this scenario "
                "as it stands, so its per-cycle costs cannot be undiscounted exactly.")
        frame = again.per_cycle
    result.per_cycle_undiscounted = frame
    return frame


def per_person_by_year(result: Any, years: int, sectors: Sequence[str] | None = None, *,
                       entry: str = "start") -> np.ndarray:
    """Undiscounted cost per person ``[n_strategies, years, n_sectors]`` by year since starting.

    Year 0 holds the start-of-model costs and every cycle that falls in the first year after starting
    (``entry="mid-year"``: cohorts start half-way through their first budget year, so year 0 holds the first
    six months). A cycle that straddles a year boundary is split in proportion to its time in each year.
    Each cycle's costs are those the model books in it, under the scenario's within-cycle convention.
    """
    sc = result.scenario
    st = sc.settings
    sectors = list(sc.sectors) if sectors is None else list(sectors)
    pc = undiscounted_per_cycle(result)
    offset = ENTRY_OFFSETS[entry]
    dt = st.cycle_years
    T = st.n_cycles
    # share of cycle k (1..T), spanning [offset + (k-1)dt, offset + k dt), that falls in year y
    alloc = np.zeros((T, years))
    for k in range(1, T + 1):
        a, b = offset + (k - 1) * dt, offset + k * dt
        for y in range(years):
            ov = max(0.0, min(b, y + 1) - max(a, y))
            alloc[k - 1, y] = ov / dt
    start = np.asarray(result.model.start_rewards)[0]  # [n_strat, R] at time 0 (no discounting applies)
    names = list(result.model.reward_names)
    y0 = int(math.floor(offset))
    out = np.zeros((len(sc.strategies), years, len(sectors)))
    for i, s in enumerate(sc.strategies):
        f = pc[pc["strategy"] == s].sort_values("cycle")
        if len(f) != T:
            raise ValueError(f"per-cycle results of strategy '{s}' have {len(f)} cycles; the model has {T}")
        vals = f[sectors].to_numpy(dtype=float)  # [T, n_sectors]
        out[i] = alloc.T @ vals
        if y0 < years:
            out[i, y0] += start[i, [names.index(x) for x in sectors]]
    return out


# ------------------------------------------------------------------------------------------------- budget


@dataclass
class BudgetImpact:
    """A budget impact and how it was made.

    Attributes
    ----------
    frame
        One row per budget year and payer (:data:`BUDGET_COLUMNS`).
    funnel
        :func:`referral_funnel`: people per year at each step, capacity and starters.
    by_sector
        Change in spending per budget year (rows) and sector (columns), summed over cohorts.
    per_person
        Undiscounted per-person cost of the strategy minus the comparator, by year since starting and sector.
    spec
        The parsed ``[budget_impact]`` section.
    """

    frame: pd.DataFrame
    funnel: pd.DataFrame
    by_sector: pd.DataFrame
    per_person: pd.DataFrame
    spec: BudgetSpec

    def totals(self) -> pd.DataFrame:
        return budget_totals(self.frame)


def budget_impact_details(result: Any, scenario: Any = None, *, spec: BudgetSpec | None = None) -> BudgetImpact:
    """:func:`budget_impact` with its funnel, its change in spending by sector and its per-person increments."""
    scenario = result.scenario if scenario is None else scenario
    spec = scenario_budget(scenario) if spec is None else spec
    sc = result.scenario
    strategies = list(sc.strategies)
    sectors = list(sc.sectors)
    funnel = referral_funnel(spec)
    starters = funnel["starters"].to_numpy(dtype=float)
    pp = per_person_by_year(result, spec.years, sectors, entry=spec.entry)
    inc = pp[strategies.index(spec.strategy)] - pp[strategies.index(spec.comparator)]  # [years since start, sectors]
    n = spec.years
    for x in spec.replaces:  # the service's cost is the fixed cost below, not the per-person cost of places
        inc[:, sectors.index(x)] = 0.0
    by_sector = np.zeros((n, len(sectors)))
    for y in range(n):  # the cohort starting in budget year y+1
        for t in range(n - y):
            by_sector[y + t] += starters[y] * inc[t]
    for x, name in spec.fixed_costs.items():
        by_sector[:, sectors.index(x)] += spec.sites * parameter_value(sc, name)
    for x, name in spec.setup_costs.items():
        by_sector[0, sectors.index(x)] += spec.sites * parameter_value(sc, name)
    if spec.discount_rate is not None:
        by_sector *= ((1.0 + spec.discount_rate) ** -np.arange(n))[:, None]
    rows = []
    for y in range(n):
        for payer, secs in spec.payers.items():
            d = np.array([by_sector[y, sectors.index(x)] for x in secs])
            gross = float(np.clip(d, 0, None).sum())
            sav_by = np.clip(-d, 0, None)
            savings = float(sav_by.sum())
            cash = float(sum(spec.cashable[x] * v for x, v in zip(secs, sav_by)))
            rows.append({"year": y + 1, "payer": payer, "gross_cost": gross, "savings": savings,
                         "net_cost": gross - savings, "cashable_savings": cash,
                         "non_cashable_savings": savings - cash, "starters": float(starters[y])})
    frame = pd.DataFrame(rows, columns=BUDGET_COLUMNS)
    bs = pd.DataFrame(by_sector, columns=sectors)
    bs.insert(0, "year", np.arange(1, n + 1))
    ppf = pd.DataFrame(inc, columns=sectors)
    ppf.insert(0, "year_since_start", np.arange(n))
    return BudgetImpact(frame, funnel, bs, ppf, spec)


def budget_impact(result: Any, scenario: Any = None, *, spec: BudgetSpec | None = None) -> pd.DataFrame:
    """The budget impact of adopting ``spec.strategy`` instead of the comparator, by budget year and payer.

    Parameters
    ----------
    result
        The scenario's :class:`heecon.outcomes.base_case.BaseCaseResult`.
    scenario
        The scenario holding the ``[budget_impact]`` section (default ``result.scenario``).
    spec
        A parsed section (default: read from ``scenario``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BUDGET_COLUMNS` (``year, payer, gross_cost, savings, net_cost, cashable_savings,
        non_cashable_savings, starters``): one row per budget year and payer, in the scenario's currency and
        price year, undiscounted unless the section says otherwise. :func:`budget_impact_details` also returns
        the funnel, the change in spending by sector and the per-person increments.
    """
    return budget_impact_details(result, scenario, spec=spec).frame


def budget_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """Totals over the budget years per payer, and over all payers (``payer = "All payers"``)."""
    cols = [c for c in BUDGET_COLUMNS if c not in ("year", "payer", "starters")]
    t = frame.groupby("payer", sort=False)[cols].sum().reset_index()
    allp = t[cols].sum().to_frame().T
    allp.insert(0, "payer", "All payers")
    return pd.concat([t, allp], ignore_index=True)
