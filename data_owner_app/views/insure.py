"""Insure: buy a motor policy from an insurer's deployed claims model, claim, get paid.

The customer's pages live in the data-owner app next to *Borrow* (one local app per person,
holding their key and CSRF-protected forms). Everything goes through
:mod:`hessian_common.insurance.customer` and the ``PolicyBook`` signing as this app's account
(:attr:`OwnerServices.policybook`).

Pages (blueprint ``insure``, prefix ``/insure``):

- ``GET /insure/``: insurers (their public policy document: pricing rule, what they cover),
  my policies, the balance to withdraw (paid claims, refunds).
- ``GET/POST /insure/apply/<model_id>``: the insurance application form. Bad input
  re-renders the form with per-field messages and sends nothing; a well-formed application
  is kept as a draft until it is on chain (a chain or store outage loses nothing: the form
  comes back filled in). A good one is sealed to the insurer's key, stored and sent; then
  the policy's page.
- ``GET /insure/policies/<id>``: status, the quote (premium, cover, deductible, expiry), the
  claim probability the insurer recorded, claims; ``POST .../accept`` pays the premium,
  ``.../cancel``, ``.../claim`` files a claim (amount in dollars, an evidence file or CID),
  ``POST /insure/claims/<id>/settle`` pays a claim the insurer left past its window;
  ``POST /insure/withdraw``.

No PolicyBook on this chain -> a page that says so (503).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from data_owner_app.forms import ActionForm, form_ok
from data_owner_app.services import services
from data_owner_app.views.applying import ApplicationPage, application_page
from hessian_common.errors import (
    DeploymentNotFound,
    HessianError,
    InsuranceInputError,
)
from hessian_common.format import format_amount
from hessian_common.insurance import customer
from hessian_common.insurance.application import APPLICATION_FIELDS, parse_application

bp = Blueprint("insure", __name__, url_prefix="/insure")

STATUS_LABELS = {
    "APPLIED": "Applied — waiting for the insurer's quote",
    "QUOTED": "Quoted — pay the premium before it expires",
    "DECLINED": "Declined",
    "ACTIVE": "Insured",
    "EXPIRED": "Expired",
    "CANCELLED": "Cancelled",
}


@bp.errorhandler(DeploymentNotFound)
def _no_policybook(exc: DeploymentNotFound):
    return render_template("insure_unavailable.html", reason=str(exc)), 503


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"policy_status_label": STATUS_LABELS}


@bp.get("/")
def index():
    """Insurers, my policies, the balance to withdraw."""
    svc = services()
    book = svc.policybook
    offers = customer.insurers(book, svc.store)
    mine = customer.my_policies(book, svc.address, state_dir=svc.insure_dir)
    return render_template(
        "insure_index.html",
        offers=offers,
        names=svc.model_names({o.model_id for o in offers} | {p.policy.model_id for p in mine}),
        policies=mine,
        pending=book.pending(svc.address),
        form=ActionForm(),
    )


POLICY_FORM = ApplicationPage(
    product=customer,
    offer=customer.insurer_offer,
    book="policybook",
    state_dir="insure_dir",
    refused=InsuranceInputError,
    fields=APPLICATION_FIELDS,
    parse=parse_application,
    template="insure_apply.html",
    item="policy",
    endpoint="insure.policy",
    sent="sealed to the insurer's key; the chain holds only its digest, the cover and the term.",
)


@bp.route("/apply/<int:model_id>", methods=["GET", "POST"])
def apply(model_id: int):
    """The insurance application form; a good one is sealed, stored and sent
    (:func:`~data_owner_app.views.applying.application_page`)."""
    return application_page(POLICY_FORM, model_id)


@bp.post("/apply/<int:model_id>/discard")
def discard_draft(model_id: int):
    """Forget the unsent answers kept for this insurer's form."""
    if form_ok():
        customer.discard_draft(services().insure_dir, model_id)
        flash("Your unsent answers were deleted from this machine.", "success")
    return redirect(url_for("insure.apply", model_id=model_id))


def _mine(policy_id: int) -> Any:
    svc = services()
    try:
        return customer.my_policy(svc.policybook, policy_id, svc.insure_dir)
    except InsuranceInputError:
        abort(404, description=f"Policy #{policy_id} is not one of this account's policies.")


def _offer_policy(model_id: int) -> Any:
    """The insurer's pricing policy of ``model_id`` (None if its document cannot be read)."""
    svc = services()
    try:
        return customer.insurer_offer(svc.policybook, svc.store, model_id).policy
    except HessianError:
        return None


@bp.get("/policies/<int:policy_id>")
def policy(policy_id: int, claim_errors: dict[str, str] | None = None, status: int = 200):
    """One policy: status, quote, claims, and the actions its status allows."""
    mine = _mine(policy_id)
    svc = services()
    return render_template(
        "insure_policy.html",
        mine=mine,
        info=mine.policy,
        cur=mine.currency,
        pricing=_offer_policy(mine.policy.model_id),
        name=svc.model_names({mine.policy.model_id}).get(mine.policy.model_id),
        labels={f.name: f.label for f in APPLICATION_FIELDS},
        claim_errors=claim_errors or {},
        claim_values=request.form if claim_errors else {},
        pending=svc.policybook.pending(svc.address),
        form=ActionForm(),
    ), status


def _back(policy_id: int):
    return redirect(url_for("insure.policy", policy_id=policy_id))


@bp.post("/policies/<int:policy_id>/accept")
def accept(policy_id: int):
    """Buy the policy: pay the quoted premium (cover starts now)."""
    if form_ok():
        mine = _mine(policy_id)
        try:
            customer.accept(services().policybook, policy_id)
        except InsuranceInputError as exc:
            flash(" ".join(exc.errors.values()) + " Nothing was sent.", "error")
        else:
            flash(
                f"Policy #{policy_id} bought: {format_amount(mine.policy.premium, mine.currency)} "
                "paid; you are covered from now.",
                "success",
            )
    return _back(policy_id)


@bp.post("/policies/<int:policy_id>/cancel")
def cancel(policy_id: int):
    """Withdraw the application or turn down the quote."""
    if form_ok():
        _mine(policy_id)
        try:
            customer.cancel(services().policybook, policy_id)
        except InsuranceInputError as exc:
            flash(" ".join(exc.errors.values()) + " Nothing was sent.", "error")
        else:
            flash(f"Policy #{policy_id} cancelled.", "success")
    return _back(policy_id)


@bp.post("/policies/<int:policy_id>/claim")
def claim(policy_id: int):
    """File a claim: the amount in dollars and the evidence (a file, or its CID)."""
    if not form_ok():
        return _back(policy_id)
    svc = services()
    mine = _mine(policy_id)
    pricing = _offer_policy(mine.policy.model_id)
    errors: dict[str, str] = {}
    units = 0
    if pricing is None:
        errors["policy"] = "the insurer's policy document cannot be read now"
    else:
        try:
            units = customer.claim_units(pricing, mine, request.form.get("amount", ""))
        except InsuranceInputError as exc:
            errors.update(exc.errors)
    upload = request.files.get("evidence_file")
    evidence = upload.read() if upload is not None and upload.filename else None
    cid = request.form.get("evidence_cid", "").strip() or None
    if not errors:
        try:
            claim_id = customer.file_claim(
                svc.policybook, svc.store, policy_id, units, evidence=evidence, evidence_cid=cid
            )
        except InsuranceInputError as exc:
            errors.update(exc.errors)
        else:
            flash(
                f"Claim #{claim_id} filed for {format_amount(units, mine.currency)}; the insurer "
                "has until its window closes to answer, after which it is paid anyway.",
                "success",
            )
            return _back(policy_id)
    if not evidence and not cid:
        errors.setdefault("evidence", "attach a file or give the CID of your evidence")
    return policy(policy_id, claim_errors=errors, status=400)


@bp.post("/claims/<int:claim_id>/settle")
def settle(claim_id: int):
    """Settle (pay) a claim the insurer left unanswered past its window."""
    book = services().policybook
    policy_id = None
    if form_ok():
        try:
            customer.settle(book, claim_id)
            policy_id = book.claim(claim_id).policy_id
        except InsuranceInputError as exc:
            flash(" ".join(exc.errors.values()) + " Nothing was sent.", "error")
        else:
            flash(f"Claim #{claim_id} settled: it is paid to the policyholder.", "success")
    if policy_id is None:
        return redirect(url_for("insure.index"))
    return _back(policy_id)


@bp.post("/withdraw")
def withdraw():
    """Pull paid claims and refunds to this account's wallet."""
    if form_ok():
        amount = customer.withdraw(services().policybook)
        flash(f"Withdrew {format_amount(amount)} from the PolicyBook to your account.", "success")
    return redirect(request.referrer or url_for("insure.index"))
