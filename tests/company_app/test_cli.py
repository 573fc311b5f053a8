"""``hessian company``: help, and bad options give a message, never a traceback."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hessian_cli", "company", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_help_lists_the_options():
    out = run("--help")
    assert out.returncode == 0, out.stderr
    for option in ("--rpc", "--port", "--store-dir", "--home", "--host"):
        assert option in out.stdout


def test_bad_port_and_account_fail_cleanly(tmp_path):
    out = run("--port", "0", "--home", str(tmp_path))
    assert out.returncode != 0 and "--port" in out.stderr and "Traceback" not in out.stderr
    out = run("--account", "bogus", "--home", str(tmp_path), "--rpc", "http://127.0.0.1:9")
    assert out.returncode != 0 and "dev:N" in out.stderr and "Traceback" not in out.stderr
    out = run("--rpc", "ftp://x", "--home", str(tmp_path))
    assert out.returncode == 1 and "rpc_url" in out.stderr and "Traceback" not in out.stderr


def test_audit_command_for_anyone(env, lender_data, monkeypatch):
    """``hessian company audit`` re-checks a revealed model with the bundle, no key."""
    from click.testing import CliRunner

    import hessian_common.chain as chain
    from hessian_cli.company import company
    from hessian_common.lender import Lender, LenderState
    from tests.company_app.conftest import PASSPHRASE, owner_submit
    from tests.company_app.test_lender import params

    lender = Lender(env.repo, env.store, LenderState(env.home / "company"), PASSPHRASE)
    record = lender.create_task(params(lender_data["lender"]))
    owner_submit(env, record.model_id, 1, lender_data["owners"][0])
    lender.evaluate_all_waiting(record.model_id)
    lender.close(record.model_id)
    lender.reveal_test_set(record.model_id)
    bundle = lender.record(record.model_id).audit_bundle_cid

    from eth_account import Account

    monkeypatch.setattr(chain, "connect", lambda url, **kw: env.w3)  # the in-process chain
    # eth-tester, unlike real nodes, wants a funded ``from`` even for eth_call.
    monkeypatch.setattr(Account, "create", staticmethod(lambda *a: env.accounts[4]))
    args = [
        "--home",
        str(env.home / "auditor"),
        "--store-dir",
        str(env.store.root),
        "--contract",
        env.repo.address,
        "audit",
        str(record.model_id),
    ]
    result = CliRunner().invoke(company, [*args, "--bundle", bundle])
    assert result.exit_code == 0, result.output
    assert "commitment: matches" in result.output and "2/2 scores reproduced" in result.output
    result = CliRunner().invoke(company, args)  # no bundle, no key: a clear refusal
    assert result.exit_code != 0 and "audit bundle" in str(result.exception or result.output)


def test_company_serves_on_loopback_and_reports_the_chain_down(tmp_path):
    """The real command under waitress: binds 127.0.0.1, every page has the status bar."""
    import os

    import requests

    from tests.fixtures.procs import free_port, stop_process, wait_http

    port = free_port()
    env = {**os.environ, "HESSIAN_COMPANY_PASSPHRASE": "a long passphrase", "HESSIAN_CONFIG": ""}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hessian_cli",
            "company",
            "--port",
            str(port),
            "--home",
            str(tmp_path),
            "--rpc",
            f"http://127.0.0.1:{free_port()}",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/_web/status", timeout=60, proc=proc)
        resp = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert resp.status_code == 503 and "The chain is unreachable" in resp.text
        form = requests.get(f"http://127.0.0.1:{port}/models/new", timeout=10)
        assert form.status_code == 200 and 'name="csrf_token"' in form.text
        assert "Chain unreachable" in form.text
    finally:
        stop_process(proc)
    out, err = proc.communicate(timeout=10)
    assert b"Traceback" not in err
    assert f"http://127.0.0.1:{port}/".encode() in out
