"""Cost-effectiveness analysis: ICER tables, net benefit, CEAC/CEAF, EVPI.

Method notes and references: ``docs/cea.md``.
"""

from .analysis import CEAResult, analyse_psa, default_wtp_grid
from .frontier import STATUSES, efficient_frontier, frontier_indices, icer_table
from .psa import (
    CEAF,
    breakeven_wtp,
    breakeven_wtp_grid,
    ceac,
    ceaf,
    eib,
    evpi,
    nhb,
    nmb,
    population_evpi,
    prob_better,
)

__all__ = [
    "CEAF",
    "CEAResult",
    "STATUSES",
    "analyse_psa",
    "breakeven_wtp",
    "breakeven_wtp_grid",
    "ceac",
    "ceaf",
    "default_wtp_grid",
    "efficient_frontier",
    "eib",
    "evpi",
    "frontier_indices",
    "icer_table",
    "nhb",
    "nmb",
    "population_evpi",
    "prob_better",
]
