"""What the loader reads for the model types beside the Markov model: survival curves, partitioned survival
models and decision trees. Kept apart from ``load.build_scenario`` so that it only calls these readers."""

from __future__ import annotations

from typing import Any, Mapping

from heecon.scenario.expr import Expr, parse
from heecon.scenario.partitioned_spec import read_partitioned
from heecon.scenario.sections import read_transitions
from heecon.scenario.survival_spec import read_survival_curves, survival_cell_reader
from heecon.scenario.tree_spec import END_STATE, end_state, read_tree

__all__ = ["is_pure_tree", "tree_settings", "add_end_state", "read_transition_section", "read_model_types"]


def is_pure_tree(raw: Mapping[str, Any]) -> bool:
    """A decision tree without ``[states]``: its cohort ends in one absorbing end state."""
    return "tree" in raw and "states" not in raw


def tree_settings(raw: Mapping[str, Any], settings_raw: dict[str, Any]) -> dict[str, Any]:
    """A pure tree needs no horizon: one cycle of an empty end state."""
    if is_pure_tree(raw) and not {"horizon_years", "horizon_cycles"} & set(settings_raw):
        return {**settings_raw, "horizon_cycles": 1}
    return settings_raw


def add_end_state(raw: Mapping[str, Any], states: dict[str, Any]) -> None:
    if is_pure_tree(raw):
        states[END_STATE] = end_state()


def read_transition_section(raw: Mapping[str, Any], rd: Any, states: Mapping[str, Any], params: Mapping[str, Any],
                            settings: Any) -> tuple[dict[str, dict[str, Expr | None]], dict[str, Any], Any]:
    """``[survival.NAME]`` curves and ``[transitions]`` (with survival cells; none for a partitioned model or a pure
    tree). Returns (transitions, curves, the survival-cell reader, for the microsimulation's event rates)."""
    curves = read_survival_curves(raw.get("survival"), rd, params)
    cells = survival_cell_reader(rd, curves, params, settings, states)
    if "partitioned" in raw or is_pure_tree(raw):
        if "transitions" in raw:
            rd.col.add("transitions", "a partitioned survival model takes its occupancy from [partitioned]'s curves; "
                                      "remove [transitions]" if "partitioned" in raw else
                                      "a tree without [states] has no transitions; remove [transitions]")
        return {}, curves, cells
    return read_transitions(raw.get("transitions"), rd, states, cells), curves, cells


def read_model_types(raw: Mapping[str, Any], rd: Any, states: Mapping[str, Any], curves: Mapping[str, Any],
                     strategies: Mapping[str, Any], params: Mapping[str, Any], settings: Any, sectors: Any,
                     start_states: dict[str, Expr]) -> tuple[Any, Any, dict[str, Expr]]:
    """``[partitioned]`` and ``[tree]``: (partitioned, tree, the start states), problems into ``rd.col``."""
    col = rd.col
    start = raw.get("start")
    if isinstance(start, dict) and "states" in start and ("partitioned" in raw or "tree" in raw):
        col.add("start.states", "the cohort starts where the " + ("curves put it (all in the first state)"
                if "partitioned" in raw else "tree's terminal nodes send it") + "; remove start.states")
    partitioned = tree = None
    if "partitioned" in raw:
        partitioned = read_partitioned(raw["partitioned"], rd, states, curves, strategies, params, settings)
        if partitioned is not None:
            start_states = {partitioned.states[0]: parse(1.0)}
    if "tree" in raw:
        if "partitioned" in raw:
            col.add("tree", "a scenario is a decision tree or a partitioned survival model, not both")
        else:
            tree = read_tree(raw["tree"], rd, states, strategies, tuple(sectors), params, is_pure_tree(raw))
    return partitioned, tree, start_states
