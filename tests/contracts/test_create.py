"""createModel: escrow, stored state, events, every revert path."""

from __future__ import annotations

import pytest

from hessian_common.chain.repository import Mechanism, Metric, ModelStatus, test_set_commitment
from tests.contracts.conftest import BOUNTY, CID_A, DAY, DEPOSIT, SALT, TEST_SET_CID, reverts


def test_create_escrows_bounty_and_records_state(lender, make_model, w3, chain_time):
    before = w3.eth.get_balance(lender.address)
    model_id = make_model(metric=Metric.ACCURACY, mechanism=Mechanism.PRO_RATA_ROWS)
    assert model_id == 1
    assert w3.eth.get_balance(lender.address) == before + BOUNTY
    m = lender.model(model_id)
    assert m.lender == lender.client.address
    assert m.spec_cid == CID_A and m.model_cid == CID_A
    assert (m.metric, m.mechanism, m.status) == (
        Metric.ACCURACY,
        Mechanism.PRO_RATA_ROWS,
        ModelStatus.OPEN,
    )
    assert (m.initial_score, m.target_score, m.current_score) == (600_000, 700_000, 600_000)
    assert m.bounty == m.remaining == BOUNTY
    assert m.submission_deposit == DEPOSIT and m.evaluation_window == 3_600
    assert m.test_set_commitment == test_set_commitment(TEST_SET_CID, SALT)
    assert not m.finalized and not m.revealed and m.test_set_cid is None
    assert lender.model_count() == 1 and make_model() == 2
    created = [e for e in lender.events() if e.name == "ModelCreated"]
    assert [e.args["modelId"] for e in created] == [1, 2]
    assert created[0].args["bounty"] == BOUNTY


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"spec_cid": ""}, "EmptyCid"),
        ({"target_score": 1_000_000, "initial_score": 999_999}, None),
        ({"initial_score": 700_000, "target_score": 700_000}, "InvalidScores"),
        ({"initial_score": 700_000, "target_score": 650_000}, "InvalidScores"),
        ({"evaluation_window": 0}, "ZeroEvaluationWindow"),
        ({"bounty": 0}, "ZeroBounty"),
    ],
)
def test_create_validation(make_model, lender, overrides, error):
    if error is None:
        assert make_model(**overrides) == 1
        return
    with reverts(error):
        make_model(**overrides)
    assert lender.model_count() == 0


def test_create_rejects_score_above_one_million(lender, chain_time):
    # the wrapper refuses before sending; the contract refuses too
    with pytest.raises(ValueError, match="ppm"):
        lender.create_model(
            CID_A,
            bounty=BOUNTY,
            initial_score=0,
            target_score=1_000_001,
            deadline=chain_time.now() + DAY,
            evaluation_window=60,
            test_set_commitment=b"\0" * 32,
        )
    fn = lender.fn.createModel(CID_A, 0, 0, 1_000_001, 0, chain_time.now() + DAY, 60, 0, b"\0" * 32)
    with reverts("ScoreOutOfRange"):
        lender.client.transact(fn, value=BOUNTY)


def test_create_rejects_past_and_huge_deadlines(make_model, chain_time, lender):
    with reverts("DeadlineInPast"):
        make_model(deadline=chain_time.now() - 1)
    with reverts("ValueTooLarge"):
        make_model(deadline=2**41)
    assert lender.model_count() == 0
