"""The commissioner's answer (heecon.report.answer): computed from the results, never written for one answer."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import heecon
from heecon.report.answer import answer, answer_lines

from .conftest import SCENARIOS


@pytest.fixture(scope="module")
def sc():
    return heecon.load_scenario(SCENARIOS / "mbt_aspd_vs_pau.toml", ["settings.individuals=100"])


def _result(sc, nhs: float, justice: float, victims: float, dq: float):
    """Per-person outcomes: PAU all zero; MBT with the given increments (NHS in 'service', justice in 'prisons')."""
    cols = list(sc.sectors)
    o = pd.DataFrame(0.0, index=pd.Index(["pau", "mbt"], name="strategy"), columns=cols + ["qalys", "lys"])
    o.loc["mbt", "service"], o.loc["mbt", "prisons"], o.loc["mbt", "victims"] = nhs, justice, victims
    o.loc["mbt", "qalys"] = dq
    for p, secs in sc.perspectives.items():
        o[f"costs[{p}]"] = o[list(secs)].sum(axis=1)
    return SimpleNamespace(scenario=sc, outcomes=o)


def _psa(sc, res, dq_samples):
    """A PSA whose costs are the base case's in every sample and whose QALY differences are ``dq_samples``."""
    names = list(sc.sectors) + ["qalys"]
    n = len(dq_samples)
    tot = np.zeros((n, 2, len(names), 2))
    for r, nm in enumerate(names[:-1]):
        tot[:, 1, r, 0] = res.outcomes.loc["mbt", nm]
    tot[:, 1, -1, 0] = dq_samples
    costs = {p: np.stack([np.zeros(n), np.full(n, res.outcomes.loc["mbt", f"costs[{p}]"])], axis=1)
             for p in sc.perspectives}
    return SimpleNamespace(totals=tot, reward_names=names, effects=lambda: tot[:, :, -1, 0], costs=lambda p: costs[p])


def test_it_pays_for_itself_for_the_public_sector_and_not_for_the_nhs(sc):
    res = _result(sc, nhs=2000.0, justice=-5000.0, victims=-1000.0, dq=0.05)
    a = answer(res, _psa(sc, res, np.full(50, 0.05)))
    m = a["strategies"]["mbt"]
    assert m["payers"] == {"NHS/PSS": 2000.0, "Justice": -5000.0, "Victims": -1000.0}
    assert m["perspectives"]["public_sector"]["pays_for_itself"] is True
    assert m["perspectives"]["public_sector"]["prob_pays_for_itself"] == 1.0
    assert m["perspectives"]["nhs_pss"]["prob_pays_for_itself"] == 0.0
    text = " ".join(answer_lines(a))
    assert "it costs the NHS and social care £2,000" in text and "it saves the justice system £5,000" in text
    assert "victims are spared £1,000 of harm" in text
    assert "saves £3,000 per man: it pays for itself in the base case, and in 100% of 50 PSA samples" in text
    assert "costs £2,000 more per man: it does not pay for itself in the base case, and in 0% of 50" in text


def test_the_analysis_is_named_by_what_the_qalys_show(sc):
    res = _result(sc, nhs=2000.0, justice=-500.0, victims=0.0, dq=0.01)
    noisy = answer(res, _psa(sc, res, np.linspace(-0.02, 0.04, 40)))
    assert noisy["strategies"]["mbt"]["perspectives"]["nhs_pss"]["analysis"] == "cost-consequence"
    clear = answer(res, _psa(sc, res, np.linspace(0.005, 0.02, 40)))
    assert clear["strategies"]["mbt"]["perspectives"]["nhs_pss"]["analysis"] == "cost-utility"
    none = answer(_result(sc, nhs=2000.0, justice=0.0, victims=0.0, dq=0.0))
    assert none["strategies"]["mbt"]["perspectives"]["nhs_pss"]["analysis"] == "cost-consequence"
    assert "costs £2,000 more per man: it does not pay for itself in the base case." in " ".join(answer_lines(none))


def test_payers_and_labels_of_the_scenario_are_used_and_checked(sc):
    from heecon.scenario.errors import ScenarioError

    path = SCENARIOS / "mbt_aspd_vs_pau.toml"
    own = heecon.load_scenario(path, ['payers={"NHS England" = ["service", "nhs", "nhs_victims"], '
                                      'HMPPS = ["prisons", "probation"]}',
                                      'labels={public_sector = "The public purse", prisons = "HM Prison Service"}'])
    res = _result(own, nhs=2000.0, justice=-5000.0, victims=-1000.0, dq=0.05)
    a = answer(res)
    assert a["payers"] == {"NHS England": ["service", "nhs", "nhs_victims"], "HMPPS": ["prisons", "probation"],
                           "Other": ["police", "courts", "victims"]}
    assert a["strategies"]["mbt"]["payers"]["HMPPS"] == -5000.0
    assert any(line.startswith("The public purse:") for line in answer_lines(a))
    with pytest.raises(ScenarioError) as exc:
        heecon.load_scenario(path, ['payers={A = ["nhs"], B = ["nhs", "prison"]}', 'labels={societl = "x"}'])
    msg = str(exc.value)
    assert "payers.B" in msg and "'nhs' is already paid by 'A'" in msg and "Did you mean 'prisons'" in msg
    assert "labels.societl" in msg and "Did you mean 'societal'" in msg
