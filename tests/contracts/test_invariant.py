"""Property test: random call sequences keep the escrow invariant.

After every step, per model ``paid + owed + remaining + reclaimed == bounty``, and the
contract's balance equals everything it still owes: all pending balances plus, per model,
the fixed shares not claimed, the unallotted bounty, the deposits held and those forfeited.
A call that reverts must change nothing (checked by the same invariant).
"""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hessian_common.chain.client import ChainClient, eth_tester_web3
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import deploy_repository
from hessian_common.chain.repository import Mechanism, ModelRepository
from hessian_common.errors import ContractRevert
from tests.fixtures.chain import ChainTime, fund_accounts

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
N_OWNERS = 3


class EscrowMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.w3 = eth_tester_web3()
        accounts = fund_accounts(self.w3, N_OWNERS + 1)
        art = load_artifact("ModelRepository")
        lender = ChainClient(self.w3, accounts[0], abis=[art.abi])
        address = deploy_repository(lender, artifact=art, record=False)
        self.lender = ModelRepository(lender, address, art.abi)
        self.owners = [self.lender.as_account(lender.with_account(a)) for a in accounts[1:]]
        self.everyone = [self.lender, *self.owners]
        self.time = ChainTime(self.w3)
        self.models = 0
        self.updates = 0
        self.digests = 0

    def _try(self, action) -> None:
        with contextlib.suppress(ContractRevert):  # refused: the invariant checks nothing moved
            action()

    @rule(
        mechanism=st.sampled_from(list(Mechanism)),
        bounty=st.integers(1, 10**18),
        deposit=st.sampled_from([0, 10**15]),
        window=st.integers(10, 1_000),
    )
    def create(self, mechanism, bounty, deposit, window) -> None:
        self.lender.create_model(
            CID,
            bounty=bounty,
            initial_score=500_000,
            target_score=700_000,
            deadline=self.time.now() + 2_000,
            evaluation_window=window,
            test_set_commitment=b"\x01" * 32,
            mechanism=mechanism,
            submission_deposit=deposit,
        )
        self.models += 1

    @precondition(lambda self: self.models > 0)
    @rule(data=st.data(), replay=st.booleans(), rows=st.integers(1, 10_000))
    def submit(self, data, replay, rows) -> None:
        owner = data.draw(st.sampled_from(self.owners))
        model_id = data.draw(st.integers(1, self.models))
        if not replay or self.digests == 0:
            self.digests += 1
        digest = self.digests.to_bytes(32, "big")

        def act() -> None:
            owner.submit_update(model_id, CID, digest, rows)
            self.updates += 1

        self._try(act)

    @precondition(lambda self: self.updates > 0)
    @rule(data=st.data(), accepted=st.booleans(), score=st.integers(0, 1_000_000))
    def evaluate(self, data, accepted, score) -> None:
        uid = data.draw(st.integers(1, self.updates))
        self._try(lambda: self.lender.evaluate_update(uid, accepted, score, CID))

    @precondition(lambda self: self.updates > 0)
    @rule(data=st.data())
    def settle_or_claim(self, data) -> None:
        uid = data.draw(st.integers(1, self.updates))
        who = data.draw(st.sampled_from(self.everyone))
        self._try(lambda: who.settle_stale(uid))
        self._try(lambda: who.claim_share(uid))

    @precondition(lambda self: self.models > 0)
    @rule(data=st.data(), by_lender=st.booleans())
    def close_and_reclaim(self, data, by_lender) -> None:
        model_id = data.draw(st.integers(1, self.models))
        closer = self.lender if by_lender else self.owners[0]
        self._try(lambda: closer.close_model(model_id))
        self._try(lambda: self.lender.reclaim(model_id))

    @rule(seconds=st.sampled_from([1, 500, 1_500, 3_000]))
    def wait(self, seconds) -> None:
        self.time.advance(seconds)

    @rule(data=st.data())
    def withdraw(self, data) -> None:
        who = data.draw(st.sampled_from(self.everyone))
        self._try(who.withdraw)

    @invariant()
    def escrow_balances(self) -> None:
        owed_by_contract = sum(r.pending(r.client.address) for r in self.everyone)
        for model_id in range(1, self.models + 1):
            e = self.lender.escrow(model_id)
            assert e["paid"] + e["owed"] + e["remaining"] + e["reclaimed"] == e["bounty"], e
            owed_by_contract += (
                e["owed"] + e["remaining"] + e["deposits_held"] + e["deposits_forfeited"]
            )
        assert self.w3.eth.get_balance(self.lender.address) == owed_by_contract


EscrowMachine.TestCase.settings = settings(
    max_examples=20,
    stateful_step_count=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TestEscrowInvariant = pytest.mark.filterwarnings("ignore:The recursion limit")(
    pytest.mark.slow(EscrowMachine.TestCase)
)
