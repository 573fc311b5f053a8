# ruff: noqa: F811  (the fixtures come from loanbook_support and are named as arguments)
"""LoanBook: construction, deployment records, deployModel / retireModel."""

from __future__ import annotations

import json

import pytest

from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import (
    deploy_loanbook,
    deploy_repository,
    deployment_path,
    load_deployment,
    open_loanbook,
    open_repository,
)
from hessian_common.chain.loanbook import LoanBook
from hessian_common.errors import ConfigError, ContractRevert, DeploymentNotFound
from tests.contracts.helpers import reverts
from tests.contracts.loanbook_support import (  # noqa: F401  (fixtures)
    APP_CID,
    APP_KEY,
    DEFAULT_AFTER,
    FUNDING_WINDOW,
    OFFER_VALIDITY,
    PERIOD,
    POLICY_CID,
    book,
    create_closed_model,
    digest,
    loanbook,
)


def test_constructor_parameters_are_immutables(loanbook, repository):
    assert loanbook.payment_period == PERIOD
    assert loanbook.default_after == DEFAULT_AFTER
    assert loanbook.offer_validity == OFFER_VALIDITY
    assert loanbook.funding_window == FUNDING_WINDOW
    assert loanbook.repository_address == repository.address
    assert loanbook.loan_count() == 0
    assert loanbook.total_pending() == 0
    assert loanbook.deployments() == []


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((0, 1, 1, 1), "paymentPeriod"),
        ((1, 0, 1, 1), "defaultAfter"),
        ((1, 1, 0, 1), "offerValidity"),
        ((1, 1, 1, 0), "fundingWindow"),
    ],
)
def test_constructor_refuses_zero_parameters(client, repository, args, field):
    art = load_artifact("LoanBook")
    with reverts("ZeroParameter") as info:
        client.deploy(art.abi, art.bytecode, repository.address, *args)
    assert info.value.error_args == (field,)
    with reverts("ZeroParameter"):
        client.deploy(art.abi, art.bytecode, "0x" + "00" * 20, 1, 1, 1, 1)


def test_deploy_loanbook_checks_inputs_before_sending(client, repository):
    nonce = client.w3.eth.get_transaction_count(client.address)
    with pytest.raises(ConfigError, match="no contract at"):
        deploy_loanbook(client, client.address, record=False)
    with pytest.raises(ConfigError, match="payment_period"):
        deploy_loanbook(client, repository.address, payment_period=0, record=False)
    with pytest.raises(ConfigError, match="funding_window"):
        deploy_loanbook(client, repository.address, funding_window=0, record=False)
    assert client.w3.eth.get_transaction_count(client.address) == nonce


def test_records_per_contract_and_open(client, tmp_path):
    repo_address = deploy_repository(client, deployments_dir=tmp_path)
    with pytest.raises(DeploymentNotFound, match="LoanBook"):
        open_loanbook(client, tmp_path)
    address = deploy_loanbook(client, repo_address, tmp_path)
    path = deployment_path(client.chain_id, tmp_path, "LoanBook")
    assert path.name == f"{client.chain_id}-LoanBook.json"
    record = json.loads(path.read_text())
    assert record["contract"] == "LoanBook" and record["address"] == address
    assert record["abi_sha256"] == load_artifact("LoanBook").abi_hash
    # the repository record is untouched and still the default
    assert load_deployment(client.w3, tmp_path).address == repo_address
    assert load_deployment(client.w3, tmp_path, contract="LoanBook").address == address
    assert open_repository(client, tmp_path).address == repo_address
    opened = open_loanbook(client, tmp_path)
    assert isinstance(opened, LoanBook) and opened.address == address
    assert opened.from_block == record["block"]
    assert opened.repository_address == repo_address


def test_open_loanbook_refuses_other_abi_and_missing_code(client, repository, tmp_path):
    deploy_loanbook(client, repository.address, tmp_path)
    path = deployment_path(client.chain_id, tmp_path, "LoanBook")
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "abi_sha256": "ab" * 32}))
    with pytest.raises(Exception, match="ABI"):
        open_loanbook(client, tmp_path)
    path.write_text(json.dumps({**record, "address": client.address}))
    with pytest.raises(DeploymentNotFound, match="no code"):
        open_loanbook(client, tmp_path)


def test_deploy_model_paths(loanbook, repository, clients, chain_time):
    open_id = create_closed_model(repository, chain_time, close=False)
    with reverts("ModelNotClosed"):
        loanbook.deploy_model(open_id, POLICY_CID, APP_KEY)
    with reverts("UnknownModel"):
        loanbook.deploy_model(99, POLICY_CID, APP_KEY)
    model_id = create_closed_model(repository, chain_time)
    other = loanbook.as_account(clients[1])
    with reverts("NotLender"):
        other.deploy_model(model_id, POLICY_CID, APP_KEY)
    with reverts("EmptyCid"):
        loanbook.deploy_model(model_id, "", APP_KEY)
    with reverts("ZeroKey"):
        loanbook.deploy_model(model_id, POLICY_CID, b"\x00" * 32)
    with pytest.raises(ConfigError, match="32 bytes"):
        loanbook.deploy_model(model_id, POLICY_CID, b"\x01" * 31)
    assert loanbook.deployment(model_id) is None
    receipt = loanbook.deploy_model(model_id, POLICY_CID, APP_KEY.hex())
    d = loanbook.deployment(model_id)
    assert d.lender == loanbook.client.address and d.active and d.loan_count == 0
    assert d.policy_cid == POLICY_CID and d.application_key == APP_KEY
    assert d.deployed_at == chain_time.now()
    (event,) = [e for e in loanbook.events() if e.name == "ModelDeployed"]
    assert event.args["modelId"] == model_id and event.block_number == receipt["blockNumber"]
    with reverts("AlreadyDeployed"):
        loanbook.deploy_model(model_id, POLICY_CID, APP_KEY)
    assert [x.model_id for x in loanbook.deployments()] == [model_id]


def test_retire_model_stops_applications_only(book):
    loan_id = book.applied(1)
    with reverts("NotLender"):
        book.borrower.retire_model(book.model_id)
    with reverts("ModelNotDeployed"):
        book.lender.retire_model(99)
    book.lender.retire_model(book.model_id)
    assert not book.lender.deployment(book.model_id).active
    with reverts("ModelNotActive"):
        book.lender.retire_model(book.model_id)
    with reverts("ModelNotActive"):
        book.borrower.apply(book.model_id, digest(2), APP_CID, 10**18, 12)
    book.lender.decide(loan_id, True, 1, 500, 10**18, 12)  # existing loans go on
    book.borrower.accept(loan_id)
    book.lender.fund(loan_id)
    assert book.lender.deployment(book.model_id).loan_count == 1


def test_unknown_loan_reads_revert(loanbook):
    for read in (loanbook.loan, loanbook.outstanding, loanbook.next_due, loanbook.is_late):
        with pytest.raises(ContractRevert) as info:
            read(7)
        assert info.value.error_name == "UnknownLoan" and info.value.error_args == (7,)
