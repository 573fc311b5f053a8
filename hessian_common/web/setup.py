"""``init_web(app, ...)``: wire security, status bar, error pages, jobs and shared assets."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app, jsonify

from hessian_common.web.errors import register_error_handlers
from hessian_common.web.format import register_filters
from hessian_common.web.jobs import JobRunner, jobs
from hessian_common.web.outage import chain_outage, init_outage
from hessian_common.web.paging import init_paging
from hessian_common.web.security import DEFAULT_MAX_UPLOAD, configure_security
from hessian_common.web.status import ChainStatus, Status, StoreStatus

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


def current_status() -> Status:
    """The app's status, probed at most every ``HESSIAN_STATUS_TTL`` seconds (default 2).

    While the chain is down the status also carries the last block seen and when the node
    last answered (``ChainStatus.last_block`` / ``last_ok_at``), for the "last known" banner.
    """
    app = current_app
    cache = app.extensions.setdefault("hessian_status_cache", {})
    ttl = float(app.config.get("HESSIAN_STATUS_TTL", 2.0))
    with cache.setdefault("lock", threading.Lock()):
        cached = cache.get("status")
        if cached is not None and time.time() - cached.checked_at < ttl:
            return cached
        probe = app.extensions.get("hessian_status_probe")
        if probe is None:
            status = Status(
                ChainStatus(False, error="no probe"), StoreStatus(False, error="no probe")
            )
        else:
            status = probe()
        if status.chain.ok:
            cache["last_ok"] = status.chain
            cache["last_ok_at"] = status.checked_at
        elif cache.get("last_ok") is not None:
            status = dataclasses.replace(
                status,
                chain=dataclasses.replace(
                    status.chain,
                    last_block=cache["last_ok"].block,
                    last_ok_at=cache.get("last_ok_at"),
                ),
            )
        cache["status"] = status
        return status


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
    init_paging(app)

    @app.context_processor
    def _inject() -> dict:
        return {
            "hessian_layout": app.config["HESSIAN_LAYOUT"],
            "status": current_status,
            "chain_outage": chain_outage,
        }
