"""Reading and checking study designs for the EVSI: :func:`parse_design` (a TOML-like mapping),
:func:`read_design` (a TOML file) and :func:`check_design` (against a scenario's parameters).

Every problem is reported at once, each naming its key path and what would be valid; the design types and the
roles of each outcome are in :mod:`heecon.sensitivity.designs`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from heecon.sensitivity.designs import (
    _COST_KEYS,
    _DESIGN_KEYS,
    _POPULATION_KEYS,
    _ROLES,
    _TOP_KEYS,
    ARMS,
    COUNT_DISTRIBUTIONS,
    OUTCOMES,
    RATE_PER,
    DecisionPopulation,
    DesignError,
    StudyCosts,
    StudyDesign,
)

__all__ = ["check_design", "parse_design", "read_design"]

def _fmt_choices(options: Sequence[Any]) -> str:
    return ", ".join(repr(o) for o in options)


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, msg: str) -> None:
        self.problems.append(msg)

    def unknown_keys(self, table: Mapping[str, Any], valid: Sequence[str], where: str) -> None:
        from heecon.scenario.errors import did_you_mean

        for k in table:
            if k not in valid:
                self.add(f"{where}.{k} is not a known key.{did_you_mean(str(k), valid)} "
                         f"Valid keys: {_fmt_choices(valid)}.")

    def number(self, table: Mapping[str, Any], key: str, where: str, *, lo: float | None = None,
               lo_open: bool = False, hi: float | None = None, hi_open: bool = False, integer: bool = False,
               required: bool = False) -> float | None:
        path = f"{where}.{key}"
        if key not in table:
            if required:
                self.add(f"{path} is required{_range_text(lo, lo_open, hi, hi_open, integer)}.")
            return None
        v = table[key]
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if ok and integer:
            ok = float(v).is_integer()
        if ok and lo is not None:
            ok = v > lo if lo_open else v >= lo
        if ok and hi is not None:
            ok = v < hi if hi_open else v <= hi
        if not ok:
            self.add(f"{path} must be {_range_text(lo, lo_open, hi, hi_open, integer, lead=False)}. Got {v!r}.")
            return None
        return int(v) if integer else float(v)

    def choice(self, table: Mapping[str, Any], key: str, where: str, options: Sequence[Any], default: Any = None,
               required: bool = False) -> Any:
        path = f"{where}.{key}"
        if key not in table:
            if required:
                self.add(f"{path} is required: one of {_fmt_choices(options)}.")
            return default
        v = table[key]
        if v not in options or isinstance(v, bool):
            from heecon.scenario.errors import did_you_mean

            hint = did_you_mean(v, [str(o) for o in options]) if isinstance(v, str) else ""
            self.add(f"{path} must be one of {_fmt_choices(options)}. Got {v!r}.{hint}")
            return default
        return v

    def text(self, table: Mapping[str, Any], key: str, where: str) -> str | None:
        if key not in table:
            return None
        v = table[key]
        if not isinstance(v, str):
            self.add(f"{where}.{key} must be a string. Got {v!r}.")
            return None
        return v


def _range_text(lo: float | None, lo_open: bool, hi: float | None, hi_open: bool, integer: bool,
                lead: bool = True) -> str:
    what = "a whole number" if integer else "a number"
    if lo is not None and hi is not None:
        what += f" in {'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}"
    elif lo is not None:
        what += f" {'>' if lo_open else '>='} {lo:g}"
    elif hi is not None:
        what += f" {'<' if hi_open else '<='} {hi:g}"
    return (": " + what) if lead else what


def parse_design(data: Mapping[str, Any], *, file: str | None = None) -> StudyDesign:
    """Check a study design given as a TOML-like mapping and return it.

    Parameters
    ----------
    data
        ``{"design": {...}, "costs": {...}, "population": {...}}`` (``costs`` and ``population`` optional), or
        the ``design`` table alone. Keys of ``design``: ``name``, ``outcome`` (one of :data:`OUTCOMES`),
        ``arms`` (1 or 2, default 2), ``n_per_arm`` (a whole number or a list of them, >= 1),
        ``parameters`` (role -> scenario parameter name or number), ``informs`` (roles; default every role
        given by name), ``follow_up_years`` and ``rate_per`` (count, rate), ``distribution`` and
        ``dispersion`` (count), ``sd`` (normal), ``label``, ``description``. ``costs``: ``fixed``,
        ``per_participant`` (>= 0), ``currency``, ``price_year``, ``source``. ``population``:
        ``population_per_year`` (>= 0, one number or one per year), ``years`` (>= 1), ``discount_rate``
        (in [0, 1)), ``timing`` (``"end"`` or ``"start"``), ``source``.
    file
        File name for the error heading.

    Raises
    ------
    DesignError
        Listing every problem, each naming its key path and what is valid, e.g. "design.outcome must be one
        of 'count', 'binary', 'normal', 'rate'. Got 'counts'."
    """
    ck = _Checker()
    if not isinstance(data, Mapping):
        raise DesignError([f"a study design must be a table (mapping). Got {type(data).__name__}."], file)
    if "design" in data and isinstance(data["design"], Mapping):
        top, d = data, data["design"]
        ck.unknown_keys(top, _TOP_KEYS, "(top level)")
    elif "design" in data:
        raise DesignError([f"design must be a table. Got {data['design']!r}."], file)
    elif "outcome" in data:
        top, d = {}, data
    else:
        raise DesignError(["design is required: a [design] table with at least outcome, n_per_arm and parameters."],
                          file)
    w = "design"
    ck.unknown_keys(d, _DESIGN_KEYS, w)
    name = ck.text(d, "name", w) or (Path(file).stem if file else "design")
    outcome = ck.choice(d, "outcome", w, OUTCOMES, required=True)
    arms = ck.choice(d, "arms", w, ARMS, default=2)
    n_per_arm = _parse_n(ck, d.get("n_per_arm"), f"{w}.n_per_arm")

    # parameters by role
    params: dict[str, str | float] = {}
    ptab = d.get("parameters")
    if ptab is None:
        ck.add(f"{w}.parameters is required: a table of role = \"scenario parameter name\" (or a number).")
        ptab = {}
    elif not isinstance(ptab, Mapping):
        ck.add(f"{w}.parameters must be a table of role = \"parameter name\". Got {ptab!r}.")
        ptab = {}
    if outcome is not None and arms is not None:
        required, optional = _ROLES[(outcome, arms)]
        allowed = [r for g in required for r in g] + list(optional)
        ck.unknown_keys(ptab, allowed, f"{w}.parameters")
        for group in required:
            given = [r for r in group if r in ptab]
            if not given:
                if len(group) == 1:
                    ck.add(f"{w}.parameters.{group[0]} is required for a {arms}-arm {outcome} design: a scenario "
                           f"parameter name or a number.")
                else:
                    ck.add(f"{w}.parameters needs one of {_fmt_choices(group)} for a {arms}-arm {outcome} design.")
            elif len(given) > 1:
                ck.add(f"{w}.parameters gives {_fmt_choices(given)}; give only one of {_fmt_choices(group)}.")
        for role, v in ptab.items():
            if role not in allowed:
                continue
            if isinstance(v, str) and v.strip():
                params[role] = v.strip()
            elif isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                params[role] = float(v)
            else:
                ck.add(f"{w}.parameters.{role} must be a scenario parameter name (string) or a number. Got {v!r}.")

    # informs
    named = [r for r, v in params.items() if isinstance(v, str)]
    informs: tuple[str, ...] = tuple(named)
    if "informs" in d:
        inf = d["informs"]
        if isinstance(inf, str):
            inf = [inf]
        if not isinstance(inf, Sequence) or not all(isinstance(x, str) for x in inf) or not inf:
            ck.add(f"{w}.informs must be a non-empty list of roles from design.parameters. Got {d['informs']!r}.")
        else:
            bad = False
            for r in inf:
                if r not in params:
                    from heecon.scenario.errors import did_you_mean

                    ck.add(f"{w}.informs names '{r}', which is not a role in design.parameters."
                           f"{did_you_mean(r, list(params))} Roles given: {_fmt_choices(list(params))}.")
                    bad = True
                elif not isinstance(params[r], str):
                    ck.add(f"{w}.informs names '{r}', which is a fixed number ({params[r]:g}); only a role given by a "
                           "scenario parameter name can be informed.")
                    bad = True
            if len(set(inf)) != len(inf):
                ck.add(f"{w}.informs names a role twice. Got {list(inf)!r}.")
                bad = True
            if not bad:
                informs = tuple(inf)
    elif params and not named and outcome is not None:
        ck.add(f"{w}.parameters gives only fixed numbers; name at least one scenario parameter for the study to "
               "inform.")

    # outcome-specific settings
    follow_up = rate_per = distribution = dispersion = sd = None
    if outcome in ("count", "rate"):
        follow_up = ck.number(d, "follow_up_years", w, lo=0, lo_open=True, required=True)
        rate_per = ck.choice(d, "rate_per", w, tuple(RATE_PER), default="year")
        if outcome == "count":
            distribution = ck.choice(d, "distribution", w, COUNT_DISTRIBUTIONS, required=True)
            if distribution == "negative_binomial":
                dispersion = ck.number(d, "dispersion", w, lo=0, lo_open=True, required=True)
            elif "dispersion" in d and distribution == "poisson":
                ck.add(f"{w}.dispersion is only used by distribution = 'negative_binomial'; remove it for 'poisson'.")
        else:
            for k in ("distribution", "dispersion"):
                if k in d:
                    ck.add(f"{w}.{k} does not apply to outcome 'rate' (Poisson events over person-time); use "
                           "outcome = 'count' for a negative binomial.")
    elif outcome is not None:
        for k in ("follow_up_years", "distribution", "dispersion"):
            if k in d:
                ck.add(f"{w}.{k} applies to outcomes 'count' and 'rate' only; this design's outcome is '{outcome}'.")
    if outcome == "normal":
        sd = ck.number(d, "sd", w, lo=0, lo_open=True, required=True)
    elif outcome is not None and "sd" in d:
        ck.add(f"{w}.sd applies to outcome 'normal' only; this design's outcome is '{outcome}'.")

    costs = _parse_costs(ck, top.get("costs")) if "costs" in top else None
    population = _parse_population(ck, top.get("population")) if "population" in top else None
    if ck.problems:
        raise DesignError(ck.problems, file)
    return StudyDesign(name=name, outcome=outcome, arms=int(arms), n_per_arm=n_per_arm, parameters=params,
                       informs=informs, follow_up_years=follow_up, rate_per=rate_per or "year",
                       distribution=distribution, dispersion=dispersion, sd=sd, label=ck.text(d, "label", w),
                       description=ck.text(d, "description", w), costs=costs, population=population,
                       source=" ".join(s for s in (ck.text(d, "source", w), ck.text(d, "notes", w)) if s) or None,
                       file=file)


def _parse_n(ck: _Checker, v: Any, path: str) -> tuple[int, ...]:
    if v is None:
        ck.add(f"{path} is required: a whole number >= 1 or a list of them (participants per arm).")
        return ()
    vals = v if isinstance(v, (list, tuple)) else [v]
    out = []
    for x in vals:
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)) or not math.isfinite(x) \
                or not float(x).is_integer() or x < 1:
            ck.add(f"{path} must be a whole number >= 1 or a list of them. Got {v!r}.")
            return ()
        out.append(int(x))
    if not out:
        ck.add(f"{path} must list at least one sample size. Got {v!r}.")
    elif len(set(out)) != len(out):
        ck.add(f"{path} lists a sample size twice. Got {v!r}.")
    return tuple(sorted(out))


def _parse_costs(ck: _Checker, t: Any) -> StudyCosts | None:
    if not isinstance(t, Mapping):
        ck.add(f"costs must be a table with fixed and per_participant. Got {t!r}.")
        return None
    ck.unknown_keys(t, _COST_KEYS, "costs")
    fixed = ck.number(t, "fixed", "costs", lo=0, required=True)
    pp = ck.number(t, "per_participant", "costs", lo=0, required=True)
    year = ck.number(t, "price_year", "costs", lo=1900, hi=2200, integer=True)
    parts = [s for s in (ck.text(t, "source", "costs"), ck.text(t, "fixed_source", "costs"),
                         ck.text(t, "per_participant_source", "costs")) if s]
    if fixed is None or pp is None:
        return None
    return StudyCosts(fixed, pp, ck.text(t, "currency", "costs"), int(year) if year is not None else None,
                      " ".join(parts) or None)


def _parse_population(ck: _Checker, t: Any) -> DecisionPopulation | None:
    if not isinstance(t, Mapping):
        ck.add(f"population must be a table with population_per_year, years and discount_rate. Got {t!r}.")
        return None
    ck.unknown_keys(t, _POPULATION_KEYS, "population")
    years = ck.number(t, "years", "population", lo=1, integer=True, required=True)
    rate = ck.number(t, "discount_rate", "population", lo=0, hi=1, hi_open=True, required=True)
    timing = ck.choice(t, "timing", "population", ("end", "start"), default="end")
    pop: float | tuple[float, ...] | None = None
    v = t.get("population_per_year")
    if isinstance(v, (list, tuple)):
        if all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x >= 0 for x in v) \
                and v:
            pop = tuple(float(x) for x in v)
            if years is not None and len(pop) != years:
                ck.add(f"population.population_per_year lists {len(pop)} values but population.years is {years}; "
                       "give one number or one value per year.")
                pop = None
        else:
            ck.add(f"population.population_per_year must be a number >= 0 or a list of them. Got {v!r}.")
    else:
        pop = ck.number(t, "population_per_year", "population", lo=0, required=True)
    if pop is None or years is None or rate is None:
        return None
    return DecisionPopulation(pop, int(years), float(rate), timing, ck.text(t, "source", "population"))


def read_design(path: str | Path) -> StudyDesign:
    """Read and check a study design from a TOML file (``tomllib``; nothing in it is evaluated).

    Raises
    ------
    DesignError
        If the file cannot be read or parsed, or fails the checks of :func:`parse_design`.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise DesignError([f"file not found: {p}"], str(p)) from None
    except tomllib.TOMLDecodeError as exc:
        raise DesignError([f"not valid TOML: {exc}"], str(p)) from None
    return parse_design(data, file=str(p))


def check_design(design: StudyDesign, scenario: Any) -> None:
    """Check that the design's parameters exist in ``scenario`` and that the informed ones have a distribution.

    For use before running a PSA (e.g. by the CLI).

    Raises
    ------
    DesignError
        Naming each unknown parameter (with a suggestion) or informed parameter that does not vary.
    """
    from heecon.params.scenario_draws import uncertain_parameters
    from heecon.scenario.errors import did_you_mean

    known = list(scenario.parameters)
    varying = set(uncertain_parameters(scenario))
    problems = []
    for role, v in design.data_parameters.items():
        if v not in known:
            problems.append(f"design.parameters.{role} names '{v}', which is not a parameter of the scenario."
                            f"{did_you_mean(v, known)}")
        elif role in design.informs and v not in varying:
            problems.append(f"design.parameters.{role} names '{v}', which has no distribution in the scenario, so it "
                            "does not vary in the PSA and the study cannot inform it.")
    if problems:
        raise DesignError(problems, design.file)
