"""Figures of finished results: the cost-effectiveness plane, CEAC/CEAF, EVPI, tornado, two-way heat map,
state occupancy, costs by sector over time, events averted over time, budget impact, and survival fits (the
fitted curves over the data, their extrapolation and hazards).

Every function takes finished results -- the frames of a results folder (:func:`load_results`), a result
object (``BaseCaseResult``, ``PSAResult``, ``CEAResult``, ``OneWayResult``) or a plain frame -- computes
nothing of the model, accepts ``ax=None`` and returns the axes it drew on (an array of axes for the faceted
figures). matplotlib is imported inside the functions; new figures are ``matplotlib.figure.Figure`` objects
rendered by Agg, so nothing here touches pyplot's global state or the interactive backend.

Colours are the Okabe-Ito palette (colour-blind safe); each strategy keeps its colour across figures (its
position in the results). Money axes say the currency and the price year.

References
----------
Okabe M, Ito K. Color Universal Design (CUD): how to make figures and presentations that are friendly to
colorblind people. J*Fly, 2008.
Fenwick E, Claxton K, Sculpher M. Representing uncertainty: the role of cost-effectiveness acceptability
curves. Health Econ 2001;10:779-87.
Black WC. The CE plane: a graphic representation of cost-effectiveness. Med Decis Making 1990;10:212-4.
"""

from heecon.report.figures._base import OKABE_ITO, PALETTE, save_figure
from heecon.report.figures.builders import default_figures, figure_builders
from heecon.report.figures.cea import ce_plane, ceac, evpi_curve
from heecon.report.figures.model import budget_impact, costs_by_sector_over_time, events_averted_over_time, state_occupancy
from heecon.report.figures.sensitivity import evppi_bars, morris_bars, sobol_bars, tornado, two_way_heatmap
from heecon.report.figures.survival import hazard_plot, survival_extrapolation_plot, survival_fit_plot

__all__ = [
    "OKABE_ITO", "PALETTE", "budget_impact", "ce_plane", "ceac", "costs_by_sector_over_time", "default_figures",
    "events_averted_over_time", "evpi_curve", "evppi_bars", "morris_bars", "sobol_bars", "figure_builders", "save_figure", "state_occupancy", "tornado",
    "two_way_heatmap", "survival_fit_plot", "survival_extrapolation_plot", "hazard_plot",
]
