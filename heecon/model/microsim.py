"""Compile a microsimulation scenario into the kernel's arrays (see docs/microsim-kernel.md).

The Markov part (transition matrices, state rewards, one-off move rewards, weights) is exactly the cohort
compilation (:func:`heecon.model.markov.compile_model`); this module adds the population's attributes,
covariates, events, strategy rate ratios and treatment engagement.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Mapping

import numpy as np

from heecon.model.env import _Env
from heecon.model.markov import CompiledModel, _segments, compile_model, copy_qalys_to_cba
from heecon.scenario.errors import Problem, ScenarioError
from heecon.scenario.types import Scenario

__all__ = ["MicrosimArrays", "compile_microsim"]


@dataclass
class MicrosimArrays:
    model: CompiledModel
    kwargs: dict[str, Any]  # keyword arguments of heecon.engine.microsim.cpu.simulate (besides the Markov part)
    event_names: list[str]
    counters: list[str]
    attribute_names: list[str]


def compile_microsim(scenario: Scenario, draws: Mapping[str, np.ndarray] | None = None, *,
                     validate: bool = True, model: Any = None) -> MicrosimArrays:
    """The kernel arrays for a microsimulation scenario (population excluded: see
    :func:`heecon.model.population.sample_population`).

    ``model``: the cohort compilation of the same scenario and draws (:func:`heecon.model.markov.compile_model`
    with the same ``validate``), when the caller has it; else it is compiled here."""
    c = _context(scenario, draws, validate, model)
    ev = _event_arrays(c)
    cov = _covariate_arrays(c)
    ev_rr = _event_rate_ratios(c)
    eng = _engagement_arrays(c)
    if c.problems:
        from heecon.model.markov import _dedupe

        raise ScenarioError(_dedupe(c.problems))
    TR_mats, TR_map = _expected_rewards(c, ev["x_rate"])
    kwargs: dict[str, Any] = dict(
        TR_mats=TR_mats, TR_map=TR_map, start_probs=c.model.m0,
        beta_tr=cov["beta_tr"], gamma_tr=cov["gamma_tr"], tis_tr=cov["tis_tr"], comp_col=cov["comp_col"],
        ev_rate=ev["ev_rate"], ev_map=c.model.P_map, ev_kind=ev["ev_kind"], ev_beta=cov["ev_beta"],
        ev_gamma=cov["ev_gamma"], ev_rr=ev_rr, ev_reward=ev["ev_reward"], ev_counter=ev["ev_counter"],
        ev_move_state=ev["ev_move_state"], ev_move_prob=ev["ev_move_prob"], ev_move_keep=ev["ev_move_keep"],
        **eng,
    )
    counters = _drop_unread_counters(kwargs, list(c.counters))
    if not c.E:
        for k in [k for k in kwargs if k.startswith("ev_")]:
            kwargs.pop(k)
    out = MicrosimArrays(c.model, kwargs, [e.name for e in c.events], counters, c.cols)
    out.expected_names = [e.name for e in c.expected]  # type: ignore[attr-defined]
    out.expected_rates = ev["x_rate"]  # type: ignore[attr-defined]
    return out



def _drop_unread_counters(kwargs: dict[str, Any], counters: list[str]) -> list[str]:
    """Counters that no covariate reads (every log hazard ratio per unit of them is 0) change no draw, rate or
    row, so the kernel is given only the others (the flagship's convictions counter: a fifth of its kernel time);
    results are the same bits. Returns the names of the counters kept."""
    g_tr, g_ev = kwargs["gamma_tr"], kwargs["ev_gamma"]
    K = kwargs["ev_counter"].shape[1]
    if K == 0:
        return counters
    read = np.any(g_tr != 0.0, axis=tuple(range(g_tr.ndim - 1))) | np.any(g_ev != 0.0, axis=tuple(range(g_ev.ndim - 1)))
    if read.all():
        return counters
    keep = np.flatnonzero(read)
    kwargs["gamma_tr"] = np.ascontiguousarray(g_tr[..., keep])
    kwargs["ev_gamma"] = np.ascontiguousarray(g_ev[..., keep])
    kwargs["ev_counter"] = np.ascontiguousarray(kwargs["ev_counter"][:, keep])
    return [counters[i] for i in keep]

def _text(e: Any) -> str:
    """" (the expression 'a / b')" for a value computed from an expression, "" for a number."""
    return f" (the expression {e.text!r})" if e is not None and getattr(e, "constant", 0) is None else ""


class _Ctx(SimpleNamespace):
    """What every part of a microsimulation's compilation shares (sizes, events, rows of each state, base-case
    evaluation environments, the problems found)."""


def _context(scenario: Scenario, draws: Mapping[str, np.ndarray] | None, validate: bool, model: Any = None) -> Any:
    if model is None:
        model = compile_model(scenario, draws, validate=validate)
    spec = scenario.microsim
    ns = model.n_samples
    S = len(model.state_names)
    R = len(model.reward_names)
    T = model.n_cycles
    strategies = list(scenario.strategies.values())
    nst = len(strategies)
    events = [ev for ev in spec.events.values() if not ev.expected]
    expected = [ev for ev in spec.events.values() if ev.expected]
    E = len(events)
    counters = spec.counters
    K = len(counters)
    cols = spec.population.columns
    A = len(cols)
    iq = R - 2
    sector_idx = {s: i for i, s in enumerate(scenario.sectors)}
    problems: list[Problem] = []
    draws = {k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in (draws or {}).items()}

    first_row: dict[str, int] = {}
    rows_of: dict[str, list[int]] = {}
    i = 0
    for nm, st in scenario.states.items():
        first_row[nm] = i
        rows_of[nm] = list(range(i, i + st.n_sub))
        i += st.n_sub


    def arr(env: _Env, e: Any, key: str, nseg: int = 1) -> np.ndarray:
        v = np.asarray(env.eval(e, key), dtype=float)
        if v.ndim <= 1:
            v = v.reshape(1, -1) if v.ndim == 1 else v.reshape(1, 1)
        return np.broadcast_to(v, (nseg, ns))

    def arr_at(env: _Env, e: Any, key: str, nseg: int, extra: dict[str, float]) -> np.ndarray:
        v = np.asarray(env.eval(e, key, extra), dtype=float)
        if v.ndim <= 1:
            v = v.reshape(1, -1) if v.ndim == 1 else v.reshape(1, 1)
        return np.broadcast_to(v, (nseg, ns))

    envs0 = [_Env(scenario, st, draws, np.array([1]), problems) for st in strategies]
    return _Ctx(scenario=scenario, validate=validate, model=model, spec=spec, ns=ns, S=S, R=R, T=T,
                strategies=strategies, nst=nst, events=events, expected=expected, E=E, counters=counters, K=K,
                cols=cols, A=A, iq=iq, sector_idx=sector_idx, problems=problems, draws=draws, first_row=first_row,
                rows_of=rows_of, arr=arr, arr_at=arr_at, envs0=envs0, env0=envs0[0],
                ev_index={ev.name: i for i, ev in enumerate(events)})


def _rate_block(c: Any, env: _Env, evs: list[Any], nseg: int, strategy: str) -> np.ndarray:
    """Per-cycle rates [ns, segments, S, len(evs)] of these events, checked."""
    block = np.zeros((c.ns, nseg, c.S, len(evs)))
    for ei, ev in enumerate(evs):
        for sname, e in ev.rate.items():
            key = f"{ev.key}.rate.{sname}"
            # a rate on time in the state (a survival curve's hazard by tunnel_cycle) is evaluated for each sub-state
            per_row = "tunnel_cycle" in e.names and c.scenario.states[sname].timed
            for pos, r in enumerate(c.rows_of[sname]):
                if pos == 0 or per_row:
                    v = (c.arr_at(env, e, key, nseg, {"tunnel_cycle": float(pos + 1)}) if per_row
                         else c.arr(env, e, key, nseg)).T
                    if c.validate and np.any(~np.isfinite(v) | (v < 0)):
                        c.problems.append(Problem(c.scenario.origin(key), key,
                                                  f"rate is {v[~np.isfinite(v) | (v < 0)][0]:.6g}{_text(e)}; rates "
                                                  f"must be finite and not negative [strategy '{strategy}']"))
                block[:, :, r, ei] = v
    return block


def _reward_block(c: Any, evs: list[Any]) -> np.ndarray:
    """Rewards per occurrence [ns, len(evs), R] of these events (costs by sector, QALYs), checked."""
    block = np.zeros((c.ns, len(evs), c.R))
    for ei, ev in enumerate(evs):
        for sec, e in ev.costs.items():
            v = c.arr(c.env0, e, f"{ev.key}.costs.{sec}")[0]
            if c.validate and np.any(~np.isfinite(v) | (v < 0)):
                c.problems.append(Problem(c.scenario.origin(f"{ev.key}.costs.{sec}"), f"{ev.key}.costs.{sec}",
                                          f"cost per occurrence is {v[~np.isfinite(v) | (v < 0)][0]:.6g}{_text(e)}; "
                                          "costs must be finite and not negative"))
            block[:, ei, c.sector_idx[sec]] = v
        if ev.qalys is not None:
            v = c.arr(c.env0, ev.qalys, f"{ev.key}.qalys")[0]
            if c.validate and np.any(~np.isfinite(v)):
                c.problems.append(Problem(c.scenario.origin(f"{ev.key}.qalys"), f"{ev.key}.qalys",
                                          f"the QALY change per occurrence is {v[~np.isfinite(v)][0]}{_text(ev.qalys)}; "
                                          "it must be a finite number"))
            block[:, ei, c.iq] = v
    copy_qalys_to_cba(c.model.reward_names, block)
    return block


def _event_arrays(c: Any) -> dict[str, np.ndarray]:
    """Events: rates by state and segment (segments as the transition matrices, so ev_map = P_map), rewards per
    occurrence, kinds, counters and event-driven moves; and the rates of events booked in expectation."""
    scenario = c.scenario
    model, ns, S, strategies, events, expected = c.model, c.ns, c.S, c.strategies, c.events, c.expected
    E, counters, K, problems, draws, first_row = c.E, c.counters, c.K, c.problems, c.draws, c.first_row
    env0, arr, validate = c.env0, c.arr, c.validate
    blocks = []
    x_blocks = []
    for st in strategies:
        firsts = _segments(scenario, st)
        env = _Env(scenario, st, draws, firsts, problems)
        blocks.append(_rate_block(c, env, events, len(firsts), st.name))
        x_blocks.append(_rate_block(c, env, expected, len(firsts), st.name))
    ev_rate = np.concatenate(blocks, axis=1) if E else np.zeros((1, 1, S, 0))
    x_rate = np.concatenate(x_blocks, axis=1)  # [ns, blocks, S, E_expected]
    ev_reward = _reward_block(c, events)
    ev_move_prob = np.zeros((ns, E))
    ev_move_state = np.full(E, -1, dtype=np.int64)
    ev_counter = np.zeros((E, K))
    ev_kind = np.array([0 if ev.kind == "poisson" else 1 for ev in events], dtype=np.int64)
    for ei, ev in enumerate(events):
        if ev.counter is not None:
            ev_counter[ei, counters.index(ev.counter)] = 1.0
        if ev.moves_to is not None:
            ev_move_state[ei] = first_row[ev.moves_to]
            v = arr(env0, ev.move_probability, f"{ev.key}.move_probability")[0]
            if validate and np.any(~np.isfinite(v) | (v < 0) | (v > 1)):
                bad = v[~np.isfinite(v) | (v < 0) | (v > 1)][0]
                problems.append(Problem(scenario.origin(f"{ev.key}.move_probability"), f"{ev.key}.move_probability",
                                        f"is {bad:.10g}{_text(ev.move_probability)}; it is a probability and must be "
                                        "in [0, 1]"))
            ev_move_prob[:, ei] = np.clip(v, 0, 1)
    ev_move_keep = np.array([1 if scenario.states[list(scenario.states)[o]].dead else 0 for o in model.state_of],
                            dtype=np.int64)

    return dict(ev_rate=ev_rate, x_rate=x_rate, ev_reward=ev_reward, ev_move_prob=ev_move_prob,
                ev_move_state=ev_move_state, ev_counter=ev_counter, ev_kind=ev_kind, ev_move_keep=ev_move_keep)


def _covariate_arrays(c: Any) -> dict[str, np.ndarray]:
    """Covariates on transitions and events (attributes and counters), complement columns, time in state."""
    scenario = c.scenario
    ev_idx = c.ev_index
    spec, ns, S, E, counters, K = c.spec, c.ns, c.S, c.E, c.counters, c.K
    cols, A, problems, first_row, rows_of, env0 = c.cols, c.A, c.problems, c.first_row, c.rows_of, c.env0
    arr = c.arr
    # covariates
    centres: dict[str, float] = {}
    for cv in spec.covariates:
        if cv.attribute is not None:
            if cv.attribute in centres and centres[cv.attribute] != cv.centre:
                problems.append(Problem(scenario.origin(cv.key), f"{cv.key}.centre",
                                        f"attribute '{cv.attribute}' is centred at {centres[cv.attribute]:g} by another "
                                        "covariate; use one centre per attribute"))
            centres[cv.attribute] = cv.centre
    beta_tr = np.zeros((ns, S, S, A))
    gamma_tr = np.zeros((ns, S, S, K))
    ev_beta = np.zeros((ns, E, A))
    ev_gamma = np.zeros((ns, E, K))
    ev_index = ev_idx
    for cv in spec.covariates:
        b = arr(env0, cv.coefficient, f"{cv.key}.coefficient")[0]
        if c.validate and np.any(~np.isfinite(b)):
            problems.append(Problem(scenario.origin(f"{cv.key}.coefficient"), f"{cv.key}.coefficient",
                                    f"is {b[~np.isfinite(b)][0]}{_text(cv.coefficient)}; a coefficient must be a "
                                    "finite number"))
        for frm, to in cv.transitions:
            for r in rows_of[frm]:
                col = first_row[to]
                if cv.attribute is not None:
                    beta_tr[:, r, col, cols.index(cv.attribute)] += b
                else:
                    gamma_tr[:, r, col, counters.index(cv.counter)] += b
        for en in cv.events:
            if cv.attribute is not None:
                ev_beta[:, ev_index[en], cols.index(cv.attribute)] += b
            else:
                ev_gamma[:, ev_index[en], counters.index(cv.counter)] += b
    comp_col = np.arange(S, dtype=np.int64)
    for nm, st in scenario.states.items():
        rows = rows_of[nm]
        if st.absorbing:
            continue
        comp = [to for to, e in scenario.transitions.get(nm, {}).items() if e is None]
        for pos, r in enumerate(rows):
            if st.tunnel:
                comp_col[r] = r + 1 if pos + 1 < st.tunnel else first_row[st.tunnel_exit]
            elif st.clock and comp and comp[0] == nm:  # staying moves one cycle on in the state
                comp_col[r] = r + 1 if pos + 1 < st.clock else r
            else:
                comp_col[r] = first_row[comp[0]] if comp else -1
    L = max([len(t.multipliers) for t in spec.time_in_state] + [1])
    tis_tr = np.ones((S, S, L))
    for t in spec.time_in_state:
        m = list(t.multipliers) + [t.multipliers[-1]] * (L - len(t.multipliers))
        for r in rows_of[t.transition[0]]:
            tis_tr[r, first_row[t.transition[1]], :] = m

    return dict(beta_tr=beta_tr, gamma_tr=gamma_tr, ev_beta=ev_beta, ev_gamma=ev_gamma, comp_col=comp_col,
                tis_tr=tis_tr)


def _event_rate_ratios(c: Any) -> np.ndarray:
    """``ev_rr[ns, strategies, T, E]``: strategy rate ratios on events, with optional linear waning back to 1."""
    spec, ns, T, strategies, nst, E = c.spec, c.ns, c.T, c.strategies, c.nst, c.E
    problems, envs0, arr, validate = c.problems, c.envs0, c.arr, c.validate
    scenario, ev_index = c.scenario, c.ev_index
    ev_rr = np.ones((ns, nst, T, max(E, 1)))[..., :E] if E else np.ones((1, nst, T, 0))
    for si, st in enumerate(strategies):
        for m in spec.event_modifiers.get(st.name, []):
            rr = arr(envs0[si], m.rr, f"{m.key}.rr")[0]
            if validate and np.any(~np.isfinite(rr) | (rr < 0)):
                problems.append(Problem(scenario.origin(f"{m.key}.rr"), f"{m.key}.rr",
                                        f"is {rr[~np.isfinite(rr) | (rr < 0)][0]:.6g}{_text(m.rr)}; rate ratios must be "
                                        f"finite and >= 0 [strategy '{st.name}']"))
            lo, hi = m.cycles
            prof = np.ones((ns, T))
            prof[:, lo - 1:hi] = rr[:, None]
            if m.waning_until is not None:
                for k in range(hi + 1, min(m.waning_until, T + 1)):
                    frac = (k - hi) / (m.waning_until - hi)
                    prof[:, k - 1] = rr + (1.0 - rr) * frac
            for en in m.events:
                ev_rr[:, si, :, ev_index[en]] *= prof

    return ev_rr


def _engagement_arrays(c: Any) -> dict[str, np.ndarray]:
    """Treatment engagement: sessions offered, dropout, attendance, costs per session and per place, effect mode."""
    scenario = c.scenario
    model, spec, ns, R, T, strategies = c.model, c.spec, c.ns, c.R, c.T, c.strategies
    nst, sector_idx, problems, rows_of, envs0, arr = c.nst, c.sector_idx, c.problems, c.rows_of, c.envs0, c.arr
    validate = c.validate
    eng_sessions = np.zeros((nst, T))
    eng_dropout = np.zeros((ns, nst))
    eng_ab = np.ones((ns, nst, 2))
    eng_cps = np.zeros((ns, nst, R))
    eng_cpp = np.zeros((ns, nst, R))
    eng_mode = np.zeros(nst, dtype=np.int64)
    eng_eligible = np.array([0 if scenario.states[list(scenario.states)[o]].absorbing else 1 for o in model.state_of],
                            dtype=np.int64)
    for si, st in enumerate(strategies):
        en = spec.engagement.get(st.name)
        if en is None:
            continue
        env = envs0[si]
        sess = arr(env, en.sessions, f"{en.key}.sessions")[0]
        if validate and np.any(~np.isfinite(sess) | (sess < 0)):
            problems.append(Problem(scenario.origin(f"{en.key}.sessions"), f"{en.key}.sessions",
                                    f"is {sess[~np.isfinite(sess) | (sess < 0)][0]:.6g}{_text(en.sessions)}; sessions "
                                    "offered per cycle must be a finite number >= 0"))
            continue
        if np.ptp(sess) > 0:
            problems.append(Problem(scenario.origin(f"{en.key}.sessions"), f"{en.key}.sessions",
                                    "sessions per cycle cannot vary between PSA samples (it sets the schedule)"))
        eng_sessions[si, en.cycles[0] - 1:en.cycles[1]] = float(sess[0])
        eng_dropout[:, si] = arr(env, en.dropout, f"{en.key}.dropout")[0]
        eng_ab[:, si, 0] = arr(env, en.attendance_alpha, f"{en.key}.attendance.alpha")[0]
        eng_ab[:, si, 1] = arr(env, en.attendance_beta, f"{en.key}.attendance.beta")[0]
        for sec, e in en.cost_per_session.items():
            eng_cps[:, si, sector_idx[sec]] = arr(env, e, f"{en.key}.cost_per_session.{sec}")[0]
        for sec, e in en.cost_per_place.items():
            eng_cpp[:, si, sector_idx[sec]] = arr(env, e, f"{en.key}.cost_per_place.{sec}")[0]
        eng_mode[si] = 1 if en.effect == "dose" else 0
        if en.states is not None:
            eng_eligible[:] = 0
            for nm in en.states:
                eng_eligible[rows_of[nm]] = 1
        if validate:
            checks = [("dropout", en.dropout, eng_dropout[:, si], False, "the dropout hazard per cycle"),
                      ("attendance.alpha", en.attendance_alpha, eng_ab[:, si, 0], True, "a shape of the attendance Beta"),
                      ("attendance.beta", en.attendance_beta, eng_ab[:, si, 1], True, "a shape of the attendance Beta")]
            checks += [(f"cost_per_session.{sec}", e, eng_cps[:, si, sector_idx[sec]], False, "a cost per session")
                       for sec, e in en.cost_per_session.items()]
            checks += [(f"cost_per_place.{sec}", e, eng_cpp[:, si, sector_idx[sec]], False, "a cost per place")
                       for sec, e in en.cost_per_place.items()]
            for k, e, v, positive, what in checks:
                bad = ~np.isfinite(v) | ((v <= 0) if positive else (v < 0))
                if np.any(bad):
                    problems.append(Problem(scenario.origin(f"{en.key}.{k}"), f"{en.key}.{k}",
                                            f"is {v[bad][0]:.6g}{_text(e)}; {what} must be a finite number "
                                            f"{'> 0' if positive else '>= 0'} [strategy '{st.name}']"))
    return dict(eng_sessions=eng_sessions, eng_dropout=eng_dropout, eng_ab=eng_ab, eng_eligible=eng_eligible,
                eng_cost_per_session=eng_cps, eng_cost_per_place=eng_cpp, eng_mode=eng_mode)


def _expected_rewards(c: Any, x_rate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transition rewards with the events booked in expectation added (rate x reward, on the move out of a state)."""
    model, ns, S, R, expected, problems = c.model, c.ns, c.S, c.R, c.expected, c.problems
    TR_mats, TR_map = model.TR, model.TR_map
    if expected:
        n_blocks = x_rate.shape[1]
        TR_mats = np.zeros((max(ns, model.TR.shape[0]), n_blocks, S, S, R))
        if model.has_tr:
            TR_mats += model.TR
        x_reward = _reward_block(c, expected)
        # expected amount per person-cycle in state x: sum_e rate_e(x) * reward_e, booked on the move out of x
        per_state = np.einsum("nbxe,ner->nbxr", x_rate, x_reward)
        TR_mats = TR_mats + per_state[:, :, :, None, :]
        TR_map = model.P_map
        if problems:
            from heecon.model.markov import _dedupe

            raise ScenarioError(_dedupe(problems))
    return TR_mats, TR_map


