# ruff: noqa: F811  (the fixtures come from the support modules and are named as arguments)
"""LoanBook and PolicyBook in ERC-20 tokens: 6-decimal dollars paid by permit, permits that
must be refused, misbehaving tokens (``contracts/test/BadTokens.sol``) that cannot break the
books or lock another currency's money, and a policyholder contract that re-enters."""

from __future__ import annotations

import pytest
from eth_utils import function_signature_to_4byte_selector

from hessian_common.chain.loanbook import LoanStatus, installment_for
from hessian_common.chain.policybook import ClaimStatus, PolicyStatus
from hessian_common.chain.token import NO_PERMIT, Token
from hessian_common.chain.token import ZERO_ADDRESS as ETH
from hessian_common.chain.token import balance_in as balance_of
from hessian_common.errors import ContractRevert
from tests.contracts.helpers import reverts
from tests.contracts.loanbook_support import (  # noqa: F401  (fixtures)
    APP_CID,
    APP_KEY,
    APR,
    POLICY_CID,
    TERM,
    Book,
    book,
    create_closed_model,
    digest,
    loanbook,
)
from tests.contracts.policybook_support import (  # noqa: F401  (fixtures)
    CAPITAL,
    CLAIM_WINDOW,
    EVIDENCE_CID,
    LIMIT,
    PREMIUM,
    at,
    clock,
    deploy_bad_token,
    make_desk,
    policybook,
    usd,
)

DOLLARS = 10**6
LOAN = 8_000 * DOLLARS  # a $8,000 loan is 8,000,000,000 base units of a 6-decimal token


def sign_permit(client, currency, spender, value, deadline):
    """``client``'s permit tuple for ``spender`` to pull ``value`` of the token ``currency``."""
    return Token(client, currency).sign_permit(spender, value, deadline).as_tuple()



def _token_book(book: Book, currency: str) -> Book:
    """The book's lender deploys a second model, in ``currency``; returns a Book on it."""
    model_id = create_closed_model(book.repo, book.time)
    book.lender.deploy_model(model_id, POLICY_CID, APP_KEY, currency)
    return Book(book.lender, book.borrowers, book.outsider, book.repo, model_id, book.time)


def _approvals(client, currency) -> int:
    token = client.w3.eth.contract(
        address=currency,
        abi=[
            {
                "type": "event",
                "name": "Approval",
                "anonymous": False,
                "inputs": [
                    {"name": "owner", "type": "address", "indexed": True},
                    {"name": "spender", "type": "address", "indexed": True},
                    {"name": "value", "type": "uint256", "indexed": False},
                ],
            }
        ],
    )
    return len(token.events.Approval().get_logs(from_block=0))


def _held(book, currency) -> int:
    return balance_of(book.client, currency, book.address)


# ------------------------------------------------------------------ LoanBook in dollars


def test_a_dollar_loan_by_permit_from_funding_to_payoff(book, usd):
    usd_book = _token_book(book, usd)
    lender, borrower = usd_book.lender, usd_book.borrower
    loan_id = usd_book.borrower.apply(usd_book.model_id, digest(50), APP_CID, LOAN, TERM)
    lender.decide(loan_id, True, 80_000, APR, LOAN, TERM)
    borrower.accept(loan_id)
    info = lender.loan(loan_id)
    assert info.currency == usd and info.principal == LOAN
    before = balance_of(lender.client, usd, lender.client.address)
    lender.fund(loan_id)  # permit + transferFrom in one transaction
    assert balance_of(lender.client, usd, lender.client.address) == before - LOAN
    assert borrower.pending(currency=usd) == LOAN and borrower.pending() == 0
    assert lender.total_pending(usd) == LOAN == _held(lender, usd)
    assert borrower.withdraw(usd) == LOAN
    inst = installment_for(LOAN, APR, TERM)
    assert lender.loan(loan_id).installment == inst
    receipt = borrower.repay(loan_id, inst)  # one signature, one transaction
    assert receipt["to"] == lender.address
    assert lender.pending(currency=usd) == inst
    quote = lender.payoff_amount(loan_id, usd_book.time.now() + 1)
    wallet = balance_of(borrower.client, usd, borrower.client.address)
    borrower.repay_all(loan_id, quote + 10 * DOLLARS)  # offers more: only the payoff is taken
    paid = lender.paid_off(loan_id)
    assert balance_of(borrower.client, usd, borrower.client.address) == wallet - paid
    assert lender.loan(loan_id).status == LoanStatus.REPAID
    assert borrower.pending(currency=usd) == 0  # no excess in a token
    assert lender.withdraw(usd) == inst + paid
    assert lender.total_pending(usd) == 0 == _held(lender, usd)
    assert _approvals(lender.client, usd) >= 3  # the permits set the allowances
    book.balance_matches()  # the ether side untouched


def test_token_payment_takes_no_ether_and_falls_back_to_approve(book, usd):
    usd_book = _token_book(book, usd)
    lender = usd_book.lender
    loan_id = usd_book.borrower.apply(usd_book.model_id, digest(51), APP_CID, LOAN, TERM)
    lender.decide(loan_id, True, 80_000, APR, LOAN, TERM)
    usd_book.borrower.accept(loan_id)
    with reverts("WrongValue"):
        lender.client.transact(lender.fn.fund(loan_id), value=1)
    with reverts("ERC20InsufficientAllowance"):  # no allowance, no permit
        lender.client.transact(lender.fn.fund(loan_id))
    assert lender.loan(loan_id).status == LoanStatus.ACCEPTED
    token = lender.client.w3.eth.contract(address=usd, abi=_erc20_abi())
    lender.client.transact(token.functions.approve(lender.address, LOAN))
    lender.fund(loan_id)  # the allowance covers it: the plain call
    assert lender.loan(loan_id).status == LoanStatus.FUNDED


def _erc20_abi():
    from hessian_common.chain.compile import load_artifact

    return load_artifact("TestUSD").abi


def _funded_usd_loan(book: Book, usd: str, n: int) -> tuple[Book, int]:
    usd_book = _token_book(book, usd)
    loan_id = usd_book.borrower.apply(usd_book.model_id, digest(n), APP_CID, LOAN, TERM)
    usd_book.lender.decide(loan_id, True, 80_000, APR, LOAN, TERM)
    usd_book.borrower.accept(loan_id)
    usd_book.lender.fund(loan_id)
    return usd_book, loan_id


def test_bad_permits_are_refused(book, usd):
    """A permit with a wrong signature, an expired deadline or a nonce already used sets no
    allowance: the payment is refused and nothing moves."""
    usd_book, loan_id = _funded_usd_loan(book, usd, 52)
    borrower, lender = usd_book.borrower, usd_book.lender
    inst = lender.loan(loan_id).installment
    client = borrower.client
    now = client.block_timestamp()

    def pay(permit):
        with reverts("ERC20InsufficientAllowance"):
            client.transact(lender.fn.repayWithPermit(loan_id, inst, permit))

    good = sign_permit(client, usd, lender.address, inst, now + 3_600)
    value, deadline, v, r, s = good
    pay((value, deadline, v, r, bytes(32 - 1) + b"\x01"))  # wrong signature
    pay((value, deadline, v, r, s[:-1] + bytes([s[-1] ^ 1])))
    other = sign_permit(usd_book.outsider.client, usd, lender.address, inst, now + 3_600)
    pay(other)  # someone else's signature for the borrower's money
    pay(sign_permit(client, usd, lender.address, inst, now - 1))  # expired
    pay(NO_PERMIT)  # no permit, no allowance
    assert lender.loan(loan_id).repaid == 0
    client.transact(lender.fn.repayWithPermit(loan_id, inst, good))  # the good one works
    assert lender.loan(loan_id).repaid == inst
    pay(good)  # replayed: its nonce is used
    # a permit front-run by someone else still pays (the allowance it set decides)
    fresh = sign_permit(client, usd, lender.address, inst, now + 3_600)
    token = client.w3.eth.contract(address=usd, abi=_erc20_abi())
    usd_book.outsider.client.transact(
        token.functions.permit(client.address, lender.address, *fresh[:2], *fresh[2:])
    )
    client.transact(lender.fn.repayWithPermit(loan_id, inst, fresh))
    assert lender.loan(loan_id).repaid == 2 * inst
    assert lender.total_pending(usd) == _held(lender, usd)


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("FeeToken", "ShortTransfer"),
        ("FalseToken", "SafeERC20FailedOperation"),
    ],
)
def test_loanbook_refuses_tokens_that_deliver_short(book, client, clients, name, error):
    address, _ = deploy_bad_token(client, name, [c.address for c in clients])
    bad = _token_book(book, address)
    loan_id = bad.borrower.apply(bad.model_id, digest(53), APP_CID, 10**18, TERM)
    bad.lender.decide(loan_id, True, 80_000, APR, 10**18, TERM)
    bad.borrower.accept(loan_id)
    with reverts(error):
        bad.lender.fund(loan_id)
    assert bad.lender.loan(loan_id).status == LoanStatus.ACCEPTED
    assert bad.lender.total_pending(address) == 0
    funded = book.funded(1)  # ether loans go on
    book.borrower.repay(funded, book.lender.loan(funded).installment)
    book.balance_matches()


def test_a_lying_token_locks_only_its_own_currency(book, client, clients):
    address, _ = deploy_bad_token(client, "LyingToken", [c.address for c in clients])
    bad = _token_book(book, address)
    loan_id = bad.borrower.apply(bad.model_id, digest(54), APP_CID, 10**18, TERM)
    bad.lender.decide(loan_id, True, 80_000, APR, 10**18, TERM)
    bad.borrower.accept(loan_id)
    bad.lender.fund(loan_id)  # its balanceOf pretends the principal arrived
    assert bad.borrower.pending(currency=address) == 10**18
    with reverts("ERC20InsufficientBalance"):  # it never did: the withdrawal fails
        bad.borrower.withdraw(address)
    ether_loan = book.funded(2)
    assert book.borrower.withdraw() == book.lender.loan(ether_loan).principal
    book.balance_matches()


# ------------------------------------------------------------------ PolicyBook in dollars


def test_a_dollar_policy_from_capital_to_paid_claims(
    policybook, repository, clients, chain_time, usd
):
    desk = make_desk(policybook, repository, clients, chain_time, usd)
    assert desk.unit == DOLLARS and desk.insurer.pool(desk.model_id).free == CAPITAL * DOLLARS
    assert _held(desk.insurer, usd) == CAPITAL * DOLLARS
    wallet = balance_of(desk.holder.client, usd, desk.holder.client.address)
    policy_id = desk.active(1)  # premium by permit
    assert balance_of(desk.holder.client, usd, desk.holder.client.address) == wallet - desk.u(
        PREMIUM
    )
    claim_id = desk.holder.file_claim(policy_id, desk.u(1_200), EVIDENCE_CID)
    desk.insurer.approve_claim(claim_id)
    second = desk.holder.file_claim(policy_id, desk.u(300), EVIDENCE_CID)
    clock(desk.time, desk.insurer.claim_deadline(second) + 1)
    desk.outsider.settle_claim(second)
    assert desk.insurer.claim(second).status == ClaimStatus.SETTLED
    desk.balance_matches()
    assert desk.holder.withdraw(usd) == desk.u(1_500)
    desk.insurer.withdraw_capital(desk.model_id, desk.u(CAPITAL - LIMIT))
    assert desk.insurer.withdraw(usd) == desk.u(CAPITAL - LIMIT + PREMIUM)
    assert desk.insurer.pool(desk.model_id).reserved == desk.u(LIMIT - 1_500)
    desk.balance_matches()


def test_policybook_refuses_fee_tokens_and_survives_reverting_ones(
    policybook, repository, clients, chain_time, client
):
    fee, _ = deploy_bad_token(client, "FeeToken", [c.address for c in clients])
    model_id = create_closed_model(repository, chain_time)
    policybook.deploy_model(model_id, POLICY_CID, APP_KEY, fee)
    token = client.w3.eth.contract(address=fee, abi=_erc20_abi())
    client.transact(token.functions.approve(policybook.address, 10**18))
    with reverts("ShortTransfer"):
        policybook.deposit_capital(model_id, 10**18)
    assert policybook.pool(model_id).free == 0

    broken, contract = deploy_bad_token(client, "RevertingToken", [c.address for c in clients])
    desk = make_desk(policybook, repository, clients, chain_time, broken)
    policy_id = desk.active(1)
    claim_id = desk.holder.file_claim(policy_id, desk.u(100), EVIDENCE_CID)
    desk.insurer.approve_claim(claim_id)
    client.transact(contract.functions.setBroken(True))
    with reverts("Error"):  # the token reverts ("token is broken"): nothing moves
        desk.holder.withdraw(broken)
    assert desk.insurer.pending(desk.holder.client.address, broken) == desk.u(100)
    eth_desk = make_desk(policybook, repository, clients, chain_time, ETH)
    eth_policy = eth_desk.active(2)  # ether policies go on
    eth_claim = eth_desk.holder.file_claim(eth_policy, eth_desk.u(5), EVIDENCE_CID)
    eth_desk.insurer.approve_claim(eth_claim)
    assert eth_desk.holder.withdraw() == eth_desk.u(5)
    client.transact(contract.functions.setBroken(False))
    assert desk.holder.withdraw(broken) == desk.u(100)  # and later it is all there


def test_a_reentrant_token_finds_the_books_already_updated(
    policybook, repository, clients, chain_time, client
):
    """A token that calls back into the PolicyBook while the premium is pulled finds the books
    already updated (checks-effects-interactions) and no more rights than anyone: its call is
    refused, the purchase goes through once, and the books balance."""
    address, token = deploy_bad_token(client, "ReentrantToken", [c.address for c in clients])
    desk = make_desk(policybook, repository, clients, chain_time, address)
    quoted = desk.quoted(1)
    # during the pull, withdraw the insurer's premium just earned, in the same token
    payload = policybook.fn.withdrawCapital(desk.model_id, 1)._encode_transaction_data()
    client.transact(token.functions.arm(policybook.address, payload))
    desk.holder.accept(quoted)  # the token (not the insurer) calls back: refused, swallowed
    assert token.functions.attempts().call() >= 1
    err = bytes(token.functions.lastError().call())
    assert err[:4] == function_signature_to_4byte_selector("NotInsurer(address,address)")
    assert desk.status(quoted) == PolicyStatus.ACTIVE
    desk.balance_matches()


# ------------------------------------------------------------------ a re-entering holder


def _attacker_policy(desk, client):
    from hessian_common.chain.compile import load_artifact

    art = load_artifact("PolicyBookAttacker")
    receipt = client.deploy(art.abi, art.bytecode, desk.insurer.address)
    attacker = client.w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)
    fn = attacker.functions
    client.transact(fn.applyFor(desk.model_id, digest(77), APP_CID, desk.u(LIMIT), 86_400 * 30))
    policy_id = desk.insurer.policy_count()
    desk.insurer.quote(policy_id, 1, desk.u(PREMIUM), desk.u(LIMIT), 0, 86_400 * 30)
    return attacker, policy_id


@pytest.mark.parametrize(
    ("mode", "error"),
    [(1, "ReentrancyGuardReentrantCall()"), (3, "WrongClaimStatus(uint256,uint8)")],
)
def test_a_reentering_holder_is_paid_its_claim_once(
    policybook, repository, clients, chain_time, mode, error
):
    desk = make_desk(policybook, repository, clients, chain_time, ETH)
    other = desk.active(1)  # another holder's money is in the book too
    c = desk.holder.file_claim(other, desk.u(10), EVIDENCE_CID)
    desk.insurer.approve_claim(c)
    attacker, policy_id = _attacker_policy(desk, clients[2])
    fn = attacker.functions
    clients[2].transact(fn.buy(policy_id, 0), value=desk.u(PREMIUM))
    clients[2].transact(fn.claim(policy_id, desk.u(400), EVIDENCE_CID))
    claim_id = desk.insurer.claim_count()
    clock(desk.time, desk.insurer.claim_deadline(claim_id) + 1)
    desk.outsider.settle_claim(claim_id)
    clients[2].transact(fn.attack(mode, claim_id))
    assert desk.insurer.pending(attacker.address) == 0
    assert clients[2].balance(attacker.address) == desk.u(400)  # paid once
    err = bytes(fn.lastReentryError().call())
    assert err[:4] == function_signature_to_4byte_selector(error)
    desk.balance_matches(attacker.address)
    assert desk.holder.withdraw() == desk.u(10)


def test_a_reentry_that_bubbles_up_undoes_the_withdrawal(
    policybook, repository, clients, chain_time
):
    desk = make_desk(policybook, repository, clients, chain_time, ETH)
    attacker, policy_id = _attacker_policy(desk, clients[2])
    fn = attacker.functions
    clients[2].transact(fn.buy(policy_id, desk.time.now() + 3_600), value=desk.u(PREMIUM))
    clients[2].transact(fn.cancelPolicy(policy_id))
    with reverts("TransferFailed"):
        clients[2].transact(fn.attack(2, policy_id))
    assert desk.insurer.pending(attacker.address) == desk.u(PREMIUM)
    desk.balance_matches(attacker.address)


def test_a_reentering_holder_is_refunded_once(policybook, repository, clients, chain_time):
    desk = make_desk(policybook, repository, clients, chain_time, ETH)
    attacker, policy_id = _attacker_policy(desk, clients[2])
    fn = attacker.functions
    clients[2].transact(fn.buy(policy_id, desk.time.now() + 3_600), value=desk.u(PREMIUM))
    clients[2].transact(fn.cancelPolicy(policy_id))
    clients[2].transact(fn.attack(4, policy_id))
    assert clients[2].balance(attacker.address) == desk.u(PREMIUM)
    err = bytes(fn.lastReentryError().call())
    assert err[:4] == function_signature_to_4byte_selector("WrongStatus(uint256,uint8)")
    desk.balance_matches(attacker.address)
    with pytest.raises(ContractRevert):
        clients[2].transact(fn.attack(2, policy_id))  # nothing left to withdraw
