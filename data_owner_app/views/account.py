"""Overview: the owner's account, balance, rewards owed, withdraw and claim buttons."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for

from data_owner_app.forms import ActionForm
from data_owner_app.services import services
from hessian_common import owner
from hessian_common.errors import ChainUnavailable, DataError
from hessian_common.format import format_amount, sentence

bp = Blueprint("account", __name__)


@bp.get("/")
def overview():
    """Account card, models you can contribute to, your latest submissions.

    While the chain does not answer, the balances and models are the last known ones (the
    page says so) and the submissions show their last known status.
    """
    svc = services()
    summary, models, chain_error, repo = None, [], None, None
    try:
        repo = svc.repo
        summary = owner.account_summary(repo, svc.address)
        models = owner.list_open_models(repo, svc.store)
    except ChainUnavailable as exc:
        chain_error = str(exc)
    subs = owner.my_submissions(
        svc.journal, repo if chain_error is None else None, svc.address, svc.status_cache
    )
    claimable = [s for s in subs if s.claimable and not s.last_known]
    forfeitable = [s for s in subs if s.forfeitable and not s.last_known]
    names = svc.model_names({s.entry.model_id for s in subs})
    names.update({m.model_id: m.name for m in models})
    return render_template(
        "overview.html",
        summary=summary,
        address=svc.address,
        account_kind=svc.account_kind,
        models=models,
        subs=subs[:5],
        claimable=claimable,
        forfeitable=forfeitable,
        names=names,
        n_subs=len(subs),
        chain_error=chain_error,
        form=ActionForm(),
    )


@bp.post("/withdraw")
def withdraw():
    """Withdraw everything the contract owes this owner."""
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(url_for("account.overview"))
    amount = owner.withdraw(services().repo)
    flash(f"Withdrew {format_amount(amount)} to your account.", "success")
    return redirect(url_for("account.overview"))


@bp.post("/claim/<int:update_id>")
def claim(update_id: int):
    """Claim an EQUAL / PRO_RATA_GAIN share of a closed model (then withdraw it)."""
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(url_for("account.overview"))
    try:
        amount = owner.claim_share(services().repo, update_id)
    except DataError as exc:
        flash(sentence(str(exc)), "error")
        return redirect(url_for("account.overview"))
    flash(
        f"Claimed {format_amount(amount)} for update #{update_id}; withdraw it below.",
        "success",
    )
    return redirect(url_for("account.overview"))


@bp.post("/claim-forfeit/<int:update_id>")
def claim_forfeit(update_id: int):
    """Claim this submission's share of a bounty the lender forfeited (no reveal in time)."""
    form = ActionForm()
    if not form.validate_on_submit():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(url_for("account.overview"))
    try:
        amount = owner.claim_forfeit(services().repo, update_id)
    except DataError as exc:
        flash(sentence(str(exc)), "error")
        return redirect(url_for("account.overview"))
    flash(
        f"Claimed {format_amount(amount)} of the forfeited bounty for update #{update_id}; "
        "withdraw it below.",
        "success",
    )
    return redirect(url_for("account.overview"))
