"""A local SQLite cache of one contract's events: paged ``eth_getLogs``, reorg-safe, queryable.

On a public network the node is an RPC provider: ``eth_getLogs`` is capped (a block range such
as 10,000 blocks, or a number of results such as 10,000 logs, per call), calls are rate-limited
and blocks keep coming. Replaying every event from the deployment block on each page load does
not scale; this index reads each block's logs once, keeps the decoded events in a file, and
answers pages of them from SQLite::

    index = EventIndex(path, w3, address, abi, from_block=deployment_block)
    index.refresh()                                   # read what is new (paged, reorg-checked)
    index.events("UpdateSubmitted", {"modelId": 3}, limit=50, offset=100, order="desc")
    index.count("UpdateSubmitted", {"modelId": 3})

Everything is driven by the ABI: every event of it is decoded by name, and every top-level
argument that is not an array or a struct can be filtered on, so new events or arguments need no
change here. A changed ABI (the set of event signatures) or another contract or chain rebuilds
the file from scratch.

Paging (``refresh``). Blocks ``[last + 1, head]`` are read in spans of at most ``max_range``
blocks. A provider that refuses a span ("range too large", "query returned more than 10000
results", "Log response size exceeded", QuickNode's HTTP 413 ...; see :func:`logs_limit`) gets it
again smaller: the span it suggests if it names one, else half. A single block that still has
too many logs is read one event signature at a time; if one signature alone is too many,
:class:`LogsTooLarge` names the block. Each span is committed with ``last_block``, so an
interrupted refresh resumes where it stopped.

Reorgs. The index keeps block hashes: each event's, and a checkpoint (the head's hash, taken
before its logs are read) per span. A block hash commits to all its ancestors, so if the chain
still has the hash recorded for block ``b``, every event at or below ``b`` is still right. Each
refresh checks the newest recorded hash (one call, none when the head did not move); if it
changed, a binary search over the recorded hashes finds the newest block ``f`` the chain still
agrees with, the events above ``f`` are dropped and read again. On top of that, the last
``confirmations`` blocks are read again whenever the head moves (a provider's lagging backend
may have answered an empty page for blocks it had not seen yet). A new chain behind the same URL
(a restarted dev node) agrees with nothing and is read from scratch.

Cost: a warm query is one SQLite statement: the page's keys are read from a covering index,
``(name, block, log)`` or ``(name, arg, value, block, log)``, then only those rows, so a page
costs ``O(offset + limit)`` index steps and ``O(limit)`` rows whatever the history's length;
counts by event name, or by name and one argument, are kept as events are written and read in
``O(1)``. A refresh with nothing new is one ``eth_getBlockByNumber``.

Running folds (:meth:`EventIndex.fold`). What a page sums over a whole history (rewards per
owner, the score each update started from, a book's loans) is kept as a running value: a fold
``state ← step(state, event)`` over chosen events in chain order, held in memory with the
position ``(block, log)`` of the last event it took, and advanced by the events indexed since
then. The file carries an *epoch*, a random token replaced whenever events already indexed are
removed or changed, or an event is written below the newest one (a reorg, a re-read of the
confirmation window that differs, a lagging provider's late answer, a reset, a rebuild); a fold
of another epoch is recomputed from the start. So a warm page's sums cost the events since the
last page, not the history, and are always the fold of exactly the events in the file.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import re
import secrets
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from eth_utils import event_abi_to_log_topic, keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3RPCError

from hessian_common.chain.client import node_errors, node_url, tx_hash_of
from hessian_common.chain.outage import current_scope
from hessian_common.errors import ChainError, ConfigError

FORMAT = 2
"""Layout version of the SQLite file; another version is rebuilt."""

DEFAULT_MAX_RANGE = 10_000
"""Blocks per ``eth_getLogs`` call (Infura, QuickNode and Alchemy's log cap all allow this)."""

DEFAULT_CONFIRMATIONS = 12
"""Blocks below the head read again whenever the head moves."""

S = TypeVar("S")
R = TypeVar("R")

KEEP_CHECKPOINTS = 256
"""Recorded head hashes kept (older ones are covered by the events' own block hashes)."""


@dataclass(frozen=True)
class ChainEvent:
    """One decoded contract event (``args`` as web3 decodes them: ints, checksum addresses,
    ``bytes``, strings, lists and dicts)."""

    name: str
    args: dict[str, Any]
    block_number: int
    transaction_hash: str
    log_index: int


@dataclass(frozen=True)
class RefreshResult:
    """What one :meth:`EventIndex.refresh` did."""

    head: int
    """The last indexed block (the head the refresh read up to)."""
    added: int
    """Events written (those read again in the confirmation window included)."""
    removed: int
    """Events dropped because the chain no longer has them (a reorg)."""
    reorg: bool
    """The chain disagreed with a recorded block hash."""
    log_requests: int
    """``eth_getLogs`` calls made (refused ones included)."""
    shrinks: int
    """Calls the provider refused as too large (each followed by a smaller one)."""


@dataclass(frozen=True)
class FoldSource:
    """Events a running fold takes: those named ``name`` matching ``filters`` (as
    :meth:`EventIndex.values`), as the values of the scalar arguments ``args``."""

    name: str
    filters: Mapping[str, Any] | None
    args: tuple[str, ...]


@dataclass
class _Running:
    epoch: str
    position: tuple[int, int]
    state: Any


def _new_epoch() -> str:
    return secrets.token_hex(8)


def fold_rows(
    read: Callable[[FoldSource], Iterable[Sequence[Any]]],
    sources: Sequence[FoldSource],
    after: tuple[int, int] = (-1, -1),
) -> list[tuple[int, int, str, tuple[Any, ...]]]:
    """The events of ``sources`` after position ``after`` as ``(block, log, name, values)``
    in chain order; ``read(source)`` gives a source's ``(block, log, *values)`` rows (from the
    index, or from the node's logs)."""
    rows = [
        (int(block), int(log), src.name, tuple(values))
        for src in sources
        for block, log, *values in read(src)
        if (block, log) > after
    ]
    rows.sort(key=lambda r: (r[0], r[1]))
    return rows


class LogsTooLarge(ChainError):
    """A single block holds more logs of one event than the node returns in one answer."""


# ---------------------------------------------------------------- provider limits


@dataclass(frozen=True)
class LogsLimit:
    """A provider's refusal of an ``eth_getLogs`` call as too large.

    ``kind`` is ``"range"`` (too many blocks) or ``"results"`` (too many logs / too large an
    answer); ``span`` is the number of blocks the provider says it would accept, when it says.
    """

    kind: str
    span: int | None
    message: str


def _number(text: str) -> int:
    """``"10,000"``, ``"10.000"``, ``"2K"``, ``"1k"`` -> int."""
    text = text.strip().lower()
    factor = 1000 if text.endswith("k") else 1
    digits = re.sub(r"[^0-9]", "", text)
    return int(digits) * factor


_NUM = r"([0-9][0-9,.]*k?)\b"
_SUGGESTED_RANGE = [
    # Infura, Alchemy, thirdweb: "... Try with this block range [0x10, 0x2f]",
    # "... this block range should work: [0x0, 0xd043b8]"
    re.compile(r"\[\s*(0x[0-9a-f]+)\s*,\s*(0x[0-9a-f]+)\s*\]"),
    # reth / llamarpc: "query exceeds max results 20000, retry with the range 23879634-23879696"
    re.compile(r"retry with the range (\d+)\s*-\s*(\d+)"),
]
_RANGE_CAP = [
    re.compile(p)
    for p in (
        r"range \d+ exceeds limit of " + _NUM,  # Infura: "range 1000000 exceeds limit of 10000"
        r"limited to an? " + _NUM,  # QuickNode: "eth_getLogs is limited to a 10,000 range"
        r"limited to " + _NUM + r" block",  # BlockPi: "eth_getLogs is limited to 1024 block range"
        r"up to an? " + _NUM + r" block range",  # Alchemy: "... up to a 2K block range"
        r"max(?:imum)? (?:block )?range(?: is|:)? " + _NUM,  # "... exceeds max block range 1000"
        r"range is too large, max is " + _NUM,  # "eth_getLogs range is too large, max is 1k blocks"
        r"maximum is set to " + _NUM,  # Avalanche: "... maximum is set to 2048"
        r"maximum allowed number of requested blocks is " + _NUM,  # thirdweb
        r"range limit " + _NUM,  # thirdweb: "range 20000 is bigger than range limit 2000"
        r"at most " + _NUM + r" blocks",  # Coinbase: "limit the query to at most 1000 blocks"
        r"ranges over " + _NUM + r" blocks",  # "ranges over 10000 blocks are not supported"
        r"block range (?:greater than|exceeds) " + _NUM,
        r"too wide \(maximum " + _NUM,  # Moonbeam: "block range is too wide (maximum 1024)"
        r"blocks distance: " + _NUM,  # Ankr
        r"smaller than size " + _NUM,  # Harmony
    )
]
_RANGE_WORDS = re.compile(
    r"block range|range too large|range is too large|range is too wide|too wide|"
    r"range limit|limited to|requested too many blocks|blocks distance|exceeds limit of \d"
)
_RESULT_WORDS = re.compile(
    r"more than \d+ results|max results|too many results|response size|response too large|"
    r"logs matched by query exceeds|query timeout exceeded|result set too large|"
    r"size should not greater"
)


def _error_text(exc: BaseException) -> str:
    """Everything an error says: the message, the JSON-RPC error object, an HTTP body."""
    parts = [str(exc)]
    if isinstance(exc, Web3RPCError) and exc.rpc_response:
        parts.append(json.dumps(exc.rpc_response, default=str))
    response = getattr(exc, "response", None)
    if isinstance(exc, requests.HTTPError) and response is not None:
        with contextlib.suppress(Exception):
            parts.append(response.text)
    return " ".join(parts).lower()


def logs_limit(exc: BaseException, requested_span: int | None = None) -> LogsLimit | None:
    """Read a refused ``eth_getLogs`` call: how the provider wants it smaller, or None.

    Recognises the wordings of Infura ("query returned more than 10000 results. Try with this
    block range [0x.., 0x..]", "range N exceeds limit of 10000"), Alchemy ("Log response size
    exceeded. ... this block range should work: [0x.., 0x..]", "You can make eth_getLogs
    requests with up to a 2K block range"), QuickNode (HTTP 413, code -32614 "eth_getLogs is
    limited to a 10,000 range"), geth / Erigon / reth / llamarpc ("query returned more than N
    results", "query exceeds max block range N", "... retry with the range a-b"), and others
    (BlockPi, thirdweb, Ankr, Coinbase, Avalanche, Chainstack "Block range limit exceeded").
    Rate limits are not limits of the call (the client retries them) and give None.
    """
    if not isinstance(exc, (Web3RPCError, requests.HTTPError, ValueError)):
        return None
    text = _error_text(exc)
    if isinstance(exc, requests.HTTPError):
        status = getattr(exc.response, "status_code", None)
        if status == 429:
            return None
    is_range = bool(_RANGE_WORDS.search(text))
    is_results = bool(_RESULT_WORDS.search(text))
    if not (is_range or is_results):
        return None
    span = None
    for pattern in _SUGGESTED_RANGE:
        m = pattern.search(text)
        if m:
            lo, hi = (int(g, 0) for g in m.groups())
            if hi >= lo:
                span = hi - lo + 1
                break
    if span is None and is_range:
        for pattern in _RANGE_CAP:
            m = pattern.search(text)
            if m:
                span = _number(m.group(1))
                break
    if span is not None and span <= 0:
        span = None
    message = str(exc)
    return LogsLimit("range" if is_range and not is_results else "results", span, message)


# ---------------------------------------------------------------- ABI-driven (de)serialisation


def _is_array(typ: str) -> bool:
    return typ.endswith("]")


def _inner(typ: str) -> str:
    return typ[: typ.rindex("[")]


def _to_json(value: Any) -> Any:
    """JSON form of a decoded argument: bytes as ``0x`` hex, the rest as is."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def _from_json(spec: Mapping[str, Any], value: Any, indexed: bool = False) -> Any:
    """Inverse of :func:`_to_json` for an ABI input ``spec``: the value web3 would decode."""
    typ = spec["type"]
    if indexed and (typ in ("string", "bytes") or _is_array(typ) or typ.startswith("tuple")):
        return bytes.fromhex(value[2:])  # indexed dynamic value: its keccak topic
    if _is_array(typ):
        inner = {**spec, "type": _inner(typ)}
        return [_from_json(inner, v) for v in value]
    if typ.startswith("tuple"):
        return {c["name"]: _from_json(c, value[c["name"]]) for c in spec["components"]}
    if typ.startswith("bytes"):
        return bytes.fromhex(value[2:])
    return value


def _is_scalar(spec: Mapping[str, Any]) -> bool:
    typ = spec["type"]
    return not _is_array(typ) and not typ.startswith("tuple")


def _canonical(spec: Mapping[str, Any], value: Any, *, from_filter: bool = False) -> str:
    """The text under which a scalar argument is stored and looked up.

    ``address`` -> checksum, integers -> decimal, ``bool`` -> ``1``/``0``, bytes -> lowercase
    ``0x`` hex, ``string`` -> itself. A filter on an indexed ``string``/``bytes`` argument is
    hashed as the topic is (keccak), so ``{"cid": "bafy..."}`` finds it.
    """
    typ = spec["type"]
    try:
        if from_filter and spec.get("indexed") and typ in ("string", "bytes"):
            raw = value.encode() if isinstance(value, str) and typ == "string" else HexBytes(value)
            return "0x" + keccak(raw).hex()
        if typ == "address":
            return Web3.to_checksum_address(value)
        if typ.startswith(("uint", "int")):
            if isinstance(value, bool) or not isinstance(value, (int, str)):
                raise TypeError(type(value).__name__)
            if isinstance(value, str):
                value = int(value, 16) if value.lower().startswith("0x") else int(value)
            return str(int(value))
        if typ == "bool":
            return "1" if bool(value) else "0"
        if typ.startswith("bytes"):
            return "0x" + bytes(HexBytes(value)).hex()
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{value!r} is not a valid {typ} for '{spec['name']}'") from exc


@dataclass(frozen=True)
class _EventSpec:
    name: str
    topic: str
    abi: dict[str, Any]

    @property
    def inputs(self) -> list[dict[str, Any]]:
        return self.abi["inputs"]


def _event_specs(abi: Sequence[Mapping[str, Any]]) -> dict[str, _EventSpec]:
    """topic0 (``0x`` hex) -> event, for the non-anonymous events of ``abi``."""
    out = {}
    for entry in abi:
        if entry.get("type") == "event" and not entry.get("anonymous"):
            topic = "0x" + bytes(event_abi_to_log_topic(dict(entry))).hex()
            out[topic] = _EventSpec(entry["name"], topic, dict(entry))
    return out


def abi_events_hash(abi: Sequence[Mapping[str, Any]]) -> str:
    """SHA-256 of the ABI's event signatures (names, types, indexed flags, argument names):
    what the index's file is valid for."""
    events = sorted(
        (json.dumps(e, sort_keys=True) for e in abi if e.get("type") == "event"),
    )
    return hashlib.sha256("\n".join(events).encode()).hexdigest()


def index_file(directory: str | Path, chain_id: int, address: str) -> Path:
    """``<directory>/<chainId>-<address>.sqlite`` (the checksum address)."""
    return Path(directory) / f"{int(chain_id)}-{Web3.to_checksum_address(address)}.sqlite"


# ---------------------------------------------------------------- the index

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS events (
    block_number INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    block_hash TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    name TEXT NOT NULL,
    topic TEXT NOT NULL,
    args TEXT NOT NULL,
    PRIMARY KEY (block_number, log_index)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_name ON events (name, block_number, log_index);
CREATE TABLE IF NOT EXISTS event_args (
    block_number INTEGER NOT NULL,
    log_index INTEGER NOT NULL,
    arg TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (block_number, log_index, arg)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS event_args_lookup
    ON event_args (name, arg, value, block_number, log_index);
CREATE TABLE IF NOT EXISTS counts (
    name TEXT NOT NULL,
    arg TEXT NOT NULL,
    value TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (name, arg, value)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (number INTEGER PRIMARY KEY, hash TEXT NOT NULL);
"""


class EventIndex:
    """The events of one contract on one chain, cached in a SQLite file (see the module doc).

    Parameters
    ----------
    path : str or Path
        The SQLite file (created with its directory). One file per chain and contract, e.g.
        ``index_file($HESSIAN_HOME/<app>/index, chain_id, address)``.
    w3 : Web3
        The node to read (use :func:`~hessian_common.chain.client.connect`: it rides out
        rate limits).
    address : str
        The contract.
    abi : list of dict
        Its ABI; every non-anonymous event of it is indexed.
    from_block : int
        First block to read (the deployment block).
    max_range : int
        Most blocks per ``eth_getLogs`` call; shrunk on a provider's refusal.
    confirmations : int
        Blocks below the head read again whenever the head moves.
    max_staleness : float
        Seconds a refresh is trusted for: within them :meth:`refresh` does nothing (0: every
        read asks the node for its head).
    chain_id : int, optional
        The node's chain id, if the caller knows it (else asked once).

    A file made for another chain id, contract, ``from_block`` or set of event signatures is
    emptied when the index is opened.

    Thread and process safe: reads use their own connection (SQLite WAL); refreshes are
    serialised by an exclusive lock on ``<path>.lock``.
    """

    def __init__(
        self,
        path: str | Path,
        w3: Web3,
        address: str,
        abi: Sequence[Mapping[str, Any]],
        from_block: int = 0,
        *,
        max_range: int = DEFAULT_MAX_RANGE,
        confirmations: int = DEFAULT_CONFIRMATIONS,
        max_staleness: float = 0.0,
        chain_id: int | None = None,
    ) -> None:
        if max_range < 1:
            raise ConfigError(f"max_range must be at least 1 block, not {max_range}")
        if confirmations < 0:
            raise ConfigError(f"confirmations must be >= 0, not {confirmations}")
        self.path = Path(path)
        self.w3 = w3
        self.url = node_url(w3)
        self.address = Web3.to_checksum_address(address)
        self.abi = [dict(e) for e in abi]
        self.from_block = int(from_block)
        self.max_range = int(max_range)
        self.confirmations = int(confirmations)
        self.max_staleness = float(max_staleness)
        self.span = self.max_range
        """The current span per call: ``max_range`` until a provider refuses one."""
        self._ceiling = self.max_range
        self._streak = 0
        self._specs = _event_specs(self.abi)
        self._by_name: dict[str, list[_EventSpec]] = {}
        for spec in self._specs.values():
            self._by_name.setdefault(spec.name, []).append(spec)
        self._contract = w3.eth.contract(address=self.address, abi=self.abi)
        self._abi_hash = abi_events_hash(self.abi)
        self._chain_id: int | None = None if chain_id is None else int(chain_id)
        self._fresh_at = -float("inf")
        self._scope: Any = None
        self._local = threading.Lock()
        self._folds: dict[Hashable, _Running] = {}
        self._folds_lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._refresh_lock(), self._db() as db:
            db.executescript(_SCHEMA)
            self._check_identity(db)
            db.execute("INSERT OR IGNORE INTO meta VALUES ('epoch', ?)", (_new_epoch(),))

    # ------------------------------------------------------------ storage

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=60.0, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
        finally:
            db.close()

    @contextlib.contextmanager
    def _write(self, db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @contextlib.contextmanager
    def _refresh_lock(self) -> Iterator[None]:
        """One refresh at a time, across threads and processes (``flock`` on ``<path>.lock``)."""
        with self._local, open(f"{self.path}.lock", "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    @staticmethod
    def _meta(db: sqlite3.Connection) -> dict[str, str]:
        return dict(db.execute("SELECT key, value FROM meta").fetchall())

    def _identity(self) -> dict[str, str]:
        return {
            "format": str(FORMAT),
            "chain_id": str(self.chain_id),
            "address": self.address,
            "abi_events": self._abi_hash,
            "from_block": str(self.from_block),
        }

    def _check_identity(self, db: sqlite3.Connection) -> None:
        """Start afresh when the file was made for another contract, chain, ABI or layout."""
        meta = self._meta(db)
        want = self._identity()
        if all(meta.get(k) == v for k, v in want.items()):
            return
        with self._write(db):
            for table in ("events", "event_args", "counts", "checkpoints", "meta"):
                db.execute(f"DELETE FROM {table}")
            db.executemany("INSERT INTO meta VALUES (?, ?)", list(want.items()))
            db.execute("INSERT INTO meta VALUES ('last_block', ?)", (str(self.from_block - 1),))
            db.execute("INSERT INTO meta VALUES ('epoch', ?)", (_new_epoch(),))

    @property
    def chain_id(self) -> int:
        """The chain id of the node (asked once)."""
        if self._chain_id is None:
            with node_errors(self.url):
                self._chain_id = int(self.w3.eth.chain_id)
        return self._chain_id

    @property
    def epoch(self) -> str:
        """The file's epoch: replaced whenever indexed events are removed or changed, or one
        is written below the newest (see the module doc); running folds are of one epoch."""
        with self._db() as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'epoch'").fetchone()
        return "" if row is None else str(row[0])

    @staticmethod
    def _bump_epoch(db: sqlite3.Connection) -> None:
        db.execute("INSERT OR REPLACE INTO meta VALUES ('epoch', ?)", (_new_epoch(),))

    @property
    def last_block(self) -> int:
        """The last block indexed (``from_block - 1`` before the first refresh)."""
        with self._db() as db:
            meta = self._meta(db)
        return int(meta.get("last_block", self.from_block - 1))

    def reset(self) -> None:
        """Forget everything indexed (the next refresh reads from ``from_block`` again)."""
        with self._refresh_lock(), self._db() as db, self._write(db):
            for table in ("events", "event_args", "counts", "checkpoints"):
                db.execute(f"DELETE FROM {table}")
            db.execute(
                "UPDATE meta SET value = ? WHERE key = 'last_block'", (str(self.from_block - 1),)
            )
            self._bump_epoch(db)
        self._fresh_at = -float("inf")

    # ------------------------------------------------------------ refresh

    def refresh(self, force: bool = False) -> RefreshResult | None:
        """Read the blocks the index has not seen (and the confirmation window) up to the head.

        Returns what was done, or None when skipped (refreshed less than ``max_staleness``
        seconds ago, or already in the current read-only chain scope, e.g. a page's GET: one
        refresh per page; not with ``force``). Raises :class:`ChainUnavailable` if the node
        cannot be reached (nothing half-written: every span is its own transaction) and
        :class:`LogsTooLarge` when one block cannot be read even one event at a time.
        """
        if not force and time.monotonic() - self._fresh_at < self.max_staleness:
            return None
        scope = current_scope()
        if not force and scope is not None and scope.stale_ok and self._scope is scope:
            return None  # one refresh per read-only page (a GET's scope), not one per query
        with self._refresh_lock(), self._db() as db:
            self._check_identity(db)  # another process may have reset it
            result = self._refresh(db)
        self._fresh_at = time.monotonic()
        self._scope = scope
        return result

    def _refresh(self, db: sqlite3.Connection) -> RefreshResult:
        stats = {"log_requests": 0, "shrinks": 0, "added": 0}
        with node_errors(self.url):
            latest = self.w3.eth.get_block("latest")
        head, head_hash = int(latest["number"]), "0x" + bytes(latest["hash"]).hex()
        last = int(self._meta(db)["last_block"])
        verified, disagreed = self._verified(db, last, head, head_hash)
        removed, reorg = 0, verified < last and disagreed
        if verified < last:
            removed = self._drop_above(db, verified)
        if verified == last == head:
            return RefreshResult(head, 0, 0, False, 0, 0)
        start = max(self.from_block, min(verified + 1, last - self.confirmations + 1))
        pos = start
        while pos <= head:
            logs, hi = self._read(pos, min(head, pos + self.span - 1), stats)
            # The head's hash was taken before its logs were read: a reorg in between makes it
            # disagree at the next refresh. Other spans are vouched for by their own logs.
            checkpoint = (head, head_hash) if hi == head else None
            stats["added"] += self._store(db, pos, hi, checkpoint, logs)
            pos = hi + 1
        return RefreshResult(
            head, stats["added"], removed, reorg, stats["log_requests"], stats["shrinks"]
        )

    def _verified(
        self, db: sqlite3.Connection, last: int, head: int, head_hash: str
    ) -> tuple[int, bool]:
        """The newest block ``<= last`` whose recorded hash the chain still has, and whether
        a recorded hash was found to differ (a reorg, as opposed to nothing recorded).

        ``from_block - 1`` when nothing recorded agrees. The common case reads one record
        (the newest, by index) and makes one call (none if it is the head); only when it
        disagrees are all records read and binary-searched: if the chain has block ``b``'s
        recorded hash it has every recorded ancestor's, so agreement is monotone in ``b``.
        """
        if last < self.from_block:
            return last, False

        def agrees(number: int, recorded: str) -> bool:
            if number > head:
                return False
            if number == head:
                return recorded == head_hash
            with node_errors(self.url):
                block = self.w3.eth.get_block(number)
            return "0x" + bytes(block["hash"]).hex() == recorded

        top = db.execute(
            "SELECT max(n) FROM (SELECT max(number) AS n FROM checkpoints WHERE number <= ? "
            "UNION ALL SELECT max(block_number) FROM events WHERE block_number <= ?)",
            (last, last),
        ).fetchone()[0]
        if top is None:
            return self.from_block - 1, False
        hashes = {h for (h,) in db.execute(
            "SELECT hash FROM checkpoints WHERE number = ? "
            "UNION SELECT block_hash FROM events WHERE block_number = ?", (top, top))}  # fmt: skip
        if len(hashes) == 1 and agrees(top, next(iter(hashes))):
            return top, False
        return self._fork_point(db, last, agrees), True

    def _fork_point(self, db: sqlite3.Connection, last: int, agrees: Any) -> int:
        """Binary search of every record ``<= last`` for the newest one the chain agrees
        with (``from_block - 1`` if none). Two hashes recorded for one block (logs of two
        forks mixed) make that block and everything above it untrusted."""
        recorded: dict[int, set[str]] = {}
        for number, block_hash in db.execute(
            "SELECT number, hash FROM checkpoints WHERE number <= ? "
            "UNION SELECT DISTINCT block_number, block_hash FROM events WHERE block_number <= ?",
            (last, last),
        ):
            recorded.setdefault(int(number), set()).add(block_hash)
        conflicts = [n for n, hashes in recorded.items() if len(hashes) > 1]
        ceiling = min(conflicts) - 1 if conflicts else last
        rows = sorted((n, next(iter(h))) for n, h in recorded.items() if n <= ceiling)
        lo, hi, found = 0, len(rows) - 1, self.from_block - 1
        while lo <= hi:
            mid = (lo + hi) // 2
            if agrees(*rows[mid]):
                found, lo = rows[mid][0], mid + 1
            else:
                hi = mid - 1
        return found

    def _drop_above(self, db: sqlite3.Connection, block: int) -> int:
        with self._write(db):
            self._uncount(db, "block_number > ?", (block,))
            n = db.execute("DELETE FROM events WHERE block_number > ?", (block,)).rowcount
            if n:
                self._bump_epoch(db)
            db.execute("DELETE FROM event_args WHERE block_number > ?", (block,))
            db.execute("DELETE FROM checkpoints WHERE number > ?", (block,))
            db.execute("UPDATE meta SET value = ? WHERE key = 'last_block'", (str(block),))
        return n

    def _get_logs(self, lo: int, hi: int, topic: str | None, stats: dict[str, int]) -> list[Any]:
        query: dict[str, Any] = {"address": self.address, "fromBlock": lo, "toBlock": hi}
        if topic is not None:
            query["topics"] = [topic]
        stats["log_requests"] += 1
        with node_errors(self.url):
            return list(self.w3.eth.get_logs(query))

    def _read(self, lo: int, hi: int, stats: dict[str, int]) -> tuple[list[Any], int]:
        """Logs of ``[lo, hi']`` for the largest ``hi' <= hi`` the provider accepts.

        A refused span is asked again at the span the provider names, else at half. A range
        refusal also lowers the ceiling the span may grow back to (the provider's block-range
        cap, learnt); after a result refusal (a dense stretch of history) the span doubles
        again after 4 accepted calls in a row, up to that ceiling.
        """
        while True:
            try:
                logs = self._get_logs(lo, hi, None, stats)
            except Exception as exc:
                limit = logs_limit(exc)
                if limit is None:
                    raise
                stats["shrinks"] += 1
                self._streak = 0
                asked = hi - lo + 1
                if asked == 1:
                    return self._read_one_block(lo, stats), lo
                smaller = limit.span if limit.span is not None and limit.span < asked else None
                self.span = max(1, smaller or asked // 2)
                if limit.kind == "range":
                    self._ceiling = min(self._ceiling, self.span)
                hi = lo + self.span - 1
                continue
            self._streak += 1
            if self.span < self._ceiling and self._streak >= 4:
                self.span = min(self._ceiling, self.span * 2)
                self._streak = 0
            return logs, hi

    def _read_one_block(self, block: int, stats: dict[str, int]) -> list[Any]:
        """One block over the result cap: its logs one event signature at a time."""
        out: list[Any] = []
        for topic, spec in self._specs.items():
            try:
                out.extend(self._get_logs(block, block, topic, stats))
            except Exception as exc:
                if logs_limit(exc) is None:
                    raise
                raise LogsTooLarge(
                    f"block {block} holds more {spec.name} events of {self.address} than the "
                    f"node at {self.url} returns in one answer: {exc}"
                ) from exc
        return out

    def _store(
        self,
        db: sqlite3.Connection,
        lo: int,
        hi: int,
        checkpoint: tuple[int, str] | None,
        logs: list[Any],
    ) -> int:
        """Replace the events of ``[lo, hi]`` by ``logs``, record ``checkpoint`` (block, hash)
        and move ``last_block`` to ``hi``, in one transaction."""
        rows, keys = [], []
        for log in logs:
            if log.get("removed"):
                continue
            topics = log["topics"]
            spec = self._specs.get("0x" + bytes(topics[0]).hex()) if topics else None
            if spec is None:
                continue  # not an event of this ABI
            args = dict(getattr(self._contract.events, spec.name)().process_log(log)["args"])
            block, index = int(log["blockNumber"]), int(log["logIndex"])
            block_hash = "0x" + bytes(HexBytes(log["blockHash"])).hex()
            rows.append(
                (block, index, block_hash, tx_hash_of(log), spec.name, spec.topic,
                 json.dumps(_to_json(args), separators=(",", ":")))
            )  # fmt: skip
            for inp in spec.inputs:
                if _is_scalar(inp) or inp.get("indexed"):
                    value = _to_json(args[inp["name"]])
                    keys.append((block, index, inp["name"], spec.name, _key_text(inp, value)))
        counts = Counter((r[4], "", "") for r in rows)
        counts.update((k[3], k[2], k[4]) for k in keys)
        with self._write(db):
            old = set(db.execute(
                "SELECT block_number, log_index, block_hash FROM events "
                "WHERE block_number BETWEEN ? AND ?", (lo, hi)))  # fmt: skip
            top = db.execute(
                "SELECT block_number, log_index FROM events "
                "ORDER BY block_number DESC, log_index DESC LIMIT 1"
            ).fetchone()
            new = {(r[0], r[1], r[2]) for r in rows}
            below = tuple(top) if top is not None else (self.from_block - 1, -1)
            if old - new or any(k not in old and k[:2] <= below for k in new):
                self._bump_epoch(db)  # history changed under a running fold
            self._uncount(db, "block_number BETWEEN ? AND ?", (lo, hi))
            db.execute("DELETE FROM events WHERE block_number BETWEEN ? AND ?", (lo, hi))
            db.execute("DELETE FROM event_args WHERE block_number BETWEEN ? AND ?", (lo, hi))
            db.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            db.executemany("INSERT INTO event_args VALUES (?, ?, ?, ?, ?)", keys)
            db.executemany(
                "INSERT INTO counts VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name, arg, value) DO UPDATE SET n = n + excluded.n",
                [(*key, n) for key, n in counts.items()],
            )
            if checkpoint is not None:
                db.execute("INSERT OR REPLACE INTO checkpoints VALUES (?, ?)", checkpoint)
            db.execute(
                "DELETE FROM checkpoints WHERE number NOT IN "
                "(SELECT number FROM checkpoints ORDER BY number DESC LIMIT ?)",
                (KEEP_CHECKPOINTS,),
            )
            db.execute("UPDATE meta SET value = ? WHERE key = 'last_block'", (str(hi),))
        return len(rows)

    @staticmethod
    def _uncount(db: sqlite3.Connection, where: str, params: tuple[Any, ...]) -> None:
        """Take the events about to be deleted (``where`` on ``block_number``) off ``counts``."""
        gone = db.execute(
            f"SELECT name, '', '', COUNT(*) FROM events WHERE {where} GROUP BY name "
            f"UNION ALL SELECT name, arg, value, COUNT(*) FROM event_args WHERE {where} "
            "GROUP BY name, arg, value",
            params + params,
        ).fetchall()
        db.executemany(
            "UPDATE counts SET n = n - ? WHERE name = ? AND arg = ? AND value = ?",
            [(n, name, arg, value) for name, arg, value, n in gone],
        )
        db.execute("DELETE FROM counts WHERE n <= 0")

    # ------------------------------------------------------------ queries

    def _where(
        self,
        name: str | None,
        filters: Mapping[str, Any] | None,
        from_block: int | None,
        to_block: int | None,
    ) -> tuple[str, str, list[Any]]:
        """``(table alias, WHERE clause, params)`` of the events matching a query.

        Without filters the scan is over ``events e`` (index ``(name, block, log)``). With
        filters it is over ``event_args k``: the first filter drives the scan over
        ``event_args_lookup`` (already in chain order for one value), the others are primary
        key lookups. Either way a page reads ``O(offset + limit)`` rows.
        """
        if name is not None and name not in self._by_name:
            known = ", ".join(sorted(self._by_name)) or "none"
            raise ConfigError(f"no event '{name}' in the ABI of {self.address} (events: {known})")
        items = list((filters or {}).items())
        conds: list[str] = []
        params: list[Any] = []
        if not items:
            alias = "e"
            if name is not None:
                conds.append("e.name = ?")
                params.append(name)
        else:
            if name is None:
                raise ConfigError("filtering events by argument needs an event name")
            alias = "k"
            (arg, value), rest = items[0], items[1:]
            values = self._filter_values(name, arg, value)
            marks = ", ".join("?" * len(values))
            conds.append(f"k.name = ? AND k.arg = ? AND k.value IN ({marks})")
            params += [name, arg, *values]
            for arg, value in rest:
                values = self._filter_values(name, arg, value)
                marks = ", ".join("?" * len(values))
                conds.append(
                    "EXISTS (SELECT 1 FROM event_args x WHERE x.block_number = k.block_number "
                    f"AND x.log_index = k.log_index AND x.arg = ? AND x.value IN ({marks}))"
                )
                params += [arg, *values]
        if from_block is not None:
            conds.append(f"{alias}.block_number >= ?")
            params.append(int(from_block))
        if to_block is not None:
            conds.append(f"{alias}.block_number <= ?")
            params.append(int(to_block))
        return alias, " AND ".join(conds) or "1", params

    def _filter_values(self, name: str | None, arg: str, value: Any) -> list[str]:
        assert name is not None
        spec = next((i for s in self._by_name[name] for i in s.inputs if i["name"] == arg), None)
        if spec is None or not (_is_scalar(spec) or spec.get("indexed")):
            args = [i["name"] for s in self._by_name[name] for i in s.inputs]
            raise ConfigError(
                f"cannot filter {name} events by '{arg}' (filterable: "
                f"{', '.join(a for a in args) or 'none'})"
            )
        many = isinstance(value, (list, tuple, set, frozenset))
        values = list(value) if many else [value]
        if not values:
            raise ConfigError(f"empty list of values for '{arg}' of {name}")
        return [_canonical(spec, v, from_filter=True) for v in values]

    def events(
        self,
        name: str | None = None,
        filters: Mapping[str, Any] | None = None,
        *,
        from_block: int | None = None,
        to_block: int | None = None,
        limit: int | None = None,
        offset: int = 0,
        order: str = "asc",
    ) -> list[ChainEvent]:
        """Indexed events, in chain order (``order="desc"``: newest first), from the file only.

        ``filters`` maps argument names to a value or a list of values (any of them), e.g.
        ``{"modelId": 3, "owner": "0x..."}``; values are compared as the ABI types them
        (addresses in any case, integers as ints or decimal/hex strings, bytes as hex or
        bytes). Call :meth:`refresh` first to include what is new on chain.
        """
        if order not in ("asc", "desc"):
            raise ConfigError(f"order must be 'asc' or 'desc', not {order!r}")
        if (limit is not None and limit < 0) or offset < 0:
            raise ConfigError(f"limit and offset must be >= 0, not {limit} and {offset}")
        alias, where, params = self._where(name, filters, from_block, to_block)
        table = "events e" if alias == "e" else "event_args k"
        d = "DESC" if order == "desc" else "ASC"
        # the page's keys from the covering index first (a skipped row costs an index step),
        # then only their rows
        sql = (
            "SELECT e.name, e.args, e.topic, e.block_number, e.tx_hash, e.log_index FROM "
            f"(SELECT {alias}.block_number, {alias}.log_index FROM {table} WHERE {where} "
            f"ORDER BY {alias}.block_number {d}, {alias}.log_index {d} LIMIT ? OFFSET ?) AS p "
            "JOIN events e ON e.block_number = p.block_number AND e.log_index = p.log_index "
            f"ORDER BY e.block_number {d}, e.log_index {d}"
        )
        params += [-1 if limit is None else int(limit), int(offset)]
        with self._db() as db:
            rows = db.execute(sql, params).fetchall()
        return [self._event(*row) for row in rows]

    def count(
        self,
        name: str | None = None,
        filters: Mapping[str, Any] | None = None,
        *,
        from_block: int | None = None,
        to_block: int | None = None,
    ) -> int:
        """Number of indexed events matching (as :meth:`events`), from the file only.

        By name, or by name and one argument (a value or a list), over the whole history:
        read from the counts kept as events are written (O(1)); otherwise an index scan.
        """
        alias, where, params = self._where(name, filters, from_block, to_block)
        items = list((filters or {}).items())
        kept = from_block is None and to_block is None and len(items) <= 1
        with self._db() as db:
            if kept and not items:  # kept in `counts`: O(1)
                row = db.execute(
                    "SELECT COALESCE(SUM(n), 0) FROM counts WHERE arg = '' "
                    + ("AND name = ?" if name is not None else ""),
                    () if name is None else (name,),
                ).fetchone()
            elif kept and name is not None:
                values = self._filter_values(name, *items[0])
                row = db.execute(
                    "SELECT COALESCE(SUM(n), 0) FROM counts WHERE name = ? AND arg = ? "
                    f"AND value IN ({', '.join('?' * len(values))})",
                    (name, items[0][0], *values),
                ).fetchone()
            else:  # an index range scan
                table = "events e" if alias == "e" else "event_args k"
                row = db.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params).fetchone()
        return int(row[0])

    def values(
        self,
        name: str,
        filters: Mapping[str, Any] | None = None,
        args: Sequence[str] = (),
        *,
        from_block: int | None = None,
        to_block: int | None = None,
        order: str = "asc",
    ) -> list[tuple[Any, ...]]:
        """For each matching event (as :meth:`events`), the values of the scalar ``args``, as
        ``(block_number, log_index, *values)`` tuples, from the file only.

        No event is decoded through the ABI: one query, then each row's stored JSON read
        (integers as ``int``, ``bool`` as ``bool``, addresses checksummed, bytes as ``0x``
        hex), so a column of a few thousand events costs a few milliseconds: for sums, maxima
        and set differences over a model's or a book's history.
        """
        if order not in ("asc", "desc"):
            raise ConfigError(f"order must be 'asc' or 'desc', not {order!r}")
        alias, where, params = self._where(name, filters, from_block, to_block)
        specs = [self._arg_spec(name, a) for a in args]
        d = "DESC" if order == "desc" else "ASC"
        if alias == "e":
            sql = f"SELECT e.block_number, e.log_index, e.args FROM events e WHERE {where} "
        else:  # the filter's lookup rows first, then each event's stored arguments
            sql = (
                "SELECT e.block_number, e.log_index, e.args FROM event_args k JOIN events e "
                "ON e.block_number = k.block_number AND e.log_index = k.log_index "
                f"WHERE {where} "
            )
        sql += f"ORDER BY {alias}.block_number {d}, {alias}.log_index {d}"
        with self._db() as db:
            rows = db.execute(sql, params).fetchall()
        # addresses are stored as web3 decoded them (checksummed): taken as they are, since
        # checksumming thousands of them again (keccak each) would cost more than the query
        plain = [s["type"] == "address" for s in specs]
        out = []
        for block, log, text in rows:
            raw = json.loads(text)  # exact big integers, unlike SQLite's json_extract
            out.append(
                (int(block), int(log),
                 *(raw[s["name"]] if fast else _typed(s, _key_text(s, raw[s["name"]]))
                   for s, fast in zip(specs, plain, strict=True)))
            )  # fmt: skip
        return out

    def fold(
        self,
        key: Hashable,
        sources: Sequence[FoldSource],
        start: Callable[[], S],
        step: Callable[[S, str, tuple[Any, ...]], None],
        view: Callable[[S], R] | None = None,
    ) -> S | R:
        """The running fold ``key``: ``step(state, name, values)`` applied to ``start()`` for
        every event of ``sources`` in the file, in chain order, from the file only; returned
        as ``view(state)`` (computed under the fold's lock, so no other thread steps the state
        meanwhile), or the state itself if ``view`` is None.

        Kept in memory with the position of the last event taken, so a call costs the events
        indexed since the previous call with the same ``key`` (one query per source from that
        block on), unless the file's :attr:`epoch` changed since, in which case the fold starts
        over. ``key`` names the fold and everything it depends on (e.g. ``("owner_totals",
        model_id)``); ``step`` mutates ``state`` in place. The state returned is the one kept:
        a caller must not change it. Thread-safe (one fold at a time per index).
        """
        with self._folds_lock:
            for _ in range(3):
                epoch = self.epoch
                running = self._folds.get(key)
                if running is None or running.epoch != epoch:
                    running = _Running(epoch, (self.from_block - 1, -1), start())
                after = running.position
                rows = self._rows_after(sources, after)
                if self.epoch != epoch:
                    continue  # rewritten while read: read again from the new epoch
                try:
                    for _block, _log, name, values in rows:
                        step(running.state, name, values)
                except BaseException:
                    self._folds.pop(key, None)  # half-stepped: start over next time
                    raise
                if rows:
                    running.position = (rows[-1][0], rows[-1][1])
                self._folds[key] = running
                return running.state if view is None else view(running.state)
            raise ChainError(f"the event index at {self.path} kept changing while it was read")

    def _rows_after(
        self, sources: Sequence[FoldSource], after: tuple[int, int]
    ) -> list[tuple[int, int, str, tuple[Any, ...]]]:
        """The indexed events of ``sources`` after position ``after``, in chain order."""
        since = max(after[0], self.from_block)
        return fold_rows(
            lambda src: self.values(src.name, src.filters, src.args, from_block=since),
            sources,
            after,
        )

    def _arg_spec(self, name: str, arg: str) -> dict[str, Any]:
        inputs = (i for s in self._by_name.get(name, []) for i in s.inputs)
        spec = next((i for i in inputs if i["name"] == arg), None)
        if spec is None or not _is_scalar(spec):
            raise ConfigError(f"'{arg}' is not a scalar argument of the event {name}")
        return spec

    def _event(
        self, name: str, args: str, topic: str, block: int, tx_hash: str, log_index: int
    ) -> ChainEvent:
        spec = self._specs[topic]
        raw = json.loads(args)
        decoded = {
            i["name"]: _from_json(i, raw[i["name"]], bool(i.get("indexed"))) for i in spec.inputs
        }
        return ChainEvent(name, decoded, int(block), tx_hash, int(log_index))


def _key_text(spec: Mapping[str, Any], json_value: Any) -> str:
    """The stored lookup text of an argument already in JSON form (see :func:`_canonical`)."""
    typ = spec["type"]
    if spec.get("indexed") and (typ in ("string", "bytes") or not _is_scalar(spec)):
        return str(json_value)  # the topic hash, already 0x hex
    if typ == "bool":
        return "1" if json_value else "0"
    if typ.startswith(("uint", "int")):
        return str(int(json_value))
    if typ == "address":
        return Web3.to_checksum_address(json_value)
    return str(json_value)


def _typed(spec: Mapping[str, Any], text: str | None) -> Any:
    """A stored lookup text (see :func:`_key_text`) back as a plain value: ``int``, ``bool``,
    or the text (checksum address, ``0x`` hex, string)."""
    if text is None:
        return None
    typ = spec["type"]
    if spec.get("indexed") and typ in ("string", "bytes"):
        return text
    if typ.startswith(("uint", "int")):
        return int(text)
    if typ == "bool":
        return text == "1"
    return text


def iter_pages(
    index: EventIndex,
    name: str | None = None,
    filters: Mapping[str, Any] | None = None,
    page: int = 500,
) -> Iterable[ChainEvent]:
    """Every matching event, read ``page`` at a time (for exports and replays)."""
    offset = 0
    while True:
        chunk = index.events(name, filters, limit=page, offset=offset)
        yield from chunk
        if len(chunk) < page:
            return
        offset += page
