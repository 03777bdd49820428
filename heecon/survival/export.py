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

import numpy as np

from .fit import SurvivalFit

__all__ = ["fit_to_toml", "parameter_names"]

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
