"""Deploy ``ModelRepository`` and keep a record per chain in ``deployments/<chainId>.json``.

The record holds what a client needs to find and trust the contract again::

    {"contract": "ModelRepository", "chain_id": 1337, "address": "0x...",
     "abi_sha256": "17c6...", "block": 1, "deployer": "0x...", "tx_hash": "0x...",
     "compiler": "0.8.28+commit...", "deployed_at": "2026-01-01T12:00:00+00:00"}
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from web3 import Web3

from hessian_common.chain.client import (
    ChainClient,
    chain_id_of,
    node_errors,
    node_url,
    tx_hash_of,
)
from hessian_common.chain.compile import Artifact, load_artifact
from hessian_common.chain.repository import ModelRepository
from hessian_common.config import load_settings
from hessian_common.errors import ChainError, DeploymentNotFound

CONTRACT_NAME = "ModelRepository"


@dataclass(frozen=True)
class Deployment:
    """A deployment record (see the module docstring)."""

    contract: str
    chain_id: int
    address: str
    abi_sha256: str
    block: int
    deployer: str
    tx_hash: str
    compiler: str
    deployed_at: str


def deployment_path(chain_id: int, deployments_dir: Path | None = None) -> Path:
    """``<deployments_dir>/<chain_id>.json``."""
    return Path(deployments_dir or load_settings().deployments_dir) / f"{chain_id}.json"


def deploy_repository(
    client: ChainClient,
    deployments_dir: Path | None = None,
    artifact: Artifact | None = None,
    record: bool = True,
) -> str:
    """Deploy ``ModelRepository`` with ``client``'s account and return its address.

    With ``record`` (the default) writes ``deployments/<chainId>.json``, replacing any
    earlier record for that chain.
    """
    artifact = artifact or load_artifact(CONTRACT_NAME)
    receipt = client.deploy(artifact.abi, artifact.bytecode)
    address = Web3.to_checksum_address(receipt["contractAddress"])
    if record:
        dep = Deployment(
            contract=artifact.name,
            chain_id=client.chain_id,
            address=address,
            abi_sha256=artifact.abi_hash,
            block=int(receipt["blockNumber"]),
            deployer=client.address,
            tx_hash=tx_hash_of(receipt),
            compiler=artifact.compiler,
            deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        path = deployment_path(client.chain_id, deployments_dir)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(dep), fh, indent=2)
            fh.write("\n")
        os.replace(tmp, path)
    return address


def load_deployment(
    w3: Web3, deployments_dir: Path | None = None, check_code: bool = True
) -> Deployment:
    """The deployment record for the chain behind ``w3``.

    Raises
    ------
    DeploymentNotFound
        No record for this chain id, an unreadable record, or (``check_code``) no contract
        code at the recorded address any more (e.g. the local chain was reset).
    ChainUnavailable
        The node behind ``w3`` cannot be reached.
    """
    chain_id = chain_id_of(w3)
    path = deployment_path(chain_id, deployments_dir)
    if not path.exists():
        raise DeploymentNotFound(
            f"no deployment for chain {chain_id} in {path.parent}; run `hessian deploy`"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        dep = Deployment(**data)
    except (OSError, json.JSONDecodeError, TypeError) as exc:
        raise DeploymentNotFound(f"deployment record {path} is unreadable: {exc}") from exc
    if check_code:
        with node_errors(node_url(w3)):
            code = w3.eth.get_code(Web3.to_checksum_address(dep.address))
        if not code:
            raise DeploymentNotFound(
                f"{path} names {dep.address}, but chain {chain_id} at {node_url(w3)} has no "
                "code there (was the chain reset?); run `hessian deploy` again"
            )
    return dep


def open_repository(client: ChainClient, deployments_dir: Path | None = None) -> ModelRepository:
    """The recorded ``ModelRepository`` of ``client``'s chain, checked against our ABI."""
    dep = load_deployment(client.w3, deployments_dir)
    artifact = load_artifact(CONTRACT_NAME)
    if dep.abi_sha256 != artifact.abi_hash:
        raise ChainError(
            f"the contract at {dep.address} (chain {dep.chain_id}) has ABI {dep.abi_sha256[:12]}, "
            f"the sources compile to {artifact.abi_hash[:12]}; run `hessian deploy` again"
        )
    return ModelRepository(client, dep.address, artifact.abi, from_block=dep.block)
