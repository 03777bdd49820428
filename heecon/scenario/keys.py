"""The keys each section of a scenario file accepts, and the names it reserves."""

from __future__ import annotations

import keyword
import re


from heecon.scenario.expr import BUILTIN_FUNCTIONS, KNOWN_FUNCTION_NAMES, TIME_NAMES, _CYCLE_FUNCTIONS_HELP

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: words of the expression language's syntax (Python's keywords: ``if``, ``lambda``, ``and``, ``True``, ...)
KEYWORDS = frozenset(keyword.kwlist)
RESERVED = frozenset(TIME_NAMES) | {"tunnel_cycle", "C"} | KNOWN_FUNCTION_NAMES | KEYWORDS
_TIME_HELP = {"cycle": "the cycle number", "time": "years since the model's start", "age": "the age at each cycle"}


def name_problem(name: object, what: str = "parameter") -> str | None:
    """Why ``name`` cannot name a ``what`` that expressions refer to (None when it can).

    Refused: names that are not letters, digits and ``_`` starting with a letter; keywords of the expression
    language (an expression using one would not parse); its functions (``min``, ``rate_to_prob``, ...); model time
    (``cycle``, ``time``, ``age``) and ``tunnel_cycle``; ``C`` (the complement of a row of transitions).
    """
    if not isinstance(name, str) or not NAME_RE.match(name):
        return f"{name!r} cannot be a {what} name: use letters, digits and _, starting with a letter"
    if name in KEYWORDS:
        return (f"'{name}' cannot be a {what} name: it is a keyword of the expression language (expressions are "
                f"written in Python syntax, where '{name}' is part of the grammar), so no expression could use it. "
                f"Choose another name, e.g. '{name}_'")
    if name in BUILTIN_FUNCTIONS or name in _CYCLE_FUNCTIONS_HELP:
        doc = BUILTIN_FUNCTIONS[name][3] if name in BUILTIN_FUNCTIONS else _CYCLE_FUNCTIONS_HELP[name][2]
        return (f"'{name}' cannot be a {what} name: it is a function of the expression language ({doc}). "
                f"Choose another name, e.g. '{name}_value'")
    if name in TIME_NAMES or name == "tunnel_cycle":
        meaning = _TIME_HELP.get(name, "the position in a tunnel state")
        return f"'{name}' cannot be a {what} name: it is model time in expressions ({meaning})"
    if name == "C":
        return f"'C' cannot be a {what} name: it means the complement of a row of transitions"
    return None

TOP_KEYS = {
    "title": "a short title",
    "payers": "who pays for each sector: [payers] NAME = [sectors] (default: NHS/PSS, Justice, Victims, Other)",
    "labels": "display names: [labels] SECTOR_OR_PERSPECTIVE = \"name people read\"",
    "description": "a longer description",
    "extends": "the scenario this one modifies (a path relative to this file), or [extends] with file, replace, merge",
    "format": "the scenario format version (1)",
    "settings": "model settings",
    "parameters": "named inputs",
    "tables": "lookup tables by age or cycle",
    "states": "health/model states",
    "transitions": "transition probabilities by from-state",
    "transition_rewards": "one-off costs and QALY changes on moves",
    "start": "starting distribution and one-off costs at model start",
    "strategies": "the strategies compared",
    "perspectives": "named sets of cost sectors",
    "price_index": "a published price index to bring costs to settings.price_year",
    "price_indices": "further named price indices ([price_indices.NAME]) that parameters choose with price_index",
    "joints": "joint PSA distributions over groups of parameters (dirichlet, mvnormal, copula)",
    "population": "microsimulation population",
    "covariates": "microsimulation covariates on transitions and events",
    "time_in_state": "microsimulation rate multipliers by time in state",
    "events": "microsimulation events",
    "calibration": "calibration targets",
    "budget_impact": "budget impact settings",
    "evppi": "EVPPI by parameter group in the default run (groups, population)",
    "dsa": "one-way deterministic sensitivity in the default run (parameters, perspectives, wtp)",
    "thresholds": "break-even values in the default run ([[thresholds]]: parameter, measure, perspectives)",
    "subgroups": "subgroups analysed in the default run ([subgroups.NAME]: label, set or file)",
    "scenario_analysis": "variants and structural alternatives in the default run ([scenario_analysis.NAME])",
    "cba": "a Green Book cost-benefit view (value_per_qaly, discount_effects, perspective)",
    "measures": "quantities the headline reports per person ([[measures]]: label, events, weights, scale, unit)",
    "report": "what the report says about the study around the model (objective, population, ... : CHEERS 2022)",
    "survival": "named parametric survival curves ([survival.NAME]) for transitions, event rates and partitioned models",
    "partitioned": "a partitioned survival model: ordered states and the survival curves that partition them",
    "tree": "a decision tree: decision, chance and terminal nodes (optionally handing the cohort to the states)",
}
SETTINGS_KEYS = {
    "engine", "cycle_length_months", "horizon_years", "horizon_cycles", "start_age", "counting", "discounting",
    "discount_costs", "discount_effects", "discount_offset", "cohort_size", "wtp", "comparator", "currency", "price_year", "sectors", "perspective",
    "seed", "psa_samples", "individuals", "population_size", "evpi_years", "wtp_grid", "averted_events",
    "averted_label", "device", "trajectories", "report",
}
PARAM_KEYS = {"value", "source", "distribution", "range", "unit", "price_year", "price_index", "label", "assumption", "notes"}
STATE_KEYS = {"label", "utility", "costs", "absorbing", "dead", "tunnel", "tunnel_exit", "description"}
TABLE_KEYS = {"file", "key", "value", "keys", "values", "kind", "interpolation", "extrapolation", "multiplier", "source"}
TR_KEYS = {"from", "to", "costs", "qalys", "strategies", "label", "source"}
START_KEYS = {"states", "costs", "qalys"}
STRATEGY_KEYS = {"label", "description", "parameters", "modifiers", "costs", "utilities", "start", "event_modifiers",
                 "engagement"}
STRATEGY_START_KEYS = {"costs", "qalys"}
MODIFIER_KEYS = {"transitions", "transition", "rr", "hr", "value", "cycles", "label"}
EXTRA_COST_KEYS = {"states", "costs", "cycles", "label"}
