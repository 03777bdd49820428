"""``heecon fit-survival``: the AIC/BIC table, the curves and figures, and the chosen fit as a scenario fragment
(parameters, their multivariate normal, [survival.NAME] curves) that a scenario can use as it is."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from heecon import load_scenario
from heecon.cli import app
from heecon.model.markov import compile_model
from heecon.survival import analyse_survival, kaplan_meier, transition_probabilities

runner = CliRunner()


@pytest.fixture(scope="module")
def trial(tmp_path_factory):
    """Two arms, Weibull times (B lives longer), administrative censoring at 5 years."""
    rng = np.random.default_rng(7)
    n = 300
    arm = np.repeat(["A", "B"], n // 2)
    scale = np.where(arm == "A", 3.0, 4.5)
    t = scale * rng.weibull(1.4, n)
    c = rng.uniform(2.0, 5.0, n)
    df = pd.DataFrame({"years": np.minimum(t, c), "died": (t <= c).astype(int), "arm": arm})
    path = tmp_path_factory.mktemp("data") / "trial.csv"
    df.to_csv(path, index=False)
    return path, df


def invoke(*args):
    return runner.invoke(app, ["fit-survival", *map(str, args)])


def test_fit_survival_writes_the_table_curves_figures_and_fragment(trial, tmp_path):
    path, df = trial
    out = tmp_path / "fits"
    res = invoke(path, "--time", "years", "--event", "died", "--dists", "exp,weibull,lnorm", "--prefix", "os", "-o", out)
    assert res.exit_code == 0, res.output
    assert "Chosen:" in res.output
    table = pd.read_csv(out / "fits.csv")
    assert list(table["dist"]) == list(table.sort_values("aic")["dist"]) and set(table["dist"]) == {"exp", "weibull", "lnorm"}
    assert table["chosen"].sum() == 1
    manifest = json.loads((out / "fit_survival.json").read_text())
    for f in ("survival_fit", "survival_extrapolation", "hazards"):
        assert (out / "figures" / f"{f}.png").is_file() and (out / "figures" / f"{f}.svg").is_file()
    curves = pd.read_csv(out / "curves.csv")
    assert curves["time"].max() == pytest.approx(3 * df["years"].max())
    assert set(curves["kind"]) == {"fitted", "km"} and curves["extrapolated"].any()
    doc = tomllib.loads((out / "survival.toml").read_text())
    chosen = manifest["chosen"]
    assert f"os_{chosen}" in doc["joints"] and doc["survival"]["os"]["distribution"] == chosen
    assert doc["survival"]["os"]["units"] == "years"


def test_the_fragment_is_a_scenario_curve_equal_to_the_fit(trial, tmp_path):
    """Appended to a scenario, the chosen fit's curve drives a transition with the fit's probabilities."""
    path, df = trial
    out = tmp_path / "w"
    assert invoke(path, "--time", "years", "--event", "died", "--dists", "weibull", "--prefix", "os", "-o", out).exit_code == 0
    scenario = f"""
[settings]
cycle_length_months = 6
horizon_years = 10
sectors = ["nhs"]
[states.Alive]
utility = 0.8
[states.Dead]
dead = true
[transitions]
Alive = {{ Alive = "C", Dead = {{ survival = "os", time = "since_start" }} }}
[strategies.a]
label = "a"
{(out / "survival.toml").read_text()}
"""
    p = tmp_path / "s.toml"
    p.write_text(scenario, encoding="utf-8")
    sc = load_scenario(p)
    m = compile_model(sc)
    fit = analyse_survival(df["years"], df["died"], dists=["weibull"]).chosen_fit
    engine = np.array([m.P[0, m.P_map[0, k], 0, 1] for k in range(20)])
    np.testing.assert_allclose(engine, transition_probabilities(fit, 0.5, 20), rtol=1e-13)
    assert "os_weibull" in sc.joint_specs  # the PSA draws the coefficients from their multivariate normal


def test_groups_give_one_curve_each_with_the_fits_covariate_effects(trial, tmp_path):
    path, df = trial
    out = tmp_path / "g"
    res = invoke(path, "--time", "years", "--event", "died", "--group", "arm", "--dists", "weibull,llogis",
                 "--choose", "weibull", "--prefix", "os", "-o", out)
    assert res.exit_code == 0, res.output
    doc = tomllib.loads((out / "survival.toml").read_text())
    assert set(doc["survival"]) == {"os_A", "os_B"}
    assert doc["survival"]["os_B"]["scale"] == "exp(os_log_scale + os_armB)"
    assert "os_armB" in doc["joints"]["os_weibull"]["members"]
    curves = pd.read_csv(out / "curves.csv")
    km_b = curves[(curves.group == "B") & (curves.kind == "km")]
    ref = kaplan_meier(df.years[df.arm == "B"], df.died[df.arm == "B"])
    np.testing.assert_allclose(km_b["survival"].to_numpy(), ref["survival"].to_numpy())


def test_reconstructed_data_from_a_published_curve(trial, tmp_path):
    """--km-coords and --at-risk: Guyot et al. (2012) reconstruction, then the same fits."""
    _, df = trial
    a = df[df.arm == "A"]
    km = kaplan_meier(a.years, a.died)
    coords = tmp_path / "km.csv"
    km[["time", "survival"]].to_csv(coords, index=False)
    risk_t = np.arange(0, 5)
    n_risk = [int((a.years >= t).sum()) for t in risk_t]
    risk = tmp_path / "risk.csv"
    pd.DataFrame({"time": risk_t, "n_risk": n_risk}).to_csv(risk, index=False)
    out = tmp_path / "r"
    res = invoke("--km-coords", coords, "--at-risk", risk, "--total-events", int(a.died.sum()), "--dists", "weibull",
                 "-o", out, "--no-figures")
    assert res.exit_code == 0, res.output
    ipd = pd.read_csv(out / "ipd.csv")
    assert len(ipd) == len(a)  # the published numbers at risk
    assert abs(int(ipd["event"].sum()) - int(a.died.sum())) <= 2  # the reconstruction rounds events per interval
    assert not (out / "figures").exists()


def test_refuses_to_replace_a_folder_it_did_not_write_and_replaces_its_own(trial, tmp_path):
    path, _ = trial
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("keep me")
    res = invoke(path, "--time", "years", "--event", "died", "--dists", "exp", "-o", theirs, "--no-figures")
    assert res.exit_code == 2 and "refusing to replace" in res.output and (theirs / "notes.txt").read_text() == "keep me"
    ours = tmp_path / "ours"
    for dists in ("exp", "weibull"):
        assert invoke(path, "--time", "years", "--event", "died", "--dists", dists, "-o", ours, "--no-figures").exit_code == 0
    assert list(pd.read_csv(ours / "fits.csv")["dist"]) == ["weibull"]


@pytest.mark.parametrize("args, gist", [
    (["--time", "yrs", "--event", "died"], "no column 'yrs'"),
    (["--time", "years"], "--time and --event"),
    (["--time", "years", "--event", "died", "--time-unit", "fortnights"], "--time-unit"),
    (["--time", "years", "--event", "died", "--dists", "weibul"], "weibul"),
    (["--time", "years", "--event", "died", "--km-coords", "x.csv", "--at-risk", "y.csv"], "not both"),
    (["--time", "years", "--event", "died", "--choose", "gompertz", "--dists", "exp"], "was not fitted"),
    (["--time", "years", "--event", "arm"], "must be a number"),
])
def test_bad_input_exits_2_with_a_clear_message(trial, tmp_path, args, gist):
    path, _ = trial
    res = invoke(path, *args, "-o", tmp_path / "o", "--no-figures")
    assert res.exit_code == 2, res.output
    assert gist in res.output and "Traceback" not in res.output


def test_survival_figures_plot_the_fits_the_km_and_the_extrapolation(trial):
    from heecon.report.figures import hazard_plot, survival_extrapolation_plot, survival_fit_plot

    _, df = trial
    an = analyse_survival(df["years"], df["died"], group=df["arm"], group_name="arm", dists=["exp", "weibull"],
                          choose="weibull")
    axes = survival_fit_plot(an)
    assert len(axes) == 2 and [a.get_title() for a in axes] == ["A", "B"]
    labels = [ln.get_label() for ln in axes[0].get_lines()]
    assert "weibull (chosen)" in labels and "exp" in labels and "Kaplan-Meier" in labels
    chosen = next(ln for ln in axes[1].get_lines() if ln.get_label() == "weibull (chosen)")
    end = df.years[df.arm == "B"].max()
    x, y = chosen.get_data()
    assert x.max() <= end + 1e-12
    np.testing.assert_allclose(y, an.chosen_fit.survival(x, {"armB": 1}), rtol=1e-12)
    km = next(ln for ln in axes[0].get_lines() if ln.get_label() == "Kaplan-Meier")
    ref = kaplan_meier(df.years[df.arm == "A"], df.died[df.arm == "A"])
    np.testing.assert_allclose(km.get_data()[1], ref["survival"].to_numpy())
    ext = survival_extrapolation_plot(an)
    assert ext[0].get_xlim()[1] == pytest.approx(3 * df.years.max())
    haz = hazard_plot(an)
    hl = next(ln for ln in haz[0].get_lines() if ln.get_label() == "weibull (chosen)")
    hx, hy = hl.get_data()
    np.testing.assert_allclose(hy, an.chosen_fit.hazard(hx), rtol=1e-12)
    assert haz[0].get_ylabel() == "Hazard (per year)"
