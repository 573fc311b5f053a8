"""The dashboard in headless Chromium: create a task through the real form, evaluate a
submission and watch the progress (jobs.js polls the JSON endpoint), then the page reloads
with the verdict."""

from __future__ import annotations

import threading

import pytest

from tests.fixtures.lender import owner_submit
from tests.fixtures.procs import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def served(app):
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=free_port(), threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()


def test_create_and_evaluate_in_the_browser(served, page, env, lender_data):
    page.goto(served + "/")
    assert "No model yet" in page.content()
    assert page.locator(".statusbar .pill.ok").count() == 2

    page.click("text=New training task")
    page.fill("#name", "Browser task")
    page.fill("#bounty_eth", "3")
    page.fill("#target", "0.9")
    page.select_option("#key_size", "512")
    page.fill("#data_path", str(lender_data["lender"]))
    page.click("button:has-text('Create task')")
    page.wait_for_url("**/models/1")
    assert "Browser task" in page.inner_text("h1")
    assert page.locator(".chart svg").count() == 1

    owner_submit(env, 1, 1, lender_data["owners"][0])
    page.reload()
    with page.expect_navigation():
        page.click("button:has-text('Evaluate all waiting')")
    page.wait_for_function(
        "() => !document.querySelector('.job') && "
        "document.querySelector('td .badge.accepted, td .badge.rejected')",
        timeout=60_000,
    )
    status = page.locator("td .badge").first.inner_text()
    assert status in ("accepted", "rejected")
    assert env.repo.model(1).waiting_count == 0


def test_create_errors_show_on_the_form(served, page, env):
    page.goto(served + "/models/new")
    page.fill("#name", "x")
    page.fill("#bounty_eth", "0")
    page.fill("#target", "2")
    page.click("button:has-text('Create task')")
    text = page.inner_text("form")
    assert "Nothing was sent" in page.content()
    assert "more than 0 ETH" in text and "between 3 and 80" in text
    assert "Upload a CSV file or give a path" in text
    assert env.repo.model_count() == 0


def test_long_job_shows_progress_then_reloads(served, app, page, env, lender_data):
    """jobs.js fills the progress bar from /_web/jobs/<id> and reloads when the job ends."""
    from hessian_common.web import jobs

    page.goto(served + "/models/new")
    page.fill("#name", "Progress task")
    page.fill("#bounty_eth", "2")
    page.fill("#target", "0.9")
    page.select_option("#key_size", "512")
    page.fill("#data_path", str(lender_data["lender"]))
    page.click("button:has-text('Create task')")
    page.wait_for_url("**/models/1")

    gate = threading.Event()

    def slow(progress):
        progress.update(done=1, total=4, message="decrypting")
        gate.wait(30)
        progress.update(done=4, message="done")
        return "ok"

    jobs(app).submit("Slow evaluation", slow, tags={"model": "1"})
    page.reload()
    page.wait_for_function(
        "() => { const el = document.querySelector('.job');"
        " return el && el.textContent.includes('decrypting') && el.querySelector('progress')"
        " && el.querySelector('progress').value === 0.25; }"
    )
    gate.set()
    page.wait_for_function("() => !document.querySelector('.job')", timeout=30_000)
    assert "Progress task" in page.inner_text("h1")
