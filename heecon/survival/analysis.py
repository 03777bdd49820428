"""One survival analysis for a model: fit several distributions, compare them, choose one, write it for a scenario.

What ``heecon fit-survival`` does, as a function: individual data (or data reconstructed from a published
Kaplan-Meier curve with `reconstruct_ipd`), optionally by group (the groups enter every fit as indicator
covariates on the location parameter, so their effects share the fit's covariance), are fitted with each
distribution (`fit_all`); the fits are compared by AIC and BIC (`compare_fits`); the fitted curves and the
Kaplan-Meier estimate of each group are tabulated over the data and beyond, to a horizon (`survival_curves`);
the chosen fit (lowest AIC among those that converged, unless named) is written as scenario parameters with a
multivariate normal on its coefficients (`fit_to_toml`) and as one ``[survival.NAME]`` curve per group
(`survival_section`).

References
----------
Latimer N (2011, updated 2013). NICE DSU Technical Support Document 14: survival analysis for economic
evaluations alongside clinical trials - extrapolation with patient-level data. NICE Decision Support Unit.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .curves import survival_curves
from .export import fit_to_toml, survival_section
from .fit import DEFAULT_COMPARISON, SurvivalFit, compare_fits, family_name, fit_all

__all__ = ["SurvivalAnalysis", "analyse_survival"]


def _name(text: str) -> str:
    out = re.sub(r"[^A-Za-z0-9_]", "_", str(text))
    return out if out and out[0].isalpha() else f"g_{out}"


@dataclass
class SurvivalAnalysis:
    """The fits, their comparison, the chosen fit and the curves of one survival analysis.

    Attributes
    ----------
    fits
        ``{dist: SurvivalFit}`` in AIC order.
    table
        `compare_fits` of the fits (best AIC first), with ``chosen``.
    chosen
        The distribution written for the scenario.
    groups
        ``{group label: covariate values}`` (one entry, ``{"all": {}}``, without groups); the first is the reference.
    curves
        `survival_curves` of every fit for every group, over ``[0, horizon]``, with a ``group`` column.
    time_unit, prefix, data_source, horizon
        What the fragment records.
    ipd
        The reconstructed individual data, when the data came from a Kaplan-Meier curve.
    """

    fits: dict[str, SurvivalFit]
    table: pd.DataFrame
    chosen: str
    groups: dict[str, dict[str, float]]
    curves: pd.DataFrame
    time_unit: str
    prefix: str
    data_source: str
    horizon: float
    group_name: str | None = None
    ipd: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        """The comparison table (AIC, BIC, Akaike weights, convergence, and which fit was chosen)."""
        return self.table

    @property
    def chosen_fit(self) -> SurvivalFit:
        return self.fits[self.chosen]

    def curve_names(self) -> dict[str, str]:
        """``{group label: [survival.NAME] name}`` of the chosen fit's curves."""
        if list(self.groups) == ["all"]:
            return {"all": self.prefix}
        return {g: f"{self.prefix}_{_name(g)}" for g in self.groups}

    def fragment(self) -> str:
        """The TOML fragment: the chosen fit's coefficients, their ``[joints]`` multivariate normal, and a
        ``[survival.NAME]`` curve for each group."""
        fit = self.chosen_fit
        head = fit_to_toml(fit, self.prefix, data_source=self.data_source, time_unit=self.time_unit)
        names = self.curve_names()
        parts = [head, f"# The {fit.label} curve{'s' if len(names) > 1 else ''} for [transitions] or [partitioned] "
                       "(docs/survival.md, \"Survival curves in a scenario\")", ""]
        for g, x in self.groups.items():
            label = f"{fit.label}, {self.group_name} = {g}" if self.group_name else fit.label
            parts.append(survival_section(fit, self.prefix, name=names[g], time_unit=self.time_unit, x=x or None,
                                          label=label))
        return "\n".join(parts)


def analyse_survival(time: Any, event: Any, *, group: Any = None, group_name: str | None = None,
                     dists: Sequence[str] = DEFAULT_COMPARISON, cuts: Sequence[float] | None = None,
                     time_unit: str = "years", prefix: str = "surv", choose: str | None = None,
                     horizon: float | None = None, data_source: str = "the data", n_grid: int = 201,
                     ipd: pd.DataFrame | None = None) -> SurvivalAnalysis:
    """Fit, compare and choose; tabulate the curves; prepare the scenario fragment.

    Parameters
    ----------
    time, event : array_like
        Follow-up times (``time_unit``) and event indicators (1 event, 0 censored).
    group : array_like, optional
        A group label per observation (e.g. the trial arm): indicator covariates for every group but the first
        (sorted) one, which is the reference.
    group_name : str, optional
        The group variable's name (for the covariates' names, e.g. ``armB``).
    dists : sequence of str
        flexsurv names to fit (default: exp, weibull, gompertz, llogis, lnorm, gamma, gengamma).
    cuts : sequence of float, optional
        Cut points of a piecewise exponential (``"pwexp"`` in ``dists``).
    time_unit : str
        ``"years"``, ``"months"``, ``"weeks"`` or ``"days"``.
    prefix : str
        Prefix of the scenario parameters and curves.
    choose : str, optional
        The distribution to write (default: the lowest AIC among the fits that converged).
    horizon : float, optional
        How far the curves are extrapolated (default three times the longest follow-up).
    data_source : str
        What was fitted, recorded in every parameter's source.
    n_grid : int
        Points of the time grid of the curves.
    ipd : DataFrame, optional
        Reconstructed individual data the times and events come from (kept with the results).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    covariates = None
    groups: dict[str, dict[str, float]] = {"all": {}}
    if group is not None:
        labels = pd.Series(np.asarray(group)).astype(str)
        levels = sorted(labels.unique())
        if len(levels) < 2:
            raise ValueError(f"The group column has one value only ({levels[0]!r}); fit without --group.")
        gname = _name(group_name or "group")
        cols = {f"{gname}{_name(lv)}": lv for lv in levels[1:]}
        covariates = pd.DataFrame({c: (labels == lv).astype(float).to_numpy() for c, lv in cols.items()})
        groups = {levels[0]: {c: 0.0 for c in cols}}
        for c, lv in cols.items():
            groups[lv] = {c2: (1.0 if c2 == c else 0.0) for c2 in cols}
    dists = [family_name(d) for d in dists]
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fits = fit_all(time, event, dists, covariates=covariates, cuts=cuts, errors="warn")
    notes = [str(w.message) for w in caught]
    if not fits:
        raise ValueError("No distribution could be fitted: " + "; ".join(notes))
    table = compare_fits(fits)
    if choose is not None:
        choose = family_name(choose)
        if choose not in fits:
            raise ValueError(f"The chosen distribution {choose!r} was not fitted (fitted: {', '.join(fits)}).")
    else:
        ok = table[table["converged"]]
        choose = str((ok if len(ok) else table).iloc[0]["dist"])
    table = table.assign(chosen=table["dist"] == choose)
    max_time = float(np.max(time))
    horizon = float(horizon) if horizon is not None else 3.0 * max_time
    if not (np.isfinite(horizon) and horizon > 0):
        raise ValueError(f"The horizon must be a positive time. Got {horizon!r}.")
    grid = np.unique(np.concatenate([np.linspace(0.0, max(horizon, max_time), n_grid), [max_time]]))
    frames = []
    for g, x in groups.items():
        f = survival_curves(fits, grid, x=x or None, km="auto")
        f.insert(0, "group", g)
        frames.append(f)
    return SurvivalAnalysis(fits=fits, table=table, chosen=choose, groups=groups,
                            curves=pd.concat(frames, ignore_index=True), time_unit=time_unit, prefix=prefix,
                            data_source=data_source, horizon=horizon, group_name=group_name, ipd=ipd,
                            warnings=notes)
