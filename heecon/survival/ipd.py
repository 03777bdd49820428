"""Individual patient data reconstructed from a published Kaplan-Meier curve (Guyot et al. 2012).

Given digitised coordinates of a Kaplan-Meier curve and the numbers at risk
printed under it, the algorithm finds the numbers of events and censorings
between consecutive coordinates that reproduce both: within each at-risk
interval the censorings are spread evenly in time, their number adjusted until
the implied number at risk at the start of the next interval matches the
published one; in the last interval the censoring rate is that of the earlier
intervals, adjusted to the total number of events when it is known.

This is a line-by-line translation of the authors' R code (Guyot et al. 2012,
additional file 1), 0-based. Two additions, both for input the R code would
reject: the coordinates are sorted, cleaned to a non-increasing step function
starting at (0, 1); and a coordinate is added at each at-risk time, with the
value of the curve there (optional but the default; without it an at-risk
interval with no coordinate in it, typically numbers at risk printed beyond the
last drop of the curve, still needs one at its start). The number
of events at a coordinate is kept within [0, number at risk] (the R code can
give a negative number where rounding lets the curve exceed its estimate).

References
----------
Guyot P, Ades AE, Ouwens MJNM, Welton NJ (2012). Enhanced secondary analysis of survival data:
reconstructing the data from published Kaplan-Meier survival curves. *BMC Med Res Methodol* 12:9.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["clean_km_coordinates", "reconstruct_ipd"]

_MAX_ITER = 10_000


def _rround(x: float) -> int:
    """R's ``round`` (IEC 60559: halves to even), as an int."""
    return int(np.round(x))


def _hist_counts(x: np.ndarray, breaks: np.ndarray) -> np.ndarray:
    """``hist(x, breaks, plot=FALSE)$counts`` of R: bins ``(b_j, b_j+1]``, the first closed on the left."""
    m = breaks.size - 1
    if m <= 0:
        return np.zeros(0, dtype=int)
    idx = np.clip(np.searchsorted(breaks, x, side="left") - 1, 0, m - 1)
    return np.bincount(idx, minlength=m)[:m]


def clean_km_coordinates(time: Any, survival: Any) -> tuple[np.ndarray, np.ndarray]:
    """Sort digitised Kaplan-Meier coordinates and make them a valid survival step function.

    Points are sorted by time (and by decreasing survival at equal times),
    survival is made non-increasing (a running minimum: digitising noise never
    makes a KM curve rise), and ``(0, 1)`` is added when the curve does not start
    there.

    Returns
    -------
    time, survival : ndarray
    """
    t = np.asarray(time, dtype=float).reshape(-1)
    s = np.asarray(survival, dtype=float).reshape(-1)
    if t.size != s.size:
        raise ValueError(f"The Kaplan-Meier coordinates have {t.size} times but {s.size} survival values.")
    keep = np.isfinite(t) & np.isfinite(s)
    t, s = t[keep], s[keep]
    if t.size == 0:
        raise ValueError("No finite Kaplan-Meier coordinates.")
    if np.any(t < 0):
        raise ValueError("Kaplan-Meier coordinate times must be >= 0.")
    if np.max(s) > 1.0 + 1e-6:
        raise ValueError(f"Survival must be a proportion in [0, 1] (got a maximum of {np.max(s):g}); "
                         "divide percentages by 100.")
    s = np.clip(s, 0.0, 1.0)
    order = np.lexsort((-s, t))
    t, s = t[order], s[order]
    s = np.minimum.accumulate(s)
    if t[0] > 0 or s[0] < 1.0:
        t, s = np.concatenate([[0.0], t]), np.concatenate([[1.0], s])
    return t, s


def _flat_point(t_s: np.ndarray, s: np.ndarray, at: float) -> tuple[np.ndarray, np.ndarray]:
    """Insert the coordinate ``(at, S(at))`` of the step function (after any point at the same time)."""
    j = int(np.searchsorted(t_s, at, side="right") - 1)
    return np.insert(t_s, j + 1, at), np.insert(s, j + 1, s[j])


def _intervals(t_s: np.ndarray, s: np.ndarray, t_risk: np.ndarray,
               every_risk_time: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``lower``/``upper`` coordinate indices per at-risk interval, adding flat points at risk times.

    With ``every_risk_time`` a point is added at every risk time that is not a
    coordinate already; otherwise only where an interval has no coordinate.
    """
    if every_risk_time:
        for tr in t_risk[1:]:
            if not np.any(t_s == tr):
                t_s, s = _flat_point(t_s, s, float(tr))
    for _ in range(t_risk.size + 1):
        lower = np.searchsorted(t_s, t_risk, side="left")
        upper = np.concatenate([lower[1:] - 1, [t_s.size - 1]])
        empty = np.flatnonzero((lower > upper) | (lower >= t_s.size))
        if empty.size == 0:
            return t_s, s, lower, upper
        t_s, s = _flat_point(t_s, s, float(t_risk[int(empty[0])]))
    raise AssertionError("unreachable")  # pragma: no cover


def reconstruct_ipd(
    km_time: Any,
    km_survival: Any,
    risk_time: Any,
    n_risk: Any,
    *,
    total_events: int | None = None,
    end_time: float | None = None,
    risk_time_points: bool = True,
) -> pd.DataFrame:
    """Reconstruct individual patient data from a digitised Kaplan-Meier curve.

    Parameters
    ----------
    km_time, km_survival : array_like
        Digitised coordinates of the curve (survival as a proportion); ideally one
        point at the bottom of each drop. Cleaned with `clean_km_coordinates`.
    risk_time, n_risk : array_like
        The times at which numbers at risk are published (the first must be 0)
        and those numbers.
    total_events : int, optional
        The total number of events, when reported: the censoring in the last
        at-risk interval is then adjusted until the events add up to it.
    end_time : float, optional
        The end of follow-up, when known and later than the last coordinate: the
        curve is taken to stay flat until then, so censorings of the last
        interval are spread until ``end_time``.
    risk_time_points : bool
        Add a coordinate at every at-risk time that is not one already, with the
        value of the curve (the step function) there. Each interval's censorings
        then stay inside the interval, so the reconstructed numbers at risk match
        the published ones; without these points Guyot's algorithm spreads them up
        to the first coordinate of the next interval, and may put some after the
        next at-risk time. With ``False`` points are added only to intervals with
        no coordinate at all, as the original algorithm requires.

    Returns
    -------
    DataFrame
        Columns ``time`` and ``event`` (1 event, 0 censored), one row per patient
        (``n_risk[0]`` rows), sorted by time. Events sit at the coordinate times,
        censorings midway between coordinates; patients left at the end are
        censored at the last coordinate.

    Warns
    -----
    UserWarning
        When the adjustment of censoring to the numbers at risk or to the total
        events does not settle (inconsistent inputs), or the reconstructed numbers
        do not add up to ``n_risk[0]``.

    References
    ----------
    Guyot P, Ades AE, Ouwens MJNM, Welton NJ (2012). Enhanced secondary analysis of survival data:
    reconstructing the data from published Kaplan-Meier survival curves. *BMC Med Res Methodol* 12:9.
    """
    t_s, s, t_risk, n_risk_in = _check_inputs(km_time, km_survival, risk_time, n_risk, total_events, end_time)
    g = _Guyot(*_intervals(t_s, s, t_risk, risk_time_points), t_risk, n_risk_in)
    g.inner_intervals()
    g.last_interval()
    if total_events is not None:
        g.match_total(float(total_events))
    if g.unsettled:
        warnings.warn("Guyot reconstruction: the censoring adjustment did not settle for " + ", ".join(g.unsettled)
                      + "; check the coordinates and numbers at risk for consistency.", stacklevel=2)
    return g.ipd(int(n_risk_in[0]))


def _check_inputs(km_time: Any, km_survival: Any, risk_time: Any, n_risk: Any, total_events: int | None,
                  end_time: float | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The cleaned coordinates (extended flat to ``end_time``), the at-risk times and numbers, checked."""
    t_s, s = clean_km_coordinates(km_time, km_survival)
    t_risk = np.asarray(risk_time, dtype=float).reshape(-1)
    n_risk_in = np.asarray(n_risk, dtype=float).reshape(-1)
    if t_risk.size == 0 or t_risk.size != n_risk_in.size:
        raise ValueError(f"risk_time and n_risk must have the same, non-zero length; got {t_risk.size} and {n_risk_in.size}.")
    if t_risk[0] != 0:
        raise ValueError(f"The first number at risk must be at time 0 (the number randomised); got time {t_risk[0]:g}.")
    if np.any(np.diff(t_risk) <= 0):
        raise ValueError("risk_time must be strictly increasing.")
    if np.any(n_risk_in < 0) or np.any(n_risk_in != np.round(n_risk_in)) or n_risk_in[0] < 1:
        raise ValueError("Numbers at risk must be whole numbers >= 0, the first >= 1.")
    if np.any(np.diff(n_risk_in) > 0):
        raise ValueError("Numbers at risk cannot increase over time.")
    if total_events is not None and (int(total_events) != total_events or total_events < 0):
        raise ValueError(f"total_events must be a whole number >= 0; got {total_events!r}.")
    if end_time is not None:
        if not end_time >= t_s[-1]:
            raise ValueError(f"end_time ({end_time:g}) must not precede the last coordinate ({t_s[-1]:g}).")
        if end_time > t_s[-1]:
            t_s, s = np.concatenate([t_s, [float(end_time)]]), np.concatenate([s, [s[-1]]])
    return t_s, s, t_risk, n_risk_in


class _Guyot:
    """The state of Guyot's algorithm (the R code's variables, same names where they have one): per coordinate the
    estimated numbers at risk ``n_hat``, events ``d``, censorings ``cen`` and the KM estimate ``km_hat``; per at-risk
    interval the censorings ``n_censor`` and the last coordinate with an event before it (``last_i``)."""

    def __init__(self, t_s: np.ndarray, s: np.ndarray, lower: np.ndarray, upper: np.ndarray, t_risk: np.ndarray,
                 n_risk_in: np.ndarray) -> None:
        self.t_s, self.s, self.lower, self.upper, self.t_risk = t_s, s, lower, upper, t_risk
        self.nrisk = n_risk_in.copy()
        self.n_int = self.nrisk.size
        self.n_t = int(upper[-1]) + 1
        self.n_censor = np.zeros(self.n_int)
        self.n_hat = np.full(self.n_t + 1, self.nrisk[0] + 1)
        self.cen = np.zeros(self.n_t)
        self.d = np.zeros(self.n_t)
        self.km_hat = np.ones(self.n_t)
        self.last_i = np.zeros(self.n_int, dtype=int)
        self.unsettled: list[str] = []

    def spread(self, i: int, n: float, hi_index: int) -> np.ndarray:
        """``n`` censorings spread evenly over interval ``i`` up to coordinate ``hi_index``, counted per coordinate."""
        t_s, lo = self.t_s, self.lower[i]
        n = int(n)
        cen_t = t_s[lo] + np.arange(1, n + 1) * (t_s[hi_index] - t_s[lo]) / (n + 1)
        return _hist_counts(cen_t, t_s[lo:hi_index + 1])

    def step(self, k: int, last: int) -> None:
        """Events at coordinate ``k`` from the drop of the curve since ``last``, and the KM estimate there."""
        n_hat, d, km_hat = self.n_hat, self.d, self.km_hat
        if n_hat[k] > 0:
            ratio = self.s[k] / km_hat[last] if km_hat[last] != 0 else 1.0
            # clamped to [0, n_hat]: R would give negative events where rounding lets S exceed the estimate
            d[k] = min(max(_rround(n_hat[k] * (1.0 - ratio)), 0), n_hat[k])
            km_hat[k] = km_hat[last] * (1.0 - d[k] / n_hat[k])
        else:
            d[k] = 0
            km_hat[k] = km_hat[last]

    def inner_intervals(self) -> None:
        """Intervals 1 .. n_int - 1: censorings adjusted until the next published number at risk is matched."""
        n_hat, d, km_hat, cen, nrisk, n_censor = self.n_hat, self.d, self.km_hat, self.cen, self.nrisk, self.n_censor
        s, last = self.s, 0
        for i in range(self.n_int - 1):
            lo, up, nxt = int(self.lower[i]), int(self.upper[i]), int(self.lower[i + 1])
            n_censor[i] = _rround(nrisk[i] * s[nxt] / s[lo] - nrisk[i + 1]) if s[lo] > 0 else 0
            it = 0
            while (n_hat[nxt] > nrisk[i + 1]) or ((n_hat[nxt] < nrisk[i + 1]) and (n_censor[i] > 0)):
                it += 1
                if it > _MAX_ITER:
                    self.unsettled.append(f"interval {i + 1} ([{self.t_risk[i]:g}, {self.t_risk[i + 1]:g}))")
                    break
                if n_censor[i] <= 0:
                    cen[lo:up + 1] = 0
                    n_censor[i] = 0
                if n_censor[i] > 0:
                    cen[lo:up + 1] = self.spread(i, n_censor[i], nxt)
                n_hat[lo] = nrisk[i]
                last = int(self.last_i[i])
                for k in range(lo, up + 1):
                    if i == 0 and k == lo:
                        d[k] = 0
                        km_hat[k] = 1.0
                    else:
                        self.step(k, last)
                    n_hat[k + 1] = n_hat[k] - d[k] - cen[k]
                    if d[k] != 0:
                        last = k
                n_censor[i] = n_censor[i] + (n_hat[nxt] - nrisk[i + 1])
            nrisk[i + 1] = min(nrisk[i + 1], n_hat[nxt])
            self.last_i[i + 1] = last

    def _last_censoring(self) -> None:
        lo, up = int(self.lower[-1]), int(self.upper[-1])
        if self.n_censor[-1] <= 0:
            self.cen[lo:up] = 0
            self.n_censor[-1] = 0
        if self.n_censor[-1] > 0:
            self.cen[lo:up] = self.spread(self.n_int - 1, self.n_censor[-1], up)

    def _sweep_last(self, *, clamp_last: bool) -> None:
        """Events and numbers at risk over the last interval (``clamp_last``: also the step after its last point)."""
        lo, up = int(self.lower[-1]), int(self.upper[-1])
        n_hat, d, cen = self.n_hat, self.d, self.cen
        n_hat[lo] = self.nrisk[-1]
        last = int(self.last_i[-1])
        for k in range(lo, up + 1):
            self.step(k, last)
            if clamp_last or k != up:
                n_hat[k + 1] = n_hat[k] - d[k] - cen[k]
                if n_hat[k + 1] < 0:
                    n_hat[k + 1] = 0
                    cen[k] = n_hat[k] - d[k]
            if d[k] != 0:
                last = k

    def last_interval(self) -> None:
        """The last interval: censored at the average rate of the earlier ones."""
        t_s, lo, up, n_censor = self.t_s, int(self.lower[-1]), int(self.upper[-1]), self.n_censor
        if self.n_int > 1:
            span = t_s[int(self.upper[-2])] - t_s[int(self.lower[0])]
            rate = np.sum(n_censor[:-1]) * (t_s[up] - t_s[lo]) / span if span > 0 else 0.0
            n_censor[-1] = min(_rround(rate), self.nrisk[-1])
        else:
            n_censor[-1] = 0
        self._last_censoring()
        self._sweep_last(clamp_last=True)

    def match_total(self, tot: float) -> None:
        """Censoring of the last interval adjusted until the events add up to the published total."""
        lo, up, d = int(self.lower[-1]), int(self.upper[-1]), self.d
        sum_d_l = 0.0
        if self.n_int > 1:
            sum_d_l = float(np.sum(d[:int(self.upper[-2]) + 1]))
            if sum_d_l >= tot:
                d[lo:up + 1] = 0
                self.cen[lo:up] = 0
                self.n_hat[lo + 1:up + 2] = self.nrisk[-1]
        if not (sum_d_l < tot or self.n_int == 1):
            return
        sum_d = float(np.sum(d[:up + 1]))
        it = 0
        while (sum_d > tot) or ((sum_d < tot) and (self.n_censor[-1] > 0)):
            it += 1
            if it > _MAX_ITER:
                self.unsettled.append("the total number of events")
                break
            self.n_censor[-1] = self.n_censor[-1] + (sum_d - tot)
            self._last_censoring()
            self._sweep_last(clamp_last=False)
            sum_d = float(np.sum(d[:up + 1]))

    def ipd(self, n0: int) -> pd.DataFrame:
        """One row per patient: events at the coordinates, censorings midway, the rest censored at the end."""
        t_s, d, cen, n_t = self.t_s, self.d, self.cen, self.n_t
        times: list[float] = []
        events: list[int] = []
        for j in range(n_t):
            if d[j] > 0:
                times += [t_s[j]] * int(d[j])
                events += [1] * int(d[j])
        for j in range(n_t - 1):
            if cen[j] > 0:
                times += [(t_s[j] + t_s[j + 1]) / 2.0] * int(cen[j])
                events += [0] * int(cen[j])
        rest = n0 - len(times)
        if rest < 0:
            warnings.warn(f"Guyot reconstruction: {len(times)} events and censorings for {n0} patients; "
                          "the inputs are inconsistent.", stacklevel=3)
        else:
            times += [t_s[n_t - 1]] * rest
            events += [0] * rest
        out = pd.DataFrame({"time": np.asarray(times, dtype=float), "event": np.asarray(events, dtype=int)})
        return out.sort_values(["time", "event"], ascending=[True, False], kind="stable").reset_index(drop=True)
