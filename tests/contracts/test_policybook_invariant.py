"""PolicyBook as a Hypothesis state machine (marked slow; bounded example counts).

Random sequences of the parties' calls (apply, quote, decline, accept now or later, cancel,
file / approve / deny / settle claims, collect premiums, expire, capital in and out, withdraw)
over time jumps, with calls the contract refuses swallowed. After every step:

- ``held == totalPending + free + reserved + premiumsHeld`` and ``totalPending == Σ pendingOf``;
- ``reserved == Σ reserve`` over the ACTIVE policies and ``reserve + claimsPaid == limit`` for
  each (a policy is fully collateralised: a claim can never find the pool short);
- each account's pending balance plus what it withdrew is what the test saw credited to it
  (paid claims to the holder, refunds to the holder, capital and premiums to the insurer);
- policies and claims move only along their life cycles.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from hessian_common.chain.client import ChainClient, eth_tester_web3
from hessian_common.chain.deploy import deploy_repository
from hessian_common.chain.policybook import ClaimStatus, PolicyBook, PolicyStatus
from hessian_common.chain.repository import ModelRepository
from hessian_common.chain.token import ZERO_ADDRESS as ETH
from hessian_common.errors import ContractRevert
from tests.contracts.helpers import machine_examples
from tests.contracts.loanbook_support import APP_CID
from tests.contracts.policybook_support import (
    CLAIM_WINDOW,
    DAY,
    EVIDENCE_CID,
    QUOTE_VALIDITY,
    START_WINDOW,
    make_desk,
)
from tests.contracts.policybook_support import digest as _digest
from tests.fixtures.chain import ChainTime, fund_accounts

P, C = PolicyStatus, ClaimStatus
LEGAL = {
    P.APPLIED: {P.APPLIED, P.QUOTED, P.DECLINED, P.CANCELLED},
    P.QUOTED: {P.QUOTED, P.ACTIVE, P.CANCELLED},
    P.ACTIVE: {P.ACTIVE, P.EXPIRED, P.CANCELLED},
    P.DECLINED: {P.DECLINED},
    P.EXPIRED: {P.EXPIRED},
    P.CANCELLED: {P.CANCELLED},
}
CLAIM_LEGAL = {
    C.FILED: {C.FILED, C.APPROVED, C.DENIED, C.SETTLED},
    C.APPROVED: {C.APPROVED},
    C.DENIED: {C.DENIED},
    C.SETTLED: {C.SETTLED},
}
TERM = 60 * DAY
UNIT = 10**15


class PolicyBookMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        from hessian_common.chain.policybook import deploy_policybook

        self.w3 = eth_tester_web3()
        accounts = fund_accounts(self.w3, 6)
        client = ChainClient(self.w3, accounts[0])
        clients = [client] + [client.with_account(a) for a in accounts[1:]]
        repo = ModelRepository(client, deploy_repository(client, record=False))
        address = deploy_policybook(
            client,
            repo.address,
            quote_validity=QUOTE_VALIDITY,
            start_window=START_WINDOW,
            claim_window=CLAIM_WINDOW,
            record=False,
        )
        self.time = ChainTime(self.w3)
        self.desk = make_desk(PolicyBook(client, address), repo, clients, self.time, ETH)
        self.insurer = self.desk.insurer
        self.parties = [self.insurer, *self.desk.holders, self.desk.outsider]
        self.applications = 0
        self.seen: dict[int, P] = {}
        self.seen_claims: dict[int, C] = {}
        self.withdrawn: dict[str, int] = defaultdict(int)

    # ------------------------------------------------------------ helpers

    def _try(self, call: Callable[[], Any]) -> Any:
        with contextlib.suppress(ContractRevert):
            return call()
        return None

    def _policy(self, data) -> int:
        return data.draw(st.integers(1, self.insurer.policy_count()))

    def _claim(self, data) -> int:
        return data.draw(st.integers(1, self.insurer.claim_count()))

    # ------------------------------------------------------------ rules

    @initialize()
    def one_policy_in_force(self) -> None:
        """Start with one bought policy, so that short runs reach claims."""
        self.applications += 1
        holder = self.desk.holders[0]
        policy_id = holder.apply(
            self.desk.model_id, _digest(self.applications), APP_CID, 1_000 * UNIT, TERM
        )
        self.insurer.quote(policy_id, 60_000, 50 * UNIT, 1_000 * UNIT, 100 * UNIT, TERM)
        holder.accept(policy_id, 0)
        self.seen[policy_id] = P.ACTIVE

    @rule(who=st.integers(0, 2), coverage=st.integers(1, 8_000))
    def apply(self, who, coverage) -> None:
        self.applications += 1
        holder = self.desk.holders[who]
        self._try(
            lambda: holder.apply(
                self.desk.model_id, _digest(self.applications), APP_CID, coverage * UNIT, TERM
            )
        )

    @precondition(lambda self: self.insurer.policy_count() > 0)
    @rule(
        data=st.data(),
        premium=st.integers(1, 500),
        limit=st.integers(1, 9_000),
        decline=st.booleans(),
    )
    def quote(self, data, premium, limit, decline) -> None:
        policy_id = self._policy(data)
        if decline:
            self._try(lambda: self.insurer.decline(policy_id, 900_000))
        else:
            self._try(
                lambda: self.insurer.quote(
                    policy_id, 60_000, premium * UNIT, limit * UNIT, limit * UNIT // 10, TERM
                )
            )

    @precondition(lambda self: self.insurer.policy_count() > 0)
    @rule(data=st.data(), later=st.sampled_from([0, DAY, 20 * DAY]))
    def accept(self, data, later) -> None:
        policy_id = self._policy(data)
        holder = self._as_holder(policy_id)
        starts = self.time.now() + later if later else 0
        self._try(lambda: holder.accept(policy_id, starts))

    def _as_holder(self, policy_id: int) -> PolicyBook:
        holder = self.insurer.policy(policy_id).holder
        return next(p for p in self.parties if p.client.address == holder)

    @precondition(lambda self: self.insurer.policy_count() > 0)
    @rule(data=st.data(), by_insurer=st.booleans())
    def cancel(self, data, by_insurer) -> None:
        policy_id = self._policy(data)
        who = self.insurer if by_insurer else self._as_holder(policy_id)
        self._try(lambda: who.cancel(policy_id))

    @precondition(lambda self: self.insurer.policy_count() > 0)
    @rule(data=st.data(), amount=st.integers(1, 9_000))
    def file_claim(self, data, amount) -> None:
        policy_id = self._policy(data)
        holder = self._as_holder(policy_id)
        self._try(lambda: holder.file_claim(policy_id, amount * UNIT, EVIDENCE_CID))

    @precondition(lambda self: self.insurer.claim_count() > 0)
    @rule(data=st.data(), action=st.sampled_from(["approve", "deny", "settle"]))
    def decide(self, data, action) -> None:
        claim_id = self._claim(data)
        if action == "approve":
            self._try(lambda: self.insurer.approve_claim(claim_id))
        elif action == "deny":
            self._try(lambda: self.insurer.deny_claim(claim_id))
        else:
            self._try(lambda: self.desk.outsider.settle_claim(claim_id))

    @precondition(lambda self: self.insurer.policy_count() > 0)
    @rule(data=st.data())
    def collect_or_expire(self, data) -> None:
        policy_id = self._policy(data)
        self._try(lambda: self.desk.outsider.collect_premium(policy_id))
        self._try(lambda: self.desk.outsider.expire(policy_id))

    @precondition(lambda self: self.insurer.policy_count() > 0)
    @rule(data=st.data(), premium=st.integers(1, 500), share=st.integers(1, 100))
    def progress(self, data, premium, share) -> None:
        """The natural next step of a policy (quote what was asked, buy it, claim ``share`` %
        of what is claimable, decide or settle the open claim), so that short runs reach
        ACTIVE policies and paid claims too."""
        policy_id = self._policy(data)
        p = self.insurer.policy(policy_id)
        holder = self._as_holder(policy_id)
        if p.status == P.APPLIED:
            limit = p.coverage_asked
            self._try(
                lambda: self.insurer.quote(
                    policy_id, 60_000, premium * UNIT, limit, limit // 10, p.term_asked
                )
            )
        elif p.status == P.QUOTED:
            self._try(lambda: holder.accept(policy_id, 0))
        elif p.status == P.ACTIVE and not p.claim_open:
            amount = max(p.max_claim * share // 100, 1)
            self._try(lambda: holder.file_claim(policy_id, amount, EVIDENCE_CID))
        elif p.status == P.ACTIVE:
            claim_id = max(c.claim_id for c in self.insurer.claims(policy_id))
            action = data.draw(st.sampled_from(["approve", "deny", "settle"]))
            if action == "settle":
                self.time.advance(CLAIM_WINDOW + 1)
                self._try(lambda: self.desk.outsider.settle_claim(claim_id))
            elif action == "approve":
                self._try(lambda: self.insurer.approve_claim(claim_id))
            else:
                self._try(lambda: self.insurer.deny_claim(claim_id))

    @precondition(lambda self: self.insurer.policy_count() > 0)
    @rule(
        data=st.data(),
        share=st.integers(1, 100),
        action=st.sampled_from(["approve", "deny", "settle"]),
    )
    def claim_and_decide(self, data, share, action) -> None:
        """A policy in force files a claim of ``share`` % of what is claimable and the claim
        is decided at once (approved, denied, or left past its window and settled by an
        outsider): one step, so that every run reaches decided and paid claims."""
        policy_id = self._policy(data)
        if not self.insurer.in_force(policy_id) or self.insurer.policy(policy_id).claim_open:
            return
        p = self.insurer.policy(policy_id)
        holder = self._as_holder(policy_id)
        amount = max(p.max_claim * share // 100, 1)
        claim_id = self._try(lambda: holder.file_claim(policy_id, amount, EVIDENCE_CID))
        if claim_id is None:
            return
        if action == "settle":
            self.time.advance(CLAIM_WINDOW + 1)
            self._try(lambda: self.desk.outsider.settle_claim(claim_id))
        elif action == "approve":
            self._try(lambda: self.insurer.approve_claim(claim_id))
        else:
            self._try(lambda: self.insurer.deny_claim(claim_id))

    @rule(amount=st.integers(1, 5_000), deposit=st.booleans())
    def capital(self, amount, deposit) -> None:
        if deposit:
            self._try(lambda: self.insurer.deposit_capital(self.desk.model_id, amount * UNIT))
        else:
            self._try(lambda: self.insurer.withdraw_capital(self.desk.model_id, amount * UNIT))

    @rule(who=st.integers(0, 4))
    def withdraw(self, who) -> None:
        party = self.parties[who]
        amount = self._try(party.withdraw)
        if amount is not None:
            self.withdrawn[party.client.address] += amount

    @rule(seconds=st.sampled_from([DAY, CLAIM_WINDOW + 1, TERM]))
    def advance(self, seconds) -> None:
        self.time.advance(seconds)

    # ------------------------------------------------------------ invariants

    @invariant()
    def money_is_all_accounted_for(self) -> None:
        self.desk.balance_matches()

    @invariant()
    def credits_match_withdrawals(self) -> None:
        """What each holder was credited (paid claims, refunds) is pending or withdrawn."""
        paid: dict[str, int] = defaultdict(int)
        for claim in self.insurer.claims():
            if claim.status in (C.APPROVED, C.SETTLED):
                paid[claim.holder] += claim.amount
        for p in self.insurer.policies():
            if p.status == P.CANCELLED and p.accepted_at and not p.premium_earned:
                paid[p.holder] += p.premium
        for h in self.desk.holders:
            a = h.client.address
            assert self.insurer.pending(a) + self.withdrawn[a] == paid[a], a

    @invariant()
    def life_cycles_only_move_forward(self) -> None:
        for p in self.insurer.policies():
            before = self.seen.get(p.policy_id, P.APPLIED)
            assert p.status in LEGAL[before], (p.policy_id, before, p.status)
            self.seen[p.policy_id] = p.status
        event(f"statuses reached: {sorted(s.name for s in set(self.seen.values()))}")
        for c in self.insurer.claims():
            before = self.seen_claims.get(c.claim_id, C.FILED)
            assert c.status in CLAIM_LEGAL[before], (c.claim_id, before, c.status)
            self.seen_claims[c.claim_id] = c.status
        event(f"claims reached: {sorted(s.name for s in set(self.seen_claims.values()))}")


PolicyBookMachine.TestCase.settings = settings(
    max_examples=machine_examples(5),
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestPolicyBookInvariant = pytest.mark.filterwarnings("ignore:The recursion limit")(
    pytest.mark.slow(PolicyBookMachine.TestCase)
)
