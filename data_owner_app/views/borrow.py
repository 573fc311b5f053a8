"""Borrow: apply to a lender's deployed credit model, follow the loan, accept, withdraw, repay.

The borrower's pages live in the data-owner app (one local app per person, holding their key,
their journal and CSRF-protected forms; a member of the public may share data and borrow).
Everything goes through :mod:`hessian_common.lending.borrower` and the ``LoanBook`` contract
signing as this app's account (:attr:`OwnerServices.loanbook`).

Pages (blueprint ``borrow``, prefix ``/borrow``):

- ``GET /borrow/``: lenders with a deployed model (policy summary, "Apply"), my loans, the
  LoanBook balance waiting to be withdrawn.
- ``GET/POST /borrow/apply/<model_id>``: the application form (fields from
  ``APPLICATION_FIELDS``). Bad input re-renders the form with per-field messages; nothing is
  stored or sent. A good application is sealed to the lender's key, put on the store and sent
  (``apply`` on chain); then the loan's page. A well-formed application is kept as a draft
  (0600, in the owner's state directory) until it is on chain, so a chain or store outage
  loses nothing: the form comes back filled in. ``POST /borrow/apply/<model_id>/discard`` deletes
  the draft.
- ``GET /borrow/loans`` and ``GET /borrow/loans/<id>``: status, the offer, the PD the lender
  recorded, the repayment schedule, and the buttons ``POST .../accept``, ``.../cancel``,
  ``.../repay`` (next instalment), ``.../repay-all``; ``POST /borrow/withdraw`` pulls the funded
  principal (and anything else the LoanBook owes this account).

No LoanBook on this chain -> a page that says so (status 503), not an error trace.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from data_owner_app.forms import ActionForm, form_ok
from data_owner_app.services import services
from data_owner_app.views.applying import ApplicationPage, application_page
from hessian_common.chain.token import currency_of
from hessian_common.errors import (
    ConfigError,
    DeploymentNotFound,
    LendingInputError,
)
from hessian_common.format import format_amount, sentence
from hessian_common.lending import borrower
from hessian_common.lending.application import APPLICATION_FIELDS, parse_application

bp = Blueprint("borrow", __name__, url_prefix="/borrow")


STATUS_LABELS = {
    "APPLIED": "Applied — waiting for the lender",
    "OFFERED": "Offered — accept before it expires",
    "DECLINED": "Declined",
    "ACCEPTED": "Accepted — waiting for funding",
    "FUNDED": "Funded — repaying",
    "REPAID": "Repaid",
    "DEFAULTED": "Defaulted",
    "CANCELLED": "Cancelled",
}
STATUS_BADGES = {
    "APPLIED": "waiting",
    "OFFERED": "warn",
    "DECLINED": "rejected",
    "ACCEPTED": "waiting",
    "FUNDED": "open",
    "REPAID": "accepted",
    "DEFAULTED": "bad",
    "CANCELLED": "closed",
}


@bp.errorhandler(DeploymentNotFound)
def _no_loanbook(exc: DeploymentNotFound):
    return render_template("borrow_unavailable.html", reason=str(exc)), 503


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"loan_status_label": STATUS_LABELS, "loan_status_badge": STATUS_BADGES}


# ---------------------------------------------------------------------- pages
@bp.get("/")
def index():
    """Lenders to apply to, my loans, the balance to withdraw."""
    svc = services()
    book = svc.loanbook
    offers = borrower.lenders(book, svc.store)
    loans = borrower.my_loans(book, svc.address, state_dir=svc.borrow_dir)
    return render_template(
        "borrow_index.html",
        offers=offers,
        names=_names([*offers, *loans]),
        loans=loans,
        pending=borrower.credits(book, svc.address, [i.currency for i in (*offers, *loans)]),
        form=ActionForm(),
    )


LOAN_FORM = ApplicationPage(
    product=borrower,
    offer=borrower.lender_offer,
    book="loanbook",
    state_dir="borrow_dir",
    refused=LendingInputError,
    fields=APPLICATION_FIELDS,
    parse=parse_application,
    template="borrow_apply.html",
    item="loan",
    endpoint="borrow.loan",
    sent="sealed to the lender's key; the chain holds only its digest.",
    form_kw=lambda offer: {"policy": offer.policy.to_dict() if offer.policy is not None else {}},
)


@bp.route("/apply/<int:model_id>", methods=["GET", "POST"])
def apply(model_id: int):
    """The application form; a good one is sealed, stored, sent, then its loan page.

    A well-formed application is kept as a draft until it is on chain: if the chain or the
    store is down, nothing is sent, the page says so (503) and the form comes back filled in
    (now, or on the next visit). A refused application leaves no draft
    (:func:`~data_owner_app.views.applying.application_page`).
    """
    return application_page(LOAN_FORM, model_id)


@bp.post("/apply/<int:model_id>/discard")
def discard_draft(model_id: int):
    """Forget the unsent answers kept for this lender's form."""
    if form_ok():
        borrower.discard_draft(services().borrow_dir, model_id)
        flash("Your unsent answers were deleted from this machine.", "success")
    return redirect(url_for("borrow.apply", model_id=model_id))


@bp.get("/loans")
def loans():
    """All my loans."""
    svc = services()
    book = svc.loanbook
    mine = borrower.my_loans(book, svc.address, state_dir=svc.borrow_dir)
    return render_template(
        "borrow_loans.html",
        loans=mine,
        names=_names(mine),
        pending=borrower.credits(book, svc.address, [i.currency for i in mine]),
        form=ActionForm(),
    )


@bp.get("/loans/<int:loan_id>")
def loan(loan_id: int):
    """One loan: status, offer, PD, schedule and the actions its status allows."""
    svc = services()
    book = svc.loanbook
    view = _my_loan(loan_id)

    return render_template(
        "borrow_loan.html",
        loan=view,
        name=_names([view]).get(view.loan.model_id),
        labels={f.name: f.label for f in APPLICATION_FIELDS},
        info=view.loan,
        schedule=borrower.repayment_schedule(
            view.loan, book.payment_period, book.paid_off(loan_id)
        ),
        payoff=borrower.payoff_quote(book, loan_id) if view.loan.outstanding else 0,
        pending=borrower.credits(book, svc.address, [view.currency]),
        chain_now=book.client.block_timestamp(),  # the contract's clock, not this machine's
        form=ActionForm(),
    )


# ---------------------------------------------------------------------- actions
@bp.post("/loans/<int:loan_id>/accept")
def accept(loan_id: int):
    """Accept the lender's offer (before it expires)."""
    if not form_ok():
        return redirect(url_for("borrow.loan", loan_id=loan_id))
    _my_loan(loan_id)
    borrower.accept(services().loanbook, loan_id)
    flash(f"Offer accepted for loan #{loan_id}; the lender funds it next.", "success")
    return redirect(url_for("borrow.loan", loan_id=loan_id))


@bp.post("/loans/<int:loan_id>/cancel")
def cancel(loan_id: int):
    """Withdraw the application or decline the offer (before funding)."""
    if not form_ok():
        return redirect(url_for("borrow.loan", loan_id=loan_id))
    _my_loan(loan_id)
    borrower.cancel(services().loanbook, loan_id)
    flash(f"Loan #{loan_id} cancelled.", "success")
    return redirect(url_for("borrow.loan", loan_id=loan_id))


@bp.post("/loans/<int:loan_id>/repay")
def repay(loan_id: int):
    """Pay the next instalment (capped at what is outstanding)."""
    if not form_ok():
        return redirect(url_for("borrow.loan", loan_id=loan_id))
    _my_loan(loan_id)
    borrower.repay(services().loanbook, loan_id)
    flash(f"Instalment paid on loan #{loan_id}.", "success")
    return redirect(url_for("borrow.loan", loan_id=loan_id))


@bp.post("/loans/<int:loan_id>/repay-all")
def repay_all(loan_id: int):
    """Pay the loan off: the principal left, the interest accrued to date and any arrears
    (the contract's payoff; never the interest of future months)."""
    if not form_ok():
        return redirect(url_for("borrow.loan", loan_id=loan_id))
    _my_loan(loan_id)
    book = services().loanbook
    borrower.repay_all(book, loan_id)
    info = book.loan(loan_id)
    flash(
        f"Loan #{loan_id} paid off ({info.repaid / 10**18:.6f} ETH repaid in all); any margin "
        "sent beyond the payoff is yours to withdraw.",
        "success",
    )
    return redirect(url_for("borrow.loan", loan_id=loan_id))


@bp.post("/withdraw")
def withdraw():
    """Pull what the LoanBook owes this account (the funded principal) to the wallet."""
    if not form_ok():
        return redirect(url_for("borrow.index"))
    book = services().loanbook
    try:
        cur = currency_of(book.client, request.form.get("currency") or None, strict=False)
    except ConfigError as exc:
        flash(f"{sentence(str(exc))} Nothing was sent.", "error")
        return redirect(url_for("borrow.index"))
    amount = borrower.withdraw(book, cur)
    if not amount:
        flash(f"Nothing to withdraw in {cur.symbol}. Nothing was sent.", "info")
    else:
        flash(
            f"Withdrew {format_amount(amount, cur)} from the LoanBook to your account.",
            "success",
        )
    return redirect(url_for("borrow.index"))


# ---------------------------------------------------------------------- helpers
def _my_loan(loan_id: int) -> Any:
    """This account's loan ``loan_id`` (as ``borrower.my_loans`` shows it), or 404."""
    svc = services()
    for item in borrower.my_loans(svc.loanbook, svc.address, state_dir=svc.borrow_dir):
        if item.loan_id == loan_id:
            return item
    abort(404, description=f"Loan #{loan_id} is not one of this account's loans.")


def _names(items: list) -> dict[int, str]:
    """Task names of the models of ``items`` (offers or loans), as every page reads them
    (:meth:`~data_owner_app.services.OwnerServices.model_names`: cached, also while the chain
    is down; a model whose spec cannot be read is left out and shown by its id)."""
    return services().model_names(
        {int(getattr(i, "model_id", None) or i.loan.model_id) for i in items}
    )
