"""revealTestSet (commit-reveal with the decryption transcript, before the reveal deadline) and
withdraw (pull payments). The re-entrancy attacker is in test_attacks.py."""

from __future__ import annotations

from hessian_common.chain.repository import test_set_commitment
from tests.contracts.helpers import (
    BOUNTY,
    CID_A,
    CID_B,
    DEPOSIT,
    ETH,
    REVEAL_WINDOW,
    SALT,
    TEST_SET_CID,
    TRANSCRIPT_CID,
    WINDOW,
    assert_escrow,
    digest,
    reveal,
    reverts,
    transact_at,
)


def test_python_commitment_matches_solidity(lender):
    on_chain = lender.client.call(lender.fn.testSetCommitmentOf(TEST_SET_CID, SALT))
    assert bytes(on_chain) == test_set_commitment(TEST_SET_CID, SALT)
    other = lender.client.call(lender.fn.testSetCommitmentOf(CID_A, b"\x01" * 32))
    assert bytes(other) == test_set_commitment(CID_A, b"\x01" * 32)


def test_reveal_checks_every_rule(make_model, lender, owners):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    with reverts("NotLender"):
        owners[0].reveal_test_set(model_id, TEST_SET_CID, SALT, TRANSCRIPT_CID)
    with reverts("ModelStillOpen"):
        reveal(lender, model_id)
    lender.close_model(model_id)
    with reverts("SubmissionsWaiting") as info:  # every evaluation must be in the transcript
        reveal(lender, model_id)
    assert info.value.error_args == (model_id, 1)
    lender.evaluate_update(uid, True, 650_000, CID_B)
    with reverts("NotLender"):
        owners[0].reveal_test_set(model_id, TEST_SET_CID, SALT, TRANSCRIPT_CID)
    with reverts("EmptyCid"):
        lender.reveal_test_set(model_id, TEST_SET_CID, SALT, "")
    with reverts("CommitmentMismatch") as info:
        lender.reveal_test_set(model_id, TEST_SET_CID, b"\x00" * 32, TRANSCRIPT_CID)
    assert info.value.error_args[1] == test_set_commitment(TEST_SET_CID, SALT)
    with reverts("CommitmentMismatch"):
        lender.reveal_test_set(model_id, CID_A, SALT, TRANSCRIPT_CID)
    with reverts("UnknownModel"):
        lender.reveal_test_set(99, TEST_SET_CID, SALT, TRANSCRIPT_CID)
    assert not lender.model(model_id).revealed
    reveal(lender, model_id)
    m = lender.model(model_id)
    assert m.revealed and not m.forfeited
    assert (m.test_set_cid, m.test_set_salt, m.transcript_cid) == (
        TEST_SET_CID,
        SALT,
        TRANSCRIPT_CID,
    )
    event = [e.args for e in lender.events() if e.name == "TestSetRevealed"]
    assert event == [
        {
            "modelId": model_id,
            "testSetCid": TEST_SET_CID,
            "salt": SALT,
            "transcriptCid": TRANSCRIPT_CID,
        }
    ]
    with reverts("AlreadyRevealed"):
        reveal(lender, model_id)


def test_reveal_until_the_reveal_deadline_second(make_model, lender, owners, chain_time):
    deadline = chain_time.now() + 1_000
    on_time, late = make_model(deadline=deadline), make_model(deadline=deadline)
    due = deadline + WINDOW + REVEAL_WINDOW
    assert lender.reveal_deadline(on_time) == lender.reveal_deadline(late) == due
    ids = [owners[i].submit_update(m, CID_A, digest(i), 10) for i, m in enumerate((on_time, late))]
    for uid, model_id in zip(ids, (on_time, late), strict=True):
        lender.evaluate_update(uid, False, 0)
        lender.close_model(model_id)

    def reveal_fn(model_id):
        return lender.fn.revealTestSet(model_id, TEST_SET_CID, SALT, TRANSCRIPT_CID)

    transact_at(lender, reveal_fn(on_time), due)  # the last second: accepted
    assert lender.model(on_time).revealed
    with reverts("RevealDeadlinePassed") as info:
        transact_at(lender, reveal_fn(late), due + 1)
    assert info.value.error_args == (late, due, due + 1)
    assert not lender.model(late).revealed
    with reverts("NotRevealed"):
        lender.reclaim(late)  # and never will: the bounty is forfeited to the submitters
    assert lender.reclaim(on_time) == BOUNTY
    assert lender.claim_forfeit(ids[1]) == BOUNTY  # the late model's only submission takes it


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
    withdrawn = [e.args for e in owner.events() if e.name == "Withdrawn"]
    assert withdrawn == [{"account": owner.client.address, "currency": ETH, "amount": due}]
    with reverts("NothingToWithdraw") as info:
        owner.withdraw()
    assert info.value.error_args[0].lower() == owner.client.address.lower()
    with reverts("NothingToWithdraw"):
        owners[1].withdraw()
    assert_escrow(lender, model_id)
