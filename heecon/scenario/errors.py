"""Validation problems found in a scenario, reported together."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where (file and TOML key path) and what."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.key}: {self.message}" if self.key else self.message


class ScenarioError(ValueError):
    """A scenario failed validation. ``problems`` lists everything found."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        files = sorted({p.file for p in self.problems})
        head = f"Invalid scenario {', '.join(files)}:" if files else "Invalid scenario:"
        super().__init__("\n".join([head] + [f"  - {p}" for p in self.problems]))

    def format(self) -> str:
        return str(self)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """' Did you mean 'x'?' for the closest option, or ''."""
    match = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" Did you mean '{match[0]}'?" if match else ""


def valid_list(options: Iterable[str], limit: int = 25) -> str:
    opts = sorted(options)
    shown = ", ".join(f"'{o}'" for o in opts[:limit])
    return shown + (f", ... ({len(opts)} in all)" if len(opts) > limit else "")


class Collector:
    """Accumulates problems for one file so that all are reported at once."""

    def __init__(self, file: str | Path):
        self.file = str(file)
        self.problems: list[Problem] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append(Problem(self.file, key, message))

    def unknown(self, key: str, name: str, options: Iterable[str], what: str) -> None:
        opts = list(options)
        self.add(key, f"unknown {what} '{name}'.{did_you_mean(name, opts)} Valid: {valid_list(opts)}.")

    def raise_if_any(self) -> None:
        if self.problems:
            raise ScenarioError(self.problems)

    def __bool__(self) -> bool:
        return bool(self.problems)
