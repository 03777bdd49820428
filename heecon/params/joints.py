"""Joint distributions of groups of parameters: Dirichlet, multivariate normal and Gaussian copula."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

import numpy as np

from .distributions import Beta, Distribution, DistributionError, Normal
from .checks import _check_n, _check_rng, _fmt, _g, _require, _suggest, _to_float, _uniforms, _what
from .parse import _check_table, _Form, _match_form, _type_name

__all__ = ["JOINT_TYPES", "COPULA_CORRELATIONS", "Dirichlet", "GaussianCopula", "JointSpec", "MultivariateNormal", "check_correlation_matrix", "parse_joint"]


def _read_vector(value: Any, where: str, k: int, what: str) -> np.ndarray:
    if not isinstance(value, (list, tuple)) or len(value) != k:
        raise DistributionError(where, f"{what} must be a list of {k} numbers, one per member; got {_what(value)}")
    return np.array([_to_float(v, f"{where}[{i}]") for i, v in enumerate(value)], dtype=float)


def _read_matrix(value: Any, where: str, k: int) -> np.ndarray:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    ok = isinstance(value, (list, tuple)) and len(value) == k and all(isinstance(row, (list, tuple)) and len(row) == k for row in value)
    if not ok:
        raise DistributionError(
            where, f"must be a {k} x {k} matrix (a list of {k} rows of {k} numbers, one per member); got {_what(value)}"
        )
    return np.array([[_to_float(v, f"{where}[{i}][{j}]") for j, v in enumerate(row)] for i, row in enumerate(value)])


def _pair(names: Sequence[str], i: int, j: int) -> str:
    return f"{names[i]!r} with {names[j]!r}"


def _check_symmetric(m: np.ndarray, where: str, names: Sequence[str], what: str) -> None:
    k = m.shape[0]
    for i in range(k):
        for j in range(i + 1, k):
            if abs(m[i, j] - m[j, i]) > 1e-12 * max(1.0, abs(m[i, j]), abs(m[j, i])):
                raise DistributionError(
                    where,
                    f"the {what} must be symmetric: the entry for {_pair(names, i, j)} is {_g(m[i, j])} "
                    f"but that for {_pair(names, j, i)} is {_g(m[j, i])}",
                )


def _check_positive_definite(corr: np.ndarray, where: str, what: str) -> None:
    with np.errstate(all="ignore"):
        try:
            smallest = float(np.linalg.eigvalsh(corr).min())
        except np.linalg.LinAlgError:
            smallest = math.nan
    if not smallest > 1e-10:
        raise DistributionError(
            where,
            f"the {what} is not positive definite (smallest eigenvalue {_g(smallest)}): these correlations cannot "
            "all hold at once. Weaken the strongest ones; a correlation of exactly 1 or -1 is not allowed either "
            "(to tie two parameters exactly, define one from the other by an expression)",
        )


def check_correlation_matrix(matrix: Any, *, where: str, names: Sequence[str]) -> np.ndarray:
    """Validate a correlation matrix over ``names`` and return it as a float array.

    Checks, each with its own message naming ``where`` and the pair concerned:
    shape ``len(names)`` square, finite numbers, unit diagonal, entries in
    [-1, 1], symmetry, positive definiteness.
    """
    k = len(names)
    c = _read_matrix(matrix, where, k)
    for i in range(k):
        if abs(c[i, i] - 1.0) > 1e-12:
            raise DistributionError(
                where, f"the diagonal must be 1 (a parameter's correlation with itself); the entry for {names[i]!r} is {_g(c[i, i])}"
            )
    for i in range(k):
        for j in range(k):
            if i != j and not -1.0 <= c[i, j] <= 1.0:
                raise DistributionError(where, f"the correlation of {_pair(names, i, j)} is {_g(c[i, j])}; correlations lie in [-1, 1]")
    _check_symmetric(c, where, names, "correlation matrix")
    np.fill_diagonal(c, 1.0)
    c = (c + c.T) / 2
    _check_positive_definite(c, where, "correlation matrix")
    c.setflags(write=False)
    return c


def _check_covariance(matrix: Any, where: str, names: Sequence[str]) -> np.ndarray:
    k = len(names)
    cov = _read_matrix(matrix, where, k)
    for i in range(k):
        if not cov[i, i] > 0:
            raise DistributionError(
                where, f"the variance of {names[i]!r} (diagonal entry) must be > 0; got {_g(cov[i, i])}"
            )
    _check_symmetric(cov, where, names, "covariance matrix")
    cov = (cov + cov.T) / 2
    sd = np.sqrt(np.diag(cov))
    with np.errstate(all="ignore"):
        corr = cov / np.outer(sd, sd)
    if not np.all(np.isfinite(corr)):
        raise DistributionError(where, "the covariance matrix has entries too extreme to represent")
    for i in range(k):
        for j in range(i + 1, k):
            if abs(corr[i, j]) > 1 + 1e-12:
                raise DistributionError(
                    where,
                    f"the covariance of {_pair(names, i, j)} ({_g(cov[i, j])}) implies a correlation of {_g(corr[i, j])}; "
                    "|cov(a, b)| must not exceed sd(a) * sd(b)",
                )
    _check_positive_definite(corr, where, "covariance matrix")
    cov.setflags(write=False)
    return cov


def _check_members(members: Any, where: str) -> tuple[str, ...]:
    if not isinstance(members, (list, tuple)) or len(members) < 2:
        raise DistributionError(where, f"must be a list of at least two parameter names; got {_what(members)}")
    seen: set[str] = set()
    for i, m in enumerate(members):
        if not isinstance(m, str) or not m:
            raise DistributionError(f"{where}[{i}]", f"must be a parameter name; got {_what(m)}")
        if m in seen:
            raise DistributionError(where, f"{m!r} is listed twice")
        seen.add(m)
    return tuple(members)


# --------------------------------------------------------------------------
# joint distributions
# --------------------------------------------------------------------------


class JointSpec(ABC):
    """A distribution over a group of named parameters (``members``)."""

    type: ClassVar[str]
    members: tuple[str, ...]
    where: str

    @abstractmethod
    def describe(self) -> str:
        """Short human-readable form for the evidence table."""

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The spec as a TOML-ready dict that :func:`parse_joint` reads back."""

    def _where(self) -> str:
        return self.where or type(self).__name__

    def __str__(self) -> str:
        return self.describe()


@dataclass(frozen=True, eq=False, repr=False)
class Dirichlet(JointSpec):
    """Dirichlet(``alpha``) over ``members``, e.g. one row of a transition matrix.

    Each draw is a probability vector: the members are >= 0 and sum to 1.
    With observed transition counts as ``alpha`` this is the posterior of a
    multinomial under an improper prior (Briggs et al. 2003).

    References
    ----------
    Briggs AH, Ades AE, Price MJ (2003). Probabilistic sensitivity analysis for
    decision trees with multiple branches: use of the Dirichlet distribution in
    a Bayesian framework. Medical Decision Making 23(4):341-350.
    """

    members: tuple[str, ...]
    alpha: tuple[float, ...]
    where: str = field(default="")
    type: ClassVar[str] = "dirichlet"

    def __post_init__(self) -> None:
        w = self._where()
        object.__setattr__(self, "members", _check_members(list(self.members), f"{w}.members" if self.where else w))
        alpha = tuple(float(a) for a in self.alpha)
        _require(len(alpha) == len(self.members), w, f"needs one alpha per member: {len(self.members)} members, {len(alpha)} values")
        for name, a in zip(self.members, alpha):
            _require(
                math.isfinite(a) and a > 0,
                w,
                f"the count (alpha) for {name!r} must be a finite number > 0; got {_g(a)}. A zero count gives a "
                "parameter that is always 0: add a prior (e.g. 1 to every count) or leave that transition out",
            )
        _require(math.isfinite(sum(alpha)), w, "the counts are too large to represent")
        object.__setattr__(self, "alpha", alpha)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` probability vectors, shape ``(n, len(members))``; rows sum to 1."""
        n = _check_n(n)
        return _check_rng(rng).dirichlet(np.array(self.alpha), size=n)

    def mean(self) -> np.ndarray:
        a = np.array(self.alpha)
        return a / a.sum()

    def marginal(self, name: str) -> Distribution:
        """The member's marginal Beta(α_i, Σα - α_i) (for DSA ranges and base values)."""
        i = self.members.index(name)
        return Beta(self.alpha[i], sum(self.alpha) - self.alpha[i], where=self.where)

    def describe(self) -> str:
        return "Dirichlet(" + ", ".join(f"{m}={_fmt(a)}" for m, a in zip(self.members, self.alpha)) + ")"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "dirichlet", "members": list(self.members), "alpha": list(self.alpha)}

    def __repr__(self) -> str:
        return f"Dirichlet(members={self.members!r}, alpha={self.alpha!r})"


@dataclass(frozen=True, eq=False, repr=False)
class MultivariateNormal(JointSpec):
    """Multivariate normal over ``members`` (e.g. regression coefficients with their covariance)."""

    members: tuple[str, ...]
    mean: tuple[float, ...]
    cov: np.ndarray
    where: str = field(default="")
    type: ClassVar[str] = "mvnormal"

    def __post_init__(self) -> None:
        w = self._where()
        members = _check_members(list(self.members), f"{w}.members" if self.where else w)
        object.__setattr__(self, "members", members)
        object.__setattr__(self, "mean", tuple(float(x) for x in _read_vector(list(self.mean), f"{w}.mean" if self.where else w, len(members), "mean")))
        object.__setattr__(self, "cov", _check_covariance(self.cov, f"{w}.cov" if self.where else w, members))
        object.__setattr__(self, "_chol", np.linalg.cholesky(self.cov))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws, shape ``(n, len(members))``, by inversion of uniforms and the Cholesky factor."""
        n = _check_n(n)
        from scipy import special

        z = special.ndtri(_uniforms(_check_rng(rng), (n, len(self.members))))
        return np.asarray(self.mean) + z @ self._chol.T  # type: ignore[attr-defined]

    def marginal(self, name: str) -> Distribution:
        i = self.members.index(name)
        return Normal(self.mean[i], math.sqrt(self.cov[i, i]), where=self.where)

    def describe(self) -> str:
        return "MVNormal(" + ", ".join(f"{m}: μ={_fmt(mu)}" for m, mu in zip(self.members, self.mean)) + ")"

    def to_dict(self) -> dict[str, Any]:
        return {"type": "mvnormal", "members": list(self.members), "mean": list(self.mean), "cov": self.cov.tolist()}

    def __repr__(self) -> str:
        return f"MultivariateNormal(members={self.members!r}, mean={self.mean!r}, cov={self.cov.tolist()!r})"


@dataclass(frozen=True, eq=False, repr=False)
class GaussianCopula(JointSpec):
    """Gaussian copula correlating parameters that keep their own marginals.

    Latent normals with correlation ``corr`` are drawn, turned into
    uniforms by the normal CDF and into parameter values by each member's
    :meth:`Distribution.ppf`, so each marginal is exactly its own
    distribution. ``corr`` is the correlation of the latent normals. Given
    ``correlation = "spearman"``, the matrix is read as target rank
    correlations and converted with ``2 sin(π ρ_s / 6)``, which the copula
    reproduces exactly for continuous marginals.

    References
    ----------
    Nelsen RB (2006). An Introduction to Copulas, 2nd ed., section 5.1. Springer.
    """

    members: tuple[str, ...]
    corr: np.ndarray
    correlation: str = "normal"
    where: str = field(default="")
    given: np.ndarray = field(init=False)
    type: ClassVar[str] = "copula"

    def __post_init__(self) -> None:
        w = self._where()
        members = _check_members(list(self.members), f"{w}.members" if self.where else w)
        object.__setattr__(self, "members", members)
        _require(
            self.correlation in COPULA_CORRELATIONS,
            f"{w}.correlation" if self.where else w,
            f"must be \"normal\" (correlation of the latent normals) or \"spearman\" (rank correlation); "
            f"got {self.correlation!r}",
        )
        given = check_correlation_matrix(self.corr, where=f"{w}.corr" if self.where else w, names=members)
        latent = given
        if self.correlation == "spearman":
            latent = 2.0 * np.sin(np.pi * given / 6.0)
            np.fill_diagonal(latent, 1.0)
            _check_positive_definite(latent, f"{w}.corr" if self.where else w, "latent correlation matrix converted from these rank correlations")
            latent.setflags(write=False)
        object.__setattr__(self, "given", given)
        object.__setattr__(self, "corr", latent)
        object.__setattr__(self, "_chol", np.linalg.cholesky(latent))

    def uniforms(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Correlated uniforms in (0, 1), shape ``(n, len(members))``."""
        n = _check_n(n)
        from scipy import special

        z = special.ndtri(_uniforms(_check_rng(rng), (n, len(self.members)))) @ self._chol.T  # type: ignore[attr-defined]
        return np.clip(special.ndtr(z), 2.0**-53, 1.0 - 2.0**-53)

    def sample(self, rng: np.random.Generator, n: int, marginals: Sequence[Distribution]) -> np.ndarray:
        """``n`` correlated draws, shape ``(n, len(members))``; ``marginals`` in member order."""
        if len(marginals) != len(self.members):
            raise ValueError(f"Expected {len(self.members)} marginals, one per member; got {len(marginals)}.")
        u = self.uniforms(rng, n)
        return np.column_stack([np.asarray(d._ppf(u[:, j]), dtype=float) for j, d in enumerate(marginals)]).reshape(
            n, len(self.members)
        )

    def describe(self) -> str:
        k = len(self.members)
        pairs = ", ".join(
            f"ρ({self.members[i]}, {self.members[j]})={_fmt(self.given[i, j])}"
            for i in range(k)
            for j in range(i + 1, k)
        )
        kind = "Spearman" if self.correlation == "spearman" else "normal"
        return f"GaussianCopula({kind}: {pairs})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": "copula",
            "members": list(self.members),
            "corr": self.given.tolist(),
            "correlation": self.correlation,
        }

    def __repr__(self) -> str:
        return f"GaussianCopula(members={self.members!r}, correlation={self.correlation!r}, corr={self.given.tolist()!r})"


COPULA_CORRELATIONS = ("normal", "spearman")

_JOINT_FORMS: dict[str, tuple[_Form, ...]] = {
    "dirichlet": (_Form(("counts",), ("members",)), _Form(("alpha",), ("members",))),
    "mvnormal": (_Form(("members", "mean", "cov")), _Form(("members", "mean", "sd", "corr"))),
    "copula": (_Form(("members", "corr"), ("correlation",)), _Form(("members", "rho"), ("correlation",))),
}

#: The accepted ``type`` names of a joint distribution.
JOINT_TYPES: tuple[str, ...] = tuple(sorted(_JOINT_FORMS))


def _parse_dirichlet(spec: dict[str, Any], where: str) -> Dirichlet:
    key = "counts" if "counts" in spec else "alpha"
    value, path = spec[key], f"{where}.{key}"
    if isinstance(value, Mapping):
        if "members" in spec:
            raise DistributionError(
                where, f"give the member names either as the keys of {key} or in members, not both"
            )
        members = _check_members(list(value.keys()), path)
        alpha = [_to_float(v, f"{path}.{m}") for m, v in value.items()]
    else:
        if "members" not in spec:
            raise DistributionError(
                where,
                f"{key} is a list, so the member names are needed too: add members = [...] or write {key} as a "
                "table, e.g. counts = {p_a = 85, p_b = 10, p_c = 2}",
            )
        members = _check_members(spec["members"], f"{where}.members")
        alpha = list(_read_vector(value, path, len(members), key))
    for m, a in zip(members, alpha):
        _require(
            a > 0,
            path,
            f"the value for {m!r} must be > 0; got {_g(a)}. A zero count gives a parameter that is always 0: "
            "add a prior (e.g. 1 to every count) or leave that transition out",
        )
    return Dirichlet(members, tuple(alpha), where=where)


def _parse_mvnormal(spec: dict[str, Any], where: str) -> MultivariateNormal:
    members = _check_members(spec["members"], f"{where}.members")
    k = len(members)
    mean = _read_vector(spec["mean"], f"{where}.mean", k, "mean")
    if "cov" in spec:
        cov = _check_covariance(spec["cov"], f"{where}.cov", members)
    else:
        sd_key = "sd" if "sd" in spec else "se"
        sd = _read_vector(spec[sd_key], f"{where}.{sd_key}", k, sd_key)
        for m, s in zip(members, sd):
            _require(s > 0, f"{where}.{sd_key}", f"the {sd_key} of {m!r} must be > 0; got {_g(s)}")
        corr = check_correlation_matrix(spec["corr"], where=f"{where}.corr", names=members)
        with np.errstate(all="ignore"):
            cov = corr * np.outer(sd, sd)
        _require(bool(np.all(np.isfinite(cov))), where, "sd and corr give a covariance too large to represent")
    return MultivariateNormal(members, tuple(mean), cov, where=where)


def _parse_copula(spec: dict[str, Any], where: str) -> GaussianCopula:
    members = _check_members(spec["members"], f"{where}.members")
    correlation = spec.get("correlation", "normal")
    if not isinstance(correlation, str) or correlation not in COPULA_CORRELATIONS:
        raise DistributionError(
            f"{where}.correlation",
            "must be \"normal\" (correlation of the latent normals) or \"spearman\" (rank correlation); got "
            + (repr(correlation) + _suggest(correlation, COPULA_CORRELATIONS) if isinstance(correlation, str) else _what(correlation)),
        )
    if "rho" in spec:
        _require(
            len(members) == 2,
            f"{where}.rho",
            f"rho is for exactly two members; with {len(members)} give the full matrix as corr = [[...], ...]",
        )
        rho = _to_float(spec["rho"], f"{where}.rho")
        _require(-1 < rho < 1, f"{where}.rho", f"must lie strictly between -1 and 1; got {_g(rho)}")
        matrix: Any = [[1.0, rho], [rho, 1.0]]
    else:
        matrix = spec["corr"]
    return GaussianCopula(members, np.asarray(_read_matrix(matrix, f"{where}.corr", len(members))), correlation, where=where)


def parse_joint(spec: Mapping[str, Any], *, where: str) -> JointSpec:
    """Read a joint distribution over a group of parameters from its TOML table.

    Accepted forms (``members`` are parameter names)::

        {type = "dirichlet", counts = {p_cs = 85, p_cr = 10, p_cu = 2}}
        {type = "dirichlet", alpha = [85, 10, 2], members = ["p_cs", "p_cr", "p_cu"]}
        {type = "mvnormal", members = [...], mean = [...], cov = [[...], ...]}
        {type = "mvnormal", members = [...], mean = [...], sd = [...], corr = [[...], ...]}
        {type = "copula", members = [...], corr = [[...], ...], correlation = "normal" | "spearman"}
        {type = "copula", members = ["a", "b"], rho = 0.4}

    Dirichlet and mvnormal members take their values from the joint
    distribution and have no distribution of their own; copula members must
    each have their own distribution (the copula only correlates them).

    Raises
    ------
    DistributionError
        With the key path, what was given and what would be valid.
    """
    spec = _check_table(spec, where, "a joint distribution", '{type = "dirichlet", counts = {a = 85, b = 10}}')
    type_ = _type_name(spec, where, JOINT_TYPES, "a joint distribution")
    _match_form(spec, where, type_, _JOINT_FORMS[type_])
    if type_ == "dirichlet":
        return _parse_dirichlet(spec, where)
    if type_ == "mvnormal":
        return _parse_mvnormal(spec, where)
    return _parse_copula(spec, where)


# --------------------------------------------------------------------------
# draws
# --------------------------------------------------------------------------
