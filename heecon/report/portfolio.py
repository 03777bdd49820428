"""The results folder of ``heecon portfolio``: league.csv, optimal_mix.csv, mix_probability.csv, summary.json,
portfolio.md and figures/ (the league bar chart and the probability that each service is in the optimal mix),
written atomically as writer ``portfolio`` (heecon never replaces a file it did not write)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["write_portfolio", "portfolio_summary", "league_bars", "mix_probability_bars", "portfolio_markdown"]


def _clean(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    return x


def portfolio_summary(res: Any) -> dict[str, Any]:
    from heecon import __version__
    from heecon.sensitivity.portfolio import mix_counts

    spec = res.spec
    mix = res.optimal_mix()
    total = mix[mix["service"] == "TOTAL"].iloc[0]
    return _clean({
        "heecon_version": __version__, "portfolio": str(spec.path), "title": spec.title, "outcome": spec.outcome,
        "perspective": spec.perspective, "wtp": spec.wtp, "budget": spec.budget, "budget_period": spec.budget_period,
        "intakes": spec.intakes, "budget_source": spec.budget_source, "mode": spec.mode, "psa_samples": res.n_samples,
        "services": [{"label": s.spec.label, "file": str(s.spec.file), "strategy": s.strategy,
                      "comparator": s.comparator, "overrides": list(s.spec.overrides), "men_per_year": s.spec.men,
                      "capacity_source": s.spec.capacity_source,
                      "cost_basis": s.spec.cost_basis if isinstance(s.spec.cost_basis, str) else list(s.spec.cost_basis),
                      "scenario_sha256": s.scenario.sha256, "seed": s.scenario.settings.seed,
                      "per_man": s.base, "seconds": res.timings.get(s.spec.label)} for s in res.services],
        "optimal_mix": [r["service"] for r in mix.to_dict("records") if r["service"] != "TOTAL" and r["in_mix"]],
        "optimal_mix_total": {"budget_cost": total["budget_cost"], spec.outcome: total[spec.outcome],
                              "inc_cost": total["inc_cost"], "inc_qalys": total["inc_qalys"]},
        "mix_probability": res.mix_probability().to_dict("records"),
        "most_frequent_mixes": mix_counts(res),
        "note": ("PSA samples are paired across services by index; services that share no parameters are "
                 "independent (see docs/portfolio.md)."),
    })


def _wrap(text: str, width: int = 30) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width)) or str(text)


def league_bars(res: Any, ax: Any = None) -> Any:
    """Each service's outcome per man (base case, with the PSA's 95% interval), ranked as in the league."""
    from heecon.report.figures._base import PALETTE, _new_axes, _style
    from heecon.sensitivity.portfolio import OUTCOME_KEY, outcome_label

    lg = res.league()
    o = res.spec.outcome
    k = OUTCOME_KEY[o]
    with _style():
        ax = _new_axes(ax, (7.2, 0.7 * len(lg) + 2.0))
        y = np.arange(len(lg))[::-1]
        lo, hi = lg[f"{o}_lower"].to_numpy(), lg[f"{o}_upper"].to_numpy()
        val = lg[k].to_numpy()
        err = np.vstack([np.clip(val - lo, 0, None), np.clip(hi - val, 0, None)])
        has = np.all(np.isfinite(err))
        ax.barh(y, val, color=PALETTE[0], xerr=err if has else None, capsize=3)
        ax.set_yticks(y, [_wrap(f"{r}. {s}") for r, s in zip(lg["rank"], lg["service"])])
        ax.axvline(0, color="black", lw=0.8)
        ax.set_xlabel(f"{outcome_label(o).capitalize()} per man" + ("\n(lines: 95% PSA interval)" if has else ""))
        ax.set_title("League of services")
    return ax


def mix_probability_bars(res: Any, ax: Any = None) -> Any:
    """The share of PSA samples in which each service is in the optimal mix."""
    from heecon.report.figures._base import PALETTE, _new_axes, _percent_formatter, _style

    pr = res.mix_probability()
    with _style():
        ax = _new_axes(ax, (7.2, 0.7 * len(pr) + 2.0))
        y = np.arange(len(pr))[::-1]
        inb = pr["in_base_mix"].to_numpy(bool)
        p = pr["probability_in_mix"].to_numpy(float)
        for mask, colour, name in ((inb, PALETTE[1], "in the base-case mix"), (~inb, PALETTE[2], "not in it")):
            if mask.any():
                ax.barh(y[mask], p[mask], color=colour, label=name)
        ax.set_yticks(y, [_wrap(s) for s in pr["service"]])
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(_percent_formatter())
        ax.set_xlabel(f"Probability in the optimal mix\n({res.n_samples} PSA samples)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncols=2, fontsize="small", frameon=False)
        ax.set_title("How sure is the mix?")
    return ax


def _fmt(v: Any) -> str:
    if isinstance(v, (str, bool, np.bool_, int, np.integer)):
        return str(v)
    x = float(v)
    if not math.isfinite(x):
        return "-"
    return f"{x:,.0f}" if abs(x) >= 1000 else (f"{x:.3g}" if abs(x) < 1 else f"{x:,.2f}")


def _md_table(df: Any, cols: list[str]) -> str:
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in df[cols].itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v) for v in r) + " |")
    return "\n".join(lines)


def portfolio_markdown(res: Any) -> str:
    from heecon.sensitivity.portfolio import outcome_label

    spec = res.spec
    o = spec.outcome
    period = "a year (one year's intake)" if spec.budget_period == "year" else f"the horizon ({spec.intakes} intakes)"
    lg, mix = res.league(), res.optimal_mix()
    parts = [f"# {spec.title}", "", spec.description, "",
             f"Maximising **{outcome_label(o)}** within a budget of **GBP {spec.budget:,.0f}** over {period} "
             f"({spec.budget_source}); {spec.mode} services; {spec.perspective} perspective"
             + (f", WTP GBP {spec.wtp:,.0f}/QALY" if spec.wtp is not None else "") + ".", "",
             "## League (per man, against each service's comparator)", "",
             _md_table(lg, ["rank", "service", "men_per_year", "inc_cost", "budget_cost", "inc_qalys",
                            "offences_averted", "prison_years_averted", "cost_per_offence_averted", "icer"]), "",
             "## Optimal mix (base case)", "",
             _md_table(mix, ["service", "share_funded", "men_per_year", "budget_cost", o]), ""]
    if res.psa_mixes is not None:
        parts += ["## Probability in the optimal mix", "",
                  _md_table(res.mix_probability(), ["service", "probability_in_mix", "mean_share_funded"]), "",
                  "PSA samples are paired across services by index: services that are versions of one scenario "
                  "share their draws; services that share no parameters are independent.", ""]
    parts += ["![league](figures/league.png)", ""] + (["![mix](figures/mix_probability.png)", ""]
                                                      if res.psa_mixes is not None else [])
    return "\n".join(parts)


def write_portfolio(res: Any, out_dir: str | Path, *, figures: bool = True) -> Path:
    """Write the portfolio's results folder (atomically; writer ``portfolio``)."""
    from heecon.execution.files import atomic_output_dir

    out_dir = Path(out_dir)
    with atomic_output_dir(out_dir, writer="portfolio", replaces=(),
                           info={"portfolio": str(res.spec.path)}) as tmp:
        res.league().to_csv(tmp / "league.csv", index=False)
        res.optimal_mix().to_csv(tmp / "optimal_mix.csv", index=False)
        res.mix_probability().to_csv(tmp / "mix_probability.csv", index=False)
        if res.psa_mixes is not None:
            import pandas as pd

            pd.DataFrame(res.psa_mixes, columns=[s.spec.label for s in res.services]).rename_axis("sample") \
                .to_csv(tmp / "psa_mixes.csv")
        (tmp / "summary.json").write_text(json.dumps(portfolio_summary(res), indent=1) + "\n", encoding="utf-8")
        (tmp / "portfolio.md").write_text(portfolio_markdown(res), encoding="utf-8")
        if figures:
            from heecon.report.figures._base import save_figure

            save_figure(league_bars(res), tmp / "figures" / "league")
            if res.psa_mixes is not None:
                save_figure(mix_probability_bars(res), tmp / "figures" / "mix_probability")
    return out_dir
