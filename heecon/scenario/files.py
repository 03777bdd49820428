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

#: The last files parsed: path -> (their bytes, the parsed table). A file read again with the same bytes (the
#: default run loads the scenario once per variant, ~35 times) is copied from here instead of parsed again
#: (tomllib: 12 ms for the flagship's 60 kB, the copy 1 ms); any change to the file's bytes parses it again.
_PARSED: dict[str, tuple[bytes, dict[str, Any]]] = {}
_PARSED_MAX = 16


def _read_toml(path: Path, col: Collector) -> dict[str, Any] | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        col.add("", f"file not found: {path}")
        return None
    except OSError as exc:
        col.add("", f"cannot read {path}: {exc}")
        return None
    key = str(path)
    hit = _PARSED.get(key)
    if hit is not None and hit[0] == data:
        return copy.deepcopy(hit[1])
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        col.add("", "the file is not UTF-8 text")
        return None
    except ValueError as exc:  # TOMLDecodeError, and tomllib's ValueError for an integer of over 4300 digits
        col.add("", f"not valid TOML: {exc}")
        return None
    if len(_PARSED) >= _PARSED_MAX:
        _PARSED.pop(next(iter(_PARSED)))
    _PARSED[key] = (data, copy.deepcopy(raw))
    return raw


# Tables that are one definition: a child file replaces them whole instead of merging key by key (a parameter
# redefined with a table, any distribution), so that e.g. a fixed value never inherits the parent's lognormal keys.
_WHOLE = re.compile(r"^(parameters\.[^.]+|.*\.distribution)$")


def _merge(base: dict[str, Any], over: Mapping[str, Any], origins: dict[str, str], file: str, prefix: str = "",
           replace: frozenset[str] = frozenset(), merge: frozenset[str] = frozenset()) -> None:
    """Merge ``over`` (a child file) into ``base`` (its parent, merged): tables key by key, except the tables that are
    one definition (:data:`_WHOLE`) and those the child lists in ``extends.replace``, which it gives whole; a table in
    ``extends.merge`` is merged key by key even where it would be replaced whole."""
    for k, v in over.items():
        key = f"{prefix}{k}"
        whole = (_WHOLE.match(key) is not None or key in replace) and key not in merge
        if isinstance(v, Mapping) and isinstance(base.get(k), dict) and not whole:
            _merge(base[k], v, origins, file, key + ".", replace, merge)
        else:
            for stale in [o for o in origins if o.startswith(key + ".")]:
                del origins[stale]  # keys of the parent's table that this file replaced
            base[k] = copy.deepcopy(v)
            _mark(origins, key, v, file)


def _mark(origins: dict[str, str], key: str, v: Any, file: str) -> None:
    origins[key] = file
    if isinstance(v, Mapping):
        for k2, v2 in v.items():
            _mark(origins, f"{key}.{k2}", v2, file)


EXTENDS_KEYS = {"file": "the scenario this one modifies (a path relative to this file)",
                "replace": "tables this file gives whole (the parent's keys under them are dropped)",
                "merge": "tables merged key by key although they are replaced whole by default (a parameter's table, "
                         "a distribution)"}


def _extends_spec(raw: Mapping[str, Any], col: Collector) -> tuple[Any, frozenset[str], frozenset[str]]:
    """``extends = "base.toml"`` or ``[extends]`` with ``file``, ``replace`` and ``merge``: the parent's path as
    written and the key paths to replace and to merge (problems into ``col``)."""
    ext = raw.get("extends")
    if not isinstance(ext, Mapping):
        return ext, frozenset(), frozenset()
    from heecon.scenario.errors import did_you_mean, valid_list

    for k in ext:
        if k not in EXTENDS_KEYS:
            col.add(f"extends.{k}", f"unknown key in [extends].{did_you_mean(str(k), EXTENDS_KEYS)} "
                                    f"Valid keys: {valid_list(EXTENDS_KEYS)}.")
    lists: dict[str, frozenset[str]] = {}
    for which in ("replace", "merge"):
        v = ext.get(which, [])
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            col.add(f"extends.{which}", f"must be a list of table key paths, e.g. [\"strategies.mbt.parameters\"]; "
                                        f"got {v!r}")
            v = []
        for i, x in enumerate(v):
            if x in v[:i]:
                col.add(f"extends.{which}[{i}]", f"lists '{x}' twice; give each once")
        lists[which] = frozenset(v)
    for x in sorted(lists["replace"] & lists["merge"]):
        col.add("extends", f"'{x}' is listed in both replace and merge; a table is either replaced whole or merged")
    if "file" not in ext:
        col.add("extends.file", "is missing: the scenario file this one modifies, e.g. file = \"base.toml\"")
    return ext.get("file"), lists["replace"], lists["merge"]


def _table_at(raw: Mapping[str, Any], key: str) -> Any:
    node: Any = raw
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _check_extends_paths(body: Mapping[str, Any], parent: Mapping[str, Any], replace: frozenset[str],
                         merge: frozenset[str], col: Collector) -> None:
    """Every table named in ``extends.replace`` / ``extends.merge`` is a table in this file and in its parent."""
    for which, paths in (("replace", replace), ("merge", merge)):
        for x in sorted(paths):
            if not isinstance(_table_at(body, x), Mapping):
                col.add(f"extends.{which}", f"names '{x}', which this file does not give as a table: list the tables "
                                            f"this file {'replaces whole' if which == 'replace' else 'merges'}")
            elif not isinstance(_table_at(parent, x), Mapping):
                col.add(f"extends.{which}", f"names '{x}', but the parent has no table there, so there is nothing to "
                                            f"{which}; remove it from the list")


def load_chain(path: Path, seen: tuple[Path, ...], problems: list[Problem],
               parent_out: dict[str, Any] | None = None) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """A scenario file merged over the chain of files it ``extends``: (raw, origin of every key path, files).

    ``parent_out``, when given, receives the merged parent (``raw``) and its file (``file``) before this file is
    merged over it (what ``heecon validate`` compares a variant with).
    """
    col = Collector(path)
    raw = _read_toml(path, col)
    if raw is None:
        problems.extend(col.problems)
        return {}, {}, [str(path)]
    files = [str(path)]
    merged: dict[str, Any] = {}
    origins: dict[str, str] = {}
    parent, replace, merge = _extends_spec(raw, col)
    if "extends" in raw:
        key = "extends.file" if isinstance(raw.get("extends"), Mapping) else "extends"
        if parent is None and key == "extends.file":
            pass  # reported: [extends] without file
        elif not isinstance(parent, str) or not parent:
            col.add(key, f"must be a path to another scenario file (a string), got {parent!r}")
        else:
            found = existing_file(path.parent, parent)
            ppath = found or path.parent / parent
            if ppath in seen or ppath == path.resolve():
                chain = " -> ".join(str(p) for p in (*seen, path.resolve(), ppath))
                col.add(key, f"scenario files extend each other in a cycle: {chain}")
            elif found is None:
                col.add(key, f"the file {parent!r} does not exist (looked for {ppath})")
            else:
                merged, origins, pfiles = load_chain(ppath, (*seen, path.resolve()), problems)
                files = pfiles + files
                if parent_out is not None:
                    parent_out.update(raw=copy.deepcopy(merged), file=str(ppath))
    body = {k: v for k, v in raw.items() if k != "extends"}
    if merged:
        _check_extends_paths(body, merged, replace, merge, col)
    problems.extend(col.problems)
    _merge(merged, body, origins, str(path), "", replace, merge)
    return merged, origins, files


# --------------------------------------------------------------------------- what a variant changes


def _flat(x: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf key paths of a TOML value (tables recursed into; arrays and values are leaves)."""
    if isinstance(x, Mapping) and x:
        out: dict[str, Any] = {}
        for k, v in x.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: x}


def toml_text(v: Any, limit: int = 80) -> str:
    """A value as TOML would write it (inline), cut to ``limit`` characters."""
    if isinstance(v, bool):
        text = "true" if v else "false"
    elif isinstance(v, str):
        text = '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    elif isinstance(v, Mapping):
        text = "{ " + ", ".join(f"{k} = {toml_text(x, limit)}" for k, x in v.items()) + " }" if v else "{}"
    elif isinstance(v, list):
        text = "[" + ", ".join(toml_text(x, limit) for x in v) + "]"
    else:
        text = repr(v) if isinstance(v, float) else str(v)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def variant_changes(path: str | Path, overrides: Iterable[str] = ()) -> tuple[str | None, list[str]]:
    """What a scenario that ``extends`` another changes relative to it, one line per key path: ``key: old -> new``,
    ``+ key = value`` (added), ``- key (was value)`` (dropped by a table the child replaces whole); then each
    ``--set`` override. Returns (the parent file, lines); (None, []) for a scenario that extends nothing."""
    path = Path(path)
    problems: list[Problem] = []
    parent: dict[str, Any] = {}
    raw, origins, _ = load_chain(path, (), problems, parent)
    if problems or "file" not in parent:
        return None, []
    before, after = _flat(parent["raw"]), _flat(raw)
    lines = []
    for k in after:
        if k not in before:
            lines.append(f"+ {k} = {toml_text(after[k])}")
        elif before[k] != after[k]:
            lines.append(f"{k}: {toml_text(before[k])} -> {toml_text(after[k])}")
    lines += [f"- {k} (was {toml_text(v)}; removed by a table this file replaces)" for k, v in before.items()
              if k not in after]
    for item in overrides:
        key, sep, value = item.partition("=")
        if sep:
            lines.append(f"--set {key.strip()} = {value.strip()}")
    return parent["file"], lines


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
