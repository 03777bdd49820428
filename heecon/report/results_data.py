"""A results folder read back: its summary, tables and per-sample Parquet, as :class:`ResultsData`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


class ResultsFolderError(ValueError):
    """A folder is not a readable heecon results folder (the message says what is wrong)."""


@dataclass
class AnalysisData:
    """One analysis a later command added to the folder (``dsa/``, ``evppi/``, ``gsa_sobol/``, ``gsa_morris/``,
    ``cea/``): its ``analysis.json`` (``about``), its CSV tables by file name and its figures (PNG) by name."""

    name: str
    path: Path
    about: dict[str, Any]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    figures: dict[str, Path] = field(default_factory=dict)

    def stale(self, summary: dict[str, Any]) -> bool:
        """Computed from another version of the scenario than the run's (both SHA-256 known and different)."""
        a, b = self.about.get("scenario_sha256"), summary.get("scenario_sha256")
        return bool(a and b and a != b)


@dataclass
class ResultsData:
    """The files of a results folder, read into frames (``None`` where a file is absent).

    Attributes
    ----------
    summary
        ``summary.json`` as a dict.
    outcomes, icers, trace, per_cycle, net_benefit
        The base-case tables.
    ceac
        ``ceac.csv`` (``wtp``, one column per strategy, ``frontier``, ``frontier_probability``, ``evpi``).
    psa_samples
        ``psa_samples.parquet`` (one row per sample and strategy).
    dsa_one_way, dsa_two_way
        ``dsa_one_way.csv``, ``dsa_two_way.csv`` when a DSA was written into the folder.
    cost_consequence, budget_impact
        Optional tables (``cost_consequence.csv``, ``budget_impact.csv``).
    analyses
        The analyses later commands added, by subfolder name (:class:`AnalysisData`).
    """

    path: Path
    summary: dict[str, Any]
    outcomes: pd.DataFrame | None = None
    icers: pd.DataFrame | None = None
    trace: pd.DataFrame | None = None
    per_cycle: pd.DataFrame | None = None
    net_benefit: pd.DataFrame | None = None
    ceac: pd.DataFrame | None = None
    psa_samples: pd.DataFrame | None = None
    dsa_one_way: pd.DataFrame | None = None
    dsa_two_way: pd.DataFrame | None = None
    cost_consequence: pd.DataFrame | None = None
    budget_impact: pd.DataFrame | None = None
    files: list[str] = field(default_factory=list)
    analyses: dict[str, AnalysisData] = field(default_factory=dict)
    #: the default run's analysis tables (scenario_analysis.csv, dsa.csv, thresholds.csv, subgroups.csv,
    #: evppi.csv, cba.csv) and the parameter table (evidence.csv), by file name
    suite: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def settings(self) -> dict[str, Any]:
        return self.summary.get("settings", {})

    @property
    def strategies(self) -> list[str]:
        return [s["name"] for s in self.summary.get("strategies", [])]

    @property
    def labels(self) -> dict[str, str]:
        return {s["name"]: s.get("label") or s["name"] for s in self.summary.get("strategies", [])}

    @property
    def state_labels(self) -> dict[str, str]:
        st = self.summary.get("states")
        if isinstance(st, dict):
            return {k: (v.get("label", k) if isinstance(v, dict) else str(v)) for k, v in st.items()}
        if isinstance(st, list):
            return {d["name"]: d.get("label", d["name"]) for d in st if isinstance(d, dict) and "name" in d}
        return {}

    @property
    def has_psa(self) -> bool:
        return self.psa_samples is not None or self.ceac is not None


_CSV_FILES = {
    "outcomes": "outcomes.csv",
    "icers": "icers.csv",
    "trace": "trace.csv",
    "per_cycle": "per_cycle.csv",
    "net_benefit": "net_benefit.csv",
    "ceac": "ceac.csv",
    "dsa_one_way": "dsa_one_way.csv",
    "dsa_two_way": "dsa_two_way.csv",
    "cost_consequence": "cost_consequence.csv",
    "budget_impact": "budget_impact.csv",
}


#: the tables of the default run's analyses (heecon.sensitivity.suite) and the parameter table
SUITE_FILES = ("scenario_analysis.csv", "dsa.csv", "thresholds.csv", "subgroups.csv", "evppi.csv", "cba.csv",
               "evidence.csv")

#: the subfolders later analyses write (heecon.report.analyses.ANALYSIS_ENTRIES), in the report's order
ANALYSES = ("dsa", "evppi", "gsa_sobol", "gsa_morris", "cea", "evsi")


def _read_csv(f: Path, **kw: Any) -> pd.DataFrame:
    try:
        return pd.read_csv(f, **kw)
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ResultsFolderError(f"{f} could not be read as CSV ({type(exc).__name__}: {exc})") from None


def _read_analysis(folder: Path, name: str) -> AnalysisData:
    try:
        about = json.loads((folder / "analysis.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsFolderError(f"{folder / 'analysis.json'} could not be read as JSON "
                                 f"({type(exc).__name__}: {exc})") from None
    if not isinstance(about, dict):
        raise ResultsFolderError(f"{folder / 'analysis.json'} is not a JSON object")
    a = AnalysisData(name, folder, about)
    for f in sorted(folder.glob("*.csv")):
        a.tables[f.name] = _read_csv(f)
    for f in sorted((folder / "figures").glob("*.png")):
        a.figures[f.stem] = f
    return a


def load_results(results_dir: str | Path) -> ResultsData:
    """Read a results folder written by ``heecon run`` (``write_results``). Reads files only; runs nothing.

    Raises
    ------
    ResultsFolderError
        The folder does not exist, has no readable ``summary.json``, or a file in it cannot be read.
    """
    p = Path(results_dir)
    if not p.exists():
        raise ResultsFolderError(f"{p} does not exist")
    if not p.is_dir():
        raise ResultsFolderError(f"{p} is not a folder")
    sj = p / "summary.json"
    if not sj.is_file():
        raise ResultsFolderError(f"{p} has no summary.json; give a folder written by `heecon run`")
    try:
        summary = json.loads(sj.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsFolderError(f"{sj} could not be read as JSON ({type(exc).__name__}: {exc})") from None
    if not isinstance(summary, dict) or not isinstance(summary.get("settings"), dict) \
            or not isinstance(summary.get("strategies"), list) or not summary["strategies"]:
        raise ResultsFolderError(f"{sj} is not a heecon summary (it needs 'settings' and 'strategies')")
    for s in summary["strategies"]:
        if not isinstance(s, dict) or "name" not in s:
            raise ResultsFolderError(f"{sj}: every entry of 'strategies' needs a 'name'")
    data = ResultsData(path=p, summary=summary, files=["summary.json"])
    for attr, name in _CSV_FILES.items():
        f = p / name
        if not f.is_file():
            continue
        df = _read_csv(f, index_col="strategy" if attr == "outcomes" else None)
        setattr(data, attr, df)
        data.files.append(name)
    for name in SUITE_FILES:
        f = p / name
        if f.is_file():
            data.suite[name] = _read_csv(f)
            data.files.append(name)
    for name in ANALYSES:
        if (p / name / "analysis.json").is_file():
            a = _read_analysis(p / name, name)
            data.analyses[name] = a
            data.files += [f"{name}/{f}" for f in ["analysis.json", *a.tables]]
    dsa = data.analyses.get("dsa")
    if dsa is not None:  # the DSA's own folder wins over the files of older results folders
        data.dsa_one_way = dsa.tables.get("dsa_one_way.csv", data.dsa_one_way)
        data.dsa_two_way = dsa.tables.get("dsa_two_way.csv", data.dsa_two_way)
    f = p / "psa_samples.parquet"
    if f.is_file():
        try:
            data.psa_samples = pd.read_parquet(f)
        except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
            raise ResultsFolderError(f"{f} could not be read as Parquet ({type(exc).__name__}: {exc})") from None
        data.files.append(f.name)
    return data
