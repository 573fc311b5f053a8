"""The background journal worker, and ``hessian owner`` serving for real."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import requests

from data_owner_app import create_app
from hessian_common import owner
from hessian_common.config import load_settings
from hessian_common.journal import State
from tests.fixtures.procs import free_port, stop_process, wait_http
from tests.owner.world import prepare


def test_worker_thread_sends_what_waits(tmp_path, owner_repo, owner_store, lender, owner_split):
    """An entry journaled while nothing could send it is picked up by the app's own worker."""
    app = create_app(
        {
            "TESTING": True,
            "OWNER_WORKER": True,
            "OWNER_RETRY_INTERVAL": 0.1,
            "HESSIAN_SETTINGS": load_settings(home=tmp_path / "home"),
            "OWNER_STATE_DIR": tmp_path / "owner",
            "OWNER_REPO": owner_repo,
            "OWNER_STORE": owner_store,
        }
    )
    svc = app.extensions["owner"]
    try:
        m = owner.get_model(owner_repo, owner_store, lender.model_id)
        report = owner.validate_for_model(owner_split / "owner_02.csv", m.spec)
        current, base = owner.current_weights(owner_store, m)
        blob = prepare(owner_repo, m, current, report.data, base)
        e = svc.journal.add(
            model_id=m.model_id,
            owner=svc.address,
            digest=report.digest,
            rows=report.rows,
            blob=blob.to_bytes(),
            deposit=m.deposit,
        )
        deadline = time.monotonic() + 30
        while svc.journal.get(e.id).state is not State.PUBLISHED:
            assert time.monotonic() < deadline, svc.journal.get(e.id)
            time.sleep(0.1)
        assert owner_repo.model(m.model_id).submission_count == 1
        time.sleep(0.5)  # more worker passes change nothing
        assert owner_repo.model(m.model_id).submission_count == 1
    finally:
        svc.worker.stop()
        svc.worker.join(timeout=10)


def test_hessian_owner_never_falls_back_to_a_dev_key_when_the_chain_is_down(tmp_path):
    """A chain that does not answer cannot be checked to be a local demo chain, so the
    publicly known dev key is not used: without a keystore the command stops and says why."""
    dead = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "HESSIAN_HOME": str(tmp_path / "home")}
    out = subprocess.run(
        [sys.executable, "-m", "hessian_cli", "owner", "--rpc", dead, "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert "does not answer" in out.stderr and "keystore" in out.stderr


def test_hessian_owner_serves_even_with_the_chain_down(tmp_path):
    """With its own keystore the owner app starts while the chain is down."""
    from hessian_common.chain import create_keystore

    port = free_port()
    dead = f"http://127.0.0.1:{free_port()}"
    home = tmp_path / "home"
    create_keystore(home / "owner" / "keystore.json", "owner passphrase")
    env = {**os.environ, "HESSIAN_HOME": str(home), "HESSIAN_OWNER_PASSPHRASE": "owner passphrase"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "hessian_cli", "owner", "--rpc", dead, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/", timeout=60, proc=proc)
        r = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert r.status_code == 200
        assert "Chain unreachable" in r.text and "local journal" in r.text
        r = requests.get(f"http://127.0.0.1:{port}/submissions/status.json", timeout=10)
        assert r.json()["submissions"] == [] and dead in r.json()["chain_error"]
        assert (tmp_path / "home" / "owner" / "journal.sqlite").exists()
    finally:
        stop_process(proc)
    out = proc.stdout.read()
    assert "Traceback" not in out and f"http://127.0.0.1:{port}/" in out
