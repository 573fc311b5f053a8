"""``hessian token balance|transfer|faucet``: the account's money in every currency in use.

A token is named ``HSN`` (the recorded HessianToken), ``tUSD`` (the recorded TestUSD, dev
chains only), ``eth`` (ether, for ``balance`` and ``transfer``) or by its address. Amounts are
typed in whole units (``12.5``) and converted with the token's own decimals.

    hessian token balance                      # ETH and every recorded token, + pending
    hessian token transfer 0xabc… 250 --token HSN
    hessian token faucet 10000                 # 10,000 tUSD on a dev chain (refused elsewhere)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from hessian_cli.chain import PASSPHRASE_ENV, resolve_account

FAUCET_DEFAULT = "10000"
"""Whole test dollars the faucet hands out when no amount is given."""

_ALIASES = {
    "hsn": "HessianToken",
    "hessiantoken": "HessianToken",
    "tusd": "TestUSD",
    "usd": "TestUSD",
    "testusd": "TestUSD",
}


def _options(fn: Any) -> Any:
    fn = click.option(
        "--deployments-dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Where the deployment records are (default: settings deployments_dir).",
    )(fn)
    fn = click.option(
        "--keystore",
        type=click.Path(dir_okay=False, path_type=Path),
        help=f"Encrypted keystore to sign with (passphrase: ${PASSPHRASE_ENV} or a prompt).",
    )(fn)
    fn = click.option("--account", help="Development key, e.g. dev:1 (default dev:0).")(fn)
    fn = click.option("--rpc", "rpc_url", help="JSON-RPC URL (default: settings rpc_url).")(fn)
    return fn


def _client(rpc_url: str | None, account: str | None, keystore: Path | None, deployments_dir):
    from hessian_common.chain.client import ChainClient, connect
    from hessian_common.config import load_settings

    settings = load_settings(rpc_url=rpc_url, deployments_dir=deployments_dir)
    signer = resolve_account(account, keystore, None)
    return ChainClient(connect(settings.rpc_url), signer), settings


def _token(client: Any, name: str, deployments_dir: Path | None) -> Any:
    """The token named ``name`` (alias or address); ``None`` for ether."""
    from hessian_common.chain.deploy import open_token
    from hessian_common.chain.token import Token, currency_of, is_ether

    key = name.strip().lower()
    if key == "eth":
        return None
    if key in _ALIASES:
        return open_token(client, _ALIASES[key], deployments_dir)
    if is_ether(name):
        return None
    currency = currency_of(client, name, strict=True)
    return Token(client, currency.address)


@click.group()
def token() -> None:
    """Balances, transfers and the dev chains' test-dollar faucet."""


@token.command()
@click.argument("address", required=False)
@click.option("--token", "names", multiple=True, help="Also show this token (alias or address).")
@_options
def balance(
    address: str | None,
    names: tuple[str, ...],
    rpc_url: str | None,
    account: str | None,
    keystore: Path | None,
    deployments_dir: Path | None,
) -> None:
    """Balances of ADDRESS (default: the account) in ETH and every recorded token, and what
    the ModelRepository owes it in each."""
    from web3 import Web3

    from hessian_common.chain.deploy import load_tokens, open_repository
    from hessian_common.errors import ChainUnavailable, ConfigError, HessianError
    from hessian_common.format import ETH, format_amount

    client, settings = _client(rpc_url, account, keystore, deployments_dir)
    if address is not None and not Web3.is_address(address):
        raise ConfigError(f"{address!r} is not an address (0x + 40 hex digits)")
    who = Web3.to_checksum_address(address or client.address)
    tokens = [_token(client, name, settings.deployments_dir) for name in names]
    for name in load_tokens(client.w3, settings.deployments_dir):
        tokens.append(_token(client, name, settings.deployments_dir))
    seen: set[str] = set()
    tokens = [t for t in tokens if t is not None and not (t.address in seen or seen.add(t.address))]
    try:
        repo = open_repository(client, settings.deployments_dir)
    except ChainUnavailable:
        raise
    except HessianError:
        repo = None
    click.echo(f"{who} on chain {client.chain_id}")
    rows = [(ETH, client.balance(who), None)] + [
        (t.currency(), t.balance_of(who), t.address) for t in tokens
    ]
    for currency, held, where in rows:
        line = f"  {format_amount(held, currency):>28}"
        if repo is not None:
            owed = repo.pending(who, where)
            if owed:
                line += f"   + {format_amount(owed, currency)} to withdraw from the repository"
        if where:
            line += f"   ({where})"
        click.echo(line)


@token.command()
@click.argument("to")
@click.argument("amount")
@click.option("--token", "name", required=True, help="HSN, tUSD, eth or a token address.")
@_options
def transfer(
    to: str,
    amount: str,
    name: str,
    rpc_url: str | None,
    account: str | None,
    keystore: Path | None,
    deployments_dir: Path | None,
) -> None:
    """Send AMOUNT (whole units, e.g. 12.5) of a token, or ether, to TO."""
    from web3 import Web3

    from hessian_common.chain.client import tx_hash_of
    from hessian_common.chain.token import to_units
    from hessian_common.errors import ConfigError
    from hessian_common.format import ETH, format_amount

    client, settings = _client(rpc_url, account, keystore, deployments_dir)
    if not Web3.is_address(to):
        raise ConfigError(f"{to!r} is not an address (0x + 40 hex digits)")
    tok = _token(client, name, settings.deployments_dir)
    currency = ETH if tok is None else tok.currency()
    units = to_units(amount, currency)
    if units == 0:
        raise ConfigError("the amount must be above zero")
    if tok is None:
        if client.balance() < units:
            raise ConfigError(
                f"{client.address} holds {format_amount(client.balance())}, less than "
                f"{format_amount(units)}"
            )
        receipt = client.send_value(to, units)
    else:
        receipt = tok.transfer(to, units)
    click.echo(
        f"sent {format_amount(units, currency)} to {Web3.to_checksum_address(to)} "
        f"(transaction {tx_hash_of(receipt)})"
    )


@token.command()
@click.argument("amount", default=FAUCET_DEFAULT)
@click.option("--to", "to", help="Who receives them (default: the account).")
@_options
def faucet(
    amount: str,
    to: str | None,
    rpc_url: str | None,
    account: str | None,
    keystore: Path | None,
    deployments_dir: Path | None,
) -> None:
    """Take AMOUNT test dollars (default 10,000) from TestUSD's faucet: local development
    chains only; refused on any other chain before anything is sent."""
    from web3 import Web3

    from hessian_common.chain.deploy import TEST_USD_NAME, open_token
    from hessian_common.chain.token import DEV_CHAIN_IDS, to_units
    from hessian_common.errors import ConfigError, DeploymentNotFound
    from hessian_common.format import format_amount

    client, settings = _client(rpc_url, account, keystore, deployments_dir)
    if client.chain_id not in DEV_CHAIN_IDS:
        raise ConfigError(
            f"the TestUSD faucet exists only on local development chains "
            f"({', '.join(str(c) for c in sorted(DEV_CHAIN_IDS))}); chain {client.chain_id} "
            f"({client.url}) is not one, and nothing was sent"
        )
    if to is not None and not Web3.is_address(to):
        raise ConfigError(f"{to!r} is not an address (0x + 40 hex digits)")
    try:
        usd = open_token(client, TEST_USD_NAME, settings.deployments_dir)
    except DeploymentNotFound as exc:
        raise ConfigError(f"{exc} (it deploys TestUSD on a development chain)") from None
    units = to_units(amount, usd.currency())
    usd.faucet(units, to)
    who = Web3.to_checksum_address(to or client.address)
    click.echo(
        f"{format_amount(units, usd.currency())} to {who}; it now holds "
        f"{format_amount(usd.balance_of(who), usd.currency())}"
    )
