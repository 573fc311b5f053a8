"""ERC-20 tokens on chain: HSN, the dev chains' TestUSD, or any token a lender names.

A :class:`~hessian_common.format.Currency` says how amounts of one currency are counted and
shown; a token's carries its contract ``address`` (ether's is ``None``), read from the chain by
:func:`currency_of` (``symbol()``, ``decimals()``: nothing assumes 18 decimals). Amounts are
integers in base units (``10**decimals`` per whole unit).

:class:`Token` wraps one ERC-20 contract: ``symbol``, ``decimals``, ``balance_of``,
``transfer``, ``approve``, ``allowance`` and EIP-2612 permits. A permit is the owner's
signature over the EIP-712 typed data ::

    Permit(address owner, address spender, uint256 value, uint256 nonce, uint256 deadline)

in the token's domain (``eip712Domain()`` of EIP-5267 when the token has it, else its
``name()`` and version ``"1"``); :meth:`Token.supports_permit` says whether we can sign one the
token will accept (it answers ``nonces`` and its ``DOMAIN_SEPARATOR()`` is the one we compute).
:class:`TestUSD` adds the dev chains' faucet, refused here before anything is sent on any
other chain.

Strings a token returns (its symbol) are a stranger's: :func:`currency_of` keeps a short
printable symbol and otherwise names the token by its address.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from eth_abi import encode as abi_encode
from eth_abi.exceptions import DecodingError
from eth_account.messages import encode_typed_data
from eth_utils import keccak
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import Web3Exception

from hessian_common.chain.client import ChainClient, node_errors
from hessian_common.chain.wrapper import ContractWrapper
from hessian_common.errors import ChainError, ChainUnavailable, ConfigError
from hessian_common.format import ETH, Currency, format_amount, short_addr
from hessian_common.numbers import NumberFormatError, parse_decimal

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
"""The currency id of ether in the contracts (``address(0)``)."""

DEV_CHAIN_IDS = frozenset({1337, 31337, 131277322940537})
"""Chains where TestUSD's faucet works (``TestUSD.isDevChain``): Ganache, anvil, eth-tester."""

MAX_SYMBOL = 16
"""Longest token symbol shown as it is; a longer or unprintable one is replaced."""

MAX_DECIMALS = 36
"""Most decimals a token may declare to be usable (``decimals()`` is a uint8)."""

PERMIT_LIFETIME = 3_600
"""Seconds a permit the wrappers sign stays valid (from the chain's latest block time)."""

HSN_SUPPLY = 1_000_000_000 * 10**18
"""HSN's fixed supply: one billion tokens of 18 decimals, minted once at deployment."""

_ANSWER_ERRORS = (ChainError, ValueError, OverflowError, TypeError, Web3Exception, DecodingError)
"""What a contract that does not answer a view like an ERC-20 raises (reverts, no such
function, undecodable output); :class:`ChainUnavailable` is always re-raised first."""

_PERMIT_TYPES = [
    {"name": "owner", "type": "address"},
    {"name": "spender", "type": "address"},
    {"name": "value", "type": "uint256"},
    {"name": "nonce", "type": "uint256"},
    {"name": "deadline", "type": "uint256"},
]
_DOMAIN_FIELDS = (  # EIP-5267 field bits, in order
    ("name", "string"),
    ("version", "string"),
    ("chainId", "uint256"),
    ("verifyingContract", "address"),
    ("salt", "bytes32"),
)


class Permit(NamedTuple):
    """An EIP-2612 permit as the contracts take it (``Payments.Permit``)."""

    value: int
    deadline: int
    v: int
    r: bytes
    s: bytes

    def as_tuple(self) -> tuple[int, int, int, bytes, bytes]:
        """The ``(value, deadline, v, r, s)`` tuple of a contract call."""
        return (int(self.value), int(self.deadline), int(self.v), bytes(self.r), bytes(self.s))


NO_PERMIT = Permit(0, 0, 0, b"\0" * 32, b"\0" * 32)
"""A permit the contracts skip (``deadline == 0``): the allowance alone decides."""


def is_ether(currency: Currency | str | None) -> bool:
    """``None``, :data:`~hessian_common.format.ETH`, ``"eth"`` or the zero address."""
    return currency_address(currency) == ZERO_ADDRESS


def currency_address(currency: Currency | str | None) -> str:
    """The contracts' currency id: the zero address for ether, else the token's checksummed
    address.

    Raises
    ------
    ConfigError
        ``currency`` is neither ether nor an address.
    """
    if currency is None:
        return ZERO_ADDRESS
    if isinstance(currency, Currency):
        return ZERO_ADDRESS if currency.address is None else currency.address
    text = str(currency).strip()
    if text.lower() == "eth":
        return ZERO_ADDRESS
    if not Web3.is_address(text):
        raise ConfigError(f"currency must be 'eth' or a token address (0x + 40 hex), not {text!r}")
    return Web3.to_checksum_address(text)


def _clean_symbol(value: Any, address: str) -> str:
    """A token's ``symbol()`` if it is 1 to :data:`MAX_SYMBOL` letters, digits or ``$._+-``,
    else the token's short address (a symbol is a stranger's string: no markup, no control
    characters, no look-alike of a sentence)."""
    if (
        isinstance(value, str)
        and 0 < len(value) <= MAX_SYMBOL
        and all(ch.isalnum() or ch in "$._+-" for ch in value)
    ):
        return value
    return short_addr(address)


def token_currency(address: str, symbol: str, decimals: int) -> Currency:
    """The :class:`Currency` of a token: up to 6 decimals shown (fewer if it has fewer)."""
    return Currency(
        symbol,
        int(decimals),
        places=min(6, int(decimals)),
        min_places=min(2, int(decimals)),
        address=Web3.to_checksum_address(address),
    )


def currency_of(
    client: ChainClient, currency: Currency | str | None, strict: bool = True
) -> Currency:
    """The :class:`Currency` of ``currency`` on ``client``'s chain (ether: :data:`ETH`).

    ``strict`` (a currency someone is about to use): the address must hold a contract that
    answers ``decimals()`` (0..36) and ``symbol()``, else :class:`ConfigError` says what is
    wrong. Not strict (a currency some model already uses, shown in a list): a token that does
    not answer is named by its short address and counted in base units (0 decimals), so one
    odd token never breaks a page.

    Raises
    ------
    ConfigError
        (strict) Not an address, no contract there, or not an ERC-20 (no decimals/symbol).
    ChainUnavailable
        The node cannot be reached.
    """
    address = currency_address(currency)
    if address == ZERO_ADDRESS:
        return ETH
    with node_errors(client.url):
        code = client.w3.eth.get_code(address)
    where = f"chain {client.chain_id} ({client.url})"
    if not code:
        if strict:
            raise ConfigError(f"no contract at {address} on {where}: not a token here")
        return token_currency(address, short_addr(address), 0)
    token = Token(client, address)
    try:
        decimals = int(client.call(token.fn.decimals()))
        if not 0 <= decimals <= MAX_DECIMALS:
            raise ConfigError(f"decimals() is {decimals}, above {MAX_DECIMALS}")
    except ChainUnavailable:
        raise
    except _ANSWER_ERRORS as exc:
        if strict:
            raise ConfigError(
                f"the contract at {address} on {where} does not answer decimals() like an "
                f"ERC-20 token: {exc}"
            ) from None
        return token_currency(address, short_addr(address), 0)
    try:
        symbol = client.call(token.fn.symbol())
    except ChainUnavailable:
        raise
    except _ANSWER_ERRORS as exc:
        if strict:
            raise ConfigError(
                f"the contract at {address} on {where} does not answer symbol() like an "
                f"ERC-20 token: {exc}"
            ) from None
        symbol = None
    return token_currency(address, _clean_symbol(symbol, address), decimals)


def to_units(amount: str | Decimal | int, currency: Currency) -> int:
    """A whole-unit amount (``"12.5"``, ``Decimal("12.5")``) in base units of ``currency``
    (``12_500_000`` for a 6-decimal token), read by the one number rule of
    :mod:`hessian_common.numbers`.

    Raises
    ------
    ConfigError
        Not a number, negative, or more decimals than the currency has (``0.0000001`` of a
        6-decimal token is not an amount).
    """
    try:
        value = amount if isinstance(amount, Decimal | int) else parse_decimal(str(amount))
    except NumberFormatError as exc:
        raise ConfigError(f"amount {amount!r}: {exc.reason}") from None
    units = Decimal(value) * currency.unit
    if units < 0:
        raise ConfigError(f"amount {amount!r} is negative")
    if units != units.to_integral_value():
        raise ConfigError(
            f"amount {amount!r} has more decimals than {currency.symbol} has "
            f"({currency.decimals})"
        )
    return int(units)


class Token(ContractWrapper):
    """Calls and reads of one ERC-20 token (the ABI of HSN: ERC-20 + EIP-2612 + EIP-5267;
    a plain ERC-20 answers the ERC-20 part, and :meth:`supports_permit` says if the rest).

    Constructed as :class:`~hessian_common.chain.wrapper.ContractWrapper`.
    """

    artifact = "HessianToken"

    # ------------------------------------------------------------ reads

    def symbol(self) -> str:
        """The token's symbol, as :func:`currency_of` shows it."""
        return self.currency().symbol

    def decimals(self) -> int:
        """Decimals of the token (base units per whole unit: ``10**decimals``)."""
        return self.currency().decimals

    def currency(self) -> Currency:
        """The token's :class:`Currency` (read once; raises :class:`ConfigError` if it does not
        answer ``decimals()`` / ``symbol()``)."""
        if "currency" not in self._immutables:
            self._immutables["currency"] = currency_of(self.client, self.address)
        return self._immutables["currency"]

    def balance_of(self, address: str | None = None) -> int:
        """Base units held by ``address`` (default: the client's account)."""
        who = Web3.to_checksum_address(address or self.client.address)
        return int(self.client.call(self.fn.balanceOf(who)))

    def allowance(self, owner: str, spender: str) -> int:
        """What ``spender`` may still pull from ``owner`` with ``transferFrom``."""
        return int(
            self.client.call(
                self.fn.allowance(
                    Web3.to_checksum_address(owner), Web3.to_checksum_address(spender)
                )
            )
        )

    def total_supply(self) -> int:
        """Total supply in base units."""
        return int(self.client.call(self.fn.totalSupply()))

    def format(self, amount: int) -> str:
        """``amount`` base units as ``"8,000.00 tUSD"``."""
        return format_amount(amount, self.currency())

    # ------------------------------------------------------------ writes

    def transfer(self, to: str, amount: int) -> dict[str, Any]:
        """Send ``amount`` base units to ``to``; the receipt.

        Raises
        ------
        ConfigError
            ``amount`` is not positive, or the account holds less (nothing is sent).
        """
        amount = _positive(amount, "amount")
        held = self.balance_of()
        if held < amount:
            raise ConfigError(
                f"{self.client.address} holds {self.format(held)}, less than the "
                f"{self.format(amount)} to send"
            )
        return self.client.transact(self.fn.transfer(Web3.to_checksum_address(to), amount))

    def approve(self, spender: str, amount: int) -> dict[str, Any]:
        """Let ``spender`` pull up to ``amount`` base units from the client's account.

        An allowance that is neither zero nor ``amount`` is set to zero first (tokens like USDT
        refuse to change one non-zero allowance to another).
        """
        spender = Web3.to_checksum_address(spender)
        current = self.allowance(self.client.address, spender)
        if current not in (0, int(amount)) and int(amount) != 0:
            self.client.transact(self.fn.approve(spender, 0))
        return self.client.transact(self.fn.approve(spender, int(amount)))

    # ------------------------------------------------------------ EIP-2612 permits

    def nonce(self, owner: str | None = None) -> int:
        """The permit nonce of ``owner`` (default: the client's account)."""
        who = Web3.to_checksum_address(owner or self.client.address)
        return int(self.client.call(self.fn.nonces(who)))

    def domain(self) -> dict[str, Any]:
        """The token's EIP-712 domain (EIP-5267 ``eip712Domain()``, else ``name()``, version
        ``"1"``, the chain id and the token's address).

        Raises :class:`ContractRevert` / :class:`ChainError` if the token has neither.
        """
        if "domain" not in self._immutables:
            try:
                fields, name, version, chain_id, contract, salt, _ = self.client.call(
                    self.fn.eip712Domain()
                )
                values = (name, version, int(chain_id), contract, bytes(salt))
                bitmap = int.from_bytes(bytes(HexBytes(fields)), "big")
                names = [key for key, _ in _DOMAIN_FIELDS]
                domain = {names[bit]: values[bit] for bit in range(len(names)) if bitmap >> bit & 1}
            except ChainUnavailable:
                raise
            except _ANSWER_ERRORS:
                domain = {
                    "name": self.client.call(self.fn.name()),
                    "version": "1",
                    "chainId": self.client.chain_id,
                    "verifyingContract": self.address,
                }
            self._immutables["domain"] = domain
        return self._immutables["domain"]

    def supports_permit(self) -> bool:
        """Whether the token takes EIP-2612 permits we can sign: it answers ``nonces`` and
        ``DOMAIN_SEPARATOR()``, and the latter is the hash of :meth:`domain` (checked once)."""
        if "permit" not in self._immutables:
            try:
                self.nonce()
                expected = bytes(self.client.call(self.fn.DOMAIN_SEPARATOR()))
                ours = _domain_separator(self.domain())
                self._immutables["permit"] = ours == expected
            except ChainUnavailable:
                raise
            except _ANSWER_ERRORS:
                self._immutables["permit"] = False
        return bool(self._immutables["permit"])

    def sign_permit(
        self,
        spender: str,
        value: int,
        deadline: int | None = None,
        *,
        nonce: int | None = None,
    ) -> Permit:
        """The client's account signs a permit letting ``spender`` pull ``value``.

        ``deadline`` defaults to :data:`PERMIT_LIFETIME` seconds after the latest block;
        ``nonce`` to the owner's current one (a later permit needs the next).
        """
        owner = self.client.address
        if deadline is None:
            deadline = self.client.block_timestamp() + PERMIT_LIFETIME
        message = {
            "owner": owner,
            "spender": Web3.to_checksum_address(spender),
            "value": int(value),
            "nonce": self.nonce(owner) if nonce is None else int(nonce),
            "deadline": int(deadline),
        }
        domain = self.domain()
        typed = {
            "types": {
                "EIP712Domain": [{"name": k, "type": t} for k, t in _DOMAIN_FIELDS if k in domain],
                "Permit": _PERMIT_TYPES,
            },
            "primaryType": "Permit",
            "domain": domain,
            "message": message,
        }
        signed = self.client.account.sign_message(encode_typed_data(full_message=typed))
        return Permit(
            int(value),
            int(deadline),
            int(signed.v),
            int(signed.r).to_bytes(32, "big"),
            int(signed.s).to_bytes(32, "big"),
        )

    def permit(self, owner: str, spender: str, p: Permit) -> dict[str, Any]:
        """Submit ``owner``'s permit ``p`` (anyone may: e.g. someone who saw it in the mempool)."""
        return self.client.transact(
            self.fn.permit(
                Web3.to_checksum_address(owner),
                Web3.to_checksum_address(spender),
                p.value,
                p.deadline,
                p.v,
                p.r,
                p.s,
            )
        )


class TestUSD(Token):
    """The dev chains' test dollar token (6 decimals), with its faucet."""

    __test__ = False  # not a pytest test class
    artifact = "TestUSD"

    def faucet(self, amount: int, to: str | None = None) -> dict[str, Any]:
        """Mint ``amount`` test dollars (base units) to ``to`` (default: the client's account).

        Raises
        ------
        ConfigError
            On a chain that is not a local development chain (nothing is sent), or for an
            amount that is not positive or above the faucet's limit.
        """
        if self.client.chain_id not in DEV_CHAIN_IDS:
            raise ConfigError(
                f"the TestUSD faucet exists only on local development chains "
                f"({', '.join(str(c) for c in sorted(DEV_CHAIN_IDS))}); chain "
                f"{self.client.chain_id} ({self.client.url}) is not one: get a real dollar "
                "token there instead"
            )
        amount = _positive(amount, "amount")
        limit = int(self._immutable("FAUCET_MAX"))
        if amount > limit:
            raise ConfigError(
                f"the faucet hands out at most {format_amount(limit, self.currency())} a call, "
                f"not {format_amount(amount, self.currency())}"
            )
        who = Web3.to_checksum_address(to or self.client.address)
        return self.client.transact(self.fn.faucet(who, amount))


def _positive(amount: Any, what: str) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ConfigError(f"{what} must be a positive whole number of base units, not {amount!r}")
    return amount


def _domain_separator(domain: dict[str, Any]) -> bytes:
    """``hashStruct(EIP712Domain)`` of ``domain`` (what ``DOMAIN_SEPARATOR()`` returns):
    ``keccak256(typeHash ‖ enc(field)…)``, strings hashed, in EIP-5267's field order."""
    fields = [(k, t) for k, t in _DOMAIN_FIELDS if k in domain]
    type_hash = keccak(text="EIP712Domain(" + ",".join(f"{t} {k}" for k, t in fields) + ")")
    types, values = ["bytes32"], [type_hash]
    for key, typ in fields:
        value = domain[key]
        if typ == "string":
            types.append("bytes32")
            values.append(keccak(text=value))
        else:
            types.append(typ)
            values.append(value)
    return keccak(abi_encode(types, values))


def fund(
    client: ChainClient,
    currency: Currency | str | None,
    spender: str,
    amount: int,
    what: str,
    permit: bool | None = None,
) -> Permit | None:
    """Make sure ``spender`` can pull ``amount`` of ``currency`` from ``client``'s account in
    the next transaction; return the permit to send with it, or ``None`` (no token, nothing to
    pull, or the allowance already suffices, or it was just approved).

    The rule the wrappers follow so that no caller ever handles allowances: a token that takes
    EIP-2612 permits gets a fresh permit for exactly ``amount`` (one transaction in all); any
    other token an ``approve`` of exactly ``amount`` first. ``permit=False`` forces the
    ``approve``; ``permit=True`` requires a permit.

    Raises
    ------
    ConfigError
        The account holds less than ``amount`` (``what`` names it: "the bounty", "the
        deposit"), or ``permit=True`` for a token without permits. Nothing is sent.
    """
    if is_ether(currency) or amount <= 0:
        return None
    token = Token(client, currency_address(currency))
    held = token.balance_of()
    if held < amount:
        raise ConfigError(
            f"{what} is {token.format(amount)} but {client.address} holds only "
            f"{token.format(held)}; nothing was sent"
        )
    if token.allowance(client.address, spender) >= amount and permit is not True:
        return None
    use_permit = token.supports_permit() if permit is None else permit
    if use_permit:
        if not token.supports_permit():
            raise ConfigError(f"{token.symbol()} ({token.address}) does not take EIP-2612 permits")
        return token.sign_permit(spender, amount)
    token.approve(spender, amount)
    return None


def pay(
    client: ChainClient,
    currency: Currency | str | None,
    spender: str,
    amount: int,
    plain: Callable[[], Any],
    with_permit: Callable[[tuple[int, int, int, bytes, bytes]], Any] | None = None,
    what: str = "the payment",
) -> dict[str, Any]:
    """Send the one call that makes ``spender`` take ``amount`` of ``currency`` from
    ``client``'s account; returns its receipt.

    ``plain()`` is the bound contract call without a permit, ``with_permit(permit)`` the one
    with a ``(value, deadline, v, r, s)`` permit (``None``: the contract has none). Ether: the
    call carries ``amount`` as its value. A token: the rule of :func:`fund` (the allowance if
    it covers the amount, else a permit for exactly the amount, else an ``approve`` first), so
    a payer signs once per payment.
    """
    amount = int(amount)
    if is_ether(currency):
        return client.transact(plain(), value=amount)
    permit = fund(client, currency, spender, amount, what, permit=None if with_permit else False)
    if permit is None:
        return client.transact(plain())
    assert with_permit is not None
    return client.transact(with_permit(permit.as_tuple()))


def balance_in(client: ChainClient, currency: Currency | str | None, account: str) -> int:
    """``account``'s balance in ``currency`` (base units; wei for ether)."""
    if is_ether(currency):
        return client.balance(account)
    return Token(client, currency_address(currency)).balance_of(account)


__all__ = [
    "DEV_CHAIN_IDS",
    "HSN_SUPPLY",
    "NO_PERMIT",
    "ZERO_ADDRESS",
    "Permit",
    "TestUSD",
    "Token",
    "balance_in",
    "currency_address",
    "currency_of",
    "fund",
    "is_ether",
    "pay",
    "to_units",
    "token_currency",
]
