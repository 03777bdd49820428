"""The microsimulation's population is drawn once per (spec, seed, size) and copied out (model/population.py)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

import heecon.model.population as population
from heecon import load_scenario

FLAGSHIP = Path(__file__).resolve().parents[1] / "scenarios" / "mbt_aspd_vs_pau.toml"


def test_population_is_drawn_once_and_copied_out(monkeypatch):
    sc = load_scenario(FLAGSHIP)
    population._DRAWN.clear()
    calls = []
    draw = population._draw_population
    monkeypatch.setattr(population, "_draw_population", lambda *a: (calls.append(a[1:]), draw(*a))[1])
    X1, cols1, _ = population.sample_population(sc, 500)
    X1[:] = -1.0  # the caller's copy: the stored draw is not touched
    X2, cols2, _ = population.sample_population(sc, 500)
    assert len(calls) == 1 and cols1 == cols2 and not (X2 == -1.0).all()
    population._DRAWN.clear()
    X3, _, _ = population.sample_population(sc, 500)
    np.testing.assert_array_equal(X2, X3)  # the stored draw is the draw
    assert len(calls) == 2

    # another seed, size or population spec is another draw
    population.sample_population(sc, 500, seed=99)
    population.sample_population(sc, 400)
    sc.microsim.population.attributes["long_order"].share = 0.3
    X4, _, _ = population.sample_population(sc, 500)
    assert len(calls) == 5
    j = cols1.index("long_order")
    assert X4[:, j].mean() < X3[:, j].mean()
