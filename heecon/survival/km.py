"""Kaplan-Meier estimate with Greenwood's variance.

References
----------
Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations. *J Am Stat Assoc* 53:457-481.
Greenwood M (1926). The natural duration of cancer. *Reports on Public Health and Medical Subjects* 33. HMSO.
Collett D (2015). *Modelling Survival Data in Medical Research*, 3rd ed., §2.1-2.2. Chapman & Hall/CRC.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["CONF_TYPES", "kaplan_meier", "km_at"]

#: Confidence interval types, as in R's ``survfit(conf.type=)``.
CONF_TYPES = ("log", "log-log", "plain")


def kaplan_meier(
    time: Any,
    event: Any,
    *,
    entry: Any = None,
    conf_level: float = 0.95,
    conf_type: str = "log",
) -> pd.DataFrame:
    """Kaplan-Meier survival estimate with Greenwood confidence intervals.

    Parameters
    ----------
    time, event : array_like
        Exit times and event indicators (1 event, 0 censored).
    entry : array_like, optional
        Entry (left-truncation) times: a person is at risk at ``t`` when
        ``entry < t <= time``.
    conf_level : float
        Confidence level of the pointwise intervals.
    conf_type : {"log", "log-log", "plain"}
        ``"log"`` (R ``survfit``'s default): ``S exp(±z sqrt(V))``; ``"log-log"``:
        ``S^exp(±z sqrt(V)/log S)``; ``"plain"``: ``S ± z S sqrt(V)``; with Greenwood's
        ``V = sum d / (n (n - d))`` (the variance of ``log S``). Intervals are clipped to [0, 1].

    Returns
    -------
    DataFrame
        One row at time 0 and one per distinct observed time, columns ``time``,
        ``n_risk``, ``n_event``, ``n_censor``, ``survival``, ``std_err`` (Greenwood
        standard error of ``S``, ``S sqrt(V)``), ``lower``, ``upper``.
    """
    from .likelihood import _read_data  # the same validation as the fits

    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {', '.join(CONF_TYPES)}. Got {conf_type!r}.")
    if not 0 < conf_level < 1:
        raise ValueError(f"conf_level must lie in (0, 1). Got {conf_level!r}.")
    t_arr = np.asarray(time, dtype=float)
    d_arr = np.asarray(event, dtype=float)
    if d_arr.size and d_arr.sum() == 0:  # _read_data insists on events; a KM without any is still defined
        data_t, data_d, data_s = t_arr, d_arr, (None if entry is None else np.asarray(entry, dtype=float))
    else:
        data = _read_data(t_arr, d_arr, entry)
        data_t, data_d, data_s = data.time, data.event, data.entry
    times = np.unique(data_t)
    ev_count = np.array([np.sum((data_t == u) & (data_d == 1)) for u in times], dtype=float)
    cen_count = np.array([np.sum((data_t == u) & (data_d == 0)) for u in times], dtype=float)
    if data_s is None:
        n_risk = data_t.size - np.concatenate([[0.0], np.cumsum(ev_count + cen_count)[:-1]])
    else:
        n_risk = np.array([np.sum((data_s < u) & (data_t >= u)) for u in times], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = np.where(n_risk > 0, 1.0 - ev_count / n_risk, 1.0)
        surv = np.cumprod(factor)
        term = np.where(n_risk > ev_count, ev_count / (n_risk * (n_risk - ev_count)), np.where(ev_count > 0, np.inf, 0.0))
        v = np.cumsum(term)
        z = float(stats.norm.ppf(0.5 + conf_level / 2.0))
        se_log = np.sqrt(v)
        if conf_type == "log":
            lower, upper = surv * np.exp(-z * se_log), surv * np.exp(z * se_log)
        elif conf_type == "plain":
            lower, upper = surv - z * surv * se_log, surv + z * surv * se_log
        else:
            ls = np.log(surv)
            lower, upper = surv ** np.exp(-z * se_log / ls), surv ** np.exp(z * se_log / ls)
            lower = np.where(v == 0, surv, lower)
            upper = np.where(v == 0, surv, upper)
        lower = np.where(surv > 0, lower, np.nan)
        upper = np.where(surv > 0, upper, np.nan)
    lower = np.clip(lower, 0.0, 1.0)
    upper = np.clip(upper, 0.0, 1.0)
    std_err = surv * se_log
    head = times[0] > 0
    n0 = float(data_t.size if data_s is None else np.sum(data_s <= 0))
    out = pd.DataFrame({
        "time": np.concatenate([[0.0], times]) if head else times,
        "n_risk": np.concatenate([[n0], n_risk]) if head else n_risk,
        "n_event": np.concatenate([[0.0], ev_count]) if head else ev_count,
        "n_censor": np.concatenate([[0.0], cen_count]) if head else cen_count,
        "survival": np.concatenate([[1.0], surv]) if head else surv,
        "std_err": np.concatenate([[0.0], std_err]) if head else std_err,
        "lower": np.concatenate([[1.0], lower]) if head else lower,
        "upper": np.concatenate([[1.0], upper]) if head else upper,
    })
    for c in ("n_risk", "n_event", "n_censor"):
        out[c] = out[c].astype(int)
    return out


def km_at(km: pd.DataFrame, t: Any) -> np.ndarray:
    """The Kaplan-Meier step function (right-continuous) of a `kaplan_meier` table at times ``t``."""
    t = np.asarray(t, dtype=float)
    idx = np.searchsorted(km["time"].to_numpy(), t, side="right") - 1
    s = km["survival"].to_numpy()
    return np.where(idx >= 0, s[np.clip(idx, 0, None)], 1.0)
