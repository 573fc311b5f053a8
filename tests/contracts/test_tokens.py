"""Models in an ERC-20 token: every amount in the model's currency, pending balances per
(account, currency), the wrapper's approve/permit handling, and every revert path of the
currency plumbing (issue 15)."""

from __future__ import annotations

import pytest

from hessian_common.chain.repository import Mechanism, Reason
from hessian_common.chain.token import Token, currency_of, fund
from hessian_common.errors import ConfigError
from hessian_common.format import ETH as ETHER
from hessian_common.format import format_amount
from tests.contracts.helpers import (
    CID_A,
    CID_B,
    DAY,
    ETH,
    REVEAL_WINDOW,
    TEST_SET_CID,
    WINDOW,
    assert_escrow,
    assert_solvent,
    digest,
    held_by,
    reveal,
    reverts,
)

USD = 10**6
"""One test dollar in base units (6 decimals)."""


def _terms(now: int, deposit: int = 0, stale: int = 1) -> tuple:
    # metric, mechanism, initial, target, minGain, deadline, windows, deposit, maxRows, stale
    return (0, 0, 600_000, 700_000, 0, now + DAY, WINDOW, REVEAL_WINDOW, deposit, 1_000, stale)


def _everyone(lender, owners, outsider) -> list[str]:
    return [r.client.address for r in (lender, *owners, outsider)]


# ---------------------------------------------------------------- creating a model


def test_a_token_bounty_is_pulled_with_a_permit_in_one_transaction(make_model, lender, usd):
    before = usd.balance_of()
    nonce = usd.nonce()
    blocks = lender.client.block_number()
    model_id = make_model(bounty=8_000 * USD, submission_deposit=5 * USD, currency=usd.address)
    assert lender.client.block_number() == blocks + 1  # no approve transaction
    assert usd.nonce() == nonce + 1  # a permit was used
    assert usd.allowance(lender.client.address, lender.address) == 0
    assert usd.balance_of() == before - 8_000 * USD
    assert usd.balance_of(lender.address) == 8_000 * USD
    m = lender.model(model_id)
    assert m.currency.address == usd.address and m.currency.symbol == "tUSD"
    assert m.currency.decimals == 6 and not m.currency.is_ether
    assert (m.bounty, m.remaining, m.submission_deposit) == (8_000 * USD, 8_000 * USD, 5 * USD)
    assert format_amount(m.bounty, m.currency) == "8,000.00 tUSD"
    assert lender.model_currency(model_id) == m.currency
    assert lender.fn.currencyOf(model_id).call() == usd.address
    created = lender.find_events("ModelCreated", {"modelId": model_id})[0].args
    assert created["currency"] == usd.address and created["bounty"] == 8_000 * USD


def test_a_token_without_permit_is_approved_first(make_model, lender, plain_token):
    token = plain_token(decimals=2, symbol="PLN")
    blocks = lender.client.block_number()
    model_id = make_model(bounty=500_00, stale_reward=10_00, currency=token.address)
    assert lender.client.block_number() == blocks + 2  # approve, then createModel
    assert token.allowance(lender.client.address, lender.address) == 0  # exactly the bounty
    m = lender.model(model_id)
    assert (m.currency.symbol, m.currency.decimals, m.bounty) == ("PLN", 2, 500_00)
    assert format_amount(m.bounty, m.currency) == "500.00 PLN"


@pytest.mark.parametrize("permit", [False, True])
def test_the_caller_may_force_approve_or_permit(make_model, lender, hsn, permit):
    nonce = hsn.nonce()
    model_id = make_model(bounty=10**18, currency=hsn.address, permit=permit)
    assert hsn.nonce() == nonce + (1 if permit else 0)
    assert lender.model(model_id).bounty == 10**18


def test_an_allowance_already_given_is_used_as_it_is(make_model, lender, hsn):
    hsn.approve(lender.address, 3 * 10**18)
    nonce, blocks = hsn.nonce(), lender.client.block_number()
    make_model(bounty=10**18, currency=hsn.address)
    assert hsn.nonce() == nonce and lender.client.block_number() == blocks + 1
    assert hsn.allowance(lender.client.address, lender.address) == 2 * 10**18


def test_a_short_token_balance_is_refused_before_anything_is_sent(make_model, lender, hsn, clients):
    poor = lender.as_account(clients[5])
    Token(clients[5], hsn.address).transfer(clients[0].address, 10**24 - 10)  # keeps 10 units
    blocks = lender.client.block_number()
    with pytest.raises(ConfigError, match=r"the bounty is .* HSN but .* holds only"):
        poor.create_model(
            CID_A,
            bounty=11,
            initial_score=0,
            target_score=1,
            deadline=lender.client.block_timestamp() + DAY,
            evaluation_window=WINDOW,
            test_set_commitment=b"\0" * 32,
            currency=hsn.address,
        )
    assert lender.client.block_number() == blocks and lender.model_count() == 0


def test_a_currency_that_is_not_a_token_is_refused(make_model, lender, clients, chain_time):
    with pytest.raises(ConfigError, match="no contract at"):
        make_model(currency=clients[3].address)  # an account, not a contract
    with pytest.raises(ConfigError, match="does not answer decimals"):
        make_model(currency=lender.address)  # a contract, not a token
    # the contract refuses too
    fn = lender.fn.createModel(CID_A, b"\0" * 32, _terms(chain_time.now()), clients[3].address, 5)
    with reverts("NotAToken") as info:
        lender.client.transact(fn)
    assert info.value.error_args == (clients[3].address.lower(),)
    assert lender.model_count() == 0


def test_ether_sent_with_a_token_bounty_or_not_the_ether_bounty_is_refused(lender, hsn, chain_time):
    hsn.approve(lender.address, 10**18)
    fn = lender.fn.createModel(CID_A, b"\0" * 32, _terms(chain_time.now()), hsn.address, 10**18)
    with reverts("WrongValue") as info:
        lender.client.transact(fn, value=1)
    assert info.value.error_args == (1, 0)
    fn = lender.fn.createModel(CID_A, b"\0" * 32, _terms(chain_time.now()), ETH, 10**18)
    with reverts("WrongValue") as info:
        lender.client.transact(fn, value=10**18 - 1)
    assert info.value.error_args == (10**18 - 1, 10**18)
    fn = lender.fn.createModel(CID_A, b"\0" * 32, _terms(chain_time.now()), ETH, 0)
    with reverts("ZeroBounty"):
        lender.client.transact(fn)
    assert lender.model_count() == 0 and hsn.balance_of(lender.address) == 0


def test_a_token_bounty_above_96_bits_is_refused(lender, plain_token, chain_time):
    token = plain_token(decimals=0, symbol="BIG")
    raw = lender.client.w3.eth.contract(address=token.address, abi=_plain_abi())
    lender.client.transact(raw.functions.mint(lender.client.address, 2**97))
    token.approve(lender.address, 2**96)
    terms = _terms(chain_time.now())
    with reverts("ValueTooLarge") as info:
        lender.client.transact(
            lender.fn.createModel(CID_A, b"\0" * 32, terms, token.address, 2**96)
        )
    assert info.value.error_args == (2**96, 2**96 - 1)
    lender.client.transact(
        lender.fn.createModel(CID_A, b"\0" * 32, terms, token.address, 2**96 - 1)
    )
    assert lender.model(1).bounty == 2**96 - 1


def _plain_abi():
    from hessian_common.chain.compile import load_artifact

    return load_artifact("PlainToken").abi


def test_create_with_permit_refuses_ether(lender, chain_time):
    from hessian_common.chain.token import NO_PERMIT

    fn = lender.fn.createModelWithPermit(
        CID_A, b"\0" * 32, _terms(chain_time.now()), ETH, 10**18, NO_PERMIT.as_tuple()
    )
    with reverts("WrongValue") as info:  # not payable: an ether bounty cannot come with it
        lender.client.transact(fn)
    assert info.value.error_args == (0, 10**18)


# ---------------------------------------------------------------- submitting


def test_a_token_deposit_is_pulled_with_a_permit(make_model, lender, owners, usd):
    model_id = make_model(bounty=1_000 * USD, submission_deposit=5 * USD, currency=usd.address)
    owner = owners[0]
    mine = Token(owner.client, usd.address)
    before, nonce = mine.balance_of(), mine.nonce()
    blocks = lender.client.block_number()
    uid = owner.submit_update(model_id, CID_A, digest(1), 100)
    assert lender.client.block_number() == blocks + 1 and mine.nonce() == nonce + 1
    assert mine.balance_of() == before - 5 * USD
    assert usd.balance_of(lender.address) == 1_005 * USD
    assert lender.escrow(model_id)["deposits_held"] == 5 * USD
    assert lender.submission(uid).owner == owner.client.address


def test_a_permitless_token_deposit_is_approved_first(make_model, lender, owners, plain_token):
    token = plain_token(decimals=0, symbol="ZERO")
    model_id = make_model(
        bounty=1_000, stale_reward=10, submission_deposit=3, currency=token.address
    )
    owner = owners[1]
    blocks = lender.client.block_number()
    owner.submit_update(model_id, CID_A, digest(1), 100)
    assert lender.client.block_number() == blocks + 2
    assert token.balance_of(lender.address) == 1_003
    assert lender.model(model_id).currency.decimals == 0


def test_a_token_model_takes_no_ether_and_an_ether_model_its_exact_deposit(
    make_model, lender, owners, hsn
):
    token_model = make_model(bounty=10**18, submission_deposit=10**15, currency=hsn.address)
    Token(owners[0].client, hsn.address).approve(lender.address, 10**15)
    fn = owners[0].fn.submitUpdate(token_model, CID_A, digest(1), 10, 0)
    with reverts("WrongDeposit") as info:
        owners[0].client.transact(fn, value=10**15)
    assert info.value.error_args == (10**15, 0)
    eth_model = make_model()
    fn = owners[0].fn.submitUpdate(eth_model, CID_A, digest(1), 10, 0)
    with reverts("WrongDeposit"):
        owners[0].client.transact(fn, value=1)
    assert lender.submission_count() == 0


def test_a_token_model_without_deposit_pulls_nothing(make_model, lender, owners, hsn):
    model_id = make_model(bounty=10**18, submission_deposit=0, currency=hsn.address)
    nonce = Token(owners[0].client, hsn.address).nonce()
    owners[0].submit_update(model_id, CID_A, digest(1), 10)
    assert Token(owners[0].client, hsn.address).nonce() == nonce
    assert hsn.balance_of(lender.address) == 10**18


def test_a_deposit_without_allowance_or_balance_is_refused(
    make_model, lender, owners, hsn, clients
):
    model_id = make_model(bounty=10**18, submission_deposit=10**15, currency=hsn.address)
    with reverts("ERC20InsufficientAllowance"):  # no approve, no permit
        owners[0].client.transact(owners[0].fn.submitUpdate(model_id, CID_A, digest(1), 10, 0))
    mine = Token(owners[1].client, hsn.address)
    mine.transfer(clients[0].address, mine.balance_of() - 10**15 + 1)
    with pytest.raises(ConfigError, match="the deposit is"):
        owners[1].submit_update(model_id, CID_A, digest(2), 10)
    assert lender.submission_count() == 0


def test_permit_variant_of_submit_refuses_what_submit_refuses(make_model, lender, owners, hsn):
    model_id = make_model(bounty=10**18, submission_deposit=10**15, currency=hsn.address)
    owner = owners[0]
    p = Token(owner.client, hsn.address).sign_permit(lender.address, 10**15)
    with reverts("InvalidRows"):
        owner.client.transact(
            owner.fn.submitUpdateWithPermit(model_id, CID_A, digest(1), 0, 0, p.as_tuple())
        )
    with reverts("UnknownModel"):
        owner.client.transact(
            owner.fn.submitUpdateWithPermit(99, CID_A, digest(1), 5, 0, p.as_tuple())
        )
    assert lender.submission_count() == 0


# ---------------------------------------------------------------- a whole life in a token


@pytest.mark.parametrize("mechanism", list(Mechanism))
def test_every_payment_of_a_token_model_is_in_its_token(
    make_model, lender, owners, outsider, chain_time, usd, w3, mechanism
):
    bounty, deposit = 10_000 * USD, 10 * USD
    model_id = make_model(
        bounty=bounty,
        submission_deposit=deposit,
        stale_reward=bounty // 10,
        mechanism=mechanism,
        currency=usd.address,
    )
    eth_before = w3.eth.get_balance(lender.address)
    paid = owners[0].submit_update(model_id, CID_A, digest(1), 100)
    rejected = owners[1].submit_update(model_id, CID_A, digest(2), 100)
    stale = owners[2].submit_update(model_id, CID_A, digest(3), 100)
    lender.evaluate_update(paid, True, 650_000, CID_B)
    lender.evaluate_update(rejected, False, 0, reason=Reason.WORSE)
    chain_time.advance(WINDOW + 1)
    outsider.settle_stale(stale)
    lender.close_model(model_id)
    if mechanism != Mechanism.IMPROVEMENT:
        outsider.claim_share(paid)
    reveal(lender, model_id)
    reclaimed = lender.reclaim(model_id) if lender.model(model_id).remaining else 0
    assert w3.eth.get_balance(lender.address) == eth_before  # no ether moved at all
    assert lender.total_pending(ETH) == 0
    first = lender.pending(owners[0].client.address, usd.address)
    reward = bounty // 2 if mechanism == Mechanism.IMPROVEMENT else bounty - bounty // 10
    assert first == reward + deposit
    assert lender.pending(owners[1].client.address, usd.address) == 0  # deposit forfeited
    assert lender.pending(owners[2].client.address, usd.address) == bounty // 10 + deposit
    assert lender.pending(lender.client.address, usd.address) == reclaimed
    assert_solvent(lender, w3, _everyone(lender, owners, outsider), usd.address)
    # everyone withdraws in the token; only the burned deposit stays behind
    for who in (lender, *owners):
        if lender.pending(who.client.address, usd.address):
            before = usd.balance_of(who.client.address)
            got = who.withdraw(usd.address)
            assert usd.balance_of(who.client.address) == before + got
    assert usd.balance_of(lender.address) == deposit
    assert lender.total_pending(usd.address) == 0
    e = assert_escrow(lender, model_id)
    assert e["paid"] + e["reclaimed"] == bounty and e["deposits_forfeited"] == deposit


def test_a_forfeit_is_paid_in_the_models_token(
    make_model, lender, owners, outsider, chain_time, hsn
):
    model_id = make_model(bounty=10**18, submission_deposit=0, currency=hsn.address)
    uid = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(uid, False, 0)
    lender.close_model(model_id)
    chain_time.advance(lender.reveal_deadline(model_id) + 1 - chain_time.now())
    assert outsider.claim_forfeit(uid) == 10**18
    assert lender.pending(owners[0].client.address, hsn.address) == 10**18
    assert lender.pending(owners[0].client.address) == 0  # nothing in ether


def test_pending_balances_are_per_currency(make_model, lender, owners, hsn, usd, w3):
    models = {
        ETH: make_model(bounty=10**18),
        hsn.address: make_model(bounty=10**18, submission_deposit=10**15, currency=hsn.address),
        usd.address: make_model(bounty=1_000 * USD, submission_deposit=USD, currency=usd.address),
    }
    owner = owners[0]
    for n, model_id in enumerate(models.values()):
        uid = owner.submit_update(model_id, CID_A, digest(n), 10)
        lender.evaluate_update(uid, True, 650_000, CID_B)
    due = {c: lender.pending(owner.client.address, c) for c in models}
    assert due == {ETH: 10**18 // 2 + 10**16, hsn.address: 10**18 // 2 + 10**15,
                   usd.address: 500 * USD + USD}  # fmt: skip
    assert {c: lender.total_pending(c) for c in models} == due
    # one currency per withdrawal: the others stay where they are
    assert owner.withdraw(hsn.address) == due[hsn.address]
    assert lender.pending(owner.client.address, hsn.address) == 0
    assert lender.pending(owner.client.address) == due[ETH]
    assert lender.pending(owner.client.address, usd.address) == due[usd.address]
    with reverts("NothingToWithdraw") as info:
        owner.withdraw(hsn.address)
    assert info.value.error_args == (owner.client.address.lower(), hsn.address.lower())
    assert owner.withdraw() == due[ETH]
    assert owner.withdraw(usd.address) == due[usd.address]
    withdrawn = [e.args for e in owner.events() if e.name == "Withdrawn"]
    assert [w["currency"] for w in withdrawn] == [hsn.address, ETH, usd.address]
    for currency in models:
        assert_solvent(lender, w3, [owner.client.address, lender.client.address], currency)


def test_the_escrow_invariant_holds_per_model_and_per_currency(
    make_model, lender, owners, outsider, chain_time, hsn, usd, w3
):
    """Two models in each of three currencies, interleaved: each model's escrow and each
    currency's balance add up after every step."""
    everyone = _everyone(lender, owners, outsider)
    currencies = [ETH, hsn.address, usd.address]
    amounts = {ETH: 10**18, hsn.address: 10**18, usd.address: 1_000 * USD}
    models = [
        (c, make_model(bounty=amounts[c], submission_deposit=amounts[c] // 100, currency=c,
                       mechanism=Mechanism.EQUAL if i % 2 else Mechanism.IMPROVEMENT))
        for i in range(2) for c in currencies
    ]  # fmt: skip

    def check() -> None:
        for c in currencies:
            assert_solvent(lender, w3, everyone, c)

    ids = []
    for n, (_, model_id) in enumerate(models):
        ids.append(owners[n % 4].submit_update(model_id, CID_A, digest(n), 10))
        check()
    for n, uid in enumerate(ids):
        lender.evaluate_update(uid, n % 3 != 2, 620_000 + n, CID_B)
        check()
    for _, model_id in models:
        lender.close_model(model_id)
        for uid in lender.submission_ids(model_id):
            if lender.share_of(uid):
                outsider.claim_share(uid)
        reveal(lender, model_id)
        if lender.model(model_id).remaining:
            lender.reclaim(model_id)
        check()
    for who in (lender, *owners):
        for c in currencies:
            if lender.pending(who.client.address, c):
                who.withdraw(c)
        check()
    for c in currencies:
        assert lender.total_pending(c) == 0
        forfeited = sum(lender.escrow(m)["deposits_forfeited"] for cc, m in models if cc == c)
        assert held_by(lender, c) == forfeited


# ---------------------------------------------------------------- the wrapper's helpers


def test_fund_follows_the_rule_and_refuses_a_forced_permit_without_support(
    lender, hsn, plain_token
):
    token = plain_token()
    assert fund(lender.client, None, lender.address, 10, "x") is None  # ether: nothing to do
    assert fund(lender.client, token.address, lender.address, 0, "x") is None  # nothing to pull
    p = fund(lender.client, hsn.address, lender.address, 10**18, "the bounty")
    assert p is not None and p.value == 10**18 and p.deadline > lender.client.block_timestamp()
    assert fund(lender.client, token.address, lender.address, 5, "the bounty") is None
    assert token.allowance(lender.client.address, lender.address) == 5  # approved instead
    with pytest.raises(ConfigError, match="does not take EIP-2612 permits"):
        fund(lender.client, token.address, lender.address, 6, "the bounty", permit=True)


def test_currencies_are_read_from_the_chain(lender, hsn, usd, plain_token):
    assert currency_of(lender.client, None) is ETHER
    assert currency_of(lender.client, "eth") is ETHER
    assert currency_of(lender.client, usd.address).symbol == "tUSD"
    assert currency_of(lender.client, hsn.address).decimals == 18
    odd = plain_token(decimals=0, symbol="x" * 40)  # a symbol too long to show
    shown = currency_of(lender.client, odd.address)
    assert shown.symbol.startswith(odd.address[:6]) and shown.places == 0
    bad = plain_token(decimals=2, symbol="<b>\n")
    assert "<" not in currency_of(lender.client, bad.address).symbol
    assert currency_of(lender.client, lender.address, strict=False).decimals == 0
    assert usd.supports_permit() and hsn.supports_permit() and not odd.supports_permit()


def test_test_set_cid_is_unchanged_by_currency(make_model, lender, hsn):
    """The audit trail is the same in any currency (a regression guard on the events)."""
    model_id = make_model(bounty=10**18, submission_deposit=0, currency=hsn.address)
    lender.close_model(model_id)
    reveal(lender, model_id)
    assert lender.model(model_id).test_set_cid == TEST_SET_CID
