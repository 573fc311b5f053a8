"""The lender's Ethereum account: address, balance, pending credit, withdraw."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from company_app import services
from company_app.forms import ActionForm
from hessian_common.format import format_amount as eth

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.get("/")
def show():
    """Address, balance, withdrawable credit (reclaimed bounties), keystore location."""
    lender = services.lender()
    return render_template("account.html", account=lender.account_summary(), form=ActionForm())


@bp.post("/withdraw")
def withdraw():
    """Withdraw the lender's pending credit (reclaimed bounty) to its account."""
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form expired; try again.", "error")
        return redirect(url_for("account.show"))
    amount = services.lender().withdraw()
    flash(f"Withdrew {eth(amount)} to your account.", "success")
    return redirect(url_for("account.show"))
