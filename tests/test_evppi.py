"""EVPPI by regression (Strong, Oakley & Brennan 2014), checked where the answer is known in closed form.

Linear net benefit with independent normal parameters: INB = a + b X + c Y, X ~ N(mx, sx^2), Y ~ N(my, sy^2).
Then E(INB | X) = a + c my + b X ~ N(m, (b sx)^2) with m = a + b mx + c my, and for Z ~ N(m, s^2)

    E[max(0, Z)] = m Phi(m / s) + s phi(m / s)        (the normal partial expectation)

so EVPPI(X) = m Phi(m / sX) + sX phi(m / sX) - max(0, m) with sX = |b| sx, and likewise EVPI with
s = sqrt((b sx)^2 + (c sy)^2). EVPPI(X, Y) is the EVPI, and a parameter that does not enter the model has
EVPPI 0.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import norm
from typer.testing import CliRunner

from heecon.report.figures import evppi_bars
from heecon.cli import app
from heecon import load_scenario
from heecon.sensitivity.evppi import EVPPIError, check_groups, default_groups, evppi, evppi_arrays
from heecon.sensitivity.psa import run_psa

ROOT = Path(__file__).resolve().parents[1]
FMH6 = ROOT / "benchmarks" / "fmh6.toml"

LINEAR_TOML = """
title = "Linear net benefit: iNMB = 18000 y - 0.9 x at 20,000 per QALY"

[settings]
cycle_length_months = 12
horizon_cycles = 1
counting = "end"
discount_costs = 0
discount_effects = 0
sectors = ["health"]
comparator = "A"
wtp = [20000]
seed = 11

[parameters]
x = { value = 1000, distribution = { type = "normal", mean = 1000, sd = 200 } }
y = { value = 0.05, distribution = { type = "normal", mean = 0.05, sd = 0.02 } }
z = { value = 5, distribution = { type = "normal", mean = 5, sd = 1 } }
gain = 0
u = "0.7 + gain"

[states.alive]
utility = "u"

[states.dead]
dead = true

[transitions]
alive = { alive = "C", dead = 0.1 }

[strategies.A]
label = "A"

[strategies.B]
label = "B"
parameters = { gain = "y" }
costs = [{ states = ["alive"], costs = { health = "x" } }]
"""


def partial_expectation_evppi(m: float, s: float) -> float:
    """E[max(0, Z)] - max(0, E Z) for Z ~ N(m, s^2)."""
    return m * norm.cdf(m / s) + s * norm.pdf(m / s) - max(0.0, m)


@pytest.fixture
def linear_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "linear.toml"
    path.write_text(LINEAR_TOML)
    return path


@pytest.fixture(scope="module")
def linear_arrays():
    """10,000 samples of INB = 0.2 + X + Y, X, Y ~ N(0, 1), and an unused Z ~ N(0, 1)."""
    rng = np.random.default_rng(2)
    n = 10_000
    a, b, c = 0.2, 1.0, 1.0
    x, y, z = rng.standard_normal(n), rng.standard_normal(n), rng.standard_normal(n)
    inb = a + b * x + c * y
    costs = np.column_stack([np.zeros(n), -inb])  # NMB of strategy 1 minus strategy 0 is inb at any WTP
    effects = np.zeros((n, 2))
    res = evppi_arrays(costs, effects, {"x": x, "y": y, "z": z}, ["x", "y", "z", ["x", "y"]], 0.0,
                       strategies=["A", "B"], se_draws=100, seed=0)
    return res.to_frame().set_index("group"), (a, b, c), x, res


# --------------------------------------------------------------------------- closed form


def test_evppi_matches_normal_partial_expectation(linear_arrays):
    t, (a, b, c), x, _ = linear_arrays
    n = len(x)
    exact = partial_expectation_evppi(a, abs(b))  # 0.3069
    # Monte Carlo error of the sample (the oracle with the true E(INB | X)) plus the regression's SE
    mc = np.std(np.maximum(0.0, a + b * x)) / math.sqrt(n)
    tol = 4 * math.hypot(mc, t.loc["x", "se"])
    assert t.loc["x", "evppi"] == pytest.approx(exact, abs=tol)
    assert t.loc["x", "evppi"] == pytest.approx(exact, rel=0.05)
    assert t.loc["y", "evppi"] == pytest.approx(partial_expectation_evppi(a, abs(c)), rel=0.05)
    assert t.loc["x", "method"] == "gam" and t.loc["x,y", "method"] == "gam"
    # R^2 of E(INB | X) = b^2 / (b^2 + c^2) = 0.5
    assert t.loc["x", "r2"] == pytest.approx(0.5, abs=0.03)


def test_evppi_of_all_parameters_is_evpi(linear_arrays):
    t, (a, b, c), _, res = linear_arrays
    evpi_exact = partial_expectation_evppi(a, math.hypot(b, c))
    assert t.loc["x,y", "evppi"] == pytest.approx(t.loc["x,y", "evpi"], rel=1e-4)
    assert t.loc["x,y", "r2"] == pytest.approx(1.0, abs=1e-6)
    assert res.evpi[0] == pytest.approx(evpi_exact, rel=0.05)


def test_evppi_bounds_and_unused_parameter(linear_arrays):
    t, *_ = linear_arrays
    assert (t["evppi"] >= 0).all()
    assert (t["evppi"] <= t["evpi"] * (1 + 1e-6)).all()
    assert t.loc["z", "evppi"] < 0.01 * t.loc["z", "evpi"]
    assert t.loc["z", "r2"] < 0.01
    assert np.isfinite(t["se"]).all()


def test_gaussian_process_for_larger_groups():
    rng = np.random.default_rng(5)
    n = 2000
    x = rng.standard_normal((n, 3))
    inb = 0.1 + x @ np.array([1.0, 0.5, 0.25]) + 0.5 * rng.standard_normal(n)
    inputs = {"x1": x[:, 0], "x2": x[:, 1], "x3": x[:, 2]}
    costs = np.column_stack([np.zeros(n), -inb])
    res = evppi_arrays(costs, np.zeros((n, 2)), inputs, [["x1", "x2", "x3"]], 0.0, gp_samples=300, se_draws=50)
    row = res.to_frame().iloc[0]
    assert row["method"] == "gp" and row["free_dimensions"] == 3
    exact = partial_expectation_evppi(0.1, math.sqrt(1 + 0.25 + 0.0625))
    assert row["evppi"] == pytest.approx(exact, rel=0.1)
    assert row["evppi"] <= row["evpi"]
    assert 0.75 < row["r2"] < 0.9  # 1.3125 / (1.3125 + 0.25) = 0.84


def test_dependent_and_constant_inputs_are_dropped():
    rng = np.random.default_rng(1)
    n = 500
    p = rng.dirichlet([5, 3, 2], n)  # members sum to 1: two free dimensions
    inb = 1000 * (p[:, 0] - 0.5) + 10 * rng.standard_normal(n)
    inputs = {"a": p[:, 0], "b": p[:, 1], "c": p[:, 2], "k": np.full(n, 3.0)}
    res = evppi_arrays(np.column_stack([np.zeros(n), -inb]), np.zeros((n, 2)), inputs,
                       {"row": ["a", "b", "c"], "k": ["k"]}, 0.0, se_draws=0)
    t = res.to_frame().set_index("group")
    assert t.loc["row", "free_dimensions"] == 2 and t.loc["row", "method"] == "gam"
    assert t.loc["k", "method"] == "none" and t.loc["k", "evppi"] == 0.0
    assert t.loc["row", "r2"] > 0.9


# --------------------------------------------------------------------------- through a scenario


def test_scenario_psa_matches_closed_form(linear_scenario: Path):
    sc = load_scenario(linear_scenario)
    psa = run_psa(sc, 5000)
    res = evppi(psa, se_draws=100)
    t = res.to_frame().set_index("group")
    assert list(t.index) == ["x", "y", "z"]
    # iNMB = 20000 * y - 0.9 * x (one year alive at utility 0.7 + y, costing x): mean 0
    sx, sy = 0.9 * 200, 20000 * 0.9 * 0.02
    assert t.loc["x", "evppi"] == pytest.approx(partial_expectation_evppi(0.0, sx), rel=0.08)
    assert t.loc["y", "evppi"] == pytest.approx(partial_expectation_evppi(0.0, sy), rel=0.08)
    assert t.loc["z", "evppi"] < 0.01 * t.loc["z", "evpi"]
    assert res.evpi[0] == pytest.approx(psa.summary()["evpi_per_person"]["20000"])
    assert "evppi_population" not in t


def test_population_evppi_and_reproducibility(linear_scenario: Path):
    from heecon.cea import population_evpi

    sc = load_scenario(linear_scenario, ["settings.population_size=1000", "settings.evpi_years=5"])
    psa = run_psa(sc, 400)
    a = evppi(psa, ["x", ["x", "y"]], wtp=[20000, 30000], se_draws=20).to_frame()
    b = evppi(psa, ["x", ["x", "y"]], wtp=[20000, 30000], se_draws=20).to_frame()
    assert a.equals(b)
    assert list(a["wtp"]) == [20000, 30000, 20000, 30000]
    rate = sc.settings.discount_costs.rates[0]
    assert a["evppi_population"].to_numpy() == pytest.approx(population_evpi(a["evppi"].to_numpy(), 1000, 5, rate))


def test_unknown_and_fixed_parameters_are_clear_errors(linear_scenario: Path):
    sc = load_scenario(linear_scenario)
    with pytest.raises(EVPPIError, match="unknown parameter 'xx'. Did you mean 'x'"):
        check_groups(sc, ["xx"])
    with pytest.raises(EVPPIError, match="'gain' has no distribution"):
        check_groups(sc, [["x", "gain"]])
    with pytest.raises(EVPPIError, match="names 'x' twice"):
        check_groups(sc, [["x", "x"]])
    psa = run_psa(sc, 50)
    with pytest.raises(EVPPIError, match="unknown perspective"):
        evppi(psa, ["x"], perspective="societal")
    with pytest.raises(EVPPIError, match="method must be one of"):
        evppi(psa, ["x"], method="spline")


def test_fmh6_default_groups_keep_dirichlet_rows_together():
    sc = load_scenario(FMH6)
    groups = default_groups(sc)
    assert groups["p_CS"] == ["p_CS_CS", "p_CS_CR", "p_CS_CU", "p_CS_IP", "p_CS_DO", "p_CS_DV"]
    assert groups["c_int"] == ["c_int"]
    assert len(groups) == 9 + 6


def test_fmh6_smoke():
    sc = load_scenario(FMH6)
    psa = run_psa(sc, 1000)
    res = evppi(psa, ["c_int", "pi_CS", ["pi_CS_CS", "c_int"]], gp_samples=300, se_draws=30)
    t = res.to_frame()
    assert len(t) == 3 * 2  # two WTPs in the scenario
    by = t.drop_duplicates("group").set_index("group")
    assert list(by["method"]) == ["gam", "gp", "gam"]
    assert by.loc["pi_CS", "free_dimensions"] == 5
    assert np.isfinite(t[["evppi", "se", "evpi", "r2"]].to_numpy()).all()
    assert ((t["evppi"] >= 0) & (t["evppi"] <= t["evpi"] * 1.05)).all()
    import matplotlib

    matplotlib.use("Agg")
    ax = evppi_bars(res)
    assert [lab.get_text() for lab in ax.get_yticklabels()] == ["c_int", "pi_CS", "pi_CS_CS,c_int"]
    assert ax.get_xlabel() == "EVPPI per person"


@pytest.mark.slow
def test_fmh6_default_groups_full():
    sc = load_scenario(FMH6)
    psa = run_psa(sc, 3000)
    res = evppi(psa)
    t = res.to_frame()
    assert len(t) == 15 * len(sc.settings.wtp)
    assert ((t["evppi"] >= 0) & (t["evppi"] <= t["evpi"] * 1.05)).all()


# --------------------------------------------------------------------------- CLI


def test_cli_evppi_writes_table(linear_scenario: Path, tmp_path: Path):
    out = tmp_path / "ev"
    r = CliRunner().invoke(app, ["evppi", str(linear_scenario), "--psa", "300", "--param", "x",
                                 "--param", "x,y", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "EVPPI per person" in r.output
    import pandas as pd

    df = pd.read_csv(out / "evppi" / "evppi.csv")
    assert list(df["group"]) == ["x", "x,y"]


def test_cli_evppi_json(linear_scenario: Path, tmp_path: Path):
    import json

    r = CliRunner().invoke(app, ["evppi", str(linear_scenario), "--psa", "200", "--param", "y", "--json",
                                 "--wtp", "25000", "-o", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["wtp"] == [25000.0] and data["evppi"][0]["group"] == "y"


@pytest.mark.parametrize("args, message", [
    (["--param", "xx"], "unknown parameter 'xx'. Did you mean 'x'?"),
    (["--param", "x,"], "Invalid --param 'x,'"),
    (["--param", "gain"], "'gain' has no distribution"),
    (["--set", "settings.wtp=[-5]"], "Invalid scenario"),
])
def test_cli_evppi_bad_input_is_one_clean_error(linear_scenario: Path, tmp_path: Path, args, message):
    r = CliRunner().invoke(app, ["evppi", str(linear_scenario), "--psa", "100", "-o", str(tmp_path / "o"), *args])
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "o").exists()


def test_groups_fitted_side_by_side_give_the_numbers_of_one_at_a_time(monkeypatch):
    """The default run fits the groups' regressions in threads, one per core: the table is the same to the bit, in
    the same order, and no warning filter is left behind."""
    import os
    import warnings

    rng = np.random.default_rng(7)
    n = 600
    x = rng.standard_normal((n, 4))
    inb = 0.1 + x @ np.array([1.0, 0.5, 0.25, 0.1]) + 0.5 * rng.standard_normal(n)
    inputs = {f"x{i}": x[:, i] for i in range(4)}
    groups = {"a": ["x0", "x1", "x2"], "b": ["x1", "x2", "x3"], "c": ["x3"], "d": ["x0", "x3", "x2"]}
    costs = np.column_stack([np.zeros(n), -inb])

    def table():
        return evppi_arrays(costs, np.zeros((n, 2)), inputs, groups, [0.0, 1.0], gp_samples=150, se_draws=20,
                            seed=3).to_frame()

    filters = list(warnings.filters)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    side_by_side = table()
    assert warnings.filters == filters
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    one_at_a_time = table()
    assert list(side_by_side["group"]) == ["a", "a", "b", "b", "c", "c", "d", "d"]
    assert side_by_side.equals(one_at_a_time)
    assert (side_by_side["method"] == "gp").sum() == 6


@pytest.mark.parametrize("d", [3, 5])
def test_gp_marginal_likelihood_fit_is_sklearns(d):
    """heecon's GP hyperparameter fit is sklearn's GaussianProcessRegressor (ConstantKernel * RBF + WhiteKernel,
    the same start, bounds and L-BFGS-B) evaluated faster: the same optimum, and with the length scales fixed the
    eigenvalue form gives the amplitude and noise sklearn finds with a fixed RBF."""
    import warnings

    from sklearn.gaussian_process import GaussianProcessRegressor
    from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

    from heecon.sensitivity.evppi import _gp_marginal_ml, _sq_dist

    rng = np.random.default_rng(7 + d)
    m = 200
    X = rng.standard_normal((m, d))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2 + rng.standard_normal(m)
    y = (y - y.mean()) / y.std()
    D2 = (X.T[:, :, None] - X.T[:, None, :]) ** 2

    def sk(length_scale, bounds):
        kern = ConstantKernel(0.3, (1e-3, 1e1)) * RBF(length_scale, bounds) + WhiteKernel(0.7, (1e-3, 2.0))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            k = GaussianProcessRegressor(kern).fit(X, y).kernel_
        return k.k1.k1.constant_value, np.atleast_1d(k.k1.k2.length_scale), k.k2.noise_level

    amp, ell, noise = _gp_marginal_ml(D2, y, None)
    a_ref, l_ref, n_ref = sk(np.full(d, 3.0), (0.3, 1e3))
    assert amp == pytest.approx(a_ref, rel=1e-4)
    assert noise == pytest.approx(n_ref, rel=1e-4)
    np.testing.assert_allclose(ell, l_ref, rtol=1e-3)

    fixed = np.array([1.5] + [4.0] * (d - 1))
    w, V = np.linalg.eigh(np.exp(-0.5 * _sq_dist(X, X, fixed)))
    a_ref, _, n_ref = sk(fixed, "fixed")
    for eig in (None, (np.clip(w, 0.0, None), V)):  # Cholesky form and eigenvalue form
        amp, ell, noise = _gp_marginal_ml(D2, y, fixed, eig)
        np.testing.assert_array_equal(ell, fixed)
        assert amp == pytest.approx(a_ref, rel=1e-4)
        assert noise == pytest.approx(n_ref, rel=1e-4)
