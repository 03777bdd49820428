"""A fitted survival model as heecon scenario parameters (a TOML fragment).

The fragment defines, under ``[parameters]``, one parameter per coefficient on
flexsurv's transformed scale (``value`` and ``source``), the natural-scale
parameters as expressions of them (``os_shape = "exp(os_log_shape)"``), and a
``[joints.NAME]`` multivariate normal over the coefficients with the fit's
covariance, for the PSA (docs/distributions.md, "Joint distributions"). It is
written as ``[parameters.NAME]`` sub-tables, so it can be appended to a
scenario that already has a ``[parameters]`` table.

References
----------
Latimer N (2011, updated 2013). NICE DSU Technical Support Document 14, §4 (reporting the chosen model and
its uncertainty for the economic model). NICE Decision Support Unit.
Briggs A, Claxton K, Sculpher M (2006). *Decision Modelling for Health Economic Evaluation*, §4.4. OUP.
"""

from __future__ import annotations

import json
import math
import re

from typing import Any

import numpy as np

from .fit import SurvivalFit

__all__ = ["fit_to_toml", "parameter_names", "survival_section"]

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

_UNITS = {  # natural-scale parameters with a time dimension: {t} is the time unit
    ("exp", "rate"): "per {t}", ("weibull", "scale"): "{t}", ("gompertz", "rate"): "per {t}",
    ("gompertz", "shape"): "per {t}", ("llogis", "scale"): "{t}", ("lnorm", "meanlog"): "log({t})",
    ("gamma", "rate"): "per {t}", ("gengamma", "mu"): "log({t})",
}

_FORMULAE = {
    "exp": "S(t) = exp(-rate t)",
    "weibull": "S(t) = exp(-(t / scale)^shape)",
    "gompertz": "h(t) = rate exp(shape t), S(t) = exp(-(rate / shape) (exp(shape t) - 1))",
    "llogis": "S(t) = 1 / (1 + (t / scale)^shape)",
    "lnorm": "log T ~ Normal(meanlog, sdlog^2)",
    "gamma": "T ~ Gamma(shape, rate)",
    "gengamma": "Prentice's generalised gamma (mu, sigma, Q), as flexsurv's dgengamma",
    "pwexp": "piecewise constant hazard",
}


def _toml_string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _num(x: float) -> str:
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"Cannot write the non-finite number {x!r} as a scenario parameter.")
    return repr(x)


def _sanitise(name: str) -> str:
    out = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return out if out and out[0].isalpha() else f"x_{out}"


def _location_text(fit: SurvivalFit) -> str:
    fam = fit.family
    locs = [fam.parameters[j] for j in fam.location]
    inner = locs[0] if len(locs) == 1 else f"{locs[0]}..{locs[-1]}"
    return f"log({inner})" if fam.transforms[fam.location[0]] == "log" else inner


def parameter_names(fit: SurvivalFit, prefix: str) -> list[str]:
    """Scenario names of the coefficients: ``{prefix}_log_shape``, ``{prefix}_mu``, ``{prefix}_{covariate}``."""
    names = []
    for i, cname in enumerate(fit.coef_names):
        tr = fit.transforms[i]
        base = f"log_{cname}" if tr == "log" else (cname if i < fit.family.n_parameters else _sanitise(cname))
        names.append(f"{prefix}_{base}")
    return names


def fit_to_toml(
    fit: SurvivalFit,
    prefix: str,
    *,
    data_source: str,
    time_unit: str | None = None,
    joint: str | None = None,
    natural: bool = True,
) -> str:
    """Write a fitted model as scenario parameters with a multivariate normal joint for the PSA.

    Parameters
    ----------
    fit : SurvivalFit
        A converged fit (its covariance must be positive definite).
    prefix : str
        Prefix of the parameter names (``"os"`` gives ``os_log_shape``, ...): a
        letter, then letters, digits and underscores.
    data_source : str
        What was fitted, for each ``source``: e.g. ``"bc.csv (flexsurv), all 686
        patients, recurrence-free survival"``.
    time_unit : str, optional
        The data's time unit (``"years"``), recorded in the sources and the
        natural-scale parameters' ``unit``.
    joint : str, optional
        Name of the ``[joints.NAME]`` table; default ``{prefix}_{dist}``.
    natural : bool
        Also write the natural-scale baseline parameters as expressions
        (``{prefix}_shape = "exp({prefix}_log_shape)"``).

    Returns
    -------
    str
        The TOML fragment (with a comment header describing the fit).

    Examples
    --------
    The fragment for a Weibull fit to ``bc`` starts::

        [parameters.os_log_shape]
        value = 0.3218...
        source = "Weibull (flexsurv \\"weibull\\") fitted by maximum likelihood to ...; AIC 1631.88, ..."
    """
    if not isinstance(fit, SurvivalFit):
        raise TypeError(f"fit must be a SurvivalFit; got {type(fit).__name__}.")
    if not isinstance(prefix, str) or not _NAME_RE.match(prefix):
        raise ValueError(f"prefix must start with a letter and hold only letters, digits and underscores. Got {prefix!r}.")
    if not isinstance(data_source, str) or not data_source.strip():
        raise ValueError("data_source must describe the data fitted (it goes into every parameter's source).")
    if not np.all(np.isfinite(fit.cov)):
        raise ValueError(f"The {fit.label} fit has no covariance matrix ({fit.message}); it cannot be a PSA joint.")
    try:
        np.linalg.cholesky(fit.cov)
    except np.linalg.LinAlgError:
        raise ValueError(f"The covariance matrix of the {fit.label} fit is not positive definite.") from None
    joint_name = joint if joint is not None else f"{prefix}_{fit.dist}"
    if not _NAME_RE.match(joint_name):
        raise ValueError(f"joint must be a valid name (letters, digits, underscores). Got {joint_name!r}.")
    unit_text = f" (time in {time_unit})" if time_unit else ""
    method = (f'{fit.label} (flexsurv "{fit.dist}") fitted by maximum likelihood to {data_source}{unit_text}; '
              f"n = {fit.n_obs}, {fit.n_events} events; log-likelihood {fit.loglik:.3f}, AIC {fit.aic:.2f}, BIC {fit.bic:.2f}")
    if not fit.converged:
        method += f"; WARNING: {fit.message}"
    names = parameter_names(fit, prefix)
    se = fit.se
    lines = [
        f"# {fit.label} (flexsurv \"{fit.dist}\") fitted by maximum likelihood to {data_source}{unit_text}",
        f"# n = {fit.n_obs}, {fit.n_events} events; log-likelihood {fit.loglik:.4f}, AIC {fit.aic:.3f}, BIC {fit.bic:.3f}",
        f"# {_FORMULAE[fit.dist]}"
        + (f"; cut points {', '.join(f'{c:g}' for c in fit.family.cuts)}" if fit.family.cuts else ""),
        "# Coefficients on flexsurv's transformed scale (log for positive parameters); covariate effects act on the",
        f"# transformed location parameter, {_location_text(fit)}. PSA: the multivariate normal [joints.{joint_name}].",
        "",
    ]
    for i, (pname, cname) in enumerate(zip(names, fit.coef_names)):
        tr = fit.transforms[i]
        what = f"log({cname})" if tr == "log" else cname
        if i >= fit.family.n_parameters:
            kind = "log hazard ratio" if fit.family.effect == "PH" else "accelerated failure time coefficient"
            what = f"{cname}: {kind}, added to {_location_text(fit)}"
        lines += [
            f"[parameters.{pname}]",
            f"value = {_num(fit.coef[i])}",
            f"source = {_toml_string(f'{method}; {what}, SE {se[i]:.4g}')}",
            f"label = {_toml_string(f'{fit.label} {what}')}",
            "",
        ]
    if natural:
        for i, cname in enumerate(fit.family.parameters):
            if fit.family.transforms[i] != "log":
                continue
            unit = "per {t}" if fit.dist == "pwexp" else _UNITS.get((fit.dist, cname))
            lines += [
                f"[parameters.{prefix}_{cname}]",
                f"value = {_toml_string(f'exp({names[i]})')}",
                f"source = {_toml_string(f'{method}; {cname} (reference group)')}",
            ]
            if unit and time_unit:
                lines.append(f"unit = {_toml_string(unit.format(t=time_unit))}")
            lines.append("")
    cov = (fit.cov + fit.cov.T) / 2.0
    rows = ", ".join("[" + ", ".join(_num(v) for v in row) + "]" for row in cov)
    lines += [
        f"[joints.{joint_name}]",
        'type = "mvnormal"',
        "members = [" + ", ".join(_toml_string(n) for n in names) + "]",
        "mean = [" + ", ".join(_num(v) for v in fit.coef) + "]",
        f"cov = [{rows}]",
        "",
    ]
    return "\n".join(lines)


_SCENARIO_UNITS = ("years", "months", "weeks", "days")


def survival_section(fit: SurvivalFit, prefix: str, *, name: str | None = None, time_unit: str = "years",
                     x: Any = None, label: str | None = None) -> str:
    """The fit as a scenario curve: a ``[survival.NAME]`` section whose parameters are expressions of the
    coefficients `fit_to_toml` writes (so the curve follows their multivariate normal in the PSA).

    Parameters
    ----------
    fit : SurvivalFit
    prefix : str
        The prefix given to `fit_to_toml` (the coefficients' names).
    name : str, optional
        The curve's name (default ``prefix``).
    time_unit : str
        The data's time unit: ``"years"``, ``"months"``, ``"weeks"`` or ``"days"`` (the curve's ``units``).
    x : mapping, optional
        Covariate values by name (e.g. ``{"groupPoor": 1}``): the curve of that group, its location parameter
        shifted by the coefficients; default all 0 (the reference group).
    label : str, optional
        The curve's label.

    Returns
    -------
    str
        TOML text; with the fragment of `fit_to_toml` it is a curve a transition or ``[partitioned]`` can name.

    Examples
    --------
    For a Weibull fit to ``bc`` with prefix ``rfs``::

        [survival.rfs]
        distribution = "weibull"
        shape = "exp(rfs_log_shape)"
        scale = "exp(rfs_log_scale)"
        units = "years"
    """
    if time_unit not in _SCENARIO_UNITS:
        raise ValueError(f"time_unit must be one of {', '.join(_SCENARIO_UNITS)} (a scenario curve's units). "
                         f"Got {time_unit!r}.")
    name = prefix if name is None else name
    if not _NAME_RE.match(name):
        raise ValueError(f"name must be a valid name (letters, digits, underscores). Got {name!r}.")
    names = parameter_names(fit, prefix)
    fam = fit.family
    k = fam.n_parameters
    row = fit._x_row(x)[0] if fit.covariate_names else np.zeros(0)
    shift = "".join(
        f" + {names[k + j]}" if v == 1 else f" + {_num(v)} * {names[k + j]}"
        for j, v in enumerate(row) if v != 0
    )
    exprs = []
    for i, pname in enumerate(fam.parameters):
        inner = names[i] + (shift if i in fam.location else "")
        exprs.append((pname, f"exp({inner})" if fam.transforms[i] == "log" else inner))
    lines = [f"[survival.{name}]", f'distribution = "{fit.dist}"']
    if fit.dist == "pwexp":
        lines.append("cuts = [" + ", ".join(_num(c) for c in fam.cuts) + "]")
        lines.append("rates = [" + ", ".join(_toml_string(e) for _, e in exprs) + "]")
    else:
        lines += [f"{pname} = {_toml_string(e)}" for pname, e in exprs]
    lines.append(f"units = {_toml_string(time_unit)}")
    if label:
        lines.append(f"label = {_toml_string(label)}")
    return "\n".join(lines) + "\n"
