"""Create a training task: the form, its validation, and the call to ``create_task``.

Validation errors (form checks, then the workflow's checks: balance, readable data, target
above the initial score) all render on the form; nothing is sent when anything is wrong.
"""

from __future__ import annotations

import calendar
import time
from decimal import Decimal
from pathlib import Path

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from wtforms.fields.choices import SelectChoice

from company_app import services
from company_app.forms import CreateTaskForm
from hessian_common.format import sentence
from hessian_common.tasks import TaskInputError, TaskParams

bp = Blueprint("tasks", __name__, url_prefix="/models")

# Workflow error keys -> the form field that shows them.
FIELD_OF = {
    "data": "data_path",
    "stale_reward": "stale_reward_eth",
    "reveal_window": "reveal_window_days",
    "deadline": "deadline_days",
    "hyper": "learning_rate",
    "lr": "learning_rate",
    "l2": "learning_rate",
}

WEI = Decimal(10**18)


def _form() -> CreateTaskForm:
    form = CreateTaskForm()
    sizes = list(current_app.config["KEY_SIZES"])
    form.key_size.choices = [
        SelectChoice(s, f"{s} bits" + (" (tests only)" if s < 2048 else "")) for s in sizes
    ]
    if form.key_size.data is None or not form.is_submitted():
        default = current_app.config["DEFAULT_KEY_SIZE"]
        form.key_size.data = default if default in sizes else sizes[-1]
    return form


def _deadline(form: CreateTaskForm) -> int:
    if form.deadline_at.data is not None:
        return calendar.timegm(form.deadline_at.data.timetuple())
    return int(time.time() + float(form.deadline_days.data) * 86400)


def params_from_form(form: CreateTaskForm) -> TaskParams:
    """Build :class:`TaskParams` from a validated form (ETH -> wei, hours -> seconds)."""
    upload = form.data_file.data
    data_bytes = None
    if upload and getattr(upload, "filename", ""):
        data_bytes = upload.read()
        upload.close()
    path = (form.data_path.data or "").strip()
    hyper = {
        "lr": float(form.learning_rate.data),
        "epochs": int(form.epochs.data),
        "mu": float(form.mu.data),
    }
    return TaskParams(
        name=form.name.data.strip(),
        bounty_wei=int(form.bounty_eth.data * WEI),
        metric=form.metric.data,
        target=float(form.target.data),
        mechanism=form.mechanism.data,
        deadline=_deadline(form),
        evaluation_window=int(form.eval_window_hours.data * 3600),
        deposit_wei=int(form.deposit_eth.data * WEI),
        key_size=int(form.key_size.data),
        update_rule=form.update_rule.data,
        hyper=hyper,
        data_path=Path(path).expanduser() if path else None,
        data_bytes=data_bytes,
        data_name=upload.filename if data_bytes is not None else "upload.csv",
        holdout_fraction=float(form.holdout_fraction.data),
        split_seed=int(form.split_seed.data),
        min_gain=None if form.min_gain.data is None else float(form.min_gain.data),
        stale_reward_wei=None
        if form.stale_reward_eth.data is None
        else int(form.stale_reward_eth.data * WEI),
        reveal_window=int(form.reveal_window_days.data * 86_400),
        max_rows=int(form.max_rows.data),
    )


@bp.route("/new", methods=["GET", "POST"])
def create():
    """Show the form; on a valid POST create the task and go to its page."""
    form = _form()
    if form.validate_on_submit():
        lender = services.lender()
        try:
            record = lender.create_task(params_from_form(form))
        except TaskInputError as exc:
            where = dict(FIELD_OF)
            if form.deadline_at.data is not None:  # the date was used: the error goes there
                where["deadline"] = "deadline_at"
            for key, message in exc.errors.items():
                message = sentence(message[:1].upper() + message[1:])
                field = getattr(form, where.get(key, key), None)
                if field is not None:
                    field.errors = [*field.errors, message]
                else:
                    form.form_errors.append(f"{key}: {message}")
        else:
            flash(
                f"Task “{record.name}” created as model #{record.model_id}; "
                f"initial score {record.initial_score:.4f}.",
                "success",
            )
            return redirect(url_for("models.show", model_id=record.model_id))
    status = 400 if form.is_submitted() else 200
    chosen = form.data_file.data if form.is_submitted() else None
    dropped = getattr(chosen, "filename", "") or None
    return render_template("create.html", form=form, dropped=dropped), status
