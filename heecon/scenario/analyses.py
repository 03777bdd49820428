"""The analyses a scenario asks its default run for: deterministic sensitivity (``[dsa]``), break-even values
(``[[thresholds]]``), value of partial information by parameter group (``[evppi]``), subgroups
(``[subgroups.NAME]``), a scenario analysis over variants and structural alternatives (``[scenario_analysis.NAME]``)
and a Green Book cost-benefit view (``[cba]``).

Parsed and checked when the scenario is loaded (``Scenario.analyses``); run by :mod:`heecon.sensitivity.suite`.
Any scenario may ask for them: nothing here is specific to one model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from heecon.scenario.errors import did_you_mean

__all__ = ["Analyses", "DSASpec", "ThresholdSpec", "VariantSpec", "EVPPISpec", "CBASpec", "MeasureSpec",
           "read_analyses", "ANALYSIS_SECTIONS", "THRESHOLD_MEASURES", "REPORT_TEXT_KEYS"]

#: The sections this module reads.
ANALYSIS_SECTIONS = ("dsa", "thresholds", "evppi", "subgroups", "scenario_analysis", "cba", "measures", "report")
#: What a threshold makes zero: the incremental cost in the perspective ("pays for itself") or the incremental net
#: monetary benefit at the WTP ("cost-effective").
THRESHOLD_MEASURES = ("net_cost", "nmb")

DSA_KEYS = {"parameters", "perspectives", "wtp", "strategy", "max_parameters"}
THRESHOLD_KEYS = {"parameter", "perspectives", "measure", "bounds", "label", "strategy", "equivalent"}
MEASURE_KEYS = {"label", "events", "weights", "scale", "unit", "description"}
#: ``[report]``: what a report says about the study around the model (each feeds a CHEERS 2022 item; see
#: heecon.report.cheers). Every key is free text.
REPORT_TEXT_KEYS = {
    "objective": "the decision problem and the question the evaluation answers (CHEERS 3)",
    "analysis_plan": "whether a health economic analysis plan exists and where (CHEERS 4)",
    "population": "who the model is about (CHEERS 5)",
    "setting": "the setting and location (CHEERS 6)",
    "comparators": "why these strategies are compared (CHEERS 7)",
    "perspective": "why these perspectives (CHEERS 8)",
    "time_horizon": "why this time horizon (CHEERS 9)",
    "discount_rate": "why these discount rates (CHEERS 10)",
    "outcomes": "how the outcomes were chosen and measured (CHEERS 12)",
    "valuation": "how outcomes were valued, and by whom (CHEERS 13)",
    "resources": "how resources and costs were measured and valued (CHEERS 14)",
    "model_rationale": "why this model and this structure (CHEERS 16)",
    "analytics": "how data were analysed, extrapolation, validation (CHEERS 17)",
    "heterogeneity": "how differences between groups were looked at (CHEERS 18)",
    "distributional": "distributional effects and equity (CHEERS 19)",
    "engagement": "how patients, the public or others affected were engaged (CHEERS 21)",
    "engagement_effect": "what the engagement changed (CHEERS 25)",
    "limitations": "findings, limitations, generalisability and current knowledge (CHEERS 26)",
    "funding": "how the study was funded and the funder's role (CHEERS 27)",
    "conflicts": "conflicts of interest (CHEERS 28)",
    "analysis_type": "what kind of analysis each perspective gives (e.g. cost-utility, cost-consequence, cost-benefit)",
}
EVPPI_KEYS = {"groups", "wtp", "population_per_year", "years", "population_source"}
VARIANT_KEYS = {"label", "file", "set", "kind", "description"}
CBA_KEYS = {"value_per_qaly", "discount_effects", "perspective", "label", "source"}
VARIANT_KINDS = ("variant", "structural", "subgroup")


@dataclass(frozen=True)
class DSASpec:
    parameters: tuple[str, ...] | None  # None: every parameter with a range or a distribution
    perspectives: tuple[str, ...]
    wtp: float | None
    strategy: str | None
    max_parameters: int = 15


@dataclass(frozen=True)
class ThresholdSpec:
    name: str
    parameter: str
    perspectives: tuple[str, ...]
    measure: str
    bounds: tuple[float, float] | None
    label: str
    strategy: str | None
    equivalent: str | None = None  # a parameter whose value at the threshold is reported too (scaled with it)


@dataclass(frozen=True)
class VariantSpec:
    """A variant of the scenario: a file that ``extends`` it and/or ``key.path=value`` overrides."""

    name: str
    label: str
    file: Path | None
    overrides: tuple[str, ...]
    kind: str
    description: str = ""


@dataclass(frozen=True)
class EVPPISpec:
    groups: dict[str, tuple[str, ...]]
    wtp: float | None
    population_per_year: float | None
    years: int | None
    population_source: str


@dataclass(frozen=True)
class CBASpec:
    """A cost-benefit view in the manner of HM Treasury's Green Book: QALYs valued at ``value_per_qaly`` (a
    parameter, so it carries its price year and source) and discounted at ``discount_effects``; costs of the
    ``perspective``'s sectors; reported as net present social value and benefit-cost ratio."""

    value_per_qaly: str
    discount_effects: Any  # DiscountSchedule
    perspective: str
    label: str
    source: str


@dataclass(frozen=True)
class MeasureSpec:
    """A quantity the headline reports per person: the sum over ``events`` of their mean count per person times
    ``weights`` (parameters; default 1), times ``scale`` (e.g. quarters in custody x 0.25 = prison-years)."""

    name: str
    label: str
    events: tuple[str, ...]
    weights: tuple[str | None, ...]
    scale: float
    unit: str
    description: str = ""


@dataclass
class Analyses:
    dsa: DSASpec | None = None
    thresholds: list[ThresholdSpec] = field(default_factory=list)
    evppi: EVPPISpec | None = None
    subgroups: list[VariantSpec] = field(default_factory=list)
    scenarios: list[VariantSpec] = field(default_factory=list)
    cba: CBASpec | None = None
    measures: list[MeasureSpec] = field(default_factory=list)
    report: dict[str, str] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return bool(self.dsa or self.thresholds or self.evppi or self.subgroups or self.scenarios or self.cba)


def _names(rd: Any, value: Any, key: str, valid: Mapping[str, Any], what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    return rd.name_list(value, key, valid, what)


def read_analyses(raw: Mapping[str, Any], rd: Any, path: Path, params: Mapping[str, Any], perspectives: Mapping[str, Any],
                  strategies: Mapping[str, Any], read_discount: Any, events: Mapping[str, Any] | None = None
                  ) -> Analyses:
    """Read the analysis sections (every problem into ``rd.col`` at its key path)."""
    col = rd.col
    out = Analyses()
    if "dsa" in raw:
        tab = rd.table(raw["dsa"], "dsa", "a table with parameters, perspectives, wtp") or {}
        rd.check_keys(tab, DSA_KEYS, "dsa", "[dsa]")
        ps = _names(rd, tab["parameters"], "dsa.parameters", params, "parameter") if "parameters" in tab else None
        persp = _names(rd, tab.get("perspectives", []), "dsa.perspectives", perspectives, "perspective")
        wtp = rd.number(tab["wtp"], "dsa.wtp", lo=0) if "wtp" in tab else None
        strat = rd.string(tab["strategy"], "dsa.strategy", strategies) if "strategy" in tab else None
        most = rd.number(tab.get("max_parameters", 15), "dsa.max_parameters", lo=1, integer=True) or 15
        out.dsa = DSASpec(ps, persp, wtp, strat, int(most))
    for key, spec in rd.tables(raw.get("thresholds", []), "thresholds", "must be an array of tables: [[thresholds]]",
                               "must be a table with parameter, perspectives, measure and optional bounds",
                               THRESHOLD_KEYS, "a threshold"):
        name = spec.get("parameter")
        if not isinstance(name, str) or name not in params:
            col.unknown(f"{key}.parameter", str(name), params, "parameter")
            continue
        measure = rd.string(spec.get("measure", "net_cost"), f"{key}.measure", THRESHOLD_MEASURES) or "net_cost"
        persp = _names(rd, spec.get("perspectives", list(perspectives)), f"{key}.perspectives", perspectives,
                       "perspective")
        bounds = None
        if "bounds" in spec:
            b = spec["bounds"]
            if (not isinstance(b, list) or len(b) != 2 or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                                   for x in b) or not b[0] < b[1]):
                col.add(f"{key}.bounds", f"must be [low, high] with low < high, got {b!r}")
            else:
                bounds = (float(b[0]), float(b[1]))
        label = spec.get("label", name)
        strat = rd.string(spec["strategy"], f"{key}.strategy", strategies) if "strategy" in spec else None
        eq = spec.get("equivalent")
        if eq is not None and (not isinstance(eq, str) or eq not in params):
            col.unknown(f"{key}.equivalent", str(eq), params, "parameter")
            eq = None
        out.thresholds.append(ThresholdSpec(key, name, persp, measure, bounds, str(label), strat, eq))
    if "evppi" in raw:
        tab = rd.table(raw["evppi"], "evppi", "a table with groups (name = [parameters]) and the population") or {}
        rd.check_keys(tab, EVPPI_KEYS, "evppi", "[evppi]")
        groups: dict[str, tuple[str, ...]] = {}
        for g, members in (rd.table(tab.get("groups", {}), "evppi.groups", "a table of name = [parameters]") or {}).items():
            groups[str(g)] = _names(rd, members, f"evppi.groups.{g}", params, "parameter")
        wtp = rd.number(tab["wtp"], "evppi.wtp", lo=0) if "wtp" in tab else None
        pop = rd.number(tab["population_per_year"], "evppi.population_per_year", lo=0) if "population_per_year" in tab else None
        yrs = rd.number(tab["years"], "evppi.years", lo=1, integer=True) if "years" in tab else None
        src = tab.get("population_source", "")
        if pop is not None and not (isinstance(src, str) and src.strip()):
            col.add("evppi.population_source", "a population for the value of information needs its source "
                                               "(or 'ASSUMPTION: ...')")
        out.evppi = EVPPISpec(groups, wtp, pop, int(yrs) if yrs is not None else None, str(src or ""))
    for section, target in (("subgroups", out.subgroups), ("scenario_analysis", out.scenarios)):
        tab = rd.table(raw.get(section, {}), section, f"a table of [{section}.NAME] sections") or {}
        for name, spec in tab.items():
            v = _read_variant(rd, f"{section}.{name}", str(name), spec, path, "subgroup" if section == "subgroups"
                              else "variant")
            if v is not None:
                target.append(v)
    if "cba" in raw:
        tab = rd.table(raw["cba"], "cba", "a table with value_per_qaly, discount_effects and perspective") or {}
        rd.check_keys(tab, CBA_KEYS, "cba", "[cba]")
        vq = tab.get("value_per_qaly")
        if not isinstance(vq, str) or vq not in params:
            col.add("cba.value_per_qaly", f"must name the parameter holding the value of a QALY (with its price year "
                                          f"and source).{did_you_mean(str(vq), params)}")
            vq = None
        persp = tab.get("perspective")
        if persp not in perspectives:
            col.unknown("cba.perspective", str(persp), perspectives, "perspective")
            persp = None
        disc = read_discount(tab["discount_effects"], "cba.discount_effects", rd) if "discount_effects" in tab else None
        src = tab.get("source", "")
        if not isinstance(src, str) or not src.strip():
            col.add("cba.source", "name the guidance the cost-benefit view follows (e.g. HM Treasury Green Book 2022)")
        if vq is not None and persp is not None:
            out.cba = CBASpec(vq, disc, str(persp), str(tab.get("label", "Cost-benefit (Green Book)")), str(src))
    for key, spec in rd.tables(raw.get("measures", []), "measures", "must be an array of tables: [[measures]]",
                               "must be a table with label, events and optional weights, scale, unit", MEASURE_KEYS,
                               "a measure"):
        m = _read_measure(rd, key, spec, params, events)
        if m is not None:
            out.measures.append(m)
    if "report" in raw:
        tab = rd.table(raw["report"], "report", "a table of report texts (objective, population, ...)") or {}
        rd.check_keys(tab, REPORT_TEXT_KEYS, "report", "[report]")
        for k, v in tab.items():
            if k in REPORT_TEXT_KEYS:
                txt = rd.string(v, f"report.{k}")
                if txt:
                    out.report[str(k)] = " ".join(txt.split())
    return out


def _read_measure(rd: Any, key: str, spec: Mapping[str, Any], params: Mapping[str, Any],
                  events: Mapping[str, Any] | None) -> MeasureSpec | None:
    col = rd.col
    evs = spec.get("events", [])
    evs = [evs] if isinstance(evs, str) else evs
    if not isinstance(evs, list) or not evs:
        col.add(f"{key}.events", "must be a list of event names")
        return None
    for j, e in enumerate(evs):
        if events is None or e not in events:
            col.unknown(f"{key}.events[{j}]", str(e), events or {}, "event")
            return None
    w = spec.get("weights", [None] * len(evs))
    if not isinstance(w, list) or len(w) != len(evs) or any(x is not None and (not isinstance(x, str) or x not in params)
                                                              for x in w):
        col.add(f"{key}.weights", "must list one parameter per event (the amount per occurrence)")
        return None
    scale = rd.number(spec.get("scale", 1.0), f"{key}.scale") or 1.0
    name = key.split("[")[-1].rstrip("]")
    return MeasureSpec(f"measure_{name}", str(spec.get("label", key)), tuple(evs), tuple(w), float(scale),
                       str(spec.get("unit", "")), str(spec.get("description", "")))


def _read_variant(rd: Any, key: str, name: str, spec: Any, path: Path, default_kind: str) -> VariantSpec | None:
    col = rd.col
    if not isinstance(spec, dict):
        col.add(key, "must be a table with label and file (a variant that extends this scenario) and/or set")
        return None
    rd.check_keys(spec, VARIANT_KEYS, key, "a variant")
    file = None
    if "file" in spec:
        f = spec["file"]
        if not isinstance(f, str) or not f:
            col.add(f"{key}.file", "must be the path of a scenario file (relative to this one)")
        else:
            from heecon.scenario.sections import key_base_dir

            file = key_base_dir(f"{key}.file", rd) / f  # beside the file the key came from (a parent, say)
            if not file.is_file():
                col.add(f"{key}.file", f"file not found: {file}")
                file = None
    sets = spec.get("set", [])
    if isinstance(sets, str):
        sets = [sets]
    if not isinstance(sets, list) or not all(isinstance(s, str) and "=" in s for s in sets):
        col.add(f"{key}.set", "must be a list of \"key.path=value\" overrides, as --set takes them")
        sets = []
    if file is None and not sets and "file" not in spec:
        col.add(key, "needs a file (a variant of this scenario) or set = [\"key.path=value\", ...]")
        return None
    kind = rd.string(spec.get("kind", default_kind), f"{key}.kind", VARIANT_KINDS) or default_kind
    label = spec.get("label", name)
    desc = spec.get("description", "")
    return VariantSpec(name, str(label), file, tuple(sets), kind, str(desc) if isinstance(desc, str) else "")
