"""Helpers of the company-app tests (plain functions; the fixtures are in ``conftest.py``).

- ``app_config(env, **extra)``: the app's config on the training fixtures' ``env``.
- ``csrf(client, url)``: the CSRF token of the form at ``url``.
- ``create_form(...)``: valid create-form fields, to be overridden per test.
- ``wait_jobs(app)``: wait for the app's background jobs.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from hessian_common.web import jobs
from tests.fixtures.lender import PASSPHRASE, Env


def app_config(env: Env, **extra: Any) -> dict[str, Any]:
    cfg = {
        "TESTING": True,
        "HESSIAN_HOME": env.home,
        "W3": env.w3,
        "STORE_OBJ": env.store,
        "CONTRACT_ADDRESS": env.repo.address,
        "ACCOUNT_DEV_INDEX": 0,
        "COMPANY_PASSPHRASE": PASSPHRASE,
        "KEY_SIZES": (512, 1024, 2048),
        "DEFAULT_KEY_SIZE": 512,
        "HESSIAN_STATUS_TTL": 0,
    }
    cfg.update(extra)
    return cfg


_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf(client, url: str = "/models/new") -> str:
    """The CSRF token from the form at ``url``."""
    html = client.get(url).get_data(as_text=True)
    match = _TOKEN.search(html)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def create_form(token: str, data_path: Path | str = "", **over: Any) -> dict[str, Any]:
    form = {
        "csrf_token": token,
        "name": "Personal loans 2026",
        "bounty_eth": "10",
        "metric": "auc",
        "target": "0.9",
        "mechanism": "improvement",
        "deadline_days": "14",
        "deadline_at": "",
        "eval_window_hours": "24",
        "deposit_eth": "0.01",
        "key_size": "512",
        "update_rule": "epochs",
        "learning_rate": "1.0",
        "epochs": "20",
        "mu": "0.05",
        "data_path": str(data_path),
        "holdout_fraction": "0.3",
        "split_seed": "0",
        "min_gain": "",
        "stale_reward_eth": "",
        "reveal_window_days": "14",
        "max_rows": "10000000",
    }
    form.update(over)
    return form


def wait_jobs(app, timeout: float = 120.0) -> list:
    """Wait until every background job of ``app`` has ended; return them."""
    runner = jobs(app)
    deadline = time.monotonic() + timeout
    for job in runner.list():
        runner.wait(job.id, timeout=max(0.1, deadline - time.monotonic()))
    return runner.list()
