"""The insurer's desk and the customer's workflow on a real chain (eth-tester), PolicyBook and
store: deploy, capital, quote, buy, claim, decide, settle after the window, withdraw."""

from __future__ import annotations

import json
import stat

import pytest

from hessian_common.chain.policybook import ClaimStatus, PolicyStatus
from hessian_common.errors import ApplicationAlreadySent, InsuranceInputError
from hessian_common.insurance import customer
from hessian_common.insurance.application import parse_application
from hessian_common.insurance.underwriting import term_seconds

ETH = 10**18
DAY = 86_400

FORM = {
    "driver_age": "40",
    "years_licensed": "20",
    "prior_claims": "0",
    "vehicle_type": "sedan",
    "vehicle_first_registered": "Mar-2019",
    "region": "suburban",
    "annual_mileage": "11000",
    "deductible": "500",
    "coverage_limit": "15000",
    "policy_term": "12",
}

RISKY = {**FORM, "driver_age": "19", "years_licensed": "1", "prior_claims": "4",
         "vehicle_type": "sports", "region": "urban", "annual_mileage": "60000"}  # fmt: skip


def deployed(env, capital_eth: int = 40):
    from hessian_common.insurance.pricing import PricingPolicy

    dm = env.desk.deploy(env.model_id, PricingPolicy(token_price="2000"), claims=env.data)
    env.desk.deposit(env.model_id, capital_eth * ETH)
    return dm


def test_deploy_writes_private_files_publishes_the_policy_and_is_idempotent(insurance):
    env = insurance
    steps = []
    dm = env.desk.deploy(env.model_id, claims=env.data, progress=lambda **k: steps.append(k))
    assert steps and dm.active and dm.policy_count == 0 and dm.currency.symbol == "ETH"
    d = env.lender.books.dir(env.model_id) / "insurance"
    for name in ("claims_model.json", "calibration.json", "application_key.json", "policy.json"):
        assert stat.S_IMODE((d / name).stat().st_mode) == 0o600
    doc = json.loads((d / "policy.json").read_text())
    assert doc["format"] == "hessian.insurance-policy/1" and doc["policy_cid"] == dm.policy_cid
    assert env.book.deployment(env.model_id).policy_cid == dm.policy_cid
    # the severity table was fitted from the insurer's claims file (not the defaults)
    from hessian_common.insurance.pricing import default_severity

    assert dm.policy.severity != default_severity()
    again = env.desk.deploy(env.model_id)
    assert again.policy_cid == dm.policy_cid
    offers = customer.insurers(env.customer_book(), env.store)
    assert [o.model_id for o in offers] == [env.model_id] and offers[0].usable


def test_an_open_or_foreign_model_is_refused_and_nothing_is_sent(insurance):
    env = insurance
    from tests.fixtures.insurance import claims_task

    open_id = claims_task(env.lender, env.data, name="still open")
    with pytest.raises(InsuranceInputError) as err:
        env.desk.deploy(open_id)
    assert "close it" in err.value.errors["model"]
    assert env.book.deployment(open_id) is None
    with pytest.raises(InsuranceInputError) as err:
        env.desk.deploy(999)
    assert "model" in err.value.errors


def test_a_customer_applies_buys_claims_and_is_paid(insurance, tmp_path):
    env = insurance
    deployed(env)
    book = env.customer_book(1)
    app = parse_application(FORM)
    pid = customer.apply(book, env.store, env.model_id, app, state_dir=tmp_path)
    assert (tmp_path / "insurance" / f"{pid}.json").is_file()
    with pytest.raises(ApplicationAlreadySent):
        customer.apply(book, env.store, env.model_id, app, state_dir=tmp_path)
    [view] = env.desk.applications()
    assert view.policy_id == pid and view.suggested_quote and view.covered
    q = view.quote
    assert 0 < q.probability < 0.35 and q.premium > 0
    env.desk.decide(pid)
    info = env.book.policy(pid)
    assert info.status == PolicyStatus.QUOTED and info.premium == q.premium
    assert info.term == term_seconds(12) and info.claim_ppm == q.probability_ppm
    mine = customer.my_policy(book, pid, tmp_path)
    assert mine.can_accept and mine.application is not None
    customer.accept(book, pid)
    pool = env.book.pool(env.model_id)
    assert pool.reserved == info.coverage_limit
    # a claim: bad amounts and missing evidence change nothing
    mine = customer.my_policy(book, pid, tmp_path)
    policy = env.desk.policy(env.model_id)
    with pytest.raises(InsuranceInputError) as err:
        customer.claim_units(policy, mine, "1,500")
    assert "amount" in err.value.errors
    with pytest.raises(InsuranceInputError) as err:
        customer.claim_units(policy, mine, "20000")
    assert "more than" in err.value.errors["amount"]
    units = customer.claim_units(policy, mine, "$1500")
    assert units == 1500 * ETH // 2000
    with pytest.raises(InsuranceInputError) as err:
        customer.file_claim(book, env.store, pid, units)
    assert "evidence" in err.value.errors and env.book.claim_count() == 0
    cid = customer.file_claim(book, env.store, pid, units, evidence=b"photo of the dent")
    [open_claim] = env.desk.claims()
    assert open_claim.claim_id == cid and open_claim.decidable
    with pytest.raises(InsuranceInputError) as err:
        env.desk.deny_claim(cid, "because")
    assert "reason" in err.value.errors
    env.desk.approve_claim(cid)
    assert env.book.claim(cid).status == ClaimStatus.APPROVED
    with pytest.raises(InsuranceInputError):
        env.desk.deny_claim(cid, "not covered")  # decided already
    before = env.w3.eth.get_balance(env.accounts[1].address)
    got = customer.withdraw(book)
    assert got == units and env.w3.eth.get_balance(env.accounts[1].address) > before
    perf = env.desk.performance(env.model_id)
    assert perf.total.policies == 1 and perf.total.claimed == 1
    assert perf.total.claims_paid == units and perf.total.premiums == q.premium
    assert 0 < perf.target_loss_ratio < 1


def test_an_unanswered_claim_is_settled_by_anyone_after_the_window(insurance, tmp_path):
    env = insurance
    deployed(env)
    book = env.customer_book(2)
    pid = customer.apply(book, env.store, env.model_id, parse_application(FORM))
    env.desk.decide(pid)
    customer.accept(book, pid)
    cid = customer.file_claim(book, env.store, pid, ETH // 10, evidence=b"receipt")
    with pytest.raises(InsuranceInputError):
        customer.settle(book, cid)  # within the window
    env.chain_time.advance(env.book.claim_window + 10)
    with pytest.raises(InsuranceInputError) as err:
        env.desk.approve_claim(cid)
    assert "past its window" in err.value.errors["claim"]
    stranger = env.book.as_account(env.clients[3])
    customer.settle(stranger, cid)
    assert env.book.claim(cid).status == ClaimStatus.SETTLED
    assert env.desk.performance().claims_settled_unanswered == 1


def test_decline_and_a_short_pool(insurance):
    env = insurance
    dm = env.desk.deploy(env.model_id, claims=env.data)  # token price $1: limits of 15,000 ETH
    book = env.customer_book(1)
    pid = customer.apply(book, env.store, env.model_id, parse_application(FORM))
    view = env.desk.application(pid)
    assert view.suggested_quote and not view.covered
    with pytest.raises(InsuranceInputError) as err:
        env.desk.decide(pid)
    assert "pool" in err.value.errors and env.book.policy(pid).status == PolicyStatus.APPLIED
    assert env.desk.decide_all_pending() == []  # left pending, not declined
    with pytest.raises(InsuranceInputError):
        env.desk.withdraw_capital(env.model_id, 1)
    env.desk.decide(pid, approve=False)
    assert env.book.policy(pid).status == PolicyStatus.DECLINED
    assert dm.model_id == env.model_id
    risky = customer.apply(book, env.store, env.model_id, parse_application(RISKY))
    assert env.desk.application(risky).quote.probability > 0


def test_bad_applications_are_refused_before_anything_is_sent(insurance):
    env = insurance
    deployed(env)
    book = env.customer_book(1)
    app = parse_application({**FORM, "deductible": "750"})
    with pytest.raises(InsuranceInputError) as err:
        customer.apply(book, env.store, env.model_id, app)
    assert "deductible" in err.value.errors and env.book.policy_count() == 0
    with pytest.raises(InsuranceInputError) as err:
        parse_application({**FORM, "driver_age": "abc", "coverage_limit": "1,000"})
    assert {"driver_age", "coverage_limit"} <= set(err.value.errors)


def test_hessian_deploy_reuses_the_recorded_policybook_of_this_repository(
    client, repository, tmp_path
):
    from hessian_common.chain.deploy import deploy_repository
    from hessian_common.chain.policybook import ensure_policybook, open_policybook

    first, fresh = ensure_policybook(client, repository.address, tmp_path)
    assert fresh and open_policybook(client, tmp_path).address == first
    again, fresh = ensure_policybook(client, repository.address, tmp_path)
    assert (again, fresh) == (first, False)
    other = deploy_repository(client, tmp_path / "other")
    third, fresh = ensure_policybook(client, other, tmp_path)
    assert fresh and third != first
    assert open_policybook(client, tmp_path).repository_address == other
