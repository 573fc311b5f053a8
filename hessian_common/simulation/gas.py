"""Gas per role, read back from the chain's receipts.

Every transaction of the run is found by scanning the blocks mined during it; its ``from``
address gives the role (lender, honest owner, misbehaving owner, faucet) and its input's
4-byte selector the operation (``submitUpdate``, ``evaluateUpdate``, ... from the contract's
ABI; ``deploy`` for contract creation, ``transfer`` for plain value transfers). Nothing is
estimated: these are the ``gasUsed`` of the receipts.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from eth_utils import function_abi_to_4byte_selector
from hexbytes import HexBytes
from web3 import Web3

from hessian_common.chain.client import node_errors, node_url


def selectors(abi: list[dict[str, Any]]) -> dict[bytes, str]:
    """4-byte selector -> function name, for every function of ``abi``."""
    return {
        bytes(function_abi_to_4byte_selector(e)): e["name"] for e in abi if e["type"] == "function"
    }


def transactions_by_role(
    w3: Web3,
    first_block: int,
    last_block: int,
    roles: Mapping[str, str],
    abi: list[dict[str, Any]],
) -> Iterator[tuple[str, str, int]]:
    """``(role, operation, gasUsed)`` of every transaction in blocks ``first_block..last_block``.

    The role is ``roles[sender]`` (lower-case address; ``"other"`` if absent); the operation
    the function of ``abi`` the input's selector names, ``"deploy"`` (contract creation),
    ``"transfer"`` (no call data) or ``"other call"``, prefixed ``"reverted "`` for a mined
    revert. Raises :class:`~hessian_common.errors.ChainUnavailable` (naming the URL) if the
    node stops answering.
    """
    names = selectors(abi)
    url = node_url(w3)
    for number in range(first_block, last_block + 1):
        with node_errors(url):
            block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            with node_errors(url):
                receipt = w3.eth.get_transaction_receipt(tx["hash"])
            data = HexBytes(tx.get("input") or tx.get("data") or b"")
            if tx.get("to") is None:
                op = "deploy"
            elif len(data) < 4:
                op = "transfer"
            else:
                op = names.get(bytes(data[:4]), "other call")
            if receipt["status"] != 1:
                op = f"reverted {op}"
            yield roles.get(str(tx["from"]).lower(), "other"), op, int(receipt["gasUsed"])


def gas_by_role(
    w3: Web3,
    first_block: int,
    last_block: int,
    roles: Mapping[str, str],
    abi: list[dict[str, Any]],
) -> dict[str, dict[str, int]]:
    """Sum ``gasUsed`` of blocks ``first_block..last_block`` by role and operation.

    Parameters
    ----------
    roles : mapping
        Lower-case address -> role name; other senders are counted as ``"other"``.

    Returns
    -------
    dict
        ``{role: {operation: gas}}``, plus ``"reverted <op>"`` entries for mined reverts.

    Raises :class:`~hessian_common.errors.ChainUnavailable` (naming the URL) if the node
    stops answering.
    """
    out: dict[str, dict[str, int]] = {}
    for role, op, gas in transactions_by_role(w3, first_block, last_block, roles, abi):
        per = out.setdefault(role, {})
        per[op] = per.get(op, 0) + gas
    return out
