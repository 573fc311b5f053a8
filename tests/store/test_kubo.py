"""Kubo backend: failures are clear and fast; against a real Kubo node, CIDs equal ours."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hessian_common.errors import BlobNotFound, BlobTooLarge, StoreError, StoreUnavailable
from hessian_common.store import CHUNK_SIZE, KuboStore, cid_of
from tests.fixtures.procs import free_port


def _calls(store: KuboStore):
    cid = cid_of(b"x")
    return [
        lambda: store.put(b"x"),
        lambda: store.get(cid),
        lambda: store.has(cid),
        lambda: store.pin(cid),
    ]


def test_connection_refused_is_store_unavailable_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}"
    store = KuboStore(url, timeout=5)
    for call in _calls(store):
        with pytest.raises(StoreUnavailable, match=f"{url}.*connection refused"):
            call()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A TCP port that accepts connections and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        yield s.getsockname()[1]


def test_node_that_does_not_answer_times_out(silent_port):
    store = KuboStore(f"http://127.0.0.1:{silent_port}", timeout=0.5)
    with pytest.raises(StoreUnavailable, match="did not answer"):
        store.put(b"x")


class _NotKubo(BaseHTTPRequestHandler):
    def do_POST(self):
        self.send_response(404)
        self.end_headers()
        self.wfile.write(b"404 page not found")

    def log_message(self, *args):
        pass


@pytest.fixture
def plain_http_server() -> Iterator[str]:
    """A real HTTP server that is not an IPFS node."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NotKubo)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_url_that_is_not_kubo(plain_http_server):
    store = KuboStore(plain_http_server, timeout=5)
    for call in _calls(store):
        with pytest.raises(StoreUnavailable, match="Kubo RPC API"):
            call()


def test_url_must_be_http():
    with pytest.raises(StoreUnavailable, match="http"):
        KuboStore("127.0.0.1:5001")


# --- against a real Kubo HTTP RPC node ($HESSIAN_TEST_KUBO_URL) ---------------------------


@pytest.mark.kubo
@pytest.mark.parametrize("size", [0, 11, CHUNK_SIZE, CHUNK_SIZE * 3 + 17])
def test_real_kubo_round_trip_and_cids_equal_ours(kubo_url, size):
    store = KuboStore(kubo_url, timeout=30)
    data = os.urandom(size)
    cid = store.put(data)
    assert cid == cid_of(data)
    assert store.has(cid)
    assert store.get(cid) == data
    store.pin(cid)


@pytest.mark.kubo
def test_real_kubo_missing_blob(kubo_url):
    store = KuboStore(kubo_url, timeout=5)
    cid = cid_of(os.urandom(64))
    assert not store.has(cid)
    with pytest.raises(BlobNotFound):
        store.pin(cid)
    with pytest.raises(StoreError):
        store.get(cid)


class _Flood(BaseHTTPRequestHandler):
    """A node that ignores ``--length`` and sends bytes for ever on ``cat``."""

    def do_POST(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        try:
            for _ in range(10_000):  # 640 MB if the client read it all
                self.wfile.write(b"x" * 65536)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def test_a_node_that_ignores_the_length_is_read_no_further_than_the_cap():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flood)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        store = KuboStore(f"http://127.0.0.1:{server.server_address[1]}", timeout=10)
        with pytest.raises(BlobTooLarge, match="more than the 100,000 bytes"):
            store.get(cid_of(b"x"), max_bytes=100_000)
    finally:
        server.shutdown()
        server.server_close()
