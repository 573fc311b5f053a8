"""The data owner's last known chain state of each submission, for when the chain is down.

The journal (:mod:`hessian_common.journal`) knows how far a submission got on this machine;
whether the lender then accepted or rejected it, with which score and reward, only the chain
knows. :func:`hessian_common.owner.my_submissions` writes what it read from the chain here
each time the chain answers, and reads it back when the chain does not, so "My submissions"
shows the *last known* status (marked with the time it was read), never a guessed one.

A small SQLite file next to the journal (``<owner state>/status_cache.sqlite``), separate
from it: the journal's state machine is not touched. Three tables:

- ``submission_status(entry_id, update_id, status, score_before, new_score, reward, claimable,
  stale, checked_at)``: one row per journal entry that reached the chain;
- ``model_names(model_id, name, checked_at)``: the task names from the specs (immutable), so a
  page names a model while the chain is down instead of "Model 1";
- ``model_currencies(model_id, symbol, decimals, places, min_places, address)``: each model's
  currency (fixed at ``createModel``), so last known rewards keep their symbol and decimals.

It holds nothing secret: the same facts are public on chain.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from hessian_common.format import Currency

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submission_status (
    entry_id     INTEGER PRIMARY KEY,
    update_id    INTEGER,
    status       TEXT    NOT NULL,
    score_before INTEGER,
    new_score    INTEGER,
    reward       TEXT,
    claimable    TEXT    NOT NULL DEFAULT '0',
    stale        INTEGER NOT NULL DEFAULT 0,
    checked_at   REAL    NOT NULL
);
CREATE TABLE IF NOT EXISTS model_names (
    model_id   INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    checked_at REAL    NOT NULL
);
CREATE TABLE IF NOT EXISTS model_currencies (
    model_id   INTEGER PRIMARY KEY,
    symbol     TEXT    NOT NULL,
    decimals   INTEGER NOT NULL,
    places     INTEGER NOT NULL,
    min_places INTEGER NOT NULL,
    address    TEXT
);
"""


@dataclass(frozen=True)
class KnownStatus:
    """What the chain said about one submission, and when (``checked_at``, unix seconds)."""

    entry_id: int
    update_id: int | None
    status: str
    score_before: int | None
    new_score: int | None
    reward: int | None
    claimable: int
    stale: bool
    checked_at: float


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


class StatusCache:
    """The cache at ``path`` (created with its directory if missing).

    Parameters
    ----------
    path : str or Path
        E.g. ``<owner state>/status_cache.sqlite``.
    clock : callable
        Returns the time written as ``checked_at`` (``time.time``; tests pass their own).
    """

    def __init__(self, path: str | Path, *, clock=time.time) -> None:
        self.path = Path(path)
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
        try:
            db.row_factory = sqlite3.Row
            yield db
        finally:
            db.close()

    # ---------------------------------------------------------------- submissions

    def save(
        self,
        entry_id: int,
        *,
        status: str,
        update_id: int | None = None,
        score_before: int | None = None,
        new_score: int | None = None,
        reward: int | None = None,
        claimable: int = 0,
        stale: bool = False,
    ) -> KnownStatus:
        """Record what the chain says now about journal entry ``entry_id``."""
        now = float(self.clock())
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO submission_status (entry_id, update_id, status, "
                "score_before, new_score, reward, claimable, stale, checked_at) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    int(entry_id),
                    None if update_id is None else int(update_id),
                    str(status),
                    None if score_before is None else int(score_before),
                    None if new_score is None else int(new_score),
                    None if reward is None else str(int(reward)),
                    str(int(claimable)),
                    int(bool(stale)),
                    now,
                ),
            )
        return KnownStatus(
            int(entry_id),
            update_id,
            status,
            score_before,
            new_score,
            reward,
            int(claimable),
            bool(stale),
            now,
        )

    def known(self) -> dict[int, KnownStatus]:
        """Every recorded status, by journal entry id."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM submission_status").fetchall()
        return {
            int(r["entry_id"]): KnownStatus(
                entry_id=int(r["entry_id"]),
                update_id=r["update_id"],
                status=r["status"],
                score_before=r["score_before"],
                new_score=r["new_score"],
                reward=_int(r["reward"]),
                claimable=int(r["claimable"]),
                stale=bool(r["stale"]),
                checked_at=float(r["checked_at"]),
            )
            for r in rows
        }

    def get(self, entry_id: int) -> KnownStatus | None:
        """The recorded status of one entry, or ``None``."""
        return self.known().get(int(entry_id))

    # ---------------------------------------------------------------- model names

    def save_names(self, names: dict[int, str]) -> None:
        """Record task names (from the specs) by model id."""
        now = float(self.clock())
        with self._connect() as db:
            db.executemany(
                "INSERT OR REPLACE INTO model_names (model_id, name, checked_at) VALUES (?,?,?)",
                [(int(k), str(v), now) for k, v in names.items()],
            )

    def names(self) -> dict[int, str]:
        """Every recorded task name, by model id."""
        with self._connect() as db:
            rows = db.execute("SELECT model_id, name FROM model_names").fetchall()
        return {int(r["model_id"]): str(r["name"]) for r in rows}

    # ---------------------------------------------------------------- model currencies

    def save_currency(self, model_id: int, currency: Currency) -> None:
        """Record ``model_id``'s currency (it never changes once the model exists)."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO model_currencies "
                "(model_id, symbol, decimals, places, min_places, address) VALUES (?,?,?,?,?,?)",
                (int(model_id), currency.symbol, int(currency.decimals), int(currency.places),
                 int(currency.min_places), currency.address),
            )  # fmt: skip

    def currencies(self) -> dict[int, Currency]:
        """Every recorded model currency, by model id."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM model_currencies").fetchall()
        return {
            int(r["model_id"]): Currency(
                symbol=r["symbol"],
                decimals=int(r["decimals"]),
                places=int(r["places"]),
                min_places=int(r["min_places"]),
                address=r["address"],
            )
            for r in rows
        }


__all__ = ["KnownStatus", "StatusCache"]
