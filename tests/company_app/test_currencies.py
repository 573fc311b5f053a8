"""The create-task form in a token (issue 15): ETH, HSN, TestUSD or a token address, checked on
chain; the bounty typed in the token's units and taken in one click (a permit); bad choices
shown under their field with nothing sent. Real eth-tester chain, HSN and TestUSD deployed
and recorded as ``hessian deploy`` records them."""

from __future__ import annotations

import re

import pytest

from company_app import create_app
from hessian_common.chain.deploy import deploy_hsn, deploy_test_usd
from hessian_common.chain.token import Token
from tests.company_app.helpers import app_config, create_form, csrf

HSN = 10**18


@pytest.fixture
def tokens(env, tmp_path):
    """HSN (the whole supply to the lender, account 0) and TestUSD recorded in a deployments
    dir; returns ``(dir, hsn, usd)`` as ``Token`` wrappers signing as the lender."""
    out = tmp_path / "deployments"
    client = env.clients[0]
    hsn = Token(client, deploy_hsn(client, env.accounts[0].address, deployments_dir=out))
    usd = Token(client, deploy_test_usd(client, out))
    return out, hsn, usd


@pytest.fixture
def tweb(env, tokens):
    app = create_app(app_config(env, DEPLOYMENTS_DIR=tokens[0]))
    yield app.test_client()
    app.extensions["company_worker"].stop()
    app.extensions["hessian_jobs"].shutdown(wait=True)


def _field_errors(html: str, field_id: str) -> str:
    block = html.split(f'id="{field_id}"', 1)[1].split('<div class="field', 1)[0]
    return " ".join(re.findall(r"<li>(.*?)</li>", block))


def test_the_form_offers_eth_hsn_testusd_and_a_token_address(tweb):
    html = tweb.get("/models/new").get_data(as_text=True)
    assert '<option selected value="eth">ETH' in html
    assert '<option value="hsn">HSN (Hessian token) · HSN' in html
    assert '<option value="tusd">TestUSD (test dollar) · tUSD' in html
    assert '<option value="token">Another ERC-20 token' in html
    assert 'id="token_address"' in html


def test_a_bounty_in_hsn_is_taken_in_one_click(tweb, env, tokens, lender_data):
    _dir, hsn, _usd = tokens
    lender = env.accounts[0].address
    before, nonce = hsn.balance_of(lender), hsn.nonce(lender)
    form = create_form(
        csrf(tweb), lender_data["lender"], currency="hsn", bounty_eth="250", deposit_eth="0.5"
    )
    resp = tweb.post("/models/new", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-3000:]
    [model] = env.repo.models()
    assert model.currency.address == hsn.address and model.currency.symbol == "HSN"
    assert model.bounty == 250 * HSN and model.submission_deposit == HSN // 2
    assert hsn.balance_of(lender) == before - 250 * HSN
    assert hsn.nonce(lender) == nonce + 1  # a permit in the same transaction
    assert hsn.allowance(lender, env.repo.address) == 0
    page = tweb.get(f"/models/{model.model_id}").get_data(as_text=True)
    assert "250.00 HSN" in page


BAD_CHOICES = [
    ({"currency": "token", "token_address": ""}, "token_address", "Give the token&#39;s address"),
    ({"currency": "token", "token_address": "0xabc"}, "token_address", "0x + 40 hex"),
    ({"currency": "token", "token_address": "0x" + "34" * 20}, "token_address", "No contract at"),
    ({"currency": "dogecoin"}, "currency", "Unknown currency choice"),
    ({"currency": "tusd", "bounty_eth": "10"}, "bounty_eth", "more than the account balance"),
    ({"currency": "tusd", "bounty_eth": "0.0000001"}, "bounty_eth", "more decimals than tUSD"),
    ({"currency": "hsn", "bounty_eth": "0"}, "bounty_eth", "more than 0 HSN"),
    ({"currency": "hsn", "deposit_eth": "20"}, "deposit_eth", "the whole bounty (10.00 HSN)"),
]


@pytest.mark.parametrize(("over", "field", "message"), BAD_CHOICES)
def test_a_bad_currency_choice_is_shown_under_its_field_and_nothing_is_sent(
    tweb, env, tokens, lender_data, over, field, message
):
    _dir, hsn, usd = tokens
    lender = env.accounts[0].address
    held = (hsn.balance_of(lender), usd.balance_of(lender), env.w3.eth.get_balance(lender))
    block = env.w3.eth.block_number
    resp = tweb.post("/models/new", data=create_form(csrf(tweb), lender_data["lender"], **over))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert message in _field_errors(html, field), _field_errors(html, field)
    assert env.repo.model_count() == 0 and env.w3.eth.block_number == block
    assert (hsn.balance_of(lender), usd.balance_of(lender), env.w3.eth.get_balance(lender)) == held


def test_a_contract_that_is_not_a_token_is_refused(tweb, env, lender_data):
    form = create_form(
        csrf(tweb), lender_data["lender"], currency="token", token_address=env.repo.address
    )
    html = tweb.post("/models/new", data=form).get_data(as_text=True)
    assert "does not answer decimals()" in _field_errors(html, "token_address")
    assert env.repo.model_count() == 0


def test_the_account_page_shows_every_currency_and_refuses_a_bad_withdrawal(tweb, env, tokens):
    _dir, _hsn, _usd = tokens
    html = tweb.get("/account/").get_data(as_text=True)
    for symbol in ("ETH", "HSN", "tUSD"):
        assert f'data-currency="{symbol}"' in html
    row = html.split('data-currency="HSN"', 1)[1].split("</tr>", 1)[0]
    assert "1,000,000,000.00 HSN" in row  # the whole supply went to the lender
    block = env.w3.eth.block_number
    token = csrf(tweb)
    for data in ({"currency": "0xnope"}, {"currency": "eth", "source": "bank"}):
        resp = tweb.post("/account/withdraw", data={"csrf_token": token, **data})
        assert resp.status_code == 302
        page = tweb.get("/account/").get_data(as_text=True)
        assert "Nothing was sent." in page
    assert env.w3.eth.block_number == block
