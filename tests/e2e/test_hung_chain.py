"""A hung chain: the node's process is alive but answers nothing (SIGSTOP by its PID).

Before the fix every page waited a timeout (with retries) per chain read: 1.5–2.5 minutes,
then a raw ``Read timed out`` and the wrong command. Now every page of both apps answers
within a few seconds, says in words what is down and the command to run, and shows the last
known state, marked as such; "My submissions" shows the last known status of each submission
(accepted, rejected, waiting), never a guessed one; "Train and submit" during the outage
journals the submission within seconds and it lands exactly once when the node continues.

One world for the module: a real Ganache (its own, paused and continued with SIGSTOP /
SIGCONT), ``ModelRepository`` + ``LoanBook``, the company app (dev account 0) and a data-owner
app (dev account 1) served by waitress on 127.0.0.1, a deployed lending model with one offer,
and a training task with three submissions of the owner: accepted, rejected, waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hessian_common.chain.client import ChainClient, connect, dev_account
from hessian_common.chain.deploy import deploy_loanbook, deploy_repository
from hessian_common.store import EmbeddedStore
from tests.data_owner_app.test_borrow import GOOD
from tests.fixtures.chain import RestartableGanache
from tests.fixtures.procs import free_port

pytestmark = [pytest.mark.ganache, pytest.mark.slow]

PASSPHRASE = "hung-chain-test-passphrase"
COMMAND = "hessian node start --port 9999 --state-dir /somewhere/chain"
"""What the apps are told restarts their chain (the demo sets its own command)."""

PAGE_BUDGET = 10.0
"""A page must answer within this many seconds while the node hangs (a timeout, not a
benchmark: before the fix a page took 90 to 150 s)."""

OWNER_PAGES = [
    "/",
    "/models/",
    "/models/{task}",
    "/submissions/",
    "/borrow/",
    "/borrow/loans",
    "/borrow/loans/{loan}",
    "/borrow/apply/{lending}",
]
COMPANY_PAGES = [
    "/",
    "/models/{task}",
    "/account/",
    "/lending/",
    "/lending/applications",
    "/lending/loans",
]


@dataclass
class World:
    node: RestartableGanache
    company: Any
    owner: Any
    company_url: str
    owner_url: str
    task: int
    lending: int
    loan: int
    accepted: int
    rejected: int
    waiting: int
    data: Path
    servers: list

    def pages(self) -> list[str]:
        ids = {"task": self.task, "loan": self.loan, "lending": self.lending}
        return [self.owner_url + p.format(**ids) for p in OWNER_PAGES] + [
            self.company_url + p.format(**ids) for p in COMPANY_PAGES
        ]


def _serve(app: Any) -> tuple[str, Any]:
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=free_port(), threads=6)
    threading.Thread(target=server.run, daemon=True).start()
    return f"http://127.0.0.1:{server.effective_port}", server


def _build(tmp: Path) -> World:
    from company_app import create_app as company_app
    from company_app import services
    from data_owner_app import create_app as owner_app
    from hessian_common import owner
    from hessian_common.config import load_settings
    from hessian_common.data import generate_loans, generate_split, write_export
    from hessian_common.lending import borrower
    from hessian_common.lending.application import application_from_row
    from hessian_common.lending.desk import LendingDesk
    from hessian_common.simulation.misbehave import label_flip
    from hessian_common.tasks import TaskParams
    from tests.fixtures.lending import closed_lending_model

    node = RestartableGanache(tmp / "ganache")
    node.start()
    client = ChainClient(connect(node.url), dev_account(0))
    repo_address = deploy_repository(client, record=False)
    book_address = deploy_loanbook(client, repo_address, record=False)
    store = EmbeddedStore(tmp / "store")
    data = tmp / "data"
    generate_split(data, 3000, 3, 5, seed_fraction=0.3, holdout_fraction=0.2)
    write_export(label_flip(generate_loans(800, 77)), data / "flipped.csv")

    company = company_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "HESSIAN_HOME": tmp / "company-home",
            "RPC_URL": node.url,
            "STORE_OBJ": store,
            "CONTRACT_ADDRESS": repo_address,
            "LOANBOOK_ADDRESS": book_address,
            "ACCOUNT_DEV_INDEX": 0,
            "COMPANY_PASSPHRASE": PASSPHRASE,
            "KEY_SIZES": (512,),
            "DEFAULT_KEY_SIZE": 512,
            "HESSIAN_STATUS_TTL": 1.0,
            "HESSIAN_CHAIN_COMMAND": COMMAND,
        }
    )
    lender = services.lender(company)
    desk = LendingDesk(lender, services.loanbook(company))
    lending = closed_lending_model(
        lender, data / "lender_seed.csv", name="Hung chain lending model", desk=desk
    )
    task = lender.create_task(
        TaskParams(
            name="Hung chain training task",
            bounty_wei=2 * 10**18,
            metric="auc",
            target=0.99,
            mechanism="improvement",
            deadline=int(time.time()) + 7 * 86400,
            evaluation_window=86400,
            deposit_wei=10**16,
            key_size=512,
            update_rule="newton",
            data_path=data / "lender_seed.csv",
            holdout_fraction=0.5,
        )
    ).model_id

    owner_app_ = owner_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "HESSIAN_SETTINGS": load_settings(home=tmp / "owner-home", rpc_url=node.url),
            "OWNER_STATE_DIR": tmp / "owner",
            "OWNER_ACCOUNT": "dev:1",
            "OWNER_REPO_ADDRESS": repo_address,
            "OWNER_LOANBOOK_ADDRESS": book_address,
            "OWNER_STORE": store,
            "OWNER_WORKER": False,  # started below, once the world's submissions are in
            "OWNER_BACKOFF_BASE": 0.5,
            "HESSIAN_STATUS_TTL": 1.0,
            "HESSIAN_CHAIN_COMMAND": COMMAND,
        }
    )
    svc = owner_app_.extensions["owner"]
    ids = {}
    for name in ("owner_01.csv", "flipped.csv", "owner_02.csv"):
        entry = owner.share(
            svc.journal,
            store,
            lambda: svc.repo,
            model=task,
            path=data / name,
            account=svc.account,
            label=name,
        )
        ids[name] = entry.update_id
    accepted = lender.evaluate_submission(ids["owner_01.csv"])
    rejected = lender.evaluate_submission(ids["flipped.csv"])
    assert accepted.accepted and not rejected.accepted, (accepted, rejected)

    # the journal's retry worker runs, as in the real app (started after the set-up's own
    # submissions: the race between the two is the journal's business, not this test's)
    svc.start_worker(1.0)

    # one application from the owner (as a borrower), offered by the lender
    row = generate_loans(5, 91).iloc[0].to_dict()
    application = application_from_row(row)
    loan = borrower.apply(svc.loanbook, store, lending, application, state_dir=svc.borrow_dir)
    desk.decide(loan, approve=True)

    company_url, company_server = _serve(company)
    owner_url, owner_server = _serve(owner_app_)
    return World(
        node=node,
        company=company,
        owner=owner_app_,
        company_url=company_url,
        owner_url=owner_url,
        task=task,
        lending=lending,
        loan=loan,
        accepted=ids["owner_01.csv"],
        rejected=ids["flipped.csv"],
        waiting=ids["owner_02.csv"],
        data=data,
        servers=[company_server, owner_server],
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Iterator[World]:
    from hessian_common.web import jobs

    w = _build(tmp_path_factory.mktemp("hung"))
    try:
        yield w
    finally:
        for server in w.servers:
            server.close()
        w.owner.extensions["owner"].worker.stop()
        for app in (w.owner, w.company):
            jobs(app).shutdown(wait=True)
        w.node.stop()


def _get(url: str) -> tuple[int, str]:
    import requests

    reply = requests.get(url, timeout=PAGE_BUDGET)
    return reply.status_code, reply.text


def _warm(world: World) -> None:
    """Every page once while the node answers (what a user had open before the hang)."""
    for url in world.pages():
        status, body = _get(url)
        assert status == 200, (url, body[-800:])
        assert "The chain is not answering" not in body


def _wait_until_down_seen(world: World) -> None:
    """Let the status probes' cache (1 s) expire, so the next page probes the paused node."""
    time.sleep(1.2)


def _resume(world: World) -> None:
    """SIGCONT the node, wait until it answers again, and let the probes' cache expire."""
    from hessian_common.chain.outage import probe_rpc
    from hessian_common.errors import ChainUnavailable

    world.node.resume()
    deadline = time.monotonic() + 60
    while True:
        try:
            probe_rpc(world.node.url, timeout=2)
            break
        except ChainUnavailable:
            assert time.monotonic() < deadline, "the node did not answer after SIGCONT"
    time.sleep(1.2)


def test_every_page_answers_in_words_with_the_last_known_state(world):
    _warm(world)
    world.node.pause()
    try:
        _wait_until_down_seen(world)
        for url in world.pages():
            status, body = _get(url)  # requests' timeout = PAGE_BUDGET: a hang fails here
            assert status == 200, (url, status, body[-1500:])
            assert "The chain is not answering" in body, url
            assert "running but not answering" in body, url
            assert COMMAND in body and "kill -CONT" in body, url
            assert "You are seeing the last known state" in body, url
            assert "Read timed out" not in body and "HTTPConnectionPool" not in body, url
        # the owner's submissions: the last known statuses, never guessed
        status, body = _get(world.owner_url + "/submissions/")
        rows = body.split("<tbody>", 1)[1].split("</tbody>", 1)[0].split("<tr>")[1:]
        by_label = {r.split("<td>")[3].split("<div")[0].strip(): r for r in rows}
        assert "Accepted" in by_label["owner_01.csv"]
        assert "Rejected" in by_label["flipped.csv"]
        assert "Waiting for evaluation" in by_label["owner_02.csv"]
        for row in by_label.values():
            assert "last known" in row
        assert "Hung chain training task" in body  # the model's name, not "Model 1"
    finally:
        _resume(world)
    status, body = _get(world.owner_url + "/submissions/")
    assert status == 200 and "The chain is not answering" not in body
    assert "last known" not in body.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def test_actions_are_refused_fast_and_nothing_is_sent(world):
    import requests

    before = world.company.extensions["company_lender"].repo.model(world.task)
    _warm(world)
    world.node.pause()
    try:
        _wait_until_down_seen(world)
        r = requests.post(
            world.company_url + f"/models/{world.task}/close",
            data={"confirm": "yes"},
            timeout=PAGE_BUDGET,
        )
        assert r.status_code == 503
        assert "running but not answering" in r.text and "Nothing was sent" in r.text
        assert COMMAND in r.text
        r = requests.post(world.owner_url + "/withdraw", timeout=PAGE_BUDGET)
        assert r.status_code == 503 and "Nothing was sent" in r.text
        # "Seal and send" of a loan application: refused at once, the answers kept
        r = requests.post(
            world.owner_url + f"/borrow/apply/{world.lending}",
            data={**GOOD, "loan_amnt": "5100"},
            timeout=PAGE_BUDGET,
        )
        assert r.status_code == 503 and "Your answers are kept on this machine" in r.text
        draft = world.owner.extensions["owner"].borrow_dir / "drafts"
        assert (draft / f"model-{world.lending}.json").is_file()
    finally:
        _resume(world)
    after = world.company.extensions["company_lender"].repo.model(world.task)
    assert after.status == before.status  # still open: the close was not sent
    book = world.owner.extensions["owner"].loanbook
    assert [loan.loan_id for loan in book.loans(model_id=world.lending)] == [world.loan]


def test_train_and_submit_during_the_hang_lands_once(world):
    from hessian_common.chain.repository import ModelRepository
    from hessian_common.journal import State
    from hessian_common.web import jobs
    from tests.data_owner_app.helpers import token_of, upload_file

    app = world.owner
    svc = app.extensions["owner"]
    web = app.test_client()
    token = token_of(upload_file(web, world.task, world.data / "owner_03.csv"))
    world.node.pause()
    try:
        _wait_until_down_seen(world)
        r = web.post(f"/share/{token}/submit", data={"confirm": "y"})
        assert r.status_code == 302
        [job] = jobs(app).list(token=token)
        job = jobs(app).wait(job.id, timeout=60)  # not minutes: one job timeout, then journal
        assert job.state == "done", job.error
        entry = svc.journal.get(job.result)
        assert entry.state in (State.PREPARED, State.SENT) and entry.update_id is None
        page = web.get("/submissions/").get_data(as_text=True)
        assert "owner_03.csv" in page and "Waiting for chain" in page
    finally:
        _resume(world)
    deadline = time.monotonic() + 60
    while svc.journal.get(entry.id).state is not State.PUBLISHED:
        assert time.monotonic() < deadline, svc.journal.get(entry.id)
        time.sleep(0.5)
    repo = ModelRepository(ChainClient(connect(world.node.url), dev_account(0)), svc.repo.address)
    digest = bytes.fromhex(entry.digest[2:])
    mine = [s for s in repo.submissions(world.task) if bytes(s.dataset_digest) == digest]
    assert len(mine) == 1


def test_pages_in_the_browser_during_the_hang(world, page):
    _warm(world)
    world.node.pause()
    try:
        _wait_until_down_seen(world)
        for url in world.pages():
            page.goto(url, timeout=PAGE_BUDGET * 1000)
            banner = page.locator("#chain-outage")
            assert banner.count() == 1, url
            text = banner.inner_text()
            assert "not answering" in text and COMMAND in text, url
            assert "last known state" in text, url
        page.goto(world.owner_url + "/submissions/", timeout=PAGE_BUDGET * 1000)
        assert page.locator("td .badge.accepted").count() >= 1
        assert page.locator("td .badge.rejected").count() >= 1
        assert page.locator(".stale").count() >= 3
    finally:
        _resume(world)
    page.goto(world.owner_url + "/submissions/", timeout=PAGE_BUDGET * 1000)
    assert page.locator("#chain-outage").count() == 0
