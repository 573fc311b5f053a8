"""``hessian owner``: the data owner's share-data page (Flask app served by waitress).

    hessian owner --rpc http://127.0.0.1:8545 --port 5001

Listens on 127.0.0.1 unless ``--host`` says otherwise. The account that signs submissions is
an encrypted eth-account keystore (``--keystore FILE``, passphrase from
``HESSIAN_OWNER_PASSPHRASE`` or asked for at start, kept in memory only) or, on a local demo
chain (Ganache 1337, anvil 31337), a well-known dev account (``dev:1`` by default). The
journal, uploads and the app's secret key live in ``<home>/owner``.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from hessian_cli.serving import chain_id_or_none, server_options
from hessian_common.errors import ConfigError

DEFAULT_PORT = 5001
ENV_PASSPHRASE = "HESSIAN_OWNER_PASSPHRASE"
LOCAL_CHAIN_IDS = frozenset({1337, 31337})


@click.command()
@server_options(DEFAULT_PORT)
@click.option(
    "--account",
    default="auto",
    show_default=True,
    help="'auto' (dev:1 on a local chain, else the keystore) or 'dev:N'.",
)
@click.option(
    "--keystore",
    type=click.Path(dir_okay=False),
    help="Encrypted keystore (default off local chains: <home>/owner/keystore.json).",
)
@click.option(
    "--max-upload-mb", type=int, default=64, show_default=True, help="Upload size cap in MiB."
)
def owner(
    rpc_url: str | None,
    port: int,
    host: str,
    home: str | None,
    store_dir: str | None,
    contract: str | None,
    account: str,
    keystore: str | None,
    max_upload_mb: int,
) -> None:
    """Run the data owner's share-data page in the browser."""
    from data_owner_app import create_app
    from hessian_common.config import load_settings
    from hessian_common.web import serve

    if not 0 < port < 65536:
        raise click.BadParameter(f"{port} is not a TCP port (1-65535)", param_hint="--port")
    if not 0 < max_upload_mb <= 4096:
        raise click.BadParameter("must be between 1 and 4096", param_hint="--max-upload-mb")
    settings = load_settings(home=home, rpc_url=rpc_url, store_dir=store_dir)
    config: dict = {
        "HESSIAN_SETTINGS": settings,
        "OWNER_MAX_UPLOAD": max_upload_mb * 1024 * 1024,
        "HOST": host,
    }
    if contract:
        config["OWNER_REPO_ADDRESS"] = contract
    chain_id = chain_id_or_none(settings.rpc_url)
    if keystore is None and account == "auto":
        # a dev key only on a chain known to be local: never when the chain does not answer
        if chain_id is not None and chain_id in LOCAL_CHAIN_IDS:
            account = "dev:1"
        else:
            keystore = str(settings.home / "owner" / "keystore.json")
    if keystore is not None:
        path = Path(keystore).expanduser()
        if not path.is_file():
            down = (
                f"the chain at {settings.rpc_url} does not answer, so it cannot be checked to "
                "be a local demo chain (dev accounts are refused then); "
                if chain_id is None
                else ""
            )
            raise ConfigError(
                f"{down}no keystore at {path}: create one with eth-account (hessian_common."
                "chain.create_keystore) or pass --keystore FILE"
            )
        passphrase = os.environ.get(ENV_PASSPHRASE) or click.prompt(
            f"Passphrase of {path.name}", hide_input=True
        )
        config.update(OWNER_KEYSTORE=str(path), OWNER_PASSPHRASE=passphrase)
    elif account.startswith("dev:") and account[4:].isdigit():
        if chain_id is not None and chain_id not in LOCAL_CHAIN_IDS:
            raise ConfigError(
                f"dev accounts have publicly known keys; chain {chain_id} is not a local "
                "demo chain: use --keystore FILE"
            )
        config["OWNER_ACCOUNT"] = account
    else:
        raise click.BadParameter(f"{account!r}: use auto or dev:N", param_hint="--account")

    app = create_app(config)
    svc = app.extensions["owner"]
    address = svc.address  # opens the keystore now: a wrong passphrase fails here, clearly
    where = (
        "chain unreachable (submissions wait in the journal)"
        if chain_id is None
        else (f"chain {chain_id}")
    )
    click.echo(f"Hessian data owner {address} on {settings.rpc_url} ({where})")
    click.echo(f"Journal: {svc.journal.path}")
    click.echo(f"Open http://{host}:{port}/  (Ctrl+C to stop)")
    serve(app, host=host, port=port)
