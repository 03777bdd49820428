"""heecon.report: console tables, figures, the HTML report and the CHEERS 2022 checklist of finished results.

Nothing here runs a model: every function takes results (objects or a results folder's files).
"""

from heecon.report.cheers import CHEERS_2022, CheersEntry, CheersItem, cheers_checklist
from heecon.report.figures import (
    OKABE_ITO,
    PALETTE,
    budget_impact,
    ce_plane,
    ceac,
    costs_by_sector_over_time,
    default_figures,
    events_averted_over_time,
    evpi_curve,
    save_figure,
    state_occupancy,
    tornado,
    two_way_heatmap,
)
from heecon.report.results_data import ResultsData, ResultsFolderError, load_results
from heecon.report.format import money_formatter
from heecon.report.html import Headline, build_report, headline, render_report

__all__ = [
    "CHEERS_2022",
    "CheersEntry",
    "CheersItem",
    "Headline",
    "OKABE_ITO",
    "PALETTE",
    "ResultsData",
    "ResultsFolderError",
    "budget_impact",
    "build_report",
    "ce_plane",
    "ceac",
    "cheers_checklist",
    "costs_by_sector_over_time",
    "default_figures",
    "events_averted_over_time",
    "evpi_curve",
    "headline",
    "load_results",
    "money_formatter",
    "render_report",
    "save_figure",
    "state_occupancy",
    "tornado",
    "two_way_heatmap",
]
