"""Automatic evaluation: a background thread that evaluates the head of the queue of each model
the lender switched to "auto" (the contract takes a model's submissions in order).

Every evaluation (manual or automatic) first *claims* its update id, so one submission is
never evaluated twice at once. The auto set is kept in ``<state>/auto_evaluate.json`` so it
survives a restart; the thread starts when the first model is switched on.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from company_app import services
from hessian_common.errors import HessianError
from hessian_common.tasks import BlobPending
from hessian_common.web import jobs

log = logging.getLogger(__name__)


class AutoEvaluator:
    """The per-app worker state: claimed update ids, auto models, the watcher thread."""

    def __init__(self, app: Flask):
        self.app = app
        self.lock = threading.Lock()
        self.claimed: set[int] = set()
        self.auto: set[int] = set()
        self.thread: threading.Thread | None = None
        self.stop_event = threading.Event()
        self.last_error: str | None = None
        self.not_before: dict[int, float] = {}
        """Update id -> earliest time to try it again (its blob was not in the store yet)."""
        self.tries: dict[int, int] = {}
        self._path = services.state_dir(app) / "auto_evaluate.json"
        try:
            self.auto = {int(x) for x in json.loads(self._path.read_text())}
        except (OSError, ValueError, TypeError):
            self.auto = set()

    def save(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        self._path.write_text(json.dumps(sorted(self.auto)))

    def start(self) -> None:
        """Start the watcher thread if it is not running."""
        with self.lock:
            if self.thread is not None and self.thread.is_alive():
                return
            self.stop_event.clear()
            self.thread = threading.Thread(
                target=self._run, name="hessian-auto-evaluate", daemon=True
            )
            self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the watcher thread (evaluations already queued still finish)."""
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def _run(self) -> None:
        from hessian_common.chain.outage import WORKER_READ_TIMEOUT, chain_scope

        interval = float(self.app.config.get("AUTO_EVALUATE_INTERVAL", 3.0))
        while not self.stop_event.is_set():
            try:
                with chain_scope(read_timeout=WORKER_READ_TIMEOUT):
                    self.tick()
                self.last_error = None
            except HessianError as exc:
                self.last_error = str(exc)
                log.warning("auto-evaluation: %s", exc)
            except Exception:
                self.last_error = "internal error (see the log)"
                log.exception("auto-evaluation failed")
            self.stop_event.wait(interval)

    def tick(self) -> list[int]:
        """One pass: read new ``UpdateSubmitted`` events, queue evaluations; returns the ids."""
        with self.lock:
            models = set(self.auto)
        if not models:
            return []
        lender = services.lender(self.app)
        now = time.time()
        queued = []
        # The contract takes each model's submissions in order: only the head can go next.
        for model_id in sorted(models):
            waiting = lender.waiting(model_id)
            if not waiting:
                continue
            head = waiting[0]
            if self.not_before.get(head, 0.0) > now or not claim(self.app, head):
                continue
            jobs(self.app).submit(
                f"Auto-evaluate update #{head}",
                released(self.app, [head], self._auto_evaluate),
                lender,
                head,
                tags={"model": str(model_id), "auto": "1"},
            )
            queued.append(head)
        return queued

    def _auto_evaluate(self, progress, lender, update_id: int) -> str:
        """Evaluate the head; a blob not in the store yet is tried again later, with a
        growing pause (never a tight loop on one submission)."""
        progress.update(done=0, total=1, message=f"evaluating update #{update_id}")
        try:
            ev = lender.evaluate_submission(update_id, progress=progress)
        except BlobPending as exc:
            tries = self.tries.get(update_id, 0) + 1
            self.tries[update_id] = tries
            self.not_before[update_id] = time.time() + min(2.0**tries, 300.0)
            return f"waiting for the blob ({exc})"
        self.tries.pop(update_id, None)
        self.not_before.pop(update_id, None)
        return "accepted" if ev.accepted else "rejected"


def init_app(app: Flask) -> None:
    """Create the worker state; start the thread if models were left on "auto"."""
    w = AutoEvaluator(app)
    app.extensions["company_worker"] = w
    if w.auto and not app.config.get("TESTING"):
        w.start()


def _w(app: Flask) -> AutoEvaluator:
    return app.extensions["company_worker"]


def is_auto(app: Flask, model_id: int) -> bool:
    """Whether new submissions of ``model_id`` are evaluated automatically."""
    return int(model_id) in _w(app).auto


def toggle(app: Flask, model_id: int) -> bool:
    """Switch automatic evaluation of ``model_id``; returns the new state."""
    w = _w(app)
    with w.lock:
        if model_id in w.auto:
            w.auto.discard(model_id)
        else:
            w.auto.add(model_id)
        on = model_id in w.auto
        w.save()
    if on:
        w.start()
    return on


def claim(app: Flask, update_id: int) -> bool:
    """Reserve ``update_id`` for one evaluation; False if someone already holds it."""
    w = _w(app)
    with w.lock:
        if update_id in w.claimed:
            return False
        w.claimed.add(update_id)
        return True


def release(app: Flask, update_ids: Iterable[int]) -> None:
    """Give claimed update ids back."""
    w = _w(app)
    with w.lock:
        w.claimed.difference_update(update_ids)


def released(app: Flask, update_ids: Iterable[int], fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` wrapped so that the claimed ids are released when it ends, however it ends."""
    ids = list(update_ids)

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            release(app, ids)

    return run
