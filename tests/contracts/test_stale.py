"""The evaluation window: a lender who stalls cannot reclaim; waiting owners are paid."""

from __future__ import annotations

from hessian_common.chain.repository import Mechanism, SubmissionStatus
from tests.contracts.conftest import (
    BOUNTY,
    CID_A,
    CID_B,
    DEPOSIT,
    WINDOW,
    assert_escrow,
    digest,
    reverts,
)


def test_not_stale_within_window(make_model, owners, outsider, chain_time):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    assert not outsider.is_stale(uid)
    with reverts("NotStale"):
        outsider.settle_stale(uid)
    chain_time.advance(WINDOW - 5)
    with reverts("NotStale"):
        outsider.settle_stale(uid)
    chain_time.advance(10)
    assert outsider.is_stale(uid)


def test_stalling_lender_pays_waiting_owners_from_bounty(
    make_model, lender, owners, outsider, chain_time
):
    model_id = make_model()
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    chain_time.advance(WINDOW + 1)
    lender.close_model(model_id)
    with reverts("SubmissionsWaiting"):
        lender.reclaim(model_id)
    # remaining / waiting: the first gets half, the second the other half
    assert outsider.settle_stale(u1) == BOUNTY // 2
    with reverts("NotWaiting"):
        lender.evaluate_update(u1, True, 650_000, CID_B)
    assert outsider.settle_stale(u2) == BOUNTY - BOUNTY // 2
    s = lender.submission(u1)
    assert s.status == SubmissionStatus.ACCEPTED and s.stale and s.new_model_cid is None
    assert lender.pending(owners[0].client.address) == BOUNTY // 2 + DEPOSIT
    m = lender.model(model_id)
    assert m.finalized and m.remaining == 0
    with reverts("NothingToReclaim"):
        lender.reclaim(model_id)
    assert_escrow(lender, model_id)
    with reverts("NotWaiting"):
        outsider.settle_stale(u1)


def test_lender_may_still_evaluate_a_stale_submission(make_model, lender, owners, chain_time):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    chain_time.advance(WINDOW + 100)
    lender.evaluate_update(uid, True, 610_000, CID_B)  # pays 10%: nobody settled it first
    assert lender.submission(uid).reward == BOUNTY // 10
    assert not lender.submission(uid).stale


def test_stale_counts_as_accepted_for_shares(make_model, lender, owners, outsider, chain_time):
    model_id = make_model(mechanism=Mechanism.EQUAL)
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    lender.evaluate_update(u1, True, 650_000, CID_B)
    chain_time.advance(WINDOW + 1)
    assert outsider.settle_stale(u2) == 0  # paid at close, as a share
    lender.close_model(model_id)
    assert outsider.claim_share(u1) == BOUNTY // 2
    assert outsider.claim_share(u2) == BOUNTY - BOUNTY // 2
    assert_escrow(lender, model_id)
