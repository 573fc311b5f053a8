"""Fixtures for the insurance workflows: eth-tester chain with ModelRepository and PolicyBook,
the embedded store, and a small closed claims task (512-bit Paillier keys).

- ``insurer_data``: a generated insurer file (session).
- ``insurance``: an :class:`InsuranceEnv`: ``lender`` (the insurer, dev account 0), ``desk``
  (its :class:`InsuranceDesk`), ``book`` (insurer's PolicyBook), ``customer_book(i)``,
  ``model_id`` (closed, not deployed), ``store``, ``chain_time``, ``home``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.insurance import closed_claims_model, insurer_file

PASSPHRASE = "insurance-test-passphrase"


@pytest.fixture(scope="session")
def insurer_data(tmp_path_factory):
    return insurer_file(tmp_path_factory.mktemp("insurer") / "insurer_policies.csv")


@dataclass
class InsuranceEnv:
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
    data: Path

    def customer_book(self, i: int = 1) -> Any:
        return self.book.as_account(self.clients[i])


@pytest.fixture
def insurance(w3, accounts, clients, repository, chain_time, tmp_path, insurer_data):
    from hessian_common.chain.policybook import PolicyBook, deploy_policybook
    from hessian_common.insurance.underwriting import InsuranceDesk
    from hessian_common.store import EmbeddedStore
    from hessian_common.tasks import Lender, LenderState

    store = EmbeddedStore(tmp_path / "store")
    lender = Lender(repository, store, LenderState(tmp_path / "company"), PASSPHRASE)
    model_id = closed_claims_model(lender, insurer_data)
    address = deploy_policybook(clients[0], repository.address, record=False)
    book = PolicyBook(clients[0], address)
    return InsuranceEnv(
        w3=w3, accounts=accounts, clients=clients, lender=lender,
        desk=InsuranceDesk(lender, book), book=book, store=store, chain_time=chain_time,
        home=tmp_path, model_id=model_id, data=insurer_data,
    )  # fmt: skip
