"""A borrower's story in Debian Chromium: apply, get an offer, accept, withdraw, repay in full.

Real everything: a Ganache started for this module, both contracts deployed by ``hessian
deploy`` (ModelRepository + LoanBook), one embedded content store shared by all parties. The
lender's small task (512-bit key) is created, closed and deployed for lending through the
library (``Lender`` + ``LendingDesk``) in the company app's own state directory; then
``hessian company`` (the lender, dev account 0) and ``hessian owner`` (the borrower, dev
account 3) run as processes on free 127.0.0.1 ports. In the browser:

1. the borrower sees the lender's policy on ``/borrow/``, sends an application with a bad
   amount (errors on the form, nothing on chain), then a good one;
2. the lender approves it as suggested on ``/lending/applications`` (company app);
3. the borrower sees the offer (APR, instalment, total, PD) and accepts it;
4. the lender funds it on ``/lending/loans``;
5. the borrower withdraws the principal and repays everything.

The chain is asserted at every step (``LoanBook`` wrapper: status, pending balances, wallet
balances). Screenshots go to a temporary directory (``HESSIAN_E2E_SCREENSHOTS`` to keep them).
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
from tests.fixtures.lending import closed_lending_model
from tests.fixtures.procs import free_port, wait_http

pytestmark = [pytest.mark.browser, pytest.mark.ganache, pytest.mark.slow]

TASK = "E2E lending model"
LENDER, BORROWER = 0, 3
ETH = 10**18

APPLICATION = {
    "loan_amnt": "8000",
    "annual_inc": "110000",
    "dti": "9.5",
    "fico_range_low": "770",
    "delinq_2yrs": "0",
    "inq_last_6mths": "0",
    "open_acc": "8",
    "pub_rec": "0",
    "revol_bal": "3500",
    "revol_util": "15",
    "total_acc": "18",
    "earliest_cr_line": "Jun-2003",
}
CHOICES = {
    "term": "36",
    "grade": "A",
    "emp_length": "10+ years",
    "home_ownership": "MORTGAGE",
    "purpose": "credit_card",
    "verification_status": "Verified",
    "addr_state": "NY",
}


@dataclass
class World(StoryWorld):
    """Everything the story runs against."""

    root: Path
    rpc_url: str
    deployments: Path
    store_dir: Path
    company_home: Path
    model_id: int
    company: str
    owner: str
    shots: Path
    logs: list[Path] = field(default_factory=list)
    step: int = 0

    def book(self, index: int = 9):
        """The LoanBook as dev account ``index`` sees it (a bystander by default)."""
        from hessian_common.chain import ChainClient, connect, dev_account
        from hessian_common.chain.deploy import open_loanbook

        return open_loanbook(
            ChainClient(connect(self.rpc_url), dev_account(index)), self.deployments
        )

    def desk(self):
        """The lender's ``LendingDesk`` on the company app's state (the pages' fallback)."""
        from hessian_common.chain.client import connect
        from hessian_common.chain.deploy import open_loanbook
        from hessian_common.lending.desk import LendingDesk
        from hessian_common.store import EmbeddedStore
        from hessian_common.tasks import Lender

        lender = Lender.open(
            connect(self.rpc_url),
            EmbeddedStore(self.store_dir),
            state_root=self.company_home / "company",
            contract_address=_record(self.deployments, "1337.json")["address"],
            dev_index=LENDER,
        )
        return LendingDesk(lender, open_loanbook(lender.repo.client, self.deployments))


def _record(deployments: Path, name: str) -> dict:
    return json.loads((deployments / name).read_text())


def _lending_pages() -> bool:
    """Whether the company app has its lending pages (written alongside this test)."""
    import company_app

    return (Path(company_app.__file__).parent / "views" / "lending.py").exists()


def _deploy_lender_model(root: Path, rpc_url: str, common: dict, company_home: Path) -> int:
    """Create, close and deploy a small task through the library, in the company's state."""
    from hessian_common.chain.client import connect
    from hessian_common.chain.deploy import open_loanbook
    from hessian_common.data import generate_loans, write_export
    from hessian_common.lending.desk import LendingDesk
    from hessian_common.store import EmbeddedStore
    from hessian_common.tasks import Lender

    data = root / "data" / "lender_loans.csv"
    data.parent.mkdir(parents=True, exist_ok=True)
    write_export(generate_loans(2000, 21), data, "original")
    lender = Lender.open(
        connect(rpc_url),
        EmbeddedStore(common["HESSIAN_STORE_DIR"]),
        state_root=company_home / "company",
        contract_address=_record(common["HESSIAN_DEPLOYMENTS_DIR"], "1337.json")["address"],
        dev_index=LENDER,
    )
    book = open_loanbook(lender.repo.client, common["HESSIAN_DEPLOYMENTS_DIR"])
    return closed_lending_model(
        lender,
        data,
        name=TASK,
        target=0.95,
        mu=0.05,
        holdout_fraction=0.6,
        desk=LendingDesk(lender, book),
    )


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("borrower_story")
    shots = screenshots_dir(root)
    node, rpc_url = start_ganache(root)
    procs = [node]
    try:
        common = common_env(root, rpc_url)
        deployed = run_deploy(root, common, LENDER)
        assert (root / "deployments" / "1337-LoanBook.json").exists(), deployed

        company_home = root / "company-home"
        model_id = _deploy_lender_model(root, rpc_url, common, company_home)

        logs = []
        company_port, owner_port = free_port(), free_port()
        log = root / "logs" / "company.log"
        company = start_app("company", company_port, LENDER, company_home, common, log)
        procs.append(company)
        logs.append(log)
        log = root / "logs" / "borrower.log"
        owner = start_app("owner", owner_port, BORROWER, root / "borrower-home", common, log)
        procs.append(owner)
        logs.append(log)
        urls = {
            "company": f"http://127.0.0.1:{company_port}",
            "owner": f"http://127.0.0.1:{owner_port}",
        }
        wait_http(urls["company"] + "/", timeout=60, proc=company)
        wait_http(urls["owner"] + "/", timeout=60, proc=owner)
        yield World(
            root=root,
            rpc_url=rpc_url,
            deployments=root / "deployments",
            store_dir=root / "store",
            company_home=company_home,
            model_id=model_id,
            company=urls["company"],
            owner=urls["owner"],
            shots=shots,
            logs=logs,
        )
    finally:
        stop_all(procs)


def _click(page, name: str | re.Pattern) -> None:
    page.get_by_role("button", name=name).first.click()
    page.wait_for_load_state()


def _fill_application(page, **over: str) -> None:
    for name, value in {**APPLICATION, **over}.items():
        page.fill(f"input[name={name}]", value)
    for name, value in CHOICES.items():
        page.select_option(f"select[name={name}]", value)


def test_a_borrower_applies_accepts_withdraws_and_repays(world: World, page):
    world.tell(page, _story)


def _story(w: World, page) -> None:
    from hessian_common.chain.loanbook import LoanStatus

    book = w.book()
    borrower, lender = _address(BORROWER), _address(LENDER)

    # ---------------------------------------------------------------- 1. apply
    page.goto(w.owner + "/")
    page.get_by_role("link", name="Borrow").first.click()
    page.wait_for_url(re.compile(r".*/borrow/$"))
    text = _text(page)
    assert TASK in text, text
    assert "5.00% – 30.00%" in text and "36 or 60 months" in text
    w.shot(page, "borrow_lenders")
    page.get_by_role("link", name="Apply").first.click()
    page.wait_for_url(re.compile(rf".*/borrow/apply/{w.model_id}$"))
    assert f"Apply to “{TASK}”" in _text(page)

    _fill_application(page, loan_amnt="a lot", earliest_cr_line="someday")
    _click(page, "Seal and send the application")
    text = _text(page)
    assert "Please correct the application." in text and "Nothing was stored or sent." in text
    assert "'a lot' is not a number" in text and "not a month like Jan-2005" in text
    w.shot(page, "borrow_bad_application")
    assert book.loan_count() == 0

    _fill_application(page)
    _click(page, "Seal and send the application")
    page.wait_for_url(re.compile(r".*/borrow/loans/1$"))
    text = _text(page)
    assert "Loan #1" in text and "applied" in text and "No offer yet" in text, text
    info = book.loan(1)
    assert info.status is LoanStatus.APPLIED and info.borrower == borrower
    assert info.amount == 8000 * 10**14 and info.requested_term == 36
    w.shot(page, "borrow_applied")

    # ---------------------------------------------------------------- 2. the lender decides
    if _lending_pages():
        page.goto(w.company + "/lending/applications")
        text = _text(page)
        assert "#1" in text, text
        w.shot(page, "lender_queue")
        # the suggested decision for a strong applicant: "Approve at <APR>"
        page.locator("#loan-1").get_by_role("button", name=re.compile(r"^Approve at \d")).click()
        page.wait_for_load_state()
    else:
        w.desk().decide(1)
    eventually(lambda: book.loan(1).status is not LoanStatus.APPLIED, timeout=60)
    info = book.loan(1)
    assert info.status is LoanStatus.OFFERED, f"declined at pd {info.pd_ppm} ppm"

    # ---------------------------------------------------------------- 3. accept
    page.goto(w.owner + "/borrow/loans/1")
    text = _text(page)
    assert "offered" in text and f"{info.apr_bps / 100:.2f}%" in text, text
    assert f"{info.pd_ppm / 10000:.2f}%" in text and "Offer expires" in text
    w.shot(page, "borrow_offer")
    _click(page, "Accept the offer")
    assert "Offer accepted" in _text(page)
    assert book.loan(1).status is LoanStatus.ACCEPTED

    # ---------------------------------------------------------------- 4. the lender funds
    if _lending_pages():
        page.goto(w.company + "/lending/loans")
        w.shot(page, "lender_loans")
        _click(page, re.compile(r"^Fund "))
    else:
        w.desk().fund(1)
    eventually(lambda: book.loan(1).status is LoanStatus.FUNDED, timeout=60)
    info = book.loan(1)
    assert book.pending(borrower) == info.principal

    # ---------------------------------------------------------------- 5. withdraw and repay
    page.goto(w.owner + "/borrow/")
    wallet = w.balance(BORROWER)
    _click(page, "Withdraw to my wallet")
    assert "Withdrew" in _text(page)
    assert book.pending(borrower) == 0
    gained = w.balance(BORROWER) - wallet
    assert info.principal - ETH // 100 < gained <= info.principal

    lender_pending = book.pending(lender)
    page.goto(w.owner + "/borrow/loans/1")
    assert "Repayment schedule" in _text(page)
    _click(page, "Repay next instalment")
    info = book.loan(1)
    assert info.repaid == info.installment and info.status is LoanStatus.FUNDED
    quote = book.payoff_amount(1)
    assert "Future months' interest is not charged" in _text(page)
    _click(page, re.compile(r"^Pay off now"))
    text = _text(page)
    assert "paid off" in text and "repaid" in text, text
    w.shot(page, "borrow_repaid")

    info = book.loan(1)
    assert info.status is LoanStatus.REPAID and info.outstanding == 0
    # paid off early: the principal and the interest of the days it ran, not future months
    assert quote + info.installment <= info.repaid < info.principal * 1.001 < info.total_owed
    assert book.pending(lender) == lender_pending + info.repaid
    # nothing else is held but the margin sent for the mining delay, the borrower's to take
    assert book.total_pending() == book.pending(lender) + book.pending(borrower)
