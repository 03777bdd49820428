"""Parametric survival curves as scenario inputs: ``[survival.NAME]`` sections and survival cells.

A curve is a distribution in flexsurv's parameterisation (:mod:`heecon.survival`) whose parameters are
expressions of ordinary scenario parameters, so they take distributions and joints in the PSA (the
multivariate normal that ``heecon fit-survival`` writes) and vary in the DSA like any other::

    [survival.pfs]
    distribution = "weibull"        # exp, weibull, gompertz, llogis, lnorm, gamma, gengamma, pwexp
    shape = "pfs_shape"
    scale = "pfs_scale"
    units = "months"                # the curve's time unit: years, months, weeks, days
    hr = "hr_pfs"                   # optional: proportional hazards, H(t) -> hr * H(t)
    offset = 0                      # optional: years on the curve's clock at model start

A transition (or a microsimulation event rate) may then be a table instead of an expression::

    [transitions]
    PFS = { PFS = "C", PD = { survival = "pfs", time = "in_state" }, Dead = "p_die" }

with ``time = "since_start"`` (the curve runs on model time: every cycle its own matrix) or ``time =
"in_state"`` (on the time spent in the state: the state is expanded into sub-states ``PFS[1]..PFS[N]``, the
last one holding, ``N = max_cycles`` or the horizon). ``survival`` names a ``[survival.NAME]`` curve or, with
the curve's keys alongside, a distribution (an inline curve). The per-cycle probability is exactly
``1 - exp(-(H(t_k+1) - H(t_k)))`` (:func:`heecon.survival.transition_probabilities`); an event rate is the
cumulative-hazard increment ``H(t_k+1) - H(t_k)`` (the expected events per cycle of a Poisson process with
that hazard, whose Bernoulli probability ``1 - exp(-rate)`` is the same survival probability).

References
----------
Latimer N (2011, updated 2013). NICE DSU Technical Support Document 14, section 3-4. NICE Decision Support Unit.
Jackson CH (2016). flexsurv: a platform for parametric survival modeling in R. *J Stat Softw* 70(8):1-33.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from heecon.scenario.errors import did_you_mean, valid_list
from heecon.scenario.expr import TIME_NAMES, Expr, ExprError
from heecon.scenario.keys import NAME_RE

__all__ = ["SurvivalCurve", "SurvivalExpr", "UNITS", "CLOCKS", "read_survival_curves", "read_curve",
           "survival_cell_reader", "cycle_probability"]

#: The curve's time units per year.
UNITS: dict[str, float] = {"years": 1.0, "months": 12.0, "weeks": 365.25 / 7.0, "days": 365.25}
#: The clocks a survival cell can run on.
CLOCKS = ("since_start", "in_state")
_DISTS = ("exp", "weibull", "gompertz", "llogis", "lnorm", "gamma", "gengamma", "pwexp")
_PARAMS = {"exp": ("rate",), "weibull": ("shape", "scale"), "gompertz": ("shape", "rate"),
           "llogis": ("shape", "scale"), "lnorm": ("meanlog", "sdlog"), "gamma": ("shape", "rate"),
           "gengamma": ("mu", "sigma", "Q"), "pwexp": ("rates",)}
_ALL_PARAMS = sorted({p for v in _PARAMS.values() for p in v})
CURVE_KEYS = {"distribution", "units", "offset", "hr", "cuts", "label", "source", *_ALL_PARAMS}
USE_KEYS = {"survival", "time", "max_cycles"}


@dataclass(frozen=True)
class SurvivalCurve:
    """A parametric survival curve whose parameters are scenario expressions.

    Attributes
    ----------
    name
        The ``[survival.NAME]`` name ('' for a curve written inline in a cell).
    dist
        flexsurv's distribution name.
    params
        ``(parameter, expression)`` in flexsurv's order (``rate1..rateK`` for ``pwexp``).
    cuts
        A piecewise exponential's interior cut points, in the curve's unit.
    units, units_per_year
        The curve's time unit and its units per year.
    offset
        Years on the curve's clock at model start (None: 0).
    hr
        A hazard ratio multiplying the cumulative hazard (None: 1).
    key
        The TOML key path of the curve.
    """

    name: str
    dist: str
    params: tuple[tuple[str, Expr], ...]
    cuts: tuple[float, ...]
    units: str
    units_per_year: float
    offset: Expr | None
    hr: Expr | None
    key: str
    label: str = ""
    source: str | None = None

    def exprs(self) -> list[tuple[str, Expr]]:
        """Every expression of the curve with its key path."""
        out = [(f"{self.key}.{n}", e) for n, e in self.params]
        out += [(f"{self.key}.{n}", e) for n, e in (("offset", self.offset), ("hr", self.hr)) if e is not None]
        return out

    @property
    def names(self) -> frozenset[str]:
        """The names its expressions use."""
        out: set[str] = set()
        for _, e in self.exprs():
            out |= e.names
        return frozenset(out)

    @property
    def calls(self) -> frozenset[str]:
        out: set[str] = set()
        for _, e in self.exprs():
            out |= e.calls
        return frozenset(out)

    def describe(self) -> str:
        inner = ", ".join(f"{n}={e.text}" for n, e in self.params)
        return self.name or f"{self.dist}({inner})"

    def distribution(self, ev: Callable[[Expr, str], Any]) -> Any:
        """The :class:`heecon.survival.SurvivalDistribution` at the parameter values ``ev(expr, key)`` gives."""
        from heecon import survival as sv

        vals = [np.asarray(ev(e, f"{self.key}.{n}"), dtype=float) for n, e in self.params]
        try:
            with np.errstate(all="ignore"):
                if self.dist == "pwexp":
                    return sv.PiecewiseExponential(self.cuts, np.stack(np.broadcast_arrays(*vals), axis=-1))
                cls = {"exp": sv.Exponential, "weibull": sv.Weibull, "gompertz": sv.Gompertz,
                       "llogis": sv.LogLogistic, "lnorm": sv.LogNormal, "gamma": sv.Gamma,
                       "gengamma": sv.GeneralizedGamma}[self.dist]
                return cls(*vals)
        except ValueError as exc:
            raise ExprError(f"the survival curve {self.describe()!r} ({self.key}) cannot be built: {exc}") from None

    def cumhaz(self, ev: Callable[[Expr, str], Any], years: Any, dist: Any = None) -> np.ndarray:
        """``H`` at ``years`` on the curve's clock (offset not added), in the curve's unit, hazard ratio not applied."""
        d = self.distribution(ev) if dist is None else dist
        with np.errstate(all="ignore"):
            return np.asarray(d.cumhaz(np.asarray(years, dtype=float) * self.units_per_year), dtype=float)

    def offset_years(self, ev: Callable[[Expr, str], Any]) -> Any:
        return 0.0 if self.offset is None else ev(self.offset, f"{self.key}.offset")

    def hazard_ratio(self, ev: Callable[[Expr, str], Any]) -> Any:
        return None if self.hr is None else ev(self.hr, f"{self.key}.hr")


def cycle_probability(h0: Any, h1: Any, hr: Any = None) -> np.ndarray:
    """``1 - exp(-hr (H1 - H0))``, 1 where ``H0`` is infinite; as :func:`heecon.survival.probabilities_from_cumhaz`."""
    h0 = np.asarray(h0, dtype=float)
    with np.errstate(invalid="ignore", over="ignore"):
        dh = np.asarray(h1, dtype=float) - h0
        if hr is not None:
            dh = np.asarray(hr, dtype=float) * dh
        p = -np.expm1(-dh)
    p = np.where(np.isinf(h0), 1.0, p)
    return np.clip(p, 0.0, 1.0)


def _cycle_rate(h0: Any, h1: Any, hr: Any = None) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        dh = np.asarray(h1, dtype=float) - np.asarray(h0, dtype=float)
        return dh if hr is None else np.asarray(hr, dtype=float) * dh


@dataclass(frozen=True)
class SurvivalExpr(Expr):
    """A cell whose value comes from a survival curve: a probability (or rate) per cycle on one clock.

    It is an :class:`~heecon.scenario.expr.Expr`, so the model evaluates it where it evaluates any cell: its
    ``names`` are the parameters of the curve and the clock's name (``cycle`` for time since model start, so
    that every cycle gets its own matrix; ``tunnel_cycle`` for time in the state).
    """

    curve: Any = None
    clock: str = "since_start"
    kind: str = "probability"


def _survival_expr(curve: SurvivalCurve, clock: str, kind: str, cycle_years: float, known: set[str]) -> SurvivalExpr:
    def fn(env: Mapping[str, Any], fns: Mapping[str, tuple]) -> Any:
        def ev(e: Expr, key: str) -> Any:  # noqa: ARG001 - the key is for callers that record problems
            return e.evaluate(env, fns)

        if clock == "since_start":
            k = np.asarray(env["cycle"], dtype=float)
            off = curve.offset_years(ev)
        else:
            k = np.asarray(env["tunnel_cycle"], dtype=float)
            off = 0.0
        dist = curve.distribution(ev)
        # the boundaries exactly as heecon.survival.cycle_times writes them: (offset + k * cycle) * units
        h0 = curve.cumhaz(ev, off + (k - 1.0) * cycle_years, dist)
        h1 = curve.cumhaz(ev, off + k * cycle_years, dist)
        hr = curve.hazard_ratio(ev)
        return cycle_probability(h0, h1, hr) if kind == "probability" else _cycle_rate(h0, h1, hr)

    clock_name = "cycle" if clock == "since_start" else "tunnel_cycle"
    names = frozenset((curve.names & (known | set(TIME_NAMES))) | {clock_name})
    what = "survival_probability" if kind == "probability" else "survival_rate"
    text = f"{what}({curve.describe()}, {clock})" if curve.name else \
        f"{what}({curve.dist}({', '.join(f'{n}={e.text}' for n, e in curve.params)}), {clock})"
    try:
        compile(text, "<survival>", "eval")
    except SyntaxError:  # e.g. an expression with a string: keep the text parseable for check_arity
        text = f"{what}({curve.dist}, {clock})"
    return SurvivalExpr(text=text, names=names, calls=curve.calls, _fn=fn, curve=curve, clock=clock, kind=kind)


# ------------------------------------------------------------------------------------------------ readers


def read_curve(spec: Any, key: str, rd: Any, params: Mapping[str, Any], *, name: str = "",
               extra_keys: frozenset[str] = frozenset()) -> SurvivalCurve | None:
    """One curve: a ``[survival.NAME]`` table, or a cell's inline curve (``name`` '', distribution in ``survival``).

    Every problem is recorded at its key path; the names its expressions use must be ``params`` (or model time).
    """
    col = rd.col
    if not isinstance(spec, dict):
        col.add(key, "must be a table with distribution, its parameters and units, e.g. "
                     "{ distribution = \"weibull\", shape = \"p_shape\", scale = \"p_scale\", units = \"years\" }")
        return None
    rd.check_keys(spec, CURVE_KEYS | extra_keys, key, "a survival curve")
    dkey = "survival" if not name and "distribution" not in spec else "distribution"
    if spec.get(dkey) is None:
        col.add(key, f"needs distribution = one of {valid_list(_DISTS)} (flexsurv's names)")
        return None
    dist = rd.string(spec[dkey], f"{key}.{dkey}", _DISTS)
    if dist is None:
        return None
    ok = True
    missing = [p for p in _PARAMS[dist] if p not in spec]
    if missing:
        col.add(key, f"a {dist} curve needs {', '.join(_PARAMS[dist])} (flexsurv's parameters); "
                     f"missing: {', '.join(missing)}")
        ok = False
    for p in sorted(set(_ALL_PARAMS) - set(_PARAMS[dist])):
        if p in spec:
            col.add(f"{key}.{p}", f"is not a parameter of a {dist} curve; its parameters are {', '.join(_PARAMS[dist])}")
            ok = False
    cuts: tuple[float, ...] = ()
    params_e: list[tuple[str, Expr]] = []
    if dist == "pwexp":
        cuts_ok, cuts = _read_cuts(spec.get("cuts"), f"{key}.cuts", rd)
        ok = ok and cuts_ok
        rates = spec.get("rates")
        if cuts_ok and "rates" in spec:
            if not isinstance(rates, list) or len(rates) != len(cuts) + 1:
                col.add(f"{key}.rates", f"must be a list of {len(cuts) + 1} hazards per {spec.get('units', 'unit')} "
                                        "(one more than the cuts), e.g. [\"r1\", \"r2\"]")
                ok = False
            else:
                for j, r in enumerate(rates):
                    e = rd.expr(r, f"{key}.rates[{j}]")
                    ok = ok and e is not None
                    if e is not None:
                        params_e.append((f"rate{j + 1}", e))
    else:
        if "cuts" in spec:
            col.add(f"{key}.cuts", "cuts are for a piecewise exponential (distribution = \"pwexp\")")
            ok = False
        for p in _PARAMS[dist]:
            if p in spec:
                e = rd.expr(spec[p], f"{key}.{p}")
                ok = ok and e is not None
                if e is not None:
                    params_e.append((p, e))
    units = None
    if "units" not in spec:
        col.add(key, f"needs units = the curve's time unit, one of {valid_list(UNITS)} (the unit of the data it "
                     "was fitted to)")
        ok = False
    else:
        units = rd.string(spec["units"], f"{key}.units", UNITS)
        ok = ok and units is not None
    offset = _optional_nonneg(spec, "offset", key, rd, "must be a number of years >= 0")
    hr = _optional_nonneg(spec, "hr", key, rd, "a hazard ratio must be >= 0")
    if offset is False or hr is False or not ok:
        return None
    label, source = spec.get("label", name), spec.get("source")
    curve = SurvivalCurve(name=name, dist=dist, params=tuple(params_e), cuts=cuts, units=units,  # type: ignore[arg-type]
                          units_per_year=UNITS[units], offset=offset, hr=hr, key=key,  # type: ignore[index,arg-type]
                          label=label if isinstance(label, str) else name,
                          source=source if isinstance(source, str) else None)
    known = set(params) | set(TIME_NAMES)
    bad_names = False
    for k, e in curve.exprs():
        for n in sorted(e.names - known):
            bad_names = True
            col.add(k, f"unknown name '{n}' in expression {e.text!r}.{did_you_mean(n, known)} "
                       f"Names are parameters (see [parameters]) or {', '.join(sorted(TIME_NAMES))}.")
    if not bad_names and all(e.constant is not None for _, e in curve.params):
        try:
            curve.distribution(lambda e, _k: e.constant)
        except ExprError as exc:
            col.add(key, str(exc).split(": ", 1)[-1])
            return None
    return curve


def _read_cuts(v: Any, key: str, rd: Any) -> tuple[bool, tuple[float, ...]]:
    msg = ("a piecewise exponential needs cuts = [c1, c2, ...]: finite times > 0, strictly increasing, in the "
           "curve's units, where the hazard changes")
    if not (isinstance(v, list) and v and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in v)):
        rd.col.add(key, f"{msg}; got {v!r}")
        return False, ()
    cuts = tuple(float(c) for c in v)
    if not all(math.isfinite(c) for c in cuts) or cuts[0] <= 0 or any(b <= a for a, b in zip(cuts, cuts[1:])):
        rd.col.add(key, f"{msg}; got {v!r}")
        return False, ()
    return True, cuts


def _optional_nonneg(spec: Mapping[str, Any], k: str, key: str, rd: Any, msg: str) -> Expr | None | bool:
    """The expression at ``spec[k]`` (None when absent; False after a reported problem)."""
    if k not in spec:
        return None
    e = rd.expr(spec[k], f"{key}.{k}")
    if e is None:
        return False
    if e.constant is not None and not e.constant >= 0:
        rd.col.add(f"{key}.{k}", f"{msg}, got {e.constant:g}")
        return False
    return e


def read_survival_curves(raw: Any, rd: Any, params: Mapping[str, Any]) -> dict[str, SurvivalCurve]:
    """The ``[survival.NAME]`` sections."""
    out: dict[str, SurvivalCurve] = {}
    if raw is None:
        return out
    tab = rd.table(raw, "survival", "a table of [survival.NAME] curves") or {}
    for name, spec in tab.items():
        key = f"survival.{name}"
        if not isinstance(name, str) or not NAME_RE.match(name) or name in _DISTS:
            rd.col.add(key, f"'{name}' cannot be a curve name: use letters, digits and _ starting with a letter, and "
                            f"not a distribution's name ({', '.join(_DISTS)})")
            continue
        c = read_curve(spec, key, rd, params, name=name)
        if c is not None:
            out[name] = c
    return out


def survival_cell_reader(rd: Any, curves: Mapping[str, SurvivalCurve], params: Mapping[str, Any], settings: Any,
                         states: Mapping[str, Any]) -> Callable[..., Expr | None]:
    """A reader of survival cells: ``reader(value, key, state, kind="probability")`` gives the cell's
    :class:`SurvivalExpr` (or None after recording the problem). ``state`` is the state the cell applies in (the
    from-state of a transition, the state of an event rate); ``time = "in_state"`` makes it track time in it."""
    known = set(params)

    def reader(value: dict[str, Any], key: str, state: str, kind: str = "probability") -> Expr | None:
        col = rd.col
        ref = value.get("survival")
        named = isinstance(ref, str) and ref in curves
        if named:
            rd.check_keys(value, USE_KEYS, key, "a survival cell naming a [survival.NAME] curve")
            curve: SurvivalCurve | None = curves[ref]
        elif isinstance(ref, str) and ref not in _DISTS:
            col.add(f"{key}.survival", f"'{ref}' is neither a [survival.NAME] curve nor a distribution."
                                       f"{did_you_mean(ref, list(curves) + list(_DISTS))} Curves: "
                                       f"{valid_list(curves) or 'none'}; distributions: {valid_list(_DISTS)}.")
            return None
        elif ref is None:
            col.add(key, "a table here must be a survival cell: { survival = \"CURVE\", time = \"since_start\" "
                         "or \"in_state\" } (or an inline curve: survival = \"weibull\", shape = ..., scale = ..., "
                         "units = ...)")
            return None
        else:
            curve = read_curve(value, key, rd, params, extra_keys=frozenset(USE_KEYS))
        clock = value.get("time")
        if clock is None:
            col.add(f"{key}.time", f"is missing: say which clock the curve runs on, {valid_list(CLOCKS)} "
                                   "(time since model start, or time since entering the state)")
            return None
        clock = rd.string(clock, f"{key}.time", CLOCKS)
        if clock is None or curve is None:
            return None
        st = states.get(state)
        if "max_cycles" in value:
            n = rd.number(value["max_cycles"], f"{key}.max_cycles", lo=1, hi=100000, integer=True)
            if clock != "in_state":
                col.add(f"{key}.max_cycles", "applies to time = \"in_state\" (the cycles of time in the state tracked)")
                return None
            if st is not None and st.tunnel:
                col.add(f"{key}.max_cycles", f"'{state}' is a tunnel state: it tracks its own {st.tunnel} cycles")
                return None
            if n is None:
                return None
        else:
            n = None
        if clock == "in_state":
            if curve.offset is not None:
                col.add(f"{key}.time", f"the curve {curve.describe()!r} has an offset (years on its clock at model "
                                       "start), which applies to time since model start only")
                return None
            if st is not None and not st.tunnel:
                st.clock = max(st.clock, int(n) if n is not None else max(settings.n_cycles, 1))
        return _survival_expr(curve, clock, kind, settings.cycle_years, known)

    return reader
