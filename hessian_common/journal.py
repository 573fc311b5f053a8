"""The data owner's local submission journal: no submission is lost when the store or chain is down.

Every submission is written here *before* anything leaves the machine, then moves through a
small state machine, one step per successful call to the outside world::

    prepared ──submitUpdate──▶ sent ──receipt──▶ confirmed ──put blob──▶ published
        │                       │                    (on chain)          (in the store)
        └───────────────────────┴──▶ failed(reason)   (never retried)

- ``prepared``: the encrypted, signed update blob is computed and kept here with its CID
  (computed locally, :func:`hessian_common.store.cid_of`); nothing has left the machine.
- ``sent``: ``submitUpdate`` was broadcast; its transaction hash is known but not yet mined.
  (``ChainClient.transact`` returns only once the receipt is in, so the worker goes from
  ``prepared`` straight to ``confirmed``; a ``sent`` entry is handled like a ``prepared`` one:
  the chain is asked first.)
- ``confirmed``: the submission is on chain (update id, hash known); the blob is not yet in the
  content store.
- ``published``: the blob is in the store, where the lender fetches it. Done.
- ``failed``: the contract refused for good (model closed, deadline passed, ...); the reason is
  kept.

Chain first, store second: the blob (its ciphertexts) becomes public only once the
submission holding its CID is mined. Someone watching pending transactions sees the CID but
cannot fetch the ciphertexts to re-sign them as their own and get ahead in the model's queue
(the lender evaluates in submission order); a copy of the CID itself is worthless, since the
blob names and is signed by this owner. The lender waits (within the evaluation window) for a
blob that is not in the store yet.

When the store or the chain cannot be reached the entry stays where it is, its ``attempts`` and
``last_error`` are updated and it waits ``backoff(attempts)`` seconds (exponential, capped)
before :func:`retry_pending` tries again.

Exactly once: before (re-)sending a transaction, :func:`retry_pending` asks the chain whether
this owner's dataset digest is already recorded for that model (``digestUsedBy(model, owner,
digest)``) and, if so, takes that submission instead of sending again. And only one worker moves
an entry at a time: a step first takes a *lease* on it (an atomic ``UPDATE`` in SQLite, valid
``LEASE_SECONDS``), so the web request that just created the entry and the background worker
never both send (the race that once mined a second, reverted ``submitUpdate``).

What is stored: the encrypted update blob (what goes to the store anyway), its CID, the dataset
digest, the number of rows, the rows' pseudonyms (kept here only, to refuse resubmitting the
same rows, see :meth:`Journal.submitted_pseudonyms`), the model id, the deposit and transaction
data. The raw CSV and its rows never enter the journal.

The database is SQLite in WAL mode; every call opens its own short connection, so a background
worker thread and the web thread can use one :class:`Journal` at the same time.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from hessian_common.chain.repository import ModelRepository
from hessian_common.errors import (
    ChainError,
    ChainUnavailable,
    ConfigError,
    ContractRevert,
    JournalError,
    StoreError,
)
from hessian_common.format import format_amount
from hessian_common.store.base import ContentStore
from hessian_common.store.cid import cid_of
from hessian_common.types import hex32


class State(StrEnum):
    """Where a submission stands locally (see the module docstring for the diagram)."""

    PREPARED = "prepared"
    SENT = "sent"
    CONFIRMED = "confirmed"
    PUBLISHED = "published"
    FAILED = "failed"


PENDING_STATES = (State.PREPARED, State.SENT, State.CONFIRMED)
"""States :func:`retry_pending` still works on."""

ON_CHAIN_STATES = (State.CONFIRMED, State.PUBLISHED)
"""States of a submission recorded on chain (it has an update id)."""

_ALLOWED: dict[State, tuple[State, ...]] = {
    State.PREPARED: (State.SENT, State.CONFIRMED, State.FAILED),
    State.SENT: (State.CONFIRMED, State.PREPARED, State.FAILED),
    State.CONFIRMED: (State.PUBLISHED,),
    State.PUBLISHED: (),
    State.FAILED: (),
}
"""Legal transitions. ``sent -> prepared`` happens when a chain restart lost the transaction."""

LEASE_SECONDS = 300.0
"""How long one worker may hold an entry (longer than a send and a put take; a crashed
worker's lease simply runs out)."""

BACKOFF_BASE = 2.0
"""Seconds to wait after the first failed attempt; doubles with each further attempt."""

BACKOFF_MAX = 300.0
"""Longest wait between two attempts, in seconds."""


def backoff(attempts: int, base: float = BACKOFF_BASE, cap: float = BACKOFF_MAX) -> float:
    """Seconds to wait after ``attempts`` failed attempts: ``min(base · 2^(attempts−1), cap)``."""
    if attempts <= 0:
        return 0.0
    return min(base * 2.0 ** (attempts - 1), cap)


@dataclass(frozen=True)
class Entry:
    """One row of the journal (the update blob itself is read with :meth:`Journal.blob`)."""

    id: int
    model_id: int
    owner: str
    digest: str
    rows: int
    deposit: int
    label: str
    state: State
    cid: str | None
    tx_hash: str | None
    update_id: int | None
    attempts: int
    last_error: str | None
    waiting_on: str | None
    next_attempt_at: float
    created_at: float
    updated_at: float
    min_reserve: int = 0
    """The least stale reserve the owner accepted when it shared (``submitUpdate`` refuses
    less: a flood mined just before cannot shrink what the owner was shown)."""

    @property
    def pending(self) -> bool:
        """True while :func:`retry_pending` still has work to do on this entry."""
        return self.state in PENDING_STATES

    @property
    def on_chain(self) -> bool:
        """The submission is recorded on chain (``update_id`` is set)."""
        return self.state in ON_CHAIN_STATES


_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id        INTEGER NOT NULL,
    owner           TEXT    NOT NULL,
    digest          TEXT    NOT NULL,
    rows            INTEGER NOT NULL,
    deposit         TEXT    NOT NULL,
    label           TEXT    NOT NULL DEFAULT '',
    blob            BLOB    NOT NULL,
    state           TEXT    NOT NULL,
    cid             TEXT,
    tx_hash         TEXT,
    update_id       INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    waiting_on      TEXT,
    next_attempt_at REAL    NOT NULL DEFAULT 0,
    created_at      REAL    NOT NULL,
    updated_at      REAL    NOT NULL,
    lease_until     REAL    NOT NULL DEFAULT 0,
    pseudonyms      BLOB,
    min_reserve     TEXT    NOT NULL DEFAULT '0'
);
CREATE UNIQUE INDEX IF NOT EXISTS one_live_submission_per_digest
    ON submissions (model_id, owner, digest) WHERE state != 'failed';
CREATE INDEX IF NOT EXISTS by_state ON submissions (state, next_attempt_at);
"""

_MIGRATIONS = (
    # journals written before the lease and the pseudonyms
    "ALTER TABLE submissions ADD COLUMN lease_until REAL NOT NULL DEFAULT 0",
    "ALTER TABLE submissions ADD COLUMN pseudonyms BLOB",
    "ALTER TABLE submissions ADD COLUMN min_reserve TEXT NOT NULL DEFAULT '0'",
    # the old order put the blob in the store first: such an entry is simply not sent yet
    "UPDATE submissions SET state = 'prepared' WHERE state = 'stored'",
)

_COLUMNS = (
    "id, model_id, owner, digest, rows, deposit, label, state, cid, tx_hash, update_id, "
    "attempts, last_error, waiting_on, next_attempt_at, created_at, updated_at, min_reserve"
)


def _row(r: sqlite3.Row) -> Entry:
    return Entry(
        id=r["id"],
        model_id=r["model_id"],
        owner=r["owner"],
        digest=r["digest"],
        rows=r["rows"],
        deposit=int(r["deposit"]),
        label=r["label"],
        state=State(r["state"]),
        cid=r["cid"],
        tx_hash=r["tx_hash"],
        update_id=r["update_id"],
        attempts=r["attempts"],
        last_error=r["last_error"],
        waiting_on=r["waiting_on"],
        next_attempt_at=r["next_attempt_at"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        min_reserve=int(r["min_reserve"]),
    )


class Journal:
    """The SQLite journal at ``path`` (created with its parent directory if missing).

    Parameters
    ----------
    path : str or Path
        The database file, e.g. ``$HESSIAN_HOME/owner/journal.sqlite``.
    clock : callable, optional
        Returns the current time in seconds (``time.time`` by default); tests pass a fake one.
    backoff_base, backoff_max : float
        Retry delays, see :func:`backoff`.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        clock: Callable[[], float] = time.time,
        backoff_base: float = BACKOFF_BASE,
        backoff_max: float = BACKOFF_MAX,
    ) -> None:
        self.path = Path(path)
        self.clock = clock
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            for sql in _MIGRATIONS:
                with contextlib.suppress(sqlite3.OperationalError):  # already applied
                    db.execute(sql)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("PRAGMA synchronous = FULL")
            yield db
        finally:
            db.close()

    # ---------------------------------------------------------------- reading

    def get(self, entry_id: int) -> Entry:
        """The entry ``entry_id``; raises :class:`JournalError` if there is none."""
        with self._connect() as db:
            r = db.execute(
                f"SELECT {_COLUMNS} FROM submissions WHERE id = ?", (entry_id,)
            ).fetchone()
        if r is None:
            raise JournalError(f"no journal entry {entry_id} in {self.path}")
        return _row(r)

    def blob(self, entry_id: int) -> bytes:
        """The encrypted update blob of entry ``entry_id`` (what goes to the store)."""
        with self._connect() as db:
            r = db.execute("SELECT blob FROM submissions WHERE id = ?", (entry_id,)).fetchone()
        if r is None:
            raise JournalError(f"no journal entry {entry_id} in {self.path}")
        return bytes(r["blob"])

    def entries(
        self,
        *,
        owner: str | None = None,
        model_id: int | None = None,
        states: tuple[State, ...] | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[Entry]:
        """Entries, newest first, optionally filtered by owner, model and states; ``limit``
        and ``offset`` take one page of them (in SQL: a page costs what it shows)."""
        where, args = self._where(owner, model_id, states)
        sql = f"SELECT {_COLUMNS} FROM submissions{where} ORDER BY id DESC"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            args += [max(0, int(limit)), max(0, int(offset))]
        with self._connect() as db:
            return [_row(r) for r in db.execute(sql, args)]

    def count(
        self,
        *,
        owner: str | None = None,
        model_id: int | None = None,
        states: tuple[State, ...] | None = None,
    ) -> int:
        """How many entries :meth:`entries` would list with the same filters."""
        where, args = self._where(owner, model_id, states)
        with self._connect() as db:
            return int(db.execute(f"SELECT COUNT(*) FROM submissions{where}", args).fetchone()[0])

    @staticmethod
    def _where(
        owner: str | None, model_id: int | None, states: tuple[State, ...] | None
    ) -> tuple[str, list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        if owner is not None:
            where.append("lower(owner) = lower(?)")
            args.append(owner)
        if model_id is not None:
            where.append("model_id = ?")
            args.append(int(model_id))
        if states:
            where.append(f"state IN ({','.join('?' * len(states))})")
            args.extend(str(s) for s in states)
        return (" WHERE " + " AND ".join(where) if where else ""), args

    def find(self, model_id: int, owner: str, digest: bytes | str) -> Entry | None:
        """The live (not failed) entry of this owner for this digest and model, if any."""
        d = hex32(digest, "dataset digest", JournalError)
        with self._connect() as db:
            r = db.execute(
                f"SELECT {_COLUMNS} FROM submissions WHERE model_id = ? AND lower(owner) = "
                "lower(?) AND digest = ? AND state != 'failed'",
                (int(model_id), owner, d),
            ).fetchone()
        return None if r is None else _row(r)

    def due(self, now: float | None = None) -> list[Entry]:
        """Pending entries whose next attempt time has come, oldest first."""
        now = self.clock() if now is None else now
        with self._connect() as db:
            rows = db.execute(
                f"SELECT {_COLUMNS} FROM submissions WHERE state IN (?, ?, ?) "
                "AND next_attempt_at <= ? ORDER BY id",
                (*[str(s) for s in PENDING_STATES], now),
            ).fetchall()
        return [_row(r) for r in rows]

    def submitted_pseudonyms(self, model_id: int, owner: str) -> set[bytes]:
        """The row pseudonyms of this owner's live (not failed) submissions to ``model_id``."""
        out: set[bytes] = set()
        with self._connect() as db:
            for r in db.execute(
                "SELECT pseudonyms FROM submissions WHERE model_id = ? AND lower(owner) = "
                "lower(?) AND state != 'failed' AND pseudonyms IS NOT NULL",
                (int(model_id), owner),
            ):
                raw = bytes(r["pseudonyms"])
                out.update(raw[i : i + 8] for i in range(0, len(raw), 8))
        return out

    # ---------------------------------------------------------------- the lease

    def take_lease(self, entry_id: int, seconds: float = LEASE_SECONDS) -> bool:
        """Atomically claim ``entry_id`` for one worker step; ``False`` if someone holds it."""
        now = self.clock()
        with self._connect() as db:
            cur = db.execute(
                "UPDATE submissions SET lease_until = ? WHERE id = ? AND lease_until <= ?",
                (now + seconds, entry_id, now),
            )
            return cur.rowcount == 1

    def release_lease(self, entry_id: int) -> None:
        """Give the entry back (the next worker step may take it at once)."""
        with self._connect() as db:
            db.execute("UPDATE submissions SET lease_until = 0 WHERE id = ?", (entry_id,))

    # ---------------------------------------------------------------- writing

    def add(
        self,
        *,
        model_id: int,
        owner: str,
        digest: bytes | str,
        rows: int,
        blob: bytes,
        deposit: int = 0,
        label: str = "",
        pseudonyms: list[bytes] | None = None,
        min_reserve: int = 0,
    ) -> Entry:
        """Record a new submission in state ``prepared`` (its CID computed here) and return it.

        Raises :class:`JournalError` if this owner already has a live entry for the same digest
        and model (a replay), or if the values are out of range. Nothing is written then.
        """
        d = hex32(digest, "dataset digest", JournalError)
        if int(rows) <= 0:
            raise JournalError(f"rows must be positive, got {rows}")
        if int(deposit) < 0:
            raise JournalError(f"deposit must not be negative, got {deposit}")
        if not blob:
            raise JournalError("the update blob is empty")
        if pseudonyms is not None and any(len(p) != 8 for p in pseudonyms):
            raise JournalError("row pseudonyms are 8 bytes each")
        packed = b"".join(pseudonyms) if pseudonyms is not None else None
        now = self.clock()
        with self._connect() as db:
            try:
                cur = db.execute(
                    "INSERT INTO submissions (model_id, owner, digest, rows, deposit, label, "
                    "blob, state, cid, created_at, updated_at, pseudonyms, min_reserve) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (
                        int(model_id),
                        owner,
                        d,
                        int(rows),
                        str(int(deposit)),
                        label,
                        bytes(blob),
                        str(State.PREPARED),
                        str(cid_of(bytes(blob))),
                        now,
                        now,
                        packed,
                        str(int(min_reserve)),
                    ),
                )
            except sqlite3.IntegrityError as exc:
                raise JournalError(
                    f"{owner} already has a submission of dataset {d} to model {model_id} "
                    "in the journal"
                ) from exc
            entry_id = cur.lastrowid
        return self.get(int(entry_id))

    def _move(self, entry_id: int, to: State, **values: Any) -> Entry:
        """Change state with a guard on the current one; ``values`` set other columns."""
        sources = [s for s, targets in _ALLOWED.items() if to in targets]
        sets = ["state = ?", "updated_at = ?"]
        args: list[Any] = [str(to), self.clock()]
        for key, value in values.items():
            sets.append(f"{key} = ?")
            args.append(value)
        with self._connect() as db:
            cur = db.execute(
                f"UPDATE submissions SET {', '.join(sets)} WHERE id = ? "
                f"AND state IN ({','.join('?' * len(sources))})",
                (*args, entry_id, *[str(s) for s in sources]),
            )
            changed = cur.rowcount
        if not changed:
            current = self.get(entry_id).state  # raises if the entry does not exist
            raise JournalError(f"journal entry {entry_id} cannot go from {current} to {to}")
        return self.get(entry_id)

    def mark_published(self, entry_id: int) -> Entry:
        """The blob is in the store under the entry's CID."""
        return self._move(
            entry_id, State.PUBLISHED, waiting_on=None, next_attempt_at=0.0, last_error=None
        )

    def mark_sent(self, entry_id: int, tx_hash: str) -> Entry:
        """``submitUpdate`` was broadcast as ``tx_hash``."""
        return self._move(entry_id, State.SENT, tx_hash=str(tx_hash), waiting_on=None)

    def mark_confirmed(self, entry_id: int, update_id: int, tx_hash: str | None = None) -> Entry:
        """The submission is on chain as update ``update_id``."""
        values: dict[str, Any] = {
            "update_id": int(update_id),
            "waiting_on": None,
            "last_error": None,
            "next_attempt_at": 0.0,
        }
        if tx_hash:
            values["tx_hash"] = str(tx_hash)
        return self._move(entry_id, State.CONFIRMED, **values)

    def mark_unsent(self, entry_id: int, reason: str) -> Entry:
        """The recorded transaction is not on chain (e.g. the node restarted): send again."""
        return self._move(entry_id, State.PREPARED, tx_hash=None, last_error=reason)

    def mark_failed(self, entry_id: int, reason: str) -> Entry:
        """Give up for good (the contract refused); ``reason`` is shown to the owner."""
        return self._move(entry_id, State.FAILED, last_error=reason, waiting_on=None)

    def record_error(self, entry_id: int, waiting_on: str, message: str) -> Entry:
        """A retryable failure: count the attempt and wait ``backoff(attempts)`` seconds.

        ``waiting_on`` is ``"store"`` or ``"chain"``; the state does not change.
        """
        now = self.clock()
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            r = db.execute("SELECT attempts FROM submissions WHERE id = ?", (entry_id,)).fetchone()
            if r is None:
                db.execute("ROLLBACK")
                raise JournalError(f"no journal entry {entry_id} in {self.path}")
            attempts = r["attempts"] + 1
            db.execute(
                "UPDATE submissions SET attempts = ?, last_error = ?, waiting_on = ?, "
                "next_attempt_at = ?, updated_at = ? WHERE id = ?",
                (
                    attempts,
                    message,
                    waiting_on,
                    now + backoff(attempts, self.backoff_base, self.backoff_max),
                    now,
                    entry_id,
                ),
            )
            db.execute("COMMIT")
        return self.get(entry_id)

    def count_attempt(self, entry_id: int) -> None:
        """Count a successful attempt (a step moved forward); resets the wait."""
        with self._connect() as db:
            db.execute(
                "UPDATE submissions SET attempts = attempts + 1, next_attempt_at = 0, "
                "waiting_on = NULL WHERE id = ?",
                (entry_id,),
            )

    def retry_now(self, entry_id: int) -> Entry:
        """Make a waiting entry due immediately (the owner pressed "retry now")."""
        with self._connect() as db:
            db.execute(
                "UPDATE submissions SET next_attempt_at = 0 WHERE id = ? AND state IN (?,?,?)",
                (entry_id, *[str(s) for s in PENDING_STATES]),
            )
        return self.get(entry_id)


# -------------------------------------------------------------------- the worker step


def _revert_text(exc: ContractRevert) -> str:
    name = exc.error_name or "revert"
    if name == "ReserveTooLow" and len(exc.error_args) == 2:
        left, shown = (int(a) for a in exc.error_args)
        return (
            f"submissions mined just before yours left a stale reserve of {format_amount(left)}, "
            f"below the {format_amount(shown)} you were shown; nothing was sent and your data "
            "stays private. Share the file again to accept the new terms"
        )
    args = ", ".join(str(a) for a in exc.error_args)
    return f"{name}({args})" if args else f"{name}: {exc}"


def _find_on_chain(repo: ModelRepository, entry: Entry) -> int | None:
    """This owner's update id for ``entry.digest`` on its model (``digestUsedBy``), or None."""
    used = int(repo.digest_used(entry.model_id, entry.digest, owner=entry.owner))
    return used or None


def _step(
    journal: Journal, entry: Entry, store: ContentStore, get_repo: Callable[[], ModelRepository]
) -> Entry:
    """Move one entry as far forward as the chain and store allow (under its lease)."""
    if not journal.take_lease(entry.id):
        return journal.get(entry.id)  # another worker is moving it right now
    try:
        entry = journal.get(entry.id)  # what the previous holder left
        if entry.state in (State.PREPARED, State.SENT):
            entry = _to_chain(journal, entry, get_repo)
        if entry.state is State.CONFIRMED:
            entry = _to_store(journal, entry, store)
        return entry
    finally:
        journal.release_lease(entry.id)


def _to_chain(journal: Journal, entry: Entry, get_repo: Callable[[], Any]) -> Entry:
    try:
        repo = get_repo()
        signer = str(repo.client.address)
        if signer.lower() != entry.owner.lower():
            return journal.record_error(
                entry.id,
                "chain",
                f"signed in as {signer}; this submission belongs to {entry.owner}",
            )
        # Exactly once: whatever we recorded locally, the chain decides whether it landed.
        update_id = _find_on_chain(repo, entry)
    except ContractRevert as exc:  # e.g. UnknownModel: this will never land
        return journal.mark_failed(entry.id, f"the contract refused: {_revert_text(exc)}")
    except ChainError as exc:  # ChainUnavailable and transport trouble: wait and retry
        return journal.record_error(entry.id, "chain", f"chain: {exc}")
    if update_id is not None:
        return journal.mark_confirmed(entry.id, update_id)
    if entry.state is State.SENT:
        entry = journal.mark_unsent(
            entry.id, f"transaction {entry.tx_hash} is not on chain; sending again"
        )

    try:
        submitted = repo.submit(
            entry.model_id, entry.cid, entry.digest, entry.rows, entry.min_reserve
        )
    except ChainUnavailable as exc:
        return journal.record_error(entry.id, "chain", f"chain: {exc}")
    except ContractRevert as exc:
        # Refused for good, unless it was refused because our own earlier send landed.
        try:
            update_id = _find_on_chain(repo, entry)
        except ChainError:
            update_id = None
        if update_id is not None:
            return journal.mark_confirmed(entry.id, update_id)
        return journal.mark_failed(entry.id, f"the contract refused: {_revert_text(exc)}")
    except ChainError as exc:  # e.g. not mined in time: check the chain again next time
        return journal.record_error(entry.id, "chain", f"chain: {exc}")
    except ConfigError as exc:  # a token deposit the wallet no longer holds: nothing sent
        return journal.mark_failed(entry.id, str(exc))
    return journal.mark_confirmed(entry.id, submitted.update_id, submitted.tx_hash)


def _to_store(journal: Journal, entry: Entry, store: ContentStore) -> Entry:
    try:
        cid = store.put(journal.blob(entry.id))
    except (StoreError, OSError) as exc:  # OSError: a store directory that went away
        return journal.record_error(entry.id, "store", f"store: {exc}")
    if str(cid) != entry.cid:
        return journal.mark_failed(entry.id, f"the store named the blob {cid}, not {entry.cid}")
    with contextlib.suppress(StoreError):
        store.pin(cid)
    return journal.mark_published(entry.id)


def retry_pending(
    journal: Journal, store: ContentStore, repo: RepositorySource, now: float | None = None
) -> list[Entry]:
    """One worker step: move every due pending entry as far forward as possible.

    Parameters
    ----------
    journal : Journal
    store : hessian_common.store.ContentStore
    repo : hessian_common.chain.ModelRepository, or a callable returning one
        Signs with the owner's account (the entries' ``owner``). A callable is only called when
        an entry needs the chain, and may raise ``ChainUnavailable`` (the entry then waits).
    now : float, optional
        Current time (defaults to the journal's clock).

    Returns
    -------
    list of Entry
        The entries that were due, in their new state. Entries waiting on the store or chain
        keep their state, with ``attempts``, ``last_error`` and ``next_attempt_at`` updated;
        an entry another worker holds is returned as it is.
    """
    return [
        _step(journal, entry, store, lambda: repository_from(repo)) for entry in journal.due(now)
    ]


RepositorySource = ModelRepository | Callable[[], ModelRepository]
"""A :class:`ModelRepository`, or a factory returning one (it may raise ``ChainUnavailable``):
an app hands its factory so a chain that is down when the app starts is not fatal."""


def repository_from(source: RepositorySource) -> ModelRepository:
    """The repository ``source`` names: itself, or what the factory returns (which may raise
    ``ChainUnavailable``). The one place that tells a repository from a factory: a factory is
    callable, a repository (or a stand-in with its methods, such as the simulation's
    front-running proxy) is not."""
    return source() if callable(source) else source
