"""When the node does not answer: short waits, one failure per request, the last known state.

A page of the apps reads the chain a dozen times. With the library defaults (a 10 s read
timeout, five retries of every read) a node that is *alive but hung* (stopped with SIGSTOP,
overloaded, a half-open tunnel) made each of those reads wait up to a minute, so a page took
minutes. This module bounds that cost per unit of work (a web request, a background job, one
pass of a worker), called a *scope*::

    with chain_scope(read_timeout=3.0, stale_ok=True, probe=check_node) as scope:
        ... any number of chain reads ...
    scope.down          # None, or what is down, in words
    scope.stale_since   # None, or the time of the oldest last-known answer served

Inside a scope, every JSON-RPC request made through :class:`HessianHTTPProvider` (what
:func:`~hessian_common.chain.client.connect` builds):

1. first runs the scope's ``probe`` once (e.g. the status bar's cached probe of the node); if
   it says the node is down, the scope is *down* before any request waits;
2. reads wait at most ``read_timeout`` seconds (writes and gas estimates keep the provider's
   own timeout) and are not retried: the journal and the user retry, not the transport;
3. after the first transport failure the scope is *down*: every later request of the scope
   fails at once with :class:`~hessian_common.errors.ChainUnavailable` (one timeout per
   request, not one per call);
4. when the scope allows it (``stale_ok``: page views, never a write), a read the node does not
   answer is served from the *last known* answer to the same request (kept per node URL, in
   memory) and ``scope.stale_since`` records how old it is, so the page can say so.

Outside any scope (the CLI, the simulation, tests) requests behave as before: the provider's
timeout, web3's retries, no stale answers.

:func:`describe_failure` turns a transport error into words (not running / running but not
answering / cannot serve now); :func:`probe_rpc` asks a node for its chain id and latest block
with one short request.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import requests
from web3 import Web3
from web3._utils.encoding import Web3JsonEncoder
from web3.providers.rpc import HTTPProvider

from hessian_common.errors import ChainUnavailable

PAGE_READ_TIMEOUT = 3.0
"""Seconds a web page waits for one chain read before it reports the chain down."""

PROBE_TIMEOUT = 2.0
"""Seconds the status probe waits for the node (``eth_chainId`` + ``eth_blockNumber``)."""

JOB_READ_TIMEOUT = 10.0
"""Seconds a background job (evaluation, train and submit) waits for one chain read."""

WORKER_READ_TIMEOUT = 5.0
"""Seconds one pass of a background worker (journal retries, auto-evaluation) waits."""

WRITE_METHODS = frozenset({"eth_sendRawTransaction", "eth_sendTransaction", "eth_estimateGas"})
"""Requests that keep the provider's own (longer) timeout inside a scope."""

STALE_METHODS = frozenset(
    {
        "eth_chainId",
        "net_version",
        "eth_blockNumber",
        "eth_call",
        "eth_getLogs",
        "eth_getBalance",
        "eth_getCode",
        "eth_getBlockByNumber",
        "eth_getTransactionReceipt",
    }
)
"""Reads whose last answer may be shown (marked as such) while the node does not answer.
Never ``eth_getTransactionCount`` or anything a transaction is built from."""

LAST_KNOWN_SIZE = 4096
"""Last-known answers kept per node URL (least recently used dropped first)."""


# ---------------------------------------------------------------------------- words


def describe_failure(url: str, exc: BaseException, timeout: float | None = None) -> str:
    """What a transport failure means, in words: ``"it is not running (connection refused)"``.

    The full sentence is ``f"Ethereum node at {url} is unreachable: {describe_failure(...)}"``
    (what :class:`ChainUnavailable` says).
    """
    wait = f" within {timeout:g} s" if timeout else ""
    if isinstance(exc, requests.ConnectTimeout):
        return f"it did not accept a connection{wait} (is the address right? is it overloaded?)"
    if isinstance(exc, requests.Timeout):
        return (
            f"it is running but not answering (no reply{wait}): the node is hung, paused or "
            "overloaded"
        )
    if isinstance(exc, requests.HTTPError):
        status = getattr(exc.response, "status_code", "?")
        return f"it answered HTTP {status} (it cannot serve now)"
    text = str(exc)
    if "refused" in text.lower():
        return "it is not running (connection refused)"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError) or "reset" in text.lower():
        return "it closed the connection (it stopped or restarted)"
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return f"cannot reach it ({first[:160]})"


def unavailable(url: str, exc: BaseException, timeout: float | None = None) -> ChainUnavailable:
    """The :class:`ChainUnavailable` for a transport failure at ``url``, in words."""
    return ChainUnavailable(
        f"Ethereum node at {url} is unreachable: {describe_failure(url, exc, timeout)}"
    )


# ---------------------------------------------------------------------------- scopes


@dataclass
class ChainScope:
    """One unit of work's budget for a node that does not answer (see the module docstring).

    Attributes
    ----------
    read_timeout : float or None
        Seconds one read may wait (``None``: the provider's own timeout).
    stale_ok : bool
        Serve the last known answer to a read the node does not answer (page views only).
    down : str or None
        Set by the first failure (or by the probe): what is down, in words.
    stale_since : float or None
        ``time.time()`` of the oldest last-known answer served in this scope.
    probe : callable, optional
        Run once before the first request; returns ``None`` (the node answers) or the reason
        it does not. The apps pass their cached status-bar probe.
    """

    read_timeout: float | None = None
    stale_ok: bool = False
    down: str | None = None
    stale_since: float | None = None
    probe: Callable[[], str | None] | None = field(default=None, repr=False)
    _probed: bool = field(default=False, repr=False)

    def trip(self, reason: str) -> None:
        """Mark the node down for the rest of the scope (the first reason is kept)."""
        if self.down is None:
            self.down = reason

    def served_stale(self, at: float) -> None:
        """Record that an answer known at ``at`` was shown instead of a fresh one."""
        self.stale_since = at if self.stale_since is None else min(self.stale_since, at)

    def check(self) -> None:
        """Run the probe once (if any); it may mark the scope down."""
        if self._probed or self.probe is None:
            return
        self._probed = True
        try:
            reason = self.probe()
        except Exception as exc:  # a probe reports, never raises
            reason = str(exc) or type(exc).__name__
        if reason:
            self.trip(reason)


_SCOPE: contextvars.ContextVar[ChainScope | None] = contextvars.ContextVar(
    "hessian_chain_scope", default=None
)


def current_scope() -> ChainScope | None:
    """The scope of the running unit of work, or ``None`` (CLI, tests, simulation)."""
    return _SCOPE.get()


@contextlib.contextmanager
def chain_scope(
    *,
    read_timeout: float | None = None,
    stale_ok: bool = False,
    probe: Callable[[], str | None] | None = None,
) -> Iterator[ChainScope]:
    """Run the body as one unit of work (see :class:`ChainScope`); scopes do not nest: an
    inner one replaces the outer one until it ends."""
    scope = ChainScope(read_timeout=read_timeout, stale_ok=stale_ok, probe=probe)
    token = _SCOPE.set(scope)
    try:
        yield scope
    finally:
        _SCOPE.reset(token)


def enter_scope(scope: ChainScope) -> contextvars.Token:
    """Make ``scope`` current until :func:`leave_scope` (for request hooks that cannot use a
    ``with`` block, e.g. Flask's ``before_request`` / ``teardown_request``)."""
    return _SCOPE.set(scope)


def leave_scope(token: contextvars.Token) -> None:
    """End the scope :func:`enter_scope` started."""
    _SCOPE.reset(token)


@contextlib.contextmanager
def fresh_reads() -> Iterator[None]:
    """Inside a scope: the reads of the body must be live, never a last-known answer (a
    caller that keeps its own record of the last known state, e.g. the submission cache)."""
    scope = _SCOPE.get()
    if scope is None:
        yield
        return
    before = scope.stale_ok
    scope.stale_ok = False
    try:
        yield
    finally:
        scope.stale_ok = before


# ---------------------------------------------------------------------------- last known


class _LastKnown:
    """Last answers to read requests, per node URL: ``(response, time)``, LRU-bounded."""

    def __init__(self, size: int = LAST_KNOWN_SIZE) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._by_url: dict[str, OrderedDict[str, tuple[Any, float]]] = {}

    def put(self, url: str, key: str, response: Any) -> None:
        with self._lock:
            table = self._by_url.setdefault(url, OrderedDict())
            table[key] = (response, time.time())
            table.move_to_end(key)
            while len(table) > self._size:
                table.popitem(last=False)

    def get(self, url: str, key: str) -> tuple[Any, float] | None:
        with self._lock:
            table = self._by_url.get(url)
            if not table or key not in table:
                return None
            table.move_to_end(key)
            return table[key]

    def clear(self, url: str | None = None) -> None:
        """Forget the answers of ``url`` (all nodes when ``None``)."""
        with self._lock:
            if url is None:
                self._by_url.clear()
            else:
                self._by_url.pop(url, None)


LAST_KNOWN = _LastKnown()
"""The process's last-known answers (shared by every provider on the same URL, so a
connection rebuilt after an outage still has them)."""


def _key(method: str, params: Any) -> str:

    return method + json.dumps(params or [], cls=Web3JsonEncoder, sort_keys=True)


# ---------------------------------------------------------------------------- provider


class HessianHTTPProvider(HTTPProvider):
    """web3's HTTP provider with :class:`ChainScope` rules (see the module docstring).

    Parameters
    ----------
    endpoint_uri : str
        The node's JSON-RPC URL.
    timeout : float
        The timeout outside scopes, and of writes inside them.
    """

    def __init__(self, endpoint_uri: str, timeout: float = 10.0) -> None:
        super().__init__(endpoint_uri, request_kwargs={"timeout": timeout})
        self.timeout = float(timeout)

    def make_request(self, method: Any, params: Any) -> Any:
        scope = _SCOPE.get()
        url = str(self.endpoint_uri)
        if scope is None:
            response = super().make_request(method, params)
            self._remember(url, method, params, response)
            return response
        scope.check()
        if scope.down is not None:
            return self._last_known(url, method, params, scope)
        timeout = self.timeout
        if method not in WRITE_METHODS and scope.read_timeout:
            timeout = min(timeout, scope.read_timeout)
        kwargs = {**self.get_request_kwargs(), "timeout": timeout}
        try:
            raw = self._request_session_manager.make_post_request(
                self.endpoint_uri, self.encode_rpc_request(method, params), **kwargs
            )
        except (
            requests.ConnectionError,
            requests.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as exc:
            scope.trip(str(unavailable(url, exc, timeout)))
            return self._last_known(url, method, params, scope)
        except requests.HTTPError as exc:
            status = getattr(exc.response, "status_code", None)
            if status is None or not (status == 429 or status >= 500):
                raise
            scope.trip(str(unavailable(url, exc, timeout)))
            return self._last_known(url, method, params, scope)
        response = self.decode_rpc_response(raw)
        self._remember(url, method, params, response)
        return response

    @staticmethod
    def _remember(url: str, method: str, params: Any, response: Any) -> None:
        if method in STALE_METHODS and isinstance(response, dict) and "result" in response:
            LAST_KNOWN.put(url, _key(method, params), response)

    @staticmethod
    def _last_known(url: str, method: str, params: Any, scope: ChainScope) -> Any:
        """The last answer to this read, if the scope may show one; else ChainUnavailable."""
        reason = scope.down or f"Ethereum node at {url} is unreachable"
        if scope.stale_ok and method in STALE_METHODS:
            known = LAST_KNOWN.get(url, _key(method, params))
            if known is not None:
                response, at = known
                scope.served_stale(at)
                return response
        raise ChainUnavailable(reason)


def is_http(w3: Any) -> bool:
    """True when ``w3`` talks to a node over HTTP (not the in-process eth-tester)."""
    return isinstance(getattr(w3, "provider", None), HTTPProvider)


def make_web3(rpc_url: str, timeout: float = 10.0) -> Web3:
    """A :class:`Web3` on ``rpc_url`` through :class:`HessianHTTPProvider` (no request)."""
    return Web3(HessianHTTPProvider(rpc_url, timeout=timeout))


# ---------------------------------------------------------------------------- probe


@dataclass(frozen=True)
class ProbeResult:
    """What one probe of a node found."""

    chain_id: int
    block: int


def probe_rpc(url: str, timeout: float = PROBE_TIMEOUT) -> ProbeResult:
    """Ask ``url`` for ``eth_chainId`` and ``eth_blockNumber`` in one request (a JSON-RPC
    batch; two plain requests if the node does not take batches), waiting ``timeout`` s.

    Raises :class:`ChainUnavailable` in words (:func:`describe_failure`) when it does not
    answer, or answers something that is not JSON-RPC.
    """
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_blockNumber", "params": []},
    ]
    try:
        with requests.Session() as session:
            reply = session.post(url, json=batch, timeout=timeout)
            reply.raise_for_status()
            body = reply.json()
            if not isinstance(body, list):  # no batches: ask twice
                results = []
                for item in batch:
                    single = session.post(url, json=item, timeout=timeout)
                    single.raise_for_status()
                    results.append(single.json()["result"])
            else:
                by_id = {int(r["id"]): r["result"] for r in body}
                results = [by_id[1], by_id[2]]
            return ProbeResult(chain_id=int(results[0], 16), block=int(results[1], 16))
    except requests.RequestException as exc:
        raise unavailable(url, exc, timeout) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise ChainUnavailable(
            f"{url} did not answer JSON-RPC (chain id and block): {exc}"
        ) from None


__all__ = [
    "JOB_READ_TIMEOUT",
    "LAST_KNOWN",
    "PAGE_READ_TIMEOUT",
    "PROBE_TIMEOUT",
    "WORKER_READ_TIMEOUT",
    "ChainScope",
    "HessianHTTPProvider",
    "ProbeResult",
    "chain_scope",
    "current_scope",
    "describe_failure",
    "enter_scope",
    "fresh_reads",
    "is_http",
    "leave_scope",
    "make_web3",
    "probe_rpc",
    "unavailable",
]
