"""What every typed contract wrapper shares: set-up, raw calls, struct reads and event reads.

:class:`~hessian_common.chain.repository.ModelRepository` and
:class:`~hessian_common.chain.loanbook.LoanBook` subclass :class:`ContractWrapper` and add their
contract's typed writes and reads. Event logs are read here, so every read raises
:class:`~hessian_common.errors.ChainUnavailable` naming the node's URL when the node cannot be
reached.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Self

from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from web3 import Web3
from web3.logs import DISCARD

from hessian_common.chain.client import ChainClient, node_errors, tx_hash_of
from hessian_common.errors import ChainError


@dataclass(frozen=True)
class ChainEvent:
    """One decoded contract event."""

    name: str
    args: dict[str, Any]
    block_number: int
    transaction_hash: str
    log_index: int


class ContractWrapper:
    """Base of the typed wrappers of one deployed contract.

    Subclasses name their compiled artefact (:attr:`artifact`), the struct getters
    :meth:`_struct` may call (:attr:`struct_getters`) and, if a call can bubble up another
    contract's custom errors, that contract's artefact (:attr:`foreign_errors`).

    Parameters
    ----------
    client : ChainClient
        Signs the transactions (its account is the caller).
    address : str
        The contract address.
    abi : list of dict, optional
        Defaults to the compiled artefact's ABI.
    from_block : int
        First block to search for events (the deployment block).
    """

    artifact: ClassVar[str]
    """Name of the compiled contract (``load_artifact(artifact)``)."""
    struct_getters: ClassVar[tuple[str, ...]] = ()
    """View functions returning one struct, read by :meth:`_struct` with named fields."""
    foreign_errors: ClassVar[tuple[str, ...]] = ()
    """Other contracts whose custom errors a call here can revert with (decoded too)."""

    def __init__(
        self,
        client: ChainClient,
        address: str,
        abi: list[dict[str, Any]] | None = None,
        from_block: int = 0,
    ) -> None:
        from hessian_common.chain.compile import load_artifact

        if abi is None:
            abi = load_artifact(self.artifact).abi
        self.client = client
        self.address = Web3.to_checksum_address(address)
        self.abi = abi
        self.from_block = from_block
        self.contract = client.w3.eth.contract(address=self.address, abi=abi)
        client.errors.add_abi(abi)
        for name in self.foreign_errors:
            client.errors.add_abi(load_artifact(name).abi)
        self._topics = {
            HexBytes(event_abi_to_log_topic(e)): e["name"] for e in abi if e["type"] == "event"
        }
        self._outputs = {
            e["name"]: e["outputs"][0]["components"]
            for e in abi
            if e["type"] == "function" and e["name"] in self.struct_getters
        }
        self._log_cache: dict[tuple[str, int], dict[str, Any]] = {}
        self._immutables: dict[str, Any] = {}

    def as_account(self, client: ChainClient) -> Self:
        """The same contract, sending with another client (another account)."""
        return type(self)(client, self.address, self.abi, self.from_block)

    @property
    def fn(self) -> Any:
        """The raw ``contract.functions`` (for what this wrapper does not cover)."""
        return self.contract.functions

    def events(
        self, from_block: int | None = None, to_block: int | str = "latest"
    ) -> list[ChainEvent]:
        """Every event of this contract in ``[from_block, to_block]``, in chain order.

        For a background worker: remember the last block seen and ask again from the next.
        Raises :class:`ChainUnavailable` (naming the node) if the node cannot be reached.
        """
        with node_errors(self.client.url):
            logs = self.client.w3.eth.get_logs(
                {
                    "address": self.address,
                    "fromBlock": self.from_block if from_block is None else from_block,
                    "toBlock": to_block,
                }
            )
        out = []
        for log in logs:
            name = self._topics.get(HexBytes(log["topics"][0])) if log["topics"] else None
            if name is None:
                continue
            decoded = getattr(self.contract.events, name)().process_log(log)
            out.append(
                ChainEvent(
                    name=name,
                    args=dict(decoded["args"]),
                    block_number=int(log["blockNumber"]),
                    transaction_hash=tx_hash_of(log),
                    log_index=int(log["logIndex"]),
                )
            )
        return out

    # ------------------------------------------------------------ for subclasses

    def _struct(self, getter: str, key: int) -> dict[str, Any]:
        """Call a struct getter and name its fields from the ABI."""
        values = self.client.call(getattr(self.fn, getter)(key))
        names = [c["name"] for c in self._outputs[getter]]
        return dict(zip(names, values, strict=True))

    def _event_arg(self, receipt: dict[str, Any], event: str, arg: str) -> Any:
        """Argument ``arg`` of the first ``event`` this contract emitted in ``receipt``."""
        logs = getattr(self.contract.events, event)().process_receipt(receipt, errors=DISCARD)
        if not logs:
            raise ChainError(f"no {event} event in transaction to {self.address}")
        return logs[0]["args"][arg]

    def _immutable(self, getter: str) -> Any:
        """A no-argument view whose value never changes (an immutable), read once: ``int``, or
        the string as returned (addresses)."""
        if getter not in self._immutables:
            value = self.client.call(getattr(self.fn, getter)())
            self._immutables[getter] = value if isinstance(value, str) else int(value)
        return self._immutables[getter]

    def _log(self, event: str, key: str, value: int) -> dict[str, Any] | None:
        """The (first) ``event`` whose indexed ``key`` equals ``value``; immutable, so cached."""
        cache_key = (event, int(value))
        if cache_key not in self._log_cache:
            with node_errors(self.client.url):
                logs = getattr(self.contract.events, event)().get_logs(
                    from_block=self.from_block, argument_filters={key: int(value)}
                )
            if not logs:
                return None
            self._log_cache[cache_key] = dict(logs[0]["args"])
        return self._log_cache[cache_key]
