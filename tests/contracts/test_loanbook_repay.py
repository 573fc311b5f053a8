# ruff: noqa: F811  (the fixtures come from loanbook_support and are named as arguments)
"""LoanBook: fund (and its window), repay, the schedule, late / cured / default, recoveries
(RECOVERED), withdraw."""

from __future__ import annotations

import pytest
from eth_utils import function_signature_to_4byte_selector

from hessian_common.chain.loanbook import LoanStatus, installment_for
from hessian_common.errors import ContractRevert
from tests.contracts.helpers import reverts
from tests.contracts.loanbook_support import (  # noqa: F401  (fixtures)
    AMOUNT,
    APR,
    DEFAULT_AFTER,
    FUNDING_WINDOW,
    PERIOD,
    TERM,
    at,
    attacker_borrower,
    book,
    clock,
    loanbook,
)

INST = installment_for(AMOUNT, APR, TERM)
TOTAL = INST * TERM


def _revert(action, name):
    with pytest.raises(ContractRevert) as info:
        action()
    assert info.value.error_name == name, info.value
    return info.value.error_args


def test_fund_credits_the_borrower(book):
    loan_id = book.accepted(1)
    fn = book.lender.fn
    with reverts("NotLender"):
        book.borrower.client.transact(fn.fund(loan_id), value=AMOUNT)
    args = _revert(
        lambda: book.lender.client.transact(fn.fund(loan_id), value=AMOUNT - 1), "WrongAmount"
    )
    assert args == (AMOUNT - 1, AMOUNT)
    _revert(lambda: book.lender.client.transact(fn.fund(loan_id), value=AMOUNT + 1), "WrongAmount")
    offered = book.offered(2)
    with reverts("WrongStatus"):
        book.lender.fund(offered)
    receipt = book.lender.fund(loan_id)
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.FUNDED and loan.funded_at == book.time.now()
    assert loan.outstanding == TOTAL and loan.repaid == 0 and not loan.late
    assert book.borrower.pending() == AMOUNT and book.lender.total_pending() == AMOUNT
    (ev,) = [e for e in book.lender.events() if e.name == "LoanFunded"]
    assert ev.args["principal"] == AMOUNT and ev.block_number == receipt["blockNumber"]
    with reverts("WrongStatus"):
        book.lender.fund(loan_id)
    with reverts("WrongStatus"):
        book.borrower.accept(loan_id)
    book.balance_matches()


def test_fund_until_the_last_second_of_the_funding_window(book):
    loan_id, late = book.accepted(1), book.accepted(2)
    deadline = book.lender.loan(loan_id).accepted_at + FUNDING_WINDOW
    assert book.lender.fund_by(loan_id) == deadline
    late_deadline = book.lender.fund_by(late)
    assert late_deadline == book.lender.loan(late).accepted_at + FUNDING_WINDOW > deadline
    at(book.time, deadline)  # the last second is still in time
    receipt = book.lender.fund(loan_id)
    assert book.lender.client.block_timestamp(receipt["blockNumber"]) == deadline
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.FUNDED and loan.funded_at == deadline
    assert book.lender.fund_by(loan_id) == 0  # not ACCEPTED any more
    at(book.time, late_deadline + 1)  # one second too late
    args = _revert(lambda: book.lender.fund(late), "FundingExpired")
    assert args == (late, late_deadline, late_deadline + 1)
    loan = book.lender.loan(late)
    assert loan.status == LoanStatus.ACCEPTED and loan.funded_at == 0
    assert book.borrower.pending() == AMOUNT and book.lender.total_pending() == AMOUNT
    book.borrower.cancel(late)  # the borrower is free to go elsewhere
    assert book.status(late) == LoanStatus.CANCELLED and book.lender.fund_by(late) == 0
    book.balance_matches()


def test_funding_window_runs_from_the_acceptance_and_the_lender_may_cancel_after_it(book):
    loan_id = book.offered(1)
    expires = book.lender.loan(loan_id).offer_expires
    at(book.time, expires)  # accepted at the offer's last second
    book.borrower.accept(loan_id)
    assert book.lender.loan(loan_id).accepted_at == expires
    assert book.lender.fund_by(loan_id) == expires + FUNDING_WINDOW
    expired = book.accepted(2)
    at(book.time, expires + FUNDING_WINDOW)
    book.lender.fund(loan_id)  # after the offer expired, within the funding window
    assert book.status(loan_id) == LoanStatus.FUNDED
    at(book.time, book.lender.fund_by(expired) + 1)
    with reverts("FundingExpired"):
        book.lender.fund(expired)
    book.lender.cancel(expired)
    assert book.status(expired) == LoanStatus.CANCELLED
    with reverts("WrongStatus"):
        book.lender.fund(expired)
    for other in (book.applied(3), book.offered(4)):
        assert book.lender.fund_by(other) == 0
    book.balance_matches()


def test_schedule_views(book):
    loan_id = book.funded(1)
    f = book.lender.loan(loan_id).funded_at
    due = book.lender.due_by
    assert due(loan_id, f - 1) == 0 and due(loan_id, f) == 0
    assert due(loan_id, f + PERIOD - 1) == 0
    assert due(loan_id, f + PERIOD) == INST
    assert due(loan_id, f + 3 * PERIOD + 5) == 3 * INST
    assert due(loan_id, f + TERM * PERIOD) == TOTAL
    assert due(loan_id, f + 100 * TERM * PERIOD) == TOTAL  # capped at the total
    assert book.lender.next_due(loan_id) == (f + PERIOD, INST)
    book.borrower.repay(loan_id, INST // 2)
    assert book.lender.next_due(loan_id) == (f + PERIOD, INST - INST // 2)
    book.borrower.repay(loan_id, INST - INST // 2)
    assert book.lender.next_due(loan_id) == (f + 2 * PERIOD, INST)
    book.time.advance(3 * PERIOD + 10)  # instalments 2 and 3 due, 4 not yet
    assert book.lender.next_due(loan_id) == (f + 2 * PERIOD, 2 * INST)
    assert book.lender.is_late(loan_id) and not book.lender.can_default(loan_id)
    applied = book.applied(2)
    assert book.lender.due_by(applied, f + 10 * PERIOD) == 0
    assert book.lender.next_due(applied) == (0, 0)
    assert not book.lender.is_late(applied) and not book.lender.can_default(applied)


def test_repay_instalments_then_final(book):
    loan_id = book.funded(1)
    lender_address = book.lender.client.address
    with reverts("ZeroAmount"):
        book.borrower.repay(loan_id, 0)
    # paying ahead takes at most the payoff (no future interest): here the principal
    payoff = book.lender.payoff_amount(loan_id)  # at the latest block, where the check runs
    args = _revert(lambda: book.borrower.repay(loan_id, TOTAL + 1), "Overpayment")
    assert args == (TOTAL + 1, payoff) and payoff < TOTAL
    f = book.lender.loan(loan_id).funded_at
    for k in range(1, TERM):
        payer = book.outsider if k == 3 else book.borrower  # anyone may pay
        book.time.advance(f + k * PERIOD - book.time.now())  # each on its due date
        payer.repay(loan_id, INST)
        loan = book.lender.loan(loan_id)
        assert loan.repaid == k * INST and loan.outstanding == TOTAL - k * INST
        assert loan.status == LoanStatus.FUNDED
    assert book.lender.pending(lender_address) == (TERM - 1) * INST
    book.time.advance(f + TERM * PERIOD - book.time.now())  # the last due date
    _revert(lambda: book.borrower.repay(loan_id, INST + 1), "Overpayment")
    book.borrower.repay(loan_id, INST)
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.REPAID and loan.repaid == TOTAL and loan.outstanding == 0
    assert book.lender.pending() == TOTAL
    names = [e.name for e in book.lender.events()]
    assert names.count("Repayment") == TERM and names.count("LoanRepaid") == 1
    with reverts("WrongStatus"):
        book.borrower.repay(loan_id, 1)
    for action in (book.lender.mark_late, book.lender.mark_default):
        with reverts("WrongStatus"):
            action(loan_id)
    assert book.lender.next_due(loan_id) == (0, 0)
    book.balance_matches()


def test_repay_in_one_go_early(book):
    """Paying everything at once early is the payoff (principal and the interest of the
    seconds it ran), never the whole schedule's interest."""
    loan_id = book.funded(1)
    _revert(lambda: book.borrower.repay(loan_id, TOTAL), "Overpayment")
    # the payoff a second ago: mined a second later, a few seconds' interest is still owed
    # (12 % a year on AMOUNT is about AMOUNT * 4e-9 a second)
    book.borrower.repay(loan_id, book.lender.payoff_amount(loan_id))
    left = book.lender.payoff_amount(loan_id, book.time.now() + 1)
    assert book.status(loan_id) == LoanStatus.FUNDED and 0 < left < AMOUNT // 10**7
    # ``repay`` may not exceed the payoff at the latest block, which is a second short of the
    # mining time; ``repayAll`` takes a margin and credits the excess back
    before = book.borrower.pending()  # the principal, not yet withdrawn
    book.borrower.repay_all(loan_id, 2 * left)
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.REPAID and loan.repaid < TOTAL
    assert 0 < book.borrower.pending() - before <= left
    assert [e.name for e in book.lender.events()][-2:] == ["LoanPaidOff", "LoanRepaid"]


def test_repay_refuses_unfunded(book):
    for loan_id in (book.applied(1), book.offered(2), book.accepted(3)):
        with reverts("WrongStatus"):
            book.borrower.repay(loan_id, 1)
    with reverts("UnknownLoan"):
        book.borrower.repay(99, 1)


def test_mark_late_edges_and_cure(book):
    loan_id = book.funded(1)
    f = book.lender.loan(loan_id).funded_at
    with reverts("NotLender"):
        book.borrower.mark_late(loan_id)
    clock(book.time, f + PERIOD - 1)
    args = _revert(lambda: book.lender.mark_late(loan_id), "NotOverdue")
    assert args == (loan_id, 0, 0)
    assert not book.lender.is_late(loan_id)
    clock(book.time, f + PERIOD)  # the first instalment is due
    assert book.lender.is_late(loan_id)
    book.lender.mark_late(loan_id)
    loan = book.lender.loan(loan_id)
    assert loan.late and loan.status == LoanStatus.FUNDED
    (ev,) = [e for e in book.lender.events() if e.name == "LoanLate"]
    assert ev.args["overdue"] == INST
    with reverts("AlreadyLate"):
        book.lender.mark_late(loan_id)
    book.borrower.repay(loan_id, INST - 1)  # not caught up: still late
    assert book.lender.loan(loan_id).late
    book.borrower.repay(loan_id, 1)
    assert not book.lender.loan(loan_id).late
    assert [e.name for e in book.lender.events()].count("LoanCured") == 1
    with reverts("NotOverdue"):
        book.lender.mark_late(loan_id)


def test_paid_ahead_is_not_late(book):
    loan_id = book.funded(1)
    book.borrower.repay(loan_id, 2 * INST)
    f = book.lender.loan(loan_id).funded_at
    clock(book.time, f + 3 * PERIOD - 1)
    with reverts("NotOverdue"):
        book.lender.mark_late(loan_id)
    clock(book.time, f + 3 * PERIOD)
    book.lender.mark_late(loan_id)


def test_mark_default_edges(book):
    loan_id = book.funded(1)
    f = book.lender.loan(loan_id).funded_at
    book.borrower.repay(loan_id, INST)  # the first instalment is paid: the second defaults
    with reverts("NotLender"):
        book.borrower.mark_default(loan_id)
    clock(book.time, f + 2 * PERIOD + DEFAULT_AFTER - 1)
    args = _revert(lambda: book.lender.mark_default(loan_id), "NotOverdue")
    assert args == (loan_id, INST, INST)
    assert book.lender.is_late(loan_id) and not book.lender.can_default(loan_id)
    book.lender.mark_late(loan_id)
    clock(book.time, f + 2 * PERIOD + DEFAULT_AFTER)  # overdue by exactly DEFAULT_AFTER
    assert book.lender.can_default(loan_id)
    book.lender.mark_default(loan_id)
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.DEFAULTED and loan.outstanding == TOTAL - INST
    assert not loan.late  # the default supersedes the late flag
    (ev,) = [e for e in book.lender.events() if e.name == "LoanDefaulted"]
    assert ev.args["outstanding"] == TOTAL - INST
    assert not book.lender.can_default(loan_id) and not book.lender.is_late(loan_id)
    for action in (book.lender.mark_default, book.lender.mark_late):
        with reverts("WrongStatus"):
            action(loan_id)


def test_default_without_marking_late_first_and_recoveries(book):
    loan_id = book.funded(1)
    book.time.advance(PERIOD + DEFAULT_AFTER + 1)
    book.lender.mark_default(loan_id)
    before = book.lender.pending()
    book.borrower.repay(loan_id, TOTAL // 3)  # a recovery: the status stays DEFAULTED
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.DEFAULTED and loan.repaid == TOTAL // 3
    assert loan.outstanding == TOTAL - TOTAL // 3
    assert book.lender.pending() == before + TOTAL // 3
    with reverts("Overpayment"):
        book.borrower.repay(loan_id, loan.outstanding + 1)
    book.outsider.repay(loan_id, loan.outstanding)  # recovered in full: RECOVERED
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.RECOVERED and loan.outstanding == 0
    assert loan.repaid == loan.total_owed
    names = [e.name for e in book.lender.events()]
    assert names[-2:] == ["Repayment", "LoanRecovered"] and "LoanRepaid" not in names
    with reverts("WrongStatus"):
        book.borrower.repay(loan_id, 1)
    assert book.lender.next_due(loan_id) == (0, 0)
    book.balance_matches()


def test_partial_recoveries_stay_defaulted_and_the_last_one_recovers(book):
    loan_id = book.funded(1)
    book.borrower.repay(loan_id, INST)
    book.time.advance(2 * PERIOD + DEFAULT_AFTER)
    book.lender.mark_default(loan_id)
    left = TOTAL - INST
    for part in (left // 4, left // 3, 1):
        payer = book.outsider if part == 1 else book.borrower  # anyone may pay a recovery
        payer.repay(loan_id, part)
        left -= part
        loan = book.lender.loan(loan_id)
        assert loan.status == LoanStatus.DEFAULTED and loan.outstanding == left
        assert book.lender.outstanding(loan_id) == left and not loan.late
        assert book.lender.payoff_amount(loan_id) == 0  # recovered with repay, not paid off
        assert not book.lender.is_late(loan_id) and not book.lender.can_default(loan_id)
    args = _revert(lambda: book.borrower.repay(loan_id, left + 1), "Overpayment")
    assert args == (left + 1, left)
    args = _revert(lambda: book.borrower.repay_all(loan_id, left), "WrongStatus")
    assert args == (loan_id, LoanStatus.DEFAULTED)
    book.borrower.repay(loan_id, left)
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.RECOVERED and loan.repaid == TOTAL
    assert loan.outstanding == 0 == book.lender.outstanding(loan_id)
    names = [e.name for e in book.lender.events()]
    assert names.count("LoanRecovered") == 1 and "LoanRepaid" not in names
    assert names.count("Repayment") == 5 and names[-1] == "LoanRecovered"
    (ev,) = [e for e in book.lender.events() if e.name == "LoanRecovered"]
    assert ev.args["loanId"] == loan_id
    assert book.lender.pending() == TOTAL  # every payment went to the lender
    for action in (
        lambda: book.borrower.repay(loan_id, 1),
        lambda: book.borrower.repay_all(loan_id, 1),
        lambda: book.lender.mark_late(loan_id),
        lambda: book.lender.mark_default(loan_id),
        lambda: book.lender.cancel(loan_id),
        lambda: book.borrower.cancel(loan_id),
    ):
        assert _revert(action, "WrongStatus") == (loan_id, LoanStatus.RECOVERED)
    assert book.lender.next_due(loan_id) == (0, 0) and book.lender.payoff_amount(loan_id) == 0
    book.balance_matches()


def test_withdraw_principal_and_repayments(book, w3):
    loan_id = book.funded(1)
    borrower, lender = book.borrower, book.lender
    with reverts("NothingToWithdraw"):
        lender.withdraw()
    before = w3.eth.get_balance(borrower.client.address)
    assert borrower.withdraw() == AMOUNT
    after = w3.eth.get_balance(borrower.client.address)
    assert before < after < before + AMOUNT
    assert borrower.pending() == 0 and w3.eth.get_balance(lender.address) == 0
    with reverts("NothingToWithdraw"):
        borrower.withdraw()
    borrower.repay(loan_id, 2 * INST)
    book.balance_matches()
    assert lender.withdraw() == 2 * INST
    assert lender.total_pending() == 0 == w3.eth.get_balance(lender.address)
    names = [e.name for e in lender.events() if e.name == "Withdrawn"]
    assert len(names) == 2


def test_reentrant_withdraw_is_refused_by_the_guard(book, clients, w3):
    attacker, _ = attacker_borrower(book, clients[2])
    before = w3.eth.get_balance(book.lender.address)
    clients[2].transact(attacker.functions.attack(1))
    assert w3.eth.get_balance(attacker.address) == AMOUNT  # paid once, not twice
    assert w3.eth.get_balance(book.lender.address) == before - AMOUNT
    error = bytes(attacker.functions.lastReentryError().call())
    assert error[:4] == function_signature_to_4byte_selector("ReentrancyGuardReentrantCall()")
    assert book.lender.pending(attacker.address) == 0
    book.balance_matches()


def test_reentrancy_that_bubbles_up_fails_and_changes_nothing(book, clients, w3):
    attacker, _ = attacker_borrower(book, clients[2])
    before = w3.eth.get_balance(book.lender.address)
    with reverts("TransferFailed"):
        clients[2].transact(attacker.functions.attack(2))
    assert book.lender.pending(attacker.address) == AMOUNT
    assert w3.eth.get_balance(book.lender.address) == before
    clients[2].transact(attacker.functions.attack(0))  # an honest contract borrower
    assert w3.eth.get_balance(attacker.address) == AMOUNT
    book.balance_matches()
