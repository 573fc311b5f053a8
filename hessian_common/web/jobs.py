"""Background jobs with progress, for work too long for one request (evaluating updates).

A job is a function run on a small thread pool; it reports progress through the
:class:`Progress` object it is given. Pages show a ``<div data-job="ID">`` that ``jobs.js``
fills by polling ``GET /_web/jobs/<id>`` (JSON) until the job ends::

    job = jobs(current_app).submit("Evaluate 3 updates", evaluate_all, model_id)
    # inside evaluate_all(progress, model_id):  progress.update(done=1, total=3, message="...")

A job's error is kept as a message: the text of a :class:`HessianError` (which never holds
secrets), or a generic line for anything else (the traceback goes to the log only).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app

from hessian_common.chain.outage import JOB_READ_TIMEOUT, chain_scope
from hessian_common.errors import HessianError

log = logging.getLogger(__name__)

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


@dataclass
class Job:
    """One background job; read its fields, write them only through :class:`Progress`."""

    id: str
    name: str
    state: str = QUEUED
    done: int = 0
    total: int | None = None
    message: str = ""
    result: Any = None
    error: str | None = None
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """True while queued or running."""
        return self.state in (QUEUED, RUNNING)

    @property
    def fraction(self) -> float | None:
        """done / total in [0, 1], or None when the total is unknown."""
        if not self.total:
            return 1.0 if self.state == DONE else None
        return min(1.0, self.done / self.total)

    @property
    def line(self) -> str:
        """The one progress line shown for this job, by the page and by ``jobs.js`` alike:
        ``Evaluate 2 waiting update(s): running (1/2) — evaluating update #3 (2 of 2)``."""
        count = f" ({self.done}/{self.total})" if self.total else ""
        text = f"{self.name}: {self.state}{count}"
        if self.message:
            text += f" — {self.message}"
        if self.error:
            text += f" — {self.error}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """JSON view (the result only if it is a plain value)."""
        result = self.result if isinstance(self.result, str | int | float | bool) else None
        return {
            "id": self.id,
            "name": self.name,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "fraction": self.fraction,
            "message": self.message,
            "error": self.error,
            "result": result,
            "active": self.active,
            "line": self.line,
            "elapsed": round((self.finished or time.time()) - (self.started or self.created), 1),
        }


class Progress:
    """Handed to a job function: ``progress.update(done=, total=, message=)``."""

    def __init__(self, job: Job, lock: threading.Lock):
        self._job = job
        self._lock = lock

    def update(
        self, done: int | None = None, total: int | None = None, message: str | None = None
    ) -> None:
        """Record progress; any argument left ``None`` keeps its value."""
        with self._lock:
            if total is not None:
                self._job.total = int(total)
            if done is not None:
                self._job.done = int(done)
            if message is not None:
                self._job.message = str(message)

    __call__ = update


class JobRunner:
    """A thread pool plus a registry of the last ``keep`` jobs.

    Parameters
    ----------
    max_workers : int
        Threads running jobs at once (evaluation is CPU-bound Paillier work: 1–2 is right).
    keep : int
        Finished jobs remembered for the progress endpoint.
    """

    def __init__(self, max_workers: int = 1, keep: int = 200):
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="hessian-job")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._keep = keep

    def submit(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        tags: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Job:
        """Run ``fn(progress, *args, **kwargs)`` in the background; return its :class:`Job`."""
        job = Job(id=f"{next(self._ids)}-{int(time.time() * 1000) % 100000}", name=name)
        job.tags = dict(tags or {})
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self._keep:
                oldest = next(iter(self._jobs))
                if self._jobs[oldest].active:
                    break
                self._jobs.pop(oldest)
        self._pool.submit(self._run, job, fn, args, kwargs)
        return job

    def _run(self, job: Job, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:

        with self._lock:
            job.state, job.started = RUNNING, time.time()
        try:
            # One chain scope per job: a node that stops answering costs the job one read
            # timeout, then every further chain call fails at once (the job reports it).
            with chain_scope(read_timeout=JOB_READ_TIMEOUT):
                result = fn(Progress(job, self._lock), *args, **kwargs)
        except HessianError as exc:
            with self._lock:
                job.state, job.error = FAILED, str(exc)
        except Exception:
            log.exception("job %s (%s) failed", job.id, job.name)
            with self._lock:
                job.state, job.error = FAILED, "internal error (see the server log)"
        else:
            with self._lock:
                job.state, job.result = DONE, result
                if job.total is not None:
                    job.done = job.total
        finally:
            with self._lock:
                job.finished = time.time()

    def get(self, job_id: str) -> Job | None:
        """The job with this id, or None."""
        with self._lock:
            return self._jobs.get(job_id)

    def list(self, **tags: str) -> list[Job]:
        """Jobs, newest first, optionally only those whose tags match."""
        with self._lock:
            items = list(self._jobs.values())
        items = [j for j in items if all(j.tags.get(k) == v for k, v in tags.items())]
        return items[::-1]

    def active(self, **tags: str) -> list[Job]:
        """Queued or running jobs matching ``tags``."""
        return [j for j in self.list(**tags) if j.active]

    def wait(self, job_id: str, timeout: float = 60.0) -> Job:
        """Block until the job ends (for tests and the CLI); raises ``TimeoutError``."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job is None:
                raise KeyError(job_id)
            if not job.active:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} ({job.name}) still {job.state} after {timeout}s")
            time.sleep(0.05)

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking jobs; wait for running ones if ``wait``."""
        self._pool.shutdown(wait=wait, cancel_futures=True)


def jobs(app: Flask | None = None) -> JobRunner:
    """The app's :class:`JobRunner` (``current_app`` when ``app`` is None)."""
    return (app or current_app).extensions["hessian_jobs"]
