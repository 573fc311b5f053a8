"""Every read of the chain room turns a node that is gone into ``ChainUnavailable`` naming it.

Two ways a node is gone: nothing ever listened on the port, and a real anvil that served a
deployed contract is stopped (by its PID) while the wrappers still hold it.
"""

from __future__ import annotations

import pytest

from hessian_common.chain import (
    ChainClient,
    ModelRepository,
    chain_id_of,
    deploy_repository,
    dev_account,
    load_artifact,
    load_deployment,
    node_errors,
    node_url,
    test_set_commitment,
)
from hessian_common.chain.client import connect
from hessian_common.chain.node import launch, wait_for_rpc
from hessian_common.errors import ChainUnavailable
from tests.fixtures.procs import free_port, stop_process

CID = "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"
DIGEST = b"\x07" * 32


def _closed_port_web3():
    from web3 import Web3

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    return Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 5})), url


def test_raw_reads_at_a_closed_port(tmp_path):
    w3, url = _closed_port_web3()
    assert node_url(w3) == url
    with pytest.raises(ChainUnavailable, match=url):
        chain_id_of(w3)
    with pytest.raises(ChainUnavailable, match=url):
        ChainClient(w3, dev_account(0))
    with pytest.raises(ChainUnavailable, match=url):
        load_deployment(w3, tmp_path)
    with pytest.raises(ChainUnavailable, match=url), node_errors(url):
        w3.eth.get_block("latest")


def test_node_errors_lets_other_errors_through():
    with pytest.raises(KeyError), node_errors("http://x"):
        raise KeyError("not a transport failure")


@pytest.mark.anvil
def test_every_read_after_the_node_is_stopped(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = launch("anvil", port, state_dir=tmp_path / "anvil", log_path=tmp_path / "anvil.log")
    try:
        wait_for_rpc(url, timeout=60, proc=proc)
        w3 = connect(url)
        lender = ChainClient(w3, dev_account(0))
        artifact = load_artifact("ModelRepository")
        address = deploy_repository(lender, deployments_dir=tmp_path / "deployments")
        repo = ModelRepository(lender, address, artifact.abi)
        now = lender.block_timestamp()
        model_id = repo.create_model(
            CID,
            bounty=10**18,
            initial_score=600_000,
            target_score=700_000,
            deadline=now + 86_400,
            evaluation_window=3_600,
            test_set_commitment=test_set_commitment(CID, b"\x01" * 32),
        )
        owner = repo.as_account(lender.with_account(dev_account(1)))
        update_id = owner.submit_update(model_id, CID, DIGEST, 100)
        # works while the node is up
        assert repo.model(model_id).spec_cid == CID
        assert [e.name for e in repo.events()] == ["ModelCreated", "UpdateSubmitted"]
        assert lender.block_number() >= 3
    finally:
        stop_process(proc)

    fresh = ModelRepository(lender, address, artifact.abi)  # no cached CIDs
    reads = {
        "client.balance": lambda: lender.balance(),
        "client.block_number": lambda: lender.block_number(),
        "client.block_timestamp": lambda: lender.block_timestamp(),
        "client.call": lambda: lender.call(repo.fn.modelCount()),
        "chain_id_of": lambda: chain_id_of(w3),
        "load_deployment": lambda: load_deployment(w3, tmp_path / "deployments"),
        "pending": lambda: repo.pending(),
        "model_count": lambda: repo.model_count(),
        "submission_count": lambda: repo.submission_count(),
        "model_deposit": lambda: repo.model_deposit(model_id),
        "model": lambda: repo.model(model_id),
        "models": lambda: repo.models(),
        "submission": lambda: repo.submission(update_id),
        "submission_ids": lambda: repo.submission_ids(model_id),
        "submissions": lambda: repo.submissions(model_id),
        "digest_used": lambda: repo.digest_used(model_id, DIGEST),
        "is_stale": lambda: repo.is_stale(update_id),
        "share_of": lambda: repo.share_of(update_id),
        "escrow": lambda: repo.escrow(model_id),
        "events": lambda: repo.events(),
        "events(range)": lambda: repo.events(0, "latest"),
        "CID look-up in the logs": lambda: fresh._log("ModelCreated", "modelId", model_id),
        "close_model (a write)": lambda: repo.close_model(model_id),
        "send_value (a write)": lambda: lender.send_value(dev_account(2).address, 1),
    }
    wrong = {}
    for name, read in reads.items():
        try:
            read()
        except ChainUnavailable as exc:
            if url not in str(exc):
                wrong[name] = f"message does not name {url}: {exc}"
        except Exception as exc:  # reported below, by name
            wrong[name] = repr(exc)
        else:
            wrong[name] = "no error"
    assert wrong == {}
