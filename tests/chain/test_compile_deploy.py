"""Compiling with npm solc, the artefact cache, deployment records."""

from __future__ import annotations

import json

import pytest

from hessian_common.chain.compile import SOLC_VERSION, compile_contracts, load_artifact
from hessian_common.chain.deploy import deploy_repository, load_deployment, open_repository
from hessian_common.errors import ChainError, DeploymentNotFound


def test_artifacts_are_shanghai_bytecode_from_the_pinned_compiler():
    art = load_artifact("ModelRepository")
    assert art.compiler.startswith(SOLC_VERSION)
    assert art.bytecode.startswith("0x60") and len(art.deployed_bytecode) < 2 * 24_576 + 2
    names = {e.get("name") for e in art.abi}
    assert {"createModel", "submitUpdate", "evaluateUpdate", "withdraw", "WrongDeposit"} <= names
    with pytest.raises(ChainError, match="no contract"):
        load_artifact("Nope")


def test_compile_errors_and_cache(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "A.sol").write_text("pragma solidity 0.8.28; contract A { function f() {} }")
    with pytest.raises(ChainError, match="solc reported errors"):
        compile_contracts(contracts_dir=src, build_dir=tmp_path / "build")
    (src / "A.sol").write_text(
        "pragma solidity 0.8.28; contract A { function f() external pure returns (uint) "
        "{ return 1; } }"
    )
    first = compile_contracts(contracts_dir=src, build_dir=tmp_path / "build")
    cached = list((tmp_path / "build").glob("*.json"))
    assert {p.name for p in cached} >= {"A.json"}
    again = compile_contracts(contracts_dir=src, build_dir=tmp_path / "build")
    assert again == first


def test_deploy_records_and_loads(client, tmp_path, w3):
    address = deploy_repository(client, deployments_dir=tmp_path)
    record = json.loads((tmp_path / f"{client.chain_id}.json").read_text())
    assert record["address"] == address and record["contract"] == "ModelRepository"
    assert record["abi_sha256"] == load_artifact("ModelRepository").abi_hash
    assert record["deployer"] == client.address
    dep = load_deployment(w3, tmp_path)
    assert dep.block == record["block"]
    repo = open_repository(client, tmp_path)
    assert repo.model_count() == 0 and repo.from_block == dep.block


def test_missing_or_stale_deployment(client, tmp_path, w3):
    with pytest.raises(DeploymentNotFound, match="hessian deploy"):
        load_deployment(w3, tmp_path)
    record = {
        "contract": "ModelRepository",
        "chain_id": client.chain_id,
        "address": "0x" + "12" * 20,
        "abi_sha256": "0",
        "block": 1,
        "deployer": client.address,
        "tx_hash": "0x",
        "compiler": "x",
        "deployed_at": "now",
    }
    (tmp_path / f"{client.chain_id}.json").write_text(json.dumps(record))
    with pytest.raises(DeploymentNotFound, match="no code"):
        load_deployment(w3, tmp_path)
