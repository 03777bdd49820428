"""heecon: health-economics simulation engine.

The entry points (docs/api.md):

* ``load_scenario``, ``scenario_from_dict``: a scenario read and checked;
* ``run`` (-> ``RunResult``): what ``heecon run`` does (base case, PSA, results folder);
* ``run_psa``, ``one_way``, ``two_way``, ``threshold``, ``evppi``, ``sobol``, ``morris``, ``calibrate``: the
  analyses, each on a scenario (or its path), results with ``.to_frame()``;
* ``analyse_psa``: CEAC, CEAF, EVPI and the incremental table of PSA draws (arrays or DataFrames), as ``heecon cea``;
* ``save_analysis``, ``build_report``: an analysis into a results folder; the folder's HTML report.

They are imported on first use, so that ``import heecon`` and the command line start at once.
"""

from __future__ import annotations

from typing import Any

from heecon import _cpu_pin

_cpu_pin.pin()  # before anything imports NumPy: the same numbers on every x86-64 machine (heecon/_cpu_pin.py)

__version__ = "0.1.0"

#: public name -> the module that defines it
_API = {
    "load_scenario": "heecon.pipeline",
    "scenario_from_dict": "heecon.pipeline",
    "run": "heecon.pipeline",
    "RunResult": "heecon.pipeline",
    **{name: "heecon.api" for name in ("run_psa", "one_way", "two_way", "threshold", "evppi", "sobol", "morris",
                                       "analyse_psa", "calibrate", "build_report", "save_analysis")},
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'heecon' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
