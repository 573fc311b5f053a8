"""Property test: random LoanBook call sequences keep the money and the life cycle straight.

After every step: ``balance == totalPending == Σ pendingOf`` (over every account that ever
touched the book), per loan ``repaid <= totalOwed`` and ``repaid`` never decreases, and every
status change is an edge of the life cycle. Calls that revert must change nothing (the same
invariants check it).
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hessian_common.chain.client import ChainClient, eth_tester_web3
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import deploy_loanbook, deploy_repository
from hessian_common.chain.loanbook import LoanBook, LoanStatus
from hessian_common.chain.repository import ModelRepository
from hessian_common.errors import ContractRevert
from tests.contracts.loanbook_support import APP_CID, APP_KEY, POLICY_CID, create_closed_model
from tests.fixtures.chain import ChainTime, fund_accounts

S = LoanStatus
LEGAL = {
    S.APPLIED: {S.APPLIED, S.OFFERED, S.DECLINED, S.CANCELLED},
    S.OFFERED: {S.OFFERED, S.ACCEPTED, S.CANCELLED},
    S.ACCEPTED: {S.ACCEPTED, S.FUNDED, S.CANCELLED},
    S.FUNDED: {S.FUNDED, S.REPAID, S.DEFAULTED},
    S.DEFAULTED: {S.DEFAULTED, S.RECOVERED},
    S.RECOVERED: {S.RECOVERED},
    S.DECLINED: {S.DECLINED},
    S.REPAID: {S.REPAID},
    S.CANCELLED: {S.CANCELLED},
}
PERIOD, DEFAULT_AFTER, OFFER = 100, 300, 50
N_BORROWERS = 2


class LoanBookMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.w3 = eth_tester_web3()
        accounts = fund_accounts(self.w3, N_BORROWERS + 2)
        lender = ChainClient(self.w3, accounts[0])
        self.time = ChainTime(self.w3)
        repo = ModelRepository(lender, deploy_repository(lender, record=False))
        address = deploy_loanbook(
            lender,
            repo.address,
            payment_period=PERIOD,
            default_after=DEFAULT_AFTER,
            offer_validity=OFFER,
            record=False,
            artifact=load_artifact("LoanBook"),
        )
        self.lender = LoanBook(lender, address)
        self.borrowers = [self.lender.as_account(lender.with_account(a)) for a in accounts[1:-1]]
        self.payer = self.lender.as_account(lender.with_account(accounts[-1]))
        self.everyone = [self.lender, *self.borrowers, self.payer]
        self.model_id = create_closed_model(repo, self.time)
        self.lender.deploy_model(self.model_id, POLICY_CID, APP_KEY)
        self.loans = 0
        self.digests = 0
        self.seen: dict[int, tuple[LoanStatus, int]] = {}

    def _try(self, action) -> None:
        with contextlib.suppress(ContractRevert):  # refused: the invariants check nothing moved
            action()

    def _loan(self, data, *statuses: LoanStatus) -> int:
        """A loan id: mostly one whose last seen status is in ``statuses``, else any."""
        fitting = [i for i, (status, _) in self.seen.items() if status in statuses]
        if fitting and data.draw(st.integers(0, 4)) < 4:  # small draws are the common ones
            return data.draw(st.sampled_from(fitting))
        return data.draw(st.integers(1, self.loans))

    @precondition(lambda self: self.loans < 6)
    @rule(
        who=st.integers(0, N_BORROWERS - 1),
        amount=st.integers(0, 10**18),
        term=st.integers(0, 13),
        replay=st.booleans(),
    )
    def apply(self, who, amount, term, replay) -> None:
        if not replay or self.digests == 0:
            self.digests += 1
        digest = self.digests.to_bytes(32, "big")

        def act() -> None:
            self.borrowers[who].apply(self.model_id, digest, APP_CID, amount, term)
            self.loans += 1

        self._try(act)

    @precondition(lambda self: self.loans > 0)
    @rule(
        data=st.data(),
        decline=st.booleans(),
        apr=st.sampled_from([0, 1, 900, 3_000, 10_000]),
        share=st.sampled_from([1.0, 0.5, 1.0, 0.0, 1.5]),
        term=st.integers(1, 12),
    )
    def decide(self, data, decline, apr, share, term) -> None:
        loan_id = self._loan(data, S.APPLIED)
        amount = self.lender.loan(loan_id).amount
        principal = int(amount * share)
        fn = self.lender.fn.decide(loan_id, not decline, 50_000, apr, principal, term)
        self._try(lambda: self.lender.client.transact(fn))

    @precondition(lambda self: self.loans > 0)
    @rule(data=st.data(), who=st.integers(0, N_BORROWERS))
    def accept_or_cancel(self, data, who) -> None:
        loan_id = self._loan(data, S.APPLIED, S.OFFERED, S.ACCEPTED)
        if who == 0:  # mostly the loan's own borrower
            borrower = next(
                (
                    b
                    for b in self.borrowers
                    if b.client.address == self.lender.loan(loan_id).borrower
                ),
                self.borrowers[0],
            )
        else:
            borrower = self.borrowers[who - 1]
        if data.draw(st.integers(0, 3)) < 3:
            self._try(lambda: borrower.accept(loan_id))
        else:
            canceller = data.draw(st.sampled_from([borrower, self.lender, self.payer]))
            self._try(lambda: canceller.cancel(loan_id))

    @precondition(lambda self: self.loans > 0)
    @rule(data=st.data(), inexact=st.booleans())
    def fund(self, data, inexact) -> None:
        loan_id = self._loan(data, S.ACCEPTED)
        if not inexact:
            self._try(lambda: self.lender.fund(loan_id))
        else:
            fn = self.lender.fn.fund(loan_id)
            self._try(lambda: self.lender.client.transact(fn, value=1))

    @precondition(lambda self: self.loans > 0)
    @rule(data=st.data(), part=st.sampled_from([0.34, 1.0, 0.1, 0.0, 1.01]))
    def repay(self, data, part) -> None:
        loan_id = self._loan(data, S.FUNDED, S.DEFAULTED)
        loan = self.lender.loan(loan_id)
        amount = max(int(loan.outstanding * part), 1) if loan.outstanding else 1
        payer = data.draw(st.sampled_from([*self.borrowers, self.payer]))
        self._try(lambda: payer.repay(loan_id, amount))

    @precondition(lambda self: self.loans > 0)
    @rule(data=st.data())
    def mark(self, data) -> None:
        loan_id = self._loan(data, S.FUNDED)
        self._try(lambda: self.lender.mark_late(loan_id))
        self._try(lambda: self.lender.mark_default(loan_id))

    @precondition(lambda self: self.loans > 0)
    @rule(data=st.data(), apr=st.sampled_from([900, 0, 10_000]), term=st.integers(1, 6))
    def progress(self, data, apr, term) -> None:
        """The natural next step of a loan (offer, accept, fund, pay or miss an instalment), so
        that short runs reach the later states too."""
        loan_id = self._loan(data, S.APPLIED, S.OFFERED, S.ACCEPTED, S.FUNDED, S.DEFAULTED)
        loan = self.lender.loan(loan_id)
        borrower = next(b for b in self.borrowers if b.client.address == loan.borrower)
        if loan.status == S.APPLIED:
            self._try(lambda: self.lender.decide(loan_id, True, 1, apr, loan.amount, term))
        elif loan.status == S.OFFERED:
            self._try(lambda: borrower.accept(loan_id))
        elif loan.status == S.ACCEPTED:
            self._try(lambda: self.lender.fund(loan_id))
        elif loan.status == S.FUNDED and data.draw(st.booleans()):  # misses, then defaults
            self.time.advance(PERIOD + DEFAULT_AFTER)
            self._try(lambda: self.lender.mark_late(loan_id))
            self._try(lambda: self.lender.mark_default(loan_id))
        elif loan.outstanding:
            self._try(lambda: borrower.repay(loan_id, min(loan.installment, loan.outstanding)))

    @rule(seconds=st.sampled_from([1, OFFER + 1, PERIOD, DEFAULT_AFTER + PERIOD]))
    def wait(self, seconds) -> None:
        self.time.advance(seconds)

    @rule(data=st.data())
    def withdraw(self, data) -> None:
        who = data.draw(st.sampled_from(self.everyone))
        self._try(who.withdraw)

    @invariant()
    def money_is_all_accounted_for(self) -> None:
        total = self.lender.total_pending()
        assert total == sum(p.pending(p.client.address) for p in self.everyone)
        assert self.w3.eth.get_balance(self.lender.address) == total

    @invariant()
    def loans_move_only_along_the_life_cycle(self) -> None:
        assert self.lender.loan_count() == self.loans
        for loan_id in range(1, self.loans + 1):
            loan = self.lender.loan(loan_id)
            assert loan.repaid <= loan.total_owed
            assert not loan.late or loan.status == S.FUNDED
            if loan.status == S.REPAID:
                assert loan.repaid == loan.total_owed
            before, repaid = self.seen.get(loan_id, (S.APPLIED, 0))
            assert loan.status in LEGAL[before], (loan_id, before, loan.status)
            assert loan.repaid >= repaid
            self.seen[loan_id] = (loan.status, loan.repaid)


LoanBookMachine.TestCase.settings = settings(
    max_examples=10,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TestLoanBookInvariant = pytest.mark.filterwarnings("ignore:The recursion limit")(
    pytest.mark.slow(LoanBookMachine.TestCase)
)
