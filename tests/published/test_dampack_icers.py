"""Published tier: ICER tables against dampack's documented examples.

Source: DARTH-git/dampack ``calculate_icers`` and its tests
(tests/testthat/test_calculate_icers.R), the HERC worked example, the Paltiel
HIV-screening example and the ``psa_cdiff`` data set; expected values as
listed in shared/oracles/README.md section 4. Statuses must match exactly;
ICERs to a relative tolerance of 1e-9.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..conftest import reference_file

from heecon.cea import efficient_frontier, icer_table

RTOL = 1e-9


def _data(name: str) -> Path:
    return reference_file(name)


def _status(t: pd.DataFrame) -> dict[str, str]:
    return dict(zip(t["strategy"], t["status"]))


def _icer(t: pd.DataFrame, name: str) -> float:
    return float(t.loc[t["strategy"] == name, "icer"].iloc[0])


def test_herc_example_matches_dampack_statuses_exact_icers_rel_1e9():
    """HERC example (dampack test_calculate_icers.R): UC, B, D, E on the frontier; C ED; A D."""
    t = icer_table(["E", "D", "C", "B", "A", "UC"], [55000, 35000, 25000, 10000, 12000, 5000], [5, 4, 3, 2, 1.5, 1])
    assert t["strategy"].tolist() == ["UC", "B", "D", "E", "C", "A"]
    assert t["status"].tolist() == ["ref", "ND", "ND", "ND", "ED", "D"]
    np.testing.assert_allclose(t["icer"].iloc[1:4], [5000, 12500, 20000], rtol=RTOL)
    np.testing.assert_allclose(t["inc_cost"].iloc[1:4], [5000, 25000, 20000], rtol=RTOL)
    np.testing.assert_allclose(t["inc_effect"].iloc[1:4], [1, 2, 1], rtol=RTOL)
    assert t[["inc_cost", "inc_effect", "icer"]].iloc[[0, 4, 5]].isna().all().all()


def test_paltiel_hiv_screening_matches_dampack_statuses_exact_icers_rel_1e9():
    """Paltiel HIV screening, effects in QALYs = QALMs / 12: annual dominated; ICERs 37500, 58285.71, 100800.

    (The oracle lists these three ICERs with effects converted to QALYs; per QALM they would be 12 times smaller.)
    """
    names = ["status quo", "one time", "5yr", "3yr", "annual"]
    costs = [26000, 27000, 28020, 28440, 29440]
    qalms = np.array([277.25, 277.57, 277.78, 277.83, 277.76])
    t = icer_table(names, costs, qalms / 12)
    assert _status(t) == {"status quo": "ref", "one time": "ND", "5yr": "ND", "3yr": "ND", "annual": "D"}
    assert t["strategy"].tolist()[:4] == ["status quo", "one time", "5yr", "3yr"]
    np.testing.assert_allclose(t["icer"].iloc[1:4], [37500.0, 1020 / (0.21 / 12), 100800.0], rtol=RTOL)
    assert round(_icer(t, "5yr"), 2) == 58285.71


def test_psa_cdiff_means_match_dampack_statuses_exact_icers_rel_1e9():
    """dampack psa_cdiff (11 strategies x 1000 draws), calculate_icers on the means."""
    cost = pd.read_csv(_data("psa_cdiff_cost.csv"))
    eff = pd.read_csv(_data("psa_cdiff_effectiveness.csv"))
    assert list(cost.columns) == list(eff.columns) and cost.shape == (1000, 11)
    names = list(cost.columns)
    t = icer_table(names, cost.mean().to_numpy(), eff.mean().to_numpy())
    ref = t.iloc[0]
    assert ref["strategy"] == "s3" and ref["status"] == "ref"
    np.testing.assert_allclose([ref["cost"], ref["effect"]], [57336.0059896538, 12.9399639202408], rtol=1e-12)
    front = t[t["status"] == "ND"]
    assert front["strategy"].tolist() == ["s27", "s33", "s31", "s43", "s44"]
    np.testing.assert_allclose(
        front["icer"],
        [2769.85470915263, 4065.03105249231, 5056.2216470406, 8504.2160616553, 38362.6519947134],
        rtol=RTOL,
    )
    st = _status(t)
    assert st["s39"] == "ED"
    assert all(st[s] == "D" for s in ("s4", "s13", "s37", "s20"))
    assert efficient_frontier(names, cost.mean(), eff.mean()) == ["s3", "s27", "s33", "s31", "s43", "s44"]
