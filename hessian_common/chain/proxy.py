"""A local JSON-RPC proxy that behaves like a public RPC provider, for tests and simulations.

In front of anvil or Ganache it enforces what Infura, Alchemy or QuickNode enforce, with their
wording, so the library's paging and retries meet the real thing on a local chain:

- a **log block-range cap**: ``eth_getLogs`` over more than ``max_range`` blocks is refused;
- a **result cap**: ``eth_getLogs`` that would return more than ``max_results`` logs is refused,
  with a suggested narrower range where the provider gives one;
- a **rate limit**: a token bucket of ``rate`` calls per second (``burst`` at once); a call
  beyond it gets HTTP 429;
- **random 429s**: each HTTP request is refused with probability ``random_429`` (seeded, so a
  run is reproducible).

``style`` picks whose answers to imitate (``infura``, ``alchemy``, ``quicknode``, ``geth``):

========== ============================================ ===========================================
style      range cap                                    result cap
========== ============================================ ===========================================
infura     -32602 "range N exceeds limit of M"          -32005 "query returned more than M results.
                                                        Try with this block range [0x.., 0x..]."
alchemy    -32600 "You can make eth_getLogs requests    -32602 "Log response size exceeded. ...
           with up to a M block range. ... this block   this block range should work: [0x.., 0x..]"
           range should work: [0x.., 0x..]"
quicknode  HTTP 413, -32614 "eth_getLogs is limited to  -32005 "query returned more than M results"
           a 10,000 range"
geth       -32602 "query exceeds max block range M"     -32005 "query returned more than M results"
========== ============================================ ===========================================

Rate-limited answers are HTTP 429 with the provider's JSON-RPC error in the body (Infura:
-32005 "project ID request rate exceeded" with ``data.rate.backoff_seconds``; Alchemy: 429 "Your
app has exceeded its compute units per second capacity ..."; QuickNode: -32007 "... request
limit reached ..."; geth style: a plain gateway "Too Many Requests").

In process::

    with RpcProxy(anvil_url, max_range=100, max_results=50, rate=20).start() as proxy:
        w3 = connect(proxy.url)

or as a process: ``hessian node proxy --upstream URL --port P --max-range N ...``
(:func:`start_proxy_process` runs it and stops it by PID).
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

from hessian_common.errors import ChainUnavailable, ConfigError

STYLES = ("infura", "alchemy", "quicknode", "geth")


class _Refusal(Exception):
    """A call the proxy answers with an error instead of forwarding it."""

    def __init__(self, status: int, error: dict[str, Any]):
        super().__init__(error.get("message", ""))
        self.status = status
        self.error = error


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved: ``take()`` is False when empty."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = float(rate), float(burst)
        self._tokens = float(burst)
        self._at = time.monotonic()
        self._lock = threading.Lock()

    def take(self, n: float = 1.0) -> tuple[bool, float]:
        """``(granted, seconds until n tokens would be there)``."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
            self._at = now
            if self._tokens >= n:
                self._tokens -= n
                return True, 0.0
            return False, (n - self._tokens) / self.rate


def _block(tag: Any, head: int) -> int:
    if tag is None or tag in ("latest", "pending", "safe", "finalized"):
        return head
    if tag == "earliest":
        return 0
    if isinstance(tag, int):
        return tag
    return int(str(tag), 16)


class RpcProxy:
    """A threaded HTTP JSON-RPC proxy in front of ``upstream`` (see the module doc).

    Parameters
    ----------
    upstream : str
        The node's URL (anvil, Ganache).
    host, port : str, int
        Where to listen (port 0: a free port; see :attr:`url` once started).
    max_range : int, optional
        Most blocks per ``eth_getLogs`` (None: no cap).
    max_results : int, optional
        Most logs per ``eth_getLogs`` answer (None: no cap).
    rate : float, optional
        Calls per second (None: no limit); ``burst`` calls may come at once (default
        ``max(1, rate)``).
    random_429 : float
        Probability that any HTTP request is refused with 429.
    seed : int
        Seeds the random 429s.
    style : str
        Whose error wording to use: one of :data:`STYLES`.

    ``stats`` counts what happened: ``requests`` (JSON-RPC calls received), ``forwarded``,
    ``rate_limited``, ``random_429``, ``range_refused``, ``results_refused``, and per method
    ``method:<name>``.
    """

    def __init__(
        self,
        upstream: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        max_range: int | None = None,
        max_results: int | None = None,
        rate: float | None = None,
        burst: float | None = None,
        random_429: float = 0.0,
        seed: int = 0,
        style: str = "infura",
        timeout: float = 60.0,
    ) -> None:
        if style not in STYLES:
            raise ConfigError(f"proxy style must be one of {', '.join(STYLES)}, not {style!r}")
        for name, value in (("max_range", max_range), ("max_results", max_results)):
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1, not {value}")
        if rate is not None and rate <= 0:
            raise ConfigError(f"rate must be > 0 calls per second, not {rate}")
        if not 0.0 <= random_429 < 1.0:
            raise ConfigError(f"random_429 must be a probability in [0, 1), not {random_429}")
        self.upstream = upstream
        self.host, self.port = host, int(port)
        self.max_range, self.max_results = max_range, max_results
        self.rate = rate
        self.bucket = (
            TokenBucket(rate, burst if burst is not None else max(1.0, rate)) if rate else None
        )
        self.random_429 = float(random_429)
        self.style = style
        self.timeout = timeout
        self.stats: Counter[str] = Counter()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._local = threading.local()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """``http://host:port`` (the real port once started)."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> RpcProxy:
        """Listen and serve in a daemon thread; returns ``self``."""
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"rpc-proxy-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve (starting if need be) until interrupted; blocks this thread (the CLI)."""
        if self._server is None:
            self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        """Stop listening and wait for the serving thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def __enter__(self) -> RpcProxy:
        return self if self._server is not None else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ behaviour

    def handle(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Answer one HTTP request body: ``(status, headers, body)``."""
        try:
            payload = json.loads(body)
        except ValueError:
            error = {"code": -32700, "message": "Parse error"}
            return 400, {}, _dump({"jsonrpc": "2.0", "id": None, "error": error})
        calls = payload if isinstance(payload, list) else [payload]
        calls = [c for c in calls if isinstance(c, dict)]
        with self._lock:
            self.stats["requests"] += len(calls)
            unlucky = self.random_429 > 0 and self._rng.random() < self.random_429
        first_id = calls[0].get("id") if calls else None
        if unlucky:
            with self._lock:
                self.stats["random_429"] += 1
            return self._too_many(first_id, 0.0)  # no hint: the client's own backoff
        if self.bucket is not None:
            granted, wait = self.bucket.take(max(1, len(calls)))
            if not granted:
                with self._lock:
                    self.stats["rate_limited"] += 1
                return self._too_many(first_id, wait)
        answers = []
        for call in calls:
            try:
                answers.append(self._call(call))
            except _Refusal as refusal:
                if refusal.status != 200 and not isinstance(payload, list):
                    return refusal.status, {}, _dump(_error(call.get("id"), refusal.error))
                answers.append(_error(call.get("id"), refusal.error))
        out = answers if isinstance(payload, list) else answers[0]
        return 200, {}, _dump(out)

    def _call(self, call: dict[str, Any]) -> dict[str, Any]:
        method = str(call.get("method"))
        with self._lock:
            self.stats[f"method:{method}"] += 1
        if method != "eth_getLogs" or not (self.max_range or self.max_results):
            return self._forward(call)
        params = call.get("params") or [{}]
        query = params[0] if params and isinstance(params[0], dict) else {}
        lo = hi = None
        if "blockHash" not in query:
            head = int(self._forward_result("eth_blockNumber", []), 16)
            lo = _block(query.get("fromBlock"), head)
            hi = _block(query.get("toBlock"), head)
            if self.max_range is not None and hi - lo + 1 > self.max_range:
                with self._lock:
                    self.stats["range_refused"] += 1
                raise self._range_refusal(lo, hi)
        answer = self._forward(call)
        logs = answer.get("result")
        if self.max_results is not None and isinstance(logs, list) and len(logs) > self.max_results:
            with self._lock:
                self.stats["results_refused"] += 1
            raise self._results_refusal(lo, hi, logs)
        return answer

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def _forward(self, call: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self.stats["forwarded"] += 1
        try:
            resp = self._session().post(self.upstream, json=call, timeout=self.timeout)
            return resp.json()
        except (requests.RequestException, ValueError) as exc:
            raise _Refusal(
                502, {"code": -32603, "message": f"upstream {self.upstream} failed: {exc}"}
            ) from exc

    def _forward_result(self, method: str, params: list[Any]) -> Any:
        answer = self._forward({"jsonrpc": "2.0", "id": 0, "method": method, "params": params})
        if "error" in answer:
            raise _Refusal(200, answer["error"])
        return answer["result"]

    # ------------------------------------------------------------ provider wording

    def _too_many(self, call_id: Any, wait: float) -> tuple[int, dict[str, str], bytes]:
        backoff = round(max(wait, 0.0), 3)
        rate = self.rate or 0
        if self.style == "infura":
            error = {
                "code": -32005,
                "message": "project ID request rate exceeded",
                "data": {
                    "see": "https://infura.io/dashboard",
                    "rate": {"allowed_rps": rate, "backoff_seconds": backoff, "current_rps": rate},
                },
            }
        elif self.style == "alchemy":
            error = {
                "code": 429,
                "message": "Your app has exceeded its compute units per second capacity. If you "
                "have retries enabled, you can safely ignore this message. If not, check out "
                "https://docs.alchemy.com/reference/throughput",
            }
        elif self.style == "quicknode":
            error = {
                "code": -32007,
                "message": f"{rate:g}/second request limit reached - reduce calls per second or "
                "upgrade your account at quicknode.com",
            }
        else:
            return 429, {"Retry-After": f"{backoff:g}"}, b"Too Many Requests\n"
        return 429, {}, _dump(_error(call_id, error))

    def _range_refusal(self, lo: int, hi: int) -> _Refusal:
        cap = int(self.max_range or 0)
        span = hi - lo + 1
        if self.style == "infura":
            message = f"range {span} exceeds limit of {cap}"
            return _Refusal(200, {"code": -32602, "message": message})
        if self.style == "alchemy":
            return _Refusal(
                200,
                {
                    "code": -32600,
                    "message": f"You can make eth_getLogs requests with up to a {cap} block "
                    "range. Based on your parameters, this block range should work: "
                    f"[{hex(lo)}, {hex(lo + cap - 1)}]",
                },
            )
        if self.style == "quicknode":
            message = f"eth_getLogs is limited to a {cap:,} range"
            return _Refusal(413, {"code": -32614, "message": message})
        return _Refusal(200, {"code": -32602, "message": f"query exceeds max block range {cap}"})

    def _results_refusal(self, lo: int | None, hi: int | None, logs: list[Any]) -> _Refusal:
        cap = int(self.max_results or 0)
        blocks = sorted(int(entry["blockNumber"], 16) for entry in logs)
        first = blocks[0] if lo is None else lo
        # the widest range from `first` whose logs fit: up to the block before the (cap+1)-th log
        suggested_hi = max(first, blocks[cap] - 1)
        if self.style == "infura":
            message = (
                f"query returned more than {cap} results. "
                f"Try with this block range [{hex(first)}, {hex(suggested_hi)}]."
            )
            data = {"from": hex(first), "to": hex(suggested_hi), "limit": cap}
            return _Refusal(200, {"code": -32005, "message": message, "data": data})
        if self.style == "alchemy":
            message = (
                "Log response size exceeded. You can make eth_getLogs requests with up to a "
                f"{self.max_range or 2000} block range and no limit on the response size, or you "
                f"can request any block range with a cap of {cap} logs in the response. Based "
                "on your parameters and the response size limit, this block range should work: "
                f"[{hex(first)}, {hex(suggested_hi)}]"
            )
            return _Refusal(200, {"code": -32602, "message": message})
        return _Refusal(200, {"code": -32005, "message": f"query returned more than {cap} results"})


def _error(call_id: Any, error: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": call_id, "error": error}


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class _Handler(BaseHTTPRequestHandler):
    owner: RpcProxy
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as two writes

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        status, headers, out = self.owner.handle(body)
        self.send_response(status)
        content_type = "application/json" if out[:1] in (b"{", b"[") else "text/plain"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(out)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(out)

    def do_GET(self) -> None:
        body = b"POST JSON-RPC here\n"
        self.send_response(405)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: a proxy in a test run would flood the output."""


# ---------------------------------------------------------------- as a process


@dataclass
class ProxyProcess:
    """A proxy run by ``hessian node proxy`` in a child process (stop it with :meth:`stop`)."""

    url: str
    proc: subprocess.Popen

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the child by its PID: SIGTERM, then SIGKILL."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=timeout)


def start_proxy_process(
    upstream: str, port: int = 0, *, wait: float = 30.0, **options: Any
) -> ProxyProcess:
    """Run ``hessian node proxy`` on ``127.0.0.1:port`` (0: a free port it picks) and return
    once it listens; the URL is read from the line the command prints.

    ``options``: ``max_range``, ``max_results``, ``rate``, ``burst``, ``random_429``,
    ``seed``, ``style`` (as :class:`RpcProxy`). Stop it with :meth:`ProxyProcess.stop`.
    """
    cmd = [sys.executable, "-m", "hessian_cli", "node", "proxy", "--upstream", upstream,
           "--port", str(port)]  # fmt: skip
    for key, value in options.items():
        if value is not None:
            cmd += [f"--{key.replace('_', '-')}", str(value)]
    with tempfile.TemporaryFile() as errors:  # the child keeps its own descriptor
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors, text=True)
        timer = threading.Timer(wait, proc.kill)
        timer.start()
        try:
            line = proc.stdout.readline() if proc.stdout else ""
        finally:
            timer.cancel()
        match = re.match(r"proxy at (http://\S+) ", line)
        if match is None:
            proc.wait(timeout=10)
            errors.seek(0)
            err = errors.read().decode(errors="replace").strip()
            raise ChainUnavailable(
                f"proxy for {upstream} did not start (exit {proc.returncode}): {err or line}"
            )
    if proc.stdout is not None:
        proc.stdout.close()  # it prints nothing more
    return ProxyProcess(match.group(1), proc)
