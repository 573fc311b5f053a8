"""``hessian company``: the lender's dashboard (Flask app served by waitress).

    hessian company --rpc http://127.0.0.1:8545 --port 5000

Listens on 127.0.0.1 unless ``--host`` says otherwise. The lender's secrets (Ethereum keystore,
Paillier private keys) are sealed with a passphrase from ``HESSIAN_COMPANY_PASSPHRASE``, or
asked for at start. On a local demo chain (Ganache 1337, anvil 31337) the app uses the
well-known dev account 0 and, without the variable, the dev-only passphrase
``hessian-local-demo``; never on a public network.
"""

from __future__ import annotations

import os

import click

from hessian_cli.serving import chain_id_or_none, server_options
from hessian_common.errors import ConfigError

DEFAULT_PORT = 5000


@click.command()
@server_options(DEFAULT_PORT)
@click.option(
    "--account",
    default="auto",
    show_default=True,
    help="'auto' (dev account 0 on a local chain, else the keystore), 'keystore' or 'dev:N'.",
)
def company(
    rpc_url: str | None,
    port: int,
    host: str,
    store_dir: str | None,
    home: str | None,
    contract: str | None,
    account: str,
) -> None:
    """Run the lender's dashboard in the browser."""
    from company_app import create_app
    from hessian_common.config import load_settings
    from hessian_common.tasks import ENV_PASSPHRASE, LOCAL_CHAIN_IDS, resolve_passphrase
    from hessian_common.web import serve

    if not 0 < port < 65536:
        raise click.BadParameter(f"{port} is not a TCP port (1-65535)", param_hint="--port")
    settings = load_settings(home=home, rpc_url=rpc_url, store_dir=store_dir)
    chain_id = chain_id_or_none(settings.rpc_url)
    local = chain_id in LOCAL_CHAIN_IDS
    if account == "auto":
        dev_index = 0 if local else None
    elif account == "keystore":
        dev_index = None
    elif account.startswith("dev:") and account[4:].isdigit():
        dev_index = int(account[4:])
    else:
        raise click.BadParameter(
            f"{account!r}: use auto, keystore or dev:N", param_hint="--account"
        )
    try:
        passphrase = resolve_passphrase(chain_id)
    except ConfigError:
        if os.environ.get(ENV_PASSPHRASE):
            raise
        passphrase = click.prompt("Passphrase of the lender's keys", hide_input=True)
        resolve_passphrase(chain_id, passphrase)
    app = create_app(
        {
            "HESSIAN_HOME": settings.home,
            "RPC_URL": settings.rpc_url,
            "STORE": settings.store,
            "STORE_DIR": settings.store_dir,
            "KUBO_URL": settings.kubo_url,
            "DEPLOYMENTS_DIR": settings.deployments_dir,
            "CONTRACT_ADDRESS": contract,
            "ACCOUNT_DEV_INDEX": dev_index,
            "COMPANY_PASSPHRASE": passphrase,
            "HOST": host,
        }
    )
    where = f"chain {chain_id}" if chain_id is not None else "chain unreachable (for now)"
    click.echo(f"Hessian lender dashboard on http://{host}:{port}/  ({settings.rpc_url}, {where})")
    serve(app, host=host, port=port)
