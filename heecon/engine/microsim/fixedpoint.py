"""Exact, order-independent sums of float64 values (fixed point in two int64 limbs).

A value ``v`` (first multiplied by ``2**-shift``, which is exact) is split into
``floor(v)`` and the fraction ``f = v - floor(v)`` (exact in binary floating
point); ``f`` is rounded to ``FRAC_BITS = 40`` bits. The accumulator keeps

    hi = sum of floor parts         (int64)
    lo = sum of fraction parts      (int64, units of 2**-40)

Integer addition is associative, so any order of adding individuals, threads or
chunks gives the same ``(hi, lo)`` and, after :func:`normalise` (carry ``lo``
into ``hi`` so that ``0 <= lo < 2**40``), the same float64 result bit for bit.

Range and resolution (per accumulator; documented in docs/microsim-kernel.md):

* shift 0 (sums of totals, per-cycle rewards): resolution 2**-40 ~ 9.1e-13 per
  value, ``|sum of floor(v)| < 2**63 ~ 9.2e18``;
* shift 16 (sums of squares): resolution 2**-24 ~ 6.0e-8 per value,
  ``sum of v**2 < 2**79 ~ 6.0e23``;
* at most 2**22 values added to one ``lo`` before normalising (the kernel
  normalises each block of individuals, and blocks are capped at 2**22).
Values must be finite.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from heecon.engine.microsim.step import mul

__all__ = ["FRAC_BITS", "FX_SCALE", "SHIFT_SUM", "SHIFT_SQ", "SQ_SCALE", "N_ACC", "MAX_BLOCK", "fx_limbs", "fx_add",
           "normalise", "fx_to_float", "fx_combine"]

FRAC_BITS = 40
SHIFT_SUM = 0
SHIFT_SQ = 16
FX_SCALE = float(2**FRAC_BITS)  #: one unit of ``lo``
SQ_SCALE = 2.0**-SHIFT_SQ  #: squares are accumulated times this (shift 16)
N_ACC = 6  #: accumulators per (strategy, reward, discounting) of a kernel: (sum, sq, dsq) x (hi, lo)
#: Largest block of individuals accumulated before a carry (each ``lo`` then holds at most 2**22 fractions).
MAX_BLOCK = 1 << 22
_MASK = (1 << FRAC_BITS) - 1

#: Shared with the GPU kernels (heecon.engine.microsim.twin compiles it for CUDA).
SHARED = ("fx_limbs",)


@numba.njit(inline="always", cache=True)
def fx_limbs(v):
    """The limbs of ``v``: (floor(v), its fraction rounded to 2**-40 in units of 2**-40), both int64."""
    fl = math.floor(v)
    return np.int64(fl), np.int64(mul(v - fl, FX_SCALE) + 0.5)


@numba.njit(inline="always", cache=True)
def fx_add(acc, pos, v):
    """Add ``v`` to the accumulator ``acc[pos]`` (hi), ``acc[pos + 1]`` (lo)."""
    hi, lo = fx_limbs(v)
    acc[pos] += hi
    acc[pos + 1] += lo


@numba.njit(cache=True)
def normalise(acc):
    """Carry ``lo`` into ``hi`` for a flat array of (hi, lo) pairs, in place."""
    for p in range(0, acc.size, 2):
        lo = acc[p + 1]
        acc[p] += lo >> FRAC_BITS
        acc[p + 1] = lo & _MASK


def fx_to_float(acc: np.ndarray, shift: int) -> np.ndarray:
    """float64 values of normalised accumulators ``acc[..., 2]`` (hi, lo) scaled by ``2**shift``."""
    hi = acc[..., 0].astype(np.float64)
    lo = acc[..., 1].astype(np.float64) / FX_SCALE
    return (hi + lo) * float(2**shift)


def fx_combine(*accs: np.ndarray) -> np.ndarray:
    """Exact sum of several accumulator arrays of the same shape ``[..., 2]``; normalised."""
    out = np.zeros_like(accs[0])
    for a in accs:
        out += a
    flat = out.reshape(-1)
    normalise(flat)
    return out
