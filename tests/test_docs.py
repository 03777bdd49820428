"""Docs that match the code (issue 20, point 8): every key the scenario loader accepts is documented, the results
table lists every file a run writes, and the statements users tripped on are right."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FORMAT = (DOCS / "scenario-format.md").read_text()


def _documented(key: str, text: str) -> bool:
    k = re.escape(key)
    return re.search(rf"`{k}`|`{k}\s*=|^\s*{k}\s*=|[{{,]\s*{k}\s*=|`\[\[?{k}[\].]|\[[\w.]+\.{k}\]", text, flags=re.M) is not None


def _accepted_key_sets(tmp_path: Path) -> dict[str, set[str]]:
    """Every key set a section reader checks, recorded while rich scenarios load, and the readers' constants."""
    from heecon import load_scenario
    from heecon.scenario import keys, microsim_spec
    from heecon.scenario.calibration_targets import TARGET_KEYS
    from heecon.scenario.reader import Reader
    from tests.gpu_cases import write_feature_scenario

    sets: dict[str, set[str]] = {}
    original = Reader.check_keys

    def record(self, table, allowed, key, what):  # type: ignore[no-untyped-def]
        sets.setdefault(what, set()).update(allowed)
        return original(self, table, allowed, key, what)

    Reader.check_keys = record  # type: ignore[method-assign]
    try:
        for path in (ROOT / "scenarios" / "mbt_aspd_vs_pau.toml", ROOT / "benchmarks" / "fmh6.toml",
                     *sorted((ROOT / "scenarios" / "published").glob("*.toml")),
                     write_feature_scenario(tmp_path)):
            load_scenario(path, check=False)
    finally:
        Reader.check_keys = original  # type: ignore[method-assign]
    for name in dir(keys):
        if name.endswith("_KEYS"):
            sets[f"keys.{name}"] = set(getattr(keys, name))
    for name in dir(microsim_spec):
        if name.endswith("_KEYS"):
            sets[f"microsim_spec.{name}"] = set(getattr(microsim_spec, name))
    sets["calibration targets"] = set(TARGET_KEYS)
    return sets


def test_every_key_the_loader_accepts_is_in_the_format_docs(tmp_path):
    sets = _accepted_key_sets(tmp_path)
    assert len(sets) > 15 and "[settings]" in sets and "an event" in sets
    missing = sorted({f"{where}: {k}" for where, ks in sets.items() for k in ks if not _documented(k, FORMAT)})
    assert not missing, "keys accepted but not documented in docs/scenario-format.md: " + "; ".join(missing)


def test_every_budget_impact_key_is_in_its_docs():
    from heecon.scenario import budget_spec

    text = (DOCS / "budget-impact.md").read_text()
    missing = sorted(k for k in budget_spec._KEYS if not _documented(k, text))
    assert not missing, f"[budget_impact] keys not documented in docs/budget-impact.md: {missing}"


def test_every_distribution_key_is_in_its_docs():
    from heecon.params.parse import _TYPES

    text = (DOCS / "distributions.md").read_text()
    keys = {k for forms, _ in _TYPES.values() for f in forms for part in (f.keys, f.optional) for k in part}
    keys |= set(_TYPES) | {"se"}
    missing = sorted(k for k in keys if not _documented(k, text))
    assert not missing, f"distribution keys not documented in docs/distributions.md: {missing}"


def test_the_results_table_lists_every_file_a_run_writes(tmp_path):
    from typer.testing import CliRunner

    from heecon.cli import app

    out = tmp_path / "flag"
    r = CliRunner().invoke(app, ["run", str(ROOT / "scenarios" / "mbt_aspd_vs_pau.toml"), "--psa", "4", "--set",
                                 "settings.individuals=200", "--set", "settings.trajectories=2", "--report",
                                 "--out", str(out)])
    assert r.exit_code == 0, r.output
    table = FORMAT[FORMAT.index("## Results"):]
    names = sorted(p.name for p in out.iterdir())
    assert len(names) >= 25
    for name in names:
        generic = re.sub(r"^(icers|ceac)_(nhs_pss|societal|public_sector)\.csv$", r"\1_<perspective>.csv", name)
        assert f"`{generic}`" in table or f"`{generic}/`" in table, f"{name} is not in the results table"


def test_statements_users_found_wrong_are_right():
    cea = (DOCS / "cea.md").read_text()
    assert "does not yet implement EVPPI" not in cea and "heecon evppi" in cea
    assert "per person per cycle" in FORMAT  # event-rate units, beside the events
    for key in ("statistic", "tolerance", "bounds", "individuals"):
        assert f"`{key}`" in FORMAT[FORMAT.index("## Calibration targets"):FORMAT.index("## Errors")], key


@pytest.mark.parametrize("doc", ["sensitivity.md", "cea.md", "api.md", "scenario-format.md"])
def test_docs_name_no_output_folder_that_no_longer_exists(doc):
    text = (DOCS / doc).read_text()
    assert "_evppi/" not in text and "_gsa/" not in text and "replaced as a whole" not in text
