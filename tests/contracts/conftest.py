"""Fixtures of the ModelRepository tests: a lender, owners, sock puppets, a model factory;
tokens: HSN, TestUSD and plain tokens of any decimals, funded for every account. The plain
helpers they use (amounts, CIDs, the clock, the escrow checks) are in ``helpers.py``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from hessian_common.chain.client import ChainClient
from hessian_common.chain.repository import Mechanism, ModelRepository, test_set_commitment
from hessian_common.chain.token import TestUSD, Token
from tests.contracts.helpers import (  # noqa: F401  (re-exported for the fixtures)
    BOUNTY,
    CID_A,
    CID_B,
    DAY,
    DEPOSIT,
    ETH,
    MILLION,
    REVEAL_WINDOW,
    SALT,
    STALE,
    TEST_SET_CID,
    TRANSCRIPT_CID,
    TX_GAS,
    U64,
    WINDOW,
    assert_escrow,
    assert_solvent,
    deploy_contract,
    digest,
    held_by,
    next_block_at,
    owed_in,
    reveal,
    reverts,
    transact_at,
)


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
def puppets(
    repository: ModelRepository, client: ChainClient, w3: Web3
) -> Callable[[int], list[ModelRepository]]:
    """``puppets(n)``: the contract as ``n`` fresh funded accounts (a lender's sock puppets)."""

    def make(n: int) -> list[ModelRepository]:
        out = []
        for i in range(n):
            acct = Account.create()
            funder = w3.eth.accounts[i % len(w3.eth.accounts)]
            w3.eth.send_transaction(
                {"from": funder, "to": acct.address, "value": Web3.to_wei(10, "ether")}
            )
            out.append(repository.as_account(client.with_account(acct)))
        return out

    return make


@pytest.fixture
def make_model(lender: ModelRepository, chain_time):
    """``make_model(**overrides) -> model_id`` with sensible defaults: IMPROVEMENT, 0.6 -> 0.7,
    deadline in a day, one-hour evaluation window, two-day reveal window, deposit 0.01 ETH,
    the wrapper's default ``min_gain`` (0), ``max_rows`` and ``stale_reward`` (bounty / 10)."""

    def make(**kw: Any) -> int:
        args: dict[str, Any] = {
            "bounty": BOUNTY,
            "initial_score": 600_000,
            "target_score": 700_000,
            "deadline": chain_time.now() + DAY,
            "evaluation_window": WINDOW,
            "reveal_window": REVEAL_WINDOW,
            "test_set_commitment": test_set_commitment(TEST_SET_CID, SALT),
            "mechanism": Mechanism.IMPROVEMENT,
            "submission_deposit": DEPOSIT,
        }
        spec = kw.pop("spec_cid", CID_A)
        args.update(kw)
        return lender.create_model(spec, **args)

    return make


@pytest.fixture
def hsn(client: ChainClient, clients: list[ChainClient]) -> Token:
    """HSN (18 decimals, permits), signing as accounts[0]; a million HSN for every account."""
    contract = deploy_contract(client, "HessianToken", client.address, 10**27)
    token = Token(client, contract.address)
    for c in clients[1:]:
        token.transfer(c.address, MILLION * 10**18)
    return token


@pytest.fixture
def usd(client: ChainClient, clients: list[ChainClient]) -> TestUSD:
    """TestUSD (6 decimals, permits, a faucet), signing as accounts[0]; a million test
    dollars for every account."""
    contract = deploy_contract(client, "TestUSD")
    token = TestUSD(client, contract.address)
    for c in clients:
        token.faucet(MILLION * 10**6, c.address)
    return token


@pytest.fixture
def plain_token(client: ChainClient, clients: list[ChainClient]) -> Callable[..., Token]:
    """``plain_token(decimals=2, symbol="PLN")``: a permit-less ERC-20, a million whole units
    minted to every account."""

    def make(decimals: int = 2, symbol: str = "PLN") -> Token:
        contract = deploy_contract(client, "PlainToken", f"Plain {symbol}", symbol, decimals)
        for c in clients:
            client.transact(contract.functions.mint(c.address, MILLION * 10**decimals))
        return Token(client, contract.address)

    return make
