"""Tests for heecon.params: distributions, streams, joint distributions, draws."""

from __future__ import annotations

import math
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from heecon.params import (
    DISTRIBUTION_TYPES,
    JOINT_TYPES,
    STREAMS,
    Beta,
    Dirichlet,
    Distribution,
    DistributionError,
    Draws,
    Empirical,
    Fixed,
    Gamma,
    GaussianCopula,
    LogNormal,
    MultivariateNormal,
    Normal,
    Triangular,
    TruncNormal,
    Uniform,
    check_correlation_matrix,
    draw_parameters,
    parse_distribution,
    parse_joint,
    salib_problem,
    stream_rng,
    stream_seed,
    validate_joints,
)

W = "parameters.x.distribution"
N_MC = 200_000


def parse(spec: dict, **kw) -> Distribution:
    return parse_distribution(spec, where=W, **kw)


# --------------------------------------------------------------------------
# moments: Monte Carlo and exact
# --------------------------------------------------------------------------

# spec, expected mean, expected SD (None: take the distribution's own exact value)
MC_CASES = [
    ({"type": "beta", "mean": 0.56, "se": 0.02}, 0.56, 0.02),
    ({"type": "beta", "mean": 0.1, "sd": 0.08}, 0.1, 0.08),
    ({"type": "beta", "alpha": 10.2, "beta": 8.0}, 10.2 / 18.2, math.sqrt(10.2 * 8 / (18.2**2 * 19.2))),
    ({"type": "gamma", "mean": 1200.0, "se": 300.0}, 1200.0, 300.0),
    ({"type": "gamma", "mean": 5.0, "cv": 1.5}, 5.0, 7.5),
    ({"type": "gamma", "shape": 2.0, "rate": 0.5}, 4.0, math.sqrt(2) * 2),
    ({"type": "gamma", "shape": 0.5, "scale": 3.0}, 1.5, math.sqrt(0.5) * 3),
    ({"type": "lognormal", "mean": 0.8, "se": 0.2}, 0.8, 0.2),
    ({"type": "lognormal", "meanlog": 0.1, "sdlog": 0.5}, math.exp(0.1 + 0.125), math.exp(0.1 + 0.125) * math.sqrt(math.expm1(0.25))),
    ({"type": "normal", "mean": -3.0, "se": 2.0}, -3.0, 2.0),
    ({"type": "uniform", "lower": 2.0, "upper": 5.0}, 3.5, 3 / math.sqrt(12)),
    ({"type": "uniform", "mean": 10.0, "se": 1.0}, 10.0, 1.0),
    ({"type": "triangular", "lower": 0.0, "mode": 0.2, "upper": 1.0}, 0.4, math.sqrt((0 + 0.04 + 1 - 0 - 0 - 0.2) / 18)),
    ({"type": "truncnormal", "mean": 0.0, "sd": 1.0, "lower": 0.0}, math.sqrt(2 / math.pi), math.sqrt(1 - 2 / math.pi)),
    ({"type": "truncnormal", "mean": 0.7, "se": 0.2, "lower": 0.0, "upper": 1.0}, None, None),
]


@pytest.mark.parametrize("spec, mean, sd", MC_CASES, ids=[f"{c[0]['type']}-{i}" for i, c in enumerate(MC_CASES)])
def test_sample_mean_and_sd_match_request(spec, mean, sd):
    d = parse(spec)
    mean = d.mean() if mean is None else mean
    sd = d.std() if sd is None else sd
    # the distribution's own moments are exact
    assert d.mean() == pytest.approx(mean, rel=1e-12, abs=1e-15)
    assert d.std() == pytest.approx(sd, rel=1e-12)
    x = d.sample(np.random.default_rng(20240601), N_MC)
    assert x.shape == (N_MC,) and x.dtype == np.float64 and np.all(np.isfinite(x))
    assert abs(x.mean() - mean) < 5 * sd / math.sqrt(N_MC)
    assert x.std(ddof=1) == pytest.approx(sd, rel=0.03)


def test_beta_method_of_moments_exact():
    d = parse({"type": "beta", "mean": 0.56, "se": 0.02})
    common = 0.56 * 0.44 / 0.02**2 - 1
    assert d.alpha == pytest.approx(0.56 * common, rel=1e-14)
    assert d.beta == pytest.approx(0.44 * common, rel=1e-14)
    ref = stats.beta(d.alpha, d.beta)
    assert ref.mean() == pytest.approx(0.56, rel=1e-12)
    assert ref.std() == pytest.approx(0.02, rel=1e-12)


def test_gamma_method_of_moments_exact():
    d = parse({"type": "gamma", "mean": 1200.0, "se": 300.0})
    assert d.shape == pytest.approx(16.0, rel=1e-14)
    assert d.scale == pytest.approx(75.0, rel=1e-14)
    ref = stats.gamma(d.shape, scale=d.scale)
    assert ref.mean() == pytest.approx(1200.0, rel=1e-12)
    assert ref.std() == pytest.approx(300.0, rel=1e-12)
    cv = parse({"type": "gamma", "mean": 50.0, "cv": 0.25})
    assert (cv.shape, cv.scale) == pytest.approx((16.0, 50.0 / 16.0), rel=1e-14)
    rate = parse({"type": "gamma", "shape": 3.0, "rate": 4.0})
    assert rate.scale == 0.25 and rate.rate == 4.0


def test_lognormal_method_of_moments_exact():
    d = parse({"type": "lognormal", "mean": 0.8, "se": 0.2})
    sigma2 = math.log(1 + (0.2 / 0.8) ** 2)
    assert d.sdlog == pytest.approx(math.sqrt(sigma2), rel=1e-14)
    assert d.meanlog == pytest.approx(math.log(0.8) - sigma2 / 2, rel=1e-14)
    ref = stats.lognorm(s=d.sdlog, scale=math.exp(d.meanlog))
    assert ref.mean() == pytest.approx(0.8, rel=1e-12)
    assert ref.std() == pytest.approx(0.2, rel=1e-12)


def test_uniform_from_mean_and_se():
    d = parse({"type": "uniform", "mean": 10.0, "se": 1.0})
    assert (d.lower, d.upper) == pytest.approx((10 - math.sqrt(3), 10 + math.sqrt(3)), rel=1e-15)


# --------------------------------------------------------------------------
# 95% intervals
# --------------------------------------------------------------------------

CI_CASES = [
    ("normal", [0.52, 0.60]),
    ("normal", [-2000.0, 500.0]),
    ("lognormal", [0.6, 1.07]),
    ("lognormal", [1e-4, 50.0]),
    ("beta", [0.52, 0.60]),
    ("beta", [0.001, 0.5]),
    ("beta", [0.9, 0.99999]),
    ("beta", [0.02, 0.98]),
    ("beta", [1e-6, 1e-4]),
    ("gamma", [100.0, 300.0]),
    ("gamma", [1.0, 1e6]),
    ("gamma", [0.049, 0.051]),
]


@pytest.mark.parametrize("type_, ci", CI_CASES)
def test_ci95_reproduces_quantiles(type_, ci):
    d = parse({"type": type_, "ci95": ci})
    lo, hi = d.interval(0.95)
    assert lo == pytest.approx(ci[0], abs=1e-6, rel=1e-9)
    assert hi == pytest.approx(ci[1], abs=1e-6, rel=1e-9)
    # checked against scipy's own distribution objects, not only our ppf
    ref = {
        "normal": lambda: stats.norm(d.mu, d.sd),
        "lognormal": lambda: stats.lognorm(s=d.sdlog, scale=math.exp(d.meanlog)),
        "beta": lambda: stats.beta(d.alpha, d.beta),
        "gamma": lambda: stats.gamma(d.shape, scale=d.scale),
    }[type_]()
    assert ref.ppf([0.025, 0.975]) == pytest.approx(ci, abs=1e-6, rel=1e-9)


def test_normal_ci_sd_is_width_over_3_92():
    d = parse({"type": "normal", "ci95": [1.0, 4.92]})
    assert d.mu == pytest.approx(2.96)
    assert d.sd == pytest.approx(3.92 / 3.92, rel=1e-4)  # (hi - lo) / (2 * 1.959964)


def test_lognormal_ci_is_log_symmetric():
    d = parse({"type": "lognormal", "ci95": [0.5, 2.0]})
    assert d.meanlog == pytest.approx(0.0, abs=1e-15)
    assert math.exp(d.meanlog) == pytest.approx(math.sqrt(0.5 * 2.0))


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------

ERROR_CASES = [
    ({"type": "beta", "mean": 0.5, "se": 0.6}, W, "does not exist: the SE must be below sqrt(mean*(1-mean)) = 0.5"),
    ({"type": "bta", "mean": 0.5, "se": 0.1}, W + ".type", "did you mean 'beta'"),
    ({"type": "Gamma", "mean": 5, "se": 1}, W + ".type", "did you mean 'gamma'"),
    ({"mean": 0.5, "se": 0.1}, W, "needs a 'type'"),
    ({"type": 3}, W + ".type", "must be the text name of a type, one of beta,"),
    ({"type": "beta", "mean": 0.5}, W, "alpha + beta; mean + sd (or se); ci95; got mean"),
    ({"type": "beta", "mean": 0.5, "se": 0.1, "alpha": 2.0}, W, "Give one of these sets only"),
    ({"type": "beta", "mean": 0.5, "ci95": [0.4, 0.6]}, W, "leave out the mean"),
    ({"type": "normal", "mean": 0.5, "sdd": 0.1}, W + ".sdd", "did you mean 'sd'"),
    ({"type": "normal", "mean": 0.5, "sd": 0.1, "se": 0.1}, W, "give sd or se, not both"),
    ({"type": "normal", "mean": "0.5", "sd": 0.1}, W + ".mean", "write it without quotes"),
    ({"type": "normal", "mean": True, "sd": 0.1}, W + ".mean", "must be a number; got true"),
    ({"type": "normal", "mean": 0.5, "sd": 0.0}, W + ".sd", 'type = "fixed"'),
    ({"type": "normal", "mean": float("nan"), "sd": 1.0}, W + ".mean", "got nan"),
    ({"type": "normal", "ci95": [0.6, 0.5]}, W + ".ci95", "lower limit must come first"),
    ({"type": "normal", "ci95": [0.6]}, W + ".ci95", "list of two numbers"),
    ({"type": "normal", "ci95": [0.1, "x"]}, W + ".ci95[1]", "must be a number"),
    ({"type": "beta", "mean": 1.2, "se": 0.1}, W + ".mean", "strictly between 0 and 1"),
    ({"type": "beta", "alpha": -1.0, "beta": 2.0}, W + ".alpha", "must be > 0"),
    ({"type": "beta", "ci95": [0.0, 0.5]}, W + ".ci95", "strictly between 0 and 1"),
    ({"type": "beta", "mean": 0.5, "se": 1e-200}, W, "too extreme"),
    ({"type": "gamma", "mean": -5.0, "se": 1.0}, W + ".mean", "positive values only"),
    ({"type": "gamma", "shape": 2.0}, W, "shape + scale; shape + rate"),
    ({"type": "gamma", "ci95": [1.0, 1.0 + 1e-12]}, W, "no gamma distribution could be fitted"),
    ({"type": "lognormal", "ci95": [0.0, 1.0]}, W + ".ci95", "must be > 0"),
    ({"type": "lognormal", "mean": 0.0, "se": 1.0}, W + ".mean", "meanlog and sdlog"),
    ({"type": "truncnormal", "mean": 0.0, "sd": 1.0}, W, 'write type = "normal"'),
    ({"type": "truncnormal", "mean": 0.0, "sd": 0.01, "lower": 1.0, "upper": 2.0}, W, "almost no probability"),
    ({"type": "truncnormal", "mean": 0.0, "sd": 1.0, "lower": 2.0, "upper": 1.0}, W, "lower bound must be below"),
    ({"type": "uniform", "lower": 3.0, "upper": 1.0}, W, "lower must be below upper"),
    ({"type": "uniform", "lower": 2**2000, "upper": 1.0}, W + ".lower", "too large"),
    ({"type": "triangular", "lower": 0.0, "mode": 2.0, "upper": 1.0}, W, "lower <= mode <= upper"),
    ({"type": "fixed", "value": [1, 2]}, W + ".value", "got a list of 2 items"),
    ({"type": "empirical", "file": "missing.csv", "column": "a"}, W + ".file", "not found"),
    ({"type": "empirical", "file": "draws.csv"}, W, "file + column"),
    ({"type": "empirical", "file": "draws.csv", "column": "a", "method": "sequentail"}, W + ".method", "did you mean 'sequential'"),
]


@pytest.mark.parametrize("spec, path, fragment", ERROR_CASES, ids=[f"err{i}" for i in range(len(ERROR_CASES))])
def test_malformed_specs_name_the_key_path(spec, path, fragment, tmp_path):
    with pytest.raises(DistributionError) as info:
        parse_distribution(spec, where=W, base_dir=tmp_path)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.where == path
    assert str(err).startswith(path + ": ")
    assert fragment in str(err)


def test_beta_message_matches_documented_template():
    with pytest.raises(DistributionError) as info:
        parse({"type": "beta", "mean": 0.5, "se": 0.6})
    assert str(info.value) == (
        "parameters.x.distribution: a beta distribution with mean 0.5 and SE 0.6 does not exist: "
        "the SE must be below sqrt(mean*(1-mean)) = 0.5"
    )


@pytest.mark.parametrize("spec", [[1, 2], "beta", None, 0.5, {1: "beta"}])
def test_non_table_specs(spec):
    with pytest.raises(DistributionError, match=r"^parameters\.x\.distribution: "):
        parse(spec)


def test_distribution_error_pickles():
    err = DistributionError("parameters.a.distribution", "bad")
    back = pickle.loads(pickle.dumps(err))
    assert (back.where, back.message, str(back)) == (err.where, err.message, str(err))


# --------------------------------------------------------------------------
# other methods
# --------------------------------------------------------------------------

ROUND_TRIP = [
    {"type": "fixed", "value": 0.3},
    {"type": "normal", "mean": 1.0, "sd": 2.0},
    {"type": "truncnormal", "mean": 1.0, "sd": 2.0, "upper": 3.0},
    {"type": "lognormal", "meanlog": 0.1, "sdlog": 0.2},
    {"type": "beta", "alpha": 10.2, "beta": 8.0},
    {"type": "gamma", "shape": 2.0, "scale": 3.0},
    {"type": "uniform", "lower": 1.0, "upper": 2.0},
    {"type": "triangular", "lower": 1.0, "mode": 1.5, "upper": 2.0},
]


@pytest.mark.parametrize("spec", ROUND_TRIP, ids=lambda s: s["type"])
def test_to_dict_round_trips_and_ppf_cdf_are_inverse(spec):
    d = parse(spec)
    assert parse(d.to_dict()) == d
    assert d.to_dict() == spec
    q = np.array([0.01, 0.3, 0.5, 0.9])
    if not d.is_fixed:
        assert d.cdf(d.ppf(q)) == pytest.approx(q, abs=1e-10)
    lo, hi = d.interval(0.95)
    assert (lo, hi) == pytest.approx((d.ppf(0.025), d.ppf(0.975)), rel=1e-14, abs=1e-300)
    assert isinstance(d.ppf(0.5), float) and isinstance(d.describe(), str)


def test_describe():
    assert parse({"type": "beta", "alpha": 10.2, "beta": 8.0}).describe() == "Beta(α=10.2, β=8.0)"
    assert parse({"type": "gamma", "shape": 4, "scale": 25}).describe() == "Gamma(k=4.0, θ=25.0)"
    assert parse({"type": "normal", "mean": 0.56, "sd": 0.02}).describe() == "Normal(μ=0.56, σ=0.02)"
    assert parse({"type": "fixed", "value": 1500}).describe() == "Fixed(1,500)"
    assert parse({"type": "uniform", "lower": 0.1, "upper": 0.3}).describe() == "Uniform(0.1, 0.3)"


def test_fixed_distribution():
    d = parse({"type": "fixed", "value": 7})
    assert np.all(d.sample(np.random.default_rng(0), 5) == 7.0)
    assert d.interval(0.95) == (7.0, 7.0) and d.std() == 0.0 and d.is_fixed
    with pytest.raises(DistributionError, match="SALib"):
        d.salib()


def test_ppf_input_checks():
    d = parse({"type": "normal", "mean": 0, "sd": 1})
    with pytest.raises(ValueError):
        d.ppf(1.5)
    with pytest.raises(ValueError):
        d.interval(95)
    with pytest.raises(TypeError):
        d.sample(np.random.RandomState(0), 3)  # legacy RandomState is not accepted
    assert d.ppf([0.5, 0.5]).shape == (2,)


def test_direct_construction_validates():
    with pytest.raises(DistributionError):
        Beta(0.0, 1.0)
    with pytest.raises(DistributionError):
        Gamma(1.0, -1.0)
    assert Normal(0.0, 1.0) == parse({"type": "normal", "mean": 0, "sd": 1})
    assert TruncNormal(0.0, 1.0, lower=0.0).mean() == pytest.approx(math.sqrt(2 / math.pi))
    assert LogNormal(0.0, 1.0).salib().dist == "lognorm"
    assert Uniform(0.0, 1.0).salib().exact and Triangular(0.0, 1.0, 1.0).salib().exact is False
    assert Fixed(1.0).is_fixed


def test_salib_entries_match_salib_scaling():
    """SALib's own scaling of our (dist, bounds) rows reproduces our ppf."""
    from SALib.util import scale_samples

    u = np.array([[0.01], [0.2], [0.5], [0.77], [0.99]])
    for spec in [
        {"type": "normal", "mean": 1.0, "sd": 2.0},
        {"type": "truncnormal", "mean": 1.0, "sd": 2.0, "lower": 0.0, "upper": 3.0},
        {"type": "lognormal", "meanlog": 0.1, "sdlog": 0.2},
        {"type": "uniform", "lower": 1.0, "upper": 2.0},
        {"type": "triangular", "lower": -1.0, "mode": 0.5, "upper": 2.0},
    ]:
        d = parse(spec)
        entry = d.salib()
        assert entry.exact
        problem = {"num_vars": 1, "names": ["x"], "bounds": [list(entry.bounds)], "dists": [entry.dist]}
        scaled = scale_samples(u.copy(), problem)
        assert scaled[:, 0] == pytest.approx(d.ppf(u[:, 0]), rel=1e-10, abs=1e-12)
    beta = parse({"type": "beta", "alpha": 2, "beta": 3}).salib()
    assert beta.dist == "unif" and not beta.exact and beta.bounds == pytest.approx(tuple(stats.beta(2, 3).ppf([0.001, 0.999])))


def test_salib_problem_skips_fixed():
    m = {
        "a": parse({"type": "beta", "alpha": 2, "beta": 3}),
        "b": parse({"type": "fixed", "value": 1}),
        "c": parse({"type": "normal", "mean": 0, "sd": 1}),
    }
    p = salib_problem(m)
    assert p["names"] == ["a", "c"] and p["num_vars"] == 2 and p["dists"] == ["unif", "norm"]
    assert p["bounds"][1] == [0.0, 1.0]


# --------------------------------------------------------------------------
# empirical
# --------------------------------------------------------------------------


@pytest.fixture
def draws_csv(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    a = rng.normal(10, 2, 500)
    b = 3 * a + rng.normal(0, 0.1, 500)
    lines = ["# written by a test, like CmdStan's comment lines", "a,b"] + [f"{float(x)!r},{float(y)!r}" for x, y in zip(a, b)]
    (tmp_path / "mcmc").mkdir()
    path = tmp_path / "mcmc" / "draws.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_empirical_bootstrap_and_base_dir(draws_csv):
    d = parse({"type": "empirical", "file": "mcmc/draws.csv", "column": "a"}, base_dir=draws_csv.parent.parent)
    assert isinstance(d, Empirical) and d.n_draws == 500 and d.method == "bootstrap"
    x = d.sample(np.random.default_rng(1), 20_000)
    assert set(np.unique(x)) <= set(d.values)
    assert x.mean() == pytest.approx(d.mean(), abs=5 * d.std() / math.sqrt(20_000))
    assert d.describe() == "Empirical(draws.csv[a], 500 draws, bootstrap)"
    assert d.ppf(0.0) == d.values.min() and d.ppf(1.0) == d.values.max()


def test_empirical_sequential_keeps_rows_and_joint_structure(draws_csv):
    spec = {"type": "empirical", "file": str(draws_csv), "method": "sequential"}
    a = parse({**spec, "column": "a"})
    b = parse({**spec, "column": "b"})
    draws = draw_parameters({"a": a, "b": b}, [], 100, seed=3)
    assert np.array_equal(draws["a"], a.values[:100]) and np.array_equal(draws["b"], b.values[:100])
    with pytest.raises(DistributionError, match="has 500 rows"):
        draw_parameters({"a": a}, [], 501, seed=3)


def test_empirical_bootstrap_columns_of_one_file_share_rows(draws_csv):
    spec = {"type": "empirical", "file": str(draws_csv)}
    a = parse({**spec, "column": "a"})
    b = parse({**spec, "column": "b"})
    draws = draw_parameters({"a": a, "b": b, "z": parse({"type": "normal", "mean": 0, "sd": 1})}, [], 2000, seed=0)
    rows = {(x, y) for x, y in zip(a.values, b.values)}
    assert all((x, y) in rows for x, y in zip(draws["a"], draws["b"]))
    assert np.corrcoef(draws["a"], draws["b"])[0, 1] > 0.99
    alone = draw_parameters({"b": b}, [], 2000, seed=0)
    assert np.array_equal(alone["b"], draws["b"])


def test_empirical_errors(draws_csv, tmp_path):
    with pytest.raises(DistributionError) as info:
        parse({"type": "empirical", "file": str(draws_csv), "column": "aa"})
    assert info.value.where == W + ".column" and "did you mean 'a'" in str(info.value)
    bad = tmp_path / "bad.csv"
    bad.write_text("a\n1\n2\noops\n")
    with pytest.raises(DistributionError, match=r"data row 3 holds 'oops'") as info:
        parse({"type": "empirical", "file": "bad.csv", "column": "a"}, base_dir=tmp_path)
    assert info.value.where == W + ".column"
    with pytest.raises(DistributionError, match="is not a file"):
        parse({"type": "empirical", "file": ".", "column": "a"}, base_dir=tmp_path)


# --------------------------------------------------------------------------
# seeds and streams
# --------------------------------------------------------------------------


def _marginals() -> dict[str, Distribution]:
    return {
        "p_a": parse({"type": "beta", "mean": 0.3, "se": 0.05}),
        "c_b": parse({"type": "gamma", "mean": 1000, "se": 200}),
        "hr": parse({"type": "lognormal", "ci95": [0.6, 1.07]}),
        "u_c": parse({"type": "normal", "mean": 0.7, "sd": 0.05}),
    }


def _joints():
    return [
        parse_joint({"type": "dirichlet", "counts": {"t_cs": 85, "t_cr": 10, "t_cu": 2}}, where="joint.row"),
        parse_joint({"type": "copula", "members": ["c_b", "u_c"], "rho": -0.4}, where="correlations[0]"),
    ]


def test_seed_zero_is_a_seed_and_reproducible():
    d0 = draw_parameters(_marginals(), _joints(), 50, seed=0)
    d0_again = draw_parameters(_marginals(), _joints(), 50, seed=0)
    d1 = draw_parameters(_marginals(), _joints(), 50, seed=1)
    assert d0 == d0_again
    assert np.array_equal(d0.values, d0_again.values)
    assert not np.any(d0.values == d1.values)
    assert d0.seed == 0 and d0.stream == "psa"
    assert draw_parameters(_marginals(), _joints(), 50, seed=np.int64(0)) == d0
    assert draw_parameters(_marginals(), _joints(), 50, seed=np.random.SeedSequence(0)) == d0


def test_bad_seeds_and_streams():
    m = _marginals()
    with pytest.raises(ValueError):
        draw_parameters(m, [], 5, seed=-1)
    with pytest.raises(TypeError):
        draw_parameters(m, [], 5, seed=None)
    with pytest.raises(TypeError):
        draw_parameters(m, [], 5, seed=True)
    with pytest.raises(ValueError, match="did you mean 'psa'"):
        draw_parameters(m, [], 5, seed=0, stream="pas")
    with pytest.raises(TypeError):
        draw_parameters(m, [], 5.0, seed=0)


def test_adding_an_unrelated_parameter_leaves_draws_bit_identical():
    base = draw_parameters(_marginals(), _joints(), 300, seed=12345)
    bigger = {"new_first": parse({"type": "uniform", "lower": 0, "upper": 1}), **_marginals()}
    bigger["zz_last"] = parse({"type": "gamma", "shape": 2, "scale": 2})
    joints = _joints() + [parse_joint({"type": "dirichlet", "alpha": [1, 2], "members": ["q1", "q2"]}, where="j2")]
    more = draw_parameters(bigger, joints[::-1], 300, seed=12345)
    for name in base:
        assert np.array_equal(base[name], more[name]), name
    # removing a parameter as well
    fewer = {k: v for k, v in _marginals().items() if k != "p_a"}
    less = draw_parameters(fewer, _joints(), 300, seed=12345)
    for name in less:
        assert np.array_equal(base[name], less[name]), name


def test_more_samples_extend_fewer():
    short = draw_parameters(_marginals(), _joints()[1:], 100, seed=7)
    long = draw_parameters(_marginals(), _joints()[1:], 1000, seed=7)
    assert np.array_equal(long.values[:100], short.values)


def test_streams_are_separate_and_stable():
    psa = draw_parameters(_marginals(), [], 20, seed=0, stream="psa")
    dsa = draw_parameters(_marginals(), [], 20, seed=0, stream="dsa")
    assert not np.any(psa.values == dsa.values)
    assert dict(STREAMS) == {"psa": 0, "dsa": 1, "gsa": 2, "population": 3}
    # the purpose's sequence is numpy's own spawned child at its fixed index
    spawned = np.random.SeedSequence(42).spawn(4)
    for name, index in STREAMS.items():
        assert np.array_equal(stream_seed(42, name).generate_state(4), spawned[index].generate_state(4))
    # a parameter's stream is keyed by its name alone
    a = stream_rng(0, "psa", "p_a").random(3)
    assert np.array_equal(a, stream_rng(0, "psa", "p_a").random(3))
    assert not np.array_equal(a, stream_rng(0, "psa", "p_b").random(3))
    # draw_parameters uses exactly these per-parameter streams
    m = _marginals()
    draws = draw_parameters(m, [], 25, seed=9)
    assert np.array_equal(draws["hr"], m["hr"].sample(stream_rng(9, "psa", "hr"), 25))
    # pinned: a change of hashing or spawn layout would silently change every published result
    assert stream_seed(0, "psa", "p_a").spawn_key == (0, 0, 2836976772, 2906159907)
    assert stream_rng(0, "psa", "p_a").random() == 0.27899590161362187
    pinned = draw_parameters({"p_a": m["p_a"]}, [], 3, seed=0)["p_a"]
    assert pinned == pytest.approx([0.26947122168390203, 0.2707775747805756, 0.3719012055758214], rel=1e-12)


# --------------------------------------------------------------------------
# joint distributions
# --------------------------------------------------------------------------


def test_dirichlet_rows_sum_to_one():
    j = parse_joint({"type": "dirichlet", "counts": {"CS": 85, "CR": 10, "CU": 2}}, where="joint.cs_row")
    assert isinstance(j, Dirichlet) and j.members == ("CS", "CR", "CU")
    draws = draw_parameters({}, [j], 50_000, seed=0)
    rows = draws.values
    assert np.all(rows >= 0)
    assert np.abs(rows.sum(axis=1) - 1).max() < 1e-12
    assert rows.mean(axis=0) == pytest.approx(np.array([85, 10, 2]) / 97, abs=3e-3)
    assert j.marginal("CR") == Beta(10.0, 87.0)
    tiny = Dirichlet(("a", "b", "c"), (0.01, 0.02, 0.01))
    x = tiny.sample(np.random.default_rng(0), 1000)
    assert np.abs(x.sum(axis=1) - 1).max() < 1e-12 and np.all(np.isfinite(x))
    assert parse_joint(j.to_dict(), where="w").alpha == j.alpha


def test_mvnormal_mean_and_covariance():
    cov = [[0.04, -0.01], [-0.01, 0.09]]
    j = parse_joint({"type": "mvnormal", "members": ["b0", "b1"], "mean": [1.0, -2.0], "cov": cov}, where="joint.reg")
    assert isinstance(j, MultivariateNormal)
    x = draw_parameters({}, [j], N_MC, seed=0).values
    assert x.mean(axis=0) == pytest.approx([1.0, -2.0], abs=5 * 0.3 / math.sqrt(N_MC))
    assert np.cov(x.T) == pytest.approx(np.array(cov), abs=1.5e-3)
    same = parse_joint(
        {"type": "mvnormal", "members": ["b0", "b1"], "mean": [1.0, -2.0], "sd": [0.2, 0.3], "corr": [[1, -1 / 6], [-1 / 6, 1]]},
        where="joint.reg",
    )
    assert same.cov == pytest.approx(np.array(cov), rel=1e-12)
    assert j.marginal("b1") == Normal(-2.0, 0.3)


def test_copula_keeps_marginals_and_hits_target_correlation():
    marg = {
        "c": parse({"type": "gamma", "mean": 1000, "se": 300}),
        "u": parse({"type": "normal", "mean": 0.7, "sd": 0.05}),
        "r": parse({"type": "lognormal", "meanlog": 0.0, "sdlog": 0.5}),
    }
    target = np.array([[1.0, 0.5, -0.3], [0.5, 1.0, 0.2], [-0.3, 0.2, 1.0]])
    spearman = parse_joint(
        {"type": "copula", "members": ["c", "u", "r"], "corr": target.tolist(), "correlation": "spearman"}, where="correlations[0]"
    )
    draws = draw_parameters(marg, [spearman], N_MC, seed=11)
    rho_s = stats.spearmanr(draws.values).statistic
    assert rho_s == pytest.approx(target, abs=0.01)
    # marginals are unchanged: quantiles match the marginal's own ppf
    q = np.array([0.05, 0.25, 0.5, 0.75, 0.95])
    for name, d in marg.items():
        assert np.quantile(draws[name], q) == pytest.approx(d.ppf(q), rel=0.01)
        assert draws[name].mean() == pytest.approx(d.mean(), abs=5 * d.std() / math.sqrt(N_MC))
    # latent ("normal") correlation with normal marginals is the Pearson correlation
    normal = parse_joint({"type": "copula", "members": ["u", "n2"], "rho": 0.6}, where="correlations[1]")
    x = draw_parameters({"u": marg["u"], "n2": parse({"type": "normal", "mean": 5, "sd": 2})}, [normal], N_MC, seed=2)
    assert np.corrcoef(x["u"], x["n2"])[0, 1] == pytest.approx(0.6, abs=0.01)
    assert isinstance(normal, GaussianCopula) and parse_joint(normal.to_dict(), where="w").corr == pytest.approx(normal.corr)


CORR_ERRORS = [
    ([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]], "not positive definite"),
    ([[1, 0.5, 0], [0.4, 1, 0], [0, 0, 1]], "must be symmetric: the entry for 'a' with 'b' is 0.5"),
    ([[1, 0.5, 0], [0.5, 0.9, 0], [0, 0, 1]], "the diagonal must be 1"),
    ([[1, 1.5, 0], [1.5, 1, 0], [0, 0, 1]], "correlations lie in [-1, 1]"),
    ([[1, 1, 0], [1, 1, 0], [0, 0, 1]], "exactly 1 or -1"),
    ([[1, 0.5], [0.5, 1]], "3 x 3 matrix"),
    ([[1, 0, 0], [0, 1, 0], [0, 0, "1"]], "without quotes"),
]


@pytest.mark.parametrize("matrix, fragment", CORR_ERRORS)
def test_correlation_matrix_validation(matrix, fragment):
    where = "correlations[0]"
    with pytest.raises(DistributionError) as info:
        parse_joint({"type": "copula", "members": ["a", "b", "c"], "corr": matrix}, where=where)
    assert str(info.value).startswith(where + ".corr")
    assert fragment in str(info.value)
    with pytest.raises(DistributionError):
        check_correlation_matrix(matrix, where="m", names=["a", "b", "c"])


JOINT_ERRORS = [
    ({"type": "dirichlet", "counts": {"a": 0, "b": 1}}, "j.counts", "add a prior"),
    ({"type": "dirichlet", "alpha": [1, 2]}, "j", "member names are needed"),
    ({"type": "dirichlet", "alpha": [1, 2], "members": ["a", "a"]}, "j.members", "listed twice"),
    ({"type": "dirichlet", "counts": {"a": 1, "b": 2}, "members": ["a", "b"]}, "j", "not both"),
    ({"type": "mvnormal", "members": ["a", "b"], "mean": [0, 0], "cov": [[1, 2], [2, 1]]}, "j.cov", "must not exceed"),
    ({"type": "mvnormal", "members": ["a", "b"], "mean": [0], "cov": [[1, 0], [0, 1]]}, "j.mean", "list of 2 numbers"),
    ({"type": "copula", "members": ["a", "b", "c"], "rho": 0.5}, "j.rho", "exactly two members"),
    ({"type": "copula", "members": ["a", "b"], "rho": 1.0}, "j.rho", "strictly between -1 and 1"),
    ({"type": "copula", "members": ["a", "b"], "rho": 0.2, "correlation": "kendall"}, "j.correlation", "spearman"),
    ({"type": "copla", "members": ["a", "b"]}, "j.type", "did you mean 'copula'"),
]


@pytest.mark.parametrize("spec, path, fragment", JOINT_ERRORS)
def test_joint_spec_errors(spec, path, fragment):
    with pytest.raises(DistributionError) as info:
        parse_joint(spec, where="j")
    assert info.value.where == path and fragment in str(info.value)


def test_validate_joints_conflicts():
    m = _marginals()
    own = parse_joint({"type": "dirichlet", "counts": {"p_a": 5, "q": 2}}, where="joint.r")
    with pytest.raises(DistributionError, match=r"^joint\.r\.members: 'p_a' has its own distribution"):
        validate_joints(m, [own])
    missing = parse_joint({"type": "copula", "members": ["p_a", "nope"], "rho": 0.3}, where="correlations[2]")
    with pytest.raises(DistributionError, match=r"^correlations\[2\]\.members: 'nope' has no distribution"):
        draw_parameters(m, [missing], 10, seed=0)
    twice = parse_joint({"type": "copula", "members": ["hr", "p_a"], "rho": 0.3}, where="correlations[3]")
    with pytest.raises(DistributionError, match="already a member"):
        validate_joints(m, [_joints()[1], twice, parse_joint({"type": "copula", "members": ["u_c", "hr"], "rho": 0.1}, where="c4")])
    fixed = {**m, "k": parse({"type": "fixed", "value": 1})}
    with pytest.raises(DistributionError, match="fixed value"):
        validate_joints(fixed, [parse_joint({"type": "copula", "members": ["k", "hr"], "rho": 0.1}, where="c5")])


def test_draws_object():
    d = draw_parameters(_marginals(), _joints(), 10, seed=0)
    assert d.names == ("p_a", "c_b", "hr", "u_c", "t_cs", "t_cr", "t_cu")
    assert d.values.shape == (10, 7) and d.n == 10 and len(d) == 7 and list(d) == list(d.names)
    frame = d.to_frame()
    assert list(frame.columns) == list(d.names) and frame.index.name == "sample"
    assert np.array_equal(frame["hr"].to_numpy(), d["hr"])
    with pytest.raises(ValueError):
        d.values[0, 0] = 1.0
    with pytest.raises(KeyError, match="did you mean 'p_a'"):
        d["p_aa"]
    assert isinstance(d, Draws) and "hr" in d
    empty = draw_parameters(_marginals(), [], 0, seed=0)
    assert empty.values.shape == (0, 4)


# --------------------------------------------------------------------------
# fuzzing: malformed specs raise DistributionError and nothing else
# --------------------------------------------------------------------------

_KEYS = [
    "type", "value", "mean", "sd", "se", "ci95", "lower", "upper", "mode", "meanlog", "sdlog", "alpha", "beta",
    "shape", "scale", "rate", "cv", "file", "column", "method", "members", "counts", "cov", "corr", "rho", "correlation",
]
_scalars = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-3, max_value=3),
    st.floats(min_value=1e-6, max_value=1),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=100),
    st.booleans(),
    st.text(max_size=4),
    st.sampled_from(["bootstrap", "sequential", "spearman", "normal", ".", "/", "a"]),
    st.none(),
)
_values = st.one_of(
    _scalars,
    st.lists(_scalars, max_size=3),
    st.lists(st.lists(_scalars, min_size=2, max_size=2), min_size=2, max_size=2),
    st.dictionaries(st.text(max_size=3), _scalars, max_size=3),
)
_types = st.one_of(st.sampled_from(DISTRIBUTION_TYPES + JOINT_TYPES), st.text(max_size=8), _scalars)


@st.composite
def _specs(draw):
    spec = draw(st.dictionaries(st.one_of(st.sampled_from(_KEYS), st.text(max_size=5)), _values, max_size=5))
    if draw(st.booleans()):
        spec["type"] = draw(_types)
    return spec


_EMPTY_DIR = tempfile.mkdtemp(prefix="heecon-fuzz-")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=st.one_of(_specs(), _values))
def test_fuzz_parse_distribution_raises_only_distribution_error(spec):
    try:
        d = parse_distribution(spec, where=W, base_dir=_EMPTY_DIR)
    except DistributionError as err:
        assert str(err).startswith(W)
        return
    # what parses must also work
    x = d.sample(np.random.default_rng(0), 4)
    assert x.shape == (4,)
    d.describe()
    d.mean()
    d.interval(0.95)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=st.one_of(_specs(), _values))
def test_fuzz_parse_joint_raises_only_distribution_error(spec):
    try:
        j = parse_joint(spec, where="joint.g")
    except DistributionError as err:
        assert str(err).startswith("joint.g")
        return
    j.describe()
    if not isinstance(j, GaussianCopula):
        assert j.sample(np.random.default_rng(0), 3).shape == (3, len(j.members))


@settings(max_examples=100, deadline=None)
@given(
    mean=st.floats(min_value=1e-4, max_value=1 - 1e-4),
    frac=st.floats(min_value=1e-4, max_value=0.999),
)
def test_fuzz_beta_mean_se_is_exact_or_clear(mean, frac):
    se = frac * math.sqrt(mean * (1 - mean))
    d = parse({"type": "beta", "mean": mean, "se": se})
    assert d.mean() == pytest.approx(mean, rel=1e-9)
    assert d.std() == pytest.approx(se, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(lo=st.floats(min_value=1e-3, max_value=0.98), width=st.floats(min_value=1e-3, max_value=0.99))
def test_fuzz_beta_ci_fit(lo, width):
    hi = min(lo + width * (1 - lo), 1 - 1e-3)
    if hi <= lo * (1 + 1e-6):
        return
    d = parse({"type": "beta", "ci95": [lo, hi]})
    assert d.interval(0.95) == pytest.approx((lo, hi), abs=1e-6)


@pytest.mark.parametrize("args", [(34.2, 9.3, 21.0, 70.0), (-0.69, 1.175, -0.69, 8.0), (0.0, 1.0, -math.inf, 1.0),
                                  (5.0, 2.0, 0.0, math.inf), (0.0, 1.0, 5.0, 6.0), (0.0, 1.0, -6.0, -5.0)])
def test_truncnormal_closed_form_moments_match_scipy(args):
    """The load-time check uses the closed-form moments (no scipy.stats); they must agree with scipy's truncnorm,
    which results use, including far in a tail."""
    t = TruncNormal(*args)
    mean, sd = t.closed_form_moments()
    assert mean == pytest.approx(t.mean(), rel=1e-9, abs=1e-12)
    assert sd == pytest.approx(t.std(), rel=1e-7)


def test_loading_a_truncated_normal_does_not_import_scipy_stats():
    code = ("import sys; from heecon.params.distributions import TruncNormal; TruncNormal(34.2, 9.3, 21.0, 70.0); "
            "print('scipy.stats' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "False"


# --- loading and validating a scenario without scipy (issue 15: `heecon validate` <= 0.5 s) --------------------


def test_the_normal_quantile_literals_are_scipys():
    from scipy import special

    from heecon.params import distributions as D

    assert D.Z975 == float(special.ndtri(0.975))
    assert (D._Z_MIN, D._Z_MAX) == (float(special.ndtri(D._U_MIN)), float(special.ndtri(D._U_MAX)))
    assert D._L_TAIL == pytest.approx(-math.log1p(-D._U_MAX), rel=1e-12)


@pytest.mark.parametrize("shape", [1e-3, 0.01, 0.3, 1.0, 2.5, 40.0, 1e4, 1e8, 1e12])
def test_the_gamma_tail_bound_lies_above_the_largest_draw(shape):
    from heecon.params import distributions as D

    g = Gamma(shape, 3.0)
    lo, hi = g._extremes()
    top = float(g.ppf(D._U_MAX))
    assert lo == 0.0 and top <= hi
    assert hi < 10 * top + 200  # a bound, not a wild one


@settings(max_examples=300, deadline=None)
@given(a=st.floats(1e-2, 1e4), b=st.floats(1e-2, 1e4), q=st.floats(1e-6, 1 - 1e-6))
def test_light_beta_cdf_matches_scipy(a, b, q):
    d = Beta(a, b)
    x = float(d.ppf(q))
    light = d.cdf_light(x)
    assert light is not None
    assert light == pytest.approx(float(d.cdf(x)), abs=1e-10)  # the warning's margin is 1e-9
    assert Beta(a, 2e4).cdf_light(x) is None  # beyond the served range: scipy


@settings(max_examples=300, deadline=None)
@given(k=st.floats(1e-2, 1e4), q=st.floats(1e-6, 1 - 1e-6))
def test_light_gamma_cdf_matches_scipy(k, q):
    d = Gamma(k, 7.0)
    x = float(d.ppf(q))
    light = d.cdf_light(x)
    assert light is not None
    assert light == pytest.approx(float(d.cdf(x)), abs=1e-10)
    assert Gamma(2e4, 7.0).cdf_light(x) is None


@pytest.mark.parametrize("d", [Normal(3.0, 2.0), LogNormal(-0.7, 1.2), TruncNormal(34.2, 9.3, 21.0, 70.0),
                               TruncNormal(0.0, 1.0, 5.0, 6.0), TruncNormal(5.0, 2.0, 0.0, math.inf)])
def test_light_normal_family_cdfs_match_scipy(d):
    for q in (1e-6, 0.025, 0.3, 0.5, 0.975, 1 - 1e-6):
        x = float(d.ppf(q))
        assert d.cdf_light(x) == pytest.approx(float(d.cdf(x)), abs=1e-10)


def test_the_base_case_warning_is_the_same_with_the_light_cdf(monkeypatch):
    """A value just inside and just outside the central 95% interval: the warnings equal the quantile test's."""
    from types import SimpleNamespace

    from heecon.scenario import advice

    dists = [Beta(2.0, 30.0), Gamma(0.4, 900.0), LogNormal(0.1, 0.8), Normal(-1.0, 0.2), TruncNormal(0.0, 1.0, 5.0, 6.0)]
    params = {}
    for i, d in enumerate(dists):
        lo, hi = d.interval(0.95)
        for j, v in enumerate((lo * (1 - 1e-6) if lo > 0 else lo - 1e-6, lo + (hi - lo) * 1e-6, d.mean(),
                               hi - (hi - lo) * 1e-6, hi * (1 + 1e-6) if hi > 0 else hi + 1e-6)):
            params[f"p{i}_{j}"] = SimpleNamespace(dist=d, expr=SimpleNamespace(constant=v), key=f"parameters.p{i}_{j}")
    sc = SimpleNamespace(parameters=params, origin=lambda key: "scenario.toml")
    light = {p.key for p in advice.scenario_warnings(sc)}
    monkeypatch.setattr(Distribution, "cdf_light", lambda self, x: None)
    exact = {p.key for p in advice.scenario_warnings(sc)}
    assert light == exact
    assert len(exact) == 2 * len(dists)  # the two values just outside, for each distribution


def test_validating_the_flagship_does_not_import_scipy():
    code = ("import sys; from heecon.cli.app import main; sys.argv = ['heecon', 'validate', sys.argv[1]]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\nprint('scipy' in sys.modules)")
    flagship = str(Path(__file__).resolve().parents[1] / "scenarios" / "mbt_aspd_vs_pau.toml")
    out = subprocess.run([sys.executable, "-c", code, flagship], capture_output=True, text=True, check=True)
    assert "valid" in out.stdout and out.stdout.strip().endswith("False")
