# ruff: noqa: F811  (the fixtures come from loanbook_support and are named as arguments)
"""LoanBook early payoff: ``payoffAmount`` against an exact amortisation, and ``repayAll``.

The reference, :class:`ExactSchedule`, is the textbook annuity in exact rationals
(``fractions.Fraction``), not the contract's month-by-month integer steps. For a loan of
principal ``A``, instalment ``M`` (the loan's own, as the contract rounded it), ``n`` months
of ``P`` seconds and ``R`` repaid, at ``k = e // P`` instalments due (``e`` seconds after
funding)::

    B_k = A (1 + i)^k − M ((1 + i)^k − 1) / i        (A − k M at 0 %), at least 0
    payoff = min(n M − R, max(0, k M + B_k + B_k i (e − k P) / P − R))     (k < n)
    payoff = n M − R                                                       (k ≥ n)

with the monthly rate ``i = ⌊apr · 10¹⁸ / 120000⌋ / 10¹⁸``, the rate the contract computes the
instalment at (exactly apr / 12 when the APR is a multiple of 3 bp, else below it by less
than 10⁻¹⁸).

Rounding bound (documented in ``contracts/LoanBook.sol``): the contract rounds the balance up
once a month, ``B'_j = max(0, ceil(B'_{j−1} (1 + i)) − M)``, and the accrued interest up once,
so by induction ``B_k ≤ B'_k ≤ B_k + Σ_{j<k} (1 + i)^j`` and::

    exact ≤ payoff ≤ exact + S_k,    S_k = Σ_{j=0..k} (1 + i)^j wei

(equality at 0 % APR, where nothing is rounded). ``S_k ≤ k + 1`` wei at low rates and
≈ 177,600 wei (1.8e-13 ETH) at 100 % APR in month 119: the lender is never short and the
borrower never pays more than a fraction of a gwei above the exact payoff. Against the nominal
rate ``apr / 12`` the exact payoff moves by less than ``A · S_k · 10⁻¹⁸`` (its derivative in
``i`` is at most ``A · S_k``).
"""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest
from eth_utils import function_signature_to_4byte_selector
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hessian_common.chain.loanbook import (
    MAX_APR_BPS,
    MAX_TERM,
    WAD,
    LoanStatus,
    installment_for,
    payoff_for,
)
from hessian_common.errors import ContractRevert
from tests.contracts.helpers import reverts
from tests.contracts.loanbook_support import (  # noqa: F401  (fixtures)
    AMOUNT,
    APR,
    DEFAULT_AFTER,
    ETH,
    PD,
    PERIOD,
    TERM,
    at,
    attacker_borrower,
    book,
    clock,
    loanbook,
)

OFFSETS = (-1, 0, 1, PERIOD // 2, PERIOD - 1)
"""Seconds around each due date ``k P``: the second before, the due date itself, the second
after, mid-period and the last second of the period."""
CHAIN_OFFSETS = (-1, 0, PERIOD // 2)
"""The same on chain (fewer: each is a call; the mirror's test covers every offset)."""


class ExactSchedule:
    """The exact payoff of one loan (module docstring), independent of the contract's steps."""

    def __init__(
        self, principal: int, apr_bps: int, term: int, installment: int, rate: Fraction | None
    ) -> None:
        self.principal, self.term, self.installment = principal, term, installment
        self.i = Fraction(apr_bps * WAD // 120_000, WAD) if rate is None else rate
        growth = Fraction(1)
        self.balance: list[Fraction] = []  # B_k for k = 0 .. term - 1
        for k in range(term):
            if k:
                growth *= 1 + self.i
            if self.i == 0:
                b = Fraction(principal - k * installment)
            else:
                b = principal * growth - installment * (growth - 1) / self.i
            self.balance.append(max(b, Fraction(0)))

    @classmethod
    def of(cls, principal: int, apr_bps: int, term: int, nominal: bool = False) -> ExactSchedule:
        """The schedule at the loan's rate (or at the nominal ``apr / 12`` with ``nominal``)."""
        rate = Fraction(apr_bps, 120_000) if nominal else None
        return cls(principal, apr_bps, term, installment_for(principal, apr_bps, term), rate)

    def payoff(self, repaid: int, elapsed: int) -> Fraction:
        """The exact payoff ``elapsed`` seconds after funding, ``repaid`` wei paid so far."""
        owed_left = Fraction(self.installment * self.term - repaid)
        k = elapsed // PERIOD
        if k >= self.term:
            return owed_left
        b = self.balance[k]
        accrued = b * self.i * Fraction(elapsed - k * PERIOD, PERIOD)
        return min(owed_left, max(Fraction(0), k * self.installment + b + accrued - repaid))

    def bound(self, elapsed: int) -> Fraction:
        """``S_k``: how far above :meth:`payoff` the contract's rounding may go (module doc)."""
        if self.i == 0:
            return Fraction(0)
        k = min(elapsed // PERIOD, self.term)
        return ((1 + self.i) ** (k + 1) - 1) / self.i

    def second_at_due_date(self, k: int) -> Fraction:
        """The exact rise of the payoff over the second that ends at due date ``k`` (1..n):
        one second of interest on the balance, plus what the instalment exceeds the balance
        and its interest by, where the schedule runs out (rounding of the instalment)."""
        b = self.balance[k - 1]
        return b * self.i / PERIOD + max(Fraction(0), self.installment - b * (1 + self.i))


def check_payoffs(
    schedule: ExactSchedule, nominal: ExactSchedule, repaid: int, values: dict[int, int]
) -> None:
    """Every property of the payoff, for ``values`` = {seconds after funding: payoff in wei}."""
    owed_left = schedule.installment * schedule.term - repaid
    principal = schedule.principal
    for elapsed, value in values.items():
        exact = schedule.payoff(repaid, elapsed)
        where = (elapsed // PERIOD, elapsed % PERIOD, value, float(exact))
        assert exact <= value <= exact + schedule.bound(elapsed), where  # the lender never short
        assert value <= owed_left, where
        if elapsed >= schedule.term * PERIOD:
            assert value == owed_left, where  # everything owed after the last due date
        near = nominal.payoff(repaid, elapsed)
        slack = principal * nominal.bound(elapsed) / WAD
        assert near - slack <= value <= near + schedule.bound(elapsed), where
    times = sorted(values)
    for before, after in itertools.pairwise(times):
        assert values[before] <= values[after], (before, after)  # non-decreasing in time
    for k in range(1, schedule.term + 1):
        due = k * PERIOD
        if due in values and due - 1 in values:  # continuous across the due date
            rise = values[due] - values[due - 1]
            assert rise <= schedule.second_at_due_date(k) + schedule.bound(due), (k, rise)


@st.composite
def loans(draw, max_principal: int) -> tuple[int, int, int, int]:
    """``(principal, apr_bps, term, repaid)``: APR 0 and 100 % and terms 1 and 120 are drawn
    often; repaid is nothing, whole instalments (on or ahead of schedule), instalments and a
    part, or anything short of the total (the loan stays FUNDED)."""
    principal = draw(
        st.one_of(
            st.integers(1, 10_000),
            st.integers(1, max_principal),
            st.sampled_from([1, 8_067, min(ETH, max_principal), max_principal]),
        )
    )
    apr = draw(st.one_of(st.integers(0, MAX_APR_BPS), st.sampled_from([0, 1, 1_675, 10_000])))
    term = draw(st.one_of(st.integers(1, MAX_TERM), st.sampled_from([1, 2, 36, 120])))
    inst = installment_for(principal, apr, term)
    total = inst * term
    kind = draw(st.sampled_from(["nothing", "instalments", "part", "any"]))
    if kind == "nothing" or total == 1:
        repaid = 0
    elif kind == "instalments":
        repaid = inst * draw(st.integers(0, term - 1))
    elif kind == "part":
        repaid = inst * draw(st.integers(0, term - 1)) + draw(st.integers(0, max(inst - 1, 0)))
    else:
        repaid = draw(st.integers(0, total - 1))
    return principal, apr, term, min(repaid, total - 1)


# ------------------------------------------------------------------ the Python mirror


@settings(max_examples=120, deadline=None)
@given(loan=loans(max_principal=2**100))
def test_mirror_payoff_is_the_exact_payoff_rounded_up(loan):
    """``payoff_for`` at every due date (and around it) of the whole term, and beyond."""
    principal, apr, term, repaid = loan
    schedule = ExactSchedule.of(principal, apr, term)
    nominal = ExactSchedule.of(principal, apr, term, nominal=True)
    inst = schedule.installment
    values = {}
    for k in range(term + 2):
        for offset in OFFSETS:
            e = k * PERIOD + offset
            if e >= 0:
                values[e] = payoff_for(principal, apr, term, inst, repaid, 0, e, PERIOD)
    check_payoffs(schedule, nominal, repaid, values)


def test_mirror_known_values():
    """1 ETH at 12 % (1 % a month exactly) over 12 months, by hand."""
    inst = installment_for(ETH, 1_200, 12)
    assert inst == 88_848_788_678_341_708  # A i / (1 - 1.01^-12), rounded up
    pay = lambda repaid, e: payoff_for(ETH, 1_200, 12, inst, repaid, 0, e, PERIOD)  # noqa: E731
    assert pay(0, 0) == ETH  # nothing accrued at funding
    assert pay(0, PERIOD // 2) == ETH + ETH // 200  # half a month of 1 %
    # at the first due date: the instalment due and the balance after it, A (1 + i) in all
    assert pay(0, PERIOD) == ETH + ETH // 100
    assert pay(inst, PERIOD) == ETH + ETH // 100 - inst  # the instalment paid
    assert pay(2 * inst, 0) == ETH - 2 * inst  # paid ahead: only the principal left
    assert pay(0, 12 * PERIOD) == 12 * inst == pay(0, 10**9)  # everything owed
    assert pay(11 * inst + 1, 10**9) == inst - 1
    # 0 %: 10 wei over 3 months, instalments of 4; 5 repaid: the principal left, until the
    # last due date makes the instalments' rounding (12 - 10) due too
    zero = [payoff_for(10, 0, 3, 4, 5, 0, k * PERIOD + 7, PERIOD) for k in range(4)]
    assert zero == [5, 5, 5, 7]


# ------------------------------------------------------------------ the contract

_digests = itertools.count(1_000)


@pytest.mark.slow
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(loan=loans(max_principal=10 * ETH), ks=st.lists(st.integers(0, MAX_TERM), max_size=3))
def test_contract_payoff_equals_the_mirror_and_the_exact_payoff(book, loan, ks):
    """``payoffAmount`` on a funded loan, after its repayments, at due dates (and around them),
    mid-period and after the last: equal to ``payoff_for``, and every property of the payoff."""
    principal, apr, term, repaid = loan
    loan_id = book.funded(next(_digests), principal=principal, apr=apr, term=term)
    if repaid:
        book.borrower.repay(loan_id, repaid)
    info = book.lender.loan(loan_id)
    assert (info.principal, info.apr_bps, info.term_months, info.repaid) == (
        principal,
        apr,
        term,
        repaid,
    )
    schedule = ExactSchedule.of(principal, apr, term)
    assert info.installment == schedule.installment
    f, now = info.funded_at, book.time.now()
    values = {}
    for k in {0, 1, 2, term - 1, term, term + 1, *(k for k in ks if k <= term)}:
        for offset in CHAIN_OFFSETS:
            e = max(k * PERIOD + offset, now - f)  # the view answers for now at the earliest
            value = book.lender.payoff_amount(loan_id, f + e)
            mirror = payoff_for(principal, apr, term, info.installment, repaid, f, f + e, PERIOD)
            assert value == mirror, (k, offset)
            values[e] = value
    check_payoffs(schedule, ExactSchedule.of(principal, apr, term, nominal=True), repaid, values)


def test_payoff_never_drops_at_a_due_date(book):
    """A small loan: the rounding of the balance once an instalment falls due must not undo
    the second of interest before it (8,291 wei one second before the second due date, 8,290
    at it, when the balance was computed afresh for each month in closed form)."""
    loan_id = book.funded(1, principal=8_067, apr=1_675, term=36)
    loan = book.lender.loan(loan_id)
    f = loan.funded_at
    for k in range(1, 37):
        before = book.lender.payoff_amount(loan_id, f + k * PERIOD - 1)
        due = book.lender.payoff_amount(loan_id, f + k * PERIOD)
        assert due >= before, (k, before, due)
        mirror = payoff_for(8_067, 1_675, 36, loan.installment, 0, f, f + k * PERIOD, PERIOD)
        assert due == mirror


def test_payoff_view_answers_for_now_at_the_earliest_and_zero_unless_funded(book):
    loan_id = book.funded(1)
    f = book.lender.loan(loan_id).funded_at
    clock(book.time, f + 3 * PERIOD + 5)
    now = book.lender.payoff_amount(loan_id)
    assert now == book.lender.payoff_amount(loan_id, f) == book.lender.payoff_amount(loan_id, 1)
    assert now == payoff_for(AMOUNT, APR, TERM, book.lender.loan(loan_id).installment, 0, f,
                             f + 3 * PERIOD + 5, PERIOD)  # fmt: skip
    for other in (book.applied(2), book.offered(3), book.accepted(4)):
        assert book.lender.payoff_amount(other) == 0
    with reverts("UnknownLoan"):
        book.lender.payoff_amount(99)


# ------------------------------------------------------------------ repayAll


def test_issue_example_paid_off_minutes_after_funding_costs_about_the_principal(book, w3):
    """Issue 19: a 1 ETH loan at 16 % APR over 36 months paid off five minutes after funding
    cost 1.1675 ETH (every future month's interest); now it costs 1 ETH and five minutes of
    interest (about 1.5e12 wei)."""
    loan_id = book.funded(1, principal=ETH, apr=1_600, term=36)
    loan = book.lender.loan(loan_id)
    assert loan.total_owed > 1.26 * ETH  # what the 36 instalments come to
    paid_at = loan.funded_at + 5 * 60
    at(book.time, paid_at)
    quote = book.lender.payoff_amount(loan_id, paid_at)
    exact = ExactSchedule.of(ETH, 1_600, 36).payoff(0, 5 * 60)
    assert exact <= quote <= exact + 1
    assert ETH < quote < ETH + 2 * 10**12
    wallet = w3.eth.get_balance(book.borrower.client.address)
    receipt = book.borrower.repay_all(loan_id, quote)
    assert book.lender.client.block_timestamp(receipt["blockNumber"]) == paid_at
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"]
    assert wallet - w3.eth.get_balance(book.borrower.client.address) == quote + fee
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.REPAID and loan.repaid == quote and loan.outstanding == 0
    assert book.lender.paid_off(loan_id) == quote
    assert book.lender.pending() == quote and book.borrower.pending() == ETH  # nothing back
    events = [e for e in book.lender.events() if e.block_number == receipt["blockNumber"]]
    assert [e.name for e in events] == ["Repayment", "LoanPaidOff", "LoanRepaid"]
    assert events[0].args["payer"] == book.borrower.client.address
    assert events[0].args["amount"] == quote == events[0].args["totalRepaid"]
    assert events[1].args["amount"] == quote and events[2].args["loanId"] == loan_id
    assert book.lender.payoff_amount(loan_id) == 0 and book.lender.next_due(loan_id) == (0, 0)
    assert book.lender.withdraw() == quote
    book.balance_matches()


def test_insufficient_value_is_refused_and_changes_nothing(book):
    loan_id = book.funded(1)
    f = book.lender.loan(loan_id).funded_at
    clock(book.time, f + 1_000)  # the client's check before sending runs at this second
    quote = book.lender.payoff_amount(loan_id)
    with pytest.raises(ContractRevert) as info:
        book.borrower.repay_all(loan_id, quote - 1)
    assert info.value.error_name == "InsufficientPayoff"
    assert info.value.error_args == (quote - 1, quote)
    with reverts("InsufficientPayoff"):
        book.borrower.repay_all(loan_id, 0)
    # the quote for this second is a second of interest short in the block that mines it
    later = book.lender.payoff_amount(loan_id, book.time.now() + 1)
    assert later > quote
    with pytest.raises(ContractRevert) as info:
        book.borrower.repay_all(loan_id, quote)
    assert info.value.error_name == "InsufficientPayoff"
    assert info.value.error_args == (quote, later)
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.FUNDED and loan.repaid == 0
    assert book.lender.pending() == 0 and book.borrower.pending() == AMOUNT
    assert [e.name for e in book.lender.events()].count("Repayment") == 0
    book.balance_matches()


def test_anyone_may_pay_off_and_the_excess_is_credited_back_to_the_payer(book):
    loan_id = book.funded(1)
    book.borrower.repay(loan_id, 1)  # the lender already holds a repayment
    f = book.lender.loan(loan_id).funded_at
    paid_at = f + PERIOD // 3
    at(book.time, paid_at)
    quote = book.lender.payoff_amount(loan_id, paid_at)
    receipt = book.outsider.repay_all(loan_id, quote + 12_345)
    assert book.lender.client.block_timestamp(receipt["blockNumber"]) == paid_at
    assert book.outsider.pending() == 12_345  # the excess, to withdraw
    assert book.lender.pending() == 1 + quote
    assert book.borrower.pending() == AMOUNT  # the borrower's principal, untouched
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.REPAID and loan.repaid == 1 + quote
    (paid,) = [e for e in book.lender.events() if e.name == "LoanPaidOff"]
    assert paid.args["amount"] == quote
    (last,) = [e for e in book.lender.events() if e.name == "Repayment"][-1:]
    assert last.args["payer"] == book.outsider.client.address and last.args["amount"] == quote
    book.balance_matches()
    assert book.outsider.withdraw() == 12_345
    book.balance_matches()


def test_pay_off_behind_schedule_takes_the_arrears_and_clears_late(book):
    """Two instalments paid, the loan late in month 5: the payoff holds the three instalments
    in arrears and the balance after month 5, and never more than what is owed."""
    loan_id = book.funded(1)
    loan = book.lender.loan(loan_id)
    inst, f = loan.installment, loan.funded_at
    book.borrower.repay(loan_id, 2 * inst)
    clock(book.time, f + 5 * PERIOD)
    book.lender.mark_late(loan_id)
    paid_at = f + 5 * PERIOD + PERIOD // 2
    at(book.time, paid_at)
    quote = book.lender.payoff_amount(loan_id, paid_at)
    schedule = ExactSchedule.of(AMOUNT, APR, TERM)
    exact = schedule.payoff(2 * inst, paid_at - f)
    assert exact <= quote <= exact + schedule.bound(paid_at - f)
    assert quote > book.lender.due_by(loan_id, paid_at) - 2 * inst  # the arrears and more
    assert quote < loan.total_owed - 2 * inst  # not the future months' interest
    book.borrower.repay_all(loan_id, quote)
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.REPAID and not loan.late
    assert loan.repaid == 2 * inst + quote
    assert not book.lender.is_late(loan_id) and not book.lender.can_default(loan_id)
    with reverts("WrongStatus"):
        book.lender.mark_late(loan_id)


def test_pay_off_after_the_last_due_date_takes_everything_owed(book):
    loan_id = book.funded(1)
    loan = book.lender.loan(loan_id)
    book.borrower.repay(loan_id, 3 * loan.installment)
    paid_at = loan.funded_at + TERM * PERIOD
    at(book.time, paid_at)
    quote = book.lender.payoff_amount(loan_id, paid_at)
    assert quote == loan.total_owed - 3 * loan.installment
    book.borrower.repay_all(loan_id, quote + 1)
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.REPAID and loan.repaid == loan.total_owed
    assert book.borrower.pending() == AMOUNT + 1


def test_repay_beyond_the_payoff_is_refused(book):
    """At 100 % APR a year's instalments come to 1.62 times the principal, but ``repay`` takes
    at most the payoff at the block's time: 1.5 times the principal at once is refused with
    the cap, nothing changes, and ``repayAll`` pays the loan off for the payoff."""
    loan_id = book.funded(1, apr=10_000)
    cap = book.lender.payoff_amount(loan_id, book.time.now() + 1)
    with pytest.raises(ContractRevert) as info:
        book.borrower.repay(loan_id, 3 * AMOUNT // 2)
    args = info.value.error_args
    assert info.value.error_name == "Overpayment"
    assert args[0] == 3 * AMOUNT // 2 and AMOUNT <= args[1] < cap
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.FUNDED and loan.repaid == 0
    book.borrower.repay_all(loan_id, 2 * cap)
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.REPAID and loan.repaid == cap
    assert book.lender.paid_off(loan_id) == cap
    assert book.lender.pending() == cap
    book.balance_matches()


def test_repay_all_refuses_every_other_status(book):
    applied, offered, accepted = book.applied(1), book.offered(2), book.accepted(3)
    declined = book.applied(4)
    book.lender.decide(declined, False, PD)
    cancelled = book.applied(5)
    book.borrower.cancel(cancelled)
    repaid = book.funded(6)
    book.borrower.repay_all(repaid, book.lender.loan(repaid).total_owed)
    paid_off = book.funded(7)
    book.borrower.repay_all(paid_off, book.lender.payoff_amount(paid_off, book.time.now() + 1))
    defaulted, recovered = book.funded(8), book.funded(9)
    book.time.advance(PERIOD + DEFAULT_AFTER)
    book.lender.mark_default(defaulted)
    book.lender.mark_default(recovered)
    book.borrower.repay(recovered, book.lender.outstanding(recovered))
    cases = [
        (applied, LoanStatus.APPLIED),
        (offered, LoanStatus.OFFERED),
        (accepted, LoanStatus.ACCEPTED),
        (declined, LoanStatus.DECLINED),
        (cancelled, LoanStatus.CANCELLED),
        (repaid, LoanStatus.REPAID),
        (paid_off, LoanStatus.REPAID),
        (defaulted, LoanStatus.DEFAULTED),
        (recovered, LoanStatus.RECOVERED),
    ]
    pending = book.lender.total_pending()
    for loan_id, status in cases:
        assert book.status(loan_id) == status
        with pytest.raises(ContractRevert) as info:
            book.borrower.repay_all(loan_id, AMOUNT)
        assert info.value.error_name == "WrongStatus"
        assert info.value.error_args == (loan_id, status)
        assert book.lender.payoff_amount(loan_id) == 0
    with reverts("UnknownLoan"):
        book.outsider.repay_all(99, AMOUNT)
    assert book.lender.total_pending() == pending
    book.balance_matches()


# ------------------------------------------------------------------ reentrancy


def test_payoff_from_inside_a_withdrawal_keeps_the_books_straight(book, clients, w3):
    """A contract borrower pays its loan off from inside the withdrawal of its principal (with
    the principal and ether of its own), then tries to withdraw again: the payoff is taken
    once, the excess is credited to it, the second withdrawal is refused by the guard, and
    ``balance == totalPending == Σ pendingOf`` holds."""
    attacker, loan_id = attacker_borrower(book, clients[2], term=36)
    lender_before = book.lender.pending()
    extra = ETH // 10
    quote = book.lender.payoff_amount(loan_id, book.time.now() + 1)
    clients[2].transact(attacker.functions.attackPayoff(loan_id), value=extra)
    loan = book.lender.loan(loan_id)
    assert loan.status == LoanStatus.REPAID and loan.repaid == quote
    assert book.lender.pending() == lender_before + quote
    assert book.lender.pending(attacker.address) == AMOUNT + extra - quote
    assert w3.eth.get_balance(attacker.address) == 0  # paid once, and all of it spent
    error = bytes(attacker.functions.lastReentryError().call())
    assert error[:4] == function_signature_to_4byte_selector("ReentrancyGuardReentrantCall()")
    book.balance_matches(attacker.address)
    (paid,) = [e for e in book.lender.events() if e.name == "Repayment"]
    assert paid.args["payer"] == attacker.address


def test_payoff_reverting_inside_a_withdrawal_undoes_the_withdrawal(book, clients, w3):
    """Without ether of its own the attacker's principal is short of the payoff (interest has
    accrued): ``repayAll`` reverts inside the withdrawal, the transfer fails, nothing moves."""
    attacker, loan_id = attacker_borrower(book, clients[2])
    before = w3.eth.get_balance(book.lender.address)
    with reverts("TransferFailed"):
        clients[2].transact(attacker.functions.attackPayoff(loan_id))
    assert book.lender.pending(attacker.address) == AMOUNT
    assert book.status(loan_id) == LoanStatus.FUNDED
    assert w3.eth.get_balance(book.lender.address) == before
    book.balance_matches(attacker.address)
