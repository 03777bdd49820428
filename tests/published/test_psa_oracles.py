"""Published tier: CEAC, CEAF, EVPI, break-even and EIB against dampack and BCEA.

Sources (shared/oracles/README.md section 5):

* dampack ``example_psa`` (Chemo, Radio, Surgery; 10,000 draws): dampack
  ``ceac`` and ``calc_evpi`` at WTP 1000, 31000, 41000, 141000. CEAC to 1e-4
  absolute (as printed), EVPI to 1e-6 relative.
* BCEA ``Vaccine`` (Status Quo, Vaccination; 1,000 draws): ICER 20097.59
  (equal when rounded to 2 dp), break-even 20100 on the 0:50000:100 grid,
  P(Status Quo better at WTP 0) 0.98 (2 dp), EIB of Status Quo over
  Vaccination 5.036 (3 dp), EVPI 0.05621 (4 significant digits); BCEA ref =
  Status Quo, increments reference minus comparator.

Each check runs through the Python API and through ``heecon cea --json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..conftest import reference_file
import typer
from typer.testing import CliRunner

from heecon.cli.cea import cea
from heecon.cea import analyse_psa, breakeven_wtp_grid, ceac, ceaf, eib, evpi, icer_table, prob_better


# dampack example_psa oracle: wtp -> (CEAC Chemo, Radio, Surgery), CEAF strategy, EVPI
EXAMPLE_PSA = {
    1000: ((0.0073, 0.7799, 0.2128), "Radio", 1084.832999),
    31000: ((0.2514, 0.3829, 0.3657), "Radio", 10023.211190),
    41000: ((0.3147, 0.3142, 0.3711), "Chemo", 13847.286085),
    141000: ((0.4872, 0.1554, 0.3574), "Chemo", 29647.007492),
}
NAMES = ["Chemo", "Radio", "Surgery"]


def _data(name: str) -> Path:
    return reference_file(name)


def _run_cli(*args: str) -> dict:
    app = typer.Typer()
    app.command("cea")(cea)

    @app.command("noop")  # a second command keeps "cea" as a sub-command, as in the main app
    def _noop() -> None:
        pass

    result = CliRunner().invoke(app, ["cea", *args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _example_psa():
    c = pd.read_csv(_data("example_psa_cost.csv"))
    e = pd.read_csv(_data("example_psa_effectiveness.csv"))
    return c.to_numpy(), e.to_numpy()


def test_example_psa_wtp_file_holds_the_oracle_points():
    w = pd.read_csv(_data("example_psa_wtp.csv"), header=None)[0].to_numpy(dtype=float)
    assert set(EXAMPLE_PSA) <= set(w.tolist())


def test_example_psa_ceac_ceaf_evpi_match_dampack_ceac_abs_1e4_evpi_rel_1e6():
    c, e = _example_psa()
    wtp = np.array(sorted(EXAMPLE_PSA), dtype=float)
    p = ceac(c, e, wtp)
    f = ceaf(c, e, wtp)
    v = evpi(c, e, wtp)
    for i, w in enumerate(sorted(EXAMPLE_PSA)):
        exp_ceac, exp_front, exp_evpi = EXAMPLE_PSA[w]
        np.testing.assert_allclose(p[i], exp_ceac, rtol=0, atol=1e-4)
        assert NAMES[f.optimal[i]] == exp_front
        np.testing.assert_allclose(v[i], exp_evpi, rtol=1e-6)
    # at 41000 Surgery has the highest CEAC yet Chemo is on the frontier
    i41 = sorted(EXAMPLE_PSA).index(41000)
    assert NAMES[int(np.argmax(p[i41]))] == "Surgery" and NAMES[f.optimal[i41]] == "Chemo"


def test_example_psa_via_analyse_psa_and_cli_json_match_dampack():
    c, e = _example_psa()
    wtp = pd.read_csv(_data("example_psa_wtp.csv"), header=None)[0].to_numpy(dtype=float)
    res = analyse_psa(c, e, NAMES, wtp)
    out = _run_cli(
        "--costs", str(_data("example_psa_cost.csv")),
        "--effects", str(_data("example_psa_effectiveness.csv")),
        "--wtp", ",".join(str(int(w)) for w in wtp),
    )
    assert out["strategies"] == ["Chemo", "Radio", "Surg"]  # headers Chemo_Cost/Chemo_Eff, ... stripped
    assert out["wtp"] == wtp.tolist()
    for w, (exp_ceac, exp_front, exp_evpi) in EXAMPLE_PSA.items():
        i = int(np.flatnonzero(wtp == w)[0])
        np.testing.assert_allclose(res.ceac[i], exp_ceac, atol=1e-4)
        np.testing.assert_allclose(res.evpi[i], exp_evpi, rtol=1e-6)
        assert res.ceaf_strategies[i] == exp_front
        cli_ceac = [out["ceac"][s][i] for s in out["strategies"]]
        np.testing.assert_allclose(cli_ceac, exp_ceac, atol=1e-4)
        np.testing.assert_allclose(out["evpi"][i], exp_evpi, rtol=1e-6)
        assert NAMES[out["strategies"].index(out["ceaf"][i])] == exp_front


def _vaccine():
    c = pd.read_csv(_data("vaccine_cost.csv"))
    e = pd.read_csv(_data("vaccine_eff.csv"))
    assert list(c.columns) == ["Status Quo", "Vaccination"]
    return c.to_numpy(), e.to_numpy()


def test_bcea_vaccine_icer_2dp_breakeven_grid_prob_2dp_eib_3dp_evpi_4sig():
    c, e = _vaccine()
    t = icer_table(["Status Quo", "Vaccination"], c.mean(0), e.mean(0))
    assert t["status"].tolist() == ["ref", "ND"]
    assert round(float(t["icer"].iloc[1]), 2) == 20097.59
    grid = np.arange(501) * 100.0
    be = breakeven_wtp_grid(c, e, grid, names=["Status Quo", "Vaccination"])
    assert be["wtp"].tolist() == [20100.0]
    assert be["from"].tolist() == ["Status Quo"] and be["to"].tolist() == ["Vaccination"]
    assert round(prob_better(c, e, 0.0, 0, 1), 2) == 0.98
    assert round(eib(c, e, 0.0, 0, 1), 3) == 5.036
    assert float(f"{evpi(c, e, 0.0):.4g}") == 0.05621

    res = analyse_psa(c, e, ["Status Quo", "Vaccination"], grid, ref="Status Quo")
    assert round(res.pairwise_icer["Vaccination"], 2) == 20097.59
    assert res.breakeven_grid["wtp"].tolist() == [20100.0]
    assert round(float(res.breakeven["wtp"].iloc[0]), 2) == 20097.59
    assert round(float(res.prob_ref_better["Vaccination"][0]), 2) == 0.98
    assert round(float(res.eib["Vaccination"][0]), 3) == 5.036
    assert float(f"{res.evpi[0]:.4g}") == 0.05621


def test_bcea_vaccine_through_cli_json_same_tolerances():
    out = _run_cli(
        "--costs", str(_data("vaccine_cost.csv")),
        "--effects", str(_data("vaccine_eff.csv")),
        "--wtp", "0:50000:100",
        "--ref", "Status Quo",
    )
    assert out["strategies"] == ["Status Quo", "Vaccination"]
    assert len(out["wtp"]) == 501 and out["wtp"][0] == 0.0 and out["wtp"][-1] == 50000.0
    icers = {r["strategy"]: r for r in out["icers"]}
    assert icers["Status Quo"]["status"] == "ref" and icers["Status Quo"]["icer"] is None
    assert icers["Vaccination"]["status"] == "ND"
    assert round(icers["Vaccination"]["icer"], 2) == 20097.59
    assert [b["wtp"] for b in out["breakeven_wtp_grid"]] == [20100.0]
    assert round(out["breakeven_wtp"][0]["wtp"], 2) == 20097.59
    assert round(out["prob_ref_better"]["Vaccination"][0], 2) == 0.98
    assert round(out["eib"]["Vaccination"][0], 3) == 5.036
    assert float(f"{out['evpi'][0]:.4g}") == 0.05621
