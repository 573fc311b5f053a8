"""Secure defaults for the Flask apps: secret key at rest, CSRF, upload cap, headers, hosts.

The session-signing key is 32 random bytes kept in ``<state_dir>/secret_key``, created with
permissions 0600 (owner read/write only) the first time an app starts, so sessions survive
restarts and the key never appears in a config file or a log.

The apps have no login: whoever can send them a request acts as the lender or the owner. Two
checks keep other web sites out, on top of the CSRF token:

- **trusted hosts** (Flask's ``TRUSTED_HOSTS``): a request whose ``Host`` is not
  ``127.0.0.1``, ``localhost``, ``[::1]`` or a name the operator configured gets a 400. This
  stops *DNS rebinding*: a page at ``evil.example`` that re-points its name to 127.0.0.1
  reaches the app's port, but its requests carry ``Host: evil.example``;
- **same origin on every state-changing request**: a ``POST`` (``PUT``, ``PATCH``,
  ``DELETE``) whose ``Origin`` (or, without one, ``Referer``) is another site than the app
  itself gets a 403, so a page elsewhere cannot post a form here even with a token it read.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, Response, abort, request
from flask_wtf.csrf import CSRFProtect

from hessian_common.errors import ConfigError
from hessian_common.files import write_private

DEFAULT_HOST = "127.0.0.1"
"""The apps listen on the loopback interface unless told otherwise."""

DEFAULT_MAX_UPLOAD = 64 * 1024 * 1024
"""Upload cap in bytes (64 MiB: a few hundred thousand Lending Club rows)."""

csrf = CSRFProtect()
"""The one CSRF extension; every POST form must carry ``{{ csrf_token() }}``."""

LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")
"""Host names every app answers to (with any port)."""

_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def trusted_hosts(extra: str | list[str] | tuple[str, ...] | None = None) -> list[str]:
    """The local names plus ``extra`` (a name or comma-separated names the operator serves the
    app under, e.g. ``HESSIAN_TRUSTED_HOSTS=lender.example``); ``0.0.0.0`` is not a name."""
    names = list(LOCAL_HOSTS)
    if isinstance(extra, str):
        extra = [h.strip() for h in extra.split(",")]
    for h in extra or ():
        if h and h not in ("0.0.0.0", "::") and h not in names:
            names.append(h)
    return names


def _same_origin() -> None:
    """403 for a state-changing request sent from another site (module docstring)."""
    if request.method not in _UNSAFE_METHODS:
        return
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return  # not sent by a browser page (tests, scripts): the CSRF token still applies
    parts = urlsplit(source)
    if (parts.scheme, parts.netloc) != (request.scheme, request.host):
        abort(403, description=f"refused a {request.method} from another site ({parts.netloc})")


def secret_key_for(state_dir: Path) -> bytes:
    """Read, or create with mode 0600, the app's secret key file in ``state_dir``.

    Raises :class:`ConfigError` if the file exists with permissions open to others or is
    unreadable.
    """
    state_dir = Path(state_dir)
    path = state_dir / "secret_key"
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            with contextlib.suppress(FileExistsError):  # another process made it first
                write_private(path, secrets.token_bytes(32), exclusive=True)
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                f"secret key file {path} has permissions {oct(mode)}; expected 0600 (chmod 600)"
            )
        key = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read or create the secret key file {path}: {exc}") from exc
    if len(key) < 16:
        raise ConfigError(f"secret key file {path} is too short; delete it to make a new one")
    return key


def _security_headers(response: Response) -> Response:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-ancestors 'none'",
    )
    return response


def configure_security(
    app: Flask, state_dir: Path, max_upload_bytes: int = DEFAULT_MAX_UPLOAD
) -> None:
    """Secret key from ``state_dir``, CSRF on every form, upload cap, safe cookies and headers,
    trusted hosts and same-origin posts (module docstring).

    Values already in ``app.config`` (e.g. from a test config) win, except that CSRF stays on
    unless the app explicitly sets ``WTF_CSRF_ENABLED = False``. ``TRUSTED_HOSTS`` defaults
    to :func:`trusted_hosts` of ``HESSIAN_TRUSTED_HOSTS`` (environment) and the app's
    ``HOST`` setting.
    """
    if app.config.get("TRUSTED_HOSTS") is None:
        extra = [os.environ.get("HESSIAN_TRUSTED_HOSTS", ""), str(app.config.get("HOST") or "")]
        app.config["TRUSTED_HOSTS"] = trusted_hosts(",".join(extra))
    app.before_request(_same_origin)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secret_key_for(state_dir)
    if app.config.get("MAX_CONTENT_LENGTH") is None:  # Flask's default is None: no cap
        app.config["MAX_CONTENT_LENGTH"] = max_upload_bytes
    app.config.setdefault("WTF_CSRF_ENABLED", True)
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    app.config.setdefault("SESSION_COOKIE_HTTPONLY", True)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    csrf.init_app(app)
    app.after_request(_security_headers)
