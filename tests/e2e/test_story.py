"""The whole story, driven through both apps' pages in Debian Chromium (a newcomer's session).

Real everything: a Ganache started for this module, the contract deployed by ``hessian
deploy``, one embedded content store shared by all parties, ``hessian company`` and two
``hessian owner`` processes on free 127.0.0.1 ports. Then, in the browser:

1. the lender creates a task (1024-bit key) through the form; a target below the initial
   score is refused on the form and nothing reaches the chain;
2. each owner checks a bad file (its error is shown, nothing is sent), then uploads its
   generated CSV, sees the preview, trains and submits;
3. the lender evaluates all waiting submissions;
4. the owners see their rewards and withdraw them;
5. the lender closes the task, reveals the test set, audits the scores and reclaims the rest.

Page content is asserted at every step, and so is the chain (web3): escrow, submission
statuses, pending balances, balances after withdrawal. Screenshots go to a temporary directory
(``HESSIAN_E2E_SCREENSHOTS`` to keep them elsewhere).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.helpers import (
    StoryWorld,
    common_env,
    eventually,
    run_deploy,
    screenshots_dir,
    start_app,
    start_ganache,
    stop_all,
)
from tests.e2e.helpers import dev_address as _address
from tests.e2e.helpers import page_text as _text
from tests.fixtures.procs import free_port, wait_http

pytestmark = [pytest.mark.browser, pytest.mark.ganache, pytest.mark.slow]

TASK = "E2E personal loans"
BOUNTY_ETH = 5
LENDER, OWNERS = 0, (1, 2)
ETH = 10**18


@dataclass
class World(StoryWorld):
    """Everything the story runs against."""

    root: Path
    rpc_url: str
    address: str
    company: str
    owners: dict[int, str]
    data: dict[str, Path]
    manifest: dict
    shots: Path
    logs: list[Path] = field(default_factory=list)
    step: int = 0

    def repo(self):
        from hessian_common.chain import ChainClient, ModelRepository, connect, dev_account

        return ModelRepository(ChainClient(connect(self.rpc_url), dev_account(9)), self.address)

    def hsn(self):
        """The HSN `hessian deploy` recorded (its supply went to the lender), a bystander's view."""
        import json

        from hessian_common.chain import ChainClient, connect, dev_account
        from hessian_common.chain.token import Token

        record = json.loads((self.root / "deployments" / "1337-HessianToken.json").read_text())
        return Token(ChainClient(connect(self.rpc_url), dev_account(9)), record["address"])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from hessian_common.data import generate_loans, generate_split, write_export

    root = tmp_path_factory.mktemp("story")
    shots = screenshots_dir(root)

    data_dir = root / "data"
    manifest = generate_split(data_dir, 6000, len(OWNERS), seed=11)
    write_export(generate_loans(1500, 12), data_dir / "lender_loans.csv", "original")
    bad = data_dir / "not_loans.csv"
    bad.write_text("name,colour\nalice,blue\nbob,green\n", encoding="utf-8")
    data = {
        "lender": data_dir / "lender_loans.csv",
        "bad": bad,
        **{f"owner-{k}": data_dir / f"owner_{k:02d}.csv" for k in OWNERS},
    }

    node, rpc_url = start_ganache(root)
    procs = [node]
    try:
        common = common_env(root, rpc_url)
        run_deploy(root, common, LENDER)
        record = json.loads((root / "deployments" / "1337.json").read_text())

        logs = []
        company_port = free_port()
        log = root / "logs" / "company.log"
        company = start_app("company", company_port, LENDER, root / "company-home", common, log)
        procs.append(company)
        logs.append(log)
        owners = {}
        starting = [(company, f"http://127.0.0.1:{company_port}")]
        for k in OWNERS:
            p = free_port()
            log = root / "logs" / f"owner-{k}.log"
            proc = start_app("owner", p, k, root / f"owner-{k}-home", common, log)
            procs.append(proc)
            logs.append(log)
            owners[k] = f"http://127.0.0.1:{p}"
            starting.append((proc, owners[k]))
        for proc, url in starting:
            wait_http(url + "/", timeout=60, proc=proc)
        yield World(
            root=root,
            rpc_url=rpc_url,
            address=record["address"],
            company=starting[0][1],
            owners=owners,
            data=data,
            manifest=manifest,
            shots=shots,
            logs=logs,
        )
    finally:
        stop_all(procs)


def _click(page, name: str | re.Pattern) -> None:
    page.get_by_role("button", name=name).first.click()


def test_the_whole_story_in_the_browser(world: World, page):
    world.tell(page, _story)


def _story(w: World, page) -> None:
    repo = w.repo()

    # ---------------------------------------------------------------- 1. lender creates a task
    page.goto(w.company + "/")
    assert "Your credit models" in _text(page)
    assert "No model yet" in _text(page)
    page.goto(w.company + "/models/new")
    page.fill("input[name=name]", TASK)
    page.select_option("select[name=currency]", "hsn")  # issue 15: the bounty in HSN
    page.fill("input[name=bounty_eth]", str(BOUNTY_ETH))
    page.select_option("select[name=metric]", "auc")
    page.fill("input[name=target]", "0.5")  # below any sensible initial model: refused
    page.select_option("select[name=mechanism]", "improvement")
    page.fill("input[name=deadline_days]", "7")
    page.fill("input[name=eval_window_hours]", "24")
    page.select_option("select[name=key_size]", "1024")
    page.select_option("select[name=update_rule]", "epochs")
    page.fill("input[name=learning_rate]", "1.0")
    page.fill("input[name=epochs]", "20")
    page.fill("input[name=holdout_fraction]", "0.8")  # a small seed, a large hold-out
    page.set_input_files("input[name=data_file]", str(w.data["lender"]))
    _click(page, "Create task and escrow bounty")
    page.wait_for_load_state()
    text = _text(page)
    assert "Nothing was sent" in text, text
    assert "choose a target above it" in text, text
    w.shot(page, "company_create_refused")
    assert repo.model_count() == 0

    # The form keeps the values; a file input never does, so upload again.
    page.fill("input[name=target]", "0.80")
    page.set_input_files("input[name=data_file]", str(w.data["lender"]))
    _click(page, "Create task and escrow bounty")
    page.wait_for_url(re.compile(r".*/models/1$"), timeout=120_000)
    text = _text(page)
    assert TASK in text and "created as model #1" in text, text
    assert "No submission yet" in text
    w.shot(page, "company_task_created")

    m = repo.model(1)
    hsn = w.hsn()
    assert m.currency.address == hsn.address and m.currency.symbol == "HSN"
    assert m.bounty == BOUNTY_ETH * ETH and m.remaining == BOUNTY_ETH * ETH  # HSN: 18 decimals
    assert hsn.balance_of(w.repo().address) == m.bounty  # escrowed in the token, one click
    assert f"{BOUNTY_ETH:,.2f} HSN" in text
    assert m.is_open and m.submission_count == 0
    assert m.lender == _address(LENDER)
    initial = m.initial_score

    # ---------------------------------------------------------------- 2. owners share data
    for k in OWNERS:
        url = w.owners[k]
        page.goto(url + "/")
        text = _text(page)
        assert _address(k)[:8] in text, text  # the owner's own account is shown
        assert TASK in text
        page.goto(url + "/models")
        page.get_by_role("row", name=re.compile(TASK)).get_by_role(
            "link", name="Share data"
        ).click()
        page.wait_for_url(re.compile(r".*/models/1/share$"))
        assert f"Share data with “{TASK}”" in _text(page)

        # A bad file: its error is on the page, and nothing is sent.
        page.set_input_files("input[name=upload]", str(w.data["bad"]))
        _click(page, "Check the file")
        page.wait_for_load_state()
        text = _text(page)
        assert "This file cannot be used." in text, text
        assert "Nothing was sent." in text
        assert "not_loans.csv" in text
        if k == OWNERS[0]:
            w.shot(page, "owner_bad_upload")
        assert repo.model(1).submission_count == OWNERS.index(k)

        # The real file: preview with the counts the generator wrote.
        name = w.data[f"owner-{k}"].name
        page.set_input_files("input[name=upload]", str(w.data[f"owner-{k}"]))
        _click(page, "Check the file")
        page.wait_for_url(re.compile(r".*/share/[^/]+$"))
        text = _text(page)
        usable = w.manifest["files"][name]["usable"]
        defaults = w.manifest["files"][name]["defaults"]
        assert name in text
        assert "Usable loans" in text and f"{usable:,}" in text, text
        assert f"{defaults:,}" in text
        assert "Cannot submit" not in text
        if k == OWNERS[0]:
            w.shot(page, "owner_preview")
        page.check("input[name=confirm]")
        _click(page, "Train and submit")
        page.wait_for_url(re.compile(r".*/submissions/?$"), timeout=180_000)
        eventually(lambda k=k: _submitted_by(repo, k), timeout=120)
        page.reload()
        text = _text(page)
        assert name in text and f"{usable:,}" in text, text
        if k == OWNERS[0]:
            w.shot(page, "owner_submitted")

    subs = repo.submissions(1)
    assert [s.owner for s in subs] == [_address(k) for k in OWNERS]
    assert all(s.status.name == "WAITING" for s in subs)
    assert [s.rows for s in subs] == [
        w.manifest["files"][w.data[f"owner-{k}"].name]["usable"] for k in OWNERS
    ]

    # ---------------------------------------------------------------- 3. lender evaluates
    page.goto(w.company + "/models/1")
    text = _text(page)
    assert "Evaluate all waiting (2)" in text, text
    w.shot(page, "company_two_waiting")
    _click(page, "Evaluate all waiting (2)")
    eventually(lambda: repo.model(1).waiting_count == 0, timeout=180)
    page.goto(w.company + "/models/1")
    text = _text(page)
    subs = repo.submissions(1)
    statuses = [s.status.name for s in subs]
    assert "WAITING" not in statuses
    assert "ACCEPTED" in statuses, f"no update accepted: {statuses} (initial {initial} ppm)"
    for s in subs:
        assert f"#{s.update_id}" in text
        assert s.status.name.lower() in text.lower()
    accepted = [s for s in subs if s.status.name == "ACCEPTED"]
    m = repo.model(1)
    assert m.current_score > initial
    assert m.paid == sum(s.reward for s in accepted) > 0
    assert m.paid + m.remaining == m.bounty  # escrow invariant
    w.shot(page, "company_evaluated")

    # ---------------------------------------------------------------- 4. owners withdraw
    for s in accepted:
        k = next(i for i in OWNERS if _address(i) == s.owner)
        assert repo.pending(s.owner, hsn.address) == s.reward
        if not s.reward:  # accepted, but its gain was below the model's minimum: not paid
            page.goto(w.owners[k] + "/")
            assert "nothing to withdraw yet" in _text(page)
            continue
        before = hsn.balance_of(s.owner)
        page.goto(w.owners[k] + "/")
        card = " ".join(page.locator(".stat", has_text="Rewards owed").first.inner_text().split())
        owed = re.search(r"([0-9][0-9,]*\.?[0-9]*) HSN", card)
        assert owed, card
        assert abs(float(owed.group(1).replace(",", "")) - s.reward / ETH) < 1e-3, card
        w.shot(page, f"owner{k}_reward")
        _click(page, "Withdraw")
        page.wait_for_load_state()
        assert "Withdrew" in _text(page), _text(page)
        assert repo.pending(s.owner, hsn.address) == 0
        assert hsn.balance_of(s.owner) == before + s.reward  # the reward, in HSN, exactly
        w.shot(page, f"owner{k}_withdrawn")

    # ---------------------------------------------------------------- 5. close, reveal, audit
    page.goto(w.company + "/models/1")
    page.get_by_role("link", name="Close task").first.click()  # a confirmation page first
    page.wait_for_load_state()
    assert "Closing cannot be undone" in _text(page)
    assert repo.model(1).is_open
    _click(page, "Close the task")
    page.wait_for_load_state()
    assert "is closed to new submissions" in _text(page)
    m = repo.model(1)
    assert not m.is_open and m.finalized
    _click(page, "Reveal test set")
    page.wait_for_url(re.compile(r".*/models/1/audit$"), timeout=60_000)
    text = _text(page)
    assert "Test set revealed" in text, text
    assert "matches" in text and "consistent" in text, text
    n_versions = 1 + len(subs)  # the initial model and every evaluated update, rejected too
    assert f"{n_versions} / {n_versions}" in text, text
    w.shot(page, "company_audit")
    m = repo.model(1)
    assert m.revealed and m.test_set_cid

    page.goto(w.company + "/models/1")
    remaining = m.remaining
    _click(page, re.compile(r"Reclaim"))
    page.wait_for_load_state()
    assert "credited back" in _text(page)
    m = repo.model(1)
    assert m.remaining == 0 and m.reclaimed == remaining
    assert m.paid + m.reclaimed == m.bounty
    assert repo.pending(_address(LENDER), hsn.address) == remaining
    w.shot(page, "company_reclaimed")


def _submitted_by(repo, k: int) -> bool:
    return any(s.owner == _address(k) for s in repo.submissions(1))
