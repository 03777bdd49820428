"""A portfolio file (``heecon portfolio``): several services' scenarios, a budget, an outcome to maximise.

Parsed and checked once here, every problem reported at its TOML key path (docs/portfolio.md)::

    [portfolio]
    title = "..."
    outcome = "offences_averted"      # | qalys | net_benefit | prison_years_averted
    perspective = "public_sector"     # every service's scenario must have it
    wtp = 20000                       # GBP per QALY: needed for net_benefit
    budget = 1_500_000                # GBP
    budget_period = "year"            # "year": one year's intake; "horizon": `years` annual intakes
    budget_source = "ASSUMPTION: ..."
    cost_basis = ["service"]          # what the budget pays: a list of sectors, or "net" (the perspective's net cost)
    psa_samples = 100
    mode = "whole"                    # | divisible

    [[services]]
    file = "../mbt_aspd_vs_pau.toml"  # relative to this file
    label = "MBT-ASPD"
    set = { "settings.individuals" = 2000 }
    capacity = 120                    # men a year at most
    capacity_source = "ASSUMPTION: ..."
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from heecon.scenario.errors import Collector, Problem, ScenarioError
from heecon.scenario.reader import Reader

__all__ = ["OUTCOMES", "MODES", "PERIODS", "PortfolioSpec", "ServiceSpec", "PortfolioSpecError", "read_portfolio",
           "toml_value"]

#: what a portfolio can maximise (per man funded, against each service's comparator)
OUTCOMES = {"offences_averted": "offences averted", "qalys": "QALYs gained",
            "net_benefit": "net monetary benefit", "prison_years_averted": "prison-years averted"}
MODES = ("whole", "divisible")
PERIODS = ("year", "horizon")
PORTFOLIO_KEYS = {"title", "description", "outcome", "perspective", "wtp", "budget", "budget_period", "years",
                  "budget_source", "cost_basis", "psa_samples", "mode", "population", "population_source"}
SERVICE_KEYS = {"file", "label", "strategy", "comparator", "set", "capacity", "capacity_source", "population",
                "population_source", "cost_basis", "prison_years_measure", "note"}


class PortfolioSpecError(ScenarioError):
    """A portfolio file with problems (each at its key path)."""

    def __init__(self, problems: list[Problem]):
        super().__init__(problems)
        files = sorted({p.file for p in self.problems})
        self.args = ("\n".join([f"Invalid portfolio {', '.join(files)}:"] + [f"  - {p}" for p in self.problems]),)

    def format(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class ServiceSpec:
    key: str  # its key path, services[i]
    file: Path
    label: str
    strategy: str | None
    comparator: str | None
    overrides: tuple[str, ...]  # key.path=value, as --set takes them
    capacity: float
    capacity_source: str
    population: float | None
    cost_basis: tuple[str, ...] | str  # sectors, or "net"
    prison_years_measure: str
    note: str = ""

    @property
    def men(self) -> float:
        """Men a year the service would take if funded: its eligible population, at most its capacity."""
        return self.capacity if self.population is None else min(self.capacity, self.population)


@dataclass(frozen=True)
class PortfolioSpec:
    path: Path
    name: str
    title: str
    description: str
    outcome: str
    perspective: str
    wtp: float | None
    budget: float
    budget_period: str
    years: int
    budget_source: str
    psa_samples: int
    mode: str
    services: list[ServiceSpec] = field(default_factory=list)

    @property
    def intakes(self) -> int:
        """Annual intakes the budget pays for (1 for a budget per year)."""
        return 1 if self.budget_period == "year" else self.years


def toml_value(v: Any) -> str:
    """A TOML literal of a value read from TOML (for a ``key.path=value`` override)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if math.isfinite(v) else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))} = {toml_value(x)}" for k, x in v.items()) + "}"
    return json.dumps(str(v))  # dates and times: as strings (no scenario key takes one)


def _sourced(rd: Reader, tab: Mapping[str, Any], key: str, prefix: str, what: str) -> str:
    src = tab.get(key, "")
    if not isinstance(src, str) or not src.strip():
        rd.col.add(f"{prefix}.{key}", f"{what} needs its source (a citation, or 'ASSUMPTION: ...' and why)")
        return ""
    return " ".join(src.split())


def _cost_basis(rd: Reader, value: Any, key: str) -> tuple[str, ...] | str | None:
    if value == "net":
        return "net"
    if isinstance(value, list) and value and all(isinstance(s, str) and s for s in value):
        return tuple(value)
    rd.col.add(key, f"must be \"net\" (the net cost in the portfolio's perspective) or a list of sectors whose "
                    f"incremental cost the budget pays (e.g. [\"service\"]), got {value!r}")
    return None


def _overrides(rd: Reader, value: Any, key: str) -> tuple[str, ...]:
    tab = rd.table(value, key, "a table of \"key.path\" = value overrides (as --set)")
    if not tab:
        return ()
    out = []
    for k, v in tab.items():
        if isinstance(v, dict):  # set = { settings = { individuals = 2000 } } is the same as "settings.individuals"
            out.extend(f"{k}.{o}" for o in _overrides(rd, v, f"{key}.{k}"))
        else:
            out.append(f"{k}={toml_value(v)}")
    return tuple(out)


def _service(rd: Reader, key: str, spec: Mapping[str, Any], base: Path, default_basis: Any,
             default_pop: float | None) -> ServiceSpec | None:
    col = rd.col
    f = spec.get("file")
    file = None
    if not isinstance(f, str) or not f:
        col.add(f"{key}.file", "must be the path of a scenario file (relative to the portfolio file)")
    else:
        file = (base / f)
        if not file.is_file():
            col.add(f"{key}.file", f"file not found: {file}")
            file = None
    cap = rd.number(spec.get("capacity"), f"{key}.capacity", lo=0, lo_open=True)
    cap_src = _sourced(rd, spec, "capacity_source", key, "a capacity")
    pop = default_pop
    if "population" in spec:
        pop = rd.number(spec["population"], f"{key}.population", lo=0)
        _sourced(rd, spec, "population_source", key, "a population")
    basis = _cost_basis(rd, spec["cost_basis"], f"{key}.cost_basis") if "cost_basis" in spec else default_basis
    strat = rd.string(spec["strategy"], f"{key}.strategy") if "strategy" in spec else None
    comp = rd.string(spec["comparator"], f"{key}.comparator") if "comparator" in spec else None
    measure = rd.string(spec.get("prison_years_measure", "Prison-years"), f"{key}.prison_years_measure")
    sets = _overrides(rd, spec.get("set", {}), f"{key}.set")
    if file is None or cap is None or basis is None:
        return None
    label = spec.get("label", file.stem)
    return ServiceSpec(key, file, str(label), strat, comp, sets, float(cap), cap_src, pop, basis,
                       measure or "Prison-years", str(spec.get("note", "")))


def _read(raw: Mapping[str, Any], path: Path, rd: Reader) -> PortfolioSpec | None:
    col = rd.col
    rd.check_keys(raw, {"portfolio", "services"}, "", "a portfolio file")
    tab = rd.table(raw.get("portfolio"), "portfolio", "a table") if "portfolio" in raw else None
    if tab is None:
        col.add("portfolio", "missing: a portfolio file needs a [portfolio] table (outcome, perspective, budget, ...)")
        return None
    rd.check_keys(tab, PORTFOLIO_KEYS, "portfolio", "[portfolio]")
    outcome = rd.string(tab.get("outcome"), "portfolio.outcome", OUTCOMES)
    persp = rd.string(tab.get("perspective"), "portfolio.perspective")
    wtp = rd.number(tab["wtp"], "portfolio.wtp", lo=0) if "wtp" in tab else None
    if outcome == "net_benefit" and wtp is None:
        col.add("portfolio.wtp", "outcome = \"net_benefit\" needs the willingness to pay per QALY (e.g. wtp = 20000)")
    budget = rd.number(tab.get("budget"), "portfolio.budget", lo=0)
    src = _sourced(rd, tab, "budget_source", "portfolio", "the budget")
    period = rd.string(tab.get("budget_period"), "portfolio.budget_period", PERIODS)
    years = 1
    if period == "horizon":
        years = int(rd.number(tab.get("years"), "portfolio.years", lo=1, integer=True) or 1)
    elif "years" in tab:
        col.add("portfolio.years", "only a budget over the horizon (budget_period = \"horizon\") has years")
    n_psa = rd.number(tab.get("psa_samples", 100), "portfolio.psa_samples", lo=0, integer=True)
    if n_psa == 1:
        col.add("portfolio.psa_samples", "must be 0 (no PSA) or at least 2")
    mode = rd.string(tab.get("mode", "whole"), "portfolio.mode", MODES)
    basis = _cost_basis(rd, tab.get("cost_basis", "net"), "portfolio.cost_basis")
    pop = None
    if "population" in tab:
        pop = rd.number(tab["population"], "portfolio.population", lo=0)
        _sourced(rd, tab, "population_source", "portfolio", "a population")
    services = []
    for key, spec in rd.tables(raw.get("services", []), "services", "must be an array of tables: [[services]]",
                               "must be a table with file, label, capacity and capacity_source", SERVICE_KEYS,
                               "a service"):
        s = _service(rd, key, spec, path.parent, basis, pop)
        if s is not None:
            services.append(s)
    if not raw.get("services"):
        col.add("services", "missing: list the services as [[services]] tables (file, label, capacity, ...)")
    seen: dict[str, str] = {}
    for s in services:
        if s.label in seen:
            col.add(f"{s.key}.label", f"'{s.label}' names two services ({seen[s.label]} too); give each its own label")
        seen.setdefault(s.label, s.key)
    if col or outcome is None or persp is None or budget is None or period is None or mode is None:
        return None
    return PortfolioSpec(path, path.stem, str(tab.get("title", path.stem)), " ".join(str(tab.get("description", ""))
                         .split()), outcome, persp, wtp, budget, period, years, src, int(n_psa or 0), mode, services)


def read_portfolio(path: str | Path) -> PortfolioSpec:
    """Read and check a portfolio file.

    Raises
    ------
    PortfolioSpecError
        Listing every problem found (file, key path, what is valid).
    """
    path = Path(path)
    col = Collector(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PortfolioSpecError([Problem(str(path), "", "file not found")]) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PortfolioSpecError([Problem(str(path), "", f"not valid TOML: {exc}")]) from None
    spec = _read(raw, path, Reader(col, frozenset()))
    if col.problems or spec is None:
        raise PortfolioSpecError(col.problems or [Problem(str(path), "", "could not be read")])
    return spec
