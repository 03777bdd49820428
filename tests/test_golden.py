"""Golden outputs (tests/golden/golden.py): the numbers of a fixed set of runs are bit for bit as recorded."""

from __future__ import annotations

import json

from tests.golden.golden import DIGESTS, compute


def test_golden_outputs_are_bit_identical(tmp_path):
    recorded = json.loads(DIGESTS.read_text())
    now = compute(tmp_path, recorded)
    diffs = []
    for run, files in recorded.items():
        for name, want in files.items():
            got = now.get(run, {}).get(name)
            if isinstance(want, dict):
                if got is None or got.get("missing") or got.get("sha256") != want["sha256"]:
                    diffs.append(f"{run}/{name}" + (f" (missing columns {got['missing']})" if got and got.get("missing")
                                                    else ""))
            elif got != want:
                diffs.append(f"{run}/{name}")
    assert not diffs, "golden outputs changed: " + ", ".join(diffs)
