"""Parsing a distribution written in a scenario (``{ type = "beta", mean = 0.5, se = 0.05 }``): the accepted
forms of every type, method-of-moments and interval fits, and the messages that name the key path."""

from __future__ import annotations

import functools
import hashlib
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .distributions import Beta, Distribution, DistributionError, Fixed, Gamma, LogNormal, Normal, Triangular, TruncNormal, Uniform, Z975, _BETA_MAX_CONCENTRATION
from .checks import _g, _require, _suggest, _to_float, _what
from .empirical import EMPIRICAL_METHODS, Empirical

__all__ = ["parse_distribution", "DISTRIBUTION_TYPES"]


def _brentq(f: Callable[[float], float], a: float, b: float) -> float | None:
    """Root of f in [a, b] or None when f does not change sign there."""
    from scipy import optimize

    with np.errstate(all="ignore"):
        fa, fb = f(a), f(b)
        if math.isnan(fa) or math.isnan(fb):
            return None
        if fa == 0:
            return a
        if fb == 0:
            return b
        if np.sign(fa) == np.sign(fb):
            return None
        try:
            return float(optimize.brentq(f, a, b, xtol=1e-14, rtol=4 * np.finfo(float).eps, maxiter=500))
        except (RuntimeError, ValueError):
            return None


def _fit_beta_ci(lo: float, hi: float) -> tuple[float, float] | None:
    """Beta(α, β) whose 2.5% and 97.5% quantiles are ``lo`` and ``hi``.

    With μ = α/(α+β) and κ = α+β: for fixed κ the lower quantile increases
    with μ, so μ(κ) matching ``lo`` is a bracketed root; with it, the upper
    quantile falls from near 1 (κ → 0) to ``lo`` (κ → ∞), a second bracketed
    root. Both searches run on logit/log scales.
    """
    from scipy import special

    llo, lhi = special.logit(lo), special.logit(hi)

    def mu_logit(kappa: float) -> float | None:
        def f(t: float) -> float:
            return special.logit(special.betaincinv(special.expit(t) * kappa, special.expit(-t) * kappa, 0.025)) - llo

        return _brentq(f, -60.0, 60.0)

    def g(log_kappa: float) -> float:
        kappa = math.exp(log_kappa)
        t = mu_logit(kappa)
        if t is None:
            return math.nan
        return special.logit(special.betaincinv(special.expit(t) * kappa, special.expit(-t) * kappa, 0.975)) - lhi

    log_kappa = _brentq(g, math.log(1e-4), math.log(_BETA_MAX_CONCENTRATION))
    if log_kappa is None:
        return None
    kappa = math.exp(log_kappa)
    t = mu_logit(kappa)
    if t is None:
        return None
    return float(special.expit(t) * kappa), float(special.expit(-t) * kappa)


def _fit_gamma_ci(lo: float, hi: float) -> tuple[float, float] | None:
    """Gamma(shape, scale) whose 2.5% and 97.5% quantiles are ``lo`` and ``hi``.

    The ratio of the two quantiles depends on the shape alone and falls
    monotonically from ∞ to 1 as the shape grows: one bracketed root in
    log(shape), then scale = lo / (2.5% quantile of Gamma(shape, 1)).
    """
    from scipy import special

    target = math.log(hi) - math.log(lo)

    def f(log_k: float) -> float:
        k = math.exp(log_k)
        with np.errstate(divide="ignore"):
            return float(np.log(special.gammaincinv(k, 0.975)) - np.log(special.gammaincinv(k, 0.025)) - target)

    log_k = _brentq(f, math.log(1e-4), math.log(1e14))
    if log_k is None:
        return None
    k = math.exp(log_k)
    q = float(special.gammaincinv(k, 0.025))
    if not q > 0:
        return None
    return k, lo / q


# --------------------------------------------------------------------------
# reading specs
# --------------------------------------------------------------------------


class _Reader:
    """Typed access to one spec dict, with errors naming ``where.key``."""

    def __init__(self, spec: Mapping[str, Any], where: str, type_: str) -> None:
        self.spec, self.where, self.type = spec, where, type_

    def path(self, key: str) -> str:
        return f"{self.where}.{key}"

    def number(self, key: str, *, allow_inf: bool = False) -> float:
        return _to_float(self.spec[key], self.path(key), allow_inf=allow_inf)

    def positive(self, key: str, hint: str = "") -> float:
        x = self.number(key)
        _require(x > 0, self.path(key), f"must be > 0 for a {self.type} distribution; got {_g(x)}{hint}")
        return x

    def sd(self) -> tuple[float, str]:
        key = "sd" if "sd" in self.spec else "se"
        hint = ". For a parameter without uncertainty write {type = \"fixed\", value = ...}" if key in self.spec else ""
        return self.positive(key, hint), key.upper()

    def text(self, key: str) -> str:
        value = self.spec[key]
        _require(isinstance(value, str) and value != "", self.path(key), f"must be a non-empty text; got {_what(value)}")
        _require("\x00" not in value, self.path(key), "must not contain a NUL character")
        return value

    def ci95(self, *, low: float | None = None, high: float | None = None, what: str = "") -> tuple[float, float]:
        key, value = "ci95", self.spec["ci95"]
        p = self.path(key)
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise DistributionError(p, f"must be a list of two numbers [lower, upper]; got {_what(value)}")
        lo = _to_float(value[0], f"{p}[0]")
        hi = _to_float(value[1], f"{p}[1]")
        _require(lo < hi, p, f"the lower limit must come first and be below the upper limit; got [{_g(lo)}, {_g(hi)}]")
        if low is not None and high is not None:
            _require(
                low < lo and hi < high,
                p,
                f"a {self.type} distribution lies strictly between {_g(low)} and {_g(high)}{what}, "
                f"so both limits must too; got [{_g(lo)}, {_g(hi)}]",
            )
        elif low is not None:
            _require(
                lo > low,
                p,
                f"a {self.type} distribution has only values above {_g(low)}{what}, so both limits must be > {_g(low)}; "
                f"got [{_g(lo)}, {_g(hi)}]",
            )
        return lo, hi


@dataclass(frozen=True)
class _Form:
    keys: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        text = " + ".join(k if k != "sd" else "sd (or se)" for k in self.keys)
        if self.optional:
            text += " (optional: " + ", ".join(self.optional) + ")"
        return text


def _derived(where: str, given: str, build: Callable[[], Distribution]) -> Distribution:
    """Build a distribution from converted parameters; explain when they are not representable."""
    try:
        with np.errstate(all="ignore"):
            return build()
    except DistributionError as exc:
        raise DistributionError(
            where, f"{given} lead to an invalid distribution ({exc.message}); the values are too extreme to represent"
        ) from None
    except ArithmeticError:
        raise DistributionError(where, f"{given} cannot be converted: the values are too extreme to represent") from None


# ---- per-type builders: (reader, keys given) -> Distribution --------------


def _build_fixed(r: _Reader, keys: frozenset[str]) -> Distribution:
    return Fixed(r.number("value"), where=r.where)


def _build_normal(r: _Reader, keys: frozenset[str]) -> Distribution:
    if "ci95" in keys:
        lo, hi = r.ci95()
        return _derived(r.where, f"ci95 = [{_g(lo)}, {_g(hi)}]", lambda: Normal((lo + hi) / 2, (hi - lo) / (2 * Z975), where=r.where))
    mean = r.number("mean")
    sd, _ = r.sd()
    return Normal(mean, sd, where=r.where)


def _build_truncnormal(r: _Reader, keys: frozenset[str]) -> Distribution:
    mean = r.number("mean")
    sd, _ = r.sd()
    lower = r.number("lower", allow_inf=True) if "lower" in keys else -math.inf
    upper = r.number("upper", allow_inf=True) if "upper" in keys else math.inf
    return TruncNormal(mean, sd, lower, upper, where=r.where)


def _build_lognormal(r: _Reader, keys: frozenset[str]) -> Distribution:
    if "ci95" in keys:
        lo, hi = r.ci95(low=0.0)
        given = f"ci95 = [{_g(lo)}, {_g(hi)}]"
        return _derived(
            r.where,
            given,
            lambda: LogNormal((math.log(lo) + math.log(hi)) / 2, (math.log(hi) - math.log(lo)) / (2 * Z975), where=r.where),
        )
    if "meanlog" in keys:
        return LogNormal(r.number("meanlog"), r.positive("sdlog"), where=r.where)
    mean = r.number("mean")
    _require(
        mean > 0,
        r.path("mean"),
        f"a lognormal distribution has positive values only, so its mean must be > 0; got {_g(mean)}. "
        "For the mean and SD of log(x) write meanlog and sdlog",
    )
    sd, sd_name = r.sd()

    def build() -> Distribution:
        sigma2 = math.log1p((sd / mean) ** 2)
        return LogNormal(math.log(mean) - sigma2 / 2, math.sqrt(sigma2), where=r.where)

    return _derived(r.where, f"mean {_g(mean)} and {sd_name} {_g(sd)}", build)


def _build_beta(r: _Reader, keys: frozenset[str]) -> Distribution:
    if "ci95" in keys:
        lo, hi = r.ci95(low=0.0, high=1.0)
        fit = _fit_beta_ci(lo, hi)
        _require(
            fit is not None,
            r.where,
            f"no beta distribution could be fitted to ci95 = [{_g(lo)}, {_g(hi)}]; an interval this narrow or "
            "this close to 0 or 1 is better given as mean and se, or as a normal distribution",
        )
        a, b = fit if fit is not None else (math.nan, math.nan)
        return _derived(r.where, f"ci95 = [{_g(lo)}, {_g(hi)}]", lambda: Beta(a, b, where=r.where))
    if "alpha" in keys:
        return Beta(r.positive("alpha"), r.positive("beta"), where=r.where)
    mean = r.number("mean")
    _require(
        0 < mean < 1,
        r.path("mean"),
        f"the mean of a beta distribution must lie strictly between 0 and 1; got {_g(mean)}. "
        "For a quantity that is not a probability or utility use gamma, lognormal or normal",
    )
    sd, sd_name = r.sd()
    limit = math.sqrt(mean * (1 - mean))
    _require(
        sd < limit,
        r.where,
        f"a beta distribution with mean {_g(mean)} and {sd_name} {_g(sd)} does not exist: "
        f"the {sd_name} must be below sqrt(mean*(1-mean)) = {_g(limit)}",
    )

    def build() -> Distribution:
        common = mean * (1 - mean) / sd**2 - 1
        return Beta(mean * common, (1 - mean) * common, where=r.where)

    return _derived(r.where, f"mean {_g(mean)} and {sd_name} {_g(sd)}", build)


def _build_gamma(r: _Reader, keys: frozenset[str]) -> Distribution:
    if "ci95" in keys:
        lo, hi = r.ci95(low=0.0)
        fit = _fit_gamma_ci(lo, hi)
        _require(
            fit is not None,
            r.where,
            f"no gamma distribution could be fitted to ci95 = [{_g(lo)}, {_g(hi)}]; for an interval this narrow "
            "relative to its values use a normal distribution",
        )
        k, theta = fit if fit is not None else (math.nan, math.nan)
        return _derived(r.where, f"ci95 = [{_g(lo)}, {_g(hi)}]", lambda: Gamma(k, theta, where=r.where))
    if "shape" in keys:
        shape = r.positive("shape")
        if "scale" in keys:
            return Gamma(shape, r.positive("scale"), where=r.where)
        rate = r.positive("rate")
        return _derived(r.where, f"shape {_g(shape)} and rate {_g(rate)}", lambda: Gamma(shape, 1.0 / rate, where=r.where))
    mean = r.number("mean")
    _require(
        mean > 0,
        r.path("mean"),
        f"a gamma distribution has positive values only, so its mean must be > 0; got {_g(mean)}. "
        "For a quantity that can be zero or negative use normal",
    )
    if "cv" in keys:
        cv = r.positive("cv")
        return _derived(r.where, f"mean {_g(mean)} and cv {_g(cv)}", lambda: Gamma(1.0 / cv**2, mean * cv**2, where=r.where))
    sd, sd_name = r.sd()
    return _derived(
        r.where, f"mean {_g(mean)} and {sd_name} {_g(sd)}", lambda: Gamma((mean / sd) ** 2, sd * (sd / mean), where=r.where)
    )


def _build_uniform(r: _Reader, keys: frozenset[str]) -> Distribution:
    if "mean" in keys:
        mean = r.number("mean")
        sd, sd_name = r.sd()
        half = math.sqrt(3.0) * sd
        return _derived(r.where, f"mean {_g(mean)} and {sd_name} {_g(sd)}", lambda: Uniform(mean - half, mean + half, where=r.where))
    return Uniform(r.number("lower"), r.number("upper"), where=r.where)


def _build_triangular(r: _Reader, keys: frozenset[str]) -> Distribution:
    return Triangular(r.number("lower"), r.number("mode"), r.number("upper"), where=r.where)


@functools.lru_cache(maxsize=16)
def _read_csv(path: str, mtime_ns: int, size: int) -> tuple[Any, str]:
    """CSV file as a DataFrame plus the BLAKE2b digest of its bytes (cached per file version)."""
    import pandas as pd

    data = Path(path).read_bytes()
    digest = hashlib.blake2b(data, digest_size=16).hexdigest()
    frame = pd.read_csv(io.BytesIO(data), comment="#", skipinitialspace=True)
    return frame, digest


def _build_empirical(r: _Reader, keys: frozenset[str], base_dir: str | os.PathLike[str] | None) -> Distribution:
    import pandas as pd

    file = r.text("file")
    column = r.text("column")
    method = r.text("method") if "method" in keys else "bootstrap"
    _require(
        method in EMPIRICAL_METHODS,
        r.path("method"),
        f"must be \"bootstrap\" (resample rows with replacement) or \"sequential\" (take rows in order); "
        f"got {method!r}{_suggest(method, EMPIRICAL_METHODS)}",
    )
    path = Path(file)
    if not path.is_absolute():
        path = Path(base_dir if base_dir is not None else os.getcwd()) / path
    where_file = r.path("file")
    try:
        st = path.stat()
        _require(path.is_file(), where_file, f"{file!r} is not a file (resolved to {str(path)!r})")
        frame, digest = _read_csv(str(path), st.st_mtime_ns, st.st_size)
    except DistributionError:
        raise
    except FileNotFoundError:
        raise DistributionError(where_file, f"file {file!r} not found (looked for {str(path)!r})") from None
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise DistributionError(where_file, f"cannot read {file!r} as CSV: {exc}") from None
    columns = [str(c) for c in frame.columns]
    if column not in columns:
        shown = ", ".join(repr(c) for c in columns[:20]) + (", ..." if len(columns) > 20 else "")
        raise DistributionError(
            r.path("column"),
            f"{file!r} has no column {column!r}{_suggest(column, columns)}; its columns are {shown or 'none'}",
        )
    raw = frame.iloc[:, columns.index(column)]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        row = int(bad[0])
        raise DistributionError(
            r.path("column"),
            f"column {column!r} of {file!r} must hold numbers only; data row {row + 1} holds {raw.iloc[row]!r}"
            + (f" ({bad.size} such rows)" if bad.size > 1 else ""),
        )
    _require(values.size >= 1, r.path("column"), f"column {column!r} of {file!r} has no rows")
    return Empirical(file, column, values, method=method, digest=digest, where=r.where)


_SD = ("sd",)
# type -> (forms, builder)
_TYPES: dict[str, tuple[tuple[_Form, ...], Callable[..., Distribution]]] = {
    "fixed": ((_Form(("value",)),), _build_fixed),
    "normal": ((_Form(("mean", "sd")), _Form(("ci95",))), _build_normal),
    "truncnormal": ((_Form(("mean", "sd"), ("lower", "upper")),), _build_truncnormal),
    "lognormal": ((_Form(("meanlog", "sdlog")), _Form(("mean", "sd")), _Form(("ci95",))), _build_lognormal),
    "beta": ((_Form(("alpha", "beta")), _Form(("mean", "sd")), _Form(("ci95",))), _build_beta),
    "gamma": (
        (_Form(("shape", "scale")), _Form(("shape", "rate")), _Form(("mean", "sd")), _Form(("mean", "cv")), _Form(("ci95",))),
        _build_gamma,
    ),
    "uniform": ((_Form(("lower", "upper")), _Form(("mean", "sd"))), _build_uniform),
    "triangular": ((_Form(("lower", "mode", "upper")),), _build_triangular),
    "empirical": ((_Form(("file", "column"), ("method",)),), _build_empirical),
}

#: The accepted ``type`` names of a single parameter's distribution.
DISTRIBUTION_TYPES: tuple[str, ...] = tuple(sorted(_TYPES))


def _allowed_keys(forms: Sequence[_Form]) -> list[str]:
    keys: list[str] = []
    for form in forms:
        for k in form.keys + form.optional:
            if k not in keys:
                keys.append(k)
            if k == "sd" and "se" not in keys:
                keys.append("se")
    return keys


def _check_table(spec: Any, where: str, what: str, example: str) -> dict[str, Any]:
    """Check that ``spec`` is a table with text keys; return it as a dict."""
    if not isinstance(spec, Mapping):
        raise DistributionError(where, f"must be a table like {example}; got {_what(spec)}")
    for key in spec:
        if not isinstance(key, str):
            raise DistributionError(where, f"keys of {what} must be text; got {_what(key)}")
    return dict(spec)


def _type_name(spec: Mapping[str, Any], where: str, valid: Sequence[str], what: str) -> str:
    """The ``type`` entry of a spec, checked against ``valid``."""
    listed = ", ".join(valid)
    if "type" not in spec:
        raise DistributionError(where, f"{what} needs a 'type'; one of {listed}")
    name = spec["type"]
    if not isinstance(name, str):
        raise DistributionError(f"{where}.type", f"must be the text name of a type, one of {listed}; got {_what(name)}")
    if name not in valid:
        hint = _suggest(name, valid)
        if not hint and name.lower() in valid:
            hint = f" (did you mean {name.lower()!r}?)"
        raise DistributionError(f"{where}.type", f"unknown type {name!r}{hint}; valid types are {listed}")
    return name


def _match_form(spec: Mapping[str, Any], where: str, type_: str, forms: Sequence[_Form]) -> frozenset[str]:
    """Check the keys of ``spec`` against the accepted forms of ``type_``; return the keys given."""
    allowed = _allowed_keys(forms)
    given = [k for k in spec if k != "type"]
    unknown = [k for k in given if k not in allowed]
    if unknown:
        k = unknown[0]
        more = f" (and {', '.join(map(repr, unknown[1:]))})" if len(unknown) > 1 else ""
        raise DistributionError(
            f"{where}.{k}",
            f"unknown key {k!r}{more} for a {type_} distribution{_suggest(k, allowed)}; "
            f"valid keys are {', '.join(allowed)}",
        )
    if "sd" in given and "se" in given:
        raise DistributionError(
            where,
            "give sd or se, not both: both mean the standard deviation of the parameter's distribution "
            "(the standard error of its estimate)",
        )
    keys = frozenset("sd" if k == "se" else k for k in given)
    for form in forms:
        if set(form.keys) <= keys <= set(form.keys) | set(form.optional):
            if type_ == "truncnormal" and not keys & {"lower", "upper"}:
                raise DistributionError(
                    where,
                    "a truncnormal distribution needs lower, upper or both; without bounds write type = \"normal\"",
                )
            return frozenset(given)
    options = "; ".join(f.label for f in forms)
    shown = ", ".join(given) if given else "no parameters"
    hint = ""
    if "mean" in keys and "ci95" in keys:
        hint = ". With ci95 leave out the mean: it is implied by the interval"
    elif any(set(f.keys) < keys for f in forms):
        hint = ". Give one of these sets only"
    raise DistributionError(
        where,
        f"a {type_} distribution is given by exactly one of: {options}; got {shown}{hint}",
    )


def parse_distribution(
    spec: Mapping[str, Any],
    *,
    where: str,
    base_dir: str | os.PathLike[str] | None = None,
) -> Distribution:
    """Read one parameter's distribution from its TOML table.

    Parameters
    ----------
    spec : mapping
        The parsed TOML table, e.g. ``{"type": "beta", "mean": 0.56, "se": 0.02}``.
    where : str
        TOML key path of ``spec`` for error messages, e.g. ``"parameters.u_pd.distribution"``.
    base_dir : path, optional
        Folder that relative ``file`` paths of ``empirical`` distributions are
        resolved against (normally the scenario file's folder); the current
        directory when omitted.

    Returns
    -------
    Distribution

    Raises
    ------
    DistributionError
        For unknown or missing keys, wrong value types and impossible
        combinations; the message starts with the key path.

    Notes
    -----
    Method of moments (Briggs, Claxton & Sculpher 2006, section 4.3), with
    ``m`` the mean and ``s`` the SE:

    * beta: ``α = m (m(1-m)/s² - 1)``, ``β = (1-m)(m(1-m)/s² - 1)``, needs ``s < sqrt(m(1-m))``;
    * gamma: ``k = m²/s²``, ``θ = s²/m``; with a coefficient of variation ``k = 1/cv²``, ``θ = m cv²``;
    * lognormal: ``σ² = log(1 + s²/m²)``, ``μ = log(m) - σ²/2``;
    * uniform: ``m ± sqrt(3) s``.

    A ``ci95 = [lo, hi]`` is matched exactly at the 2.5% and 97.5% quantiles:
    in closed form for normal (``sd = (hi - lo) / (2 × 1.959964)``) and
    lognormal (log-symmetric), by bracketed root finding for beta and gamma.
    """
    spec = _check_table(spec, where, "a distribution", '{type = "beta", mean = 0.5, se = 0.1}')
    type_ = _type_name(spec, where, DISTRIBUTION_TYPES, "a distribution")
    forms, builder = _TYPES[type_]
    keys = _match_form(spec, where, type_, forms)
    reader = _Reader(spec, where, type_)
    if type_ == "empirical":
        return builder(reader, keys, base_dir)
    return builder(reader, keys)
