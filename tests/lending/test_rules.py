"""The lending rules that live in the library (issue 14), so the company page, the CLI and the
simulation obey one set: the policy's APR range on every decision, the loan actions allowed in
each state, the pending view, and the borrower's send-once draft rule."""

from __future__ import annotations

import pytest

from hessian_common.chain.loanbook import LoanStatus, installment_for
from hessian_common.errors import ApplicationAlreadySent, LendingInputError
from hessian_common.lending import borrower
from hessian_common.lending.desk import LOAN_ACTIONS
from tests.lending.test_workflows import DAY, _form, pick


def test_decisions_obey_the_policy_apr_range_and_loan_actions_follow_the_state(lending):
    desk, m, book = lending.desk, lending.model_id, lending.book
    desk.deploy(m)
    policy = desk.policy(m)
    bbook = lending.borrower_book(1)
    app, q = pick(lending, approved=True)
    loan_id = borrower.apply(bbook, lending.store, m, app)

    view = desk.pending_application(loan_id)
    assert view is not None and view.pending
    assert view.suggested_installment == installment_for(int(view.loan.amount), q.apr_bps, app.term)
    assert desk.pending_application(loan_id + 1) is None  # not ours / no such loan

    # below the minimum (the bug: the desk took any APR from 0 to the cap) and above the cap
    for apr in (policy.min_apr_bps - 1, 0, policy.max_apr_bps + 1):
        with pytest.raises(LendingInputError, match="outside the policy's range") as e:
            desk.decide(loan_id, approve=True, apr_bps=apr)
        assert set(e.value.errors) == {"apr_bps"}
    assert book.loan(loan_id).status == LoanStatus.APPLIED  # nothing was sent
    desk.decide(loan_id, approve=True, apr_bps=policy.min_apr_bps)  # the edge is allowed
    assert book.loan(loan_id).apr_bps == policy.min_apr_bps
    assert desk.pending_application(loan_id) is None

    def actions() -> list[str]:
        view = desk.loan_view(loan_id)
        assert list(view.actions) == desk.allowed_actions(view)
        return desk.allowed_actions(view)

    assert actions() == ["cancel"]  # offered
    with pytest.raises(LendingInputError, match="cannot be funded: it is not accepted"):
        desk.act(loan_id, "fund")
    borrower.accept(bbook, loan_id)
    assert actions() == ["fund", "cancel"]
    desk.act(loan_id, "fund")
    assert book.loan(loan_id).status == LoanStatus.FUNDED and actions() == []
    with pytest.raises(LendingInputError, match="cannot be marked late"):
        desk.act(loan_id, "mark-late")
    lending.chain_time.advance(book.payment_period * 2 + DAY)
    assert actions() == ["mark-late"]
    desk.act(loan_id, "mark-late")
    assert actions() == []
    lending.chain_time.advance(book.default_after)
    assert actions() == ["mark-default"]
    desk.act(loan_id, "mark-default")
    assert book.loan(loan_id).status == LoanStatus.DEFAULTED and actions() == []
    with pytest.raises(LendingInputError, match="unknown loan action"):
        desk.act(loan_id, "forgive")
    assert set(LOAN_ACTIONS) == {"fund", "mark-late", "mark-default", "cancel"}


def test_the_send_once_draft_rule(lending):
    desk, m = lending.desk, lending.model_id
    desk.deploy(m)
    bbook, folder = lending.borrower_book(2), lending.borrower_dir(2)
    app, _ = pick(lending, approved=True)
    form = _form(app)

    # bad input keeps nothing
    assert borrower.keep_posted_answers(folder, m, {**form, "loan_amnt": "ten"}) is None
    assert borrower.load_draft(folder, m) is None

    kept = borrower.keep_posted_answers(folder, m, form)
    draft = borrower.load_draft(folder, m)
    assert kept is not None and draft.created_at == kept.created_at
    # the same answers posted again make the same application (same time stamp, same digest)
    again = borrower.keep_posted_answers(folder, m, form)
    assert again.digest() == kept.digest()

    loan_id = borrower.submit_form(bbook, lending.store, m, kept, state_dir=folder)
    assert borrower.load_draft(folder, m) is None  # on chain: the draft is gone

    # the answer was lost and the borrower posts the same answers: found, not sent twice
    borrower.save_draft(folder, m, form, created_at=kept.created_at)
    resent = borrower.keep_posted_answers(folder, m, form)
    with pytest.raises(ApplicationAlreadySent) as e:
        borrower.submit_form(bbook, lending.store, m, resent, state_dir=folder)
    assert e.value.loan_id == loan_id and borrower.load_draft(folder, m) is None
    assert lending.book.loan_count() == 1
