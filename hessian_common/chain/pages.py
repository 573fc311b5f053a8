"""Paged reads of the two contracts: what a page shows, at the cost of what it shows.

A page of a model's submissions, of the open models, of a loan book or of the applications
waiting for a decision costs one ``events_page`` / ``event_count`` on the wrapper (a SQLite
query when an :class:`~hessian_common.chain.index.EventIndex` is attached) and one struct read
per row shown, whatever the length of the history. What a page sums over the whole history (the
rewards per owner, the score each update started from, the applications still waiting) is read
as columns of event arguments (:meth:`~hessian_common.chain.wrapper.ContractWrapper.event_values`:
no event decoded, no node call beyond the index's refresh), never by replaying the events or
calling once per item of the history.

Every function gives the same answers without an index (plain ``eth_getLogs``), only slower on a
long history.

Pages are numbered from 1; a number past the last page is clamped to the last one (and page 0
or a negative one to the first), so a stale link never shows an empty page of a non-empty list;
:attr:`Page.requested` keeps what was asked.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from web3 import Web3

from hessian_common.chain.index import FoldSource
from hessian_common.chain.loanbook import LoanInfo, LoanStatus

T = TypeVar("T")
U = TypeVar("U")

DEFAULT_PER_PAGE = 20
"""Rows per page in the apps."""
MAX_PER_PAGE = 100
"""The most rows a page may ask for (``?per_page=`` is capped to it)."""
HISTORY_POINTS = 200
"""Newest evaluations drawn in a model's score history chart."""


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: its rows and where it sits in the whole.

    ``number`` is 1-based and within ``1..pages``; rows ``first..last`` (1-based, inclusive) of
    ``total`` are shown (``first == last == 0`` for an empty list).
    """

    items: list[T]
    number: int
    per_page: int
    total: int
    requested: int = 0
    """The page number asked for (differs from ``number`` when it was out of range)."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def pages(self) -> int:
        """Number of pages (1 for an empty list)."""
        return max(1, -(-self.total // self.per_page))

    @property
    def offset(self) -> int:
        return (self.number - 1) * self.per_page

    @property
    def first(self) -> int:
        return self.offset + 1 if self.items else 0

    @property
    def last(self) -> int:
        return self.offset + len(self.items) if self.items else 0

    @property
    def has_prev(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def out_of_range(self) -> bool:
        """The page asked for does not exist (the last or first one is shown instead)."""
        return bool(self.requested) and self.requested != self.number

    def map(self, fn: Callable[[T], U]) -> Page[U]:
        """The same page with ``fn`` applied to each row."""
        return Page([fn(x) for x in self.items], self.number, self.per_page, self.total,
                    self.requested, dict(self.extra))  # fmt: skip

    def __iter__(self):  # a page iterates as its rows (templates, tests)
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def page_number(value: Any, default: int = 1) -> int:
    """``?page=`` as an int (anything unreadable: ``default``)."""
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def per_page_of(value: Any, default: int = DEFAULT_PER_PAGE) -> int:
    """``?per_page=`` as an int in ``1..MAX_PER_PAGE`` (anything unreadable: ``default``)."""
    n = page_number(value, default)
    return min(MAX_PER_PAGE, max(1, n))


def window(number: int, per_page: int, total: int) -> tuple[int, int]:
    """``(page, offset)``: ``number`` clamped to ``1..pages`` and the first row's offset."""
    per_page = max(1, int(per_page))
    pages = max(1, -(-int(total) // per_page))
    page = min(max(1, int(number)), pages)
    return page, (page - 1) * per_page


def paginate(rows: Sequence[T], number: int, per_page: int = DEFAULT_PER_PAGE) -> Page[T]:
    """A page of a list already in hand (cheap rows: ids, journal entries)."""
    page, offset = window(number, per_page, len(rows))
    return Page(list(rows[offset : offset + per_page]), page, per_page, len(rows), int(number))


def _page_of_ids(
    ids_total: int,
    fetch: Callable[[int, int], list[int]],
    load: Callable[[int], T],
    number: int,
    per_page: int,
) -> Page[T]:
    page, offset = window(number, per_page, ids_total)
    ids = fetch(offset, per_page) if ids_total else []
    return Page([load(i) for i in ids], page, per_page, ids_total, int(number))


# ---------------------------------------------------------------- ModelRepository


def closed_model_ids(repo: Any) -> set[int]:
    """Ids of the models closed on chain (their ``ModelClosed`` events)."""
    return {int(v[2]) for v in repo.event_values("ModelClosed", None, ("modelId",))}


def model_ids_page(
    repo: Any, number: int = 1, per_page: int = DEFAULT_PER_PAGE, *, include_closed: bool = False
) -> Page[int]:
    """Model ids, newest first: all of them, or only those still open (not closed on chain;
    one whose deadline passed without a close call is still open)."""
    count = int(repo.model_count())
    if include_closed:
        page, offset = window(number, per_page, count)
        top = count - offset
        ids = list(range(top, max(0, top - per_page), -1))
        return Page(ids, page, per_page, count, int(number))
    closed = closed_model_ids(repo)
    ids = [i for i in range(count, 0, -1) if i not in closed]
    return paginate(ids, number, per_page)


def submission_ids_page(
    repo: Any, model_id: int, number: int = 1, per_page: int = DEFAULT_PER_PAGE
) -> Page[int]:
    """Ids of a model's submissions, newest first (its ``UpdateSubmitted`` events)."""
    where = {"modelId": int(model_id)}
    total = repo.event_count("UpdateSubmitted", where)

    def fetch(offset: int, limit: int) -> list[int]:
        out = []
        for e in repo.events_page("UpdateSubmitted", where, limit, offset, order="desc"):
            uid = int(e.args["updateId"])
            repo._log_cache[("UpdateSubmitted", uid)] = dict(e.args)  # its CID, for free
            out.append(uid)
        return out

    return _page_of_ids(total, fetch, int, number, per_page)


def submissions_page(
    repo: Any, model_id: int, number: int = 1, per_page: int = DEFAULT_PER_PAGE
) -> Page[Any]:
    """A model's submissions (``SubmissionInfo``), newest first: one struct read per row."""
    return submission_ids_page(repo, model_id, number, per_page).map(repo.submission)


def owner_submission_ids_page(
    repo: Any, owner: str, number: int = 1, per_page: int = DEFAULT_PER_PAGE,
    model_id: int | None = None,
) -> Page[int]:  # fmt: skip
    """Ids of ``owner``'s submissions on chain (any model, or one), newest first."""
    where: dict[str, Any] = {"owner": Web3.to_checksum_address(owner)}
    if model_id is not None:
        where["modelId"] = int(model_id)
    total = repo.event_count("UpdateSubmitted", where)

    def fetch(offset: int, limit: int) -> list[int]:
        events = repo.events_page("UpdateSubmitted", where, limit, offset, order="desc")
        return [int(e.args["updateId"]) for e in events]

    return _page_of_ids(total, fetch, int, number, per_page)


def scores_before(repo: Any, model_id: int, initial_score: int) -> Mapping[int, int]:
    """Update id -> the model's best score (ppm) when that update was evaluated (read-only).

    ``before(u) = max(initial, newScore of the updates accepted before u)`` over the model's
    ``UpdateEvaluated`` events in chain order: a running fold (:meth:`event_fold`), so a warm
    call costs the evaluations since the last one.
    """
    where = {"modelId": int(model_id)}

    def start() -> dict[str, Any]:
        return {"best": int(initial_score), "before": {}}

    def step(state: dict[str, Any], _name: str, values: tuple[Any, ...]) -> None:
        uid, accepted, new_score = values
        state["before"][int(uid)] = state["best"]
        if accepted and int(new_score) > state["best"]:
            state["best"] = int(new_score)

    return repo.event_fold(
        ("scores_before", int(model_id), int(initial_score)),
        [FoldSource("UpdateEvaluated", where, ("updateId", "accepted", "newScore"))],
        start, step, lambda state: MappingProxyType(state["before"]),
    )  # fmt: skip


def waiting_ids(repo: Any, model_id: int) -> list[int]:
    """Ids of a model's submissions still waiting (submitted, neither evaluated nor settled as
    stale), oldest first: the contract's queue (a running fold: O(new events + queue))."""
    where = {"modelId": int(model_id)}

    def step(waiting: dict[int, None], name: str, values: tuple[Any, ...]) -> None:
        if name == "UpdateSubmitted":
            waiting[int(values[0])] = None
        else:
            waiting.pop(int(values[0]), None)

    return repo.event_fold(
        ("waiting", int(model_id)),
        [FoldSource(name, where, ("updateId",))
         for name in ("UpdateSubmitted", "UpdateEvaluated", "StaleSettled")],
        dict, step, sorted,
    )  # fmt: skip


@dataclass(frozen=True)
class OwnerTotal:
    """What one owner earned from one model: accepted submissions (stale ones included), their
    rows, and the wei credited for them (rewards, stale reserves, claimed shares)."""

    owner: str
    accepted: int
    rows: int
    paid: int


def owner_totals(repo: Any, model_id: int) -> list[OwnerTotal]:
    """Per owner of a model, largest payment first (then most accepted, then address).

    A running fold over the model's submissions, accepted evaluations, stale settlements and
    claimed shares: a warm call costs the events since the last one and the sort of the owners.
    """
    where = {"modelId": int(model_id)}

    def start() -> dict[str, dict[Any, Any]]:
        return {"subs": {}, "totals": {}}

    def step(state: dict[str, dict[Any, Any]], name: str, values: tuple[Any, ...]) -> None:
        if name == "UpdateSubmitted":
            uid, owner, rows = values
            state["subs"][int(uid)] = (owner, int(rows))
            return
        uid, amount = values
        owner, rows = state["subs"].get(int(uid), ("", 0))
        if not owner:
            return
        t = state["totals"].setdefault(owner, [0, 0, 0])
        if name != "ShareClaimed":  # an accepted evaluation or a stale settlement
            t[0] += 1
            t[1] += rows
        t[2] += int(amount)

    def view(state: dict[str, dict[Any, Any]]) -> list[OwnerTotal]:
        out = [OwnerTotal(o, a, r, p) for o, (a, r, p) in state["totals"].items()]
        out.sort(key=lambda t: (-t.paid, -t.accepted, t.owner))
        return out

    return repo.event_fold(
        ("owner_totals", int(model_id)),
        [
            FoldSource("UpdateSubmitted", where, ("updateId", "owner", "rows")),
            FoldSource("UpdateEvaluated", {**where, "accepted": True}, ("updateId", "reward")),
            FoldSource("StaleSettled", where, ("updateId", "reward")),
            FoldSource("ShareClaimed", where, ("updateId", "amount")),
        ],
        start, step, view,
    )  # fmt: skip


def score_history(repo: Any, model_id: int, limit: int = HISTORY_POINTS) -> tuple[list[Any], int]:
    """The newest ``limit`` ``UpdateEvaluated`` events of a model in chain order, and how many
    there are in all (the chart draws the newest; its first step is ``total - len + 1``)."""
    where = {"modelId": int(model_id)}
    total = repo.event_count("UpdateEvaluated", where)
    newest = repo.events_page("UpdateEvaluated", where, limit, 0, order="desc")
    return list(reversed(newest)), total


# ---------------------------------------------------------------- LoanBook


def deployed_model_ids(book: Any, lender: str | None = None) -> list[int]:
    """Ids of the models deployed on the book (by ``lender`` if given), in deployment order."""
    where = {"deployer": Web3.to_checksum_address(lender)} if lender else None
    return [int(v[2]) for v in book.event_values("ModelDeployed", where, ("modelId",))]


def _loan_where(model_ids: Iterable[int] | None, borrower: str | None) -> dict[str, Any] | None:
    where: dict[str, Any] = {}
    if borrower is not None:
        where["borrower"] = Web3.to_checksum_address(borrower)
    if model_ids is not None:
        where["modelId"] = [int(m) for m in model_ids]
    return where or None


def loan_ids_page(
    book: Any,
    number: int = 1,
    per_page: int = DEFAULT_PER_PAGE,
    *,
    model_ids: Iterable[int] | None = None,
    borrower: str | None = None,
    state: str = "all",
    order: str = "desc",
) -> Page[int]:
    """Loan ids of the models ``model_ids`` (all models: None) and/or of ``borrower``.

    ``state``: ``"all"``, ``"pending"`` (applied, not decided or cancelled yet: the lender's
    queue) or ``"decided"`` (the others). ``order``: ``"desc"`` newest first, ``"asc"``
    oldest first. ``all`` pages the ``LoanApplied`` events directly; the other two take the
    applied ids less the decided and cancelled ones, read as columns.
    """
    model_ids = None if model_ids is None else list(model_ids)
    if model_ids is not None and not model_ids:
        return Page([], 1, per_page, 0, int(number))
    where = _loan_where(model_ids, borrower)
    if state == "all":
        total = book.event_count("LoanApplied", where)

        def fetch(offset: int, limit: int) -> list[int]:
            events = book.events_page("LoanApplied", where, limit, offset, order=order)
            for e in events:
                book._log_cache[("LoanApplied", int(e.args["loanId"]))] = dict(e.args)
            return [int(e.args["loanId"]) for e in events]

        return _page_of_ids(total, fetch, int, number, per_page)
    if state not in ("pending", "decided"):
        raise ValueError(f"state must be 'all', 'pending' or 'decided', not {state!r}")

    def step(queues: dict[str, Any], name: str, values: tuple[Any, ...]) -> None:
        lid = int(values[0])
        if name == "LoanApplied":
            queues["pending"][lid] = None
        elif lid in queues["pending"]:  # decided or cancelled: leaves the queue
            del queues["pending"][lid]
            bisect.insort(queues["decided"], lid)

    def view(queues: dict[str, Any]) -> Page[int]:
        ids: Sequence[int] = queues[state]
        total = len(ids)
        page, offset = window(number, per_page, total)
        if state == "pending":  # the queue in application order: only the page is walked
            pending = queues["pending"]
            keys = reversed(pending) if order == "desc" else iter(pending)
            chosen = list(itertools.islice(keys, offset, offset + per_page))
        elif order == "desc":
            chosen = [ids[total - 1 - k] for k in range(offset, min(total, offset + per_page))]
        else:
            chosen = list(ids[offset : offset + per_page])
        return Page(chosen, page, per_page, total, int(number))

    return book.event_fold(
        ("loan_queues", repr(sorted(where.items()) if where else None)),
        [FoldSource("LoanApplied", where, ("loanId",)),
         FoldSource("LoanDecided", None, ("loanId",)),
         FoldSource("LoanCancelled", None, ("loanId",))],
        lambda: {"pending": {}, "decided": []}, step, view,
    )  # fmt: skip


_STATUS_EVENTS = {
    "OfferAccepted": "ACCEPTED",
    "LoanFunded": "FUNDED",
    "LoanRepaid": "REPAID",
    "LoanDefaulted": "DEFAULTED",
    "LoanRecovered": "RECOVERED",
    "LoanCancelled": "CANCELLED",
}


def loan_states(book: Any, model_ids: Iterable[int]) -> list[Any]:
    """Every loan of the models ``model_ids`` as ``LoanInfo``, folded from the book's events
    (no struct read per loan): what an aggregate over a whole book (the lender's realised vs
    predicted performance) needs.

    A running fold: a warm call steps the events since the last one and rebuilds only the
    ``LoanInfo`` of the loans they touched (the others are kept), so it costs the new events
    plus one list of the book's loans. Status, lateness, amounts, the decision (PD, APR,
    principal, term, instalment), the repaid total and ``funded_at`` are the contract's;
    ``applied_at``, ``offer_expires`` and ``accepted_at`` are not in the events and are 0 (read
    :meth:`LoanBook.loan` for them). The lender and the currency are the deployment's
    (``LoanBook.deployment``).
    """
    ids = sorted({int(m) for m in model_ids})
    if not ids:
        return []

    def step(state: dict[str, Any], name: str, vals: tuple[Any, ...]) -> None:
        lid = int(vals[0])
        loans = state["loans"]
        if name == "LoanApplied":
            _lid, mid, who, digest, cid, amount, term = vals
            loans[lid] = dict(
                loan_id=lid, model_id=int(mid), borrower=who, status=LoanStatus.APPLIED,
                late=False, application_digest=bytes.fromhex(digest[2:]), application_cid=cid,
                amount=int(amount), requested_term=int(term), principal=0, term_months=0,
                apr_bps=0, pd_ppm=0, installment=0, repaid=0, applied_at=0, offer_expires=0,
                accepted_at=0, funded_at=0,
            )  # fmt: skip
        loan = loans.get(lid)
        if loan is None:  # a loan of another model
            return
        state["version"][lid] = state["version"].get(lid, 0) + 1
        if name == "LoanDecided":
            _lid, approved, pd, apr, principal, term, installment = vals
            loan.update(
                status=LoanStatus.OFFERED if approved else LoanStatus.DECLINED, pd_ppm=int(pd),
                apr_bps=int(apr), principal=int(principal), term_months=int(term),
                installment=int(installment),
            )  # fmt: skip
        elif name in _STATUS_EVENTS:
            loan["status"] = LoanStatus[_STATUS_EVENTS[name]]
            if name == "LoanDefaulted":
                loan["late"] = False
            elif name == "LoanFunded":
                loan["funded_at"] = int(vals[1])
        elif name == "LoanLate":
            loan["late"] = True
        elif name == "LoanCured":
            loan["late"] = False
        elif name == "Repayment":
            loan["repaid"] = int(vals[1])

    def view(state: dict[str, Any]) -> list[Any]:
        built: dict[int, tuple[int, Any]] = state["built"]
        out = []
        for lid in sorted(state["loans"]):
            version = state["version"].get(lid, 0)
            kept = built.get(lid)
            if kept is None or kept[0] != version:
                kept = built[lid] = (version, _loan_info(book, state["loans"][lid]))
            out.append(kept[1])
        return out

    applied = ("loanId", "modelId", "borrower", "applicationDigest", "applicationCid",
               "amount", "termMonths")  # fmt: skip
    decided = ("loanId", "approved", "pdPpm", "aprBps", "principal", "termMonths", "installment")
    sources = [
        FoldSource("LoanApplied", {"modelId": ids}, applied),
        FoldSource("LoanDecided", None, decided),
        FoldSource("LoanFunded", None, ("loanId", "fundedAt")),
        FoldSource("Repayment", None, ("loanId", "totalRepaid")),
        *(FoldSource(name, None, ("loanId",))
          for name in (*_STATUS_EVENTS, "LoanLate", "LoanCured") if name != "LoanFunded"),
    ]  # fmt: skip
    start = lambda: {"loans": {}, "version": {}, "built": {}}  # noqa: E731
    return book.event_fold(("loan_states", tuple(ids)), sources, start, step, view)


def _loan_info(book: Any, loan: dict[str, Any]) -> Any:
    """A ``LoanInfo`` of a folded loan, with its deployment's lender and currency."""
    fact = book._deployment_fact(loan["model_id"])  # cached per model
    total = loan["installment"] * loan["term_months"]
    owing = loan["status"] in (LoanStatus.FUNDED, LoanStatus.DEFAULTED)
    return LoanInfo(
        **loan, lender=fact["lender"], currency=fact["currency"], total_owed=total,
        outstanding=total - loan["repaid"] if owing else 0,
    )  # fmt: skip


def loans_page(
    book: Any, number: int = 1, per_page: int = DEFAULT_PER_PAGE, **how: Any
) -> Page[Any]:
    """:func:`loan_ids_page` with each loan read (``LoanInfo``: one struct read per row)."""
    return loan_ids_page(book, number, per_page, **how).map(book.loan)


__all__ = [
    "DEFAULT_PER_PAGE",
    "HISTORY_POINTS",
    "MAX_PER_PAGE",
    "OwnerTotal",
    "Page",
    "closed_model_ids",
    "deployed_model_ids",
    "loan_ids_page",
    "loan_states",
    "loans_page",
    "model_ids_page",
    "owner_submission_ids_page",
    "owner_totals",
    "page_number",
    "paginate",
    "per_page_of",
    "score_history",
    "scores_before",
    "submission_ids_page",
    "submissions_page",
    "waiting_ids",
    "window",
]
