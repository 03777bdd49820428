"""Outputs that never destroy (issue 20, point 2), figures from every analysis command and in the report (point 3),
long ("tidy") tables, labelled per-cycle rows and no duplicated files (point 10)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from heecon.cli import app

ROOT = Path(__file__).resolve().parents[1]
FMH6 = str(ROOT / "benchmarks" / "fmh6.toml")
HIV = str(ROOT / "scenarios" / "published" / "hiv_chancellor.toml")
runner = CliRunner()


def heecon(*args: str, code: int = 0) -> str:
    r = runner.invoke(app, [str(a) for a in args])
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    return r.output


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------------------------ point 2: nothing is lost


def test_run_out_naming_a_file_or_a_foreign_folder_is_refused_and_changes_nothing(tmp_path):
    f = tmp_path / "results.csv"
    f.write_text("my,data\n1,2\n")
    out = heecon("run", HIV, "--out", f, code=2)
    assert "is a file" in out and f.read_text() == "my,data\n1,2\n"
    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.docx").write_text("years of work")
    out = heecon("run", HIV, "--out", mine, code=2)
    assert "did not make" in out
    assert _tree(mine) == {"chapter1.docx": b"years of work"}
    empty = tmp_path / "empty"
    empty.mkdir()
    heecon("run", HIV, "--out", empty)
    assert (empty / "summary.json").is_file()


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory) -> Path:
    """FMH-6 with a PSA, then the user's note, a DSA with a threshold, EVPPI, Sobol' and Morris added to its folder."""
    out = tmp_path_factory.mktemp("grow") / "fmh6"
    heecon("run", FMH6, "--psa", "60", "--out", out)
    (out / "my_notes.txt").write_text("what the committee asked")
    heecon("dsa", FMH6, "-o", out, "--two-way", "c_IP", "--two-way", "u_CS", "--threshold", "c_int",
           "--bounds", "0:9000")
    heecon("evppi", FMH6, "-o", out, "--psa", "60", "--param", "c_int", "--param", "u_CS,u_CR")
    heecon("gsa", FMH6, "-o", out, "--method", "sobol", "--n", "16")
    heecon("gsa", FMH6, "-o", out, "--method", "morris", "--n", "4")
    return out


def test_analyses_add_their_own_subfolder_and_keep_the_run(run_folder):
    out = run_folder
    for f in ("summary.json", "icers.csv", "ceac.csv", "psa_samples.parquet", "my_notes.txt"):
        assert (out / f).is_file(), f
    for sub, files in (("dsa", ["dsa_one_way.csv", "dsa_one_way_long.csv", "dsa_two_way.csv", "threshold_c_int.csv",
                                "thresholds.csv"]),
                       ("evppi", ["evppi.csv"]), ("gsa_sobol", ["gsa_sobol.csv"]), ("gsa_morris", ["gsa_morris.csv"])):
        assert (out / sub / "analysis.json").is_file(), sub
        for f in files:
            assert (out / sub / f).is_file(), f"{sub}/{f}"
    manifest = json.loads((out / ".heecon-manifest.json").read_text())["entries"]
    assert manifest["dsa"]["writer"] == "dsa" and manifest["summary.json"]["writer"] == "run"
    assert "my_notes.txt" not in manifest  # the user's: never replaced


def test_a_second_run_and_a_second_analysis_keep_everything_else(run_folder, tmp_path):
    import shutil

    out = tmp_path / "again"
    shutil.copytree(run_folder, out)
    before = _tree(out)
    heecon("run", FMH6, "--psa", "30", "--seed", "9", "--out", out)
    after = _tree(out)
    kept = [k for k in before if k.split("/")[0] in ("dsa", "evppi", "gsa_sobol", "gsa_morris", "my_notes.txt")]
    assert kept and all(after[k] == before[k] for k in kept)
    assert json.loads(after["summary.json"])["psa"]["n_samples"] == 30
    heecon("gsa", FMH6, "-o", out, "--method", "morris", "--n", "6")  # replaces gsa_morris/ only
    again = _tree(out)
    assert all(again[k] == after[k] for k in after if not k.startswith(("gsa_morris/", ".heecon-manifest")))
    assert again["gsa_morris/analysis.json"] != after["gsa_morris/analysis.json"]


def test_an_analysis_never_replaces_what_the_user_put_in_its_subfolder(run_folder, tmp_path):
    import shutil

    out = tmp_path / "mine"
    shutil.copytree(run_folder, out)
    (out / "dsa" / "my_tornado_edits.pptx").write_text("slides")
    msg = heecon("dsa", FMH6, "-o", out, code=2)
    assert "my_tornado_edits.pptx" in msg and "did not write" in msg
    assert (out / "dsa" / "my_tornado_edits.pptx").read_text() == "slides"
    (out / "cea").mkdir()
    (out / "cea" / "x.csv").write_text("1")
    costs = tmp_path / "c.csv"
    costs.write_text("A,B\n1,2\n2,3\n")
    msg = heecon("cea", "--costs", costs, "--effects", costs, "--out", out, code=2)
    assert "was not written by heecon" in msg and (out / "cea" / "x.csv").read_text() == "1"


def test_the_report_and_the_evidence_table_never_overwrite_the_users_file(run_folder, tmp_path):
    import shutil

    out = tmp_path / "rep"
    shutil.copytree(run_folder, out)
    (out / "report.html").write_text("<p>my own report</p>")
    assert "was not written by heecon" in heecon("report", out, code=2)
    assert (out / "report.html").read_text() == "<p>my own report</p>"
    md = tmp_path / "evidence.md"
    md.write_text("# My notes\n")
    assert "never overwrites" in heecon("evidence", FMH6, "--out", md, code=2)
    assert md.read_text() == "# My notes\n"
    fresh = tmp_path / "ev2.md"
    heecon("evidence", FMH6, "--out", fresh)
    heecon("evidence", FMH6, "--out", fresh)  # its own table: replaced


# ------------------------------------------------------------------------- point 3: figures from every command


def test_every_analysis_command_draws_its_figures(run_folder):
    out = run_folder
    for sub, names in (("dsa", ["tornado", "two_way"]), ("evppi", ["evppi"]), ("gsa_sobol", ["sobol"]),
                       ("gsa_morris", ["morris"])):
        for n in names:
            for ext in ("png", "svg"):
                assert (out / sub / "figures" / f"{n}.{ext}").stat().st_size > 1000, f"{sub}/{n}.{ext}"


def test_the_report_includes_every_analysis_in_the_folder_without_drawing_them_again(run_folder, tmp_path):
    import re
    import shutil

    out = tmp_path / "report"
    shutil.copytree(run_folder, out)
    heecon("report", out)
    html = (out / "report.html").read_text()
    for sec in ("sensitivity", "voi", "gsa"):
        assert f'<section id="{sec}">' in html, sec
    for fig in ("tornado", "two_way", "evppi_bars", "sobol", "morris", "ce_plane", "ceac"):
        assert f'id="fig-{fig}"' in html, fig
    assert "Threshold analysis" in html and "c_int" in html
    # the analyses' figures are embedded from their folders, not duplicated into figures/
    assert not (out / "figures" / "tornado.png").exists() and not (out / "figures" / "sobol.png").exists()
    import base64

    png = (out / "dsa" / "figures" / "tornado.png").read_bytes()
    assert base64.b64encode(png).decode() in html
    assert re.search(r"Computed from another version", html) is None


def test_the_report_says_when_an_analysis_came_from_another_version_of_the_scenario(run_folder, tmp_path):
    import shutil

    out = tmp_path / "stale"
    shutil.copytree(run_folder, out)
    heecon("run", FMH6, "--psa", "30", "--set", "parameters.c_int.value=2500", "--out", out, "--report")
    html = (out / "report.html").read_text()
    assert "Computed from another version of the scenario" in html


def test_cea_writes_its_tables_and_figures(tmp_path):
    rng = np.random.default_rng(4)
    c = pd.DataFrame(rng.normal([100.0, 150.0, 210.0], 10.0, size=(300, 3)), columns=["A", "B", "C"])
    e = pd.DataFrame(rng.normal([1.0, 1.004, 1.006], 0.002, size=(300, 3)), columns=["A", "B", "C"])
    c.to_csv(tmp_path / "costs.csv", index=False)
    e.to_csv(tmp_path / "effects.csv", index=False)
    out = tmp_path / "res"
    printed = heecon("cea", "--costs", tmp_path / "costs.csv", "--effects", tmp_path / "effects.csv",
                     "--wtp", "0:50000:1000", "--ref", "A", "--out", out)
    assert str(out / "cea") in printed
    sub = out / "cea"
    for f in ("icers.csv", "ceac.csv", "ceac_long.csv", "breakeven_wtp.csv", "pairwise.csv", "analysis.json"):
        assert (sub / f).is_file(), f
    for fig in ("ce_plane", "ceac", "evpi"):
        assert (sub / "figures" / f"{fig}.png").stat().st_size > 1000, fig
    j = json.loads(heecon("cea", "--costs", tmp_path / "costs.csv", "--effects", tmp_path / "effects.csv",
                          "--wtp", "0:50000:1000", "--json", "--out", tmp_path / "json"))
    ceac = pd.read_csv(sub / "ceac.csv")
    np.testing.assert_allclose(ceac["B"], j["ceac"]["B"])
    np.testing.assert_allclose(ceac["evpi"], j["evpi"])
    icers = pd.read_csv(sub / "icers.csv")
    assert [r["strategy"] for r in j["icers"]] == list(icers["strategy"])


# --------------------------------------------------------- point 10: tidy tables, labels, no duplicated files


def test_long_tables_with_plain_names_beside_the_wide_ones(run_folder):
    out = run_folder
    for f in ("outcomes_long.csv", "trace_long.csv", "per_cycle_long.csv", "ceac_long.csv"):
        df = pd.read_csv(out / f)
        assert not any("[" in c or ":" in c for c in df.columns), (f, list(df.columns))
    wide = pd.read_csv(out / "outcomes.csv", index_col="strategy")
    long = pd.read_csv(out / "outcomes_long.csv", keep_default_na=False)
    row = long[(long.strategy == "intervention") & (long.outcome == "cost") & (long.perspective == "all")
               & (long.discounted.astype(str) == "True")]
    assert float(row["value"].iloc[0]) == pytest.approx(wide.loc["intervention", "costs[all]"])
    row = long[(long.strategy == "usual") & (long.outcome == "cost") & (long.sector == "health")
               & (long.discounted.astype(str) == "False")]
    assert float(row["value"].iloc[0]) == pytest.approx(wide.loc["usual", "health_undiscounted"])
    trace = pd.read_csv(out / "trace.csv")
    tl = pd.read_csv(out / "trace_long.csv")
    assert len(tl) == len(trace) * 6 and set(tl.columns) == {"strategy", "cycle", "time_years", "state", "share"}
    cl = pd.read_csv(out / "ceac_long.csv")
    ceac = pd.read_csv(out / "ceac.csv")
    got = cl[(cl.perspective == "all") & (cl.strategy == "intervention")]["probability_cost_effective"].to_numpy()
    np.testing.assert_allclose(got, ceac["intervention"].to_numpy())


def test_per_cycle_rows_say_what_they_hold(run_folder):
    pc = pd.read_csv(run_folder / "per_cycle.csv")
    assert list(pc.columns[:5]) == ["strategy", "cycle", "period", "from_years", "to_years"]
    start = pc.iloc[0]  # the time-0 row of one-off start rewards (issue 19)
    assert start["cycle"] == 0 and start["period"] == "model start (counted once)"
    assert (start["from_years"], start["to_years"]) == (0.0, 0.0)
    first = pc.iloc[1]
    assert first["cycle"] == 1 and first["period"] == "cycle 1: 0 to 0.25 years"
    assert (first["from_years"], first["to_years"]) == (0.0, 0.25)
    cycles = pc[pc["cycle"] > 0]
    assert np.allclose(cycles["to_years"] - cycles["from_years"], 0.25)


def test_label_per_cycle_names_a_start_row():
    from heecon.report.tidy import label_per_cycle

    df = label_per_cycle(pd.DataFrame({"strategy": ["a", "a"], "cycle": [0, 1], "nhs": [5.0, 1.0]}), 1.0)
    assert list(df["period"]) == ["model start (counted once)", "cycle 1: 0 to 1 years"]


def test_a_results_folder_holds_no_duplicated_files(run_folder):
    seen: dict[str, str] = {}
    for p in sorted(run_folder.iterdir()):
        if p.is_file() and not p.name.startswith("."):
            h = hashlib.sha256(p.read_bytes()).hexdigest()
            assert h not in seen, f"{p.name} duplicates {seen.get(h)}"
            seen[h] = p.name
    assert not (run_folder / "icers_all.csv").exists() and not (run_folder / "ceac_all.csv").exists()
