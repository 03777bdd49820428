from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


def _shared_dir(root: Path) -> Path:
    """``../shared`` next to the repository root; in a git worktree, next to the main checkout if not here."""
    here = root.parent / "shared"
    git = root / ".git"
    if here.is_dir() or not git.is_file():
        return here
    try:  # a worktree's .git file reads "gitdir: <main>/.git/worktrees/<name>"; <main>/.git is its commondir
        gitdir = Path(git.read_text().split("gitdir:", 1)[1].strip())
        common = (gitdir / (gitdir / "commondir").read_text().strip()).resolve()
    except (IndexError, OSError):
        return here
    main = common.parent / "shared" if common.name != ".git" else common.parent.parent / "shared"
    return main if main.is_dir() else here


SHARED = _shared_dir(ROOT)
REFERENCE_DATA = SHARED / "reference-data"


@pytest.fixture
def reference_data() -> Path:
    if not REFERENCE_DATA.is_dir():
        pytest.skip(f"shared reference data not found at {REFERENCE_DATA}")
    return REFERENCE_DATA


@pytest.fixture
def reference_datasets() -> Path:
    """``../shared/reference-data/datasets``: skipped where missing, but a failure when ``CI`` is ``"true"``."""
    path = REFERENCE_DATA / "datasets"
    if not path.is_dir():
        msg = f"shared reference data not found at {path}"
        if os.environ.get("CI") == "true":
            pytest.fail(msg + " (CI=true: reference data must be present)")
        pytest.skip(msg)
    return path
