"""hessian_common.web: secret key at rest, CSRF, headers, error pages, jobs with progress."""

from __future__ import annotations

import os
import stat

import pytest
from flask import Flask

from hessian_common.errors import ChainUnavailable, ConfigError, DataError, StoreUnavailable
from hessian_common.web import JobRunner, init_web, jobs, probe_status, secret_key_for, serve


def make_app(tmp_path, **config) -> Flask:
    app = Flask(__name__)
    app.config.update(TESTING=True, **config)
    init_web(app, state_dir=tmp_path / "state", status=lambda: probe_status(None, None))

    @app.get("/boom/<kind>")
    def boom(kind: str):
        raise {
            "chain": ChainUnavailable("node at http://127.0.0.1:1 is unreachable"),
            "store": StoreUnavailable("store down"),
            "data": DataError("row 3, column int_rate: not a number"),
            "bug": RuntimeError("secret internals 0xdeadbeef"),
        }[kind]

    @app.post("/form")
    def form():
        return "ok"

    return app


def test_secret_key_file_is_created_private_and_reused(tmp_path):
    key = secret_key_for(tmp_path / "s")
    path = tmp_path / "s" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(key) == 32 and secret_key_for(tmp_path / "s") == key
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="0600"):
        secret_key_for(tmp_path / "s")


def test_secure_defaults_and_headers(tmp_path):
    app = make_app(tmp_path)
    assert app.config["WTF_CSRF_ENABLED"] is True
    assert app.config["MAX_CONTENT_LENGTH"] == 64 * 1024 * 1024
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    resp = app.test_client().get("/_web/status")
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]
    assert resp.get_json()["chain"]["ok"] is False  # probe reports, never raises


def test_post_without_csrf_token_is_refused(tmp_path):
    resp = make_app(tmp_path).test_client().post("/form", data={"x": "1"})
    assert resp.status_code == 400
    assert "Form expired" in resp.get_data(as_text=True)


def test_foreign_hosts_and_cross_site_posts_are_refused(tmp_path, monkeypatch):
    """DNS rebinding: a page at evil.example re-pointed to 127.0.0.1 reaches the app's port but
    sends ``Host: evil.example``; and no other site may post to the app (it has no login)."""
    app = make_app(tmp_path, WTF_CSRF_ENABLED=False)
    web = app.test_client()
    assert web.get("/_web/status").status_code == 200  # Host: localhost
    assert web.get("/_web/status", base_url="http://127.0.0.1:5000").status_code == 200
    assert web.get("/_web/status", base_url="http://evil.example:5000").status_code == 400
    post = {"data": {"x": "1"}}
    assert web.post("/form", **post).status_code == 200  # no Origin: not from a browser page
    same = {"Origin": "http://localhost"}
    assert web.post("/form", headers=same, **post).status_code == 200
    for origin in ("http://evil.example", "http://localhost:6666", "https://localhost"):
        r = web.post("/form", headers={"Origin": origin}, **post)
        assert r.status_code == 403, origin
    r = web.post("/form", headers={"Referer": "http://evil.example/page"}, **post)
    assert r.status_code == 403
    # a name the operator serves the app under is trusted when configured
    monkeypatch.setenv("HESSIAN_TRUSTED_HOSTS", "lender.example")
    named = make_app(tmp_path / "b", WTF_CSRF_ENABLED=False).test_client()
    assert named.get("/_web/status", base_url="http://lender.example").status_code == 200
    assert named.get("/_web/status", base_url="http://evil.example").status_code == 400


@pytest.mark.parametrize(
    ("kind", "status", "text"),
    [
        ("chain", 503, "The chain is unreachable"),
        ("store", 503, "The content store is unreachable"),
        ("data", 400, "row 3, column int_rate"),
        ("bug", 500, "Internal error"),
    ],
)
def test_error_pages(tmp_path, kind, status, text):
    resp = make_app(tmp_path).test_client().get(f"/boom/{kind}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == status and text in html
    assert "Traceback" not in html and "0xdeadbeef" not in html


def test_error_as_json_when_asked(tmp_path):
    resp = (
        make_app(tmp_path).test_client().get("/boom/chain", headers={"Accept": "application/json"})
    )
    assert resp.status_code == 503 and "unreachable" in resp.get_json()["error"]


def test_jobs_report_progress_and_errors(tmp_path):
    app = make_app(tmp_path)
    runner = jobs(app)

    def work(progress, n):
        for i in range(n):
            progress.update(done=i + 1, total=n, message=f"step {i + 1}")
        return "fine"

    def fails(progress):
        raise DataError("bad row 7")

    def crashes(progress):
        raise RuntimeError("internal secret")

    ok = runner.wait(runner.submit("work", work, 3, tags={"model": "1"}).id)
    assert (ok.state, ok.done, ok.total, ok.result) == ("done", 3, 3, "fine")
    assert runner.wait(runner.submit("fails", fails).id).error == "bad row 7"
    crashed = runner.wait(runner.submit("crashes", crashes).id)
    assert crashed.state == "failed" and "internal secret" not in crashed.error
    assert [j.name for j in runner.list(model="1")] == ["work"]

    web = app.test_client()
    data = web.get(f"/_web/jobs/{ok.id}").get_json()
    assert data["state"] == "done" and data["fraction"] == 1.0 and data["result"] == "fine"
    assert web.get("/_web/jobs/nope").status_code == 404


def test_shared_assets_are_local(tmp_path):
    web = make_app(tmp_path).test_client()
    for name in ("hessian.css", "jobs.js"):
        resp = web.get(f"/_web/static/{name}")
        assert resp.status_code == 200
        body = resp.get_data(as_text=True)
        assert "http://" not in body and "https://" not in body  # no CDN, no internet


def test_job_runner_wait_times_out():
    import threading

    gate = threading.Event()
    runner = JobRunner()
    job = runner.submit("slow", lambda progress: gate.wait(5))
    with pytest.raises(TimeoutError):
        runner.wait(job.id, timeout=0.1)
    gate.set()
    assert runner.wait(job.id).state == "done"
    runner.shutdown()


def test_serve_refuses_a_bad_port(tmp_path):
    with pytest.raises(ConfigError):
        serve(make_app(tmp_path), port=0)
