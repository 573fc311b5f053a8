"""Malicious tokens (``contracts/test/BadTokens.sol``) against the escrow: a token that returns
false, reverts, charges a fee, lies in ``balanceOf`` or re-enters on transfer cannot break the
escrow invariant, and cannot lock anyone's money in another currency: an ether model and a
model in a good token (HSN) next to it keep working, from submission to withdrawal.

What a bad token can do is limited to its own currency: a token that lies about balances, or
refuses to transfer, can keep its own holders from withdrawing that token (nobody can make a
token transfer what it will not); it cannot stall an evaluation, a settlement or a claim
(none calls the token) or touch a balance in ether or another token.
"""

from __future__ import annotations

import pytest
from eth_utils import function_signature_to_4byte_selector

from hessian_common.chain.repository import Mechanism, Reason
from hessian_common.chain.token import Token
from tests.contracts.helpers import (
    CID_A,
    CID_B,
    ETH,
    WINDOW,
    assert_escrow,
    assert_solvent,
    deploy_contract,
    digest,
    owed_in,
    reveal,
    reverts,
)

UNIT = 10**18
GUARD = function_signature_to_4byte_selector("ReentrancyGuardReentrantCall()")


@pytest.fixture
def bad(client, clients):
    """``bad(name)``: deploy a BadTokens contract, mint 1,000 units to every account; returns
    ``(raw contract, Token wrapper)``."""

    def make(name: str):
        contract = deploy_contract(client, name)
        for c in clients:
            client.transact(contract.functions.mint(c.address, 1_000 * UNIT))
        return contract, Token(client, contract.address)

    return make


@pytest.fixture
def neighbours(make_model, lender, owners, hsn):
    """An ether model and an HSN model, each with a waiting submission of owner 3."""
    eth_model = make_model(bounty=UNIT, submission_deposit=UNIT // 100)
    hsn_model = make_model(bounty=UNIT, submission_deposit=UNIT // 100, currency=hsn.address)
    waiting = [
        owners[3].submit_update(m, CID_A, digest(900 + m), 10) for m in (eth_model, hsn_model)
    ]
    return {ETH: (eth_model, waiting[0]), hsn.address: (hsn_model, waiting[1])}


def _neighbours_keep_working(lender, owners, outsider, neighbours, w3):
    """Each neighbour model evaluates its waiting submission, pays and lets its owner withdraw;
    each currency's books balance before and after."""
    everyone = [r.client.address for r in (lender, *owners, outsider)]
    for currency, (_, uid) in neighbours.items():
        assert_solvent(lender, w3, everyone, currency)
        lender.evaluate_update(uid, True, 650_000, CID_B)
        due = lender.pending(owners[3].client.address, currency)
        assert due == UNIT // 2 + UNIT // 100
        assert owners[3].withdraw(currency) == due
        assert_solvent(lender, w3, everyone, currency)


def _kwargs(token, **kw):
    return {"bounty": 100 * UNIT, "submission_deposit": UNIT, "currency": token.address, **kw}


def test_a_token_that_returns_false_creates_nothing(
    bad, make_model, lender, owners, outsider, neighbours, w3
):
    _, token = bad("FalseToken")
    count = lender.model_count()
    with reverts("SafeERC20FailedOperation") as info:
        make_model(**_kwargs(token))
    assert info.value.error_args == (token.address.lower(),)
    assert lender.model_count() == count
    _neighbours_keep_working(lender, owners, outsider, neighbours, w3)


def test_a_fee_on_transfer_token_is_refused(
    bad, make_model, lender, owners, outsider, neighbours, w3
):
    _, token = bad("FeeToken")
    count = lender.model_count()
    with reverts("ShortTransfer") as info:
        make_model(**_kwargs(token))
    assert info.value.error_args == (token.address.lower(), 100 * UNIT, 99 * UNIT)
    assert lender.model_count() == count and token.balance_of(lender.address) == 0
    _neighbours_keep_working(lender, owners, outsider, neighbours, w3)


def test_a_token_that_starts_reverting_locks_only_its_own_currency(
    bad, make_model, lender, owners, outsider, chain_time, neighbours, w3
):
    raw, token = bad("RevertingToken")
    model_id = make_model(**_kwargs(token, mechanism=Mechanism.EQUAL))
    first = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    second = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    stale = owners[2].submit_update(model_id, CID_A, digest(3), 10)
    lender.evaluate_update(first, True, 650_000, CID_B)
    lender.client.transact(raw.functions.setBroken(True))
    # its holders cannot withdraw it, and nobody can pay a new deposit in it ...
    due = lender.pending(owners[0].client.address, token.address)
    with reverts("Error"):
        owners[0].withdraw(token.address)
    assert lender.pending(owners[0].client.address, token.address) == due
    with pytest.raises(Exception, match="token is broken"):
        owners[3].submit_update(model_id, CID_A, digest(4), 10)
    # ... but its model runs to the end: nothing here calls the token
    lender.evaluate_update(second, False, 0, reason=Reason.WORSE)
    chain_time.advance(WINDOW + 1)
    outsider.settle_stale(stale)
    lender.close_model(model_id)
    outsider.claim_share(first)
    reveal(lender, model_id)
    e = assert_escrow(lender, model_id)
    assert e["remaining"] == 0 and e["paid"] == 100 * UNIT
    # and every other currency works as if nothing happened
    _neighbours_keep_working(lender, owners, outsider, neighbours, w3)
    # once it works again, its holders get exactly what they were owed
    lender.client.transact(raw.functions.setBroken(False))
    for who in owners[:3]:
        owed = lender.pending(who.client.address, token.address)
        if owed:
            before = token.balance_of(who.client.address)
            assert who.withdraw(token.address) == owed
            assert token.balance_of(who.client.address) == before + owed
    assert lender.total_pending(token.address) == 0
    assert token.balance_of(lender.address) == owed_in(lender, token.address) == UNIT  # burned


def test_a_token_that_lies_about_balances_hurts_only_its_own_holders(
    bad, make_model, lender, owners, outsider, neighbours, w3
):
    """LyingToken's ``transferFrom`` moves nothing and its ``balanceOf`` shows what it
    pretended to move: the measurement cannot see through a token's own books, so the model
    is created, and its books agree with ours. Its holders cannot withdraw real tokens that
    were never paid in; nobody else is touched."""
    _, token = bad("LyingToken")
    model_id = make_model(**_kwargs(token))
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, True, 650_000, CID_B)
    assert_escrow(lender, model_id)
    assert token.balance_of(lender.address) == owed_in(lender, token.address)  # by its books
    due = lender.pending(owners[0].client.address, token.address)
    with reverts("ERC20InsufficientBalance"):
        owners[0].withdraw(token.address)
    assert lender.pending(owners[0].client.address, token.address) == due
    _neighbours_keep_working(lender, owners, outsider, neighbours, w3)


def _arm(raw, lender, target_fn):
    lender.client.transact(raw.functions.arm(lender.address, target_fn._encode_transaction_data()))


def test_a_reentrant_token_cannot_withdraw_during_a_pull(
    bad, make_model, lender, owners, outsider, neighbours, w3
):
    raw, token = bad("ReentrantToken")
    # a credit in ether for the token contract to try to steal back: none; the token's
    # call-back into withdraw is refused by the guard the pull holds
    _arm(raw, lender, lender.fn.withdraw(ETH))
    model_id = make_model(**_kwargs(token))
    assert raw.functions.attempts().call() >= 1
    assert bytes(raw.functions.lastError().call())[:4] == GUARD
    assert token.balance_of(lender.address) == 100 * UNIT
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)  # the deposit's pull too
    assert bytes(raw.functions.lastError().call())[:4] == GUARD
    lender.evaluate_update(uid, True, 650_000, CID_B)
    everyone = [r.client.address for r in (lender, *owners, outsider)]
    assert_solvent(lender, w3, everyone, token.address)
    _neighbours_keep_working(lender, owners, outsider, neighbours, w3)


def test_a_reentrant_token_cannot_double_a_withdrawal(bad, make_model, lender, owners, w3):
    raw, token = bad("ReentrantToken")
    model_id = make_model(**_kwargs(token))
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, True, 650_000, CID_B)
    _arm(raw, lender, lender.fn.withdraw(token.address))
    attempts = raw.functions.attempts().call()
    due = lender.pending(owners[0].client.address, token.address)
    before = token.balance_of(owners[0].client.address)
    assert owners[0].withdraw(token.address) == due
    assert raw.functions.attempts().call() == attempts + 1
    assert bytes(raw.functions.lastError().call())[:4] == GUARD
    assert token.balance_of(owners[0].client.address) == before + due  # once
    assert token.balance_of(lender.address) == owed_in(lender, token.address)


def test_a_reentrant_token_calling_unguarded_functions_keeps_the_books(
    bad, make_model, lender, owners, outsider, chain_time, neighbours, w3
):
    """During a deposit's pull the token settles the stale head of its own model and claims a
    share: those only move accounting, which stays exact; the pull's measurement is unmoved."""
    raw, token = bad("ReentrantToken")
    model_id = make_model(**_kwargs(token, stale_reward=UNIT))
    stale = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    chain_time.advance(WINDOW + 1)
    _arm(raw, lender, lender.fn.settleStale(stale))
    owners[1].submit_update(model_id, CID_A, digest(2), 10)  # the pull calls settleStale
    assert raw.functions.lastError().call() == b""  # the settlement went through
    s = lender.submission(stale)
    assert s.stale and s.reward == UNIT
    assert lender.pending(owners[0].client.address, token.address) == UNIT + UNIT
    everyone = [r.client.address for r in (lender, *owners, outsider)]
    assert_solvent(lender, w3, everyone, token.address)
    _neighbours_keep_working(lender, owners, outsider, neighbours, w3)
