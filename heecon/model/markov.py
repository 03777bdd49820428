"""Compile a validated scenario (and optional parameter draws) into dense arrays for the kernels.

Layout (see docs/architecture-notes.md)::

    P   [nPs, nP, S, S]      transition matrices; P_map[strategy, cycle] -> matrix index
    V   [nVs, nV, S, R]      per-state rewards of a cycle; V_map[strategy, cycle]
    TR  [nTs, nTR, S, S, R]  one-off rewards on moves; TR_map[strategy, cycle]
    m0  [nMs, n_strategies, S]
    W   [2, 3, R, T]         weights (discounted, undiscounted) x (a, b, c) x reward x cycle

The leading sample axis has length 1 when nothing depends on the PSA draws
(broadcast, never copied). Matrices are stored once per *segment*: a run of
cycles over which nothing changes for a strategy (a time-homogeneous strategy
has one; a window of cycles for a treatment effect adds two; expressions of
``cycle``, ``time`` or ``age`` make every cycle its own segment). This
generalises "a cycle axis of length 1 when time-homogeneous" without copying
a matrix per cycle for a strategy whose effect lasts a few cycles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from heecon.model.env import _Env, _time_dependent_params
from heecon.model.weights import cycle_weights
from heecon.scenario.expr import TIME_NAMES, Expr
from heecon.scenario.errors import Problem, ScenarioError
from heecon.scenario.types import Scenario, Strategy

__all__ = ["CompiledModel", "compile_model", "parameter_value", "reward_names"]

PROB_TOL = 1e-9


#: The QALY column of a cost-benefit view ([cba]): the same QALYs, discounted at the cost-benefit health rate.
CBA_QALYS = "qalys_cba"


def reward_names(scenario: Scenario) -> list[str]:
    """Outcome columns: one per cost sector, the QALYs of a cost-benefit view when the scenario has one, then
    QALYs and life years (always the last two)."""
    cba = getattr(scenario, "analyses", None) is not None and scenario.analyses.cba is not None
    return list(scenario.sectors) + ([CBA_QALYS] if cba else []) + ["qalys", "lys"]


def copy_qalys_to_cba(names: list[str], *arrays: np.ndarray) -> None:
    """Give the cost-benefit QALY column (if any) the QALY column's rewards, in place (reward axis last)."""
    if CBA_QALYS in names:
        i, q = names.index(CBA_QALYS), names.index("qalys")
        for a in arrays:
            a[..., i] = a[..., q]


@dataclass
class CompiledModel:
    scenario: Scenario
    state_names: list[str]  # expanded (tunnels as NAME[i])
    state_of: np.ndarray  # expanded index -> named-state index
    reward_names: list[str]
    P: np.ndarray
    P_map: np.ndarray
    V: np.ndarray
    V_map: np.ndarray
    TR: np.ndarray
    TR_map: np.ndarray
    has_tr: bool
    m0: np.ndarray
    start_rewards: np.ndarray  # [nMs, n_strategies, R] one-off at model start, per person
    W: np.ndarray
    n_samples: int
    dead: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    notes: list[str] = field(default_factory=list)  # what the compilation changed (e.g. crossing curves capped)

    @property
    def n_strategies(self) -> int:
        return self.P_map.shape[0]

    @property
    def n_cycles(self) -> int:
        return self.P_map.shape[1]

    @property
    def sector_count(self) -> int:
        return len(self.scenario.sectors)


class _Expansion:
    """Tunnel states expanded into chains of sub-states."""

    def __init__(self, scenario: Scenario):
        self.names: list[str] = []
        self.first: dict[str, int] = {}
        self.owner: list[int] = []
        self.position: list[int] = []  # tunnel_cycle (1-based), 0 for ordinary states
        for i, (name, st) in enumerate(scenario.states.items()):
            self.first[name] = len(self.names)
            if st.timed:  # a tunnel, or a state whose time in it is tracked (the last sub-state holds)
                for j in range(st.n_sub):
                    self.names.append(f"{name}[{j + 1}]")
                    self.owner.append(i)
                    self.position.append(j + 1)
            else:
                self.names.append(name)
                self.owner.append(i)
                self.position.append(0)
        self.S = len(self.names)


def _strategy_exprs(scenario: Scenario, strategy: Strategy) -> list[Expr]:
    out: list[Expr] = []
    for row in scenario.transitions.values():
        out += [e for e in row.values() if e is not None]
    for st in scenario.states.values():
        out.append(strategy.utilities.get(st.name, st.utility))
        out += list(st.costs.values())
    for tr in scenario.transition_rewards:
        out += list(tr.costs.values()) + ([tr.qalys] if tr.qalys is not None else [])
    for m in strategy.modifiers:
        out.append(m.value)
    for c in strategy.extra_costs:
        out += list(c.costs.values())
    return out


def _segments(scenario: Scenario, strategy: Strategy) -> np.ndarray:
    """First cycle of each segment (cycles 1..T) for a strategy."""
    T = scenario.settings.n_cycles
    if scenario.partitioned is not None:  # the curves move the cohort differently in every cycle
        return np.arange(1, T + 1)
    tdep = _time_dependent_params(scenario, strategy.parameters)
    for e in _strategy_exprs(scenario, strategy):
        if e.names & (TIME_NAMES | tdep):
            return np.arange(1, T + 1)
        for t in e.calls & set(scenario.tables):
            mult = scenario.tables[t].multiplier
            if mult is not None and mult.names & (TIME_NAMES | tdep):
                return np.arange(1, T + 1)
    starts = {1}
    for lo, hi in [m.cycles for m in strategy.modifiers] + [c.cycles for c in strategy.extra_costs]:
        starts.add(lo)
        if hi + 1 <= T:
            starts.add(hi + 1)
    return np.array(sorted(s for s in starts if s <= T), dtype=np.int64)


def _as2d(v: Any, nseg: int, ns: int) -> np.ndarray:
    a = np.asarray(v, dtype=float)
    if a.ndim <= 1:
        a = a.reshape(1, -1) if a.ndim == 1 else a.reshape(1, 1)
    return np.broadcast_to(a, (nseg, ns))


def compile_model(scenario: Scenario, draws: Mapping[str, np.ndarray] | None = None, *, validate: bool = True) -> CompiledModel:
    """Build the kernel arrays for every strategy.

    Parameters
    ----------
    scenario
        A validated scenario.
    draws
        Parameter name -> values per PSA sample (shape ``(n_samples,)``); other
        parameters take their base-case values. ``None`` compiles the base case.
    validate
        Check every probability, row sum, cost and utility at every cycle and
        sample (raises :class:`ScenarioError` listing each problem).
    """
    draws = dict(draws or {})
    lengths = {len(np.atleast_1d(v)) for v in draws.values()}
    if len(lengths) > 1:
        raise ValueError(f"parameter draws have different lengths: {sorted(lengths)}")
    ns = lengths.pop() if lengths else 1
    for k, v in draws.items():
        if k not in scenario.parameters:
            raise ValueError(f"draws given for unknown parameter {k!r}")
        draws[k] = np.atleast_1d(np.asarray(v, dtype=float))
    st = scenario.settings
    T = st.n_cycles
    exp = _Expansion(scenario)
    S = exp.S
    names = reward_names(scenario)
    R = len(names)
    state_list = list(scenario.states.values())
    problems: list[Problem] = []

    P_blocks, V_blocks, TR_blocks = [], [], []
    P_map = np.zeros((len(scenario.strategies), T), dtype=np.int64)
    m0 = np.zeros((ns, len(scenario.strategies), S))
    start_rewards = np.zeros((ns, len(scenario.strategies), R))
    has_tr = bool(scenario.transition_rewards)
    dead = np.array([state_list[exp.owner[i]].dead for i in range(S)])
    n_blocks = 0
    notes: list[str] = []
    reported: set[str] | None = set() if validate else None  # parameters found not finite (reported once each)
    segments = [_segments(scenario, strat) for strat in scenario.strategies.values()]
    _check_compiled_size(scenario, segments, ns, S, R, has_tr)

    for si, strat in enumerate(scenario.strategies.values()):
        firsts = segments[si]
        nseg = len(firsts)
        ends = np.append(firsts[1:] - 1, T)
        for j, (a, b) in enumerate(zip(firsts, ends)):
            P_map[si, a - 1:b] = n_blocks + j
        n_blocks += nseg
        blk = _Block(scenario, strat, exp, firsts, ns, _Env(scenario, strat, draws, firsts, problems, reported), problems,
                     validate, notes)
        P_blocks.append(_transition_block(blk))
        V_blocks.append(_state_reward_block(blk, R))
        TR_blocks.append(_transition_reward_block(blk, R, has_tr))
        _start_block(blk, draws, si, m0, start_rewards)

    if problems:
        raise ScenarioError(_dedupe(problems))
    copy_qalys_to_cba(names, *V_blocks, *TR_blocks, start_rewards)

    P_all = np.ascontiguousarray(np.concatenate(P_blocks, axis=1))
    V_all = np.ascontiguousarray(np.concatenate(V_blocks, axis=1))
    if has_tr:
        TR_all = np.ascontiguousarray(np.concatenate(TR_blocks, axis=1))
        TR_map = P_map.copy()
    else:
        TR_all = np.zeros((1, 1, S, S, R))
        TR_map = np.zeros_like(P_map)
    # collapse the sample axis where nothing varies by sample
    P_all, V_all, TR_all = (_squeeze_samples(x) for x in (P_all, V_all, TR_all))
    m0 = _squeeze_samples(m0)
    start_rewards = _squeeze_samples(start_rewards)
    return CompiledModel(
        scenario=scenario, state_names=exp.names, state_of=np.array(exp.owner, dtype=np.int64), reward_names=names,
        P=P_all, P_map=P_map, V=V_all, V_map=P_map.copy(), TR=TR_all, TR_map=TR_map, has_tr=has_tr, m0=m0,
        start_rewards=start_rewards, W=reward_weights(scenario, names), n_samples=ns, dead=dead, notes=notes,
    )


def _check_compiled_size(scenario: Scenario, segments: list[np.ndarray], ns: int, S: int, R: int, has_tr: bool) -> None:
    """Refuse (:class:`heecon.model.sizes.MemoryLimitError`) before allocating transition and reward arrays that would
    not fit in memory: one ``S x S`` matrix (and ``S x R`` rewards, ``S x S x R`` move rewards) per segment,
    strategy and PSA sample, times the compiler's temporaries."""
    from heecon.model.sizes import COMPILE_FACTOR, check_allocation

    n_mats = ns * sum(len(f) for f in segments)
    parts = {"transition matrices": n_mats * S * S * 8.0, "state rewards": n_mats * S * R * 8.0}
    if has_tr:
        parts["move rewards"] = n_mats * S * S * R * 8.0
    parts = {k: v * COMPILE_FACTOR for k, v in parts.items()}
    st = scenario.settings
    timed = max(len(f) for f in segments) > 1
    tips = []
    if timed:
        tips.append(f"fewer cycles (now {st.n_cycles:,}: with expressions of cycle, time or age, or windows of "
                    "cycles, each strategy has a matrix for each run of cycles in which nothing changes)")
    if S > len(scenario.states):
        tips.append(f"shorter tunnel states (the {len(scenario.states)} states expand to {S:,} rows)")
    if ns > 1:
        tips.append(f"fewer PSA samples per chunk (--chunk-size; now {ns:,})")
    check_allocation(parts, f"to compile this model ({n_mats:,} matrices of {S:,} x {S:,} states)", tips)


def reward_weights(scenario: Scenario, names: list[str]) -> np.ndarray:
    """``W[discounted?, kind, reward, cycle]``: within-cycle weights times discount factors (costs by the cost rate,
    QALYs and life years by the effect rate; ``W[1]`` undiscounted)."""
    st = scenario.settings
    T, dt = st.n_cycles, st.cycle_years
    W = np.zeros((2, 3, len(names), T))
    cba = scenario.analyses.cba if getattr(scenario, "analyses", None) is not None else None
    for r, name in enumerate(names):
        sched = st.discount_costs if r < len(scenario.sectors) else st.discount_effects
        if name == CBA_QALYS and cba.discount_effects is not None:
            sched = cba.discount_effects
        W[0, :, r, :] = cycle_weights(st.counting, T, dt, sched, st.discounting, st.discount_offset)
        W[1, :, r, :] = cycle_weights(st.counting, T, dt, type(sched).constant(0.0), st.discounting)
    return W


@dataclass
class _Block:
    """One strategy's segments being compiled: what every part of it needs."""

    scenario: Scenario
    strat: Strategy
    exp: Any  # _Expansion
    firsts: np.ndarray
    ns: int
    env: Any  # _Env
    problems: list[Problem]
    validate: bool
    notes: list[str] = field(default_factory=list)

    @property
    def nseg(self) -> int:
        return len(self.firsts)

    def E(self, e: Expr, key: str, extra: Mapping[str, Any] | None = None) -> np.ndarray:
        return _as2d(self.env.eval(e, key, extra), self.nseg, self.ns)

    def known(self, e: Expr | None) -> bool:
        """Whether ``e`` uses a parameter already reported (failed or not finite): its values that are not finite
        are that problem's consequence, not reported again."""
        if e is None or not self.env.reported:
            return False
        names = set(e.names)
        for t in e.calls & set(self.scenario.tables):
            mult = self.scenario.tables[t].multiplier
            if mult is not None:
                names |= mult.names
        return bool(names & self.env.reported)


def _transition_block(blk: _Block) -> np.ndarray:
    """Transition probabilities ``[ns, nseg, S, S]`` of one strategy's segments (modifiers, complements, tunnels)."""
    scenario, strat, exp, firsts, ns, nseg = blk.scenario, blk.strat, blk.exp, blk.firsts, blk.ns, blk.nseg
    E, validate, problems, S = blk.E, blk.validate, blk.problems, blk.exp.S
    if scenario.partitioned is not None:
        from heecon.model.partitioned import partitioned_transitions

        return partitioned_transitions(blk)
    state_list = list(scenario.states.values())
    # built as planes Pt[r, c] of shape (nseg, ns), contiguous, and transposed once at the end: writing the
    # [ns, nseg, S, S] layout cell by cell was a strided scatter (most of a cohort PSA's compile time)
    Pt = np.zeros((S, S, nseg, ns))
    for fi, fst in enumerate(state_list):
        rows = [exp.first[fst.name] + j for j in range(fst.n_sub)]
        if fst.absorbing:
            for r in rows:
                Pt[r, r] = 1.0
            continue
        cells = scenario.transitions.get(fst.name, {})
        for pos, r in enumerate(rows):
            extra = {"tunnel_cycle": float(pos + 1)} if fst.timed else None
            total = np.zeros((nseg, ns))
            comp_col = None
            for to, e in cells.items():
                c = exp.first[to]
                if fst.clock and to == fst.name:  # staying moves one cycle on in the state (the last one holds)
                    c = r + 1 if pos + 1 < fst.clock else r
                if e is None:
                    comp_col = c
                    continue
                val = E(e, f"transitions.{fst.name}.{to}", extra).copy()
                for m in strat.modifiers:
                    if (fst.name, to) in m.transitions:
                        active = ((firsts >= m.cycles[0]) & (firsts <= m.cycles[1]))[:, None]
                        mv = E(m.value, f"{m.key}.{m.kind}")
                        if m.kind == "rr":
                            val = np.where(active, val * mv, val)
                        elif m.kind == "value":
                            val = np.where(active, mv, val)
                        else:
                            with np.errstate(all="ignore"):
                                val = np.where(active, 1.0 - np.power(np.clip(1.0 - val, 0.0, None), mv), val)
                if validate:
                    _check_probability(val.T, f"transitions.{fst.name}.{to}", scenario, strat, firsts, problems, e,
                                       blk.known(e) or any(blk.known(m.value) for m in strat.modifiers))
                Pt[r, c] += val
                total += val
            if fst.tunnel:
                nxt = r + 1 if pos + 1 < fst.tunnel else exp.first[fst.tunnel_exit]  # type: ignore[index]
                comp_col = nxt
            tt = total.T  # [ns, nseg], the layout of the messages
            if comp_col is not None:
                rest = 1.0 - total
                if validate:
                    bad = rest.T < -PROB_TOL
                    if np.any(bad):
                        _report(problems, scenario, f"transitions.{fst.name}", strat, firsts, bad,
                                lambda i, j: f"the probabilities of leaving '{fst.name}' sum to {tt[i, j]:.6g} > 1, "
                                             "so the complement \"C\" would be negative")
                Pt[r, comp_col] += np.clip(rest, 0.0, None)
            elif validate:
                bad = np.abs(tt - 1.0) > PROB_TOL
                if np.any(bad):
                    _report(problems, scenario, f"transitions.{fst.name}", strat, firsts, bad,
                            lambda i, j: f"row '{fst.name}' sums to {tt[i, j]:.9g}; rows must sum to 1 "
                                         "(or use \"C\" for the complement)")
    return Pt.transpose(3, 2, 0, 1)


def _state_reward_block(blk: _Block, R: int) -> np.ndarray:
    """Per-cycle rewards ``[ns, nseg, S, R]``: state costs by sector, QALYs and life years, extra strategy costs."""
    scenario, strat, exp, firsts, ns, nseg = blk.scenario, blk.strat, blk.exp, blk.firsts, blk.ns, blk.nseg
    E, validate, problems, S = blk.E, blk.validate, blk.problems, blk.exp.S
    state_list = list(scenario.states.values())
    sector_idx = {s: i for i, s in enumerate(scenario.sectors)}
    iq, il = R - 2, R - 1
    dt = scenario.settings.cycle_years
    Vt = np.zeros((S, R, nseg, ns))  # planes (nseg, ns), transposed once at the end (see _transition_block)
    for fi, fst in enumerate(state_list):
        for pos in range(fst.n_sub):
            r = exp.first[fst.name] + pos
            extra = {"tunnel_cycle": float(pos + 1)} if fst.timed else None
            for sec, e in fst.costs.items():
                v = E(e, f"{fst.key}.costs.{sec}", extra)
                if validate:
                    _check_nonneg(v.T, f"{fst.key}.costs.{sec}", scenario, strat, firsts, problems, e, blk.known(e))
                Vt[r, sector_idx[sec]] += v
            if not fst.dead:
                ue = strat.utilities.get(fst.name, fst.utility)
                ukey = f"{strat.key}.utilities.{fst.name}" if fst.name in strat.utilities else f"{fst.key}.utility"
                up = E(ue, ukey, extra)
                if validate:
                    u = up.T
                    bad = (np.zeros(u.shape, bool) if blk.known(ue) else ~np.isfinite(u)) | (u > 1.0 + 1e-12)
                    if np.any(bad):
                        _report(problems, scenario, ukey, strat, firsts, bad,
                                lambda i, j: f"utility is {u[i, j]:.10g}{_from(ue, u[i, j])}; utilities must be "
                                             "finite and at most 1")
                Vt[r, iq] = up * dt
                Vt[r, il] = dt
    for c in strat.extra_costs:
        active = (firsts >= c.cycles[0]) & (firsts <= c.cycles[1])
        for sec, e in c.costs.items():
            v = E(e, f"{c.key}.costs.{sec}") * active[:, None]
            if validate:
                _check_nonneg(v.T, f"{c.key}.costs.{sec}", scenario, strat, firsts, problems, e, blk.known(e))
            for sname in c.states:
                for pos in range(scenario.states[sname].n_sub):
                    Vt[exp.first[sname] + pos, sector_idx[sec]] += v
    return Vt.transpose(3, 2, 0, 1)


def _transition_reward_block(blk: _Block, R: int, has_tr: bool) -> np.ndarray:
    """One-off rewards on moves ``[ns, nseg or 1, S, S, R]``."""
    scenario, strat, exp, ns, nseg = blk.scenario, blk.strat, blk.exp, blk.ns, blk.nseg
    E, validate, problems, firsts, S = blk.E, blk.validate, blk.problems, blk.firsts, blk.exp.S
    state_list = list(scenario.states.values())
    sector_idx = {s: i for i, s in enumerate(scenario.sectors)}
    iq = R - 2
    TR = np.zeros((ns, nseg if has_tr else 1, S, S, R))
    for tr in scenario.transition_rewards:
        if tr.strategies is not None and strat.name not in tr.strategies:
            continue
        froms = [i for i in range(S) if tr.from_state in ("*", state_list[exp.owner[i]].name)]
        tos = [exp.first[s.name] for s in state_list if tr.to_state in ("*", s.name)]
        if tr.from_state == tr.to_state != "*" and scenario.states[tr.to_state].clock:  # staying moves along
            tos = [i for i in range(S) if exp.owner[i] == exp.owner[exp.first[tr.to_state]]]
        for sec, e in tr.costs.items():
            v = E(e, f"{tr.key}.costs.{sec}").T
            if validate:
                _check_nonneg(v, f"{tr.key}.costs.{sec}", scenario, strat, firsts, problems, e, blk.known(e))
            for a in froms:
                for b in tos:
                    if exp.owner[a] != exp.owner[b] or tr.from_state == tr.to_state:
                        TR[:, :, a, b, sector_idx[sec]] += v
        if tr.qalys is not None:
            v = E(tr.qalys, f"{tr.key}.qalys").T
            if validate:
                _check_finite(v, f"{tr.key}.qalys", "the QALY change", scenario, strat, firsts, problems, tr.qalys,
                              blk.known(tr.qalys))
            for a in froms:
                for b in tos:
                    if exp.owner[a] != exp.owner[b] or tr.from_state == tr.to_state:
                        TR[:, :, a, b, iq] += v
    return TR


def _start_block(blk: _Block, draws: Mapping[str, np.ndarray], si: int, m0: np.ndarray,
                 start_rewards: np.ndarray) -> None:
    """The start distribution ``m0[:, si]`` and one-off start rewards ``start_rewards[:, si]`` of strategy ``si``."""
    scenario, strat, exp, ns, validate, problems = blk.scenario, blk.strat, blk.exp, blk.ns, blk.validate, blk.problems
    sector_idx = {s: i for i, s in enumerate(scenario.sectors)}
    iq = start_rewards.shape[2] - 2
    env0 = _Env(scenario, strat, draws, np.array([1]), problems)
    total0 = np.zeros(ns)
    if scenario.tree is not None:  # the tree rolled back: where its terminal nodes send the cohort, and its payoffs
        from heecon.model.tree import tree_start

        tree_start(blk, env0, si, m0, start_rewards)
    for sname, e in scenario.start_states.items() if scenario.tree is None else ():
        v = _as2d(env0.eval(e, f"start.states.{sname}"), 1, ns)[0]
        if validate and np.any((v < 0) | ~np.isfinite(v)):
            problems.append(Problem(scenario.origin(f"start.states.{sname}"), f"start.states.{sname}",
                                    "start shares must be non-negative numbers"))
        m0[:, si, exp.first[sname]] += v
        total0 += v
    if validate and scenario.tree is None and np.any(np.abs(total0 - 1.0) > PROB_TOL):
        problems.append(Problem(scenario.origin("start.states"), "start.states",
                                f"the start shares sum to {total0[np.argmax(np.abs(total0 - 1))]:.9g}; they must sum to 1"))
    costs = [(sec, e, f"start.costs.{sec}") for sec, e in scenario.start_costs.items()]
    costs += [(sec, e, f"{strat.key}.start.costs.{sec}") for sec, e in strat.start_costs.items()]
    for sec, e, key in costs:
        v = _as2d(env0.eval(e, key), 1, ns)[0]
        if validate and np.any(~np.isfinite(v) | (v < 0)):
            bad = v[~np.isfinite(v) | (v < 0)][0]
            problems.append(Problem(scenario.origin(key), key, f"cost is {bad:.6g} ({_expr_text(e)}); costs must be "
                                                               f"finite and not negative [strategy '{strat.name}']"))
        start_rewards[:, si, sector_idx[sec]] += v
    qalys = [(e, k) for e, k in ((scenario.start_qalys, "start.qalys"), (strat.start_qalys, f"{strat.key}.start.qalys"))
             if e is not None]
    for e, key in qalys:
        v = _as2d(env0.eval(e, key), 1, ns)[0]
        if validate and np.any(~np.isfinite(v)):
            problems.append(Problem(scenario.origin(key), key, f"QALYs are {v[~np.isfinite(v)][0]} ({_expr_text(e)}); "
                                                               f"they must be finite [strategy '{strat.name}']"))
        start_rewards[:, si, iq] += v


def _expr_text(e: Expr) -> str:
    """An expression as written, for messages: "the expression 'a / b'" (or the number)."""
    return f"the expression {e.text!r}" if e.constant is None else f"the value {e.constant:g}"


def _squeeze_samples(x: np.ndarray) -> np.ndarray:
    # the second sample first: in a PSA it differs from the first, and the full comparison is skipped
    if x.shape[0] > 1 and np.array_equal(x[1], x[0]) and np.all(x == x[:1]):
        return np.ascontiguousarray(x[:1])
    return x


def _where(scenario: Scenario, strat: Strategy, firsts: np.ndarray, i: int, j: int, ns: int) -> str:
    st = scenario.settings
    cyc = int(firsts[j])
    parts = [f"strategy '{strat.name}'"]
    if len(firsts) > 1:
        parts.append(f"cycle {cyc}")
        if st.start_age is not None:
            parts[-1] += f" (age {st.start_age + (cyc - 1) * st.cycle_years:g})"
    if ns > 1:
        parts.append(f"PSA sample {i}")
    return ", ".join(parts)


def _report(problems: list[Problem], scenario: Scenario, key: str, strat: Strategy, firsts: np.ndarray,
            bad: np.ndarray, msg: Callable[[int, int], str]) -> None:
    i, j = (int(x) for x in np.argwhere(bad)[0])
    n = int(bad.sum())
    more = f" ({n - 1} more sample/cycle combinations too)" if n > 1 else ""
    problems.append(Problem(scenario.origin(key), key, f"{msg(i, j)} [{_where(scenario, strat, firsts, i, j, bad.shape[0])}]{more}"))


def _from(e: Expr | None, v: float) -> str:
    """" (from the expression 'a / b')" where a value that is not finite came from an expression."""
    return f" (from the expression {e.text!r})" if e is not None and e.constant is None and not np.isfinite(v) else ""


def _check_probability(v: np.ndarray, key: str, scenario: Scenario, strat: Strategy, firsts: np.ndarray,
                       problems: list[Problem], e: Expr | None = None, known: bool = False) -> None:
    """Report a probability outside [0, 1] or not finite (``known``: its non-finite values come from a parameter
    already reported, so only finite values out of range are)."""
    bad = (np.zeros(v.shape, bool) if known else ~np.isfinite(v)) | (v < -PROB_TOL) | (v > 1 + PROB_TOL)
    if np.any(bad):
        _report(problems, scenario, key, strat, firsts, bad,
                lambda i, j: f"probability is {v[i, j]:.10g}{_from(e, v[i, j])}; probabilities must be in [0, 1]")


def _check_nonneg(v: np.ndarray, key: str, scenario: Scenario, strat: Strategy, firsts: np.ndarray,
                  problems: list[Problem], e: Expr | None = None, known: bool = False) -> None:
    bad = (np.zeros(v.shape, bool) if known else ~np.isfinite(v)) | (v < 0)
    if np.any(bad):
        _report(problems, scenario, key, strat, firsts, bad,
                lambda i, j: f"cost is {v[i, j]:.6g}{_from(e, v[i, j])}; costs must be finite and not negative")


def _check_finite(v: np.ndarray, key: str, what: str, scenario: Scenario, strat: Strategy, firsts: np.ndarray,
                  problems: list[Problem], e: Expr | None = None, known: bool = False) -> None:
    bad = np.zeros(v.shape, bool) if known else ~np.isfinite(v)
    if np.any(bad):
        _report(problems, scenario, key, strat, firsts, bad,
                lambda i, j: f"{what} is {v[i, j]}{_from(e, v[i, j])}; it must be a finite number")


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        k = (p.file, p.key, p.message)
        if k not in seen:
            seen.add(k)
            out.append(p)
    return out


def parameter_value(scenario: Scenario, name: str) -> float:
    """A parameter's base-case value in the model's price year (a number, or the value of its expression at the
    first cycle, for the comparator)."""
    strat = scenario.strategies[scenario.settings.comparator]
    problems: list[Problem] = []
    env = _Env(scenario, strat, {}, np.array([1]), problems)
    if problems:
        raise ScenarioError(problems)
    return float(np.asarray(env.env[name]).ravel()[0])  # with its price factor, as the model uses it
