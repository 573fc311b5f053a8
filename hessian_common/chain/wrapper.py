"""What every typed contract wrapper shares: set-up, raw calls, struct reads and event reads.

:class:`~hessian_common.chain.repository.ModelRepository` and
:class:`~hessian_common.chain.loanbook.LoanBook` subclass :class:`ContractWrapper` and add their
contract's typed writes and reads. Event logs are read here, so every read raises
:class:`~hessian_common.errors.ChainUnavailable` naming the node's URL when the node cannot be
reached.

Events come from one of two places, the same for every caller: a local
:class:`~hessian_common.chain.index.EventIndex` when one is attached (``attach_index(path)`` or
``index=`` in the constructor; paged ``eth_getLogs``, reorg-checked, queryable by event name and
argument), else a plain ``eth_getLogs`` from the deployment block (fine on a local node, slow
and capped on a public one). :meth:`ContractWrapper.events`, :meth:`~ContractWrapper.events_page`,
:meth:`~ContractWrapper.event_count`, :meth:`~ContractWrapper.find_events` and the CID look-ups
of the subclasses give the same answers either way.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

from eth_utils import event_abi_to_log_topic
from hexbytes import HexBytes
from web3 import Web3
from web3.logs import DISCARD

from hessian_common.chain.client import ChainClient, node_errors, tx_hash_of
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.index import (
    ChainEvent,
    EventIndex,
    FoldSource,
    _canonical,
    _is_scalar,
    _key_text,
    _to_json,
    _typed,
    fold_rows,
    index_file,
)
from hessian_common.errors import ChainError, ConfigError

__all__ = ["ChainEvent", "ContractWrapper", "FoldSource"]

S = TypeVar("S")
R = TypeVar("R")


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
    index : EventIndex, str or Path, optional
        Read events through this local index (see :meth:`attach_index`).
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
        index: EventIndex | str | Path | None = None,
    ) -> None:

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
        self.index: EventIndex | None = None
        if index is not None:
            self.attach_index(index)

    def as_account(self, client: ChainClient) -> Self:
        """The same contract, sending with another client (another account); the same index."""
        return type(self)(client, self.address, self.abi, self.from_block, index=self.index)

    def attach_index(self, index: EventIndex | str | Path, **options: Any) -> EventIndex:
        """Read this contract's events through a local :class:`EventIndex` from now on.

        ``index`` is an index, a ``.sqlite`` file, or a directory (the file is then
        ``<dir>/<chainId>-<address>.sqlite``, e.g. ``$HESSIAN_HOME/company/index``).
        ``options`` go to :class:`EventIndex` (``max_range``, ``confirmations``,
        ``max_staleness``). Returns the index.
        """
        if not isinstance(index, EventIndex):
            path = Path(index).expanduser()
            if path.is_dir() or path.suffix != ".sqlite":
                path = index_file(path, self.client.chain_id, self.address)
            options.setdefault("chain_id", self.client.chain_id)
            index = EventIndex(
                path, self.client.w3, self.address, self.abi, self.from_block, **options
            )
        elif Web3.to_checksum_address(index.address) != self.address:
            raise ConfigError(
                f"the index at {index.path} is for {index.address}, not {self.address}"
            )
        self.index = index
        return index

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
        Through the index when one is attached (brought up to the head first).
        """
        start = self.from_block if from_block is None else int(from_block)
        if self.index is not None:
            self.index.refresh()
            end = None if to_block == "latest" else int(to_block)
            return self.index.events(from_block=start, to_block=end)
        return self._plain_logs(start, to_block)

    def events_page(
        self,
        name: str,
        filters: Mapping[str, Any] | None = None,
        limit: int | None = 50,
        offset: int = 0,
        *,
        order: str = "asc",
        from_block: int | None = None,
        to_block: int | None = None,
    ) -> list[ChainEvent]:
        """One page of the events ``name`` whose arguments match ``filters`` (argument ->
        value, or a list of values), in chain order (``order="desc"``: newest first).

        With an index: one SQLite query, ``O(offset + limit)``. Without: every matching log
        is fetched (``eth_getLogs`` filtered by the indexed arguments), then sliced.
        """
        if order not in ("asc", "desc"):
            raise ConfigError(f"order must be 'asc' or 'desc', not {order!r}")
        if (limit is not None and limit < 0) or offset < 0:
            raise ConfigError(f"limit and offset must be >= 0, not {limit} and {offset}")
        if self.index is not None:
            self.index.refresh()
            return self.index.events(
                name, filters, from_block=from_block, to_block=to_block,
                limit=limit, offset=offset, order=order,
            )  # fmt: skip
        found = self.find_events(name, filters, from_block=from_block, to_block=to_block)
        if order == "desc":
            found.reverse()
        return found[offset : None if limit is None else offset + limit]

    def event_count(
        self,
        name: str,
        filters: Mapping[str, Any] | None = None,
        *,
        from_block: int | None = None,
        to_block: int | None = None,
    ) -> int:
        """How many events ``name`` match ``filters`` (as :meth:`events_page`)."""
        if self.index is not None:
            self.index.refresh()
            return self.index.count(name, filters, from_block=from_block, to_block=to_block)
        return len(self.find_events(name, filters, from_block=from_block, to_block=to_block))

    def find_events(
        self,
        name: str,
        filters: Mapping[str, Any] | None = None,
        *,
        from_block: int | None = None,
        to_block: int | None = None,
        refresh: bool = True,
    ) -> list[ChainEvent]:
        """All events ``name`` matching ``filters``, in chain order (see :meth:`events_page`).

        ``refresh=False`` answers from the index as it is (no node call) when one is attached.
        """
        if self.index is not None:
            if refresh:
                self.index.refresh()
            return self.index.events(name, filters, from_block=from_block, to_block=to_block)
        inputs = self._event_inputs(name)
        topic_filters, other = {}, {}
        for arg, value in (filters or {}).items():
            spec = inputs.get(arg)
            if spec is None or not (_is_scalar(spec) or spec.get("indexed")):
                raise ConfigError(
                    f"cannot filter {name} events by '{arg}' (arguments: {', '.join(inputs)})"
                )
            many = isinstance(value, (list, tuple, set, frozenset))
            wanted = {_canonical(spec, v, from_filter=True) for v in (value if many else [value])}
            if spec.get("indexed") and _is_scalar(spec) and spec["type"] not in ("string", "bytes"):
                topic_filters[arg] = [_plain_filter_value(spec, v) for v in wanted]
            other[arg] = (spec, wanted)
        start = self.from_block if from_block is None else int(from_block)
        with node_errors(self.client.url):
            logs = getattr(self.contract.events, name)().get_logs(
                from_block=start,
                to_block="latest" if to_block is None else int(to_block),
                argument_filters={k: v if len(v) > 1 else v[0] for k, v in topic_filters.items()}
                or None,
            )
        out = []
        for log in logs:
            args = dict(log["args"])
            if all(
                _key_text(spec, _to_json(args[arg])) in wanted
                for arg, (spec, wanted) in other.items()
            ):
                out.append(
                    ChainEvent(name, args, int(log["blockNumber"]), tx_hash_of(log),
                               int(log["logIndex"]))
                )  # fmt: skip
        out.sort(key=lambda e: (e.block_number, e.log_index))
        return out

    def event_values(
        self,
        name: str,
        filters: Mapping[str, Any] | None = None,
        args: tuple[str, ...] | list[str] = (),
        *,
        from_block: int | None = None,
        to_block: int | None = None,
    ) -> list[tuple[Any, ...]]:
        """``(block_number, log_index, *values of args)`` of every event ``name`` matching
        ``filters``, in chain order: a column of scalar arguments without the events.

        With an index: one SQLite query over its lookup table (no row decoded, no node call
        beyond the refresh), so sums, maxima and set differences over thousands of events cost
        milliseconds. Without: :meth:`find_events`. Integers come back as ``int``, ``bool`` as
        ``bool``, addresses checksummed, bytes as ``0x`` hex, the same either way.
        """
        if self.index is not None:
            self.index.refresh()
            return self.index.values(name, filters, args, from_block=from_block, to_block=to_block)
        inputs = self._event_inputs(name)
        specs = []
        for arg in args:
            spec = inputs.get(arg)
            if spec is None or not _is_scalar(spec):
                raise ConfigError(f"'{arg}' is not a scalar argument of the event {name}")
            specs.append(spec)
        return [
            (
                e.block_number,
                e.log_index,
                *(_typed(s, _key_text(s, _to_json(e.args[s["name"]]))) for s in specs),
            )
            for e in self.find_events(name, filters, from_block=from_block, to_block=to_block)
        ]

    def event_fold(
        self,
        key: Hashable,
        sources: Sequence[FoldSource],
        start: Callable[[], S],
        step: Callable[[S, str, tuple[Any, ...]], None],
        view: Callable[[S], R] | None = None,
    ) -> S | R:
        """A running fold over this contract's events (:meth:`EventIndex.fold`): the state
        ``step`` makes of ``start()`` and every event of ``sources``, in chain order, as
        ``view(state)`` (taken under the fold's lock), or the state itself.

        With an index: advanced by the events indexed since the last call with this ``key``
        (the state is shared: do not change it). Without: computed from every event each call,
        from :meth:`event_values` (a fresh state).
        """
        if self.index is not None:
            self.index.refresh()
            return self.index.fold(key, sources, start, step, view)
        rows = fold_rows(lambda src: self.event_values(src.name, src.filters, src.args), sources)
        state = start()
        for _block, _log, name, values in rows:
            step(state, name, values)
        return state if view is None else view(state)

    def _event_inputs(self, name: str) -> dict[str, dict[str, Any]]:
        entries = [e for e in self.abi if e.get("type") == "event" and e.get("name") == name]
        if not entries:
            known = sorted({e["name"] for e in self.abi if e.get("type") == "event"})
            raise ConfigError(
                f"no event '{name}' in the ABI of {self.address} (events: {', '.join(known)})"
            )
        return {i["name"]: i for e in entries for i in e["inputs"]}

    def _plain_logs(self, from_block: int, to_block: int | str) -> list[ChainEvent]:
        """Every event in ``[from_block, to_block]`` by one ``eth_getLogs`` (no index)."""
        with node_errors(self.client.url):
            logs = self.client.w3.eth.get_logs(
                {"address": self.address, "fromBlock": from_block, "toBlock": to_block}
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
        """The (first) ``event`` whose indexed ``key`` equals ``value``; immutable, so cached.

        With an index: looked up in the file first, and only on a miss is the index brought
        up to the head (so reading a page of known rows costs no node call for their CIDs).
        """
        cache_key = (event, int(value))
        if cache_key not in self._log_cache:
            if self.index is not None:
                found = self.index.events(event, {key: int(value)}, limit=1)
                if not found:
                    self.index.refresh()
                    found = self.index.events(event, {key: int(value)}, limit=1)
                if not found:
                    return None
                self._log_cache[cache_key] = dict(found[0].args)
                return self._log_cache[cache_key]
            with node_errors(self.client.url):
                logs = getattr(self.contract.events, event)().get_logs(
                    from_block=self.from_block, argument_filters={key: int(value)}
                )
            if not logs:
                return None
            self._log_cache[cache_key] = dict(logs[0]["args"])
        return self._log_cache[cache_key]


def _plain_filter_value(spec: Mapping[str, Any], canonical: str) -> Any:
    """A canonical filter text back as the value web3's ``argument_filters`` expects."""
    typ = spec["type"]
    if typ.startswith(("uint", "int")):
        return int(canonical)
    if typ == "bool":
        return canonical == "1"
    if typ.startswith("bytes"):
        return bytes.fromhex(canonical[2:])
    return canonical
