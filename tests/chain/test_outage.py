"""Chain scopes: one failure per unit of work, short reads, the last known answer, words.

A small JSON-RPC server on 127.0.0.1 (a thread of this test) answers ``eth_chainId``,
``eth_blockNumber`` and ``eth_getBalance`` like a node, and can be made to *hang* (accept the
request, never answer) or refuse (closed port), and counts the requests it received, so the
tests assert how many requests a scope sends to a node that does not answer.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hessian_common.chain.client import connect, node_errors
from hessian_common.chain.outage import (
    LAST_KNOWN,
    chain_scope,
    describe_failure,
    fresh_reads,
    make_web3,
    probe_rpc,
)
from hessian_common.errors import ChainUnavailable
from tests.fixtures.procs import free_port


class FakeNode:
    """A JSON-RPC node in a thread: ``hang`` makes it accept requests and never answer."""

    def __init__(self, batches: bool = True) -> None:
        self.hang = False
        self.requests = 0
        self.block = 7
        self.batches = batches
        self.release = threading.Event()
        node = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                return

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                node.requests += 1
                if node.hang:
                    node.release.wait(30)
                    return
                if isinstance(body, list) and not node.batches:
                    reply = {"jsonrpc": "2.0", "id": None, "error": {"code": -32600}}
                elif isinstance(body, list):
                    reply = [node.answer(item) for item in body]
                else:
                    reply = node.answer(body)
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def answer(self, item: dict) -> dict:
        results = {
            "eth_chainId": hex(1337),
            "eth_blockNumber": hex(self.block),
            "eth_getBalance": hex(10**18 + self.block),
        }
        return {"jsonrpc": "2.0", "id": item["id"], "result": results[item["method"]]}

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def node() -> Iterator[FakeNode]:
    fake = FakeNode()
    yield fake
    fake.close()
    LAST_KNOWN.clear(fake.url)


ADDRESS = "0x" + "11" * 20


def test_a_hung_node_costs_a_scope_one_request(node):
    w3 = make_web3(node.url)
    node.hang = True
    with chain_scope(read_timeout=0.5) as scope:
        for _ in range(5):
            with pytest.raises(ChainUnavailable, match="running but not answering"):
                w3.eth.get_balance(ADDRESS)
    assert node.requests == 1  # one timeout, then every read of the scope fails at once
    assert "no reply within 0.5 s" in scope.down
    assert node.url in scope.down


def test_outside_a_scope_reads_behave_as_before(node):
    w3 = connect(node.url)
    assert w3.eth.get_balance(ADDRESS) == 10**18 + 7
    node.hang = True
    w3 = make_web3(node.url, timeout=0.3)
    with pytest.raises(ChainUnavailable, match="running but not answering"), node_errors(node.url):
        w3.eth.get_balance(ADDRESS)
    assert node.requests >= 2  # each read of its own (web3's retries included)


def test_a_page_shows_the_last_known_answer_and_says_how_old(node):
    w3 = make_web3(node.url)
    with chain_scope(read_timeout=0.5, stale_ok=True) as scope:
        assert w3.eth.get_balance(ADDRESS) == 10**18 + 7  # fresh, remembered
        assert scope.stale_since is None
    node.hang, node.block = True, 9
    with chain_scope(read_timeout=0.5, stale_ok=True) as scope:
        assert w3.eth.get_balance(ADDRESS) == 10**18 + 7  # the last known answer
        assert scope.down and scope.stale_since is not None
        with fresh_reads(), pytest.raises(ChainUnavailable):
            w3.eth.get_balance(ADDRESS)  # a caller that keeps its own record: no stale
        with pytest.raises(ChainUnavailable):
            w3.eth.get_balance("0x" + "22" * 20)  # never read: nothing to show
    with chain_scope(read_timeout=0.5, stale_ok=False), pytest.raises(ChainUnavailable):
        w3.eth.get_balance(ADDRESS)  # a write's checks: never stale


def test_the_probe_marks_a_scope_down_before_any_wait(node):
    w3 = make_web3(node.url)
    node.hang = True
    down = "the status bar says it is down"
    with (
        chain_scope(read_timeout=5, probe=lambda: down) as scope,
        pytest.raises(ChainUnavailable, match="status bar says"),
    ):
        w3.eth.get_balance(ADDRESS)
    assert node.requests == 0 and scope.down == "the status bar says it is down"


def test_probe_rpc_in_one_request_and_without_batches(node):
    found = probe_rpc(node.url, timeout=1)
    assert (found.chain_id, found.block) == (1337, 7)
    assert node.requests == 1
    plain = FakeNode(batches=False)
    try:
        found = probe_rpc(plain.url, timeout=1)
        assert (found.chain_id, found.block) == (1337, 7)
    finally:
        plain.close()
    node.hang = True
    with pytest.raises(ChainUnavailable, match="running but not answering"):
        probe_rpc(node.url, timeout=0.3)


def test_words_for_a_node_that_is_not_running():
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ChainUnavailable) as err:
        probe_rpc(url, timeout=1)
    assert "it is not running (connection refused)" in str(err.value)
    with pytest.raises(ChainUnavailable, match="not running"), chain_scope(read_timeout=1):
        make_web3(url).eth.get_block_number()


def test_describe_failure_covers_the_transport_errors():
    import requests

    url = "http://node"
    assert "did not accept a connection" in describe_failure(url, requests.ConnectTimeout())
    assert "not answering" in describe_failure(url, requests.ReadTimeout(), 3)
    assert "within 3 s" in describe_failure(url, requests.ReadTimeout(), 3)
    reply = requests.Response()
    reply.status_code = 503
    assert "HTTP 503" in describe_failure(url, requests.HTTPError(response=reply))
    assert "closed the connection" in describe_failure(
        url, requests.exceptions.ChunkedEncodingError("reset")
    )
