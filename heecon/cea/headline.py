"""The headline a commissioner reads first: per perspective, incremental costs and QALYs, ICER, net benefit and
probability cost-effective at each WTP, and events averted with the cost per event averted."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["finite_or_none", "headline"]


def finite_or_none(x: Any) -> float | None:
    """``x`` as a float, or None when it is not a finite number (for JSON and tables)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def headline(result: Any, psa: Any = None) -> dict[str, Any]:
    """Headline numbers for every strategy against the comparator, per perspective (per person, discounted)."""
    sc = result.scenario
    st = sc.settings
    o = result.outcomes
    comp = st.comparator
    events = [e for e in st.averted_events if f"events:{e}" in o.columns]
    out: dict[str, Any] = {"comparator": comp, "wtp": list(st.wtp), "averted_label": st.averted_label,
                           "averted_events": events, "perspectives": {}}
    for p in sc.perspectives:
        col = f"costs[{p}]"
        per: dict[str, Any] = {}
        for s in sc.strategies:
            if s == comp:
                continue
            dc = o.loc[s, col] - o.loc[comp, col]
            dq = o.loc[s, "qalys"] - o.loc[comp, "qalys"]
            entry: dict[str, Any] = {
                "strategy": s, "inc_costs": finite_or_none(dc), "inc_qalys": finite_or_none(dq),
                "icer": finite_or_none(dc / dq) if dq != 0 else None,
                "dominance": ("dominant" if dc <= 0 and dq >= 0 and (dc < 0 or dq > 0) else
                              "dominated" if dc >= 0 and dq <= 0 and (dc > 0 or dq < 0) else None),
                "inc_nmb": {str(int(w)): finite_or_none(w * dq - dc) for w in st.wtp},
            }
            if psa is not None:
                cea = psa.cea_by_perspective[p]
                j = list(sc.strategies).index(s)
                import numpy as np

                grid = np.asarray(cea.wtp)
                entry["prob_cost_effective"] = {str(int(w)): finite_or_none(cea.ceac[int(np.argmin(np.abs(grid - w))), j])
                                                for w in st.wtp}
            if events:
                averted = sum(o.loc[comp, f"events:{e}"] - o.loc[s, f"events:{e}"] for e in events)
                entry["averted_per_person"] = finite_or_none(averted)
                entry["averted_per_100"] = finite_or_none(100 * averted)
                entry["cost_per_averted"] = finite_or_none(dc / averted) if averted > 0 else None
            per[s] = entry
        out["perspectives"][p] = per if len(per) > 1 else next(iter(per.values()), {})
    return out
