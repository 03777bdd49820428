"""Small valid scenarios (as dicts and TOML text) for tests to mutate.

``base_scenario()`` returns a fresh three-state model (Healthy, Sick, Dead)
with two strategies that loads and validates cleanly. Tests change one thing
with ``set_in`` / ``delete_in`` and write it with ``write_scenario``.
``to_toml`` is a minimal TOML writer (the standard library only reads TOML):
top-level tables become ``[sections]``, everything below is written inline.
"""

from __future__ import annotations

import copy
import math
import re
from pathlib import Path
from typing import Any

__all__ = ["base_scenario", "to_toml", "write_scenario", "set_in", "delete_in", "toml_value"]

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

_BASE: dict[str, Any] = {
    "title": "Tiny three-state test model",
    "settings": {
        "cycle_length_months": 12,
        "horizon_years": 10,
        "start_age": 40,
        "discount_costs": 0.035,
        "discount_effects": 0.035,
        "comparator": "soc",
        "counting": "half-cycle",
    },
    "parameters": {
        "p_HS": {"value": 0.1, "source": "assumption"},
        "p_HD": 0.01,
        "p_SD": "p_HD * 5",
        "c_H": 100,
        "c_S": 1000,
        "u_S": 0.7,
        "rr_trt": {"value": 0.8, "source": "assumption"},
        "c_trt": 500,
    },
    "states": {
        "H": {"label": "Healthy", "utility": 1.0, "costs": {"nhs": "c_H"}},
        "S": {"label": "Sick", "utility": "u_S", "costs": {"nhs": "c_S"}},
        "D": {"label": "Dead", "dead": True},
    },
    "transitions": {
        "H": {"H": "C", "S": "p_HS", "D": "p_HD"},
        "S": {"S": "C", "D": "p_SD"},
    },
    "strategies": {
        "soc": {"label": "Standard care"},
        "trt": {
            "label": "Treatment",
            "modifiers": [{"transitions": ["H -> S"], "rr": "rr_trt"}],
            "costs": [{"states": ["H", "S"], "costs": {"nhs": "c_trt"}}],
        },
    },
}


def base_scenario() -> dict[str, Any]:
    """A fresh copy of the valid base scenario."""
    return copy.deepcopy(_BASE)


def _key(k: str) -> str:
    if _BARE_KEY.match(k):
        return k
    return '"' + k.replace("\\", "\\\\").replace('"', '\\"') + '"'


def toml_value(v: Any) -> str:
    """One value in TOML syntax (dicts as inline tables)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        out = []
        for ch in v:
            if ch in '"\\':
                out.append("\\" + ch)
            elif ord(ch) < 0x20 or ord(ch) == 0x7F:
                out.append(f"\\u{ord(ch):04x}")
            else:
                out.append(ch)
        return '"' + "".join(out) + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(str(k))} = {toml_value(x)}" for k, x in v.items()) + " }" if v else "{}"
    raise TypeError(f"cannot write {type(v).__name__} as TOML")


def to_toml(data: dict[str, Any]) -> str:
    """TOML text for a scenario dict: plain top-level values first, then one [section] per table."""
    lines: list[str] = []
    for k, v in data.items():
        if not isinstance(v, dict):
            lines.append(f"{_key(k)} = {toml_value(v)}")
    for k, v in data.items():
        if isinstance(v, dict):
            lines.append("")
            lines.append(f"[{_key(k)}]")
            for k2, v2 in v.items():
                lines.append(f"{_key(str(k2))} = {toml_value(v2)}")
    return "\n".join(lines) + "\n"


def write_scenario(directory: Path, data: dict[str, Any] | str, name: str = "scenario.toml") -> Path:
    """Write a scenario (dict or TOML text) into ``directory`` and return its path."""
    path = Path(directory) / name
    path.write_text(data if isinstance(data, str) else to_toml(data), encoding="utf-8")
    return path


def _walk(data: dict[str, Any], path: str) -> tuple[Any, str]:
    parts = path.split(".")
    node: Any = data
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node.setdefault(p, {})
    return node, parts[-1]


def set_in(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set ``a.b.c`` (list items by index, e.g. ``strategies.trt.modifiers.0.rr``); returns ``data``."""
    node, last = _walk(data, path)
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


def delete_in(data: dict[str, Any], path: str) -> dict[str, Any]:
    """Remove ``a.b.c``; returns ``data``."""
    node, last = _walk(data, path)
    if isinstance(node, list):
        del node[int(last)]
    else:
        del node[last]
    return data
