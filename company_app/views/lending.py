"""The lender's lending pages: deployed models (policy, calibration, performance) and the
deploy form, the application queue with the suggested decisions, and the loan book.

Every action goes through :class:`~hessian_common.lending.desk.LendingDesk` (the app's
``services.desk()``); nothing here talks to the contract directly. An action the contract
would refuse (fund a loan that is not accepted, mark late a loan that is not behind, approve
above the policy's cap) is refused here first, with a message, and nothing is sent. Without a
LoanBook on the chain every page shows how to deploy one (not an error 500).
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from company_app import services
from company_app.charts import predicted_vs_realised_svg, reliability_svg
from company_app.currency import offer_currencies, resolve_currency, show_currency_error
from company_app.forms import ActionForm, ApproveAtForm, DeployPolicyForm, show_errors
from hessian_common.chain.currencies import TUSD_CHOICE
from hessian_common.chain.token import currency_of
from hessian_common.errors import (
    ConfigError,
    DeploymentNotFound,
    HessianError,
    LendingInputError,
)
from hessian_common.format import format_amount as eth
from hessian_common.format import format_bps, sentence, sentences
from hessian_common.lending.application import APPLICATION_FIELDS
from hessian_common.lending.desk import LOAN_ACTIONS
from hessian_common.lending.pricing import PricingPolicy
from hessian_common.web import jobs
from hessian_common.web.paging import page_arg, per_page_arg

bp = Blueprint("lending", __name__, url_prefix="/lending")

JOB_TAG = "lending"

NOTHING_SENT = "Nothing was sent."

# PricingPolicy field (and LendingDesk error key) -> the deploy form's field.
POLICY_FIELD = {
    "required_return": "required_return_pct",
    "recovery_rate": "recovery_rate_pct",
    "max_pd": "max_pd_pct",
    "min_apr_bps": "min_apr_pct",
    "max_apr_bps": "max_apr_pct",
    "step_bps": "step_bps",
    "currency": "currency",
    "min_amount": "min_amount",
    "max_amount": "max_amount",
    "terms": "terms",
}


@bp.errorhandler(DeploymentNotFound)
def _no_loanbook(exc: DeploymentNotFound):
    """No LoanBook (or no repository) recorded for this chain: say how to get one."""
    return render_template("lending_missing.html", error=str(exc)), 503


# --- helpers ------------------------------------------------------------------------------


def _app():
    """The real app object (a background job outlives the request's ``current_app``)."""
    return current_app._get_current_object()


def _checked() -> bool:
    """The CSRF check of a one-button action (CSRFProtect already refused a bad token)."""
    return ActionForm().validate_on_submit()


def deploy_form(model_id: int) -> DeployPolicyForm:
    """The deploy form of one model; prefixed so several fit on one page. Its currency
    defaults to the dev chain's TestUSD when one is recorded, else ETH."""
    form = DeployPolicyForm(prefix=f"m{model_id}")
    offer_currencies(form, prefer=TUSD_CHOICE)
    return form


def policy_from_form(form: DeployPolicyForm) -> PricingPolicy:
    """A :class:`PricingPolicy` from a validated form (percent -> fraction / basis points;
    amounts in whole units of the chosen currency, whose symbol and decimals the desk sets)."""
    return PricingPolicy(
        required_return=float(form.required_return_pct.data / 100),
        recovery_rate=float(form.recovery_rate_pct.data / 100),
        max_pd=float(form.max_pd_pct.data / 100),
        min_apr_bps=int(form.min_apr_pct.data * 100),
        max_apr_bps=int(form.max_apr_pct.data * 100),
        step_bps=int(form.step_bps.data),
        min_amount=float(form.min_amount.data),
        max_amount=float(form.max_amount.data),
        terms=tuple(sorted(int(t) for t in form.terms.data)),
    )


def _summaries() -> dict[int, Any]:
    """The lender's models (ModelSummary) by id."""
    return {m.model_id: m for m in services.lender().models()}


def deployable(desk: Any, models: dict[int, Any]) -> list[Any]:
    """Closed models of ours with no deployment on the LoanBook yet."""
    out = []
    for m in models.values():
        if m.status == "open":
            continue
        if desk.book.deployment(m.model_id) is None:
            out.append(m)
    return out


def deployment_state(model_id: int) -> Any:
    """For the model page: the model's ``DeploymentInfo``, ``None`` when not deployed, or
    ``False`` when lending is unavailable (no LoanBook, chain trouble): never raises."""
    try:
        return services.loanbook().deployment(model_id)
    except HessianError:
        return False


def _recent(job, seconds: float = 600.0) -> bool:
    return job.finished is not None and time.time() - job.finished < seconds


# --- deployed models ----------------------------------------------------------------------


@bp.get("/")
def index():
    """Deployed models (policy, calibration with its reliability chart, performance by grade
    and PD bucket) and a deploy form for each closed model not deployed yet."""
    desk = services.desk()
    models = _summaries()
    deployed = desk.deployed()
    calibration_charts = {
        dm.model_id: reliability_svg(
            dm.calibration.raw.bins, dm.calibration.calibrated.bins, dm.calibration.chosen
        )
        for dm in deployed
    }
    performance = {dm.model_id: desk.performance(dm.model_id) for dm in deployed}
    perf_charts = {
        mid: predicted_vs_realised_svg(
            [g.label for g in p.by_grade],
            [g.mean_pd for g in p.by_grade],
            [g.default_rate for g in p.by_grade],
        )
        for mid, p in performance.items()
        if p.by_grade
    }
    forms = {m.model_id: deploy_form(m.model_id) for m in deployable(desk, models)}
    return render_template(
        "lending_index.html",
        deployed=deployed,
        models=models,
        calibration_charts=calibration_charts,
        performance=performance,
        perf_charts=perf_charts,
        forms=forms,
        book=desk.book,
    )


@bp.route("/deploy/<int:model_id>", methods=["GET", "POST"])
def deploy(model_id: int):
    """The deploy form of one model; a valid POST calibrates and deploys it."""
    desk = services.desk()
    models = _summaries()
    m = models.get(model_id)
    if m is None:
        abort(404, description=f"model #{model_id} is not one of this lender's models")
    if desk.book.deployment(model_id) is not None:
        flash(f"Model #{model_id} is already deployed for lending.", "info")
        return redirect(url_for("lending.index"))
    form = deploy_form(model_id)
    if m.status == "open":
        form.form_errors.append(
            f"Model #{model_id} is still open for training: close it first (model page)."
        )
    elif form.is_submitted():
        _deploy_submitted(desk, model_id, form)
        if not form.errors and not form.form_errors:
            return redirect(url_for("lending.index"))
    status = 400 if form.is_submitted() or form.form_errors else 200
    return render_template("lending_deploy.html", m=m, form=form), status


def _deploy_submitted(desk: Any, model_id: int, form: DeployPolicyForm) -> None:
    """Check the currency on chain and the form, then deploy; every refusal is shown on the
    form (nothing sent)."""
    currency, currency_error = resolve_currency(form)
    valid = form.validate_on_submit()
    if currency_error is not None:
        show_currency_error(form, currency_error)
    elif valid:
        policy = policy_from_form(form)
        errors = policy.errors()
        if errors:
            show_errors(form, errors, POLICY_FIELD)
        else:
            try:
                dm = desk.deploy(model_id, policy, currency=currency)
            except LendingInputError as exc:
                show_errors(form, exc.errors or {"model": str(exc)}, POLICY_FIELD)
            else:
                chosen = dm.calibration.chosen
                flash(
                    f"Model #{model_id} is deployed for lending in {dm.currency.symbol} "
                    f"(calibration: {chosen}); borrowers can now apply.",
                    "success",
                )


# --- applications -------------------------------------------------------------------------


@bp.get("/applications")
def applications():
    """Pending applications with score, grade and the suggested decision; decided ones below."""
    active = jobs().active(kind=JOB_TAG)  # before the chain reads (see models.show)
    recent = [j for j in jobs().list(kind=JOB_TAG)[:5] if _recent(j)]
    desk = services.desk()
    pending_page = desk.applications_page("pending", page_arg(), per_page_arg())
    decided_page = desk.applications_page("decided", page_arg("decided_page"), per_page_arg())
    pending, decided = pending_page.items, decided_page.items
    caps = {dm.model_id: dm.policy for dm in desk.deployed()}  # APR bounds
    return render_template(
        "lending_applications.html",
        pending=pending,
        decided=decided,
        pending_page=pending_page,
        decided_page=decided_page,
        caps=caps,
        installments=suggested_installments(pending),
        labels={f.name: f.label for f in APPLICATION_FIELDS},
        form=ActionForm(),
        approve_form=ApproveAtForm(),
        active_jobs=active,
        recent_jobs=recent,
        book=desk.book,
    )


def suggested_installments(pending: list) -> dict[int, int]:
    """Loan id -> the instalment (wei) the suggested offer would fix on chain
    (:attr:`ApplicationView.suggested_installment`)."""
    return {
        a.loan.loan_id: a.suggested_installment
        for a in pending
        if a.suggested_installment is not None
    }


def _back():
    return redirect(url_for("lending.applications"))


def _refused(loan_id: int, exc: LendingInputError) -> None:
    detail = " ".join(map(sentence, exc.errors.values())) if exc.errors else str(exc)
    flash(sentences(f"Application #{loan_id}: {detail}", NOTHING_SENT), "error")


def _decide(loan_id: int, **how: Any):
    """Decide a pending application (``how``: ``approve``, ``apr_bps``) and say what
    happened; a refused decision sends nothing."""
    desk = services.desk()
    if desk.pending_application(loan_id) is None:
        flash(f"Application #{loan_id} is not waiting for a decision. Nothing was sent.", "error")
        return _back()
    try:
        view = desk.decide(loan_id, **how)
    except LendingInputError as exc:
        _refused(loan_id, exc)
    else:
        flash(_decided_message(view), "success")
    return _back()


@bp.post("/applications/<int:loan_id>/suggested")
def decide_suggested(loan_id: int):
    """Decide one application as the desk suggests (approve at the quote, or decline)."""
    _checked()
    return _decide(loan_id)


@bp.post("/applications/<int:loan_id>/decline")
def decline(loan_id: int):
    """Decline one application (the PD is recorded on chain)."""
    _checked()
    return _decide(loan_id, approve=False)


@bp.post("/applications/<int:loan_id>/approve")
def approve_at(loan_id: int):
    """Approve one application at the lender's APR, within the policy's APR range."""
    form = ApproveAtForm()
    desk = services.desk()
    if desk.pending_application(loan_id) is None:
        flash(f"Application #{loan_id} is not waiting for a decision. Nothing was sent.", "error")
        return _back()
    if not form.validate_on_submit():
        errors = " ".join(sentence(e) for errs in form.errors.values() for e in errs)
        flash(
            sentences(f"Application #{loan_id}: the APR is refused. {errors}", NOTHING_SENT),
            "error",
        )
        return _back()
    # the policy's APR range is the desk's rule (LendingDesk.decide), refused there
    return _decide(loan_id, approve=True, apr_bps=int(form.apr_pct.data * 100))


def _decided_message(view: Any) -> str:
    loan = view.loan
    if loan.status.name == "OFFERED":
        return (
            f"Application #{loan.loan_id} approved at {format_bps(loan.apr_bps)} APR: "
            f"offer of {eth(loan.principal, view.currency)} over {loan.term_months} "
            "months sent."
        )
    return f"Application #{loan.loan_id} declined."


def _decide_all(progress, desk: Any) -> str:
    views = desk.decide_all_pending(progress=progress)
    approved = sum(1 for v in views if v.loan.status.name == "OFFERED")
    return f"{len(views)} decided: {approved} approved, {len(views) - approved} declined"


@bp.post("/applications/decide-all")
def decide_all():
    """Decide every pending application as suggested, in the background."""
    _checked()
    desk = services.desk()
    if jobs().active(kind=JOB_TAG):
        flash("Applications are already being decided.", "warning")
        return _back()
    pending = desk.applications(status="pending")
    if not pending:
        flash("No application is pending.", "info")
        return _back()
    jobs().submit(
        f"Decide {len(pending)} pending application(s) as suggested",
        _decide_all,
        desk,
        tags={"kind": JOB_TAG},
    )
    return _back()


# --- loans --------------------------------------------------------------------------------


@bp.get("/loans")
def loans():
    """The loan book: status, amounts, repayments, next due, lateness; the actions the
    contract allows now; realised vs predicted default rates; repayments to withdraw."""
    desk = services.desk()
    page = desk.loan_book_page(page_arg(), per_page_arg())
    book = page.items
    performance = desk.performance()
    totals = desk.totals()
    return render_template(
        "lending_loans.html",
        loans=book,
        loans_page=page,
        performance=performance,
        totals=totals,
        perf_currency=_one_currency(totals),
        chain_now=desk.book.client.block_timestamp(),
        form=ActionForm(),
        book=desk.book,
    )


@bp.post("/loans/<int:loan_id>/<action>")
def loan_action(loan_id: int, action: str):
    """Fund, mark late, mark default or cancel one loan, when the contract allows it now
    (the desk's rule, :meth:`LendingDesk.act`)."""
    if action not in LOAN_ACTIONS:
        abort(404)
    _checked()
    desk = services.desk()
    view = desk.loan_view(loan_id)
    if view is None:
        abort(404, description=f"loan #{loan_id} is not in this lender's book")
    try:
        desk.act(loan_id, action)
    except LendingInputError as exc:
        detail = " ".join(map(sentence, exc.errors.values())) if exc.errors else str(exc)
        if not detail.startswith(f"Loan #{loan_id} "):
            detail = f"Loan #{loan_id}: {detail}"
        flash(sentences(detail, NOTHING_SENT), "error")
    else:
        flash(_done_message(action, view), "success")
    return redirect(url_for("lending.loans"))


def _done_message(action: str, view: Any) -> str:
    loan_id = view.loan.loan_id
    return {
        "fund": f"Loan #{loan_id} funded: {eth(view.loan.principal, view.currency)} sent.",
        "mark-late": f"Loan #{loan_id} is marked late.",
        "mark-default": f"Loan #{loan_id} is marked in default.",
        "cancel": f"The offer of loan #{loan_id} is cancelled.",
    }[action]


def _one_currency(totals: list) -> Any:
    """The one currency the lender's loans are in (the performance table's money columns), or
    None when they are in several (their sums would add different currencies)."""
    used = [t.currency for t in totals if t.lent or t.received or t.outstanding]
    return used[0] if len(used) == 1 else None


@bp.post("/withdraw")
def withdraw():
    """Withdraw the repayments the LoanBook holds for the lender."""
    _checked()
    desk = services.desk()
    try:
        cur = currency_of(desk.book.client, request.form.get("currency") or None, strict=False)
    except ConfigError as exc:
        flash(sentences(str(exc), NOTHING_SENT), "error")
        return redirect(request.referrer or url_for("lending.loans"))
    amount = desk.withdraw(cur)
    flash(f"Withdrew {eth(amount, cur)} of repayments to your account.", "success")
    return redirect(request.referrer or url_for("lending.loans"))
