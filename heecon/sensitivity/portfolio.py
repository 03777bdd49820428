"""A portfolio of services side by side: each service's results per man against its own comparator, a league
table, the mix that maximises a chosen outcome within a budget and each service's capacity, and how sure that mix
is (the share of PSA samples in which each service is in the optimal mix).

Each service is a scenario (its file, a strategy against a comparator, ``--set`` overrides). Its base case is
``run_base_case``'s; its PSA draws its own parameters with its own seed (``draw_psa``) and runs them through the
engine, keeping the events per sample that offences and prison-years need (events booked in expectation are
computed from each sample's occupancy, one sample at a time, as the base case computes them). PSA samples are
paired across services by index: services that are versions of one scenario (same seed, same uncertain
parameters) share their draws, so their uncertainty is joint; services that share no parameters are independent,
which is right only when their evidence is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np
import pandas as pd

from heecon.cea.portfolio import PortfolioError, best_shares, best_shares_many, best_subset, best_subsets
from heecon.scenario.portfolio_spec import OUTCOMES, PortfolioSpec, ServiceSpec
from heecon.scenario.sectors import payer_groups

__all__ = ["ServiceResult", "PortfolioResult", "run_portfolio", "service_quantities", "QUANTITIES", "OUTCOME_KEY",
           "optimise", "league_frame", "mix_frame", "probability_frame", "mix_counts", "outcome_label"]

#: per-man quantities of a service against its comparator (increments; "averted" = comparator minus service)
QUANTITIES = ("inc_cost", "inc_qalys", "offences_averted", "prison_years_averted", "budget_cost", "net_benefit")
#: the quantity each outcome maximises
OUTCOME_KEY = {"offences_averted": "offences_averted", "qalys": "inc_qalys", "net_benefit": "net_benefit",
               "prison_years_averted": "prison_years_averted"}


@dataclass
class ServiceResult:
    """One service: its scenario, the strategy and comparator, its per-man quantities (base case; PSA samples)."""

    spec: ServiceSpec
    scenario: Any
    strategy: str
    comparator: str
    base: dict[str, float]
    psa: dict[str, np.ndarray] | None
    payers: list[str]


@dataclass
class PortfolioResult:
    """The services, the base-case optimal mix and, with a PSA, the optimal mix of each sample."""

    spec: PortfolioSpec
    services: list[ServiceResult]
    base_mix: np.ndarray  # share of each service's men funded (0/1 in whole mode)
    psa_mixes: np.ndarray | None  # [samples, services]
    n_samples: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return self.spec.outcome

    def league(self) -> pd.DataFrame:
        """One row per service: per man and scaled to the men funded a year (x intakes), ranked by budget cost per
        unit of the outcome maximised."""
        return league_frame(self)

    def optimal_mix(self) -> pd.DataFrame:
        return mix_frame(self)

    def mix_probability(self) -> pd.DataFrame:
        return probability_frame(self)

    def to_frame(self) -> pd.DataFrame:
        return self.league()


# ------------------------------------------------------------------------------------------------ a service's numbers


def _prison_measure(sc: Any, label: str) -> Any:
    for m in getattr(sc.analyses, "measures", []) or []:
        if m.label == label:
            return m
    return None


def service_quantities(sc: Any, svc: ServiceSpec, j: int, c: int, sectors: Mapping[str, np.ndarray],
                       qalys: np.ndarray, persp_costs: np.ndarray, events: Mapping[str, np.ndarray] | None,
                       weight: Callable[[str], Any], perspective: str, wtp: float | None,
                       groups: Mapping[str, tuple[str, ...]]) -> dict[str, Any]:
    """Per-man increments of strategy ``j`` over comparator ``c``; arrays have the strategies on the last axis (a
    leading axis of PSA samples where there is one). ``weight(name)`` is a parameter's value (base or per sample)."""
    q: dict[str, Any] = {}
    inc = lambda a: a[..., j] - a[..., c]  # noqa: E731
    q["inc_cost"] = inc(persp_costs)
    q["inc_qalys"] = inc(qalys)
    for g, secs in groups.items():
        q[f"cost_payer:{g}"] = sum(inc(sectors[s]) for s in secs)
    nan = np.full(np.shape(q["inc_cost"]), np.nan)
    averted = list(sc.settings.averted_events)
    if events is not None and averted:
        q["events_averted"] = sum(-inc(events[e]) for e in averted)
        # offences only where the scenario says its averted events are offences (MBT-OP's are suicide attempts)
        q["offences_averted"] = q["events_averted"] if _counts_offences(sc) else nan
    else:
        q["events_averted"] = q["offences_averted"] = nan
    m = _prison_measure(sc, svc.prison_years_measure)
    if events is not None and m is not None:
        tot = sum(-inc(events[e]) * (1.0 if w is None else weight(w)) for e, w in zip(m.events, m.weights))
        q["prison_years_averted"] = tot * m.scale
    else:
        q["prison_years_averted"] = nan
    basis = svc.cost_basis
    q["budget_cost"] = q["inc_cost"] if basis == "net" else sum(inc(sectors[s]) for s in basis)
    q["net_benefit"] = (q["inc_qalys"] * wtp - q["inc_cost"]) if wtp is not None else nan
    return q


def _load(svc: ServiceSpec, spec: PortfolioSpec) -> tuple[Any, int, int]:
    from heecon.model.check import check_scenario
    from heecon.scenario.load import load_scenario

    sc = load_scenario(svc.file, svc.overrides)
    check_scenario(sc)
    where = f"{spec.path}: {svc.key} ({svc.file})"
    strategies = list(sc.strategies)
    comp = svc.comparator or sc.settings.comparator
    if comp not in strategies:
        raise PortfolioError(f"{where}: comparator '{comp}' is not a strategy of the scenario; valid: "
                             f"{', '.join(strategies)}")
    others = [s for s in strategies if s != comp]
    strat = svc.strategy or (others[0] if len(others) == 1 else None)
    if strat is None:
        raise PortfolioError(f"{where}: the scenario has {len(others)} strategies besides '{comp}' "
                             f"({', '.join(others)}); say which is the service with strategy = \"...\"")
    if strat not in others:
        raise PortfolioError(f"{where}: strategy '{strat}' is not a strategy of the scenario other than the "
                             f"comparator; valid: {', '.join(others)}")
    if spec.perspective not in sc.perspectives:
        raise PortfolioError(f"{where}: the scenario has no perspective '{spec.perspective}' (portfolio.perspective); "
                             f"it has {', '.join(sc.perspectives)}")
    if svc.cost_basis != "net":
        bad = [s for s in svc.cost_basis if s not in sc.sectors]
        if bad:
            raise PortfolioError(f"{where}: cost_basis names sector(s) {', '.join(bad)} the scenario does not have; "
                                 f"its sectors: {', '.join(sc.sectors)}")
    _check_outcome(sc, svc, spec, where)
    return sc, strategies.index(strat), strategies.index(comp)


def _counts_offences(sc: Any) -> bool:
    """Whether the scenario's averted events count as offences: its settings.averted_label is "offences", or left at
    the default ("events"); a scenario that names them otherwise (MBT-OP: "suicide attempts") does not."""
    return str(sc.settings.averted_label or "events").strip().lower() in ("offences", "events")


def _check_outcome(sc: Any, svc: ServiceSpec, spec: PortfolioSpec, where: str) -> None:
    micro = sc.settings.engine == "microsim" and sc.microsim is not None
    if spec.outcome == "offences_averted" and not (micro and sc.settings.averted_events):
        raise PortfolioError(f"{where}: outcome = \"offences_averted\" needs the scenario's settings.averted_events "
                             "(microsimulation events counted as offences); this scenario has none")
    if spec.outcome == "offences_averted" and not _counts_offences(sc):
        raise PortfolioError(f"{where}: outcome = \"offences_averted\" needs services whose averted events are "
                             f"offences; this scenario's are '{sc.settings.averted_label}' (settings.averted_label): "
                             "compare it in a portfolio that maximises qalys or net_benefit")
    if spec.outcome == "prison_years_averted" and not (micro and _prison_measure(sc, svc.prison_years_measure)):
        names = [m.label for m in getattr(sc.analyses, "measures", []) or []]
        raise PortfolioError(f"{where}: outcome = \"prison_years_averted\" needs a [[measures]] labelled "
                             f"'{svc.prison_years_measure}' in the scenario (prison_years_measure names another); "
                             f"its measures: {', '.join(names) or 'none'}")


def _base(sc: Any, svc: ServiceSpec, j: int, c: int, spec: PortfolioSpec) -> dict[str, float]:
    from heecon.model.markov import parameter_value
    from heecon.outcomes.base_case import run_base_case

    o = run_base_case(sc).outcomes
    ev = {col.split(":", 1)[1]: o[col].to_numpy() for col in o.columns if col.startswith("events:")} or None
    q = service_quantities(sc, svc, j, c, {s: o[s].to_numpy() for s in sc.sectors}, o["qalys"].to_numpy(),
                           o[f"costs[{spec.perspective}]"].to_numpy(), ev, lambda n: parameter_value(sc, n),
                           spec.perspective, spec.wtp, payer_groups(list(sc.sectors)))
    return {k: float(v) for k, v in q.items()}


def _psa(sc: Any, svc: ServiceSpec, j: int, c: int, spec: PortfolioSpec, n: int) -> dict[str, np.ndarray]:
    from heecon.model.markov import parameter_value, reward_names
    from heecon.outcomes.perspectives import perspective_costs
    from heecon.params.scenario_draws import draw_psa

    draws = draw_psa(sc, n, sc.settings.seed)
    values = {name: draws[name] for name in draws.names}
    totals, events = _evaluate(sc, svc, values, n)
    names = reward_names(sc)
    sectors = {s: totals[:, :, names.index(s), 0] for s in sc.sectors}

    def weight(name: str) -> Any:
        return values[name] if name in values else parameter_value(sc, name)  # one value per sample

    q = service_quantities(sc, svc, j, c, sectors, totals[:, :, names.index("qalys"), 0],
                           perspective_costs(totals, sc, spec.perspective), events, weight, spec.perspective,
                           spec.wtp, payer_groups(list(sc.sectors)))
    return {k: np.asarray(v, dtype=float) for k, v in q.items()}


def _evaluate(sc: Any, svc: ServiceSpec, values: Mapping[str, np.ndarray], n: int
              ) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
    """Totals ``[n, k, R, 2]`` and, for a microsimulation, events per man ``name -> [n, k]``."""
    if sc.settings.engine != "microsim" or sc.microsim is None:
        from heecon.engine.evaluate import evaluate_totals

        return evaluate_totals(sc, values, n), None
    from heecon.engine.microsim.evaluate import evaluate_microsim

    needed = set(sc.settings.averted_events)
    m = _prison_measure(sc, svc.prison_years_measure)
    if m is not None:
        needed |= set(m.events)
    if not any(sc.microsim.events[e].expected for e in needed if e in sc.microsim.events):
        run = evaluate_microsim(sc, values, n, moments=False)
        return run.totals, {e: run.events[:, :, i] for i, e in enumerate(run.event_names)}
    # events booked in expectation come from the occupancy, which the engine keeps for a run's first sample: one
    # sample per call, at its own index (the same random numbers as the batch, so the same totals)
    tots, evs, names = [], [], None
    for i in range(n):
        run = evaluate_microsim(sc, {k: v[i:i + 1] for k, v in values.items()}, 1, moments=False, sample_offset=i,
                                n_keep=1)
        tots.append(run.totals[0])
        evs.append(run.events[0])
        names = run.event_names
    ev = np.stack(evs)
    return np.stack(tots), {e: ev[:, :, i] for i, e in enumerate(names or [])}


# ------------------------------------------------------------------------------------------------ the optimiser


def _value_cost(spec: PortfolioSpec, per_man: list[Mapping[str, Any]], men: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Value and budget cost of funding each service at its men a year (x intakes): ``[..., services]``."""
    scale = men * spec.intakes
    v = np.stack([np.asarray(q[OUTCOME_KEY[spec.outcome]], float) for q in per_man], axis=-1) * scale
    c = np.stack([np.asarray(q["budget_cost"], float) for q in per_man], axis=-1) * scale
    return v, c


def optimise(spec: PortfolioSpec, values: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """The optimal mix of each row (whole: 0/1, divisible: shares)."""
    if spec.mode == "whole":
        return (best_subsets(values, costs, spec.budget) if values.ndim == 2
                else best_subset(values, costs, spec.budget)).astype(float)
    return best_shares_many(values, costs, spec.budget) if values.ndim == 2 else best_shares(values, costs, spec.budget)


def run_portfolio(spec: PortfolioSpec, psa_samples: int | None = None,
                  progress: Callable[[str], None] | None = None) -> PortfolioResult:
    """Run every service (base case and PSA), then optimise the mix in the base case and in each PSA sample."""
    import time

    if spec.mode == "whole" and len(spec.services) > 16:
        best_subset(np.zeros(len(spec.services)), np.zeros(len(spec.services)), 0.0)  # raises the clear message
    n = spec.psa_samples if psa_samples is None else int(psa_samples)
    if n == 1:
        raise PortfolioError("a PSA needs at least 2 samples (or 0 for none)")
    out, timings = [], {}
    for svc in spec.services:
        t0 = time.perf_counter()
        if progress:
            progress(f"{svc.label}: {svc.file}")
        sc, j, c = _load(svc, spec)
        base = _base(sc, svc, j, c, spec)
        psa = _psa(sc, svc, j, c, spec, n) if n else None
        timings[svc.label] = time.perf_counter() - t0
        out.append(ServiceResult(svc, sc, list(sc.strategies)[j], list(sc.strategies)[c], base, psa,
                                 list(payer_groups(list(sc.sectors)))))
    men = np.array([s.spec.men for s in out])
    v, cst = _value_cost(spec, [s.base for s in out], men)
    base_mix = optimise(spec, v, cst)
    mixes = None
    if n:
        vs, cs = _value_cost(spec, [s.psa for s in out], men)  # type: ignore[misc]
        mixes = optimise(spec, vs, cs)
    return PortfolioResult(spec, out, base_mix, mixes, n, timings)


# ------------------------------------------------------------------------------------------------ the tables


def _interval(x: np.ndarray | None) -> tuple[float, float]:
    if x is None or not np.all(np.isfinite(x)):
        return (np.nan, np.nan)
    lo, hi = np.percentile(x, [2.5, 97.5])
    return float(lo), float(hi)


def _ratio(a: float, b: float) -> float:
    return a / b if b > 0 else np.nan


def league_frame(res: PortfolioResult) -> pd.DataFrame:
    spec = res.spec
    key = OUTCOME_KEY[spec.outcome]
    rows = []
    for s in res.services:
        q = s.base
        scale = s.spec.men * spec.intakes
        row: dict[str, Any] = {"service": s.spec.label, "file": str(s.spec.file), "strategy": s.strategy,
                               "comparator": s.comparator, "men_per_year": s.spec.men,
                               "capacity": s.spec.capacity, "inc_cost": q["inc_cost"]}
        row.update({k: v for k, v in q.items() if k.startswith("cost_payer:")})
        row.update(inc_qalys=q["inc_qalys"], offences_averted=q["offences_averted"],
                   events_averted=q.get("events_averted", np.nan), events_label=s.scenario.settings.averted_label,
                   prison_years_averted=q["prison_years_averted"], net_benefit=q["net_benefit"],
                   budget_cost=q["budget_cost"],
                   cost_per_offence_averted=(q["inc_cost"] / q["offences_averted"]
                                             if q["offences_averted"] > 0 else np.nan),
                   icer=_ratio(q["inc_cost"], q["inc_qalys"]) if q["inc_qalys"] > 0 else np.nan)
        lo, hi = _interval(s.psa[key] if s.psa else None)
        row.update({f"{spec.outcome}_lower": lo, f"{spec.outcome}_upper": hi})
        for k in ("inc_cost", "budget_cost", "inc_qalys", "offences_averted", "prison_years_averted", "net_benefit"):
            row[f"total_{k}"] = q[k] * scale
        val = q[key]
        row["budget_cost_per_unit"] = (q["budget_cost"] / val) if val > 0 else np.nan
        rows.append(row)
    df = pd.DataFrame(rows)
    # rank: services that improve the outcome, cheapest per unit first (one that saves money and improves it first)
    order = df["budget_cost_per_unit"].where(df[key] > 0, np.inf).fillna(np.inf)
    df.insert(0, "rank", order.rank(method="min").astype(int))
    return df.sort_values(["rank", "service"]).reset_index(drop=True)


def mix_frame(res: PortfolioResult) -> pd.DataFrame:
    spec = res.spec
    rows = []
    for s, x in zip(res.services, res.base_mix):
        scale = s.spec.men * spec.intakes * x
        rows.append({"service": s.spec.label, "in_mix": bool(x > 0), "share_funded": float(x),
                     "men_per_year": s.spec.men * x, "budget_cost": s.base["budget_cost"] * scale,
                     spec.outcome: s.base[OUTCOME_KEY[spec.outcome]] * scale, "inc_cost": s.base["inc_cost"] * scale,
                     "inc_qalys": s.base["inc_qalys"] * scale})
    df = pd.DataFrame(rows)
    total = {"service": "TOTAL", "in_mix": bool(df["in_mix"].any()), "share_funded": np.nan,
             "men_per_year": df["men_per_year"].sum(), "budget_cost": df["budget_cost"].sum(),
             spec.outcome: df[spec.outcome].sum(), "inc_cost": df["inc_cost"].sum(),
             "inc_qalys": df["inc_qalys"].sum()}
    return pd.concat([df, pd.DataFrame([total])], ignore_index=True)


def probability_frame(res: PortfolioResult) -> pd.DataFrame:
    if res.psa_mixes is None:
        return pd.DataFrame(columns=["service", "probability_in_mix", "mean_share_funded", "in_base_mix"])
    m = res.psa_mixes
    return pd.DataFrame({"service": [s.spec.label for s in res.services],
                         "probability_in_mix": (m > 0).mean(axis=0), "mean_share_funded": m.mean(axis=0),
                         "in_base_mix": res.base_mix > 0})


def mix_counts(res: PortfolioResult, top: int = 5) -> list[dict[str, Any]]:
    """The most frequent optimal mixes over the PSA samples (whole mode), with their shares."""
    if res.psa_mixes is None or res.spec.mode != "whole":
        return []
    labels = [s.spec.label for s in res.services]
    keys = [" + ".join(lab for lab, z in zip(labels, row) if z > 0) or "(none)" for row in res.psa_mixes]
    counts = pd.Series(keys).value_counts()
    return [{"mix": k, "share": float(v / len(keys))} for k, v in counts.head(top).items()]


def outcome_label(outcome: str) -> str:
    return OUTCOMES[outcome]
