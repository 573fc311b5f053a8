"""revealTestSet (commit-reveal) and withdraw (pull payments, reentrancy guard)."""

from __future__ import annotations

from eth_utils import function_signature_to_4byte_selector

from hessian_common.chain.compile import load_artifact
from hessian_common.chain.repository import test_set_commitment
from tests.contracts.conftest import (
    BOUNTY,
    CID_A,
    CID_B,
    DEPOSIT,
    SALT,
    TEST_SET_CID,
    assert_escrow,
    digest,
    reverts,
)


def test_python_commitment_matches_solidity(lender):
    on_chain = lender.client.call(lender.fn.testSetCommitmentOf(TEST_SET_CID, SALT))
    assert bytes(on_chain) == test_set_commitment(TEST_SET_CID, SALT)


def test_reveal_checks_commitment(make_model, lender, owners):
    model_id = make_model()
    with reverts("ModelStillOpen"):
        lender.reveal_test_set(model_id, TEST_SET_CID, SALT)
    lender.close_model(model_id)
    with reverts("NotLender"):
        owners[0].reveal_test_set(model_id, TEST_SET_CID, SALT)
    with reverts("CommitmentMismatch"):
        lender.reveal_test_set(model_id, TEST_SET_CID, b"\x00" * 32)
    with reverts("CommitmentMismatch"):
        lender.reveal_test_set(model_id, CID_A, SALT)
    lender.reveal_test_set(model_id, TEST_SET_CID, SALT)
    m = lender.model(model_id)
    assert m.revealed and m.test_set_cid == TEST_SET_CID and m.test_set_salt == SALT
    with reverts("AlreadyRevealed"):
        lender.reveal_test_set(model_id, TEST_SET_CID, SALT)


def test_withdraw_pays_once(make_model, lender, owners, w3):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, True, 650_000, CID_B)
    owner = owners[0]
    due = BOUNTY // 2 + DEPOSIT
    before_contract = w3.eth.get_balance(owner.address)
    before_owner = w3.eth.get_balance(owner.client.address)
    assert owner.withdraw() == due
    assert w3.eth.get_balance(owner.address) == before_contract - due
    assert before_owner < w3.eth.get_balance(owner.client.address) < before_owner + due
    assert owner.pending() == 0
    with reverts("NothingToWithdraw"):
        owner.withdraw()
    assert_escrow(lender, model_id)


def _attacker(client, repository, make_model, lender):
    art = load_artifact("ReentrancyAttacker")
    receipt = client.deploy(art.abi, art.bytecode, repository.address)
    attacker = client.w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)
    model_id = make_model()
    client.transact(attacker.functions.submit(model_id, CID_A, digest(9), 10), value=DEPOSIT)
    lender.evaluate_update(1, True, 650_000, CID_B)
    return attacker, BOUNTY // 2 + DEPOSIT


def test_reentrant_withdraw_is_refused_by_the_guard(clients, repository, make_model, lender, w3):
    attacker, due = _attacker(clients[2], repository, make_model, lender)
    contract_before = w3.eth.get_balance(repository.address)
    # mode 1: the attacker re-enters withdraw() from receive() and swallows the failure
    clients[2].transact(attacker.functions.attack(1))
    assert w3.eth.get_balance(attacker.address) == due  # paid once, not twice
    assert w3.eth.get_balance(repository.address) == contract_before - due
    error = bytes(attacker.functions.lastReentryError().call())
    assert error[:4] == function_signature_to_4byte_selector("ReentrancyGuardReentrantCall()")
    assert repository.pending(attacker.address) == 0


def test_reentrancy_that_bubbles_up_fails_and_changes_nothing(
    clients, repository, make_model, lender, w3
):
    attacker, due = _attacker(clients[2], repository, make_model, lender)
    contract_before = w3.eth.get_balance(repository.address)
    with reverts("TransferFailed"):
        clients[2].transact(attacker.functions.attack(2))
    assert repository.pending(attacker.address) == due
    assert w3.eth.get_balance(repository.address) == contract_before
    # an honest contract owner (mode 0) withdraws normally
    clients[2].transact(attacker.functions.attack(0))
    assert w3.eth.get_balance(attacker.address) == due
