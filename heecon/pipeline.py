"""One run of a scenario, as ``heecon run`` does it: the entry points the CLI, the Python API and the notebook share.

``load_scenario`` reads a scenario and checks it completely (structure, then every number of the base case);
``run`` computes the base case, the PSA and the writers' files and writes the results folder atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

__all__ = ["load_scenario", "scenario_from_dict"]


def load_scenario(path: str | Path, overrides: Iterable[str] = (), *, check: bool = True) -> Any:
    """Load, merge (``extends``), override (``--set``) and validate a scenario.

    Parameters
    ----------
    path
        The scenario TOML file.
    overrides
        ``key.path=value`` strings applied after ``extends`` (values in TOML syntax).
    check
        Also compile the base case and check every probability, row sum and cost at every cycle (default). All
        problems are reported together.

    Raises
    ------
    heecon.scenario.errors.ScenarioError
        Listing every problem found.
    """
    from heecon.scenario.load import load_scenario as load

    scenario = load(path, overrides)
    if check:
        from heecon.model.markov import check_scenario

        check_scenario(scenario)
    return scenario


def scenario_from_dict(raw: dict[str, Any], path: str | Path = "<scenario>", *, check: bool = True) -> Any:
    """Validate a scenario given as a Python dict (as parsed from TOML)."""
    from heecon.scenario.load import scenario_from_dict as build

    scenario = build(raw, path)
    if check:
        from heecon.model.markov import check_scenario

        check_scenario(scenario)
    return scenario
