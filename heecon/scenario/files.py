"""Reading scenario files: TOML, ``extends`` chains (with the file each key came from) and ``--set`` overrides."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any, Iterable, Mapping


from heecon.scenario.errors import Collector, Problem
from heecon.scenario.reader import existing_file

# --------------------------------------------------------------------------- TOML reading, extends, --set

def _read_toml(path: Path, col: Collector) -> dict[str, Any] | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        col.add("", f"file not found: {path}")
        return None
    except OSError as exc:
        col.add("", f"cannot read {path}: {exc}")
        return None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        col.add("", "the file is not UTF-8 text")
    except ValueError as exc:  # TOMLDecodeError, and tomllib's ValueError for an integer of over 4300 digits
        col.add("", f"not valid TOML: {exc}")
    return None


# Tables that are one definition: a child file replaces them whole instead of merging key by key (a parameter
# redefined with a table, any distribution), so that e.g. a fixed value never inherits the parent's lognormal keys.
_WHOLE = re.compile(r"^(parameters\.[^.]+|.*\.distribution)$")


def _merge(base: dict[str, Any], over: Mapping[str, Any], origins: dict[str, str], file: str, prefix: str = "") -> None:
    for k, v in over.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping) and isinstance(base.get(k), dict) and not _WHOLE.match(key):
            _merge(base[k], v, origins, file, key + ".")
        else:
            base[k] = copy.deepcopy(v)
            _mark(origins, key, v, file)


def _mark(origins: dict[str, str], key: str, v: Any, file: str) -> None:
    origins[key] = file
    if isinstance(v, Mapping):
        for k2, v2 in v.items():
            _mark(origins, f"{key}.{k2}", v2, file)


def load_chain(path: Path, seen: tuple[Path, ...], problems: list[Problem]) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    col = Collector(path)
    raw = _read_toml(path, col)
    if raw is None:
        problems.extend(col.problems)
        return {}, {}, [str(path)]
    files = [str(path)]
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    parent = raw.get("extends")
    if parent is not None:
        if not isinstance(parent, str) or not parent:
            col.add("extends", f"must be a path to another scenario file (a string), got {parent!r}")
        else:
            found = existing_file(path.parent, parent)
            ppath = found or path.parent / parent
            if ppath in seen or ppath == path.resolve():
                chain = " -> ".join(str(p) for p in (*seen, path.resolve(), ppath))
                col.add("extends", f"scenario files extend each other in a cycle: {chain}")
            elif found is None:
                col.add("extends", f"the file {parent!r} does not exist (looked for {ppath})")
            else:
                merged, origins, pfiles = load_chain(ppath, (*seen, path.resolve()), problems)
                files = pfiles + files
    problems.extend(col.problems)
    body = {k: v for k, v in raw.items() if k != "extends"}
    _merge(merged, body, origins, str(path))
    return merged, origins, files


def parse_set_value(text: str) -> Any:
    """A ``--set`` value: TOML syntax where it parses (numbers, booleans, lists), else a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except ValueError:  # TOMLDecodeError (or an integer of over 4300 digits): not a TOML value
        return text


def apply_overrides(raw: dict[str, Any], overrides: Iterable[str], origins: dict[str, str], problems: list[Problem]) -> None:
    for item in overrides:
        if "=" not in item:
            problems.append(Problem("--set", item, "must look like key.path=value, e.g. settings.horizon_years=20"))
            continue
        key, value = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        if not all(parts):
            problems.append(Problem("--set", key, "is not a valid key path"))
            continue
        node = raw
        ok = True
        for p in parts[:-1]:
            nxt = node.get(p)
            if nxt is None:
                nxt = node[p] = {}
            if not isinstance(nxt, dict):
                problems.append(Problem("--set", key, f"'{p}' is a value, not a table, so it has no keys"))
                ok = False
                break
            node = nxt
        if ok:
            node[parts[-1]] = parse_set_value(value.strip())
            origins[key] = "--set"
