"""A decision tree compiled to the start of the cohort model: rollback into payoffs and a start distribution.

Rolling a tree back (folding back: Briggs et al. 2006, section 2.2; Hunink et al. 2014, ch. 3) gives, for
each strategy, the expected payoffs of its paths and the share of the cohort that ends at each terminal node.
A terminal node may hand its share to a state of the Markov model (``state = "Well"``). So a tree compiles to
the two arrays of a cohort model that describe its start:

* ``start_rewards[:, s]``: the expected tree costs by sector and QALYs per person (booked at model start,
  undiscounted, as the textbook tree's payoffs), and
* ``m0[:, s]``: the distribution of the cohort over the states when the Markov part begins,

and every other array (transition matrices, state rewards, weights) is the Markov model's, or, for a pure
tree, that of one empty absorbing state over one cycle. Every analysis (base case, PSA, DSA, VoI, report)
therefore runs on a tree as on any cohort model: totals are the kernel's plus the start rewards, by
:func:`heecon.engine.evaluate.evaluate_totals`, with no special case.

References
----------
Briggs A, Claxton K, Sculpher M (2006). *Decision Modelling for Health Economic Evaluation*, ch. 2. OUP.
Hunink MGM, Weinstein MC, et al. (2014). *Decision Making in Health and Medicine*, 2nd ed., ch. 3. CUP.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from heecon.scenario.errors import Problem
from heecon.scenario.tree_spec import END_STATE

__all__ = ["tree_start", "tree_paths"]

PROB_TOL = 1e-9


class _Rollback:
    """Expected payoffs ``[ns, R]`` and end distribution ``[ns, S]`` per unit of cohort reaching each node."""

    def __init__(self, blk: Any, env0: Any, R: int):
        self.blk, self.env0 = blk, env0
        sc = blk.scenario
        self.tree = sc.tree
        self.ns, self.S, self.R = blk.ns, blk.exp.S, R
        self.sector_idx = {s: i for i, s in enumerate(sc.sectors)}
        self.memo: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def where(self, i: int) -> str:
        s = f"strategy '{self.blk.strat.name}'"
        return s + (f", PSA sample {i}" if self.ns > 1 else "")

    def value(self, e: Any, key: str) -> np.ndarray:
        v = np.asarray(self.env0.eval(e, key), dtype=float)
        return np.broadcast_to(v.reshape(-1) if v.ndim else v, (self.ns,)).astype(float)

    def problem(self, key: str, msg: str) -> None:
        self.blk.problems.append(Problem(self.blk.scenario.origin(key), key, msg))

    def payoff(self, costs: dict[str, Any], qalys: Any, key: str) -> np.ndarray:
        r = np.zeros((self.ns, self.R))
        for sec, e in costs.items():
            v = self.value(e, f"{key}.costs.{sec}")
            if self.blk.validate and np.any(~np.isfinite(v) | (v < 0)):
                i = int(np.argmax(~np.isfinite(v) | (v < 0)))
                self.problem(f"{key}.costs.{sec}", f"cost is {v[i]:.6g}; costs must be finite and not negative "
                                                   f"[{self.where(i)}]")
            r[:, self.sector_idx[sec]] += v
        if qalys is not None:
            v = self.value(qalys, f"{key}.qalys")
            if self.blk.validate and np.any(~np.isfinite(v)):
                self.problem(f"{key}.qalys", f"QALYs must be finite [{self.where(int(np.argmax(~np.isfinite(v))))}]")
            r[:, self.R - 2] += v
        return r

    def probabilities(self, node: Any) -> list[np.ndarray]:
        ps: list[np.ndarray | None] = []
        total = np.zeros(self.ns)
        for b in node.branches:
            if b.p is None:
                ps.append(None)
                continue
            p = self.value(b.p, f"{b.key}.p")
            if self.blk.validate and np.any(~np.isfinite(p) | (p < -PROB_TOL) | (p > 1 + PROB_TOL)):
                i = int(np.argmax(~np.isfinite(p) | (p < -PROB_TOL) | (p > 1 + PROB_TOL)))
                self.problem(f"{b.key}.p", f"probability is {p[i]:.10g}; probabilities must be in [0, 1] "
                                           f"[{self.where(i)}]")
            ps.append(p)
            total = total + p
        comp = any(p is None for p in ps)
        if self.blk.validate:
            bad = (total > 1 + PROB_TOL) if comp else (np.abs(total - 1.0) > PROB_TOL)
            if np.any(bad):
                i = int(np.argmax(bad))
                self.problem(f"{node.key}.branches", (
                    f"the branch probabilities sum to {total[i]:.9g} > 1, so the complement \"C\" would be negative"
                    if comp else f"the branch probabilities sum to {total[i]:.9g}; they must sum to 1 (or give one "
                                 "branch p = \"C\")") + f" [{self.where(i)}]")
        return [np.clip(1.0 - total, 0.0, None) if p is None else p for p in ps]

    def node(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name in self.memo:
            return self.memo[name]
        n = self.tree.nodes[name]
        r = self.payoff(n.costs, n.qalys, n.key)
        d = np.zeros((self.ns, self.S))
        if n.kind == "terminal":
            d[:, self.blk.exp.first[n.state or END_STATE]] = 1.0
        elif n.kind == "decision":
            b = next(b for b in n.branches if b.name == n.choose[self.blk.strat.name])
            rb, db = self.node(b.to)
            r = r + self.payoff(b.costs, b.qalys, b.key) + rb
            d = db
        else:
            for b, p in zip(n.branches, self.probabilities(n)):
                rb, db = self.node(b.to)
                r = r + p[:, None] * (self.payoff(b.costs, b.qalys, b.key) + rb)
                d = d + p[:, None] * db
        self.memo[name] = (r, d)
        return r, d


def tree_start(blk: Any, env0: Any, si: int, m0: np.ndarray, start_rewards: np.ndarray) -> None:
    """Roll the tree back for strategy ``si``: add its start distribution to ``m0[:, si]`` and its expected
    payoffs to ``start_rewards[:, si]`` (problems into ``blk.problems``)."""
    rb = _Rollback(blk, env0, start_rewards.shape[2])
    tree = blk.scenario.tree
    b = next(b for b in tree.nodes[tree.root].branches if b.name == blk.strat.name)
    r, d = rb.node(b.to)
    r = r + rb.payoff(b.costs, b.qalys, b.key)
    m0[:, si] += d
    start_rewards[:, si] += r


def tree_paths(scenario: Any) -> pd.DataFrame:
    """Every path of the base-case tree, strategy by strategy: the rollback written out.

    Returns
    -------
    DataFrame
        One row per root-to-terminal path: ``strategy``, ``path`` (node names, ``" > "``), ``labels`` (branch
        labels), ``terminal``, ``state``, ``probability``, the path's ``costs`` in every sector (the sum of the
        node and branch costs along it), ``qalys``, and ``expected_costs``/``expected_qalys`` (probability x
        payoff): summed over a strategy's paths they are the strategy's expected tree payoffs.
    """
    from heecon.model.env import _Env

    tree = scenario.tree
    if tree is None:
        raise ValueError("This scenario has no [tree].")
    rows: list[dict[str, Any]] = []
    for strat in scenario.strategies.values():
        problems: list[Problem] = []
        env = _Env(scenario, strat, {}, np.array([1]), problems)

        def val(e: Any, key: str) -> float:
            return float(np.ravel(env.eval(e, key))[0]) if e is not None else 0.0

        def costs_of(costs: dict[str, Any], key: str) -> np.ndarray:
            return np.array([val(costs[s], f"{key}.costs.{s}") if s in costs else 0.0 for s in scenario.sectors])

        def walk(name: str, p: float, c: np.ndarray, q: float, path: list[str], labels: list[str]) -> None:
            n = tree.nodes[name]
            c, q = c + costs_of(n.costs, n.key), q + val(n.qalys, f"{n.key}.qalys")
            path = path + [name]
            if n.kind == "terminal":
                rows.append({"strategy": strat.name, "path": " > ".join(path), "labels": " > ".join(labels),
                             "terminal": name, "state": n.state or END_STATE, "probability": p,
                             **{f"costs:{s}": v for s, v in zip(scenario.sectors, c)}, "costs": float(c.sum()),
                             "qalys": q})
                return
            branches = n.branches if n.kind == "chance" else [b for b in n.branches
                                                              if b.name == n.choose[strat.name]]
            if n.kind == "chance":
                fixed = sum(val(b.p, f"{b.key}.p") for b in branches if b.p is not None)
            for b in branches:
                pb = 1.0 if n.kind == "decision" else (1.0 - fixed if b.p is None else val(b.p, f"{b.key}.p"))
                walk(b.to, p * pb, c + costs_of(b.costs, b.key), q + val(b.qalys, f"{b.key}.qalys"), path,
                     labels + [b.label])

        root = next(b for b in tree.nodes[tree.root].branches if b.name == strat.name)
        walk(root.to, 1.0, costs_of(root.costs, root.key), val(root.qalys, f"{root.key}.qalys"), [tree.root],
             [root.label])
        if problems:
            from heecon.scenario.errors import ScenarioError

            raise ScenarioError(problems)
    out = pd.DataFrame(rows)
    out["expected_costs"] = out["probability"] * out["costs"]
    out["expected_qalys"] = out["probability"] * out["qalys"]
    return out
