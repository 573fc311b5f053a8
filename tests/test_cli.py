"""The console entry point: help works and lists commands; errors are messages, not tracebacks."""

from __future__ import annotations

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hessian_cli", *args], capture_output=True, text=True, timeout=120
    )


def test_help_lists_commands():
    out = run("--help")
    assert out.returncode == 0, out.stderr
    assert "Usage" in out.stdout
    assert "bench" in out.stdout


def test_unknown_command_fails_cleanly():
    out = run("no-such-command")
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
