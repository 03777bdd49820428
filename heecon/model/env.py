"""The parameter environment of one strategy: every parameter's value over segments of cycles and PSA samples, in
dependency order, with the problems of each evaluation collected (:class:`_Env`), and which parameters depend on
time. Shared by the cohort compilation (:mod:`heecon.model.markov`) and the model types built on it
(:mod:`heecon.model.partitioned`, :mod:`heecon.model.tree`, :mod:`heecon.model.microsim`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from heecon.scenario.errors import Problem
from heecon.scenario.expr import TIME_NAMES, Expr, ExprError, check_arity, make_functions
from heecon.scenario.graph import topological_order
from heecon.scenario.types import Scenario, Strategy


def _param_graph(scenario: Scenario, overrides: Mapping[str, Expr]) -> dict[str, list[str]]:
    graph = {}
    for n, p in scenario.parameters.items():
        e = overrides.get(n, p.expr)
        deps = set(e.names)
        for t in e.calls & set(scenario.tables):
            mult = scenario.tables[t].multiplier
            if mult is not None:
                deps |= mult.names
        graph[n] = sorted(deps & set(scenario.parameters))
    return graph


class _Env:
    """Parameter values for one strategy, evaluated over segments and samples."""

    def __init__(self, scenario: Scenario, strategy: Strategy, draws: Mapping[str, np.ndarray], first_cycles: np.ndarray,
                 problems: list[Problem], check: set[str] | None = None):
        self.scenario = scenario
        self.strategy = strategy
        self.problems = problems
        st = scenario.settings
        dt = st.cycle_years
        cyc = np.asarray(first_cycles, dtype=float)[:, None]
        self.nseg = len(first_cycles)
        self.env: dict[str, Any] = {"cycle": cyc, "time": (cyc - 1.0) * dt}
        if st.start_age is not None:
            self.env["age"] = st.start_age + (cyc - 1.0) * dt
        tables = {name: self._table_fn(name) for name in scenario.tables}
        self.functions = make_functions(dt, tables)
        self.draws_used: set[str] = set()
        self.reported = check if check is not None else set()  # parameters reported (their uses are not, again)
        overrides = strategy.parameters
        graph = _param_graph(scenario, overrides)
        for name in topological_order(graph):
            # costs with their own price year are brought to settings.price_year with the scenario's price index
            factor = scenario.price_factor(name)
            if name in draws and name not in overrides:
                self.env[name] = np.asarray(draws[name], dtype=float) * factor
                self.draws_used.add(name)
                if check is not None and name not in check:
                    self._check_finite(name, scenario.parameters[name].expr, scenario.parameters[name].key, check)
                continue
            p = scenario.parameters[name]
            e = overrides.get(name, p.expr)
            key = f"{strategy.key}.parameters.{name}" if name in overrides else p.key
            n_problems = len(problems)
            v = self.eval(e, key)
            self.env[name] = v * factor if factor != 1.0 and name not in overrides else v
            if check is not None and (len(problems) > n_problems or any(d in check for d in graph[name])):
                check.add(name)  # its expression failed, or uses a parameter already reported: not reported again
            if check is not None and name not in check:
                self._check_finite(name, e, key, check)

    def _check_finite(self, name: str, e: Expr, key: str, reported: set[str]) -> None:
        """Report a parameter whose value is inf or nan anywhere (once per parameter, where it first occurs)."""
        v = np.asarray(self.env[name], dtype=float)
        bad = ~np.isfinite(v)
        if not np.any(bad):
            return
        reported.add(name)
        where = [f"strategy '{self.strategy.name}'"]
        idx = tuple(int(x) for x in np.argwhere(bad)[0]) if v.ndim else ()
        if v.ndim == 2 and v.shape[0] > 1:
            cyc = int(np.asarray(self.env["cycle"])[idx[0], 0])
            st = self.scenario.settings
            age = f" (age {st.start_age + (cyc - 1) * st.cycle_years:g})" if st.start_age is not None else ""
            where.append(f"cycle {cyc}{age}")
        if v.ndim >= 1 and v.shape[-1] > 1:
            where.append(f"PSA sample {idx[-1]}")
        first = v[idx] if v.ndim else v
        how = f"the expression {e.text!r}" if e.constant is None else "its value"
        if name in self.draws_used:
            how = "its PSA draw"
        self.problems.append(Problem(self.scenario.origin(key), key,
                                     f"parameter '{name}' is {first} ({how} gives a number that is not finite: a "
                                     f"division by zero, log(0), an overflow...) [{', '.join(where)}]; every "
                                     "parameter must be a finite number"))
    def _table_fn(self, name: str) -> Callable[[Any], Any]:
        t = self.scenario.tables[name]

        def lookup(x: Any) -> Any:
            x = np.asarray(x, dtype=float)
            if t.extrapolation == "error":
                self._check_table_range(t, x)
            if t.interpolation == "linear":
                v = np.interp(x, t.keys, t.values)
            else:
                idx = np.clip(np.searchsorted(t.keys, x, side="right") - 1, 0, len(t.keys) - 1)
                v = t.values[idx]
            if t.multiplier is not None:
                v = v * t.multiplier.evaluate(self.env, self.functions)
            return v

        return lookup

    def _check_table_range(self, t: Any, x: np.ndarray) -> None:
        """A lookup outside the table's keys is an error unless the table says how to extrapolate."""
        bad = (x < t.keys[0]) | (x > t.keys[-1])
        if not np.any(bad) or any(p.key == t.key and p.message.startswith("looked up at") for p in self.problems):
            return
        idx = np.argwhere(np.atleast_1d(bad))[0]
        v = float(np.atleast_1d(x)[tuple(idx)])
        where = f"strategy '{self.strategy.name}'"
        cyc = self.env["cycle"]
        if np.ndim(x) >= 1 and np.shape(x)[0] == cyc.shape[0] and cyc.shape[0] > 1:
            c = int(cyc[int(idx[0]), 0])
            where += f", cycle {c}" + (f" (age {float(self.env['age'][int(idx[0]), 0]):g})" if "age" in self.env else "")
        end = f"beyond its last key {t.keys[-1]:g}" if v > t.keys[-1] else f"before its first key {t.keys[0]:g}"
        self.problems.append(Problem(self.scenario.origin(t.key), t.key,
                                     f"looked up at {v:g} [{where}], {end}: the table does not say what holds there. "
                                     "Extend the table, or set extrapolation = \"constant\" in it to carry its last "
                                     "value on (and its first value before its first key)"))

    def eval(self, e: Expr, key: str, extra: Mapping[str, Any] | None = None) -> Any:
        if e.constant is not None:
            return e.constant
        for msg in check_arity(e, self.functions):
            self.problems.append(Problem(self.scenario.origin(key), key, msg))
            return np.nan
        env = self.env if not extra else {**self.env, **extra}
        try:
            return e.evaluate(env, self.functions)
        except ExprError as exc:
            self.problems.append(Problem(self.scenario.origin(key), key, str(exc)))
        except KeyError as exc:  # a name that is not defined here (e.g. age without start_age)
            self.problems.append(Problem(self.scenario.origin(key), key, f"the name {exc} is not defined here"))
        return np.nan


def _time_dependent_params(scenario: Scenario, overrides: Mapping[str, Expr]) -> set[str]:
    graph = _param_graph(scenario, overrides)
    dep: set[str] = set()
    for name in topological_order(graph):
        e = overrides.get(name, scenario.parameters[name].expr)
        if e.names & TIME_NAMES or any(d in dep for d in graph[name]):
            dep.add(name)
    return dep
