"""The customer's insurance pages of the data-owner app, on a real chain, PolicyBook and store,
CSRF on: insurers and their policy, apply (bad input named per field, nothing sent), the quote,
pay the premium, file a claim (bad amount / no evidence refused), be paid, withdraw; a claim
left unanswered past the window is settled from the page; an outage keeps the answers."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import pytest

from data_owner_app import create_app
from hessian_common.chain.client import ChainClient, eth_tester_web3
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import deploy_repository
from hessian_common.chain.policybook import ClaimStatus, PolicyBook, PolicyStatus
from hessian_common.chain.repository import ModelRepository
from hessian_common.config import load_settings
from hessian_common.store import EmbeddedStore
from tests.fixtures.chain import ChainTime, fund_accounts
from tests.fixtures.insurance import closed_claims_model, insurer_file
from tests.insurance.test_workflows import FORM

PASSPHRASE = "insure-test-passphrase"
ETH = 10**18
INSURER, CUSTOMER = 0, 1


@dataclass
class World:
    w3: Any
    clients: list
    repo: ModelRepository
    book: PolicyBook
    store: EmbeddedStore
    desk: Any
    model_id: int

    def book_as(self, index: int) -> PolicyBook:
        return self.book.as_account(self.clients[index])


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    from hessian_common.chain.policybook import deploy_policybook
    from hessian_common.insurance.pricing import PricingPolicy
    from hessian_common.insurance.underwriting import InsuranceDesk
    from hessian_common.tasks import Lender, LenderState

    root = tmp_path_factory.mktemp("insure")
    data = insurer_file(root / "insurer.csv")
    w3 = eth_tester_web3()
    accounts = fund_accounts(w3)
    client = ChainClient(w3, accounts[0])
    clients = [client] + [client.with_account(a) for a in accounts[1:]]
    art = load_artifact("ModelRepository")
    repo = ModelRepository(client, deploy_repository(client, artifact=art, record=False), art.abi)
    book = PolicyBook(client, deploy_policybook(client, repo.address, record=False))
    store = EmbeddedStore(root / "store")
    lender = Lender(repo, store, LenderState(root / "company"), PASSPHRASE)
    desk = InsuranceDesk(lender, book)
    model_id = closed_claims_model(lender, data, name="Motor claims")
    desk.deploy(model_id, PricingPolicy(token_price="10000"), claims=data)
    desk.deposit(model_id, 20 * ETH)
    return World(w3, clients, repo, book, store, desk, model_id)


@pytest.fixture
def app(world, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": True,
            "HESSIAN_SETTINGS": load_settings(home=tmp_path / "home"),
            "OWNER_STATE_DIR": tmp_path / "owner",
            "OWNER_REPO": world.repo.as_account(world.clients[CUSTOMER]),
            "OWNER_POLICYBOOK": world.book_as(CUSTOMER),
            "OWNER_STORE": world.store,
            "HESSIAN_STATUS_TTL": 0.0,
        }
    )
    yield app
    from hessian_common.web import jobs

    jobs(app).shutdown(wait=True)


@pytest.fixture
def web(app):
    return app.test_client()


_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def token(web, url: str) -> str:
    body = web.get(url).get_data(as_text=True)
    match = _TOKEN.search(body)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def text(response) -> str:
    page = response.get_data(as_text=True)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def apply(web, world, **over: str) -> Any:
    url = f"/insure/apply/{world.model_id}"
    return web.post(url, data={"csrf_token": token(web, url), **FORM, **over})


def policy_id_of(response) -> int:
    assert response.status_code == 302, text(response)[-1500:]
    return int(re.search(r"/insure/policies/(\d+)$", response.headers["Location"]).group(1))


def test_index_lists_the_insurer_and_its_policy(web, world):
    r = web.get("/insure/")
    t = text(r)
    assert r.status_code == 200 and "Motor claims" in t and f"Model #{world.model_id}" in t
    assert "sedan" in t and "12 months" in t.replace("6 or 12 months", "12 months")
    assert f'href="/insure/apply/{world.model_id}"' in r.get_data(as_text=True)
    assert 'href="/insure/"' in web.get("/").get_data(as_text=True)


def test_bad_application_is_named_per_field_and_nothing_is_sent(web, world):
    before = world.book.policy_count()
    r = apply(web, world, driver_age="old", deductible="750", coverage_limit="1,000")
    t = text(r)
    assert r.status_code == 400 and "Nothing was stored or sent." in t
    assert "1,000" in t and world.book.policy_count() == before
    # a well-formed application the insurer does not offer: named under its field
    r = apply(web, world, deductible="750")
    assert r.status_code == 400 and "this insurer offers" in text(r)
    assert world.book.policy_count() == before


def test_apply_quote_buy_claim_and_withdraw(web, world):
    pid = policy_id_of(apply(web, world))
    page = text(web.get(f"/insure/policies/{pid}"))
    assert "Waiting for the insurer" in page
    world.desk.decide(pid)
    page = web.get(f"/insure/policies/{pid}")
    t = text(page)
    assert "The quote" in t and "Pay" in t
    info = world.book.policy(pid)
    r = web.post(
        f"/insure/policies/{pid}/accept", data={"csrf_token": token(web, f"/insure/policies/{pid}")}
    )
    assert r.status_code == 302
    assert world.book.policy(pid).status == PolicyStatus.ACTIVE and info.premium > 0
    url = f"/insure/policies/{pid}/claim"
    # a comma in the amount, and no evidence: refused, nothing filed
    r = web.post(url, data={"csrf_token": token(web, f"/insure/policies/{pid}"), "amount": "1,200"})
    t = text(r)
    assert r.status_code == 400 and "The claim was not filed" in t
    assert world.book.claim_count() == 0 or world.book.claims(policy_id=pid) == []
    r = web.post(url, data={"csrf_token": token(web, f"/insure/policies/{pid}"), "amount": "1200"})
    assert r.status_code == 400 and "attach a file" in text(r)
    from io import BytesIO

    r = web.post(
        url,
        data={"csrf_token": token(web, f"/insure/policies/{pid}"), "amount": "$1200",
              "evidence_file": (BytesIO(b"photo of the bumper"), "bumper.jpg")},
        content_type="multipart/form-data",
    )  # fmt: skip
    assert r.status_code == 302, text(r)[-800:]
    [claim] = world.book.claims(policy_id=pid)
    assert claim.amount == 1200 * ETH // 10000 and claim.evidence_cid
    assert world.store.get(claim.evidence_cid) == b"photo of the bumper"
    world.desk.approve_claim(claim.claim_id)
    t = text(web.get(f"/insure/policies/{pid}"))
    assert "approved" in t
    before = world.w3.eth.get_balance(world.clients[CUSTOMER].address)
    web.post("/insure/withdraw", data={"csrf_token": token(web, f"/insure/policies/{pid}")})
    assert world.w3.eth.get_balance(world.clients[CUSTOMER].address) > before
    assert world.book.pending(world.clients[CUSTOMER].address) == 0


def test_an_unanswered_claim_is_settled_from_the_page(web, world):
    pid = policy_id_of(apply(web, world, driver_age="50", years_licensed="30"))
    world.desk.decide(pid)
    web.post(
        f"/insure/policies/{pid}/accept", data={"csrf_token": token(web, f"/insure/policies/{pid}")}
    )
    claim_id = world.book_as(CUSTOMER).file_claim(pid, ETH // 100, "bafkreiexample")
    page = web.get(f"/insure/policies/{pid}").get_data(as_text=True)
    assert f"/insure/claims/{claim_id}/settle" not in page
    ChainTime(world.w3).advance(world.book.claim_window + 5)
    page = web.get(f"/insure/policies/{pid}").get_data(as_text=True)
    assert f"/insure/claims/{claim_id}/settle" in page
    web.post(
        f"/insure/claims/{claim_id}/settle",
        data={"csrf_token": token(web, f"/insure/policies/{pid}")},
    )
    assert world.book.claim(claim_id).status == ClaimStatus.SETTLED


def test_a_store_outage_keeps_the_answers_and_sends_nothing(world, tmp_path):
    """The store is down (a Kubo URL where nothing listens): nothing is sent, the page says
    so, and the same person's app shows the form filled in with the kept answers."""
    from hessian_common.store import KuboStore
    from tests.fixtures.procs import free_port

    def owner_app(store):
        return create_app(
            {
                "TESTING": True,
                "WTF_CSRF_ENABLED": True,
                "HESSIAN_SETTINGS": load_settings(home=tmp_path / "home"),
                "OWNER_STATE_DIR": tmp_path / "owner",
                "OWNER_REPO": world.repo.as_account(world.clients[CUSTOMER]),
                "OWNER_POLICYBOOK": world.book_as(CUSTOMER),
                "OWNER_STORE": store,
                "HESSIAN_STATUS_TTL": 0.0,
            }
        )

    down = owner_app(KuboStore(f"http://127.0.0.1:{free_port()}", timeout=1.0))
    before = world.book.policy_count()
    web = down.test_client()
    url = f"/insure/apply/{world.model_id}"
    up = owner_app(world.store).test_client()
    tok = token(up, url)  # the same person's session (the app's key lives in its state)
    web.set_cookie("session", up.get_cookie("session").value)
    r = web.post(url, data={"csrf_token": tok, **FORM, "annual_mileage": "12345"})
    assert r.status_code == 503 and world.book.policy_count() == before
    page = up.get(url).get_data(as_text=True)
    assert 'id="draft-notice"' in page and 'value="12345"' in page
