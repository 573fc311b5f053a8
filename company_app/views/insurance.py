"""The insurer's pages: deployed claims models (pricing rule, severity, calibration, capital
pool, predicted vs realised claims) and the deploy form; the quote queue of sealed
applications; the policies; the claims to decide.

Every action goes through :class:`~hessian_common.insurance.underwriting.InsuranceDesk` (the
app's ``services.insurance_desk()``): the rules are the library's. An action it refuses
(quote above the pool's free capital, decide a claim past its window, withdraw reserved
capital) is shown with the reason, and nothing is sent. Without a PolicyBook on the chain every
page says how to deploy one (not an error 500).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from company_app import services
from company_app.charts import predicted_vs_realised_svg, reliability_svg
from company_app.forms import ActionForm, show_errors
from company_app.insurance_forms import AmountForm, DenyForm, InsurancePolicyForm
from hessian_common.chain.policybook import DenialReason
from hessian_common.errors import DeploymentNotFound, HessianError, InsuranceInputError
from hessian_common.format import format_amount, sentence, sentences
from hessian_common.insurance.application import APPLICATION_FIELDS
from hessian_common.insurance.pricing import PricingPolicy

bp = Blueprint("insurance", __name__, url_prefix="/insurance")

NOTHING_SENT = "Nothing was sent."

POLICY_FIELD = {
    "risk_loading": "risk_loading_pct",
    "expense_per_policy": "expense",
    "max_claim_probability": "max_claim_pct",
    "deductibles": "deductibles",
    "coverage_limits": "coverage_limits",
    "terms": "terms",
    "token_price": "dollars_per_token",
    "claims": "claims_file",
}
"""PricingPolicy field (and InsuranceDesk error key) -> the deploy form's field."""


@bp.errorhandler(DeploymentNotFound)
def _no_policybook(exc: DeploymentNotFound):
    """No PolicyBook recorded for this chain: say how to get one."""
    return render_template("insurance_missing.html", error=str(exc)), 503


def _checked() -> bool:
    return ActionForm().validate_on_submit()


def deploy_form(model_id: int) -> InsurancePolicyForm:
    return InsurancePolicyForm(prefix=f"i{model_id}")


def policy_from_form(form: InsurancePolicyForm) -> PricingPolicy:
    """A :class:`PricingPolicy` from a validated form (percent -> fraction)."""
    return PricingPolicy(
        risk_loading=float(form.risk_loading_pct.data / 100),
        expense_per_policy=float(form.expense.data),
        max_claim_probability=float(form.max_claim_pct.data / 100),
        deductibles=tuple(sorted(int(d) for d in form.deductibles.data or ())),
        coverage_limits=tuple(sorted(int(v) for v in form.coverage_limits.data or ())),
        terms=tuple(sorted(int(t) for t in form.terms.data or ())),
        token_price=str(form.dollars_per_token.data.normalize()),
    )


def _claims_models(desk: Any) -> dict[int, Any]:
    """The insurer's models of the ``insurance_claims`` schema (ModelSummary) by id."""
    out = {}
    for m in services.lender().models():
        try:
            record = desk.lender.record(m.model_id)
            schema = desk.lender.books.spec(record.spec_cid).schema_name
        except HessianError:
            continue
        if schema == "insurance_claims":
            out[m.model_id] = m
    return out


def _deployable(desk: Any, models: dict[int, Any]) -> list[Any]:
    return [
        m
        for m in models.values()
        if m.status != "open" and desk.book.deployment(m.model_id) is None
    ]


def _refused(what: str, exc: InsuranceInputError) -> None:
    detail = " ".join(map(sentence, exc.errors.values())) if exc.errors else str(exc)
    flash(sentences(f"{what}: {detail}", NOTHING_SENT), "error")


def to_units(amount: Decimal, decimals: int) -> int:
    """A typed amount of whole tokens (``1.5`` ETH) in base units (rounded down)."""
    return int((Decimal(amount) * (Decimal(10) ** int(decimals))).to_integral_value("ROUND_DOWN"))


# --- deployed models ----------------------------------------------------------------------


@bp.get("/")
def index():
    """Deployed claims models (pricing rule, calibration, pool, performance) and a deploy form
    for each closed claims model not deployed yet."""
    desk = services.insurance_desk()
    models = _claims_models(desk)
    deployed = desk.deployed()
    charts, perf_charts, performance = {}, {}, {}
    for dm in deployed:
        cal = dm.calibration
        charts[dm.model_id] = reliability_svg(cal.raw.bins, cal.calibrated.bins, cal.chosen)
        perf = desk.performance(dm.model_id)
        performance[dm.model_id] = perf
        if perf.bands:
            perf_charts[dm.model_id] = predicted_vs_realised_svg(
                [b.label for b in perf.bands],
                [b.predicted_rate for b in perf.bands],
                [b.realised_rate for b in perf.bands],
            )
    forms = {m.model_id: deploy_form(m.model_id) for m in _deployable(desk, models)}
    return render_template(
        "insurance_index.html",
        deployed=deployed,
        models=models,
        calibration_charts=charts,
        performance=performance,
        perf_charts=perf_charts,
        forms=forms,
        amount_form=AmountForm(),
        pending=desk.book.pending(),
        book=desk.book,
    )


@bp.route("/deploy/<int:model_id>", methods=["GET", "POST"])
def deploy(model_id: int):
    """The deploy form of one claims model; a valid POST calibrates and deploys it."""
    desk = services.insurance_desk()
    models = _claims_models(desk)
    m = models.get(model_id)
    if m is None:
        abort(404, description=f"model #{model_id} is not one of this insurer's claims models")
    if desk.book.deployment(model_id) is not None:
        flash(f"Model #{model_id} is already deployed for insurance.", "info")
        return redirect(url_for("insurance.index"))
    form = deploy_form(model_id)
    if m.status == "open":
        form.form_errors.append(
            f"Model #{model_id} is still open for training: close it first (model page)."
        )
    elif form.validate_on_submit():
        policy = policy_from_form(form)
        errors = policy.errors()
        if errors:
            show_errors(form, errors, POLICY_FIELD)
        else:
            try:
                dm = desk.deploy(model_id, policy, claims=(form.claims_file.data or None))
            except InsuranceInputError as exc:
                show_errors(form, exc.errors or {"model": str(exc)}, POLICY_FIELD)
            else:
                flash(
                    f"Model #{model_id} is deployed for insurance (calibration: "
                    f"{dm.calibration.chosen}). Deposit capital so its policies can be sold.",
                    "success",
                )
                return redirect(url_for("insurance.index") + f"#model-{model_id}")
    status = 400 if form.is_submitted() or form.form_errors else 200
    return render_template("insurance_deploy.html", m=m, form=form), status


@bp.post("/<int:model_id>/capital/<action>")
def capital(model_id: int, action: str):
    """Deposit capital into (or withdraw free capital from) the pool of ``model_id``."""
    if action not in ("deposit", "withdraw"):
        abort(404)
    desk = services.insurance_desk()
    form = AmountForm()
    back = redirect(url_for("insurance.index") + f"#model-{model_id}")
    if not form.validate_on_submit():
        errors = " ".join(sentence(e) for errs in form.errors.values() for e in errs)
        flash(
            sentences(f"Model #{model_id}: the amount is refused. {errors}", NOTHING_SENT), "error"
        )
        return back
    if desk.deployed_model(model_id) is None:
        flash(sentences(f"Model #{model_id} is not deployed by you for insurance", NOTHING_SENT),
              "error")  # fmt: skip
        return back
    try:
        currency = desk.currency(model_id)
        units = to_units(form.amount.data, currency.decimals)
        if action == "deposit":
            desk.deposit(model_id, units)
            flash(f"Deposited {format_amount(units, currency)} into the pool.", "success")
        else:
            desk.withdraw_capital(model_id, units)
            got = desk.withdraw(model_id)
            flash(f"Withdrew {format_amount(got, currency)} of free capital.", "success")
    except InsuranceInputError as exc:
        _refused(f"Model #{model_id}", exc)
    return back


@bp.post("/withdraw")
def withdraw():
    """Withdraw premiums earned and capital released to our pending balance (ether)."""
    _checked()
    amount = services.insurance_desk().withdraw()
    flash(f"Withdrew {format_amount(amount)} to your account.", "success")
    return redirect(request.referrer or url_for("insurance.index"))


# --- applications -------------------------------------------------------------------------


@bp.get("/applications")
def applications():
    """Pending applications with the claim probability and the suggested premium or decline;
    decided ones below."""
    desk = services.insurance_desk()
    every = desk.applications(status="all")
    pending = [a for a in every if a.policy.status.name == "APPLIED"]
    decided = [a for a in every if a.policy.status.name != "APPLIED"]
    currencies = {dm.model_id: dm.currency for dm in desk.deployed()}
    return render_template(
        "insurance_applications.html",
        pending=pending,
        decided=decided,
        currencies=currencies,
        labels={f.name: f.label for f in APPLICATION_FIELDS},
        form=ActionForm(),
        book=desk.book,
    )


def _to_applications():
    return redirect(url_for("insurance.applications"))


def _decide(policy_id: int, approve: bool | None):
    desk = services.insurance_desk()
    try:
        view = desk.decide(policy_id, approve)
    except InsuranceInputError as exc:
        _refused(f"Application #{policy_id}", exc)
        return _to_applications()
    info = view.policy
    if info.status.name == "QUOTED":
        cur = desk.currency(info.model_id)
        flash(
            f"Application #{policy_id} quoted: premium {format_amount(info.premium, cur)} for "
            f"{format_amount(info.coverage_limit, cur)} of cover.",
            "success",
        )
    else:
        flash(f"Application #{policy_id} declined.", "success")
    return _to_applications()


@bp.post("/applications/<int:policy_id>/suggested")
def decide_suggested(policy_id: int):
    """Quote at the desk's premium, or decline, as suggested."""
    _checked()
    return _decide(policy_id, None)


@bp.post("/applications/<int:policy_id>/decline")
def decline(policy_id: int):
    """Decline an application (the claim probability is recorded on chain)."""
    _checked()
    return _decide(policy_id, False)


@bp.post("/applications/decide-all")
def decide_all():
    """Decide every pending application as suggested (those the pool cannot cover wait)."""
    _checked()
    views = services.insurance_desk().decide_all_pending()
    quoted = sum(1 for v in views if v.policy.status.name == "QUOTED")
    flash(f"{len(views)} decided: {quoted} quoted, {len(views) - quoted} declined.", "success")
    return _to_applications()


# --- policies and claims ------------------------------------------------------------------


@bp.get("/policies")
def policies():
    """Bought policies: premium, cover, reserve, claims paid, term."""
    desk = services.insurance_desk()
    currencies = {dm.model_id: dm.currency for dm in desk.deployed()}
    return render_template(
        "insurance_policies.html",
        policies=desk.policies(),
        currencies=currencies,
        chain_now=desk.book.client.block_timestamp(),
        book=desk.book,
    )


@bp.get("/claims")
def claims():
    """Open claims (approve, or deny with a reason, within the window; settle after it) and
    decided ones."""
    desk = services.insurance_desk()
    every = desk.claims(status="all")
    currencies = {dm.model_id: dm.currency for dm in desk.deployed()}
    return render_template(
        "insurance_claims.html",
        open_claims=[c for c in every if c.open],
        decided=[c for c in every if not c.open],
        currencies=currencies,
        deny_form=DenyForm(),
        reasons={int(r): r.label for r in DenialReason},
        form=ActionForm(),
        book=desk.book,
    )


@bp.post("/claims/<int:claim_id>/<action>")
def claim_action(claim_id: int, action: str):
    """Approve, deny (with a reason) or settle one claim, when the contract allows it now."""
    if action not in ("approve", "deny", "settle"):
        abort(404)
    desk = services.insurance_desk()
    try:
        if action == "deny":
            form = DenyForm()
            if not form.validate_on_submit():
                raise InsuranceInputError({"reason": "choose a reason for the denial"})
            desk.deny_claim(claim_id, form.reason.data)
            flash(f"Claim #{claim_id} denied ({form.reason.data.replace('_', ' ')}).", "success")
        else:
            _checked()
            view = (
                desk.approve_claim(claim_id) if action == "approve" else desk.settle_claim(claim_id)
            )
            cur = desk.currency(view.policy.model_id)
            flash(
                f"Claim #{claim_id} {'approved' if action == 'approve' else 'settled'}: "
                f"{format_amount(view.claim.amount, cur)} paid to the policyholder.",
                "success",
            )
    except InsuranceInputError as exc:
        _refused(f"Claim #{claim_id}", exc)
    return redirect(url_for("insurance.claims"))
