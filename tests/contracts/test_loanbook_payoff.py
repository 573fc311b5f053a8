# ruff: noqa: F811  (the fixtures come from loanbook_support and are named as arguments)
"""LoanBook early payoff: ``payoffAmount`` against an exact amortisation, and ``repayAll``."""

from __future__ import annotations

from hessian_common.chain.loanbook import payoff_for
from tests.contracts.loanbook_support import (  # noqa: F401  (fixtures)
    PERIOD,
    book,
    loanbook,
)


def test_payoff_never_drops_at_a_due_date(book):
    """A small loan: the rounding of the balance once an instalment falls due must not undo
    the second of interest before it (8,291 wei one second before the second due date, 8,290
    at it, when the balance was computed afresh for each month)."""
    loan_id = book.funded(1, principal=8_067, apr=1_675, term=36)
    loan = book.lender.loan(loan_id)
    f = loan.funded_at
    for k in range(1, 36):
        before = book.lender.payoff_amount(loan_id, f + k * PERIOD - 1)
        due = book.lender.payoff_amount(loan_id, f + k * PERIOD)
        assert due >= before, (k, before, due)
        mirror = payoff_for(8_067, 1_675, 36, loan.installment, 0, f, f + k * PERIOD, PERIOD)
        assert due == mirror
