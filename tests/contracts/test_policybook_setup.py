# ruff: noqa: F811  (the fixtures come from policybook_support and are named as arguments)
"""PolicyBook: construction, records, deployModel / retireModel, capital, applications,
quotes, declines and cancellations before a policy is bought."""

from __future__ import annotations

import pytest

from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import deploy_repository
from hessian_common.chain.policybook import (
    PolicyStatus,
    deploy_policybook,
    open_policybook,
)
from hessian_common.chain.token import ZERO_ADDRESS as ETH
from hessian_common.errors import ConfigError, ContractRevert, DeploymentNotFound
from tests.contracts.helpers import reverts
from tests.contracts.loanbook_support import create_closed_model
from tests.contracts.policybook_support import (  # noqa: F401  (fixtures)
    APP_CID,
    APP_KEY,
    CAPITAL,
    CLAIM_WINDOW,
    DEDUCTIBLE,
    LIMIT,
    POLICY_CID,
    PPM_QUOTE,
    PREMIUM,
    QUOTE_VALIDITY,
    START_WINDOW,
    TERM,
    currency,
    desk,
    digest,
    policybook,
    usd,
)


def _revert(action, name):
    with pytest.raises(ContractRevert) as info:
        action()
    assert info.value.error_name == name, info.value
    return info.value.error_args


# ------------------------------------------------------------------ construction, records


def test_constructor_parameters_are_immutables(policybook, repository):
    assert policybook.quote_validity == QUOTE_VALIDITY
    assert policybook.start_window == START_WINDOW
    assert policybook.claim_window == CLAIM_WINDOW
    assert policybook.repository_address == repository.address
    assert policybook.policy_count() == 0 == policybook.claim_count()
    assert policybook.total_pending() == 0 and policybook.deployments() == []


@pytest.mark.parametrize(
    ("args", "field"), [((0, 1, 1), "quoteValidity"), ((1, 1, 0), "claimWindow")]
)
def test_constructor_refuses_zero_parameters(client, repository, args, field):
    art = load_artifact("PolicyBook")
    assert _revert(
        lambda: client.deploy(art.abi, art.bytecode, repository.address, *args), "ZeroParameter"
    ) == (field,)
    assert _revert(
        lambda: client.deploy(art.abi, art.bytecode, "0x" + "00" * 20, 1, 1, 1), "ZeroParameter"
    ) == ("repository",)
    client.deploy(art.abi, art.bytecode, repository.address, 1, 0, 1)  # start at once


def test_deploy_checks_inputs_before_sending_and_records(client, repository, tmp_path):
    nonce = client.w3.eth.get_transaction_count(client.address)
    with pytest.raises(ConfigError, match="no contract at"):
        deploy_policybook(client, client.address, record=False)
    for bad in ({"quote_validity": 0}, {"claim_window": 0}, {"start_window": -1}):
        with pytest.raises(ConfigError, match=next(iter(bad))):
            deploy_policybook(client, repository.address, record=False, **bad)
    assert client.w3.eth.get_transaction_count(client.address) == nonce
    with pytest.raises(DeploymentNotFound, match="PolicyBook"):
        open_policybook(client, tmp_path)
    repo_address = deploy_repository(client, deployments_dir=tmp_path)
    address = deploy_policybook(client, repo_address, tmp_path)
    opened = open_policybook(client, tmp_path)
    assert opened.address == address and opened.repository_address == repo_address
    assert (tmp_path / f"{client.chain_id}-PolicyBook.json").exists()


# ------------------------------------------------------------------ deployModel, retireModel


def test_deploy_model_rules(policybook, repository, clients, chain_time, usd):
    model_id = create_closed_model(repository, chain_time, close=False)
    assert _revert(
        lambda: policybook.deploy_model(model_id, POLICY_CID, APP_KEY), "ModelNotClosed"
    ) == (model_id,)
    repository.close_model(model_id)
    other = policybook.as_account(clients[1])
    args = _revert(lambda: other.deploy_model(model_id, POLICY_CID, APP_KEY), "NotInsurer")
    assert [a.lower() for a in args] == [clients[1].address.lower(), clients[0].address.lower()]
    with reverts("EmptyCid"):
        policybook.deploy_model(model_id, "", APP_KEY)
    with reverts("ZeroKey"):
        policybook.deploy_model(model_id, POLICY_CID, b"\x00" * 32)
    with reverts("NotAToken"):
        policybook.deploy_model(model_id, POLICY_CID, APP_KEY, clients[3].address)
    with reverts("UnknownModel"):
        policybook.deploy_model(99, POLICY_CID, APP_KEY)
    with pytest.raises(ConfigError, match="currency"):
        policybook.deploy_model(model_id, POLICY_CID, APP_KEY, "dollars")
    policybook.deploy_model(model_id, POLICY_CID, APP_KEY, usd)
    with reverts("AlreadyDeployed"):
        policybook.deploy_model(model_id, POLICY_CID, APP_KEY)
    dep = policybook.deployment(model_id)
    assert dep.insurer == clients[0].address and dep.currency == usd and dep.active
    assert dep.policy_cid == POLICY_CID and dep.application_key == APP_KEY
    assert policybook.currency_of(model_id) == usd
    assert policybook.deployment(model_id + 1) is None
    (event,) = [e for e in policybook.events() if e.name == "ModelDeployed"]
    assert event.args["currency"] == usd and event.args["deployer"] == clients[0].address
    eth_model = create_closed_model(repository, chain_time)
    policybook.deploy_model(eth_model, POLICY_CID, APP_KEY)
    assert policybook.currency_of(eth_model) == ETH
    assert [d.model_id for d in policybook.deployments()] == [model_id, eth_model]
    with reverts("ModelNotDeployed"):
        policybook.currency_of(eth_model + 1)


def test_retire_model_stops_applications_only(desk):
    quoted = desk.quoted(1)
    with reverts("NotInsurer"):
        desk.holder.retire_model(desk.model_id)
    desk.insurer.retire_model(desk.model_id)
    assert not desk.insurer.deployment(desk.model_id).active
    with reverts("ModelNotActive"):
        desk.insurer.retire_model(desk.model_id)
    with reverts("ModelNotActive"):
        desk.applied(2)
    with reverts("ModelNotDeployed"):
        desk.insurer.retire_model(desk.model_id + 1)
    desk.holder.accept(quoted)  # its quotes are honoured
    assert desk.status(quoted) == PolicyStatus.ACTIVE
    desk.balance_matches()


# ------------------------------------------------------------------ capital


def test_capital_deposit_and_withdraw(desk):
    book, model = desk.insurer, desk.model_id
    pool = book.pool(model)
    assert (pool.free, pool.reserved, pool.premiums_held) == (desk.u(CAPITAL), 0, 0)
    with reverts("NotInsurer"):
        desk.holder.deposit_capital(model, 1)
    with reverts("NotInsurer"):
        desk.holder.withdraw_capital(model, 1)
    with reverts("ModelNotDeployed"):
        book.client.transact(book.fn.depositCapital(model + 1, 1), value=1)
    with reverts("ZeroAmount"):
        book.client.transact(book.fn.depositCapital(model, 0))
    with reverts("ZeroAmount"):
        book.client.transact(book.fn.withdrawCapital(model, 0))
    with pytest.raises(ConfigError, match="amount"):
        book.deposit_capital(model, 0)
    with reverts("WrongValue"):
        book.client.transact(book.fn.depositCapital(model, 5), value=4)
    book.deposit_capital(model, desk.u(1))
    assert book.pool(model).free == desk.u(CAPITAL + 1)
    policy = desk.active(1)
    free = book.pool(model).free
    assert free == desk.u(CAPITAL + 1 - LIMIT)
    assert _revert(lambda: book.withdraw_capital(model, free + 1), "InsufficientCapital") == (
        model,
        free,
        free + 1,
    )
    book.withdraw_capital(model, free)  # all the free capital; the reserve stays
    pool = book.pool(model)
    assert pool.free == 0 and pool.reserved == desk.u(LIMIT)
    assert book.pending(currency=desk.currency) == free + desk.u(PREMIUM)
    names = [e.name for e in book.events()]
    assert names.count("CapitalDeposited") == 2 and names.count("CapitalWithdrawn") == 1
    assert book.withdraw(desk.currency) == free + desk.u(PREMIUM)
    assert book.policy(policy).reserve == desk.u(LIMIT)
    desk.balance_matches()


# ------------------------------------------------------------------ applications


def test_apply_records_the_sealed_application(desk):
    policy_id = desk.applied(1, coverage=3_000, term=TERM // 2)
    p = desk.insurer.policy(policy_id)
    assert p.status == PolicyStatus.APPLIED and p.holder == desk.holder.client.address
    assert p.application_digest == digest(1) and p.application_cid == APP_CID
    assert p.coverage_asked == desk.u(3_000) and p.term_asked == TERM // 2
    assert p.applied_at == desk.time.now() and p.insurer == desk.insurer.client.address
    assert p.premium == p.coverage_limit == p.term == p.starts_at == p.expires_at == 0
    assert desk.insurer.digest_used(desk.model_id, digest(1), p.holder) == policy_id
    assert desk.insurer.deployment(desk.model_id).policy_count == 1
    copy = desk.applied(1, who=1)  # digests count per applicant
    assert copy == policy_id + 1
    args = _revert(lambda: desk.applied(1), "DuplicateApplication")
    assert args == (desk.model_id, digest(1), policy_id)
    assert [p.policy_id for p in desk.insurer.policies(holder=p.holder)] == [policy_id]
    assert [p.policy_id for p in desk.insurer.policies(model_id=desk.model_id)] == [1, 2]


def test_apply_refusals(desk):
    fn, book, model = desk.holder.fn, desk.holder, desk.model_id
    send = book.client.transact
    with reverts("ModelNotDeployed"):
        send(fn.applyForPolicy(model + 1, digest(1), APP_CID, 1, TERM))
    with reverts("ZeroAmount"):
        send(fn.applyForPolicy(model, digest(1), APP_CID, 0, TERM))
    for term in (0, 3_660 * 86_400 + 1):
        assert _revert(
            lambda t=term: send(fn.applyForPolicy(model, digest(1), APP_CID, 1, t)),
            "InvalidTerm",
        ) == (term,)
    with reverts("ZeroDigest"):
        send(fn.applyForPolicy(model, b"\x00" * 32, APP_CID, 1, TERM))
    with reverts("EmptyCid"):
        send(fn.applyForPolicy(model, digest(1), "", 1, TERM))
    with pytest.raises(ConfigError, match="term"):
        book.apply(model, digest(1), APP_CID, 1, 0)
    with pytest.raises(ConfigError, match="coverage"):
        book.apply(model, digest(1), APP_CID, 0, TERM)
    assert book.policy_count() == 0
    with reverts("UnknownPolicy"):
        book.policy(1)


# ------------------------------------------------------------------ quotes and declines


def test_quote(desk):
    policy_id = desk.applied(1)
    u = desk.u
    desk.insurer.quote(policy_id, PPM_QUOTE, u(PREMIUM), u(LIMIT), u(DEDUCTIBLE), TERM // 2)
    p = desk.insurer.policy(policy_id)
    assert p.status == PolicyStatus.QUOTED and p.claim_ppm == PPM_QUOTE
    assert (p.premium, p.coverage_limit, p.deductible) == (u(PREMIUM), u(LIMIT), u(DEDUCTIBLE))
    assert p.term == TERM // 2 and p.quote_expires == desk.time.now() + QUOTE_VALIDITY
    assert p.claim_probability == PPM_QUOTE / 1e6 and p.max_claim == 0
    (event,) = [e for e in desk.insurer.events() if e.name == "PolicyQuoted"]
    assert event.args["quoteExpires"] == p.quote_expires
    with reverts("WrongStatus"):
        desk.insurer.quote(policy_id, 1, 1, 2, 0, TERM)
    assert desk.insurer.pool(desk.model_id).reserved == 0  # nothing reserved before a sale


def test_quote_refusals(desk):
    policy_id = desk.applied(1)
    book, fn = desk.insurer, desk.insurer.fn
    send = book.client.transact
    with reverts("NotInsurer"):
        desk.holder.client.transact(fn.quote(policy_id, 1, 1, 2, 0, TERM))
    assert _revert(lambda: send(fn.quote(policy_id, 10**6 + 1, 1, 2, 0, TERM)), "PdOutOfRange") == (
        10**6 + 1,
    )
    with reverts("ZeroAmount"):
        send(fn.quote(policy_id, 1, 0, 2, 0, TERM))
    with reverts("ZeroAmount"):
        send(fn.quote(policy_id, 1, 1, 0, 0, TERM))
    assert _revert(lambda: send(fn.quote(policy_id, 1, 1, 2, 2, TERM)), "InvalidDeductible") == (
        2,
        2,
    )
    with reverts("InvalidTerm"):
        send(fn.quote(policy_id, 1, 1, 2, 0, 0))
    with reverts("InvalidTerm"):
        send(fn.quote(policy_id, 1, 1, 2, 0, 3_660 * 86_400 + 1))
    with reverts("UnknownPolicy"):
        send(fn.quote(99, 1, 1, 2, 0, TERM))
    for bad in (
        {"claim_ppm": -1},
        {"premium": 0},
        {"deductible": 2},
        {"term": 0},
        {"coverage_limit": 2**128},
    ):
        kw = {"claim_ppm": 1, "premium": 1, "coverage_limit": 2, "deductible": 0, "term": 1}
        kw.update(bad)
        with pytest.raises(ConfigError):
            book.quote(policy_id, **kw)
    assert desk.status(policy_id) == PolicyStatus.APPLIED
    book.quote(policy_id, 10**6, 1, 2, 0, 3_660 * 86_400)  # the bounds themselves


def test_decline(desk):
    policy_id = desk.applied(1)
    with reverts("NotInsurer"):
        desk.holder.decline(policy_id, 900_000)
    with reverts("PdOutOfRange"):
        desk.insurer.client.transact(desk.insurer.fn.decline(policy_id, 10**6 + 1))
    desk.insurer.decline(policy_id, 900_000)
    p = desk.insurer.policy(policy_id)
    assert p.status == PolicyStatus.DECLINED and p.claim_ppm == 900_000
    for action in (
        lambda: desk.insurer.decline(policy_id, 1),
        lambda: desk.insurer.quote(policy_id, 1, 1, 2, 0, TERM),
        lambda: desk.holder.cancel(policy_id),
        lambda: desk.holder.client.transact(desk.holder.fn.accept(policy_id, 0)),
    ):
        assert _revert(action, "WrongStatus") == (policy_id, PolicyStatus.DECLINED)


def test_cancel_before_purchase(desk):
    applied, quoted, withdrawn = desk.applied(1), desk.quoted(2), desk.quoted(3)
    with reverts("NotParty"):
        desk.outsider.cancel(applied)
    with reverts("WrongStatus"):
        desk.insurer.cancel(applied)  # the insurer declines instead
    desk.holder.cancel(applied)
    desk.holder.cancel(quoted)
    desk.insurer.cancel(withdrawn)  # the insurer withdraws its quote
    for policy_id in (applied, quoted, withdrawn):
        assert desk.status(policy_id) == PolicyStatus.CANCELLED
        with reverts("WrongStatus"):
            desk.holder.cancel(policy_id)
    events = [e for e in desk.insurer.events() if e.name == "PolicyCancelled"]
    assert [e.args["by"] for e in events][-1] == desk.insurer.client.address
    assert all(e.args["refund"] == 0 == e.args["released"] for e in events)
    desk.balance_matches()
