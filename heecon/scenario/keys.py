"""The keys each section of a scenario file accepts, and the names it reserves."""

from __future__ import annotations

import re


from heecon.scenario.expr import KNOWN_FUNCTION_NAMES, TIME_NAMES

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
RESERVED = frozenset(TIME_NAMES) | {"tunnel_cycle", "C"} | KNOWN_FUNCTION_NAMES

TOP_KEYS = {
    "title": "a short title",
    "description": "a longer description",
    "extends": "the scenario this one modifies (a path relative to this file)",
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
    "engagement": "microsimulation treatment engagement",
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
    "gsa": "global sensitivity settings",
}
SETTINGS_KEYS = {
    "engine", "cycle_length_months", "horizon_years", "horizon_cycles", "start_age", "counting", "discounting",
    "discount_costs", "discount_effects", "wtp", "comparator", "currency", "price_year", "sectors", "perspective",
    "seed", "psa_samples", "individuals", "population_size", "evpi_years", "wtp_grid", "averted_events",
    "averted_label", "device", "trajectories", "report",
}
PARAM_KEYS = {"value", "source", "distribution", "range", "unit", "price_year", "price_index", "label", "assumption", "notes"}
STATE_KEYS = {"label", "utility", "costs", "absorbing", "dead", "tunnel", "tunnel_exit", "description"}
TABLE_KEYS = {"file", "key", "value", "keys", "values", "kind", "interpolation", "multiplier", "source", "by"}
TR_KEYS = {"from", "to", "costs", "qalys", "strategies", "label", "source"}
START_KEYS = {"states", "costs", "qalys"}
STRATEGY_KEYS = {"label", "description", "parameters", "modifiers", "costs", "utilities", "event_modifiers", "engagement"}
MODIFIER_KEYS = {"transitions", "transition", "rr", "hr", "value", "cycles", "label"}
EXTRA_COST_KEYS = {"states", "costs", "cycles", "label"}
