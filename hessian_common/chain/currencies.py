"""The currencies a person picks from and holds: ether, HSN, the dev chain's TestUSD, any token.

Both apps offer the same choice when money is set up (the company's create-task form, the
lending deployment) and show the same balances on their account pages; the rules live here.

Choosing (:func:`choose_currency`)::

    "eth"                    -> ETH
    "hsn", "tusd"            -> the token recorded for this chain (deployments/<id>-*.json)
    "token" + an address     -> that contract, if it answers decimals() and symbol() here
    anything else            -> CurrencyChoiceError naming the field; nothing is sent

Balances (:func:`balances`): ``{Currency: base units}`` of one account in ether, every
recorded token, and the extra currencies given (those of the models and deployments the
account deals with), each once, in that order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hessian_common.chain.deploy import HSN_NAME, TEST_USD_NAME, load_tokens
from hessian_common.chain.token import balance_in, currency_address, currency_of
from hessian_common.errors import ChainUnavailable, ConfigError
from hessian_common.format import ETH, Currency

ETH_CHOICE = "eth"
HSN_CHOICE = "hsn"
TUSD_CHOICE = "tusd"
TOKEN_CHOICE = "token"
"""The form's choice for "another token, by address"."""

_NAME_OF = {HSN_CHOICE: HSN_NAME, TUSD_CHOICE: TEST_USD_NAME}


class CurrencyChoiceError(ConfigError):
    """A currency choice that cannot be used; ``field`` is the form field at fault
    (``"currency"`` or ``"token_address"``)."""

    def __init__(self, field: str, message: str):
        self.field = field
        super().__init__(message)


@dataclass(frozen=True)
class CurrencyOption:
    """One entry of the currency choice: its form value, its label and its currency
    (``None`` for "another token")."""

    value: str
    label: str
    currency: Currency | None


def known_tokens(client: Any, deployments_dir: Path | None = None) -> dict[str, Currency]:
    """The tokens recorded for ``client``'s chain, still there: ``{"hsn": ..., "tusd": ...}``
    (TestUSD only on dev chains, where ``hessian deploy`` puts it)."""
    records = load_tokens(client.w3, deployments_dir)
    out = {}
    for key, name in _NAME_OF.items():
        if name in records:
            out[key] = currency_of(client, records[name].address, strict=False)
    return out


def currency_options(
    client: Any, deployments_dir: Path | None = None
) -> list[CurrencyOption]:
    """ETH, then the recorded tokens (HSN, TestUSD), then "another token (address)"."""
    opts = [CurrencyOption(ETH_CHOICE, "ETH (ether)", ETH)]
    labels = {HSN_CHOICE: "HSN (Hessian token)", TUSD_CHOICE: "TestUSD (test dollar)"}
    for key, cur in known_tokens(client, deployments_dir).items():
        opts.append(CurrencyOption(key, f"{labels[key]} · {cur.symbol}", cur))
    opts.append(CurrencyOption(TOKEN_CHOICE, "Another ERC-20 token (its address)", None))
    return opts


def default_choice(options: Iterable[CurrencyOption], prefer: str = ETH_CHOICE) -> str:
    """``prefer`` when offered, else ETH."""
    values = [o.value for o in options]
    return prefer if prefer in values else ETH_CHOICE


def choose_currency(
    client: Any,
    choice: str | None,
    address: str | None = None,
    deployments_dir: Path | None = None,
) -> Currency:
    """The :class:`Currency` a form's ``choice`` (and ``address`` for "token") names.

    Raises
    ------
    CurrencyChoiceError
        An unknown choice, a token not recorded on this chain, a missing or malformed
        address, or an address that is not a token here (no code, no ``decimals()`` /
        ``symbol()``); ``.field`` names the field. Nothing is sent.
    ChainUnavailable
        The node does not answer.
    """
    key = (choice or ETH_CHOICE).strip().lower()
    if key == ETH_CHOICE:
        return ETH
    if key in _NAME_OF:
        tokens = known_tokens(client, deployments_dir)
        if key not in tokens:
            name = _NAME_OF[key]
            raise CurrencyChoiceError(
                "currency",
                f"no {name} is recorded for chain {client.chain_id}: run `hessian deploy` "
                "(TestUSD exists only on local development chains), or name a token's address",
            )
        return tokens[key]
    if key != TOKEN_CHOICE:
        raise CurrencyChoiceError("currency", f"unknown currency choice {choice!r}")
    text = (address or "").strip()
    if not text:
        raise CurrencyChoiceError("token_address", "give the token's address (0x + 40 hex)")
    try:
        if currency_address(text) == currency_address(None):
            raise CurrencyChoiceError(
                "token_address", "the zero address is ether: choose ETH instead"
            )
        return currency_of(client, text, strict=True)
    except ChainUnavailable:
        raise
    except CurrencyChoiceError:
        raise
    except ConfigError as exc:
        raise CurrencyChoiceError("token_address", str(exc)) from None


def balances(
    client: Any,
    account: str,
    extra: Iterable[Currency | str | None] = (),
    deployments_dir: Path | None = None,
) -> dict[Currency, int]:
    """``account``'s balance in ether, each recorded token and each of ``extra`` (currencies
    or token addresses of the models and deployments it deals with), in base units."""
    currencies: list[Currency] = [ETH, *known_tokens(client, deployments_dir).values()]
    for cur in extra:
        c = cur if isinstance(cur, Currency) else currency_of(client, cur, strict=False)
        if all(currency_address(c) != currency_address(x) for x in currencies):
            currencies.append(c)
    return {c: int(balance_in(client, c, account)) for c in currencies}


def per_currency(
    read: Any, currencies: Iterable[Currency], *, keep_zero: bool = False
) -> dict[Currency, int]:
    """``{currency: read(address)}`` for each currency (``read`` takes the currency's
    contract id: the zero address for ether), without the zeros unless ``keep_zero``."""
    out: dict[Currency, int] = {}
    seen: set[str] = set()
    for cur in currencies:
        address = currency_address(cur)
        if address in seen:
            continue
        seen.add(address)
        units = int(read(address))
        if units or keep_zero:
            out[cur] = units
    return out




@dataclass(frozen=True)
class Credit:
    """What a contract owes an account in one currency (pull payments: ``withdraw``)."""

    currency: Currency
    units: int
    source: str
    """``"repository"`` (rewards, refunds, reclaimed bounties) or ``"loanbook"`` (a loan's
    principal for a borrower, repayments for a lender)."""


@dataclass(frozen=True)
class AccountMoney:
    """Every balance an account holds in the currencies in use, and what the contracts owe
    it, per currency (the account pages of both apps)."""

    balances: dict[Currency, int]
    credits: list[Credit]

    @property
    def currencies(self) -> list[Currency]:
        return list(self.balances)


def account_money(
    client: Any,
    account: str,
    *,
    repo: Any = None,
    book: Any = None,
    extra: Iterable[Currency | str | None] = (),
    deployments_dir: Path | None = None,
) -> AccountMoney:
    """``account``'s balances in ether, the recorded tokens (HSN, TestUSD) and ``extra`` (the
    currencies of the models and deployments it deals with), and its credit in each at the
    repository and the LoanBook (those given), non-zero credits only."""
    held = balances(client, account, extra, deployments_dir)
    credits = []
    for source, wrapper in (("repository", repo), ("loanbook", book)):
        if wrapper is None:
            continue
        owed = per_currency(lambda a, w=wrapper: w.pending(account, currency=a), held)
        credits += [Credit(cur, units, source) for cur, units in owed.items()]
    return AccountMoney(held, credits)


def withdraw_credit(wrapper: Any, currency: Currency | str | None) -> int:
    """Withdraw the signer's credit in ``currency`` from ``wrapper`` (a ``ModelRepository``
    or ``LoanBook``); 0, no transaction, when there is none."""
    address = currency_address(currency)
    if not int(wrapper.pending(currency=address)):
        return 0
    return int(wrapper.withdraw(address))


__all__ = [
    "ETH_CHOICE",
    "HSN_CHOICE",
    "TOKEN_CHOICE",
    "TUSD_CHOICE",
    "AccountMoney",
    "Credit",
    "CurrencyChoiceError",
    "CurrencyOption",
    "account_money",
    "balances",
    "choose_currency",
    "currency_options",
    "default_choice",
    "known_tokens",
    "per_currency",
    "withdraw_credit",
]
