"""EQUAL and PRO_RATA_ROWS: shares fixed at finalisation, claimed per submission, O(1) each."""

from __future__ import annotations

from hessian_common.chain.repository import Mechanism
from tests.contracts.conftest import BOUNTY, CID_A, CID_B, assert_escrow, digest, reverts


def _three_accepted(make_model, lender, owners, mechanism, rows=(100, 200, 300), **kw):
    model_id = make_model(mechanism=mechanism, **kw)
    ids = [
        owners[i].submit_update(model_id, CID_A, digest(i + 1), rows[i]) for i in range(len(rows))
    ]
    for uid in ids:
        lender.evaluate_update(uid, True, 650_000, CID_B)
    return model_id, ids


def test_equal_split_pays_exactly_the_pool(make_model, lender, owners, outsider):
    bounty = 10**18 + 1  # not divisible by 3: the last claim takes the dust
    model_id, ids = _three_accepted(make_model, lender, owners, Mechanism.EQUAL, bounty=bounty)
    assert lender.share_of(ids[0]) == 0  # not final yet
    with reverts("ModelStillOpen"):
        outsider.claim_share(ids[0])
    lender.close_model(model_id)
    m = lender.model(model_id)
    assert m.finalized and m.pool == bounty and m.remaining == 0 and m.owed == bounty
    assert lender.share_of(ids[0]) == bounty // 3
    amounts = [outsider.claim_share(uid) for uid in ids]  # anyone may trigger the credit
    assert amounts[:2] == [bounty // 3, bounty // 3]
    assert sum(amounts) == bounty
    for i, uid in enumerate(ids):
        assert lender.pending(owners[i].client.address) == amounts[i] + lender.model_deposit(
            model_id
        )
        assert lender.submission(uid).claimed
    e = assert_escrow(lender, model_id)
    assert e["owed"] == 0 and e["paid"] == bounty
    with reverts("AlreadyClaimed"):
        outsider.claim_share(ids[0])
    with reverts("NothingToReclaim"):
        lender.reclaim(model_id)


def test_pro_rata_by_rows(make_model, lender, owners, outsider, chain_time):
    model_id, ids = _three_accepted(
        make_model, lender, owners, Mechanism.PRO_RATA_ROWS, deadline=chain_time.now() + 500
    )
    chain_time.advance(501)
    outsider.close_model(model_id)  # anyone, after the deadline
    amounts = [outsider.claim_share(uid) for uid in ids]
    assert amounts[0] == BOUNTY * 100 // 600 and amounts[1] == BOUNTY * 200 // 600
    assert sum(amounts) == BOUNTY
    assert_escrow(lender, model_id)


def test_rejected_and_waiting_get_no_share(make_model, lender, owners, outsider):
    model_id = make_model(mechanism=Mechanism.EQUAL)
    good = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    bad = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    late = owners[2].submit_update(model_id, CID_A, digest(3), 10)
    lender.evaluate_update(good, True, 650_000, CID_B)
    lender.evaluate_update(bad, False, 500_000)
    lender.close_model(model_id)
    with reverts("NotAccepted"):
        outsider.claim_share(bad)
    with reverts("SubmissionsWaiting"):
        outsider.claim_share(good)
    with reverts("NotAccepted"):
        outsider.claim_share(late)
    lender.evaluate_update(late, True, 660_000, CID_B)  # evaluated after close: still counts
    assert outsider.claim_share(good) == BOUNTY // 2
    assert outsider.claim_share(late) == BOUNTY - BOUNTY // 2
    assert_escrow(lender, model_id)


def test_no_accepted_submission_leaves_everything_to_reclaim(make_model, lender, owners):
    model_id = make_model(mechanism=Mechanism.PRO_RATA_ROWS)
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, False, 500_000)
    lender.close_model(model_id)
    assert lender.model(model_id).pool == 0
    assert lender.reclaim(model_id) == BOUNTY
    assert_escrow(lender, model_id)


def test_improvement_has_no_shares(make_model, lender, owners, outsider):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, True, 650_000, CID_B)
    with reverts("NoShares"):
        outsider.claim_share(uid)
    with reverts("UnknownSubmission"):
        outsider.claim_share(99)
