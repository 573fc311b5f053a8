"""Deploy ``ModelRepository``, ``LoanBook`` and the tokens; keep a record per chain and contract.

``deployments/<chainId>.json`` records the ModelRepository, ``deployments/<chainId>-LoanBook.json``
the LoanBook linked to it, ``<chainId>-HessianToken.json`` the HSN token (fixed supply, minted
at deployment to an address the deployer names) and, on local development chains only,
``<chainId>-TestUSD.json`` the test dollar token (:func:`deploy_tokens`; :func:`load_tokens`
reads them back). A record holds what a client needs to find and trust the contract again::

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
from hessian_common.chain.loanbook import LoanBook
from hessian_common.chain.repository import ModelRepository
from hessian_common.chain.token import DEV_CHAIN_IDS, HSN_SUPPLY, ZERO_ADDRESS, TestUSD, Token
from hessian_common.config import load_settings
from hessian_common.errors import ChainError, ChainUnavailable, ConfigError, DeploymentNotFound

CONTRACT_NAME = "ModelRepository"
LOANBOOK_NAME = "LoanBook"
HSN_NAME = "HessianToken"
TEST_USD_NAME = "TestUSD"
TOKEN_NAMES = (HSN_NAME, TEST_USD_NAME)
"""The token contracts ``hessian deploy`` deploys and records (TestUSD on dev chains only)."""
DAY = 86_400
PAYMENT_PERIOD = 30 * DAY
DEFAULT_AFTER = 120 * DAY
OFFER_VALIDITY = 7 * DAY
FUNDING_WINDOW = 7 * DAY
"""Seconds the lender has to fund an accepted loan (the borrower may cancel after)."""


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


def deployment_path(
    chain_id: int, deployments_dir: Path | None = None, contract: str = CONTRACT_NAME
) -> Path:
    """``<dir>/<chain_id>.json`` for the repository, else ``<dir>/<chain_id>-<contract>.json``."""
    name = f"{chain_id}.json" if contract == CONTRACT_NAME else f"{chain_id}-{contract}.json"
    return Path(deployments_dir or load_settings().deployments_dir) / name


def _record(
    client: ChainClient,
    artifact: Artifact,
    receipt: dict,
    deployments_dir: Path | None,
) -> None:
    """Write the deployment record of ``artifact`` (atomically, replacing an earlier one)."""
    dep = Deployment(
        contract=artifact.name,
        chain_id=client.chain_id,
        address=Web3.to_checksum_address(receipt["contractAddress"]),
        abi_sha256=artifact.abi_hash,
        block=int(receipt["blockNumber"]),
        deployer=client.address,
        tx_hash=tx_hash_of(receipt),
        compiler=artifact.compiler,
        deployed_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    path = deployment_path(client.chain_id, deployments_dir, artifact.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(asdict(dep), fh, indent=2)
        fh.write("\n")
    os.replace(tmp, path)


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
        _record(client, artifact, receipt, deployments_dir)
    return address


def deploy_loanbook(
    client: ChainClient,
    repository_address: str,
    deployments_dir: Path | None = None,
    *,
    payment_period: int = PAYMENT_PERIOD,
    default_after: int = DEFAULT_AFTER,
    offer_validity: int = OFFER_VALIDITY,
    funding_window: int = FUNDING_WINDOW,
    record: bool = True,
    artifact: Artifact | None = None,
) -> str:
    """Deploy a ``LoanBook`` linked to the ModelRepository at ``repository_address``.

    Times are seconds (defaults: 30-day instalments, default after 120 days overdue, offers
    open 7 days, accepted loans funded within 7 days). With ``record`` writes
    ``deployments/<chainId>-LoanBook.json``.

    Raises
    ------
    ConfigError
        A time is not a positive integer, or there is no contract code at
        ``repository_address`` (nothing is sent).
    """
    for name, value in (
        ("payment_period", payment_period),
        ("default_after", default_after),
        ("offer_validity", offer_validity),
        ("funding_window", funding_window),
    ):
        if not isinstance(value, int) or not 0 < value < 2**64:
            raise ConfigError(f"{name} must be a positive number of seconds, not {value!r}")
    repo = Web3.to_checksum_address(repository_address)
    with node_errors(client.url):
        code = client.w3.eth.get_code(repo)
    if not code:
        raise ConfigError(
            f"no contract at {repo} on chain {client.chain_id} ({client.url}): a LoanBook "
            "needs a deployed ModelRepository"
        )
    artifact = artifact or load_artifact(LOANBOOK_NAME)
    receipt = client.deploy(
        artifact.abi,
        artifact.bytecode,
        repo,
        payment_period,
        default_after,
        offer_validity,
        funding_window,
    )
    if record:
        _record(client, artifact, receipt, deployments_dir)
    return Web3.to_checksum_address(receipt["contractAddress"])


def load_deployment(
    w3: Web3,
    deployments_dir: Path | None = None,
    check_code: bool = True,
    contract: str = CONTRACT_NAME,
) -> Deployment:
    """The deployment record of ``contract`` (default the repository) for the chain of ``w3``.

    Raises
    ------
    DeploymentNotFound
        No record for this chain id, an unreadable record, or (``check_code``) no contract
        code at the recorded address any more (e.g. the local chain was reset).
    ChainUnavailable
        The node behind ``w3`` cannot be reached.
    """
    chain_id = chain_id_of(w3)
    path = deployment_path(chain_id, deployments_dir, contract)
    if not path.exists():
        raise DeploymentNotFound(
            f"no {contract} deployment for chain {chain_id} in {path.parent}; run `hessian deploy`"
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


def open_loanbook(client: ChainClient, deployments_dir: Path | None = None) -> LoanBook:
    """The recorded ``LoanBook`` of ``client``'s chain, checked against our ABI.

    Raises
    ------
    DeploymentNotFound
        No LoanBook record for this chain, or no code at the recorded address.
    ChainError
        The recorded ABI is not the one the sources compile to.
    """
    dep = load_deployment(client.w3, deployments_dir, contract=LOANBOOK_NAME)
    artifact = load_artifact(LOANBOOK_NAME)
    if dep.abi_sha256 != artifact.abi_hash:
        raise ChainError(
            f"the LoanBook at {dep.address} (chain {dep.chain_id}) has ABI {dep.abi_sha256[:12]}, "
            f"the sources compile to {artifact.abi_hash[:12]}; run `hessian deploy` again"
        )
    return LoanBook(client, dep.address, artifact.abi, from_block=dep.block)


# ---------------------------------------------------------------- tokens


def deploy_hsn(
    client: ChainClient,
    recipient: str | None = None,
    supply: int = HSN_SUPPLY,
    deployments_dir: Path | None = None,
    *,
    record: bool = True,
    artifact: Artifact | None = None,
) -> str:
    """Deploy HSN with its whole fixed ``supply`` (base units, 18 decimals) minted to
    ``recipient`` (default: the deployer); with ``record`` writes
    ``deployments/<chainId>-HessianToken.json``. Returns its address.

    Raises
    ------
    ConfigError
        ``recipient`` is not an address, or ``supply`` is not positive (nothing is sent).
    """
    who = client.address if recipient is None else str(recipient)
    if not Web3.is_address(who) or Web3.to_checksum_address(who) == ZERO_ADDRESS:
        raise ConfigError(f"the HSN supply needs a recipient address, not {recipient!r}")
    if isinstance(supply, bool) or not isinstance(supply, int) or supply <= 0:
        raise ConfigError(f"the HSN supply must be a positive number of base units, not {supply!r}")
    artifact = artifact or load_artifact(HSN_NAME)
    receipt = client.deploy(
        artifact.abi, artifact.bytecode, Web3.to_checksum_address(who), int(supply)
    )
    if record:
        _record(client, artifact, receipt, deployments_dir)
    return Web3.to_checksum_address(receipt["contractAddress"])


def deploy_test_usd(
    client: ChainClient,
    deployments_dir: Path | None = None,
    *,
    record: bool = True,
    artifact: Artifact | None = None,
) -> str:
    """Deploy the TestUSD test dollar token (6 decimals, a faucet) on a local development
    chain; with ``record`` writes ``deployments/<chainId>-TestUSD.json``. Returns its address.

    Raises
    ------
    ConfigError
        ``client``'s chain is not a local development chain: a real network has real dollar
        tokens, and a test token there would only mislead (nothing is sent).
    """
    if client.chain_id not in DEV_CHAIN_IDS:
        raise ConfigError(
            f"TestUSD is a test token for local development chains "
            f"({', '.join(str(c) for c in sorted(DEV_CHAIN_IDS))}); chain {client.chain_id} "
            f"({client.url}) is not one: name a real dollar token's address there instead"
        )
    artifact = artifact or load_artifact(TEST_USD_NAME)
    receipt = client.deploy(artifact.abi, artifact.bytecode)
    if record:
        _record(client, artifact, receipt, deployments_dir)
    return Web3.to_checksum_address(receipt["contractAddress"])


def deploy_tokens(
    client: ChainClient,
    deployments_dir: Path | None = None,
    *,
    hsn_recipient: str | None = None,
    hsn_supply: int = HSN_SUPPLY,
    reuse: bool = True,
) -> dict[str, tuple[str, bool]]:
    """HSN, and TestUSD on a development chain: reuse the recorded ones (code present, same
    ABI) unless ``reuse`` is false, else deploy and record them.

    Returns ``{contract name: (address, deployed now)}``. Reusing matters: a second HSN would
    leave every balance of the first one behind.
    """
    names = [HSN_NAME] + ([TEST_USD_NAME] if client.chain_id in DEV_CHAIN_IDS else [])
    out: dict[str, tuple[str, bool]] = {}
    for name in names:
        if reuse:
            try:
                token = open_token(client, name, deployments_dir)
            except ChainUnavailable:
                raise
            except ChainError:  # no record, no code there, or another ABI: deploy a new one
                pass
            else:
                out[name] = (token.address, False)
                continue
        if name == HSN_NAME:
            address = deploy_hsn(client, hsn_recipient, hsn_supply, deployments_dir)
        else:
            address = deploy_test_usd(client, deployments_dir)
        out[name] = (address, True)
    return out


def load_tokens(
    w3: Web3, deployments_dir: Path | None = None, check_code: bool = True
) -> dict[str, Deployment]:
    """The recorded token deployments of ``w3``'s chain (``HessianToken``, ``TestUSD``; those
    recorded and, with ``check_code``, still there): contract name -> record."""
    out = {}
    for name in TOKEN_NAMES:
        try:
            out[name] = load_deployment(w3, deployments_dir, check_code, contract=name)
        except DeploymentNotFound:
            continue
    return out


def open_token(
    client: ChainClient, name: str = HSN_NAME, deployments_dir: Path | None = None
) -> Token:
    """The recorded token ``name`` (``HessianToken`` or ``TestUSD``) of ``client``'s chain:
    a :class:`~hessian_common.chain.token.Token` (:class:`TestUSD` for TestUSD, with its
    faucet).

    Raises
    ------
    ConfigError
        ``name`` is not one of our tokens.
    DeploymentNotFound
        No record for it on this chain (run ``hessian deploy``), or no code there any more.
    ChainError
        The recorded ABI is not the one the sources compile to.
    """
    if name not in TOKEN_NAMES:
        raise ConfigError(f"no token contract {name!r}; ours are {', '.join(TOKEN_NAMES)}")
    dep = load_deployment(client.w3, deployments_dir, contract=name)
    artifact = load_artifact(name)
    if dep.abi_sha256 != artifact.abi_hash:
        raise ChainError(
            f"the {name} at {dep.address} (chain {dep.chain_id}) has ABI {dep.abi_sha256[:12]}, "
            f"the sources compile to {artifact.abi_hash[:12]}; run `hessian deploy` again"
        )
    cls = TestUSD if name == TEST_USD_NAME else Token
    return cls(client, dep.address, artifact.abi, from_block=dep.block)
