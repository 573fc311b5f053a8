"""The lender's dashboard: a thin Flask layer over :mod:`hessian_common.tasks`.

``create_app(test_config=None)`` builds the app (Flask tutorial style): config, the shared web
plumbing (:func:`hessian_common.web.init_web`: secret key, CSRF, upload cap, status bar, error
pages, background jobs), one blueprint per feature, and the auto-evaluation worker (started
only when a model asks for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from hessian_common.web import init_web

DEFAULT_PORT = 5000
DEFAULT_KEY_SIZES = (1024, 2048, 3072)


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Create the company app.

    Parameters
    ----------
    test_config : mapping, optional
        Config values that override the defaults (see :mod:`company_app.services` for the
        keys); tests pass ``HESSIAN_HOME``, ``W3``, ``STORE_OBJ``, ``ACCOUNT_DEV_INDEX``...
    """
    app = Flask(__name__)
    app.config.from_mapping(
        HESSIAN_HOME=None,
        RPC_URL=None,
        STORE=None,
        STORE_DIR=None,
        KUBO_URL=None,
        DEPLOYMENTS_DIR=None,
        CONTRACT_ADDRESS=None,
        ACCOUNT_DEV_INDEX=None,
        COMPANY_PASSPHRASE=None,
        LOANBOOK_ADDRESS=None,
        KEY_SIZES=DEFAULT_KEY_SIZES,
        DEFAULT_KEY_SIZE=2048,
        AUTO_EVALUATE_INTERVAL=3.0,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    # The passphrase opens the lender's keys: keep it out of ``config`` (which templates see).
    app.extensions["company_passphrase"] = app.config.pop("COMPANY_PASSPHRASE", None)

    from company_app import services

    init_web(
        app,
        state_dir=services.state_dir(app),
        status=lambda: services.status(app),
        layout="layout.html",
        job_workers=1,
    )

    from company_app.views import account, dashboard, insurance, lending, models, tasks

    app.register_blueprint(dashboard.bp)
    app.register_blueprint(tasks.bp)
    app.register_blueprint(models.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(lending.bp)
    app.register_blueprint(insurance.bp)

    from company_app import worker

    worker.init_app(app)

    @app.context_processor
    def _account() -> dict[str, Any]:
        return {"account": services.header_account(app)}

    return app
