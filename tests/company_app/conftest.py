"""Fixtures for the company app: the app on the training fixtures of
``tests/fixtures/lender.py`` (``env``, ``lender_data``; CSRF on, small keys).

- ``app`` / ``web``: the company app and its test client on ``env`` (lender = dev account 0).

The plain helpers (``app_config``, ``csrf``, ``create_form``, ``wait_jobs``) are in
``tests/company_app/helpers.py``.
"""

from __future__ import annotations

import pytest

from company_app import create_app
from tests.company_app.helpers import app_config


@pytest.fixture
def app(env):
    app = create_app(app_config(env))
    yield app
    app.extensions["company_worker"].stop()
    app.extensions["hessian_jobs"].shutdown(wait=True)


@pytest.fixture
def web(app):
    """Flask's test client on ``app`` (named ``web``: ``client`` is the chain client)."""
    return app.test_client()
