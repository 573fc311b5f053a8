"""Paged reads (``hessian_common.chain.pages``) on eth-tester: the same pages with and without
an event index, the first, last, empty and out-of-range pages, and the history-wide columns
(owners' totals, scores before, the queue, pending applications) against a plain replay."""

from __future__ import annotations

import pytest

from hessian_common.chain import pages
from hessian_common.chain.loanbook import LoanBook
from hessian_common.chain.pages import Page, paginate, window
from hessian_common.chain.policybook import deploy_policybook
from hessian_common.chain.repository import ModelRepository, SubmissionStatus
from hessian_common.chain.wiring import (
    index_dir,
    loanbook_for,
    policybook_for,
    repository_for,
    with_index,
)
from tests.chain.test_index import CID, OTHER_CID, _model
from tests.contracts.loanbook_support import (  # noqa: F401 - fixtures
    Book,
    book,
    loanbook,
)


def test_page_arithmetic():
    p = paginate(list(range(1, 46)), 1, 20)
    assert (p.items[0], p.first, p.last, p.total, p.pages) == (1, 1, 20, 45, 3)
    assert p.has_next and not p.has_prev and not p.out_of_range
    last = paginate(list(range(1, 46)), 3, 20)
    assert (last.items, last.first, last.last) == (list(range(41, 46)), 41, 45)
    assert last.has_prev and not last.has_next
    beyond = paginate(list(range(1, 46)), 9, 20)  # out of range: the last page, said so
    assert beyond.number == 3 and beyond.out_of_range and beyond.requested == 9
    below = paginate(list(range(1, 46)), -2, 20)
    assert below.number == 1 and below.items[0] == 1 and below.out_of_range
    empty = paginate([], 4, 20)
    assert (empty.items, empty.number, empty.pages, empty.first, empty.last) == ([], 1, 1, 0, 0)
    assert window(5, 10, 0) == (1, 0) and window(2, 10, 11) == (2, 10)
    assert pages.page_number("x") == 1 and pages.page_number(" 7 ") == 7
    assert pages.per_page_of("5000") == pages.MAX_PER_PAGE and pages.per_page_of("0") == 1
    assert list(Page([1, 2], 1, 2, 2)) == [1, 2] and len(Page([1], 1, 2, 1)) == 1


@pytest.fixture
def history(repository, clients, chain_time):
    """Two models; model 1 has 25 submissions by 3 owners, evaluated up to #18 (accepted,
    rejected, accepted lower, ...), one more model with 2 submissions; model 2 is closed."""
    owners = [repository.as_account(c) for c in clients[1:4]]
    m1, m2 = _model(repository, chain_time.now()), _model(repository, chain_time.now())
    uids = []
    for i in range(25):
        who = owners[i % 3]
        uids.append(who.submit_update(m1, OTHER_CID, bytes([i + 1]) * 32, 10 + i))
    m2_uids = [owners[0].submit_update(m2, OTHER_CID, bytes([100 + i]) * 32, 5) for i in range(2)]
    scores = [600_000, 590_000, 620_000, 610_000, 650_000, 640_000]
    for j, uid in enumerate(uids[:18]):
        repository.evaluate_update(uid, j % 3 != 1, scores[j % 6] + j * 1_000, CID)
    for uid in m2_uids:
        repository.evaluate_update(uid, False, 500_000, CID)
    repository.close_model(m2)
    return m1, m2, uids, owners


def _both(repo: ModelRepository, tmp_path) -> list[ModelRepository]:
    indexed = ModelRepository(repo.client, repo.address, repo.abi, repo.from_block)
    with_index(indexed, tmp_path / "idx")
    assert indexed.index is not None
    return [repo, indexed]


def test_submission_pages_with_and_without_an_index(repository, history, tmp_path):
    m1, _m2, uids, _owners = history
    newest_first = list(reversed(uids))
    for repo in _both(repository, tmp_path):
        first = pages.submission_ids_page(repo, m1, 1, 10)
        assert first.items == newest_first[:10] and first.total == 25 and first.pages == 3
        last = pages.submission_ids_page(repo, m1, 3, 10)
        assert last.items == newest_first[20:] and (last.first, last.last) == (21, 25)
        beyond = pages.submission_ids_page(repo, m1, 99, 10)
        assert beyond.items == last.items and beyond.out_of_range
        empty = pages.submission_ids_page(repo, 77, 1, 10)  # no such model: no submissions
        assert empty.items == [] and empty.total == 0 and empty.pages == 1
        infos = pages.submissions_page(repo, m1, 2, 10)
        assert [s.update_id for s in infos] == newest_first[10:20]
        assert all(s.update_cid == OTHER_CID and s.model_id == m1 for s in infos)
        assert repo.submission_ids(m1) == uids


def test_columns_match_a_replay_of_every_submission(repository, history, tmp_path):
    m1, m2, uids, owners = history
    subs = repository.submissions(m1)
    # the replay the pages replaced: every submission and every event
    best, before = 500_000, {}
    for e in repository.events():
        if e.name == "UpdateEvaluated" and int(e.args["modelId"]) == m1:
            before[int(e.args["updateId"])] = best
            if e.args["accepted"]:
                best = max(best, int(e.args["newScore"]))
    waiting = [s.update_id for s in subs if s.status == SubmissionStatus.WAITING]
    totals: dict[str, list[int]] = {}
    for s in subs:
        if s.status == SubmissionStatus.ACCEPTED:
            t = totals.setdefault(s.owner, [0, 0, 0])
            t[0], t[1], t[2] = t[0] + 1, t[1] + s.rows, t[2] + s.reward
    for repo in _both(repository, tmp_path):
        assert pages.scores_before(repo, m1, 500_000) == before
        assert pages.waiting_ids(repo, m1) == waiting == uids[18:]
        got = {t.owner: [t.accepted, t.rows, t.paid] for t in pages.owner_totals(repo, m1)}
        assert got == totals
        paid = [t.paid for t in pages.owner_totals(repo, m1)]
        assert paid == sorted(paid, reverse=True)
        events, total = pages.score_history(repo, m1, limit=5)
        assert total == 18 and [int(e.args["updateId"]) for e in events] == uids[13:18]
        assert pages.closed_model_ids(repo) == {m2}
        open_only = pages.model_ids_page(repo, 1, 10)
        assert open_only.items == [m1] and open_only.total == 1
        every = pages.model_ids_page(repo, 1, 1, include_closed=True)
        assert every.items == [m2] and every.total == 2 and every.pages == 2
        assert pages.model_ids_page(repo, 5, 1, include_closed=True).items == [m1]
        mine = pages.owner_submission_ids_page(repo, owners[1].client.address, 1, 3)
        assert mine.items == [u for u in reversed(uids) if (uids.index(u) % 3) == 1][:3]
        assert mine.total == 8


def test_loan_pages_and_the_pending_queue(book: Book, tmp_path):  # noqa: F811
    ids = [book.applied(n, who=n % 3) for n in range(1, 8)]
    book.lender.decide(ids[1], False, 400_000)
    book.lender.decide(ids[3], True, 100_000, 1200, 10**15, 12)
    book.borrowers[1].cancel(ids[6])  # loan #7 (n = 7) is borrower 1's
    indexed = LoanBook(book.lender.client, book.lender.address, book.lender.abi)
    with_index(indexed, tmp_path / "idx")
    for lb in (book.lender, indexed):
        every = pages.loan_ids_page(lb, 1, 5)
        assert every.items == list(reversed(ids))[:5] and every.total == 7
        pending = pages.loan_ids_page(lb, 1, 10, state="pending", order="asc")
        assert pending.items == [ids[0], ids[2], ids[4], ids[5]]
        decided = pages.loan_ids_page(lb, 1, 10, state="decided")
        assert decided.items == [ids[6], ids[3], ids[1]]
        of_model = pages.loans_page(lb, 2, 5, model_ids=[book.model_id])
        assert [x.loan_id for x in of_model] == list(reversed(ids))[5:]
        assert pages.loan_ids_page(lb, 1, 5, model_ids=[]).total == 0
        borrower = book.borrowers[1].client.address
        assert pages.loan_ids_page(lb, 1, 5, borrower=borrower).items == [ids[6], ids[3], ids[0]]
        assert pages.deployed_model_ids(lb, book.lender.client.address) == [book.model_id]
        assert pages.deployed_model_ids(lb, book.outsider.client.address) == []
        with pytest.raises(ValueError, match="state"):
            pages.loan_ids_page(lb, state="odd")


def test_wiring_builds_wrappers_with_an_index_in_the_home(repository, book, tmp_path):  # noqa: F811
    home = tmp_path / "company"
    repo = repository_for(repository.client, address=repository.address, index_dir=index_dir(home))
    assert repo.index is not None and repo.index.path.parent == home / "index"
    lb = loanbook_for(book.lender.client, address=book.lender.address, index_dir=index_dir(home))
    assert lb.index is not None and lb.index.path.parent == home / "index"
    assert lb.index.path != repo.index.path
    pb_address = deploy_policybook(book.lender.client, book.lender.repository_address, record=False)
    pb = policybook_for(book.lender.client, address=pb_address, index_dir=index_dir(home))
    assert pb.index is not None and pb.index.path.parent == home / "index"
    assert pb.index.path not in (repo.index.path, lb.index.path)
    assert policybook_for(book.lender.client, address=pb_address).index is None
    plain = repository_for(repository.client, address=repository.address)
    assert plain.index is None
    assert with_index(repo, tmp_path / "else").index.path.parent == home / "index"  # kept


def test_loan_states_folded_from_events_match_the_contract(book: Book, tmp_path):  # noqa: F811
    from dataclasses import asdict

    from tests.contracts.loanbook_support import DAY, PERIOD

    declined = book.applied(1, who=1)
    book.lender.decide(declined, False, 300_000)
    pending = book.applied(2, who=2)
    cancelled = book.offered(3)
    book.lender.cancel(cancelled)
    repaid = book.funded(4)
    loan = book.lender.loan(repaid)
    book.borrower.repay_all(repaid, book.borrower.payoff_amount(repaid) + 10**15)
    late = book.funded(5)
    book.time.advance(PERIOD + DAY)
    book.lender.mark_late(late)
    cured = book.funded(6)
    book.time.advance(PERIOD + DAY)
    book.lender.mark_late(cured)
    book.borrower.repay(cured, book.borrower.next_due(cured)[1])
    defaulted = book.funded(7)
    book.time.advance(200 * DAY)
    book.lender.mark_default(defaulted)
    book.borrower.repay(defaulted, loan.installment)
    indexed = LoanBook(book.lender.client, book.lender.address, book.lender.abi)
    with_index(indexed, tmp_path / "idx")
    expected = {x.loan_id: asdict(x) for x in book.lender.loans(model_id=book.model_id)}
    for d in expected.values():
        d.update(applied_at=0, offer_expires=0, accepted_at=0)
    assert len(expected) == 7 and pending in expected and declined in expected
    for lb in (book.lender, indexed):
        got = {x.loan_id: asdict(x) for x in pages.loan_states(lb, [book.model_id])}
        assert got == expected
        assert pages.loan_states(lb, []) == [] and pages.loan_states(lb, [999]) == []


def test_one_refresh_per_read_only_scope(repository, history, clients, tmp_path):
    from hessian_common.chain.outage import chain_scope

    m1, _m2, _uids, owners = history
    indexed = _both(repository, tmp_path)[1]
    with chain_scope(stale_ok=True):  # a page's GET: the first query refreshes, not the rest
        assert indexed.index.refresh() is not None
        assert indexed.index.refresh() is None
        assert pages.submission_ids_page(indexed, m1, 1, 50).total == 25
    with chain_scope(stale_ok=False):  # a job or a POST: every query sees the head
        assert indexed.index.refresh() is not None
        owners[0].submit_update(m1, OTHER_CID, b"\x77" * 32, 5)
        assert indexed.event_count("UpdateSubmitted", {"modelId": m1}) == 26
    with chain_scope(stale_ok=True):  # a new page: refreshed again
        assert pages.submission_ids_page(indexed, m1, 1, 50).total == 26
