"""Lender desk and borrower workflows on a real chain (eth-tester), LoanBook and store."""

from __future__ import annotations

import json
import stat
from dataclasses import replace

import pytest

from hessian_common.chain.loanbook import LoanStatus, installment_for
from hessian_common.crypto.sealing import new_application_key, open_key_at_rest, seal
from hessian_common.errors import ChainError, LendingInputError
from hessian_common.lending import borrower
from hessian_common.lending.application import (
    Application,
    application_from_row,
    parse_application,
)
from hessian_common.lending.pricing import PricingPolicy, quote
from hessian_common.store import cid_of
from tests.lending.helpers import PASSPHRASE, make_task

DAY = 86400


def pick(env, approved: bool, n: int = 300):
    """A generated application whose suggested decision is ``approved``."""
    from hessian_common.data.generator import generate_loans

    model = env.desk.credit_model(env.model_id)
    policy = env.desk.policy(env.model_id)
    for _, row in generate_loans(n, seed=41, unresolved_fraction=0).iterrows():
        app = application_from_row(row.to_dict())
        q = quote(policy, model.score(app).pd, app.amount, app.term)
        if q.approved == approved:
            return app, q
    raise AssertionError("no such application in the sample")


def risky(env) -> Application:
    return parse_application(
        {
            "loan_amnt": "30000",
            "term": "60",
            "grade": "G",
            "emp_length": "n/a",
            "annual_inc": "15000",
            "dti": "60",
            "fico_range_low": "600",
            "delinq_2yrs": "6",
            "inq_last_6mths": "12",
            "open_acc": "3",
            "pub_rec": "4",
            "revol_bal": "40000",
            "revol_util": "150",
            "total_acc": "4",
            "home_ownership": "RENT",
            "purpose": "small_business",
            "verification_status": "Not Verified",
            "earliest_cr_line": "Jan-2020",
        }
    )


def test_deploy_writes_private_files_publishes_the_policy_and_is_idempotent(lending):
    desk, m = lending.desk, lending.model_id
    steps = []
    deployed = desk.deploy(m, progress=lambda **k: steps.append(k.get("message")))
    assert steps and deployed.active and deployed.model_id == m and deployed.loan_count == 0
    assert deployed.calibration.chosen in ("platt", "identity")
    assert set(deployed.reference_rates) == set("ABCDEFG")
    d = lending.lender.books.dir(m) / "lending"
    for name in ("credit_model.json", "calibration.json", "application_key.json", "policy.json"):
        assert stat.S_IMODE((d / name).stat().st_mode) == 0o600
    sealed = json.loads((d / "application_key.json").read_text())
    private = open_key_at_rest(sealed, PASSPHRASE)
    on_chain = lending.book.deployment(m)
    assert (
        on_chain.application_key == deployed.application_key == bytes.fromhex(sealed["public_key"])
    )
    doc = lending.store.get_json(on_chain.policy_cid)
    assert doc["format"] == "hessian.lending-policy/1" and doc["model_id"] == m
    assert doc["application_key"] == deployed.application_key.hex()
    assert PricingPolicy.from_dict(doc["policy"]) == PricingPolicy()
    assert "weights" not in json.dumps(doc) and private.hex() not in json.dumps(doc)
    assert doc["model_cid"] == str(lending.lender.repo.model(m).model_cid)
    again = desk.deploy(m)
    assert again == deployed and len(desk.deployed()) == 1
    offers = borrower.lenders(lending.borrower_book(), lending.store)
    assert [o.model_id for o in offers] == [m] and offers[0].usable


def test_deploy_refuses_bad_input_and_writes_nothing(lending, lending_data):
    desk = lending.desk
    open_id = make_task(lending.lender, lending_data, name="still open")
    files = lending.store_files()
    with pytest.raises(LendingInputError) as e:
        desk.deploy(open_id)
    assert "close it" in e.value.errors["model"]
    with pytest.raises(LendingInputError) as e:
        desk.deploy(999)
    assert "model" in e.value.errors
    with pytest.raises(LendingInputError) as e:
        desk.deploy(lending.model_id, PricingPolicy(max_pd=2.0))
    assert "max_pd" in e.value.errors
    for m in (open_id, lending.model_id):
        assert not (lending.lender.books.dir(m) / "lending").exists()
        assert lending.book.deployment(m) is None
    assert lending.store_files() == files


def test_a_crash_before_the_transaction_is_resumed_with_the_same_key(lending, monkeypatch):
    desk, m = lending.desk, lending.model_id

    def crash(*_a, **_k):
        raise RuntimeError("power cut")

    monkeypatch.setattr(desk.book, "deploy_model", crash)
    with pytest.raises(RuntimeError):
        desk.deploy(m)
    monkeypatch.undo()
    assert lending.book.deployment(m) is None
    sealed = json.loads(
        (lending.lender.books.dir(m) / "lending" / "application_key.json").read_text()
    )
    fresh = type(desk)(lending.lender, lending.book)  # a new process
    deployed = fresh.deploy(m)
    assert deployed.application_key.hex() == sealed["public_key"]


def test_apply_offer_accept_fund_withdraw_repay_in_full(lending):
    desk, m = lending.desk, lending.model_id
    desk.deploy(m)
    bbook = lending.borrower_book(1)
    bdir = lending.borrower_dir(1)
    app, q = pick(lending, approved=True)
    loan_id = borrower.apply(bbook, lending.store, m, app, state_dir=bdir)
    assert loan_id == 1
    saved = bdir / "applications" / "1.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    sent = Application.from_bytes(saved.read_bytes())
    assert sent == replace(app, borrower=bbook.client.address)  # it names its borrower
    # the store holds only the sealed blob
    info = lending.book.loan(loan_id)
    blob = lending.store.get(info.application_cid)
    assert sent.to_bytes() not in blob and info.application_digest == sent.digest()
    app = sent

    [view] = desk.applications()
    assert view.application == app and view.error is None and view.suggested_approve
    assert view.quote == q and view.score.pd == pytest.approx(q.pd)
    decided = desk.decide(loan_id)
    loan = decided.loan
    policy = desk.policy(m)
    assert loan.status == LoanStatus.OFFERED and loan.apr_bps == q.apr_bps
    assert loan.principal == policy.to_wei(app.amount) and loan.term_months == app.term
    assert loan.installment == installment_for(loan.principal, q.apr_bps, app.term)
    assert loan.pd_ppm == round(q.pd * 1e6)
    assert desk.applications() == []
    with pytest.raises(LendingInputError):
        desk.decide(loan_id)  # already decided

    [mine] = borrower.my_loans(bbook, state_dir=bdir)
    assert mine.status == "offered" and mine.apr_bps == q.apr_bps and mine.application == app
    with pytest.raises(LendingInputError):
        desk.fund(loan_id)  # not accepted yet
    borrower.accept(bbook, loan_id)
    desk.fund(loan_id)
    assert borrower.withdraw(bbook) == loan.principal
    assert borrower.withdraw(bbook) == 0

    borrower.repay(bbook, loan_id)  # the first instalment
    [lv] = desk.loan_book()
    assert lv.repaid == loan.installment and lv.status == "funded" and lv.grade == app.grade
    assert not lv.can_mark_late and not lv.can_default
    assert lv.next_due_at == lv.loan.funded_at + 2 * lending.book.payment_period
    # paid off at once: the principal left and a few seconds of interest, never future months
    quote = borrower.payoff_quote(bbook, loan_id)
    assert loan.principal - loan.installment < quote < loan.principal
    borrower.repay_all(bbook, loan_id)
    done = lending.book.loan(loan_id)
    assert done.status == LoanStatus.REPAID and done.outstanding == 0
    paid = int(done.repaid)
    assert loan.principal <= paid < loan.principal * 1.0001 < loan.total_owed
    assert borrower.withdraw(bbook) > 0  # the margin sent for the mining delay comes back
    assert desk.withdraw() == paid
    perf = desk.performance()
    assert (perf.total.applied, perf.total.approved, perf.total.funded) == (1, 1, 1)
    assert (perf.total.resolved, perf.total.defaulted) == (1, 0)
    assert perf.total.realised_total_return == pytest.approx(paid / loan.principal - 1)
    assert perf.total.expected_return == pytest.approx(q.expected_return, abs=2e-3)
    assert [r.label for r in perf.by_grade] == [app.grade]


def test_decline_path(lending):
    desk, m = lending.desk, lending.model_id
    desk.deploy(m)
    bbook = lending.borrower_book(2)
    app = risky(lending)
    loan_id = borrower.apply(bbook, lending.store, m, app)
    [view] = desk.applications()
    assert not view.suggested_approve and view.score.pd > desk.policy(m).max_pd
    decided = desk.decide_all_pending()
    assert [v.loan.status for v in decided] == [LoanStatus.DECLINED]
    assert decided[0].loan.pd_ppm == view.pd_ppm and decided[0].loan.principal == 0
    with pytest.raises(LendingInputError):
        borrower.accept(bbook, loan_id)
    perf = desk.performance()
    assert perf.total.decided == 1 and perf.total.approved == 0 and perf.total.approval_rate == 0


def test_default_path_with_time_travel(lending):
    desk, m, book = lending.desk, lending.model_id, lending.book
    desk.deploy(m)
    bbook = lending.borrower_book(3)
    app, _q = pick(lending, approved=True)
    loan_id = borrower.apply(bbook, lending.store, m, app)
    desk.decide(loan_id)
    borrower.accept(bbook, loan_id)
    desk.fund(loan_id)
    borrower.repay(bbook, loan_id)
    with pytest.raises(LendingInputError):
        desk.mark_late(loan_id)  # nothing overdue yet
    lending.chain_time.advance(book.payment_period * 2 + DAY)
    [lv] = desk.loan_book()
    assert lv.can_mark_late and not lv.can_default
    desk.mark_late(loan_id)
    [mine] = borrower.my_loans(bbook)
    assert mine.late and mine.next_due_amount > 0
    with pytest.raises(LendingInputError):
        desk.mark_default(loan_id)
    lending.chain_time.advance(book.default_after)
    assert desk.loan_book()[0].can_default
    desk.mark_default(loan_id)
    loan = book.loan(loan_id)
    assert loan.status == LoanStatus.DEFAULTED
    borrower.repay(bbook, loan_id, 10**15)  # a recovery
    assert book.loan(loan_id).status == LoanStatus.DEFAULTED
    perf = desk.performance()
    assert (perf.total.resolved, perf.total.defaulted) == (1, 1)
    assert perf.total.realised_total_return < 0
    assert perf.by_pd[0].funded == 1


def test_bad_inputs_change_nothing(lending):
    desk, m, book = lending.desk, lending.model_id, lending.book
    bbook = lending.borrower_book(1)
    desk.deploy(m, PricingPolicy(terms=(36,), max_amount=20_000))
    app, _ = pick(lending, approved=True)
    files = lending.store_files()
    bad_term = parse_application({**_form(app), "term": "60"}, created_at=app.created_at)
    with pytest.raises(LendingInputError) as e:
        borrower.apply(bbook, lending.store, m, bad_term, state_dir=lending.borrower_dir())
    assert "term" in e.value.errors
    big = parse_application(
        {**_form(app), "term": "36", "loan_amnt": "25000"}, created_at=app.created_at
    )
    with pytest.raises(LendingInputError) as e:
        borrower.apply(bbook, lending.store, m, big)
    assert "loan_amnt" in e.value.errors
    with pytest.raises(LendingInputError):
        borrower.apply(bbook, lending.store, m + 1, app)  # not deployed
    assert book.loan_count() == 0 and lending.store_files() == files
    assert not (lending.borrower_dir() / "applications").exists()

    ok = parse_application(
        {**_form(app), "term": "36", "loan_amnt": "5000"}, created_at=app.created_at
    )
    loan_id = borrower.apply(bbook, lending.store, m, ok)
    files = lending.store_files()
    with pytest.raises(LendingInputError) as e:
        borrower.apply(bbook, lending.store, m, ok)  # the same application twice
    assert "already" in e.value.errors["application"]
    assert book.loan_count() == 1 and lending.store_files() == files

    with pytest.raises(LendingInputError):
        desk.decide(loan_id, approve=True, apr_bps=desk.policy(m).max_apr_bps + 1)
    with pytest.raises(LendingInputError):
        desk.decide(loan_id, approve=True, apr_bps=1000, principal_wei=10**30)
    with pytest.raises(LendingInputError):
        desk.decide(77)
    with pytest.raises(LendingInputError):
        borrower.accept(lending.borrower_book(2), loan_id)  # not theirs
    assert book.loan(loan_id).status == LoanStatus.APPLIED

    desk.decide(loan_id, approve=True, apr_bps=1234, principal_wei=book.loan(loan_id).amount // 2)
    loan = book.loan(loan_id)
    assert loan.apr_bps == 1234 and loan.principal == loan.amount // 2
    borrower.accept(bbook, loan_id)
    desk.fund(loan_id)
    with pytest.raises(LendingInputError):
        borrower.repay(bbook, loan_id, loan.total_owed + 1)
    with pytest.raises(LendingInputError):
        borrower.repay(bbook, loan_id, 0)
    assert book.loan(loan_id).repaid == 0


def test_unreadable_applications_are_suggested_declines(lending):
    desk, m, _book = lending.desk, lending.model_id, lending.book
    desk.deploy(m)
    bbook = lending.borrower_book(4)
    app, _ = pick(lending, approved=True)
    _priv, wrong_key = new_application_key()
    cid = lending.store.put(seal(wrong_key, app.to_bytes()))  # sealed to the wrong key
    amount = desk.policy(m).to_wei(app.amount)
    loan_id = bbook.apply(m, app.digest(), cid, amount, app.term)
    [view] = desk.applications()
    assert view.error and "unusable" in view.error and not view.suggested_approve
    assert view.pd_ppm == 1_000_000
    with pytest.raises(LendingInputError):
        desk.decide(loan_id, approve=True, apr_bps=1000)
    assert desk.decide(loan_id).loan.status == LoanStatus.DECLINED


def test_an_application_whose_blob_is_not_there_yet_is_read_when_it_arrives(lending):
    desk, m = lending.desk, lending.model_id
    desk.deploy(m)
    bbook = lending.borrower_book(5)
    app, _ = pick(lending, approved=True)
    app = replace(app, borrower=bbook.client.address)
    blob = seal(bytes(lending.book.deployment(m).application_key), app.to_bytes())
    cid = cid_of(blob)  # announced on chain before the store has it
    loan_id = bbook.apply(m, app.digest(), cid, desk.policy(m).to_wei(app.amount), app.term)
    [view] = desk.applications()
    assert view.error and "not found" in view.error and not view.suggested_approve
    assert view.waiting
    assert desk.decide_all_pending() == []  # not declined for want of a blob: still pending
    assert lending.book.loan(loan_id).status is LoanStatus.APPLIED
    assert lending.store.put(blob) == cid
    [view] = desk.applications()  # read again, not the cached miss
    assert view.error is None and view.loan.loan_id == loan_id and view.suggested_approve
    assert not view.waiting
    [decided] = desk.decide_all_pending()
    assert decided.loan.status is LoanStatus.OFFERED


def _form(app: Application) -> dict[str, str]:
    return {k: str(v) for k, v in app.fields.items()}


def test_a_copied_application_neither_blocks_nor_passes_as_its_borrowers(lending):
    """Someone copies a borrower's pending (digest, sealed CID) and applies first from another
    address: the real borrower still applies (applications are recorded per borrower), and the
    lender sees that the copy names someone else and declines it."""
    desk, m = lending.desk, lending.model_id
    desk.deploy(m)
    victim, thief = lending.borrower_book(1), lending.borrower_book(2)
    app, _ = pick(lending, approved=True)
    app = replace(app, borrower=victim.client.address)
    blob = seal(bytes(lending.book.deployment(m).application_key), app.to_bytes())
    cid = lending.store.put(blob)
    amount = desk.policy(m).to_wei(app.amount)
    copy_id = thief.apply(m, app.digest(), cid, amount, app.term)
    real_id = borrower.apply(victim, lending.store, m, app, state_dir=lending.borrower_dir(1))
    assert real_id != copy_id
    views = {v.loan.loan_id: v for v in desk.applications()}
    assert "names" in views[copy_id].error and not views[copy_id].suggested_approve
    assert views[real_id].error is None and views[real_id].suggested_approve


def test_fund_only_within_the_funding_window(lending):
    desk, m = lending.desk, lending.model_id
    desk.deploy(m)
    bbook = lending.borrower_book(3)
    app, _ = pick(lending, approved=True)
    loan_id = borrower.apply(bbook, lending.store, m, app, state_dir=lending.borrower_dir(3))
    desk.decide(loan_id)
    borrower.accept(bbook, loan_id)
    lending.chain_time.advance(lending.book.funding_window + 1)
    with pytest.raises(LendingInputError, match="funding window"):
        desk.fund(loan_id)
    borrower.cancel(bbook, loan_id)  # the borrower is free again
    assert lending.book.loan(loan_id).status is LoanStatus.CANCELLED


def test_repay_batch_pays_instalments_in_one_send_and_names_a_revert(lending):
    """``LoanBook.repay_batch`` through the chain client's batch send (``transact_batch``, what
    the simulation's month of repayments uses): the same contract call as ``repay``, receipts
    in order; a call reverted when mined raises and pays nothing."""
    desk, m = lending.desk, lending.model_id
    desk.deploy(m)
    bbook = lending.borrower_book(1)
    app, _ = pick(lending, approved=True)
    loan_id = borrower.apply(bbook, lending.store, m, app, state_dir=lending.borrower_dir(1))
    inst = desk.decide(loan_id).loan.installment
    borrower.accept(bbook, loan_id)
    desk.fund(loan_id)
    payer = lending.accounts[1]
    batch = [(payer, loan_id, inst), (payer, loan_id, inst)]
    receipts = lending.book.repay_batch(batch, gas=250_000)
    assert [r["status"] for r in receipts] == [1, 1]
    loan = lending.book.loan(loan_id)
    assert loan.repaid == 2 * inst and loan.status == LoanStatus.FUNDED
    with pytest.raises(ChainError, match=r"repay.*reverted"):
        lending.book.repay_batch([(payer, loan_id, loan.total_owed + 1)], gas=250_000)
    assert lending.book.loan(loan_id).repaid == 2 * inst  # nothing changed
