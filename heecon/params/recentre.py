"""A distribution moved to a new mean with its spread kept: what ``--set parameters.X.value=...`` does to a parameter
with a PSA distribution, so that the base case and the PSA describe the same parameter.

The new distribution has the same family, mean = the new value and the same standard deviation (the parameter's
standard error), by the method of moments where the family has one (normal, lognormal, beta, gamma, uniform); a
triangular distribution is shifted (its mode and both ends move by the same amount), a truncated normal keeps its
bounds and its SD before truncation and moves its centre until its (truncated) mean is the new value; a fixed
distribution takes the new value. A distribution that cannot be moved so -- draws read from a file, or a family
in which that mean and SD do not exist (a beta with mean 0.99 and SE 0.2) -- is refused with what to do instead.

References
----------
Briggs A, Claxton K, Sculpher M. Decision Modelling for Health Economic Evaluation. OUP 2006, section 4.3 (method
of moments).
"""

from __future__ import annotations

from heecon.params.distributions import Distribution, DistributionError, Fixed, Triangular, TruncNormal
from heecon.params.empirical import Empirical
from heecon.params.parse import parse_distribution

__all__ = ["recentre"]


def _g(x: float) -> str:
    return f"{x:.6g}"


def recentre(dist: Distribution, value: float, where: str) -> Distribution:
    """``dist`` moved so that its mean is ``value``, its standard deviation kept (see the module's notes).

    Raises
    ------
    DistributionError
        For draws from a file, or when the family has no member with that mean and SD; the message says what to
        give instead.
    """
    value = float(value)
    if isinstance(dist, Fixed) or dist.is_fixed:
        return Fixed(value, where=where)
    if isinstance(dist, Empirical):
        raise DistributionError(where, "its PSA draws are read from a file, which cannot be moved to a new value; "
                                       f"give the distribution too (--set '{where} = {{...}}'), or "
                                       "change the draws")
    sd = dist.std()
    if isinstance(dist, Triangular):
        d = value - dist.mean()
        return Triangular(dist.lower + d, dist.mode + d, dist.upper + d, where=where)
    if isinstance(dist, TruncNormal):
        return _truncnormal(dist, value, where)
    spec = {"type": dist.type, "mean": value, "sd": sd}
    try:
        return parse_distribution(spec, where=where)
    except DistributionError as exc:
        raise DistributionError(where, f"moving its {dist.describe()} to mean {_g(value)} with the same SE "
                                       f"({_g(sd)}) is impossible: {exc.message}; give the distribution too "
                                       f"(--set '{where} = {{...}}')") from None


def _truncnormal(dist: TruncNormal, value: float, where: str) -> TruncNormal:
    from scipy.optimize import brentq

    if not dist.lower < value < dist.upper:
        raise DistributionError(where, f"the new value {_g(value)} lies outside the bounds of its "
                                       f"{dist.describe()}; give the distribution too")

    def gap(mu: float) -> float:
        return TruncNormal(mu, dist.sd, dist.lower, dist.upper).mean() - value

    lo, hi = value - dist.sd, value + dist.sd
    for _ in range(60):
        try:
            if gap(lo) < 0 < gap(hi):
                break
        except DistributionError:
            pass
        lo, hi = lo - (hi - lo), hi + (hi - lo)
    try:
        mu = brentq(gap, lo, hi, xtol=1e-12 * max(1.0, abs(value)))
        return TruncNormal(mu, dist.sd, dist.lower, dist.upper, where=where)
    except (ValueError, DistributionError):
        raise DistributionError(where, f"its {dist.describe()} cannot be moved to mean {_g(value)}; give the "
                                       "distribution too") from None

