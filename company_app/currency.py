"""The currency choice of the company's forms (create a task, deploy for lending).

The rules are :mod:`hessian_common.chain.currencies`; this module only fills the form's
choices from the chain and puts a refused choice under the field at fault.
"""

from __future__ import annotations

from typing import Any

from company_app import services
from hessian_common.chain.currencies import (
    ETH_CHOICE,
    TOKEN_CHOICE,
    CurrencyChoiceError,
    choose_currency,
    currency_options,
    default_choice,
)
from hessian_common.errors import ChainUnavailable
from hessian_common.format import ETH, Currency, sentence


def _client() -> Any:
    return services.lender().repo.client


def offer_currencies(form: Any, prefer: str = ETH_CHOICE) -> None:
    """Fill ``form.currency``'s choices (ETH, the recorded HSN / TestUSD, another token) and,
    on a fresh form, pick ``prefer`` when the chain has it. While the chain does not answer,
    only ETH and "another token" are offered (nothing is sent from such a page anyway)."""
    try:
        options = currency_options(_client(), services.settings().deployments_dir)
    except ChainUnavailable:
        options = []
    choices = [(o.value, o.label) for o in options] or [
        (ETH_CHOICE, "ETH (ether)"),
        (TOKEN_CHOICE, "Another ERC-20 token (its address)"),
    ]
    form.currency.choices = choices
    if not form.is_submitted():
        form.currency.data = default_choice(options, prefer) if options else ETH_CHOICE


def resolve_currency(form: Any) -> tuple[Currency | None, CurrencyChoiceError | None]:
    """The submitted choice checked on chain (a token must answer ``decimals()`` and
    ``symbol()`` here); sets ``form.chosen`` so amounts are read in its units. Returns the
    currency, or ``None`` and the error to show (:func:`show_currency_error`)."""
    if not form.is_submitted():
        return ETH, None
    try:
        cur = choose_currency(
            _client(),
            form.currency.data,
            form.token_address.data,
            services.settings().deployments_dir,
        )
    except CurrencyChoiceError as exc:
        return None, exc
    form.chosen = cur
    return cur, None


def show_currency_error(form: Any, error: CurrencyChoiceError) -> None:
    """Put ``error`` under the field it names (after the form's own validation)."""
    field = getattr(form, error.field, form.currency)
    message = sentence(str(error)[:1].upper() + str(error)[1:])
    field.errors = [*field.errors, message]


__all__ = ["offer_currencies", "resolve_currency", "show_currency_error"]
