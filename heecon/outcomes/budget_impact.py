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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from heecon.scenario.errors import Problem, ScenarioError

__all__ = ["BudgetImpact", "BudgetSpec", "budget_impact_details", "read_budget_spec", "referral_funnel", "undiscounted_per_cycle", "per_person_by_year",
           "budget_impact", "budget_totals", "budget_markdown", "budget_writer", "BUDGET_COLUMNS"]

BUDGET_COLUMNS = ["year", "payer", "gross_cost", "savings", "net_cost", "cashable_savings", "non_cashable_savings",
                  "starters"]

SECTION = "budget_impact"
_NUMBERS = ("sites", "referred_per_site_year", "share_assessed", "share_eligible", "share_starting",
            "share_completing", "groups_per_site", "places_per_group")
_SHARES = ("share_assessed", "share_eligible", "share_starting", "share_completing")
_OPTIONAL_NUMBERS = ("starts_per_place_year",)
_KEYS = set(_NUMBERS) | set(_OPTIONAL_NUMBERS) | {"years", "uptake", "discount", "cashable", "payers", "strategy",
                                                  "comparator", "entry", "source", "sources"}
# numbers that must have a [budget_impact.sources] entry (conventions such as discount/entry need none)
_SOURCED = ("years",) + _NUMBERS + ("uptake", "cashable")
_ENTRY = {"start": 0.0, "mid-year": 0.5}


@dataclass(frozen=True)
class BudgetSpec:
    """A parsed ``[budget_impact]`` section."""

    years: int
    sites: float
    referred_per_site_year: float
    share_assessed: float
    share_eligible: float
    share_starting: float
    share_completing: float
    groups_per_site: float
    places_per_group: float
    uptake: tuple[float, ...]
    cashable: dict[str, float]
    payers: dict[str, tuple[str, ...]]
    strategy: str
    comparator: str
    discount_rate: float | None = None  # None: undiscounted (the default)
    starts_per_place_year: float = 1.0
    entry: str = "start"
    source: str = ""
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def referrals_per_year(self) -> float:
        return self.sites * self.referred_per_site_year

    @property
    def capacity_per_year(self) -> float:
        return self.sites * self.groups_per_site * self.places_per_group * self.starts_per_place_year

    @property
    def starting_per_referral(self) -> float:
        return self.share_assessed * self.share_eligible * self.share_starting


# ------------------------------------------------------------------------------------------------- parsing


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def read_budget_spec(scenario: Any, raw: Mapping[str, Any] | None = None) -> BudgetSpec:
    """Parse and check ``scenario.raw["budget_impact"]`` (or ``raw``); every problem is reported at once.

    Raises
    ------
    ScenarioError
        With one :class:`Problem` per mistake, each naming its TOML key path (``budget_impact.uptake`` ...).
    """
    sec = scenario.raw.get(SECTION) if raw is None else raw
    problems: list[Problem] = []

    def bad(key: str, message: str) -> None:
        k = f"{SECTION}.{key}" if key else SECTION
        problems.append(Problem(scenario.origin(k) if hasattr(scenario, "origin") else str(scenario.path), k, message))

    if sec is None:
        bad("", "the scenario has no [budget_impact] section; add one (see docs/budget-impact.md) to compute "
                "a budget impact")
        raise ScenarioError(problems)
    if not isinstance(sec, Mapping):
        bad("", f"must be a table ([budget_impact] section), got {type(sec).__name__}")
        raise ScenarioError(problems)
    from heecon.scenario.errors import did_you_mean, valid_list

    for k in sec:
        if k not in _KEYS:
            bad(str(k), f"unknown key.{did_you_mean(str(k), _KEYS)} Valid: {valid_list(_KEYS)}.")
    sectors = list(scenario.sectors)
    strategies = list(scenario.strategies)

    # horizon
    years = sec.get("years")
    n_years = 0
    if years is None:
        bad("years", "missing: the number of budget years (e.g. years = 5)")
    elif isinstance(years, bool) or not isinstance(years, int) or years < 1:
        bad("years", f"must be a whole number of years >= 1, got {years!r}")
    else:
        n_years = int(years)
        horizon = scenario.settings.horizon_years
        if n_years > horizon + 1e-9:
            bad("years", f"{n_years} budget years need {n_years} years of model results per person, but the "
                         f"model's horizon is {horizon:g} years (settings.horizon_years); shorten the budget or "
                         "lengthen the horizon")

    # numbers
    vals: dict[str, float] = {}
    for k in _NUMBERS + _OPTIONAL_NUMBERS:
        if k not in sec:
            if k in _NUMBERS:
                bad(k, "missing" + (": a share between 0 and 1" if k in _SHARES else ": a positive number"))
            continue
        v = _num(sec[k])
        if v is None:
            bad(k, f"must be a number, got {sec[k]!r}")
        elif k in _SHARES and not 0.0 <= v <= 1.0:
            bad(k, f"is a share and must be between 0 and 1, got {v:g}")
        elif k not in _SHARES and v <= 0:
            bad(k, f"must be positive, got {v:g}")
        else:
            vals[k] = v

    # uptake ramp
    uptake: tuple[float, ...] = ()
    up = sec.get("uptake")
    if up is None:
        bad("uptake", "missing: the share of eligible referrals taken up in each budget year, e.g. "
                      "[0.5, 0.8, 1.0, 1.0, 1.0]")
    elif not isinstance(up, list) or not up:
        bad("uptake", f"must be a list of shares, one per budget year, got {up!r}")
    else:
        nums = [_num(u) for u in up]
        if any(u is None or not 0.0 <= u <= 1.0 for u in nums):
            bad("uptake", f"every entry must be a share between 0 and 1, got {up!r}")
        elif n_years and len(nums) != n_years:
            bad("uptake", f"has {len(nums)} entries but years = {n_years}: give one share per budget year")
        else:
            uptake = tuple(float(u) for u in nums)  # type: ignore[arg-type]

    # discounting
    rate: float | None = None
    disc = sec.get("discount", False)
    if isinstance(disc, bool):
        if disc:
            rates = scenario.settings.discount_costs.rates
            if len(rates) != 1:
                bad("discount", "true uses settings.discount_costs, which varies by year here; give a rate instead "
                                "(e.g. discount = 0.035)")
            else:
                rate = float(rates[0])
    elif _num(disc) is not None and 0.0 <= float(disc) < 1.0:
        rate = float(disc)
    else:
        bad("discount", f"must be false (the default: undiscounted), true (settings.discount_costs) or an annual "
                        f"rate in [0, 1), got {disc!r}")

    # payers
    from heecon.report.consequence import PAYER_GROUPS, payer_groups

    payers: dict[str, tuple[str, ...]] = {}
    praw = sec.get("payers")
    if praw is None:
        payers = payer_groups(sectors, PAYER_GROUPS)
    elif not isinstance(praw, Mapping) or not praw:
        bad("payers", "must be a table of payer = [sectors], e.g. { nhs = [\"nhs\", \"pss\"], justice = [\"police\"] }")
    else:
        seen: dict[str, str] = {}
        for name, secs in praw.items():
            if not isinstance(secs, list) or not secs or not all(isinstance(x, str) for x in secs):
                bad(f"payers.{name}", f"must be a non-empty list of sector names, got {secs!r}")
                continue
            for x in secs:
                if x not in sectors:
                    bad(f"payers.{name}", f"unknown sector '{x}'.{did_you_mean(x, sectors)} Valid: {valid_list(sectors)}.")
                elif x in seen:
                    bad(f"payers.{name}", f"sector '{x}' is already paid by '{seen[x]}'; each sector has one payer")
                else:
                    seen[x] = str(name)
            payers[str(name)] = tuple(x for x in secs if x in sectors)
        missing = [x for x in sectors if x not in seen]
        if missing:
            bad("payers", f"sectors {missing} have no payer; every sector of the scenario needs one")

    # cashable shares
    cashable: dict[str, float] = {}
    craw = sec.get("cashable")
    if craw is None:
        bad("cashable", "missing: the share of each sector's savings that is cashable, e.g. { nhs = 0.2, prisons = 0.1 }")
    elif not isinstance(craw, Mapping):
        bad("cashable", f"must be a table of sector = share, got {craw!r}")
    else:
        for x, v in craw.items():
            if x not in sectors:
                bad(f"cashable.{x}", f"unknown sector '{x}'.{did_you_mean(str(x), sectors)} Valid: {valid_list(sectors)}.")
            elif _num(v) is None or not 0.0 <= float(v) <= 1.0:
                bad(f"cashable.{x}", f"must be a share between 0 and 1, got {v!r}")
            else:
                cashable[x] = float(v)
        missing = [x for x in sectors if x not in craw]
        if missing:
            bad("cashable", f"no share for sectors {missing}: give every sector of the scenario a cashable share "
                            "(0 if none of its savings can be released)")

    # strategies
    comp = sec.get("comparator", scenario.settings.comparator)
    if comp not in strategies:
        bad("comparator", f"unknown strategy '{comp}'.{did_you_mean(str(comp), strategies)} Valid: {valid_list(strategies)}.")
    strat = sec.get("strategy")
    others = [s for s in strategies if s != comp]
    if strat is None:
        if len(others) == 1:
            strat = others[0]
        else:
            bad("strategy", f"the scenario compares {len(others)} strategies with '{comp}'; name the one adopted "
                            f"(one of {valid_list(others)})")
    elif strat not in others:
        bad("strategy", f"must be a strategy other than the comparator '{comp}': one of {valid_list(others)}, got {strat!r}")

    entry = sec.get("entry", "start")
    if entry not in _ENTRY:
        bad("entry", f"must be one of {valid_list(_ENTRY)} (when in the year each cohort starts), got {entry!r}")

    # sources
    source = sec.get("source", "")
    if not isinstance(source, str):
        bad("source", f"must be a string, got {source!r}")
        source = ""
    sources: dict[str, str] = {}
    sraw = sec.get("sources")
    if sraw is None:
        bad("sources", "missing: a [budget_impact.sources] table giving a source (or 'ASSUMPTION: why') for every "
                       f"number: {', '.join(k for k in _SOURCED if k in sec)}")
    elif not isinstance(sraw, Mapping):
        bad("sources", f"must be a table of key = \"source\", got {sraw!r}")
    else:
        for k, v in sraw.items():
            if k not in _KEYS - {"sources", "source"}:
                bad(f"sources.{k}", f"is not a key of [budget_impact].{did_you_mean(str(k), _KEYS)}")
            elif not isinstance(v, str) or not v.strip():
                bad(f"sources.{k}", "must be a non-empty string naming the source (or 'ASSUMPTION: ...')")
            else:
                sources[str(k)] = v
        needed = [k for k in _SOURCED + _OPTIONAL_NUMBERS if k in sec and k not in sraw]
        if needed:
            bad("sources", f"no source for {needed}: every number needs one (write 'ASSUMPTION: ...' where it is "
                           "a judgement)")
    if problems:
        raise ScenarioError(problems)
    return BudgetSpec(
        years=n_years, sites=vals["sites"], referred_per_site_year=vals["referred_per_site_year"],
        share_assessed=vals["share_assessed"], share_eligible=vals["share_eligible"],
        share_starting=vals["share_starting"], share_completing=vals["share_completing"],
        groups_per_site=vals["groups_per_site"], places_per_group=vals["places_per_group"], uptake=uptake,
        cashable=cashable, payers=payers, strategy=str(strat), comparator=str(comp), discount_rate=rate,
        starts_per_place_year=vals.get("starts_per_place_year", 1.0), entry=str(entry), source=source,
        sources=sources,
    )


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
    return dataclasses.replace(scenario, settings=st)


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
    offset = _ENTRY[entry]
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
    spec = read_budget_spec(scenario) if spec is None else spec
    sc = result.scenario
    strategies = list(sc.strategies)
    sectors = list(sc.sectors)
    funnel = referral_funnel(spec)
    starters = funnel["starters"].to_numpy(dtype=float)
    pp = per_person_by_year(result, spec.years, sectors, entry=spec.entry)
    inc = pp[strategies.index(spec.strategy)] - pp[strategies.index(spec.comparator)]  # [years since start, sectors]
    n = spec.years
    by_sector = np.zeros((n, len(sectors)))
    for y in range(n):  # the cohort starting in budget year y+1
        for t in range(n - y):
            by_sector[y + t] += starters[y] * inc[t]
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


def budget_markdown(bi: BudgetImpact, result: Any) -> str:
    """The budget impact, its funnel and its sources as Markdown."""
    from heecon.report.figures import format_money

    sc = result.scenario
    st = sc.settings
    spec, funnel, frame = bi.spec, bi.funnel, bi.frame
    cur = st.currency
    m = lambda x: format_money(float(x), cur, compact=False)  # noqa: E731
    lab = sc.strategies[spec.strategy].label or spec.strategy
    clab = sc.strategies[spec.comparator].label or spec.comparator
    disc = "undiscounted" if spec.discount_rate is None else f"discounted at {spec.discount_rate:.1%} a year"
    lines = [f"# Budget impact: {lab} instead of {clab}", "",
             f"{spec.years} budget years, {cur} {st.price_year or ''} prices, {disc}; cohorts start at the "
             f"{'start' if spec.entry == 'start' else 'middle'} of each year. {spec.source}".rstrip(), "",
             "## Referral funnel (people per year)", "",
             "| Year | Referred | Assessed | Eligible | Willing to start | Uptake | Demand | Capacity | Starters | "
             "Completers |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in funnel.itertuples(index=False):
        lines.append(f"| {r.year} | {r.referred:,.1f} | {r.assessed:,.1f} | {r.eligible:,.1f} | "
                     f"{r.willing_to_start:,.1f} | {r.uptake:.0%} | {r.demand:,.1f} | {r.capacity:,.1f} | "
                     f"{r.starters:,.1f}{' (capacity)' if r.capacity_binds else ''} | {r.completers:,.1f} |")
    lines += ["", "## Net budget impact by payer (positive = extra spending)", "",
              "| Year | Payer | Gross cost | Savings | Net cost | Cashable savings | Non-cashable savings |",
              "|---:|---|---:|---:|---:|---:|---:|"]
    for r in frame.itertuples(index=False):
        lines.append(f"| {r.year} | {r.payer} | {m(r.gross_cost)} | {m(r.savings)} | {m(r.net_cost)} | "
                     f"{m(r.cashable_savings)} | {m(r.non_cashable_savings)} |")
    for r in budget_totals(frame).itertuples(index=False):
        lines.append(f"| {spec.years}-year total | {r.payer} | {m(r.gross_cost)} | {m(r.savings)} | "
                     f"{m(r.net_cost)} | {m(r.cashable_savings)} | {m(r.non_cashable_savings)} |")
    lines += ["", "Payers: " + "; ".join(f"{p} = {', '.join(s)}" for p, s in spec.payers.items()) + ".",
              "Cashable shares: " + ", ".join(f"{k} {v:g}" for k, v in spec.cashable.items()) + ".",
              "", "## Sources", ""]
    lines += [f"- `{k}`: {v}" for k, v in spec.sources.items()]
    return "\n".join(lines) + "\n"


def budget_writer(result: Any, scenario: Any = None) -> Callable[[Path], None]:
    """A writer for :func:`heecon.outcomes.base_case.write_results`: ``budget_impact.csv`` (year x payer),
    ``budget_funnel.csv``, ``budget_by_sector.csv`` and ``budget_impact.md``.

    Does nothing when the scenario has no ``[budget_impact]`` section; a malformed section raises
    :class:`ScenarioError` when the writer is made, before any results are written.
    """
    scenario = result.scenario if scenario is None else scenario
    if scenario.raw.get(SECTION) is None:
        return lambda folder: None
    spec = read_budget_spec(scenario)

    def write(folder: Path) -> None:
        folder = Path(folder)
        bi = budget_impact_details(result, scenario, spec=spec)
        bi.frame.to_csv(folder / "budget_impact.csv", index=False)
        bi.funnel.to_csv(folder / "budget_funnel.csv", index=False)
        bi.by_sector.to_csv(folder / "budget_by_sector.csv", index=False)
        (folder / "budget_impact.md").write_text(budget_markdown(bi, result), encoding="utf-8")

    return write
