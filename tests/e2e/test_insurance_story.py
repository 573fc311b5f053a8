"""A customer's insurance story in Debian Chromium: apply, get a quote, pay, claim, be paid, and
a second claim the insurer never answers, settled after the window.

Real everything: a Ganache started for this module, the contracts deployed by ``hessian
deploy`` (ModelRepository, LoanBook, PolicyBook), one embedded content store shared by all
parties. The insurer's small claims task (512-bit key) is created, closed, deployed on the
PolicyBook and backed with capital through the library (``Lender`` + ``InsuranceDesk``) in
the company app's state directory; then ``hessian company`` (the insurer, dev account 0) and
``hessian owner`` (the customer, dev account 4) run as processes. In the browser:

1. the customer sees the insurer's policy on ``/insure/``, sends an application with bad
   answers (errors on the form, nothing on chain), then a good one;
2. the insurer quotes it as suggested on ``/insurance/applications``;
3. the customer sees the quote (premium, cover, claim probability) and pays the premium;
4. the customer files a claim with an evidence file; the insurer approves it on
   ``/insurance/claims``; the customer withdraws the payment;
5. the customer files a second claim; the insurer does not answer; once the chain's clock
   passes the claim window the customer settles it from the policy page and is paid.

The chain is asserted at every step (``PolicyBook`` wrapper: statuses, pool, pending balances,
wallet balances).
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
from tests.fixtures.insurance import closed_claims_model, insurer_file
from tests.fixtures.procs import free_port, wait_http

pytestmark = [pytest.mark.browser, pytest.mark.ganache, pytest.mark.slow]

TASK = "E2E motor claims model"
INSURER, CUSTOMER = 0, 4
ETH = 10**18
DOLLARS_PER_ETH = 10_000

ANSWERS = {
    "driver_age": "42",
    "years_licensed": "20",
    "prior_claims": "0",
    "vehicle_first_registered": "Mar-2020",
    "annual_mileage": "9000",
    "deductible": "500",
    "coverage_limit": "25000",
}
CHOICES = {"vehicle_type": "suv", "region": "suburban", "policy_term": "12"}


@dataclass
class World(StoryWorld):
    root: Path
    rpc_url: str
    deployments: Path
    model_id: int
    company: str
    owner: str
    shots: Path
    logs: list[Path] = field(default_factory=list)
    step: int = 0

    def book(self, index: int = 9):
        """The PolicyBook as dev account ``index`` sees it (a bystander by default)."""
        from hessian_common.chain import ChainClient, connect, dev_account
        from hessian_common.chain.policybook import open_policybook

        return open_policybook(
            ChainClient(connect(self.rpc_url), dev_account(index)), self.deployments
        )


def _deploy_claims_model(root: Path, rpc_url: str, common: dict, company_home: Path) -> int:
    from hessian_common.chain.client import connect
    from hessian_common.chain.policybook import open_policybook
    from hessian_common.insurance.pricing import PricingPolicy
    from hessian_common.insurance.underwriting import InsuranceDesk
    from hessian_common.store import EmbeddedStore
    from hessian_common.tasks import Lender

    data = insurer_file(root / "data" / "insurer.csv", rows=2400, seed=9)
    deployments = Path(common["HESSIAN_DEPLOYMENTS_DIR"])
    lender = Lender.open(
        connect(rpc_url),
        EmbeddedStore(common["HESSIAN_STORE_DIR"]),
        state_root=company_home / "company",
        contract_address=json.loads((deployments / "1337.json").read_text())["address"],
        dev_index=INSURER,
    )
    desk = InsuranceDesk(lender, open_policybook(lender.repo.client, deployments))
    model_id = closed_claims_model(lender, data, name=TASK)
    desk.deploy(model_id, PricingPolicy(token_price=str(DOLLARS_PER_ETH)), claims=data)
    desk.deposit(model_id, 20 * ETH)
    return model_id


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("insurance_story")
    shots = screenshots_dir(root)
    node, rpc_url = start_ganache(root)
    procs = [node]
    try:
        common = common_env(root, rpc_url)
        deployed = run_deploy(root, common, INSURER)
        assert (root / "deployments" / "1337-PolicyBook.json").exists(), deployed
        company_home = root / "company-home"
        model_id = _deploy_claims_model(root, rpc_url, common, company_home)
        logs = []
        company_port, owner_port = free_port(), free_port()
        log = root / "logs" / "company.log"
        company = start_app("company", company_port, INSURER, company_home, common, log)
        procs.append(company)
        logs.append(log)
        log = root / "logs" / "customer.log"
        owner = start_app("owner", owner_port, CUSTOMER, root / "customer-home", common, log)
        procs.append(owner)
        logs.append(log)
        urls = {"company": f"http://127.0.0.1:{company_port}",
                "owner": f"http://127.0.0.1:{owner_port}"}  # fmt: skip
        wait_http(urls["company"] + "/", timeout=60, proc=company)
        wait_http(urls["owner"] + "/", timeout=60, proc=owner)
        yield World(
            root=root, rpc_url=rpc_url, deployments=root / "deployments", model_id=model_id,
            company=urls["company"], owner=urls["owner"], shots=shots, logs=logs,
        )  # fmt: skip
    finally:
        stop_all(procs)


def _click(page, name: str | re.Pattern) -> None:
    page.get_by_role("button", name=name).first.click()
    page.wait_for_load_state()


def _fill(page, **over: str) -> None:
    for name, value in {**ANSWERS, **over}.items():
        page.fill(f"input[name={name}]", value)
    for name, value in CHOICES.items():
        page.select_option(f"select[name={name}]", value)


def _file_claim(page, amount: str, evidence: Path) -> None:
    page.fill("input[name=amount]", amount)
    page.set_input_files("input[name=evidence_file]", str(evidence))
    _click(page, "File the claim")


def test_a_customer_buys_a_policy_claims_and_is_paid(world: World, page):
    world.tell(page, _story)


def _story(w: World, page) -> None:
    from hessian_common.chain import connect
    from hessian_common.chain.policybook import ClaimStatus, PolicyStatus
    from hessian_common.simulation.phases import advance_time

    book = w.book()
    customer = _address(CUSTOMER)

    # ---------------------------------------------------------------- 1. apply
    page.goto(w.owner + "/")
    page.get_by_role("link", name="Insure").first.click()
    page.wait_for_url(re.compile(r".*/insure/$"))
    text = _text(page)
    assert TASK in text and "suv" in text and "6 or 12 months" in text, text
    w.shot(page, "insure_insurers")
    page.get_by_role("link", name="Apply").first.click()
    page.wait_for_url(re.compile(rf".*/insure/apply/{w.model_id}$"))
    _fill(page, driver_age="old", coverage_limit="25,000")
    _click(page, "Seal and send the application")
    text = _text(page)
    assert "Please correct the application." in text and "Nothing was stored or sent." in text
    assert "25,000" in text, text
    assert book.policy_count() == 0
    w.shot(page, "insure_bad_application")
    _fill(page)
    _click(page, "Seal and send the application")
    page.wait_for_url(re.compile(r".*/insure/policies/1$"))
    assert "Waiting for the insurer" in _text(page)
    info = book.policy(1)
    assert info.status is PolicyStatus.APPLIED and info.holder == customer
    assert info.coverage_asked == 25_000 * ETH // DOLLARS_PER_ETH

    # ---------------------------------------------------------------- 2. the insurer quotes
    page.goto(w.company + "/insurance/applications")
    text = _text(page)
    assert "suv" in text and "#1" in text, text
    w.shot(page, "insurer_queue")
    page.locator("#policy-1").get_by_role("button", name=re.compile(r"^Quote ")).click()
    page.wait_for_load_state()
    eventually(lambda: book.policy(1).status is PolicyStatus.QUOTED, timeout=60)
    info = book.policy(1)

    # ---------------------------------------------------------------- 3. pay the premium
    page.goto(w.owner + "/insure/policies/1")
    text = _text(page)
    assert "The quote" in text and f"{info.claim_ppm / 10000:.2f}%" in text, text
    w.shot(page, "insure_quote")
    wallet = w.balance(CUSTOMER)
    _click(page, re.compile(r"^Pay .* and buy the policy"))
    assert "bought" in _text(page)
    info = book.policy(1)
    assert info.status is PolicyStatus.ACTIVE
    assert wallet - w.balance(CUSTOMER) >= info.premium
    assert book.pool(w.model_id).reserved == info.coverage_limit

    # ---------------------------------------------------------------- 4. claim, approved
    evidence = w.root / "dent.jpg"
    evidence.write_bytes(b"a photo of the dent, in bytes")
    _file_claim(page, "abc", evidence)
    assert "The claim was not filed" in _text(page) and book.claim_count() == 0
    _file_claim(page, "1500", evidence)
    assert "Claim #1 filed" in _text(page)
    claim = book.claim(1)
    assert claim.status is ClaimStatus.FILED and claim.amount == 1500 * ETH // DOLLARS_PER_ETH
    page.goto(w.company + "/insurance/claims")
    w.shot(page, "insurer_claims")
    page.locator("#claim-1").get_by_role("button", name="Approve").click()
    page.wait_for_load_state()
    eventually(lambda: book.claim(1).status is ClaimStatus.APPROVED, timeout=60)
    assert book.pending(customer) == claim.amount
    page.goto(w.owner + "/insure/")
    wallet = w.balance(CUSTOMER)
    _click(page, "Withdraw to my wallet")
    assert "Withdrew" in _text(page) and book.pending(customer) == 0
    assert claim.amount - ETH // 100 < w.balance(CUSTOMER) - wallet <= claim.amount

    # ---------------------------------------------------------------- 5. unanswered claim
    page.goto(w.owner + "/insure/policies/1")
    _file_claim(page, "800", evidence)
    assert "Claim #2 filed" in _text(page)
    assert "Settle" not in _text(page)
    advance_time(connect(w.rpc_url), book.claim_window + 60)
    page.goto(w.company + "/insurance/claims")
    assert "past the window" in _text(page)  # the insurer can no longer decide it
    page.goto(w.owner + "/insure/policies/1")
    w.shot(page, "insure_unanswered")
    _click(page, re.compile(r"^Settle"))
    assert "settled" in _text(page)
    second = book.claim(2)
    assert second.status is ClaimStatus.SETTLED
    assert book.pending(customer) == second.amount == 800 * ETH // DOLLARS_PER_ETH
    info = book.policy(1)
    assert info.claims_paid == claim.amount + second.amount
    assert info.reserve == info.coverage_limit - info.claims_paid
    page.goto(w.company + "/insurance/")
    text = _text(page)
    assert "1 settled unanswered" in text and "Loss ratio" in text, text
    w.shot(page, "insurer_overview")
