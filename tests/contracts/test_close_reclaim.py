"""closeModel and reclaim: who may, when (to the second), and what the lender gets back."""

from __future__ import annotations

from hessian_common.chain.repository import CloseReason, ModelStatus
from tests.contracts.helpers import (
    BOUNTY,
    CID_A,
    CID_B,
    STALE,
    assert_escrow,
    digest,
    reveal,
    reverts,
    transact_at,
)


def test_close_before_deadline_only_by_lender(make_model, lender, owners, outsider):
    model_id = make_model()
    with reverts("DeadlineNotReached"):
        outsider.close_model(model_id)
    lender.close_model(model_id)
    m = lender.model(model_id)
    assert m.status == ModelStatus.CLOSED and m.finalized  # nothing waiting
    with reverts("ModelNotOpen"):
        lender.close_model(model_id)
    with reverts("UnknownModel"):
        lender.close_model(42)
    closed = [e.args for e in lender.events() if e.name == "ModelClosed"]
    assert [(a["reason"], a["score"]) for a in closed] == [(CloseReason.CLOSED_BY_LENDER, 600_000)]


def test_anyone_closes_from_the_second_after_the_deadline(make_model, outsider, chain_time):
    deadline = chain_time.now() + 600
    model_id = make_model(deadline=deadline)
    with reverts("DeadlineNotReached") as info:
        transact_at(outsider, outsider.fn.closeModel(model_id), deadline)
    assert info.value.error_args == (model_id, deadline, deadline)
    transact_at(outsider, outsider.fn.closeModel(model_id), deadline + 1)
    m = outsider.model(model_id)
    assert m.status == ModelStatus.CLOSED and m.finalized
    closed = [e.args for e in outsider.events() if e.name == "ModelClosed"]
    assert closed[0]["reason"] == CloseReason.DEADLINE_PASSED


def test_lender_closing_after_the_deadline_is_a_deadline_close(make_model, lender, chain_time):
    model_id = make_model(deadline=chain_time.now() + 60)
    chain_time.advance(61)
    lender.close_model(model_id)
    closed = [e.args for e in lender.events() if e.name == "ModelClosed"]
    assert closed[0]["reason"] == CloseReason.DEADLINE_PASSED


def test_close_with_submissions_waiting_does_not_finalise(make_model, lender, owners):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.close_model(model_id)
    m = lender.model(model_id)
    assert m.status == ModelStatus.CLOSED and not m.finalized and m.reserved == STALE
    lender.evaluate_update(uid, False, 0)
    assert lender.model(model_id).finalized


def test_reclaim_rules(make_model, lender, owners, w3):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    with reverts("NotLender"):
        owners[0].reclaim(model_id)
    with reverts("ModelStillOpen"):
        lender.reclaim(model_id)
    lender.close_model(model_id)
    with reverts("SubmissionsWaiting") as info:
        lender.reclaim(model_id)
    assert info.value.error_args == (model_id, 1)
    lender.evaluate_update(uid, True, 640_000, CID_B)  # pays 40%
    with reverts("NotRevealed") as info:  # no reclaim before the audit material is public
        lender.reclaim(model_id)
    assert info.value.error_args == (model_id,)
    reveal(lender, model_id)
    with reverts("NotLender"):
        owners[0].reclaim(model_id)
    before = w3.eth.get_balance(lender.client.address)
    assert lender.reclaim(model_id) == BOUNTY * 6 // 10
    assert lender.pending() == BOUNTY * 6 // 10
    reclaimed = [e.args for e in lender.events() if e.name == "BountyReclaimed"]
    assert reclaimed == [
        {"modelId": model_id, "lender": lender.client.address, "amount": BOUNTY * 6 // 10}
    ]
    with reverts("NothingToReclaim"):
        lender.reclaim(model_id)
    e = assert_escrow(lender, model_id)
    assert e["reclaimed"] == BOUNTY * 6 // 10 and e["remaining"] == 0
    assert lender.withdraw() == BOUNTY * 6 // 10
    assert w3.eth.get_balance(lender.client.address) > before  # minus gas
    with reverts("UnknownModel"):
        lender.reclaim(99)


def test_a_model_nobody_submitted_to_is_reclaimed_without_a_reveal(
    make_model, lender, owners, chain_time
):
    """Nothing to audit and nobody to forfeit to: before the fix, a lender that let the reveal
    deadline pass on such a model could never reclaim, and nobody could claim: the bounty was
    locked in the contract for ever."""
    model_id = make_model()
    lender.close_model(model_id)
    chain_time.advance(lender.reveal_deadline(model_id) + 1 - chain_time.now())
    with reverts("RevealDeadlinePassed"):
        reveal(lender, model_id)
    assert lender.reclaim(model_id) == BOUNTY
    e = assert_escrow(lender, model_id)
    assert e["reclaimed"] == BOUNTY and e["remaining"] == 0
    # one submission, even rejected, and the reveal is due again
    other = make_model()
    uid = owners[0].submit_update(other, CID_A, digest(1), 10)
    lender.evaluate_update(uid, False, 0)
    lender.close_model(other)
    with reverts("NotRevealed"):
        lender.reclaim(other)
