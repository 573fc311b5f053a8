"""What an owner sees of a lender before sharing: the model's audit terms, the lender's track
record with audit verdicts, the audit page, and a forfeited bounty to claim."""

from __future__ import annotations

import re

from hessian_common.chain.repository import Reason
from tests.owner.world import OTHER, as_owner


def _text(resp) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", resp.get_data(as_text=True)))


def test_terms_and_track_record_before_sharing(client, lender, owner_repo, owner_store):
    page = _text(client.get(f"/models/{lender.model_id}"))
    assert "Paid only for a gain of" in page and "If the lender stalls" in page
    assert "Acceptance rule" in page and "anyone re-runs it in the audit" in page
    assert "reveal its test set and decryption transcript by" in page
    assert "No earlier model by this lender" in page
    record = _text(client.get(f"/models/lenders/{lender.repo.client.address}"))
    assert f"#{lender.model_id}" in record and "open" in record
    assert client.get("/models/lenders/not-an-address").status_code == 404


def test_a_lender_that_hides_its_evaluations_is_named_and_forfeits(
    client, app, lender, owner_repo, owner_store, chain_repo, owner_split
):
    """The lender evaluates, closes and never reveals: after the reveal deadline its record says
    so, and the owner claims an equal share of what remained of the bounty."""
    from hessian_common import owner
    from tests.fixtures.chain import ChainTime

    svc = app.extensions["owner"]
    entry = owner.share(
        svc.journal, owner_store, owner_repo, model=lender.model_id,
        path=owner_split / "owner_02.csv", account=svc.account,
    )  # fmt: skip
    lender.reject(entry.update_id, Reason.MANUAL)
    lender.repo.close_model(lender.model_id)
    info = lender.repo.model(lender.model_id)
    time = ChainTime(chain_repo.client.w3)
    time.advance(info.reveal_deadline - time.now() + 1)
    record = _text(client.get(f"/models/lenders/{lender.repo.client.address}"))
    assert "hid its evaluations" in record
    overview = _text(client.get("/"))
    assert "Forfeited bounties to claim" in overview
    before = owner_repo.pending()
    r = client.post(f"/claim-forfeit/{entry.update_id}")  # CSRF is off in these tests
    assert r.status_code == 302
    assert owner_repo.pending() - before == info.remaining  # the only submission: all of it
    other = as_owner(chain_repo, OTHER)
    assert other.pending() == 0
