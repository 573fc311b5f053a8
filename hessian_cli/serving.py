"""What the two app commands (``hessian company``, ``hessian owner``) share: the options that
say where to serve and what to talk to, and a chain-id probe that never fails the start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from hessian_common.errors import ChainUnavailable


def server_options(default_port: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--rpc``, ``--port``, ``--host``, ``--store-dir``, ``--home``, ``--contract``."""
    options = [
        click.option("--rpc", "rpc_url", help="Ethereum JSON-RPC URL (default: settings, :8545)."),
        click.option(
            "--port", type=int, default=default_port, show_default=True, help="HTTP port."
        ),
        click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind."),
        click.option(
            "--store-dir", type=click.Path(file_okay=False), help="Embedded store directory."
        ),
        click.option(
            "--home", type=click.Path(file_okay=False), help="Hessian home ($HESSIAN_HOME)."
        ),
        click.option(
            "--contract", help="ModelRepository address (default: the deployment record)."
        ),
    ]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def chain_id_or_none(rpc_url: str) -> int | None:
    """The chain id at ``rpc_url``, or ``None`` when the node does not answer (the app still
    starts and shows the chain as down)."""
    from hessian_common.chain.client import connect

    try:
        return int(connect(rpc_url, timeout=5).eth.chain_id)
    except ChainUnavailable:
        return None
