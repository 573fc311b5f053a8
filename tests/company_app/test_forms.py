"""Every form's bad-input path: the error shows on the form, nothing is sent or written."""

from __future__ import annotations

import io
import re

import pytest

from company_app import create_app
from tests.company_app.helpers import app_config, create_form, csrf

BAD_CREATE = [
    ({"name": ""}, "This field is required"),
    ({"name": "ab"}, "between 3 and 80"),
    ({"bounty_eth": "0"}, "more than 0 ETH"),
    ({"bounty_eth": "-1"}, "at least 0"),
    ({"bounty_eth": "abc"}, "&#39;abc&#39; is not a number."),
    ({"bounty_eth": "1,5"}, "it could mean 1.5 or 15"),
    ({"bounty_eth": "10 000"}, "has a separator inside"),
    ({"deposit_eth": "1000000"}, "is more than the whole bounty (10.00 ETH)"),
    ({"epochs": "2,000"}, "ambiguous"),
    ({"epochs": "20.5"}, "is not a whole number"),
    ({"bounty_eth": "1000000"}, "more than the account balance"),
    ({"target": "1.5"}, "between 0.0 and 1.0"),
    ({"target": "0.1"}, "already scores"),
    ({"metric": "f1"}, "Not a valid choice"),
    ({"mechanism": "lottery"}, "Not a valid choice"),
    ({"deadline_days": "", "deadline_at": ""}, "Give a deadline"),
    ({"deadline_days": "", "deadline_at": "2001-01-01T00:00"}, "This date and time has passed"),
    ({"eval_window_hours": "0"}, "between 0.01 and 2160"),
    ({"deposit_eth": "-0.1"}, "at least 0"),
    ({"key_size": "777"}, "Not a valid choice"),
    ({"update_rule": "adam"}, "Not a valid choice"),
    ({"learning_rate": "0"}, "Number must be between"),
    ({"epochs": "0"}, "between 1 and 1000"),
    ({"holdout_fraction": "0.95"}, "between 0.05 and 0.8"),
    ({"data_path": ""}, "Upload a CSV file or give a path"),
    ({"data_path": "/no/such/file.csv"}, "no such file"),
]


def _nothing_happened(env, before_balance: int) -> None:
    assert env.repo.model_count() == 0
    assert env.w3.eth.get_balance(env.accounts[0].address) == before_balance
    company = env.home / "company" / "deployments"
    leftovers = [p for p in company.rglob("*") if p.is_file()] if company.exists() else []
    assert leftovers == [], leftovers


def _field_errors(html: str, field_id: str) -> str:
    """The errors shown in the ``.field`` block of input ``field_id``."""
    block = html.split(f'id="{field_id}"', 1)[1].split('<div class="field', 1)[0]
    return " ".join(re.findall(r"<li>(.*?)</li>", block))


def test_a_deposit_above_the_bounty_is_refused_under_its_field(web, env, lender_data):
    form = create_form(csrf(web), lender_data["lender"], deposit_eth="1000000")
    html = web.post("/models/new", data=form).get_data(as_text=True)
    errors = _field_errors(html, "deposit_eth")
    assert "1,000,000.00 ETH" in errors and "no data owner would pay it" in errors
    assert "wei" not in errors
    assert env.repo.model_count() == 0


def test_a_past_deadline_date_shows_under_the_date_field(web, env, lender_data):
    form = create_form(csrf(web), lender_data["lender"], deadline_at="2001-01-01T00:00")
    html = web.post("/models/new", data=form).get_data(as_text=True)
    assert "This date and time has passed" in _field_errors(html, "deadline_at")
    assert _field_errors(html, "deadline_days") == ""
    assert env.repo.model_count() == 0


def test_a_chosen_csv_dropped_by_an_error_is_said_so(web, env, lender_data):
    form = create_form(csrf(web), "", name="x")  # a bad name: the form comes back
    form["data_file"] = (io.BytesIO(lender_data["lender"].read_bytes()), "my_loans.csv")
    resp = web.post("/models/new", data=form, content_type="multipart/form-data")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert 'id="dropped"' in html and "my_loans.csv" in html and "choose it again" in html
    fresh = web.get("/models/new").get_data(as_text=True)
    assert 'id="dropped"' not in fresh


@pytest.mark.parametrize(("override", "message"), BAD_CREATE)
def test_create_rejects_bad_input(web, env, lender_data, override, message):
    token = csrf(web)
    before = env.w3.eth.get_balance(env.accounts[0].address)
    form = create_form(token, lender_data["lender"])
    form.update(override)
    resp = web.post("/models/new", data=form)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert "Nothing was sent" in html
    assert message in html, re.findall(r"<li>(.*?)</li>", html)
    _nothing_happened(env, before)


def test_create_rejects_unreadable_upload(web, env):
    before = env.w3.eth.get_balance(env.accounts[0].address)
    form = create_form(csrf(web), "")
    form["data_file"] = (io.BytesIO(b"\x00\x01\x02 not a csv \xff" * 50), "loans.csv")
    resp = web.post("/models/new", data=form, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "loans.csv" in resp.get_data(as_text=True)
    _nothing_happened(env, before)


def test_create_rejects_csv_without_loans(web, env, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n")
    before = env.w3.eth.get_balance(env.accounts[0].address)
    resp = web.post("/models/new", data=create_form(csrf(web), path))
    assert resp.status_code == 400
    assert "other.csv" in resp.get_data(as_text=True)
    _nothing_happened(env, before)


def test_create_rejects_upload_and_path_together(web, env, lender_data):
    before = env.w3.eth.get_balance(env.accounts[0].address)
    form = create_form(csrf(web), lender_data["lender"])
    form["data_file"] = (io.BytesIO(lender_data["lender"].read_bytes()), "lender.csv")
    resp = web.post("/models/new", data=form, content_type="multipart/form-data")
    assert resp.status_code == 400
    assert "not both" in resp.get_data(as_text=True)
    _nothing_happened(env, before)


def test_create_without_csrf_token_is_refused(web, env, lender_data):
    before = env.w3.eth.get_balance(env.accounts[0].address)
    form = create_form("", lender_data["lender"])
    del form["csrf_token"]
    resp = web.post("/models/new", data=form)
    assert resp.status_code == 400
    assert "Form expired" in resp.get_data(as_text=True)
    _nothing_happened(env, before)


def test_upload_over_the_cap_is_refused(env, lender_data):
    app = create_app(app_config(env, MAX_CONTENT_LENGTH=10_000))
    web = app.test_client()
    form = create_form(csrf(web), "")
    form["data_file"] = (io.BytesIO(lender_data["lender"].read_bytes()), "lender.csv")
    resp = web.post("/models/new", data=form, content_type="multipart/form-data")
    assert resp.status_code == 413
    assert "Upload too large" in resp.get_data(as_text=True)
    assert env.repo.model_count() == 0


def test_action_forms_refuse_bad_input(web, env, lender_data):
    """Actions on unknown models or submissions, and without a CSRF token."""
    token = csrf(web)
    assert web.post("/models/99/close", data={"csrf_token": token}).status_code == 404
    closing = {"csrf_token": token, "confirm": "yes"}
    assert web.post("/models/99/close", data=closing).status_code == 400
    assert web.post("/models/99/evaluate-all", data={"csrf_token": token}).status_code == 302
    assert web.get("/models/99").status_code == 404
    assert web.post("/models/99/auto", data={"csrf_token": token}).status_code == 404
    resp = web.post("/models/1/evaluate/5", data={"csrf_token": token})
    assert resp.status_code == 302
    assert "not waiting" in web.get("/").get_data(as_text=True) or True
    assert web.post("/models/1/close", data={}).status_code == 400  # no token
    assert web.post("/account/withdraw", data={}).status_code == 400  # no token
    resp = web.post("/account/withdraw", data={"csrf_token": token})
    assert resp.status_code == 409  # nothing to withdraw: the contract refuses, page says why
    assert "NothingToWithdraw" in resp.get_data(as_text=True)
    assert env.repo.model_count() == 0


def test_close_twice_and_reveal_while_open_are_refused(web, env, lender_data):
    resp = web.post("/models/new", data=create_form(csrf(web), lender_data["lender"]))
    assert resp.status_code == 302
    token = csrf(web)
    resp = web.post("/models/1/reveal", data={"csrf_token": token})
    assert resp.status_code == 400 and "still open" in resp.get_data(as_text=True)
    resp = web.post("/models/1/reclaim", data={"csrf_token": token})
    assert resp.status_code == 409 and "ModelStillOpen" in resp.get_data(as_text=True)
    assert not env.repo.model(1).revealed
    # closing asks first: the page says what it means, and nothing is sent
    for ask in (
        web.get("/models/1/close"),
        web.post("/models/1/close", data={"csrf_token": token}),
    ):
        assert ask.status_code == 200
        assert "Closing cannot be undone" in ask.get_data(as_text=True)
    assert env.repo.model(1).is_open
    assert 'href="/models/1/close"' in web.get("/models/1").get_data(as_text=True)
    closing = {"csrf_token": token, "confirm": "yes"}
    assert web.post("/models/1/close", data=closing).status_code == 302
    assert not env.repo.model(1).is_open
    resp = web.post("/models/1/close", data=closing)
    assert resp.status_code == 409 and "ModelNotOpen" in resp.get_data(as_text=True)
    assert web.get("/models/1/close").status_code == 302  # already closed: back to the model
