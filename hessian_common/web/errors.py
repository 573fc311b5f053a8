"""Error pages: a clear message and the right status code, never a traceback.

==========================================  ======  ==========================
error                                        status  page title
==========================================  ======  ==========================
``ChainUnavailable`` / ``StoreUnavailable``  503     "… is unreachable"
``ContractRevert``                           409     "The contract refused"
other ``HessianError``                       400     "That did not work"
CSRF token missing / wrong                   400     "Form expired"
upload larger than ``MAX_CONTENT_LENGTH``    413     "Upload too large"
anything else                                500     "Internal error" (logged)
==========================================  ======  ==========================

Requests that ask for JSON (``/_web/...`` or ``Accept: application/json``) get
``{"error": message}`` instead of a page. Handlers only report: whoever raised is responsible
for having changed nothing (the workflows check everything before writing).
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from hessian_common.errors import (
    ChainUnavailable,
    ContractRevert,
    HessianError,
    StoreUnavailable,
)
from hessian_common.format import sentence
from hessian_common.web.outage import restart_hint

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    if request.path.startswith("/_web/") or request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, title: str, message: str, hint: str | None = None):
    """Render the shared error page (or JSON) with ``status``."""
    if _wants_json():
        return jsonify({"error": message, "title": title}), status
    return (
        render_template("web/error.html", code=status, title=title, message=message, hint=hint),
        status,
    )


def register_error_handlers(app: Flask) -> None:
    """Install the handlers in the table above on ``app``."""

    @app.errorhandler(ChainUnavailable)
    def _chain_down(exc: ChainUnavailable):

        return error_response(
            503,
            "The chain is unreachable",
            sentence(str(exc)),
            f"Nothing was sent. {restart_hint(str(exc))} (or check --rpc), then retry.",
        )

    @app.errorhandler(StoreUnavailable)
    def _store_down(exc: StoreUnavailable):
        return error_response(
            503,
            "The content store is unreachable",
            str(exc),
            "Nothing was recorded on chain. Check the store settings, then retry.",
        )

    @app.errorhandler(ContractRevert)
    def _revert(exc: ContractRevert):
        return error_response(409, "The contract refused", str(exc))

    @app.errorhandler(HessianError)
    def _hessian(exc: HessianError):
        return error_response(400, "That did not work", str(exc))

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        return error_response(
            400, "Form expired", f"{exc.description}", "Reload the page and submit the form again."
        )

    @app.errorhandler(RequestEntityTooLarge)
    def _too_large(exc: RequestEntityTooLarge):
        cap = app.config.get("MAX_CONTENT_LENGTH") or 0
        return error_response(
            413,
            "Upload too large",
            f"the upload is larger than the limit of {cap / 1024 / 1024:.0f} MiB",
            "Give the file as a local path instead, or split it.",
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return error_response(exc.code or 500, exc.name, exc.description or exc.name)

    @app.errorhandler(Exception)
    def _internal(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(
            500, "Internal error", "Something went wrong on our side; the details are in the log."
        )
