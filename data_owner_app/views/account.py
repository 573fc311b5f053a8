"""Overview: the owner's account, balance, rewards owed, withdraw and claim buttons."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from data_owner_app.forms import ActionForm, form_ok
from data_owner_app.services import services
from hessian_common import owner
from hessian_common.chain.token import currency_of
from hessian_common.errors import ChainUnavailable, ConfigError, DataError, DeploymentNotFound
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
        models = owner.list_open_models(repo, svc.store)
        summary = owner.account_summary(
            repo,
            svc.address,
            [m.currency for m in models],
            book=_loanbook(svc),
            deployments_dir=svc.settings.deployments_dir,
        )
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


def _loanbook(svc):
    """The LoanBook (its credits are shown too), or None where lending is not deployed."""
    try:
        return svc.loanbook
    except (DeploymentNotFound, ConfigError):
        return None


@bp.post("/withdraw")
def withdraw():
    """Withdraw everything the contract owes this owner in one currency (the form's
    ``currency``: ``eth`` or a token's address; ether by default)."""
    if not form_ok():
        return redirect(url_for("account.overview"))
    repo = services().repo
    try:
        cur = currency_of(repo.client, request.form.get("currency") or None, strict=False)
        amount = owner.withdraw(repo, cur)
    except (ConfigError, DataError) as exc:
        flash(sentence(str(exc)), "error")
        return redirect(url_for("account.overview"))
    flash(f"Withdrew {format_amount(amount, cur)} to your account.", "success")
    return redirect(url_for("account.overview"))


@bp.post("/claim/<int:update_id>")
def claim(update_id: int):
    """Claim an EQUAL / PRO_RATA_GAIN share of a closed model (then withdraw it)."""
    if not form_ok():
        return redirect(url_for("account.overview"))
    try:
        amount = owner.claim_share(services().repo, update_id)
    except DataError as exc:
        flash(sentence(str(exc)), "error")
        return redirect(url_for("account.overview"))
    cur = _currency_of_update(update_id)
    flash(
        f"Claimed {format_amount(amount, cur)} for update #{update_id}; withdraw it below.",
        "success",
    )
    return redirect(url_for("account.overview"))


@bp.post("/claim-forfeit/<int:update_id>")
def claim_forfeit(update_id: int):
    """Claim this submission's share of a bounty the lender forfeited (no reveal in time)."""
    if not form_ok():
        return redirect(url_for("account.overview"))
    try:
        amount = owner.claim_forfeit(services().repo, update_id)
    except DataError as exc:
        flash(sentence(str(exc)), "error")
        return redirect(url_for("account.overview"))
    cur = _currency_of_update(update_id)
    flash(
        f"Claimed {format_amount(amount, cur)} of the forfeited bounty for update #{update_id}; "
        "withdraw it below.",
        "success",
    )
    return redirect(url_for("account.overview"))


def _currency_of_update(update_id: int):
    """The currency of the model ``update_id`` was submitted to (what its claim is paid in)."""
    repo = services().repo
    return repo.model_currency(repo.submission(update_id).model_id)
