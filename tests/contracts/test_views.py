"""Read functions and the wrapper's view of models, submissions and events."""

from __future__ import annotations

import pytest

from hessian_common.chain.repository import Mechanism, SubmissionStatus
from tests.contracts.helpers import (
    BOUNTY,
    CID_A,
    CID_B,
    DEPOSIT,
    STALE,
    WINDOW,
    assert_escrow,
    digest,
    reveal,
    reverts,
)


def test_listing_models_and_submissions(make_model, lender, owners):
    m1 = make_model()
    m2 = make_model(mechanism=Mechanism.EQUAL, spec_cid=CID_B)
    ids1 = [owners[i % 2].submit_update(m1, CID_A, digest(i), 10 + i) for i in range(3)]
    ids2 = [owners[2].submit_update(m2, CID_B, digest(i), 5) for i in range(2)]
    assert [m.model_id for m in lender.models()] == [m1, m2]
    assert lender.models()[1].spec_cid == CID_B
    assert lender.submission_ids(m1) == ids1
    assert lender.submission_ids(m2, page=1) == ids2  # paging
    ids, next_id = lender.client.call(lender.fn.submissionsOf(m1, 0, 2))  # 0 reads as 1
    assert (list(ids), next_id) == ([1, 2], 3)
    ids, next_id = lender.client.call(lender.fn.submissionsOf(m1, 4, 100))
    assert (list(ids), next_id) == ([], 6)
    subs = lender.submissions(m1)
    assert [s.rows for s in subs] == [10, 11, 12]
    assert all(s.status == SubmissionStatus.WAITING for s in subs)
    assert lender.submission_count() == 5
    with reverts("UnknownModel"):
        lender.model(9)
    with reverts("UnknownSubmission"):
        lender.submission(9)
    with reverts("UnknownModel"):
        lender.submission_ids(9)
    assert_escrow(lender, m1)


@pytest.mark.parametrize(
    "view",
    ["next_in_queue", "stale_reserve_now", "reveal_deadline", "escrow", "model_deposit"],
)
def test_model_views_refuse_unknown_models(lender, view):
    with reverts("UnknownModel") as info:
        getattr(lender, view)(7)
    assert info.value.error_args == (7,)


@pytest.mark.parametrize("view", ["is_stale", "share_of", "submission"])
def test_submission_views_refuse_unknown_submissions(lender, view):
    with reverts("UnknownSubmission"):
        getattr(lender, view)(7)


def test_escrow_through_a_model_life(make_model, lender, owners, outsider, chain_time):
    model_id = make_model()
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    u3 = owners[2].submit_update(model_id, CID_A, digest(3), 10)
    assert lender.escrow(model_id) == {
        "bounty": BOUNTY,
        "paid": 0,
        "owed": 0,
        "remaining": BOUNTY,
        "reclaimed": 0,
        "deposits_held": 3 * DEPOSIT,
        "deposits_forfeited": 0,
    }
    lender.evaluate_update(u1, True, 630_000, CID_B)
    lender.evaluate_update(u2, False, 0)
    chain_time.advance(WINDOW + 1)
    outsider.settle_stale(u3)
    lender.close_model(model_id)
    reveal(lender, model_id)
    lender.reclaim(model_id)
    paid = BOUNTY * 3 // 10 + STALE
    assert lender.escrow(model_id) == {
        "bounty": BOUNTY,
        "paid": paid,
        "owed": 0,
        "remaining": 0,
        "reclaimed": BOUNTY - paid,
        "deposits_held": 0,
        "deposits_forfeited": DEPOSIT,
    }
    m = lender.model(model_id)
    assert (m.submission_count, m.accepted_count, m.rejected_count, m.paid_count) == (3, 2, 1, 1)
    assert (m.accepted_rows, m.last_accepted_update_id, m.model_cid) == (20, u1, CID_B)


def test_events_for_a_worker(make_model, lender, owners):
    start = lender.client.w3.eth.block_number + 1
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, True, 650_000, CID_B)
    lender.close_model(model_id)
    reveal(lender, model_id)
    lender.reclaim(model_id)
    owners[0].withdraw()
    names = [e.name for e in lender.events(from_block=start)]
    assert names == [
        "ModelCreated",
        "UpdateSubmitted",
        "UpdateEvaluated",
        "ModelClosed",
        "ModelFinalized",
        "TestSetRevealed",
        "BountyReclaimed",
        "Withdrawn",
    ]
    last = lender.events(from_block=start)[-1]
    assert lender.events(from_block=last.block_number + 1) == []
    evaluated = lender.events(from_block=start)[2]
    assert evaluated.args == {
        "modelId": model_id,
        "updateId": uid,
        "owner": owners[0].client.address,
        "accepted": True,
        "reason": 0,
        "newScore": 650_000,
        "gain": 50_000,
        "newModelCid": CID_B,
        "reward": BOUNTY // 2,
    }
    assert lender.model(model_id).model_cid == CID_B
