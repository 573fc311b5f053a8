# ruff: noqa: F811  (the fixtures come from loanbook_support and are named as arguments)
"""LoanBook: apply, decide, accept (offer expiry), cancel."""

from __future__ import annotations

import pytest

from hessian_common.chain.loanbook import MAX_APR_BPS, LoanStatus, installment_for
from hessian_common.errors import ConfigError, ContractRevert
from tests.contracts.helpers import reverts
from tests.contracts.loanbook_support import (  # noqa: F401  (fixtures)
    AMOUNT,
    APP_CID,
    APR,
    OFFER_VALIDITY,
    PD,
    TERM,
    at,
    book,
    create_closed_model,
    digest,
    loanbook,
)


def test_apply_records_the_loan_and_event(book):
    loan_id = book.applied(1, amount=AMOUNT, term=36)
    assert loan_id == 1
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.APPLIED and loan.borrower == book.borrower.client.address
    assert loan.lender == book.lender.client.address and loan.model_id == book.model_id
    assert loan.amount == AMOUNT and loan.requested_term == 36
    assert loan.application_cid == APP_CID and loan.application_digest == digest(1)
    assert loan.applied_at == book.time.now()
    assert loan.principal == loan.term_months == loan.installment == loan.total_owed == 0
    assert book.lender.loan_count() == 1
    assert book.lender.deployment(book.model_id).loan_count == 1
    borrower = book.borrower.client.address
    assert book.lender.digest_used(book.model_id, digest(1), borrower) == loan_id
    assert book.borrower.digest_used(book.model_id, digest(1)) == loan_id  # the caller's own
    assert book.lender.digest_used(book.model_id, digest(1)) == 0  # recorded per borrower
    assert book.borrowers[1].apply(book.model_id, digest(2), APP_CID, 5, 1) == 2


def test_apply_reverts(book):
    b = book.borrower
    m = book.model_id
    with reverts("ModelNotDeployed"):
        b.apply(m + 1, digest(1), APP_CID, AMOUNT, TERM)
    with reverts("ZeroAmount"):
        b.apply(m, digest(1), APP_CID, 0, TERM)
    for term in (0, 121):
        with pytest.raises(ContractRevert) as info:
            b.apply(m, digest(1), APP_CID, AMOUNT, term)
        assert info.value.error_name == "InvalidTerm" and info.value.error_args == (term,)
    with reverts("ZeroDigest"):
        b.apply(m, b"\x00" * 32, APP_CID, AMOUNT, TERM)
    with reverts("EmptyCid"):
        b.apply(m, digest(1), "", AMOUNT, TERM)
    with pytest.raises(ConfigError, match="digest"):
        b.apply(m, b"short", APP_CID, AMOUNT, TERM)
    assert book.lender.loan_count() == 0  # nothing happened
    b.apply(m, digest(1), APP_CID, AMOUNT, 120)
    with pytest.raises(ContractRevert) as info:
        b.apply(m, digest(1), APP_CID, AMOUNT, TERM)
    assert info.value.error_name == "DuplicateApplication"
    assert info.value.error_args == (m, digest(1), 1)
    assert book.lender.loan_count() == 1


def test_same_digest_on_another_model(book):
    book.applied(1)
    other = create_closed_model(book.repo, book.time)
    book.lender.deploy_model(other, APP_CID, b"\x09" * 32)
    assert book.borrower.apply(other, digest(1), APP_CID, AMOUNT, TERM) == 2


def test_a_copied_digest_does_not_block_the_borrower(book):
    """Applications are recorded per (model, borrower, digest): someone who sends a
    borrower's digest first (copied from a pending transaction) gets a loan of their own, the
    borrower still applies; each of them only once."""
    m, d = book.model_id, digest(1)
    honest, copier = book.borrowers[0], book.borrowers[1]
    copy = copier.apply(m, d, APP_CID, AMOUNT, TERM)
    own = honest.apply(m, d, APP_CID, AMOUNT, TERM)
    assert (copy, own) == (1, 2)
    assert book.lender.digest_used(m, d, copier.client.address) == copy
    assert book.lender.digest_used(m, d, honest.client.address) == own
    assert book.lender.digest_used(m, d, book.outsider.client.address) == 0
    loan = book.lender.loan(own)
    assert loan.borrower == honest.client.address and loan.application_digest == d
    for who, first in ((honest, own), (copier, copy)):
        with pytest.raises(ContractRevert) as info:
            who.apply(m, d, APP_CID, AMOUNT, TERM)
        assert info.value.error_name == "DuplicateApplication"
        assert info.value.error_args == (m, d, first)
    # a cancelled or declined application keeps its digest: the same answers are the same
    # application, not a new one
    honest.cancel(own)
    book.lender.decide(copy, False, PD)
    for who in (honest, copier):
        with reverts("DuplicateApplication"):
            who.apply(m, d, APP_CID, AMOUNT, TERM)
    assert book.lender.loan_count() == 2
    assert book.borrowers[2].apply(m, d, APP_CID, AMOUNT, TERM) == 3  # a third account too


def test_decide_approve_computes_installment(book):
    loan_id = book.applied(1, amount=2 * AMOUNT, term=60)
    receipt = book.lender.decide(loan_id, True, PD, APR, AMOUNT, 36)
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.OFFERED
    assert (loan.pd_ppm, loan.apr_bps, loan.principal, loan.term_months) == (PD, APR, AMOUNT, 36)
    assert loan.installment == installment_for(AMOUNT, APR, 36)
    assert loan.total_owed == loan.installment * 36 == book.lender.total_owed(loan_id)
    assert loan.offer_expires == book.time.now() + OFFER_VALIDITY
    assert loan.outstanding == 0 and loan.pd == PD / 1e6 and loan.apr == 0.12
    (event,) = [e for e in book.lender.events() if e.name == "LoanDecided"]
    assert event.block_number == receipt["blockNumber"]
    assert event.args["installment"] == loan.installment and event.args["approved"]


def test_decide_decline_records_pd_only(book):
    loan_id = book.applied(1)
    book.lender.decide(loan_id, False, 600_000, 999, 5, 7)
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.DECLINED and loan.pd_ppm == 600_000
    assert (loan.apr_bps, loan.principal, loan.term_months, loan.installment) == (0, 0, 0, 0)
    with reverts("WrongStatus"):
        book.lender.decide(loan_id, True, 1, APR, AMOUNT, TERM)
    with reverts("WrongStatus"):
        book.borrower.accept(loan_id)


def test_decide_reverts(book):
    loan_id = book.applied(1)
    fn = book.lender.fn
    with reverts("NotLender"):
        book.borrower.decide(loan_id, True, PD, APR, AMOUNT, TERM)
    with reverts("UnknownLoan"):
        book.lender.decide(9, True, PD, APR, AMOUNT, TERM)
    # the wrapper checks what it can; the raw calls show the contract checks too
    with pytest.raises(ConfigError):
        book.lender.decide(loan_id, True, 1_000_001)
    with reverts("PdOutOfRange"):
        book.lender.client.transact(fn.decide(loan_id, True, 1_000_001, APR, AMOUNT, TERM))
    with reverts("AprTooHigh"):
        book.lender.client.transact(fn.decide(loan_id, True, PD, MAX_APR_BPS + 1, AMOUNT, TERM))
    with reverts("InvalidPrincipal"):
        book.lender.client.transact(fn.decide(loan_id, True, PD, APR, 0, TERM))
    with reverts("InvalidPrincipal"):
        book.lender.client.transact(fn.decide(loan_id, True, PD, APR, AMOUNT + 1, TERM))
    for term in (0, 121):
        with reverts("InvalidTerm"):
            book.lender.client.transact(fn.decide(loan_id, True, PD, APR, AMOUNT, term))
    assert book.status(loan_id) == LoanStatus.APPLIED
    book.lender.decide(loan_id, True, 1_000_000, MAX_APR_BPS, AMOUNT, 120)  # the bounds pass
    with reverts("WrongStatus"):
        book.lender.decide(loan_id, False, PD)


def test_accept_until_offer_expires(book):
    a = book.offered(1)
    expires = book.lender.loan(a).offer_expires
    with reverts("NotBorrower"):
        book.borrowers[1].accept(a)
    with reverts("NotBorrower"):
        book.lender.accept(a)
    at(book.time, expires)  # the last second is still in time
    receipt = book.borrower.accept(a)
    assert book.lender.client.block_timestamp(receipt["blockNumber"]) == expires
    assert book.status(a) == LoanStatus.ACCEPTED
    with reverts("WrongStatus"):
        book.borrower.accept(a)


def test_offer_expired(book):
    loan_id = book.offered(1)
    expires = book.lender.loan(loan_id).offer_expires
    at(book.time, expires + 1)
    with pytest.raises(ContractRevert) as info:
        book.borrower.accept(loan_id)
    assert info.value.error_name == "OfferExpired"
    assert info.value.error_args == (loan_id, expires, expires + 1)
    book.borrower.cancel(loan_id)  # an expired offer can still be cancelled
    assert book.status(loan_id) == LoanStatus.CANCELLED


def test_cancel_paths(book):
    applied, offered, accepted = book.applied(1), book.offered(2), book.accepted(3)
    funded, declined = book.funded(4), book.applied(5)
    book.lender.decide(declined, False, PD)
    with reverts("NotParty"):
        book.outsider.cancel(applied)
    with reverts("NotParty"):
        book.borrowers[1].cancel(applied)
    with reverts("WrongStatus"):
        book.lender.cancel(applied)  # the lender declines instead
    for loan_id in (funded, declined):
        for who in (book.borrower, book.lender):
            with reverts("WrongStatus"):
                who.cancel(loan_id)
    book.borrower.cancel(applied)
    book.lender.cancel(offered)
    book.lender.cancel(accepted)
    for loan_id in (applied, offered, accepted):
        assert book.status(loan_id) == LoanStatus.CANCELLED
        with reverts("WrongStatus"):
            book.borrower.cancel(loan_id)
    with reverts("WrongStatus"):
        book.lender.fund(accepted)
    by = [
        (e.args["loanId"], e.args["by"]) for e in book.lender.events() if e.name == "LoanCancelled"
    ]
    assert by == [
        (applied, book.borrower.client.address),
        (offered, book.lender.client.address),
        (accepted, book.lender.client.address),
    ]
    b2 = book.borrower.apply(book.model_id, digest(9), APP_CID, AMOUNT, TERM)
    book.lender.decide(b2, True, PD, APR, AMOUNT, TERM)
    book.borrower.cancel(b2)  # the borrower may cancel an offer too
    book.balance_matches()


def test_loans_filters(book):
    a = book.applied(1)
    b = book.borrowers[1].apply(book.model_id, digest(2), APP_CID, AMOUNT, TERM)
    other = create_closed_model(book.repo, book.time)
    book.lender.deploy_model(other, APP_CID, b"\x09" * 32)
    c = book.borrower.apply(other, digest(3), APP_CID, AMOUNT, TERM)
    ids = [x.loan_id for x in book.lender.loans()]
    assert ids == [a, b, c]
    assert [x.loan_id for x in book.lender.loans(model_id=book.model_id)] == [a, b]
    assert [x.loan_id for x in book.lender.loans(borrower=book.borrower.client.address)] == [a, c]
    assert [x.loan_id for x in book.lender.loans(lender=book.lender.client.address)] == [a, b, c]
    assert book.lender.loans(lender=book.outsider.client.address) == []
    assert book.lender.loans(model_id=other, borrower=book.borrowers[1].client.address) == []


def test_decide_refuses_a_total_that_does_not_fit(book):
    huge = 2**128 - 1
    loan_id = book.applied(1, amount=huge, term=120)
    with pytest.raises(ContractRevert) as info:
        book.lender.decide(loan_id, True, PD, MAX_APR_BPS, huge, 120)
    assert info.value.error_name == "ValueTooLarge"
    book.lender.decide(loan_id, True, PD, 0, huge - 200, 120)  # 0 %: ~ the principal
    assert huge - 200 <= book.lender.loan(loan_id).total_owed <= huge


def test_every_step_emits_its_event(book):
    loan_id = book.funded(1)
    book.lender.retire_model(book.model_id)
    names = [e.name for e in book.lender.events()]
    assert names == [
        "ModelDeployed",
        "LoanApplied",
        "LoanDecided",
        "OfferAccepted",
        "LoanFunded",
        "ModelRetired",
    ]
    (accepted,) = [e for e in book.lender.events() if e.name == "OfferAccepted"]
    assert accepted.args["loanId"] == loan_id
