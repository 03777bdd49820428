"""The base-case check of a loaded scenario: the cohort compilation and, for a microsimulation, its events'
arrays, with every numeric check on (what ``heecon validate`` and :func:`heecon.load_scenario` run)."""

from __future__ import annotations

from heecon.model.markov import CompiledModel, compile_model
from heecon.model.microsim import compile_microsim
from heecon.scenario.types import Scenario

__all__ = ["check_scenario"]


def check_scenario(scenario: Scenario) -> CompiledModel:
    """Compile the base case with every numeric check on (raises :class:`ScenarioError`): every parameter, probability,
    row sum, cost, utility and QALY change at every cycle; for a microsimulation also the events' rates, costs and
    moves, covariates, strategy rate ratios and treatment engagement, so that ``heecon validate`` refuses everything
    a run would."""
    model = compile_model(scenario, None, validate=True)
    if scenario.settings.engine == "microsim" and scenario.microsim is not None:
        compile_microsim(scenario, None, validate=True, model=model)
    return model
