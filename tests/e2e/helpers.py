"""Helpers for the end-to-end tests: ports, processes of the ``hessian`` CLI, waiting, and the
world the browser stories share (a Ganache, ``hessian deploy``, the apps as processes)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from tests.fixtures.procs import free_port, stop_process


def port_block(n: int, attempts: int = 50) -> int:
    """A base port ``p`` with ``p .. p + n - 1`` all free on 127.0.0.1 a moment ago."""
    for _ in range(attempts):
        base = free_port()
        if base + n >= 65535:
            continue
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no block of {n} free ports found")


def clean_env(**extra: str | Path) -> dict[str, str]:
    """This environment without any ``HESSIAN_*`` setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HESSIAN_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def hessian_cmd(*args: str) -> list[str]:
    """The command line of ``hessian ARGS`` with this interpreter."""
    return [sys.executable, "-m", "hessian_cli", *args]


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start a process with output to ``log`` (our own PID to stop later)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env
        )


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        try:
            for line in status.read_text().splitlines():
                if line.startswith("State:"):
                    return "Z" not in line.split()[1]
        except OSError:
            return False
    return True


def eventually(check: Callable[[], object], timeout: float = 60.0, every: float = 0.5) -> object:
    """Call ``check`` until it returns something true (returned) or time runs out."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s (last value {last!r})")


# --- the world of a browser story ---------------------------------------------------------


def start_ganache(root: Path) -> tuple[subprocess.Popen, str]:
    """A Ganache on a free port (state and log in ``root / "chain"``), answering; its RPC URL.

    The node is stopped again if it does not answer within 90 s.
    """
    from hessian_common.chain.node import launch, wait_for_rpc

    chain_dir = root / "chain"
    port = free_port()
    node = launch("ganache", port, state_dir=chain_dir, log_path=chain_dir / "ganache.log")
    rpc_url = f"http://127.0.0.1:{port}"
    try:
        wait_for_rpc(rpc_url, timeout=90, proc=node)
    except BaseException:
        stop_process(node)
        raise
    return node, rpc_url


def common_env(root: Path, rpc_url: str) -> dict[str, str | Path]:
    """The settings every party shares: the chain, one embedded store, one deployments dir."""
    return {
        "HESSIAN_RPC_URL": rpc_url,
        "HESSIAN_STORE": "embedded",
        "HESSIAN_STORE_DIR": root / "store",
        "HESSIAN_DEPLOYMENTS_DIR": root / "deployments",
    }


def run_deploy(root: Path, common: dict[str, str | Path], account: int) -> str:
    """Run ``hessian deploy`` as dev account ``account``; assert it worked; return its stdout."""
    deploy = subprocess.run(
        hessian_cmd("deploy", "--account", f"dev:{account}"),
        capture_output=True,
        text=True,
        env=clean_env(HESSIAN_HOME=root / "deployer", **common),
        timeout=300,
    )
    assert deploy.returncode == 0, deploy.stdout + deploy.stderr
    return deploy.stdout


def start_app(
    kind: str, port: int, account: int, home: Path, common: dict[str, str | Path], log: Path
) -> subprocess.Popen:
    """Start ``hessian KIND`` (``company`` or ``owner``) on ``port`` as dev account ``account``.

    Not waited for: pair it with :func:`tests.fixtures.procs.wait_http` (several apps can
    start at once).
    """
    return spawn(
        hessian_cmd(kind, "--port", str(port), "--account", f"dev:{account}"),
        clean_env(HESSIAN_HOME=home, **common),
        log,
    )


def stop_all(procs: Iterable[subprocess.Popen]) -> None:
    """Stop processes we started, by PID, the last started first."""
    for proc in reversed(list(procs)):
        stop_process(proc)


def screenshots_dir(root: Path) -> Path:
    """Where a story's screenshots go: ``HESSIAN_E2E_SCREENSHOTS`` or ``root / "screenshots"``."""
    shots = Path(os.environ.get("HESSIAN_E2E_SCREENSHOTS") or root / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    return shots


def dev_address(index: int) -> str:
    """The address of dev account ``index``."""
    from hessian_common.chain import dev_account

    return dev_account(index).address


def page_text(page) -> str:
    """The page's text as in the HTML (not as CSS shows it: labels may be upper-cased)."""
    return " ".join(page.text_content("body").split())


class StoryWorld:
    """What every story's world can do; a dataclass subclass gives ``rpc_url``, ``shots``
    (a directory), ``logs`` (the apps' log files) and ``step`` (a counter, from 0)."""

    rpc_url: str
    shots: Path
    logs: list[Path]
    step: int

    def balance(self, index: int) -> int:
        """The wallet balance of dev account ``index``, in wei."""
        from hessian_common.chain import connect

        return connect(self.rpc_url).eth.get_balance(dev_address(index))

    def shot(self, page, name: str) -> Path:
        """A full-page screenshot, numbered in the order taken."""
        self.step += 1
        path = self.shots / f"{self.step:02d}_{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    def log_tails(self) -> str:
        """The last 30 lines of each app's log."""
        out = []
        for log in self.logs:
            text = log.read_text(errors="replace") if log.exists() else ""
            out.append(f"--- {log.name}\n" + "\n".join(text.splitlines()[-30:]))
        return "\n".join(out)

    def tell(self, page, story: Callable[[StoryWorld, object], None]) -> None:
        """Run ``story(self, page)``; on failure keep a screenshot and print the logs' tails."""
        try:
            story(self, page)
        except Exception:
            self.shot(page, "failure")
            print(self.log_tails())
            raise
