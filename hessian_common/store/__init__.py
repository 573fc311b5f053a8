"""Content store: blobs named by real IPFS CIDs, verified on every read.

Face (see ``docs/architecture.md``): :class:`ContentStore` with ``put``/``get``/``has``/``pin``/
``put_json``/``get_json``; :class:`EmbeddedStore` (default, a directory), :class:`KuboStore`
(Kubo HTTP RPC); :func:`open_store` picks one from the settings; :func:`cid_of` names bytes.
"""

from __future__ import annotations

from hessian_common.config import Settings
from hessian_common.errors import InvalidCID
from hessian_common.store.base import ContentStore, canonical_json
from hessian_common.store.cid import CHUNK_SIZE, cid_of, parse_cid, verify
from hessian_common.store.embedded import EmbeddedStore
from hessian_common.store.kubo import KuboStore

__all__ = [
    "CHUNK_SIZE",
    "ContentStore",
    "EmbeddedStore",
    "InvalidCID",
    "KuboStore",
    "canonical_json",
    "cid_of",
    "open_store",
    "parse_cid",
    "verify",
]


def open_store(settings: Settings, timeout: float = 30.0) -> ContentStore:
    """The store the settings name: ``settings.store`` is ``"embedded"`` (a directory,
    ``settings.store_dir``) or ``"kubo"`` (``settings.kubo_url``; ``timeout`` seconds per
    request). Nothing else changes between the two."""
    if settings.store == "kubo":
        return KuboStore(settings.kubo_url, timeout=timeout)
    return EmbeddedStore(settings.store_dir or settings.home / "store")
