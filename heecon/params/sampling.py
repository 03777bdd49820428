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
from collections.abc import Mapping as MappingABC
from types import MappingProxyType
from typing import Any, Iterator, Mapping, Sequence

import numpy as np

from .distributions import Distribution, DistributionError
from .checks import _check_n, _suggest, _what
from .empirical import Empirical
from .joints import GaussianCopula, JointSpec

__all__ = [
    "STREAMS",
    "Draws",
    "draw_parameters",
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
