"""The browser tooling itself: Debian Chromium starts under Playwright and renders a page."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = pytest.mark.browser


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self):
        body = (
            b"<html><body><h1 id='t'>Hessian</h1>"
            b"<button onclick=\"this.textContent='ok'\">go</button></body></html>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_chromium_renders_and_clicks(page):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/")
        assert page.inner_text("#t") == "Hessian"
        page.click("button")
        assert page.inner_text("button") == "ok"
    finally:
        server.shutdown()
        server.server_close()
