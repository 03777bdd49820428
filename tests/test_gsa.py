"""Global sensitivity analysis (SALib Sobol' and Morris) on incremental net monetary benefit.

The test model: one year alive, strategy B costs c1 + c2 more than A and gains nothing, so iNMB = -(c1 + c2)
exactly. With c1 ~ Gamma(mean 1000, sd 200) and c2 ~ Normal(500, 100) independent, the variance shares are
200^2 / (200^2 + 100^2) = 0.8 and 0.2, with no interaction (S1 = ST). c3 has a distribution but is unused.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from heecon.report.figures import sobol_bars
from heecon.cli import app
from heecon import load_scenario
from heecon.sensitivity.gsa import GSAError, morris, sobol, unit_design

ROOT = Path(__file__).resolve().parents[1]
FMH6 = ROOT / "benchmarks" / "fmh6.toml"

ADDITIVE_TOML = """
title = "Additive GSA test model: iNMB = -(c1 + c2)"

[settings]
cycle_length_months = 12
horizon_cycles = 1
counting = "end"
discount_costs = 0
discount_effects = 0
sectors = ["health"]
comparator = "A"
wtp = [20000]
seed = 7

[parameters]
c1 = { value = 1000, distribution = { type = "gamma", mean = 1000, sd = 200 } }
c2 = { value = 500, distribution = { type = "normal", mean = 500, sd = 100 } }
c3 = { value = 5, distribution = { type = "gamma", mean = 5, sd = 1 } }
c0 = 10

[states.alive]
utility = 0.7

[states.dead]
dead = true

[transitions]
alive = { alive = "C", dead = 0.1 }

[strategies.A]
label = "A"

[strategies.B]
label = "B"
costs = [{ states = ["alive"], costs = { health = "c1 + c2" } }]
"""

JOINTS_TOML = """
title = "Joint distributions in unit space"

[settings]
cycle_length_months = 12
horizon_cycles = 2
sectors = ["health"]
comparator = "A"

[parameters]
p_a = 0.7
p_b = 0.2
p_c = 0.1
m1 = 1.0
m2 = 2.0
k1 = { value = 3.0, distribution = { type = "gamma", mean = 3, sd = 1 } }
k2 = { value = 0.5, distribution = { type = "beta", mean = 0.5, sd = 0.1 } }
solo = { value = 0.5, distribution = { type = "uniform", lower = 0, upper = 1 } }

[joints.row]
type = "dirichlet"
counts = { p_a = 70, p_b = 20, p_c = 10 }

[joints.reg]
type = "mvnormal"
members = ["m1", "m2"]
mean = [1.0, 2.0]
sd = [0.5, 0.2]
corr = [[1.0, 0.6], [0.6, 1.0]]

[joints.cop]
type = "copula"
members = ["k1", "k2"]
rho = -0.5

[states.X]
utility = "k2 + 0 * (m1 + m2 + solo)"
costs = { health = "k1 * 100" }

[states.Y]
utility = 0.5

[states.D]
dead = true

[transitions]
X = { X = "p_a", Y = "p_b", D = "p_c" }
Y = { Y = "C", D = 0.1 }

[strategies.A]
label = "A"

[strategies.B]
label = "B"
costs = [{ states = ["X"], costs = { health = "50 * m1 + 10 * m2 + 100 * solo" } }]
"""


@pytest.fixture
def additive(tmp_path: Path) -> Path:
    path = tmp_path / "additive.toml"
    path.write_text(ADDITIVE_TOML)
    return path


@pytest.fixture
def joints(tmp_path: Path) -> Path:
    path = tmp_path / "joints.toml"
    path.write_text(JOINTS_TOML)
    return path


# --------------------------------------------------------------------------- Sobol'


def test_sobol_recovers_known_variance_shares(additive: Path):
    res = sobol(load_scenario(additive), 1024)
    t = res.to_frame().set_index("parameter")
    assert list(res.to_frame().columns) == ["parameter", "members", "S1", "S1_conf", "ST", "ST_conf"]
    assert list(t.index) == ["c1", "c2", "c3"]  # sorted by ST
    for name, share in (("c1", 0.8), ("c2", 0.2)):
        assert abs(t.loc[name, "S1"] - share) <= t.loc[name, "S1_conf"] + 0.01
        assert abs(t.loc[name, "ST"] - share) <= t.loc[name, "ST_conf"] + 0.01
        assert t.loc[name, "ST"] == pytest.approx(t.loc[name, "S1"], abs=0.05)  # additive: no interactions
    assert t.loc["c3", "S1"] == pytest.approx(0.0, abs=1e-12)
    assert t.loc["c3", "ST"] == pytest.approx(0.0, abs=1e-12)
    assert res.n_evaluations == 1024 * (3 + 2)
    assert res.inmb_var == pytest.approx(0.81 * (200.0**2 + 100.0**2), rel=0.05)  # 0.9 alive at the end of the year
    assert res.inmb_mean == pytest.approx(-0.9 * 1500.0, rel=0.01)


def test_sobol_is_reproducible_and_zero_is_a_seed(additive: Path):
    sc = load_scenario(additive)
    a = sobol(sc, 64, seed=0).to_frame()
    b = sobol(sc, 64, seed=0).to_frame()
    c = sobol(sc, 64, seed=1).to_frame()
    d = sobol(sc, 64).to_frame()  # settings.seed
    assert a.equals(b)
    assert not a.equals(c)
    assert sobol(sc, 64, seed=7).to_frame().equals(d)


def test_sobol_params_subset_and_second_order(additive: Path):
    sc = load_scenario(additive)
    res = sobol(sc, 128, params=["c2"], second_order=True)
    assert list(res.to_frame()["parameter"]) == ["c2"]
    assert res.to_frame().loc[0, "S1"] == pytest.approx(1.0, abs=0.05)
    assert res.S2 is not None and res.S2.shape == (1, 1)


def test_sobol_plot_has_the_indices(additive: Path):
    import matplotlib

    matplotlib.use("Agg")
    res = sobol(load_scenario(additive), 64)
    ax = sobol_bars(res)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(res.to_frame()["parameter"])
    widths = [p.get_width() for p in ax.patches]
    assert widths[:3] == pytest.approx(list(res.to_frame()["S1"]))
    assert ax.get_xlabel() == "Sobol' index"


# --------------------------------------------------------------------------- Morris


def test_morris_ranks_the_important_parameter_first(additive: Path):
    res = morris(load_scenario(additive), trajectories=20, levels=4)
    t = res.to_frame()
    assert list(t.columns) == ["parameter", "members", "mu", "mu_star", "mu_star_conf", "sigma"]
    assert list(t["parameter"]) == ["c1", "c2", "c3"]
    assert t.loc[2, "mu_star"] == 0.0
    assert (t.loc[:1, "mu"] < 0).all()  # higher costs, lower iNMB
    assert res.n_evaluations == 20 * (3 + 1)
    # c2 is normal, so its quantile steps (0.5 of the quantile range) give equal effects: sigma ~ 0
    assert t.loc[1, "sigma"] == pytest.approx(0.0, abs=1e-6)


def test_morris_validates_levels(additive: Path):
    with pytest.raises(GSAError, match="'levels' must be an even number"):
        morris(load_scenario(additive), levels=3)
    with pytest.raises(GSAError, match="'trajectories' must be a whole number >= 2"):
        morris(load_scenario(additive), trajectories=1)


# --------------------------------------------------------------------------- unit space and joints


def test_unit_design_maps_joints_exactly(joints: Path):
    sc = load_scenario(joints)
    d = unit_design(sc)
    p = d.problem
    assert p["names"] == ["solo", "p_a", "p_b", "p_c", "m1", "m2", "k1", "k2"]
    assert p["groups"] == ["solo", "row", "row", "row", "reg", "reg", "cop", "cop"]
    assert d.members["row"] == ["p_a", "p_b", "p_c"]
    assert d.members["reg"] == ["m1", "m2"]
    assert d.members["cop"] == ["k1", "k2"]
    assert d.members["solo"] == ["solo"]
    assert all(b == [0.0, 1.0] for b in p["bounds"])
    u = np.random.default_rng(3).random((200_000, p["num_vars"]))
    v = d.values(u)
    # Dirichlet(70, 20, 10): rows sum to 1, means alpha / sum, var of p_a = a(A-a)/(A^2(A+1))
    rows = np.column_stack([v["p_a"], v["p_b"], v["p_c"]])
    assert np.allclose(rows.sum(axis=1), 1.0)
    assert rows.mean(axis=0) == pytest.approx([0.7, 0.2, 0.1], abs=2e-3)
    assert v["p_a"].var() == pytest.approx(0.7 * 0.3 / 101, rel=0.03)
    # multivariate normal: mean, sds, correlation
    assert [v["m1"].mean(), v["m2"].mean()] == pytest.approx([1.0, 2.0], abs=5e-3)
    assert [v["m1"].std(), v["m2"].std()] == pytest.approx([0.5, 0.2], rel=0.01)
    assert np.corrcoef(v["m1"], v["m2"])[0, 1] == pytest.approx(0.6, abs=0.01)
    # copula: marginals kept (gamma mean 3 sd 1, beta mean 0.5 sd 0.1), negative correlation
    assert v["k1"].mean() == pytest.approx(3.0, rel=0.01) and v["k1"].std() == pytest.approx(1.0, rel=0.02)
    assert v["k2"].mean() == pytest.approx(0.5, abs=0.002) and v["k2"].std() == pytest.approx(0.1, rel=0.02)
    assert np.corrcoef(v["k1"], v["k2"])[0, 1] < -0.4
    assert v["solo"].min() >= 0 and v["solo"].max() <= 1


def test_sobol_with_joint_groups(joints: Path):
    sc = load_scenario(joints)
    res = sobol(sc, 256)
    t = res.to_frame().set_index("parameter")
    assert set(t.index) == {"solo", "cop", "row", "reg"}
    assert t.loc["reg", "members"] == "m1,m2"
    assert res.n_evaluations == 256 * (4 + 2)
    assert np.isfinite(t[["S1", "ST"]].to_numpy()).all()
    # naming a member varies its whole joint
    sub = sobol(sc, 64, params=["m1"]).to_frame()
    assert list(sub["parameter"]) == ["reg"] and sub.loc[0, "S1"] == pytest.approx(1.0, abs=0.1)


def test_fmh6_sobol_and_morris_smoke():
    sc = load_scenario(FMH6)
    s = sobol(sc, 64)
    t = s.to_frame()
    assert len(t) == 9 + 6 and "p_CS" in set(t["parameter"])
    assert np.isfinite(t[["S1", "ST"]].to_numpy()).all()
    assert t["ST"].max() > 0.1
    m = morris(sc, 6)
    assert len(m.to_frame()) == 15 and m.n_evaluations == 6 * 16


# --------------------------------------------------------------------------- errors


def test_errors_name_the_problem(additive: Path):
    sc = load_scenario(additive)
    with pytest.raises(GSAError, match="unknown parameter 'c11'. Did you mean 'c1'"):
        sobol(sc, 64, params=["c11"])
    with pytest.raises(GSAError, match="'c0' has no distribution"):
        sobol(sc, 64, params=["c0"])
    with pytest.raises(GSAError, match="unknown strategy 'C'"):
        sobol(sc, 64, strategy="C")
    with pytest.raises(GSAError, match="'seed' must be a whole number >= 0"):
        sobol(sc, 64, seed=-1)
    with pytest.raises(GSAError, match="'n' must be a whole number >= 2"):
        sobol(sc, 1)
    with pytest.raises(GSAError, match="'n' must be a power of 2 .* Got 1000; use 512 or 1024"):
        sobol(sc, 1000)


# --------------------------------------------------------------------------- CLI


def test_cli_gsa_sobol_and_morris(additive: Path, tmp_path: Path):
    runner = CliRunner()
    r = runner.invoke(app, ["gsa", str(additive), "--n", "64", "-o", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    assert "Sobol' indices" in r.output
    df = pd.read_csv(tmp_path / "s" / "gsa_sobol" / "gsa_sobol.csv")
    assert list(df["parameter"]) == ["c1", "c2", "c3"]
    r = runner.invoke(app, ["gsa", str(additive), "--method", "morris", "--json", "-o", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["method"] == "morris" and data["indices"][0]["parameter"] == "c1"
    assert (tmp_path / "m" / "gsa_morris" / "gsa_morris.csv").is_file()


@pytest.mark.parametrize("args, message", [
    (["--method", "fast"], "Invalid --method 'fast': choose sobol or morris."),
    (["--strategy", "C"], "unknown strategy 'C'"),
    (["--set", "parameters.c1.distribution.sd=-1"], "Invalid scenario"),
])
def test_cli_gsa_bad_input_is_one_clean_error(additive: Path, tmp_path: Path, args, message):
    r = CliRunner().invoke(app, ["gsa", str(additive), "--n", "16", "-o", str(tmp_path / "o"), *args])
    assert r.exit_code == 2
    assert message in r.output
    assert "Traceback" not in r.output
    assert not (tmp_path / "o").exists()
