# ruff: noqa: F811  (the fixtures come from loanbook_support and are named as arguments)
"""LoanBook gas ceilings (gas, not time): apply <= 150k, decide <= 120k, accept / withdraw <=
50k, fund / repay <= 100k (``LOANBOOK_GAS_TARGETS``), and ``repayAll`` <= 102.5k.

Two measurements: the bench's (``measure_loanbook_gas``, what ``hessian bench gas`` prints),
and this file's own run of every operation on the bench's loan (1 ETH, 12 % APR, 36 months)
through the wrapper, which adds ``repayAll``. The payoff steps through the months already due
(~107 gas a month), and its dearest case credits both the lender and the payer's excess to
empty balances (two fresh storage slots, 2 x 22,100 gas): on a 36-month loan in its last
month that is just over 100k (about 1,300 gas more since balances are kept per currency: two
hashes per balance and a per-currency total, and the ``maxAmount`` argument); a 60- or
120-month loan in its last month costs up to ``REPAY_ALL_LONG_TERM_CEILING``.
"""

from __future__ import annotations

from hessian_cli.chain import LOANBOOK_GAS_TARGETS, measure_loanbook_gas
from hessian_common.chain.token import ZERO_ADDRESS as ETH_ID
from tests.contracts.loanbook_support import (  # noqa: F401  (fixtures)
    DEFAULT_AFTER,
    ETH,
    PERIOD,
    Book,
    at,
    book,
    clock,
    loanbook,
)

REPAY_ALL_GAS_TARGET = 102_500
"""Ceiling for ``repayAll`` on loans of up to 36 months (the bench's loan); 100,000 before
balances were kept per currency."""
REPAY_ALL_LONG_TERM_CEILING = 112_500
"""Ceiling for ``repayAll`` at any term (120 months: 119 months of the payoff loop)."""
APR, TERM = 1_200, 36


def _empty(*parties) -> None:
    """Withdraw what each party holds, so that its next credit fills an empty balance."""
    for party in parties:
        if party.pending():
            party.withdraw()


def measure(book: Book) -> list[tuple[str, str, int]]:
    """Every LoanBook operation a borrower or lender repeats per loan, and ``repayAll`` in its
    cheap and dear cases; ``(operation, case, gas)`` rows."""
    lender, borrower, payer = book.lender, book.borrower, book.outsider
    rows: list[tuple[str, str, int]] = []

    def gas(op: str, case: str, receipt: dict) -> None:
        rows.append((op, case, int(receipt["gasUsed"])))

    def apply(n: int, case: str | None = None) -> int:
        fn = lender.fn.applyForLoan(book.model_id, bytes([n]) * 32, "bafy" + "a" * 55, ETH, TERM)
        receipt = borrower.client.transact(fn)
        if case:
            gas("applyForLoan", case, receipt)
        return lender.loan_count()

    def funded(n: int, apr: int = APR, term: int = TERM, who=borrower) -> int:
        loan_id = who.apply(book.model_id, bytes([n]) * 32, "bafy" + "b" * 55, ETH, term)
        lender.decide(loan_id, True, 80_000, apr, ETH, term)
        who.accept(loan_id)
        lender.fund(loan_id)
        return loan_id

    def pay_off(case: str, loan_id: int, months: int, extra: int, empty_lender: bool) -> None:
        if empty_lender:
            _empty(lender)
        _empty(payer)
        paid_at = lender.loan(loan_id).funded_at + months * PERIOD + 300
        at(book.time, paid_at)
        quote = lender.payoff_amount(loan_id, paid_at)
        gas("repayAll", case, payer.repay_all(loan_id, quote + extra))

    # another borrower's principal left pending: the contract never holds nothing
    keep = funded(200, who=book.borrowers[1])
    a = apply(1, "an application (59-char sealed-application CID)")
    b = apply(2, "same borrower, another application")
    c = apply(3)
    gas("decide", "approve (instalment on chain)", lender.decide(a, True, 80_000, APR, ETH, TERM))
    gas("decide", "approve, 120 months at 100 %", lender.decide(c, True, 1, 10_000, ETH, 120))
    gas("decide", "decline", lender.decide(b, False, 450_000))
    gas("accept", "borrower, within the offer's validity", borrower.accept(a))
    gas("fund", "within the funding window (borrower's first credit)", lender.fund(a))
    gas(
        "withdraw",
        "borrower takes the principal",
        borrower.client.transact(lender.fn.withdraw(ETH_ID)),
    )
    inst = lender.loan(a).installment
    gas("repay", "first instalment (lender's first credit)", borrower.repay(a, inst))
    gas("repay", "an instalment", borrower.repay(a, inst))
    clock(book.time, lender.loan(a).funded_at + TERM * PERIOD)  # the last due date
    gas("repay", "final (fully repaid)", borrower.repay(a, lender.outstanding(a)))
    d = funded(4)
    book.time.advance(PERIOD + 1)
    lender.mark_late(d)
    gas("repay", "catches up a late loan (cured)", borrower.repay(d, inst))
    book.time.advance(2 * PERIOD + DEFAULT_AFTER)
    lender.mark_default(d)
    gas("repay", "recovery after default", borrower.repay(d, 10**15))
    gas("repay", "recovered in full (RECOVERED)", borrower.repay(d, lender.outstanding(d)))

    pay_off("minutes after funding, exact", funded(5), 0, 0, empty_lender=False)
    pay_off("minutes after funding, lender's first credit", funded(6), 0, 0, empty_lender=True)
    pay_off("minutes after funding, excess back", funded(7), 0, 10**12, empty_lender=False)
    dear = "lender's first credit, excess back to an empty balance"
    pay_off(f"minutes after funding, {dear}", funded(8), 0, 10**12, empty_lender=True)
    pay_off("month 18 of 36, excess back", funded(9), 18, 10**12, empty_lender=False)
    late = funded(10)
    book.time.advance(PERIOD + 1)
    lender.mark_late(late)
    pay_off(f"month 35 of 36, late, {dear}", late, 35, 10**12, empty_lender=True)
    pay_off(f"month 59 of 60, {dear}", funded(11, term=60), 59, 10**12, empty_lender=True)
    long = funded(12, apr=10_000, term=120)
    pay_off(f"month 119 of 120 at 100 %, {dear}", long, 119, 10**12, empty_lender=True)
    assert lender.loan(keep).status.label == "funded"
    book.balance_matches()
    return rows


def test_loanbook_gas_targets_hold_for_every_measured_case():
    rows = measure_loanbook_gas()
    measured = {op for op, _, _ in rows}
    assert set(LOANBOOK_GAS_TARGETS) <= measured
    assert {"deployModel", "markLate", "markDefault", "cancel", "retireModel"} <= measured
    for op, case, used in rows:
        if op in LOANBOOK_GAS_TARGETS:
            assert used <= LOANBOOK_GAS_TARGETS[op], f"{op} ({case}) used {used:,} gas"
    cases = {(op, case) for op, case, _ in rows}
    assert ("repay", "final (fully repaid)") in cases
    assert ("decide", "decline") in cases


def test_every_operation_and_repay_all_within_their_targets(book):
    rows = measure(book)
    assert set(LOANBOOK_GAS_TARGETS) | {"repayAll"} <= {op for op, _, _ in rows}
    for op, case, used in rows:
        if op == "repayAll":
            long_term = "of 60" in case or "of 120" in case
            target = REPAY_ALL_LONG_TERM_CEILING if long_term else REPAY_ALL_GAS_TARGET
        else:
            target = LOANBOOK_GAS_TARGETS[op]
        assert used <= target, f"{op} ({case}) used {used:,} gas, target {target:,}"
