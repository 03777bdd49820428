"""CLI tests for ``heecon cea`` (heecon.cli.cea.cea), driven with typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from heecon.cea.io import parse_wtp, strategy_names
from heecon.cli.cea import cea
from tests.conftest import reference_file


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("cea")(cea)

    @app.command("noop")  # a second command keeps "cea" a sub-command, as in the main app
    def _noop() -> None:
        pass

    return app


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """heecon cea writes its tables and figures to results/<costs file> by default: keep them in tmp_path."""
    monkeypatch.chdir(tmp_path)


def _invoke(*args: str):
    return CliRunner().invoke(_app(), ["cea", *args])


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(3)
    c = rng.normal([100.0, 200.0, 260.0], 20.0, size=(50, 3))
    e = rng.normal([1.0, 1.01, 1.011], 0.005, size=(50, 3))
    def body(rows: np.ndarray) -> str:
        return "".join(",".join(repr(float(v)) for v in r) + "\n" for r in rows)

    cp = _write(tmp_path / "costs.csv", "A_Cost,B_Cost,C_Cost\n" + body(c))
    ep = _write(tmp_path / "effs.csv", "A_Eff,B_Eff,C_Eff\n" + body(e))
    return cp, ep


def _assert_clean_error(result, *fragments: str) -> str:
    """Exit code 2, one line on stderr containing the fragments, no traceback."""
    assert result.exit_code == 2, result.output
    assert isinstance(result.exception, SystemExit)
    err = result.stderr.strip()
    assert "\n" not in err, err
    assert "Traceback" not in result.output
    for frag in fragments:
        assert frag in err, (frag, err)
    return err


# ----------------------------------------------------------------------------- happy paths


def test_json_output_keys_and_consistency(files):
    cp, ep = files
    r = _invoke("--costs", str(cp), "--effects", str(ep), "--wtp", "0:20000:1000", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) >= {"strategies", "icers", "wtp", "ceac", "ceaf", "evpi", "breakeven_wtp"}
    assert out["strategies"] == ["A", "B", "C"]
    assert out["wtp"] == [float(x) for x in range(0, 20001, 1000)]
    assert {r["status"] for r in out["icers"]} <= {"ref", "ND", "ED", "D"}
    for row in out["icers"]:
        assert set(row) >= {"strategy", "status", "icer", "cost", "effect"}
    sums = np.sum([out["ceac"][s] for s in out["strategies"]], axis=0)
    np.testing.assert_allclose(sums, 1.0)
    assert len(out["ceaf"]) == len(out["wtp"]) == len(out["evpi"])
    assert all(v >= 0 for v in out["evpi"])


def test_table_output_is_readable(files):
    cp, ep = files
    r = _invoke("--costs", str(cp), "--effects", str(ep), "--wtp", "0,5000,10000,50000", "--ref", "A")
    assert r.exit_code == 0, r.output
    for text in ("Incremental analysis", "Status", "ref", "EVPI", "Break-even WTP", "Reference A", "EIB"):
        assert text in r.stdout, text
    assert "{" not in r.stdout


def test_ref_accepts_column_number_and_cost_header(files):
    cp, ep = files
    a = json.loads(_invoke("--costs", str(cp), "--effects", str(ep), "--wtp", "0", "--ref", "2", "--json").stdout)
    b = json.loads(_invoke("--costs", str(cp), "--effects", str(ep), "--wtp", "0", "--ref", "B_Cost", "--json").stdout)
    assert a["ref"] == b["ref"] == "B"
    assert set(a["eib"]) == {"A", "C"}


def test_vaccine_default_grid_and_names_from_identical_headers():
    # the shared reference data (BCEA Vaccine): skipped where missing, a failure under CI=true (tests/conftest.py)
    cost, eff = reference_file("vaccine_cost.csv"), reference_file("vaccine_eff.csv")
    r = _invoke("--costs", str(cost), "--effects", str(eff), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["strategies"] == ["Status Quo", "Vaccination"]
    assert len(out["wtp"]) == 501 and out["wtp"][-1] == 50000.0
    assert [b["wtp"] for b in out["breakeven_wtp_grid"]] == [20100.0]


# ----------------------------------------------------------------------------- parsing helpers


def test_parse_wtp_forms():
    np.testing.assert_array_equal(parse_wtp("0:50000:100"), np.arange(501) * 100.0)
    np.testing.assert_array_equal(parse_wtp("0:1:0.1")[-1], 1.0)
    assert parse_wtp("0:1:0.1").size == 11
    np.testing.assert_array_equal(parse_wtp("0:10:3"), [0.0, 3.0, 6.0, 9.0])
    np.testing.assert_array_equal(parse_wtp(" 20000, 0 ,30000"), [20000.0, 0.0, 30000.0])
    np.testing.assert_array_equal(parse_wtp("5"), [5.0])
    np.testing.assert_array_equal(parse_wtp("7:7:1"), [7.0])


def test_strategy_names_rules():
    assert strategy_names(["Chemo_Cost", "Radio_Cost"], ["Chemo_Eff", "Radio_Eff"]) == ["Chemo", "Radio"]
    assert strategy_names(["a.cost", "b costs"], ["a_effect", "b QALYs"]) == ["a", "b"]
    assert strategy_names(["Status Quo", "Vaccination"], ["Status Quo", "Vaccination"]) == ["Status Quo", "Vaccination"]
    # names that do not agree after stripping: cost headers as they are
    assert strategy_names(["x_cost", "y_cost"], ["p_eff", "q_eff"]) == ["x_cost", "y_cost"]


# ----------------------------------------------------------------------------- errors


def test_missing_file(files, tmp_path):
    _, ep = files
    _assert_clean_error(
        _invoke("--costs", str(tmp_path / "nope.csv"), "--effects", str(ep)),
        "Invalid --costs", "nope.csv", "does not exist", "one column per strategy",
    )


def test_directory_instead_of_file(files, tmp_path):
    cp, _ = files
    _assert_clean_error(_invoke("--costs", str(cp), "--effects", str(tmp_path)), "Invalid --effects", "not a file")


def test_non_numeric_cell(files, tmp_path):
    cp, _ = files
    bad = _write(tmp_path / "bad.csv", "A_Eff,B_Eff,C_Eff\n" + "1,2,3\n" * 10 + "1,abc,3\n" + "1,2,3\n" * 39)
    _assert_clean_error(
        _invoke("--costs", str(cp), "--effects", str(bad)),
        "Invalid --effects", "bad.csv", "line 12", "column 2 ('B_Eff')", "holds 'abc'", "finite number",
    )


def test_empty_cell_and_nan(files, tmp_path):
    cp, _ = files
    empty = _write(tmp_path / "empty_cell.csv", "A,B,C\n" + "1,2,3\n" * 5 + "1,,3\n" + "1,2,3\n" * 44)
    _assert_clean_error(_invoke("--costs", str(cp), "--effects", str(empty)), "line 7", "is empty")
    nan = _write(tmp_path / "nan.csv", "A,B,C\n" + "1,2,nan\n" + "1,2,3\n" * 49)
    _assert_clean_error(_invoke("--costs", str(cp), "--effects", str(nan)), "line 2", "holds 'nan'")


def test_ragged_row(files, tmp_path):
    cp, _ = files
    ragged = _write(tmp_path / "ragged.csv", "A,B,C\n" + "1,2,3\n" * 3 + "1,2,3,4\n" + "1,2,3\n" * 46)
    _assert_clean_error(_invoke("--costs", str(cp), "--effects", str(ragged)), "line 5 has 4 fields", "header has 3")


def test_different_row_counts(files, tmp_path):
    cp, _ = files
    short = _write(tmp_path / "short.csv", "A,B,C\n" + "1,2,3\n" * 49)
    _assert_clean_error(
        _invoke("--costs", str(cp), "--effects", str(short)),
        "Invalid --effects", "49 rows", "has 50", "one row per PSA draw",
    )


def test_different_column_counts(files, tmp_path):
    cp, _ = files
    two = _write(tmp_path / "two.csv", "A,B\n" + "1,2\n" * 50)
    _assert_clean_error(
        _invoke("--costs", str(cp), "--effects", str(two)), "2 columns", "has 3", "one column per strategy"
    )


def test_empty_and_header_only_files(files, tmp_path):
    cp, _ = files
    _assert_clean_error(_invoke("--costs", str(cp), "--effects", str(_write(tmp_path / "e.csv", ""))), "empty")
    _assert_clean_error(
        _invoke("--costs", str(cp), "--effects", str(_write(tmp_path / "h.csv", "A,B,C\n"))), "header but no rows"
    )
    _assert_clean_error(
        _invoke("--costs", str(cp), "--effects", str(_write(tmp_path / "r.csv", ",A,B\n1,2,3\n"))),
        "column 1 has an empty header",
    )


def test_duplicate_strategy_names(tmp_path):
    c = _write(tmp_path / "c.csv", "A,A\n1,2\n")
    e = _write(tmp_path / "e.csv", "A,A\n1,2\n")
    _assert_clean_error(_invoke("--costs", str(c), "--effects", str(e)), "'A' appears more than once")


@pytest.mark.parametrize(
    "wtp, fragment",
    [
        ("0:100", "exactly three parts"),
        ("0:100:0", "STEP must be > 0"),
        ("100:0:10", "STOP must be >= START"),
        ("a:b:c", "must be numbers"),
        ("1,,2", "empty item"),
        ("1,x", "must be a number"),
        ("-5,10", ">= 0"),
        ("0:inf:1", "finite"),
        ("", "empty"),
        ("0:1e9:1", "the limit"),
        ("0:1e300:1e-300", "the limit"),
    ],
)
def test_bad_wtp(files, wtp, fragment):
    cp, ep = files
    result = _invoke("--costs", str(cp), "--effects", str(ep), "--wtp", wtp)
    err = _assert_clean_error(result, "Invalid --wtp", fragment)
    assert "START:STOP:STEP" in err


def test_bad_ref(files):
    cp, ep = files
    _assert_clean_error(
        _invoke("--costs", str(cp), "--effects", str(ep), "--ref", "Z"), "Invalid --ref 'Z'", "'A', 'B', 'C'"
    )
