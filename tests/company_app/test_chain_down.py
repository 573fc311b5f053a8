"""The chain is down: every page says so clearly, and nothing is half-done."""

from __future__ import annotations

import pytest

from tests.company_app.helpers import create_form, csrf
from tests.fixtures.lender import PASSPHRASE
from tests.fixtures.procs import free_port


@pytest.fixture
def down_app(tmp_path):
    from company_app import create_app
    from hessian_common.store import EmbeddedStore

    app = create_app(
        {
            "TESTING": True,
            "HESSIAN_HOME": tmp_path / "home",
            "RPC_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
            "STORE_OBJ": EmbeddedStore(tmp_path / "store"),
            "COMPANY_PASSPHRASE": PASSPHRASE,
            "KEY_SIZES": (512,),
            "DEFAULT_KEY_SIZE": 512,
            "HESSIAN_STATUS_TTL": 0,
        }
    )
    yield app
    app.extensions["hessian_jobs"].shutdown()


@pytest.mark.parametrize("url", ["/", "/account/", "/models/1", "/models/1/audit"])
def test_pages_show_a_clear_503(down_app, url):
    resp = down_app.test_client().get(url)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 503
    assert "The chain is unreachable" in html
    assert "Chain unreachable" in html  # the status bar
    assert "Traceback" not in html


def test_create_when_chain_down_sends_and_writes_nothing(down_app, lender_data, tmp_path):
    web = down_app.test_client()
    page = web.get("/models/new")
    assert page.status_code == 200 and "Chain unreachable" in page.get_data(as_text=True)
    resp = web.post("/models/new", data=create_form(csrf(web), lender_data["lender"]))
    assert resp.status_code == 503
    assert "Nothing was sent" in resp.get_data(as_text=True)
    company = tmp_path / "home" / "company"
    assert not (company / "deployments").exists()
    assert not (company / "keystore.json").exists()
    assert list((tmp_path / "store").rglob("*.*")) == [] or not any(
        p.is_file() for p in (tmp_path / "store").rglob("*")
    )


def test_status_json_reports_the_chain_down(down_app):
    data = down_app.test_client().get("/_web/status").get_json()
    assert data["chain"]["ok"] is False and "unreachable" in data["chain"]["error"]
    assert data["store"]["ok"] is True


@pytest.mark.anvil
@pytest.mark.slow
def test_node_stopped_mid_session_leaves_state_unchanged(tmp_path, lender_data):
    """A real anvil: create a model through the app, stop the node (by its PID), then every
    action fails with the 503 page and neither the local record nor the store changes."""
    from company_app import create_app, services
    from hessian_common.chain import ChainClient, connect, deploy_repository, dev_account
    from hessian_common.chain.node import launch, wait_for_rpc
    from hessian_common.store import EmbeddedStore
    from tests.fixtures.procs import stop_process

    port = free_port()
    proc = launch("anvil", port, state_dir=tmp_path / "anvil", log_path=tmp_path / "anvil.log")
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_rpc(url, timeout=60, proc=proc)
        address = deploy_repository(ChainClient(connect(url), dev_account(5)), record=False)
        store = EmbeddedStore(tmp_path / "store")
        app = create_app(
            {
                "TESTING": True,
                "HESSIAN_HOME": tmp_path / "home",
                "RPC_URL": url,
                "STORE_OBJ": store,
                "CONTRACT_ADDRESS": address,
                "ACCOUNT_DEV_INDEX": 0,
                "COMPANY_PASSPHRASE": PASSPHRASE,
                "KEY_SIZES": (512,),
                "DEFAULT_KEY_SIZE": 512,
                "HESSIAN_STATUS_TTL": 0,
            }
        )
        web = app.test_client()
        resp = web.post("/models/new", data=create_form(csrf(web), lender_data["lender"]))
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        lender = services.lender(app)
        record_before = lender.record(1).to_dict()
        blobs_before = sorted(p.name for p in (tmp_path / "store").rglob("*") if p.is_file())
        token = csrf(web)
    finally:
        stop_process(proc)

    for url in ("/models/1/close", "/models/1/evaluate-all", "/models/1/reveal"):
        resp = web.post(url, data={"csrf_token": token, "confirm": "yes"})
        assert resp.status_code == 503, (url, resp.status_code)
        assert "The chain is unreachable" in resp.get_data(as_text=True)
    resp = web.get("/")
    assert resp.status_code == 503 and "Chain unreachable" in resp.get_data(as_text=True)
    resp = web.post("/models/new", data=create_form(token, lender_data["lender"]))
    assert resp.status_code == 503
    assert lender.record(1).to_dict() == record_before
    assert lender.records() == [lender.record(1)]
    assert sorted(p.name for p in (tmp_path / "store").rglob("*") if p.is_file()) == blobs_before
    app.extensions["hessian_jobs"].shutdown()
