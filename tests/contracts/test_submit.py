"""submitUpdate: deposit, replay rejection, deadline, every revert path."""

from __future__ import annotations

from hessian_common.chain.repository import SubmissionStatus
from tests.contracts.conftest import CID_A, CID_B, DAY, DEPOSIT, digest, reverts


def test_submit_records_submission_and_takes_deposit(make_model, owners, w3, chain_time):
    model_id = make_model()
    owner = owners[0]
    contract_before = w3.eth.get_balance(owner.address)
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
    assert abs(s.submitted_at - chain_time.now()) <= 1
    m = owner.model(model_id)
    assert (m.submission_count, m.waiting_count) == (1, 1)
    assert owner.escrow(model_id)["deposits_held"] == DEPOSIT
    assert owner.digest_used(model_id, digest(1)) == update_id
    assert owner.digest_used(model_id, digest(2)) == 0


def test_replay_of_a_digest_is_rejected_new_digest_accepted(make_model, owners):
    model_id = make_model()
    first = owners[0].submit_update(model_id, CID_A, digest(7), 100)
    with reverts("DigestAlreadySubmitted") as info:
        owners[0].submit_update(model_id, CID_B, digest(7), 100)
    assert info.value.error_args == (model_id, digest(7), first)
    with reverts("DigestAlreadySubmitted"):  # another owner replaying it too
        owners[1].submit_update(model_id, CID_B, digest(7), 100)
    # same owner, different data later: fine
    assert owners[0].submit_update(model_id, CID_B, digest(8), 100) == first + 1
    # the same digest on another model: fine
    other = make_model()
    assert owners[0].submit_update(other, CID_A, digest(7), 100) == first + 2
    assert owners[0].model(model_id).submission_count == 2


def test_submit_wrong_deposit(make_model, owners):
    model_id = make_model()
    fn = owners[0].fn.submitUpdate(model_id, CID_A, digest(1), 10)
    for value in (0, DEPOSIT - 1, DEPOSIT + 1):
        with reverts("WrongDeposit") as info:
            owners[0].client.transact(fn, value=value)
        assert info.value.error_args == (value, DEPOSIT)
    assert owners[0].submission_count() == 0


def test_submit_without_deposit_model(make_model, owners):
    model_id = make_model(submission_deposit=0)
    assert owners[0].submit_update(model_id, CID_A, digest(1), 10) == 1


def test_submit_validation(make_model, owners):
    model_id = make_model()
    with reverts("EmptyCid"):
        owners[0].submit_update(model_id, "", digest(1), 10)
    with reverts("ZeroRows"):
        owners[0].submit_update(model_id, CID_A, digest(1), 0)
    with reverts("UnknownModel"):
        owners[0].client.transact(owners[0].fn.submitUpdate(99, CID_A, digest(1), 10))
    assert owners[0].submission_count() == 0


def test_submit_after_deadline_or_close(make_model, owners, lender, chain_time):
    late = make_model(deadline=chain_time.now() + 100)
    chain_time.advance(101)
    with reverts("DeadlinePassed"):
        owners[0].submit_update(late, CID_A, digest(1), 10)
    closed = make_model(deadline=chain_time.now() + DAY)
    lender.close_model(closed)
    with reverts("ModelNotOpen"):
        owners[0].submit_update(closed, CID_A, digest(1), 10)
