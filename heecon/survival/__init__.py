"""heecon.survival: parametric survival models for health-economic models.

Distributions in flexsurv's parameterisations, maximum-likelihood fits to
individual data (right-censored, optionally left-truncated, optionally with
covariates on the location parameter), model comparison, Kaplan-Meier with
Greenwood intervals, reconstruction of individual data from a published
Kaplan-Meier curve (Guyot et al. 2012), exact per-cycle transition
probabilities (also for PSA draws), and the chosen fit as scenario parameters.

>>> import numpy as np
>>> from heecon.survival import fit_survival
>>> rng = np.random.default_rng(1)
>>> t = rng.weibull(1.5, 200) * 4.0
>>> fit = fit_survival(np.minimum(t, 5.0), (t < 5.0).astype(int), "weibull")
>>> fit.coef_names
('shape', 'scale')

See ``docs/survival.md``.

This package imports nothing else from heecon.
"""

from .distributions import (
    DISTRIBUTION_NAMES,
    Exponential,
    Family,
    Gamma,
    GeneralizedGamma,
    Gompertz,
    LogLogistic,
    LogNormal,
    PiecewiseExponential,
    SurvivalDistribution,
    Weibull,
    family,
)
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

__all__ = [
    "CONF_TYPES",
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
    "SurvivalFit",
    "Weibull",
    "clean_km_coordinates",
    "compare_fits",
    "family",
    "family_name",
    "fit_all",
    "fit_survival",
    "kaplan_meier",
    "km_at",
    "log_likelihood",
    "reconstruct_ipd",
]
