"""Accounts, keystores, connection errors and revert decoding of the chain client."""

from __future__ import annotations

import json

import pytest

from hessian_common.chain.client import (
    ErrorDecoder,
    connect,
    create_keystore,
    dev_account,
    load_keystore,
)
from hessian_common.chain.compile import load_artifact
from hessian_common.errors import ChainUnavailable, ConfigError, ContractRevert, KeyPassphraseError
from tests.fixtures.procs import free_port


def test_dev_accounts_are_the_well_known_ones():
    assert dev_account(0).address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    assert dev_account(1).address == "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
    with pytest.raises(ConfigError):
        dev_account(-1)


def test_keystore_round_trip(tmp_path):
    path = tmp_path / "keys" / "lender.json"
    account = create_keystore(path, "correct horse", iterations=2)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert load_keystore(path, "correct horse").address == account.address
    with pytest.raises(KeyPassphraseError, match="wrong passphrase"):
        load_keystore(path, "wrong")
    with pytest.raises(ConfigError, match="already exists"):
        create_keystore(path, "x")
    with pytest.raises(ConfigError, match="non-empty"):
        create_keystore(tmp_path / "other.json", "")
    (tmp_path / "bad.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(ConfigError, match="not an Ethereum keystore"):
        load_keystore(tmp_path / "bad.json", "x")
    with pytest.raises(ConfigError, match="cannot read"):
        load_keystore(tmp_path / "missing.json", "x")


def test_unreachable_node_names_the_url():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainUnavailable, match=url):
        connect(url)
    with pytest.raises(ConfigError):
        connect("ftp://example.org")


def test_error_decoder_knows_custom_and_builtin_errors():
    decoder = ErrorDecoder()
    decoder.add_abi(load_artifact("ModelRepository").abi)
    data = bytes.fromhex("b5d0d5b0") + b"\0" * 32  # unknown selector
    assert decoder.decode(data) == (None, ())
    assert "unknown revert data" in decoder.describe(data)
    from eth_abi import encode
    from eth_utils import function_signature_to_4byte_selector as sel

    data = sel("WrongDeposit(uint256,uint256)") + encode(["uint256", "uint256"], [1, 2])
    assert decoder.decode(data) == ("WrongDeposit", (1, 2))
    assert decoder.describe("0x" + data.hex()) == "WrongDeposit(sent=1, required=2)"
    data = sel("Error(string)") + encode(["string"], ["boom"])
    assert decoder.decode(data) == ("Error", ("boom",))


def test_revert_from_call_and_from_mined_transaction(repository, client):
    with pytest.raises(ContractRevert) as info:
        client.call(repository.fn.getModel(3))
    assert info.value.error_name == "UnknownModel" and info.value.error_args == (3,)
    # forcing the gas skips the pre-check: the transaction is mined, fails, and is decoded
    with pytest.raises(ContractRevert, match="reverted in block") as info:
        client.transact(repository.fn.closeModel(5), gas=100_000)
    assert info.value.error_name == "UnknownModel"
    # the nonce moved on: the next transaction goes through
    assert client.send_value(client.address, 1)["status"] == 1


def test_tx_hash_of_receipts_and_logs():
    from hexbytes import HexBytes

    from hessian_common.chain.client import tx_hash_of

    h = "0x" + "ab" * 32
    assert tx_hash_of({"transactionHash": HexBytes(h)}) == h
    assert tx_hash_of({"transactionHash": bytes.fromhex("ab" * 32)}) == h
    assert tx_hash_of({"transactionHash": h}) == h
    assert tx_hash_of({"transactionHash": h[2:]}) == h
