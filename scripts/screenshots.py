"""Screenshots of the lender's dashboard for the docs, taken with headless Debian Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--keep]

What it does, all on this machine:

1. starts a real local chain (anvil from node_modules, free 127.0.0.1 port, stopped by PID);
2. deploys ModelRepository, generates a realistic Lending Club split (the generator);
3. as the lender, posts three training tasks; as data owners (dev accounts 1..6, through
   ``hessian_common.owner``), submits encrypted updates, and the lender evaluates most of them
   (so the chart has history, some submissions wait, one task is closed and revealed);
4. serves the company app with waitress on a free port and drives Chromium with Playwright:
   ``company_dashboard.png``, ``company_model.png`` (a model page with its score chart),
   ``company_create.png`` and ``company_audit.png``.

``parse_args``, ``shoot`` and ``serve_and_shoot`` are shared with ``screenshots_lending.py``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hessian_common.chain import ChainClient, connect, deploy_repository, dev_account  # noqa: E402
from hessian_common.chain.node import launch, wait_for_rpc  # noqa: E402
from tests.fixtures.browser import CHROMIUM_ARGS, chromium_path  # noqa: E402
from tests.fixtures.procs import free_port, stop_process  # noqa: E402

ETH = 10**18
KEY_BITS = 1024
PASSPHRASE = "screenshot-demo-passphrase"


def submit(repo_for, store, model_id: int, owner_index: int, path: Path) -> int:
    """A data owner's submission through the library (as the data-owner app does it)."""
    from hessian_common import owner

    repo = repo_for(owner_index)
    model = owner.get_model(repo, store, model_id)
    report = owner.validate_for_model(path, model.spec)
    current, base = owner.current_weights(store, model)
    blob = owner.prepare_update(
        model.spec,
        current,
        report.data,
        model_id=model_id,
        base_cid=base,
        account=repo.client.account,
        chain_id=repo.client.chain_id,
        contract=repo.address,
    )
    cid = store.put(blob.to_bytes())
    return repo.submit_update(model_id, cid, report.digest, report.rows)


def populate(lender, repo_for, store, data: Path) -> None:
    """Three tasks with history: one busy and open, one closed and audited, one fresh."""
    from hessian_common.tasks import TaskParams

    now = int(time.time())
    owners = sorted(data.glob("owner_*.csv"))

    def task(**kw) -> int:
        base = dict(
            bounty_wei=25 * ETH,
            metric="auc",
            target=0.72,
            mechanism="improvement",
            deadline=now + 21 * 86400,
            evaluation_window=48 * 3600,
            deposit_wei=ETH // 100,
            key_size=KEY_BITS,
            update_rule="epochs",
            hyper={"lr": 1.0, "epochs": 20},
            data_path=data / "lender_seed.csv",
            holdout_fraction=0.35,
        )
        base.update(kw)
        return lender.create_task(TaskParams(**base)).model_id

    audited = task(
        name="Small-business loans pilot",
        bounty_wei=8 * ETH,
        metric="accuracy",
        target=0.9,
        mechanism="equal",
        update_rule="newton",
        hyper={"mu": 0.05},
    )
    for i in range(2):
        submit(repo_for, store, audited, 5 + i, owners[i])
        lender.evaluate_all_waiting(audited)
    lender.close(audited)
    lender.reveal_test_set(audited)

    busy = task(name="Personal loans, 36-month term (2026)")
    for i, path in enumerate(owners[:5]):
        submit(repo_for, store, busy, 1 + i, path)
        if i < 4:
            lender.evaluate_all_waiting(busy)

    fresh = task(
        name="Debt consolidation, prime borrowers",
        bounty_wei=12 * ETH,
        mechanism="pro_rata_gain",
        split_seed=3,
    )
    submit(repo_for, store, fresh, 6, owners[5])
    print(f"models: busy #{busy}, audited #{audited}, fresh #{fresh}")
    return busy, audited


def shoot(url: str, out: Path, pages: Iterable[tuple[str, str, bool]]) -> list[Path]:
    """Screenshots of the app at ``url`` in headless Chromium (1360x900 viewport).

    ``pages`` holds ``(file name, path, full page?)``; each PNG goes to ``out / file name``.
    """
    from playwright.sync_api import sync_playwright

    shots = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS
        )
        ctx = browser.new_context(viewport={"width": 1360, "height": 900}, device_scale_factor=1)
        page = ctx.new_page()
        for name, path, full in pages:
            page.goto(url + path)
            page.wait_for_load_state("networkidle")
            target = out / name
            page.screenshot(path=str(target), full_page=full)
            shots.append(target)
        browser.close()
    return shots


def parse_args(argv: list[str] | None, description: str) -> argparse.Namespace:
    """``--out`` (made if missing; ``docs/screenshots`` by default) and ``--keep``."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    ap.add_argument("--keep", action="store_true", help="keep serving until Ctrl-C")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    return args


def serve_and_shoot(
    app, out: Path, pages: Iterable[tuple[str, str, bool]], *, keep: bool, threads: int
) -> None:
    """Serve ``app`` with waitress on a free 127.0.0.1 port, :func:`shoot` ``pages`` into
    ``out`` and, with ``keep``, go on serving until Ctrl-C; the server is closed at the end."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=free_port(), threads=threads)
    threading.Thread(target=server.run, daemon=True).start()
    url = f"http://127.0.0.1:{server.effective_port}"
    try:
        for shot in shoot(url, out, pages):
            print(f"wrote {shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot}")
        if keep:
            print(f"serving on {url} (Ctrl-C to stop)")
            while True:
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, __doc__.splitlines()[0])

    from company_app import create_app, services
    from hessian_common.data.generator import generate_split

    work = Path(tempfile.mkdtemp(prefix="hessian-shots-"))
    port = free_port()
    node = launch("anvil", port, state_dir=work / "anvil", log_path=work / "anvil.log")
    try:
        rpc = f"http://127.0.0.1:{port}"
        wait_for_rpc(rpc, timeout=60, proc=node)
        w3 = connect(rpc)
        address = deploy_repository(ChainClient(w3, dev_account(9)), record=False)
        generate_split(work / "data", 8000, 6, 21, seed_fraction=0.25, holdout_fraction=0.05)
        app = create_app(
            {
                "HESSIAN_HOME": work / "home",
                "RPC_URL": rpc,
                "STORE_DIR": work / "store",
                "CONTRACT_ADDRESS": address,
                "ACCOUNT_DEV_INDEX": 0,
                "COMPANY_PASSPHRASE": PASSPHRASE,
            }
        )
        lender = services.lender(app)
        store = services.store(app)
        clients = {}

        def repo_for(i: int):
            if i not in clients:
                clients[i] = lender.repo.as_account(lender.repo.client.with_account(dev_account(i)))
            return clients[i]

        busy, audited = populate(lender, repo_for, store, work / "data")
        pages = (
            ("company_dashboard.png", "/", False),
            ("company_model.png", f"/models/{busy}", True),
            ("company_close.png", f"/models/{busy}/close", False),
            ("company_create.png", "/models/new", True),
            ("company_audit.png", f"/models/{audited}/audit", False),
        )
        serve_and_shoot(app, args.out, pages, keep=args.keep, threads=4)
    except KeyboardInterrupt:
        pass
    finally:
        stop_process(node)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
