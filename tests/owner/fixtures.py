"""Fixtures for the owner workflow and the data-owner app (imported by both conftests).

A real chain (eth-tester, fresh per test), the compiled contract, an embedded store, a generated
Lending Club split (once per session) and a lender's open model with a 512-bit Paillier key.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hessian_common.chain.client import eth_tester_web3
from hessian_common.data import generate_split
from hessian_common.journal import Journal
from hessian_common.store import EmbeddedStore
from tests.owner.world import Lender, as_owner, deploy, open_model


@pytest.fixture(scope="session")
def owner_split(tmp_path_factory) -> Path:
    """owner_01..04.csv, lender_seed.csv, lender_holdout.csv (3,000 generated loans)."""
    out = tmp_path_factory.mktemp("owner_split")
    generate_split(out, rows=3000, owners=4, seed=11)
    return out


@pytest.fixture
def chain_repo():
    """A fresh eth-tester chain with ``ModelRepository`` deployed; signs as the lender."""
    w3 = eth_tester_web3()
    return deploy(w3, w3.eth.accounts[0])


@pytest.fixture
def owner_store(tmp_path) -> EmbeddedStore:
    """The content store both sides use (one machine in these tests)."""
    return EmbeddedStore(tmp_path / "store")


@pytest.fixture
def lender(chain_repo, owner_store, owner_split) -> Lender:
    """An open IMPROVEMENT model: 5 ETH bounty, 0.01 ETH deposit, proximal Newton rule."""
    return open_model(chain_repo, owner_store, owner_split)


@pytest.fixture
def owner_repo(chain_repo):
    """The contract as the data owner (dev account 1) sees it."""
    return as_owner(chain_repo)


@pytest.fixture
def journal(tmp_path) -> Journal:
    """The owner's journal, retrying immediately (no backoff) so tests need no sleeps."""
    return Journal(tmp_path / "owner" / "journal.sqlite", backoff_base=0.0)
