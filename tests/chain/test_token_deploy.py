"""Deploying HSN and TestUSD (records, reuse, dev chains only) and ``hessian token``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from hessian_common.chain.client import dev_account
from hessian_common.chain.deploy import (
    HSN_NAME,
    TEST_USD_NAME,
    deploy_hsn,
    deploy_tokens,
    load_tokens,
    open_token,
)
from hessian_common.chain.token import HSN_SUPPLY, TestUSD, Token
from hessian_common.errors import ConfigError


def test_deploy_tokens_records_and_reuses(client, clients, tmp_path):
    done = deploy_tokens(client, tmp_path)
    assert set(done) == {HSN_NAME, TEST_USD_NAME}  # eth-tester is a development chain
    assert all(now for _, now in done.values())
    assert set(load_tokens(client.w3, tmp_path)) == {HSN_NAME, TEST_USD_NAME}
    hsn = open_token(client, HSN_NAME, tmp_path)
    assert hsn.address == done[HSN_NAME][0]
    assert (hsn.symbol(), hsn.decimals()) == ("HSN", 18)
    assert hsn.total_supply() == HSN_SUPPLY == hsn.balance_of(client.address)
    usd = open_token(client, TEST_USD_NAME, tmp_path)
    assert isinstance(usd, TestUSD) and usd.decimals() == 6
    # a second run reuses both: a new HSN would leave every balance of the first behind
    again = deploy_tokens(client, tmp_path)
    assert {k: a for k, (a, _) in again.items()} == {k: a for k, (a, _) in done.items()}
    assert not any(now for _, now in again.values())
    # the faucet of a dev chain gives test dollars to anyone
    TestUSD(clients[1], usd.address).faucet(8_000 * 10**6)
    assert usd.balance_of(clients[1].address) == 8_000 * 10**6


def test_hsn_supply_goes_to_the_named_recipient(client, clients, tmp_path):
    address = deploy_hsn(client, clients[2].address, 10**24, tmp_path, record=False)
    token = Token(client, address)
    assert token.balance_of(clients[2].address) == 10**24 == token.total_supply()
    assert token.balance_of(client.address) == 0


@pytest.mark.parametrize(
    ("recipient", "supply"),
    [("nobody", 10), ("0x" + "00" * 20, 10), (None, 0), (None, -1), (None, True)],
)
def test_hsn_bad_input_is_refused_before_sending(client, tmp_path, recipient, supply):
    nonce = client.w3.eth.get_transaction_count(client.address)
    with pytest.raises(ConfigError):
        deploy_hsn(client, recipient, supply, tmp_path)
    assert client.w3.eth.get_transaction_count(client.address) == nonce
    assert not list(tmp_path.iterdir())


def test_open_token_refuses_unknown_names(client, tmp_path):
    with pytest.raises(ConfigError, match="no token contract"):
        open_token(client, "ModelRepository", tmp_path)


def _hessian(env, *args):
    return subprocess.run(
        [sys.executable, "-m", "hessian_cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
    )


@pytest.mark.anvil
@pytest.mark.slow
def test_cli_deploy_balance_faucet_transfer(anvil, tmp_path):
    env = {**os.environ, "HESSIAN_HOME": str(tmp_path / "home")}
    where = ("--rpc", anvil.url, "--deployments-dir", str(tmp_path / "deployments"))
    out = _hessian(env, "deploy", *where)
    assert out.returncode == 0, out.stderr
    bob = dev_account(5).address
    out = _hessian(env, "token", "faucet", "8000", "--to", bob, *where)
    assert out.returncode == 0, out.stderr
    assert "8,000" in out.stdout and bob in out.stdout
    out = _hessian(env, "token", "transfer", bob, "12.5", "--token", "HSN", *where)
    assert out.returncode == 0, out.stderr
    out = _hessian(env, "token", "balance", bob, *where)
    assert out.returncode == 0, out.stderr
    assert "HSN" in out.stdout and "12.5" in out.stdout and "8,000" in out.stdout
    # bad input is a message, nothing sent
    out = _hessian(env, "token", "transfer", "nobody", "1", "--token", "HSN", *where)
    assert out.returncode == 1 and "not an address" in out.stderr
    assert "Traceback" not in out.stderr
    out = _hessian(env, "token", "transfer", bob, "0.0000001", "--token", "tUSD", *where)
    assert out.returncode == 1 and "Traceback" not in out.stderr
