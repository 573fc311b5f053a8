"""Every ``hessian`` sub-command the README names is there, and its ``--help`` works."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = [
    "node",
    "deploy",
    "company",
    "owner",
    "data",
    "train",
    "store",
    "bench",
    "demo",
    "simulate",
]
BENCHES = ["gas", "update", "store", "lending"]


def hessian(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the installed console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("hessian")
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_top_level_help_lists_every_command():
    out = hessian("--help")
    assert out.returncode == 0, out.stderr
    listed = {line.split()[0] for line in out.stdout.split("Commands:")[1].splitlines() if line}
    assert set(COMMANDS) <= listed, f"missing from `hessian --help`: {set(COMMANDS) - listed}"


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help_exits_zero(command):
    out = hessian(command, "--help")
    assert out.returncode == 0, f"`hessian {command} --help` failed:\n{out.stderr}"
    assert out.stdout.startswith("Usage: hessian " + command), out.stdout
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("bench", BENCHES)
def test_bench_help_exits_zero(bench):
    out = hessian("bench", bench, "--help")
    assert out.returncode == 0, f"`hessian bench {bench} --help` failed:\n{out.stderr}"
    assert "Traceback" not in out.stderr


def test_version():
    out = hessian("--version")
    assert out.returncode == 0, out.stderr
    assert "0.1.0" in out.stdout


def test_bad_option_is_a_message_not_a_traceback():
    out = hessian("demo", "--kind", "no-such-chain")
    assert out.returncode != 0
    assert "Traceback" not in out.stderr
    assert "no-such-chain" in out.stderr
