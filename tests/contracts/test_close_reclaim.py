"""closeModel and reclaim: who may, when, and what the lender gets back."""

from __future__ import annotations

from hessian_common.chain.repository import ModelStatus
from tests.contracts.conftest import BOUNTY, CID_A, CID_B, assert_escrow, digest, reverts


def test_close_before_deadline_only_by_lender(make_model, lender, owners, outsider):
    model_id = make_model()
    with reverts("DeadlineNotReached"):
        outsider.close_model(model_id)
    lender.close_model(model_id)
    assert lender.model(model_id).status == ModelStatus.CLOSED
    with reverts("ModelNotOpen"):
        lender.close_model(model_id)
    with reverts("UnknownModel"):
        lender.close_model(42)
    reasons = [e.args["reason"] for e in lender.events() if e.name == "ModelClosed"]
    assert reasons == [2]  # CLOSED_BY_LENDER


def test_close_after_deadline_by_anyone(make_model, outsider, chain_time):
    model_id = make_model(deadline=chain_time.now() + 60)
    chain_time.advance(61)
    outsider.close_model(model_id)
    m = outsider.model(model_id)
    assert m.status == ModelStatus.CLOSED and m.finalized


def test_reclaim_rules(make_model, lender, owners, w3):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    with reverts("NotLender"):
        owners[0].reclaim(model_id)
    with reverts("ModelStillOpen"):
        lender.reclaim(model_id)
    lender.close_model(model_id)
    with reverts("SubmissionsWaiting"):
        lender.reclaim(model_id)
    lender.evaluate_update(uid, True, 640_000, CID_B)  # pays 40%
    before = w3.eth.get_balance(lender.client.address)
    assert lender.reclaim(model_id) == BOUNTY * 6 // 10
    assert lender.pending() == BOUNTY * 6 // 10
    with reverts("NothingToReclaim"):
        lender.reclaim(model_id)
    e = assert_escrow(lender, model_id)
    assert e["reclaimed"] == BOUNTY * 6 // 10 and e["remaining"] == 0
    receipt_amount = lender.withdraw()
    assert receipt_amount == BOUNTY * 6 // 10
    assert w3.eth.get_balance(lender.client.address) > before  # minus gas
