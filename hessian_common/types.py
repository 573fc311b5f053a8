"""Small domain types, after ``web3.types``: they cost nothing at run time and say what an
``int`` or ``str`` means."""

from __future__ import annotations

from typing import NewType

CID = NewType("CID", str)
"""An IPFS content identifier, CIDv1 base32 (``bafk...`` for raw blobs)."""

Ppm = NewType("Ppm", int)
"""A score or fraction in parts per million: 0.731 AUC == ``Ppm(731_000)``."""

Wei = NewType("Wei", int)
"""An amount of ether in wei (1 ETH == 10**18 wei)."""

PPM = 1_000_000
"""Parts per million in one."""


def to_ppm(x: float) -> Ppm:
    """Round a fraction in [0, 1] to parts per million."""
    return Ppm(round(float(x) * PPM))


def from_ppm(p: int) -> float:
    """Parts per million back to a fraction."""
    return p / PPM
