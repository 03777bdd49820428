"""Typed scenario objects: what a validated TOML scenario becomes."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from heecon.scenario.expr import Expr

COUNTING_METHODS = ("end", "beginning", "all-points", "half-cycle", "simpson", "life-table")
DISCOUNTING_METHODS = ("discrete", "continuous")
ENGINES = ("cohort", "microsim")
DEFAULT_SECTORS = ("nhs", "pss", "police", "courts", "prisons", "probation", "victims", "personal", "other")


@dataclass(frozen=True)
class DiscountSchedule:
    """Annual discount rate by year band: rate ``rates[i]`` applies from ``from_years[i]``."""

    from_years: tuple[float, ...]
    rates: tuple[float, ...]

    @classmethod
    def constant(cls, rate: float) -> "DiscountSchedule":
        return cls((0.0,), (float(rate),))

    def describe(self) -> str | list[dict[str, float]]:
        if len(self.rates) == 1:
            return f"{self.rates[0]:g}"
        return [{"from_year": f, "rate": r} for f, r in zip(self.from_years, self.rates)]

    def to_json(self) -> float | list[dict[str, float]]:
        if len(self.rates) == 1:
            return self.rates[0]
        return [{"from_year": f, "rate": r} for f, r in zip(self.from_years, self.rates)]


@dataclass
class Settings:
    engine: str = "cohort"
    cycle_length_months: float = 12.0
    n_cycles: int = 0
    start_age: float | None = None
    counting: str = "half-cycle"
    discounting: str = "discrete"
    discount_costs: DiscountSchedule = field(default_factory=lambda: DiscountSchedule.constant(0.035))
    discount_effects: DiscountSchedule = field(default_factory=lambda: DiscountSchedule.constant(0.035))
    discount_offset: float = 0.0  # cycles by which discounting is moved earlier (heemod first = FALSE: 1 with "end")
    cohort_size: float = 1.0  # people the per-cohort results are for (outcomes per person times this)
    wtp: tuple[float, ...] = (20000.0, 30000.0)
    comparator: str = ""
    currency: str = "GBP"
    price_year: int | None = None
    perspective: str = "all"
    seed: int = 20240601
    psa_samples: int = 0
    individuals: int = 10000
    population_size: float | None = None  # people facing the decision per year (population EVPI, budget impact)
    evpi_years: int = 10  # decision horizon for population EVPI
    wtp_grid: tuple[float, float, float] = (0.0, 50000.0, 500.0)  # start, stop (inclusive), step
    averted_events: tuple[str, ...] = ()  # events counted in the headline as "averted" (e.g. offences)
    averted_label: str = "events"
    report: bool = False  # `heecon run` also writes figures and report.html (as --report does)
    trajectories: int = 0  # microsimulation: write the state paths of this many individuals (trajectories.csv)
    device: str = "cpu"  # microsimulation kernel: "cpu", "gpu" (numba-cuda) or "auto" (GPU when present and supported)

    @property
    def cycle_years(self) -> float:
        return self.cycle_length_months / 12.0

    @property
    def horizon_years(self) -> float:
        return self.n_cycles * self.cycle_years


@dataclass(frozen=True)
class PriceIndex:
    """A published price index by (financial) year, used to bring costs to ``settings.price_year``."""

    name: str
    source: str
    years: tuple[int, ...]
    values: tuple[float, ...]

    def factor(self, from_year: int, to_year: int) -> float:
        idx = dict(zip(self.years, self.values))
        return idx[to_year] / idx[from_year]


@dataclass
class Parameter:
    name: str
    expr: Expr
    key: str
    source: str | None = None
    distribution: dict[str, Any] | None = None
    range: tuple[float, float] | None = None
    unit: str | None = None
    price_year: int | None = None
    label: str | None = None
    assumption: bool = False
    price_index: str | None = None  # a [price_indices.NAME] (None: the scenario's [price_index])
    notes: str | None = None  # free text shown with the source in the evidence table
    dist: Any = None  # the parsed distribution (heecon.params.Distribution), parsed once at load
    recentred_from: Any = None  # the file's distribution, when --set moved the value and dist follows it


@dataclass
class Table:
    name: str
    keys: np.ndarray
    values: np.ndarray
    kind: str  # "probability" | "rate" | "value"
    interpolation: str  # "step" | "linear"
    multiplier: Expr | None
    source: str | None
    key: str
    extrapolation: str = "error"  # "error": a lookup outside [first key, last key] is an error; "constant": end values


@dataclass
class State:
    name: str
    label: str
    utility: Expr
    costs: dict[str, Expr]
    absorbing: bool
    dead: bool
    tunnel: int  # 0 or the tunnel length in cycles
    tunnel_exit: str | None
    key: str
    # cycles of time in the state tracked (a transition out of it given by a survival curve on time in state,
    # see scenario/survival_spec.py): the state is expanded into NAME[1]..NAME[clock], the last one holding
    clock: int = 0

    @property
    def n_sub(self) -> int:
        """Expanded sub-states: the tunnel's cycles, the tracked cycles of time in state, or 1."""
        return max(self.tunnel, self.clock, 1)

    @property
    def timed(self) -> bool:
        """A tunnel or a state that tracks time in it (``tunnel_cycle`` is defined in its expressions)."""
        return bool(self.tunnel or self.clock)


@dataclass
class TransitionReward:
    from_state: str  # "*" = any
    to_state: str
    costs: dict[str, Expr]
    qalys: Expr | None
    strategies: tuple[str, ...] | None
    key: str


@dataclass
class Modifier:
    transitions: tuple[tuple[str, str], ...]
    kind: str  # "rr" | "hr" | "value"
    value: Expr
    cycles: tuple[int, int]
    key: str


@dataclass
class ExtraCost:
    states: tuple[str, ...]
    costs: dict[str, Expr]
    cycles: tuple[int, int]
    key: str


@dataclass
class Strategy:
    name: str
    label: str
    description: str
    parameters: dict[str, Expr]
    modifiers: list[Modifier]
    extra_costs: list[ExtraCost]
    utilities: dict[str, Expr]
    key: str
    start_costs: dict[str, Expr] = field(default_factory=dict)  # one-off at time 0 in this strategy (undiscounted)
    start_qalys: Expr | None = None


@dataclass
class Scenario:
    path: Path
    files: tuple[str, ...]
    title: str
    description: str
    settings: Settings
    parameters: dict[str, Parameter]
    tables: dict[str, Table]
    states: dict[str, State]
    transitions: dict[str, dict[str, Expr | None]]  # from -> to -> expr (None = complement "C")
    transition_rewards: list[TransitionReward]
    start_states: dict[str, Expr]
    start_costs: dict[str, Expr]
    start_qalys: Expr | None
    strategies: dict[str, Strategy]
    sectors: tuple[str, ...]
    perspectives: dict[str, tuple[str, ...]]
    sha256: str
    raw: dict[str, Any]
    origins: dict[str, str]
    joints: dict[str, dict[str, Any]] = field(default_factory=dict)
    price_index: PriceIndex | None = None
    price_indices: dict[str, PriceIndex] = field(default_factory=dict)
    microsim: Any = None  # heecon.scenario.microsim_spec.MicrosimSpec for settings.engine = "microsim"
    budget: Any = None  # heecon.scenario.budget_spec.BudgetSpec of a [budget_impact] section
    calibration_targets: list[Any] = field(default_factory=list)  # heecon.scenario.calibration_targets
    joint_specs: dict[str, Any] = field(default_factory=dict)  # joints.NAME -> parsed heecon.params joint
    overrides: tuple[str, ...] = ()  # the --set overrides it was loaded with (variants and subgroups inherit them)
    analyses: Any = None  # heecon.scenario.analyses.Analyses: what the default run analyses beside the PSA
    survival: dict[str, Any] = field(default_factory=dict)  # [survival.NAME] -> heecon.scenario.survival_spec.SurvivalCurve
    partitioned: Any = None  # heecon.scenario.partitioned_spec.PartitionedSpec of a [partitioned] section
    tree: Any = None  # heecon.scenario.tree_spec.TreeSpec of a [tree] section
    payers: dict[str, tuple[str, ...]] | None = None  # [payers]: payer -> its sectors (None: the usual groups)
    labels: dict[str, str] = field(default_factory=dict)  # [labels]: sector or perspective -> display name

    def price_factor(self, name: str) -> float:
        """Multiplier bringing parameter ``name`` from its own price year to ``settings.price_year`` (1 if none)."""
        p = self.parameters[name]
        index = self.price_indices.get(p.price_index) if p.price_index else self.price_index
        if index is None or p.price_year is None or self.settings.price_year is None:
            return 1.0
        return index.factor(p.price_year, self.settings.price_year)

    @property
    def strategy_names(self) -> list[str]:
        return list(self.strategies)

    @property
    def state_names(self) -> list[str]:
        return list(self.states)

    def origin(self, key: str) -> str:
        """The file a key path came from (``extends`` chains and ``--set`` overrides)."""
        parts = key.split(".")
        for n in range(len(parts), 0, -1):
            k = ".".join(parts[:n])
            if k in self.origins:
                return self.origins[k]
        return str(self.path)
