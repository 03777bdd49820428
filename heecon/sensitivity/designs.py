"""Study designs for the expected value of sample information (EVSI), as plain data.

A design says what data a proposed study would collect, which scenario parameters those data depend on, and
which of them the study is meant to inform. It is read from a TOML-like mapping (:func:`~heecon.sensitivity.design_read.parse_design`) or a
TOML file (:func:`~heecon.sensitivity.design_read.read_design`) and checked as a whole: every problem is reported at once, each naming its key
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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
