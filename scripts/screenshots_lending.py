"""Screenshots of the lender's lending pages for the docs (headless Debian Chromium).

    .venv/bin/python scripts/screenshots_lending.py [--out docs/screenshots] [--keep]

All on this machine: an in-process eth-tester chain with ModelRepository and LoanBook, the
embedded store in a temporary directory, a generated Lending Club split; the lender trains
and closes a small task and deploys it with the default policy, its loans in TestUSD;
borrowers (dev accounts 1..7, through ``hessian_common.lending.borrower``) apply with
generated applicants; the lender decides, funds, and some loans are repaid, late or in
default (time travel). Then the company app is served with waitress on a free 127.0.0.1 port
and Playwright takes ``company_lending.png``, ``company_lending_applications.png`` and
``company_lending_loans.png``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hessian_common.chain import ChainClient, deploy_repository, dev_account  # noqa: E402
from hessian_common.chain.client import eth_tester_web3  # noqa: E402
from hessian_common.chain.deploy import deploy_loanbook  # noqa: E402
from scripts.screenshots import parse_args, serve_and_shoot  # noqa: E402
from tests.fixtures.chain import fund_accounts  # noqa: E402
from tests.fixtures.lending import dollar_token  # noqa: E402

ETH = 10**18
DAY = 86400
PASSPHRASE = "screenshot-demo-passphrase"


def populate(app, w3, work: Path) -> None:
    """A closed, deployed model with applications and loans in every state."""
    from company_app import services
    from hessian_common.data.generator import generate_loans, generate_split
    from hessian_common.lending import borrower
    from hessian_common.lending.application import application_from_row
    from hessian_common.tasks import TaskParams

    generate_split(work / "data", 8000, 2, 21, seed_fraction=0.6, holdout_fraction=0.1)
    lender = services.lender(app)
    record = lender.create_task(
        TaskParams(
            name="Personal loans 2026",
            bounty_wei=5 * ETH,
            metric="auc",
            target=0.9,
            mechanism="improvement",
            deadline=int(time.time()) + 14 * DAY,
            evaluation_window=DAY,
            key_size=1024,
            update_rule="newton",
            hyper={"mu": 0.05},
            data_path=work / "data" / "lender_seed.csv",
            holdout_fraction=0.5,
        )
    )
    lender.close(record.model_id)
    desk = services.desk(app)
    holders = [dev_account(k).address for k in range(8)]
    desk.deploy(record.model_id, currency=dollar_token(desk.book.client, holders))  # TestUSD
    book = services.loanbook(app)

    rows = generate_loans(60, seed=9)
    loans = []
    for k in range(12):
        who = 1 + k % 7
        app_ = application_from_row(rows.iloc[k].to_dict())
        mine = book.as_account(book.client.with_account(dev_account(who)))
        loan_id = borrower.apply(mine, services.store(app), record.model_id, app_)
        loans.append((loan_id, mine))
    for loan_id, _ in loans[:8]:
        desk.decide(loan_id)
    offered = [(i, b) for i, b in loans[:8] if book.loan(i).status.name == "OFFERED"]
    for loan_id, mine in offered[:5]:
        borrower.accept(mine, loan_id)
    for loan_id, _ in offered[:4]:
        desk.fund(loan_id)
    for loan_id, mine in offered[:3]:
        borrower.repay(mine, loan_id)
    if offered:
        borrower.repay_all(offered[0][1], offered[0][0])
    tester = w3.provider.ethereum_tester
    tester.time_travel(int(w3.eth.get_block("latest")["timestamp"]) + 75 * DAY)
    tester.mine_blocks(1)
    if len(offered) > 3:
        desk.mark_late(offered[3][0])


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv, __doc__.splitlines()[0])

    from company_app import create_app

    work = Path(tempfile.mkdtemp(prefix="hessian-lending-shots-"))
    w3 = eth_tester_web3()
    fund_accounts(w3, 8)
    client = ChainClient(w3, dev_account(0))
    address = deploy_repository(client, record=False)
    deploy_loanbook(client, address, work / "deployments")
    app = create_app(
        {
            "HESSIAN_HOME": work / "home",
            "W3": w3,
            "STORE_DIR": work / "store",
            "DEPLOYMENTS_DIR": work / "deployments",
            "CONTRACT_ADDRESS": address,
            "ACCOUNT_DEV_INDEX": 0,
            "COMPANY_PASSPHRASE": PASSPHRASE,
        }
    )
    populate(app, w3, work)
    pages = (
        ("company_lending.png", "/lending/", True),
        ("company_lending_applications.png", "/lending/applications", True),
        ("company_lending_loans.png", "/lending/loans", True),
    )
    serve_and_shoot(app, args.out, pages, keep=args.keep, threads=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
