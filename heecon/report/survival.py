"""The files of a survival analysis (``heecon fit-survival``): tables, figures and the scenario fragment.

Written into a temporary folder renamed into place (:class:`heecon.execution.files.atomic_output_dir`); an
existing folder is replaced only when ``heecon fit-survival`` wrote it (it holds ``fit_survival.json``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from heecon import __version__
from heecon.execution.files import atomic_output_dir

__all__ = ["write_survival_results", "MANIFEST", "coefficient_table"]

MANIFEST = "fit_survival.json"


def coefficient_table(analysis: Any) -> pd.DataFrame:
    """Every fit's estimates as flexsurv prints them (natural scale with CIs; coefficients with SEs)."""
    frames = []
    for dist, fit in analysis.fits.items():
        f = fit.summary().reset_index()
        f.insert(0, "dist", dist)
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def write_survival_results(analysis: Any, out_dir: str | Path, *, figures: bool = True) -> dict[str, Path]:
    """Write ``fits.csv`` (AIC/BIC), ``coefficients.csv``, ``curves.csv``, ``survival.toml`` (the chosen fit as
    scenario parameters, its multivariate normal and curves), ``ipd.csv`` (reconstructed data, if any), the
    figures (``figures/survival_fit``, ``survival_extrapolation``, ``hazards``, PNG and SVG) and the manifest.

    Raises
    ------
    FileExistsError
        When ``out_dir`` exists, is not empty and was not written by ``heecon fit-survival``.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir()) and not (out_dir / MANIFEST).is_file())):
        raise FileExistsError(f"{out_dir} exists and was not written by heecon fit-survival (no {MANIFEST}); "
                              "refusing to replace it. Choose another folder with -o.")
    files = ["fits.csv", "coefficients.csv", "curves.csv", "survival.toml"]
    with atomic_output_dir(out_dir) as tmp:
        analysis.to_frame().to_csv(tmp / "fits.csv", index=False)
        coefficient_table(analysis).to_csv(tmp / "coefficients.csv", index=False)
        analysis.curves.to_csv(tmp / "curves.csv", index=False)
        (tmp / "survival.toml").write_text(analysis.fragment(), encoding="utf-8")
        if analysis.ipd is not None:
            analysis.ipd.to_csv(tmp / "ipd.csv", index=False)
            files.append("ipd.csv")
        if figures:
            from heecon.report.figures import hazard_plot, save_figure, survival_extrapolation_plot, survival_fit_plot

            for stem, fn in (("survival_fit", survival_fit_plot), ("survival_extrapolation", survival_extrapolation_plot),
                             ("hazards", hazard_plot)):
                axes = fn(analysis)
                for p in save_figure(axes[0], tmp / "figures" / stem):
                    files.append(str(p.relative_to(tmp)))
        manifest = {"heecon_version": __version__, "chosen": analysis.chosen, "prefix": analysis.prefix,
                    "time_unit": analysis.time_unit, "data_source": analysis.data_source,
                    "groups": list(analysis.groups), "curves": analysis.curve_names(), "horizon": analysis.horizon,
                    "fits": list(analysis.fits), "warnings": analysis.warnings, "files": files}
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return {f: out_dir / f for f in files}
