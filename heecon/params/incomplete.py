"""The regularised incomplete gamma and beta functions of one float, in pure Python (no scipy).

They serve checks made while a scenario loads (:mod:`heecon.scenario.advice`: is a base-case value inside the
central 95% of its PSA distribution?), so that loading and validating a scenario does not import scipy (about a
quarter of ``heecon validate``'s time). Results never come from them: sampling, quantiles and every figure a run
reports use scipy. Each returns ``None`` for a shape parameter above MAX_PARAMETER or where its series or continued
fraction has not converged (the caller then asks scipy); tests compare them with scipy.special (to 1e-10).

References
----------
Press WH, Teukolsky SA, Vetterling WT, Flannery BP. Numerical Recipes, 3rd ed. Cambridge University Press 2007,
sections 6.2 (incomplete gamma: series and continued fraction) and 6.4 (incomplete beta: continued fraction,
evaluated by the modified Lentz method of section 5.2).
"""

from __future__ import annotations

import math

__all__ = ["gamma_p", "beta_i"]

_EPS = 1e-15
_TINY = 1e-300
_MAX_IT = 2000
#: largest shape parameter served: beyond it the log-gamma front factor loses more than 1e-10 (scipy then)
MAX_PARAMETER = 1e4


def gamma_p(a: float, x: float) -> float | None:
    """P(a, x) = gamma(a, x) / Gamma(a), the CDF of Gamma(a, 1) at x (a > 0)."""
    if not 0 < a <= MAX_PARAMETER or math.isnan(x):
        return None
    if x <= 0:
        return 0.0
    if math.isinf(x):
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1.0:  # the series converges fast here
        term = total = 1.0 / a
        ap = a
        for _ in range(_MAX_IT):
            ap += 1.0
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                return min(1.0, total * math.exp(log_front))
        return None
    # continued fraction for Q(a, x) = 1 - P(a, x)
    b = x + 1.0 - a
    c = 1.0 / _TINY
    d = 1.0 / b
    h = d
    for i in range(1, _MAX_IT):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return max(0.0, 1.0 - math.exp(log_front) * h)
    return None


def _beta_cf(a: float, b: float, x: float) -> float | None:
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c = 1.0
    d = 1.0 - qab * x / qap
    d = _TINY if abs(d) < _TINY else d
    d = 1.0 / d
    h = d
    for m in range(1, _MAX_IT):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = _TINY if abs(d) < _TINY else d
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = _TINY if abs(d) < _TINY else d
        c = 1.0 + aa / c
        c = _TINY if abs(c) < _TINY else c
        d = 1.0 / d
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            return h
    return None


def beta_i(a: float, b: float, x: float) -> float | None:
    """I_x(a, b), the CDF of Beta(a, b) at x (a, b > 0)."""
    if not (0 < a <= MAX_PARAMETER and 0 < b <= MAX_PARAMETER) or math.isnan(x):
        return None
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1.0) / (a + b + 2.0):
        cf = _beta_cf(a, b, x)
        return None if cf is None else min(1.0, math.exp(log_front) * cf / a)
    cf = _beta_cf(b, a, 1.0 - x)
    return None if cf is None else max(0.0, 1.0 - math.exp(log_front) * cf / b)
