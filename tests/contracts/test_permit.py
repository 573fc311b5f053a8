"""EIP-2612 permits with the bounty and the deposit: a bad permit (wrong signer, expired,
replayed, too small) moves nothing and the call is refused on the allowance; a permit someone
else submitted first (front-running from the mempool) still lets the call through."""

from __future__ import annotations

import pytest
from eth_account import Account

from hessian_common.chain.token import Permit, Token
from tests.contracts.helpers import CID_A, DAY, REVEAL_WINDOW, WINDOW, digest, reverts

BOUNTY = 10**11
"""Fits both tokens: 100,000 tUSD, 0.0000001 HSN."""
DEPOSIT = 10**8


def _terms(now: int) -> tuple:
    return (0, 0, 600_000, 700_000, 0, now + DAY, WINDOW, REVEAL_WINDOW, DEPOSIT, 1_000,
            BOUNTY // 10)  # fmt: skip


def _create(lender, token, permit: Permit):
    now = lender.client.block_timestamp()
    return lender.client.transact(
        lender.fn.createModelWithPermit(
            CID_A, b"\0" * 32, _terms(now), token.address, BOUNTY, permit.as_tuple()
        )
    )


def _submit(owner, model_id: int, n: int, permit: Permit):
    return owner.client.transact(
        owner.fn.submitUpdateWithPermit(model_id, CID_A, digest(n), 10, 0, permit.as_tuple())
    )


@pytest.fixture(params=["HSN", "tUSD"])
def token(request, hsn, usd) -> Token:
    """Both permit tokens: HSN (18 decimals) and TestUSD (6)."""
    return hsn if request.param == "HSN" else usd


def _unchanged(lender, token, nonce: int) -> None:
    assert lender.model_count() == 0
    assert token.balance_of(lender.address) == 0
    assert token.nonce() == nonce
    assert token.allowance(lender.client.address, lender.address) == 0


def test_a_permit_signed_by_someone_else_is_refused(lender, token):
    stranger = Account.create()
    lender.client.send_value(stranger.address, 10**18)  # gas money for its reads
    impostor = Token(lender.client.with_account(stranger), token.address)
    nonce = token.nonce()
    forged = impostor.sign_permit(lender.address, BOUNTY, nonce=nonce)  # another key signs
    with reverts("ERC20InsufficientAllowance"):
        _create(lender, token, forged)
    _unchanged(lender, token, nonce)
    with reverts("ERC2612InvalidSigner"):  # the token itself refuses it
        token.permit(lender.client.address, lender.address, forged)


def test_an_expired_permit_is_refused(lender, token, chain_time):
    expired = token.sign_permit(lender.address, BOUNTY, deadline=chain_time.now() - 1)
    nonce = token.nonce()
    with reverts("ERC20InsufficientAllowance"):
        _create(lender, token, expired)
    _unchanged(lender, token, nonce)
    with reverts("ERC2612ExpiredSignature"):
        token.permit(lender.client.address, lender.address, expired)


def test_a_replayed_permit_is_refused(lender, token):
    permit = token.sign_permit(lender.address, BOUNTY)
    _create(lender, token, permit)  # uses it: nonce + 1, allowance spent
    nonce = token.nonce()
    with reverts("ERC20InsufficientAllowance"):
        _create(lender, token, permit)  # the same signature again
    assert lender.model_count() == 1 and token.nonce() == nonce
    assert token.balance_of(lender.address) == BOUNTY
    with reverts("ERC2612InvalidSigner"):  # its nonce is used: it recovers another signer
        token.permit(lender.client.address, lender.address, permit)


def test_a_permit_for_less_than_the_bounty_is_refused(lender, token):
    permit = token.sign_permit(lender.address, BOUNTY - 1)
    with reverts("ERC20InsufficientAllowance") as info:
        _create(lender, token, permit)
    assert info.value.error_args == (lender.address.lower(), BOUNTY - 1, BOUNTY)
    assert lender.model_count() == 0


def test_a_front_run_permit_still_lets_the_bounty_through(lender, token, outsider):
    """A watcher copies the lender's permit out of the mempool and submits it first: the
    lender's own permit call then fails inside, is ignored, and the allowance pays."""
    permit = token.sign_permit(lender.address, BOUNTY)
    watcher = Token(outsider.client, token.address)
    watcher.permit(lender.client.address, lender.address, permit)  # mined first
    assert token.allowance(lender.client.address, lender.address) == BOUNTY
    _create(lender, token, permit)
    assert lender.model(1).bounty == BOUNTY
    assert token.balance_of(lender.address) == BOUNTY
    assert token.allowance(lender.client.address, lender.address) == 0


def test_a_front_run_permit_still_lets_the_deposit_through(
    make_model, lender, owners, outsider, token
):
    model_id = make_model(bounty=BOUNTY, submission_deposit=DEPOSIT, currency=token.address)
    mine = Token(owners[0].client, token.address)
    permit = mine.sign_permit(lender.address, DEPOSIT)
    Token(outsider.client, token.address).permit(owners[0].client.address, lender.address, permit)
    uid = lender.submission_count() + 1
    _submit(owners[0], model_id, 1, permit)
    assert lender.submission(uid).owner == owners[0].client.address
    assert lender.escrow(model_id)["deposits_held"] == DEPOSIT


def test_bad_deposit_permits_are_refused(make_model, lender, owners, token, chain_time):
    model_id = make_model(bounty=BOUNTY, submission_deposit=DEPOSIT, currency=token.address)
    mine = Token(owners[0].client, token.address)
    other = Token(owners[1].client, token.address)
    forged = other.sign_permit(lender.address, DEPOSIT)  # owner 1 signs for owner 0's call
    expired = mine.sign_permit(lender.address, DEPOSIT, deadline=chain_time.now() - 1)
    nonce = mine.nonce()
    for bad in (forged, expired):
        with reverts("ERC20InsufficientAllowance"):
            _submit(owners[0], model_id, 1, bad)
    assert mine.nonce() == nonce and lender.submission_count() == 0
    good = mine.sign_permit(lender.address, DEPOSIT)
    _submit(owners[0], model_id, 1, good)
    with reverts("ERC20InsufficientAllowance"):
        _submit(owners[0], model_id, 2, good)  # replayed
    assert lender.submission_count() == 1
    assert token.balance_of(lender.address) == BOUNTY + DEPOSIT


def test_a_permit_to_a_token_without_permit_falls_back_to_the_allowance(
    make_model, lender, owners, plain_token
):
    token = plain_token(decimals=6, symbol="NOP")
    model_id = make_model(bounty=10**9, submission_deposit=10**3, currency=token.address)
    junk = Permit(10**3, lender.client.block_timestamp() + 60, 27, b"\1" * 32, b"\2" * 32)
    with reverts("ERC20InsufficientAllowance"):
        _submit(owners[0], model_id, 1, junk)  # the token has no permit(): ignored
    Token(owners[0].client, token.address).approve(lender.address, 10**3)
    _submit(owners[0], model_id, 1, junk)
    assert lender.submission_count() == 1
