"""The individuals of a microsimulation: their attributes (drawn once, common to every strategy and PSA sample) and
their start states (from a population file), and the centring of attributes that covariates ask for."""

from __future__ import annotations


import numpy as np

from heecon.scenario.errors import Problem, ScenarioError
from heecon.scenario.types import Scenario

__all__ = ["sample_population", "centre_population"]


def sample_population(scenario: Scenario, n: int, seed: int | None = None) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    """Attributes of ``n`` individuals ``[n, A]`` (drawn once, from the "population" stream) and their column names.

    The same population serves every PSA sample and every strategy (common random numbers). Returns the
    attribute matrix, its column names, and the start states from a population file (or ``None``).
    """
    pop = scenario.microsim.population
    seed = scenario.settings.seed if seed is None else seed
    # a deterministic analysis evaluates the same population dozens of times (one-way, thresholds, variants):
    # it is drawn once per (population spec, seed, n) and copied out. The key is the spec's content (its repr:
    # every attribute, distribution and subgroup, floats exactly), with the file's time and the states it maps to
    file_key = None
    if pop.file is not None:
        file_key = (pop.file.stat().st_mtime_ns, tuple((nm, s.n_sub) for nm, s in scenario.states.items()))
    key = (repr(pop), seed, n, file_key)
    hit = _DRAWN.get(key)
    if hit is None:
        hit = _draw_population(scenario, n, seed)
        if len(_DRAWN) >= _DRAWN_MAX:
            _DRAWN.pop(next(iter(_DRAWN)))
        _DRAWN[key] = hit
    X, cols, start = hit
    return X.copy(), list(cols), None if start is None else start.copy()


_DRAWN: dict[tuple, tuple[np.ndarray, list[str], np.ndarray | None]] = {}
_DRAWN_MAX = 8


def _draw_population(scenario: Scenario, n: int, seed: int) -> tuple[np.ndarray, list[str], np.ndarray | None]:
    from heecon.params import stream_rng

    pop = scenario.microsim.population
    cols = pop.columns
    X = np.zeros((n, len(cols)))
    rng = stream_rng(seed, "population")
    start = None
    if pop.file is not None:
        import pandas as pd

        df = pd.read_csv(pop.file)
        rows = rng.integers(0, len(df), n) if n != len(df) else np.arange(n)
        for c in pop.file_columns:
            X[:, cols.index(c)] = df[c].to_numpy(dtype=float)[rows]
        if "state" in df.columns:
            names = scenario.state_names
            st = df["state"].astype(str).to_numpy()[rows]
            bad = sorted(set(st) - set(names))
            if bad:
                raise ScenarioError([Problem(str(pop.file), "state", f"unknown state(s) {bad}; valid: {names}")])
            first = {}
            i = 0
            for nm, s in scenario.states.items():
                first[nm] = i
                i += s.n_sub
            start = np.array([first[s] for s in st], dtype=np.int64)
    group = np.zeros(n, dtype=np.int64)
    if pop.subgroups:
        w = np.array([g.weight for g in pop.subgroups])
        group = rng.choice(len(w), size=n, p=w / w.sum())
        for gi, g in enumerate(pop.subgroups):
            X[group == gi, cols.index(f"subgroup_{g.name}")] = 1.0
    for name, base_attr in pop.attributes.items():
        for gi in range(max(len(pop.subgroups), 1)):
            who = group == gi
            attr = base_attr
            if pop.subgroups and name in pop.subgroups[gi].attributes:
                attr = pop.subgroups[gi].attributes[name]
            m = int(who.sum())
            if m == 0:
                continue
            if attr.kind == "constant":
                X[who, cols.index(name)] = attr.value
            elif attr.kind == "binary":
                X[who, cols.index(name)] = (rng.random(m) < attr.share).astype(float)
            elif attr.kind == "distribution":
                X[who, cols.index(name)] = attr.dist.sample(rng, m)
            else:
                cats = list(attr.categories)
                pick = rng.choice(len(cats), size=m, p=np.array([attr.categories[c] for c in cats]))
                for ci, c in enumerate(cats):
                    X[who, cols.index(f"{name}_{c}")] = (pick == ci).astype(float)
    return X, cols, start


def centre_population(scenario: Scenario, X: np.ndarray, cols: list[str]) -> np.ndarray:
    """Subtract each covariate's centre from its attribute column (so coefficients act on x - centre)."""
    X = X.copy()
    centres = {c.attribute: c.centre for c in scenario.microsim.covariates if c.attribute is not None}
    for a, c in centres.items():
        X[:, cols.index(a)] -= c
    return X
