"""``[tree]``: a decision tree of decision, chance and terminal nodes.

::

    [tree]
    root = "choice"                       # a decision node whose options are the strategies

    [tree.nodes.choice]
    type = "decision"
    branches = [
      { name = "suma", to = "suma_relief", costs = { nhs = "c_sumatriptan" } },
      { name = "caff", to = "caff_relief", costs = { nhs = "c_caffeine" } },
    ]

    [tree.nodes.suma_relief]
    type = "chance"
    branches = [{ to = "A", p = "p_relief_suma", label = "Relief" }, { to = "C", p = "C", label = "No relief" }]

    [tree.nodes.A]
    type = "terminal"
    qalys = "u_A"
    state = "Well"                        # optional: the cohort reaching it starts the Markov model there

Probabilities (``p``; ``"C"`` for the complement) and payoffs (``costs`` by sector, ``qalys``, on nodes and on
branches) are expressions of parameters, evaluated once at model start. A node may be reached from several
parents. A decision node below the root names each strategy's option in ``choose`` (an option for every
strategy, or a table strategy -> option): a strategy is a complete policy. The tree is rolled back into the
expected payoffs and the distribution of the cohort over the terminal nodes' states; those become the start
of the cohort model (see :mod:`heecon.model.tree`), so the CEA, PSA, DSA and report run on it unchanged. A
scenario with a tree and no ``[states]`` is a pure tree (one absorbing end state, one cycle).

References
----------
Briggs A, Claxton K, Sculpher M (2006). *Decision Modelling for Health Economic Evaluation*, ch. 2. OUP.
Hunink MGM, Weinstein MC, et al. (2014). *Decision Making in Health and Medicine*, 2nd ed., ch. 3. CUP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from heecon.scenario.errors import did_you_mean, valid_list
from heecon.scenario.expr import TIME_NAMES, Expr, parse
from heecon.scenario.keys import NAME_RE

__all__ = ["TreeSpec", "TreeNode", "TreeBranch", "NODE_TYPES", "END_STATE", "read_tree"]

NODE_TYPES = ("decision", "chance", "terminal")
TREE_KEYS = {"root", "nodes", "label", "source"}
NODE_KEYS = {"type", "branches", "costs", "qalys", "state", "choose", "label", "description", "source"}
BRANCH_KEYS = {"to", "p", "name", "costs", "qalys", "label", "source"}
#: The state a pure tree (no [states]) ends in.
END_STATE = "end"


@dataclass
class TreeBranch:
    to: str
    p: Expr | None  # chance branches: the probability (None = the complement "C"); decision branches: None
    name: str  # decision branches: the option (at the root, the strategy); chance branches: the label
    costs: dict[str, Expr]
    qalys: Expr | None
    label: str
    key: str


@dataclass
class TreeNode:
    name: str
    kind: str  # "decision" | "chance" | "terminal"
    branches: list[TreeBranch]
    costs: dict[str, Expr]
    qalys: Expr | None
    state: str | None  # terminal nodes: the state the cohort enters
    choose: dict[str, str]  # decision nodes below the root: strategy -> option
    label: str
    key: str


@dataclass
class TreeSpec:
    """A parsed ``[tree]``: its root decision node (options = strategies) and the nodes by name."""

    root: str
    nodes: dict[str, TreeNode]
    pure: bool = False  # no [states]: the cohort ends in END_STATE
    order: list[str] = field(default_factory=list)  # nodes children-first (for the rollback)

    def exprs(self) -> list[tuple[str, Expr]]:
        """Every expression of the tree with its key path."""
        out: list[tuple[str, Expr]] = []
        for n in self.nodes.values():
            out += [(f"{n.key}.costs.{s}", e) for s, e in n.costs.items()]
            out += [(f"{n.key}.qalys", n.qalys)] if n.qalys is not None else []
            for b in n.branches:
                out += [(f"{b.key}.p", b.p)] if b.p is not None else []
                out += [(f"{b.key}.costs.{s}", e) for s, e in b.costs.items()]
                out += [(f"{b.key}.qalys", b.qalys)] if b.qalys is not None else []
        return out


def _read_node(name: str, spec: Any, key: str, rd: Any, sectors: tuple[str, ...]) -> TreeNode | None:
    col = rd.col
    if not isinstance(spec, dict):
        col.add(key, "must be a table with type = \"decision\", \"chance\" or \"terminal\"")
        return None
    rd.check_keys(spec, NODE_KEYS, key, "a tree node")
    kind = rd.string(spec.get("type"), f"{key}.type", NODE_TYPES) if "type" in spec else None
    if kind is None:
        if "type" not in spec:
            col.add(f"{key}.type", f"is missing: one of {valid_list(NODE_TYPES)}")
        return None
    branches: list[TreeBranch] = []
    if kind == "terminal":
        for k in ("branches", "choose"):
            if k in spec:
                col.add(f"{key}.{k}", "a terminal node has no branches (it ends a path)")
    else:
        if "state" in spec:
            col.add(f"{key}.state", "only a terminal node hands its cohort to a state")
        if kind == "chance" and "choose" in spec:
            col.add(f"{key}.choose", "only a decision node has options to choose from")
        blist = rd.tables(spec.get("branches"), f"{key}.branches",
                          "must be an array of branches: [{ to = \"NODE\", p = \"...\" }, ...]",
                          "must be a table with to (the next node) and p (chance) or name (decision)",
                          BRANCH_KEYS, "a branch")
        if not blist and isinstance(spec.get("branches"), list):
            col.add(f"{key}.branches", "needs at least one branch")
        for bk, b in blist:
            to = b.get("to")
            if not isinstance(to, str):
                col.add(f"{bk}.to", f"must be the name of the next node, got {to!r}")
                continue
            p = None
            if kind == "chance":
                if "name" in b:
                    col.add(f"{bk}.name", "a chance branch has a probability p (and an optional label), not a name")
                if "p" not in b:
                    col.add(f"{bk}.p", "is missing: the probability of the branch (an expression, or \"C\" for the "
                                       "complement of the others)")
                    continue
                if isinstance(b["p"], str) and b["p"].strip() == "C":
                    p = None
                else:
                    p = rd.expr(b["p"], f"{bk}.p")
                    if p is None:
                        continue
                    if p.constant is not None and not 0.0 <= p.constant <= 1.0:
                        col.add(f"{bk}.p", f"is a probability and must be in [0, 1], got {p.constant:g}")
                bname = b.get("label", to)
            else:
                if "p" in b:
                    col.add(f"{bk}.p", "a decision branch is chosen, not drawn: it has a name and no probability")
                bname = b.get("name")
                if not isinstance(bname, str) or not NAME_RE.match(bname):
                    col.add(f"{bk}.name", f"must name the option (at the root: a strategy), got {bname!r}")
                    continue
            costs = rd.costs(b.get("costs", {}), f"{bk}.costs", sectors)
            qalys = rd.expr(b["qalys"], f"{bk}.qalys") if "qalys" in b else None
            label = b.get("label", bname)
            branches.append(TreeBranch(to, p, str(bname), costs, qalys, label if isinstance(label, str) else str(bname),
                                       bk))
        if kind == "chance" and sum(b.p is None for b in branches) > 1:
            col.add(f"{key}.branches", "has more than one complement \"C\"; at most one branch may be \"C\"")
        if kind == "decision":
            seen: set[str] = set()
            for b in branches:
                if b.name in seen:
                    col.add(b.key, f"the option '{b.name}' is given twice")
                seen.add(b.name)
    costs = rd.costs(spec.get("costs", {}), f"{key}.costs", sectors)
    qalys = rd.expr(spec["qalys"], f"{key}.qalys") if "qalys" in spec else None
    state = spec.get("state")
    if state is not None and not isinstance(state, str):
        col.add(f"{key}.state", f"must be a state name, got {state!r}")
        state = None
    label = spec.get("label", name)
    return TreeNode(name, kind, branches, costs, qalys, state, {}, label if isinstance(label, str) else name, key)


def _choices(node: TreeNode, raw: Any, rd: Any, strategies: Mapping[str, Any]) -> None:
    key = f"{node.key}.choose"
    options = [b.name for b in node.branches]
    if isinstance(raw, str):
        raw = {s: raw for s in strategies}
    elif not isinstance(raw, dict):
        rd.col.add(key, f"must be an option ({valid_list(options)}) for every strategy, or a table strategy = option")
        return
    for s, opt in raw.items():
        if s not in strategies:
            rd.col.unknown(f"{key}.{s}", s, strategies, "strategy")
        elif not isinstance(opt, str) or opt not in options:
            rd.col.add(f"{key}.{s}" if not isinstance(raw, str) else key,
                       f"'{opt}' is not an option of decision node '{node.name}'.{did_you_mean(str(opt), options)} "
                       f"Options: {valid_list(options)}.")
        else:
            node.choose[s] = opt


def read_tree(raw: Any, rd: Any, states: Mapping[str, Any], strategies: Mapping[str, Any], sectors: tuple[str, ...],
              params: Mapping[str, Any], pure: bool) -> TreeSpec | None:
    """Read ``[tree]``: nodes, branches, the root's options against the strategies, choices, reachability, cycles."""
    col = rd.col
    tab = rd.table(raw, "tree", "a table: [tree] with root and [tree.nodes.NAME] sections")
    if tab is None:
        return None
    rd.check_keys(tab, TREE_KEYS, "tree", "[tree]")
    ntab = rd.table(tab.get("nodes"), "tree.nodes", "a table of [tree.nodes.NAME] sections") or {}
    if not ntab:
        col.add("tree.nodes", "a tree needs nodes: [tree.nodes.NAME] sections with type = decision, chance or terminal")
        return None
    nodes: dict[str, TreeNode] = {}
    raw_choose: dict[str, Any] = {}
    for name, spec in ntab.items():
        key = f"tree.nodes.{name}"
        if not NAME_RE.match(str(name)):
            col.add(key, f"'{name}' cannot be a node name: use letters, digits and _ starting with a letter")
            continue
        n = _read_node(str(name), spec, key, rd, sectors)
        if n is not None:
            nodes[str(name)] = n
            if isinstance(spec, dict) and "choose" in spec and n.kind == "decision":
                raw_choose[n.name] = spec["choose"]
    root = tab.get("root")
    if not isinstance(root, str) or root not in nodes:
        if isinstance(root, str) and root in ntab:
            return None  # the root node itself is malformed (reported)
        if root is None:
            col.add("tree.root", "is missing: the name of the decision node whose options are the strategies")
        else:
            col.unknown("tree.root", str(root), nodes, "tree node")
        return None
    spec = TreeSpec(root, nodes, pure)
    ok = _check_structure(spec, rd, states, strategies, pure)
    for name, rc in raw_choose.items():
        if name == root:
            col.add(f"{nodes[name].key}.choose", "the root's options are the strategies themselves; choose is for "
                                                 "decision nodes below it")
        else:
            _choices(nodes[name], rc, rd, strategies)
    known = set(params) | set(TIME_NAMES)
    for key, e in spec.exprs():
        for nm in sorted(e.names - known):
            col.add(key, f"unknown name '{nm}' in expression {e.text!r}.{did_you_mean(nm, known)} "
                         "Names are parameters (see [parameters]).")
        bad = sorted(e.names & TIME_NAMES)
        if bad:
            col.add(key, f"cannot depend on model time ({', '.join(bad)}): a tree is evaluated once, at the start")
    if not ok:
        return None
    _check_policies(spec, rd, strategies)
    return spec


def _check_structure(spec: TreeSpec, rd: Any, states: Mapping[str, Any], strategies: Mapping[str, Any],
                     pure: bool) -> bool:
    col, nodes = rd.col, spec.nodes
    ok = True
    root = nodes[spec.root]
    if root.kind != "decision":
        col.add(f"{root.key}.type", "the root must be a decision node: its options are the strategies")
        return False
    names = [b.name for b in root.branches]
    for b in root.branches:
        if b.name not in strategies:
            col.unknown(f"{b.key}.name", b.name, strategies, "strategy (the root's options are the strategies)")
            ok = False
    missing = [s for s in strategies if s not in names]
    if missing:
        col.add(f"{root.key}.branches", f"has no option for the strateg{'y' if len(missing) == 1 else 'ies'} "
                                        f"{', '.join(missing)}: the root's options are the strategies, one each")
        ok = False
    for n in nodes.values():
        for b in n.branches:
            if b.to not in nodes:
                col.unknown(f"{b.key}.to", b.to, nodes, "tree node")
                ok = False
            elif b.to == spec.root:
                col.add(f"{b.key}.to", "no branch may lead back to the root")
                ok = False
        if n.kind == "terminal":
            if pure and n.state is not None:
                col.add(f"{n.key}.state", "this scenario has no [states]: a terminal node hands its cohort to a state "
                                          "of the Markov model given in [states]")
                ok = False
            elif not pure and n.state is None:
                col.add(f"{n.key}.state", f"is missing: with [states], every terminal node hands its cohort to a state "
                                          f"({valid_list(states)})")
                ok = False
            elif not pure and n.state not in states:
                col.unknown(f"{n.key}.state", str(n.state), states, "state")
                ok = False
    if not ok:
        return False
    # children-first order; a cycle is refused
    order: list[str] = []
    mark: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> bool:
        if mark.get(name) == 2:
            return True
        if mark.get(name) == 1:
            cyc = path[path.index(name):] + [name]
            col.add(f"{nodes[name].key}.branches", "the tree has a cycle: " + " -> ".join(cyc))
            return False
        mark[name] = 1
        for b in nodes[name].branches:
            if not visit(b.to, path + [name]):
                return False
        mark[name] = 2
        order.append(name)
        return True

    if not visit(spec.root, []):
        return False
    for name, n in nodes.items():
        if name not in mark:
            col.add(n.key, f"node '{name}' is not reached from the root '{spec.root}'")
            ok = False
    spec.order = order
    return ok


def _check_policies(spec: TreeSpec, rd: Any, strategies: Mapping[str, Any]) -> None:
    """Every decision node a strategy reaches (below the root) says which option the strategy takes."""
    nodes = spec.nodes
    for b in nodes[spec.root].branches:
        s = b.name
        if s not in strategies:
            continue
        seen: set[str] = set()
        stack = [b.to]
        while stack:
            name = stack.pop()
            if name in seen:
                continue
            seen.add(name)
            n = nodes[name]
            if n.kind == "decision":
                opt = n.choose.get(s)
                if opt is None:
                    rd.col.add(f"{n.key}.choose", f"strategy '{s}' reaches decision node '{name}' but does not say "
                                                  f"which option it takes; give choose = {{ {s} = \"OPTION\" }} "
                                                  f"(options: {valid_list(b2.name for b2 in n.branches)})")
                    continue
                stack += [b2.to for b2 in n.branches if b2.name == opt]
            else:
                stack += [b2.to for b2 in n.branches]


def end_state() -> Any:
    """The absorbing end state of a pure tree (a scenario with a [tree] and no [states])."""
    from heecon.scenario.types import State

    return State(name=END_STATE, label="End of the tree", utility=parse(0.0), costs={}, absorbing=True, dead=True,
                 tunnel=0, tunnel_exit=None, key="tree")
