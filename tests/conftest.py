from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHARED = ROOT.parent / "shared"
# HEECON_REFERENCE_DATA points elsewhere, e.g. from a git worktree whose parent has no shared/
REFERENCE_DATA = Path(os.environ.get("HEECON_REFERENCE_DATA", SHARED / "reference-data"))


@pytest.fixture(scope="session")
def reference_data() -> Path:
    if not REFERENCE_DATA.is_dir():
        message = f"shared reference data not found at {REFERENCE_DATA}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message} (CI=true: missing reference data fails the run instead of skipping)")
        pytest.skip(message)
    return REFERENCE_DATA
