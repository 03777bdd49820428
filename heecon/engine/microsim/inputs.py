"""The validating wrapper of both microsimulation devices: the kernel arguments checked, with defaults filled in.

:func:`prepare_inputs` turns the keyword arguments of :func:`heecon.engine.microsim.cpu.simulate` into C-contiguous
arrays of the kernels' dtypes and shapes, checks them (messages name the array, e.g. "The 'P_mats' array must have
every row summing to 1. Got 1.1 for the row at (0, 0, 1).") and derives the sizes and feature flags. The CPU
wrapper (:func:`heecon.engine.microsim.cpu.simulate`) and the general GPU wrapper
(:func:`heecon.engine.microsim.gpu.simulate_gpu_general`) both call it, so both devices see the same arrays.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["prepare_inputs"]

#: Optional keyword arguments of simulate() that carry a leading sample axis (1 or n_samples entries).
SAMPLE_AXIS_ARGS = ("TR_mats", "start_probs", "beta_tr", "gamma_tr", "ev_rate", "ev_beta", "ev_gamma", "ev_rr",
                    "ev_reward", "ev_move_prob", "eng_dropout", "eng_ab", "eng_cost_per_session",
                    "eng_cost_per_place")


def _fail(name: str, what: str, got: object) -> None:
    raise ValueError(f"The '{name}' array must {what}. Got {got}.")


def _as(name: str, a: object, dtype: type, shape: tuple, n_samp: int | None = None, *, default: object = None,
        lo: float | None = None, hi: float | None = None) -> np.ndarray:
    """C-contiguous array of the given dtype and shape, checked; `default` when `a` is None.

    `shape` entries: an int (exact), None (any), or "samples" (1 or n_samp).
    Float arrays must be finite and, with `lo`/`hi`, inside [lo, hi].
    """
    arr = np.asarray(default if a is None else a)
    if dtype is np.float64 and not (np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)):
        _fail(name, "hold numbers", f"dtype {arr.dtype}")
    if dtype is np.int64 and not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == np.bool_):
        _fail(name, "hold integers", f"dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    want = ", ".join("1 or n_samples" if n == "samples" else ("any" if n is None else str(n)) for n in shape)
    if arr.ndim != len(shape):
        _fail(name, f"have {len(shape)} dimensions ({want})", f"shape {arr.shape}")
    for q, n in enumerate(shape):
        if n == "samples":
            if n_samp is not None and arr.shape[q] not in (1, n_samp):
                _fail(name, f"have 1 or n_samples = {n_samp} entries on axis {q}", f"shape {arr.shape}")
        elif n is not None and arr.shape[q] != n:
            _fail(name, f"have shape ({want})", f"shape {arr.shape}")
    if dtype is np.float64:
        bad = ~np.isfinite(arr)
        if lo is not None:
            bad |= arr < lo
        if hi is not None:
            bad |= arr > hi
        if bad.any():
            where = tuple(int(x) for x in np.argwhere(bad)[0])
            rng_txt = "" if lo is None and hi is None else f" in [{lo}, {'inf' if hi is None else hi}]"
            _fail(name, f"hold finite numbers{rng_txt}", f"{arr[where]} at {where}")
    return arr


def _check_index(name: str, a: np.ndarray, n: int) -> None:
    if a.size and (a.min() < 0 or a.max() >= n):
        bad = np.argwhere((a < 0) | (a >= n))[0]
        _fail(name, f"hold indices in [0, {n})", f"{a[tuple(bad)]} at {tuple(int(b) for b in bad)}")


def _check_probs(name: str, a: np.ndarray, row_axis_name: str = "row") -> None:
    if a.size == 0:
        return
    if a.min() < 0.0 or a.max() > 1.0:
        bad = np.argwhere((a < 0.0) | (a > 1.0))[0]
        _fail(name, "hold probabilities in [0, 1]", f"{a[tuple(bad)]} at {tuple(int(b) for b in bad)}")
    sums = a.sum(axis=-1)
    off = np.abs(sums - 1.0) > 1e-9
    if off.any():
        bad = tuple(int(b) for b in np.argwhere(off)[0])
        _fail(name, f"have every {row_axis_name} summing to 1", f"{sums[bad]:.12g} for the {row_axis_name} at {bad}")


def _dedupe(mats: np.ndarray, maps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop repeated matrices (equal in every sample) and point the map at the first copy.

    A scenario compiler stores one matrix per strategy and segment; where strategies or segments share
    one (the same mortality year, say), the kernel then sees the repeat, which lets it keep a person's
    covariate-modified row from one cycle to the next. The numbers do not change.
    """
    n = mats.shape[1]
    if n <= 1:
        return mats, maps
    first: dict[bytes, int] = {}
    keep: list[int] = []
    where = np.empty(n, np.int64)
    for m in range(n):
        key = np.ascontiguousarray(mats[:, m]).tobytes()
        if key not in first:
            first[key] = len(keep)
            keep.append(m)
        where[m] = first[key]
    if len(keep) == n:
        return mats, maps
    return np.ascontiguousarray(mats[:, keep]), where[maps]


def _sample_axis_len(*arrays: object) -> int:
    n = 1
    for a in arrays:
        if a is not None:
            m = np.shape(a)[0]
            if m != 1:
                if n != 1 and m != n:
                    raise ValueError(f"Arrays disagree on the number of samples: {n} and {m}.")
                n = m
    return n


def prepare_inputs(P_mats: Any, P_map: Any, V_mats: Any, V_map: Any, W: Any, **kw: Any) -> dict[str, Any]:
    """The arguments of :func:`heecon.engine.microsim.cpu.simulate` (also those of the GPU kernels), validated,
    with defaults filled in.

    Returns a dict: every array under its own name (``eng_cost_per_session`` and ``eng_cost_per_place`` as
    ``eng_cps`` and ``eng_cpp``), the sizes ``n_ind``, ``n_samp``, ``n_strat``, ``T``, ``S``, ``R``, ``E``, ``K``,
    ``A``, the flags ``has_tr`` ... ``has_eng`` and ``row_cov``/``eng_on``, and ``seed``, ``n_keep``, ``n_traj``,
    ``moments``. Repeated transition matrices are merged (:func:`_dedupe`). Raises ValueError naming the array.
    """
    g = kw.get
    P_map = _as("P_map", P_map, np.int64, (None, None))
    n_strat, T = P_map.shape
    P_mats = np.asarray(P_mats)
    if P_mats.ndim != 4:
        _fail("P_mats", "have 4 dimensions (samples, matrices, S, S)", f"shape {P_mats.shape}")
    V_mats = np.asarray(V_mats)
    if V_mats.ndim != 4:
        _fail("V_mats", "have 4 dimensions (samples, matrices, S, R)", f"shape {V_mats.shape}")
    o = _sizes(g, n_strat, T, P_mats.shape[2], V_mats.shape[3], P_mats, V_mats)
    _markov_inputs(o, g, P_mats, P_map, V_mats, V_map, W)
    _transition_covariates(o, g)
    _event_inputs(o, g)
    _engagement_inputs(o, g)
    seed = int(g("seed") or 0)
    if not 0 <= seed < 2**64:
        raise ValueError(f"The 'seed' setting must be an integer in [0, 2**64). Got {seed}.")
    o["seed"] = seed
    o["n_keep"] = int(min(max(int(g("n_keep") or 0), 0), o["n_samp"]))
    o["n_traj"] = int(min(max(int(g("n_traj") or 0), 0), o["n_ind"]))
    o["moments"] = bool(g("moments", True))
    return o


def _sizes(g: Any, n_strat: int, T: int, S: int, R: int, P_mats: np.ndarray, V_mats: np.ndarray) -> dict[str, Any]:
    """The sizes of a call: individuals (given, or the rows of X / start_state), samples (given, or the longest
    sample axis), attributes A, counters K and event types E."""
    n_ind = g("n_ind")
    if n_ind is None:
        if g("X") is not None:
            n_ind = np.shape(g("X"))[0]
        elif g("start_state") is not None:
            n_ind = np.shape(g("start_state"))[0]
        else:
            raise ValueError("Give n_ind (the number of individuals), or X / start_state with one row each.")
    n_ind = int(n_ind)
    if n_ind < 1:
        raise ValueError(f"The 'n_ind' setting must be a positive integer. Got {n_ind}.")
    n_samp = g("n_samples")
    if n_samp is None:
        n_samp = _sample_axis_len(P_mats, V_mats, *(g(k) for k in SAMPLE_AXIS_ARGS))
    n_samp = int(n_samp)
    A = 0 if g("X") is None else np.shape(g("X"))[1]
    K = 0
    for name, ax in (("gamma_tr", 3), ("ev_gamma", 2), ("ev_counter", 1), ("tr_counter", 2)):
        if g(name) is not None:
            K = np.shape(g(name))[ax]
            break
    E = 0 if g("ev_rate") is None else np.shape(g("ev_rate"))[3]
    return {"n_ind": n_ind, "n_samp": n_samp, "n_strat": n_strat, "T": T, "S": S, "R": R, "E": E, "K": K, "A": A}


_SMP = "samples"


def _markov_inputs(o: dict[str, Any], g: Any, P_mats: np.ndarray, P_map: np.ndarray, V_mats: np.ndarray,
                   V_map: Any, W: Any) -> None:
    """Transition matrices, state and transition rewards, weights, starting states."""
    n_samp, n_strat, T, S, R, n_ind = (o[k] for k in ("n_samp", "n_strat", "T", "S", "R", "n_ind"))
    o["P_map"] = P_map
    o["P_mats"] = P_mats = _as("P_mats", P_mats, np.float64, (_SMP, None, S, S), n_samp)
    _check_probs("P_mats", P_mats)
    _check_index("P_map", P_map, P_mats.shape[1])
    o["P_mats"], o["P_map"] = _dedupe(P_mats, P_map)
    o["V_mats"] = _as("V_mats", V_mats, np.float64, (_SMP, None, S, R), n_samp)
    o["V_map"] = V_map = _as("V_map", V_map, np.int64, (n_strat, T))
    _check_index("V_map", V_map, o["V_mats"].shape[1])
    o["W"] = W = _as("W", W, np.float64, (2, 3, R, T))
    state0 = np.zeros((1, n_strat, S))
    state0[..., 0] = 1.0
    if g("start_state") is not None:
        o["start_state"] = _as("start_state", g("start_state"), np.int64, (n_ind,))
        _check_index("start_state", o["start_state"], S)
        o["start_probs"] = state0
    else:
        o["start_state"] = np.zeros(0, np.int64)
        o["start_probs"] = _as("start_probs", g("start_probs"), np.float64, (_SMP, n_strat, S), n_samp,
                               default=state0)
        _check_probs("start_probs", o["start_probs"])
    o["TR_mats"] = _as("TR_mats", g("TR_mats"), np.float64, (_SMP, None, S, S, R), n_samp,
                       default=np.zeros((1, 1, S, S, R)))
    o["TR_map"] = _as("TR_map", g("TR_map"), np.int64, (n_strat, T), default=np.zeros((n_strat, T), np.int64))
    _check_index("TR_map", o["TR_map"], o["TR_mats"].shape[1])
    o["has_tr"] = bool(np.any(o["TR_mats"] != 0.0) and np.any(W[:, 2] != 0.0))


def _transition_covariates(o: dict[str, Any], g: Any) -> None:
    """Attributes, hazard ratios of moves (attributes, counters, time in state), complement columns, counter
    increments of moves."""
    n_samp, S, K, A, n_ind = (o[k] for k in ("n_samp", "S", "K", "A", "n_ind"))
    o["X"] = _as("X", g("X"), np.float64, (n_ind, A), default=np.zeros((n_ind, 0)))
    o["beta_tr"] = _as("beta_tr", g("beta_tr"), np.float64, (_SMP, S, S, A), n_samp, default=np.zeros((1, S, S, A)))
    o["gamma_tr"] = _as("gamma_tr", g("gamma_tr"), np.float64, (_SMP, S, S, K), n_samp,
                        default=np.zeros((1, S, S, K)))
    o["tis_tr"] = tis = _as("tis_tr", g("tis_tr"), np.float64, (S, S, None), default=np.ones((S, S, 1)), lo=0.0)
    if tis.shape[2] < 1:
        _fail("tis_tr", "have at least one time-in-state column", f"shape {tis.shape}")
    o["comp_col"] = comp = _as("comp_col", g("comp_col"), np.int64, (S,), default=np.arange(S))
    if np.any((comp < -1) | (comp >= S)):
        _fail("comp_col", f"hold a column in [0, {S}) or -1 for each row", comp.tolist())
    o["row_cov"] = (np.any(o["beta_tr"] != 0.0, axis=(0, 2, 3)) | np.any(o["gamma_tr"] != 0.0, axis=(0, 2, 3))
                    | np.any(tis != 1.0, axis=(1, 2)))
    o["has_trcov"] = bool(o["row_cov"].any())
    o["tr_counter"] = _as("tr_counter", g("tr_counter"), np.float64, (S, S, K), default=np.zeros((S, S, K)))
    o["has_trcount"] = bool(np.any(o["tr_counter"] != 0.0))


def _event_inputs(o: dict[str, Any], g: Any) -> None:
    """Event rates, kinds, covariates, strategy rate ratios, rewards, counter increments and moves."""
    n_samp, n_strat, T, S, R, E, K, A = (o[k] for k in ("n_samp", "n_strat", "T", "S", "R", "E", "K", "A"))
    o["ev_rate"] = _as("ev_rate", g("ev_rate"), np.float64, (_SMP, None, S, E), n_samp,
                       default=np.zeros((1, 1, S, 0)), lo=0.0)
    o["ev_map"] = _as("ev_map", g("ev_map"), np.int64, (n_strat, T), default=np.zeros((n_strat, T), np.int64))
    _check_index("ev_map", o["ev_map"], o["ev_rate"].shape[1])
    o["ev_kind"] = _as("ev_kind", g("ev_kind"), np.int64, (E,), default=np.zeros(E, np.int64))
    if np.any((o["ev_kind"] != 0) & (o["ev_kind"] != 1)):
        _fail("ev_kind", "hold 0 (Poisson count) or 1 (Bernoulli) per event type", o["ev_kind"].tolist())
    o["ev_beta"] = _as("ev_beta", g("ev_beta"), np.float64, (_SMP, E, A), n_samp, default=np.zeros((1, E, A)))
    o["ev_gamma"] = _as("ev_gamma", g("ev_gamma"), np.float64, (_SMP, E, K), n_samp, default=np.zeros((1, E, K)))
    o["ev_rr"] = _as("ev_rr", g("ev_rr"), np.float64, (_SMP, n_strat, T, E), n_samp,
                     default=np.ones((1, n_strat, T, E)), lo=0.0)
    o["ev_reward"] = _as("ev_reward", g("ev_reward"), np.float64, (_SMP, E, R), n_samp, default=np.zeros((1, E, R)))
    o["ev_counter"] = _as("ev_counter", g("ev_counter"), np.float64, (E, K), default=np.zeros((E, K)))
    o["ev_move_state"] = ms = _as("ev_move_state", g("ev_move_state"), np.int64, (E,), default=np.full(E, -1))
    if np.any((ms < -1) | (ms >= S)):
        _fail("ev_move_state", f"hold a state in [0, {S}) or -1 per event type", ms.tolist())
    o["ev_move_prob"] = _as("ev_move_prob", g("ev_move_prob"), np.float64, (_SMP, E), n_samp,
                            default=np.zeros((1, E)), lo=0.0, hi=1.0)
    o["ev_move_keep"] = _as("ev_move_keep", g("ev_move_keep"), np.int64, (S,), default=np.zeros(S, np.int64))
    o["has_events"] = bool(E > 0 and np.any(o["ev_rate"] > 0.0))
    o["has_evcov"] = bool(np.any(o["ev_beta"] != 0.0) or np.any(o["ev_gamma"] != 0.0))


def _engagement_inputs(o: dict[str, Any], g: Any) -> None:
    """Treatment engagement: sessions offered, dropout, attendance propensity, eligible states, costs, effect."""
    n_samp, n_strat, T, S, R, n_ind = (o[k] for k in ("n_samp", "n_strat", "T", "S", "R", "n_ind"))
    o["eng_sessions"] = ses = _as("eng_sessions", g("eng_sessions"), np.float64, (n_strat, T),
                                  default=np.zeros((n_strat, T)), lo=0.0)
    o["eng_on"] = np.any(ses > 0, axis=1)
    o["has_eng"] = bool(o["eng_on"].any())
    o["eng_dropout"] = _as("eng_dropout", g("eng_dropout"), np.float64, (_SMP, n_strat), n_samp,
                           default=np.zeros((1, n_strat)), lo=0.0)
    o["eng_ab"] = _as("eng_ab", g("eng_ab"), np.float64, (_SMP, n_strat, 2), n_samp,
                      default=np.ones((1, n_strat, 2)), lo=1e-300)
    o["eng_propensity"] = pr = _as("eng_propensity", g("eng_propensity"), np.float64, (None,), default=np.zeros(0),
                                   lo=0.0, hi=1.0)
    if pr.shape[0] not in (0, n_ind):
        _fail("eng_propensity", f"hold one probability per individual ({n_ind})", f"shape {pr.shape}")
    o["eng_eligible"] = _as("eng_eligible", g("eng_eligible"), np.int64, (S,), default=np.ones(S, np.int64))
    o["eng_cps"] = _as("eng_cost_per_session", g("eng_cost_per_session"), np.float64, (_SMP, n_strat, R), n_samp,
                       default=np.zeros((1, n_strat, R)))
    o["eng_cpp"] = _as("eng_cost_per_place", g("eng_cost_per_place"), np.float64, (_SMP, n_strat, R), n_samp,
                       default=np.zeros((1, n_strat, R)))
    o["eng_mode"] = _as("eng_mode", g("eng_mode"), np.int64, (n_strat,), default=np.zeros(n_strat, np.int64))
    if np.any((o["eng_mode"] != 0) & (o["eng_mode"] != 1)):
        _fail("eng_mode", "hold 0 (intention to treat) or 1 (dose-scaled) per strategy", o["eng_mode"].tolist())
