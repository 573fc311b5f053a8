"""Fixtures and helpers for the LoanBook tests (imported by tests/contracts/test_loanbook_*.py).

A LoanBook is deployed next to the ``repository`` fixture; the lender is ``accounts[0]`` (the
repository's lender), borrowers are ``accounts[1..3]``, ``accounts[5]`` has no role. A model is
created and closed early by its lender, then deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from hessian_common.chain.client import ChainClient
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import deploy_loanbook
from hessian_common.chain.loanbook import LoanBook, LoanStatus
from hessian_common.chain.repository import ModelRepository, test_set_commitment
from tests.fixtures.chain import ChainTime

DAY = 86_400
PERIOD = 30 * DAY
DEFAULT_AFTER = 120 * DAY
OFFER_VALIDITY = 7 * DAY
FUNDING_WINDOW = 5 * DAY
POLICY_CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
APP_CID = "bafkreidon73zkcrwdb5iafqtijxildoonbwnpv7dyd6ef3qdgads2jc4su"
APP_KEY = bytes(range(1, 33))
ETH = 10**18
AMOUNT = ETH  # a $10,000 loan at 1e14 wei per dollar
TERM = 12
APR = 1_200
PD = 80_000


def digest(n: int) -> bytes:
    """A distinct 32-byte application digest."""
    return (1_000 + n).to_bytes(32, "big")


def create_closed_model(repo: ModelRepository, time: ChainTime, close: bool = True) -> int:
    """A model of ``repo``'s account, closed early by it (unless ``close`` is false)."""
    model_id = repo.create_model(
        POLICY_CID,
        bounty=10**15,
        initial_score=600_000,
        target_score=700_000,
        deadline=time.now() + DAY,
        evaluation_window=3_600,
        test_set_commitment=test_set_commitment(POLICY_CID, b"\x01" * 32),
    )
    if close:
        repo.close_model(model_id)
    return model_id


def at(time: ChainTime, timestamp: int) -> None:
    """Travel so that the next transaction is mined at ``timestamp``.

    eth-tester mines each transaction in a new block one second after the latest, while
    ``eth_call`` (views, and the revert check the client runs before sending) sees the latest
    block's time, here ``timestamp - 1``.
    """
    clock(time, timestamp - 1)


def clock(time: ChainTime, timestamp: int) -> None:
    """Travel so that the latest block's time is ``timestamp``: views and the client's
    pre-send revert check see ``timestamp``; the next transaction is mined one second later."""
    delta = timestamp - time.now()
    assert delta >= 0, f"cannot travel back to {timestamp}"
    if delta:
        time.advance(delta)


@dataclass
class Book:
    """The LoanBook seen by each party, a deployed model, and the chain clock."""

    lender: LoanBook
    borrowers: list[LoanBook]
    outsider: LoanBook
    repo: ModelRepository
    model_id: int
    time: ChainTime

    @property
    def borrower(self) -> LoanBook:
        return self.borrowers[0]

    def applied(self, n: int = 1, amount: int = AMOUNT, term: int = TERM, who: int = 0) -> int:
        """A new APPLIED loan (digest ``n``) of borrower ``who``."""
        return self.borrowers[who].apply(self.model_id, digest(n), APP_CID, amount, term)

    def offered(self, n: int = 1, principal: int = AMOUNT, apr: int = APR, term: int = TERM) -> int:
        loan_id = self.applied(n, amount=max(principal, AMOUNT), term=term)
        self.lender.decide(loan_id, True, PD, apr, principal, term)
        return loan_id

    def accepted(self, n: int = 1, **kw: int) -> int:
        loan_id = self.offered(n, **kw)
        self.borrower.accept(loan_id)
        return loan_id

    def funded(self, n: int = 1, **kw: int) -> int:
        loan_id = self.accepted(n, **kw)
        self.lender.fund(loan_id)
        return loan_id

    def status(self, loan_id: int) -> LoanStatus:
        return self.lender.loan(loan_id).status

    def balance_matches(self, *others: str) -> None:
        """``balance == totalPending == Σ pendingOf`` over every account used (the parties and
        the addresses ``others``)."""
        total = self.lender.total_pending()
        parties = [p.client.address for p in (self.lender, *self.borrowers, self.outsider)]
        assert total == sum(self.lender.pending(a) for a in [*parties, *others])
        assert self.lender.client.balance(self.lender.address) == total


def attacker_borrower(book: Book, client: ChainClient, term: int = TERM) -> tuple[Any, int]:
    """A ``LoanBookAttacker`` contract (sent from ``client``) with a FUNDED loan of ``AMOUNT``
    at ``APR`` (its principal pending), and another borrower's funded principal in the book
    too; returns the web3 contract and the attacker's loan id."""
    art = load_artifact("LoanBookAttacker")
    receipt = client.deploy(art.abi, art.bytecode, book.lender.address)
    attacker = client.w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)
    fn = attacker.functions
    client.transact(fn.applyFor(book.model_id, digest(7), APP_CID, AMOUNT, term))
    loan_id = book.lender.loan_count()
    book.lender.decide(loan_id, True, PD, APR, AMOUNT, term)
    client.transact(fn.acceptOffer(loan_id))
    book.funded(1)  # another borrower's principal is in the contract too
    book.lender.fund(loan_id)
    return attacker, loan_id


@pytest.fixture
def loanbook(repository: ModelRepository, client: ChainClient) -> LoanBook:
    """A LoanBook linked to ``repository``, acting as ``accounts[0]`` (the lender)."""
    address = deploy_loanbook(
        client,
        repository.address,
        payment_period=PERIOD,
        default_after=DEFAULT_AFTER,
        offer_validity=OFFER_VALIDITY,
        funding_window=FUNDING_WINDOW,
        record=False,
    )
    return LoanBook(client, address)


@pytest.fixture
def book(loanbook, repository, clients, chain_time) -> Book:
    """A deployed model (closed by the lender) and the LoanBook as each party."""
    model_id = create_closed_model(repository, chain_time)
    loanbook.deploy_model(model_id, POLICY_CID, APP_KEY)
    return Book(
        lender=loanbook,
        borrowers=[loanbook.as_account(c) for c in clients[1:4]],
        outsider=loanbook.as_account(clients[5]),
        repo=repository,
        model_id=model_id,
        time=chain_time,
    )
