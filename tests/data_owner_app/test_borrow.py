"""The borrower's pages of the data-owner app, on a real chain, LoanBook and store, CSRF on.

One world per module (eth-tester, ``ModelRepository`` + ``LoanBook``, an embedded store, a
lender's small task (512-bit key) created, closed and deployed through
``hessian_common.lending.desk.LendingDesk``); each test gets a fresh app and state directory as
the borrower (dev account 1) and applies for its own loan. The chain is asserted through the
``LoanBook`` wrapper after every step.
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from data_owner_app import create_app
from hessian_common.chain.client import ChainClient, eth_tester_web3
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import deploy_loanbook, deploy_repository
from hessian_common.chain.loanbook import LoanBook, LoanStatus
from hessian_common.chain.repository import ModelRepository
from hessian_common.config import load_settings
from hessian_common.store import EmbeddedStore
from tests.fixtures.chain import fund_accounts
from tests.fixtures.lending import closed_lending_model

PASSPHRASE = "borrow-test-passphrase"
ETH = 10**18
LENDER, BORROWER, OTHER = 0, 1, 2

GOOD = {
    "loan_amnt": "10000",
    "term": "36",
    "grade": "A",
    "emp_length": "10+ years",
    "annual_inc": "120000",
    "dti": "8.5",
    "fico_range_low": "780",
    "delinq_2yrs": "0",
    "inq_last_6mths": "0",
    "open_acc": "9",
    "pub_rec": "0",
    "revol_bal": "4000",
    "revol_util": "12",
    "total_acc": "20",
    "home_ownership": "MORTGAGE",
    "purpose": "home_improvement",
    "verification_status": "Verified",
    "earliest_cr_line": "Mar-2001",
    "addr_state": "CA",
}


@dataclass
class World:
    w3: Any
    clients: list
    repo: ModelRepository
    book: LoanBook
    """Signs as the lender."""
    store: EmbeddedStore
    desk: Any
    model_id: int
    name: str

    def book_as(self, index: int) -> LoanBook:
        return self.book.as_account(self.clients[index])


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    from hessian_common.data.generator import generate_split
    from hessian_common.lending.desk import LendingDesk
    from hessian_common.tasks import Lender, LenderState

    root = tmp_path_factory.mktemp("borrow")
    generate_split(root / "data", 3000, 1, 11, seed_fraction=0.5, holdout_fraction=0.05)
    w3 = eth_tester_web3()
    accounts = fund_accounts(w3)
    client = ChainClient(w3, accounts[0])
    clients = [client] + [client.with_account(a) for a in accounts[1:]]
    art = load_artifact("ModelRepository")
    repo = ModelRepository(client, deploy_repository(client, artifact=art, record=False), art.abi)
    book = LoanBook(client, deploy_loanbook(client, repo.address, record=False))
    store = EmbeddedStore(root / "store")
    lender = Lender(repo, store, LenderState(root / "company"), PASSPHRASE)
    name = "Borrowers' test model"
    desk = LendingDesk(lender, book)
    model_id = closed_lending_model(
        lender, root / "data" / "lender_seed.csv", name=name, mu=0.05, desk=desk
    )
    return World(w3, clients, repo, book, store, desk, model_id, name)


@pytest.fixture
def app(world, tmp_path):
    """The data-owner app as the borrower, CSRF on."""
    app = create_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": True,
            "HESSIAN_SETTINGS": load_settings(home=tmp_path / "home"),
            "OWNER_STATE_DIR": tmp_path / "owner",
            "OWNER_REPO": world.repo.as_account(world.clients[BORROWER]),
            "OWNER_LOANBOOK": world.book_as(BORROWER),
            "OWNER_STORE": world.store,
            "HESSIAN_STATUS_TTL": 0.0,
        }
    )
    yield app
    from hessian_common.web import jobs

    jobs(app).shutdown(wait=True)


@pytest.fixture
def web(app):
    return app.test_client()


_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def token(web, url: str) -> str:
    body = web.get(url).get_data(as_text=True)
    match = _TOKEN.search(body)
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def text(response) -> str:
    """The page's text with tags dropped and spaces collapsed."""
    page = response.get_data(as_text=True)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def apply(web, world, **over: str) -> Any:
    """POST the application form (with the page's CSRF token); returns the response."""
    url = f"/borrow/apply/{world.model_id}"
    return web.post(url, data={"csrf_token": token(web, url), **GOOD, **over})


def loan_id_of(response) -> int:
    assert response.status_code == 302, text(response)[-1500:]
    match = re.search(r"/borrow/loans/(\d+)$", response.headers["Location"])
    assert match, response.headers["Location"]
    return int(match.group(1))


def post(web, url: str, page: str) -> Any:
    """POST a bare action form with the CSRF token of ``page``."""
    return web.post(url, data={"csrf_token": token(web, page)})


def store_files(world) -> set[str]:
    return {str(p) for p in Path(world.store.root).rglob("*") if p.is_file()}


# ---------------------------------------------------------------------- pages


def test_index_lists_the_lender_and_its_policy(web, world):
    page = web.get("/borrow/")
    assert page.status_code == 200
    t = text(page)
    assert world.name in t and f"Model #{world.model_id}" in t
    assert "5.00% – 30.00%" in t  # APR range of the default policy (cap 30%)
    assert "$1,000.00 – $40,000.00" in t and "36 or 60 months" in t
    assert "8.00% a year" in t  # required return
    assert f'href="/borrow/apply/{world.model_id}"' in page.get_data(as_text=True)
    assert "You have not applied" in t
    assert 'href="/borrow/"' in web.get("/").get_data(as_text=True)  # the nav link


def test_application_form_follows_the_field_list(web, world):
    from hessian_common.lending.application import APPLICATION_FIELDS

    body = web.get(f"/borrow/apply/{world.model_id}").get_data(as_text=True)
    for f in APPLICATION_FIELDS:
        assert f'name="{f.name}"' in body, f.name
        assert f.label.replace("'", "&#39;") in body
    assert "The credit grade on your credit report" in body
    assert '<option value="G">G</option>' in body
    assert 'name="int_rate"' not in body and 'name="installment"' not in body
    # limits in words a person reads, never "1e+07"
    assert "0 to 10,000,000" in body and "1,000 to 40,000" in body and "e+0" not in body


def test_bad_application_shows_errors_and_changes_nothing(web, app, world):
    before_loans = world.book.loan_count()
    before_files = store_files(world)
    r = apply(web, world, loan_amnt="lots", fico_range_low="900", grade="", earliest_cr_line="x")
    assert r.status_code == 400
    t = text(r)
    assert "Please correct the application." in t and "Nothing was stored or sent." in t
    assert "'lots' is not a number" in t
    assert "must be between 300 and 850" in t
    assert ".." not in t.replace("...", "")  # one full stop between sentences
    assert "is not a month like Jan-2005" in t
    body = r.get_data(as_text=True)
    assert body.count("has-error") == 4
    assert 'value="120000"' in body  # good values stay in the form
    r = apply(web, world, dti="1,5")  # was sealed and put on chain as 15
    assert r.status_code == 400 and "it could mean 1.5 or 15" in text(r)
    assert world.book.loan_count() == before_loans
    # outside this lender's policy (the library's range is wider): refused the same way
    r = apply(web, world, loan_amnt="45000")
    assert r.status_code == 400 and "between 1,000 and 40,000" in text(r)
    assert world.book.loan_count() == before_loans
    assert store_files(world) == before_files
    for kept in ("applications", "drafts"):  # no local copy, no draft either
        folder = app.extensions["owner"].borrow_dir / kept
        assert not folder.exists() or not list(folder.iterdir()), kept


def test_a_kept_draft_fills_the_form_and_can_be_cleared(web, app, world):
    """What an outage leaves behind (see test_borrow_outage.py): the answers come back."""
    from hessian_common.lending import borrower

    folder = app.extensions["owner"].borrow_dir
    url = f"/borrow/apply/{world.model_id}"
    borrower.save_draft(folder, world.model_id, {**GOOD, "annual_inc": "98765", "junk": "x"})
    draft = folder / "drafts" / f"model-{world.model_id}.json"
    assert draft.stat().st_mode & 0o777 == 0o600
    assert "junk" not in draft.read_text()  # only the application's own fields
    page = web.get(url)
    assert page.status_code == 200
    assert "Filled in with your answers not yet sent" in text(page)
    assert 'value="98765"' in page.get_data(as_text=True)
    r = web.post(f"{url}/discard", data={"csrf_token": token(web, url)})
    assert r.status_code == 302 and not draft.exists()
    page = web.get(url)
    assert "not yet sent" not in text(page) and 'value="98765"' not in page.get_data(as_text=True)
    # without a valid token the draft stays
    borrower.save_draft(folder, world.model_id, GOOD)
    assert web.post(f"{url}/discard", data={}).status_code == 400 and draft.exists()
    # sent: the draft is gone
    loan_id = loan_id_of(apply(web, world, loan_amnt="3300"))
    assert world.book.loan(loan_id).amount == 3300 * 10**14
    assert not draft.exists()


def test_answer_lost_then_sent_again_finds_the_loan(web, app, world):
    """The transaction was mined but its answer never came back; sending again does not make a
    second loan: the page goes to the one on chain and the local copy gets its name."""
    from hessian_common.lending import borrower
    from hessian_common.lending.application import parse_application

    folder = app.extensions["owner"].borrow_dir
    answers = {**GOOD, "loan_amnt": "4400"}
    book = world.book_as(BORROWER)
    # the form was posted (its answers kept) and sent; then the page showed an outage
    stamp = "2026-01-02T03:04:05Z"
    borrower.save_draft(folder, world.model_id, answers, created_at=stamp)
    application = parse_application(answers, created_at=stamp)
    loan_id = borrower.apply(book, world.store, world.model_id, application)
    pending = (
        folder / "applications" / f"pending-{book.loan(loan_id).application_digest.hex()}.json"
    )
    pending.parent.mkdir(parents=True, exist_ok=True)
    pending.write_bytes(application.to_bytes())  # as a lost answer leaves it
    before = world.book.loan_count()
    r = apply(web, world, loan_amnt="4400")
    assert loan_id_of(r) == loan_id
    assert world.book.loan_count() == before
    assert "already sent, as loan" in text(web.get(r.headers["Location"]))
    assert not pending.exists() and (folder / "applications" / f"{loan_id}.json").exists()
    assert not (folder / "drafts" / f"model-{world.model_id}.json").exists()


def test_the_same_answers_from_another_account_do_not_block_ours(web, app, world):
    """Identical answers and time stamp already sent by another account (say, copied from our
    pending transaction): applications are recorded per borrower and name their borrower, so
    ours is a different application and goes through."""
    from hessian_common.lending import borrower
    from hessian_common.lending.application import parse_application

    folder = app.extensions["owner"].borrow_dir
    answers = {**GOOD, "loan_amnt": "4500"}
    stamp = "2026-01-02T03:04:06Z"
    borrower.save_draft(folder, world.model_id, answers, created_at=stamp)
    theirs = parse_application(answers, created_at=stamp)
    loan_id = borrower.apply(world.book_as(OTHER), world.store, world.model_id, theirs)
    before = world.book.loan_count()
    r = apply(web, world, loan_amnt="4500")
    assert r.status_code == 302, text(r)
    assert world.book.loan_count() == before + 1
    mine = world.book.loan(before + 1)
    assert mine.borrower == app.extensions["owner"].address and mine.loan_id != loan_id
    assert (folder / "applications" / f"{mine.loan_id}.json").exists()
    assert not (folder / "drafts" / f"model-{world.model_id}.json").exists()


def test_post_without_csrf_token_is_refused(web, app, world):
    before = world.book.loan_count()
    r = web.post(f"/borrow/apply/{world.model_id}", data=GOOD)
    assert r.status_code == 400
    assert world.book.loan_count() == before
    assert not (app.extensions["owner"].borrow_dir / "drafts").exists()  # not even a draft
    loan_id = loan_id_of(apply(web, world, loan_amnt="2100"))
    r = web.post(f"/borrow/loans/{loan_id}/cancel")
    assert r.status_code in (302, 400)
    assert world.book.loan(loan_id).status is LoanStatus.APPLIED


# ---------------------------------------------------------------------- the loan's life


def test_apply_accept_withdraw_repay(web, app, world):
    borrower = world.clients[BORROWER].address
    lender = world.clients[LENDER].address
    r = apply(web, world, loan_amnt="10000")
    loan_id = loan_id_of(r)
    info = world.book.loan(loan_id)
    assert info.status is LoanStatus.APPLIED and info.borrower == borrower
    assert info.model_id == world.model_id and info.requested_term == 36
    assert info.amount == 10000 * 10**14  # $10,000 at the default 10^14 wei per dollar
    # what went on chain is the digest of the copy kept here; the store holds it sealed
    kept = app.extensions["owner"].borrow_dir / "applications" / f"{loan_id}.json"
    assert kept.exists()
    blob = world.store.get(info.application_cid)
    assert b"120000" not in blob and b"MORTGAGE" not in blob
    page = web.get(f"/borrow/loans/{loan_id}")
    t = text(page)
    assert f"Loan #{loan_id}" in t and "applied" in t and "No offer yet" in t
    assert "MORTGAGE" in t and "Annual income (US$) 120,000" in t  # the local copy
    assert world.name in text(web.get("/borrow/loans"))

    view = world.desk.decide(loan_id)  # the suggested decision
    assert view is not None
    info = world.book.loan(loan_id)
    assert info.status is LoanStatus.OFFERED, f"declined: pd {info.pd_ppm} ppm"
    t = text(web.get(f"/borrow/loans/{loan_id}"))
    assert "offered" in t and f"{info.apr_bps / 100:.2f}%" in t
    assert f"{info.pd_ppm / 10000:.2f}%" in t
    assert "Offer expires" in t and "Total to repay" in t
    assert "month 1 after funding" in t  # the schedule before funding

    r = post(web, f"/borrow/loans/{loan_id}/accept", f"/borrow/loans/{loan_id}")
    assert r.status_code == 302
    assert world.book.loan(loan_id).status is LoanStatus.ACCEPTED

    world.desk.fund(loan_id)
    info = world.book.loan(loan_id)
    assert info.status is LoanStatus.FUNDED
    assert world.book.pending(borrower) == info.principal
    t = text(web.get("/borrow/"))
    assert "Withdraw to my wallet" in t

    wallet = world.w3.eth.get_balance(borrower)
    r = post(web, "/borrow/withdraw", "/borrow/")
    assert r.status_code == 302
    assert world.book.pending(borrower) == 0
    gained = world.w3.eth.get_balance(borrower) - wallet
    assert info.principal - ETH // 100 < gained <= info.principal  # minus gas

    lender_pending = world.book.pending(lender)
    r = post(web, f"/borrow/loans/{loan_id}/repay", f"/borrow/loans/{loan_id}")
    assert r.status_code == 302
    info = world.book.loan(loan_id)
    assert info.repaid == info.installment and info.status is LoanStatus.FUNDED
    assert world.book.pending(lender) == lender_pending + info.installment
    body = web.get(f"/borrow/loans/{loan_id}").get_data(as_text=True)
    assert body.count('<tr class="paid">') == 1
    assert body.count('<tr class="due">') == info.term_months - 1

    # the payoff is shown before paying: principal left + interest to date, no future months
    page = text(web.get(f"/borrow/loans/{loan_id}"))
    quote = world.book.payoff_amount(loan_id)
    assert info.principal - info.installment < quote < info.principal
    assert "Pay off now" in page and "Future months' interest is not charged" in page
    r = post(web, f"/borrow/loans/{loan_id}/repay-all", f"/borrow/loans/{loan_id}")
    assert r.status_code == 302
    info = world.book.loan(loan_id)
    assert info.status is LoanStatus.REPAID and info.outstanding == 0
    # the example: a 1 ETH loan paid off minutes after funding costs ~1 ETH, not 1.17
    assert info.principal <= info.repaid < info.principal * 1.0001 < info.total_owed
    assert world.book.pending(lender) == lender_pending + info.repaid
    page = web.get(f"/borrow/loans/{loan_id}")
    assert "repaid" in text(page) and "Repay next instalment" not in text(page)
    body = page.get_data(as_text=True)
    assert body.count('<tr class="paid">') == 1
    assert body.count('<tr class="settled">') == info.term_months - 1


def test_cancel_before_an_offer(web, world):
    loan_id = loan_id_of(apply(web, world, loan_amnt="3300"))
    r = post(web, f"/borrow/loans/{loan_id}/cancel", f"/borrow/loans/{loan_id}")
    assert r.status_code == 302
    assert world.book.loan(loan_id).status is LoanStatus.CANCELLED
    page = web.get(f"/borrow/loans/{loan_id}")
    assert "cancelled" in text(page) and "Accept the offer" not in text(page)
    assert f"/borrow/loans/{loan_id}/cancel" not in page.get_data(as_text=True)


def test_a_decline_shows_the_recorded_pd(web, world):
    loan_id = loan_id_of(apply(web, world, loan_amnt="4400", grade="G", fico_range_low="620"))
    world.desk.decide(loan_id, approve=False)
    info = world.book.loan(loan_id)
    assert info.status is LoanStatus.DECLINED and info.pd_ppm > 0
    t = text(web.get(f"/borrow/loans/{loan_id}"))
    assert "declined" in t and f"{info.pd_ppm / 10000:.2f}%" in t
    assert "Accept the offer" not in t


def test_someone_elses_loan_is_not_shown_or_touched(web, world):
    from hessian_common.lending import borrower
    from hessian_common.lending.application import parse_application

    other = world.book_as(OTHER)
    loan_id = borrower.apply(
        other, world.store, world.model_id, parse_application({**GOOD, "loan_amnt": "5500"})
    )
    assert web.get(f"/borrow/loans/{loan_id}").status_code == 404
    r = post(web, f"/borrow/loans/{loan_id}/cancel", f"/borrow/apply/{world.model_id}")
    assert r.status_code == 404
    assert world.book.loan(loan_id).status is LoanStatus.APPLIED
    assert f"#{loan_id}" not in text(web.get("/borrow/loans"))


def test_unknown_lender_model_is_404(web, world):
    assert web.get(f"/borrow/apply/{world.model_id + 99}").status_code == 404


def test_no_loanbook_deployed_is_a_clear_page(world, tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "HESSIAN_SETTINGS": load_settings(
                home=tmp_path / "home", deployments_dir=tmp_path / "deployments"
            ),
            "OWNER_STATE_DIR": tmp_path / "owner",
            "OWNER_REPO": world.repo.as_account(world.clients[BORROWER]),
            "OWNER_STORE": world.store,
            "HESSIAN_STATUS_TTL": 0.0,
        }
    )
    web = app.test_client()
    r = web.get("/borrow/")
    assert r.status_code == 503
    t = text(r)
    assert "Borrowing is not available on this chain" in t and "hessian deploy" in t
    assert web.get("/").status_code == 200  # the rest of the app still works


def test_local_copy_matches_the_digest_on_chain(web, app, world):
    from hessian_common.lending.application import Application

    loan_id = loan_id_of(apply(web, world, loan_amnt="6600"))
    kept = app.extensions["owner"].borrow_dir / "applications" / f"{loan_id}.json"
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    data = kept.read_bytes()
    info = world.book.loan(loan_id)
    assert hashlib.sha256(data).digest() == info.application_digest
    assert Application.from_bytes(data).fields["loan_amnt"] == 6600


def test_an_expired_offer_cannot_be_accepted(web, world):
    from tests.fixtures.chain import ChainTime

    loan_id = loan_id_of(apply(web, world, loan_amnt="7700"))
    world.desk.decide(loan_id, approve=True)
    info = world.book.loan(loan_id)
    assert info.status is LoanStatus.OFFERED
    assert "Offer expires" in text(web.get(f"/borrow/loans/{loan_id}"))
    assert "(ended " not in text(web.get(f"/borrow/loans/{loan_id}"))
    ChainTime(world.w3).advance(world.book.offer_validity + 60)
    # the page counts down on the chain's clock (the one the contract uses)
    assert "(ended " in text(web.get(f"/borrow/loans/{loan_id}"))
    r = post(web, f"/borrow/loans/{loan_id}/accept", f"/borrow/loans/{loan_id}")
    assert r.status_code == 400 and "expired" in text(r)
    assert world.book.loan(loan_id).status is LoanStatus.OFFERED
    # turning it down still works
    r = post(web, f"/borrow/loans/{loan_id}/cancel", f"/borrow/loans/{loan_id}")
    assert r.status_code == 302
    assert world.book.loan(loan_id).status is LoanStatus.CANCELLED


def test_the_lender_queue_and_the_borrower_offer_show_the_same_amounts(web, world, tmp_path):
    """One formatting layer: the instalment the lender's queue suggests is, character for
    character, the one the borrower's offer shows (ETH with the same decimals, and dollars at
    the policy's rate), and the amount asked reads the same on both sides."""
    from company_app import create_app as company_app

    company = company_app(
        {
            "TESTING": True,
            "WTF_CSRF_ENABLED": False,
            "HESSIAN_HOME": tmp_path / "company-home",
            "W3": world.w3,
            "STORE_OBJ": world.store,
            "LENDER": world.desk.lender,
            "LOANBOOK_OBJ": world.book,
            "HESSIAN_STATUS_TTL": 0.0,
        }
    )
    lender_web = company.test_client()
    loan_id = loan_id_of(apply(web, world, loan_amnt="3243.21", term="36"))
    queue = lender_web.get("/lending/applications").get_data(as_text=True)
    row = queue.split(f'id="loan-{loan_id}"', 1)[1].split("</tr>", 1)[0]
    suggested = re.search(r'class="suggested-installment">([^<]+)<', row).group(1)
    assert re.fullmatch(r"\d+\.\d{2,6} ETH \(\$\d[\d,]*\.\d\d\)", suggested), suggested
    asked = re.search(r'<td class="num">([^<]*ETH[^<]*)</td>', row).group(1)
    assert asked == "0.324321 ETH ($3,243.21)"
    assert "The applicant's answers" in queue  # the lender sees what was asked
    answers = queue.split(f'id="answers-{loan_id}"', 1)[1].split("</tr>", 1)[0]
    assert "Annual income (US$)" in answers and "120,000" in answers

    assert lender_web.post(f"/lending/applications/{loan_id}/suggested").status_code == 302
    offer = web.get(f"/borrow/loans/{loan_id}").get_data(as_text=True)
    shown = re.search(r'id="offer-installment">([^<]+)<', offer).group(1)
    assert html.unescape(shown) == html.unescape(suggested)
    assert "0.324321 ETH ($3,243.21)" in html.unescape(offer)
    from hessian_common.web import jobs

    jobs(company).shutdown(wait=True)
