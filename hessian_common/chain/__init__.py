"""The chain room: compile, connect, sign, and talk to ``ModelRepository``, ``LoanBook`` and
the ERC-20 tokens.

Public face (see ``docs/architecture.md``)::

    compile_contracts, load_artifact, Artifact           # compile.py  (npm solc 0.8.28)
    connect, dev_account, load_keystore, create_keystore,
    ChainClient, eth_tester_web3, DEV_MNEMONIC,
    chain_id_of, node_errors, node_url, tx_hash_of,
    RetryPolicy, RetryingHTTPProvider, is_rate_limited,
    BatchCall, fee_fields                                 # client.py (transact_batch, fees)
    chain_scope, current_scope, fresh_reads, ChainScope,
    HessianHTTPProvider, probe_rpc, describe_failure      # outage.py (a node that hangs)
    ContractWrapper, ChainEvent                           # wrapper.py (base of the two below)
    EventIndex, RefreshResult, LogsTooLarge, index_file   # index.py (the local event index)
    RpcProxy, start_proxy_process                         # proxy.py (a provider, for tests)
    ModelRepository, ModelInfo, SubmissionInfo,
    Metric, Mechanism, Reason, SubmissionStatus, ModelStatus,
    test_set_commitment, new_salt, default_stale_reward   # repository.py
    LoanBook, LoanInfo, DeploymentInfo, LoanStatus,
    installment_for, MAX_APR_BPS                          # loanbook.py
    Token, TestUSD, Permit, currency_of, currency_address,
    is_ether, fund, ZERO_ADDRESS, DEV_CHAIN_IDS, HSN_SUPPLY  # token.py (ERC-20, permits)
    deploy_repository, load_deployment, open_repository,
    deploy_loanbook, open_loanbook,
    deploy_hsn, deploy_test_usd, deploy_tokens,
    load_tokens, open_token                               # deploy.py
    start_node, stop_node, node_status                    # node.py
"""

from hessian_common.chain.client import (
    DEV_MNEMONIC,
    BatchCall,
    ChainClient,
    RetryingHTTPProvider,
    RetryPolicy,
    chain_id_of,
    connect,
    create_keystore,
    dev_account,
    eth_tester_web3,
    fee_fields,
    is_rate_limited,
    load_keystore,
    node_errors,
    node_url,
    tx_hash_of,
)
from hessian_common.chain.compile import Artifact, compile_contracts, load_artifact
from hessian_common.chain.deploy import (
    Deployment,
    deploy_hsn,
    deploy_loanbook,
    deploy_repository,
    deploy_test_usd,
    deploy_tokens,
    load_deployment,
    load_tokens,
    open_loanbook,
    open_repository,
    open_token,
)
from hessian_common.chain.index import EventIndex, LogsTooLarge, RefreshResult, index_file
from hessian_common.chain.loanbook import (
    MAX_APR_BPS,
    DeploymentInfo,
    LoanBook,
    LoanInfo,
    LoanStatus,
    installment_for,
)
from hessian_common.chain.node import LocalNode, node_status, start_node, stop_node
from hessian_common.chain.outage import (
    ChainScope,
    HessianHTTPProvider,
    chain_scope,
    current_scope,
    describe_failure,
    fresh_reads,
    probe_rpc,
)
from hessian_common.chain.proxy import RpcProxy, start_proxy_process
from hessian_common.chain.repository import (
    CloseReason,
    Mechanism,
    Metric,
    ModelInfo,
    ModelRepository,
    ModelStatus,
    Reason,
    SubmissionInfo,
    SubmissionStatus,
    default_stale_reward,
    new_salt,
    test_set_commitment,
)
from hessian_common.chain.token import (
    DEV_CHAIN_IDS,
    HSN_SUPPLY,
    ZERO_ADDRESS,
    Permit,
    TestUSD,
    Token,
    currency_address,
    currency_of,
    fund,
    is_ether,
)
from hessian_common.chain.wrapper import ChainEvent, ContractWrapper

__all__ = [
    "DEV_CHAIN_IDS",
    "DEV_MNEMONIC",
    "HSN_SUPPLY",
    "MAX_APR_BPS",
    "ZERO_ADDRESS",
    "Artifact",
    "BatchCall",
    "ChainClient",
    "ChainEvent",
    "ChainScope",
    "CloseReason",
    "ContractWrapper",
    "Deployment",
    "DeploymentInfo",
    "EventIndex",
    "HessianHTTPProvider",
    "LoanBook",
    "LoanInfo",
    "LoanStatus",
    "LocalNode",
    "LogsTooLarge",
    "Mechanism",
    "Metric",
    "ModelInfo",
    "ModelRepository",
    "ModelStatus",
    "Permit",
    "Reason",
    "RefreshResult",
    "RetryPolicy",
    "RetryingHTTPProvider",
    "RpcProxy",
    "SubmissionInfo",
    "SubmissionStatus",
    "TestUSD",
    "Token",
    "chain_id_of",
    "chain_scope",
    "compile_contracts",
    "connect",
    "create_keystore",
    "currency_address",
    "currency_of",
    "current_scope",
    "default_stale_reward",
    "deploy_hsn",
    "deploy_loanbook",
    "deploy_repository",
    "deploy_test_usd",
    "deploy_tokens",
    "describe_failure",
    "dev_account",
    "eth_tester_web3",
    "fee_fields",
    "fresh_reads",
    "fund",
    "index_file",
    "installment_for",
    "is_ether",
    "is_rate_limited",
    "load_artifact",
    "load_deployment",
    "load_keystore",
    "load_tokens",
    "new_salt",
    "node_errors",
    "node_status",
    "node_url",
    "open_loanbook",
    "open_repository",
    "open_token",
    "probe_rpc",
    "start_node",
    "start_proxy_process",
    "stop_node",
    "test_set_commitment",
    "tx_hash_of",
]
