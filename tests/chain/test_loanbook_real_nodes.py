"""LoanBook smoke flows against real nodes (Ganache, anvil) and ``hessian deploy`` with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hessian_common.chain.client import ChainClient, connect, dev_account
from hessian_common.chain.deploy import (
    deploy_loanbook,
    deploy_repository,
    open_loanbook,
    open_repository,
)
from hessian_common.chain.loanbook import LoanStatus, installment_for
from hessian_common.errors import ContractRevert
from tests.fixtures.chain import ChainTime

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
PERIOD, DEFAULT_AFTER, OFFER = 600, 1_800, 3_600
ETH = 10**18


def _flow(url: str, tmp_path) -> None:
    w3 = connect(url)
    lender_client = ChainClient(w3, dev_account(0))
    repo_address = deploy_repository(lender_client, deployments_dir=tmp_path)
    deploy_loanbook(
        lender_client,
        repo_address,
        tmp_path,
        payment_period=PERIOD,
        default_after=DEFAULT_AFTER,
        offer_validity=OFFER,
        funding_window=OFFER,
    )
    repo = open_repository(lender_client, tmp_path)
    lender = open_loanbook(lender_client, tmp_path)
    borrower = lender.as_account(ChainClient(w3, dev_account(1)))
    time = ChainTime(w3)
    model_id = repo.create_model(
        CID,
        bounty=10**15,
        initial_score=600_000,
        target_score=700_000,
        deadline=time.now() + 3_600,
        evaluation_window=600,
        test_set_commitment=b"\x01" * 32,
    )
    with pytest.raises(ContractRevert) as info:
        lender.deploy_model(model_id, CID, b"\x02" * 32)
    assert info.value.error_name == "ModelNotClosed"
    repo.close_model(model_id)
    lender.deploy_model(model_id, CID, b"\x02" * 32)
    assert lender.deployment(model_id).policy_cid == CID

    good = borrower.apply(model_id, b"\x03" * 32, CID, ETH, 3)
    bad = borrower.apply(model_id, b"\x04" * 32, CID, ETH // 2, 6)
    with pytest.raises(ContractRevert) as info:
        borrower.apply(model_id, b"\x03" * 32, CID, ETH, 3)
    assert info.value.error_name == "DuplicateApplication"
    other = lender.as_account(ChainClient(w3, dev_account(2)))
    copy = other.apply(model_id, b"\x03" * 32, CID, ETH, 3)  # digests are per borrower
    assert lender.digest_used(model_id, b"\x03" * 32, other.client.address) == copy
    assert lender.digest_used(model_id, b"\x03" * 32, borrower.client.address) == good
    with pytest.raises(ContractRevert) as info:
        borrower.decide(good, True, 50_000, 900, ETH, 3)
    assert info.value.error_name == "NotLender"
    lender.decide(good, True, 50_000, 900, ETH, 3)
    lender.decide(bad, True, 300_000, 2_500, ETH // 2, 6)
    for loan_id in (good, bad):
        borrower.accept(loan_id)
        lender.fund(loan_id)
    assert borrower.withdraw() == ETH + ETH // 2
    inst = installment_for(ETH, 900, 3)
    assert lender.loan(good).installment == inst
    borrower.repay(good, inst)
    borrower.repay(good, inst)
    # the last instalment before its due date is more than the payoff (refused: repayAll
    # pays a loan off early); on its due date the payoff is the instalment
    with pytest.raises(ContractRevert) as info:
        borrower.repay(good, inst)
    assert info.value.error_name == "Overpayment"
    time.advance(3 * PERIOD)
    borrower.repay(good, inst)
    assert lender.loan(good).status == LoanStatus.REPAID

    time.advance(PERIOD + 5)
    assert lender.is_late(bad)
    lender.mark_late(bad)
    time.advance(DEFAULT_AFTER)
    assert lender.can_default(bad)
    lender.mark_default(bad)
    loan = lender.loan(bad)
    assert loan.status == LoanStatus.DEFAULTED and not loan.late
    borrower.repay(bad, 10**16)  # a recovery
    assert lender.loan(bad).repaid == 10**16
    assert lender.loan(bad).status == LoanStatus.DEFAULTED  # until recovered in full
    assert lender.withdraw() == 3 * inst + 10**16
    assert lender.total_pending() == 0 == w3.eth.get_balance(lender.address)

    early = borrower.apply(model_id, b"\x05" * 32, CID, ETH, 12)
    lender.decide(early, True, 50_000, 1_200, ETH, 12)
    borrower.accept(early)
    lender.fund(early)
    quote = lender.payoff_amount(early, time.now() + 60)  # the node's clock moves on
    borrower.repay_all(early, quote)
    paid = lender.paid_off(early)
    assert ETH <= paid <= quote < lender.loan(early).total_owed
    loan = lender.loan(early)
    assert loan.status == LoanStatus.REPAID and loan.repaid == paid
    assert borrower.pending() == ETH + quote - paid  # the principal and the excess back
    assert lender.pending() == paid
    assert lender.total_pending() == ETH + quote == w3.eth.get_balance(lender.address)
    mine = lender.loans(borrower=borrower.client.address)
    assert [x.loan_id for x in mine] == [good, bad, early]


@pytest.mark.ganache
def test_loanbook_flow_on_ganache(ganache, tmp_path):
    _flow(ganache.url, tmp_path)


@pytest.mark.anvil
def test_loanbook_flow_on_anvil(anvil, tmp_path):
    _flow(anvil.url, tmp_path)


def _hessian(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "hessian_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


@pytest.mark.anvil
def test_cli_deploy_records_a_loanbook_and_reuses_the_repository(anvil, tmp_path):
    env = {**os.environ, "HESSIAN_HOME": str(tmp_path / "home")}
    deployments = tmp_path / "deployments"
    base = ("deploy", "--rpc", anvil.url, "--deployments-dir", str(deployments))
    out = _hessian(env, *base)
    assert out.returncode == 0, out.stderr
    assert "ModelRepository deployed" in out.stdout and "LoanBook deployed" in out.stdout
    assert "PolicyBook deployed" in out.stdout
    policybook = json.loads((deployments / f"{anvil.chain_id}-PolicyBook.json").read_text())
    repo = json.loads((deployments / f"{anvil.chain_id}.json").read_text())
    book = json.loads((deployments / f"{anvil.chain_id}-LoanBook.json").read_text())
    client = ChainClient(connect(anvil.url), dev_account(0))
    assert open_loanbook(client, deployments).repository_address == repo["address"]

    out = _hessian(env, *base)  # again: the repository is reused, a new LoanBook is linked
    assert out.returncode == 0, out.stderr
    assert "ModelRepository reused" in out.stdout
    # the PolicyBook is reused (a new one would leave its pools and policies behind)
    assert "PolicyBook reused" in out.stdout
    again_pb = json.loads((deployments / f"{anvil.chain_id}-PolicyBook.json").read_text())
    assert again_pb["address"] == policybook["address"]
    again = json.loads((deployments / f"{anvil.chain_id}-LoanBook.json").read_text())
    assert json.loads((deployments / f"{anvil.chain_id}.json").read_text()) == repo
    assert again["address"] != book["address"]
    assert open_loanbook(client, deployments).repository_address == repo["address"]

    out = _hessian(env, *base, "--no-loanbook")  # the earlier behaviour: a new repository
    assert out.returncode == 0, out.stderr
    assert "LoanBook" not in out.stdout
    assert json.loads((deployments / f"{anvil.chain_id}.json").read_text()) != repo
    out = _hessian(env, *base, "--new-repository")
    assert out.returncode == 0 and "ModelRepository deployed" in out.stdout
