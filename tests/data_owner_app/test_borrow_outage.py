"""The chain goes down while a borrower sends an application: nothing is sent, nothing is lost.

A real Ganache with a persistent database, stopped and started again by its PID
(``restartable_ganache``); the app talks to it by URL as ``hessian owner --rpc URL`` does, CSRF
on. The lender's model is trained, closed and deployed on that chain first.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from data_owner_app import create_app
from hessian_common.chain.client import ChainClient, connect, dev_account
from hessian_common.chain.deploy import deploy_loanbook, deploy_repository
from hessian_common.chain.loanbook import LoanBook, LoanStatus
from hessian_common.chain.repository import ModelRepository
from hessian_common.config import load_settings
from hessian_common.store import EmbeddedStore
from tests.data_owner_app.test_borrow import GOOD, text, token
from tests.fixtures.lending import closed_lending_model

pytestmark = [pytest.mark.ganache, pytest.mark.slow]


def test_chain_down_keeps_the_answers_then_sends_once(restartable_ganache, tmp_path):
    from hessian_common.data.generator import generate_split
    from hessian_common.lending.application import parse_application
    from hessian_common.lending.desk import LendingDesk
    from hessian_common.tasks import Lender, LenderState

    node = restartable_ganache
    generate_split(tmp_path / "data", 3000, 1, 11, seed_fraction=0.5, holdout_fraction=0.05)
    client = ChainClient(connect(node.url), dev_account(0))
    repo = ModelRepository(client, deploy_repository(client, record=False))
    book = LoanBook(client, deploy_loanbook(client, repo.address, record=False))
    store = EmbeddedStore(tmp_path / "store")
    lender = Lender(repo, store, LenderState(tmp_path / "company"), "outage-passphrase")
    model_id = closed_lending_model(
        lender,
        tmp_path / "data" / "lender_seed.csv",
        name="Outage test model",
        desk=LendingDesk(lender, book),
    )
    app = create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": True,
            "HESSIAN_SETTINGS": load_settings(home=tmp_path / "home", rpc_url=node.url),
            "OWNER_STATE_DIR": tmp_path / "owner",
            "OWNER_ACCOUNT": "dev:1",
            "OWNER_REPO_ADDRESS": repo.address,
            "OWNER_LOANBOOK_ADDRESS": book.address,
            "OWNER_STORE": store,
            "HESSIAN_STATUS_TTL": 0.0,
        }
    )
    web = app.test_client()
    url = f"/borrow/apply/{model_id}"
    draft = app.extensions["owner"].borrow_dir / "drafts" / f"model-{model_id}.json"
    answers = {**GOOD, "loan_amnt": "7700", "annual_inc": "87654"}
    try:
        csrf = token(web, url)  # the borrower opens the form while the chain is up
        node.stop()  # ... and the node goes away before they press the button

        r = web.post(url, data={"csrf_token": csrf, **answers})
        assert r.status_code == 503
        t = text(r)
        assert "The chain is unreachable" in t and node.url in t
        assert "Nothing was sent. Your answers are kept on this machine" in t
        assert draft.stat().st_mode & 0o777 == 0o600
        kept = json.loads(draft.read_text())
        assert kept["values"]["annual_inc"] == "87654" and kept["created_at"]

        node.start()  # same database: the contracts and the deployed model are still there
        assert book.loan_count() == 0  # nothing reached the chain
        page = web.get(url)
        assert page.status_code == 200
        assert "Filled in with your answers not yet sent" in text(page)
        body = page.get_data(as_text=True)
        assert 'value="87654"' in body and 'value="7700"' in body

        # the form as it came back, sent as is
        r = web.post(url, data={"csrf_token": token(web, url), **answers})
        assert r.status_code == 302, text(r)[-1500:]
        assert not draft.exists()
        [loan] = book.loans()
        assert loan.status is LoanStatus.APPLIED and loan.borrower == dev_account(1).address
        assert loan.amount == 7700 * 10**14
        # the very application that could not be sent: the same answers and time stamp
        sent = replace(
            parse_application(answers, created_at=kept["created_at"]), borrower=loan.borrower
        )
        assert bytes(loan.application_digest) == sent.digest()
        copy = app.extensions["owner"].borrow_dir / "applications" / f"{loan.loan_id}.json"
        assert copy.read_bytes() == sent.to_bytes()
        assert "not yet sent" not in text(web.get(url))
    finally:
        from hessian_common.web import jobs

        jobs(app).shutdown(wait=True)
