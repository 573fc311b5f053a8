"""The insurer's pages on a real eth-tester chain with a real PolicyBook, the embedded store and
a closed claims model deployed through the pages (CSRF on): each page shows real data, each
action changes the chain as the wrapper reads it back, bad input changes nothing and says why,
and a chain without a PolicyBook gets a clear page."""

from __future__ import annotations

import re

import pytest

from company_app import create_app, services
from hessian_common.chain.policybook import ClaimStatus, PolicyStatus
from hessian_common.insurance import customer
from hessian_common.insurance.application import parse_application
from tests.company_app.helpers import app_config, csrf
from tests.fixtures.insurance import claims_task, insurer_file
from tests.insurance.test_workflows import FORM

pytestmark = pytest.mark.slow

ETH = 10**18


@pytest.fixture
def iapp(env, tmp_path):
    from hessian_common.chain.policybook import deploy_policybook

    out = tmp_path / "deployments"
    deploy_policybook(env.clients[0], env.repo.address, out, record=True)
    app = create_app(app_config(env, DEPLOYMENTS_DIR=out))
    yield app
    app.extensions["company_worker"].stop()
    app.extensions["hessian_jobs"].shutdown(wait=True)


@pytest.fixture(scope="module")
def claims_file(tmp_path_factory):
    return insurer_file(tmp_path_factory.mktemp("claims") / "insurer.csv")


def _desk(app):
    with app.app_context():
        return services.insurance_desk(app)


def deploy_fields(token: str, model_id: int, **over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "risk_loading_pct": "25",
        "expense": "40",
        "max_claim_pct": "35",
        "deductibles": ["250", "500", "1000", "2000"],
        "coverage_limits": ["15000", "25000", "50000", "100000"],
        "terms": ["6", "12"],
        "dollars_per_token": "10000",
        "claims_file": "",
    }
    base.update(over)
    form = {f"i{model_id}-{k}": v for k, v in base.items()}
    form[f"i{model_id}-csrf_token"] = token
    return form


def test_the_insurer_deploys_funds_quotes_and_decides_claims(iapp, env, claims_file):
    web = iapp.test_client()
    desk = _desk(iapp)
    model_id = claims_task(desk.lender, claims_file)
    html = web.get("/insurance/").get_data(as_text=True)
    assert f'id="deploy-{model_id}"' not in html and "No claims model deployed" in html
    desk.lender.close(model_id)
    html = web.get("/insurance/").get_data(as_text=True)
    assert f'id="deploy-{model_id}"' in html
    token = csrf(web)
    # bad input: every bad field named, nothing deployed
    bad = deploy_fields(token, model_id, risk_loading_pct="1,5", expense="abc", terms=[])
    r = web.post(f"/insurance/deploy/{model_id}", data=bad)
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "Nothing was sent" in page
    assert "1,5" in page and desk.book.deployment(model_id) is None
    r = web.post(
        f"/insurance/deploy/{model_id}",
        data=deploy_fields(token, model_id, claims_file=str(claims_file)),
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    assert desk.book.deployment(model_id) is not None
    # capital: a bad amount is refused, a deposit lands in the pool's free capital
    r = web.post(f"/insurance/{model_id}/capital/deposit", data={"csrf_token": token,
                 "amount": "1,000"}, follow_redirects=True)  # fmt: skip
    assert "Nothing was sent" in r.get_data(as_text=True) and desk.book.pool(model_id).free == 0
    web.post(f"/insurance/{model_id}/capital/deposit", data={"csrf_token": token, "amount": "5"})
    assert desk.book.pool(model_id).free == 5 * ETH
    page = web.get("/insurance/").get_data(as_text=True)
    assert "5.00 ETH" in page and "Free capital" in page
    # a customer applies; the queue shows the probability and the premium
    book1 = desk.book.as_account(env.clients[1])
    pid = customer.apply(book1, env.store, model_id, parse_application(FORM))
    page = web.get("/insurance/applications").get_data(as_text=True)
    assert f'id="policy-{pid}"' in page and "sedan" in page
    prem = re.search(r'class="suggested-premium">([^<]+)<', page).group(1)
    r = web.post(f"/insurance/applications/{pid}/suggested", data={"csrf_token": token},
                 follow_redirects=True)  # fmt: skip
    assert "quoted" in r.get_data(as_text=True)
    info = desk.book.policy(pid)
    assert info.status == PolicyStatus.QUOTED and prem.startswith(
        f"{info.premium / ETH:.6f}".rstrip("0")[:6]
    )
    customer.accept(book1, pid)
    assert pid and f'id="policy-{pid}"' in web.get("/insurance/policies").get_data(as_text=True)
    # a claim: deny needs a reason; approve pays it
    cid = customer.file_claim(book1, env.store, pid, ETH // 20, evidence=b"photo")
    page = web.get("/insurance/claims").get_data(as_text=True)
    assert f'id="claim-{cid}"' in page and "Approve" in page
    r = web.post(f"/insurance/claims/{cid}/deny", data={"csrf_token": token, "reason": "nope"},
                 follow_redirects=True)  # fmt: skip
    assert "Nothing was sent" in r.get_data(as_text=True)
    assert desk.book.claim(cid).status == ClaimStatus.FILED
    web.post(f"/insurance/claims/{cid}/approve", data={"csrf_token": token})
    assert desk.book.claim(cid).status == ClaimStatus.APPROVED
    page = web.get("/insurance/").get_data(as_text=True)
    assert "Loss ratio" in page and "Predicted vs realised" in page
    # withdrawing more than the free capital is refused
    r = web.post(f"/insurance/{model_id}/capital/withdraw", data={"csrf_token": token,
                 "amount": "100"}, follow_redirects=True)  # fmt: skip
    assert "Nothing was sent" in r.get_data(as_text=True)


def test_without_a_policybook_the_pages_say_how_to_deploy_one(env, tmp_path):
    app = create_app(app_config(env, DEPLOYMENTS_DIR=tmp_path / "none"))
    try:
        r = app.test_client().get("/insurance/")
        assert r.status_code == 503 and "hessian deploy" in r.get_data(as_text=True)
    finally:
        app.extensions["company_worker"].stop()
        app.extensions["hessian_jobs"].shutdown(wait=True)
