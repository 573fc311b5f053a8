"""Fixtures for the lending workflows: a real eth-tester chain with ModelRepository and
LoanBook, the embedded store, and a small closed lender task (512-bit Paillier keys).

- ``lending_data``: a generated lender CSV (session).
- ``lending``: a :class:`LendingEnv` for one test: ``lender`` (dev account 0), ``desk``
  (its :class:`LendingDesk`), ``book`` (lender's LoanBook), ``borrower_book(i)``,
  ``model_id`` (created and closed, not yet deployed), ``store``, ``chain_time``, ``home``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.lending import closed_lending_model
from tests.lending.helpers import PASSPHRASE


@pytest.fixture(scope="session")
def lending_data(tmp_path_factory):
    from hessian_common.data.generator import generate_split

    out = tmp_path_factory.mktemp("lending_split")
    generate_split(out, 2200, 1, 23, seed_fraction=0.7, holdout_fraction=0.05)
    return out / "lender_seed.csv"


@dataclass
class LendingEnv:
    w3: Any
    accounts: list
    clients: list
    lender: Any
    desk: Any
    book: Any
    store: Any
    chain_time: Any
    home: Path
    model_id: int

    def borrower_book(self, i: int = 1) -> Any:
        return self.book.as_account(self.clients[i])

    def borrower_dir(self, i: int = 1) -> Path:
        return self.home / f"borrower-{i}"

    def store_files(self) -> int:
        return sum(1 for p in Path(self.store.root).rglob("*") if p.is_file())


@pytest.fixture
def lending(w3, accounts, clients, repository, chain_time, tmp_path, lending_data) -> LendingEnv:
    from hessian_common.chain.deploy import deploy_loanbook
    from hessian_common.chain.loanbook import LoanBook
    from hessian_common.lending.desk import LendingDesk
    from hessian_common.store import EmbeddedStore
    from hessian_common.tasks import Lender, LenderState

    store = EmbeddedStore(tmp_path / "store")
    lender = Lender(repository, store, LenderState(tmp_path / "company"), PASSPHRASE)
    model_id = closed_lending_model(
        lender, lending_data, name="Lending test", mu=0.5, holdout_fraction=0.4
    )
    address = deploy_loanbook(clients[0], repository.address, record=False)
    book = LoanBook(clients[0], address)
    return LendingEnv(
        w3=w3,
        accounts=accounts,
        clients=clients,
        lender=lender,
        desk=LendingDesk(lender, book),
        book=book,
        store=store,
        chain_time=chain_time,
        home=tmp_path,
        model_id=model_id,
    )
