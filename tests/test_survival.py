"""heecon.survival: distributions, ML fits, Kaplan-Meier, Guyot reconstruction, cycle probabilities, TOML fragment.

Published checks (tolerances as stated; "rel" is |ours - theirs| / |theirs|, testthat's ``expect_equal``):

* flexsurv's test suite (chjackson/flexsurv, tests/testthat/test_flexsurvreg.R, test_spline.R, test_gompertz.R,
  test_gengamma.R): log-likelihoods of fits to ``ovarian`` and ``bc`` and distribution-function values, to the
  tolerance flexsurv itself tests them at (mostly rel 1e-6).
* Stata ``stpm`` output for the Weibull PH model of ``bc`` by prognostic group (copied into flexsurv's
  test_spline.R), to the printed precision (half a unit of the last printed digit).
* Guyot et al. (2012)'s reconstruction of the ``bc`` "Good" group from its Kaplan-Meier coordinates and numbers at
  risk, against the real data.

The data sets come from ../shared/reference-data/datasets (see its README.md); they are read, never copied here.
"""

from __future__ import annotations

import math
import tomllib
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from heecon.survival import (
    CURVE_COLUMNS,
    DISTRIBUTION_NAMES,
    Exponential,
    Gamma,
    GeneralizedGamma,
    Gompertz,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    Weibull,
    compare_fits,
    cycle_times,
    family,
    fit_all,
    fit_survival,
    fit_to_toml,
    kaplan_meier,
    km_at,
    log_likelihood,
    parameter_names,
    probabilities_from_cumhaz,
    psa_transition_probabilities,
    reconstruct_ipd,
    survival_curves,
    transition_probabilities,
    transition_probabilities_from_coefficients,
)

# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def datasets(reference_data):
    return reference_data / "datasets"


@pytest.fixture(scope="module")
def ovarian(datasets):
    return pd.read_csv(datasets / "ovarian.csv")


@pytest.fixture(scope="module")
def bc(datasets):
    return pd.read_csv(datasets / "bc.csv")


def _groups(bc):
    return pd.DataFrame({"groupMedium": (bc.group == "Medium").astype(float), "groupPoor": (bc.group == "Poor").astype(float)})


@pytest.fixture(scope="module")
def bc_weibull_group(bc):
    return fit_survival(bc.recyrs, bc.censrec, "weibull", covariates=_groups(bc))


# --------------------------------------------------------------------------
# distributions: flexsurv's test values and internal consistency
# --------------------------------------------------------------------------


def test_gompertz_density_and_quantiles_match_flexsurv():
    # flexsurv tests/testthat/test_gompertz.R ("dgompertz", "Gompertz with chance of living forever")
    x = np.array([-1, 0, 1, 2, 3, 4.0])
    ref = [0, 0.2, 0.179105591827508, 0.156884811322895, 0.134101872197705, 0.111571759992743]
    np.testing.assert_allclose(Gompertz(0.1, 0.2).pdf(x), ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(Gompertz(0.0, 0.2).pdf(x), Exponential(0.2).pdf(x), rtol=1e-14)
    q = Gompertz(-0.6, 1.8).ppf([0.8, 0.9, 0.97, 0.99])
    np.testing.assert_allclose(q[:2], [1.28150707286845, 2.4316450975351], rtol=1e-12)
    assert np.all(np.isinf(q[2:]))
    assert Gompertz(-0.6, 1.8).survival(1e9) == pytest.approx(math.exp(1.8 / -0.6), rel=1e-12)
    assert Gompertz(-0.6, 1.8).mean() == math.inf


def test_gengamma_reductions_match_flexsurv():
    # flexsurv tests/testthat/test_gengamma.R ("Generalized gamma reductions: d, p, q")
    g = GeneralizedGamma(0, 1, 1)
    np.testing.assert_allclose(g.pdf([-1, 1, 2, 3, 4]),
                               [0, 0.367879441171442, 0.135335283236613, 0.0497870683678639, 0.0183156388887342], rtol=1e-12)
    np.testing.assert_allclose(g.cdf([-1, 0, 1, 2, 3, 4]),
                               [0, 0, 0.632120558828558, 0.864664716763387, 0.950212931632136, 0.981684361111266], rtol=1e-12)
    assert g.ppf(0.25) == pytest.approx(0.287682072451781, rel=1e-12)
    t = np.array([0.5, 1.0, 2.0, 4.0])
    np.testing.assert_allclose(GeneralizedGamma(0.1, 1.2, 1).pdf(t), stats.weibull_min(1 / 1.2, scale=math.exp(0.1)).pdf(t), rtol=1e-12)
    np.testing.assert_allclose(GeneralizedGamma(0.4, 1.2, 1.2).cdf(t), stats.gamma(1 / 1.2**2, scale=math.exp(0.4) * 1.2**2).cdf(t), rtol=1e-12)
    np.testing.assert_allclose(GeneralizedGamma(0.4, 1.2, 0).cdf(t), LogNormal(0.4, 1.2).cdf(t), rtol=1e-14)
    np.testing.assert_allclose(GeneralizedGamma(0.4, 1.2, 0).pdf(t), LogNormal(0.4, 1.2).pdf(t), rtol=1e-14)
    # round trips for negative Q, as flexsurv checks qgengamma(pgengamma(...))
    np.testing.assert_allclose(GeneralizedGamma(0, 1, -1).ppf(GeneralizedGamma(0, 1, -1).cdf([1, 2, 3, 4.0])), [1, 2, 3, 4], rtol=1e-10)


def test_gengamma_survival_matches_the_stata_manual_definition():
    # flexsurv test_gengamma.R "Generalized gamma definition in Stata manual": an independent formula (kappa = Q)
    def sgg(t, mu, sigma, kappa):
        gam = 1 / kappa**2 if kappa != 0 else np.inf
        z = (math.log(t) - mu) / sigma
        if kappa < 0:
            z = -z
        u = gam * math.exp(abs(kappa) * z) if kappa != 0 else 0.0
        if kappa > 0:
            return 1 - special.gammainc(gam, u)
        if kappa == 0:
            return 1 - stats.norm.cdf(z)
        return special.gammainc(gam, u)

    for t, mu, sigma, k in [(1, -1, 1, -1), (2, 2, 2, 0), (3, 0.2, 1, 1), (0.7, 0.3, 0.5, 2.5), (5.0, 1.0, 0.8, -0.4)]:
        assert GeneralizedGamma(mu, sigma, k).survival(t) == pytest.approx(sgg(t, mu, sigma, k), rel=1e-12)


@pytest.mark.parametrize("q", [1e-6, 1e-4, 1e-2, 0.3, -1e-6, -1e-3, -0.2])
def test_gengamma_is_smooth_and_close_to_the_lognormal_near_q_zero(q):
    """The density is computed without flexsurv's cancellation at small |Q|: within O(Q) of the log-normal."""
    t = np.array([0.2, 1.0, 3.0, 10.0])
    g, ln = GeneralizedGamma(0.3, 0.8, q), LogNormal(0.3, 0.8)
    w = (np.log(t) - 0.3) / 0.8
    np.testing.assert_allclose(g.logpdf(t), ln.logpdf(t), atol=abs(q) * (1 + np.max(np.abs(w) ** 3)))
    np.testing.assert_allclose(g.survival(t), ln.survival(t), atol=abs(q))
    # density = -dS/dt (numerically)
    h = 1e-5 * t
    num = (g.cdf(t + h) - g.cdf(t - h)) / (2 * h)
    np.testing.assert_allclose(num, g.pdf(t), rtol=1e-4 if abs(q) < 1e-5 else 1e-6)


ALL_DISTS = [
    Exponential(0.3), Weibull(1.4, 2.0), Weibull(0.7, 3.0), Gompertz(0.2, 0.1), Gompertz(-0.1, 0.3), LogLogistic(2.5, 1.5),
    LogLogistic(0.8, 2.0), LogNormal(0.2, 0.9), Gamma(2.0, 1.5), Gamma(0.6, 0.4), GeneralizedGamma(0.3, 0.8, 0.5),
    GeneralizedGamma(0.3, 0.8, -0.7), GeneralizedGamma(1.0, 0.6, 0.0), PiecewiseExponential([1.0, 2.5], [0.1, 0.3, 0.2]),
]


@pytest.mark.parametrize("dist", ALL_DISTS, ids=repr)
def test_hazard_cumhaz_density_quantile_and_means_agree(dist):
    t = np.array([0.3, 0.8, 1.7, 4.2, 7.5])  # no cut point of the piecewise exponential
    h = 1e-6 * t
    dh = (np.asarray(dist.cumhaz(t + h)) - np.asarray(dist.cumhaz(t - h))) / (2 * h)
    np.testing.assert_allclose(dh, dist.hazard(t), rtol=1e-6)
    np.testing.assert_allclose(dist.pdf(t), np.asarray(dist.hazard(t)) * np.asarray(dist.survival(t)), rtol=1e-12)
    np.testing.assert_allclose(dist.survival(t), np.exp(-np.asarray(dist.cumhaz(t))), rtol=1e-14)
    np.testing.assert_allclose(np.asarray(dist.cdf(t)) + np.asarray(dist.survival(t)), 1.0, rtol=1e-14)
    np.testing.assert_allclose(dist.ppf(dist.cdf(t)), t, rtol=1e-9)
    assert dist.survival(0.0) == 1.0 and dist.cumhaz(-1.0) == 0.0
    # restricted mean: closed forms where implemented, against quadrature of S
    for tau in (0.5, 3.0, 12.0):
        ref = integrate.quad(lambda u: float(dist.survival(u)), 0, tau, limit=200)[0]
        assert dist.rmst(tau) == pytest.approx(ref, rel=1e-9)
    mean = dist.mean()
    if math.isfinite(mean):
        ref = integrate.quad(lambda u: float(dist.survival(u)), 0, np.inf, limit=400)[0]
        assert mean == pytest.approx(ref, rel=1e-7)
    assert dist.median() == pytest.approx(float(dist.ppf(0.5)))


def test_infinite_means():
    assert LogLogistic(0.9, 1.0).mean() == math.inf  # shape <= 1
    assert GeneralizedGamma(0.0, 1.0, -1.5).mean() == math.inf  # 1 + sigma Q <= 0
    assert PiecewiseExponential([1.0], [0.2, 0.0]).mean() == math.inf


def test_parameters_broadcast_for_psa_and_covariates():
    w = Weibull(np.array([[1.0], [1.5]]), 2.0)
    out = w.survival(np.array([0.5, 1.0, 2.0]))
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out[1], Weibull(1.5, 2.0).survival([0.5, 1.0, 2.0]))
    pw = PiecewiseExponential([1.0], np.array([[[0.1, 0.2]], [[0.3, 0.4]]]))
    assert np.asarray(pw.cumhaz(np.array([0.5, 2.0]))).shape == (2, 2)
    np.testing.assert_allclose(pw.cumhaz(np.array([0.5, 2.0]))[1], [0.15, 0.3 + 0.4])


def test_invalid_parameters_are_refused():
    with pytest.raises(ValueError, match="'shape' parameter of a Weibull"):
        Weibull(-1.0, 1.0)
    with pytest.raises(ValueError, match="strictly increasing"):
        PiecewiseExponential([2.0, 1.0], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="Unknown survival distribution 'weibul'"):
        family("weibul")
    with pytest.raises(ValueError, match="cut points"):
        family("pwexp")


# --------------------------------------------------------------------------
# maximum likelihood: flexsurv's and Stata's published fits
# --------------------------------------------------------------------------


def test_ovarian_lognormal_and_gamma_logliks_match_flexsurv(ovarian):
    # flexsurv tests/testthat/test_flexsurvreg.R, "Log-normal" and "Gamma": tolerance=1e-06
    ln = fit_survival(ovarian.futime, ovarian.fustat, "lnorm")
    assert ln.loglik == pytest.approx(-97.12174204265681, rel=1e-6)
    ga = fit_survival(ovarian.futime, ovarian.fustat, "gamma")
    assert ga.loglik == pytest.approx(-97.86379723453011, rel=1e-6)
    assert ln.converged and ga.converged


def test_ovarian_gompertz_loglik_at_flexsurvs_initial_values(ovarian):
    # test_flexsurvreg.R "Gompertz": fixedpars=TRUE at flexsurv's inits c(0.001, 1 / mean(t)); tolerance=1e-06
    t = ovarian.futime.to_numpy()
    ll = log_likelihood(Gompertz(0.001, 1 / t.mean()), t, ovarian.fustat)
    assert ll == pytest.approx(-112.8294446076947, rel=1e-6)


def test_ovarian_weibull_with_treatment_matches_flexsurv(ovarian):
    # test_flexsurvreg.R "Model fit with covariates": Surv(futime, fustat) ~ factor(rx), weibull; tolerance=1e-06
    fit = fit_survival(ovarian.futime, ovarian.fustat, "weibull", covariates=pd.Series((ovarian.rx == 2).astype(float), name="rx2"))
    assert fit.loglik == pytest.approx(-97.3641506645869, rel=1e-6)
    assert fit.coef_names == ("shape", "scale", "rx2")
    eff = fit.covariate_effects()
    b = fit.coef[2]
    assert eff.loc["rx2", "time_ratio"] == pytest.approx(math.exp(b))
    assert eff.loc["rx2", "hazard_ratio"] == pytest.approx(math.exp(-fit.estimates["shape"] * b))


def test_ovarian_weibull_with_age_median_matches_flexsurv(ovarian):
    # flexsurv tests/testthat/test_outputs.R "custom function in summary.flexsurvreg": median at age 50,
    # 1575.803185910278, tol=1e-04 (the flat likelihood in age makes optimisers agree only to about 1e-5)
    fit = fit_survival(ovarian.futime, ovarian.fustat, "weibull", covariates=ovarian[["age"]])
    assert fit.distribution({"age": 50}).median() == pytest.approx(1575.803185910278, rel=1e-4)


def test_bc_weibull_without_covariates_matches_flexsurv(bc):
    # flexsurv test_spline.R "Basic flexsurvspline, Weibull, no covs" (a k = 0 spline is the Weibull): tol=1e-06
    fit = fit_survival(bc.recyrs, bc.censrec, "weibull")
    assert fit.loglik == pytest.approx(-873.207054864145, rel=1e-6)


def test_bc_weibull_by_group_matches_stata_stpm(bc, bc_weibull_group):
    """flexsurv test_spline.R "flexsurvspline results match stpm in Stata": the Weibull PH model by group.

    stpm reports the log-likelihood of log time, loglik + sum(log t_events) = -638.45432, and
    (gamma0, gamma1, groupMedium, groupPoor) = (-3.360303, 1.379652, .8465394, 1.672433) with
    gamma1 = shape, gamma0 = -shape log(scale) and log hazard ratios -shape * (AFT coefficient).
    Checked to half a unit of the last printed digit.
    """
    fit = bc_weibull_group
    log_t = np.log(bc.recyrs[bc.censrec == 1]).sum()
    assert fit.loglik + log_t == pytest.approx(-638.45432, abs=5e-6)
    shape, log_scale = math.exp(fit.coef[0]), fit.coef[1]
    assert -shape * log_scale == pytest.approx(-3.360303, abs=5e-7)
    assert shape == pytest.approx(1.379652, abs=5e-7)
    assert -shape * fit.coef[2] == pytest.approx(0.8465394, abs=5e-8)
    assert -shape * fit.coef[3] == pytest.approx(1.672433, abs=5e-7)
    eff = fit.covariate_effects()
    assert eff.loc["groupPoor", "hazard_ratio"] == pytest.approx(math.exp(1.672433), rel=1e-6)
    assert fit.aic == pytest.approx(-2 * fit.loglik + 8)
    assert fit.bic == pytest.approx(-2 * fit.loglik + 4 * math.log(686))


def test_left_truncated_weibull_matches_flexsurv(bc):
    # flexsurv test_spline.R "Spline models with left-truncation" (k = 0: Weibull) on bc$recyrs > 2: tol=1e-06
    bc2 = bc[bc.recyrs > 2]
    assert fit_survival(bc2.recyrs, bc2.censrec, "weibull").loglik == pytest.approx(-432.9048860461514, rel=1e-6)
    trunc = fit_survival(bc2.recyrs, bc2.censrec, "weibull", entry=np.full(len(bc2), 1.9))
    assert trunc.loglik == pytest.approx(-400.3556493114977, rel=1e-6)


def test_weibull_covariance_equals_the_analytic_observed_information(bc, bc_weibull_group):
    """The numerical Hessian against one from the analytic score (differenced once, at 1e-6)."""
    t = bc.recyrs.to_numpy()
    d = bc.censrec.to_numpy(dtype=float)
    X = _groups(bc).to_numpy()

    def score(th):
        a = math.exp(th[0])
        lr = np.log(t) - th[1] - X @ th[2:]
        u = np.exp(a * lr)
        gb = a * (u - d)
        return np.array([np.sum(d + a * lr * (d - u)), gb.sum(), gb @ X[:, 0], gb @ X[:, 1]])

    fit = bc_weibull_group
    assert np.max(np.abs(score(fit.coef))) < 1e-5
    hess = np.empty((4, 4))
    for i in range(4):
        e = np.zeros(4)
        e[i] = 1e-6
        hess[:, i] = (score(fit.coef + e) - score(fit.coef - e)) / 2e-6
    np.testing.assert_allclose(fit.cov, np.linalg.inv(-hess), rtol=1e-6)


def test_exponential_fit_is_the_closed_form(ovarian):
    """rate = events / exposure, var(log rate) = 1 / events (Collett 2015, §5.1)."""
    fit = fit_survival(ovarian.futime, ovarian.fustat, "exp")
    d, expo = ovarian.fustat.sum(), ovarian.futime.sum()
    assert fit.estimates["rate"] == pytest.approx(d / expo, rel=1e-8)
    assert fit.cov[0, 0] == pytest.approx(1 / d, rel=1e-6)


def test_piecewise_exponential_fit_is_events_over_exposure(bc):
    cuts = [1.0, 2.0, 4.0]
    fit = fit_survival(bc.recyrs, bc.censrec, "pwexp", cuts=cuts)
    lo, hi = np.array([0.0, *cuts]), np.array([*cuts, np.inf])
    t, ev = bc.recyrs.to_numpy(), bc.censrec.to_numpy()
    expo = np.clip(t[:, None] - lo, 0, hi - lo).sum(axis=0)
    events = np.array([np.sum(ev[(t >= a) & (t < b)]) for a, b in zip(lo, hi)])
    np.testing.assert_allclose([fit.estimates[f"rate{j + 1}"] for j in range(4)], events / expo, rtol=1e-7)
    np.testing.assert_allclose(np.diag(fit.cov), 1 / events, rtol=1e-5)
    with pytest.raises(ValueError, match="has no events"):
        fit_survival(bc.recyrs, bc.censrec, "pwexp", cuts=[1.0, 7.5])


def test_every_distribution_fits_and_the_comparison_is_sorted_by_aic(ovarian):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fits = fit_all(ovarian.futime, ovarian.fustat, [*DISTRIBUTION_NAMES], cuts=[300.0, 450.0])
    assert set(fits) == set(DISTRIBUTION_NAMES)
    table = compare_fits(fits)
    assert list(table["aic"]) == sorted(table["aic"])
    assert list(table["dist"]) == list(fits)  # fit_all returns AIC order
    assert table["delta_aic"].iloc[0] == 0 and table["aic_weight"].sum() == pytest.approx(1.0)
    for row in table.itertuples():
        f = fits[row.dist]
        assert row.aic == pytest.approx(-2 * f.loglik + 2 * f.n_params)
        assert row.bic == pytest.approx(-2 * f.loglik + f.n_params * math.log(26))
    # nested models: the generalised gamma is at least as good as its special cases
    for special_case in ("weibull", "lnorm", "gamma"):
        assert fits["gengamma"].loglik >= fits[special_case].loglik - 1e-6
    assert fits["weibull"].loglik >= fits["exp"].loglik - 1e-9


def test_summary_reports_natural_scale_and_delta_method(bc_weibull_group):
    s = bc_weibull_group.summary()
    assert list(s.index) == ["shape", "scale", "groupMedium", "groupPoor"]
    assert s.loc["scale", "est"] == pytest.approx(math.exp(bc_weibull_group.coef[1]))
    assert s.loc["scale", "se"] == pytest.approx(s.loc["scale", "est"] * s.loc["scale", "coef_se"])
    assert s.loc["scale", "lower"] == pytest.approx(math.exp(bc_weibull_group.coef[1] - 1.959964 * s.loc["scale", "coef_se"]), rel=1e-6)
    assert s.loc["groupPoor", "est"] == bc_weibull_group.coef[3]


def test_bad_data_gets_clear_errors(ovarian):
    with pytest.raises(ValueError, match="status == 2"):
        fit_survival([1.0, 2.0, 3.0], [1, 2, 2])
    with pytest.raises(ValueError, match="no events"):
        fit_survival([1.0, 2.0], [0, 0])
    with pytest.raises(ValueError, match="constant"):
        fit_survival(ovarian.futime, ovarian.fustat, covariates={"one": np.ones(26)})
    with pytest.raises(ValueError, match="below the exit times"):
        fit_survival([1.0, 2.0], [1, 1], entry=[0.0, 2.5])


# --------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------


def test_kaplan_meier_by_hand_with_greenwood():
    km = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0])
    assert list(km["time"]) == [0, 1, 2, 3, 4]
    assert list(km["n_risk"]) == [5, 5, 4, 2, 1]
    np.testing.assert_allclose(km["survival"], [1, 0.8, 0.6, 0.3, 0.3])
    v = 1 / (5 * 4) + 1 / (4 * 3) + 1 / (2 * 1)  # Greenwood at t = 3
    assert km["std_err"].iloc[3] == pytest.approx(0.3 * math.sqrt(v))
    z = stats.norm.ppf(0.975)
    assert km["lower"].iloc[3] == pytest.approx(0.3 * math.exp(-z * math.sqrt(v)))
    ll = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 0], conf_type="log-log")
    # log(-log S) +- z sqrt(V) / |log S|, mapped back (S decreases in log(-log S))
    assert ll["lower"].iloc[3] == pytest.approx(0.3 ** math.exp(z * math.sqrt(v) / abs(math.log(0.3))))
    assert ll["upper"].iloc[3] == pytest.approx(0.3 ** math.exp(-z * math.sqrt(v) / abs(math.log(0.3))))


def test_kaplan_meier_with_delayed_entry_against_a_direct_count():
    rng = np.random.default_rng(5)
    entry = rng.uniform(0, 1, 60)
    time = entry + rng.exponential(2.0, 60)
    event = (rng.random(60) < 0.7).astype(int)
    km = kaplan_meier(time, event, entry=entry)
    s = 1.0
    for u in np.unique(time):
        n = np.sum((entry < u) & (time >= u))
        s *= 1 - np.sum((time == u) & (event == 1)) / n
        row = km[km["time"] == u].iloc[0]
        assert row["n_risk"] == n and row["survival"] == pytest.approx(s)


# --------------------------------------------------------------------------
# Guyot et al. (2012): reconstruction of bc, group "Good"
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def guyot_inputs(datasets):
    km = pd.read_csv(datasets / "guyot_bc_good_km_coords.csv")
    risk = pd.read_csv(datasets / "guyot_bc_good_atrisk.csv")
    return km, risk


def test_guyot_reconstruction_recovers_the_bc_good_group(guyot_inputs, bc):
    km, risk = guyot_inputs
    good = bc[bc.group == "Good"]
    ipd = reconstruct_ipd(km.time_years, km.survival, risk.trisk_years, risk.nrisk, total_events=int(good.censrec.sum()))
    assert len(ipd) == len(good) == 229
    assert ipd.event.sum() == good.censrec.sum() == 51
    # every event at its true time (the coordinates are the curve's steps)
    rec = ipd[ipd.event == 1].time.round(9).value_counts().sort_index()
    true = good[good.censrec == 1].recyrs.round(9).value_counts().sort_index()
    pd.testing.assert_series_equal(rec, true, check_names=False)
    # the numbers at risk published under the curve
    for t, n in zip(risk.trisk_years, risk.nrisk):
        assert int(np.sum(ipd.time >= t)) == n
    grid = np.linspace(0, 7.2, 721)
    km_rec, km_true = kaplan_meier(ipd.time, ipd.event), kaplan_meier(good.recyrs, good.censrec)
    assert np.max(np.abs(km_at(km_rec, grid) - km_at(km_true, grid))) < 2e-3
    # models fitted to the reconstruction agree with those fitted to the real data
    for dist in ("weibull", "lnorm"):
        a = fit_survival(ipd.time, ipd.event, dist)
        b = fit_survival(good.recyrs, good.censrec, dist)
        np.testing.assert_allclose(a.coef, b.coef, rtol=2e-3, atol=2e-3)
        np.testing.assert_allclose(a.se, b.se, rtol=1e-2)


def test_guyot_reconstruction_without_points_at_the_risk_times(guyot_inputs, bc):
    """The original algorithm (flat points only where an interval has none) is close too, though it may put
    censorings beyond the next at-risk time and misplace a few events."""
    km, risk = guyot_inputs
    good = bc[bc.group == "Good"]
    ipd = reconstruct_ipd(km.time_years, km.survival, risk.trisk_years, risk.nrisk, total_events=51, risk_time_points=False)
    assert len(ipd) == 229
    assert abs(int(ipd.event.sum()) - 51) <= 3
    grid = np.linspace(0, 7.2, 721)
    diff = km_at(kaplan_meier(ipd.time, ipd.event), grid) - km_at(kaplan_meier(good.recyrs, good.censrec), grid)
    assert np.max(np.abs(diff)) < 1e-2


def test_guyot_input_checks():
    with pytest.raises(ValueError, match="at time 0"):
        reconstruct_ipd([0, 1], [1, 0.9], [1, 2], [10, 8])
    with pytest.raises(ValueError, match="percentages"):
        reconstruct_ipd([0, 1], [100, 90], [0], [10])
    # a single interval, no censoring: exact
    ipd = reconstruct_ipd([0, 1, 2], [1, 0.9, 0.7], [0], [10])
    assert ipd.event.sum() == 3 and list(ipd.time[ipd.event == 1]) == [1, 2, 2]


# --------------------------------------------------------------------------
# per-cycle transition probabilities
# --------------------------------------------------------------------------


def test_exponential_probabilities_are_one_minus_exp_of_rate_times_cycle():
    for rate, dt, offset in [(0.1, 1.0, 0.0), (0.37, 0.25, 2.0), (2.5, 1 / 12, 0.5)]:
        p = transition_probabilities(Exponential(rate), dt, 24, offset=offset)
        np.testing.assert_allclose(p, 1 - math.exp(-rate * dt), rtol=1e-13)
    # a fit in days, cycles in years
    p = transition_probabilities(Exponential(0.001), 0.5, 3, units_per_year=365.25)
    np.testing.assert_allclose(p, -math.expm1(-0.001 * 0.5 * 365.25), rtol=1e-14)


def test_weibull_cumulative_hazard_differences_equal_survival_ratios():
    w = Weibull(1.6, 7.0)
    for offset in (0.0, 3.0):  # model start, or the curve's clock already 3 years in
        t = offset + 0.5 * np.arange(41)
        p = transition_probabilities(w, 0.5, 40, offset=offset)
        s = w.survival(t)
        np.testing.assert_allclose(p, 1 - s[1:] / s[:-1], rtol=1e-12)
        np.testing.assert_allclose(p, 1 - np.exp(-((t[1:] / 7) ** 1.6 - (t[:-1] / 7) ** 1.6)), rtol=1e-12)
    # the probabilities multiply back to the survival curve
    p = transition_probabilities(w, 0.5, 40)
    assert np.prod(1 - p) == pytest.approx(float(w.survival(20.0)), rel=1e-12)


def test_probabilities_after_the_curve_reaches_zero_are_one():
    np.testing.assert_array_equal(probabilities_from_cumhaz([0.0, np.inf, np.inf]), [1.0, 1.0])
    assert cycle_times(0.5, 2, offset=1.0).tolist() == [1.0, 1.5, 2.0]
    with pytest.raises(ValueError, match="n_cycles"):
        cycle_times(1.0, 0)


def test_psa_probabilities(bc_weibull_group):
    fit = bc_weibull_group
    rng = np.random.Generator(np.random.PCG64(20240601))
    p = psa_transition_probabilities(fit, rng, 500, 0.25, 60, x={"groupMedium": 0, "groupPoor": 1})
    assert p.shape == (500, 60) and np.all((p >= 0) & (p <= 1))
    again = psa_transition_probabilities(fit, np.random.Generator(np.random.PCG64(20240601)), 500, 0.25, 60, x=[0, 1])
    np.testing.assert_array_equal(p, again)
    # row i equals the point computation at draw i
    draws = fit.sample_coefficients(np.random.Generator(np.random.PCG64(20240601)), 500)
    one = transition_probabilities(fit.distribution_from_coefficients(draws[7], [0, 1]), 0.25, 60)
    np.testing.assert_allclose(p[7], one, rtol=1e-13)
    # at the estimate itself, the point estimate
    at_mean = transition_probabilities_from_coefficients(fit, fit.coef[None, :], 0.25, 60, x=[0, 1])
    np.testing.assert_allclose(at_mean[0], transition_probabilities(fit, 0.25, 60, x=[0, 1]), rtol=1e-14)
    # the draws have the fit's covariance
    np.testing.assert_allclose(np.cov(fit.sample_coefficients(rng, 20000).T), fit.cov, rtol=0.05, atol=1e-4)
    # piecewise exponential and generalised gamma draws broadcast the same way
    pw = fit_survival(fit.time, fit.event, "pwexp", cuts=[1.0, 3.0])
    assert psa_transition_probabilities(pw, rng, 4, 1.0, 6).shape == (4, 6)


def test_exponential_psa_is_closed_form(ovarian):
    fit = fit_survival(ovarian.futime, ovarian.fustat, "exp")
    draws = fit.sample_coefficients(np.random.default_rng(1), 50)
    p = transition_probabilities_from_coefficients(fit, draws, 1.0, 5, units_per_year=365.25)
    np.testing.assert_allclose(p, -np.expm1(-np.exp(draws) * 365.25) * np.ones(5), rtol=1e-13)


# --------------------------------------------------------------------------
# curves for plots
# --------------------------------------------------------------------------


def test_survival_curves_table(bc, bc_weibull_group):
    grid = np.linspace(0, 20, 41)
    tab = survival_curves({"Weibull": bc_weibull_group}, grid, x={"groupMedium": 0, "groupPoor": 1}, n_draws=200,
                          rng=np.random.default_rng(2))
    assert tuple(tab.columns) == CURVE_COLUMNS
    fitted = tab[tab.kind == "fitted"]
    np.testing.assert_allclose(fitted.survival, bc_weibull_group.survival(grid, x=[0, 1]))
    assert np.all(fitted.lower <= fitted.survival) and np.all(fitted.survival <= fitted.upper)
    assert fitted.extrapolated.tolist() == (grid > bc.recyrs.max()).tolist()
    km = tab[tab.kind == "km"]
    poor = bc[bc.group == "Poor"]
    assert km.n_risk.iloc[0] == len(poor)  # the Kaplan-Meier of the group x describes
    np.testing.assert_allclose(km.survival.to_numpy(), kaplan_meier(poor.recyrs, poor.censrec).survival.to_numpy())
    assert not tab[tab.kind == "km"].extrapolated.any()


# --------------------------------------------------------------------------
# the scenario fragment
# --------------------------------------------------------------------------


def test_toml_fragment_is_a_valid_scenario_with_the_same_probabilities(tmp_path, bc):
    """Appended to a scenario, the fragment loads; the engine's transition probabilities built from its parameters
    (base case and mvnormal PSA draws) equal `transition_probabilities` on the fit."""
    from heecon.model.markov import compile_model
    from heecon.params import draw_parameters, parse_joint
    from heecon import load_scenario

    from .scenario_factory import base_scenario, set_in, to_toml

    fit = fit_survival(bc.recyrs, bc.censrec, "weibull")
    fragment = fit_to_toml(fit, "rfs", data_source="bc.csv (flexsurv), all 686 patients", time_unit="years")
    doc = tomllib.loads(fragment)
    names = parameter_names(fit, "rfs")
    assert names == ["rfs_log_shape", "rfs_log_scale"]
    assert doc["parameters"]["rfs_log_shape"]["value"] == fit.coef[0]
    assert "maximum likelihood" in doc["parameters"]["rfs_log_scale"]["source"]
    assert "AIC 1750.41" in doc["parameters"]["rfs_log_scale"]["source"]
    assert doc["joints"]["rfs_weibull"]["members"] == names
    np.testing.assert_array_equal(doc["joints"]["rfs_weibull"]["cov"], fit.cov)

    sc = base_scenario()
    set_in(sc, "parameters.p_HD", "1 - exp((time / rfs_scale)**rfs_shape - ((time + 1) / rfs_scale)**rfs_shape)")
    set_in(sc, "parameters.p_SD", "p_HD")
    path = tmp_path / "scenario.toml"
    path.write_text(to_toml(sc) + "\n" + fragment, encoding="utf-8")
    scenario = load_scenario(path)
    model = compile_model(scenario)
    h, d = model.state_names.index("H"), model.state_names.index("D")
    engine = np.array([model.P[0, model.P_map[0, k], h, d] for k in range(model.n_cycles)])
    np.testing.assert_allclose(engine, transition_probabilities(fit, 1.0, 10), rtol=1e-12)

    joint = parse_joint(scenario.joints["rfs_weibull"], where="joints.rfs_weibull")
    draws = draw_parameters({}, [joint], n=8, seed=3)
    psa = compile_model(scenario, {k: draws[k] for k in draws.names})
    engine = np.array([[psa.P[i, psa.P_map[0, k], h, d] for k in range(psa.n_cycles)] for i in range(8)])
    coefs = np.column_stack([draws["rfs_log_shape"], draws["rfs_log_scale"]])
    np.testing.assert_allclose(engine, transition_probabilities_from_coefficients(fit, coefs, 1.0, 10), rtol=1e-12)


def test_toml_fragment_with_covariates_and_names(bc_weibull_group):
    frag = fit_to_toml(bc_weibull_group, "os", data_source='bc "all groups"', joint="os_joint", natural=False)
    doc = tomllib.loads(frag)
    assert list(doc["parameters"]) == ["os_log_shape", "os_log_scale", "os_groupMedium", "os_groupPoor"]
    assert 'bc "all groups"' in doc["parameters"]["os_groupPoor"]["source"]
    assert doc["joints"]["os_joint"]["mean"] == list(bc_weibull_group.coef)
    with pytest.raises(ValueError, match="prefix"):
        fit_to_toml(bc_weibull_group, "1os", data_source="bc")
