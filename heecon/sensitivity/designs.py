"""Study designs for the expected value of sample information (EVSI), as plain data.

A design says what data a proposed study would collect, which scenario parameters those data depend on, and
which of them the study is meant to inform. It is read from a TOML-like mapping (:func:`parse_design`) or a
TOML file (:func:`read_design`) and checked as a whole: every problem is reported at once, each naming its key
path and what would be valid.

Outcomes
--------
Each design has ``arms`` (1: a single cohort, 2: a trial, control then treatment) and per-arm sample sizes
``n_per_arm``. Parameters are given by *role*; a role's value is a scenario parameter name (read from the PSA
draws) or a fixed number.

=========  ====  ================================================  ==================================================
outcome    arms  roles (required, *one of*, [optional])           data (sufficient statistics per arm)
=========  ====  ================================================  ==================================================
count      2     *rate_ratio | log_rate_ratio*, baseline_rate      total events over ``n`` people followed for
                                                                   ``follow_up_years``: negative binomial
                                                                   (``dispersion`` = size theta, var = mu + mu^2 /
                                                                   theta) or Poisson
count      1     baseline_rate                                     as above, one arm
rate       1, 2  as count                                          Poisson events over ``n x follow_up_years``
                                                                   person-years
binary     2     p_control, *p_treatment | odds_ratio |            events among ``n`` (binomial)
                 log_odds_ratio*
binary     1     probability                                       as above, one arm
normal     2     mean_difference, [control_mean]                   arm means of ``n`` observations with known ``sd``
normal     1     mean                                              as above, one arm
=========  ====  ================================================  ==================================================

Rates are per ``rate_per`` (``"year"`` by default; ``"month"``, ``"week"``, ``"day"``) and follow-up is in
years. A ratio compares treatment with control.

What the analysis of the study's data knows
-------------------------------------------
``informs`` lists the roles the decision model is updated for (default: every role given by a parameter
name). The other roles still generate the data:

* a role given by a scenario parameter that varies in the PSA is analysed with its PSA distribution as prior
  (it is learnt about too, which sharpens what the data say about the informed ones), but the model is not
  updated for it (``voi``'s ``pars`` within ``pars_datagen``);
* a role given by a number (or a parameter that does not vary) is not known to the analysis: it is estimated
  from the data alone, as a trial's comparison of its arms does; so is the control mean of a two-arm normal
  design when ``control_mean`` is not given (its data are the difference in means).

Summary statistics
------------------
The regression method of Strong et al. (2015) regresses net benefit on low-dimensional summaries of each
simulated data set; a design gives one per informed role (:meth:`StudyDesign.summary_statistics`):

* ``baseline_rate``: ``log((E0 + 0.5) / T0)``, events ``E0`` over person-time ``T0`` in the control arm (the
  only arm of a cohort);
* ``rate_ratio``: ``log((E1 + 0.5) / (E0 + 0.5))`` (equal person-time per arm);
* ``p_control``, ``p_treatment``, ``probability``: ``logit((x + 0.5) / (n + 1))`` of the arm's events;
* ``odds_ratio``: the difference of those two logits;
* ``mean``, ``control_mean``: the (control) arm mean; ``mean_difference``: treatment minus control mean.

The half-event corrections keep the summaries finite; the regression is nonparametric, so any one-to-one
transformation carries the same information.

Prior effective sample size
---------------------------
The Gaussian approximation (Jalal & Alarid-Escudero 2018) needs, for each informed parameter ``theta``, the
prior effective sample size ``n0``: the number of study participants (per arm) whose data would carry as much
information as the current uncertainty. :meth:`StudyDesign.prior_sample_size` takes::

    n0 = E[v1(theta)] / Var(theta)

with ``v1`` the variance of the parameter's estimator from one participant per arm and the mean and variance
over the PSA draws, on the scale named in the table below. This gives the paper's values in the conjugate
cases: ``alpha + beta`` for a Beta(alpha, beta) probability (``v1 = p(1 - p)``), ``beta / t`` for a
Gamma(alpha, beta) Poisson rate observed for ``t`` per person (``v1 = lambda / t``) and ``sigma^2 / sigma0^2``
for a normal mean. Ratios are taken on the log scale, where their estimators are near normal:
``v1 = 1 / (lambda0 t) + 1 / (lambda1 t) (+ 2 / theta)`` for a log rate ratio (negative binomial adds the
``1 / theta`` per arm), ``1 / (p0 (1 - p0)) + 1 / (p1 (1 - p1))`` for a log odds ratio.

References
----------
Strong M, Oakley JE, Brennan A, Breeze P. Estimating the expected value of sample information using the
probabilistic sensitivity analysis sample: a fast, nonparametric regression-based method. Med Decis Making
2015;35(5):570-83.
Jalal H, Alarid-Escudero F. A Gaussian approximation approach for value of information analysis. Med Decis
Making 2018;38(2):174-88.
Heath A, Kunst N, Jackson C (eds). Value of Information for Healthcare Decision-Making. CRC Press 2024
(the ``voi`` R package's study designs ``binary``, ``trial_binary``, ``normal_known``).
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import special

__all__ = [
    "ARMS",
    "OUTCOMES",
    "RATE_PER",
    "DecisionPopulation",
    "DesignError",
    "StudyCosts",
    "StudyDesign",
    "check_design",
    "parse_design",
    "read_design",
]

#: Outcome types a design can have.
OUTCOMES = ("count", "binary", "normal", "rate")
#: Arms a design can have: a single cohort or a two-arm trial (control, treatment).
ARMS = (1, 2)
#: Time units of a rate, and how many of them make a year.
RATE_PER = {"year": 1.0, "month": 12.0, "week": 365.25 / 7.0, "day": 365.25}
#: Count distributions.
COUNT_DISTRIBUTIONS = ("negative_binomial", "poisson")

_DESIGN_KEYS = ("name", "label", "description", "outcome", "arms", "n_per_arm", "parameters", "informs",
                "follow_up_years", "rate_per", "distribution", "dispersion", "sd", "source", "notes")
_COST_KEYS = ("fixed", "per_participant", "currency", "price_year", "source", "fixed_source", "per_participant_source",
              "notes")
_POPULATION_KEYS = ("population_per_year", "years", "discount_rate", "timing", "source", "notes")
_TOP_KEYS = ("design", "costs", "population")

# roles per (outcome, arms): required roles, groups of which exactly one is required, optional roles
_RATE_ROLES = {2: ((("baseline_rate",), ("rate_ratio", "log_rate_ratio")), ()), 1: ((("baseline_rate",),), ())}
_ROLES: dict[tuple[str, int], tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]] = {
    ("count", 2): _RATE_ROLES[2],
    ("count", 1): _RATE_ROLES[1],
    ("rate", 2): _RATE_ROLES[2],
    ("rate", 1): _RATE_ROLES[1],
    ("binary", 2): ((("p_control",), ("p_treatment", "odds_ratio", "log_odds_ratio")), ()),
    ("binary", 1): ((("probability",),), ()),
    ("normal", 2): ((("mean_difference",),), ("control_mean",)),
    ("normal", 1): ((("mean",),), ()),
}
# what a role's values must be: "prob" in (0, 1), "pos" > 0, "real"
_ROLE_RANGE = {"baseline_rate": "pos", "rate_ratio": "pos", "log_rate_ratio": "real", "p_control": "prob",
               "p_treatment": "prob", "odds_ratio": "pos", "log_odds_ratio": "real", "probability": "prob",
               "mean_difference": "real", "control_mean": "real", "mean": "real"}
# the scale on which the Gaussian approximation shrinks a role's parameter towards its mean
_LOG_SCALE = ("rate_ratio", "odds_ratio")


class DesignError(ValueError):
    """A study design failed validation. ``problems`` lists every message (each names its key path)."""

    def __init__(self, problems: Sequence[str], file: str | None = None):
        self.problems = list(problems)
        self.file = file
        head = f"Invalid study design {file}:" if file else "Invalid study design:"
        super().__init__("\n".join([head] + [f"  - {p}" for p in self.problems]))


# --------------------------------------------------------------------------- plain data


@dataclass(frozen=True)
class StudyCosts:
    """Costs of running the study: ``fixed`` (set-up, staff, analysis) plus ``per_participant`` per person."""

    fixed: float
    per_participant: float
    currency: str | None = None
    price_year: int | None = None
    source: str | None = None

    def total(self, participants: Any) -> Any:
        """Study cost for ``participants`` people in all (a number or an array)."""
        return self.fixed + self.per_participant * np.asarray(participants, dtype=float)


@dataclass(frozen=True)
class DecisionPopulation:
    """People facing the decision each year, the decision horizon and the discounting of later cohorts.

    The conventions are those of :func:`heecon.cea.population_evpi` (``timing="end"``: year ``t`` discounted by
    ``(1 + r)^-t``, ``t = 1..years``).
    """

    population_per_year: float | tuple[float, ...]
    years: int
    discount_rate: float
    timing: str = "end"
    source: str | None = None

    def factor(self) -> float:
        """Discounted number of people affected over the horizon: population EVSI per unit of per-person EVSI."""
        from heecon.cea import population_evpi

        pop = self.population_per_year
        return float(population_evpi(1.0, np.asarray(pop, dtype=float) if isinstance(pop, tuple) else pop,
                                     self.years, self.discount_rate, self.timing))


@dataclass(frozen=True)
class StudyDesign:
    """A proposed study: its outcome, arms, sample sizes and the scenario parameters its data depend on.

    Build it with :func:`parse_design` or :func:`read_design`, which check every field.

    Attributes
    ----------
    name
        Identifier (used in seeds and tables).
    outcome
        One of :data:`OUTCOMES`.
    arms
        1 (cohort) or 2 (trial: control, treatment).
    n_per_arm
        Candidate sample sizes per arm.
    parameters
        Role -> scenario parameter name, or a fixed number (see the module docstring for the roles).
    informs
        The roles the study is analysed for; every other role only generates data.
    follow_up_years, rate_per
        Follow-up per participant (years) and the time unit of rates (count and rate outcomes).
    distribution, dispersion
        ``"negative_binomial"`` (with size ``dispersion``: var = mu + mu^2 / dispersion) or ``"poisson"``.
    sd
        Known individual-level standard deviation (normal outcome).
    costs, population
        Optional research costs and decision population, for the expected net benefit of sampling.
    source
        Where the design's numbers come from (free text, ``design.source`` and ``design.notes``).
    file
        The file it was read from, if any.
    """

    name: str
    outcome: str
    arms: int
    n_per_arm: tuple[int, ...]
    parameters: Mapping[str, str | float]
    informs: tuple[str, ...]
    follow_up_years: float | None = None
    rate_per: str = "year"
    distribution: str | None = None
    dispersion: float | None = None
    sd: float | None = None
    label: str | None = None
    description: str | None = None
    costs: StudyCosts | None = None
    population: DecisionPopulation | None = None
    source: str | None = None
    file: str | None = field(default=None, compare=False)

    # ----------------------------------------------------------------- parameters

    @property
    def informed_parameters(self) -> dict[str, str]:
        """Informed role -> scenario parameter name."""
        return {r: str(self.parameters[r]) for r in self.informs}

    @property
    def data_parameters(self) -> dict[str, str]:
        """Role -> scenario parameter name, for every role the data depend on that is a parameter."""
        return {r: v for r, v in self.parameters.items() if isinstance(v, str)}

    @property
    def participants_per_n(self) -> int:
        """Participants per unit of ``n`` (the number of arms)."""
        return self.arms

    def resolve(self, inputs: Mapping[str, Any], n_samples: int | None = None) -> dict[str, np.ndarray]:
        """Each role's values per PSA sample: a parameter's draws, or a fixed number repeated.

        Raises
        ------
        DesignError
            For a parameter missing from ``inputs`` (with a suggestion), of the wrong length, or outside its
            role's range (e.g. a probability outside (0, 1)).
        """
        from heecon.scenario.errors import did_you_mean

        if n_samples is None:
            lens = [np.asarray(inputs[v]).size for v in self.data_parameters.values() if v in inputs]
            n_samples = lens[0] if lens else 1
        out: dict[str, np.ndarray] = {}
        problems = []
        for role, v in self.parameters.items():
            key = f"design.parameters.{role}"
            if isinstance(v, str):
                if v not in inputs:
                    problems.append(f"{key} names '{v}', which is not among the PSA's parameters."
                                    f"{did_you_mean(v, inputs)}")
                    continue
                arr = np.asarray(inputs[v], dtype=float).ravel()
                if arr.size != n_samples:
                    problems.append(f"{key}: parameter '{v}' has {arr.size} draws but the PSA has {n_samples} samples.")
                    continue
            else:
                arr = np.full(n_samples, float(v))
            bad = _out_of_range(arr, _ROLE_RANGE[role])
            if bad is not None:
                what = f"parameter '{v}'" if isinstance(v, str) else "the value"
                problems.append(f"{key}: {what} must be {_RANGE_TEXT[_ROLE_RANGE[role]]} for a {role}. Got {bad}.")
                continue
            out[role] = arr
        if problems:
            raise DesignError(problems)
        for role in self.informs:
            if np.ptp(out[role]) == 0:
                problems.append(f"design.informs: '{role}' ('{self.parameters[role]}') does not vary in the PSA, so "
                                "the study cannot change the decision through it; give it a distribution or leave it "
                                "out of design.informs.")
        if problems:
            raise DesignError(problems)
        return out

    def natural(self, values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """The arm-level quantities that generate data: ``rate``/``prob``/``mean`` of arm 0 (and arm 1)."""
        if self.outcome in ("count", "rate"):
            lam0 = values["baseline_rate"]
            if self.arms == 1:
                return {"rate0": lam0}
            rr = values["rate_ratio"] if "rate_ratio" in values else np.exp(values["log_rate_ratio"])
            return {"rate0": lam0, "rate1": lam0 * rr}
        if self.outcome == "binary":
            if self.arms == 1:
                return {"prob0": values["probability"]}
            p0 = values["p_control"]
            if "p_treatment" in values:
                p1 = values["p_treatment"]
            else:
                lor = np.log(values["odds_ratio"]) if "odds_ratio" in values else values["log_odds_ratio"]
                p1 = special.expit(special.logit(p0) + lor)
            return {"prob0": p0, "prob1": p1}
        if self.arms == 1:
            return {"mean0": values["mean"]}
        mu0 = values.get("control_mean", np.zeros_like(values["mean_difference"]))
        return {"mean0": mu0, "mean1": mu0 + values["mean_difference"]}

    def _time(self) -> float:
        """Follow-up per participant in the rate's time unit."""
        return float(self.follow_up_years) * RATE_PER[self.rate_per]

    def _nb(self) -> bool:
        return self.outcome == "count" and self.distribution == "negative_binomial"

    # ----------------------------------------------------------------- data

    def simulate(self, values: Mapping[str, np.ndarray], n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """One data set of ``n`` per arm for each PSA sample, as sufficient statistics per arm.

        Returns ``{"events0", "events1"}`` (count, rate: total events; binary: events among ``n``) or
        ``{"mean0", "mean1"}`` (normal: arm means); a cohort has the ``0`` entry only. The sum of ``n``
        independent negative binomial counts with size ``theta`` and mean ``mu`` is negative binomial with
        size ``n theta`` and mean ``n mu``, so a whole arm is one draw.
        """
        nat = self.natural(values)
        out: dict[str, np.ndarray] = {}
        for a in range(self.arms):
            if self.outcome in ("count", "rate"):
                m = n * nat[f"rate{a}"] * self._time()
                if self._nb():
                    size = n * float(self.dispersion)
                    out[f"events{a}"] = rng.negative_binomial(size, size / (size + m)).astype(float)
                else:
                    out[f"events{a}"] = rng.poisson(m).astype(float)
            elif self.outcome == "binary":
                out[f"events{a}"] = rng.binomial(n, nat[f"prob{a}"]).astype(float)
            else:
                out[f"mean{a}"] = nat[f"mean{a}"] + float(self.sd) / math.sqrt(n) * rng.standard_normal(
                    nat[f"mean{a}"].shape)
        return out

    def summary_statistics(self, data: Mapping[str, np.ndarray], n: int,
                           roles: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
        """Summaries of each data set for the regression: one column per role (module docstring).

        ``roles`` defaults to the informed ones. Returns the column names (``"<role>_hat"``) and an array
        ``(n_datasets, len(roles))``.
        """
        roles = list(self.informs if roles is None else roles)
        cols = [self._summary(role, data, n) for role in roles]
        return [f"{r}_hat" for r in roles], np.column_stack(cols)

    def nuisance_roles(self, values: Mapping[str, np.ndarray]) -> tuple[str, ...]:
        """Roles given by a parameter that varies in the PSA and generates data but is not informed."""
        return tuple(r for r in self.data_parameters if r not in self.informs and np.ptp(values[r]) > 0)

    def fixed_roles(self, values: Mapping[str, np.ndarray]) -> tuple[str, ...]:
        """Roles that generate data but do not vary in the PSA (a number, or a parameter without uncertainty).

        The analysis does not know them: they are estimated from the data alone (e.g. the control arm of a
        trial), as a trial's comparison of arms does.
        """
        return tuple(r for r in self.parameters if r not in self.informs and np.ptp(values[r]) == 0)

    def _summary(self, role: str, data: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        if self.outcome in ("count", "rate"):
            if role == "baseline_rate":
                return np.log((data["events0"] + 0.5) / (n * self._time()))
            return np.log((data["events1"] + 0.5) / (data["events0"] + 0.5))
        if self.outcome == "binary":
            lg = [special.logit((data[f"events{a}"] + 0.5) / (n + 1.0)) for a in range(self.arms)]
            if role in ("p_control", "probability"):
                return lg[0]
            if role == "p_treatment":
                return lg[1]
            return lg[1] - lg[0]
        if role in ("mean", "control_mean"):
            return data["mean0"]
        return data["mean1"] - data["mean0"]

    def log_likelihood(self, data: Mapping[str, np.ndarray], values: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Log-likelihood of data sets ``j`` under parameter samples ``i``, up to terms free of the parameters.

        ``data`` holds arrays of shape ``(m,)`` (one entry per data set); ``values`` arrays of shape ``(s,)``
        (one per sample). Returns ``(m, s)``.
        """
        nat = self.natural(values)
        if self.outcome == "normal" and self.arms == 2 and "control_mean" not in self.parameters:
            # control mean unknown (not modelled): the difference in means, variance 2 sd^2 / n, is the data
            d = (data["mean1"] - data["mean0"])[:, None] - (nat["mean1"] - nat["mean0"])[None, :]
            return -0.25 * n * d * d / float(self.sd) ** 2
        ll = 0.0
        for a in range(self.arms):
            if self.outcome in ("count", "rate"):
                x = data[f"events{a}"][:, None]
                m = n * nat[f"rate{a}"][None, :] * self._time()
                if self._nb():
                    r = n * float(self.dispersion)
                    ll = ll + x * np.log(m) - (x + r) * np.log(r + m)
                else:
                    ll = ll + x * np.log(m) - m
            elif self.outcome == "binary":
                x = data[f"events{a}"][:, None]
                p = nat[f"prob{a}"][None, :]
                ll = ll + x * np.log(p) + (n - x) * np.log1p(-p)
            else:
                d = data[f"mean{a}"][:, None] - nat[f"mean{a}"][None, :]
                ll = ll - 0.5 * n * d * d / float(self.sd) ** 2
        return np.asarray(ll)

    # ----------------------------------------------------------------- Gaussian approximation

    def gaussian_scale(self, values: Mapping[str, np.ndarray],
                       roles: Sequence[str] | None = None) -> dict[str, np.ndarray]:
        """Parameters (default: the informed ones) on the Gaussian approximation's scale (log for ratios)."""
        roles = self.informs if roles is None else roles
        return {r: (np.log(values[r]) if r in _LOG_SCALE else np.asarray(values[r])) for r in roles}

    def prior_sample_size(self, values: Mapping[str, np.ndarray]) -> dict[str, float]:
        """Prior effective sample size per arm, ``n0 = E[v1] / Var(theta)``, of each informed role.

        See the module docstring for ``v1`` (the variance of the estimator from one participant per arm) and
        the conjugate cases it reproduces (Jalal & Alarid-Escudero 2018).
        """
        V = self.sampling_covariance(values)
        scaled = self.gaussian_scale(values)
        return {r: float(V[j, j] / np.var(scaled[r])) for j, r in enumerate(self.informs)}

    def sampling_covariance(self, values: Mapping[str, np.ndarray], roles: Sequence[str] | None = None) -> np.ndarray:
        """Covariance of the estimators of ``roles`` (default: informed) from one participant per arm.

        Averaged over the PSA, on the scale of :meth:`gaussian_scale`. The estimators of a baseline and a ratio
        share the control arm, so they covary (e.g. ``Cov(p0_hat, log_or_hat) = -1`` per participant, by the
        delta method).
        """
        nat = self.natural(values)
        roles = list(self.informs if roles is None else roles)
        d = len(roles)
        V = np.empty((d, d))
        for i, ri in enumerate(roles):
            for j, rj in enumerate(roles[: i + 1]):
                V[i, j] = V[j, i] = float(np.mean(self._unit_covariance(ri, rj, nat)))
        return V

    def _unit_covariance(self, r1: str, r2: str, nat: Mapping[str, np.ndarray]) -> np.ndarray | float:
        if r1 == r2:
            return self._unit_variance(r1, nat)
        pair = {r1, r2}
        if self.outcome in ("count", "rate"):  # baseline rate and a (log) rate ratio: both use the control arm
            inv_size = 1.0 / float(self.dispersion) if self._nb() else 0.0
            return -(1.0 / self._time() + nat["rate0"] * inv_size)
        if self.outcome == "binary":
            if pair & {"odds_ratio", "log_odds_ratio"}:  # p_control and the log odds ratio
                return -1.0
            return 0.0  # the two arms' probabilities
        return -float(self.sd) ** 2  # control mean and mean difference

    def _unit_variance(self, role: str, nat: Mapping[str, np.ndarray]) -> np.ndarray:
        if self.outcome in ("count", "rate"):
            t = self._time()
            inv_size = 1.0 / float(self.dispersion) if self._nb() else 0.0
            lam0 = nat["rate0"]
            if role == "baseline_rate":
                return lam0 / t + lam0 * lam0 * inv_size
            return 1.0 / (lam0 * t) + 1.0 / (nat["rate1"] * t) + 2.0 * inv_size
        if self.outcome == "binary":
            p0 = nat["prob0"]
            if role in ("p_control", "probability"):
                return p0 * (1.0 - p0)
            p1 = nat["prob1"]
            if role == "p_treatment":
                return p1 * (1.0 - p1)
            return 1.0 / (p0 * (1.0 - p0)) + 1.0 / (p1 * (1.0 - p1))
        sd2 = float(self.sd) ** 2
        return np.full_like(next(iter(nat.values())), 2.0 * sd2 if role == "mean_difference" else sd2)

    def to_dict(self) -> dict[str, Any]:
        """The design as a TOML-like mapping that :func:`parse_design` reads back."""
        d: dict[str, Any] = {"name": self.name, "outcome": self.outcome, "arms": self.arms,
                             "n_per_arm": list(self.n_per_arm), "parameters": dict(self.parameters),
                             "informs": list(self.informs)}
        for k in ("label", "description", "follow_up_years", "distribution", "dispersion", "sd", "source"):
            if getattr(self, k) is not None:
                d[k] = getattr(self, k)
        if self.outcome in ("count", "rate"):
            d["rate_per"] = self.rate_per
        out: dict[str, Any] = {"design": d}
        if self.costs is not None:
            c = self.costs
            out["costs"] = {k: v for k, v in (("fixed", c.fixed), ("per_participant", c.per_participant),
                                              ("currency", c.currency), ("price_year", c.price_year),
                                              ("source", c.source)) if v is not None}
        if self.population is not None:
            p = self.population
            pop = list(p.population_per_year) if isinstance(p.population_per_year, tuple) else p.population_per_year
            out["population"] = {k: v for k, v in (("population_per_year", pop), ("years", p.years),
                                                   ("discount_rate", p.discount_rate), ("timing", p.timing),
                                                   ("source", p.source)) if v is not None}
        return out


_RANGE_TEXT = {"prob": "strictly between 0 and 1", "pos": "positive", "real": "finite"}


def _out_of_range(arr: np.ndarray, kind: str) -> float | None:
    ok = np.isfinite(arr)
    if kind == "prob":
        ok &= (arr > 0) & (arr < 1)
    elif kind == "pos":
        ok &= arr > 0
    if ok.all():
        return None
    return float(arr[~ok][0])


# --------------------------------------------------------------------------- parsing


def _fmt_choices(options: Sequence[Any]) -> str:
    return ", ".join(repr(o) for o in options)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, msg: str) -> None:
        self.problems.append(msg)

    def unknown_keys(self, table: Mapping[str, Any], valid: Sequence[str], where: str) -> None:
        from heecon.scenario.errors import did_you_mean

        for k in table:
            if k not in valid:
                self.add(f"{where}.{k} is not a known key.{did_you_mean(str(k), valid)} "
                         f"Valid keys: {_fmt_choices(valid)}.")

    def number(self, table: Mapping[str, Any], key: str, where: str, *, lo: float | None = None,
               lo_open: bool = False, hi: float | None = None, hi_open: bool = False, integer: bool = False,
               required: bool = False) -> float | None:
        path = f"{where}.{key}"
        if key not in table:
            if required:
                self.add(f"{path} is required{_range_text(lo, lo_open, hi, hi_open, integer)}.")
            return None
        v = table[key]
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if ok and integer:
            ok = float(v).is_integer()
        if ok and lo is not None:
            ok = v > lo if lo_open else v >= lo
        if ok and hi is not None:
            ok = v < hi if hi_open else v <= hi
        if not ok:
            self.add(f"{path} must be {_range_text(lo, lo_open, hi, hi_open, integer, lead=False)}. Got {v!r}.")
            return None
        return int(v) if integer else float(v)

    def choice(self, table: Mapping[str, Any], key: str, where: str, options: Sequence[Any], default: Any = None,
               required: bool = False) -> Any:
        path = f"{where}.{key}"
        if key not in table:
            if required:
                self.add(f"{path} is required: one of {_fmt_choices(options)}.")
            return default
        v = table[key]
        if v not in options or isinstance(v, bool):
            from heecon.scenario.errors import did_you_mean

            hint = did_you_mean(v, [str(o) for o in options]) if isinstance(v, str) else ""
            self.add(f"{path} must be one of {_fmt_choices(options)}. Got {v!r}.{hint}")
            return default
        return v

    def text(self, table: Mapping[str, Any], key: str, where: str) -> str | None:
        if key not in table:
            return None
        v = table[key]
        if not isinstance(v, str):
            self.add(f"{where}.{key} must be a string. Got {v!r}.")
            return None
        return v


def _range_text(lo: float | None, lo_open: bool, hi: float | None, hi_open: bool, integer: bool,
                lead: bool = True) -> str:
    what = "a whole number" if integer else "a number"
    if lo is not None and hi is not None:
        what += f" in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    elif lo is not None:
        what += f" {'>' if lo_open else '>='} {lo:g}"
    elif hi is not None:
        what += f" {'<' if hi_open else '<='} {hi:g}"
    return (": " + what) if lead else what


def parse_design(data: Mapping[str, Any], *, file: str | None = None) -> StudyDesign:
    """Check a study design given as a TOML-like mapping and return it.

    Parameters
    ----------
    data
        ``{"design": {...}, "costs": {...}, "population": {...}}`` (``costs`` and ``population`` optional), or
        the ``design`` table alone. Keys of ``design``: ``name``, ``outcome`` (one of :data:`OUTCOMES`),
        ``arms`` (1 or 2, default 2), ``n_per_arm`` (a whole number or a list of them, >= 1),
        ``parameters`` (role -> scenario parameter name or number), ``informs`` (roles; default every role
        given by name), ``follow_up_years`` and ``rate_per`` (count, rate), ``distribution`` and
        ``dispersion`` (count), ``sd`` (normal), ``label``, ``description``. ``costs``: ``fixed``,
        ``per_participant`` (>= 0), ``currency``, ``price_year``, ``source``. ``population``:
        ``population_per_year`` (>= 0, one number or one per year), ``years`` (>= 1), ``discount_rate``
        (in [0, 1)), ``timing`` (``"end"`` or ``"start"``), ``source``.
    file
        File name for the error heading.

    Raises
    ------
    DesignError
        Listing every problem, each naming its key path and what is valid, e.g. "design.outcome must be one
        of 'count', 'binary', 'normal', 'rate'. Got 'counts'."
    """
    ck = _Checker()
    if not isinstance(data, Mapping):
        raise DesignError([f"a study design must be a table (mapping). Got {type(data).__name__}."], file)
    if "design" in data and isinstance(data["design"], Mapping):
        top, d = data, data["design"]
        ck.unknown_keys(top, _TOP_KEYS, "(top level)")
    elif "design" in data:
        raise DesignError([f"design must be a table. Got {data['design']!r}."], file)
    elif "outcome" in data:
        top, d = {}, data
    else:
        raise DesignError(["design is required: a [design] table with at least outcome, n_per_arm and parameters."],
                          file)
    w = "design"
    ck.unknown_keys(d, _DESIGN_KEYS, w)
    name = ck.text(d, "name", w) or (Path(file).stem if file else "design")
    outcome = ck.choice(d, "outcome", w, OUTCOMES, required=True)
    arms = ck.choice(d, "arms", w, ARMS, default=2)
    n_per_arm = _parse_n(ck, d.get("n_per_arm"), f"{w}.n_per_arm")

    # parameters by role
    params: dict[str, str | float] = {}
    ptab = d.get("parameters")
    if ptab is None:
        ck.add(f"{w}.parameters is required: a table of role = \"scenario parameter name\" (or a number).")
        ptab = {}
    elif not isinstance(ptab, Mapping):
        ck.add(f"{w}.parameters must be a table of role = \"parameter name\". Got {ptab!r}.")
        ptab = {}
    if outcome is not None and arms is not None:
        required, optional = _ROLES[(outcome, arms)]
        allowed = [r for g in required for r in g] + list(optional)
        ck.unknown_keys(ptab, allowed, f"{w}.parameters")
        for group in required:
            given = [r for r in group if r in ptab]
            if not given:
                if len(group) == 1:
                    ck.add(f"{w}.parameters.{group[0]} is required for a {arms}-arm {outcome} design: a scenario "
                           f"parameter name or a number.")
                else:
                    ck.add(f"{w}.parameters needs one of {_fmt_choices(group)} for a {arms}-arm {outcome} design.")
            elif len(given) > 1:
                ck.add(f"{w}.parameters gives {_fmt_choices(given)}; give only one of {_fmt_choices(group)}.")
        for role, v in ptab.items():
            if role not in allowed:
                continue
            if isinstance(v, str) and v.strip():
                params[role] = v.strip()
            elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                params[role] = float(v)
            else:
                ck.add(f"{w}.parameters.{role} must be a scenario parameter name (string) or a number. Got {v!r}.")

    # informs
    named = [r for r, v in params.items() if isinstance(v, str)]
    informs: tuple[str, ...] = tuple(named)
    if "informs" in d:
        inf = d["informs"]
        if isinstance(inf, str):
            inf = [inf]
        if not isinstance(inf, Sequence) or not all(isinstance(x, str) for x in inf) or not inf:
            ck.add(f"{w}.informs must be a non-empty list of roles from design.parameters. Got {d['informs']!r}.")
        else:
            bad = False
            for r in inf:
                if r not in params:
                    from heecon.scenario.errors import did_you_mean

                    ck.add(f"{w}.informs names '{r}', which is not a role in design.parameters."
                           f"{did_you_mean(r, list(params))} Roles given: {_fmt_choices(list(params))}.")
                    bad = True
                elif not isinstance(params[r], str):
                    ck.add(f"{w}.informs names '{r}', which is a fixed number ({params[r]:g}); only a role given by a "
                           "scenario parameter name can be informed.")
                    bad = True
            if len(set(inf)) != len(inf):
                ck.add(f"{w}.informs names a role twice. Got {list(inf)!r}.")
                bad = True
            if not bad:
                informs = tuple(inf)
    elif params and not named and outcome is not None:
        ck.add(f"{w}.parameters gives only fixed numbers; name at least one scenario parameter for the study to "
               "inform.")

    # outcome-specific settings
    follow_up = rate_per = distribution = dispersion = sd = None
    if outcome in ("count", "rate"):
        follow_up = ck.number(d, "follow_up_years", w, lo=0, lo_open=True, required=True)
        rate_per = ck.choice(d, "rate_per", w, tuple(RATE_PER), default="year")
        if outcome == "count":
            distribution = ck.choice(d, "distribution", w, COUNT_DISTRIBUTIONS, required=True)
            if distribution == "negative_binomial":
                dispersion = ck.number(d, "dispersion", w, lo=0, lo_open=True, required=True)
            elif "dispersion" in d and distribution == "poisson":
                ck.add(f"{w}.dispersion is only used by distribution = 'negative_binomial'; remove it for 'poisson'.")
        else:
            for k in ("distribution", "dispersion"):
                if k in d:
                    ck.add(f"{w}.{k} does not apply to outcome 'rate' (Poisson events over person-time); use "
                           "outcome = 'count' for a negative binomial.")
    elif outcome is not None:
        for k in ("follow_up_years", "distribution", "dispersion"):
            if k in d:
                ck.add(f"{w}.{k} applies to outcomes 'count' and 'rate' only; this design's outcome is '{outcome}'.")
    if outcome == "normal":
        sd = ck.number(d, "sd", w, lo=0, lo_open=True, required=True)
    elif outcome is not None and "sd" in d:
        ck.add(f"{w}.sd applies to outcome 'normal' only; this design's outcome is '{outcome}'.")

    costs = _parse_costs(ck, top.get("costs")) if "costs" in top else None
    population = _parse_population(ck, top.get("population")) if "population" in top else None
    if ck.problems:
        raise DesignError(ck.problems, file)
    return StudyDesign(name=name, outcome=outcome, arms=int(arms), n_per_arm=n_per_arm, parameters=params,
                       informs=informs, follow_up_years=follow_up, rate_per=rate_per or "year",
                       distribution=distribution, dispersion=dispersion, sd=sd, label=ck.text(d, "label", w),
                       description=ck.text(d, "description", w), costs=costs, population=population,
                       source=" ".join(s for s in (ck.text(d, "source", w), ck.text(d, "notes", w)) if s) or None,
                       file=file)


def _parse_n(ck: _Checker, v: Any, path: str) -> tuple[int, ...]:
    if v is None:
        ck.add(f"{path} is required: a whole number >= 1 or a list of them (participants per arm).")
        return ()
    vals = v if isinstance(v, (list, tuple)) else [v]
    out = []
    for x in vals:
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not math.isfinite(x) \
                or not float(x).is_integer() or x < 1:
            ck.add(f"{path} must be a whole number >= 1 or a list of them. Got {v!r}.")
            return ()
        out.append(int(x))
    if not out:
        ck.add(f"{path} must list at least one sample size. Got {v!r}.")
    elif len(set(out)) != len(out):
        ck.add(f"{path} lists a sample size twice. Got {v!r}.")
    return tuple(sorted(out))


def _parse_costs(ck: _Checker, t: Any) -> StudyCosts | None:
    if not isinstance(t, Mapping):
        ck.add(f"costs must be a table with fixed and per_participant. Got {t!r}.")
        return None
    ck.unknown_keys(t, _COST_KEYS, "costs")
    fixed = ck.number(t, "fixed", "costs", lo=0, required=True)
    pp = ck.number(t, "per_participant", "costs", lo=0, required=True)
    year = ck.number(t, "price_year", "costs", lo=1900, hi=2200, integer=True)
    parts = [s for s in (ck.text(t, "source", "costs"), ck.text(t, "fixed_source", "costs"),
                         ck.text(t, "per_participant_source", "costs")) if s]
    if fixed is None or pp is None:
        return None
    return StudyCosts(fixed, pp, ck.text(t, "currency", "costs"), int(year) if year is not None else None,
                      " ".join(parts) or None)


def _parse_population(ck: _Checker, t: Any) -> DecisionPopulation | None:
    if not isinstance(t, Mapping):
        ck.add(f"population must be a table with population_per_year, years and discount_rate. Got {t!r}.")
        return None
    ck.unknown_keys(t, _POPULATION_KEYS, "population")
    years = ck.number(t, "years", "population", lo=1, integer=True, required=True)
    rate = ck.number(t, "discount_rate", "population", lo=0, hi=1, hi_open=True, required=True)
    timing = ck.choice(t, "timing", "population", ("end", "start"), default="end")
    pop: float | tuple[float, ...] | None = None
    v = t.get("population_per_year")
    if isinstance(v, (list, tuple)):
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x >= 0 for x in v) \
                and v:
            pop = tuple(float(x) for x in v)
            if years is not None and len(pop) != years:
                ck.add(f"population.population_per_year lists {len(pop)} values but population.years is {years}; "
                       "give one number or one value per year.")
                pop = None
        else:
            ck.add(f"population.population_per_year must be a number >= 0 or a list of them. Got {v!r}.")
    else:
        pop = ck.number(t, "population_per_year", "population", lo=0, required=True)
    if pop is None or years is None or rate is None:
        return None
    return DecisionPopulation(pop, int(years), float(rate), timing, ck.text(t, "source", "population"))


def read_design(path: str | Path) -> StudyDesign:
    """Read and check a study design from a TOML file (``tomllib``; nothing in it is evaluated).

    Raises
    ------
    DesignError
        If the file cannot be read or parsed, or fails the checks of :func:`parse_design`.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise DesignError([f"file not found: {p}"], str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise DesignError([f"not valid TOML: {exc}"], str(p)) from None
    return parse_design(data, file=str(p))


def check_design(design: StudyDesign, scenario: Any) -> None:
    """Check that the design's parameters exist in ``scenario`` and that the informed ones have a distribution.

    For use before running a PSA (e.g. by the CLI).

    Raises
    ------
    DesignError
        Naming each unknown parameter (with a suggestion) or informed parameter that does not vary.
    """
    from heecon.scenario.errors import did_you_mean
    from heecon.params.scenario_draws import uncertain_parameters

    known = list(scenario.parameters)
    varying = set(uncertain_parameters(scenario))
    problems = []
    for role, v in design.data_parameters.items():
        if v not in known:
            problems.append(f"design.parameters.{role} names '{v}', which is not a parameter of the scenario."
                            f"{did_you_mean(v, known)}")
        elif role in design.informs and v not in varying:
            problems.append(f"design.parameters.{role} names '{v}', which has no distribution in the scenario, so it "
                            "does not vary in the PSA and the study cannot inform it.")
    if problems:
        raise DesignError(problems, design.file)
