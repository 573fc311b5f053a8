"""``hessian node start|stop|status``: a local Ganache (default) or anvil, managed by PID."""

from __future__ import annotations

from pathlib import Path

import click


@click.group()
def node() -> None:
    """Start, stop or inspect the local development chain."""


@node.command()
@click.option(
    "--kind", type=click.Choice(["ganache", "anvil"]), default="ganache", show_default=True
)
@click.option("--port", type=click.IntRange(1, 65535), default=8545, show_default=True)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the chain here across restarts (default: $HESSIAN_HOME/chain-<kind>).",
)
@click.option("--ephemeral", is_flag=True, help="Do not keep any state (fresh chain).")
def start(kind: str, port: int, state_dir: Path | None, ephemeral: bool) -> None:
    """Start a node on 127.0.0.1 and wait until it answers JSON-RPC."""
    from hessian_common.chain.node import start_node
    from hessian_common.config import load_settings

    settings = load_settings()
    if ephemeral:
        state_dir = None
    elif state_dir is None:
        state_dir = settings.home / f"chain-{kind}"
    info = start_node(kind, port, state_dir, settings)
    click.echo(f"{info.kind} running at {info.url} (chain id {info.chain_id}, PID {info.pid})")
    if info.state_dir:
        click.echo(f"  state: {info.state_dir}")
    click.echo(f"  log:   {info.log_file}")


@node.command()
def stop() -> None:
    """Stop the node started by `hessian node start` (by its PID)."""
    from hessian_common.chain.node import stop_node

    info = stop_node()
    if info is None:
        click.echo("no node recorded; nothing to stop")
    else:
        click.echo(f"stopped {info.kind} (PID {info.pid}) at {info.url}")


@node.command()
def status() -> None:
    """Show the recorded node and whether it is running; exit 1 if not running."""
    from hessian_common.chain.node import node_status

    info, alive = node_status()
    if info is None:
        click.echo("no node recorded")
        click.get_current_context().exit(1)
    state = "running" if alive else "not running (stale PID file)"
    click.echo(f"{info.kind} at {info.url} (chain id {info.chain_id}, PID {info.pid}): {state}")
    if not alive:
        click.get_current_context().exit(1)
