"""The local submission journal: its state machine, backoff, replay guard and thread safety.

The store/chain side of the worker (``retry_pending``) is tested against a real chain and
store in ``test_workflow.py`` and ``test_chain_restart.py``.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import threading

import pytest

from hessian_common.errors import HessianError
from hessian_common.journal import (
    BACKOFF_MAX,
    LEASE_SECONDS,
    Journal,
    JournalError,
    State,
    backoff,
)
from hessian_common.store import cid_of

OLD_SCHEMA = """
CREATE TABLE submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, model_id INTEGER NOT NULL, owner TEXT NOT NULL,
    digest TEXT NOT NULL, rows INTEGER NOT NULL, deposit TEXT NOT NULL,
    label TEXT NOT NULL DEFAULT '', blob BLOB NOT NULL, state TEXT NOT NULL, cid TEXT,
    tx_hash TEXT, update_id INTEGER, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
    waiting_on TEXT, next_attempt_at REAL NOT NULL DEFAULT 0, created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
"""
"""The journal table as it was before the lease and the chain-first order."""

OWNER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


class Clock:
    """A hand-moved clock, so backoff is tested without sleeping."""

    def __init__(self, t: float = 1_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


def digest(i: int) -> bytes:
    return hashlib.sha256(f"dataset {i}".encode()).digest()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def journal(tmp_path, clock) -> Journal:
    return Journal(tmp_path / "owner" / "journal.sqlite", clock=clock)


def add(journal: Journal, i: int = 1, **kw) -> int:
    values = dict(model_id=1, owner=OWNER, digest=digest(i), rows=120, blob=b"{}", deposit=10)
    values.update(kw)
    return journal.add(**values).id


def test_new_entry_is_prepared_and_due(journal):
    e = journal.get(add(journal, label="owner_01.csv"))
    assert e.state is State.PREPARED and e.pending and not e.on_chain
    assert e.digest == "0x" + digest(1).hex()
    assert (e.rows, e.deposit, e.label, e.attempts) == (120, 10, "owner_01.csv", 0)
    assert journal.blob(e.id) == b"{}"
    assert e.cid == str(cid_of(b"{}"))  # known before anything leaves the machine
    assert [d.id for d in journal.due()] == [e.id]


def test_wal_mode(journal):
    with sqlite3.connect(journal.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_happy_path_states(journal):
    """Chain first, store second: prepared -> sent -> confirmed (on chain) -> published."""
    i = add(journal)
    assert journal.mark_sent(i, "0x" + "ab" * 32).state is State.SENT
    e = journal.mark_confirmed(i, 7)
    assert (e.state, e.update_id, e.tx_hash) == (State.CONFIRMED, 7, "0x" + "ab" * 32)
    assert e.pending and e.on_chain  # the blob still has to reach the store
    e = journal.mark_published(i)
    assert e.state is State.PUBLISHED and e.on_chain and not e.pending
    assert journal.due() == []


def test_illegal_transitions_are_refused(journal):
    i = add(journal)
    with pytest.raises(JournalError, match="cannot go from prepared to published"):
        journal.mark_published(i)
    journal.mark_failed(i, "model closed")
    with pytest.raises(JournalError, match="cannot go from failed to sent"):
        journal.mark_sent(i, "0x01")
    assert journal.get(i).last_error == "model closed"
    j = add(journal, 2)
    journal.mark_confirmed(j, 3)
    with pytest.raises(JournalError, match="cannot go from confirmed to failed"):
        journal.mark_failed(j, "too late: it is on chain")
    with pytest.raises(JournalError, match="no journal entry 999"):
        journal.mark_published(999)


def test_lost_transaction_goes_back_to_prepared(journal):
    i = add(journal)
    journal.mark_sent(i, "0x01")
    e = journal.mark_unsent(i, "not found after restart")
    assert e.state is State.PREPARED and e.tx_hash is None and e.cid == str(cid_of(b"{}"))


def test_lease_lets_one_worker_at_a_time(journal, clock):
    i = add(journal)
    assert journal.take_lease(i)
    assert not journal.take_lease(i)  # a second worker keeps off
    journal.release_lease(i)
    assert journal.take_lease(i)
    clock.t += LEASE_SECONDS + 1  # a crashed holder's lease runs out
    assert journal.take_lease(i)


def test_old_journals_are_migrated(tmp_path, clock):
    """An entry a previous version left 'stored' (blob put first) is simply not sent yet."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
        db.execute(
            "INSERT INTO submissions (model_id, owner, digest, rows, deposit, blob, state, cid, "
            "created_at, updated_at) VALUES (1, ?, ?, 5, '0', x'7b7d', 'stored', 'bafk', 1, 1)",
            (OWNER, "0x" + digest(1).hex()),
        )
    j = Journal(path, clock=clock)
    e = j.entries()[0]
    assert e.state is State.PREPARED and e.pending
    assert j.take_lease(e.id)


def test_submitted_pseudonyms(journal):
    a, b = b"A" * 8, b"B" * 8
    add(journal, 1, pseudonyms=[a, b])
    add(journal, 2, pseudonyms=[b"C" * 8])
    f = add(journal, 3, pseudonyms=[b"D" * 8])
    journal.mark_failed(f, "refused")  # a failed entry sent nothing
    add(journal, 4, model_id=2, pseudonyms=[b"E" * 8])
    assert journal.submitted_pseudonyms(1, OWNER.lower()) == {a, b, b"C" * 8}
    with pytest.raises(JournalError, match="8 bytes"):
        add(journal, 5, pseudonyms=[b"short"])


def test_backoff_doubles_and_is_capped():
    assert backoff(0) == 0
    assert [backoff(n, base=2) for n in (1, 2, 3, 4)] == [2, 4, 8, 16]
    assert backoff(50) == BACKOFF_MAX


def test_errors_wait_with_backoff(journal, clock):
    i = add(journal)
    e = journal.record_error(i, "store", "store: connection refused")
    assert (e.state, e.attempts, e.waiting_on) == (State.PREPARED, 1, "store")
    assert e.next_attempt_at == clock.t + 2
    assert journal.due() == []
    clock.t += 2
    assert [d.id for d in journal.due()] == [i]
    e = journal.record_error(i, "store", "again")
    assert e.attempts == 2 and e.next_attempt_at == clock.t + 4
    assert journal.retry_now(i).next_attempt_at == 0
    assert [d.id for d in journal.due()] == [i]
    # moving forward clears the wait
    journal.record_error(i, "chain", "down")
    e = journal.mark_confirmed(i, 4)
    assert e.waiting_on is None and e.next_attempt_at == 0


def test_same_digest_twice_is_a_replay(journal):
    add(journal, 1)
    with pytest.raises(JournalError, match="already has a submission"):
        add(journal, 1)
    # different data later, or the same data to another model, is fine
    add(journal, 2)
    add(journal, 1, model_id=2)
    assert len(journal.entries()) == 3
    assert journal.find(1, OWNER.lower(), digest(1)) is not None


def test_failed_entry_does_not_block_a_new_attempt(journal):
    i = add(journal, 1)
    journal.mark_failed(i, "deadline passed")
    j = add(journal, 1)
    assert j != i and journal.find(1, OWNER, digest(1)).id == j


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"digest": b"short"}, "32 bytes"),
        ({"digest": "0xzz"}, "not hex"),
        ({"rows": 0}, "rows must be positive"),
        ({"deposit": -1}, "deposit must not be negative"),
        ({"blob": b""}, "blob is empty"),
    ],
)
def test_bad_values_write_nothing(journal, kw, message):
    with pytest.raises(JournalError, match=message):
        add(journal, **kw)
    assert journal.entries() == []


def test_journal_error_is_a_hessian_error():
    assert issubclass(JournalError, HessianError)


def test_filters(journal):
    a = add(journal, 1)
    b = add(journal, 2, model_id=2)
    journal.mark_confirmed(b, 9)
    assert [e.id for e in journal.entries()] == [b, a]
    assert [e.id for e in journal.entries(model_id=2)] == [b]
    assert [e.id for e in journal.entries(states=(State.CONFIRMED,))] == [b]
    assert journal.entries(owner="0x" + "0" * 40) == []


def test_a_page_of_entries_is_taken_in_sql(journal):
    ids = [add(journal, i, model_id=1 + i % 2) for i in range(1, 8)]
    newest = ids[::-1]
    assert journal.count() == 7 and journal.count(model_id=2) == 4
    assert [e.id for e in journal.entries(limit=3)] == newest[:3]
    assert [e.id for e in journal.entries(limit=3, offset=6)] == newest[6:]
    assert journal.entries(limit=3, offset=7) == []
    assert [e.id for e in journal.entries(model_id=2, limit=2, offset=1)] == [
        i for i in newest if i in ids[0::2]
    ][1:3]
    assert journal.count(owner="0x" + "0" * 40) == 0


def test_reopen_keeps_everything(tmp_path, clock):
    path = tmp_path / "j.sqlite"
    j1 = Journal(path, clock=clock)
    i = add(j1)
    j1.mark_confirmed(i, 5)
    j2 = Journal(path, clock=clock)
    assert j2.get(i).state is State.CONFIRMED and j2.get(i).update_id == 5


def test_threads_share_one_journal(journal):
    """A web thread adding while a worker moves entries forward: no lost or doubled rows."""
    errors: list[BaseException] = []

    def writer(start: int) -> None:
        try:
            for k in range(start, start + 25):
                add(journal, k)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def worker() -> None:
        try:
            for _ in range(40):
                for e in journal.due():
                    with contextlib.suppress(JournalError):  # another thread moved it first
                        journal.mark_confirmed(e.id, e.id)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(s,)) for s in (0, 100, 200)]
    threads += [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    entries = journal.entries()
    assert len(entries) == 75
    assert len({e.digest for e in entries}) == 75
