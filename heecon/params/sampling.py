"""Random streams, joint distributions and PSA draws.

Streams
-------
Every random number of a run comes from one ``numpy.random.SeedSequence``
built from the scenario seed. Each purpose has a fixed index (:data:`STREAMS`:
``psa`` 0, ``dsa`` 1, ``gsa`` 2, ``population`` 3; new purposes get new
indices, existing ones are never renumbered), and within a purpose every
parameter gets its own stream keyed by a stable hash of its name::

    SeedSequence(entropy=seed, spawn_key=(purpose, kind, h0, h1))

where ``kind`` is 0 for a parameter, 1 for a joint group (keyed by its
member names) and 2 for the rows of an empirical file (keyed by the file's
content), and ``(h0, h1)`` are the two 32-bit halves of the 64-bit BLAKE2b
digest of that key. (A ``spawn_key`` is what ``SeedSequence.spawn`` itself
appends, so ``stream_seed(seed, "psa")`` equals ``SeedSequence(seed).spawn(1)[0]``.)
Consequences, pinned by the tests:

* a parameter's draws depend only on the seed, the purpose, its name, its
  distribution and the number of draws: adding, removing or reordering
  other parameters leaves them bit-identical;
* sampling is by inversion of ``rng.random`` values, so the first ``n``
  draws of a run with more samples are the draws of a run with ``n``;
* ``seed = 0`` is a seed like any other; there is no "no seed" value.

Python's ``hash()`` is salted per process and is never used.
"""

from __future__ import annotations

import hashlib
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Iterator, Mapping, Sequence

import numpy as np
from scipy import special

from .distributions import (
    Beta,
    Distribution,
    DistributionError,
    Empirical,
    Normal,
    _check_n,
    _check_rng,
    _check_table,
    _fmt,
    _Form,
    _g,
    _match_form,
    _require,
    _suggest,
    _to_float,
    _type_name,
    _uniforms,
    _what,
)

__all__ = [
    "JOINT_TYPES",
    "STREAMS",
    "Dirichlet",
    "Draws",
    "GaussianCopula",
    "JointSpec",
    "MultivariateNormal",
    "check_correlation_matrix",
    "draw_parameters",
    "parse_joint",
    "salib_problem",
    "stream_rng",
    "stream_seed",
    "validate_joints",
]

#: Fixed child-stream index per purpose. Append new purposes; never renumber.
STREAMS: Mapping[str, int] = MappingProxyType({"psa": 0, "dsa": 1, "gsa": 2, "population": 3})

_KIND_PARAMETER = 0
_KIND_GROUP = 1
_KIND_FILE = 2


# --------------------------------------------------------------------------
# streams
# --------------------------------------------------------------------------


def _key_words(text: str) -> tuple[int, int]:
    """Two 32-bit words of the 64-bit BLAKE2b digest of ``text`` (stable across runs and machines)."""
    digest = int.from_bytes(hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")
    return digest & 0xFFFFFFFF, digest >> 32


def _root(seed: Any) -> tuple[Any, tuple[int, ...], int]:
    """(entropy, spawn_key prefix, pool_size) of a seed given as int or SeedSequence."""
    if isinstance(seed, np.random.SeedSequence):
        return seed.entropy, tuple(seed.spawn_key), seed.pool_size
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            "seed must be a non-negative integer or a numpy.random.SeedSequence; "
            f"got {_what(seed)}. To draw a fresh seed, record numpy.random.SeedSequence().entropy and pass it."
        )
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer; got {seed}.")
    return int(seed), (), 4


def _purpose(stream: Any) -> int:
    if not isinstance(stream, str) or stream not in STREAMS:
        shown = stream if isinstance(stream, str) else _what(stream)
        raise ValueError(
            f"Unknown stream {shown!r}{_suggest(str(shown), list(STREAMS))}; valid streams are {', '.join(STREAMS)}."
        )
    return STREAMS[stream]


def _seed_sequence(seed: Any, stream: str, kind: int | None = None, key: str | None = None) -> np.random.SeedSequence:
    entropy, prefix, pool_size = _root(seed)
    spawn_key = prefix + (_purpose(stream),)
    if kind is not None and key is not None:
        spawn_key += (kind, *_key_words(key))
    return np.random.SeedSequence(entropy=entropy, spawn_key=spawn_key, pool_size=pool_size)


def stream_seed(seed: int | np.random.SeedSequence, stream: str = "psa", name: str | None = None) -> np.random.SeedSequence:
    """The ``SeedSequence`` of one purpose, or of one named parameter within it.

    Parameters
    ----------
    seed : int or numpy.random.SeedSequence
        The run's seed (>= 0; 0 is valid). A SeedSequence keeps its own
        spawn key as a prefix.
    stream : {"psa", "dsa", "gsa", "population"}
        Purpose; each has a fixed child index (:data:`STREAMS`).
    name : str, optional
        A parameter name. Without it, the purpose's own sequence, which
        other modules may ``spawn`` or ``generate_state`` from (for example
        the key of a counter-based generator in a kernel).
    """
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str; got {_what(name)}.")
    return _seed_sequence(seed, stream, _KIND_PARAMETER if name is not None else None, name)


def stream_rng(seed: int | np.random.SeedSequence, stream: str = "psa", name: str | None = None) -> np.random.Generator:
    """A ``numpy.random.Generator`` (PCG64) on :func:`stream_seed`."""
    return np.random.Generator(np.random.PCG64(stream_seed(seed, stream, name)))


def _rng(seed: Any, stream: str, kind: int, key: str) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(_seed_sequence(seed, stream, kind, key)))


# --------------------------------------------------------------------------
# matrices
# --------------------------------------------------------------------------


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


class Draws(MappingABC):
    """PSA draws: ``values[i, j]`` is sample ``i`` of parameter ``names[j]``.

    A read-only mapping from parameter name to its column of draws, plus the
    ``(n, p)`` array for the model compiler, and the seed and stream that
    produced it (for ``summary.json``).
    """

    def __init__(self, names: Sequence[str], values: np.ndarray, *, seed: Any = None, stream: str = "psa") -> None:
        values = np.array(values, dtype=float, order="C")
        names = tuple(names)
        if values.ndim != 2 or values.shape[1] != len(names):
            raise ValueError(f"values must have shape (n, {len(names)}); got {values.shape}.")
        if len(set(names)) != len(names):
            raise ValueError("Parameter names must be unique.")
        values.setflags(write=False)
        self._names = names
        self._values = values
        self._index = {name: j for j, name in enumerate(names)}
        self.seed = seed
        self.stream = stream

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names, in column order."""
        return self._names

    @property
    def values(self) -> np.ndarray:
        """Read-only float64 array of shape ``(n_samples, n_parameters)``."""
        return self._values

    @property
    def n(self) -> int:
        """Number of samples (rows)."""
        return int(self._values.shape[0])

    def __getitem__(self, name: str) -> np.ndarray:
        try:
            return self._values[:, self._index[name]]
        except KeyError:
            raise KeyError(f"No parameter {name!r}{_suggest(str(name), self._names)}.") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Draws):
            return NotImplemented
        return self._names == other._names and np.array_equal(self._values, other._values)

    __hash__ = None  # type: ignore[assignment]

    def to_frame(self) -> Any:
        """A pandas DataFrame, one column per parameter, index ``sample``."""
        import pandas as pd

        return pd.DataFrame(self._values.copy(), columns=list(self._names), index=pd.RangeIndex(self.n, name="sample"))

    def __repr__(self) -> str:
        shown = ", ".join(self._names[:6]) + (", ..." if len(self._names) > 6 else "")
        return f"Draws(n={self.n}, parameters=[{shown}], stream={self.stream!r})"


def validate_joints(marginals: Mapping[str, Distribution], joints: Sequence[JointSpec]) -> None:
    """Check that marginals and joint distributions fit together.

    A parameter belongs to at most one joint distribution; dirichlet and
    mvnormal members have no distribution of their own; copula members do,
    and it is not fixed.

    Raises
    ------
    DistributionError
        Naming the joint distribution's ``members`` key path.
    """
    for name, dist in marginals.items():
        if not isinstance(name, str) or not name:
            raise TypeError(f"Parameter names must be non-empty str; got {name!r}.")
        if not isinstance(dist, Distribution):
            raise TypeError(f"The distribution of {name!r} must be a Distribution; got {type(dist).__name__}.")
    owner: dict[str, JointSpec] = {}
    for joint in joints:
        if not isinstance(joint, JointSpec):
            raise TypeError(f"joints must hold JointSpec objects; got {type(joint).__name__}.")
        where = f"{joint._where()}.members"
        for m in joint.members:
            if m in owner:
                raise DistributionError(
                    where, f"{m!r} is already a member of {owner[m].describe()} ({owner[m]._where()}); a parameter belongs to one joint distribution at most"
                )
            owner[m] = joint
            if isinstance(joint, GaussianCopula):
                if m not in marginals:
                    raise DistributionError(
                        where,
                        f"{m!r} has no distribution of its own; a copula correlates parameters that each have one"
                        + _suggest(m, list(marginals)),
                    )
                if marginals[m].is_fixed:
                    raise DistributionError(where, f"{m!r} has a fixed value, so it cannot be correlated with anything")
            elif m in marginals:
                raise DistributionError(
                    where,
                    f"{m!r} has its own distribution ({marginals[m].describe()}, {marginals[m]._where()}) and is also a "
                    f"member of this {joint.type}, which sets its value; remove one of the two",
                )


def draw_parameters(
    marginals: Mapping[str, Distribution],
    joints: Sequence[JointSpec] | None,
    n: int,
    seed: int | np.random.SeedSequence,
    stream: str = "psa",
) -> Draws:
    """Draw ``n`` samples of every parameter.

    Parameters
    ----------
    marginals : mapping of str to Distribution
        Each parameter's own distribution (copula members included).
    joints : sequence of JointSpec, optional
        Dirichlet, multivariate normal and copula groups.
    n : int
        Number of samples.
    seed : int or numpy.random.SeedSequence
        The run's seed; 0 is a valid seed.
    stream : {"psa", "dsa", "gsa", "population"}
        Purpose (see :data:`STREAMS`).

    Returns
    -------
    Draws
        Columns in the order of ``marginals``, then the members of dirichlet
        and mvnormal groups in the order of ``joints``.

    Notes
    -----
    Every parameter draws from its own stream, keyed by its name; a joint
    group from one keyed by its member names; empirical distributions from
    one keyed by their file's content, so all columns of one file take the
    same rows. Adding or removing a parameter therefore leaves the draws of
    every other parameter bit-identical.
    """
    n = _check_n(n)
    _root(seed)
    _purpose(stream)
    joints = tuple(joints or ())
    validate_joints(marginals, joints)
    in_copula = {m for j in joints if isinstance(j, GaussianCopula) for m in j.members}
    columns: dict[str, np.ndarray] = {}
    with np.errstate(all="ignore"):
        for name, dist in marginals.items():
            if name in in_copula:
                continue
            if isinstance(dist, Empirical):
                rng = _rng(seed, stream, _KIND_FILE, dist.digest)
            else:
                rng = _rng(seed, stream, _KIND_PARAMETER, name)
            columns[name] = dist.sample(rng, n)
        for joint in joints:
            rng = _rng(seed, stream, _KIND_GROUP, "\x1f".join(joint.members))
            if isinstance(joint, GaussianCopula):
                block = joint.sample(rng, n, [marginals[m] for m in joint.members])
            else:
                block = joint.sample(rng, n)  # type: ignore[attr-defined]
            for j, m in enumerate(joint.members):
                columns[m] = block[:, j]
    names = list(marginals) + [m for j in joints if not isinstance(j, GaussianCopula) for m in j.members]
    values = np.empty((n, len(names)))
    for j, name in enumerate(names):
        values[:, j] = columns[name]
    entropy, _, _ = _root(seed)
    return Draws(names, values, seed=entropy, stream=stream)


def salib_problem(marginals: Mapping[str, Distribution]) -> dict[str, Any]:
    """A SALib problem description (``num_vars``, ``names``, ``bounds``, ``dists``).

    Fixed parameters are left out. Distributions SALib has no name for
    (beta, gamma, empirical, some triangulars) become uniforms over their
    0.1%-99.9% range (see :class:`~heecon.params.distributions.SalibEntry`);
    for exact marginals build the problem with ``unif`` [0, 1] and map the
    samples through :meth:`Distribution.ppf`.
    """
    names, bounds, dists = [], [], []
    for name, dist in marginals.items():
        if dist.is_fixed:
            continue
        entry = dist.salib()
        names.append(name)
        bounds.append(list(entry.bounds))
        dists.append(entry.dist)
    return {"num_vars": len(names), "names": names, "bounds": bounds, "dists": dists}
