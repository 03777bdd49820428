"""Warnings about a scenario that is valid but probably not what its author meant (``heecon validate`` and
``heecon run`` print them; nothing is refused).

* A base-case value far from its PSA distribution: the base case (and every table and headline computed from it)
  and the PSA would then describe different parameters -- the report could say one strategy is cost-effective while
  the PSA finds it cost-effective in 10% of samples. "Far" is outside the distribution's central 95% interval, the
  range a one-way DSA uses by default.
"""

from __future__ import annotations

from heecon.scenario.errors import Problem
from heecon.scenario.types import Scenario

__all__ = ["scenario_warnings"]

#: a base-case value outside this central interval of its distribution is "far from its centre"
CENTRAL = 0.95
#: the probability outside that interval on each side
_TAIL = (1.0 - CENTRAL) / 2.0


def _g(x: float) -> str:
    return f"{x:.4g}"


def scenario_warnings(scenario: Scenario) -> list[Problem]:
    """What looks wrong but is not an error: base-case values far from their PSA distributions."""
    out: list[Problem] = []
    for name, p in scenario.parameters.items():
        d, v = p.dist, p.expr.constant
        if d is None or v is None or d.is_fixed:
            continue
        q = d.cdf_light(v)  # without scipy: a value well inside the interval needs no quantiles
        if q is not None and _TAIL + 1e-9 < q < 1.0 - _TAIL - 1e-9:
            continue
        lo, hi = d.interval(CENTRAL)
        if lo <= v <= hi:
            continue
        q = float(d.cdf(v))
        tail = min(q, 1.0 - q)
        side = "below" if q < 0.5 else "above"
        share = "fewer than 0.1%" if tail < 0.001 else f"{100 * tail:.1f}%"
        key = f"{p.key}.value"
        out.append(Problem(scenario.origin(key), key,
                           f"the base-case value {_g(v)} lies outside the central {CENTRAL:.0%} interval "
                           f"[{_g(lo)}, {_g(hi)}] of its PSA distribution {d.describe()} (mean {_g(d.mean())}; "
                           f"{share} of the PSA draws lie {side} it): the base case and the PSA describe different "
                           "parameters, so the headline and the probability cost-effective may disagree. Make the "
                           "value the distribution's mean (or give a distribution centred on the value)"))
    return out
