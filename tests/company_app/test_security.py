"""The company app keeps the lender's passphrase out of its config and its pages."""

from __future__ import annotations

from tests.company_app.helpers import create_form, csrf
from tests.fixtures.lender import PASSPHRASE


def test_passphrase_is_not_in_the_app_config(app, web, lender_data):
    assert "COMPANY_PASSPHRASE" not in app.config
    resp = web.post("/models/new", data=create_form(csrf(web), lender_data["lender"]))
    assert resp.status_code == 302
    for url in ("/", "/models/1", "/account/", "/models/new", "/models/1/audit"):
        assert PASSPHRASE not in web.get(url).get_data(as_text=True)
