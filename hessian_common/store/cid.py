"""Content identifiers: the CIDs Kubo gives, computed locally.

A blob is named the way ``ipfs add --cid-version=1 --raw-leaves`` names it (Kubo's defaults
otherwise: fixed-size chunker of 262144 bytes, balanced DAG layout, 174 links per node,
sha2-256):

- up to one chunk (``len(data) <= CHUNK_SIZE``, the empty blob included): a single raw block,
  ``CID = CIDv1(raw 0x55, sha2-256(data))``, base32 ``bafkrei...``;
- larger: the data is cut into chunks of ``CHUNK_SIZE`` bytes, each a raw leaf; leaves are
  grouped ``MAX_LINKS`` at a time under dag-pb nodes carrying UnixFS ``File`` metadata, level by
  level, until one root is left; ``CID = CIDv1(dag-pb 0x70, sha2-256(root block))``, base32
  ``bafybei...``.

The dag-pb and UnixFS messages are tiny protobufs, encoded here by hand in the canonical field
order Kubo writes them::

    PBNode   { Links = 2 (repeated PBLink) ; Data = 1 (bytes) }    links first, then data
    PBLink   { Hash = 1 (CID bytes) ; Name = 2 (string, "") ; Tsize = 3 (uint64) }
    UnixFS   { Type = 1 (File = 2) ; Data = 2 (bytes) ; filesize = 3 ; blocksizes = 4 (repeated) }

``Tsize`` of a link is the cumulative size of the sub-DAG: the child block's length plus the
``Tsize`` of all its links (for a raw leaf, just the chunk length).

Verification (:func:`verify`) recomputes the CID from the bytes with the same profile, so a blob
whose CID was made with another chunker or hash is refused rather than trusted.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from multiformats import CID as _CID
from multiformats import multihash

from hessian_common.errors import InvalidCID, StoreIntegrityError
from hessian_common.types import CID

CHUNK_SIZE = 262_144
"""Kubo's default chunk (``size-262144``); blobs up to this size are one raw block."""

MAX_LINKS = 174
"""Kubo's default links per dag-pb node in the balanced layout."""

RAW = 0x55
DAG_PB = 0x70


# --- protobuf, by hand --------------------------------------------------------------------


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _len_field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _int_field(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value)


def _unixfs_file(data: bytes | None, filesize: int, blocksizes: list[int]) -> bytes:
    """UnixFS ``Data`` message of type File (2); ``data`` omitted when ``None``."""
    out = _int_field(1, 2)
    if data:
        out += _len_field(2, data)
    out += _int_field(3, filesize)
    for size in blocksizes:
        out += _int_field(4, size)
    return out


@dataclass(frozen=True)
class _Node:
    """One block of the DAG as a parent sees it: its CID bytes, Tsize and file bytes below it."""

    cid: bytes
    tsize: int
    filesize: int


def _block_cid(codec: int, block: bytes, version: int) -> bytes:
    digest = multihash.wrap(hashlib.sha256(block).digest(), "sha2-256")
    if version == 0:
        return bytes(digest)
    return bytes(_varint(1) + _varint(codec) + digest)


def _leaf(chunk: bytes, raw_leaves: bool) -> _Node:
    if raw_leaves:
        return _Node(_block_cid(RAW, chunk, 1), len(chunk), len(chunk))
    block = _len_field(1, _unixfs_file(chunk, len(chunk), []))
    return _Node(_block_cid(DAG_PB, block, 0), len(block), len(chunk))


def _parent(children: list[_Node], version: int) -> _Node:
    links = b"".join(
        _len_field(2, _len_field(1, c.cid) + _len_field(2, b"") + _int_field(3, c.tsize))
        for c in children
    )
    filesize = sum(c.filesize for c in children)
    block = links + _len_field(1, _unixfs_file(None, filesize, [c.filesize for c in children]))
    tsize = len(block) + sum(c.tsize for c in children)
    return _Node(_block_cid(DAG_PB, block, version), tsize, filesize)


def _dag_root(data: bytes, raw_leaves: bool = True) -> bytes:
    """Binary CID of the root of Kubo's balanced UnixFS DAG over ``data``.

    ``raw_leaves=True`` is ``ipfs add --cid-version=1 --raw-leaves``; ``False`` is plain
    ``ipfs add`` (CIDv0 ``Qm...``, leaves wrapped in UnixFS), kept to check the DAG encoding
    against a Kubo that only offers its defaults.
    """
    view = memoryview(data)
    level = [
        _leaf(bytes(view[i : i + CHUNK_SIZE]), raw_leaves)
        for i in range(0, max(len(data), 1), CHUNK_SIZE)
    ]
    version = 1 if raw_leaves else 0
    while len(level) > 1:
        level = [
            _parent(level[i : i + MAX_LINKS], version) for i in range(0, len(level), MAX_LINKS)
        ]
    return level[0].cid


# --- public -------------------------------------------------------------------------------


def cid_of(data: bytes) -> CID:
    """The CID ``ipfs add --cid-version=1 --raw-leaves`` gives ``data``.

    Parameters
    ----------
    data : bytes
        The blob, any length.

    Returns
    -------
    CID
        base32 CIDv1: ``bafkrei...`` (raw) up to :data:`CHUNK_SIZE` bytes, ``bafybei...``
        (dag-pb root of the balanced DAG) above.

    Examples
    --------
    >>> cid_of(b"hello ipfs\\n")
    'bafkreid3yvacrpfyy4vl5imho46qghn5c3clq5vxhrqqvpzfxkdjm3i4g4'
    """
    return CID(str(_CID.decode(_dag_root(bytes(data))).set(base="base32")))


def cid_v0_of(data: bytes) -> str:
    """The CIDv0 plain ``ipfs add`` gives ``data`` (UnixFS leaves): a cross-check, not a name."""
    return str(_CID.decode(_dag_root(bytes(data), raw_leaves=False)))


def parse_cid(text: str) -> CID:
    """Check that ``text`` is a CID this store names blobs with; return it in canonical form.

    Accepted: CIDv1, codec raw or dag-pb, sha2-256 (any multibase; returned as base32).
    Raises :class:`InvalidCID` naming the text otherwise.
    """
    try:
        cid = _CID.decode(str(text).strip())
    except Exception as exc:  # multiformats raises several types for malformed input
        raise InvalidCID(f"not a CID: {text!r} ({exc})") from exc
    if cid.version != 1:
        raise InvalidCID(f"{text!r} is a CIDv0; Hessian names blobs with CIDv1 (bafk.../bafy...)")
    if cid.codec.code not in (RAW, DAG_PB) or cid.hashfun.name != "sha2-256":
        raise InvalidCID(
            f"{text!r} has codec {cid.codec.name} and hash {cid.hashfun.name}; "
            "expected raw or dag-pb with sha2-256"
        )
    return CID(str(cid.set(base="base32")))


def verify(cid: CID | str, data: bytes) -> bytes:
    """Return ``data`` if it hashes to ``cid``; raise :class:`StoreIntegrityError` otherwise.

    A raw CID is checked with one sha2-256 of the bytes; a dag-pb CID by rebuilding the DAG
    root (:func:`cid_of`) and comparing.
    """
    want = parse_cid(str(cid))
    got = cid_of(data)
    if got != want:
        raise StoreIntegrityError(
            f"content for {want} hashes to {got} ({len(data)} bytes): tampered or corrupted"
        )
    return data
