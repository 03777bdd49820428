"""Run every benchmark script (quick mode in CI) and print each one's JSON figures.

Speed never fails the build: a benchmark that errors is reported and the others still run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    figures = {}
    for script in sorted(HERE.glob("bench_*.py")):
        cmd = [sys.executable, str(script)] + (["--quick"] if args.quick else [])
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        took = time.perf_counter() - t0
        print(f"== {script.name} ({took:.0f} s, exit {proc.returncode})")
        print(proc.stdout.rstrip())
        if proc.returncode != 0:
            print(proc.stderr[-3000:])
            continue
        last = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "{}"
        try:
            figures[script.stem] = json.loads(last)
        except json.JSONDecodeError:
            figures[script.stem] = {"error": "last line is not JSON"}
    print("== all benchmark figures")
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
