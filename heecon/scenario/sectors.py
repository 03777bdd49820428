"""The vocabulary of cost sectors: who pays for each (payer groups) and the names people read.

A scenario names its own sectors and perspectives; these are the defaults for the usual sectors of an English
public-sector evaluation (NHS, social care, criminal justice, victims).
"""

from __future__ import annotations

from typing import Mapping, Sequence

__all__ = ["PAYER_GROUPS", "SECTOR_LABELS", "payer_groups"]

#: Payers and the sectors whose costs they bear (sectors outside these form the payer "other").
PAYER_GROUPS: dict[str, tuple[str, ...]] = {
    "NHS/PSS": ("service", "nhs", "nhs_victims", "pss"),
    "Justice": ("police", "courts", "prisons", "probation"),
    "Victims": ("victims",),
}

#: Readable names of the usual sectors (others are shown by their name).
SECTOR_LABELS: dict[str, str] = {
    "service": "The service itself (NHS)",
    "nhs": "NHS",
    "nhs_victims": "NHS care of victims",
    "pss": "Personal social services",
    "police": "Police",
    "courts": "Courts",
    "prisons": "Prisons",
    "probation": "Probation",
    "victims": "Victims (harm to victims)",
    "personal": "Personal (out of pocket)",
    "other": "Other",
}


def payer_groups(sectors: Sequence[str], groups: Mapping[str, Sequence[str]] | None = None) -> dict[str, tuple[str, ...]]:
    """The payer groups restricted to the scenario's sectors (empty groups dropped; leftovers in "other")."""
    groups = PAYER_GROUPS if groups is None else groups
    out: dict[str, tuple[str, ...]] = {}
    used: set[str] = set()
    for name, secs in groups.items():
        present = tuple(s for s in secs if s in sectors)
        used.update(present)
        if present:
            out[name] = present
    rest = tuple(s for s in sectors if s not in used)
    if rest:
        out["Other" if "Other" not in out else "Other sectors"] = rest
    return out
