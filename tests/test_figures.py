"""Figures of finished results: the plotted data and the labels, not pixels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

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
from heecon.report.format import currency_label, format_money
from heecon.report.results_data import load_results

ROOT = Path(__file__).resolve().parents[1]
FMH6 = ROOT / "benchmarks" / "fmh6.toml"
OVERRIDES = ["settings.price_year=2023", 'perspectives.health_only=["health"]']


def make_results(folder: Path, n_psa: int = 200, dsa: bool = True) -> SimpleNamespace:
    """Base case + PSA (+ one-way and two-way DSA files) of fmh6, written with ``write_results``."""
    from heecon.outcomes.base_case import run_base_case
    from heecon.report.results_folder import write_results
    from heecon import load_scenario
    from heecon.sensitivity.dsa import one_way, two_way
    from heecon.sensitivity.psa import run_psa

    sc = load_scenario(FMH6, OVERRIDES)
    base = run_base_case(sc)
    psa = run_psa(sc, n_psa) if n_psa else None
    writers = []
    ow = tw = None
    if dsa:
        ow = one_way(sc)
        tw = two_way(sc, "c_IP", "u_CS", n=5)
        writers = [lambda d: ow.table.to_csv(d / "dsa_one_way.csv", index=False),
                   lambda d: tw.to_csv(d / "dsa_two_way.csv", index=False)]
    out = write_results(base, folder, psa, writers=writers)
    return SimpleNamespace(sc=sc, base=base, psa=psa, ow=ow, tw=tw, dir=out)


@pytest.fixture(scope="module")
def res(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    return make_results(tmp_path_factory.mktemp("figs") / "fmh6")


def _by_label(artists, label):
    found = [a for a in artists if a.get_label() == label]
    assert found, f"no artist labelled {label!r}; have {[a.get_label() for a in artists]}"
    return found[0]


# ------------------------------------------------------------------------------------------ formatting


@pytest.mark.parametrize("x, cur, text", [
    (12000, "GBP", "£12k"), (-1500, "GBP", "-£1.5k"), (2.5e6, "GBP", "£2.5m"), (500, "GBP", "£500"),
    (0, "GBP", "£0"), (20000, "USD", "$20k"), (12000, "CAD", "CAD 12k"), (3.2e9, "EUR", "€3.2bn"),
])
def test_format_money_compact(x, cur, text):
    assert format_money(x, cur) == text


def test_currency_label_says_price_year_or_that_it_is_missing():
    assert currency_label("GBP", 2023) == "£, GBP, 2023/24 prices"
    assert currency_label("USD", 2023) == "$, USD, 2023 prices"
    assert "price year not stated" in currency_label("GBP", None)


def test_importing_report_does_not_import_matplotlib():
    code = "import sys, heecon.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# -------------------------------------------------------------------------------------------- CE plane


def test_ce_plane_plots_every_sample_increment_and_the_wtp_lines(res):
    psa = res.psa
    ax = ce_plane(psa)
    c, e = psa.costs(), psa.effects()
    j0, j = psa.strategies.index("usual"), psa.strategies.index("intervention")
    pts = _by_label(ax.collections, "Intervention").get_offsets()
    np.testing.assert_allclose(pts[:, 0], e[:, j] - e[:, j0])
    np.testing.assert_allclose(pts[:, 1], c[:, j] - c[:, j0])
    mean = _by_label(ax.lines, "Intervention (mean)")
    np.testing.assert_allclose(mean.get_xdata(), [(e[:, j] - e[:, j0]).mean()])
    np.testing.assert_allclose(mean.get_ydata(), [(c[:, j] - c[:, j0]).mean()])
    for w, lab in ((20000, "WTP £20k/QALY"), (30000, "WTP £30k/QALY")):
        line = _by_label(ax.lines, lab)
        np.testing.assert_allclose(line.get_ydata(), w * np.asarray(line.get_xdata()))
    assert "£" in ax.get_ylabel() and "GBP" in ax.get_ylabel() and "2023/24 prices" in ax.get_ylabel()
    assert "QALY" in ax.get_xlabel() and "Usual care" in ax.get_xlabel()
    assert "200" in ax.get_title()
    assert ax.yaxis.get_major_formatter()(12000, 0) == "£12k"
    assert _by_label(ax.collections, "Intervention").get_facecolor()[0][:3] == pytest.approx(
        matplotlib.colors.to_rgb(PALETTE[1]))


def test_ce_plane_from_the_results_folder_matches_the_result_object(res):
    data = load_results(res.dir)
    a = ce_plane(res.psa).collections[0].get_offsets()
    b = ce_plane(data).collections[0].get_offsets()
    np.testing.assert_allclose(a, b)


def test_ce_plane_uses_a_given_axes_and_perspective(res):
    from matplotlib.figure import Figure

    ax0 = Figure().add_subplot()
    ax = ce_plane(res.psa, ax=ax0, perspective="health_only", wtp=[50000])
    assert ax is ax0
    c = res.psa.costs("health_only")
    np.testing.assert_allclose(ax.collections[0].get_offsets()[:, 1], c[:, 1] - c[:, 0])
    assert [ln.get_label() for ln in ax.lines if ln.get_label().startswith("WTP")] == ["WTP £50k/QALY"]


# --------------------------------------------------------------------------------------------- CEAC/EVPI


def test_ceac_lines_equal_the_ceac_columns_and_the_frontier_is_marked(res):
    frame = res.psa.ceac_frame()
    ax = ceac(res.psa)
    for s, lab in (("usual", "Usual care"), ("intervention", "Intervention")):
        line = _by_label(ax.lines, lab)
        np.testing.assert_array_equal(line.get_xdata(), frame["wtp"].to_numpy())
        np.testing.assert_array_equal(line.get_ydata(), frame[s].to_numpy())
    band = _by_label(ax.lines, "CEAF: Usual care")
    on = (frame["frontier"] == "usual").to_numpy()
    y = np.asarray(band.get_ydata(), dtype=float)
    np.testing.assert_array_equal(y[on], frame["frontier_probability"].to_numpy()[on])
    assert np.isnan(y[~on]).all()
    assert band.get_linewidth() > _by_label(ax.lines, "Usual care").get_linewidth()
    assert "£" in ax.get_xlabel() and "2023/24 prices" in ax.get_xlabel()
    assert ax.get_ylabel() == "Probability cost-effective"
    assert ax.get_ylim()[0] <= 0 and ax.get_ylim()[1] >= 1


def test_ceac_from_csv_and_from_cea_result_agree(res):
    data = load_results(res.dir)
    from_csv = _by_label(ceac(data).lines, "Intervention").get_ydata()
    from_cea = _by_label(ceac(res.psa.cea, labels={"intervention": "Intervention"}).lines, "Intervention").get_ydata()
    np.testing.assert_allclose(from_csv, res.psa.ceac_frame()["intervention"])
    np.testing.assert_allclose(from_cea, res.psa.ceac_frame()["intervention"])


def test_evpi_curve_is_the_evpi_column(res):
    frame = res.psa.ceac_frame()
    ax = evpi_curve(load_results(res.dir))
    line = _by_label(ax.lines, "EVPI per person")
    np.testing.assert_allclose(line.get_xdata(), frame["wtp"])
    np.testing.assert_allclose(line.get_ydata(), frame["evpi"])
    assert "EVPI" in ax.get_ylabel() and "£" in ax.get_ylabel() and "GBP" in ax.get_ylabel()


# ----------------------------------------------------------------------------------------------- DSA


def test_tornado_bars_run_from_the_base_to_low_and_high(res):
    ow = res.ow
    ax = tornado(ow)
    base = float(ow.base["inc_nmb"])
    low, high = (c for c in ax.containers if c.get_label() in ("Low value", "High value"))
    # widest swing on top (largest y)
    top = ow.table.iloc[0]
    lo_bar = max(low.patches, key=lambda p: p.get_y())
    hi_bar = max(high.patches, key=lambda p: p.get_y())
    assert lo_bar.get_x() == pytest.approx(base) and hi_bar.get_x() == pytest.approx(base)
    assert lo_bar.get_width() == pytest.approx(top["inc_nmb_low"] - base)
    assert hi_bar.get_width() == pytest.approx(top["inc_nmb_high"] - base)
    assert len(low.patches) == len(ow.table)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1].startswith(top["parameter"])
    assert "£20k/QALY" in ax.get_xlabel() and "2023" not in ax.get_xlabel()  # no price year: a raw OneWayResult
    assert "intervention vs usual" in ax.get_title()
    assert _by_label(ax.lines, "Base case").get_xdata()[0] == pytest.approx(base)


def test_tornado_from_a_table_needs_the_base(res):
    tab = res.ow.table
    with pytest.raises(ValueError, match="base"):
        tornado(tab)
    ax = tornado(tab.assign(base_inc_nmb=-4000.0), currency="GBP", price_year=2023)
    assert _by_label(ax.lines, "Base case").get_xdata()[0] == -4000.0
    assert "2023/24 prices" in ax.get_xlabel()
    ax = tornado(tab, base=-4000.0, max_parameters=3)
    assert len(ax.get_yticklabels()) == 3


def test_one_way_result_plot_uses_tornado(res):
    ax = tornado(res.ow)
    assert {c.get_label() for c in ax.containers} >= {"Low value", "High value"}


def test_two_way_heatmap_is_the_pivot_of_inc_nmb(res):
    tw = res.tw
    ax = two_way_heatmap(tw, currency="GBP", price_year=2023)
    mesh = ax.collections[0]
    expected = tw.pivot_table(index="u_CS", columns="c_IP", values="inc_nmb").sort_index().sort_index(axis=1)
    np.testing.assert_allclose(np.asarray(mesh.get_array()).reshape(expected.shape), expected.to_numpy())
    assert ax.get_xlabel() == "c_IP" and ax.get_ylabel() == "u_CS"
    cbar_label = mesh.colorbar.ax.get_ylabel()
    assert "£" in cbar_label and "2023/24 prices" in cbar_label


def test_two_way_heatmap_draws_the_zero_contour_when_the_decision_changes():
    a, b = np.meshgrid(np.linspace(0, 1, 5), np.linspace(0, 1, 4), indexing="ij")
    f = pd.DataFrame({"p": a.ravel(), "q": b.ravel(), "inc_nmb": (a - 0.5).ravel() * 1000})
    ax = two_way_heatmap(f)
    assert len(ax.collections) >= 2  # mesh + contour


# --------------------------------------------------------------------------------------- over time


def test_state_occupancy_facets_per_strategy(res):
    trace = res.base.trace
    states = list(res.sc.states)
    axes = state_occupancy(res.base)
    assert [a.get_title() for a in axes] == ["Usual care", "Intervention"]
    assert len(axes[0].collections) == len(states)
    handles, labels = axes[-1].get_legend_handles_labels()
    assert labels == states
    assert "Proportion" in axes[0].get_ylabel()
    axes = state_occupancy(load_results(res.dir), kind="lines")
    for a, s in zip(axes, ["usual", "intervention"]):
        f = trace[trace.strategy == s]
        for st in states:
            line = _by_label(a.lines, st)
            np.testing.assert_allclose(line.get_xdata(), f["time_years"])
            np.testing.assert_allclose(line.get_ydata(), f[st])


def test_state_occupancy_on_one_axes_draws_lines(res):
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    out = state_occupancy(res.base.trace, ax=ax)
    assert out == [ax]
    assert len(ax.lines) == 2 * len(res.sc.states)
    assert any(ln.get_label() == "CS (intervention)" for ln in ax.lines)


def test_costs_by_sector_bars_equal_the_per_cycle_costs(res):
    pc = res.base.per_cycle
    axes = costs_by_sector_over_time(res.base, by="cycle")
    a = axes[1]  # intervention
    f = pc[pc.strategy == "intervention"].sort_values("cycle")
    health = _by_label(a.containers, "health")
    interv = _by_label(a.containers, "intervention")
    np.testing.assert_allclose([p.get_height() for p in health.patches], f["health"])
    np.testing.assert_allclose([p.get_height() for p in interv.patches], f["intervention"])
    np.testing.assert_allclose([p.get_y() for p in interv.patches], f["health"])  # stacked on health
    assert "£" in axes[0].get_ylabel() and "2023/24 prices" in axes[0].get_ylabel()
    assert "per cycle" in axes[0].get_ylabel()


def test_costs_by_sector_by_year_sums_cycles(res):
    pc = res.base.per_cycle
    axes = costs_by_sector_over_time(load_results(res.dir))  # 3-month cycles -> by year
    f = pc[pc.strategy == "usual"].sort_values("cycle")
    yearly = f.groupby((f["cycle"] - 1) // 4)["health"].sum().to_numpy()
    np.testing.assert_allclose([p.get_height() for p in _by_label(axes[0].containers, "health").patches], yearly)
    assert len(yearly) == 10
    assert "per year" in axes[0].get_ylabel()
    # a sector with no cost at all is left out
    assert {c.get_label() for c in axes[0].containers} == {"health", "intervention"}


def test_events_averted_is_strategy_minus_comparator():
    cyc = np.arange(1, 6)
    f = pd.DataFrame({
        "cycle": np.tile(cyc, 2),
        "strategy": ["uc"] * 5 + ["mbt"] * 5,
        "arrests": [5, 5, 5, 5, 5, 3, 4, 4, 5, 5],
        "admissions": [1, 1, 1, 1, 1, 1, 2, 1, 1, 0],
    })
    ax = events_averted_over_time(f, {"arrests": "Arrests", "admissions": "Admissions"}, comparator="uc")
    np.testing.assert_allclose(_by_label(ax.lines, "Arrests").get_ydata(), [-2, -1, -1, 0, 0])
    np.testing.assert_allclose(_by_label(ax.lines, "Admissions").get_xdata(), cyc)
    ax = events_averted_over_time(f, ["arrests"], comparator="uc", cumulative=True)
    np.testing.assert_allclose(_by_label(ax.lines, "arrests").get_ydata(), [-2, -3, -4, -4, -4])
    assert "Cumulative" in ax.get_ylabel() and "averted" in ax.get_ylabel()
    with pytest.raises(ValueError, match="comparator"):
        events_averted_over_time(f, ["arrests"], comparator="nope")
    with pytest.raises(ValueError, match="'victims'"):
        events_averted_over_time(f, ["victims"], comparator="uc")


def test_budget_impact_grouped_bars():
    f = pd.DataFrame({"year": [1, 1, 2, 2, 3, 3], "payer": ["NHS", "Police"] * 3,
                      "net_cost": [100e3, -20e3, 80e3, -25e3, 60e3, -30e3]})
    ax = budget_impact(f, currency="GBP", price_year=2023)
    nhs = _by_label(ax.containers, "NHS")
    police = _by_label(ax.containers, "Police")
    np.testing.assert_allclose([p.get_height() for p in nhs.patches], [100e3, 80e3, 60e3])
    np.testing.assert_allclose([p.get_height() for p in police.patches], [-20e3, -25e3, -30e3])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1", "2", "3"]
    assert "£" in ax.get_ylabel() and "2023/24 prices" in ax.get_ylabel()


def test_figures_use_the_okabe_ito_palette():
    assert set(PALETTE) == set(OKABE_ITO.values())


# -------------------------------------------------------------------------------------- saving, default


def test_save_figure_writes_png_and_svg(tmp_path, res):
    ax = ceac(res.psa)
    paths = save_figure(ax, tmp_path / "sub" / "ceac")
    assert [p.name for p in paths] == ["ceac.png", "ceac.svg"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = paths[1].read_text()
    assert "<svg" in svg and "<dc:date>" not in svg
    save_figure(ceac(res.psa).figure, tmp_path / "again")
    assert svg == (tmp_path / "again.svg").read_text()  # no date: same results, same file
    axes = state_occupancy(res.base)
    assert save_figure(axes, tmp_path / "occ")[0].is_file()


def test_save_figure_lays_out_once_and_keeps_the_engine(tmp_path, res, monkeypatch):
    """The SVG reuses the PNG's constrained layout (one layout per figure, not one per format), and the figure
    keeps its layout engine afterwards."""
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    fig = ceac(res.psa).figure
    engine = fig.get_layout_engine()
    assert isinstance(engine, ConstrainedLayoutEngine)
    calls = []
    orig = ConstrainedLayoutEngine.execute
    monkeypatch.setattr(ConstrainedLayoutEngine, "execute", lambda self, f: (calls.append(1), orig(self, f))[1])
    save_figure(fig, tmp_path / "once")
    assert len(calls) == 1 and (tmp_path / "once.svg").is_file()
    assert fig.get_layout_engine() is engine


def test_default_figures_builds_what_the_data_allows(res, tmp_path):
    paths = default_figures(res.dir)
    names = sorted({p.stem for p in paths})
    assert names == sorted(["state_occupancy", "costs_by_sector", "ce_plane", "ceac", "evpi", "tornado", "two_way"])
    assert all(p.parent == res.dir / "figures" and p.stat().st_size > 0 for p in paths)
    assert {p.suffix for p in paths} == {".png", ".svg"}

    only_base = make_results(tmp_path / "base_only", n_psa=0, dsa=False)
    paths = default_figures(only_base.dir)
    assert sorted({p.stem for p in paths}) == ["costs_by_sector", "state_occupancy"]


def test_load_results_rejects_what_is_not_a_results_folder(tmp_path):
    from heecon.report.results_data import ResultsFolderError

    with pytest.raises(ResultsFolderError, match="does not exist"):
        load_results(tmp_path / "nope")
    with pytest.raises(ResultsFolderError, match="summary.json"):
        load_results(tmp_path)
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(ResultsFolderError, match="JSON"):
        load_results(tmp_path)
    (tmp_path / "summary.json").write_text('{"settings": {}}')
    with pytest.raises(ResultsFolderError, match="strategies"):
        load_results(tmp_path)


def test_default_figures_never_overwrite_a_figures_folder_heecon_did_not_write(tmp_path):
    from heecon.execution.files import OutputError

    res = make_results(tmp_path / "r", n_psa=0, dsa=False)
    default_figures(res.dir)  # heecon's own figures/: replaced freely
    default_figures(res.dir)
    mine = res.dir / "figures" / "my_chart.png"
    mine.write_bytes(b"user's figure")
    with pytest.raises(OutputError, match="my_chart.png"):
        default_figures(res.dir)
    assert mine.read_bytes() == b"user's figure"
