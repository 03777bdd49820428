"""The ``[budget_impact]`` section: a referral funnel, service capacity, an uptake ramp, payers and cashable shares.

Parsed and checked when the scenario is loaded (``Scenario.budget``), so that ``heecon validate`` reports its
mistakes and ``heecon run`` never fails on them after the PSA. The analysis itself is
:mod:`heecon.outcomes.budget_impact`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from heecon.scenario.errors import Problem, ScenarioError, did_you_mean, valid_list
from heecon.scenario.sectors import PAYER_GROUPS, payer_groups

__all__ = ["BudgetSpec", "read_budget_spec", "SECTION"]

SECTION = "budget_impact"
_NUMBERS = ("sites", "referred_per_site_year", "share_assessed", "share_eligible", "share_starting",
            "share_completing", "groups_per_site", "places_per_group")
_SHARES = ("share_assessed", "share_eligible", "share_starting", "share_completing")
_OPTIONAL_NUMBERS = ("starts_per_place_year",)
_KEYS = set(_NUMBERS) | set(_OPTIONAL_NUMBERS) | {"years", "uptake", "discount", "cashable", "payers", "strategy",
                                                  "comparator", "entry", "source", "sources", "fixed_costs",
                                                  "setup_costs", "replaces"}
# numbers that must have a [budget_impact.sources] entry (conventions such as discount/entry need none)
_SOURCED = ("years",) + _NUMBERS + ("uptake", "cashable")
ENTRY_OFFSETS = {"start": 0.0, "mid-year": 0.5}


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
    fixed_costs: dict[str, str] = field(default_factory=dict)  # sector -> parameter: cost per site per year
    setup_costs: dict[str, str] = field(default_factory=dict)  # sector -> parameter: one-off cost per site, year 1
    replaces: tuple[str, ...] = ()  # sectors whose per-person costs the fixed costs replace (not added twice)

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
    for k in sec:
        if k not in _KEYS:
            bad(str(k), f"unknown key.{did_you_mean(str(k), _KEYS)} Valid: {valid_list(_KEYS)}.")
    sectors = list(scenario.sectors)
    strategies = list(scenario.strategies)

    n_years, vals, uptake, rate = _read_funnel(sec, scenario, bad)
    payers, cashable = _read_payers(sec, sectors, bad)
    strat, comp, entry, source, sources = _read_adoption(sec, scenario, strategies, bad)
    fixed, setup, replaces = _read_service_costs(sec, scenario, sectors, bad)
    if problems:
        raise ScenarioError(problems)
    return BudgetSpec(
        years=n_years, sites=vals["sites"], referred_per_site_year=vals["referred_per_site_year"],
        share_assessed=vals["share_assessed"], share_eligible=vals["share_eligible"],
        share_starting=vals["share_starting"], share_completing=vals["share_completing"],
        groups_per_site=vals["groups_per_site"], places_per_group=vals["places_per_group"], uptake=uptake,
        cashable=cashable, payers=payers, strategy=str(strat), comparator=str(comp), discount_rate=rate,
        starts_per_place_year=vals.get("starts_per_place_year", 1.0), entry=str(entry), source=source,
        sources=sources, fixed_costs=fixed, setup_costs=setup, replaces=replaces,
    )


def _read_funnel(sec: Mapping[str, Any], scenario: Any, bad: Any) -> tuple[int, dict[str, float], tuple[float, ...],
                                                                          float | None]:
    """The horizon, the funnel's numbers, the uptake ramp and the discount rate of a ``[budget_impact]`` section."""
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

    return n_years, vals, uptake, rate


def _read_payers(sec: Mapping[str, Any], sectors: list[str], bad: Any) -> tuple[dict[str, tuple[str, ...]],
                                                                                dict[str, float]]:
    """Who pays for each sector, and the cashable share of each sector's savings."""
    # payers
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

    return payers, cashable


def _read_adoption(sec: Mapping[str, Any], scenario: Any, strategies: list[str], bad: Any) -> tuple[Any, Any, Any, str,
                                                                                                  dict[str, str]]:
    """The strategy adopted and its comparator, when cohorts enter, and the sources of every number."""
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
    if entry not in ENTRY_OFFSETS:
        bad("entry", f"must be one of {valid_list(ENTRY_OFFSETS)} (when in the year each cohort starts), got {entry!r}")

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
    return strat, comp, entry, source, sources


def _read_service_costs(sec: Mapping[str, Any], scenario: Any, sectors: list[str], bad: Any
                        ) -> tuple[dict[str, str], dict[str, str], tuple[str, ...]]:
    """Costs of running the service that do not follow the number of starters: fixed costs per site per year (a
    team paid whether or not its places are filled) and one-off set-up costs per site, each by sector and given as a
    parameter (so it carries its source and price year); ``replaces`` names the sectors whose per-person costs they
    stand for, so that a service's cost is counted once."""
    params = getattr(scenario, "parameters", {}) or {}
    out: list[dict[str, str]] = []
    for key in ("fixed_costs", "setup_costs"):
        raw = sec.get(key, {})
        got: dict[str, str] = {}
        if not isinstance(raw, Mapping):
            bad(key, f"must be a table of sector = \"parameter\", got {raw!r}")
        else:
            for x, v in raw.items():
                if x not in sectors:
                    bad(f"{key}.{x}", f"unknown sector '{x}'.{did_you_mean(str(x), sectors)} Valid: {valid_list(sectors)}.")
                elif not isinstance(v, str) or v not in params:
                    bad(f"{key}.{x}", f"must name a parameter (with its source).{did_you_mean(str(v), params)}")
                else:
                    got[str(x)] = v
        out.append(got)
    rep = sec.get("replaces", [])
    rep = [rep] if isinstance(rep, str) else rep
    if not isinstance(rep, list) or any(x not in sectors for x in rep):
        bad("replaces", f"must be a list of sectors whose per-person costs the fixed costs stand for; valid: "
                        f"{valid_list(sectors)}; got {rep!r}")
        rep = []
    if rep and not out[0]:
        bad("replaces", "names sectors whose per-person costs are replaced, but there are no fixed_costs")
    return out[0], out[1], tuple(rep)
