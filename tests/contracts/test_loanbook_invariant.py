"""Property test: random LoanBook call sequences keep the money and the life cycle straight.

After every step:

- ``balance == totalPending == Σ pendingOf`` (over every account that ever touched the book),
  in ether and, in :class:`LoanBookTokenMachine`, in an ERC-20 (HSN: the wrapper pays by
  permit);
- a ledger the test keeps from the calls that went through: each account's pending balance
  plus what it withdrew is what it was credited: the principal to the borrower at funding,
  every repayment to the lender, an early payoff to the lender at exactly ``payoff_for`` at
  the block's time and the excess sent with it to the payer;
- per loan ``repaid <= totalOwed`` and ``repaid`` never decreases; every status change is an
  edge of the life cycle (DEFAULTED -> RECOVERED included); REPAID means paid in full or paid
  off with ``repayAll``, RECOVERED paid in full; a funded loan was funded within the funding
  window of its acceptance; a FUNDED loan's payoff now is ``payoff_for`` and at most what is
  owed.

Calls that revert must change nothing (the same invariants check it).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from hessian_common.chain.client import ChainClient, eth_tester_web3
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import deploy_loanbook, deploy_repository
from hessian_common.chain.loanbook import LoanBook, LoanStatus, payoff_for
from hessian_common.chain.repository import ModelRepository
from hessian_common.chain.token import ZERO_ADDRESS as ETH
from hessian_common.chain.token import balance_in as balance_of
from hessian_common.errors import ContractRevert
from tests.contracts.helpers import machine_examples
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
PERIOD, DEFAULT_AFTER, OFFER, FUNDING = 100, 300, 50, 80
N_BORROWERS = 2


def _hsn(client: ChainClient, accounts: list) -> str:
    """An HSN token (18 decimals, permit) with 1e28 base units for every account."""
    art = load_artifact("HessianToken")
    address = client.deploy(art.abi, art.bytecode, client.address, 10**30)["contractAddress"]
    token = client.w3.eth.contract(address=address, abi=art.abi)
    for acc in accounts[1:]:
        client.transact(token.functions.transfer(acc.address, 10**28))
    return address


class LoanBookMachine(RuleBasedStateMachine):
    token_mode = False
    """Lend in an ERC-20 (HSN, paid by permit) instead of ether."""

    def __init__(self) -> None:
        super().__init__()
        self.w3 = eth_tester_web3()
        accounts = fund_accounts(self.w3, N_BORROWERS + 2)
        lender = ChainClient(self.w3, accounts[0])
        self.currency = _hsn(lender, accounts) if self.token_mode else ETH
        self.time = ChainTime(self.w3)
        repo = ModelRepository(lender, deploy_repository(lender, record=False))
        address = deploy_loanbook(
            lender,
            repo.address,
            payment_period=PERIOD,
            default_after=DEFAULT_AFTER,
            offer_validity=OFFER,
            funding_window=FUNDING,
            record=False,
            artifact=load_artifact("LoanBook"),
        )
        self.lender = LoanBook(lender, address)
        self.borrowers = [self.lender.as_account(lender.with_account(a)) for a in accounts[1:-1]]
        self.payer = self.lender.as_account(lender.with_account(accounts[-1]))
        self.everyone = [self.lender, *self.borrowers, self.payer]
        self.model_id = create_closed_model(repo, self.time)
        self.lender.deploy_model(self.model_id, POLICY_CID, APP_KEY, self.currency)
        self.loans = 0
        self.digests = 0
        self.seen: dict[int, tuple[LoanStatus, int]] = {}
        self.credited: dict[str, int] = defaultdict(int)
        self.withdrawn: dict[str, int] = defaultdict(int)
        self.paid_off: set[int] = set()

    # ------------------------------------------------------------ calls and the ledger

    def _try(self, action: Callable[[], Any]) -> Any:
        """The action's result, or None if the contract refused it (the invariants then check
        that nothing moved)."""
        with contextlib.suppress(ContractRevert):
            return action()
        return None

    def _fund(self, loan_id: int, value: int | None = None) -> None:
        loan = self.lender.loan(loan_id)
        if value is None:
            done = self._try(lambda: self.lender.fund(loan_id))
        else:
            fn = self.lender.fn.fund(loan_id)
            done = self._try(lambda: self.lender.client.transact(fn, value=value))
        if done is not None:
            self.credited[loan.borrower] += loan.principal if value is None else value

    def _repay(self, payer: LoanBook, loan_id: int, amount: int) -> None:
        if self._try(lambda: payer.repay(loan_id, amount)) is not None:
            self.credited[self.lender.client.address] += amount

    def _repay_all(self, payer: LoanBook, loan_id: int, value: int) -> None:
        before = self.lender.loan(loan_id)
        receipt = self._try(lambda: payer.repay_all(loan_id, value))
        if receipt is None:
            return
        paid_at = self.lender.client.block_timestamp(receipt["blockNumber"])
        payoff = payoff_for(
            before.principal,
            before.apr_bps,
            before.term_months,
            before.installment,
            before.repaid,
            before.funded_at,
            paid_at,
            PERIOD,
        )
        assert self.lender.paid_off(loan_id) == payoff
        self.credited[self.lender.client.address] += payoff
        if not self.token_mode:  # ether: the excess sent back to the payer's pending balance
            self.credited[payer.client.address] += value - payoff
        self.paid_off.add(loan_id)

    def _withdraw(self, who: LoanBook) -> None:
        amount = self._try(lambda: who.withdraw(self.currency))
        if amount is not None:
            self.withdrawn[who.client.address] += amount

    def _loan(self, data, *statuses: LoanStatus) -> int:
        """A loan id: mostly one whose last seen status is in ``statuses``, else any."""
        fitting = [i for i, (status, _) in self.seen.items() if status in statuses]
        if fitting and data.draw(st.integers(0, 4)) < 4:  # small draws are the common ones
            return data.draw(st.sampled_from(fitting))
        return data.draw(st.integers(1, self.loans))

    def _borrower_of(self, loan_id: int) -> LoanBook:
        address = self.lender.loan(loan_id).borrower
        return next(b for b in self.borrowers if b.client.address == address)

    def _funded_loan(self, who: int, amount: int, apr: int, term: int, fate: str) -> None:
        """Apply, decide, accept and fund a loan of borrower ``who`` (none of it may fail);
        ``fate`` "too late": let the funding window pass instead (funding must then fail),
        "defaulted": then miss the first instalment until it can be marked DEFAULTED."""
        self.digests += 1
        borrower = self.borrowers[who]
        digest = self.digests.to_bytes(32, "big")
        loan_id = borrower.apply(self.model_id, digest, APP_CID, amount, term)
        self.loans += 1
        self.lender.decide(loan_id, True, 1, apr, amount, term)
        borrower.accept(loan_id)
        self.seen[loan_id] = (S.ACCEPTED, 0)  # the invariant checks the last edge
        if fate == "too late":
            self.time.advance(FUNDING + 1)
            with pytest.raises(ContractRevert, match="FundingExpired"):
                self.lender.fund(loan_id)
            return
        principal = self.lender.loan(loan_id).principal
        self.lender.fund(loan_id)
        self.credited[borrower.client.address] += principal
        if fate == "defaulted":
            self.seen[loan_id] = (S.FUNDED, 0)
            self.time.advance(PERIOD + DEFAULT_AFTER)
            self.lender.mark_default(loan_id)

    # ------------------------------------------------------------ rules

    @initialize(
        apr=st.sampled_from([900, 0, 10_000]),
        term=st.integers(1, 6),
        amount=st.integers(1, 10**18),
    )
    def a_funded_loan(self, apr, term, amount) -> None:
        """Every run starts with a funded loan, so that short runs reach the later states."""
        self._funded_loan(0, amount, apr, term, "funded")

    @precondition(lambda self: self.loans < 6)
    @rule(
        who=st.integers(0, N_BORROWERS - 1),
        amount=st.integers(1, 10**18),
        apr=st.sampled_from([900, 1, 10_000, 0]),
        term=st.integers(1, 12),
        fate=st.sampled_from(["funded", "too late", "funded", "defaulted"]),
    )
    def funded_loan(self, who, amount, apr, term, fate) -> None:
        """The common path in one step (sometimes funded too late, or defaulted)."""
        self._funded_loan(who, amount, apr, term, fate)

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
        # mostly the loan's own borrower
        borrower = self._borrower_of(loan_id) if who == 0 else self.borrowers[who - 1]
        if data.draw(st.integers(0, 3)) < 3:
            self._try(lambda: borrower.accept(loan_id))
        else:
            canceller = data.draw(st.sampled_from([borrower, self.lender, self.payer]))
            self._try(lambda: canceller.cancel(loan_id))

    @precondition(lambda self: self.loans > 0)
    @rule(data=st.data(), inexact=st.booleans())
    def fund(self, data, inexact) -> None:
        loan_id = self._loan(data, S.ACCEPTED)
        self._fund(loan_id, 1 if inexact else None)

    @precondition(lambda self: self.loans > 0)
    @rule(data=st.data(), part=st.sampled_from([0.34, 1.0, 0.1, 0.0, 1.01]))
    def repay(self, data, part) -> None:
        defaulted = any(status == S.DEFAULTED for status, _ in self.seen.values())
        recovery = defaulted and data.draw(st.booleans())  # defaulted loans are rarer
        loan_id = self._loan(data, S.DEFAULTED) if recovery else self._loan(data, S.FUNDED)
        loan = self.lender.loan(loan_id)
        amount = max(int(loan.outstanding * part), 1) if loan.outstanding else 1
        payer = data.draw(st.sampled_from([*self.borrowers, self.payer]))
        self._repay(payer, loan_id, amount)

    @precondition(lambda self: self.loans > 0)
    @rule(data=st.data(), extra=st.sampled_from([0, 1, -1, 10**15]))
    def repay_all(self, data, extra) -> None:
        """Pay off with the payoff quoted for the block it is mined in, plus ``extra`` (one
        wei short: refused)."""
        loan_id = self._loan(data, S.FUNDED)
        payer = data.draw(st.sampled_from([*self.borrowers, self.payer]))
        quote = self.lender.payoff_amount(loan_id, self.time.now() + 1)
        self._repay_all(payer, loan_id, max(quote + extra, 0))

    @precondition(lambda self: self.loans > 0)
    @rule(data=st.data())
    def mark(self, data) -> None:
        loan_id = self._loan(data, S.FUNDED)
        self._try(lambda: self.lender.mark_late(loan_id))
        self._try(lambda: self.lender.mark_default(loan_id))

    @precondition(lambda self: self.loans > 0)
    @rule(data=st.data(), apr=st.sampled_from([900, 0, 10_000]), term=st.integers(1, 6))
    def progress(self, data, apr, term) -> None:
        """The natural next step of a loan (offer, accept, fund in time or too late, pay an
        instalment, pay off, miss an instalment, recover), so that short runs reach the later
        states too."""
        loan_id = self._loan(data, S.APPLIED, S.OFFERED, S.ACCEPTED, S.FUNDED, S.DEFAULTED)
        loan = self.lender.loan(loan_id)
        borrower = self._borrower_of(loan_id)
        if loan.status == S.APPLIED:
            self._try(lambda: self.lender.decide(loan_id, True, 1, apr, loan.amount, term))
        elif loan.status == S.OFFERED:
            self._try(lambda: borrower.accept(loan_id))
        elif loan.status == S.ACCEPTED:
            if data.draw(st.booleans()):  # the lender lets the funding window pass
                self.time.advance(FUNDING + 1)
            self._fund(loan_id)
        elif loan.status == S.FUNDED:
            step = data.draw(st.sampled_from(["instalment", "miss", "pay off"]))
            if step == "miss":  # misses, then defaults
                self.time.advance(PERIOD + DEFAULT_AFTER)
                self._try(lambda: self.lender.mark_late(loan_id))
                self._try(lambda: self.lender.mark_default(loan_id))
            elif step == "pay off":
                quote = self.lender.payoff_amount(loan_id, self.time.now() + 1)
                self._repay_all(borrower, loan_id, quote)
            else:
                self._repay(borrower, loan_id, min(loan.installment, loan.outstanding))
        elif loan.outstanding:  # a recovery, mostly in full
            whole = data.draw(st.booleans())
            amount = loan.outstanding if whole else min(loan.installment, loan.outstanding)
            self._repay(borrower, loan_id, amount)

    @rule(seconds=st.sampled_from([1, OFFER + 1, FUNDING + 1, PERIOD, DEFAULT_AFTER + PERIOD]))
    def wait(self, seconds) -> None:
        self.time.advance(seconds)

    @rule(data=st.data())
    def withdraw(self, data) -> None:
        self._withdraw(data.draw(st.sampled_from(self.everyone)))

    # ------------------------------------------------------------ invariants

    @invariant()
    def money_is_all_accounted_for(self) -> None:
        total = self.lender.total_pending(self.currency)
        pending = {
            p.client.address: p.pending(p.client.address, self.currency) for p in self.everyone
        }
        assert total == sum(pending.values())
        assert balance_of(self.lender.client, self.currency, self.lender.address) == total
        for address, amount in pending.items():
            assert amount + self.withdrawn[address] == self.credited[address], address

    @invariant()
    def loans_move_only_along_the_life_cycle(self) -> None:
        assert self.lender.loan_count() == self.loans
        now = self.time.now()
        for loan_id in range(1, self.loans + 1):
            loan = self.lender.loan(loan_id)
            assert loan.repaid <= loan.total_owed
            assert not loan.late or loan.status == S.FUNDED
            if loan.status == S.REPAID:
                assert loan.repaid == loan.total_owed or loan_id in self.paid_off
            if loan.status == S.RECOVERED:
                assert loan.repaid == loan.total_owed
            if loan.funded_at:
                assert loan.accepted_at <= loan.funded_at <= loan.accepted_at + FUNDING
            if loan.status == S.FUNDED:
                payoff = self.lender.payoff_amount(loan_id)
                assert payoff <= loan.outstanding
                assert payoff == payoff_for(
                    loan.principal,
                    loan.apr_bps,
                    loan.term_months,
                    loan.installment,
                    loan.repaid,
                    loan.funded_at,
                    now,
                    PERIOD,
                )
            before, repaid = self.seen.get(loan_id, (S.APPLIED, 0))
            assert loan.status in LEGAL[before], (loan_id, before, loan.status)
            assert loan.repaid >= repaid
            self.seen[loan_id] = (loan.status, loan.repaid)


LoanBookMachine.TestCase.settings = settings(
    max_examples=machine_examples(5),
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TestLoanBookInvariant = pytest.mark.filterwarnings("ignore:The recursion limit")(
    pytest.mark.slow(LoanBookMachine.TestCase)
)


class LoanBookTokenMachine(LoanBookMachine):
    token_mode = True


LoanBookTokenMachine.TestCase.settings = LoanBookMachine.TestCase.settings
TestLoanBookTokenInvariant = pytest.mark.filterwarnings("ignore:The recursion limit")(
    pytest.mark.slow(LoanBookTokenMachine.TestCase)
)
