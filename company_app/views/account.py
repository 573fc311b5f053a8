"""The lender's Ethereum account: address, balances in every currency in use, what the
contracts owe it per currency, withdraw one currency at a time."""

from __future__ import annotations

import contextlib

from flask import Blueprint, flash, redirect, render_template, request, url_for

from company_app import services
from company_app.forms import ActionForm
from hessian_common.chain.currencies import account_money, withdraw_credit
from hessian_common.chain.token import currency_of
from hessian_common.errors import ConfigError, HessianError
from hessian_common.format import format_amount as eth
from hessian_common.format import sentences

bp = Blueprint("account", __name__, url_prefix="/account")

SOURCES = ("repository", "loanbook")


def _book():
    """The LoanBook, or None when lending is not available on this chain."""
    try:
        return services.loanbook()
    except HessianError:
        return None


def money(lender, book) -> object:
    """The lender's balances (ETH, HSN, TestUSD, its models' and deployments' currencies)
    and credits at the repository and the LoanBook."""
    extra = [m.currency for m in lender.models()]
    if book is not None:
        with contextlib.suppress(HessianError):
            extra += services.desk().currencies()
    return account_money(
        lender.repo.client,
        lender.address,
        repo=lender.repo,
        book=book,
        extra=extra,
        deployments_dir=services.settings().deployments_dir,
    )


@bp.get("/")
def show():
    """Address, balances, withdrawable credit per currency, keystore location."""
    lender = services.lender()
    return render_template(
        "account.html",
        account=lender.account_summary(),
        money=money(lender, _book()),
        form=ActionForm(),
    )


@bp.post("/withdraw")
def withdraw():
    """Withdraw the lender's credit in one currency from one contract (the repository's
    reclaimed bounties by default, or the LoanBook's repayments)."""
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("account.show"))
    lender = services.lender()
    source = request.form.get("source") or "repository"
    wrapper = lender.repo if source == "repository" else _book()
    try:
        if source not in SOURCES or wrapper is None:
            raise ConfigError(f"nothing to withdraw from {source!r}")
        cur = currency_of(lender.repo.client, request.form.get("currency") or None, strict=False)
    except ConfigError as exc:
        flash(sentences(str(exc), "Nothing was sent."), "error")
        return redirect(url_for("account.show"))
    amount = withdraw_credit(wrapper, cur)
    if not amount:
        flash(f"Nothing to withdraw in {cur.symbol}. Nothing was sent.", "info")
    else:
        flash(f"Withdrew {eth(amount, cur)} to your account.", "success")
    return redirect(url_for("account.show"))
