"""Screenshots of the data-owner app, with real components (re-runnable).

    .venv/bin/python scripts/owner_screenshots.py [--out docs/screenshots] [--keep]

What it does, all on this machine, in a temporary directory:

1. starts a real Ganache (npm) on a free 127.0.0.1 port and deploys ``ModelRepository``;
2. generates Lending Club data (``generate_split``) and, as the lender, posts two training tasks
   with the library's lender workflow (1024-bit Paillier keys to keep it quick);
3. as the data owner, shares two files through :mod:`hessian_common.owner`; the lender evaluates
   one; a third submission is made while the chain URL is wrong, so it waits in the journal;
4. serves the data-owner app with waitress on a free port and drives Debian Chromium with
   Playwright (no browser download) through the pages: overview, open models, share (upload,
   preview), a refused bad file, the replay warning, the progress bar, my submissions;
5. pauses Ganache (SIGSTOP by its PID: alive, not answering) and takes my submissions as the
   owner then sees it: the outage banner, the last known statuses; then continues it (SIGCONT).

PNGs go to ``docs/screenshots/owner_*.png``. Ganache is stopped by its PID at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def build_world(tmp: Path):
    """Chain, contract, store, data, two tasks, a few submissions. Returns what the app needs."""
    from hessian_common import owner
    from hessian_common.chain import ChainClient, connect, deploy_repository, dev_account
    from hessian_common.chain.node import launch, wait_for_rpc
    from hessian_common.data import generate_split
    from hessian_common.journal import Journal
    from hessian_common.store import EmbeddedStore
    from hessian_common.tasks import Lender, TaskParams

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = launch("ganache", port, tmp / "ganache", tmp / "ganache.log")
    wait_for_rpc(url, timeout=90, proc=proc)
    w3 = connect(url)
    deploy_repository(ChainClient(w3, dev_account(0)), deployments_dir=tmp / "deployments")
    store = EmbeddedStore(tmp / "store")
    split = tmp / "split"
    generate_split(split, rows=6000, owners=5, seed=11)

    lender = Lender.open(
        w3,
        store,
        state_root=tmp / "company",
        contract_address=None,
        settings=type("S", (), {"deployments_dir": tmp / "deployments"})(),
        dev_index=0,
        passphrase="hessian-local-demo",
    )
    now = int(time.time())
    common = dict(
        metric="auc",
        evaluation_window=2 * 86400,
        key_size=1024,
        data_path=split / "lender_seed.csv",
        holdout_fraction=0.5,
    )
    m1 = lender.create_task(
        TaskParams(
            name="Prime personal loans 2026",
            bounty_wei=5 * 10**18,
            target=0.75,
            mechanism="improvement",
            deadline=now + 21 * 86400,
            deposit_wei=10**16,
            update_rule="newton",
            **common,
        )
    )
    m2 = lender.create_task(
        TaskParams(
            name="Debt consolidation, 36 months",
            bounty_wei=2 * 10**18,
            target=0.74,
            mechanism="pro_rata_gain",
            deadline=now + 9 * 86400 + 5 * 3600,
            deposit_wei=5 * 10**15,
            update_rule="epochs",
            hyper={"epochs": 10},
            **common,
        )
    )

    me = dev_account(1)
    repo = lender.repo.as_account(ChainClient(w3, me))
    journal = Journal(tmp / "home" / "owner" / "journal.sqlite")
    first = owner.share(
        journal,
        store,
        repo,
        model=m1.model_id,
        path=split / "owner_02.csv",
        account=me,
        label="loans_2019_2021.csv",
    )
    lender.evaluate_submission(first.update_id)
    owner.share(
        journal,
        store,
        repo,
        model=m2.model_id,
        path=split / "owner_03.csv",
        account=me,
        label="branch_portfolio.csv",
    )
    # made while the owner's RPC URL pointed at a node that was down: waits in the journal
    model = owner.get_model(repo, store, m2.model_id)
    dead = f"http://127.0.0.1:{free_port()}"
    owner.share(
        journal,
        store,
        lambda: connect(dead, timeout=1),
        model=model,
        path=split / "owner_05.csv",
        account=me,
        label="loans_2022.csv",
    )
    return proc, url, store, split, tmp / "deployments", m1.model_id


def serve_app(tmp: Path, url: str, store, deployments: Path) -> tuple[str, object]:
    from data_owner_app import create_app
    from hessian_common.config import load_settings
    from hessian_common.web import serve

    app = create_app(
        {
            "HESSIAN_SETTINGS": load_settings(
                home=tmp / "home", rpc_url=url, deployments_dir=deployments
            ),
            "OWNER_ACCOUNT": "dev:1",
            "OWNER_STORE": store,
            "OWNER_WORKER": False,  # keep the waiting entry visible for the picture
        }
    )
    port = free_port()
    threading.Thread(target=serve, args=(app,), kwargs={"port": port}, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    return base, app


def shoot(
    base: str, out: Path, split: Path, model_id: int, tmp: Path, node_pid: int | None = None
) -> list[Path]:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("HESSIAN_CHROMIUM") or "/usr/bin/chromium"
    shots: list[Path] = []
    out.mkdir(parents=True, exist_ok=True)

    def snap(page, name: str, full: bool = True) -> None:
        path = out / f"owner_{name}.png"
        page.screenshot(path=str(path), full_page=full)
        shots.append(path)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1320, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(f"{base}/")
        snap(page, "overview")
        page.goto(f"{base}/models/")
        snap(page, "models")
        page.goto(f"{base}/models/{model_id}/share")
        snap(page, "share")

        # a bad file: refused with a clear message
        bad = tmp / "export.csv"
        bad.write_bytes((split / "owner_04.csv").read_text().encode("utf-16"))
        page.set_input_files("#upload", str(bad))
        page.click("#check")
        page.wait_for_load_state()
        snap(page, "bad_file")

        # a good file: the preview
        page.goto(f"{base}/models/{model_id}/share")
        good = tmp / "my_loans_2023.csv"
        shutil.copy(split / "owner_04.csv", good)
        page.set_input_files("#upload", str(good))
        page.click("#check")
        page.wait_for_url("**/share/*")
        snap(page, "preview")
        page.check("#confirm")
        page.click("#submit")
        page.wait_for_url("**/progress")
        page.wait_for_timeout(300)
        snap(page, "progress", full=False)
        page.wait_for_url("**/submissions/", timeout=120_000)
        page.wait_for_timeout(300)
        snap(page, "submissions")

        # the same file again: the replay warning
        page.goto(f"{base}/models/{model_id}/share")
        page.set_input_files("#upload", str(good))
        page.click("#check")
        page.wait_for_url("**/share/*")
        snap(page, "replay")

        # the chain hangs (paused by its PID): the pages answer, say so, show the last known
        if node_pid is not None:
            import signal

            os.kill(node_pid, signal.SIGSTOP)
            try:
                time.sleep(2.5)  # the status bar's cached probe expires
                page.goto(f"{base}/submissions/")
                snap(page, "outage")
            finally:
                os.kill(node_pid, signal.SIGCONT)
        browser.close()
    return shots


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="hessian-owner-shots-"))
    os.environ["HESSIAN_HOME"] = str(tmp / "home")
    proc = None
    try:
        proc, url, store, split, deployments, model_id = build_world(tmp)
        base, _app = serve_app(tmp, url, store, deployments)
        for path in shoot(base, Path(args.out), split, model_id, tmp, proc.pid):
            print(path)
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except Exception:
                proc.kill()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")


if __name__ == "__main__":
    main()
