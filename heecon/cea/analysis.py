"""One call from PSA draws to the usual cost-effectiveness summary.

:func:`analyse_psa` bundles the incremental table on the means (dampack
``calculate_icers``), CEAC, CEAF, per-person EVPI, break-even WTPs (exact and
on the grid) and, given a reference strategy, BCEA's pairwise expected
incremental benefit and probability that the reference is better.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .frontier import icer_table
from .psa import _grid_switches, _psa_arrays, _psa_kernel, _wtp_vector, breakeven_wtp, prob_better

__all__ = ["CEAResult", "analyse_psa", "default_wtp_grid"]


def default_wtp_grid() -> np.ndarray:
    """The default WTP grid, 0 to 50,000 in steps of 100 (501 values)."""
    return np.arange(501) * 100.0


def _num(x: Any) -> float | None:
    """A float for JSON: NaN and infinities become None."""
    v = float(x)
    return v if math.isfinite(v) else None


@dataclass(frozen=True, eq=False)
class CEAResult:
    """Cost-effectiveness summary of a PSA, built by :func:`analyse_psa`.

    Attributes
    ----------
    strategies : list of str
        Strategy names, in column order.
    wtp : numpy.ndarray, shape (n_wtp,)
        The WTP grid.
    n_draws : int
        Number of PSA draws.
    mean_cost, mean_effect : numpy.ndarray, shape (k,)
        Means over draws.
    icers : pandas.DataFrame
        :func:`heecon.cea.icer_table` on the means.
    expected_nmb : numpy.ndarray, shape (n_wtp, k)
        Mean NMB of each strategy at each WTP.
    ceac : numpy.ndarray, shape (n_wtp, k)
        Probability each strategy has the highest NMB (rows sum to 1).
    ceaf : numpy.ndarray of int, shape (n_wtp,)
        Column of the strategy with the highest expected NMB.
    ceaf_probability : numpy.ndarray, shape (n_wtp,)
        Its probability of being cost-effective.
    evpi : numpy.ndarray, shape (n_wtp,)
        Per-person EVPI.
    breakeven : pandas.DataFrame
        Exact break-even WTPs within ``[min(wtp), max(wtp)]`` (columns
        ``wtp``, ``from``, ``to``).
    breakeven_grid : pandas.DataFrame
        BCEA-style break-even values on the grid.
    ref : str or None
        BCEA reference strategy, if one was given.
    eib, prob_ref_better : dict of str to numpy.ndarray
        For each comparator: expected incremental benefit of ``ref`` over it
        and the probability ``ref`` has the strictly higher NMB, per WTP.
    pairwise_icer : dict of str to float
        ``mean(dC) / mean(dE)``, increments ``ref`` minus comparator (NaN if
        ``mean(dE) == 0``).
    costs, effects : numpy.ndarray, shape (n_draws, k), or None
        The draws analysed (for the CE plane).
    """

    strategies: list[str]
    wtp: np.ndarray
    n_draws: int
    mean_cost: np.ndarray
    mean_effect: np.ndarray
    icers: pd.DataFrame
    expected_nmb: np.ndarray
    ceac: np.ndarray
    ceaf: np.ndarray
    ceaf_probability: np.ndarray
    evpi: np.ndarray
    breakeven: pd.DataFrame
    breakeven_grid: pd.DataFrame
    ref: str | None = None
    eib: dict[str, np.ndarray] = field(default_factory=dict)
    prob_ref_better: dict[str, np.ndarray] = field(default_factory=dict)
    pairwise_icer: dict[str, float] = field(default_factory=dict)
    costs: np.ndarray | None = field(default=None, repr=False)
    effects: np.ndarray | None = field(default=None, repr=False)

    @property
    def ceaf_strategies(self) -> list[str]:
        """Name of the CEAF strategy at each WTP."""
        return [self.strategies[i] for i in self.ceaf]

    def to_frame(self) -> pd.DataFrame:
        """Long table, one row per (WTP, strategy).

        Columns ``wtp, strategy, expected_nmb, ceac, on_frontier, evpi``
        (``on_frontier``: the strategy is on the CEAF at that WTP, as
        dampack's ``On_Frontier``; ``evpi`` repeats per strategy).
        """
        k = len(self.strategies)
        nw = self.wtp.size
        return pd.DataFrame(
            {
                "wtp": np.repeat(self.wtp, k),
                "strategy": np.tile(np.array(self.strategies, dtype=object), nw),
                "expected_nmb": self.expected_nmb.ravel(),
                "ceac": self.ceac.ravel(),
                "on_frontier": (self.ceaf[:, None] == np.arange(k)[None, :]).ravel(),
                "evpi": np.repeat(self.evpi, k),
            }
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain, JSON-ready dictionary (NaN becomes ``None``).

        Keys: ``strategies``, ``n_draws``, ``icers`` (list of
        ``{strategy, status, icer, cost, effect, inc_cost, inc_effect}``),
        ``wtp``, ``ceac`` (strategy -> list), ``ceaf`` (list of names),
        ``ceaf_probability``, ``evpi``, ``breakeven_wtp`` (exact, list of
        ``{wtp, from, to}``), ``breakeven_wtp_grid``, and with a reference
        ``ref``, ``eib``, ``prob_ref_better``, ``pairwise_icer`` (comparator
        -> values).
        """

        def switches(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {"wtp": _num(wtp), "from": str(a), "to": str(b)}
                for wtp, a, b in df[["wtp", "from", "to"]].itertuples(index=False, name=None)
            ]

        out: dict[str, Any] = {
            "strategies": list(self.strategies),
            "n_draws": int(self.n_draws),
            "icers": [
                {
                    "strategy": str(r.strategy),
                    "status": str(r.status),
                    "icer": _num(r.icer),
                    "cost": _num(r.cost),
                    "effect": _num(r.effect),
                    "inc_cost": _num(r.inc_cost),
                    "inc_effect": _num(r.inc_effect),
                }
                for r in self.icers.itertuples(index=False)
            ],
            "wtp": [_num(w) for w in self.wtp],
            "ceac": {s: [float(v) for v in self.ceac[:, j]] for j, s in enumerate(self.strategies)},
            "ceaf": self.ceaf_strategies,
            "ceaf_probability": [float(v) for v in self.ceaf_probability],
            "evpi": [float(v) for v in self.evpi],
            "breakeven_wtp": switches(self.breakeven),
            "breakeven_wtp_grid": switches(self.breakeven_grid),
        }
        if self.ref is not None:
            out["ref"] = self.ref
            out["eib"] = {s: [float(v) for v in a] for s, a in self.eib.items()}
            out["prob_ref_better"] = {s: [float(v) for v in a] for s, a in self.prob_ref_better.items()}
            out["pairwise_icer"] = {s: _num(v) for s, v in self.pairwise_icer.items()}
        return out


def analyse_psa(
    costs,
    effects,
    names: Sequence[str] | None = None,
    wtp=None,
    *,
    ref: str | int | None = None,
) -> CEAResult:
    """Incremental table, CEAC, CEAF, EVPI and break-even WTPs from PSA draws.

    Parameters
    ----------
    costs, effects : array_like or pandas.DataFrame, shape (n_draws, k)
        PSA draws, one column per strategy.
    names : sequence of str, optional
        Strategy names. Default: the columns of ``costs`` if it is a
        DataFrame, else ``S1..Sk``.
    wtp : float or array_like, optional
        WTP grid; default :func:`default_wtp_grid` (0 to 50,000 by 100).
    ref : str or int, optional
        BCEA reference strategy (name or column index). When given, the
        result also holds EIB, probability ``ref`` is better and the pairwise
        ICER against every other strategy (increments ``ref`` minus
        comparator).

    Returns
    -------
    CEAResult

    Raises
    ------
    ValueError
        On malformed draws, names, WTP values or reference.

    Notes
    -----
    The exact break-even WTPs are searched within ``[min(wtp), max(wtp)]``;
    the grid ones are those of BCEA on the given grid. CEAC ties within a
    draw are split evenly; CEAF ties go to the first column (see
    :mod:`heecon.cea.psa`).

    References
    ----------
    .. [1] dampack ``calculate_icers``, ``ceac``, ``calc_evpi``,
       https://github.com/DARTH-git/dampack
    .. [2] Baio G, Berardi A, Heath A. Bayesian Cost-Effectiveness Analysis
       with the R package BCEA. Springer; 2017.
    .. [3] Briggs A, Claxton K, Sculpher M. Decision Modelling for Health
       Economic Evaluation. Oxford University Press; 2006.
    """
    if names is None and isinstance(costs, pd.DataFrame):
        names = [str(c) for c in costs.columns]
    c, e = _psa_arrays(costs, effects)
    n, k = c.shape
    labels = [f"S{i + 1}" for i in range(k)] if names is None else [str(s) for s in names]
    if len(labels) != k:
        raise ValueError(f"The 'names' must hold one name per strategy column ({k}). Got {len(labels)}.")
    w, _ = _wtp_vector(default_wtp_grid() if wtp is None else wtp)

    mc, me = c.mean(axis=0), e.mean(axis=0)
    table = icer_table(labels, mc, me)
    prob, enmb, emax = _psa_kernel(c, e, w)
    opt = enmb.argmax(axis=1)
    evpi = np.maximum(emax - enmb.max(axis=1), 0.0)
    be = breakeven_wtp(mc, me, (float(w.min()), float(w.max())), names=labels)
    grid = _grid_switches(opt, w)
    be_grid = pd.DataFrame(
        {"wtp": [g[0] for g in grid], "from": [labels[g[1]] for g in grid], "to": [labels[g[2]] for g in grid]},
        columns=["wtp", "from", "to"],
    )

    ref_name: str | None = None
    eibs: dict[str, np.ndarray] = {}
    probs: dict[str, np.ndarray] = {}
    picer: dict[str, float] = {}
    if ref is not None:
        if isinstance(ref, (int, np.integer)) and not isinstance(ref, bool):
            if not -k <= int(ref) < k:
                raise ValueError(f"The 'ref' column index must be in [0, {k}). Got {ref}.")
            r = int(ref) % k
        elif str(ref) in labels:
            r = labels.index(str(ref))
        else:
            raise ValueError(f"The 'ref' must be one of {labels} or a column index. Got {ref!r}.")
        ref_name = labels[r]
        for q in range(k):
            if q == r:
                continue
            d_e = float((e[:, r] - e[:, q]).mean())
            d_c = float((c[:, r] - c[:, q]).mean())
            eibs[labels[q]] = w * d_e - d_c
            probs[labels[q]] = np.asarray(prob_better(c, e, w, r, q))
            picer[labels[q]] = d_c / d_e if d_e != 0 else float("nan")

    return CEAResult(
        strategies=labels,
        wtp=w,
        n_draws=n,
        mean_cost=mc,
        mean_effect=me,
        icers=table,
        expected_nmb=enmb,
        ceac=prob,
        ceaf=opt,
        ceaf_probability=prob[np.arange(w.size), opt],
        evpi=evpi,
        breakeven=be,
        breakeven_grid=be_grid,
        ref=ref_name,
        eib=eibs,
        prob_ref_better=probs,
        pairwise_icer=picer,
        costs=c,
        effects=e,
    )
