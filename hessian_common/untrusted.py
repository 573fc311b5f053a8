"""The one safe reader for bytes a stranger wrote: store blobs, uploads, sealed documents.

Every blob Hessian reads from the content store was written by somebody else — an update by any
data owner, a spec or policy by any lender, an application by any borrower, an audit transcript —
and publishing one costs next to nothing. So every such read goes through here, and a bad blob is
an error value (:class:`~hessian_common.errors.UntrustedBlobError`), never a crash:

1. **size first**: the store is asked for at most ``max_bytes`` (:meth:`ContentStore.get` with
   ``max_bytes``; Kubo stops reading there), so a huge blob is never loaded;
2. **nesting before parsing**: :func:`check_depth` scans the JSON's structural characters
   (``[ ] { }`` outside strings) and refuses more than ``max_depth`` levels *before*
   ``json.loads`` runs — CPython's C scanner recurses once per level, and web3 raises the
   interpreter's recursion limit to 100,000, so ~200 kB of ``[`` would overflow the C stack
   and kill the process (segmentation fault) before any ``RecursionError``;
3. **bounded values**: integers longer than ``MAX_INT_DIGITS`` digits, floats that overflow,
   ``NaN`` / ``Infinity``
   and strings longer than ``max_string`` are refused while parsing;
4. **domain bounds** (:data:`LIMITS`): Paillier key size, model dimension, number of rows in a
   test set — checked by the readers of each format (``learning.spec``, ``crypto.paillier``,
   ``lender.testset``) with :func:`check_bound`.

Reads from a local, trusted file (our own state directory) do not need this module.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hessian_common.errors import BlobTooLarge, InvalidCID, UntrustedBlobError

if TYPE_CHECKING:  # pragma: no cover
    from hessian_common.store.base import ContentStore

KiB = 1024
MiB = 1024 * KiB

MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays and objects any Hessian document needs (the spec's schema and
preprocessing are the deepest, at about 6)."""

MAX_INT_DIGITS = 80
"""Longest decimal integer in a JSON document (big integers such as Paillier moduli travel as
hex or base64 strings, never as JSON numbers)."""

MAX_STRING = 64 * MiB
"""Longest JSON string (ciphertext lists are arrays of short strings; this only stops a single
absurd string from being decoded twice)."""


@dataclass(frozen=True)
class Limits:
    """Domain bounds on what a stranger's blob may ask of the reader's CPU and memory.

    Attributes
    ----------
    min_key_bits, max_key_bits : int
        Paillier modulus size allowed in a spec (an owner computes ``d²`` products mod ``n²``:
        a 16,384-bit key would make an update ~60x slower than a 2048-bit one).
    max_dim : int
        Most weights a model may have (the update costs ``d²`` products).
    max_test_rows : int
        Most rows in a revealed test set.
    """

    min_key_bits: int = 256
    max_key_bits: int = 4096
    max_dim: int = 512
    max_test_rows: int = 2_000_000


LIMITS = Limits()

MAX_BYTES: dict[str, int] = {
    "spec": 16 * MiB,
    "model": 8 * MiB,
    "update": 8 * MiB,
    "application": 256 * KiB,
    "sealed application": 1 * MiB,
    "policy": 1 * MiB,
    "transcript": 256 * MiB,
    "test set": 512 * MiB,
    "json": 16 * MiB,
}
"""Largest blob of each kind the readers accept (a d = 512 update at 4096 bits is ~0.7 MiB)."""

_STRUCTURAL = re.compile(rb'[\[\]{}"\\]')


def check_depth(data: bytes, max_depth: int = MAX_JSON_DEPTH, what: str = "blob") -> None:
    """Refuse JSON nested deeper than ``max_depth`` without parsing it.

    Scans only the structural bytes (``[ ] { }``, quotes and backslashes), so a ciphertext
    blob of a few MB is checked in milliseconds; brackets inside strings do not count.

    Raises
    ------
    UntrustedBlobError
        More than ``max_depth`` levels.
    """
    depth = 0
    in_string = False
    escaped_at = -2
    for m in _STRUCTURAL.finditer(data):
        ch, pos = m.group(), m.start()
        if in_string:
            if ch == b"\\":
                # a backslash escapes the next byte, unless it is itself escaped
                escaped_at = pos if escaped_at != pos - 1 else -2
            elif ch == b'"' and escaped_at != pos - 1:
                in_string = False
            continue
        if ch == b'"':
            in_string = True
        elif ch in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                raise UntrustedBlobError(
                    f"{what}: JSON nested deeper than {max_depth} levels (refused before parsing)"
                )
        elif ch in (b"]", b"}"):
            depth -= 1


def _parse_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise ValueError(f"an integer of {digits} digits (at most {MAX_INT_DIGITS})")
    return int(text)


def _parse_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text[:20]} overflows a float")
    return value


def _parse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def loads(
    data: bytes | str,
    *,
    what: str = "blob",
    max_bytes: int | None = None,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """Parse untrusted JSON bytes safely (size, nesting, integers, NaN), see the module notes.

    Parameters
    ----------
    data : bytes or str
        The blob.
    what : str
        Named in the error (``"update blob bafk..."``).
    max_bytes : int, optional
        Default ``MAX_BYTES["json"]``.
    max_depth : int

    Raises
    ------
    UntrustedBlobError
        For anything that is not a well-formed, bounded JSON document.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    limit = MAX_BYTES["json"] if max_bytes is None else int(max_bytes)
    if len(raw) > limit:
        raise UntrustedBlobError(f"{what}: {len(raw):,} bytes, more than the {limit:,} allowed")
    check_depth(raw, max_depth, what)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UntrustedBlobError(
            f"{what}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        ) from None
    try:
        obj = json.loads(
            text, parse_int=_parse_int, parse_float=_parse_float, parse_constant=_parse_constant
        )
    except (ValueError, RecursionError) as exc:
        raise UntrustedBlobError(f"{what}: not valid JSON ({exc})") from None
    _check_strings(obj, what)
    return obj


def _check_strings(obj: Any, what: str) -> None:
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if len(item) > MAX_STRING:
                raise UntrustedBlobError(f"{what}: a string of {len(item):,} characters")
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def loads_object(data: bytes | str, *, what: str, max_bytes: int | None = None) -> dict:
    """:func:`loads`, and the document must be a JSON object."""
    obj = loads(data, what=what, max_bytes=max_bytes)
    if not isinstance(obj, dict):
        raise UntrustedBlobError(f"{what}: must be a JSON object, got {type(obj).__name__}")
    return obj


def fetch(store: ContentStore, cid: str, *, what: str, max_bytes: int | None = None) -> bytes:
    """Read at most ``max_bytes`` of ``cid`` from ``store`` (verified against the CID).

    A CID that is not a CID, or a blob over the limit, is the blob's fault:
    :class:`UntrustedBlobError`. ``BlobNotFound``, ``StoreUnavailable`` and
    ``StoreIntegrityError`` (the store's fault, or the network's) pass through, so a caller can
    tell "retry later" from "this blob is bad".
    """
    limit = MAX_BYTES["json"] if max_bytes is None else int(max_bytes)
    try:
        return store.get(cid, max_bytes=limit)
    except InvalidCID as exc:
        raise UntrustedBlobError(f"{what}: {exc}") from None
    except BlobTooLarge as exc:
        raise UntrustedBlobError(f"{what}: {exc}") from None


def fetch_json(
    store: ContentStore, cid: str, *, what: str, max_bytes: int | None = None
) -> Any:
    """:func:`fetch` then :func:`loads` (errors as there)."""
    label = f"{what} {cid}"
    data = fetch(store, cid, what=label, max_bytes=max_bytes)
    return loads(data, what=label, max_bytes=max_bytes)


@contextlib.contextmanager
def reading(what: str) -> Iterator[None]:
    """Turn any failure to read a stranger's document into :class:`UntrustedBlobError`.

    Wrap the parse-and-validate step of each untrusted format (``from_bytes``), so its callers
    need one ``except`` and a malformed document can never escape as another exception type
    (``TypeError`` from a field of the wrong type deep in a nested structure, say).
    """
    try:
        yield
    except UntrustedBlobError:
        raise
    except Exception as exc:  # any failure to read a stranger's bytes is the bytes' fault
        raise UntrustedBlobError(f"{what}: {exc}") from exc


def check_bound(value: Any, lo: int, hi: int, what: str) -> int:
    """``value`` as an int in ``[lo, hi]`` (bools refused), else :class:`UntrustedBlobError`."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise UntrustedBlobError(f"{what} must be an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise UntrustedBlobError(f"{what} is {value}, outside {lo}..{hi}")
    return value


__all__ = [
    "LIMITS",
    "MAX_BYTES",
    "MAX_INT_DIGITS",
    "MAX_JSON_DEPTH",
    "Limits",
    "check_bound",
    "check_depth",
    "fetch",
    "fetch_json",
    "loads",
    "loads_object",
    "reading",
]
