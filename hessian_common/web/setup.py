"""``init_web(app, ...)``: wire security, status bar, error pages, jobs and shared assets."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, Flask, abort, jsonify

from hessian_common.web.errors import register_error_handlers
from hessian_common.web.format import register_filters
from hessian_common.web.jobs import JobRunner, jobs
from hessian_common.web.outage import chain_outage, init_outage
from hessian_common.web.security import DEFAULT_MAX_UPLOAD, configure_security
from hessian_common.web.status import Status, current_status

_HERE = Path(__file__).parent

bp = Blueprint(
    "hessian_web",
    __name__,
    url_prefix="/_web",
    static_folder=str(_HERE / "static"),
    static_url_path="/static",
    template_folder=str(_HERE / "templates"),
)


@bp.get("/jobs/<job_id>")
def job_progress(job_id: str):
    """Progress of one background job, as JSON (polled by ``jobs.js``)."""
    job = jobs().get(job_id)
    if job is None:
        abort(404, description=f"no job {job_id!r} (finished jobs are forgotten after a while)")
    return jsonify(job.to_dict())


@bp.get("/status")
def status_json():
    """The chain/store status as JSON."""
    return jsonify(current_status().to_dict())


def init_web(
    app: Flask,
    *,
    state_dir: Path,
    status: Callable[[], Status] | None = None,
    max_upload_bytes: int = DEFAULT_MAX_UPLOAD,
    job_workers: int = 1,
    layout: str = "web/base.html",
) -> None:
    """Make ``app`` a Hessian app.

    Parameters
    ----------
    app : Flask
        The app, with its own config already loaded (test config values win).
    state_dir : Path
        Where the app keeps its secret key (``secret_key``, mode 0600).
    status : callable, optional
        Returns a :class:`Status` (use :func:`~hessian_common.web.status.probe_status`); shown
        in the status bar of every page through ``web/base.html``.
    max_upload_bytes : int
        Upload cap (``MAX_CONTENT_LENGTH``) unless the config sets one.
    job_workers : int
        Threads for background jobs.
    layout : str
        Template the shared pages (errors) extend; an app sets its own ``layout.html`` that
        extends ``web/base.html`` to add its navigation.
    """
    configure_security(app, Path(state_dir), max_upload_bytes)
    app.config.setdefault("HESSIAN_LAYOUT", layout)
    app.extensions["hessian_status_probe"] = status
    app.extensions["hessian_jobs"] = JobRunner(max_workers=job_workers)
    app.register_blueprint(bp)
    register_error_handlers(app)
    init_outage(app)
    register_filters(app)

    @app.context_processor
    def _inject() -> dict:
        return {
            "hessian_layout": app.config["HESSIAN_LAYOUT"],
            "status": current_status,
            "chain_outage": chain_outage,
        }
