"""The data owner's share-data page: a local Flask app over :mod:`hessian_common.owner`.

A data owner runs it on their own machine (``hessian owner --rpc URL --port P``), sees the
open training tasks on chain, checks a CSV of their loan records against a model's schema,
computes an *encrypted* update locally and submits it. The raw rows never leave the machine:
only the encrypted update goes to the content store, and only its CID, the dataset digest and
the number of rows go on chain. Every submission passes through a local SQLite journal, so
nothing is lost when the store or the chain is down.

Blueprints: ``account`` (overview, balance, rewards, withdraw), ``models`` (open models),
``share`` (upload, validate, preview, train and submit), ``submissions`` (my submissions and
the journal), ``borrow`` (apply to a lender's deployed credit model, accept, withdraw, repay:
the borrower's pages live here because this is the person's own app, with their key).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from hessian_common.web import init_web

DEFAULT_MAX_UPLOAD = 64 * 1024 * 1024
"""Upload cap (``OWNER_MAX_UPLOAD``): 64 MiB, a few hundred thousand loans; larger files can be
given as a local path instead (read in place, never uploaded anywhere)."""


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``test_config`` values override the defaults (see ``services.py``)."""
    app = Flask(__name__)
    app.config.from_mapping(
        OWNER_WORKER=True,
        OWNER_RETRY_INTERVAL=3.0,
        OWNER_MAX_PREVIEW_PROBLEMS=50,
        HESSIAN_STATUS_TTL=2.0,
    )
    if test_config:
        app.config.update(test_config)
    # Flask's default config holds MAX_CONTENT_LENGTH = None, so set the cap explicitly.
    app.config["MAX_CONTENT_LENGTH"] = int(app.config.get("OWNER_MAX_UPLOAD", DEFAULT_MAX_UPLOAD))
    if app.testing and "OWNER_WORKER" not in (test_config or {}):
        app.config["OWNER_WORKER"] = False

    from data_owner_app.services import OwnerServices

    owner = OwnerServices(app)
    app.extensions["owner"] = owner
    init_web(
        app,
        state_dir=owner.state_dir,
        status=owner.status,
        max_upload_bytes=app.config["MAX_CONTENT_LENGTH"],
        job_workers=1,
        layout="layout.html",
    )

    from data_owner_app.views import account, borrow, insure, models, share, submissions

    app.register_blueprint(account.bp)
    app.register_blueprint(models.bp)
    app.register_blueprint(share.bp)
    app.register_blueprint(submissions.bp)
    app.register_blueprint(borrow.bp)
    app.register_blueprint(insure.bp)
    app.context_processor(lambda: {"owner_services": lambda: owner})

    if app.config["OWNER_WORKER"]:
        owner.start_worker(float(app.config["OWNER_RETRY_INTERVAL"]))
    return app
