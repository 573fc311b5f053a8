"""Smoke flows against real nodes: Ganache and anvil from node_modules, and the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from hessian_common.chain.client import ChainClient, connect, dev_account
from hessian_common.chain.deploy import deploy_repository, open_repository
from hessian_common.chain.repository import SubmissionStatus, test_set_commitment
from hessian_common.errors import ContractRevert
from tests.fixtures.chain import ChainTime
from tests.fixtures.procs import free_port

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def _flow(url: str, expected_chain_id: int, tmp_path) -> None:
    w3 = connect(url)
    assert w3.eth.chain_id == expected_chain_id
    lender_client = ChainClient(w3, dev_account(0))
    deploy_repository(lender_client, deployments_dir=tmp_path)
    lender = open_repository(lender_client, tmp_path)
    owner = lender.as_account(ChainClient(w3, dev_account(1)))
    time = ChainTime(w3)
    salt = b"\x01" * 32
    model_id = lender.create_model(
        CID,
        bounty=10**18,
        initial_score=600_000,
        target_score=700_000,
        deadline=time.now() + 3_600,
        evaluation_window=600,
        test_set_commitment=test_set_commitment(CID, salt),
        submission_deposit=10**15,
    )
    uid = owner.submit_update(model_id, CID, b"\x02" * 32, 500)
    with pytest.raises(ContractRevert, match="DigestAlreadySubmitted"):
        owner.submit_update(model_id, CID, b"\x02" * 32, 500)
    with pytest.raises(ContractRevert, match="NotLender"):
        owner.evaluate_update(uid, True, 650_000, CID)
    lender.evaluate_update(uid, True, 650_000, CID)
    assert owner.submission(uid).status == SubmissionStatus.ACCEPTED
    assert owner.withdraw() == 10**18 // 2 + 10**15
    time.advance(3_601)
    owner.close_model(model_id)
    with pytest.raises(ContractRevert, match="NotRevealed"):
        lender.reclaim(model_id)
    lender.reveal_test_set(model_id, CID, salt, CID)
    assert lender.reclaim(model_id) == 10**18 // 2
    m = lender.model(model_id)
    assert m.revealed and m.test_set_cid == CID and m.model_cid == CID and m.transcript_cid == CID
    e = lender.escrow(model_id)
    assert e["paid"] + e["owed"] + e["remaining"] + e["reclaimed"] == e["bounty"]


@pytest.mark.ganache
def test_smoke_flow_on_ganache(ganache, tmp_path):
    _flow(ganache.url, 1337, tmp_path)


@pytest.mark.anvil
def test_smoke_flow_on_anvil(anvil, tmp_path):
    _flow(anvil.url, 31337, tmp_path)


def _hessian(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "hessian_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


@pytest.mark.anvil
@pytest.mark.slow
def test_cli_node_start_deploy_stop_keeps_state(tmp_path):
    env = {**os.environ, "HESSIAN_HOME": str(tmp_path / "home")}
    port = str(free_port())
    out = _hessian(env, "node", "status")
    assert out.returncode == 1 and "no node recorded" in out.stdout
    out = _hessian(env, "node", "start", "--kind", "anvil", "--port", port)
    assert out.returncode == 0, out.stderr
    try:
        assert "running at http://127.0.0.1:" in out.stdout
        assert "running" in _hessian(env, "node", "status").stdout
        again = _hessian(env, "node", "start", "--kind", "anvil", "--port", port)
        assert again.returncode == 1 and "already running" in again.stderr
        url = f"http://127.0.0.1:{port}"
        deployments = tmp_path / "deployments"
        out = _hessian(env, "deploy", "--rpc", url, "--deployments-dir", str(deployments))
        assert out.returncode == 0, out.stderr
        record = json.loads((deployments / "31337.json").read_text())
        assert record["deployer"] == dev_account(0).address
    finally:
        stopped = _hessian(env, "node", "stop")
    assert stopped.returncode == 0 and "stopped anvil" in stopped.stdout
    assert _hessian(env, "node", "status").returncode == 1
    # restart on the same state: the contract is still there
    out = _hessian(env, "node", "start", "--kind", "anvil", "--port", port)
    assert out.returncode == 0, out.stderr
    try:
        w3 = connect(f"http://127.0.0.1:{port}")
        assert w3.eth.get_code(record["address"])
    finally:
        _hessian(env, "node", "stop")


def test_cli_bad_input_is_a_message(tmp_path):
    env = {**os.environ, "HESSIAN_HOME": str(tmp_path)}
    url = f"http://127.0.0.1:{free_port()}"
    out = _hessian(env, "deploy", "--rpc", url)
    assert out.returncode == 1 and "unreachable" in out.stderr and url in out.stderr
    assert "Traceback" not in out.stderr
    out = _hessian(env, "deploy", "--rpc", url, "--account", "alice")
    assert out.returncode == 1 and "dev:0" in out.stderr and "Traceback" not in out.stderr
    out = _hessian(env, "node", "stop")
    assert out.returncode == 0 and "nothing to stop" in out.stdout
