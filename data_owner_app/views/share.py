"""Share data: choose a file, check it against the model's schema, preview, train and submit.

1. ``GET/POST /models/<id>/share``: upload a CSV or give a local path. The file is checked at
   once (:func:`hessian_common.owner.validate_for_model`); a bad file gets a clear message and
   nothing is kept or sent.
2. ``GET /share/<token>``: the preview: usable rows, defaults, excluded rows by reason,
   problems by row and column, the replay check.
3. ``POST /share/<token>/submit``: starts the background job (encrypted update, store,
   ``submitUpdate`` through the journal) and shows its progress bar.

Uploads are kept in ``<state dir>/uploads`` (mode 0600) only until the job has read them;
a local path is read in place. Raw rows never leave this machine.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

from data_owner_app.forms import ShareForm, SubmitForm, form_ok
from data_owner_app.services import services
from hessian_common import owner
from hessian_common.errors import ChainUnavailable, DataError, HessianError
from hessian_common.files import private_file
from hessian_common.format import sentence, sentences
from hessian_common.web import jobs

bp = Blueprint("share", __name__)

STAGED_TTL = 3600.0
"""Seconds a checked file waits for "Train and submit" before it is forgotten."""


@dataclass
class Staged:
    """A file that passed the check, waiting for the owner's go."""

    token: str
    model: owner.OpenModel
    path: Path
    label: str
    uploaded: bool
    report: owner.ValidationReport
    created: float
    job_id: str | None = None


class StagingArea:
    """Checked files by random token (one owner, one machine: memory is enough)."""

    def __init__(self) -> None:
        self._items: dict[str, Staged] = {}
        self._lock = threading.Lock()

    def add(self, item: Staged) -> None:
        self.expire()
        with self._lock:
            self._items[item.token] = item

    def get(self, token: str) -> Staged | None:
        with self._lock:
            return self._items.get(token)

    def expire(self, now: float | None = None) -> None:
        """Forget (and delete uploaded copies of) checked files older than the TTL."""
        now = time.time() if now is None else now
        with self._lock:
            old = [t for t, s in self._items.items() if now - s.created > STAGED_TTL]
            for token in old:
                discard_upload(self._items.pop(token))


def staging() -> StagingArea:
    """The app's staging area."""
    return current_app.extensions.setdefault("owner_staging", StagingArea())


def discard_upload(item: Staged) -> None:
    """Delete the uploaded copy (never a file the owner pointed to by path)."""
    if item.uploaded:
        item.path.unlink(missing_ok=True)


def _save_upload(storage: Any) -> tuple[Path, str]:
    """Write an upload to the private uploads directory (0600); returns (path, name)."""
    svc = services()
    svc.uploads_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = os.path.basename(storage.filename or "upload.csv")[:200] or "upload.csv"
    path = svc.uploads_dir / f"{secrets.token_hex(12)}.csv"
    with private_file(path, exclusive=True) as fh:
        storage.save(fh)
    return path, name


def unusable_reason(model: owner.OpenModel) -> str | None:
    """Why ``model`` takes no submission now, in words (``None`` when it does)."""
    try:
        owner.check_can_submit(model, None, "")
    except DataError as exc:
        return sentence(str(exc))
    return None


@bp.route("/models/<int:model_id>/share", methods=["GET", "POST"])
def choose(model_id: int):
    """Step 1: choose a file and check it (a closed model offers no upload)."""
    from data_owner_app.views.models import model_or_404

    model = model_or_404(model_id)
    closed = unusable_reason(model)
    if closed is not None:
        status = 409 if request.method == "POST" else 200
        return render_template(
            "share_choose.html", model=model, form=None, error=None, closed=closed
        ), status
    form = ShareForm()
    error = None
    dropped = None
    if form.validate_on_submit():
        uploaded = bool(form.upload.data and form.upload.data.filename)
        if uploaded:
            path, label = _save_upload(form.upload.data)
        else:
            path = Path(form.path.data.strip()).expanduser()
            label = path.name
        try:
            report = owner.validate_for_model(
                path,
                model.spec,
                label=label,
                max_bytes=current_app.config.get("MAX_CONTENT_LENGTH"),
            )
        except DataError as exc:
            if uploaded:
                path.unlink(missing_ok=True)
            error = str(exc).replace(str(path), label)
        else:
            item = Staged(
                token=secrets.token_urlsafe(16),
                model=model,
                path=path,
                label=label,
                uploaded=uploaded,
                report=report,
                created=time.time(),
            )
            staging().add(item)
            _get_ready(services(), model)  # randomisers and tables, while the owner reads
            return redirect(url_for("share.preview", token=item.token))
    elif form.is_submitted():
        error = sentences(*(e for errs in form.errors.values() for e in errs))
        chosen = getattr(form.upload.data, "filename", "") if form.upload.data else ""
        if chosen:
            dropped = os.path.basename(chosen)
    status = 400 if error else 200
    return render_template(
        "share_choose.html",
        model=model,
        form=form,
        error=error and sentence(error),
        dropped=dropped,
        closed=None,
    ), status


def _get_ready(svc: Any, model: owner.OpenModel) -> None:
    """Precompute the update's randomisers and, if the current weights can be read from the
    store now, their subset tables (:func:`owner.get_ready`); a store that does not answer
    only means the submission builds its tables itself."""
    try:
        current, _cid = owner.current_weights(svc.store, model)
    except HessianError:
        current = None
    owner.get_ready(model.spec, current)


def _staged(token: str) -> Staged:
    item = staging().get(token)
    if item is None:
        abort(404, description="That checked file is no longer here; choose it again.")
    return item


def _replay_check(svc: Any, item: Any) -> tuple[Any, Any]:
    """The contract wrapper (``None`` while the chain is down) and whether this dataset was
    already submitted to the model (by this owner's journal, and by the contract when up)."""
    from hessian_common.chain.outage import fresh_reads

    try:
        repo = svc.repo
    except ChainUnavailable:
        repo = None
    with fresh_reads():  # "checked on chain" must mean now, never a last known answer
        replay = owner.already_submitted(
            svc.journal, repo, item.model.model_id, item.report.digest, svc.address
        )
    return repo, replay


@bp.get("/share/<token>")
def preview(token: str):
    """Step 2: what the check found, the replay check, and the go button."""
    item = _staged(token)
    svc = services()
    repo, replay = _replay_check(svc, item)
    blockers = []
    if replay.blocked:
        blockers.append(replay.message)
    try:
        owner.check_can_submit(item.model, repo, svc.address)
    except DataError as exc:
        blockers.append(str(exc))
    chain_down = repo is None or not replay.chain_checked
    problems = item.report.problems[: current_app.config["OWNER_MAX_PREVIEW_PROBLEMS"]]
    rules = _rules(item.report, problems)
    return render_template(
        "share_preview.html",
        item=item,
        report=item.report,
        model=item.model,
        replay=replay,
        blockers=blockers,
        problems=problems,
        form=SubmitForm(),
        chain_down=chain_down,
        rules=rules,
    )


def _rules(report: owner.ValidationReport, problems: list) -> dict[str, str]:
    """The schema's rule for each column with a problem (what happened to the cell)."""
    schema = getattr(report.data, "schema", None)
    out: dict[str, str] = {}
    for _row, column, _message in problems:
        if schema is None or column in out:
            continue
        try:
            spec = schema.column(column)
        except KeyError:
            continue
        words = spec.rule_words() or (spec.fill_words() if spec.numeric else "")
        if words:
            out[column] = words
    return out


def _run_share(progress: Any, app: Any, token: str) -> int:
    """The background job: train locally and submit through the journal."""
    with app.app_context():
        svc = services(app)
        item = staging().get(token)
        if item is None:
            raise DataError("the checked file is gone; choose it again")
        try:
            entry = owner.share(
                svc.journal,
                svc.store,
                lambda: svc.repo,
                model=item.model,
                path=item.path,
                account=svc.account,
                label=item.label,
                progress=progress,
                max_bytes=app.config.get("MAX_CONTENT_LENGTH"),
            )
        finally:
            discard_upload(item)
        return entry.id


@bp.post("/share/<token>/submit")
def start(token: str):
    """Step 3: start the job (refused if the check found a blocker)."""
    item = _staged(token)
    form = SubmitForm()
    if not form_ok(form):
        return redirect(url_for("share.preview", token=token))
    if not form.confirm.data:
        flash("Tick the box to confirm the deposit before submitting.", "error")
        return redirect(url_for("share.preview", token=token))
    if item.job_id is not None:
        return redirect(url_for("share.progress", token=token))
    svc = services()
    _repo, replay = _replay_check(svc, item)
    if replay.blocked:
        flash(replay.message, "error")
        return redirect(url_for("share.preview", token=token))
    job = jobs().submit(
        f"Encrypted update for model {item.model.model_id}",
        _run_share,
        current_app._get_current_object(),
        token,
        tags={
            "kind": "share",
            "token": token,
            "model": str(item.model.model_id),
            "label": item.label,
        },
    )
    item.job_id = job.id
    return redirect(url_for("share.progress", token=token))


@bp.get("/share/<token>/progress")
def progress(token: str):
    """The progress bar of the running job (polled by ``jobs.js``)."""
    item = _staged(token)
    if item.job_id is None:
        return redirect(url_for("share.preview", token=token))
    job = jobs().get(item.job_id)
    return render_template("share_progress.html", item=item, job=job, model=item.model)
