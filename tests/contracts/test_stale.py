"""settleStale: the evaluation window to the second, queue order, the reserve fixed at
submission (paid whatever the mechanism, never a pool share), finalisation."""

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
    assert_solvent,
    digest,
    reverts,
    transact_at,
)


def test_stale_from_the_second_after_the_window(make_model, owners, outsider, chain_time):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    submitted = owners[0].submission(uid).submitted_at
    with reverts("NotStale"):
        outsider.settle_stale(uid)
    with reverts("NotStale") as info:  # mined at the window's last second: not stale yet
        transact_at(outsider, outsider.fn.settleStale(uid), submitted + WINDOW)
    assert info.value.error_args == (uid, submitted + WINDOW, submitted + WINDOW)
    transact_at(outsider, outsider.fn.settleStale(uid), submitted + WINDOW + 1)
    assert outsider.submission(uid).stale and outsider.submission(uid).reward == STALE
    assert_escrow(outsider, model_id)


def test_is_stale_view_at_the_boundary(make_model, owners, outsider, chain_time):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    submitted = owners[0].submission(uid).submitted_at
    assert not outsider.is_stale(uid)
    chain_time.advance(submitted + WINDOW - chain_time.now())  # views run at the latest block
    assert chain_time.now() == submitted + WINDOW and not outsider.is_stale(uid)
    chain_time.advance(1)
    assert outsider.is_stale(uid)
    outsider.settle_stale(uid)
    assert not outsider.is_stale(uid)
    with reverts("UnknownSubmission"):
        outsider.is_stale(99)


def test_settlement_pays_the_reserve_and_refunds_the_deposit(
    make_model, lender, owners, outsider, chain_time, w3
):
    model_id = make_model()
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    chain_time.advance(WINDOW + 1)
    assert outsider.settle_stale(u1) == STALE
    s = lender.submission(u1)
    assert s.status == SubmissionStatus.ACCEPTED and s.stale and s.reward == STALE
    assert s.reason is None and s.new_model_cid is None and s.gain == 0
    assert lender.pending(owners[0].client.address) == STALE + DEPOSIT
    assert lender.pending(outsider.client.address) == 0  # the settler earns nothing
    m = lender.model(model_id)
    assert (m.remaining, m.reserved, m.accepted_count, m.paid_count) == (BOUNTY - STALE, 0, 1, 0)
    assert (m.accepted_rows, m.waiting_count, m.next_in_queue) == (10, 0, 0)
    event = next(e for e in lender.events() if e.name == "StaleSettled")
    assert event.args == {
        "modelId": model_id,
        "updateId": u1,
        "owner": owners[0].client.address,
        "settler": outsider.client.address,
        "reward": STALE,
    }
    with reverts("NotWaiting"):
        outsider.settle_stale(u1)
    with reverts("NotWaiting"):
        lender.evaluate_update(u1, True, 650_000, CID_B)
    with reverts("UnknownSubmission"):
        outsider.settle_stale(99)
    assert_solvent(lender, w3, [c.client.address for c in (lender, *owners, outsider)])


def test_stale_settlement_follows_the_queue(make_model, owners, outsider, chain_time):
    model_id = make_model()
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    chain_time.advance(WINDOW + 1)
    assert outsider.is_stale(u2)  # stale, but not next
    with reverts("OutOfOrder") as info:
        outsider.settle_stale(u2)
    assert info.value.error_args == (u2, u1)
    outsider.settle_stale(u1)
    assert outsider.settle_stale(u2) == STALE


def test_a_closed_model_finalises_when_the_last_is_settled(
    make_model, lender, owners, outsider, chain_time
):
    model_id = make_model()
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    chain_time.advance(WINDOW + 1)
    lender.close_model(model_id)
    with reverts("SubmissionsWaiting"):
        lender.reclaim(model_id)
    outsider.settle_stale(u1)
    assert not lender.model(model_id).finalized
    outsider.settle_stale(u2)
    m = lender.model(model_id)
    assert m.finalized and m.remaining == BOUNTY - 2 * STALE
    assert [e.name for e in lender.events()][-1] == "ModelFinalized"
    assert_escrow(lender, model_id)


def test_lender_may_still_evaluate_a_stale_submission(make_model, lender, owners, chain_time):
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    chain_time.advance(WINDOW + 100)
    assert lender.is_stale(uid)
    lender.evaluate_update(uid, True, 610_000, CID_B)  # pays 10 %: nobody settled it first
    assert lender.submission(uid).reward == BOUNTY // 10
    assert not lender.submission(uid).stale and not lender.is_stale(uid)
    assert lender.model(model_id).reserved == 0


def test_a_settled_reserve_is_all_a_submission_gets(make_model, lender, owners, chain_time):
    """The reserve was fixed at submission: a bounty later paid out elsewhere does not take
    it, and a larger bounty left does not raise it."""
    model_id = make_model(stale_reward=BOUNTY // 4)
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    lender.evaluate_update(u1, True, 800_000, CID_B)  # asks everything; u2's reserve is kept
    assert lender.submission(u1).reward == BOUNTY - BOUNTY // 4
    chain_time.advance(WINDOW + 1)
    assert owners[1].settle_stale(u2) == BOUNTY // 4
    assert lender.model(model_id).remaining == 0
    assert_escrow(lender, model_id)


@pytest.mark.parametrize("mechanism", [Mechanism.EQUAL, Mechanism.PRO_RATA_GAIN])
def test_stale_takes_no_share_of_the_pool(
    make_model, lender, owners, outsider, chain_time, mechanism
):
    model_id = make_model(mechanism=mechanism)
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    lender.evaluate_update(u1, True, 650_000, CID_B)
    chain_time.advance(WINDOW + 1)
    assert outsider.settle_stale(u2) == STALE  # its reserve, now, whatever the mechanism
    lender.close_model(model_id)
    assert lender.model(model_id).pool == BOUNTY - STALE
    with reverts("NotPaid"):
        outsider.claim_share(u2)
    assert outsider.claim_share(u1) == BOUNTY - STALE
    assert lender.pending(owners[1].client.address) == STALE + DEPOSIT
    assert_escrow(lender, model_id)
