"""Fixtures and helpers for the PolicyBook tests (imported by tests/contracts/test_policybook_*).

A PolicyBook is deployed next to the ``repository`` fixture; the insurer is ``accounts[0]``
(the repository's lender), applicants are ``accounts[1..3]``, ``accounts[5]`` has no role. A
claims model is created and closed early by its insurer, then deployed in the currency of the
``currency`` fixture (ether unless a test module overrides it, e.g. with :func:`token_desk`)
and backed with :data:`CAPITAL` units.

Amounts are in "units" of the currency: :attr:`Desk.unit` base units (1e15 wei for ether, one
dollar = 1e6 base units of the 6-decimal TestUSD).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from hessian_common.chain.client import ChainClient
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.policybook import PolicyBook, PolicyStatus, deploy_policybook
from hessian_common.chain.repository import ModelRepository
from hessian_common.chain.token import ZERO_ADDRESS as ETH
from hessian_common.chain.token import balance_in as balance_of
from hessian_common.chain.token import is_ether as is_eth
from tests.contracts.loanbook_support import (
    APP_CID,
    APP_KEY,
    POLICY_CID,
    create_closed_model,
    digest,
)
from tests.fixtures.chain import ChainTime

__all__ = ["APP_CID", "APP_KEY", "POLICY_CID", "digest"]

DAY = 86_400
QUOTE_VALIDITY = 7 * DAY
START_WINDOW = 10 * DAY
CLAIM_WINDOW = 14 * DAY
TERM = 365 * DAY
PPM_QUOTE = 60_000
EVIDENCE_CID = "bafkreie7q3iidccmpvydo62jdnvtsqqjnuh5yfykz7vr5kqzwhqj7mmrhi"
CAPITAL = 20_000
"""Units of capital the insurer deposits."""
LIMIT, DEDUCTIBLE, PREMIUM = 5_000, 250, 120
"""Units: coverage limit, deductible, premium of the standard quote."""
ETH_UNIT = 10**15
USD_UNIT = 10**6


def deploy_test_usd(client: ChainClient, holders: list[str], amount: int = 10**12) -> str:
    """A TestUSD (6 decimals) with ``amount`` base units from its faucet for each holder."""
    art = load_artifact("TestUSD")
    address = client.deploy(art.abi, art.bytecode)["contractAddress"]
    token = client.w3.eth.contract(address=address, abi=art.abi)
    for who in holders:
        client.transact(token.functions.faucet(who, amount))
    return address


def deploy_bad_token(client: ChainClient, name: str, holders: list[str]) -> tuple[str, object]:
    """One of ``contracts/test/BadTokens.sol`` with 1e24 base units minted to each holder;
    returns its address and web3 contract."""
    art = load_artifact(name)
    address = client.deploy(art.abi, art.bytecode)["contractAddress"]
    client.errors.add_abi(art.abi)
    token = client.w3.eth.contract(address=address, abi=art.abi)
    for who in holders:
        client.transact(token.functions.mint(who, 10**24))
    return address, token


@dataclass
class Desk:
    """The PolicyBook seen by each party, a deployed claims model and the chain clock."""

    insurer: PolicyBook
    holders: list[PolicyBook]
    outsider: PolicyBook
    repo: ModelRepository
    model_id: int
    time: ChainTime
    currency: str
    unit: int

    @property
    def holder(self) -> PolicyBook:
        return self.holders[0]

    def u(self, units: int) -> int:
        """``units`` in base units of the currency."""
        return units * self.unit

    def applied(self, n: int = 1, who: int = 0, coverage: int = LIMIT, term: int = TERM) -> int:
        """A new APPLIED policy (digest ``n``) of holder ``who``."""
        return self.holders[who].apply(self.model_id, digest(n), APP_CID, self.u(coverage), term)

    def quoted(
        self,
        n: int = 1,
        who: int = 0,
        limit: int = LIMIT,
        deductible: int = DEDUCTIBLE,
        premium: int = PREMIUM,
        term: int = TERM,
    ) -> int:
        policy_id = self.applied(n, who)
        self.insurer.quote(
            policy_id, PPM_QUOTE, self.u(premium), self.u(limit), self.u(deductible), term
        )
        return policy_id

    def active(self, n: int = 1, who: int = 0, starts_at: int = 0, **kw: int) -> int:
        policy_id = self.quoted(n, who, **kw)
        self.holders[who].accept(policy_id, starts_at)
        return policy_id

    def status(self, policy_id: int) -> PolicyStatus:
        return self.insurer.policy(policy_id).status

    def held(self) -> int:
        """What the contract holds of the currency."""
        return balance_of(self.insurer.client, self.currency, self.insurer.address)

    def balance_matches(self, *others: str) -> None:
        """``held == totalPending + free + reserved + premiumsHeld``, ``totalPending == Σ
        pendingOf`` over every account used (the parties and ``others``), and ``reserved ==
        Σ reserve`` over the ACTIVE policies with ``reserve + claimsPaid == limit``."""
        book = self.insurer
        total = book.total_pending(self.currency)
        parties = [p.client.address for p in (book, *self.holders, self.outsider)]
        pending = sum(book.pending(a, self.currency) for a in {*parties, *others})
        assert total == pending
        pool = book.pool(self.model_id)
        assert self.held() == total + pool.total + pool.premiums_held
        active = [p for p in book.policies() if p.status == PolicyStatus.ACTIVE]
        assert pool.reserved == sum(p.reserve for p in active)
        for p in active:
            assert p.reserve + p.claims_paid == p.coverage_limit
        assert pool.premiums_held == sum(p.premium for p in active if not p.premium_earned)


def at(time: ChainTime, timestamp: int) -> None:
    """Travel so that the next transaction is mined at ``timestamp`` (see
    :func:`tests.contracts.loanbook_support.at`)."""
    clock(time, timestamp - 1)


def clock(time: ChainTime, timestamp: int) -> None:
    """Travel so that the latest block's time is ``timestamp``."""
    delta = timestamp - time.now()
    assert delta >= 0, f"cannot travel back to {timestamp}"
    if delta:
        time.advance(delta)


@pytest.fixture
def currency() -> str:
    """The currency of the desk's model: ether (a module may override this fixture)."""
    return ETH


@pytest.fixture
def policybook(repository: ModelRepository, client: ChainClient) -> PolicyBook:
    """A PolicyBook linked to ``repository``, acting as ``accounts[0]`` (the insurer)."""
    address = deploy_policybook(
        client,
        repository.address,
        quote_validity=QUOTE_VALIDITY,
        start_window=START_WINDOW,
        claim_window=CLAIM_WINDOW,
        record=False,
    )
    return PolicyBook(client, address)


def make_desk(policybook, repository, clients, chain_time, currency) -> Desk:
    model_id = create_closed_model(repository, chain_time)
    policybook.deploy_model(model_id, POLICY_CID, APP_KEY, currency)
    desk = Desk(
        insurer=policybook,
        holders=[policybook.as_account(c) for c in clients[1:4]],
        outsider=policybook.as_account(clients[5]),
        repo=repository,
        model_id=model_id,
        time=chain_time,
        currency=currency,
        unit=ETH_UNIT if is_eth(currency) else USD_UNIT,
    )
    policybook.deposit_capital(model_id, desk.u(CAPITAL))
    return desk


@pytest.fixture
def desk(policybook, repository, clients, chain_time, currency) -> Desk:
    """A deployed claims model with :data:`CAPITAL` units of capital, as each party."""
    return make_desk(policybook, repository, clients, chain_time, currency)


@pytest.fixture
def usd(client: ChainClient, clients: list[ChainClient]) -> str:
    """A TestUSD with a million dollars for every account."""
    return deploy_test_usd(client, [c.address for c in clients])
