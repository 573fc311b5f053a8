"""``hessian node start|stop|status``: a local Ganache (default) or anvil, managed by PID;
``hessian node proxy``: a JSON-RPC proxy in front of it that behaves like a public provider."""

from __future__ import annotations

import os
import signal
import sys
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


@node.command()
@click.option("--upstream", required=True, help="The node to put the proxy in front of.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8645, show_default=True)
@click.option("--max-range", type=click.IntRange(min=1), help="Most blocks per eth_getLogs.")
@click.option("--max-results", type=click.IntRange(min=1), help="Most logs per eth_getLogs.")
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Calls per second.")
@click.option("--burst", type=click.FloatRange(min=1), help="Calls at once (default: rate).")
@click.option(
    "--random-429",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.0,
    show_default=True,
    help="Probability of refusing any request with HTTP 429.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seeds the random 429s.")
@click.option(
    "--style",
    type=click.Choice(["infura", "alchemy", "quicknode", "geth"]),
    default="infura",
    show_default=True,
    help="Whose error wording to imitate.",
)
def proxy(
    upstream: str,
    host: str,
    port: int,
    max_range: int | None,
    max_results: int | None,
    rate: float | None,
    burst: float | None,
    random_429: float,
    seed: int,
    style: str,
) -> None:
    """Serve a JSON-RPC proxy that behaves like a public provider (until stopped).

    Log range and result caps, a rate limit and random 429s, worded like Infura, Alchemy,
    QuickNode or geth; everything else is forwarded to UPSTREAM.
    """
    from hessian_common.chain.proxy import RpcProxy

    server = RpcProxy(
        upstream,
        host=host,
        port=port,
        max_range=max_range,
        max_results=max_results,
        rate=rate,
        burst=burst,
        random_429=random_429,
        seed=seed,
        style=style,
    )
    limits = [
        f"max range {max_range}" if max_range else None,
        f"max results {max_results}" if max_results else None,
        f"{rate:g} calls/s" if rate else None,
        f"random 429 p={random_429:g}" if random_429 else None,
    ]
    server.start()
    click.echo(
        f"proxy at {server.url} -> {upstream} ({style}: "
        f"{', '.join(x for x in limits if x) or 'no limits'}; PID {os.getpid()})"
    )
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
