"""Progress callbacks of the long lender operations (the web app's jobs pass their own).

A callback takes keyword arguments ``done``, ``total`` and ``message`` (each optional), like
``hessian_common.web.jobs.Progress.update``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ProgressFn = Callable[..., None]


def no_progress(*_args: Any, **_kwargs: Any) -> None:
    """The callback used when the caller gives none."""
    return None
