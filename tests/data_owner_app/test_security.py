"""Same security rules as the company app: CSRF on every form, upload cap, safe headers,
secret key at rest with 0600, loopback by default, and no key material in any page."""

from __future__ import annotations

import re

import pytest

from data_owner_app import create_app
from hessian_common.config import load_settings
from hessian_common.web import DEFAULT_HOST
from tests.data_owner_app.helpers import upload_file


@pytest.fixture
def csrf_app(tmp_path, owner_repo, owner_store):
    return create_app(
        {
            "TESTING": True,
            "HESSIAN_SETTINGS": load_settings(home=tmp_path / "home"),
            "OWNER_STATE_DIR": tmp_path / "owner",
            "OWNER_REPO": owner_repo,
            "OWNER_STORE": owner_store,
        }
    )


def test_post_without_csrf_token_is_refused(csrf_app, lender, owner_split, owner_repo):
    client = csrf_app.test_client()
    r = upload_file(client, lender.model_id, owner_split / "owner_01.csv")
    assert r.status_code == 400 and "Form expired" in r.get_data(as_text=True)
    r = client.post("/withdraw")
    assert r.status_code == 400
    assert csrf_app.extensions["owner"].journal.entries() == []


def test_post_with_token_from_the_page_works(csrf_app, lender, owner_split):
    client = csrf_app.test_client()
    page = client.get(f"/models/{lender.model_id}/share").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post(
        f"/models/{lender.model_id}/share",
        data={"csrf_token": token, "path": str(owner_split / "owner_01.csv")},
    )
    assert r.status_code == 302 and "/share/" in r.headers["Location"]


def test_secret_key_file_and_headers(csrf_app, tmp_path, lender):
    key = tmp_path / "owner" / "secret_key"
    assert key.exists() and key.stat().st_mode & 0o777 == 0o600
    r = csrf_app.test_client().get("/")
    assert r.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert DEFAULT_HOST == "127.0.0.1"


def test_no_private_key_in_pages(client, lender, owner_repo):
    key_hex = owner_repo.client.account.key.hex()
    for url in ("/", "/models/", f"/models/{lender.model_id}", "/submissions/"):
        body = client.get(url).get_data(as_text=True)
        assert key_hex.removeprefix("0x") not in body


def test_upload_cap_default_is_set(tmp_path, owner_repo, owner_store):
    app = create_app(
        {
            "TESTING": True,
            "HESSIAN_SETTINGS": load_settings(home=tmp_path / "home"),
            "OWNER_STATE_DIR": tmp_path / "owner",
            "OWNER_REPO": owner_repo,
            "OWNER_STORE": owner_store,
        }
    )
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024 * 1024


def test_cli_refuses_bad_options_without_traceback():
    import subprocess
    import sys

    for args in (["--port", "0"], ["--account", "bob", "--rpc", "http://127.0.0.1:9"]):
        out = subprocess.run(
            [sys.executable, "-m", "hessian_cli", "owner", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode != 0
        assert "Traceback" not in out.stderr and out.stderr.strip()
