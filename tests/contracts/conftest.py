"""Helpers for the ModelRepository tests: a lender, owners, sock puppets, a model factory, the
escrow checks (per currency) and a clock that puts the next transaction at an exact second;
tokens: HSN, TestUSD and plain tokens of any decimals, funded for every account."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from eth_account import Account
from web3 import Web3

from hessian_common.chain.client import ChainClient
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.repository import Mechanism, ModelRepository, test_set_commitment
from hessian_common.chain.token import TestUSD, Token, currency_address
from hessian_common.errors import ContractRevert

CID_A = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
CID_B = "bafkreidon73zkcrwdb5iafqtijxildoonbwnpv7dyd6ef3qdgads2jc4su"
TEST_SET_CID = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
TRANSCRIPT_CID = "bafkreie7q3iidccmpvydo62jdnvtsqqjnuh5yfykz7vr5kqzwhqj7mmrhi"
SALT = b"\x5a" * 32
BOUNTY = Web3.to_wei(1, "ether")
DEPOSIT = Web3.to_wei(0.01, "ether")
STALE = BOUNTY // 10
"""The wrapper's default stale reward for :data:`BOUNTY` (``bounty // 10``)."""
WINDOW = 3_600
DAY = 86_400
REVEAL_WINDOW = 2 * DAY
U64 = 2**64 - 1
ETH = "0x0000000000000000000000000000000000000000"
"""The contracts' currency id of ether (``address(0)``)."""
TX_GAS = 3_000_000


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


def next_block_at(w3: Web3, timestamp: int) -> None:
    """Make ``timestamp`` the time of the next mined block (the next transaction).

    eth-tester mines a block at ``timestamp - 1``; the pending block then has ``timestamp`` as
    long as the wall clock is behind it (our boundaries are hours ahead of it). View calls (and
    the wrapper's revert pre-check) run at the latest block, ``timestamp - 1``: use
    :func:`transact_at` to test a transaction at an exact second.
    """
    latest = int(w3.eth.get_block("latest")["timestamp"])
    assert timestamp >= latest + 2, (timestamp, latest)
    assert timestamp > time.time() + 1, "boundary must be ahead of the wall clock"
    w3.provider.ethereum_tester.time_travel(timestamp)
    assert int(w3.eth.get_block("pending")["timestamp"]) == timestamp


def transact_at(repo: ModelRepository, fn: Any, timestamp: int, value: int = 0) -> dict[str, Any]:
    """Mine ``fn``, sent by ``repo``'s account, in a block at exactly ``timestamp``.

    The gas limit is given, so the client skips its revert pre-check (a call at the latest
    block, one second earlier): a revert is the mined transaction's own, decoded from a replay
    at its block.
    """
    w3 = repo.client.w3
    if int(w3.eth.get_block("pending")["timestamp"]) != timestamp:
        next_block_at(w3, timestamp)
    return repo.client.transact(fn, value=value, gas=TX_GAS)


def reveal(lender: ModelRepository, model_id: int) -> None:
    """The lender reveals the committed test set and a transcript."""
    lender.reveal_test_set(model_id, TEST_SET_CID, SALT, TRANSCRIPT_CID)


def assert_escrow(repo: ModelRepository, model_id: int) -> dict[str, int]:
    """``paid + owed + remaining + reclaimed == bounty`` and ``reserved <= remaining`` for
    ``model_id``; returns the escrow."""
    e = repo.escrow(model_id)
    assert e["paid"] + e["owed"] + e["remaining"] + e["reclaimed"] == e["bounty"], e
    reserved = repo._struct("getModel", model_id)["reserved"]
    assert reserved <= e["remaining"], (reserved, e)
    return e


def held_by(repo: ModelRepository, currency: Any = None) -> int:
    """What the contract holds of ``currency`` (ether by default), by the chain's own count."""
    address = currency_address(currency)
    if address == ETH:
        return repo.client.w3.eth.get_balance(repo.address)
    return Token(repo.client, address).balance_of(repo.address)


def owed_in(repo: ModelRepository, currency: Any = None) -> int:
    """What the contract owes in ``currency``: every pending balance (``totalPendingOf``) plus,
    per model in that currency, the fixed shares not claimed, the bounty not allotted, the
    deposits held and those forfeited (each model's escrow checked on the way)."""
    address = currency_address(currency)
    owed = repo.total_pending(address)
    for model_id in range(1, repo.model_count() + 1):
        if repo.fn.currencyOf(model_id).call() != address:
            continue
        e = assert_escrow(repo, model_id)
        owed += e["owed"] + e["remaining"] + e["deposits_held"] + e["deposits_forfeited"]
    return owed


def assert_solvent(
    repo: ModelRepository, w3: Web3, accounts: Iterable[str], currency: Any = None
) -> None:
    """The contract holds exactly what it owes in ``currency`` (ether by default): the pending
    balances of ``accounts`` (every account that was ever credited, which must add up to
    ``totalPendingOf``) plus, per model in that currency, the fixed shares not claimed, the
    bounty not allotted, the deposits held and those forfeited."""
    pending = sum(repo.pending(a, currency) for a in set(accounts))
    assert pending == repo.total_pending(currency)
    assert held_by(repo, currency) == owed_in(repo, currency)


# ---------------------------------------------------------------- tokens

MILLION = 10**6


def deploy_contract(client: ChainClient, name: str, *args: Any) -> Any:
    """Deploy the compiled contract ``name``; a web3 contract object for its own functions."""
    art = load_artifact(name)
    receipt = client.deploy(art.abi, art.bytecode, *args)
    return client.w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)


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
