"""claimForfeit: a lender that misses its reveal deadline forfeits what remains of the bounty to
the model's submissions, an equal share each (the last claim takes the dust)."""

from __future__ import annotations

import pytest

from hessian_common.chain.repository import Mechanism
from tests.contracts.helpers import (
    BOUNTY,
    CID_A,
    CID_B,
    DEPOSIT,
    REVEAL_WINDOW,
    STALE,
    WINDOW,
    assert_escrow,
    assert_solvent,
    digest,
    reveal,
    reverts,
    transact_at,
)


def _past_reveal_deadline(lender, model_id, chain_time) -> int:
    due = lender.reveal_deadline(model_id)
    chain_time.advance(due + 1 - chain_time.now())
    return due


def test_forfeit_from_the_second_after_the_reveal_deadline(
    make_model, lender, owners, outsider, chain_time
):
    deadline = chain_time.now() + 1_000
    model_id = make_model(deadline=deadline)
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, False, 0)
    lender.close_model(model_id)
    due = deadline + WINDOW + REVEAL_WINDOW
    with reverts("NotForfeitable") as info:
        outsider.claim_forfeit(uid)
    with reverts("NotForfeitable") as info:
        transact_at(outsider, outsider.fn.claimForfeit(uid), due)
    assert info.value.error_args == (model_id, due, due)
    transact_at(outsider, outsider.fn.claimForfeit(uid), due + 1)
    m = lender.model(model_id)
    assert m.forfeited and m.pool == BOUNTY and m.remaining == 0 and m.owed == 0
    assert lender.pending(owners[0].client.address) == BOUNTY  # its deposit was forfeited
    assert lender.pending(outsider.client.address) == 0


def test_no_forfeit_once_revealed(make_model, lender, owners, outsider, chain_time):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, False, 0)
    lender.close_model(model_id)
    reveal(lender, model_id)
    due = _past_reveal_deadline(lender, model_id, chain_time)
    with reverts("NotForfeitable") as info:
        outsider.claim_forfeit(uid)
    assert info.value.error_args == (model_id, due, due + 1)
    assert lender.reclaim(model_id) == BOUNTY  # the lender may reclaim late


def test_split_among_every_submission_when_none_was_rejected(
    make_model, lender, owners, outsider, chain_time, w3
):
    bounty = 10**18 + 2  # 3 submissions: a third each and the dust
    model_id = make_model(bounty=bounty, stale_reward=bounty // 10)
    accepted = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    unpaid = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    stale = owners[2].submit_update(model_id, CID_A, digest(3), 10)
    lender.evaluate_update(accepted, True, 620_000, CID_B)  # 20 %
    lender.evaluate_update(unpaid, True, 610_000, CID_B)  # accepted, no gain over the best
    chain_time.advance(WINDOW + 1)
    outsider.settle_stale(stale)
    lender.close_model(model_id)
    pool = bounty - bounty // 5 - bounty // 10
    assert lender.model(model_id).remaining == pool
    _past_reveal_deadline(lender, model_id, chain_time)
    amounts = [outsider.claim_forfeit(u) for u in (unpaid, stale, accepted)]  # any order
    assert amounts == [pool // 3, pool // 3, pool - 2 * (pool // 3)]
    assert sum(amounts) == pool
    forfeited = [e.args for e in lender.events() if e.name == "BountyForfeited"]
    assert forfeited == [{"modelId": model_id, "pool": pool, "shares": 3}]
    claims = [e.args for e in lender.events() if e.name == "ForfeitClaimed"]
    assert [(c["updateId"], c["owner"], c["amount"]) for c in claims] == [
        (unpaid, owners[1].client.address, pool // 3),
        (stale, owners[2].client.address, pool // 3),
        (accepted, owners[0].client.address, pool - 2 * (pool // 3)),
    ]
    assert [lender.submission(u).claimed for u in (accepted, unpaid, stale)] == [True] * 3
    e = assert_escrow(lender, model_id)
    assert e["paid"] == bounty and e["owed"] == 0 and e["remaining"] == 0
    with reverts("AlreadyClaimed"):
        outsider.claim_forfeit(accepted)
    with reverts("UnknownSubmission"):
        outsider.claim_forfeit(99)
    with reverts("NotRevealed"):
        lender.reclaim(model_id)
    assert_solvent(lender, w3, [c.client.address for c in (lender, *owners, outsider)])


def test_split_among_the_rejected_when_any_was_rejected(
    make_model, lender, owners, outsider, chain_time, w3
):
    """The rejections are what the hidden transcript would have had to justify: their owners
    share the forfeit, the dust to the last; a sock puppet rejected to catch a share burns its
    deposit."""
    bounty = 10**18 + 1
    model_id = make_model(bounty=bounty, stale_reward=bounty // 10)
    accepted = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    first = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    second = owners[2].submit_update(model_id, CID_A, digest(3), 10)
    lender.evaluate_update(accepted, True, 610_000, CID_B)  # 10 %
    lender.evaluate_update(first, False, 0)
    lender.evaluate_update(second, False, 0)
    lender.close_model(model_id)
    pool = bounty - bounty // 10
    _past_reveal_deadline(lender, model_id, chain_time)
    with reverts("NotRejected"):
        outsider.claim_forfeit(accepted)
    assert [outsider.claim_forfeit(u) for u in (second, first)] == [pool // 2, pool - pool // 2]
    forfeited = [e.args for e in lender.events() if e.name == "BountyForfeited"]
    assert forfeited == [{"modelId": model_id, "pool": pool, "shares": 2}]
    e = assert_escrow(lender, model_id)
    assert e["paid"] == bounty and e["deposits_forfeited"] == 2 * DEPOSIT
    assert_solvent(lender, w3, [c.client.address for c in (lender, *owners, outsider)])


def test_forfeit_needs_a_closed_finalised_model(make_model, lender, owners, outsider, chain_time):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    _past_reveal_deadline(lender, model_id, chain_time)
    with reverts("ModelStillOpen"):
        outsider.claim_forfeit(uid)
    outsider.close_model(model_id)  # anyone, past the deadline
    with reverts("SubmissionsWaiting"):
        outsider.claim_forfeit(uid)
    assert outsider.settle_stale(uid) == STALE  # the stalled one is settled first
    assert outsider.claim_forfeit(uid) == BOUNTY - STALE
    assert lender.pending(owners[0].client.address) == BOUNTY + DEPOSIT


def test_nothing_to_forfeit(make_model, lender, owners, outsider, chain_time):
    model_id = make_model(mechanism=Mechanism.EQUAL)
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, True, 650_000, CID_B)
    lender.close_model(model_id)  # the pool takes what remains
    _past_reveal_deadline(lender, model_id, chain_time)
    with reverts("NothingToForfeit") as info:
        outsider.claim_forfeit(uid)
    assert info.value.error_args == (model_id,)
    assert outsider.claim_share(uid) == BOUNTY  # shares stay claimable
    assert not lender.model(model_id).forfeited


@pytest.mark.parametrize("mechanism", [Mechanism.EQUAL, Mechanism.PRO_RATA_GAIN])
def test_share_models_without_paid_submissions_forfeit(
    make_model, lender, owners, outsider, chain_time, mechanism
):
    model_id = make_model(mechanism=mechanism)
    ids = [owners[i].submit_update(model_id, CID_A, digest(i), 10) for i in range(2)]
    lender.evaluate_update(ids[0], True, 600_000, CID_B)  # accepted, no gain: unpaid
    lender.evaluate_update(ids[1], False, 0)
    lender.close_model(model_id)
    _past_reveal_deadline(lender, model_id, chain_time)
    with reverts("NotPaid"):
        outsider.claim_share(ids[0])
    with reverts("NotRejected"):
        outsider.claim_forfeit(ids[0])
    assert outsider.claim_forfeit(ids[1]) == BOUNTY  # the one rejection takes it all
    assert_escrow(lender, model_id)
