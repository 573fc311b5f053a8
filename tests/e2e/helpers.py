"""Helpers for the end-to-end tests: ports, processes of the ``hessian`` CLI, waiting."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.fixtures.procs import free_port


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
