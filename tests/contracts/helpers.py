"""Plain helpers of the contract tests (no fixtures): CIDs and amounts, digests, the revert
matcher, a clock that puts the next transaction at an exact second, the escrow and solvency
checks (per currency) and a deployer of compiled test contracts. Imported by the tests and by
``conftest.py``, whose fixtures build on them."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

import pytest
from web3 import Web3

from hessian_common.chain.client import ChainClient
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.repository import ModelRepository
from hessian_common.chain.token import Token, currency_address
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


def machine_examples(ci: int) -> int:
    """Runs of a contract state machine: ``ci`` in ``make test`` and CI (bounded so the suite
    stays under 20 minutes; each run is up to its ``stateful_step_count`` steps), or
    ``$HESSIAN_MACHINE_EXAMPLES`` (e.g. 100, with ``HYPOTHESIS_PROFILE=explore`` for fresh
    draws) to search longer."""
    value = os.environ.get("HESSIAN_MACHINE_EXAMPLES", "").strip()
    return int(value) if value else ci
