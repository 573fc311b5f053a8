"""A model's page and its actions: evaluate (one, all waiting, automatically), close,
reclaim, reveal the test set, audit."""

from __future__ import annotations

import time

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)

from company_app import services, worker
from company_app.charts import ScorePoint, score_history_svg
from company_app.forms import ActionForm, RejectForm
from company_app.views import lending
from hessian_common.format import format_amount as eth
from hessian_common.web import jobs
from hessian_common.web.paging import page_arg, per_page_arg

bp = Blueprint("models", __name__, url_prefix="/models")


def _detail(model_id: int, page: int = 1, per_page: int | None = None):
    detail = services.lender().model(model_id, page, per_page)
    if detail is None:
        abort(404, description=f"model #{model_id} is not one of this lender's models")
    return detail


@bp.get("/<int:model_id>")
def show(model_id: int):
    """Score history chart, submissions, rewards per owner, bounty left, clocks, actions."""
    # Jobs first, chain state second: a job that ends in between still gets its progress
    # panel (which then reloads the page), never a stale page without one.
    active = jobs().active(model=str(model_id))
    recent = [j for j in jobs().list(model=str(model_id))[:5] if _recent(j)]
    d = _detail(model_id, page_arg(), per_page_arg())
    points = [ScorePoint(p.step, p.score, p.accepted, p.label) for p in d.history]
    chart = score_history_svg(
        points,
        target=d.summary.target,
        initial=d.summary.initial_score,
        metric_label=d.summary.metric_label,
    )
    return render_template(
        "model.html",
        d=d,
        m=d.summary,
        chart=chart,
        form=ActionForm(),
        active_jobs=active,
        recent_jobs=recent,
        auto=worker.is_auto(current_app, model_id),
        lending=None if d.summary.status == "open" else lending.deployment_state(model_id),
    )


def _recent(job, seconds: float = 600.0) -> bool:
    """A job that ended in the last ``seconds`` (its failure is still worth showing)."""
    return job.finished is not None and time.time() - job.finished < seconds


def _app():
    """The real app object (a background job outlives the request's ``current_app``)."""
    return current_app._get_current_object()


def _checked() -> bool:
    return ActionForm().validate_on_submit()


def _evaluate_one(progress, lender, update_id: int):
    progress.update(done=0, total=1, message=f"evaluating update #{update_id}")
    ev = lender.evaluate_submission(update_id, progress=progress)
    verdict = "accepted" if ev.accepted else "rejected"
    progress.update(done=1, message=f"#{update_id} {verdict} at {ev.score:.4f}")
    return verdict


def _evaluate_all(progress, lender, model_id: int):
    evs = lender.evaluate_all_waiting(model_id, progress=progress)
    return f"{len(evs)} evaluated"


@bp.post("/<int:model_id>/evaluate/<int:update_id>")
def evaluate(model_id: int, update_id: int):
    """Evaluate one submission in the background; the page shows its progress."""
    _checked()
    lender = services.lender()
    if not _is_next(lender, model_id, update_id):
        return redirect(url_for("models.show", model_id=model_id))
    if not worker.claim(current_app, update_id):
        flash(f"Update #{update_id} is already being evaluated.", "warning")
        return redirect(url_for("models.show", model_id=model_id))
    jobs().submit(
        f"Evaluate update #{update_id}",
        worker.released(_app(), [update_id], _evaluate_one),
        lender,
        update_id,
        tags={"model": str(model_id)},
    )
    return redirect(url_for("models.show", model_id=model_id))


def _is_next(lender, model_id: int, update_id: int) -> bool:
    """Whether ``update_id`` is the head of the model's queue (else flash why not)."""
    waiting = lender.waiting(model_id)
    if update_id not in waiting:
        flash(
            f"Update #{update_id} is not waiting for an evaluation of model #{model_id}.", "error"
        )
        return False
    if update_id != waiting[0]:
        flash(
            f"Update #{update_id} is not next: the contract takes submissions in the order "
            f"they arrived; update #{waiting[0]} comes first.",
            "error",
        )
        return False
    return True


@bp.post("/<int:model_id>/reject/<int:update_id>")
def reject(model_id: int, update_id: int):
    """Reject the next submission by hand, with a reason (kept in the audit transcript)."""
    form = RejectForm()
    if not form.validate_on_submit():
        flash("Say why the submission is rejected (1 to 300 characters).", "error")
        return redirect(url_for("models.show", model_id=model_id))
    lender = services.lender()
    if not _is_next(lender, model_id, update_id):
        return redirect(url_for("models.show", model_id=model_id))
    if not worker.claim(current_app, update_id):
        flash(f"Update #{update_id} is already being evaluated.", "warning")
        return redirect(url_for("models.show", model_id=model_id))
    try:
        lender.reject_submission(update_id, form.note.data)
    finally:
        worker.release(current_app, [update_id])
    flash(f"Update #{update_id} rejected: {form.note.data}", "success")
    return redirect(url_for("models.show", model_id=model_id))


@bp.post("/<int:model_id>/evaluate-all")
def evaluate_all(model_id: int):
    """Evaluate every waiting submission of the model, oldest first, in the background."""
    _checked()
    lender = services.lender()
    waiting = lender.waiting(model_id)
    if not waiting:
        flash("No submission is waiting.", "info")
        return redirect(url_for("models.show", model_id=model_id))
    if jobs().active(model=str(model_id)):
        flash("An evaluation of this model is already running.", "warning")
        return redirect(url_for("models.show", model_id=model_id))
    ids = [u for u in waiting if worker.claim(current_app, u)]
    jobs().submit(
        f"Evaluate {len(ids)} waiting update(s)",
        worker.released(_app(), ids, _evaluate_all),
        lender,
        model_id,
        tags={"model": str(model_id)},
    )
    return redirect(url_for("models.show", model_id=model_id))


@bp.post("/<int:model_id>/auto")
def toggle_auto(model_id: int):
    """Turn automatic evaluation of new submissions on or off for this model."""
    _checked()
    _detail(model_id)
    on = worker.toggle(current_app, model_id)
    flash(
        "Automatic evaluation is on: new submissions are evaluated as they arrive."
        if on
        else "Automatic evaluation is off.",
        "success",
    )
    return redirect(url_for("models.show", model_id=model_id))


@bp.route("/<int:model_id>/close", methods=["GET", "POST"])
def close(model_id: int):
    """Close the task to new submissions, after a confirmation page.

    ``GET`` (and a ``POST`` without ``confirm=yes``) shows what closing means: no more
    submissions, it cannot be undone, what is still waiting and what is left of the bounty.
    Only the confirmation's ``POST`` (``confirm=yes``, with its CSRF token) sends the close.
    """
    if request.method == "POST" and request.form.get("confirm") == "yes":
        _checked()
        services.lender().close(model_id)
        flash(f"Model #{model_id} is closed to new submissions.", "success")
        return redirect(url_for("models.show", model_id=model_id))
    d = _detail(model_id)
    if d.summary.status != "open":
        flash(f"Model #{model_id} is already closed.", "info")
        return redirect(url_for("models.show", model_id=model_id))
    return render_template("close.html", d=d, m=d.summary, form=ActionForm())


@bp.post("/<int:model_id>/reclaim")
def reclaim(model_id: int):
    """Credit the unspent bounty back to the lender (withdraw it from the account page)."""
    _checked()
    amount = services.lender().reclaim(model_id)
    flash(
        f"{eth(amount)} of unspent bounty credited back; withdraw it on the account page.",
        "success",
    )
    return redirect(url_for("models.show", model_id=model_id))


@bp.post("/<int:model_id>/reveal")
def reveal(model_id: int):
    """Publish the hold-out test set and reveal it on chain (commit–reveal)."""
    _checked()
    cid = services.lender().reveal_test_set(model_id)
    flash(f"Test set revealed: {cid}. Anyone can now audit the recorded scores.", "success")
    return redirect(url_for("models.audit", model_id=model_id))


@bp.get("/<int:model_id>/audit")
def audit(model_id: int):
    """Re-check every recorded score against the revealed test set."""
    d = _detail(model_id)
    report = services.lender().audit(model_id) if d.summary.revealed else None
    return render_template("audit.html", d=d, m=d.summary, report=report, form=ActionForm())
