"""The CHEERS 2022 reporting checklist, and where a heecon report answers each item.

The 28 items, their sections and topics are those of the CHEERS 2022 statement; the guidance lines here are
short paraphrases -- read the statement for the full text. A heecon report can answer the items the model
knows (comparators, perspective, horizon, discounting, currency and price year, model structure, results,
uncertainty); items about the study around the model (analysis plan, population, setting, engagement,
funding, conflicts of interest, discussion) are the analyst's to supply, and the checklist says so.

References
----------
Husereau D, Drummond M, Augustovski F, et al. Consolidated Health Economic Evaluation Reporting Standards
2022 (CHEERS 2022) statement: updated reporting guidance for health economic evaluations. BMJ
2022;376:e067975. doi:10.1136/bmj-2021-067975
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

__all__ = ["ANALYST", "CHEERS_2022", "CHEERS_REFERENCE", "CheersEntry", "CheersItem", "cheers_checklist", "cheers_counts"]

CHEERS_REFERENCE = (
    "Husereau D, Drummond M, Augustovski F, et al. Consolidated Health Economic Evaluation Reporting Standards "
    "2022 (CHEERS 2022) statement: updated reporting guidance for health economic evaluations. "
    "BMJ 2022;376:e067975. doi:10.1136/bmj-2021-067975"
)

#: What the checklist says for an item the model cannot answer.
ANALYST = "Not reported by the model: the analyst must supply"


@dataclass(frozen=True)
class CheersItem:
    """One CHEERS 2022 item: number, section of the paper, topic, and a paraphrase of the guidance."""

    number: int
    section: str
    topic: str
    guidance: str


CHEERS_2022: tuple[CheersItem, ...] = (
    CheersItem(1, "Title", "Title",
               "Identify the study as an economic evaluation and name the interventions compared."),
    CheersItem(2, "Abstract", "Abstract",
               "A structured summary of context, key methods, results and alternative analyses."),
    CheersItem(3, "Introduction", "Background and objectives",
               "Context, the study question and its relevance for decisions in policy or practice."),
    CheersItem(4, "Methods", "Health economic analysis plan",
               "Whether a health economic analysis plan was developed, and where it is available."),
    CheersItem(5, "Methods", "Study population",
               "Characteristics of the study population (age range, demographics, socioeconomic or clinical)."),
    CheersItem(6, "Methods", "Setting and location",
               "Contextual information that may influence the findings."),
    CheersItem(7, "Methods", "Comparators",
               "The interventions or strategies compared, and why they were chosen."),
    CheersItem(8, "Methods", "Perspective",
               "The perspective(s) adopted, and why."),
    CheersItem(9, "Methods", "Time horizon",
               "The time horizon, and why it is appropriate."),
    CheersItem(10, "Methods", "Discount rate",
               "The discount rate(s), and the reason chosen."),
    CheersItem(11, "Methods", "Selection of outcomes",
               "The outcomes used as measures of benefit and harm."),
    CheersItem(12, "Methods", "Measurement of outcomes",
               "How the outcomes capturing benefit and harm were measured."),
    CheersItem(13, "Methods", "Valuation of outcomes",
               "The population and methods used to measure and value outcomes."),
    CheersItem(14, "Methods", "Measurement and valuation of resources and costs",
               "How costs were valued."),
    CheersItem(15, "Methods", "Currency, price date, and conversion",
               "Dates of the resource quantities and unit costs, the currency, and the year of any conversion."),
    CheersItem(16, "Methods", "Rationale and description of model",
               "If a model is used, describe it in detail and why it was used; say whether it is publicly "
               "available and where."),
    CheersItem(17, "Methods", "Analytics and assumptions",
               "Methods for analysing or transforming data, extrapolation, and how the model was validated."),
    CheersItem(18, "Methods", "Characterising heterogeneity",
               "Methods for estimating how results vary between subgroups."),
    CheersItem(19, "Methods", "Characterising distributional effects",
               "How impacts are distributed across individuals, or adjustments for priority populations."),
    CheersItem(20, "Methods", "Characterising uncertainty",
               "Methods used to characterise the sources of uncertainty in the analysis."),
    CheersItem(21, "Methods", "Approach to engagement with patients and others affected by the study",
               "Any approaches used to engage patients, the public, communities or stakeholders in the design."),
    CheersItem(22, "Results", "Study parameters",
               "All analytic inputs (values, ranges, references), including uncertainty or distributional "
               "assumptions."),
    CheersItem(23, "Results", "Summary of main results",
               "Mean values of the main categories of costs and outcomes, summarised in the most appropriate "
               "overall measure."),
    CheersItem(24, "Results", "Effect of uncertainty",
               "How uncertainty about analytic judgements, inputs or projections affects the findings, "
               "including the choice of discount rate and time horizon where applicable."),
    CheersItem(25, "Results", "Effect of engagement with patients and others affected by the study",
               "Any difference that engagement of patients, the public, communities or stakeholders made to "
               "the approach or the findings."),
    CheersItem(26, "Discussion", "Study findings, limitations, generalisability, and current knowledge",
               "Key findings, limitations, ethical or equity considerations not captured, and how they could "
               "affect patients, policy or practice."),
    CheersItem(27, "Other relevant information", "Source of funding",
               "How the study was funded and any role of the funder in its identification, design, conduct "
               "and reporting."),
    CheersItem(28, "Other relevant information", "Conflicts of interest",
               "The authors' conflicts of interest, as the journal or ICMJE requires."),
)


@dataclass(frozen=True)
class CheersEntry:
    """Where a report answers one item.

    ``status`` is ``"reported"`` (the report answers it), ``"partly"`` (the report gives what the model knows;
    the analyst adds the rest, e.g. the reasons for a choice) or ``"analyst"`` (not reported by the model).
    ``anchor`` is the id of the report section that answers it, if any.
    """

    item: CheersItem
    status: str
    where: str
    anchor: str | None = None


def _fmt_rate(r: Any) -> str:
    if isinstance(r, (int, float)):
        return f"{100 * float(r):g}%"
    if isinstance(r, list):
        bands = ", ".join(f"{100 * float(b['rate']):g}% from year {b['from_year']:g}" for b in r)
        return f"by year band ({bands})"
    return str(r)


def cheers_checklist(summary: Mapping[str, Any], sections: Iterable[str]) -> list[CheersEntry]:
    """The 28 CHEERS 2022 items with where a report built from ``summary`` answers each.

    Parameters
    ----------
    summary
        ``summary.json`` of the results folder.
    sections
        Ids of the sections present in the report (``headline``, ``results``, ``costs``, ``uncertainty``,
        ``parameters``, ``sensitivity``, ``conventions``, ``provenance``, ``model``, ...).
    """
    have = set(sections)
    st = summary.get("settings", {})
    strategies = [s.get("label") or s["name"] for s in summary.get("strategies", [])]
    names = {s["name"]: s.get("label") or s["name"] for s in summary.get("strategies", [])}
    comp = names.get(st.get("comparator"), st.get("comparator"))
    persp = st.get("perspectives") or {}
    psa = summary.get("psa")
    why = "; the reasons for the choice are the analyst's to give"

    def sec(anchor: str, fallback: str | None = None) -> str | None:
        return anchor if anchor in have else fallback

    e: dict[int, tuple[str, str, str | None]] = {}
    e[1] = ("partly", f"The report heading names the model and the strategies compared ({', '.join(strategies)}); "
            "the publication's title is the analyst's.", sec("top"))
    e[2] = ("partly", "The headline states the main result; a structured abstract is the analyst's.",
            sec("headline"))
    e[3] = ("analyst", ANALYST + " (context, study question, relevance).", None)
    e[4] = ("analyst", ANALYST + " (whether an analysis plan exists, and where).", None)
    age = st.get("start_age")
    pop = f"Modelled starting age {age:g}" if isinstance(age, (int, float)) else "No starting age is modelled"
    e[5] = ("partly", f"{pop} (Conventions); the population's characteristics are the analyst's.",
            sec("conventions"))
    e[6] = ("analyst", ANALYST + f" (currency {st.get('currency', '?')} only hints at the setting).", None)
    e[7] = ("partly", f"Strategies compared: {', '.join(strategies)} (comparator: {comp}); results tables"
            f"{why}.", sec("results"))
    p_text = "; ".join(f"{k}: {', '.join(v)}" for k, v in persp.items()) or st.get("perspective", "?")
    e[8] = ("partly", f"Perspective {st.get('perspective')} (sectors by perspective: {p_text}); an incremental "
            f"table for each{why}.", sec("conventions"))
    hz = st.get("horizon_years")
    e[9] = ("partly", (f"Horizon {hz:g} years" if isinstance(hz, (int, float)) else "Horizon in Conventions")
            + f"{why}.", sec("conventions"))
    e[10] = ("partly", f"Costs {_fmt_rate(st.get('discount_costs'))}, effects {_fmt_rate(st.get('discount_effects'))}"
             f" ({st.get('discounting', '?')} discounting); undiscounted totals reported too{why}.",
             sec("conventions"))
    e[11] = ("reported", "Costs by sector, QALYs and life years per strategy; ICERs per QALY gained; net "
             "monetary benefit.", sec("results"))
    e[12] = ("analyst", ANALYST + " (the sources of each input are recorded in the scenario file; see "
             "Provenance).", None)
    e[13] = ("analyst", ANALYST + " (utility values and the population that valued them).", None)
    e[14] = ("partly", "Costs per sector are reported (Costs by sector); how unit costs were measured and "
             "valued is the analyst's.", sec("costs"))
    py = st.get("price_year")
    if py:
        e[15] = ("partly", f"Currency {st.get('currency')}, {py} prices; dates of resource quantities and any "
                 "conversion are the analyst's.", sec("conventions"))
    else:
        e[15] = ("partly", f"Currency {st.get('currency')}; the price year is not set in the scenario "
                 "(settings.price_year): the analyst must supply it, with any conversion.", sec("conventions"))
    engine = "Markov cohort model" if st.get("engine") == "cohort" else "individual-level microsimulation"
    e[16] = ("partly", f"{engine}: states and occupancy, cycle length and horizon (Model structure, "
             "Conventions); the scenario file and its SHA-256 identify the model (Provenance); the rationale "
             "is the analyst's.", sec("model", sec("conventions")))
    e[17] = ("partly", f"Within-cycle method {st.get('within_cycle_method', '?')}, discounting "
             f"{st.get('discounting', '?')} (Conventions); data analysis, extrapolation and validation are the "
             "analyst's.", sec("conventions"))
    e[18] = ("analyst", ANALYST + " (the results cover the modelled cohort; no subgroup analysis is in this "
             "results folder).", None)
    e[19] = ("analyst", ANALYST + " (no distributional analysis is in this results folder).", None)
    if psa:
        unc = (f"Probabilistic sensitivity analysis: {psa.get('n_samples', '?'):,} samples, seed "
               f"{psa.get('seed', '?')}; CE plane, CEAC and frontier, EVPI")
        if "sensitivity" in have:
            unc += "; deterministic one-way (and two-way) analysis"
        e[20] = ("reported", unc + ".", sec("uncertainty"))
    elif "sensitivity" in have:
        e[20] = ("partly", "Deterministic sensitivity analysis only; no PSA in this results folder.",
                 sec("sensitivity"))
    else:
        e[20] = ("analyst", ANALYST + " (no PSA or DSA in this results folder).", None)
    e[21] = ("analyst", ANALYST + ".", None)
    if "parameters" in have:
        e[22] = ("partly", "Sampled parameters with mean and 95% interval of the PSA draws; the base values, "
                 "distributions and sources are in the scenario file (Provenance).", sec("parameters"))
    else:
        e[22] = ("partly", "The inputs, distributions and sources are in the scenario file (Provenance); the "
                 "analyst must tabulate them.", sec("provenance"))
    e[23] = ("reported", "Mean costs (by sector), QALYs and life years per strategy, incremental analysis with "
             "dominance and ICERs, net monetary benefit.", sec("results"))
    if psa or "sensitivity" in have:
        e[24] = ("partly", "Probability cost-effective, EVPI, PSA intervals"
                 + (" and the tornado" if "sensitivity" in have else "")
                 + "; undiscounted totals show the effect of discounting; other horizons are the analyst's.",
                 sec("uncertainty", sec("sensitivity")))
    else:
        e[24] = ("analyst", ANALYST + " (no uncertainty analysis in this results folder).", None)
    e[25] = ("analyst", ANALYST + ".", None)
    e[26] = ("analyst", ANALYST + " (findings, limitations, generalisability, equity).", None)
    e[27] = ("analyst", ANALYST + ".", None)
    e[28] = ("analyst", ANALYST + ".", None)
    _from_study(e, summary)
    return [CheersEntry(item, *e[item.number]) for item in CHEERS_2022]


#: CHEERS items answered by a scenario's ``[report]`` text (heecon.scenario.analyses.REPORT_TEXT_KEYS).
_TEXT_ITEMS = {3: "objective", 4: "analysis_plan", 5: "population", 6: "setting", 7: "comparators", 8: "perspective",
               9: "time_horizon", 10: "discount_rate", 12: "outcomes", 13: "valuation", 14: "resources",
               16: "model_rationale", 17: "analytics", 18: "heterogeneity", 19: "distributional", 21: "engagement",
               25: "engagement_effect", 26: "limitations", 27: "funding", 28: "conflicts"}


def _excerpt(text: str, n: int = 140) -> str:
    t = " ".join(str(text).split())
    return t if len(t) <= n else t[: n - 1].rsplit(" ", 1)[0] + "…"


def _from_study(e: dict[int, tuple[str, str, str | None]], summary: Mapping[str, Any]) -> None:
    """Items the study's own account (``[report]`` texts), the answer, the parameter table and the default run's
    analyses answer, upgraded to reported; what is missing stays as the model left it, with its reason."""
    texts = summary.get("report_texts") or {}
    files = set((summary.get("analyses") or {}).get("files") or [])
    answer = summary.get("answer") or {}
    for n, key in _TEXT_ITEMS.items():
        if texts.get(key):
            e[n] = ("reported", f"About the study: {_excerpt(texts[key])}", "study")
    if answer.get("strategies"):
        e[1] = ("reported", "The heading identifies an economic evaluation, names the analysis each perspective "
                "gives (cost-utility, cost-consequence, cost-benefit) and the strategies compared.", "top")
        if texts.get("objective"):
            e[2] = ("reported", "The answer opens the report as its structured summary: the question (About the "
                    "study), the money per payer with PSA intervals, the measures and QALYs, whether it pays for "
                    "itself with its probability and drivers, and the analysis named.", "answer")
    if "subgroups.csv" in files:
        why = f" {_excerpt(texts['heterogeneity'])}" if texts.get("heterogeneity") else ""
        e[18] = ("reported", "Results by subgroup (subgroups.csv) in 'For whom'." + why, "subgroups")
    if summary.get("psa") and ({"dsa.csv", "scenario_analysis.csv"} & files):
        e[20] = ("reported", "PSA of every uncertain parameter, one-way sensitivity per perspective, break-even "
                 "values, the scenario analysis of variants and structural alternatives, value of information.",
                 "uncertainty")
        e[24] = ("reported", "Probability cost-effective and of paying for itself, PSA intervals per payer, the "
                 "tornado per perspective, break-even values and the scenario table show how uncertainty and "
                 "structural choices move the result.", "scenario-analysis" if "scenario_analysis.csv" in files
                 else "one-way")
    if summary.get("has_evidence_table"):
        e[22] = ("reported", "Every parameter with its value, PSA distribution, price year and source (the "
                 "scenario's evidence table), assumptions flagged.", "evidence")
    if summary.get("settings", {}).get("price_year") and texts.get("resources") and summary.get("has_evidence_table"):
        e[15] = ("reported", "Currency and price year in Conventions; each cost's own price year and the index that "
                 "converts it in the parameter table.", "evidence")


def cheers_counts(entries: Iterable[CheersEntry]) -> dict[str, int]:
    """How many of the 28 items are reported, partly reported and left to the analyst."""
    entries = list(entries)
    return {"reported": sum(x.status == "reported" for x in entries),
            "partly": sum(x.status == "partly" for x in entries),
            "not_reported": sum(x.status == "analyst" for x in entries), "of": len(entries)}
