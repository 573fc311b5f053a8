"""Kubo backend: a real IPFS node over its HTTP RPC API (``/api/v0/...``).

Every call is a ``POST`` (Kubo refuses ``GET`` on the RPC API) with a connect/read timeout.
Blobs are added with ``cid-version=1&raw-leaves=true`` and Kubo's default chunker, so Kubo's
CID equals :func:`~hessian_common.store.cid.cid_of` and is checked against it; bytes from
``cat`` are re-hashed before they are returned.

Local-only questions (``has``, ``pin``) are asked with ``offline=true`` so a CID the node does
not hold fails at once instead of searching the network; ``get`` may fetch from peers, bounded
by ``timeout`` (passed to Kubo as its ``timeout`` option too).
"""

from __future__ import annotations

import json
from typing import Any

import requests

from hessian_common.errors import (
    BlobNotFound,
    BlobTooLarge,
    StoreError,
    StoreIntegrityError,
    StoreUnavailable,
)
from hessian_common.store.base import ContentStore
from hessian_common.store.cid import CHUNK_SIZE, cid_of, parse_cid, verify
from hessian_common.types import CID

MAX_READ_BYTES = 1024 * 1024 * 1024
"""Most bytes a read takes from a Kubo node when the caller sets no smaller cap (1 GiB):
a blob named by a stranger must not exhaust this machine's memory."""

_NOT_FOUND_HINTS = ("not found", "context deadline exceeded", "no link named", "blockservice")


class KuboStore(ContentStore):
    """Content store backed by a Kubo node's HTTP RPC API.

    Parameters
    ----------
    url : str
        The RPC API base, e.g. ``http://127.0.0.1:5001`` (``$HESSIAN_KUBO_URL``).
    timeout : float, default 30.0
        Seconds allowed for each request (connect and read); a node that does not answer in
        time raises ``StoreUnavailable``.
    """

    def __init__(self, url: str, timeout: float = 30.0):
        self.url = url.rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            raise StoreUnavailable(f"Kubo URL must be http(s)://host:port, not {url!r}")
        self.timeout = float(timeout)
        self._http = requests.Session()

    def __repr__(self) -> str:
        return f"KuboStore({self.url!r})"

    def _call(
        self,
        command: str,
        params: dict[str, Any],
        files: dict[str, Any] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        endpoint = f"{self.url}/api/v0/{command}"
        try:
            resp = self._http.post(
                endpoint, params=params, files=files, timeout=self.timeout, stream=stream
            )
        except requests.Timeout as exc:
            raise StoreUnavailable(
                f"Kubo at {self.url} did not answer {command} within {self.timeout:g}s"
            ) from exc
        except requests.RequestException as exc:
            raise StoreUnavailable(
                f"cannot reach Kubo at {self.url} ({command}): {_reason(exc)}"
            ) from exc
        if resp.status_code == 200:
            return resp
        message = _error_message(resp)
        if resp.status_code == 500 and any(h in message.lower() for h in _NOT_FOUND_HINTS):
            raise BlobNotFound(f"Kubo at {self.url}: {params.get('arg')}: {message}")
        if resp.status_code in (404, 405):
            raise StoreUnavailable(
                f"{endpoint} answered HTTP {resp.status_code}: is {self.url} a Kubo RPC API?"
            )
        raise StoreError(
            f"Kubo at {self.url} refused {command} (HTTP {resp.status_code}): {message}"
        )

    def put(self, data: bytes) -> CID:
        """``ipfs add --cid-version=1 --raw-leaves --pin``; the returned CID is checked."""
        data = bytes(data)
        params = {
            "cid-version": "1",
            "raw-leaves": "true",
            "hash": "sha2-256",
            "chunker": f"size-{CHUNK_SIZE}",
            "pin": "true",
            "quieter": "true",
        }
        resp = self._call("add", params, files={"file": ("blob", data, "application/octet-stream")})
        try:
            last = [line for line in resp.text.splitlines() if line.strip()][-1]
            got = json.loads(last)["Hash"]
        except (IndexError, KeyError, ValueError) as exc:
            raise StoreError(
                f"Kubo at {self.url}: unexpected add response {resp.text[:200]!r}"
            ) from exc
        want = cid_of(data)
        if parse_cid(got) != want:
            raise StoreIntegrityError(
                f"Kubo at {self.url} named {len(data)} bytes {got}, expected {want}: "
                "the node uses another chunker or hash"
            )
        return want

    def get(self, cid: CID | str, max_bytes: int | None = None) -> bytes:
        """``ipfs cat CID`` (at most ``max_bytes + 1`` bytes: ``--length``), then re-hash the
        bytes against ``cid``."""
        cid = parse_cid(cid)
        if max_bytes is None:
            max_bytes = MAX_READ_BYTES
        params = {"arg": cid, "timeout": f"{self.timeout:g}s", "length": str(int(max_bytes) + 1)}
        resp = self._call("cat", params, stream=True)
        data = bytearray()
        try:  # a node that ignores --length is still read no further than max_bytes + 1
            for chunk in resp.iter_content(chunk_size=1 << 16):
                data += chunk
                if len(data) > max_bytes:
                    raise BlobTooLarge(f"{cid} holds more than the {max_bytes:,} bytes allowed")
        except requests.RequestException as exc:
            raise StoreUnavailable(f"Kubo at {self.url} broke off reading {cid}: {exc}") from exc
        finally:
            resp.close()
        return verify(cid, bytes(data))

    def has(self, cid: CID | str) -> bool:
        """Whether the node holds the (root) block locally: ``block/stat --offline``."""
        cid = parse_cid(cid)
        try:
            self._call("block/stat", {"arg": cid, "offline": "true"})
        except BlobNotFound:
            return False
        return True

    def pin(self, cid: CID | str) -> None:
        """``ipfs pin add --offline CID`` (the node must already hold it)."""
        cid = parse_cid(cid)
        self._call("pin/add", {"arg": cid, "offline": "true"})


def _error_message(resp: requests.Response) -> str:
    try:
        return str(resp.json().get("Message", resp.text))
    except ValueError:
        return resp.text.strip()[:200] or resp.reason


def _reason(exc: requests.RequestException) -> str:
    """A short cause (``connection refused``) instead of urllib3's nested repr."""
    text = str(exc)
    for hint in ("Connection refused", "Name or service not known", "No route to host"):
        if hint in text:
            return hint.lower()
    return type(exc).__name__
