"""Small domain types, after ``web3.types``: they cost nothing at run time and say what an
``int`` or ``str`` means."""

from __future__ import annotations

from typing import Any, NewType

from hessian_common.errors import DataError, HessianError

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


def enum_name(value: Any) -> str:
    """``SubmissionStatus.WAITING`` -> ``"waiting"``: an enum member's name in lower case (a
    plain value as text), the one reading of enum names for pages, summaries and JSON."""
    return getattr(value, "name", str(value)).lower()


def bytes32(
    value: bytes | str, what: str = "digest", error: type[HessianError] = DataError
) -> bytes:
    """A 32-byte value (a digest, a key) from bytes or hex text (``0x`` optional, any case).

    The one reading of the digests the contracts index (dataset digests, application digests,
    application keys). Raises ``error`` (a :class:`~hessian_common.errors.HessianError`
    subclass; ``DataError`` by default) naming ``what`` when it is not hex or not 32 bytes.
    """
    if isinstance(value, bytes | bytearray):
        raw = bytes(value)
    else:
        try:
            raw = bytes.fromhex(str(value).strip().lower().removeprefix("0x"))
        except ValueError:
            raise error(f"{what} {value!r} is not hex") from None
    if len(raw) != 32:
        raise error(f"{what} must be 32 bytes, got {len(raw)}")
    return raw


def hex32(value: bytes | str, what: str = "digest", error: type[HessianError] = DataError) -> str:
    """:func:`bytes32` as lower-case ``0x`` hex (how journals and blobs keep a digest)."""
    return "0x" + bytes32(value, what, error).hex()
