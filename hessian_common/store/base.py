"""The one interface every content store offers, and canonical JSON."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any

from hessian_common.errors import StoreError
from hessian_common.types import CID
from hessian_common.untrusted import fetch_json


def canonical_json(obj: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, compact separators, UTF-8, no NaN/Infinity.

    Equal objects give equal bytes, hence equal CIDs, whoever serialises them.
    Raises :class:`StoreError` for objects JSON cannot hold.
    """
    try:
        text = json.dumps(
            obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError) as exc:
        raise StoreError(f"cannot store as canonical JSON: {exc}") from exc
    return text.encode("utf-8")


class ContentStore(ABC):
    """A content-addressed blob store named by IPFS CIDs (see :mod:`hessian_common.store.cid`).

    Backends implement :meth:`put`, :meth:`get`, :meth:`has` and :meth:`pin`; the JSON helpers
    are built on them. Every :meth:`get` re-hashes the bytes it returns: content that does not
    match its CID raises :class:`~hessian_common.errors.StoreIntegrityError`, never reaches the
    caller.
    """

    @abstractmethod
    def put(self, data: bytes) -> CID:
        """Store ``data`` (kept until removed by hand) and return its CID.

        Idempotent: putting the same bytes again returns the same CID.
        Raises ``StoreUnavailable`` if the store cannot be reached or written; nothing is
        half-written.
        """

    @abstractmethod
    def get(self, cid: CID | str, max_bytes: int | None = None) -> bytes:
        """The bytes named ``cid``, verified against it.

        ``max_bytes``: refuse (``BlobTooLarge``) a blob larger than this without reading it
        all — the first line of :mod:`hessian_common.untrusted`.

        Raises ``InvalidCID`` (bad CID text), ``BlobNotFound``, ``BlobTooLarge``,
        ``StoreIntegrityError`` (bytes do not hash to ``cid``) or ``StoreUnavailable``.
        """

    @abstractmethod
    def has(self, cid: CID | str) -> bool:
        """Whether this store holds ``cid`` locally (does not fetch; does not verify)."""

    @abstractmethod
    def pin(self, cid: CID | str) -> None:
        """Record that ``cid`` must be kept. Raises ``BlobNotFound`` if it is not held."""

    def put_json(self, obj: Any) -> CID:
        """Store ``obj`` as :func:`canonical_json` and return its CID."""
        return self.put(canonical_json(obj))

    def get_json(self, cid: CID | str, max_bytes: int | None = None) -> Any:
        """Fetch, verify and parse a JSON blob through the safe reader
        (:func:`hessian_common.untrusted.fetch_json`): ``UntrustedBlobError`` if it is too
        large, too deep or not JSON."""
        return fetch_json(self, str(cid), what="blob", max_bytes=max_bytes)
