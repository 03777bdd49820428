"""Per-cycle transition probabilities from a fitted survival curve.

For cycle ``k`` (0-based) covering ``[t_k, t_k+1)``, ``t_k = offset + k * cycle_length``,

    p_k = 1 - exp(-(H(t_k+1) - H(t_k))) = 1 - S(t_k+1) / S(t_k),

the exact probability of the event in the cycle given survival to its start:
no rate is assumed constant within a cycle and no rate-to-probability
approximation is involved (computed as ``-expm1(-dH)``, accurate for small
probabilities).

The same numbers serve two clocks:

* time since model start: ``p[k]`` is the probability in model cycle ``k + 1``
  (``offset`` is the curve's time at model start, e.g. the trial follow-up
  already elapsed);
* time since entry to a state: ``p[j]`` is the probability in the ``(j + 1)``-th
  cycle spent in the state, to index tunnel states or a time-in-state counter.

References
----------
Latimer N (2011, updated 2013). NICE DSU Technical Support Document 14, §3-4. NICE Decision Support Unit.
Briggs A, Claxton K, Sculpher M (2006). *Decision Modelling for Health Economic Evaluation*, §3.3-3.4. OUP.
Jackson CH (2016). flexsurv: a platform for parametric survival modeling in R. *J Stat Softw* 70(8):1-33.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .distributions import SurvivalDistribution
from .fit import SurvivalFit

__all__ = [
    "cycle_times",
    "probabilities_from_cumhaz",
    "psa_transition_probabilities",
    "transition_probabilities",
    "transition_probabilities_from_coefficients",
]


def cycle_times(cycle_length: float, n_cycles: int, *, offset: float = 0.0, units_per_year: float = 1.0) -> np.ndarray:
    """The ``n_cycles + 1`` cycle boundaries ``offset + k * cycle_length`` in the curve's time unit.

    Parameters
    ----------
    cycle_length : float
        Cycle length in years (> 0).
    n_cycles : int
        Number of cycles (>= 1).
    offset : float
        Years on the curve's clock at the start of the first cycle (>= 0).
    units_per_year : float
        The curve's time units per year: 1 for a curve fitted in years, 365.25 for
        days, 12 for months.
    """
    if not (isinstance(cycle_length, (int, float, np.floating, np.integer)) and np.isfinite(cycle_length) and cycle_length > 0):
        raise ValueError(f"cycle_length must be a positive number of years. Got {cycle_length!r}.")
    if isinstance(n_cycles, bool) or not isinstance(n_cycles, (int, np.integer)) or n_cycles < 1:
        raise ValueError(f"n_cycles must be a positive integer. Got {n_cycles!r}.")
    if not (np.isfinite(offset) and offset >= 0):
        raise ValueError(f"offset must be a finite number of years >= 0. Got {offset!r}.")
    if not (np.isfinite(units_per_year) and units_per_year > 0):
        raise ValueError(f"units_per_year must be > 0. Got {units_per_year!r}.")
    return (float(offset) + np.arange(int(n_cycles) + 1) * float(cycle_length)) * float(units_per_year)


def probabilities_from_cumhaz(cumhaz: Any) -> np.ndarray:
    """``1 - exp(-(H[..., k+1] - H[..., k]))`` along the last axis.

    Where ``S`` has already reached 0 (``H = inf``) the probability is 1.
    """
    h = np.asarray(cumhaz, dtype=float)
    with np.errstate(invalid="ignore"):
        dh = np.diff(h, axis=-1)
        p = -np.expm1(-dh)
    p = np.where(np.isinf(h[..., :-1]), 1.0, p)
    return np.clip(p, 0.0, 1.0)


def _distribution(curve: SurvivalDistribution | SurvivalFit, x: Any) -> SurvivalDistribution:
    if isinstance(curve, SurvivalFit):
        return curve.distribution(x)
    if isinstance(curve, SurvivalDistribution):
        if x is not None:
            raise ValueError("x (covariate values) applies to a SurvivalFit, not to a distribution with set parameters.")
        return curve
    raise TypeError(f"Expected a SurvivalFit or a SurvivalDistribution; got {type(curve).__name__}.")


def transition_probabilities(
    curve: SurvivalDistribution | SurvivalFit,
    cycle_length: float,
    n_cycles: int,
    *,
    offset: float = 0.0,
    x: Any = None,
    units_per_year: float = 1.0,
) -> np.ndarray:
    """Per-cycle event probabilities from cumulative-hazard differences.

    Parameters
    ----------
    curve : SurvivalFit or SurvivalDistribution
        The fitted curve (for a fit, at covariate values ``x``).
    cycle_length : float
        Cycle length in years.
    n_cycles : int
        Number of cycles.
    offset : float
        Years on the curve's clock at the start of the first cycle: 0 for time
        since model start from the curve's origin, and for time since entry to a
        state (a tunnel index).
    x : mapping or sequence, optional
        Covariate values of a fit (default: all 0, the reference group).
    units_per_year : float
        The curve's time units per year (365.25 for a fit in days).

    Returns
    -------
    ndarray
        Shape ``(n_cycles,)``, or the parameters' shape followed by ``n_cycles``
        for a distribution with array parameters. ``p[k]`` is the probability of
        the event in cycle ``k + 1`` given no event before it.

    Examples
    --------
    >>> from heecon.survival import Exponential, transition_probabilities
    >>> transition_probabilities(Exponential(0.1), 1.0, 3)
    array([0.09516258, 0.09516258, 0.09516258])
    """
    dist = _distribution(curve, x)
    t = cycle_times(cycle_length, n_cycles, offset=offset, units_per_year=units_per_year)
    return probabilities_from_cumhaz(np.asarray(dist.cumhaz(t)))


def transition_probabilities_from_coefficients(
    fit: SurvivalFit,
    coefficients: Any,
    cycle_length: float,
    n_cycles: int,
    *,
    offset: float = 0.0,
    x: Any = None,
    units_per_year: float = 1.0,
) -> np.ndarray:
    """Per-cycle probabilities for each row of coefficient draws.

    For PSA draws made elsewhere (e.g. heecon's ``mvnormal`` joint of the
    scenario fragment that `fit_to_toml` writes, or bootstrap refits).

    Parameters
    ----------
    fit : SurvivalFit
        Gives the family, the coefficient order and the covariates.
    coefficients : array_like, shape ``(n_samples, k)``
        Coefficients on flexsurv's transformed scale, in ``fit.coef_names`` order.
    cycle_length, n_cycles, offset, x, units_per_year
        As for `transition_probabilities`.

    Returns
    -------
    ndarray, shape ``(n_samples, n_cycles)``
    """
    c = np.asarray(coefficients, dtype=float)
    if c.ndim != 2:
        raise ValueError(f"coefficients must have shape (n_samples, {fit.coef.size}); got {c.shape}.")
    dist = fit.distribution_from_coefficients(c, x)
    t = cycle_times(cycle_length, n_cycles, offset=offset, units_per_year=units_per_year)
    h = np.asarray(dist.cumhaz(t))
    return probabilities_from_cumhaz(h.reshape(c.shape[0], t.size))


def psa_transition_probabilities(
    fit: SurvivalFit,
    rng: np.random.Generator,
    n_samples: int,
    cycle_length: float,
    n_cycles: int,
    *,
    offset: float = 0.0,
    x: Any = None,
    units_per_year: float = 1.0,
) -> np.ndarray:
    """Per-cycle probabilities for PSA draws of the coefficients.

    The coefficients are drawn from their asymptotic multivariate normal
    (``fit.coef``, ``fit.cov``) with `SurvivalFit.sample_coefficients`, on
    flexsurv's transformed scale (so positive parameters stay positive).

    Parameters
    ----------
    fit : SurvivalFit
    rng : numpy.random.Generator
        The caller's generator (e.g. a heecon PSA stream).
    n_samples : int
    cycle_length, n_cycles, offset, x, units_per_year
        As for `transition_probabilities`.

    Returns
    -------
    ndarray, shape ``(n_samples, n_cycles)``

    References
    ----------
    Briggs A, Claxton K, Sculpher M (2006). *Decision Modelling for Health Economic Evaluation*, §4.4 (correlated
    parameters by Cholesky decomposition). OUP.
    """
    draws = fit.sample_coefficients(rng, n_samples)
    return transition_probabilities_from_coefficients(
        fit, draws, cycle_length, n_cycles, offset=offset, x=x, units_per_year=units_per_year
    )
