"""Pages when the chain does not answer: fast, in words, with the last known state.

Every request of an app runs in one :func:`~hessian_common.chain.outage.chain_scope`:

- its probe is the status bar's (cached ``HESSIAN_STATUS_TTL`` seconds): a node already known
  to be down costs the request nothing, and one that must be probed costs at most
  ``PROBE_TIMEOUT`` (2 s) once;
- a read waits at most ``HESSIAN_PAGE_READ_TIMEOUT`` seconds (default 3); after the first
  failure the rest of the request's reads fail at once;
- a ``GET`` may show the last known answer to a read, and the page then says so
  (:func:`chain_outage` in every template; ``web/base.html`` renders the banner);
- a failure found by a request updates the cached status, so the next requests know at once.

What to tell the user: :func:`chain_command` is the command that (re)starts the chain this app
uses: ``HESSIAN_CHAIN_COMMAND`` (config or environment; the demo sets it to the command that
restarts *its* chain), else ``hessian node start``. ``HESSIAN_CHAIN_SUPERVISED`` (set by the
demo) adds that something already restarts a chain that stopped.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass

from flask import Flask, current_app, g, has_request_context, request

from hessian_common.chain.outage import (
    PAGE_READ_TIMEOUT,
    ChainScope,
    current_scope,
    enter_scope,
    leave_scope,
)
from hessian_common.web.status import current_status

DEFAULT_CHAIN_COMMAND = "hessian node start"


def chain_command(app: Flask | None = None) -> str:
    """The command that (re)starts the chain this app uses (see the module docstring)."""
    app = app or current_app
    return str(
        app.config.get("HESSIAN_CHAIN_COMMAND")
        or os.environ.get("HESSIAN_CHAIN_COMMAND")
        or DEFAULT_CHAIN_COMMAND
    )


def chain_supervised(app: Flask | None = None) -> bool:
    """True when a supervisor (the demo) restarts the chain by itself when it stops."""
    app = app or current_app
    value = app.config.get("HESSIAN_CHAIN_SUPERVISED")
    if value is None:
        value = os.environ.get("HESSIAN_CHAIN_SUPERVISED", "")
    return str(value).lower() in ("1", "true", "yes")


def restart_advice(reason: str | None = None, app: Flask | None = None) -> str:
    """What the user can do, ending in a colon before :func:`chain_command` (depends on why
    the node is down: a hung node is continued or restarted, a stopped one started)."""
    hung = bool(reason) and "not answering" in str(reason)
    parts = []
    if chain_supervised(app):
        parts.append("The demo restarts its chain by itself when it stops.")
    if hung:
        parts.append(
            "If the node was paused (Ctrl-Z or kill -STOP), continue it (kill -CONT with its "
            "PID); otherwise restart it:"
        )
    else:
        parts.append("Start the chain again with:")
    return " ".join(parts)


def restart_hint(reason: str | None = None, app: Flask | None = None) -> str:
    """:func:`restart_advice` followed by the command, as one line of text."""
    return f"{restart_advice(reason, app)} {chain_command(app)}"


@dataclass(frozen=True)
class ChainOutage:
    """What the banner of a page says while the chain does not answer."""

    reason: str
    """What is down, in words (``Ethereum node at … is unreachable: it is not running …``)."""
    advice: str
    """What to do (:func:`restart_advice`)."""
    command: str
    stale_since: float | None
    """When the oldest last-known answer shown on this page was read (``None``: none shown)."""
    last_block: int | None = None
    last_ok_at: float | None = None

    @property
    def stale_age(self) -> float | None:
        """Seconds since ``stale_since``."""
        return None if self.stale_since is None else max(0.0, time.time() - self.stale_since)


def chain_outage() -> ChainOutage | None:
    """The outage this request met (its scope, or the cached status), or ``None``."""
    scope = current_scope() if has_request_context() else None
    status = current_status()
    reason = None
    if scope is not None and scope.down:
        reason = scope.down
    elif not status.chain.ok and status.chain.error != "no chain configured":
        reason = status.chain.error or "the chain does not answer"
    if reason is None:
        return None
    return ChainOutage(
        reason=_sentence(reason),
        advice=restart_advice(reason),
        command=chain_command(),
        stale_since=scope.stale_since if scope is not None else None,
        last_block=status.chain.last_block,
        last_ok_at=status.chain.last_ok_at,
    )


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _probe_reason() -> str | None:

    chain = current_status().chain
    if chain.ok or chain.error == "no chain configured":
        return None
    return chain.error or "the chain does not answer"


def init_outage(app: Flask) -> None:
    """Run every request in a chain scope (see the module docstring)."""

    @app.before_request
    def _open_scope() -> None:
        timeout = float(app.config.get("HESSIAN_PAGE_READ_TIMEOUT", PAGE_READ_TIMEOUT))
        scope = ChainScope(
            read_timeout=timeout,
            stale_ok=request.method in ("GET", "HEAD"),
            probe=_probe_reason,
        )
        g.hessian_chain_scope = scope
        g.hessian_chain_token = enter_scope(scope)

    @app.teardown_request
    def _close_scope(_exc: BaseException | None) -> None:
        token = g.pop("hessian_chain_token", None)
        scope: ChainScope | None = g.pop("hessian_chain_scope", None)
        if token is not None:
            leave_scope(token)
        if scope is not None and scope.down:
            remember_down(app, scope.down)


def remember_down(app: Flask, reason: str) -> None:
    """A request found the node down: the cached status says so until the next probe."""
    cache = app.extensions.setdefault("hessian_status_cache", {})
    status = cache.get("status")
    if status is None or not status.chain.ok:
        return
    chain = dataclasses.replace(
        status.chain,
        ok=False,
        error=reason,
        last_block=status.chain.block,
        last_ok_at=status.checked_at,
    )
    cache["status"] = dataclasses.replace(status, chain=chain, checked_at=time.time())
    cache["last_ok"] = status.chain
    cache["last_ok_at"] = status.checked_at


__all__ = [
    "DEFAULT_CHAIN_COMMAND",
    "ChainOutage",
    "chain_command",
    "chain_outage",
    "chain_supervised",
    "init_outage",
    "remember_down",
    "restart_advice",
    "restart_hint",
]
