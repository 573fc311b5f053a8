"""The chain stops in the middle of a submission and comes back: the submission lands once.

A real Ganache (npm) with a persistent database directory, stopped and started again by its
PID (``restartable_ganache`` in tests/data_owner_app/conftest.py). The app talks to it by URL,
exactly as ``hessian owner --rpc URL`` does.
"""

from __future__ import annotations

import pytest

from data_owner_app import create_app
from hessian_common.chain import ChainClient, connect, dev_account
from hessian_common.config import load_settings
from hessian_common.journal import State
from hessian_common.store import EmbeddedStore
from tests.data_owner_app.helpers import token_of, train_and_submit, upload_file
from tests.owner.world import LENDER, as_owner, deploy, open_model, prepare

pytestmark = [pytest.mark.ganache, pytest.mark.slow]


@pytest.fixture
def ganache(restartable_ganache):
    """This module's own node (not the session's), to stop and start again."""
    return restartable_ganache


def test_chain_stopped_mid_submission_then_restarted(ganache, tmp_path, owner_split):
    store = EmbeddedStore(tmp_path / "store")
    repo = deploy(connect(ganache.url))
    lender = open_model(repo, store, owner_split)
    owner_view = as_owner(repo)
    app = create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "HESSIAN_SETTINGS": load_settings(home=tmp_path / "home", rpc_url=ganache.url),
            "OWNER_STATE_DIR": tmp_path / "owner",
            "OWNER_ACCOUNT": "dev:1",
            "OWNER_REPO_ADDRESS": repo.address,
            "OWNER_STORE": store,
            "OWNER_BACKOFF_BASE": 0.0,
            "HESSIAN_STATUS_TTL": 0.0,
        }
    )
    client = app.test_client()
    svc = app.extensions["owner"]
    try:
        # the owner checks a file while the chain is up
        token = token_of(upload_file(client, lender.model_id, owner_split / "owner_02.csv"))
        assert "Cannot submit" not in client.get(f"/share/{token}").get_data(as_text=True)

        ganache.stop()  # the node goes away before the owner presses the button
        preview = client.get(f"/share/{token}").get_data(as_text=True)
        assert "chain is unreachable" in preview

        job = train_and_submit(client, app, token)
        assert job.state == "done", job.error
        entry = svc.journal.get(job.result)
        assert entry.state is State.PREPARED and entry.waiting_on == "chain"
        assert not store.has(entry.cid)  # chain first: the blob stays private until then
        page = client.get("/submissions/").get_data(as_text=True)
        assert "Waiting for chain" in page and "Chain unreachable" in page

        # retry while still down: waits, counts the attempt
        r = client.post(f"/submissions/{entry.id}/retry", follow_redirects=True)
        assert "still waiting" in r.get_data(as_text=True)
        assert svc.journal.get(entry.id).attempts >= 2

        ganache.start()  # same database: the deployment and the model are still there
        r = client.post(f"/submissions/{entry.id}/retry", follow_redirects=True)
        assert "on chain as update #1" in r.get_data(as_text=True)
        assert svc.retry_once() == []  # nothing more to send

        chain = ChainClient(connect(ganache.url), dev_account(LENDER))
        live = owner_view.as_account(chain)
        info = live.model(lender.model_id)
        assert info.submission_count == 1
        entry = svc.journal.get(entry.id)
        assert entry.state is State.PUBLISHED and entry.update_id == 1
        assert live.submission(1).update_cid == entry.cid and store.has(entry.cid)
        assert "Waiting for evaluation" in client.get("/submissions/").get_data(as_text=True)
    finally:
        from hessian_common.web import jobs

        jobs(app).shutdown(wait=True)


def test_crash_after_mined_and_chain_restart_sends_nothing_twice(ganache, tmp_path, owner_split):
    """Mined, then both the app and the chain go down before the journal is updated."""
    from hessian_common import owner
    from hessian_common.journal import Journal, retry_pending

    store = EmbeddedStore(tmp_path / "store")
    repo = deploy(connect(ganache.url))
    lender = open_model(repo, store, owner_split)
    me = as_owner(repo)
    m = owner.get_model(me, store, lender.model_id)
    report = owner.validate_for_model(owner_split / "owner_02.csv", m.spec)
    current, base = owner.current_weights(store, m)
    blob = prepare(me, m, current, report.data, base)
    journal = Journal(tmp_path / "journal.sqlite", backoff_base=0.0)
    e = journal.add(
        model_id=m.model_id, owner=me.client.address, digest=report.digest, rows=report.rows,
        blob=blob.to_bytes(), deposit=m.deposit,
    )  # fmt: skip
    update_id = me.submit_update(m.model_id, e.cid, report.digest, report.rows)  # then "crash"
    ganache.stop()
    [e] = retry_pending(journal, store, lambda: connect(ganache.url, timeout=2))
    assert e.state is State.PREPARED and e.waiting_on == "chain"
    ganache.start()
    fresh = me.as_account(ChainClient(connect(ganache.url), dev_account(1)))
    [e] = retry_pending(journal, store, fresh)
    assert e.state is State.PUBLISHED and e.update_id == update_id
    assert fresh.model(m.model_id).submission_count == 1
