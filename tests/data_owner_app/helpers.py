"""Small helpers for driving the app through Flask's test client."""

from __future__ import annotations

import io
from pathlib import Path

from hessian_common.web import jobs


def upload(client, model_id: int, data: bytes, name: str = "loans.csv"):
    """POST a file to the share form; returns the response (not followed)."""
    return client.post(
        f"/models/{model_id}/share",
        data={"upload": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def upload_file(client, model_id: int, path: Path):
    """Upload a file from disk."""
    return upload(client, model_id, path.read_bytes(), path.name)


def token_of(response) -> str:
    """The staging token from the redirect to the preview page."""
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    location = response.headers["Location"]
    assert "/share/" in location
    return location.rsplit("/", 1)[-1]


def train_and_submit(client, app, token: str, timeout: float = 120.0):
    """Confirm, start the background job and wait for it; returns the finished job."""
    r = client.post(f"/share/{token}/submit", data={"confirm": "y"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/progress"), r.headers
    page = client.get(r.headers["Location"])
    assert page.status_code == 200
    runner = jobs(app)
    [job] = runner.list(token=token)
    return runner.wait(job.id, timeout=timeout)
