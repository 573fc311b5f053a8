"""Read functions and the wrapper's view of models, submissions and events."""

from __future__ import annotations

from hessian_common.chain.repository import Mechanism, SubmissionStatus
from tests.contracts.conftest import CID_A, CID_B, assert_escrow, digest, reverts


def test_listing_models_and_submissions(make_model, lender, owners):
    m1 = make_model()
    m2 = make_model(mechanism=Mechanism.EQUAL, spec_cid=CID_B)
    ids1 = [owners[i % 2].submit_update(m1, CID_A, digest(i), 10 + i) for i in range(3)]
    ids2 = [owners[2].submit_update(m2, CID_B, digest(i), 5) for i in range(2)]
    assert [m.model_id for m in lender.models()] == [m1, m2]
    assert lender.models()[1].spec_cid == CID_B
    assert lender.submission_ids(m1) == ids1
    assert lender.submission_ids(m2, page=1) == ids2  # paging
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


def test_events_for_a_worker(make_model, lender, owners):
    start = lender.client.w3.eth.block_number + 1
    model_id = make_model()
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, True, 700_000, CID_B)
    names = [e.name for e in lender.events(from_block=start)]
    assert names == [
        "ModelCreated",
        "UpdateSubmitted",
        "UpdateEvaluated",
        "ModelClosed",
        "ModelFinalized",
    ]
    last = lender.events(from_block=start)[-1]
    assert lender.events(from_block=last.block_number + 1) == []
    evaluated = lender.events(from_block=start)[2]
    assert evaluated.args["newModelCid"] == CID_B and evaluated.args["updateId"] == uid
    assert lender.model(model_id).model_cid == CID_B
