"""The owner's side of a model in a token (issue 15): the deposit is paid in the model's
currency in one step (a permit), a short token balance is refused before anything is sent,
the reward is owed and withdrawn in the token, and the account summary names every currency."""

from __future__ import annotations

import pytest

from hessian_common import owner
from hessian_common.chain.client import dev_account
from hessian_common.chain.deploy import deploy_hsn
from hessian_common.chain.token import Token
from hessian_common.errors import DataError
from hessian_common.journal import State
from tests.owner.world import LENDER, OWNER, open_model

HSN = 10**18


@pytest.fixture
def hsn(chain_repo):
    """HSN, its supply with the lender; the owner (dev account 1) is given 10 HSN."""
    lender_client = chain_repo.client.with_account(dev_account(LENDER))
    token = Token(lender_client, deploy_hsn(lender_client, record=False))
    token.transfer(dev_account(OWNER).address, 10 * HSN)
    return token


def test_a_model_in_hsn_takes_the_deposit_by_permit_and_pays_in_hsn(
    chain_repo, owner_repo, owner_store, owner_split, journal, hsn
):
    lender = open_model(
        chain_repo, owner_store, owner_split, bounty=500 * HSN, deposit=2 * HSN,
        currency=hsn.address,
    )  # fmt: skip
    me = owner_repo.client.address
    [model] = owner.list_open_models(owner_repo, owner_store)
    assert model.currency.symbol == "HSN" and model.deposit == 2 * HSN
    nonce, eth_before = hsn.nonce(me), owner_repo.client.balance(me)
    e = owner.share(
        journal, owner_store, owner_repo, model=lender.model_id,
        path=owner_split / "owner_02.csv", account=owner_repo.client.account,
    )  # fmt: skip
    assert e.state is State.PUBLISHED
    assert hsn.balance_of(me) == 8 * HSN and hsn.nonce(me) == nonce + 1  # one permit
    assert hsn.allowance(me, owner_repo.address) == 0
    assert eth_before - owner_repo.client.balance(me) < 10**16  # gas only, no ether deposit
    accepted, _ = lender.evaluate(e.update_id, tolerance=1.0)
    assert accepted
    owed = owner_repo.pending(me, hsn.address)
    assert owed > 2 * HSN  # the deposit back and a reward, both in HSN
    summary = owner.account_summary(owner_repo, me, [model.currency])
    symbols = [c.symbol for c in summary.money.balances]
    assert symbols[:1] == ["ETH"] and "HSN" in symbols
    [credit] = summary.money.credits
    assert credit.currency.symbol == "HSN" and credit.units == owed
    with pytest.raises(DataError, match="nothing to withdraw in ETH"):
        owner.withdraw(owner_repo)  # ether: nothing owed, nothing sent
    assert owner.withdraw(owner_repo, hsn.address) == owed
    assert hsn.balance_of(me) == 8 * HSN + owed


def test_a_short_token_balance_is_refused_before_anything_is_sent(
    chain_repo, owner_repo, owner_store, owner_split, journal, hsn
):
    lender = open_model(
        chain_repo, owner_store, owner_split, bounty=500 * HSN, deposit=20 * HSN,
        currency=hsn.address,
    )  # fmt: skip
    block = owner_repo.client.block_number()
    with pytest.raises(DataError, match=r"deposit is 20\.00 HSN .* holds only|holds 10\.00 HSN"):
        owner.share(
            journal, owner_store, owner_repo, model=lender.model_id,
            path=owner_split / "owner_02.csv", account=owner_repo.client.account,
        )  # fmt: skip
    assert owner_repo.client.block_number() == block
    assert owner_repo.model(lender.model_id).submission_count == 0


def test_last_known_rewards_keep_their_currency_while_the_chain_is_down(
    chain_repo, owner_repo, owner_store, owner_split, journal, hsn, tmp_path
):
    """The status cache keeps each model's currency: with the chain down, a reward in HSN is
    still shown in HSN (its symbol and decimals), never relabelled as ether."""
    from hessian_common.owner.status_cache import StatusCache

    lender = open_model(
        chain_repo, owner_store, owner_split, bounty=500 * HSN, deposit=2 * HSN,
        currency=hsn.address,
    )  # fmt: skip
    me = owner_repo.client.address
    e = owner.share(
        journal, owner_store, owner_repo, model=lender.model_id,
        path=owner_split / "owner_02.csv", account=owner_repo.client.account,
    )  # fmt: skip
    accepted, _ = lender.evaluate(e.update_id, tolerance=1.0)
    assert accepted
    cache = StatusCache(tmp_path / "status_cache.sqlite")
    [live] = owner.my_submissions(journal, owner_repo, me, cache)
    assert live.currency.symbol == "HSN" and live.reward > 0
    [down] = owner.my_submissions(journal, None, me, cache)
    assert down.last_known and down.reward == live.reward
    assert down.currency == live.currency  # symbol, decimals and address
    # a fresh cache file on the same path (an app restart) still knows it
    [again] = owner.my_submissions(journal, None, me, StatusCache(cache.path))
    assert again.currency.symbol == "HSN" and again.currency.address == hsn.address
