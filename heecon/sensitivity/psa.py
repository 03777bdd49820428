"""Probabilistic sensitivity analysis: draw every uncertain parameter, run the model for each draw, summarise.

The base case is always run and reported beside the PSA means. Draws come from one
``numpy.random.SeedSequence(seed)`` (stream "psa"); the microsimulation's own random numbers are keyed by
(seed, sample, individual, cycle, stream), so a PSA is reproducible whatever the chunking.

References
----------
Briggs A, Claxton K, Sculpher M. Decision Modelling for Health Economic Evaluation. OUP 2006, ch. 4-6.
Fenwick E, Claxton K, Sculpher M. Representing uncertainty: the role of cost-effectiveness acceptability
curves. Health Econ 2001;10:779-87.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from heecon.outcomes.perspectives import perspective_costs
from heecon.params.scenario_draws import draw_psa
from heecon.scenario.types import Scenario

__all__ = ["run_psa", "PSAResult", "psa_writer", "wtp_grid"]


def wtp_grid(scenario: Scenario) -> np.ndarray:
    a, b, step = scenario.settings.wtp_grid
    grid = np.arange(a, b + step / 2, step)
    return np.unique(np.concatenate([grid, np.asarray(scenario.settings.wtp, dtype=float)]))


@dataclass
class PSAResult:
    """Per-sample results of a PSA and their summaries.

    Attributes
    ----------
    totals
        ``[n_samples, n_strategies, R, 2]`` per-person totals (discounted, undiscounted).
    draws
        The parameter draws (``heecon.params.Draws``).
    cea
        ``heecon.cea.CEAResult`` of the headline perspective over the WTP grid.
    cea_by_perspective
        The same for every perspective.
    """

    scenario: Scenario
    reward_names: list[str]
    totals: np.ndarray
    draws: Any
    cea: Any
    cea_by_perspective: dict[str, Any]
    seed: int

    @property
    def strategies(self) -> list[str]:
        return list(self.scenario.strategies)

    def costs(self, perspective: str | None = None, discounted: bool = True) -> np.ndarray:
        """Per-sample costs ``[n, k]`` in a perspective."""
        return perspective_costs(self.totals, self.scenario, perspective, discounted=discounted)

    def effects(self, discounted: bool = True) -> np.ndarray:
        return self.totals[:, :, self.reward_names.index("qalys"), 0 if discounted else 1]

    def costs_frame(self, perspective: str | None = None, discounted: bool = True) -> pd.DataFrame:
        """Per-sample costs per person in a perspective (default the headline's): one row per PSA sample (index
        ``sample``), one column per strategy (columns named ``strategy``)."""
        return self._frame(self.costs(perspective, discounted=discounted))

    def effects_frame(self, discounted: bool = True) -> pd.DataFrame:
        """Per-sample QALYs per person: rows ``sample``, columns ``strategy``, as :meth:`costs_frame`."""
        return self._frame(self.effects(discounted))

    def _frame(self, a: np.ndarray) -> pd.DataFrame:
        return pd.DataFrame(a, index=pd.RangeIndex(a.shape[0], name="sample"),
                            columns=pd.Index(self.strategies, name="strategy"))

    def to_frame(self) -> pd.DataFrame:
        """Every outcome of every sample, indexed by (``sample``, ``strategy``): ``costs`` (the headline
        perspective's), the rewards (each sector, QALYs, life years; discounted, and ``*_undiscounted``), ``costs[p]``
        for each perspective and the sampled parameters (``param:NAME``), as ``psa_samples.parquet`` holds them."""
        df = self.samples_frame()
        df.insert(2, "costs", self.costs().ravel())
        return df.set_index(["sample", "strategy"])

    def samples_frame(self) -> pd.DataFrame:
        """Long table: one row per sample and strategy with every outcome and the sampled parameters."""
        sc = self.scenario
        n, k = self.totals.shape[:2]
        rows = {"sample": np.repeat(np.arange(n), k), "strategy": np.tile(self.strategies, n)}
        for r, name in enumerate(self.reward_names):
            rows[name] = self.totals[:, :, r, 0].ravel()
            rows[f"{name}_undiscounted"] = self.totals[:, :, r, 1].ravel()
        for p in sc.perspectives:
            rows[f"costs[{p}]"] = self.costs(p).ravel()
        df = pd.DataFrame(rows)
        if self.draws is not None and len(self.draws.names):
            par = pd.DataFrame(self.draws.values, columns=[f"param:{c}" for c in self.draws.names])
            par["sample"] = np.arange(n)
            df = df.merge(par, on="sample")
        return df

    def summary(self) -> dict[str, Any]:
        """Means and 95% intervals of costs, QALYs and increments; probability cost-effective; EVPI."""
        sc = self.scenario
        st = sc.settings
        c, e = self.costs(), self.effects()
        comp = self.strategies.index(st.comparator)
        per_strategy = []
        for j, name in enumerate(self.strategies):
            dc, de = c[:, j] - c[:, comp], e[:, j] - e[:, comp]
            per_strategy.append({
                "strategy": name,
                "costs": _mean_ci(c[:, j]), "qalys": _mean_ci(e[:, j]),
                "lys": _mean_ci(self.totals[:, j, self.reward_names.index("lys"), 0]),
                "inc_costs": _mean_ci(dc), "inc_qalys": _mean_ci(de),
                "icer_of_means": (float(dc.mean() / de.mean()) if j != comp and de.mean() != 0 else None),
            })
        prob_ce = {}
        evpi = {}
        grid = np.asarray(self.cea.wtp)
        for w in st.wtp:
            i = int(np.argmin(np.abs(grid - w)))
            prob_ce[str(int(w) if float(w).is_integer() else w)] = {s: float(self.cea.ceac[i, j]) for j, s in enumerate(self.strategies)}
            evpi[str(int(w) if float(w).is_integer() else w)] = float(self.cea.evpi[i])
        out: dict[str, Any] = {
            "n_samples": int(self.totals.shape[0]),
            "seed": self.seed,
            "perspective": st.perspective,
            "strategies": per_strategy,
            "prob_cost_effective": prob_ce,
            "evpi_per_person": evpi,
            "icers_of_means": self.cea.to_dict()["icers"],
        }
        if st.population_size:
            from heecon.cea import population_evpi

            rate = st.discount_costs.rates[0]
            out["evpi_population"] = {k: float(population_evpi(v, st.population_size, st.evpi_years, rate))
                                      for k, v in evpi.items()}
            out["evpi_population_settings"] = {"population_per_year": st.population_size, "years": st.evpi_years,
                                               "discount_rate": rate}
        return out

    def writer(self) -> Callable[[Path], None]:
        """Writes this PSA's files into a results folder (:func:`psa_writer`)."""
        return psa_writer(self)

    def ceac_frame(self, perspective: str | None = None) -> pd.DataFrame:
        cea = self.cea_by_perspective[perspective or self.scenario.settings.perspective]
        df = pd.DataFrame(cea.ceac, columns=self.strategies)
        df.insert(0, "wtp", cea.wtp)
        df["frontier"] = cea.ceaf_strategies
        df["frontier_probability"] = cea.ceaf_probability
        df["evpi"] = cea.evpi
        return df


def _mean_ci(x: np.ndarray) -> dict[str, float]:
    lo, hi = np.percentile(x, [2.5, 97.5])
    return {"mean": float(np.mean(x)), "lower": float(lo), "upper": float(hi)}


def run_psa(scenario: Scenario, n_samples: int | None = None, seed: int | None = None, *,
            progress: bool | Callable[[int], None] = False, chunk: int | None = None,
            executor: Any = None, checkpoint_dir: Any = None) -> PSAResult:
    """Draw, evaluate and summarise a PSA.

    Parameters
    ----------
    scenario
        A validated scenario with distributions on its uncertain parameters.
    n_samples
        Number of samples (default ``settings.psa_samples``).
    seed
        Seed (default ``settings.seed``); 0 is a valid seed.
    progress
        True for a rich progress bar, or a callable given the number of samples finished per chunk.
    chunk
        Samples per kernel call (with an executor or checkpoint: samples per chunk).
    executor
        Where the chunks run (``heecon.execution``): ``"local"``, ``"processes"``, ``"dask"``, ``"dask-local"``
        or an ``Executor``. Default: evaluated in this process as one stream of chunks, as before.
    checkpoint_dir
        Write each finished chunk to this folder and resume the chunks already there (same PSA only).
        The totals are bit-identical whatever the executor, chunking or resumption.
    """
    from heecon.cea import analyse_psa
    from heecon.engine.evaluate import evaluate_totals
    from heecon.model.markov import reward_names

    n = int(n_samples if n_samples is not None else scenario.settings.psa_samples)
    if n < 2:
        raise ValueError(f"a PSA needs at least 2 samples, got {n}")
    seed = scenario.settings.seed if seed is None else int(seed)
    draws = draw_psa(scenario, n, seed)
    values = {name: draws[name] for name in draws.names}
    kw: dict[str, Any] = {}
    if chunk:
        kw["chunk"] = chunk
    if executor is not None or checkpoint_dir is not None:
        from heecon.execution import evaluate_chunked

        def evaluate_totals(scenario: Scenario, values: Any, n: int, progress: Any = None, **_: Any) -> np.ndarray:
            return evaluate_chunked(scenario, values, n, executor=executor or "local", chunk_size=chunk,
                                    checkpoint_dir=checkpoint_dir, seed=seed, progress=progress)
    if progress is True:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        with Progress(TextColumn("PSA"), BarColumn(), TextColumn("{task.completed}/{task.total} samples"),
                      TimeElapsedColumn(), TimeRemainingColumn(), transient=True) as bar:
            task = bar.add_task("psa", total=n)
            totals = evaluate_totals(scenario, values, n, progress=lambda k: bar.advance(task, k), **kw)
    else:
        totals = evaluate_totals(scenario, values, n, progress=progress or None, **kw)
    names = reward_names(scenario)
    grid = wtp_grid(scenario)
    strategies = list(scenario.strategies)
    iq = names.index("qalys")
    by_p = {}
    for p in scenario.perspectives:
        by_p[p] = analyse_psa(perspective_costs(totals, scenario, p), totals[:, :, iq, 0], strategies, grid)
    return PSAResult(scenario, names, totals, draws, by_p[scenario.settings.perspective], by_p, seed)


def psa_writer(result: PSAResult) -> Callable[[Path], None]:
    """Write per-sample results (Parquet) and CEAC/CEAF/EVPI tables into a results folder."""

    def write(folder: Path) -> None:
        result.samples_frame().to_parquet(folder / "psa_samples.parquet", index=False)
        result.ceac_frame().to_csv(folder / "ceac.csv", index=False)
        result.ceac_frame()[["wtp", "evpi"]].to_csv(folder / "evpi.csv", index=False)
        for p in result.scenario.perspectives:
            if p != result.scenario.settings.perspective:  # the headline perspective's is ceac.csv
                result.ceac_frame(p).to_csv(folder / f"ceac_{p}.csv", index=False)

    return write


def finite_or_none(x: float) -> float | None:
    return x if math.isfinite(x) else None
