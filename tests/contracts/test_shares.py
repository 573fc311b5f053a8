"""EQUAL and PRO_RATA_GAIN: shares fixed at finalisation, claimed per paid submission, O(1) each,
the last claim takes the rounding dust."""

from __future__ import annotations

import pytest

from hessian_common.chain.repository import Mechanism
from tests.contracts.helpers import (
    BOUNTY,
    CID_A,
    CID_B,
    DEPOSIT,
    STALE,
    assert_escrow,
    digest,
    reveal,
    reverts,
)


def _accepted(make_model, lender, owners, mechanism, scores, **kw):
    """A model whose submissions (one per owner) are accepted at ``scores``, in order."""
    model_id = make_model(mechanism=mechanism, **kw)
    ids = [owners[i].submit_update(model_id, CID_A, digest(i + 1), 100) for i in range(len(scores))]
    for uid, score in zip(ids, scores, strict=True):
        lender.evaluate_update(uid, True, score, CID_B)
    return model_id, ids


def test_equal_split_pays_exactly_the_pool(make_model, lender, owners, outsider):
    bounty = 10**18 + 1  # not divisible by 3: the last claim takes the dust
    model_id, ids = _accepted(
        make_model, lender, owners, Mechanism.EQUAL, [610_000, 620_000, 630_000], bounty=bounty
    )
    assert lender.share_of(ids[0]) == 0  # not final yet
    with reverts("ModelStillOpen"):
        outsider.claim_share(ids[0])
    lender.close_model(model_id)
    m = lender.model(model_id)
    assert m.finalized and m.pool == bounty and m.remaining == 0 and m.owed == bounty
    assert (m.paid_count, m.total_gain) == (3, 30_000)
    finalized = next(e for e in lender.events() if e.name == "ModelFinalized")
    assert finalized.args == {
        "modelId": model_id,
        "pool": bounty,
        "paidCount": 3,
        "totalGain": 30_000,
    }
    assert lender.share_of(ids[0]) == bounty // 3
    amounts = [outsider.claim_share(uid) for uid in ids]  # anyone may trigger the credit
    assert amounts == [bounty // 3, bounty // 3, bounty - 2 * (bounty // 3)]
    for i, uid in enumerate(ids):
        assert lender.pending(owners[i].client.address) == amounts[i] + DEPOSIT
        s = lender.submission(uid)
        assert s.claimed and s.reward == amounts[i]
        assert lender.share_of(uid) == 0
    claimed = [e.args for e in lender.events() if e.name == "ShareClaimed"]
    assert [(a["updateId"], a["amount"]) for a in claimed] == list(zip(ids, amounts, strict=True))
    e = assert_escrow(lender, model_id)
    assert e["owed"] == 0 and e["paid"] == bounty
    with reverts("AlreadyClaimed"):
        outsider.claim_share(ids[0])
    with reverts("NotRevealed"):
        lender.reclaim(model_id)
    reveal(lender, model_id)
    with reverts("NothingToReclaim"):
        lender.reclaim(model_id)


def test_pro_rata_by_measured_gain(make_model, lender, owners, outsider, chain_time):
    bounty = 10**18 + 7
    model_id, ids = _accepted(
        make_model,
        lender,
        owners,
        Mechanism.PRO_RATA_GAIN,
        [610_000, 640_000, 641_000],  # gains 10k, 30k, 1k
        bounty=bounty,
        deadline=chain_time.now() + 500,
    )
    assert [lender.submission(u).gain for u in ids] == [10_000, 30_000, 1_000]
    chain_time.advance(501)
    outsider.close_model(model_id)  # anyone, after the deadline
    assert lender.model(model_id).total_gain == 41_000
    assert lender.share_of(ids[1]) == bounty * 30_000 // 41_000
    amounts = [outsider.claim_share(uid) for uid in ids]
    assert amounts[0] == bounty * 10_000 // 41_000 and amounts[1] == bounty * 30_000 // 41_000
    assert sum(amounts) == bounty
    assert amounts[2] >= bounty * 1_000 // 41_000  # the last one takes the dust
    assert_escrow(lender, model_id)


def test_pro_rata_ignores_rows(make_model, lender, owners):
    """Rows are self-declared: two equal gains are paid equally whatever rows they claim."""
    model_id = make_model(mechanism=Mechanism.PRO_RATA_GAIN, max_rows=2**64 - 1)
    big = owners[0].submit_update(model_id, CID_A, digest(1), 2**64 - 1)
    small = owners[1].submit_update(model_id, CID_A, digest(2), 1)
    lender.evaluate_update(big, True, 620_000, CID_B)
    lender.evaluate_update(small, True, 640_000, CID_B)
    lender.close_model(model_id)
    assert lender.claim_share(big) == lender.claim_share(small) == BOUNTY // 2


@pytest.mark.parametrize("mechanism", [Mechanism.EQUAL, Mechanism.PRO_RATA_GAIN])
def test_unpaid_rejected_and_waiting_get_no_share(make_model, lender, owners, outsider, mechanism):
    model_id = make_model(mechanism=mechanism)
    good = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    bad = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    same = owners[2].submit_update(model_id, CID_A, digest(3), 10)
    late = owners[3].submit_update(model_id, CID_A, digest(4), 10)
    lender.evaluate_update(good, True, 650_000, CID_B)
    lender.evaluate_update(bad, False, 500_000)
    lender.evaluate_update(same, True, 650_000, CID_B)  # accepted, no gain: not paid
    lender.close_model(model_id)
    for uid in (bad, same, late):
        with reverts("NotPaid") as info:
            outsider.claim_share(uid)
        assert info.value.error_args == (uid,)
    with reverts("SubmissionsWaiting") as info:
        outsider.claim_share(good)
    assert info.value.error_args == (model_id, 1)
    assert lender.share_of(good) == 0
    lender.evaluate_update(late, True, 660_000, CID_B)  # evaluated after close: still counts
    m = lender.model(model_id)
    assert (m.paid_count, m.accepted_count, m.pool) == (2, 3, BOUNTY)
    first, second = outsider.claim_share(good), outsider.claim_share(late)
    assert first + second == BOUNTY
    if mechanism == Mechanism.EQUAL:
        assert first == BOUNTY // 2
    else:
        assert first == BOUNTY * 50_000 // 60_000
    assert_escrow(lender, model_id)


@pytest.mark.parametrize("mechanism", [Mechanism.EQUAL, Mechanism.PRO_RATA_GAIN])
def test_no_paid_submission_leaves_everything_to_reclaim(make_model, lender, owners, mechanism):
    model_id = make_model(mechanism=mechanism)
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, False, 500_000)
    lender.close_model(model_id)
    m = lender.model(model_id)
    assert m.finalized and m.pool == 0 and m.remaining == BOUNTY
    reveal(lender, model_id)
    assert lender.reclaim(model_id) == BOUNTY
    assert_escrow(lender, model_id)


def test_pool_is_what_the_stale_reserves_left(make_model, lender, owners, chain_time):
    model_id = make_model(mechanism=Mechanism.EQUAL)
    paid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    stale = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    lender.evaluate_update(paid, True, 650_000, CID_B)
    chain_time.advance(3_601)
    owners[1].settle_stale(stale)
    lender.close_model(model_id)
    assert lender.claim_share(paid) == BOUNTY - STALE


def test_improvement_has_no_shares(make_model, lender, owners, outsider):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, True, 650_000, CID_B)
    lender.close_model(model_id)
    with reverts("NoShares") as info:
        outsider.claim_share(uid)
    assert info.value.error_args == (model_id, Mechanism.IMPROVEMENT)
    assert lender.share_of(uid) == 0
    with reverts("UnknownSubmission"):
        outsider.claim_share(99)
    with reverts("UnknownSubmission"):
        outsider.share_of(99)
