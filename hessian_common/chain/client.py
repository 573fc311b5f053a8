"""Connect to an Ethereum node and send locally signed transactions.

The same code runs on eth-tester (py-evm, in-process), Ganache, anvil and a public testnet:
transactions are built here (nonce, chain id, gas estimate, EIP-1559 or legacy fee fields),
signed with an eth-account ``LocalAccount`` and sent raw. The node never holds a key.

Reverts come back as :class:`~hessian_common.errors.ContractRevert` carrying the decoded
custom error (``error_name``, ``error_args``): the 4-byte selector of the revert data is
looked up among the ``error`` entries of the ABIs the client knows.
"""

from __future__ import annotations

import ast
import contextlib
import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector, keccak
from hexbytes import HexBytes
from web3 import EthereumTesterProvider, Web3
from web3.exceptions import (
    ContractLogicError,
    ProviderConnectionError,
    TimeExhausted,
    Web3RPCError,
)
from web3.providers.rpc.utils import ExceptionRetryConfiguration

from hessian_common.chain.outage import HessianHTTPProvider, current_scope, unavailable
from hessian_common.errors import (
    ChainError,
    ChainUnavailable,
    ConfigError,
    ContractRevert,
    KeyPassphraseError,
)
from hessian_common.files import write_private

DEV_MNEMONIC = "test test test test test test test test test test test junk"
"""The well-known development mnemonic (anvil's default); Hessian starts Ganache with it too."""

GAS_MARGIN = 1.25
"""Gas limit = estimate × this (estimates can be a little short after state changes)."""

DEFAULT_PRIORITY_FEE = Web3.to_wei(1, "gwei")
"""Tip used when the node cannot suggest one (``eth_maxPriorityFeePerGas`` missing)."""

RECEIPT_TIMEOUT = 120.0

TESTER_GAS_LIMIT = 8_000_000
"""Gas limit of every eth-tester transaction (no estimate there; see ``_gas_limit``)."""

T = TypeVar("T")

Account.enable_unaudited_hdwallet_features()


# ---------------------------------------------------------------- accounts


def dev_account(index: int = 0, mnemonic: str = DEV_MNEMONIC) -> LocalAccount:
    """Account ``index`` of the development mnemonic (path ``m/44'/60'/0'/0/index``).

    On a Ganache or anvil that Hessian started these accounts hold 10,000 ETH each;
    ``dev_account(0)`` is ``0xf39F...2266``. Never use them on a public network.
    """
    if index < 0:
        raise ConfigError(f"dev account index must be >= 0, not {index}")
    return Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{index}")


def load_keystore(path: str | Path, passphrase: str) -> LocalAccount:
    """Open an encrypted JSON keystore (the geth/eth-account format).

    Raises
    ------
    ConfigError
        The file is missing or not a keystore.
    KeyPassphraseError
        The passphrase is wrong.
    """
    path = Path(path).expanduser()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read keystore {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(f"keystore {path} is not JSON: {exc}") from exc
    if not isinstance(data, dict) or "crypto" not in {k.lower() for k in data}:
        raise ConfigError(f"{path} is not an Ethereum keystore (no 'crypto' section)")
    try:
        key = Account.decrypt(data, passphrase)
    except ValueError as exc:
        raise KeyPassphraseError(f"wrong passphrase for keystore {path}") from exc
    return Account.from_key(key)


def create_keystore(
    path: str | Path,
    passphrase: str,
    private_key: str | bytes | None = None,
    iterations: int | None = None,
) -> LocalAccount:
    """Write a new (or the given) key to an encrypted keystore file, mode 0600.

    Refuses to overwrite an existing file and to use an empty passphrase. The key derivation
    is eth-account's default (scrypt, n = 2**18, ~1 s by design); ``iterations`` lowers it
    for tests only.
    """
    path = Path(path).expanduser()
    if not passphrase:
        raise ConfigError("a keystore needs a non-empty passphrase")
    if path.exists():
        raise ConfigError(f"keystore {path} already exists; not overwriting it")
    account = Account.from_key(private_key) if private_key is not None else Account.create()
    data = Account.encrypt(account.key, passphrase, iterations=iterations)
    write_private(path, json.dumps(data), exclusive=True)
    return account


# ---------------------------------------------------------------- connection


_TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    ProviderConnectionError,
)
"""What a node that is down or restarting makes web3 raise."""


@contextlib.contextmanager
def node_errors(url: str) -> Iterator[None]:
    """Context: a transport failure inside becomes :class:`ChainUnavailable` naming ``url``.

    For raw ``w3.eth`` reads this room does not wrap (the wrappers here already guard
    theirs)::

        with node_errors(node_url(w3)):
            code = w3.eth.get_code(address)

    Transport failures are :data:`_TRANSPORT_ERRORS` (refused, reset, timed out) and the
    HTTP statuses of a node or gateway that cannot serve now (429, 5xx); JSON-RPC errors,
    other HTTP statuses, bad JSON and reverts pass through.
    """
    try:
        yield
    except _TRANSPORT_ERRORS as exc:
        raise unavailable(url, exc) from exc
    except requests.HTTPError as exc:
        status = getattr(exc.response, "status_code", None)
        if status is None or not (status == 429 or status >= 500):
            raise
        raise unavailable(url, exc) from exc


# ---------------------------------------------------------------- rate limits


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded exponential backoff for a node that says "slow down".

    A request answered with HTTP 429 (or 502/503/504, a gateway that cannot serve now), or with
    a JSON-RPC error that words a rate limit (:func:`is_rate_limited`), is sent again after

        wait_k = min(cap, base · 2^k) · u,   u uniform in [0.5, 1]   (k = 0, 1, ...)

    or after what the node asks for if that is longer (the ``Retry-After`` header, Infura's
    ``error.data.rate.backoff_seconds``), never more than ``max_wait``; at most ``attempts``
    sends in all. With the defaults a request gives up after about 4-8 s of waiting (5
    retries) and raises :class:`ChainUnavailable` naming the node.
    """

    attempts: int = 6
    base: float = 0.25
    cap: float = 8.0
    max_wait: float = 30.0
    statuses: tuple[int, ...] = (429, 502, 503, 504)

    def wait(
        self, attempt: int, asked: float | None = None, rng: random.Random | None = None
    ) -> float:
        """Seconds to wait before retry number ``attempt`` (0-based)."""
        u = (rng or random).uniform(0.5, 1.0)
        delay = min(self.cap, self.base * 2**attempt) * u
        if asked is not None and asked > delay:
            delay = asked
        return min(delay, self.max_wait)


_RATE_LIMIT_WORDS = re.compile(
    r"rate.?limit|request rate|rate exceeded|too many requests|compute units per second"
    r"|request limit reached|requests per second|daily request count|exceeded .*rate",
    re.IGNORECASE,
)
"""How providers word "slow down" in a JSON-RPC error: Infura ("project ID request rate
exceeded", "daily request count exceeded, request rate limited"), Alchemy ("Your app has exceeded
its compute units per second capacity"), QuickNode ("request limit reached"), generic gateways
("Too Many Requests")."""


def is_rate_limited(error: Any) -> bool:
    """Whether a JSON-RPC ``error`` object (or its text) says the caller is rate-limited.

    Code 429 always is; other codes only when the message or data words a rate limit, so that
    Infura's ``-32005`` "query returned more than 10000 results" (a log-size limit, handled by
    the event index) is not mistaken for one.
    """
    if isinstance(error, dict):
        if error.get("code") == 429:
            return True
        text = f"{error.get('message', '')} {json.dumps(error.get('data'), default=str)}"
    else:
        text = str(error)
    return bool(_RATE_LIMIT_WORDS.search(text))


def _asked_wait(headers: Any, body: Any) -> float | None:
    """The wait a rate-limited answer asks for: ``Retry-After`` (seconds) or Infura's
    ``error.data.rate.backoff_seconds``; None if it asks nothing."""
    value = headers.get("Retry-After") if headers is not None else None
    if value is not None:
        with contextlib.suppress(ValueError):
            return max(0.0, float(value))
    if isinstance(body, (bytes, str)):
        with contextlib.suppress(ValueError, TypeError):
            body = json.loads(body)
    error = body.get("error") if isinstance(body, dict) else None
    data = error.get("data") if isinstance(error, dict) else None
    if isinstance(data, dict):
        rate = data.get("rate") if isinstance(data.get("rate"), dict) else data
        seconds = rate.get("backoff_seconds")
        if isinstance(seconds, (int, float)) and seconds >= 0:
            return float(seconds)
    return None


_ALREADY_KNOWN = re.compile(r"already known|known transaction|alreadyknown", re.IGNORECASE)


class RetryingHTTPProvider(HessianHTTPProvider):
    """The library's HTTP provider: rate-limit retries outside a chain scope, the scope's
    short waits inside one.

    What :func:`connect` returns uses it, so every read and write of the library (the chain
    client, the wrappers, the event index) rides out a provider's 429s and rate-limit errors
    with :class:`RetryPolicy`'s bounded backoff. Other HTTP errors (e.g. QuickNode's 413 for a
    log range that is too wide) are raised at once, for the caller to act on; web3's own retry
    of transport failures (timeouts) is kept. Inside a
    :func:`~hessian_common.chain.outage.chain_scope` (a web request, a job, a worker pass)
    nothing is retried or waited for long: :class:`HessianHTTPProvider`'s rules apply (a page
    must answer in seconds; the user and the journal retry).

    ``retries`` counts the retries made (for tests and benchmarks).
    """

    def __init__(
        self,
        endpoint_uri: str,
        request_kwargs: dict[str, Any] | None = None,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        timeout = float((request_kwargs or {}).get("timeout", 10.0))
        super().__init__(endpoint_uri, timeout=timeout)
        self.exception_retry_configuration = ExceptionRetryConfiguration(
            errors=(ConnectionError, requests.Timeout)
        )
        self.retry = retry or RetryPolicy()
        self.retries = 0
        self._sleep = sleep
        self._rng = random.Random()

    def make_request(self, method: Any, params: Any) -> Any:
        """Send one JSON-RPC request, retrying rate-limited answers (see the class doc)."""
        if current_scope() is not None:
            return super().make_request(method, params)
        policy = self.retry
        for attempt in range(policy.attempts):
            last = attempt + 1 >= policy.attempts
            try:
                response = super().make_request(method, params)
            except requests.HTTPError as exc:
                answer = exc.response
                status = getattr(answer, "status_code", None)
                if status not in policy.statuses:
                    raise
                if last:
                    raise ChainUnavailable(
                        f"Ethereum node at {self.endpoint_uri} cannot serve now: HTTP {status} "
                        f"to {method} after {policy.attempts} attempts"
                    ) from exc
                asked = _asked_wait(answer.headers, answer.content) if answer is not None else None
            else:
                error = response.get("error") if isinstance(response, dict) else None
                if error is None:
                    return response
                if (
                    attempt
                    and method == "eth_sendRawTransaction"
                    and _ALREADY_KNOWN.search(
                        str(error.get("message", "") if isinstance(error, dict) else error)
                    )
                ):
                    # our first send got through before its answer was lost
                    tx_hash = "0x" + keccak(HexBytes(params[0])).hex()
                    return {"jsonrpc": "2.0", "id": response.get("id"), "result": tx_hash}
                if not is_rate_limited(error):
                    return response
                if last:
                    raise ChainUnavailable(
                        f"Ethereum node at {self.endpoint_uri} is rate-limiting {method} after "
                        f"{policy.attempts} attempts: {error}"
                    )
                asked = _asked_wait(None, response)
            self.retries += 1
            self._sleep(policy.wait(attempt, asked, self._rng))
        raise AssertionError("unreachable")  # pragma: no cover


def connect(rpc_url: str, timeout: float = 10.0, retry: RetryPolicy | None = None) -> Web3:
    """A :class:`Web3` on the JSON-RPC endpoint ``rpc_url`` (http or https).

    The provider is :class:`RetryingHTTPProvider`: outside a
    :func:`~hessian_common.chain.outage.chain_scope` requests that the node rate-limits are
    retried with bounded backoff (``retry`` or the default :class:`RetryPolicy`); inside one
    (a page, a job, a worker pass) reads wait the scope's short timeout, the first failure marks
    the node down for the rest of the scope, and page views may get the last known answer
    (:class:`~hessian_common.chain.outage.HessianHTTPProvider`).

    Raises :class:`ChainUnavailable` (with the URL, in words) if the node does not answer
    ``eth_chainId``, and :class:`ConfigError` for a URL scheme we cannot use synchronously.
    """
    if not rpc_url.startswith(("http://", "https://")):
        raise ConfigError(f"rpc_url must be an http(s) JSON-RPC URL, not {rpc_url!r}")
    w3 = Web3(RetryingHTTPProvider(rpc_url, request_kwargs={"timeout": timeout}, retry=retry))
    try:
        with node_errors(rpc_url):
            w3.eth.chain_id  # noqa: B018 - the probe
    except Web3RPCError as exc:
        raise ChainUnavailable(f"{rpc_url} is not an Ethereum JSON-RPC node: {exc}") from exc
    except (ValueError, json.JSONDecodeError, requests.HTTPError) as exc:
        raise ChainUnavailable(f"{rpc_url} did not answer JSON-RPC: {exc}") from exc
    return w3


def eth_tester_web3() -> Web3:
    """A fresh in-process chain (eth-tester on py-evm) for tests and the gas benchmark."""
    return Web3(EthereumTesterProvider())


def _is_eth_tester(w3: Web3) -> bool:
    return type(w3.provider).__name__ == "EthereumTesterProvider"


def node_url(w3: Web3) -> str:
    """The endpoint URL of ``w3`` (``eth-tester`` for the in-process chain)."""
    return str(getattr(w3.provider, "endpoint_uri", None) or "eth-tester")


def tx_hash_of(receipt: Any) -> str:
    """The ``0x``-hex transaction hash of a receipt or log, as web3 returns them."""
    value = receipt["transactionHash"]
    if isinstance(value, str):
        return value if value.startswith("0x") else "0x" + value
    return "0x" + bytes(value).hex()


def chain_id_of(w3: Web3) -> int:
    """The chain id of the node behind ``w3`` (:class:`ChainUnavailable` if unreachable)."""
    with node_errors(node_url(w3)):
        return int(w3.eth.chain_id)


# ---------------------------------------------------------------- revert decoding


@dataclass(frozen=True)
class _ErrorSpec:
    name: str
    types: list[str]
    names: list[str]


def _abi_type(entry: dict[str, Any]) -> str:
    """Canonical ABI type of one input (tuples expanded)."""
    typ = entry["type"]
    if typ.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in entry["components"])
        return f"({inner}){typ[5:]}"
    return typ


_BUILTIN_ERRORS = {
    bytes.fromhex("08c379a0"): _ErrorSpec("Error", ["string"], ["message"]),
    bytes.fromhex("4e487b71"): _ErrorSpec("Panic", ["uint256"], ["code"]),
}


class ErrorDecoder:
    """Maps revert data to ``(name, args)`` using the ``error`` entries of ABIs."""

    def __init__(self) -> None:
        self._specs: dict[bytes, _ErrorSpec] = dict(_BUILTIN_ERRORS)

    def add_abi(self, abi: list[dict[str, Any]]) -> None:
        """Learn the custom errors declared in ``abi``."""
        for entry in abi:
            if entry.get("type") != "error":
                continue
            types = [_abi_type(i) for i in entry.get("inputs", [])]
            selector = function_signature_to_4byte_selector(f"{entry['name']}({','.join(types)})")
            names = [i.get("name", "") for i in entry.get("inputs", [])]
            self._specs[bytes(selector)] = _ErrorSpec(entry["name"], types, names)

    def decode(self, data: bytes | str | None) -> tuple[str | None, tuple[Any, ...]]:
        """``(error name, decoded arguments)``; ``(None, ())`` when unknown or empty."""
        raw = _as_bytes(data)
        if len(raw) < 4 or raw[:4] not in self._specs:
            return None, ()
        spec = self._specs[raw[:4]]
        try:
            return spec.name, tuple(abi_decode(spec.types, raw[4:]))
        except Exception:  # malformed payload: still report the name
            return spec.name, ()

    def describe(self, data: bytes | str | None) -> str:
        """``Name(arg=value, ...)`` or a hex dump of unknown data."""
        name, args = self.decode(data)
        if name is None:
            raw = _as_bytes(data)
            return f"unknown revert data 0x{raw.hex()}" if raw else "revert without reason"
        spec = next(s for s in self._specs.values() if s.name == name)
        parts = [f"{n}={_fmt(v)}" if n else _fmt(v) for n, v in zip(spec.names, args, strict=False)]
        return f"{name}({', '.join(parts)})"


def _fmt(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return str(value)


def _as_bytes(data: bytes | str | dict | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, dict):  # nested: {"data": "0x..."} or Ganache's {"result": "0x..."}
        return _as_bytes(data.get("data") or data.get("result"))
    if isinstance(data, str):
        text = data[2:] if data.startswith("0x") else data
        try:
            return bytes.fromhex(text)
        except ValueError:
            return b""
    return bytes(data)


def _is_tester_failure(exc: BaseException) -> bool:
    """eth-tester's ``TransactionFailed`` (not imported: production nodes never raise it)."""
    return type(exc).__name__ == "TransactionFailed" and type(exc).__module__.startswith(
        "eth_tester"
    )


def revert_data(exc: BaseException) -> bytes:
    """Best effort: the raw revert data carried by a web3 (or eth-tester) exception.

    eth-tester reports custom errors as the text ``execution reverted: b'...'`` (the repr of
    the revert bytes), which is parsed back here; an ``Error(string)`` reason it has already
    decoded is re-encoded so that it decodes as ``Error(message)``.
    """
    if _is_tester_failure(exc):
        text = str(exc.args[0]) if exc.args else ""
        text = text.removeprefix("execution reverted: ")
        if text.startswith(("b'", 'b"')):
            with contextlib.suppress(ValueError, SyntaxError):
                value = ast.literal_eval(text)
                if isinstance(value, bytes):
                    return value
        if not text or text.startswith("Revert("):
            return b""
        return bytes.fromhex("08c379a0") + abi_encode(["string"], [text])
    if isinstance(exc, ContractLogicError):
        return _as_bytes(exc.data)
    if isinstance(exc, Web3RPCError) and exc.rpc_response:
        error = exc.rpc_response.get("error") or {}
        return _as_bytes(error.get("data") if isinstance(error, dict) else None)
    return b""


# ---------------------------------------------------------------- the client


@dataclass(frozen=True)
class BatchCall:
    """One call of :meth:`ChainClient.transact_batch`: a bound contract function
    (``contract.functions.f(args)``), the wei it sends, and who signs it (default: the
    client's account)."""

    fn: Any
    value: int = 0
    account: LocalAccount | None = None


class ChainClient:
    """Sends transactions signed by ``account`` to the node behind ``w3``.

    Parameters
    ----------
    w3 : Web3
        From :func:`connect` or :func:`eth_tester_web3`.
    account : LocalAccount
        Signs every transaction locally (:func:`dev_account`, :func:`load_keystore`).
    abis : list of ABI lists, optional
        ABIs whose custom errors :class:`ContractRevert` should decode (more can be added with
        ``client.errors.add_abi``).
    """

    def __init__(
        self,
        w3: Web3,
        account: LocalAccount,
        abis: list[list[dict[str, Any]]] | None = None,
    ) -> None:
        self.w3 = w3
        self.account = account
        self.url = node_url(w3)
        self.errors = ErrorDecoder()
        for abi in abis or []:
            self.errors.add_abi(abi)
        self._lock = threading.Lock()
        self._next_nonce: int | None = None
        self.estimate = not _is_eth_tester(w3)
        with node_errors(self.url):
            self.chain_id: int = w3.eth.chain_id

    @property
    def address(self) -> str:
        """Checksum address of the signing account."""
        return self.account.address

    def with_account(self, account: LocalAccount) -> ChainClient:
        """A client on the same node and error table, signing with another account."""
        other = ChainClient.__new__(ChainClient)
        other.w3, other.account, other.url, other.errors = self.w3, account, self.url, self.errors
        other.chain_id, other.estimate = self.chain_id, self.estimate
        other._lock, other._next_nonce = threading.Lock(), None
        return other

    def balance(self, address: str | None = None) -> int:
        """Balance in wei of ``address`` (default: the signing account)."""
        with node_errors(self.url):
            return self.w3.eth.get_balance(Web3.to_checksum_address(address or self.address))

    # -- reads

    def block_number(self) -> int:
        """Number of the latest block."""
        with node_errors(self.url):
            return int(self.w3.eth.block_number)

    def block_timestamp(self, block: int | str = "latest") -> int:
        """Timestamp (unix seconds) of ``block``: the chain's clock, which deadlines use."""
        with node_errors(self.url):
            return int(self.w3.eth.get_block(block)["timestamp"])

    def call(self, fn: Any, block: int | str = "latest") -> Any:
        """``eth_call`` a bound contract function (``contract.functions.f(args)``)."""
        return self._guard(lambda: fn.call({"from": self.address}, block_identifier=block), fn)

    # -- writes

    def transact(self, fn: Any, value: int = 0, gas: int | None = None) -> dict[str, Any]:
        """Sign and send a contract call; return the receipt once mined.

        Raises :class:`ContractRevert` (decoded) if the call would revert (gas estimation) or
        reverted when mined; :class:`ChainUnavailable` if the node is unreachable.
        """
        tx: dict[str, Any] = {"from": self.address, "value": value}
        if gas is None:
            gas = self._gas_limit(lambda: fn.estimate_gas(tx), lambda: fn.call(tx), fn)
        built = self._guard(lambda: fn.build_transaction({**tx, "gas": gas, "nonce": 0}), fn)
        return self._send({k: built[k] for k in ("to", "data", "value", "gas")}, fn)

    def transact_batch(
        self, calls: Sequence[BatchCall], gas: int | None = None
    ) -> list[dict[str, Any]]:
        """Sign and send many contract calls at once; return their receipts, in order.

        Each :class:`BatchCall` is signed by its own ``account`` (default: this client's),
        with nonces counted here from each sender's pending count (this client's own next
        nonce included) and the fee fields of :meth:`_fees` read once for the whole batch;
        then every receipt is awaited. ``gas``: one gas limit for every call (skips the
        per-call estimate; each call is then only checked when mined); ``None`` estimates
        each. Raises :class:`ContractRevert` (decoded, naming the call) for the first call
        that reverted when mined, :class:`ChainUnavailable` if the node is unreachable.
        """
        if not calls:
            return []
        hashes: list[Any] = []
        sent: list[tuple[BatchCall, dict[str, Any]]] = []
        with node_errors(self.url), self._lock:
            fees = self._fees()
            nonces: dict[str, int] = {}
            for call in calls:
                signer = call.account or self.account
                addr = signer.address
                if addr not in nonces:
                    nonces[addr] = int(self.w3.eth.get_transaction_count(addr, "pending"))
                    if addr == self.address:
                        nonces[addr] = max(nonces[addr], self._next_nonce or 0)
                tx: dict[str, Any] = {"from": addr, "value": int(call.value)}
                limit = gas
                if limit is None:
                    limit = self._gas_limit(
                        lambda t=tx, f=call.fn: f.estimate_gas(t),
                        lambda t=tx, f=call.fn: f.call(t),
                        call.fn,
                    )
                built = self._guard(
                    lambda t=tx, f=call.fn, g=limit: f.build_transaction(
                        {**t, "gas": g, "nonce": 0}
                    ),
                    call.fn,
                )
                full = {
                    **{k: built[k] for k in ("to", "data", "value", "gas")},
                    **fees,
                    "nonce": nonces[addr],
                    "chainId": self.chain_id,
                }
                signed = signer.sign_transaction(full)
                hashes.append(
                    self._guard(
                        lambda raw=signed.raw_transaction: self.w3.eth.send_raw_transaction(raw),
                        call.fn,
                    )
                )
                sent.append((call, full))
                nonces[addr] += 1
            if self.address in nonces:
                self._next_nonce = nonces[self.address]
        receipts = []
        with node_errors(self.url):
            for tx_hash in hashes:
                try:
                    receipts.append(
                        dict(
                            self.w3.eth.wait_for_transaction_receipt(
                                tx_hash, timeout=RECEIPT_TIMEOUT, poll_latency=0.01
                            )
                        )
                    )
                except TimeExhausted as exc:
                    raise ChainError(
                        f"transaction 0x{HexBytes(tx_hash).hex()} not mined within "
                        f"{RECEIPT_TIMEOUT:.0f}s on {self.url}"
                    ) from exc
        for (call, full), receipt in zip(sent, receipts, strict=True):
            if receipt["status"] != 1:
                sender = (call.account or self.account).address
                self._raise_mined_revert(full, receipt, call.fn, sender)
        return receipts

    def deploy(self, abi: list[dict[str, Any]], bytecode: str, *args: Any) -> dict[str, Any]:
        """Deploy a contract; the receipt's ``contractAddress`` is its address."""
        self.errors.add_abi(abi)
        factory = self.w3.eth.contract(abi=abi, bytecode=bytecode)
        ctor = factory.constructor(*args)
        tx: dict[str, Any] = {"from": self.address, "value": 0}
        gas = self._gas_limit(
            lambda: ctor.estimate_gas(tx),
            lambda: self.w3.eth.call({**tx, "data": ctor.data_in_transaction}),
            None,
        )
        built = self._guard(lambda: ctor.build_transaction({**tx, "gas": gas, "nonce": 0}), None)
        return self._send({"data": built["data"], "value": 0, "gas": built["gas"]}, None)

    def send_value(self, to: str, value: int) -> dict[str, Any]:
        """Send ``value`` wei to ``to`` (a plain transfer)."""
        return self._send({"to": Web3.to_checksum_address(to), "value": value, "gas": 21_000}, None)

    # -- internals

    def _gas_limit(self, estimate: Callable[[], int], call: Callable[[], Any], fn: Any) -> int:
        """Gas limit for a transaction; a revert surfaces here, decoded, before sending.

        Real nodes: the node's estimate × :data:`GAS_MARGIN`. eth-tester: its estimate is a
        binary search over full executions (~0.15 s), so one ``eth_call`` checks for a revert
        and the limit is :data:`TESTER_GAS_LIMIT`; receipts still report the gas used.
        """
        if self.estimate:
            return int(self._guard(estimate, fn) * GAS_MARGIN) + 10_000
        self._guard(call, fn)
        return TESTER_GAS_LIMIT

    def _fees(self) -> dict[str, int]:
        return fee_fields(self.w3)

    def _send(self, tx: dict[str, Any], fn: Any) -> dict[str, Any]:
        with node_errors(self.url), self._lock:
            pending = self.w3.eth.get_transaction_count(self.address, "pending")
            nonce = max(pending, self._next_nonce or 0)
            full = {**tx, **self._fees(), "nonce": nonce, "chainId": self.chain_id}
            signed = self.account.sign_transaction(full)
            try:
                tx_hash = self._guard(
                    lambda: self.w3.eth.send_raw_transaction(signed.raw_transaction), fn
                )
            except Exception:
                self._next_nonce = None
                raise
            self._next_nonce = nonce + 1
        with node_errors(self.url):
            try:
                receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=RECEIPT_TIMEOUT)
            except TimeExhausted as exc:
                raise ChainError(
                    f"transaction 0x{HexBytes(tx_hash).hex()} not mined within "
                    f"{RECEIPT_TIMEOUT:.0f}s on {self.url}"
                ) from exc
        if receipt["status"] != 1:
            self._raise_mined_revert(full, receipt, fn)
        return dict(receipt)

    def _raise_mined_revert(
        self, tx: dict[str, Any], receipt: Any, fn: Any, sender: str | None = None
    ) -> None:
        """Replay a failed transaction as a call at its block to recover the revert data."""
        call = {
            "from": sender or self.address,
            **{k: tx[k] for k in ("to", "data", "value") if k in tx},
        }
        data = b""
        try:
            with node_errors(self.url):
                self.w3.eth.call(call, block_identifier=receipt["blockNumber"])
        except Exception as exc:
            if not _is_revert(exc):
                raise
            data = revert_data(exc)
        what = _describe_fn(fn)
        raise ContractRevert(
            f"{what} reverted in block {receipt['blockNumber']} on {self.url}: "
            f"{self.errors.describe(data)}",
            *self.errors.decode(data),
        )

    def _guard(self, action: Callable[[], T], fn: Any) -> T:
        """Run a node request; decode reverts, translate transport failures."""
        try:
            with node_errors(self.url):
                return action()
        except Exception as exc:
            if not _is_revert(exc):
                raise
            data = revert_data(exc)
            name, args = self.errors.decode(data)
            if name is None and not data and isinstance(exc, Web3RPCError):
                raise ChainError(f"{_describe_fn(fn)} failed on {self.url}: {exc}") from exc
            raise ContractRevert(
                f"{_describe_fn(fn)} reverted on {self.url}: {self.errors.describe(data)}",
                name,
                args,
            ) from None


def fee_fields(w3: Web3) -> dict[str, int]:
    """The one fee policy of every transaction Hessian sends: EIP-1559 fields if the chain has
    a base fee (tip = the node's ``eth_maxPriorityFeePerGas``, else
    :data:`DEFAULT_PRIORITY_FEE`; ``maxFeePerGas = 2·base + tip``), else a legacy gas price."""
    base = w3.eth.get_block("latest").get("baseFeePerGas")
    if base is None:
        return {"gasPrice": int(w3.eth.gas_price)}
    try:
        tip = int(w3.eth.max_priority_fee)
    except (Web3RPCError, ValueError, AttributeError):
        tip = DEFAULT_PRIORITY_FEE
    return {"maxPriorityFeePerGas": tip, "maxFeePerGas": 2 * int(base) + tip}


def _is_revert(exc: BaseException) -> bool:
    return isinstance(exc, (ContractLogicError, Web3RPCError)) or _is_tester_failure(exc)


def _describe_fn(fn: Any) -> str:
    if fn is None:
        return "transaction"
    name = getattr(fn, "fn_name", None) or getattr(fn, "abi_element_identifier", "call")
    address = getattr(fn, "address", None)
    return f"{name} at {address}" if address else str(name)
