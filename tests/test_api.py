"""The public Python API (docs/api.md): `import heecon` exposes the entry points, lazily; every example on the API
page runs; PSA results come as labelled pandas objects."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import heecon

ROOT = Path(__file__).resolve().parents[1]
FMH6 = ROOT / "benchmarks" / "fmh6.toml"
API_DOC = ROOT / "docs" / "api.md"
ENTRY_POINTS = ["load_scenario", "scenario_from_dict", "run", "RunResult", "run_psa", "one_way", "two_way",
                "threshold", "evppi", "sobol", "morris", "analyse_psa", "calibrate", "save_analysis", "build_report"]


def test_import_heecon_exposes_the_entry_points_and_imports_nothing_heavy():
    assert set(ENTRY_POINTS) <= set(heecon.__all__) and set(ENTRY_POINTS) <= set(dir(heecon))
    code = ("import sys, heecon; heavy = [m for m in ('numpy', 'pandas', 'numba', 'scipy', 'matplotlib') "
            "if m in sys.modules]; assert not heavy, heavy; import heecon.cli.app; "
            "heavy = [m for m in ('pandas', 'numba', 'scipy', 'matplotlib') if m in sys.modules]; assert not heavy, heavy")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                       env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    for name in ENTRY_POINTS:
        assert callable(getattr(heecon, name)), name
    with pytest.raises(AttributeError):
        heecon.nope  # noqa: B018


def test_every_entry_point_is_on_the_api_page():
    text = API_DOC.read_text()
    for name in ENTRY_POINTS:
        assert f"`{name}" in text, name


def test_psa_costs_and_effects_are_indexed_by_sample_and_strategy():
    sc = heecon.load_scenario(FMH6)
    psa = heecon.run_psa(sc, 40)
    costs, qalys = psa.costs_frame(), psa.effects_frame()
    for f in (costs, qalys):
        assert f.index.name == "sample" and f.columns.name == "strategy"
        assert list(f.columns) == list(sc.strategies) and len(f) == 40
    np.testing.assert_array_equal(costs.to_numpy(), psa.costs())
    long = psa.to_frame()
    assert long.index.names == ["sample", "strategy"]
    assert long.loc[(3, "intervention"), "qalys"] == qalys.loc[3, "intervention"]
    # analyse_psa on the frames, on the PSA result and on arrays gives the same CEAC
    a = heecon.analyse_psa(costs, qalys, wtp=[20000.0, 30000.0])
    b = heecon.analyse_psa(psa, wtp=[20000.0, 30000.0])
    c = heecon.analyse_psa(costs.to_numpy(), qalys.to_numpy(), wtp=[20000.0, 30000.0], names=list(costs.columns))
    np.testing.assert_array_equal(a.ceac, b.ceac)
    np.testing.assert_array_equal(a.ceac, c.ceac)
    # the effects' columns are matched to the costs' by name, whatever their order
    d = heecon.analyse_psa(costs, qalys[qalys.columns[::-1]], wtp=[20000.0, 30000.0])
    np.testing.assert_array_equal(a.ceac, d.ceac)
    # long Series indexed by (sample, strategy) work too
    e = heecon.analyse_psa(long["costs"], long["qalys"], wtp=[20000.0, 30000.0])
    np.testing.assert_allclose(e.mean_cost, a.mean_cost)
    with pytest.raises(ValueError, match="different strategies"):
        heecon.analyse_psa(costs, qalys.rename(columns={"usual": "other"}))


def test_analyses_take_a_path_as_well_as_a_scenario():
    ow = heecon.one_way(FMH6, ["c_int"])
    assert isinstance(ow.to_frame(), pd.DataFrame) and list(ow.to_frame()["parameter"]) == ["c_int"]
    th = heecon.threshold(str(FMH6), "c_int", bounds=(0.0, 50000.0))
    assert th.bounds == (0.0, 50000.0) and th.bounds_from == "given"
    with pytest.raises(TypeError, match="scenario"):
        heecon.one_way(42)


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", API_DOC.read_text(), flags=re.S)


def test_the_examples_on_the_api_page_run(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    blocks = _blocks()
    assert len(blocks) >= 5
    monkeypatch.chdir(tmp_path)
    (tmp_path / "benchmarks").symlink_to(ROOT / "benchmarks")
    ns: dict = {}
    for code in blocks:
        exec(compile(code, str(API_DOC), "exec"), ns)  # noqa: S102 - our own documentation
    assert (tmp_path / "results" / "fmh6" / "summary.json").is_file()
    for sub in ("dsa", "evppi", "gsa_sobol"):
        assert (tmp_path / "results" / "fmh6" / sub / "analysis.json").is_file(), sub
    html = (tmp_path / "results" / "fmh6" / "report.html").read_text()
    assert 'id="sensitivity"' in html and 'id="voi"' in html and 'id="gsa"' in html
    assert (tmp_path / "results" / "external" / "cea" / "ceac.csv").is_file()
