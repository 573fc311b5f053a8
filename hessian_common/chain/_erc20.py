"""Paying a product contract in its currency: ether, or an ERC-20 by approve or permit.

Private to the product wrappers (:mod:`~hessian_common.chain.loanbook`,
:mod:`~hessian_common.chain.policybook`): their callers name an amount, never an allowance.
A currency is an address; :data:`ETH` (the zero address) is ether.

:func:`pay` sends one payment to a contract that pulls tokens with ``transferFrom``:

- ether: the call carries the amount as ``value``;
- a token whose allowance for the contract already covers the amount: the plain call;
- a token with EIP-2612 ``permit``: the payer signs a permit for exactly the amount (off
  chain, no transaction) and the ``...WithPermit`` call carries it: one signature and one
  transaction per payment;
- any other token: ``approve(contract, amount)`` first, then the plain call.

The permit is the EIP-712 typed message ``Permit(owner, spender, value, nonce, deadline)`` in
the token's domain (name and version from its ERC-5267 ``eip712Domain()``, else ``name()`` and
``"1"``), valid for :data:`PERMIT_LIFETIME` seconds of chain time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from web3 import Web3
from web3.exceptions import BadFunctionCallOutput

from hessian_common.chain.client import ChainClient
from hessian_common.errors import ConfigError, ContractRevert

_NOT_THERE = (ContractRevert, BadFunctionCallOutput)
"""What calling a function a token does not have raises (a revert, or an empty answer)."""

ETH = "0x0000000000000000000000000000000000000000"
"""The currency id of ether (``address(0)``)."""
PERMIT_LIFETIME = 3_600
"""Seconds of chain time a permit the wrappers sign stays valid."""
NO_PERMIT = (0, 0, 0, b"\x00" * 32, b"\x00" * 32)
"""A ``Permit`` tuple with deadline 0: the contract skips it (the allowance decides)."""

_PERMIT_TYPES = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def currency_address(currency: str | None) -> str:
    """``currency`` as a checksum address (None or ``"eth"``: :data:`ETH`)."""
    if currency is None or (isinstance(currency, str) and currency.lower() in ("eth", "ether")):
        return ETH
    try:
        return Web3.to_checksum_address(currency)
    except (ValueError, TypeError):
        raise ConfigError(f"currency must be 'eth' or a token address, not {currency!r}") from None


def is_eth(currency: str) -> bool:
    """Whether ``currency`` names ether."""
    return int(currency, 16) == 0


def _token(client: ChainClient, address: str) -> Any:
    from hessian_common.chain.compile import load_artifact

    abi = load_artifact("HessianToken").abi  # the ERC-20 + ERC-2612 + ERC-5267 interface
    return client.w3.eth.contract(address=Web3.to_checksum_address(address), abi=abi)


def balance_of(client: ChainClient, currency: str, account: str) -> int:
    """Balance of ``account`` in ``currency`` (base units; wei for ether)."""
    if is_eth(currency):
        return client.balance(account)
    return int(client.call(_token(client, currency).functions.balanceOf(account)))


def _supports_permit(client: ChainClient, token: Any) -> bool:
    try:
        client.call(token.functions.nonces(client.address))
        client.call(token.functions.DOMAIN_SEPARATOR())
    except _NOT_THERE:
        return False
    return True


def sign_permit(
    client: ChainClient, currency: str, spender: str, value: int, deadline: int | None = None
) -> tuple[int, int, int, bytes, bytes]:
    """``client``'s EIP-2612 permit for ``spender`` to pull ``value`` of ``currency``: the
    contracts' ``Permit`` tuple ``(value, deadline, v, r, s)``. ``deadline`` defaults to chain
    time plus :data:`PERMIT_LIFETIME`."""
    token = _token(client, currency)
    try:
        _, name, version, chain_id, verifying, _, _ = client.call(token.functions.eip712Domain())
    except _NOT_THERE:
        name = client.call(token.functions.name())
        version, chain_id, verifying = "1", client.chain_id, token.address
    if deadline is None:
        deadline = client.block_timestamp() + PERMIT_LIFETIME
    message = {
        "owner": client.address,
        "spender": Web3.to_checksum_address(spender),
        "value": int(value),
        "nonce": int(client.call(token.functions.nonces(client.address))),
        "deadline": int(deadline),
    }
    domain = {
        "name": name,
        "version": version,
        "chainId": int(chain_id),
        "verifyingContract": Web3.to_checksum_address(verifying),
    }
    signed = client.account.sign_typed_data(domain, _PERMIT_TYPES, message)
    return (
        int(value),
        int(deadline),
        int(signed.v),
        int(signed.r).to_bytes(32, "big"),
        int(signed.s).to_bytes(32, "big"),
    )


def pay(
    client: ChainClient,
    currency: str,
    spender: str,
    amount: int,
    plain: Callable[[], Any],
    with_permit: Callable[[tuple[int, int, int, bytes, bytes]], Any] | None = None,
) -> dict[str, Any]:
    """Send the call that makes ``spender`` take ``amount`` of ``currency`` from ``client``
    (see the module docstring); returns its receipt.

    ``plain()`` is the bound contract call without a permit, ``with_permit(permit)`` the one
    with (None: the contract has none, approve instead).
    """
    if is_eth(currency):
        return client.transact(plain(), value=int(amount))
    token = _token(client, currency)
    allowance = int(client.call(token.functions.allowance(client.address, spender)))
    if amount <= allowance:
        return client.transact(plain())
    if with_permit is not None and _supports_permit(client, token):
        return client.transact(with_permit(sign_permit(client, currency, spender, amount)))
    client.transact(token.functions.approve(Web3.to_checksum_address(spender), int(amount)))
    return client.transact(plain())
