"""The whole lender path through the browser layer, on a real chain and store:
create (form) -> an owner submits through the library -> evaluate -> close -> reclaim ->
reveal -> audit -> withdraw, with chain state and balances checked at each step."""

from __future__ import annotations

import re

import pytest
from web3 import Web3

from hessian_common.chain import Reason, SubmissionStatus
from hessian_common.tasks.evaluate import BLOB_GRACE_MAX
from tests.company_app.helpers import create_form, csrf, wait_jobs
from tests.fixtures.lender import owner_submit

pytestmark = pytest.mark.slow

ETH = 10**18


def _model_id(response) -> int:
    match = re.search(r"/models/(\d+)$", response.headers["Location"])
    assert match, response.headers.get("Location")
    return int(match.group(1))


def test_create_submit_evaluate_close_reveal_audit(app, web, env, lender_data):
    lender_addr = env.accounts[0].address
    owner = env.accounts[1]
    before = env.w3.eth.get_balance(lender_addr)

    # Create through the form, uploading the CSV.
    token = csrf(web)
    form = create_form(token, data_path="")
    with open(lender_data["lender"], "rb") as fh:
        form["data_file"] = (fh, "lender.csv")
        resp = web.post("/models/new", data=form, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    model_id = _model_id(resp)

    info = env.repo.model(model_id)
    assert info.bounty == 10 * ETH and info.remaining == 10 * ETH
    assert info.submission_deposit == ETH // 100
    assert info.lender == lender_addr
    spent = before - env.w3.eth.get_balance(lender_addr)
    assert 10 * ETH < spent < 10 * ETH + ETH // 100  # bounty + gas

    page = web.get(f"/models/{model_id}").get_data(as_text=True)
    assert "Personal loans 2026" in page and "<svg" in page
    assert "No submission yet" in page

    # A data owner submits through the library.
    update_id = owner_submit(env, model_id, 1, lender_data["owners"][0])
    page = web.get(f"/models/{model_id}").get_data(as_text=True)
    assert f"#{update_id}" in page and "waiting" in page

    # Evaluate it (background job), then check the chain.
    resp = web.post(f"/models/{model_id}/evaluate/{update_id}", data={"csrf_token": csrf(web)})
    assert resp.status_code == 302
    jobs = wait_jobs(app)
    assert [j.state for j in jobs] == ["done"], [j.error for j in jobs]

    sub = env.repo.submission(update_id)
    info = env.repo.model(model_id)
    assert sub.status in (SubmissionStatus.ACCEPTED, SubmissionStatus.REJECTED)
    assert info.waiting_count == 0
    owner_pending = env.repo.pending(owner.address)
    if sub.status == SubmissionStatus.ACCEPTED:
        # Accepted unless significantly worse: the score may be a little lower; the chain
        # keeps the best score and pays only a gain above it.
        assert info.current_score == max(sub.new_score, info.initial_score)
        assert info.model_cid == sub.new_model_cid and env.store.has(info.model_cid)
        # IMPROVEMENT: bounty * gain / (target - initial) for a gain of at least the model's
        # minimum gain (else nothing), and the deposit back.
        gain = max(0, sub.new_score - info.initial_score)
        expected = 10 * ETH * gain // (info.target_score - info.initial_score)
        if gain < max(info.min_gain, 1):
            expected = 0
        assert sub.reward == expected
        assert owner_pending == expected + ETH // 100
    else:
        assert owner_pending == 0
    assert info.paid + info.remaining == info.bounty

    page = web.get(f"/models/{model_id}").get_data(as_text=True)
    assert "Rewards per owner" in page
    assert ("accepted" in page) or ("rejected" in page)
    assert web.get("/").status_code == 200

    # Close, reclaim the rest, reveal, audit.
    token = csrf(web)
    closing = {"csrf_token": token, "confirm": "yes"}
    assert web.post(f"/models/{model_id}/close", data=closing).status_code == 302
    assert env.repo.model(model_id).status == 1
    remaining = env.repo.model(model_id).remaining
    # no reclaim before the reveal: the audit comes first
    assert web.post(f"/models/{model_id}/reclaim", data={"csrf_token": token}).status_code == 409
    resp = web.post(f"/models/{model_id}/reveal", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/audit")
    info = env.repo.model(model_id)
    assert info.revealed and env.store.has(info.test_set_cid) and env.store.has(info.transcript_cid)
    audit = web.get(f"/models/{model_id}/audit").get_data(as_text=True)
    assert "matches" in audit and "consistent" in audit and "2 / 2" in audit

    assert web.post(f"/models/{model_id}/reclaim", data={"csrf_token": token}).status_code == 302
    assert env.repo.pending(lender_addr) == remaining
    assert env.repo.model(model_id).remaining == 0

    # Withdraw the reclaimed bounty.
    bal = env.w3.eth.get_balance(lender_addr)
    assert web.post("/account/withdraw", data={"csrf_token": token}).status_code == 302
    assert env.repo.pending(lender_addr) == 0
    assert env.w3.eth.get_balance(lender_addr) > bal + remaining - ETH // 100


def test_evaluate_all_and_garbage_blob_is_rejected(app, web, env, lender_data):
    """Two owners submit; the first points at a blob that is not in the store. "Evaluate all"
    waits for it during its grace period (the queue is in order: the real one waits behind
    it), then rejects it on chain as unavailable (its deposit is forfeited) and evaluates the
    real one."""
    token = csrf(web)
    resp = web.post("/models/new", data=create_form(token, lender_data["lender"]))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    model_id = _model_id(resp)

    bogus_cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    deposit = env.repo.model_deposit(model_id)
    bad = env.owner_repo(2).submit_update(model_id, bogus_cid, Web3.keccak(text="x"), 50)
    good = owner_submit(env, model_id, 1, lender_data["owners"][1])
    assert env.repo.model(model_id).waiting_count == 2 and deposit > 0

    resp = web.post(f"/models/{model_id}/evaluate-all", data={"csrf_token": csrf(web)})
    assert resp.status_code == 302
    jobs = wait_jobs(app)
    assert [j.state for j in jobs] == ["done"], [j.error for j in jobs]
    assert env.repo.model(model_id).waiting_count == 2  # the blob may still arrive

    env.chain_time.advance(BLOB_GRACE_MAX + 1)
    resp = web.post(f"/models/{model_id}/evaluate-all", data={"csrf_token": csrf(web)})
    jobs = wait_jobs(app)
    assert all(j.state == "done" for j in jobs), [j.error for j in jobs]
    assert env.repo.submission(bad).status == SubmissionStatus.REJECTED
    assert env.repo.submission(bad).reason == Reason.UNAVAILABLE
    assert env.repo.submission(good).status != SubmissionStatus.WAITING
    assert env.repo.pending(env.accounts[2].address) == 0  # deposit forfeited
    assert env.repo.escrow(model_id)["deposits_forfeited"] == deposit


def test_auto_evaluation_follows_new_submissions(app, web, env, lender_data):
    from company_app import worker

    token = csrf(web)
    resp = web.post("/models/new", data=create_form(token, lender_data["lender"]))
    model_id = _model_id(resp)
    resp = web.post(f"/models/{model_id}/auto", data={"csrf_token": csrf(web)})
    assert resp.status_code == 302 and worker.is_auto(app, model_id)
    w = app.extensions["company_worker"]
    w.stop()  # drive the worker by hand, deterministically
    assert w.tick() == []

    update_id = owner_submit(env, model_id, 3, lender_data["owners"][2])
    assert w.tick() == [update_id]
    assert w.tick() == []  # claimed while the job runs or already done: not queued twice
    jobs = wait_jobs(app)
    assert all(j.state == "done" for j in jobs), [j.error for j in jobs]
    assert env.repo.submission(update_id).status != SubmissionStatus.WAITING
    page = web.get(f"/models/{model_id}").get_data(as_text=True)
    assert "Auto-evaluate: on" in page


def test_auto_evaluation_backs_off_a_missing_blob_then_rejects_it(app, web, env, lender_data):
    """A head whose blob is not in the store is tried again later with a growing pause, never
    in a tight loop; once its grace period is over it is rejected on chain and the next one
    goes."""

    resp = web.post("/models/new", data=create_form(csrf(web), lender_data["lender"]))
    model_id = _model_id(resp)
    web.post(f"/models/{model_id}/auto", data={"csrf_token": csrf(web)})
    w = app.extensions["company_worker"]
    w.stop()  # drive the worker by hand
    bogus_cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"
    bad = env.owner_repo(2).submit_update(model_id, bogus_cid, Web3.keccak(text="y"), 50)
    good = owner_submit(env, model_id, 1, lender_data["owners"][1])

    assert w.tick() == [bad]
    [job] = wait_jobs(app)
    assert job.state == "done" and job.result.startswith("waiting for the blob"), job.result
    assert w.tries[bad] == 1 and w.not_before[bad] > 0
    assert [w.tick() for _ in range(5)] == [[]] * 5  # paused: not queued again at once
    w.not_before[bad] = 0.0  # the pause is over
    assert w.tick() == [bad]
    wait_jobs(app)
    assert w.tries[bad] == 2  # a longer pause next time
    assert env.repo.submission(bad).status == SubmissionStatus.WAITING

    env.chain_time.advance(BLOB_GRACE_MAX + 1)
    w.not_before[bad] = 0.0
    assert w.tick() == [bad]
    wait_jobs(app)
    sub = env.repo.submission(bad)
    assert sub.status == SubmissionStatus.REJECTED and sub.reason == Reason.UNAVAILABLE
    assert bad not in w.tries and bad not in w.not_before
    assert w.tick() == [good]  # the queue moves on
    wait_jobs(app)
    assert env.repo.submission(good).status != SubmissionStatus.WAITING


def test_one_progress_line_per_job_and_no_second_evaluation_while_one_runs(
    app, web, env, lender_data
):
    """While an evaluation of the model runs, its page shows one banner per job whose one
    line is the job's own (what jobs.js keeps updating), and every Evaluate button is
    disabled; a second "Evaluate all" is refused and starts nothing."""
    import threading

    from hessian_common.web import jobs

    resp = web.post("/models/new", data=create_form(csrf(web), lender_data["lender"]))
    model_id = _model_id(resp)
    update_id = owner_submit(env, model_id, 1, lender_data["owners"][0])
    gate = threading.Event()

    def running(progress):
        progress.update(done=0, total=2, message="evaluating update #1 (1 of 2)")
        gate.wait(30)

    job = jobs(app).submit("Evaluate 2 waiting update(s)", running, tags={"model": str(model_id)})
    try:
        page = web.get(f"/models/{model_id}").get_data(as_text=True)
        banners = re.findall(r'<div class="job[^"]*" data-job="[^"]+"[^>]*>(.*?)</div>', page, re.S)
        assert len(banners) == 1
        [line] = re.findall(r'<span class="job-message">([^<]*)</span>', banners[0])
        assert line == jobs(app).get(job.id).line
        assert line == "Evaluate 2 waiting update(s): running (0/2) — evaluating update #1 (1 of 2)"
        assert re.sub(r"<[^>]+>", "", banners[0]).strip() == line  # nothing else in it
        buttons = re.findall(r"<button[^>]*>Evaluate[^<]*</button>", page)
        assert buttons and all("disabled" in b for b in buttons), buttons
        token = csrf(web, f"/models/{model_id}")
        resp = web.post(f"/models/{model_id}/evaluate-all", data={"csrf_token": token})
        assert resp.status_code == 302
        assert len(jobs(app).active(model=str(model_id))) == 1
        assert "already running" in web.get(f"/models/{model_id}").get_data(as_text=True)
        assert env.repo.submission(update_id).status == SubmissionStatus.WAITING
    finally:
        gate.set()
        jobs(app).wait(job.id, timeout=30)
    page = web.get(f"/models/{model_id}").get_data(as_text=True)
    assert not [
        b for b in re.findall(r"<button[^>]*>Evaluate[^<]*</button>", page) if "disabled" in b
    ]


def test_manual_reject_from_the_page(app, web, env, lender_data):
    """The lender rejects the head by hand with a reason: an empty reason or a submission that
    is not next changes nothing; the reason goes on chain as MANUAL and into the record."""
    resp = web.post("/models/new", data=create_form(csrf(web), lender_data["lender"]))
    model_id = _model_id(resp)
    first = owner_submit(env, model_id, 1, lender_data["owners"][0])
    second = owner_submit(env, model_id, 2, lender_data["owners"][1])

    empty = {"csrf_token": csrf(web), "note": ""}
    resp = web.post(f"/models/{model_id}/reject/{first}", data=empty)
    assert resp.status_code == 302
    assert "Say why" in web.get(f"/models/{model_id}").get_data(as_text=True)
    form = {"csrf_token": csrf(web), "note": "rows from a file I know is copied"}
    web.post(f"/models/{model_id}/reject/{second}", data=form)
    assert "is not next" in web.get(f"/models/{model_id}").get_data(as_text=True)
    assert env.repo.model(model_id).waiting_count == 2

    web.post(f"/models/{model_id}/reject/{first}", data={**form, "csrf_token": csrf(web)})
    sub = env.repo.submission(first)
    assert sub.status == SubmissionStatus.REJECTED and sub.reason == Reason.MANUAL
    from company_app import services

    [entry] = services.lender(app).record(model_id).evaluations
    assert entry["reason"] == "rows from a file I know is copied"
    assert env.repo.submission(second).status == SubmissionStatus.WAITING
