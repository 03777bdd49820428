"""EVSI, ENBS and study designs (heecon.sensitivity.evsi, heecon.sensitivity.designs).

Closed form: two strategies whose incremental net benefit at WTP ``w`` is ``w theta - C - eta`` with
``theta ~ N(mu0, s0^2)`` and ``eta`` independent noise. A study observes the mean of ``n`` observations of
``theta`` with known SD ``sigma`` (one arm; a two-arm mean difference has variance ``2 sigma^2 / n``). The
preposterior mean of ``theta`` is normal with variance ``s0^4 / (s0^2 + sigma^2 / n)``, so with ``m = w mu0 - C``
and ``s = w s0^2 / sqrt(s0^2 + sigma^2 / n)``::

    EVSI = m Phi(m / s) + s phi(m / s) - max(0, m)

Published figures (voi R package, chemotherapy example, PSA of 10,000 in ../shared/reference-data/datasets):

* ``evsi(chemo_nb, chemo_pars, study = "trial_binary", pars = c(p1, p2))``, n = 100 per arm: 242.1268 (GAM
  regression) and 239.1277 (importance sampling, nsim = 1000), voi tests/testthat/test_evsi.R;
* ``chemo_evsi_or`` (voi_chemo_evsi_or_k20000.csv): moment matching for the log odds ratio of side effects,
  n = 50..1500 per arm, k = 20,000 (voi data-raw/chemo_evsi_or.R);
* ``enbs(chemo_evsi_or, costs_setup = c(5e6, 1e7), costs_pp = c(28000, 42000), pop = 46000, time = 10)``:
  optimal n 450 at k = 20,000 (voi tests/testthat/test_enbs.R).
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar
from scipy.stats import norm

from heecon.cea import evpi, population_evpi
from heecon.sensitivity.design_read import check_design, parse_design, read_design
from heecon.sensitivity.designs import DesignError, StudyDesign
from heecon.sensitivity.evppi import evppi_arrays
from heecon.sensitivity.evsi import EVSIError, enbs, evsi, evsi_arrays

from .conftest import ROOT, SCENARIOS

MOAM_DESIGN = SCENARIOS / "designs" / "moam_followup.toml"


def normal_evsi(m: float, s: float) -> float:
    """E[max(0, Z)] - max(0, E Z) for Z ~ N(m, s^2)."""
    return m * norm.cdf(m / s) + s * norm.pdf(m / s) - max(0.0, m)


# --------------------------------------------------------------------------- closed form

MU0, S0, SIGMA, C = 0.05, 0.02, 0.2, 1000.0  # n0 = sigma^2 / s0^2 = 100 per arm
WTP = [15000.0, 20000.0, 30000.0]  # m = -250, 0, 500


@functools.cache
def _normal_psa(n: int = 10_000) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    # stratified normal samples (one per 1/n quantile, randomly ordered) and noise orthogonal to E(INB | theta),
    # so that the sample's own EVSI is close to the population's and the closed form can be checked tightly
    rng = np.random.default_rng(20)
    z = norm.ppf((np.arange(n) + 0.5) / n)
    theta = MU0 + S0 * rng.permutation(z)
    eta = 300.0 * rng.permutation(z)
    basis = np.column_stack([np.ones(n), theta, theta ** 2, theta ** 3])
    eta -= basis @ np.linalg.lstsq(basis, eta, rcond=None)[0]
    costs = np.column_stack([np.zeros(n), C + eta])
    effects = np.column_stack([np.zeros(n), theta])
    return costs, effects, {"theta": theta, "eta": eta}


def _normal_design(arms: int) -> dict:
    role = "mean" if arms == 1 else "mean_difference"
    return {"design": {"name": f"normal{arms}", "outcome": "normal", "arms": arms, "n_per_arm": [5, 50, 500],
                       "sd": SIGMA, "parameters": {role: "theta"}}}


@pytest.fixture(scope="module", params=[1, 2], ids=["one_arm", "two_arm"])
def normal_result(request):
    costs, effects, inputs = _normal_psa()
    res = evsi_arrays(costs, effects, inputs, _normal_design(request.param), WTP,
                      method=["regression", "gaussian", "is"], se_draws=50, bootstrap=100, is_samples=3000)
    return request.param, res


def test_evsi_matches_normal_normal_closed_form(normal_result):
    arms, res = normal_result
    t = res.to_frame()
    assert list(t.columns[:6]) == ["wtp", "n", "method", "evsi", "lower", "upper"]
    assert len(t) == 3 * 3 * 3
    for row in t.itertuples():
        m = row.wtp * MU0 - C
        s = row.wtp * S0 ** 2 / math.sqrt(S0 ** 2 + arms * SIGMA ** 2 / row.n)
        exact = normal_evsi(m, s)
        # within 4 standard errors (regression + Monte Carlo of the PSA sample), or 1 (money) where the EVSI is ~0
        # (m = -250, n = 5: 0.001); and, where the EVSI is at least a fifth of the EVPPI, within 5% (12% for
        # importance sampling from 3,000 data sets)
        assert abs(row.evsi - exact) <= 4 * row.se + 1.0, (row, exact)
        if exact >= 0.2 * row.evppi:
            assert row.evsi == pytest.approx(exact, rel=0.12 if row.method == "is" else 0.05), (row, exact)
        assert row.lower <= row.evsi <= row.upper
    # the design's prior effective sample size is sigma^2 / s0^2 (per arm: 2 sigma^2 / s0^2 for a difference)
    role = "mean" if arms == 1 else "mean_difference"
    assert res.n0[role] == pytest.approx(arms * SIGMA ** 2 / S0 ** 2, rel=0.03)


def test_methods_agree_within_their_error(normal_result):
    _, res = normal_result
    t = res.to_frame().set_index(["method", "wtp", "n"])
    reg, gau, imp = (t.loc[m] for m in ("regression", "gaussian", "is"))
    assert np.all(np.abs(reg["evsi"] - gau["evsi"]) <= 3 * np.hypot(reg["se"], gau["se"]) + 1e-9)
    assert np.all(np.abs(imp["evsi"] - gau["evsi"]) <= 3 * np.hypot(imp["se"], gau["se"]) + 1e-9)


# --------------------------------------------------------------------------- a count trial (negative binomial)

YEARS = 3.0


@functools.cache
def _count_psa(n: int = 4000):
    """Offences averted = base x (1 - irr) x 3 years; each costs 3,000 and loses 0.02 QALY; MBT costs 4,500."""
    rng = np.random.default_rng(7)
    irr = np.exp(rng.normal(-0.616, 0.203, n))
    base = rng.gamma((1.78 / 0.27) ** 2, 0.27 ** 2 / 1.78, n)  # mean 1.78, sd 0.27
    unit = rng.gamma(16.0, 3000.0 / 16.0, n)  # cost per offence, uninformed by the trial
    averted = base * (1.0 - irr) * YEARS
    costs = np.column_stack([np.zeros(n), 4500.0 - unit * averted])
    effects = np.column_stack([np.zeros(n), 0.02 * averted])
    return costs, effects, {"irr_offences": irr, "offences_per_year": base, "c_offence": unit}


def test_evsi_below_evppi_below_evpi_at_every_wtp():
    costs, effects, inputs = _count_psa()
    wtp = [0.0, 20000.0, 50000.0, 100000.0]
    res = evsi_arrays(costs, effects, inputs, MOAM_DESIGN, wtp, n=[50, 300], method=["regression", "gaussian", "is"],
                      se_draws=20, bootstrap=50)
    t = res.to_frame()
    ev = evppi_arrays(costs, effects, inputs, [["irr_offences", "offences_per_year"]], wtp, se_draws=0).to_frame()
    # the result's EVPPI (of the informed parameters) is the EVPPI module's, and below the EVPI
    np.testing.assert_allclose(res.evppi, ev["evppi"].to_numpy(), rtol=0.02)
    np.testing.assert_allclose(res.evpi, evpi(costs, effects, wtp), rtol=1e-12)
    assert np.all(res.evppi <= res.evpi * (1 + 1e-9))
    assert np.all(t["evsi"] >= 0)
    assert np.all(t["evsi"] <= t["evppi"] + 3 * t["se"]), t[t["evsi"] > t["evppi"]]
    # the two methods agree on the negative binomial trial within their error
    p = t.set_index(["method", "wtp", "n"])
    reg, gau = p.loc["regression"], p.loc["gaussian"]
    assert np.all(np.abs(reg["evsi"] - gau["evsi"]) <= 3 * np.hypot(reg["se"], gau["se"]) + 1e-6)


def test_evsi_increases_with_n_towards_evppi():
    costs, effects, inputs = _count_psa()
    sizes = [10, 80, 640, 1_000_000]
    res = evsi_arrays(costs, effects, inputs, MOAM_DESIGN, 20000.0, n=sizes, method=["regression", "gaussian"],
                      se_draws=20, bootstrap=50)
    t = res.to_frame()
    g = t[t["method"] == "gaussian"]["evsi"].to_numpy()
    assert np.all(np.diff(g) > 0)
    r = t[t["method"] == "regression"]
    assert np.all(np.diff(r["evsi"].to_numpy()) >= -3 * r["se"].to_numpy()[1:])
    # a huge study is worth about the EVPPI of what it informs
    assert g[-1] == pytest.approx(res.evppi[0], rel=0.01)
    assert r["evsi"].iloc[-1] == pytest.approx(res.evppi[0], rel=0.03)
    assert g[0] < 0.5 * res.evppi[0]


# --------------------------------------------------------------------------- the voi chemotherapy example


@functools.cache
def _chemo(datasets: Path):
    pars = pd.read_csv(datasets / "voi_chemo_nb_pars.csv")
    cea = pd.read_csv(datasets / "voi_chemo_cea.csv")
    costs = cea[["c_t1", "c_t2"]].to_numpy()
    effects = cea[["e_t1", "e_t2"]].to_numpy()
    inputs = {k: pars[k].to_numpy() for k in pars.columns if not k.startswith("nb_")}
    return costs, effects, inputs, pars


def test_chemo_net_benefit_columns_are_k_20000(reference_datasets):
    costs, effects, _, pars = _chemo(reference_datasets)
    np.testing.assert_allclose(20000 * effects - costs, pars[["nb_t1", "nb_t2"]].to_numpy(), rtol=1e-9)


def test_chemo_two_arm_binary_trial_matches_voi(reference_datasets):
    """voi: evsi(chemo_nb, chemo_pars, study = "trial_binary", pars = c(p1, p2)), n = 100 per arm."""
    costs, effects, inputs, _ = _chemo(reference_datasets)
    design = {"design": {"name": "trial_binary", "outcome": "binary", "n_per_arm": 100,
                         "parameters": {"p_control": "p_side_effects_t1", "p_treatment": "p_side_effects_t2"}}}
    res = evsi_arrays(costs, effects, inputs, design, 20000, method=["regression", "gaussian", "is"], se_draws=0,
                      bootstrap=50, is_samples=3000)
    t = res.to_frame().set_index("method")["evsi"]
    assert t["regression"] == pytest.approx(242.1268, rel=0.03)  # voi "gam"
    assert t["gaussian"] == pytest.approx(242.1268, rel=0.03)
    assert t["is"] == pytest.approx(239.1277, rel=0.06)  # voi "is" with nsim = 1000 (its own MC error ~4%)


def _chemo_or_design(sizes) -> dict:
    return {"design": {"name": "chemo_or", "outcome": "binary", "n_per_arm": list(sizes), "informs": ["log_odds_ratio"],
                       "parameters": {"p_control": "p_side_effects_t1", "log_odds_ratio": "logor_side_effects"}}}


def test_chemo_odds_ratio_curve_matches_voi_moment_matching(reference_datasets):
    """voi's chemo_evsi_or, and why its small-n values are lower than a consistent analysis gives.

    voi computed it by moment matching (Heath et al. 2018, 2019): posterior variances from a JAGS analysis of
    data simulated at 50 prior quantiles and sample sizes 50..1500, fitted as ``var(fit) n / (n + beta)``. Its
    analysis model (data-raw/chemo_evsi_or.R) writes ``logor ~ dnorm(mu, sd)`` with the PSA's SD 0.2989, but
    JAGS's ``dnorm`` takes a precision: the analysis prior on the log odds ratio has SD 1/sqrt(0.2989) = 1.83.
    Redoing voi's fit of ``beta`` for that analysis (Gaussian posterior: the binomial information on the log odds
    ratio after the Beta prior on p1, plus prior precision 0.2989) and giving it to the Gaussian approximation as
    ``n0`` reproduces voi's curve within 6% at every n and 3% from n = 400. With the PSA's own prior in the
    analysis, the three methods agree with each other and give more at small n.
    """
    costs, effects, inputs, _ = _chemo(reference_datasets)
    ref = pd.read_csv(reference_datasets / "voi_chemo_evsi_or_k20000.csv")
    assert set(ref["k"]) == {20000.0}
    sizes = ref["n"].astype(int).to_numpy()

    # voi's beta, from its own analysis prior (not fitted to its EVSI figures)
    p1, p2, lor = inputs["p_side_effects_t1"], inputs["p_side_effects_t2"], inputs["logor_side_effects"]
    w0, w1, s0 = p1 * (1 - p1), p2 * (1 - p2), lor.var()
    prec_logit_p1 = (w0.mean() / p1.var()) * w0  # Beta prior of p1 on the logit scale (delta method)
    grid = np.unique(np.round(np.linspace(math.sqrt(50), math.sqrt(1500), 50) ** 2))  # voi's sample sizes

    def post_var(n, prior_precision):
        info = n * w1 - (n * w1) ** 2 / (n * (w0 + w1) + prec_logit_p1)  # log OR, after p1 (binomial arms)
        return float(np.mean(1.0 / (prior_precision + info)))

    red = np.array([s0 - post_var(n, 0.2989) for n in grid])
    beta = minimize_scalar(lambda b: float(np.sum((red - s0 * grid / (grid + b)) ** 2)), bounds=(1, 1e4),
                           method="bounded").x
    assert 150 < beta < 175  # 161; a consistent prior (precision 1 / s0) would give about 80
    voi_like = evsi_arrays(costs, effects, inputs, _chemo_or_design(sizes), 20000, method="gaussian", n0=beta,
                           se_draws=0, bootstrap=0).to_frame()
    rel = voi_like["evsi"].to_numpy() / ref["evsi"].to_numpy() - 1
    assert np.all(np.abs(rel) < 0.06), rel
    assert np.all(np.abs(rel[sizes >= 400]) < 0.03), rel

    # consistent analysis: regression, Gaussian approximation and importance sampling agree
    res = evsi_arrays(costs, effects, inputs, _chemo_or_design([50, 1000]), 20000,
                      method=["regression", "gaussian", "is"], se_draws=20, bootstrap=50, is_samples=2000)
    t = res.to_frame().set_index(["method", "n"])
    for nn in (50, 1000):
        g = t.loc[("gaussian", nn)]
        for m in ("regression", "is"):
            o = t.loc[(m, nn)]
            assert abs(o["evsi"] - g["evsi"]) <= 3 * math.hypot(o["se"], g["se"]), (m, nn, o["evsi"], g["evsi"])
        assert g["evsi"] > ref.set_index("n").loc[float(nn), "evsi"]  # more than voi's, most at small n
    assert t.loc[("gaussian", 1000), "evsi"] == pytest.approx(302.076, rel=0.06)  # the prior matters little here


def test_enbs_reproduces_voi_optimal_sample_size(reference_datasets):
    """voi test_enbs: costs_setup = c(5e6, 1e7) (mean 7.5e6), costs_pp = c(28000, 42000) (mean 35,000)."""
    ref = pd.read_csv(reference_datasets / "voi_chemo_evsi_or_k20000.csv").rename(columns={"k": "wtp"})
    res = enbs(ref, population_per_year=46000, years=10, discount_rate=0.035, fixed_cost=7.5e6,
               cost_per_participant=35000)
    factor = population_evpi(1.0, 46000, 10, 0.035)
    assert res.population_factor == pytest.approx(factor)
    t = res.to_frame()
    np.testing.assert_allclose(t["enbs"], factor * ref["evsi"] - 7.5e6 - 35000 * ref["n"])
    opt = res.optimal.iloc[0]
    assert opt["n"] == 450 and opt["worthwhile"]  # voi's nmax (continuous discounting there; same optimum)


# --------------------------------------------------------------------------- ENBS from a result


def test_enbs_curve_optimum_and_uncertainty():
    costs, effects, inputs = _normal_psa()
    design = _normal_design(2)
    design["design"]["n_per_arm"] = [10, 25, 50, 100, 200, 400, 800]
    design["costs"] = {"fixed": 20_000, "per_participant": 150}
    design["population"] = {"population_per_year": 1000, "years": 5, "discount_rate": 0.035}
    res = evsi_arrays(costs, effects, inputs, design, 20000.0, method="gaussian", se_draws=20, bootstrap=200)
    out = enbs(res)
    t = out.to_frame()
    factor = population_evpi(1.0, 1000, 5, 0.035)
    ev = res.to_frame()["evsi"].to_numpy()
    np.testing.assert_allclose(t["population_evsi"], factor * ev)
    np.testing.assert_allclose(t["study_cost"], 20_000 + 150 * 2 * t["n"])
    np.testing.assert_allclose(t["enbs"], t["population_evsi"] - t["study_cost"])
    assert np.all(t["lower"] <= t["enbs"]) and np.all(t["enbs"] <= t["upper"])
    assert t["participants"].tolist() == [2 * n for n in design["design"]["n_per_arm"]]
    assert t["p_optimal"].sum() == pytest.approx(1.0)
    opt = out.optimal.iloc[0]
    assert opt["n"] == t.loc[t["enbs"].idxmax(), "n"]
    assert opt["n_lower"] <= opt["n"] <= opt["n_upper"]
    assert opt["worthwhile"]
    # the optimum of the closed-form curve, within one step of the grid
    grid = design["design"]["n_per_arm"]
    exact = [factor * normal_evsi(20000 * MU0 - C, 20000 * S0 ** 2 / math.sqrt(S0 ** 2 + 2 * SIGMA ** 2 / n))
             - 20_000 - 300 * n for n in grid]
    assert abs(grid.index(opt["n"]) - int(np.argmax(exact))) <= 1
    # explicit arguments override the design's; an expensive study is not worthwhile
    dear = enbs(res, fixed_cost=1e9)
    assert not dear.optimal.iloc[0]["worthwhile"]
    with pytest.raises(EVSIError, match="population_per_year"):
        enbs(evsi_arrays(costs, effects, inputs, _normal_design(1), 20000.0, n=10, method="gaussian", se_draws=0,
                         bootstrap=0), fixed_cost=0, cost_per_participant=0)


# --------------------------------------------------------------------------- designs


def test_design_errors_name_the_key_and_what_is_valid():
    with pytest.raises(DesignError) as exc:
        parse_design({"design": {"outcome": "counts", "n_per_arm": [50], "parameters": {"rate_ratio": "irr"}}})
    assert "design.outcome must be one of 'count', 'binary', 'normal', 'rate'. Got 'counts'." in str(exc.value)
    with pytest.raises(DesignError) as exc:
        parse_design({"design": {"outcome": "count", "n_per_arm": [50, 0], "folow_up_years": 3,
                                 "distribution": "negative_binomial",
                                 "parameters": {"rate_ratio": "irr", "odds_ratio": "x"}},
                      "costs": {"fixed": -1, "per_participant": 10}})
    msg = str(exc.value)
    for part in ("design.n_per_arm must be a whole number >= 1 or a list of them. Got [50, 0].",
                 "design.folow_up_years is not a known key. Did you mean 'follow_up_years'?",
                 "design.parameters.odds_ratio is not a known key.",
                 "design.parameters.baseline_rate is required for a 2-arm count design",
                 "design.follow_up_years is required: a number > 0.",
                 "design.dispersion is required: a number > 0.",
                 "costs.fixed must be a number >= 0. Got -1."):
        assert part in msg, msg
    assert len(exc.value.problems) == 7
    with pytest.raises(DesignError, match="give only one of 'p_treatment', 'odds_ratio', 'log_odds_ratio'"):
        parse_design({"design": {"outcome": "binary", "n_per_arm": 10,
                                 "parameters": {"p_control": "a", "p_treatment": "b", "odds_ratio": "c"}}})
    with pytest.raises(DesignError, match="only a role given by a scenario parameter name can be informed"):
        parse_design({"design": {"outcome": "normal", "arms": 2, "n_per_arm": 10, "sd": 1, "informs": ["control_mean"],
                                 "parameters": {"mean_difference": "d", "control_mean": 0}}})
    with pytest.raises(DesignError, match="design.sd applies to outcome 'normal' only"):
        parse_design({"design": {"outcome": "rate", "arms": 1, "n_per_arm": 10, "follow_up_years": 1, "sd": 1,
                                 "parameters": {"baseline_rate": "r"}}})


def test_design_checks_its_parameters_against_the_psa():
    design = parse_design({"design": {"outcome": "binary", "arms": 1, "n_per_arm": 10,
                                      "parameters": {"probability": "p_resp"}}})
    with pytest.raises(DesignError, match="not among the PSA's parameters. Did you mean 'p_response'"):
        design.resolve({"p_response": np.full(5, 0.5)})
    with pytest.raises(DesignError, match="must be strictly between 0 and 1 for a probability. Got 1.2"):
        parse_design({"design": {"outcome": "binary", "arms": 1, "n_per_arm": 10,
                                 "parameters": {"probability": "p"}}}).resolve({"p": np.array([0.5, 1.2])})
    with pytest.raises(DesignError, match="does not vary in the PSA"):
        parse_design({"design": {"outcome": "binary", "arms": 1, "n_per_arm": 10,
                                 "parameters": {"probability": "p"}}}).resolve({"p": np.full(4, 0.3)})


def test_design_statistics_and_prior_sample_size():
    rng = np.random.default_rng(3)
    n = 200_000
    # negative binomial sums: mean n mu t and variance n (mu t + (mu t)^2 / theta)
    d = parse_design({"design": {"outcome": "count", "arms": 1, "n_per_arm": 20, "follow_up_years": 2,
                                 "distribution": "negative_binomial", "dispersion": 0.5,
                                 "parameters": {"baseline_rate": "lam"}}})
    data = d.simulate({"baseline_rate": np.full(n, 1.5)}, 20, rng)["events0"]
    mu = 1.5 * 2
    assert data.mean() == pytest.approx(20 * mu, rel=0.01)
    assert data.var() == pytest.approx(20 * (mu + mu ** 2 / 0.5), rel=0.02)
    # conjugate prior effective sample sizes (Jalal & Alarid-Escudero 2018)
    beta = parse_design({"design": {"outcome": "binary", "arms": 1, "n_per_arm": 10,
                                    "parameters": {"probability": "p"}}})
    assert beta.prior_sample_size({"probability": rng.beta(30, 70, n)})["probability"] == pytest.approx(100, rel=0.02)
    pois = parse_design({"design": {"outcome": "rate", "arms": 1, "n_per_arm": 10, "follow_up_years": 2,
                                    "parameters": {"baseline_rate": "r"}}})
    lam = rng.gamma(20.0, 1 / 10.0, n)  # Gamma(shape 20, rate 10): n0 = rate / follow-up = 5 people
    assert pois.prior_sample_size({"baseline_rate": lam})["baseline_rate"] == pytest.approx(5.0, rel=0.02)
    # summaries: log rate ratio and log baseline rate of a two-arm trial
    trial = read_design(MOAM_DESIGN)
    names, S = trial.summary_statistics({"events0": np.array([99.5]), "events1": np.array([49.5])}, 50)
    assert names == ["rate_ratio_hat", "baseline_rate_hat"]
    np.testing.assert_allclose(S, [[math.log(0.5), math.log(100 / 150)]])


def test_read_design_file_and_example(tmp_path):
    from heecon import load_scenario

    d = read_design(MOAM_DESIGN)
    assert isinstance(d, StudyDesign)
    assert (d.outcome, d.arms, d.distribution, d.follow_up_years) == ("count", 2, "negative_binomial", 3.0)
    assert d.informed_parameters == {"rate_ratio": "irr_offences", "baseline_rate": "offences_per_year"}
    assert d.n_per_arm[0] == 50 and d.n_per_arm[-1] == 800
    assert "ASSUMPTION" in d.costs.source and "ASSUMPTION" in d.population.source
    assert (d.population.years, d.population.discount_rate) == (10, 0.035)
    assert d.population.factor() == pytest.approx(population_evpi(1.0, d.population.population_per_year, 10, 0.035))
    check_design(d, load_scenario(SCENARIOS / "mbt_aspd_vs_pau.toml"))
    assert parse_design(d.to_dict()) == d
    bad = tmp_path / "bad.toml"
    bad.write_text('[design]\noutcome = "count"\nn_per_arm = [50]\n__import__ = "os"\n')
    with pytest.raises(DesignError, match=r"Invalid study design .*bad.toml:\n.*design.__import__ is not a known key"):
        read_design(bad)
    bad.write_text("[design\n")
    with pytest.raises(DesignError, match="not valid TOML"):
        read_design(bad)
    with pytest.raises(DesignError, match="file not found"):
        read_design(tmp_path / "missing.toml")


def test_evsi_from_a_psa_result(tmp_path):
    """The scenario-level entry point on the linear model of the EVPPI tests (iNMB = 18000 y - 0.9 x)."""
    from heecon import load_scenario
    from heecon.sensitivity.psa import run_psa

    from .test_evppi import LINEAR_TOML

    path = tmp_path / "linear.toml"
    path.write_text(LINEAR_TOML)
    sc = load_scenario(path)
    psa = run_psa(sc, 2000, seed=3)
    design = {"design": {"name": "qol", "outcome": "normal", "arms": 1, "n_per_arm": [10, 100], "sd": 0.1,
                         "parameters": {"mean": "y"}}}
    res = evsi(psa, design, method=["regression", "gaussian"], se_draws=20, bootstrap=50)
    t = res.to_frame().set_index(["method", "n"])
    assert res.strategies == ["A", "B"] and res.perspective == sc.settings.perspective
    for nn in (10, 100):
        r, g = t.loc[("regression", nn)], t.loc[("gaussian", nn)]
        assert abs(r["evsi"] - g["evsi"]) <= 3 * math.hypot(r["se"], g["se"])
    # closed form: theta = y ~ N(0.05, 0.02^2), slope 18000, m = 18000 x 0.05 - 900 = 0
    s = 18000 * 0.02 ** 2 / math.sqrt(0.02 ** 2 + 0.1 ** 2 / 100)
    assert t.loc[("gaussian", 100), "evsi"] == pytest.approx(normal_evsi(0.0, s), rel=0.1)
    with pytest.raises(DesignError, match="not a parameter of the scenario. Did you mean 'y'"):
        evsi(psa, {"design": {"outcome": "normal", "arms": 1, "n_per_arm": 10, "sd": 1, "parameters": {"mean": "yy"}}})


def test_argument_errors():
    costs, effects, inputs = _normal_psa()
    design = _normal_design(1)
    with pytest.raises(EVSIError, match="The 'method' must be one of 'regression', 'gaussian', 'is'. Got 'gam'."):
        evsi_arrays(costs, effects, inputs, design, 20000, method="gam")
    with pytest.raises(EVSIError, match="The 'n' must be a whole number >= 1. Got 0."):
        evsi_arrays(costs, effects, inputs, design, 20000, n=[0, 10])
    with pytest.raises(EVSIError, match="The 'n0' names 'beta'"):
        evsi_arrays(costs, effects, inputs, design, 20000, method="gaussian", n0={"beta": 3})
    with pytest.raises(EVSIError, match="same shape"):
        evsi_arrays(costs[:, :1], effects, inputs, design, 20000)


def test_reference_data_is_not_in_the_repository():
    assert not list(ROOT.glob("**/voi_chemo*.csv"))


_DESIGNS = {
    "count_nb_trial": ({"outcome": "count", "distribution": "negative_binomial", "dispersion": 1.2,
                        "follow_up_years": 2, "parameters": {"rate_ratio": "rr", "baseline_rate": "lam"}}, True),
    "count_poisson_cohort": ({"outcome": "count", "arms": 1, "distribution": "poisson", "follow_up_years": 1,
                              "parameters": {"baseline_rate": "lam"}}, True),
    "rate_trial_log_ratio_known_baseline": ({"outcome": "rate", "follow_up_years": 0.5,
                                             "parameters": {"log_rate_ratio": "log_rr", "baseline_rate": 0.8}}, False),
    "binary_odds_ratio": ({"outcome": "binary", "parameters": {"p_control": "p0", "odds_ratio": "or_"}}, True),
    "binary_probabilities": ({"outcome": "binary", "parameters": {"p_control": "p0", "p_treatment": "p1"}}, True),
    "binary_cohort": ({"outcome": "binary", "arms": 1, "parameters": {"probability": "p0"}}, True),
    "normal_difference_and_control": ({"outcome": "normal", "sd": 2.0,
                                       "parameters": {"mean_difference": "delta", "control_mean": "mu0"}}, True),
    "normal_difference_only_informed": ({"outcome": "normal", "sd": 2.0, "informs": ["mean_difference"],
                                         "parameters": {"mean_difference": "delta", "control_mean": "mu0"}}, True),
}


@pytest.mark.parametrize("name", list(_DESIGNS))
def test_every_design_runs_and_methods_agree(name):
    spec, is_ok = _DESIGNS[name]
    rng = np.random.default_rng(11)
    n = 3000
    p0 = rng.beta(30, 45, n)
    draws = {"lam": rng.gamma(25.0, 1 / 20.0, n), "rr": np.exp(rng.normal(-0.3, 0.2, n)),
             "log_rr": rng.normal(-0.3, 0.2, n), "p0": p0, "p1": rng.beta(20, 40, n),
             "or_": np.exp(rng.normal(-0.4, 0.3, n)), "delta": rng.normal(0.3, 0.25, n), "mu0": rng.normal(5, 0.3, n)}
    design = parse_design({"design": {"name": name, "n_per_arm": [30, 300], **spec}})
    used = [draws[v] for v in design.informed_parameters.values()]
    z = sum((u - u.mean()) / u.std() for u in used)  # incremental net benefit linear in the informed parameters
    inb = 400 * z + 300 * rng.standard_normal(n)
    costs, effects = np.column_stack([np.zeros(n), -inb]), np.zeros((n, 2))
    methods = ["regression", "gaussian"] + (["is"] if is_ok else [])
    res = evsi_arrays(costs, effects, draws, design, 0.0, method=methods, se_draws=20, bootstrap=50)
    t = res.to_frame().set_index(["method", "n"])
    assert np.all(np.isfinite(t["evsi"])) and np.all(t["evsi"] >= 0)
    for nn in (30, 300):
        g = t.loc[("gaussian", nn)]
        assert g["evsi"] <= g["evppi"] * 1.001
        for m in methods[:1] + methods[2:]:
            o = t.loc[(m, nn)]
            assert abs(o["evsi"] - g["evsi"]) <= 4 * math.hypot(o["se"], g["se"]) + 0.02 * g["evppi"], (m, nn)
    assert t.loc[("gaussian", 300), "evsi"] > t.loc[("gaussian", 30), "evsi"]
    if not is_ok:
        with pytest.raises(EVSIError, match="does not vary in the PSA"):
            evsi_arrays(costs, effects, draws, design, 0.0, method="is")
