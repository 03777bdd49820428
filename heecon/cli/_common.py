"""What every command shares: loading a scenario or exiting, the one error path, the shared options, tables."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path
from typing import Annotated, Any, Iterator, Optional

import typer

__all__ = ["DEFAULT_SCENARIO", "fail", "user_errors", "load_or_exit", "resolve_scenario", "SetOpt", "JsonOpt",
           "print_table", "num", "records", "print_warnings"]

DEFAULT_SCENARIO = Path("scenarios/mbt_aspd_vs_pau.toml")

SetOpt = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a scenario value: key.path=value (TOML syntax), e.g. "
                               "settings.horizon_years=20. Repeatable."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print the results as JSON instead of tables.")]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` on stderr and return the exit to raise (``raise fail(...) from None``).

    A message that lists problems (lines starting "  - ") keeps its lines; any other is folded onto one line.
    """
    text = str(message).rstrip()
    if "\n  - " not in text:
        text = " ".join(text.split())
    typer.echo(text, err=True)
    return typer.Exit(code=code)


def _user_error_types() -> tuple[type[BaseException], ...]:
    """Library errors whose message is meant for the user as it is (anything else is a bug: a traceback)."""
    from heecon.engine.microsim.evaluate import DeviceError
    from heecon.execution import RUN_ERRORS
    from heecon.model.sizes import MemoryLimitError
    from heecon.execution.files import OutputError
    from heecon.params import DistributionError
    from heecon.scenario.errors import ScenarioError
    from heecon.sensitivity.dsa import DSAError
    from heecon.sensitivity.designs import DesignError
    from heecon.sensitivity.evppi import EVPPIError
    from heecon.sensitivity.evsi import EVSIError
    from heecon.sensitivity.gsa import GSAError
    from heecon.cea.portfolio import PortfolioError

    return (ScenarioError, DSAError, EVPPIError, EVSIError, DesignError, GSAError, DistributionError, DeviceError, MemoryLimitError, OutputError,
            PortfolioError, *RUN_ERRORS)


@contextlib.contextmanager
def user_errors(what: str) -> Iterator[None]:
    """Turn the library's user-facing errors into a message and exit 2; ``what`` says what could not be done."""
    from heecon.scenario.errors import ScenarioError

    try:
        yield
    except ScenarioError as exc:
        raise fail(exc.format()) from None
    except _user_error_types() as exc:
        raise fail(f"{what}: {exc}") from None


def resolve_scenario(scenario: Optional[Path]) -> Path:
    """The scenario file given, or the flagship when none is (run from the repository root)."""
    if scenario is None:
        if not DEFAULT_SCENARIO.is_file():
            raise fail(f"No scenario given and the default scenario {DEFAULT_SCENARIO} was not found here. "
                       "Run `heecon run PATH/TO/scenario.toml` (or run from the heecon repository root).")
        return DEFAULT_SCENARIO
    if not scenario.is_file():
        raise fail(f"Invalid scenario {scenario}:\n  - file not found")
    return scenario


def load_or_exit(scenario: Optional[Path], overrides: list[str] | None = None) -> Any:
    """Load and check a scenario (:func:`heecon.load_scenario`), or print its problems and exit 2."""
    from heecon.model.sizes import MemoryLimitError
    from heecon.pipeline import load_scenario
    from heecon.scenario.errors import ScenarioError

    path = resolve_scenario(scenario)
    try:
        return load_scenario(path, list(overrides or []))
    except ScenarioError as exc:
        raise fail(exc.format()) from None
    except MemoryLimitError as exc:  # compiling the base case to check it would not fit
        raise fail(f"Cannot check {path}: {exc}") from None


def print_warnings(scenario: Any) -> int:
    """Print the scenario's warnings (valid, but probably not meant) on stderr; return how many."""
    from heecon.scenario.advice import scenario_warnings

    warnings = scenario_warnings(scenario)
    if warnings:
        typer.echo(f"Warnings for {scenario.path}:", err=True)
        for w in warnings:
            typer.echo(f"  - {w}", err=True)
    return len(warnings)


def num(x: Any, digits: int = 4) -> str:
    """A number for a table cell."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(v):
        return "-"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:,.2f}"


def print_table(title: str, frame: Any, columns: list[str], *, left: tuple[str, ...] = (), cells: Any = None,
                width: int | None = None) -> None:
    """A rich table of ``frame[columns]`` (text left, numbers right; ``cells`` formats a row's values)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    lefts = set(left) | {"group", "parameter", "parameters", "members", "method", "target", "statistic", "strategy"}
    t = Table(title=title, box=box.SIMPLE, collapse_padding=True, pad_edge=False)
    for c in columns:
        t.add_column(c, justify="left" if c in lefts else "right")
    for row in frame[columns].itertuples(index=False):
        t.add_row(*(cells(row) if cells else [v if isinstance(v, str) else num(v) for v in row]))
    Console(width=width).print(t)


def records(frame: Any) -> list[dict[str, Any]]:
    """JSON records of a frame (non-finite numbers as null)."""
    out = []
    for rec in frame.to_dict(orient="records"):
        out.append({k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in rec.items()})
    return out
