"""The lending pages in headless Chromium at a laptop's 1280 px: nothing cut off.

A real world on eth-tester (ModelRepository + LoanBook, the embedded store, a generated
split): the lender closes and deploys a small model, borrowers apply, the lender decides and
funds, some loans are repaid or late; the company app is served by waitress on 127.0.0.1.
The loan book (the widest table) and the applications queue must fit the page: no table wider
than its card, every action button inside the window.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from hessian_common.chain import ChainClient, deploy_repository, dev_account
from hessian_common.chain.client import eth_tester_web3
from hessian_common.chain.deploy import deploy_loanbook
from tests.fixtures.chain import fund_accounts
from tests.fixtures.procs import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DAY = 86400


def _populate(app, w3, work: Path) -> None:
    from company_app import services
    from hessian_common.data.generator import generate_loans, generate_split
    from hessian_common.lending import borrower
    from hessian_common.lending.application import application_from_row
    from tests.fixtures.lending import closed_lending_model, dollar_token

    generate_split(work / "data", 4000, 1, 21, seed_fraction=0.6, holdout_fraction=0.1)
    lender = services.lender(app)
    desk = services.desk(app)
    # the loans are in TestUSD (issue 15): the lender and the borrowers hold dollars
    usd = dollar_token(lender.repo.client, [dev_account(i).address for i in range(8)])
    model_id = closed_lending_model(
        lender, work / "data" / "lender_seed.csv", name="Layout model", desk=desk, currency=usd
    )
    book = services.loanbook(app)
    rows = generate_loans(60, seed=9)
    loans = []
    for k in range(9):
        who = 1 + k % 7
        mine = book.as_account(book.client.with_account(dev_account(who)))
        application = application_from_row(rows.iloc[k].to_dict())
        loans.append((borrower.apply(mine, services.store(app), model_id, application), mine))
    for loan_id, _ in loans[:7]:
        desk.decide(loan_id)
    offered = [(i, b) for i, b in loans[:7] if book.loan(i).status.name == "OFFERED"]
    for loan_id, mine in offered[:5]:
        borrower.accept(mine, loan_id)
    for loan_id, _ in offered[:4]:
        desk.fund(loan_id)
    for loan_id, mine in offered[:2]:
        borrower.repay(mine, loan_id)
    tester = w3.provider.ethereum_tester
    tester.time_travel(int(w3.eth.get_block("latest")["timestamp"]) + 75 * DAY)
    tester.mine_blocks(1)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from waitress.server import create_server

    from company_app import create_app

    work = tmp_path_factory.mktemp("layout")
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
            "COMPANY_PASSPHRASE": "layout-test-passphrase",
            "HESSIAN_STATUS_TTL": 5.0,
        }
    )
    _populate(app, w3, work)
    server = create_server(app, host="127.0.0.1", port=free_port(), threads=2)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        time.sleep(0.1)


WIDTHS = """() => Array.from(document.querySelectorAll('table')).map(t => {
  const wrap = t.closest('.table-wrap') || t.parentElement;
  return {table: t.className, width: t.scrollWidth, room: wrap.clientWidth};
})"""

BUTTONS_OUTSIDE = """() => Array.from(document.querySelectorAll('main button, main .button'))
  .filter(b => b.offsetParent !== null)
  .map(b => b.getBoundingClientRect())
  .filter(r => r.right > window.innerWidth + 0.5 || r.left < -0.5).length"""


@pytest.mark.parametrize("path", ["/lending/loans", "/lending/applications", "/lending/"])
def test_the_lending_tables_fit_at_1280_px(served, page, path):
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(served + path)
    widths = page.evaluate(WIDTHS)
    assert widths, path
    cut = [w for w in widths if w["width"] > w["room"] + 1]
    assert cut == [], cut
    assert page.evaluate(BUTTONS_OUTSIDE) == 0
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 1280
