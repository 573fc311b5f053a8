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
import threading
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


class Output:
    """The demo's output, read line by line on a thread (so a test can wait for a line)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen) -> None:
        for line in proc.stdout:
            with self._lock:
                self.lines.append(line)

    def text(self) -> str:
        with self._lock:
            return "".join(self.lines)

    def wait_for(self, needle: str, timeout: float, start: int = 0) -> str:
        """Wait until ``needle`` is printed (after line ``start``); return the output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                tail = "".join(self.lines[start:])
            if needle in tail:
                return tail
            time.sleep(0.2)
        raise AssertionError(f"{needle!r} not printed within {timeout}s:\n{self.text()}")

    def mark(self) -> int:
        with self._lock:
            return len(self.lines)


def _chain_pid(home: Path) -> int:
    recorded = json.loads(_run_file(home).read_text())["children"]
    [chain] = [c for c in recorded if c["name"] == "ganache"]
    return int(chain["pid"])


def _close_demo_task(company: str) -> None:
    """The lender closes the demo task through the company app (confirmation included)."""
    session = requests.Session()
    page = session.get(company + "models/1/close", timeout=30)
    assert page.status_code == 200 and "Closing cannot be undone" in page.text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    done = session.post(
        company + "models/1/close", data={"csrf_token": token, "confirm": "yes"}, timeout=60
    )
    assert done.status_code == 200 and "is closed to new submissions" in done.text


def test_first_run_serves_both_apps_and_ctrl_c_stops_everything(demo_env):
    home = demo_env["home"]
    proc = subprocess.Popen(
        hessian_cmd(*demo_env["args"]),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(),
    )
    output = Output(proc)
    try:
        out = output.wait_for("Press Ctrl-C", timeout=240)
        base = demo_env["base"]
        urls = [f"http://127.0.0.1:{base + k}/" for k in range(OWNERS + 1)]
        for url in urls:
            assert url in out, f"{url} not printed:\n{out}"
            assert requests.get(url, timeout=30).status_code == 200
        # The company app lists the ready-made demo task; the owner apps see it on chain.
        company = requests.get(urls[0], timeout=30).text
        assert "Demo: Lending Club default risk" in company
        # the demo claims model is deployed with capital: customers can buy a policy at once
        insurance = requests.get(urls[0] + "insurance/", timeout=30).text
        assert "Demo: motor claims model" in insurance and "100.00 ETH" in insurance
        assert "Demo: motor claims model" in requests.get(urls[1] + "insure/", timeout=30).text
        owner = requests.get(urls[1], timeout=30).text
        assert "Demo: Lending Club default risk" in owner
        # Issue 15: the demo task's bounty is in HSN, the credit model lends TestUSD, and the
        # owners (borrowers too) start with both tokens.
        assert "currencies             HSN 0x" in out and "TestUSD 0x" in out
        assert "1,000.00 HSN" in company  # the demo task's bounty
        assert 'data-currency="HSN">1,000.00 HSN' in owner and "20,000.00 tUSD" in owner
        borrow = requests.get(urls[1] + "borrow/", timeout=30).text
        assert re.search(r"Paid in\s*tUSD", re.sub(r"<[^>]+>", "", borrow)), borrow
        # The files a newcomer can upload are printed and exist.
        files = re.findall(r"(\S+owner_0\d\.csv)", out)
        assert len(files) == OWNERS, out
        for f in files:
            assert Path(f).stat().st_size > 1000
        recorded = json.loads(_run_file(home).read_text())["children"]
        assert {c["name"] for c in recorded} == {"ganache", "company", "owner-1", "owner-2"}
        assert all(pid_alive(c["pid"]) for c in recorded)

        # The chain stops: the demo and its apps stay up, the chain comes back on its state.
        first_chain = _chain_pid(home)
        at = output.mark()
        os.kill(first_chain, signal.SIGTERM)
        said = output.wait_for("chain     back at", timeout=120, start=at)
        assert f"ganache (PID {first_chain}) stopped" in said and "the apps keep running" in said
        assert proc.poll() is None
        second_chain = _chain_pid(home)
        assert second_chain != first_chain and pid_alive(second_chain)
        for url in urls:
            page = requests.get(url, timeout=30)
            assert page.status_code == 200 and "The chain is not answering" not in page.text
        assert "Demo: Lending Club default risk" in requests.get(urls[1], timeout=30).text

        # The chain hangs (alive, paused): the demo says so; the apps answer with the demo's
        # command and the last known state; then it continues.
        at = output.mark()
        os.kill(second_chain, signal.SIGSTOP)
        try:
            said = output.wait_for("is running but has not answered", timeout=60, start=at)
            assert f"kill -CONT {second_chain}" in said
            page = requests.get(urls[1], timeout=15)
            assert page.status_code == 200
            assert "The chain is not answering" in page.text
            assert "The demo restarts its chain by itself" in page.text
            assert f"--state-dir {home / 'chain'}" in page.text
            assert "You are seeing the last known state" in page.text
        finally:
            os.kill(second_chain, signal.SIGCONT)
        output.wait_for("chain     answering again", timeout=60, start=at)

        # The lender closes the demo task (the second run must not replace it).
        _close_demo_task(urls[0])

        recorded = json.loads(_run_file(home).read_text())["children"]
        pids = [c["pid"] for c in recorded]
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
        rest = output.text()
        assert proc.returncode == 0, rest
        assert "Traceback" not in rest
        for c in recorded:
            assert f"stopped   {c['name']} (PID {c['pid']})" in rest
        # the chain is stopped last
        assert rest.rindex("stopped   ganache") > max(
            rest.rindex(f"stopped   {n}") for n in ("company", "owner-1", "owner-2")
        )
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
    # the demo task was closed in the first run: reused and reported, not replaced and funded
    assert "it is closed" in text and "--new-task" in text, text
    assert "task      creating" not in text and "lending   training" not in text, text
    assert "lending   reusing deployed model #2" in text, text
    assert "insurance reusing deployed claims model #3" in text, text
    assert "reusing PolicyBook" in text and "insurance training" not in text, text
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
