"""The public Python API: the few entry points ``import heecon`` exposes, as thin wrappers over the library.

Every function that analyses a model takes a loaded scenario (:func:`heecon.load_scenario`) or the path of a
scenario file, and returns a result object with ``.to_frame()`` (a labelled ``pandas.DataFrame``), in the manner of
scikit-learn and pandas. Documented with examples in docs/api.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

__all__ = ["run_psa", "one_way", "two_way", "threshold", "evppi", "sobol", "morris", "analyse_psa", "calibrate",
           "build_report", "save_analysis"]


def _scenario(scenario: Any) -> Any:
    if hasattr(scenario, "settings") and hasattr(scenario, "parameters"):
        return scenario
    if isinstance(scenario, (str, Path)):
        from heecon.pipeline import load_scenario

        return load_scenario(scenario)
    raise TypeError(f"Expected a scenario (heecon.load_scenario) or the path of a scenario file. "
                    f"Got {type(scenario).__name__}.")


def run_psa(scenario: Any, n_samples: int | None = None, *, seed: int | None = None, executor: Any = None,
            progress: bool = False) -> Any:
    """Probabilistic sensitivity analysis: draw every uncertain parameter ``n_samples`` times and run the model.

    Returns a :class:`heecon.sensitivity.psa.PSAResult`: ``costs_frame()`` and ``effects_frame()`` are
    DataFrames indexed by ``sample`` with a column per ``strategy``; ``to_frame()`` is the long table indexed by
    (``sample``, ``strategy``); ``cea`` the CEAC, CEAF and EVPI; ``summary()`` the numbers of ``summary.json``.
    """
    from heecon.sensitivity.psa import run_psa as _run

    return _run(_scenario(scenario), n_samples, seed, progress=progress, executor=executor)


def one_way(scenario: Any, params: Sequence[str] | None = None, *, strategy: str | None = None,
            wtp: float | None = None, perspective: str | None = None) -> Any:
    """One-way DSA (tornado data) of every parameter with a range or distribution (``OneWayResult``)."""
    from heecon.sensitivity.dsa import one_way as _one_way

    return _one_way(_scenario(scenario), params, strategy=strategy, wtp=wtp, perspective=perspective)


def two_way(scenario: Any, a: str, b: str, *, n: int = 11, strategy: str | None = None, wtp: float | None = None,
            perspective: str | None = None) -> Any:
    """Two-way DSA: incremental NMB and ICER over an ``n`` x ``n`` grid of two parameters (a DataFrame)."""
    from heecon.sensitivity.dsa import two_way as _two_way

    return _two_way(_scenario(scenario), a, b, n=n, strategy=strategy, wtp=wtp, perspective=perspective)


def threshold(scenario: Any, param: str, *, bounds: tuple[float, float] | None = None, strategy: str | None = None,
              wtp: float | None = None, perspective: str | None = None) -> Any:
    """The value of ``param`` at which the ICER equals the WTP, searched within ``bounds`` (``ThresholdResult``)."""
    from heecon.sensitivity.dsa import threshold as _threshold

    return _threshold(_scenario(scenario), param, bounds=bounds, strategy=strategy, wtp=wtp, perspective=perspective)


def evppi(psa: Any, groups: Any = None, wtp: float | Sequence[float] | None = None, *,
          perspective: str | None = None, gp_samples: int = 500) -> Any:
    """EVPPI per parameter or group by regression on a PSA (``run_psa``'s result; Strong et al. 2014)."""
    from heecon.sensitivity.evppi import evppi as _evppi

    return _evppi(psa, groups, wtp, perspective, gp_samples=gp_samples)


def sobol(scenario: Any, n: int = 1024, *, strategy: str | None = None, wtp: float | None = None,
          perspective: str | None = None, params: Sequence[str] | None = None, seed: int | None = None) -> Any:
    """Sobol' first-order and total indices of incremental net benefit (SALib; ``SobolResult``)."""
    from heecon.sensitivity.gsa import sobol as _sobol

    return _sobol(_scenario(scenario), n, strategy=strategy, wtp=wtp, perspective=perspective, params=params,
                  seed=seed)


def morris(scenario: Any, trajectories: int = 20, *, strategy: str | None = None, wtp: float | None = None,
           perspective: str | None = None, params: Sequence[str] | None = None, seed: int | None = None) -> Any:
    """Morris elementary-effects screening of incremental net benefit (SALib; ``MorrisResult``)."""
    from heecon.sensitivity.gsa import morris as _morris

    return _morris(_scenario(scenario), trajectories, strategy=strategy, wtp=wtp, perspective=perspective,
                   params=params, seed=seed)


def _wide(x: Any) -> Any:
    import pandas as pd

    if isinstance(x, pd.DataFrame) and x.index.nlevels == 2 and x.shape[1] == 1:
        x = x.iloc[:, 0]
    if isinstance(x, pd.Series) and x.index.nlevels == 2:  # long: indexed by (sample, strategy), strategies in order
        return x.unstack(level=-1)[list(pd.unique(x.index.get_level_values(-1)))]
    return x


def analyse_psa(costs: Any, effects: Any = None, wtp: Any = None, *, names: Sequence[str] | None = None,
                ref: str | int | None = None, perspective: str | None = None) -> Any:
    """Incremental table, CEAC, CEAF, EVPI and break-even WTPs of PSA draws (``CEAResult``), as ``heecon cea``.

    Parameters
    ----------
    costs, effects
        Draws with one column per strategy: arrays ``(n, k)`` or DataFrames (the columns name the strategies; the
        effects' columns are matched to the costs' by name), or Series indexed by (sample, strategy). Or a
        ``run_psa`` result as ``costs`` (``effects`` left out), in ``perspective``.
    wtp
        A WTP or a grid (default 0 to 50,000 by 100).
    names, ref
        Strategy names for arrays; BCEA's reference strategy (adds EIB and the probability it is better).
    """
    import pandas as pd

    from heecon.cea import analyse_psa as _analyse

    if hasattr(costs, "cea_by_perspective") and effects is None:
        psa = costs
        costs, effects = psa.costs_frame(perspective), psa.effects_frame()
    elif effects is None:
        raise TypeError("analyse_psa needs costs and effects (or a run_psa result alone)")
    costs, effects = _wide(costs), _wide(effects)
    if isinstance(costs, pd.DataFrame) and isinstance(effects, pd.DataFrame):
        if set(map(str, costs.columns)) != set(map(str, effects.columns)):
            raise ValueError(f"The costs and effects name different strategies: {list(costs.columns)} and "
                             f"{list(effects.columns)}.")
        effects = effects[list(costs.columns)]
    return _analyse(costs, effects, names, wtp, ref=ref)


def calibrate(scenario: Any, *, fit: bool = False, individuals: int | None = None) -> Any:
    """Check the model against its calibration targets (and fit them with ``fit=True``): a DataFrame, one row per
    target (``target``, ``statistic``, ``observed_target``, ``model``, ``tolerance``, ``within_tolerance``, ...)."""
    import pandas as pd

    from heecon.calibration import calibrate as _calibrate

    sc = _scenario(scenario)
    if not sc.calibration_targets:
        raise ValueError(f"{sc.path} has no calibration targets ([calibration.targets.NAME] sections)")
    return pd.DataFrame(_calibrate(sc, fit=fit, individuals=individuals)).set_index("target")


def build_report(results_dir: str | Path) -> Path:
    """Figures and ``report.html`` of a results folder, with the analyses added to it (no model is run)."""
    from heecon.report.html import build_report as _build

    return _build(results_dir)


def save_analysis(folder: str | Path, *results: Any, scenario: Any = None, figures: bool = True) -> Path:
    """Write an analysis (DSA parts, EVPPI, Sobol', Morris or CEA results) into its own subfolder of ``folder``
    (a run's results folder, so that ``build_report`` includes it); returns the subfolder."""
    from heecon.report.analyses import save_analysis as _save

    return _save(folder, *results, scenario=None if scenario is None else _scenario(scenario), figures=figures)
