"""Dependency graphs of parameters: cycles and a topological order."""

from __future__ import annotations

from typing import Iterable, Mapping



def find_cycle(graph: Mapping[str, list[str]]) -> list[str] | None:
    """A cycle in a dependency graph (name -> names it uses), or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    color = {n: WHITE for n in graph}
    stack: list[str] = []

    def visit(n: str) -> list[str] | None:
        color[n] = GREY
        stack.append(n)
        for m in graph.get(n, []):
            if color.get(m) == GREY:
                return stack[stack.index(m):]
            if color.get(m) == WHITE:
                r = visit(m)
                if r:
                    return r
        stack.pop()
        color[n] = BLACK
        return None

    for n in graph:
        if color[n] == WHITE:
            r = visit(n)
            if r:
                return r
    return None


def topological_order(graph: Mapping[str, Iterable[str]]) -> list[str]:
    """Names ordered so that each comes after the names it uses (graph must be acyclic)."""
    order: list[str] = []
    done: set[str] = set()

    def visit(n: str) -> None:
        if n in done:
            return
        done.add(n)
        for m in graph.get(n, ()):
            if m in graph:
                visit(m)
        order.append(n)

    for n in graph:
        visit(n)
    return order
