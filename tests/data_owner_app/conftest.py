"""Data-owner app tests: the real app on a real chain and store, driven by Flask's test client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from data_owner_app import create_app
from hessian_common.config import load_settings
from tests.fixtures.chain import RestartableGanache
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


@pytest.fixture
def restartable_ganache(tmp_path) -> Iterator[RestartableGanache]:
    """A Ganache of this test's own, which the test may stop and start again (same chain)."""
    node = RestartableGanache(tmp_path / "ganache")
    node.start()
    yield node
    node.stop()
