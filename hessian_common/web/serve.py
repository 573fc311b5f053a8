"""Run an app with waitress (a production WSGI server), on 127.0.0.1 by default."""

from __future__ import annotations

import logging

from flask import Flask

from hessian_common.errors import ConfigError
from hessian_common.web.security import DEFAULT_HOST

log = logging.getLogger(__name__)


def serve(app: Flask, host: str = DEFAULT_HOST, port: int = 5000, threads: int = 8) -> None:
    """Serve ``app`` until interrupted.

    Binding anything other than a loopback address is allowed but logged as a warning: the
    apps hold private keys and have no login.
    """
    from waitress import serve as waitress_serve  # optional: the WSGI server

    if not 0 < int(port) < 65536:
        raise ConfigError(f"port must be between 1 and 65535, not {port}")
    if host not in {"127.0.0.1", "localhost", "::1"}:
        log.warning("listening on %s: anyone who can reach this address can use the app", host)
    waitress_serve(app, host=host, port=int(port), threads=threads, ident="hessian")
