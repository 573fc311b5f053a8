"""The one way a long library operation reports progress, and the one that reports nothing.

A long operation (create a task, evaluate submissions, deploy a model, decide loans, share a
file) takes ``progress``: anything callable as ``progress(done=, total=, message=)``, each
argument optional, an argument left ``None`` keeping its last value. The web app's job
handle (:class:`hessian_common.web.jobs.Progress`, whose ``__call__`` is its ``update``) is
one; :func:`no_progress` is the stand-in when the caller gives none::

    step = progress or no_progress
    step(done=0, total=3, message="reading the data")
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """``progress(done=None, total=None, message=None)``: ``done`` of ``total`` steps, in words."""

    def __call__(
        self, *, done: int | None = None, total: int | None = None, message: str | None = None
    ) -> None:  # pragma: no cover - protocol
        """Record progress; an argument left ``None`` keeps its value."""


def no_progress(
    *, done: int | None = None, total: int | None = None, message: str | None = None
) -> None:
    """The :class:`Progress` of a caller that asked for none: it does nothing."""
    return None


__all__ = ["Progress", "no_progress"]
