from __future__ import annotations

import os
from pathlib import Path

import pytest

import heecon  # noqa: F401  (before any test module imports NumPy: it pins the CPU kernels, heecon/_cpu_pin.py)

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHARED = ROOT.parent / "shared"
# published reference data (dampack, BCEA, voi, flexsurv datasets) lives beside the repository and is never copied
# into it; HEECON_REFERENCE_DATA points elsewhere (e.g. from a git worktree whose parent has no shared/)
REFERENCE_DATA = Path(os.environ.get("HEECON_REFERENCE_DATA", SHARED / "reference-data"))
_MISSING = "external-oracle data missing"


def _missing(path: Path) -> None:
    message = f"{_MISSING}: shared reference data not found at {path}"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: missing reference data fails the run instead of skipping)")
    pytest.skip(message)


def reference_file(name: str) -> Path:
    """A file of the shared reference data (skipped where missing; a failure when ``CI`` is ``"true"``)."""
    path = REFERENCE_DATA / name
    if not path.exists():
        _missing(path)
    return path


@pytest.fixture(scope="session")
def reference_data() -> Path:
    """``../shared/reference-data``: skipped where missing (a failure when ``CI`` is ``"true"``)."""
    if not REFERENCE_DATA.is_dir():
        _missing(REFERENCE_DATA)
    return REFERENCE_DATA


@pytest.fixture
def reference_datasets() -> Path:
    """``../shared/reference-data/datasets``: skipped where missing (a failure when ``CI`` is ``"true"``)."""
    path = REFERENCE_DATA / "datasets"
    if not path.is_dir():
        _missing(path)
    return path


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ARG001
    """One line saying how many external-oracle tests did not run, and why (they are skipped only outside CI)."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if _MISSING in str(getattr(r, "longrepr", ""))]
    if skipped:
        terminalreporter.write_line(
            f"{len(skipped)} external-oracle tests did not run: the published reference data was not found at "
            f"{REFERENCE_DATA} (put the shared/ folder beside the repository, or set HEECON_REFERENCE_DATA; under "
            "CI=true they fail instead)", yellow=True)
