"""Survival data and likelihood: reading and checking ``time``, ``event``, ``entry`` and covariates (as the fits
and the Kaplan-Meier estimator see them), and the log-likelihood of a distribution or a family's coefficients with
right censoring and left truncation (delayed entry), as flexsurv computes it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .distributions import SurvivalDistribution
from .families import Family

__all__ = ["log_likelihood"]


# --------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Data:
    time: np.ndarray
    event: np.ndarray
    entry: np.ndarray | None
    X: np.ndarray  # (n, p)
    names: tuple[str, ...]


def _vector(x: Any, name: str) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.Index)):
        x = x.to_numpy()
    a = np.asarray(x)
    if a.dtype == bool:
        a = a.astype(float)
    try:
        a = a.astype(float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers. Got values of type {a.dtype}.") from None
    if a.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional. Got shape {a.shape}.")
    return a


def _covariates(covariates: Any, n: int) -> tuple[np.ndarray, tuple[str, ...]]:
    if covariates is None:
        return np.zeros((n, 0)), ()
    if isinstance(covariates, pd.Series):
        names: tuple[str, ...] = (str(covariates.name) if covariates.name is not None else "x",)
        X = _vector(covariates, "covariates")[:, None]
    elif isinstance(covariates, pd.DataFrame):
        names = tuple(str(c) for c in covariates.columns)
        X = np.column_stack([_vector(covariates[c], f"covariate {c!r}") for c in covariates.columns]) if names else np.zeros((n, 0))
    elif isinstance(covariates, Mapping):
        names = tuple(str(k) for k in covariates)
        X = np.column_stack([_vector(v, f"covariate {k!r}") for k, v in covariates.items()]) if names else np.zeros((n, 0))
    else:
        a = np.asarray(covariates, dtype=float)
        if a.ndim == 1:
            X, names = a[:, None], ("x",)
        elif a.ndim == 2:
            X, names = a, tuple(f"x{j + 1}" for j in range(a.shape[1]))
        else:
            raise ValueError(f"covariates must be 1- or 2-dimensional. Got shape {a.shape}.")
    if X.shape[0] != n:
        raise ValueError(f"covariates have {X.shape[0]} rows but there are {n} survival times.")
    if not np.all(np.isfinite(X)):
        raise ValueError("covariates must be finite numbers (no missing values).")
    if len(set(names)) != len(names):
        raise ValueError(f"Covariate names must be unique. Got {list(names)}.")
    return X, names


def _read_data(time: Any, event: Any, entry: Any = None, covariates: Any = None) -> _Data:
    t = _vector(time, "time")
    n = t.size
    if n == 0:
        raise ValueError("time is empty.")
    d = _vector(event, "event")
    if d.size != n:
        raise ValueError(f"event has {d.size} values but time has {n}.")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("Survival times must be finite and >= 0.")
    if not np.all((d == 0) | (d == 1)):
        bad = sorted(set(np.unique(d[(d != 0) & (d != 1)]).tolist()))[:5]
        raise ValueError(
            f"event must be 0 (censored) or 1 (event). Got {bad}; "
            "for R-style status coded 1/2 (e.g. lung$status) pass status == 2."
        )
    if np.any((t == 0) & (d == 1)):
        raise ValueError("An event at time 0 has zero likelihood under every continuous distribution; shift or drop it.")
    if d.sum() == 0:
        raise ValueError("There are no events: nothing to fit.")
    s = None
    if entry is not None:
        s = _vector(entry, "entry")
        if s.size != n:
            raise ValueError(f"entry has {s.size} values but time has {n}.")
        if not np.all(np.isfinite(s)) or np.any(s < 0) or np.any(s >= np.where(t > 0, t, np.inf)):
            raise ValueError("Entry (left-truncation) times must be finite, >= 0 and below the exit times.")
        if not np.any(s > 0):
            s = None
    X, names = _covariates(covariates, n)
    for j, nm in enumerate(names):
        if np.ptp(X[:, j]) == 0:
            raise ValueError(f"Covariate {nm!r} is constant: its coefficient cannot be estimated.")
    return _Data(t, d, s, X, names)


# --------------------------------------------------------------------------
# likelihood
# --------------------------------------------------------------------------


def _values(fam: Family, theta: np.ndarray, X: np.ndarray) -> list[Any]:
    """Transformed parameter values from coefficients ``theta`` and covariate rows ``X``.

    ``theta`` of shape ``(k,)`` gives scalars, or arrays of shape ``(n_rows,)``
    for the location parameter(s); ``theta`` of shape ``(n_draws, k)`` gives
    arrays of shape ``(n_draws, 1)`` (``(n_draws, n_rows)`` for the location), so
    that they broadcast against a vector of times when there is one row.
    """
    nb = fam.n_parameters
    if theta.ndim == 1:
        vals: list[Any] = [theta[i] for i in range(nb)]
        if X.shape[-1]:
            lin = X @ theta[nb:]
            for i in fam.location:
                vals[i] = vals[i] + lin
        return vals
    vals = [theta[..., i, None] for i in range(nb)]
    if X.shape[-1]:
        lin = theta[..., nb:] @ X.T
        for i in fam.location:
            vals[i] = vals[i] + lin
    return vals


def _loglik_dist(dist: SurvivalDistribution, time: np.ndarray, event: np.ndarray, entry: np.ndarray | None) -> float:
    with np.errstate(all="ignore"):
        pos = time > 0
        h_t = np.where(pos, dist._cumhaz(np.where(pos, time, 1.0)), 0.0)
        ev = event == 1
        lh = np.where(ev, dist._log_hazard(np.where(pos, time, 1.0)), 0.0)
        ll = np.sum(lh) - np.sum(h_t)
        if entry is not None:
            e_pos = entry > 0
            ll += np.sum(np.where(e_pos, dist._cumhaz(np.where(e_pos, entry, 1.0)), 0.0))
    return float(ll) if np.isfinite(ll) else -np.inf


def _loglik(fam: Family, theta: np.ndarray, data: _Data) -> float:
    try:
        with np.errstate(all="ignore"):
            dist = fam.build(_values(fam, theta, data.X))
    except (ValueError, FloatingPointError, OverflowError):
        return -np.inf
    return _loglik_dist(dist, data.time, data.event, data.entry)


def log_likelihood(distribution: SurvivalDistribution, time: Any, event: Any, *, entry: Any = None) -> float:
    """Log-likelihood of right-censored (optionally left-truncated) data under a given distribution.

    Parameters
    ----------
    distribution : SurvivalDistribution
        Its parameters are scalars, or arrays with one value per observation.
    time, event : array_like
        Exit times and event indicators (1 event, 0 censored).
    entry : array_like, optional
        Entry (left-truncation) times.

    Returns
    -------
    float
        ``sum_i [d_i log h(t_i) - H(t_i) + H(s_i)]`` (flexsurv's ``loglik`` at fixed parameters).
    """
    data = _read_data(time, event, entry)
    return _loglik_dist(distribution, data.time, data.event, data.entry)
