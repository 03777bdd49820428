"""A cost-benefit view in the manner of HM Treasury's Green Book: every strategy against the comparator, with QALYs
valued in money, as net present social value (NPSV) and benefit-cost ratio (BCR).

For strategy ``s`` against the comparator, with incremental costs ``dc_x`` in each sector ``x`` of the view's
perspective and incremental QALYs ``dq`` (discounted at the view's health rate, the ``qalys_cba`` column):

* present value of benefits ``B = sum_x max(-dc_x, 0) + max(v * dq, 0)`` (savings and health gained, at ``v`` per
  QALY);
* present value of costs ``C = sum_x max(dc_x, 0) + max(-v * dq, 0)`` (spending and health lost);
* ``NPSV = B - C`` (equal to ``v * dq - sum_x dc_x``) and ``BCR = B / C``.

With a PSA, the same per sample gives NPSV's mean and 95% interval and the probability that NPSV > 0.

References
----------
HM Treasury. The Green Book: appraisal and evaluation in central government. 2022 (and 2026), chapters on
valuation, discounting (3.5% for costs, 1.5% for health effects) and the value of a QALY.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["cba_table", "npsv_bcr"]

_CBA_QALYS = "qalys_cba"  # heecon.model.markov.CBA_QALYS (the column the compiler adds for a [cba] view)


def npsv_bcr(dc_by_sector: np.ndarray, dq: np.ndarray, value: float) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                                                             np.ndarray]:
    """Benefits, costs, NPSV and BCR from incremental sector costs ``[..., sectors]`` and QALYs ``[...]``."""
    health = value * np.asarray(dq, dtype=float)
    dc = np.asarray(dc_by_sector, dtype=float)
    benefits = np.clip(-dc, 0, None).sum(axis=-1) + np.clip(health, 0, None)
    costs = np.clip(dc, 0, None).sum(axis=-1) + np.clip(-health, 0, None)
    npsv = benefits - costs
    with np.errstate(divide="ignore", invalid="ignore"):
        bcr = np.where(costs > 0, benefits / np.where(costs > 0, costs, 1.0), np.inf)
    return benefits, costs, npsv, bcr


def _value_per_qaly(scenario: Any, name: str) -> float:
    p = scenario.parameters[name]
    if p.expr.constant is None:
        raise ValueError(f"cba.value_per_qaly names '{name}', which must be a number (with its price year)")
    return float(p.expr.constant) * scenario.price_factor(name)


def cba_table(scenario: Any, base: Any, psa: Any = None) -> pd.DataFrame:
    """One row per strategy against the comparator: PV benefits and costs, NPSV, BCR (and the PSA's interval of
    NPSV and P(NPSV > 0)), per person, in the scenario's price year."""
    spec = scenario.analyses.cba
    value = _value_per_qaly(scenario, spec.value_per_qaly)
    secs = list(scenario.perspectives[spec.perspective])
    comp = scenario.settings.comparator
    o = base.outcomes
    rows = []
    for s in scenario.strategies:
        if s == comp:
            continue
        dc = np.array([o.loc[s, x] - o.loc[comp, x] for x in secs])
        dq = float(o.loc[s, _CBA_QALYS] - o.loc[comp, _CBA_QALYS])
        b, c, npsv, bcr = (float(v) for v in npsv_bcr(dc, np.array(dq), value))
        row: dict[str, Any] = {"strategy": s, "comparator": comp, "perspective": spec.perspective,
                               "value_per_qaly": value, "inc_qalys": dq, "monetised_qalys": value * dq,
                               "pv_benefits": b, "pv_costs": c, "npsv": npsv,
                               "bcr": bcr if math.isfinite(bcr) else None}
        if psa is not None:
            names = list(psa.reward_names)
            j, jc = list(psa.strategies).index(s), list(psa.strategies).index(comp)
            idx = [names.index(x) for x in secs]
            iq = names.index(_CBA_QALYS)
            dcs = psa.totals[:, j, idx, 0] - psa.totals[:, jc, idx, 0]
            dqs = psa.totals[:, j, iq, 0] - psa.totals[:, jc, iq, 0]
            _, _, n_s, _ = npsv_bcr(dcs, dqs, value)
            lo, hi = np.percentile(n_s, [2.5, 97.5])
            row.update({"npsv_psa_mean": float(n_s.mean()), "npsv_lower": float(lo), "npsv_upper": float(hi),
                        "prob_npsv_positive": float((n_s > 0).mean())})
        rows.append(row)
    return pd.DataFrame(rows)
