"""evaluateUpdate: access control, IMPROVEMENT payments, deposits, closing at the target."""

from __future__ import annotations

import pytest

from hessian_common.chain.repository import ModelStatus, SubmissionStatus
from tests.contracts.conftest import BOUNTY, CID_A, CID_B, DEPOSIT, assert_escrow, digest, reverts


@pytest.fixture
def waiting(make_model, owners):
    """A model with two waiting submissions (owners 0 and 1)."""
    model_id = make_model()
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), 100)
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), 300)
    return model_id, u1, u2


def test_only_lender_evaluates(waiting, owners, outsider):
    _, u1, _ = waiting
    for repo in (owners[0], outsider):
        with reverts("NotLender"):
            repo.evaluate_update(u1, True, 650_000, CID_B)
    assert owners[0].submission(u1).status == SubmissionStatus.WAITING


def test_evaluate_validation(waiting, lender):
    _, u1, _ = waiting
    with reverts("UnknownSubmission"):
        lender.evaluate_update(99, True, 650_000, CID_B)
    with reverts("EmptyCid"):
        lender.evaluate_update(u1, True, 650_000, "")
    with reverts("ScoreOutOfRange"):
        lender.client.transact(lender.fn.evaluateUpdate(u1, True, 1_000_001, CID_B))
    lender.evaluate_update(u1, False, 500_000)
    with reverts("NotWaiting"):
        lender.evaluate_update(u1, True, 650_000, CID_B)


def test_improvement_pays_gain_share_and_refunds_deposit(waiting, lender, owners):
    model_id, u1, u2 = waiting
    lender.evaluate_update(u1, True, 625_000, CID_B)  # gain 25k of 100k range -> 1/4
    s = lender.submission(u1)
    assert s.status == SubmissionStatus.ACCEPTED and s.new_score == 625_000
    assert s.reward == BOUNTY // 4 and s.new_model_cid == CID_B
    assert lender.pending(owners[0].client.address) == BOUNTY // 4 + DEPOSIT
    m = lender.model(model_id)
    assert m.current_score == 625_000 and m.model_cid == CID_B and m.remaining == BOUNTY * 3 // 4
    assert (m.waiting_count, m.accepted_count, m.accepted_rows) == (1, 1, 100)
    # accepted but not better than the best score: no reward, deposit back
    lender.evaluate_update(u2, True, 610_000, CID_A)
    assert lender.submission(u2).reward == 0
    assert lender.pending(owners[1].client.address) == DEPOSIT
    assert lender.model(model_id).current_score == 625_000
    assert lender.model(model_id).model_cid == CID_A
    assert_escrow(lender, model_id)


def test_reward_is_capped_by_remaining_and_target_closes(make_model, lender, owners):
    model_id = make_model()
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    lender.evaluate_update(u1, True, 690_000, CID_B)  # 90% of the bounty
    lender.evaluate_update(u2, True, 800_000, CID_B)  # would be 110%: capped at the 10% left
    assert lender.submission(u2).reward == BOUNTY - BOUNTY * 9 // 10
    m = lender.model(model_id)
    assert m.status == ModelStatus.CLOSED and m.finalized and m.remaining == 0
    closed = [e for e in lender.events() if e.name == "ModelClosed"]
    assert closed[0].args["reason"] == 0  # TARGET_REACHED
    assert_escrow(lender, model_id)


def test_rejection_forfeits_deposit_and_lender_gains_nothing(waiting, lender, owners, w3):
    model_id, u1, _ = waiting
    lender.evaluate_update(u1, False, 550_000)
    assert lender.submission(u1).status == SubmissionStatus.REJECTED
    assert lender.pending(owners[0].client.address) == 0
    assert lender.pending(lender.client.address) == 0
    e = assert_escrow(lender, model_id)
    assert e["deposits_forfeited"] == DEPOSIT and e["remaining"] == BOUNTY
    assert w3.eth.get_balance(lender.address) == BOUNTY + 2 * DEPOSIT


def test_evaluation_after_close_then_finalises(waiting, lender):
    model_id, u1, u2 = waiting
    lender.close_model(model_id)
    m = lender.model(model_id)
    assert m.status == ModelStatus.CLOSED and not m.finalized
    lender.evaluate_update(u1, True, 640_000, CID_B)
    assert not lender.model(model_id).finalized
    lender.evaluate_update(u2, False, 0)
    assert lender.model(model_id).finalized
    assert [e.name for e in lender.events()][-1] == "ModelFinalized"
