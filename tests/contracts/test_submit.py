"""submitUpdate: deposit, queue, stale reserve, per-owner replay record, rows bound, deadline,
every revert path."""

from __future__ import annotations

from hessian_common.chain.repository import ModelStatus, SubmissionStatus
from tests.contracts.helpers import (
    BOUNTY,
    CID_A,
    CID_B,
    DEPOSIT,
    STALE,
    assert_escrow,
    digest,
    reverts,
    transact_at,
)


def test_submit_records_submission_queue_and_reserve(make_model, owners, lender, w3):
    model_id = make_model()
    owner = owners[0]
    contract_before = w3.eth.get_balance(owner.address)
    assert owner.stale_reserve_now(model_id) == STALE
    update_id = owner.submit_update(model_id, CID_B, digest(1), 1_234)
    assert update_id == 1
    assert w3.eth.get_balance(owner.address) == contract_before + DEPOSIT
    s = owner.submission(update_id)
    assert (s.model_id, s.owner, s.update_cid, s.dataset_digest, s.rows) == (
        model_id,
        owner.client.address,
        CID_B,
        digest(1),
        1_234,
    )
    assert s.status == SubmissionStatus.WAITING and s.reward == 0 and s.new_model_cid is None
    assert s.stale_reserve == STALE and s.reason is None and not s.stale and not s.claimed
    assert s.submitted_at == owner.client.block_timestamp()
    m = owner.model(model_id)
    assert (m.submission_count, m.waiting_count, m.next_in_queue) == (1, 1, update_id)
    assert (m.reserved, m.remaining) == (STALE, BOUNTY)
    assert owner.escrow(model_id)["deposits_held"] == DEPOSIT
    assert owner.digest_used(model_id, digest(1)) == update_id
    assert owner.digest_used(model_id, digest(2)) == 0
    assert lender.digest_used(model_id, digest(1)) == 0  # recorded for its owner only
    assert lender.digest_used(model_id, digest(1), owner=owner.client.address) == update_id
    event = next(e for e in owner.events() if e.name == "UpdateSubmitted")
    assert event.args == {
        "modelId": model_id,
        "updateId": update_id,
        "owner": owner.client.address,
        "updateCid": CID_B,
        "datasetDigest": digest(1),
        "rows": 1_234,
        "staleReserve": STALE,
    }
    # a second submission joins the tail; the head stays
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    assert lender.next_in_queue(model_id) == update_id
    assert lender.model(model_id).reserved == 2 * STALE
    assert_escrow(lender, model_id)
    assert u2 == 2


def test_reserves_are_taken_while_the_bounty_lasts(make_model, owners, lender):
    """Each submission reserves ``min(staleReward, remaining - reserved)``."""
    model_id = make_model(stale_reward=BOUNTY * 2 // 5)
    expected = [BOUNTY * 2 // 5, BOUNTY * 2 // 5, BOUNTY // 5, 0]
    for i, reserve in enumerate(expected):
        assert lender.stale_reserve_now(model_id) == reserve
        uid = owners[i].submit_update(model_id, CID_A, digest(i + 1), 10)
        assert lender.submission(uid).stale_reserve == reserve
    m = lender.model(model_id)
    assert m.reserved == m.remaining == BOUNTY
    assert lender.stale_reserve_now(model_id) == 0
    assert_escrow(lender, model_id)


def test_stale_reserve_now_is_zero_once_closed(make_model, owners, lender):
    model_id = make_model()
    lender.close_model(model_id)
    assert lender.stale_reserve_now(model_id) == 0


def test_replay_is_per_owner(make_model, owners):
    model_id = make_model()
    first = owners[0].submit_update(model_id, CID_A, digest(7), 100)
    with reverts("DigestAlreadySubmitted") as info:
        owners[0].submit_update(model_id, CID_B, digest(7), 100)
    assert info.value.error_args == (model_id, digest(7), first)
    # another owner may send the same digest: the record is per (model, owner, digest)
    second = owners[1].submit_update(model_id, CID_B, digest(7), 100)
    assert owners[1].digest_used(model_id, digest(7)) == second
    assert owners[0].digest_used(model_id, digest(7)) == first
    # same owner, different data later: fine
    assert owners[0].submit_update(model_id, CID_B, digest(8), 100) == second + 1
    # the same digest on another model: fine
    other = make_model()
    assert owners[0].submit_update(other, CID_A, digest(7), 100) == second + 2
    assert owners[0].model(model_id).submission_count == 3


def test_submit_wrong_deposit(make_model, owners, w3):
    model_id = make_model()
    fn = owners[0].fn.submitUpdate(model_id, CID_A, digest(1), 10, 0)
    for value in (0, DEPOSIT - 1, DEPOSIT + 1):
        with reverts("WrongDeposit") as info:
            owners[0].client.transact(fn, value=value)
        assert info.value.error_args == (value, DEPOSIT)
    assert owners[0].submission_count() == 0
    assert w3.eth.get_balance(owners[0].address) == BOUNTY


def test_submit_without_deposit_model(make_model, owners):
    model_id = make_model(submission_deposit=0)
    assert owners[0].submit_update(model_id, CID_A, digest(1), 10) == 1
    with reverts("WrongDeposit"):
        owners[0].client.transact(owners[0].fn.submitUpdate(model_id, CID_A, digest(2), 1, 0), 1)


def test_submit_validation(make_model, owners):
    model_id = make_model()
    with reverts("EmptyCid"):
        owners[0].submit_update(model_id, "", digest(1), 10)
    with reverts("UnknownModel"):
        owners[0].client.transact(owners[0].fn.submitUpdate(99, CID_A, digest(1), 10, 0))
    with reverts("UnknownModel"):
        owners[0].client.transact(owners[0].fn.submitUpdate(0, CID_A, digest(1), 10, 0))
    assert owners[0].submission_count() == 0
    assert owners[0].digest_used(model_id, digest(1)) == 0


def test_rows_must_be_within_one_and_max_rows(make_model, owners):
    model_id = make_model(max_rows=500)
    with reverts("InvalidRows") as info:
        owners[0].submit_update(model_id, CID_A, digest(1), 0)
    assert info.value.error_args == (0, 500)
    with reverts("InvalidRows") as info:
        owners[0].submit_update(model_id, CID_A, digest(1), 501)
    assert info.value.error_args == (501, 500)
    assert owners[0].submission_count() == 0
    assert owners[0].submit_update(model_id, CID_A, digest(1), 500) == 1
    assert owners[0].submit_update(model_id, CID_A, digest(2), 1) == 2


def test_submit_until_the_deadline_second(make_model, owners, chain_time):
    deadline = chain_time.now() + 1_000
    model_id = make_model(deadline=deadline)
    owner = owners[0]
    fn = owner.fn.submitUpdate(model_id, CID_A, digest(1), 10, 0)
    transact_at(owner, fn, deadline, value=DEPOSIT)  # at the deadline: still taken
    assert owner.submission(1).submitted_at == deadline
    fn = owner.fn.submitUpdate(model_id, CID_A, digest(2), 10, 0)
    with reverts("DeadlinePassed") as info:
        transact_at(owner, fn, deadline + 1, value=DEPOSIT)
    assert info.value.error_args == (model_id, deadline, deadline + 1)
    m = owner.model(model_id)
    assert m.status == ModelStatus.OPEN and m.submission_count == 1


def test_submit_after_close(make_model, owners, lender):
    closed = make_model()
    lender.close_model(closed)
    with reverts("ModelNotOpen") as info:
        owners[0].submit_update(closed, CID_A, digest(1), 10)
    assert info.value.error_args == (closed,)
