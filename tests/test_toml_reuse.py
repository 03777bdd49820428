"""A scenario file read again with the same bytes is copied from the last parse, not parsed again
(heecon/scenario/files.py _read_toml)."""

from __future__ import annotations

import tomllib

from heecon.scenario import files
from heecon.scenario.errors import Collector


def _counting(monkeypatch):
    calls = []
    real = tomllib.loads

    def loads(text, *a, **k):
        calls.append(1)
        return real(text, *a, **k)

    monkeypatch.setattr(files.tomllib, "loads", loads)
    return calls


def test_same_bytes_parsed_once_and_copied_out(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    f = tmp_path / "s.toml"
    f.write_text('[settings]\nname = "a"\n[parameters.p]\nvalue = 1.5\n')
    a = files._read_toml(f, Collector(f))
    a["parameters"]["p"]["value"] = 99.0  # a caller's change to its copy
    b = files._read_toml(f, Collector(f))
    assert len(calls) == 1
    assert b == {"settings": {"name": "a"}, "parameters": {"p": {"value": 1.5}}}
    b["settings"]["name"] = "changed"
    assert files._read_toml(f, Collector(f))["settings"]["name"] == "a"


def test_changed_bytes_parse_again(tmp_path, monkeypatch):
    calls = _counting(monkeypatch)
    f = tmp_path / "s.toml"
    f.write_text("x = 1\n")
    assert files._read_toml(f, Collector(f)) == {"x": 1}
    f.write_text("x = 2\n")
    assert files._read_toml(f, Collector(f)) == {"x": 2}
    assert len(calls) == 2


def test_invalid_toml_still_reported_each_time(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("x = = 1\n")
    for _ in range(2):
        col = Collector(f)
        assert files._read_toml(f, col) is None
        assert any("not valid TOML" in p.message for p in col.problems)
