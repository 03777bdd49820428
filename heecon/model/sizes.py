"""Sizes of the arrays that grow with a scenario's input, estimated before they are allocated.

A scenario can ask for more memory than a machine has in many ways: a billion individuals
(``settings.individuals``), ten million stored trajectories, a 100,000-cycle horizon with expressions of ``age``
(one transition matrix per cycle), long tunnel states (one row per tunnel cycle). NumPy then fails part-way (or the
operating system kills the process). Each place that allocates such arrays estimates them first with the helpers
here and raises :class:`MemoryLimitError`, whose message says what needs the memory and what to change, when the
estimate exceeds the memory available. The PSA's chunks have their own, fuller estimate
(:mod:`heecon.execution.memory`), which uses the same figure for the memory available.

The memory available is ``psutil.virtual_memory().available`` (or ``MemAvailable`` from /proc/meminfo), or
``HEECON_MEMORY_LIMIT_MB`` when set; ``HEECON_MEMORY_GUARD=0`` turns every check off.
"""

from __future__ import annotations

import os
from typing import Iterable, Mapping

__all__ = ["MemoryLimitError", "available_memory", "fmt_bytes", "check_allocation", "guard_enabled", "ENV_LIMIT",
           "ENV_GUARD", "COMPILE_FACTOR", "MiB"]

ENV_LIMIT = "HEECON_MEMORY_LIMIT_MB"
ENV_GUARD = "HEECON_MEMORY_GUARD"
MiB = 2**20
#: peak of the scenario compiler relative to the arrays it returns (temporaries of expression evaluation,
#: stacking per strategy and segment); measured 4.3 on FMH-6 with 10,000 samples per chunk
COMPILE_FACTOR = 4.5


class MemoryLimitError(RuntimeError):
    """An allocation that grows with the input would exceed the memory available (the message says what to change).

    Attributes
    ----------
    needed, available
        The estimate and the memory available, in bytes.
    """

    def __init__(self, message: str, needed: int, available: int):
        super().__init__(message)
        self.needed = needed
        self.available = available


def fmt_bytes(b: float) -> str:
    """``1.5 GiB``, ``300.0 MiB``, ``12 B``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if abs(b) >= size:
            return f"{b / size:,.1f} {unit}"
    return f"{int(b)} B"


def guard_enabled() -> bool:
    """False when ``HEECON_MEMORY_GUARD`` is 0 (or false, no, off)."""
    return os.environ.get(ENV_GUARD, "1").strip().lower() not in ("0", "false", "no", "off")


def available_memory(limit_mb: float | None = None) -> tuple[int | None, str]:
    """Bytes a run may use and where the figure comes from (None if it cannot be found)."""
    if limit_mb is not None:
        return int(float(limit_mb) * MiB), "the memory limit given"
    env = os.environ.get(ENV_LIMIT)
    if env:
        try:
            return int(float(env) * MiB), f"{ENV_LIMIT}={env}"
        except ValueError:
            raise ValueError(f"{ENV_LIMIT} must be a number of megabytes. Got {env!r}.") from None
    try:
        import psutil

        return int(psutil.virtual_memory().available), "memory available now"
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024, "memory available now (/proc/meminfo)"
    except OSError:
        pass
    return None, "unknown"


def check_allocation(parts: Mapping[str, float], what: str, tips: Iterable[str] = (),
                     limit_mb: float | None = None) -> None:
    """Raise :class:`MemoryLimitError` when the arrays in ``parts`` (name -> bytes) would not fit in memory.

    Parameters
    ----------
    parts
        What will be allocated, with its estimated size in bytes.
    what
        What they are for, e.g. "to simulate 1,000,000,000 individuals".
    tips
        What to change, one line each.
    """
    if not guard_enabled():
        return
    need = int(sum(parts.values()))
    if need < 64 * MiB:  # never worth a look at the machine
        return
    avail, source = available_memory(limit_mb)
    if avail is None or need <= avail:
        return
    shown = ", ".join(f"{k} {fmt_bytes(v)}" for k, v in parts.items() if v >= MiB)
    lines = [f"Not enough memory {what}: the arrays it needs come to about {fmt_bytes(need)} ({shown}), but "
             f"{fmt_bytes(avail)} is available ({source})."]
    tips = list(tips)
    if tips:
        lines.append("Try:")
        lines += [f"  - {t}" for t in tips]
    lines.append(f"(Set {ENV_LIMIT} to change the figure compared with, or {ENV_GUARD}=0 to skip this check.)")
    raise MemoryLimitError("\n".join(lines), need, avail)
