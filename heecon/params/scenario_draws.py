"""A scenario's uncertain parameters and their PSA draws.

The distributions were parsed once, when the scenario was loaded (``Parameter.dist``, ``Scenario.joint_specs``);
everything that draws, ranges or tabulates them (PSA, DSA, EVPPI, GSA, the evidence table) reads those objects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from heecon.params.sampling import draw_parameters

if TYPE_CHECKING:  # a type only: the scenario layer sits above this one
    from heecon.scenario.types import Scenario

__all__ = ["scenario_distributions", "uncertain_parameters", "draw_psa"]


def scenario_distributions(scenario: "Scenario") -> tuple[dict[str, Any], list[Any]]:
    """The scenario's marginal distributions (by parameter) and joint distributions."""
    marg = {name: p.dist for name, p in scenario.parameters.items() if p.dist is not None}
    return marg, list(scenario.joint_specs.values())


def uncertain_parameters(scenario: "Scenario") -> list[str]:
    """Names of the parameters that vary in the PSA (own or joint distribution, not fixed)."""
    marg, joints = scenario_distributions(scenario)
    names = [n for n, d in marg.items() if not d.is_fixed]
    for j in joints:
        names += [m for m in j.members if m not in names]
    return names


def draw_psa(scenario: "Scenario", n: int, seed: int | None = None, stream: str = "psa") -> Any:
    """``Draws`` of every parameter with a distribution (columns; others keep their base value)."""
    marg, joints = scenario_distributions(scenario)
    return draw_parameters(marg, joints, n, scenario.settings.seed if seed is None else seed, stream=stream)
