"""Fixtures for the company app: a real eth-tester chain with the deployed contract, the real
embedded store, generated Lending Club data, and the app on them (CSRF on, small keys).

- ``lender_data``: a generated split (session): ``lender`` (the lender's CSV: seed and
  hold-out are split from it by the app), ``owners`` (owner CSVs).
- ``env``: chain + store + repository for one test (``w3``, ``accounts``, ``repo``,
  ``store``, ``home``, ``chain_time``).
- ``app`` / ``web``: the company app and its test client on ``env`` (lender = dev account 0).
- ``csrf(client, url)``: the CSRF token of the form at ``url``.
- ``create_form(...)``: valid create-form fields, to be overridden per test.
- ``owner_submit(env, model_id, owner_index, path)``: a data owner's submission made through
  the library (``hessian_common.owner``), as the data-owner app would.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

PASSPHRASE = "test-passphrase-1"
LENDER_ROWS = 3000


@pytest.fixture(scope="session")
def lender_data(tmp_path_factory):
    from hessian_common.data.generator import generate_split

    out = tmp_path_factory.mktemp("company_split")
    generate_split(out, LENDER_ROWS, 3, 11, seed_fraction=0.35, holdout_fraction=0.05)
    return {
        "dir": out,
        "lender": out / "lender_seed.csv",
        "owners": [out / f"owner_{k:02d}.csv" for k in range(1, 4)],
    }


@dataclass
class Env:
    w3: Any
    accounts: list
    clients: list
    repo: Any
    store: Any
    home: Path
    chain_time: Any

    def owner_repo(self, i: int):
        return self.repo.as_account(self.clients[i])


@pytest.fixture
def env(w3, accounts, clients, repository, chain_time, tmp_path) -> Env:
    from hessian_common.store import EmbeddedStore

    return Env(
        w3=w3,
        accounts=accounts,
        clients=clients,
        repo=repository,
        store=EmbeddedStore(tmp_path / "store"),
        home=tmp_path / "home",
        chain_time=chain_time,
    )


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


@pytest.fixture
def app(env):
    from company_app import create_app

    app = create_app(app_config(env))
    yield app
    app.extensions["company_worker"].stop()
    app.extensions["hessian_jobs"].shutdown(wait=True)


@pytest.fixture
def web(app):
    """Flask's test client on ``app`` (named ``web``: ``client`` is the chain client)."""
    return app.test_client()


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
    }
    form.update(over)
    return form


def owner_submit(env: Env, model_id: int, owner_index: int, path: Path) -> int:
    """Submit a real encrypted update for ``model_id`` as ``accounts[owner_index]``."""
    from hessian_common import owner

    repo = env.owner_repo(owner_index)
    model = owner.get_model(repo, env.store, model_id)
    report = owner.validate_for_model(path, model.spec)
    current, base = owner.current_weights(env.store, model)
    blob = owner.prepare_update(
        model.spec,
        current,
        report.data,
        model_id=model_id,
        base_cid=base,
        account=repo.client.account,
        chain_id=repo.client.chain_id,
        contract=repo.address,
        accepted_rows=model.accepted_rows,
    )
    cid = env.store.put(blob.to_bytes())
    return repo.submit_update(model_id, cid, report.digest, report.rows)


def signed_blob(repo, spec, model_id: int, base: str, weights, rows: int, digest: bytes, **kw):
    """An :class:`UpdateBlob` as ``repo``'s account would send it: for this chain and
    contract, with ``rows`` fresh random row pseudonyms sealed to the spec's row key (unless
    ``rows_sealed`` is given), signed."""
    import os

    from web3 import Web3

    from hessian_common.crypto.sealing import seal
    from hessian_common.learning.spec import UpdateBlob
    from hessian_common.owner import ROWS_INFO

    sealed = ""
    if spec.row_key:
        sealed = seal(bytes.fromhex(spec.row_key), os.urandom(8 * rows), info=ROWS_INFO).hex()
    fields = dict(
        model_id=model_id,
        base_model_cid=base,
        weights=weights,
        rows=rows,
        dataset_digest=bytes(digest).hex(),
        rule=spec.rule,
        chain_id=repo.client.chain_id,
        contract=repo.address,
        owner=Web3.to_checksum_address(repo.client.address),
        rows_sealed=sealed,
    )
    fields.update(kw)
    return UpdateBlob(**fields).sign(repo.client.account)


def wait_jobs(app, timeout: float = 120.0) -> list:
    """Wait until every background job of ``app`` has ended; return them."""
    from hessian_common.web import jobs

    runner = jobs(app)
    deadline = time.monotonic() + timeout
    for job in runner.list():
        runner.wait(job.id, timeout=max(0.1, deadline - time.monotonic()))
    return runner.list()
