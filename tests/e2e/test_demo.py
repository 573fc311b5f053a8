"""`make demo`'s path: ``hessian demo`` brings everything up, a second run reuses it, and
Ctrl-C (SIGINT) stops exactly what the demo started.

Real Ganache (npm), the real embedded store, both apps as real processes; a fresh demo home
and free ports per test module.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.e2e.helpers import clean_env, eventually, hessian_cmd, pid_alive, port_block
from tests.fixtures.procs import free_port

pytestmark = [pytest.mark.ganache, pytest.mark.slow]

OWNERS = 2


@pytest.fixture(scope="module")
def demo_env(tmp_path_factory):
    home = tmp_path_factory.mktemp("demo-home")
    chain_port = free_port()
    base = port_block(OWNERS + 1)
    args = [
        "demo",
        "--home",
        str(home),
        "--chain-port",
        str(chain_port),
        "--port-base",
        str(base),
        "--owners",
        str(OWNERS),
        "--rows",
        "2000",
        "--key-size",
        "512",
        "--no-browser",
    ]
    return {"home": home, "args": args, "base": base, "chain_port": chain_port}


def _run_file(home):
    return home / "run" / "demo.json"


def test_first_run_serves_both_apps_and_ctrl_c_stops_everything(demo_env):
    home = demo_env["home"]
    proc = subprocess.Popen(
        hessian_cmd(*demo_env["args"]),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(),
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        out = "".join(lines)
        assert "Press Ctrl-C" in out, f"demo did not come up:\n{out}"
        base = demo_env["base"]
        urls = [f"http://127.0.0.1:{base + k}/" for k in range(OWNERS + 1)]
        for url in urls:
            assert url in out, f"{url} not printed:\n{out}"
            assert requests.get(url, timeout=30).status_code == 200
        # The company app lists the ready-made demo task; the owner apps see it on chain.
        company = requests.get(urls[0], timeout=30).text
        assert "Demo: Lending Club default risk" in company
        owner = requests.get(urls[1], timeout=30).text
        assert "Demo: Lending Club default risk" in owner
        # The files a newcomer can upload are printed and exist.
        files = re.findall(r"(\S+owner_0\d\.csv)", out)
        assert len(files) == OWNERS, out
        for f in files:
            assert Path(f).stat().st_size > 1000
        recorded = json.loads(_run_file(home).read_text())["children"]
        assert {c["name"] for c in recorded} == {"ganache", "company", "owner-1", "owner-2"}
        pids = [c["pid"] for c in recorded]
        assert all(pid_alive(p) for p in pids)

        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, rest
        assert "Traceback" not in rest
        for c in recorded:
            assert f"stopped   {c['name']} (PID {c['pid']})" in rest
        eventually(lambda: not any(pid_alive(p) for p in pids), timeout=20)
        assert not _run_file(home).exists()
        for url in urls:
            with pytest.raises(requests.ConnectionError):
                requests.get(url, timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_second_run_reuses_everything_and_check_exits(demo_env):
    out = subprocess.run(
        hessian_cmd(*demo_env["args"], "--check"),
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    text = out.stdout
    assert "contract  reusing ModelRepository" in text, text
    assert "data      reusing" in text, text
    assert "task      reusing model #1" in text, text
    assert re.search(r"check\s+company HTTP 200, owner-1 HTTP 200, owner-2 HTTP 200", text), text
    assert not _run_file(demo_env["home"]).exists()


def test_a_taken_port_is_a_message_and_starts_nothing(demo_env):
    import socket

    base = port_block(OWNERS + 1)
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", base + 1))
    blocker.listen()
    try:
        args = list(demo_env["args"])
        args[args.index("--port-base") + 1] = str(base)
        out = subprocess.run(
            hessian_cmd(*args, "--check"),
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=300,
        )
    finally:
        blocker.close()
    assert out.returncode == 1, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert f"error: port {base + 1} (for data owner 1) is in use" in out.stderr
    # Nothing was started, nothing is left behind.
    assert "chain     started" not in out.stdout
    assert not _run_file(demo_env["home"]).exists()


@pytest.mark.anvil
def test_anvil_demo_left_behind_by_kill_is_refused_then_stopped(tmp_path):
    """A killed demo leaves its children; the next run says so, and ``--stop`` ends them."""
    base = port_block(2)
    args = [
        "demo",
        "--kind",
        "anvil",
        "--home",
        str(tmp_path),
        "--chain-port",
        str(free_port()),
        "--port-base",
        str(base),
        "--owners",
        "1",
        "--rows",
        "1000",
        "--key-size",
        "512",
        "--no-browser",
    ]
    proc = subprocess.Popen(
        hessian_cmd(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(),
    )
    try:
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        assert "Press Ctrl-C" in "".join(lines), "".join(lines)
        assert "started anvil" in "".join(lines)
        recorded = json.loads(_run_file(tmp_path).read_text())["children"]
        pids = [c["pid"] for c in recorded]
        assert {c["name"] for c in recorded} == {"anvil", "company", "owner-1"}
        proc.kill()  # no clean-up: the children live on in their own sessions
        proc.wait(timeout=30)
        assert all(pid_alive(p) for p in pids)

        again = subprocess.run(
            hessian_cmd(*args, "--check"),
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=120,
        )
        assert again.returncode == 1
        assert "a previous demo left" in again.stderr and "--stop" in again.stderr
        assert all(pid_alive(p) for p in pids)  # refusing touched nothing

        stop = subprocess.run(
            hessian_cmd("demo", "--home", str(tmp_path), "--stop"),
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=120,
        )
        assert stop.returncode == 0, stop.stderr
        assert "stopped 3 process(es)" in stop.stdout
        eventually(lambda: not any(pid_alive(p) for p in pids), timeout=30)
        assert not _run_file(tmp_path).exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for c in (
            json.loads(_run_file(tmp_path).read_text())["children"]
            if _run_file(tmp_path).exists()
            else []
        ):
            if pid_alive(c["pid"]):
                os.kill(c["pid"], signal.SIGKILL)
