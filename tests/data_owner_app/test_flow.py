"""The whole owner path in the app, on a real chain and store:

upload -> check -> preview -> train (background job) -> submit -> the lender evaluates through
the library -> reward owed -> withdraw, with balances checked at every step.
"""

from __future__ import annotations

import csv
import io
import random
import re

from hessian_common.journal import State
from tests.data_owner_app.helpers import token_of, train_and_submit, upload, upload_file


def test_pages_show_the_open_model(client, lender):
    home = client.get("/").get_data(as_text=True)
    assert "Prime personal loans 2026" in home
    assert "5.00 ETH" in home  # bounty left
    models = client.get("/models/").get_data(as_text=True)
    for text in ("AUC", "improvement", "0.01 ETH", "Share data", "newton"):
        assert text in models
    detail = client.get(f"/models/{lender.model_id}").get_data(as_text=True)
    assert "lending_club" in detail and "0 accepted" in detail
    assert "never leave this machine" in detail


def test_upload_train_submit_evaluate_withdraw(app, client, lender, owner_repo, owner_split):
    owner = owner_repo.client.address
    balance0 = owner_repo.client.balance(owner)
    mid = lender.model_id

    # 1. upload -> preview
    token = token_of(upload_file(client, mid, owner_split / "owner_02.csv"))
    preview = client.get(f"/share/{token}").get_data(as_text=True)
    assert "Usable loans" in preview and "Excluded rows by reason" in preview
    assert "Current" in preview  # unresolved loans listed by reason
    assert "never leave this machine" in preview
    assert "Cannot submit" not in preview
    assert owner_repo.model(mid).submission_count == 0  # checking sends nothing

    # 2. train + submit in the background
    job = train_and_submit(client, app, token)
    assert job.state == "done", job.error
    info = owner_repo.model(mid)
    assert info.submission_count == 1 and info.waiting_count == 1
    entry = app.extensions["owner"].journal.get(job.result)
    assert entry.state is State.PUBLISHED and entry.update_id == 1
    sub = owner_repo.submission(1)
    assert sub.owner == owner and sub.rows == entry.rows
    assert sub.update_cid == entry.cid
    assert "0x" + sub.dataset_digest.hex() == entry.digest
    # the deposit left the wallet (plus gas)
    assert owner_repo.client.balance(owner) <= balance0 - info.submission_deposit
    # the upload is gone from the owner's state dir once the update is computed
    assert list((app.extensions["owner"].uploads_dir).glob("*")) == []

    page = client.get("/submissions/").get_data(as_text=True)
    assert "Waiting for evaluation" in page
    assert entry.cid in page and entry.tx_hash in page

    # 3. the lender evaluates through the library
    accepted, new_score = lender.evaluate(1)
    assert accepted and new_score > 0
    owed = owner_repo.pending(owner)
    reward = owner_repo.submission(1).reward
    assert reward > 0 and owed == reward + info.submission_deposit

    page = client.get("/submissions/").get_data(as_text=True)
    assert "Accepted" in page
    assert f"{(owner_repo.submission(1).new_score - info.initial_score) / 1e6:+.4f}" in page
    home = client.get("/").get_data(as_text=True)
    assert "Withdraw" in home

    # 4. withdraw: the wallet grows by what was owed, minus gas
    before = owner_repo.client.balance(owner)
    r = client.post("/withdraw")
    assert r.status_code == 302
    assert owner_repo.pending(owner) == 0
    after = owner_repo.client.balance(owner)
    gas_cap = 10**16
    assert before + owed - gas_cap < after <= before + owed
    assert "Withdrew" in client.get("/").get_data(as_text=True)
    # nothing left: a second withdraw is refused with a message, not a traceback
    r = client.post("/withdraw", follow_redirects=True)
    assert r.status_code == 400 and "owes" in r.get_data(as_text=True)


def test_replay_is_refused_and_new_data_allowed(app, client, lender, owner_split, owner_repo):
    mid = lender.model_id
    path = owner_split / "owner_03.csv"
    job = train_and_submit(client, app, token_of(upload_file(client, mid, path)))
    assert job.state == "done", job.error

    # the same file again: a hard stop, explained, with the button disabled
    token = token_of(upload_file(client, mid, path))
    preview = client.get(f"/share/{token}").get_data(as_text=True)
    assert "Cannot submit" in preview and "already submitted" in preview
    assert "refuses the same data twice" in preview
    assert 'type="submit" value="Train and submit" disabled' in preview or "disabled" in preview
    r = client.post(f"/share/{token}/submit", data={"confirm": "y"}, follow_redirects=True)
    assert "already submitted" in r.get_data(as_text=True)
    assert owner_repo.model(mid).submission_count == 1

    # the same rows shuffled are the same data set (digest independent of row order)
    records = list(csv.reader(io.StringIO(path.read_text())))
    header, body = records[1], [r for r in records[2:] if len(r) == len(records[1])]
    random.Random(3).shuffle(body)
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL).writerows([header, *body])
    shuffled = out.getvalue().encode()
    token = token_of(upload(client, mid, shuffled, "shuffled.csv"))
    assert "Cannot submit" in client.get(f"/share/{token}").get_data(as_text=True)

    # different data later is fine
    other = owner_split / "owner_01.csv"
    job = train_and_submit(client, app, token_of(upload_file(client, mid, other)))
    assert job.state == "done", job.error
    assert owner_repo.model(mid).submission_count == 2


def test_local_path_is_read_in_place(app, client, lender, owner_split):
    path = owner_split / "owner_04.csv"
    r = client.post(f"/models/{lender.model_id}/share", data={"path": str(path)})
    token = token_of(r)
    assert "owner_04.csv" in client.get(f"/share/{token}").get_data(as_text=True)
    job = train_and_submit(client, app, token)
    assert job.state == "done", job.error
    assert path.exists()  # never deleted: it is the owner's own file


def test_rejected_update_shows_no_reward(app, client, lender, owner_repo, owner_split):
    """owner_01's loans with every outcome swapped (Fully Paid <-> Charged Off) pull the
    model the wrong way: the lender rejects the update."""
    text = (owner_split / "owner_01.csv").read_text(encoding="utf-8")
    flipped = (
        text.replace('"Fully Paid"', '"@"')
        .replace('"Charged Off"', '"Fully Paid"')
        .replace('"@"', '"Charged Off"')
    )
    assert flipped != text
    job = train_and_submit(
        client, app, token_of(upload(client, lender.model_id, flipped.encode(), "flipped.csv"))
    )
    assert job.state == "done", job.error
    accepted, _ = lender.evaluate(1)
    assert not accepted
    page = client.get("/submissions/").get_data(as_text=True)
    assert "Rejected" in page
    assert owner_repo.pending(owner_repo.client.address) == 0  # deposit forfeited, no reward


def test_with_the_lender_library(
    app, client, chain_repo, owner_store, owner_repo, owner_split, tmp_path
):
    """The lender side through ``hessian_common.tasks`` (what the company app runs):
    create_task -> the owner shares through the app -> evaluate_submission -> rewards."""
    import time

    from hessian_common.chain import dev_account
    from hessian_common.tasks import Lender, LenderState, TaskParams

    lender = Lender(
        chain_repo.as_account(chain_repo.client.with_account(dev_account(0))),
        owner_store,
        LenderState(tmp_path / "company"),
        passphrase="hessian-local-demo",
        key_source="dev account",
    )
    record = lender.create_task(
        TaskParams(
            name="Library-made task",
            bounty_wei=2 * 10**18,
            metric="auc",
            target=0.95,
            mechanism="improvement",
            deadline=int(time.time()) + 86400,
            evaluation_window=3600,
            deposit_wei=10**15,
            key_size=512,
            update_rule="newton",
            data_path=owner_split / "lender_seed.csv",
            holdout_fraction=0.5,
        )
    )
    assert "Library-made task" in client.get("/models/").get_data(as_text=True)
    token = token_of(upload_file(client, record.model_id, owner_split / "owner_02.csv"))
    job = train_and_submit(client, app, token)
    assert job.state == "done", job.error
    entry = app.extensions["owner"].journal.get(job.result)
    me = owner_repo.client.address
    result = lender.evaluate_submission(entry.update_id)
    sub = owner_repo.submission(entry.update_id)
    page = client.get("/submissions/").get_data(as_text=True)
    if result.accepted:
        assert "Accepted" in page
        assert owner_repo.pending(me) == sub.reward + 10**15
    else:
        assert "Rejected" in page and owner_repo.pending(me) == 0


def test_equal_share_is_claimed_after_close(
    app, client, chain_repo, owner_store, owner_repo, owner_split
):
    """EQUAL mechanism: nothing is paid at evaluation; after close the share is claimed, then
    withdrawn."""
    from hessian_common.chain import Mechanism
    from tests.owner.world import open_model

    lender = open_model(
        chain_repo,
        owner_store,
        owner_split,
        name="Equal shares",
        mechanism=Mechanism.EQUAL,
        target=0.99,  # stays open after the update, so the lender closes it
    )
    token = token_of(upload_file(client, lender.model_id, owner_split / "owner_02.csv"))
    job = train_and_submit(client, app, token)
    assert job.state == "done", job.error
    uid = app.extensions["owner"].journal.get(job.result).update_id
    accepted, _ = lender.evaluate(uid)
    assert accepted
    me = owner_repo.client.address
    deposit_back = owner_repo.pending(me)
    assert owner_repo.submission(uid).reward == 0
    lender.repo.close_model(lender.model_id)
    share = owner_repo.share_of(uid)
    assert share > 0
    home = client.get("/").get_data(as_text=True)
    assert "Shares to claim" in home and f"/claim/{uid}" in home
    r = client.post(f"/claim/{uid}", follow_redirects=True)
    assert r.status_code == 200 and "Claimed" in r.get_data(as_text=True)
    assert owner_repo.pending(me) == deposit_back + share
    assert client.post("/withdraw").status_code == 302
    assert owner_repo.pending(me) == 0


def test_transaction_and_cid_links(app, client, lender, owner_split):
    job = train_and_submit(
        client, app, token_of(upload_file(client, lender.model_id, owner_split / "owner_02.csv"))
    )
    entry = app.extensions["owner"].journal.get(job.result)
    page = client.get("/submissions/").get_data(as_text=True)
    assert f"/submissions/tx/{entry.tx_hash}" in page and f"/submissions/cid/{entry.cid}" in page
    tx = client.get(f"/submissions/tx/{entry.tx_hash}").get_data(as_text=True)
    assert "success" in tx and "Gas used" in tx
    blob = client.get(f"/submissions/cid/{entry.cid}").get_data(as_text=True)
    assert "verified against the CID" in blob and f"{entry.rows}" in blob
    assert entry.digest in blob
    assert client.get("/submissions/cid/bafkreinotmine").status_code == 404
    assert client.get("/submissions/tx/0x" + "ab" * 32).status_code == 404
    assert client.get("/submissions/tx/nothex").status_code == 404


def test_a_closed_task_keeps_its_name_shows_no_time_left_and_offers_no_upload(
    app, client, lender, owner_split
):
    job = train_and_submit(
        client, app, token_of(upload_file(client, lender.model_id, owner_split / "owner_03.csv"))
    )
    assert job.state == "done", job.error
    lender.repo.close_model(lender.model_id)
    mid = lender.model_id
    name = "Prime personal loans 2026"

    home = client.get("/").get_data(as_text=True)
    latest = home.split("Latest submissions", 1)[1]
    assert name in latest and f"Model {mid}<" not in latest  # named, not "Model 1"
    subs = client.get("/submissions/").get_data(as_text=True)
    assert name in subs and f">Model {mid}<" not in subs
    detail = client.get(f"/models/{mid}").get_data(as_text=True)
    assert "closed" in detail and not re.search(r"\d+ (d|h|min) \d* ?\w* ?left", detail)
    assert 'small-value">closed<' in detail  # the deadline card says closed, no time left
    listed = client.get("/models/?all=1").get_data(as_text=True)
    row = listed.split(name, 1)[1].split("</tr>", 1)[0]
    assert not re.search(r"\d+ (d|h|min).*left", row) and "closed" in row
    share = client.get(f"/models/{mid}/share")
    page = share.get_data(as_text=True)
    assert share.status_code == 200 and 'id="closed"' in page
    assert "takes no more data" in page and 'type="file"' not in page
    r = upload_file(client, mid, owner_split / "owner_04.csv")
    assert r.status_code == 409 and 'type="file"' not in r.get_data(as_text=True)
    assert app.extensions["owner"].journal.entries(model_id=mid)[0].label == "owner_03.csv"
