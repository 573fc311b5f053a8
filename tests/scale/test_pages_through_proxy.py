"""Every page of both apps through a provider-like proxy (issue 20): anvil behind
:class:`~hessian_common.chain.proxy.RpcProxy` with a small log range cap, a result cap, a rate
limit and random 429s; the apps build their own wrappers (event indexes in their homes) from
the RPC URL and the deployment records, with real data behind every page: an open task with
submissions from two owners (one evaluated), a closed task deployed for lending, applications
pending, decided and funded. Each page answers 200 with its content and no outage banner, and
the paged lists show their counts and move from page to page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hessian_common.chain.proxy import RpcProxy

PASSPHRASE = "proxy-pages-passphrase"
LENDER, OWNER, OTHER = 0, 1, 2

APPLICATION = {
    "loan_amnt": "10000", "term": "36", "grade": "A", "emp_length": "10+ years",
    "annual_inc": "120000", "dti": "8.5", "fico_range_low": "780", "delinq_2yrs": "0",
    "inq_last_6mths": "0", "open_acc": "9", "pub_rec": "0", "revol_bal": "4000",
    "revol_util": "12", "total_acc": "20", "home_ownership": "MORTGAGE",
    "purpose": "home_improvement", "verification_status": "Verified",
    "earliest_cr_line": "Mar-2001", "addr_state": "CA",
}  # fmt: skip


@dataclass
class World:
    root: Path
    url: str
    store: Any
    deployments: Path
    open_id: int
    deployed_id: int
    updates: list[int]
    loans: dict[str, int]
    lender_address: str


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    """An anvil of this module's own (its clock is not moved by other tests)."""
    from tests.fixtures.chain import _real_node

    yield from _real_node("anvil", tmp_path_factory)


@pytest.fixture(scope="module")
def world(node, tmp_path_factory) -> World:
    from hessian_common import owner
    from hessian_common.chain import ChainClient, connect, dev_account
    from hessian_common.chain.deploy import (
        deploy_loanbook,
        deploy_repository,
        open_loanbook,
        open_repository,
    )
    from hessian_common.data.generator import generate_split
    from hessian_common.journal import Journal
    from hessian_common.lending import borrower
    from hessian_common.lending.application import parse_application
    from hessian_common.lending.desk import LendingDesk
    from hessian_common.store import EmbeddedStore
    from hessian_common.tasks import Lender, LenderState
    from tests.fixtures.lending import closed_lending_model, lending_task

    root = tmp_path_factory.mktemp("proxy_pages")
    generate_split(root / "data", 3000, 3, 11, seed_fraction=0.5, holdout_fraction=0.05)
    w3 = connect(node.url)
    client = ChainClient(w3, dev_account(LENDER))
    deployments = root / "deployments"
    address = deploy_repository(client, deployments_dir=deployments)
    deploy_loanbook(client, address, deployments_dir=deployments)
    repo = open_repository(client, deployments)
    book = open_loanbook(client, deployments)
    store = EmbeddedStore(root / "store")
    lender = Lender(repo, store, LenderState(root / "home" / "company"), PASSPHRASE)
    desk = LendingDesk(lender, book)
    seed = root / "data" / "lender_seed.csv"
    deployed_id = closed_lending_model(lender, seed, name="Deployed credit model", desk=desk)
    open_id = lending_task(lender, seed, name="Open training task")

    updates = []
    for who, files in ((OWNER, ["owner_01", "owner_02"]), (OTHER, ["owner_03"])):
        journal = Journal(root / f"owner-{who}" / "journal.sqlite")
        as_owner = repo.as_account(client.with_account(dev_account(who)))
        for name in files:
            entry = owner.share(
                journal, store, as_owner, model=open_id,
                path=root / "data" / f"{name}.csv", account=dev_account(who), label=name,
            )  # fmt: skip
            updates.append(int(journal.get(entry.id).update_id))
    lender.evaluate_submission(min(updates))

    loans = {}
    for who, key in ((OWNER, "funded"), (OTHER, "pending"), (3, "declined")):
        as_borrower = book.as_account(client.with_account(dev_account(who)))
        app = parse_application(dict(APPLICATION, loan_amnt=str(5000 + 100 * who)))
        loans[key] = borrower.apply(as_borrower, store, deployed_id, app)
    desk.decide(loans["funded"])
    desk.decide(loans["declined"], approve=False)
    book.as_account(client.with_account(dev_account(OWNER))).accept(loans["funded"])
    desk.fund(loans["funded"])
    return World(
        root, node.url, store, deployments, open_id, deployed_id, updates, loans,
        client.address,
    )  # fmt: skip


@pytest.fixture(scope="module")
def proxy(world):
    with RpcProxy(
        world.url, max_range=8, max_results=3, rate=400, burst=80, random_429=0.05, seed=3,
        style="alchemy",
    ) as proxy:  # fmt: skip
        yield proxy


def _company(world: World, proxy: RpcProxy):
    from company_app import create_app

    return create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "HESSIAN_HOME": world.root / "home",
            "RPC_URL": proxy.url,
            "STORE_OBJ": world.store,
            "DEPLOYMENTS_DIR": world.deployments,
            "ACCOUNT_DEV_INDEX": LENDER,
            "COMPANY_PASSPHRASE": PASSPHRASE,
            "HESSIAN_STATUS_TTL": 0,
            "AUTO_EVALUATE_INTERVAL": 0,
        }
    )


def _owner(world: World, proxy: RpcProxy):
    from data_owner_app import create_app
    from hessian_common.config import load_settings

    return create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "HESSIAN_SETTINGS": load_settings(
                home=world.root / "owner-home",
                rpc_url=proxy.url,
                deployments_dir=world.deployments,
            ),
            "OWNER_STATE_DIR": world.root / f"owner-{OWNER}",
            "OWNER_ACCOUNT": f"dev:{OWNER}",
            "OWNER_STORE": world.store,
            "HESSIAN_STATUS_TTL": 0.0,
        }
    )


def _get(web, url: str, *expected: str) -> str:
    response = web.get(url)
    page = response.get_data(as_text=True)
    assert response.status_code == 200, (url, response.status_code, page[:2000])
    assert 'id="chain-outage"' not in page, url
    for text in expected:
        assert text in page, (url, text)
    return page


def _stop(app) -> None:
    from hessian_common.web import jobs

    worker = app.extensions.get("company_worker")
    if worker is not None:
        worker.stop()
    jobs(app).shutdown(wait=True)


@pytest.mark.anvil
def test_every_company_page_through_the_capped_proxy(world, proxy):
    app = _company(world, proxy)
    web = app.test_client()
    try:
        m = world.open_id
        _get(web, "/", "Open training task", "Deployed credit model")
        page = _get(web, f"/models/{m}", "showing 1–3 of 3 submissions", "Rewards per owner")
        assert all(f"#{u}" in page for u in world.updates)
        first = _get(web, f"/models/{m}?per_page=2", "showing 1–2 of 3 submissions", 'rel="next"')
        assert f"#{max(world.updates)}" in first and f"#{min(world.updates)}</td>" not in first
        last = _get(web, f"/models/{m}?per_page=2&page=2", "showing 3–3 of 3 submissions")
        assert f"#{min(world.updates)}" in last and 'rel="prev"' in last
        _get(web, f"/models/{m}?per_page=2&page=9", "showing 3–3 of 3", "there is no page 9")
        _get(web, f"/models/{world.deployed_id}", "no submissions")
        _get(web, f"/models/{m}/close")
        _get(web, f"/models/{m}/audit")
        _get(web, "/models/new")
        _get(web, "/account/", world.lender_address)
        _get(web, "/lending/", "Deployed credit model")
        apps = _get(web, "/lending/applications", "showing 1–1 of 1 pending applications")
        assert f'id="loan-{world.loans["pending"]}"' in apps
        _get(web, "/lending/applications?decided_page=5", "showing 1–2 of 2 decided")
        loans = _get(web, "/lending/loans", "Realised vs predicted")
        assert f'id="loan-{world.loans["funded"]}"' in loans
    finally:
        _stop(app)
    index = world.root / "home" / "company" / "index"
    assert len(list(index.glob("*.sqlite"))) == 2  # the repository's and the book's
    stats = proxy.stats
    assert stats["range_refused"] + stats["results_refused"] >= 1, stats
    assert stats["random_429"] >= 1, stats


@pytest.mark.anvil
def test_every_owner_page_through_the_capped_proxy(world, proxy):
    app = _owner(world, proxy)
    web = app.test_client()
    try:
        m = world.open_id
        _get(web, "/", "Open training task")
        models = _get(web, "/models/", "showing 1–1 of 1 open models", "Open training task")
        assert "Deployed credit model" not in models
        _get(web, "/models/?all=1", "showing 1–2 of 2 models", "Deployed credit model")
        _get(web, "/models/?all=1&per_page=1&page=2", "showing 2–2 of 2 models")
        _get(web, f"/models/{m}", "showing 1–2 of 2 submissions")
        _get(web, f"/models/{m}/share")
        subs = _get(web, "/submissions/", "showing 1–2 of 2 submissions", "owner_01", "owner_02")
        assert re.search(r"accepted|rejected", subs)
        one = _get(web, "/submissions/?per_page=1&page=2", "showing 2–2 of 2 submissions")
        assert "owner_01" in one and "owner_02" not in one
        status = web.get("/submissions/status.json?per_page=1").get_json()
        assert status["total"] == 2 and status["pages"] == 2 and len(status["submissions"]) == 1
        assert status["chain_error"] is None
        _get(web, "/borrow/", "Deployed credit model")
        _get(web, "/borrow/loans", f"#{world.loans['funded']}")
        _get(web, f"/borrow/loans/{world.loans['funded']}", "Repay")
        _get(web, f"/borrow/apply/{world.deployed_id}")
    finally:
        _stop(app)
    assert len(list((world.root / f"owner-{OWNER}" / "index").glob("*.sqlite"))) == 2
