"""What every phase of a simulation run shares: the clock, progress, accounts and the chain.

- :class:`PhaseClock`: wall-clock per named phase (times of a phase entered twice add up);
- :class:`Progress` / :data:`NO_PROGRESS`: what a phase reports to (the CLI draws bars);
- :func:`account`: a deterministic throw-away key per simulated party (never a dev account);
- :class:`Chain` / :func:`open_chain`: the run's chain (a Ganache or anvil node started on a
  free port and stopped by its PID file, a given RPC endpoint, or in-process eth-tester), and
  :meth:`Chain.fund` to pay the run's accounts from a faucet;
- :func:`advance_time`: move a dev chain's clock (the lending phase's months, stale windows).
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from hessian_common.chain.client import (
    ChainClient,
    connect,
    dev_account,
    eth_tester_web3,
    node_errors,
    node_url,
)
from hessian_common.chain.node import start_node, stop_node
from hessian_common.config import Settings, load_settings
from hessian_common.errors import ChainError, ConfigError, HessianError

WEI_PER_ETH = 10**18
CHAINS = ("ganache", "anvil", "eth-tester")


class Progress(Protocol):
    """What a run reports to (the CLI's progress bars)."""

    def start(self, phase: str, total: int | None) -> None:  # pragma: no cover - protocol
        """A phase begins with ``total`` steps."""

    def advance(self, n: int = 1, note: str | None = None) -> None:  # pragma: no cover
        """``n`` steps done."""


class _NoProgress:
    """Reports nowhere."""

    def start(self, phase: str, total: int | None) -> None:
        return None

    def advance(self, n: int = 1, note: str | None = None) -> None:
        return None


NO_PROGRESS: Progress = _NoProgress()
"""The progress of a run nobody watches."""


class PhaseClock:
    """Wall-clock per phase (phases may be entered several times; times add up)."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Time the ``with`` block under ``name``."""
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.phases[name] = self.phases.get(name, 0.0) + time.perf_counter() - t0


def account(seed: int, label: str) -> LocalAccount:
    """A deterministic throw-away account for one simulated party:
    ``key = sha256("hessian-simulation/<seed>/<label>")``."""
    key = hashlib.sha256(f"hessian-simulation/{seed}/{label}".encode()).digest()
    return Account.from_key(key)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Chain:
    """The chain of one run and how to stop it."""

    w3: Web3
    kind: str
    settings: Settings | None = None
    """Set when this run started the node (stopped by its PID file)."""

    def stop(self) -> None:
        """Stop the node if this run started it (by its PID, never by name)."""
        if self.settings is not None:
            stop_node(self.settings)
            self.settings = None

    def fund(self, accounts: list[LocalAccount], amounts: list[int]) -> str:
        """Send each account its amount from a faucet; returns the faucet's address.

        eth-tester: its first unlocked account; a node: dev account 9 (a dev chain's).
        Raises :class:`ChainError` when the faucet holds too little.
        """
        if self.kind == "eth-tester":
            faucet = self.w3.eth.accounts[0]
            for acct, amount in zip(accounts, amounts, strict=True):
                tx = self.w3.eth.send_transaction(
                    {"from": faucet, "to": acct.address, "value": amount}
                )
                self.w3.eth.wait_for_transaction_receipt(tx)
            return str(faucet)
        client = ChainClient(self.w3, dev_account(9))
        need = sum(amounts)
        if client.balance() < need:
            raise ChainError(
                f"faucet {client.address} holds {client.balance() / WEI_PER_ETH:.2f} ETH, the "
                f"run needs {need / WEI_PER_ETH:.2f} ETH (is {self.w3.provider} a dev chain?)"
            )
        for acct, amount in zip(accounts, amounts, strict=True):
            client.send_value(acct.address, amount)
        return client.address


def open_chain(kind: str, rpc_url: str | None, home: Path) -> Chain:
    """``rpc_url`` if given, else a fresh local ``kind`` chain (``ganache``, ``anvil`` on a free
    port, with its state under ``home``; or in-process ``eth-tester``)."""
    if rpc_url:
        return Chain(connect(rpc_url), "rpc")
    if kind == "eth-tester":
        return Chain(eth_tester_web3(), "eth-tester")
    if kind not in CHAINS:
        raise ConfigError(f"chain must be one of {', '.join(CHAINS)}, not {kind!r}")
    settings = load_settings(home=home)
    node = start_node(kind, port=free_port(), settings=settings)
    chain = Chain(None, kind, settings)  # type: ignore[arg-type]  # set just below
    try:
        chain.w3 = connect(node.url)
    except HessianError:
        chain.stop()
        raise
    return chain


def advance_time(w3: Web3, seconds: int) -> int:
    """Move the chain's clock forward by ``seconds`` and mine a block; returns the new time.

    eth-tester: ``time_travel``; Ganache / anvil (or any dev node): ``evm_increaseTime`` +
    ``evm_mine``. Raises :class:`ChainError` if the node refuses (not a dev chain).
    """
    seconds = int(seconds)
    tester = getattr(w3.provider, "ethereum_tester", None)
    with node_errors(node_url(w3)):
        now = int(w3.eth.get_block("latest")["timestamp"])
        if seconds <= 0:
            return now
        if tester is not None:
            tester.time_travel(now + seconds)
            tester.mine_blocks(1)
        else:
            for method, params in (("evm_increaseTime", [seconds]), ("evm_mine", [])):
                reply = w3.provider.make_request(method, params)
                if isinstance(reply, dict) and reply.get("error"):
                    raise ChainError(
                        f"{method} refused by {node_url(w3)}: {reply['error']} (the "
                        "simulation needs a dev chain that can move time)"
                    )
        return int(w3.eth.get_block("latest")["timestamp"])
