"""Helpers for the ModelRepository tests: a lender, owners, and a model factory."""

from __future__ import annotations

from typing import Any

import pytest
from web3 import Web3

from hessian_common.chain.client import ChainClient
from hessian_common.chain.repository import Mechanism, ModelRepository, test_set_commitment
from hessian_common.errors import ContractRevert

CID_A = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
CID_B = "bafkreidon73zkcrwdb5iafqtijxildoonbwnpv7dyd6ef3qdgads2jc4su"
TEST_SET_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
SALT = b"\x5a" * 32
BOUNTY = Web3.to_wei(1, "ether")
DEPOSIT = Web3.to_wei(0.01, "ether")
WINDOW = 3_600
DAY = 86_400


def digest(n: int) -> bytes:
    """A distinct 32-byte dataset digest."""
    return n.to_bytes(32, "big")


def reverts(name: str):
    """``pytest.raises`` for a ContractRevert with the given custom-error name."""
    return pytest.raises(ContractRevert, match=rf"\b{name}\(")


@pytest.fixture
def lender(repository: ModelRepository) -> ModelRepository:
    """The contract as the lender (accounts[0])."""
    return repository


@pytest.fixture
def owners(repository: ModelRepository, clients: list[ChainClient]) -> list[ModelRepository]:
    """The contract as four data owners (accounts[1..4])."""
    return [repository.as_account(c) for c in clients[1:5]]


@pytest.fixture
def outsider(repository: ModelRepository, clients: list[ChainClient]) -> ModelRepository:
    """The contract as someone with no role (accounts[5])."""
    return repository.as_account(clients[5])


@pytest.fixture
def make_model(lender: ModelRepository, chain_time):
    """``make_model(**overrides) -> model_id`` with sensible defaults (IMPROVEMENT, 0.6->0.7)."""

    def make(**kw: Any) -> int:
        args: dict[str, Any] = {
            "bounty": BOUNTY,
            "initial_score": 600_000,
            "target_score": 700_000,
            "deadline": chain_time.now() + DAY,
            "evaluation_window": WINDOW,
            "test_set_commitment": test_set_commitment(TEST_SET_CID, SALT),
            "mechanism": Mechanism.IMPROVEMENT,
            "submission_deposit": DEPOSIT,
        }
        spec = kw.pop("spec_cid", CID_A)
        args.update(kw)
        return lender.create_model(spec, **args)

    return make


def assert_escrow(repo: ModelRepository, model_id: int) -> dict[str, int]:
    """paid + owed + remaining + reclaimed == bounty for ``model_id``; returns the escrow."""
    e = repo.escrow(model_id)
    assert e["paid"] + e["owed"] + e["remaining"] + e["reclaimed"] == e["bounty"], e
    return e
