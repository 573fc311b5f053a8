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
