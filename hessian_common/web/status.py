"""The status bar on every page: is the chain reachable (chain id, block)? Is the store?

A probe never raises: a failure becomes ``ok=False`` with a short reason in words, so a page
can always render and tell the user what is down. A node reached over HTTP is probed with one
short request (:func:`hessian_common.chain.outage.probe_rpc`, ``PROBE_TIMEOUT`` seconds), so a
hung node costs the page about two seconds, not a request timeout per read.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from flask import current_app
from web3 import Web3

from hessian_common.chain.client import node_url
from hessian_common.chain.outage import PROBE_TIMEOUT, is_http, probe_rpc
from hessian_common.store import cid_of
from hessian_common.store.base import ContentStore

Web3Source = Web3 | Callable[[], Web3]
"""A node, or a factory building one (called only when the node is asked)."""
StoreSource = ContentStore | Callable[[], ContentStore]
"""A content store, or a factory building one."""

CHAIN_NAMES = {
    1: "Ethereum mainnet",
    11155111: "Sepolia",
    17000: "Holesky",
    1337: "local",
    31337: "local (anvil)",
    131277322940537: "eth-tester",
}


@dataclass(frozen=True)
class ChainStatus:
    """Result of probing the JSON-RPC endpoint."""

    ok: bool
    url: str = ""
    chain_id: int | None = None
    block: int | None = None
    error: str | None = None
    last_block: int | None = None
    """While down: the last block the app saw (``None`` if it never saw one)."""
    last_ok_at: float | None = None
    """While down: when the node last answered (``time.time()``)."""

    @property
    def name(self) -> str:
        """A human name for the chain id (``"local"`` for Ganache's 1337)."""
        if self.chain_id is None:
            return "unknown"
        return CHAIN_NAMES.get(self.chain_id, f"chain {self.chain_id}")


@dataclass(frozen=True)
class StoreStatus:
    """Result of probing the content store."""

    ok: bool
    kind: str = ""
    error: str | None = None


@dataclass(frozen=True)
class Status:
    """Both probes plus when they ran (``time.time()``)."""

    chain: ChainStatus
    store: StoreStatus
    checked_at: float = field(default_factory=time.time)

    @property
    def ok(self) -> bool:
        """True when both the chain and the store answer."""
        return self.chain.ok and self.store.ok

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for ``/_web/status``)."""
        return {**asdict(self), "ok": self.ok, "chain_name": self.chain.name}


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def probe_chain(
    w3: Web3Source | None, url: str = "", timeout: float | None = None
) -> ChainStatus:
    """Ask the node for its chain id and block number.

    ``w3`` is a ``Web3`` or a callable returning one (it may raise ``ChainUnavailable``).
    A node reached over HTTP (a ``Web3`` on an HTTP provider, or a factory with ``url``
    given) is asked with one request of at most ``timeout`` seconds (default
    ``PROBE_TIMEOUT``), without building a connection; the in-process eth-tester through web3.
    """
    if w3 is None:
        return ChainStatus(ok=False, url=url, error="no chain configured")
    wait = PROBE_TIMEOUT if timeout is None else timeout
    try:
        ready = hasattr(w3, "eth")
        if ready and is_http(w3):
            url = node_url(w3)
        if (ready and is_http(w3)) or (not ready and url):
            found = probe_rpc(url, wait)
            return ChainStatus(ok=True, url=url, chain_id=found.chain_id, block=found.block)
        web3 = w3 if ready else w3()
        return ChainStatus(
            ok=True, url=url, chain_id=int(web3.eth.chain_id), block=int(web3.eth.block_number)
        )
    except Exception as exc:  # a probe reports, never raises
        return ChainStatus(ok=False, url=url, error=_reason(exc))


def probe_store(store: StoreSource | None) -> StoreStatus:
    """Check the content store answers (``ping()`` if it has one, else a ``has()`` lookup)."""
    if store is None:
        return StoreStatus(ok=False, error="no store configured")
    try:
        st = store() if callable(store) and not hasattr(store, "get") else store
        kind = type(st).__name__
        ping = getattr(st, "ping", None)
        if callable(ping):
            ping()
        else:

            st.has(cid_of(b"hessian status probe"))
        return StoreStatus(ok=True, kind=kind)
    except Exception as exc:  # a probe reports, never raises
        return StoreStatus(ok=False, kind=type(store).__name__, error=_reason(exc))


def probe_status(
    w3: Web3Source | None, store: StoreSource | None, url: str = ""
) -> Status:
    """Probe the chain and the store; see :class:`Status`."""
    return Status(chain=probe_chain(w3, url), store=probe_store(store))


def current_status() -> Status:
    """The app's status, probed at most every ``HESSIAN_STATUS_TTL`` seconds (default 2).

    While the chain is down the status also carries the last block seen and when the node
    last answered (``ChainStatus.last_block`` / ``last_ok_at``), for the "last known" banner.
    """
    app = current_app
    cache = app.extensions.setdefault("hessian_status_cache", {})
    ttl = float(app.config.get("HESSIAN_STATUS_TTL", 2.0))
    with cache.setdefault("lock", threading.Lock()):
        cached = cache.get("status")
        if cached is not None and time.time() - cached.checked_at < ttl:
            return cached
        probe = app.extensions.get("hessian_status_probe")
        if probe is None:
            status = Status(
                ChainStatus(False, error="no probe"), StoreStatus(False, error="no probe")
            )
        else:
            status = probe()
        if status.chain.ok:
            cache["last_ok"] = status.chain
            cache["last_ok_at"] = status.checked_at
        elif cache.get("last_ok") is not None:
            status = dataclasses.replace(
                status,
                chain=dataclasses.replace(
                    status.chain,
                    last_block=cache["last_ok"].block,
                    last_ok_at=cache.get("last_ok_at"),
                ),
            )
        cache["status"] = status
        return status
