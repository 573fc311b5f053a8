"""evaluateUpdate: access control, queue order, reason codes, IMPROVEMENT payments with the
paid-gain floor and the reserve-aware cap, deposits, closing at the target."""

from __future__ import annotations

import pytest

from hessian_common.chain.repository import ModelStatus, Reason, SubmissionStatus
from tests.contracts.helpers import (
    BOUNTY,
    CID_A,
    CID_B,
    DEPOSIT,
    STALE,
    assert_escrow,
    digest,
    reverts,
)


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
        with reverts("NotLender") as info:
            repo.evaluate_update(u1, True, 650_000, CID_B)
        assert info.value.error_args[0].lower() == repo.client.address.lower()
    assert owners[0].submission(u1).status == SubmissionStatus.WAITING


def test_evaluate_validation(waiting, lender):
    model_id, u1, _ = waiting
    with reverts("UnknownSubmission"):
        lender.evaluate_update(99, True, 650_000, CID_B)
    with reverts("EmptyCid"):
        lender.evaluate_update(u1, True, 650_000, "")
    with reverts("ScoreOutOfRange"):
        lender.client.transact(lender.fn.evaluateUpdate(u1, True, 0, 1_000_001, CID_B))
    with pytest.raises(ValueError, match="ppm"):  # the wrapper refuses first
        lender.evaluate_update(u1, True, 1_000_001, CID_B)
    assert lender.model(model_id).waiting_count == 2
    lender.evaluate_update(u1, False, 500_000)
    with reverts("NotWaiting") as info:
        lender.evaluate_update(u1, True, 650_000, CID_B)
    assert info.value.error_args == (u1, SubmissionStatus.REJECTED)


def test_reason_must_match_the_verdict(waiting, lender):
    _model_id, u1, _ = waiting
    with reverts("InvalidReason") as info:
        lender.evaluate_update(u1, True, 650_000, CID_B, reason=Reason.WORSE)
    assert info.value.error_args == (True, Reason.WORSE)
    with reverts("InvalidReason") as info:
        lender.evaluate_update(u1, False, 500_000, reason=Reason.ACCEPTED)
    assert info.value.error_args == (False, 0)
    assert lender.submission(u1).status == SubmissionStatus.WAITING
    # a rejection code the wrapper does not know is recorded as given
    lender.client.transact(lender.fn.evaluateUpdate(u1, False, 200, 500_000, ""))
    assert lender.submission(u1).reason is None
    assert [e.args["reason"] for e in lender.events() if e.name == "UpdateEvaluated"] == [200]


def test_rejection_reason_is_recorded(waiting, lender):
    _, u1, u2 = waiting
    lender.evaluate_update(u1, False, 0, reason=Reason.WRONG_SIGNER)
    lender.evaluate_update(u2, False, 550_000)
    assert lender.submission(u1).reason == Reason.WRONG_SIGNER
    assert lender.submission(u2).reason == Reason.WORSE  # the wrapper's default
    assert lender.submission(u2).new_score == 550_000


def test_only_the_head_of_the_queue(waiting, lender, make_model, owners):
    model_id, u1, u2 = waiting
    assert lender.next_in_queue(model_id) == u1
    with reverts("OutOfOrder") as info:
        lender.evaluate_update(u2, True, 650_000, CID_B)
    assert info.value.error_args == (u2, u1)
    # queues are per model: another model's head is evaluated independently
    other = make_model()
    v1 = owners[2].submit_update(other, CID_A, digest(3), 10)
    lender.evaluate_update(v1, False, 0)
    lender.evaluate_update(u1, False, 0)
    assert lender.next_in_queue(model_id) == u2
    lender.evaluate_update(u2, True, 650_000, CID_B)
    assert lender.next_in_queue(model_id) == 0
    # the queue refills from empty
    u3 = owners[2].submit_update(model_id, CID_A, digest(4), 10)
    assert lender.next_in_queue(model_id) == u3
    lender.evaluate_update(u3, False, 0)
    assert lender.model(model_id).waiting_count == 0


def test_improvement_pays_gain_share_and_refunds_deposit(waiting, lender, owners):
    model_id, u1, u2 = waiting
    lender.evaluate_update(u1, True, 625_000, CID_B)  # gain 25k of 100k range -> 1/4
    s = lender.submission(u1)
    assert s.status == SubmissionStatus.ACCEPTED and s.new_score == 625_000 and s.gain == 25_000
    assert s.reward == BOUNTY // 4 and s.new_model_cid == CID_B and s.reason == Reason.ACCEPTED
    assert lender.pending(owners[0].client.address) == BOUNTY // 4 + DEPOSIT
    m = lender.model(model_id)
    assert m.current_score == 625_000 and m.model_cid == CID_B and m.remaining == BOUNTY * 3 // 4
    assert (m.waiting_count, m.accepted_count, m.paid_count, m.accepted_rows) == (1, 1, 1, 100)
    assert m.reserved == STALE  # u1's reserve released, u2's kept
    # accepted but not better than the best score: no reward, deposit back
    lender.evaluate_update(u2, True, 610_000, CID_A)
    s2 = lender.submission(u2)
    assert s2.reward == 0 and s2.gain == 0
    assert lender.pending(owners[1].client.address) == DEPOSIT
    m = lender.model(model_id)
    assert m.current_score == 625_000 and m.model_cid == CID_A and m.paid_count == 1
    assert m.accepted_count == 2 and m.reserved == 0
    events = [e for e in lender.events() if e.name == "UpdateEvaluated"]
    assert [(e.args["gain"], e.args["reward"]) for e in events] == [(25_000, BOUNTY // 4), (0, 0)]
    assert_escrow(lender, model_id)


def test_minimum_gain_is_the_paid_floor(make_model, lender, owners):
    model_id = make_model(min_gain=10_000)
    ids = [owners[i].submit_update(model_id, CID_A, digest(i + 1), 10) for i in range(3)]
    lender.evaluate_update(ids[0], True, 609_999, CID_B)  # gain 9,999 < 10,000: not paid
    lender.evaluate_update(ids[1], True, 619_999, CID_B)  # exactly 10,000 over the best: paid
    lender.evaluate_update(ids[2], True, 620_000, CID_B)  # 1 over: not paid
    assert [lender.submission(u).gain for u in ids] == [0, 10_000, 0]
    assert [lender.submission(u).reward for u in ids] == [0, BOUNTY // 10, 0]
    m = lender.model(model_id)
    assert m.current_score == 620_000  # the best score still moves
    assert m.paid_count == 1 and m.accepted_count == 3
    assert_escrow(lender, model_id)


def test_a_one_ppm_gain_is_paid_without_a_floor(make_model, lender, owners):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, True, 600_001, CID_B)
    assert lender.submission(uid).reward == BOUNTY // 100_000


def test_reward_cap_leaves_other_reserves(make_model, lender, owners):
    """IMPROVEMENT caps a reward at ``remaining - reserved``: the stale reserve of a submission
    still waiting is not paid to another."""
    model_id = make_model()
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    lender.evaluate_update(u1, True, 695_000, CID_B)  # 95 % asked, 90 % free (u2 reserves 10 %)
    assert lender.submission(u1).reward == BOUNTY - STALE
    m = lender.model(model_id)
    assert (m.remaining, m.reserved) == (STALE, STALE)
    lender.evaluate_update(u2, True, 710_000, CID_B)  # 15 % asked; its own reserve is free
    assert lender.submission(u2).reward == STALE
    assert lender.model(model_id).remaining == 0
    assert_escrow(lender, model_id)


def test_reward_is_capped_by_remaining_and_target_closes(make_model, lender, owners):
    model_id = make_model()
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(u1, True, 690_000, CID_B)  # 90% of the bounty
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    lender.evaluate_update(u2, True, 800_000, CID_B)  # would be 110%: capped at the 10% left
    assert lender.submission(u2).reward == BOUNTY - BOUNTY * 9 // 10
    m = lender.model(model_id)
    assert m.status == ModelStatus.CLOSED and m.finalized and m.remaining == 0
    closed = [e for e in lender.events() if e.name == "ModelClosed"]
    assert closed[0].args["reason"] == 0 and closed[0].args["score"] == 800_000  # TARGET_REACHED
    assert_escrow(lender, model_id)


def test_reaching_the_target_with_submissions_waiting(waiting, lender, owners):
    model_id, u1, u2 = waiting
    lender.evaluate_update(u1, True, 700_000, CID_B)
    m = lender.model(model_id)
    assert m.status == ModelStatus.CLOSED and not m.finalized and m.next_in_queue == u2
    with reverts("ModelNotOpen"):
        owners[2].submit_update(model_id, CID_A, digest(3), 10)
    lender.evaluate_update(u2, True, 710_000, CID_B)  # after close: counted, finalises
    m = lender.model(model_id)
    assert m.finalized and m.current_score == 710_000
    assert lender.submission(u2).reward == BOUNTY // 10  # gain 10k of the 100k span
    assert_escrow(lender, model_id)


def test_rejection_forfeits_deposit_and_lender_gains_nothing(waiting, lender, owners, w3):
    model_id, u1, _ = waiting
    lender.evaluate_update(u1, False, 550_000)
    s = lender.submission(u1)
    assert s.status == SubmissionStatus.REJECTED and s.reward == 0 and s.new_model_cid is None
    assert lender.pending(owners[0].client.address) == 0
    assert lender.pending(lender.client.address) == 0
    e = assert_escrow(lender, model_id)
    assert e["deposits_forfeited"] == DEPOSIT and e["remaining"] == BOUNTY
    assert lender.model(model_id).reserved == STALE  # u1's reserve released
    assert lender.model(model_id).rejected_count == 1
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
