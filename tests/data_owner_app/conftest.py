"""Data-owner app tests: the real app on a real chain and store, driven by Flask's test client."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from data_owner_app import create_app
from hessian_common.chain.node import launch, wait_for_rpc
from hessian_common.config import load_settings
from tests.fixtures.procs import free_port, stop_process
from tests.owner.fixtures import (  # noqa: F401
    chain_repo,
    journal,
    lender,
    owner_repo,
    owner_split,
    owner_store,
)


@pytest.fixture
def app(tmp_path, owner_repo, owner_store):  # noqa: F811 - fixtures imported above
    """The app as the owner (dev account 1), CSRF off for convenience (tested separately)."""
    app = create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "HESSIAN_SETTINGS": load_settings(home=tmp_path / "home"),
            "OWNER_STATE_DIR": tmp_path / "owner",
            "OWNER_REPO": owner_repo,
            "OWNER_STORE": owner_store,
            "OWNER_BACKOFF_BASE": 0.0,
            "OWNER_MAX_UPLOAD": 2 * 1024 * 1024,
            "HESSIAN_STATUS_TTL": 0.0,
        }
    )
    yield app
    from hessian_common.web import jobs

    jobs(app).shutdown(wait=True)


@pytest.fixture
def client(app):
    return app.test_client()


class RestartableGanache:
    """One Ganache node on a fixed port and database directory, stopped and started by PID."""

    def __init__(self, state_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_dir = state_dir
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = launch("ganache", self.port, self.state_dir, self.state_dir / "ganache.log")
        wait_for_rpc(self.url, timeout=90, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=30)
            self.proc = None


@pytest.fixture
def restartable_ganache(tmp_path) -> Iterator[RestartableGanache]:
    """A Ganache of this test's own, which the test may stop and start again (same chain)."""
    node = RestartableGanache(tmp_path / "ganache")
    node.start()
    yield node
    node.stop()
