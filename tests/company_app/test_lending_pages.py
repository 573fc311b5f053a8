"""The lender's lending pages on a real eth-tester chain with a real LoanBook, the embedded
store and a closed model deployed through the pages (CSRF on): each page renders real data,
each action changes the chain as the wrapper reads it back, bad input changes nothing, and a
chain without a LoanBook gets a clear page."""

from __future__ import annotations

import re

import pytest

from company_app import create_app, services
from hessian_common.chain.loanbook import LoanStatus
from tests.company_app.helpers import app_config, csrf, wait_jobs
from tests.fixtures.lending import lending_task

pytestmark = pytest.mark.slow

DAY = 86400


# --- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def deployments(env, tmp_path):
    """A deployments dir holding the record of a LoanBook linked to ``env.repo``."""
    from hessian_common.chain.deploy import deploy_loanbook

    out = tmp_path / "deployments"
    deploy_loanbook(env.clients[0], env.repo.address, out, record=True)
    return out


@pytest.fixture
def lapp(env, deployments):
    """The company app finding its LoanBook through the deployment record."""
    app = create_app(app_config(env, DEPLOYMENTS_DIR=deployments))
    yield app
    app.extensions["company_worker"].stop()
    app.extensions["hessian_jobs"].shutdown(wait=True)


@pytest.fixture
def lweb(lapp):
    return lapp.test_client()


def _book(app):
    with app.app_context():
        return services.loanbook(app)


def _lender(app):
    with app.app_context():
        return services.lender(app)


@pytest.fixture
def closed_model(lapp, lender_data) -> int:
    """A small closed training task of the app's lender (512-bit key)."""
    lender = _lender(lapp)
    model_id = lending_task(
        lender, lender_data["lender"], name="Loans to deploy", holdout_fraction=0.4
    )
    lender.close(model_id)
    return model_id


def deploy_fields(token: str, model_id: int, **over: str) -> dict[str, object]:
    """The deploy form's fields (prefixed per model) with the defaults, overridden."""
    base: dict[str, object] = {
        "required_return_pct": "8",
        "recovery_rate_pct": "10",
        "max_pd_pct": "35",
        "min_apr_pct": "5",
        "max_apr_pct": "30",
        "step_bps": "5",
        "min_amount": "1000",
        "max_amount": "40000",
        "terms": ["36", "60"],
        "dollars_per_eth": "10000",
    }
    base.update(over)
    form = {f"m{model_id}-{k}": v for k, v in base.items()}
    form[f"m{model_id}-csrf_token"] = token
    return form


@pytest.fixture
def deployed(lapp, lweb, closed_model) -> int:
    """``closed_model`` deployed through the deploy page with the default policy."""
    resp = lweb.post(
        f"/lending/deploy/{closed_model}", data=deploy_fields(_token(lweb), closed_model)
    )
    assert resp.status_code == 302, _errors(resp)
    return closed_model


def _token(web) -> str:
    return csrf(web)


def _errors(resp) -> list[str]:
    html = resp.get_data(as_text=True)
    return re.findall(r"<li>(.*?)</li>", html) + re.findall(r'flash-error">(.*?)<', html)


def borrow(env, lapp, model_id: int, borrower_index: int, row_index: int, **over) -> int:
    """A borrower (``accounts[borrower_index]``) applies through the borrower workflow with a
    generated applicant; returns the loan id."""
    from hessian_common.data.generator import generate_loans
    from hessian_common.lending import borrower
    from hessian_common.lending.application import application_from_row

    rows = generate_loans(40, seed=5)
    row = rows.iloc[row_index].to_dict()
    row.update(over)
    app_ = application_from_row(row)
    book = _book(lapp).as_account(env.clients[borrower_index])
    return borrower.apply(
        book, env.store, model_id, app_, state_dir=env.home / f"b{borrower_index}"
    )


def _post(web, url: str, **data) -> object:
    return web.post(url, data={"csrf_token": _token(web), **data})


# --- no LoanBook ----------------------------------------------------------------------------


def test_missing_loanbook_is_a_clear_page(env, tmp_path):
    empty = tmp_path / "no-deployments"
    empty.mkdir()
    app = create_app(app_config(env, DEPLOYMENTS_DIR=empty))
    web = app.test_client()
    try:
        for url in ("/lending/", "/lending/applications", "/lending/loans", "/lending/deploy/1"):
            resp = web.get(url)
            html = resp.get_data(as_text=True)
            assert resp.status_code == 503, url
            assert "No LoanBook contract on this chain" in html and "hessian deploy" in html
            assert "Traceback" not in html
        before = env.w3.eth.block_number
        resp = web.post("/lending/applications/decide-all", data={"csrf_token": _token(web)})
        assert resp.status_code == 503 and env.w3.eth.block_number == before
        assert "Lending" in web.get("/").get_data(as_text=True)  # the nav link, other pages fine
    finally:
        app.extensions["company_worker"].stop()
        app.extensions["hessian_jobs"].shutdown(wait=True)


def test_loanbook_address_from_config(env, tmp_path):
    """``LOANBOOK_ADDRESS`` names the LoanBook when there is no deployment record."""
    from hessian_common.chain.deploy import deploy_loanbook

    address = deploy_loanbook(env.clients[0], env.repo.address, record=False)
    empty = tmp_path / "no-deployments"
    empty.mkdir()
    app = create_app(app_config(env, DEPLOYMENTS_DIR=empty, LOANBOOK_ADDRESS=address))
    try:
        html = app.test_client().get("/lending/").get_data(as_text=True)
        assert "No model deployed yet" in html
        assert _book(app).address == address
    finally:
        app.extensions["company_worker"].stop()
        app.extensions["hessian_jobs"].shutdown(wait=True)


# --- deploy ---------------------------------------------------------------------------------

BAD_POLICY = [
    ({"required_return_pct": "-1"}, "between 0 and 100"),
    ({"max_pd_pct": "abc"}, "&#39;abc&#39; is not a number."),
    ({"max_pd_pct": "35,5"}, "it could mean 35.5 or 355"),
    ({"dollars_per_eth": "10,000"}, "it could mean 10.000 or 10000"),
    ({"min_apr_pct": "12", "max_apr_pct": "10"}, "below the lowest APR"),
    ({"max_apr_pct": "30.555"}, "whole basis points"),
    ({"step_bps": "0"}, "between 1 and 1000"),
    ({"min_amount": "5000", "max_amount": "2000"}, "below the smallest"),
    ({"terms": []}, "at least one term"),
    ({"terms": ["48"]}, "not a valid choice"),
    ({"dollars_per_eth": "0"}, "between 0.01"),
]


def test_deploy_page_validates_then_deploys(lapp, lweb, env, closed_model):
    book = _book(lapp)
    model_id = closed_model
    # The model page offers the deployment, the lending page has its form.
    page = lweb.get(f"/models/{model_id}").get_data(as_text=True)
    assert "Deploy for lending" in page and f"/lending/deploy/{model_id}" in page
    index = lweb.get("/lending/").get_data(as_text=True)
    assert "Ready to deploy" in index and f'name="m{model_id}-max_apr_pct"' in index

    lending_dir = env.home / "company"
    for override, message in BAD_POLICY:
        before = env.w3.eth.block_number
        resp = lweb.post(
            f"/lending/deploy/{model_id}", data=deploy_fields(_token(lweb), model_id, **override)
        )
        html = resp.get_data(as_text=True)
        assert resp.status_code == 400, override
        assert "Nothing was sent" in html and message in html, (override, _errors(resp))
        assert env.w3.eth.block_number == before
        assert book.deployment(model_id) is None
        assert not list(lending_dir.rglob("lending/*")), override

    # A valid policy (not the defaults): deployed on chain, policy public on the store.
    resp = lweb.post(
        f"/lending/deploy/{model_id}",
        data=deploy_fields(_token(lweb), model_id, max_apr_pct="25", required_return_pct="9"),
    )
    assert resp.status_code == 302, _errors(resp)
    dep = book.deployment(model_id)
    assert dep is not None and dep.active and dep.lender == env.accounts[0].address
    import json

    doc = json.loads(env.store.get(dep.policy_cid))
    assert doc["model_id"] == model_id
    assert doc["policy"]["max_apr_bps"] == 2500 and doc["policy"]["required_return"] == 0.09
    assert doc["application_key"].removeprefix("0x") == dep.application_key.hex()

    index = lweb.get("/lending/").get_data(as_text=True)
    assert "Ready to deploy" not in index
    assert "Calibration" in index and "Brier" in index and "<svg" in index
    assert "chosen" in index and "25.00%" in index
    assert "By grade" in index and "By predicted PD" in index
    assert lweb.get("/lending/deploy/99").status_code == 404
    # Already deployed: the model page links to lending, the deploy page refuses.
    page = lweb.get(f"/models/{model_id}").get_data(as_text=True)
    assert "Deploy for lending" not in page
    resp = lweb.post(f"/lending/deploy/{model_id}", data=deploy_fields(_token(lweb), model_id))
    assert resp.status_code == 302 and book.deployment(model_id).policy_cid == dep.policy_cid


def test_open_model_cannot_be_deployed(lapp, lweb, env, lender_data):
    # TaskParams' default hold-out share (0.3), as this test always used.
    model_id = lending_task(
        _lender(lapp), lender_data["lender"], name="Still open", holdout_fraction=0.3
    )
    before = env.w3.eth.block_number
    resp = lweb.post(f"/lending/deploy/{model_id}", data=deploy_fields(_token(lweb), model_id))
    assert resp.status_code == 400 and "still open" in resp.get_data(as_text=True)
    assert env.w3.eth.block_number == before
    assert _book(lapp).deployment(model_id) is None
    assert "Deploy for lending" not in lweb.get(f"/models/{model_id}").get_data(as_text=True)


# --- applications ---------------------------------------------------------------------------


def test_applications_queue_and_decisions(lapp, lweb, env, deployed):
    book = _book(lapp)
    ids = [borrow(env, lapp, deployed, 1 + k, k) for k in range(4)]
    page = lweb.get("/lending/applications").get_data(as_text=True)
    assert "Pending (4)" in page
    for loan_id in ids:
        assert f'id="loan-{loan_id}"' in page
    assert "Decide all pending as suggested (4)" in page
    assert page.count("cap 30.00%") == 4

    # CSRF is on: a POST without the token is refused and sends nothing.
    a, b, c, d = ids
    before = env.w3.eth.block_number
    assert lweb.post(f"/lending/applications/{a}/decline").status_code == 400
    assert lweb.post("/lending/applications/decide-all").status_code == 400
    assert env.w3.eth.block_number == before and book.loan(a).status == LoanStatus.APPLIED

    # Decline one: DECLINED with its PD recorded.
    assert _post(lweb, f"/lending/applications/{a}/decline").status_code == 302
    loan = book.loan(a)
    assert loan.status == LoanStatus.DECLINED and 0 < loan.pd_ppm <= 10**6

    # Approve above the cap, below the floor, garbage: nothing sent.
    before = env.w3.eth.block_number
    messages = []
    for apr in ("31", "4.99", "abc", "12.345", "150"):
        resp = _post(lweb, f"/lending/applications/{b}/approve", apr_pct=apr)
        assert resp.status_code == 302
        assert book.loan(b).status == LoanStatus.APPLIED
        flashed = lweb.get("/lending/applications").get_data(as_text=True)
        messages += re.findall(r'<div class="flash flash-error">(.*?)</div>', flashed, re.S)
    assert env.w3.eth.block_number == before
    assert len(messages) == 5
    for message in messages:  # one full stop between sentences, never ".." or none
        assert ".." not in message and re.search(r"[^.]\. Nothing was sent\.$", message), message
    assert "31.00% is outside the policy&#39;s range 5.00% to 30.00%" in messages[0]
    assert "&#39;abc&#39; is not a number." in messages[2]
    assert "between 0 and 100." in messages[4]  # was "..between 0 and 100.. Nothing was sent."

    # Approve at a chosen APR within the cap.
    assert _post(lweb, f"/lending/applications/{b}/approve", apr_pct="17.5").status_code == 302
    loan = book.loan(b)
    assert loan.status == LoanStatus.OFFERED and loan.apr_bps == 1750
    assert loan.principal == loan.amount and loan.term_months == loan.requested_term
    assert loan.installment > 0

    # As suggested: the on-chain decision is the page's suggestion.
    view = {v.loan.loan_id: v for v in services_desk(lapp).applications(status="pending")}[c]
    assert _post(lweb, f"/lending/applications/{c}/suggested").status_code == 302
    loan = book.loan(c)
    if view.quote is not None and view.quote.approved:
        assert loan.status == LoanStatus.OFFERED and loan.apr_bps == view.quote.apr_bps
    else:
        assert loan.status == LoanStatus.DECLINED
    assert abs(loan.pd_ppm - round(view.score.pd * 10**6)) <= 1

    # A decided one cannot be decided again from the page (nothing sent).
    before = env.w3.eth.block_number
    assert _post(lweb, f"/lending/applications/{a}/suggested").status_code == 302
    assert env.w3.eth.block_number == before

    # Decide all the rest in a background job.
    assert _post(lweb, "/lending/applications/decide-all").status_code == 302
    jobs = wait_jobs(lapp)
    assert jobs and all(j.state == "done" for j in jobs), [j.error for j in jobs]
    assert book.loan(d).status in (LoanStatus.OFFERED, LoanStatus.DECLINED)
    page = lweb.get("/lending/applications").get_data(as_text=True)
    assert "Pending (0)" in page and "Decided (4)" in page
    assert "No application is waiting" in page


def services_desk(app):
    with app.app_context():
        return services.desk(app)


# --- loans ----------------------------------------------------------------------------------


def test_loan_book_actions(lapp, lweb, env, deployed):
    book = _book(lapp)
    chain_time = env.chain_time
    lender_addr = env.accounts[0].address
    first, second = borrow(env, lapp, deployed, 1, 0), borrow(env, lapp, deployed, 2, 1)
    for loan_id in (first, second):
        _post(lweb, f"/lending/applications/{loan_id}/approve", apr_pct="12")
        assert book.loan(loan_id).status == LoanStatus.OFFERED
    borrower1 = book.as_account(env.clients[1])
    borrower1.accept(first)

    page = lweb.get("/lending/loans").get_data(as_text=True)
    assert f'id="loan-{first}"' in page and f'id="loan-{second}"' in page
    assert f"/lending/loans/{first}/fund" in page and f"/lending/loans/{second}/fund" not in page
    assert f"/lending/loans/{second}/cancel" in page
    assert "12.00%" in page and "$" in page

    # Not allowed now: fund an offer not accepted, mark late / default a loan not funded.
    before = env.w3.eth.block_number
    for action in ("fund", "mark-late", "mark-default"):
        assert _post(lweb, f"/lending/loans/{second}/{action}").status_code == 302
    assert env.w3.eth.block_number == before and book.loan(second).status == LoanStatus.OFFERED
    assert "Nothing was sent" in lweb.get("/lending/loans").get_data(as_text=True)
    assert _post(lweb, "/lending/loans/999/fund").status_code == 404
    assert _post(lweb, f"/lending/loans/{first}/explode").status_code == 404

    # Cancel the second offer, fund the first.
    assert _post(lweb, f"/lending/loans/{second}/cancel").status_code == 302
    assert book.loan(second).status == LoanStatus.CANCELLED
    principal = book.loan(first).principal
    bal = env.w3.eth.get_balance(lender_addr)
    assert _post(lweb, f"/lending/loans/{first}/fund").status_code == 302
    loan = book.loan(first)
    assert loan.status == LoanStatus.FUNDED and loan.funded_at > 0
    assert book.pending(env.accounts[1].address) == principal
    assert bal - env.w3.eth.get_balance(lender_addr) >= principal

    # Not late yet: the page offers no "mark late" and the action is refused.
    page = lweb.get("/lending/loans").get_data(as_text=True)
    assert f"/lending/loans/{first}/mark-late" not in page and "Next due" in page
    before = env.w3.eth.block_number
    _post(lweb, f"/lending/loans/{first}/mark-late")
    assert env.w3.eth.block_number == before and not book.loan(first).late

    # One instalment repaid, then the next one missed: late, then default.
    borrower1.repay(first, loan.installment)
    assert _post(lweb, "/lending/withdraw").status_code == 302
    assert book.pending(lender_addr) == 0
    chain_time.advance(61 * DAY)
    page = lweb.get("/lending/loans").get_data(as_text=True)
    assert f"/lending/loans/{first}/mark-late" in page
    assert f"/lending/loans/{first}/mark-default" not in page
    assert _post(lweb, f"/lending/loans/{first}/mark-late").status_code == 302
    assert book.loan(first).late
    chain_time.advance(121 * DAY)
    page = lweb.get("/lending/loans").get_data(as_text=True)
    assert f"/lending/loans/{first}/mark-default" in page
    assert _post(lweb, f"/lending/loans/{first}/mark-default").status_code == 302
    loan = book.loan(first)
    assert loan.status == LoanStatus.DEFAULTED

    # Realised vs predicted: the defaulted loan counts as resolved and defaulted.
    page = lweb.get("/lending/loans").get_data(as_text=True)
    assert "Realised vs predicted" in page and "defaulted" in page
    index = lweb.get("/lending/").get_data(as_text=True)
    assert "100.0%" in index  # realised default rate of the one resolved loan's group
