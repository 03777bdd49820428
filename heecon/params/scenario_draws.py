"""A scenario's uncertain parameters and their PSA draws.

The distributions were parsed once, when the scenario was loaded (``Parameter.dist``, ``Scenario.joint_specs``);
everything that draws, ranges or tabulates them (PSA, DSA, EVPPI, GSA, the evidence table) reads those objects.
"""

from __future__ import annotations

from typing import Any

from heecon.params.sampling import draw_parameters

# ``scenario`` below is a heecon.scenario.types.Scenario, read for its parameters, joints and seed only (not
# imported: the scenario layer, which parses distributions with this package, sits above it).

__all__ = ["scenario_distributions", "uncertain_parameters", "draw_psa"]


def scenario_distributions(scenario: Any) -> tuple[dict[str, Any], list[Any]]:
    """The scenario's marginal distributions (by parameter) and joint distributions."""
    marg = {name: p.dist for name, p in scenario.parameters.items() if p.dist is not None}
    return marg, list(scenario.joint_specs.values())


def uncertain_parameters(scenario: Any) -> list[str]:
    """Names of the parameters that vary in the PSA (own or joint distribution, not fixed)."""
    marg, joints = scenario_distributions(scenario)
    names = [n for n, d in marg.items() if not d.is_fixed]
    for j in joints:
        names += [m for m in j.members if m not in names]
    return names


def draw_psa(scenario: Any, n: int, seed: int | None = None, stream: str = "psa") -> Any:
    """``Draws`` of every parameter with a distribution (columns; others keep their base value)."""
    marg, joints = scenario_distributions(scenario)
    return draw_parameters(marg, joints, n, scenario.settings.seed if seed is None else seed, stream=stream)
