"""heecon: health-economics simulation engine.

The entry points are imported on first use (``heecon.load_scenario`` ...), so that ``import heecon`` and the
command line start at once.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

#: public name -> the module that defines it
_API = {
    "load_scenario": "heecon.pipeline",
    "scenario_from_dict": "heecon.pipeline",
    "run": "heecon.pipeline",
    "RunResult": "heecon.pipeline",
}

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'heecon' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
