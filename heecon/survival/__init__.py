"""heecon.survival: parametric survival models for health-economic models.

Distributions in flexsurv's parameterisations, maximum-likelihood fits to
individual data (right-censored, optionally left-truncated, optionally with
covariates on the location parameter), model comparison, Kaplan-Meier with
Greenwood intervals, reconstruction of individual data from a published
Kaplan-Meier curve (Guyot et al. 2012), exact per-cycle transition
probabilities (also for PSA draws), and the chosen fit as scenario parameters.

>>> import numpy as np
>>> from heecon.survival import fit_survival, transition_probabilities
>>> rng = np.random.default_rng(1)
>>> t = rng.weibull(1.5, 200) * 4.0
>>> fit = fit_survival(np.minimum(t, 5.0), (t < 5.0).astype(int), "weibull")
>>> transition_probabilities(fit, cycle_length=1.0, n_cycles=3).shape
(3,)

See ``docs/survival.md``.

This package imports nothing else from heecon.
"""

from .curves import CURVE_COLUMNS, survival_curves
from .distributions import (
    Exponential,
    Gamma,
    GeneralizedGamma,
    Gompertz,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    SurvivalDistribution,
    Weibull,
)
from .families import DISTRIBUTION_NAMES, Family, family
from .analysis import SurvivalAnalysis, analyse_survival
from .export import fit_to_toml, parameter_names, survival_section
from .fit import (
    DEFAULT_COMPARISON,
    SurvivalFit,
    compare_fits,
    family_name,
    fit_all,
    fit_survival,
    log_likelihood,
)
from .ipd import clean_km_coordinates, reconstruct_ipd
from .km import CONF_TYPES, kaplan_meier, km_at
from .probabilities import (
    cycle_times,
    probabilities_from_cumhaz,
    psa_transition_probabilities,
    transition_probabilities,
    transition_probabilities_from_coefficients,
)

__all__ = [
    "CONF_TYPES",
    "CURVE_COLUMNS",
    "DEFAULT_COMPARISON",
    "DISTRIBUTION_NAMES",
    "Exponential",
    "Family",
    "Gamma",
    "GeneralizedGamma",
    "Gompertz",
    "LogLogistic",
    "LogNormal",
    "PiecewiseExponential",
    "SurvivalDistribution",
    "SurvivalAnalysis",
    "SurvivalFit",
    "Weibull",
    "analyse_survival",
    "clean_km_coordinates",
    "compare_fits",
    "cycle_times",
    "family",
    "family_name",
    "fit_all",
    "fit_survival",
    "fit_to_toml",
    "kaplan_meier",
    "km_at",
    "log_likelihood",
    "parameter_names",
    "probabilities_from_cumhaz",
    "psa_transition_probabilities",
    "reconstruct_ipd",
    "survival_curves",
    "survival_section",
    "transition_probabilities",
    "transition_probabilities_from_coefficients",
]
