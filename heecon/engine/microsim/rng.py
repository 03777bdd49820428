"""Counter-based random numbers for the microsimulation kernel.

Every random number the microsimulation uses is a pure function of

    (seed, global sample, global individual, cycle, stream kind, index)

so results do not depend on how the work is split between threads, chunks,
processes or machines, and strategies can share random numbers (common random
numbers) simply by asking for the same counter.

Construction
------------
The generator is a keyed hash chain built from one 64-bit bijective mixer, the
finaliser of SplitMix64 (Steele, Lea & Flood 2014), which is David Stafford's
"Mix13" variant of the MurmurHash3 finaliser::

    mix(z):  z ^= z >> 30; z *= 0xbf58476d1ce4e5b9
             z ^= z >> 27; z *= 0x94d049bb133111eb
             z ^= z >> 31

Each level of the key absorbs one coordinate with ``h' = mix(h + mix(x + salt))``::

    k_seed   = mix(seed ^ SALT_SEED)
    k_sample = mix(k_seed   + mix(sample + SALT_SAMPLE))
    k_ind    = mix(k_sample + mix(individual + SALT_IND))
    bits     = mix(k_ind    + mix(pack(cycle, kind, index) + SALT_DRAW))
    u        = (bits >> 11) * 2**-53            # uniform on [0, 1), 53 bits

``pack(cycle, kind, index) = cycle << 32 | kind << 26 | index`` (cycle < 2**31,
kind < 64, index < 2**26) is injective, and ``mix`` is a bijection, so within
one individual no two draws ever share an input; across individuals the inputs
are unrelated 64-bit values (a coincidence has probability 2**-64 per pair).
The inner ``mix(pack + SALT_DRAW)`` depends on the counter only, so the kernel
precomputes it per cycle and a transition draw costs one ``mix`` (the reason
for this choice over Philox4x32-10, which was 1.7x slower in the FMH-6 kernel).
SplitMix64, i.e. ``mix`` applied to an arithmetic progression, passes
TestU01 BigCrush; the hash form is checked in ``tests/test_microsim_kernel.py``
(chi-square and Kolmogorov-Smirnov uniformity, no correlation between
neighbouring individuals, cycles, samples and seeds, balanced bits).

References
----------
Steele GL, Lea D, Flood CH. Fast splittable pseudorandom number generators.
OOPSLA 2014. doi:10.1145/2660193.2660195.
Salmon JK, Moraes MA, Dror RO, Shaw DE. Parallel random numbers: as easy as
1, 2, 3. SC 2011 (the counter-based design this module follows).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import uint64

__all__ = [
    "KIND_START",
    "KIND_TRANSITION",
    "KIND_EVENT_COUNT",
    "KIND_EVENT_MOVE",
    "KIND_ENG_PROPENSITY",
    "KIND_ENG_DROPOUT",
    "KIND_ENG_ATTEND",
    "mix64",
    "seed_key",
    "sample_key",
    "individual_key",
    "counter_constant",
    "draw_bits",
    "bits_to_uniform",
    "uniform",
    "uniforms_np",
]

# Stream kinds: the second coordinate of a draw's counter. Strategies are never
# part of the counter, so every strategy sees the same numbers.
KIND_START = 0  # cycle 0, index 0: the starting state
KIND_TRANSITION = 1  # cycle k, index 0: the move of cycle k
KIND_EVENT_COUNT = 2  # cycle k, index e + E * piece: count of event type e
KIND_EVENT_MOVE = 3  # cycle k, index e: does an occurrence of e move the person
KIND_ENG_PROPENSITY = 4  # cycle 0, index j: Beta(a, b) attendance propensity
KIND_ENG_DROPOUT = 5  # cycle k, index 0: dropout from treatment
KIND_ENG_ATTEND = 6  # cycle k, index 0/1: sessions attended

SALT_SEED = np.uint64(0x6A09E667F3BCC909)  # fractional parts of sqrt(2), sqrt(3), ...
SALT_SAMPLE = np.uint64(0xBB67AE8584CAA73B)
SALT_IND = np.uint64(0x3C6EF372FE94F82B)
SALT_DRAW = np.uint64(0xA54FF53A5F1D36F1)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_TWO_M53 = 1.0 / 9007199254740992.0

#: The hash, the keys and the draws are inlined into their callers (``inline="always"``): the general block calls
#: them several times a person-cycle, and as calls into another numba library they were 6.5% of the flagship
#: kernel's profile samples (benchmarks/profile_kernel.py, December 2026).
#: The GPU twins compile the same source (heecon.engine.microsim.twin).
#: The generator's functions the GPU kernels share (heecon.engine.microsim.twin compiles them for CUDA), so the
#: hash and the key salts exist once.
SHARED = ("mix64", "seed_key", "sample_key", "individual_key", "counter_constant", "draw_bits", "bits_to_uniform",
          "uniform")


@numba.njit(inline="always", cache=True)
def mix64(z):
    """SplitMix64 finaliser (Stafford Mix13): a bijection of uint64."""
    z = (z ^ (z >> uint64(30))) * uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> uint64(27))) * uint64(0x94D049BB133111EB)
    return z ^ (z >> uint64(31))


@numba.njit(cache=True)
def seed_key(seed):
    return mix64(uint64(seed) ^ uint64(0x6A09E667F3BCC909))


@numba.njit(cache=True)
def sample_key(k_seed, sample):
    return mix64(k_seed + mix64(uint64(sample) + uint64(0xBB67AE8584CAA73B)))


@numba.njit(inline="always", cache=True)
def individual_key(k_sample, individual):
    return mix64(k_sample + mix64(uint64(individual) + uint64(0x3C6EF372FE94F82B)))


@numba.njit(cache=True)
def counter_constant(cycle, kind, index):
    """``mix(pack(cycle, kind, index) + SALT_DRAW)``; depends on the counter only."""
    pack = (uint64(cycle) << uint64(32)) | (uint64(kind) << uint64(26)) | uint64(index)
    return mix64(pack + uint64(0xA54FF53A5F1D36F1))


@numba.njit(inline="always", cache=True)
def draw_bits(k_ind, const):
    return mix64(k_ind + const)


@numba.njit(inline="always", cache=True)
def bits_to_uniform(bits):
    return float(bits >> uint64(11)) * (1.0 / 9007199254740992.0)


@numba.njit(inline="always", cache=True)
def uniform(k_ind, cycle, kind, index):
    """Uniform on [0, 1) for one individual's counter (cycle, kind, index)."""
    return bits_to_uniform(draw_bits(k_ind, counter_constant(cycle, kind, index)))


# --- NumPy twin (used by the reference implementation and the tests) ---------


def _mix64_np(z: np.ndarray) -> np.ndarray:
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _add_np(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):
        return np.asarray(a, dtype=np.uint64) + np.asarray(b, dtype=np.uint64)


def individual_keys_np(seed: int, sample, individual) -> np.ndarray:
    """Keys of (global sample, global individual) pairs, broadcast; NumPy version."""
    k_seed = _mix64_np(np.uint64(seed) ^ SALT_SEED)
    smp = np.asarray(sample, dtype=np.int64).astype(np.uint64)
    k_sample = _mix64_np(_add_np(k_seed, _mix64_np(_add_np(smp, SALT_SAMPLE))))
    ind = np.asarray(individual, dtype=np.int64).astype(np.uint64)
    return _mix64_np(_add_np(k_sample, _mix64_np(_add_np(ind, SALT_IND))))


def uniforms_np(seed: int, sample, individual, cycle, kind, index) -> np.ndarray:
    """Vectorised NumPy twin of :func:`uniform` (all arguments broadcast)."""
    k_ind = individual_keys_np(seed, sample, individual)
    pack = (
        (np.asarray(cycle, dtype=np.int64).astype(np.uint64) << np.uint64(32))
        | (np.asarray(kind, dtype=np.int64).astype(np.uint64) << np.uint64(26))
        | np.asarray(index, dtype=np.int64).astype(np.uint64)
    )
    const = _mix64_np(_add_np(pack, SALT_DRAW))
    bits = _mix64_np(_add_np(k_ind, const))
    return (bits >> np.uint64(11)).astype(np.float64) * _TWO_M53
