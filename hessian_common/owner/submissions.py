"""My submissions: the journal's entries joined with their state on chain (or, while the
chain does not answer, the last status read, never one guessed from the journal)."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hessian_common.chain import pages
from hessian_common.chain.outage import current_scope, fresh_reads
from hessian_common.chain.pages import Page
from hessian_common.chain.repository import ModelRepository
from hessian_common.errors import ChainError
from hessian_common.format import ETH, Currency
from hessian_common.journal import Entry, Journal, State
from hessian_common.owner.status_cache import StatusCache
from hessian_common.types import enum_name

STATUS_LABELS = {
    "queued": "Queued",
    "waiting_store": "Waiting for store",
    "waiting_chain": "Waiting for chain",
    "publishing": "On chain; publishing to the store",
    "waiting_evaluation": "Waiting for evaluation",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "failed": "Not sent",
    "unknown": "On chain, status unknown",
}
"""``unknown``: on chain (the journal has its update id) but the chain does not answer and
its status was never read on this machine: shown as such, never guessed."""


@dataclass(frozen=True)
class MySubmission:
    """A journal entry joined with its on-chain state."""

    entry: Entry
    status: str
    score_before: int | None = None
    new_score: int | None = None
    reward: int | None = None
    claimable: int = 0
    stale: bool = False
    reason: str | None = None
    """Why the lender rejected it (``Reason.text``), None otherwise."""
    paid_gain: int = 0
    """The gain (ppm) the contract paid for (0: not paid, e.g. below the model's minimum)."""
    forfeitable: int = 0
    """About what this submission can claim of a bounty the lender forfeited by not revealing
    its evaluations before the deadline (:func:`forfeit_share`)."""
    currency: Currency = ETH
    """The model's currency (reward, claimable and deposit are in it; read from the chain; ether
    when only the last known status is shown)."""
    known_at: float | None = None
    """``None``: read from the chain now. Else the chain did not answer and this is the last
    known status, read at this time (from :class:`~.status_cache.StatusCache`)."""

    @property
    def status_label(self) -> str:
        """Human status (``"Waiting for chain"``)."""
        return STATUS_LABELS[self.status]

    @property
    def last_known(self) -> bool:
        """True when the status is the last known one, not read from the chain now."""
        return self.known_at is not None

    @property
    def score_change(self) -> int | None:
        """New score minus the score before, in ppm (accepted ones)."""
        if self.new_score is None or self.score_before is None:
            return None
        return self.new_score - self.score_before


def local_status(entry: Entry) -> str:
    """Status key from the journal alone (see :data:`STATUS_LABELS`)."""
    if entry.state is State.FAILED:
        return "failed"
    if entry.state is State.PREPARED:
        return "waiting_chain" if entry.waiting_on == "chain" else "queued"
    if entry.state is State.SENT:
        return "waiting_chain"
    if entry.state is State.CONFIRMED:
        return "waiting_store" if entry.waiting_on == "store" else "publishing"
    return "waiting_evaluation"


def scores_before(repo: ModelRepository, model_ids: set[int]) -> Mapping[int, int]:
    """Update id -> the model's score (ppm) just before that update was evaluated.

    ``before(u) = max(initial, new scores of updates accepted before u)`` over each model's
    ``UpdateEvaluated`` events in chain order: the models' running folds
    (:func:`hessian_common.chain.pages.scores_before`), looked up, not copied.
    """
    return ChainMap(*(
        pages.scores_before(repo, mid, int(repo.model(mid).initial_score))
        for mid in sorted(model_ids)
    ))  # fmt: skip


def my_submissions_page(
    journal: Journal,
    repo: ModelRepository | None,
    owner: str,
    cache: StatusCache | None = None,
    number: int = 1,
    per_page: int | None = None,
    *,
    model_id: int | None = None,
) -> Page[MySubmission]:
    """One page of :func:`my_submissions`, newest first (of one model's if ``model_id``):
    the journal is paged first, so only the page's submissions are read from the chain."""
    size = per_page or pages.DEFAULT_PER_PAGE
    total = journal.count(owner=owner, model_id=model_id)
    page, offset = pages.window(number, size, total)
    entries = journal.entries(owner=owner, model_id=model_id, limit=size, offset=offset)
    rows = my_submissions(journal, repo, owner, cache, entries=entries)
    return Page(rows, page, size, total, int(number))


def my_submissions(
    journal: Journal,
    repo: ModelRepository | None,
    owner: str,
    cache: StatusCache | None = None,
    *,
    entries: list[Entry] | None = None,
) -> list[MySubmission]:
    """This owner's submissions, newest first, with their chain status.

    Parameters
    ----------
    journal : Journal
        What this machine sent (the source of the list).
    repo : ModelRepository or None
        The chain; ``None`` when it is known to be down.
    owner : str
        The owner's address.
    cache : StatusCache, optional
        Where the last status read from the chain is kept
        (:class:`~.status_cache.StatusCache`). Each status read now is written to
        it; when the chain does not answer, a submission that reached the chain shows the
        cached status with ``known_at`` (the time it was read), or ``"unknown"`` if it was
        never read: never a status guessed from the journal. The reads here are always live
        (:func:`~hessian_common.chain.outage.fresh_reads`), so a web page's last-known
        answers never pass for fresh ones.
    entries : list of Entry, optional
        Only these journal entries (a page of them; default: all of the owner's).
    """
    out = []
    if entries is None:
        entries = journal.entries(owner=owner)
    seen: dict[Any, Any] = {}
    before: Mapping[int, int] = {}
    confirmed = {e.model_id for e in entries if e.on_chain}
    known = cache.known() if cache is not None else {}
    currencies: dict[int, Currency] = cache.currencies() if cache is not None else {}
    recorded = set(currencies)
    with fresh_reads():
        if repo is not None and confirmed:
            try:
                before = scores_before(repo, confirmed)
            except ChainError:
                repo = None
        for entry in entries:
            status = local_status(entry)
            if not entry.on_chain:
                out.append(MySubmission(entry, status))
                continue
            live = None
            if repo is not None:
                try:
                    if entry.model_id not in currencies:
                        currencies[entry.model_id] = repo.model_currency(entry.model_id)
                    currency = currencies[entry.model_id]
                    if cache is not None and entry.model_id not in recorded:
                        cache.save_currency(entry.model_id, currency)
                        recorded.add(entry.model_id)
                    live = _chain_status(repo, entry, before, seen, currency)
                except ChainError:
                    repo = None  # down: the rest from the cache, no second timeout
            if live is not None:
                if cache is not None:
                    cache.save(
                        entry.id,
                        status=live.status,
                        update_id=entry.update_id,
                        score_before=live.score_before,
                        new_score=live.new_score,
                        reward=live.reward,
                        claimable=live.claimable,
                        stale=live.stale,
                    )
                out.append(live)
                continue
            last = known.get(entry.id)
            if last is None:
                out.append(MySubmission(entry, "unknown"))
            else:
                scope = current_scope()
                if scope is not None:  # the page says it shows a last known state
                    scope.served_stale(last.checked_at)
                out.append(
                    MySubmission(
                        entry,
                        last.status,
                        score_before=last.score_before,
                        new_score=last.new_score,
                        reward=last.reward,
                        claimable=last.claimable,
                        stale=last.stale,
                        known_at=last.checked_at,
                        currency=currencies.get(entry.model_id, ETH),
                    )
                )
    return out


def _chain_status(
    repo: ModelRepository,
    entry: Entry,
    before: Mapping[int, int],
    seen: dict[Any, Any],
    currency: Currency = ETH,
) -> MySubmission:
    """A confirmed entry's status read from the chain now (raises ``ChainError``), its
    amounts in the model's ``currency``.

    ``seen``: reads shared by the rows of one page (each model's state, the block time)."""
    sub = repo.submission(entry.update_id)
    chain_status = enum_name(sub.status).upper()
    status = {"ACCEPTED": "accepted", "REJECTED": "rejected"}.get(chain_status, local_status(entry))
    new_score = int(sub.new_score) if status in ("accepted", "rejected") else None
    return MySubmission(
        entry,
        status,
        new_score=new_score,
        score_before=before.get(int(entry.update_id)),
        reward=int(sub.reward),
        claimable=int(repo.share_of(entry.update_id)),
        currency=currency,
        stale=bool(sub.stale),
        reason=sub.reason.text if status == "rejected" and sub.reason else None,
        paid_gain=int(sub.gain),
        forfeitable=_forfeit_of(repo, sub, seen),
    )


def _forfeit_of(repo: ModelRepository, sub: Any, seen: dict[Any, Any]) -> int:
    """:func:`~hessian_common.owner.rewards.forfeit_share` of a submission already read, the
    model and the block time read once per page."""
    if sub.claimed:
        return 0
    key = ("model", int(sub.model_id))
    if key not in seen:
        seen[key] = repo.model(int(sub.model_id))
    info = seen[key]
    if info.revealed or not info.finalized:
        return 0
    if "now" not in seen:
        seen["now"] = int(repo.client.block_timestamp())
    if seen["now"] <= info.reveal_deadline:
        return 0
    pool = int(info.pool) if info.forfeited else int(info.remaining)
    return pool // max(1, int(info.submission_count))
