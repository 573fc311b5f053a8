"""Small Flask plumbing shared by both apps (company and data owner).

One call wires an app the secure way::

    from hessian_common.web import init_web, serve

    app = Flask(__name__)
    init_web(app, state_dir=home / "company", status=lambda: probe_status(w3_factory, store))
    serve(app, port=5000)              # waitress, 127.0.0.1 by default

What :func:`init_web` sets up:

- security (:mod:`.security`): ``SECRET_KEY`` read from ``<state_dir>/secret_key`` (created
  with 0600 permissions), CSRF on every form (Flask-WTF ``CSRFProtect``), an upload cap
  (``MAX_CONTENT_LENGTH``), HTTP-only same-site cookies, no-sniff / frame-deny headers;
- the status bar (:mod:`.status`): ``status`` in every template (chain reachable? block, chain
  id; store reachable?);
- error pages (:mod:`.errors`): ``HessianError`` -> 400, ``ChainUnavailable`` /
  ``StoreUnavailable`` -> 503, CSRF and upload-size errors -> 400 / 413, with a clear message;
- background jobs with progress (:mod:`.jobs`): ``jobs(app).submit(...)``, a JSON endpoint
  ``/_web/jobs/<id>`` and ``jobs.js`` that polls it;
- the shared template ``web/base.html`` and stylesheet ``/_web/static/hessian.css``.
"""

from __future__ import annotations

from hessian_common.web.errors import register_error_handlers
from hessian_common.web.jobs import Job, JobRunner, Progress, jobs
from hessian_common.web.security import DEFAULT_HOST, configure_security, secret_key_for
from hessian_common.web.serve import serve
from hessian_common.web.setup import init_web
from hessian_common.web.status import ChainStatus, Status, StoreStatus, probe_status

__all__ = [
    "DEFAULT_HOST",
    "ChainStatus",
    "Job",
    "JobRunner",
    "Progress",
    "Status",
    "StoreStatus",
    "configure_security",
    "init_web",
    "jobs",
    "probe_status",
    "register_error_handlers",
    "secret_key_for",
    "serve",
]
