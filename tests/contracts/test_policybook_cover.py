# ruff: noqa: F811  (the fixtures come from policybook_support and are named as arguments)
"""PolicyBook: buying a policy (the reserve, the start window), premiums, cancelling before
the start, claims (filing, the claim window, approval, denial, settlement by anyone), expiry
and withdrawals, with every time edge at its exact second."""

from __future__ import annotations

import pytest

from hessian_common.chain.policybook import ClaimStatus, DenialReason, PolicyStatus
from hessian_common.errors import ConfigError, ContractRevert
from tests.contracts.helpers import reverts
from tests.contracts.policybook_support import (  # noqa: F401  (fixtures)
    CAPITAL,
    CLAIM_WINDOW,
    DEDUCTIBLE,
    EVIDENCE_CID,
    LIMIT,
    PREMIUM,
    START_WINDOW,
    TERM,
    at,
    clock,
    currency,
    desk,
    policybook,
)


def _revert(action, name):
    with pytest.raises(ContractRevert) as info:
        action()
    assert info.value.error_name == name, info.value
    return info.value.error_args


# ------------------------------------------------------------------ accept


def test_accept_now_reserves_the_limit_and_earns_the_premium(desk):
    policy_id = desk.quoted(1)
    book, holder = desk.insurer, desk.holder
    with reverts("NotHolder"):
        desk.holders[1].client.transact(book.fn.accept(policy_id, 0), value=desk.u(PREMIUM))
    with reverts("WrongValue"):
        holder.client.transact(book.fn.accept(policy_id, 0), value=desk.u(PREMIUM) - 1)
    receipt = holder.accept(policy_id)
    now = book.client.block_timestamp(receipt["blockNumber"])
    p = book.policy(policy_id)
    assert p.status == PolicyStatus.ACTIVE and p.accepted_at == now == p.starts_at
    assert p.expires_at == now + TERM == book.expires_at(policy_id)
    assert p.reserve == desk.u(LIMIT) and p.premium_earned and p.claims_paid == 0
    assert p.max_claim == desk.u(LIMIT - DEDUCTIBLE) and book.in_force(policy_id)
    pool = book.pool(desk.model_id)
    assert pool.free == desk.u(CAPITAL - LIMIT) and pool.reserved == desk.u(LIMIT)
    assert pool.premiums_held == 0 and book.pending() == desk.u(PREMIUM)
    names = [e.name for e in book.events()][-2:]
    assert names == ["PolicyAccepted", "PremiumEarned"]
    with reverts("WrongStatus"):
        holder.accept(policy_id)
    with reverts("PremiumAlreadyEarned"):
        desk.outsider.collect_premium(policy_id)
    with reverts("AlreadyStarted"):
        holder.cancel(policy_id)
    desk.balance_matches()


def test_a_policy_the_pool_cannot_pay_is_never_sold(desk):
    book = desk.insurer
    first = desk.active(1, limit=CAPITAL - 1_000)  # leaves 1,000 units free
    big = desk.quoted(2, limit=1_001, deductible=0)
    args = _revert(lambda: desk.holder.accept(big), "InsufficientCapital")
    assert args == (desk.model_id, desk.u(1_000), desk.u(1_001))
    assert not book.can_cover(desk.model_id, desk.u(1_001))
    assert book.can_cover(desk.model_id, desk.u(1_000))
    assert desk.status(big) == PolicyStatus.QUOTED
    book.deposit_capital(desk.model_id, desk.u(1))  # one more unit of capital: now it sells
    desk.holder.accept(big)
    assert book.pool(desk.model_id).free == 0
    exact = desk.quoted(3, limit=1, deductible=0)
    with reverts("InsufficientCapital"):
        desk.holder.accept(exact)
    assert book.policy(first).reserve == desk.u(CAPITAL - 1_000)
    desk.balance_matches()


def test_quote_open_until_its_last_second(desk):
    on_time, late = desk.quoted(1), desk.quoted(2)
    expires = desk.insurer.policy(on_time).quote_expires
    at(desk.time, expires)
    desk.holder.accept(on_time)
    late_expires = desk.insurer.policy(late).quote_expires
    at(desk.time, late_expires + 1)
    args = _revert(lambda: desk.holder.accept(late), "QuoteExpired")
    assert args == (late, late_expires, late_expires + 1)
    desk.holder.cancel(late)  # an expired quote can be cleared
    desk.balance_matches()


def test_start_window_edges_and_held_premium(desk):
    book, holder = desk.insurer, desk.holder
    a, b, c = desk.quoted(1), desk.quoted(2), desk.quoted(3)
    now = desk.time.now() + 1  # the next block
    args = _revert(
        lambda: holder.client.transact(
            book.fn.accept(a, now + START_WINDOW + 1), value=desk.u(PREMIUM), gas=3_000_000
        ),
        "InvalidStart",
    )
    assert args == (now + START_WINDOW + 1, now, now + START_WINDOW)
    at(desk.time, now + 5)
    with reverts("InvalidStart"):  # a start in the past
        holder.client.transact(book.fn.accept(a, now + 4), value=desk.u(PREMIUM), gas=3_000_000)
    start = now + 6 + START_WINDOW
    at(desk.time, now + 6)
    fn = book.fn.accept(a, start)  # the latest start (sent unchecked: views see now + 5)
    holder.client.transact(fn, value=desk.u(PREMIUM), gas=3_000_000)
    p = book.policy(a)
    assert p.starts_at == start and not p.premium_earned and p.expires_at == start + TERM
    assert book.pool(desk.model_id).premiums_held == desk.u(PREMIUM)
    assert book.pending() == 0 and not book.in_force(a)
    args = _revert(lambda: desk.outsider.collect_premium(a), "NotStarted")
    assert args[:2] == (a, start)
    args = _revert(lambda: holder.file_claim(a, 1, EVIDENCE_CID), "NotInForce")
    assert args[:3] == (a, start, start + TERM)
    holder.accept(b, desk.time.now() + 1 + 3_600)
    holder.accept(c, desk.time.now() + 1 + 3_600)
    desk.balance_matches()
    # cancelled before the start: premium back, reserve free again
    before = book.pool(desk.model_id)
    holder.cancel(b)
    after = book.pool(desk.model_id)
    assert after.free == before.free + desk.u(LIMIT) and after.reserved == before.reserved - desk.u(
        LIMIT
    )
    assert after.premiums_held == before.premiums_held - desk.u(PREMIUM)
    assert holder.pending() == desk.u(PREMIUM) and book.policy(b).reserve == 0
    (ev,) = [e for e in book.events() if e.name == "PolicyCancelled"]
    assert ev.args["refund"] == desk.u(PREMIUM) and ev.args["released"] == desk.u(LIMIT)
    with reverts("WrongStatus"):
        desk.insurer.cancel(c)  # only the holder, only before the start
    starts = book.policy(c).starts_at
    at(desk.time, starts)
    with reverts("AlreadyStarted"):
        holder.cancel(c)
    desk.outsider.collect_premium(c)  # from its first second, by anyone
    assert book.pending() == desk.u(PREMIUM) and book.policy(c).premium_earned
    assert book.in_force(c)
    desk.balance_matches()
    assert holder.withdraw(desk.currency) == desk.u(PREMIUM)


# ------------------------------------------------------------------ claims


def test_claim_approved_is_paid_from_the_reserve(desk):
    policy_id = desk.active(1)
    book, holder = desk.insurer, desk.holder
    with reverts("NotHolder"):
        desk.holders[1].file_claim(policy_id, 1, EVIDENCE_CID)
    too_much = desk.u(LIMIT - DEDUCTIBLE) + 1
    args = _revert(lambda: holder.file_claim(policy_id, too_much, EVIDENCE_CID), "ClaimTooLarge")
    assert args == (too_much, desk.u(LIMIT - DEDUCTIBLE))
    with reverts("ZeroAmount"):
        holder.client.transact(book.fn.fileClaim(policy_id, 0, EVIDENCE_CID))
    with reverts("EmptyCid"):
        holder.client.transact(book.fn.fileClaim(policy_id, 1, ""))
    with pytest.raises(ConfigError):
        holder.file_claim(policy_id, 1, "")
    claim_id = holder.file_claim(policy_id, desk.u(3_000), EVIDENCE_CID)
    c = book.claim(claim_id)
    assert c.status == ClaimStatus.FILED and c.amount == desk.u(3_000)
    assert c.evidence_cid == EVIDENCE_CID and c.holder == holder.client.address
    assert c.deadline == c.filed_at + CLAIM_WINDOW == book.claim_deadline(claim_id)
    assert book.policy(policy_id).claim_open
    with reverts("ClaimOpen"):
        holder.file_claim(policy_id, 1, EVIDENCE_CID)
    with reverts("NotInsurer"):
        holder.approve_claim(claim_id)
    with reverts("ClaimWindowOpen"):
        desk.outsider.settle_claim(claim_id)
    book.approve_claim(claim_id)
    assert book.claim(claim_id).status == ClaimStatus.APPROVED
    p = book.policy(policy_id)
    assert p.reserve == desk.u(LIMIT - 3_000) and p.claims_paid == desk.u(3_000)
    assert not p.claim_open and p.claim_count == 1
    assert p.max_claim == desk.u(LIMIT - 3_000)  # capped by what is left of the reserve
    assert holder.pending(currency=desk.currency) == desk.u(3_000)
    assert book.pool(desk.model_id).reserved == desk.u(LIMIT - 3_000)
    for action in (
        lambda: book.approve_claim(claim_id),
        lambda: book.deny_claim(claim_id),
        lambda: desk.outsider.settle_claim(claim_id),
    ):
        assert _revert(action, "WrongClaimStatus") == (claim_id, ClaimStatus.APPROVED)
    args = _revert(
        lambda: holder.file_claim(policy_id, desk.u(LIMIT - 3_000) + 1, EVIDENCE_CID),
        "ClaimTooLarge",
    )
    assert args[1] == desk.u(LIMIT - 3_000)
    second = holder.file_claim(policy_id, desk.u(LIMIT - 3_000), EVIDENCE_CID)  # the rest
    book.approve_claim(second)
    assert book.policy(policy_id).reserve == 0
    with reverts("ClaimTooLarge"):
        holder.file_claim(policy_id, 1, EVIDENCE_CID)
    assert holder.withdraw(desk.currency) == desk.u(LIMIT)
    with reverts("NothingToWithdraw"):
        holder.withdraw(desk.currency)
    with reverts("UnknownClaim"):
        book.claim(99)
    with reverts("UnknownClaim"):
        desk.outsider.settle_claim(99)
    assert [c.claim_id for c in book.claims(policy_id=policy_id)] == [claim_id, second]
    desk.balance_matches()


def test_claim_denied_within_the_window_and_settled_after_it(desk):
    policy_id = desk.active(1)
    book, holder = desk.insurer, desk.holder
    denied = holder.file_claim(policy_id, desk.u(100), EVIDENCE_CID)
    with reverts("MissingReason"):
        book.client.transact(book.fn.decideClaim(denied, False, 0))
    with pytest.raises(ConfigError, match="reason"):
        book.deny_claim(denied, 0)
    deadline = book.claim_deadline(denied)
    at(desk.time, deadline)  # the window's last second: still the insurer's
    book.deny_claim(denied, DenialReason.INSUFFICIENT_EVIDENCE)
    c = book.claim(denied)
    assert c.status == ClaimStatus.DENIED and c.reason == DenialReason.INSUFFICIENT_EVIDENCE
    assert not c.status.paid and holder.pending() == 0
    assert book.policy(policy_id).reserve == desk.u(LIMIT)  # nothing paid
    assert DenialReason(c.reason).label == "insufficient evidence"

    stalled = holder.file_claim(policy_id, desk.u(700), EVIDENCE_CID)
    deadline = book.claim_deadline(stalled)
    at(desk.time, deadline)
    with reverts("ClaimWindowOpen"):
        desk.outsider.client.transact(desk.outsider.fn.settleClaim(stalled), gas=3_000_000)
    at(desk.time, deadline + 1)
    args = _revert(
        lambda: book.client.transact(book.fn.decideClaim(stalled, True, 0), gas=3_000_000),
        "ClaimWindowClosed",
    )
    assert args == (stalled, deadline, deadline + 1)
    desk.outsider.settle_claim(stalled)  # anyone, from the second after the window
    c = book.claim(stalled)
    assert c.status == ClaimStatus.SETTLED and c.status.paid
    assert holder.pending() == desk.u(700) and book.pending(desk.outsider.client.address) == 0
    (ev,) = [e for e in book.events() if e.name == "ClaimSettled"]
    assert ev.args["by"] == desk.outsider.client.address
    assert book.policy(policy_id).claims_paid == desk.u(700)
    desk.balance_matches()


def test_claims_only_while_in_force_and_expiry_releases_the_reserve(desk):
    book, holder = desk.insurer, desk.holder
    policy_id = desk.active(1)
    p = book.policy(policy_id)
    at(desk.time, p.expires_at)  # the last second of cover
    claim_id = holder.file_claim(policy_id, desk.u(10), EVIDENCE_CID)
    clock(desk.time, p.expires_at + 1)
    args = _revert(lambda: holder.file_claim(policy_id, 1, EVIDENCE_CID), "NotInForce")
    assert args == (policy_id, p.starts_at, p.expires_at, p.expires_at + 1)
    assert not book.in_force(policy_id)
    with reverts("ClaimOpen"):
        desk.outsider.expire(policy_id)  # the open claim keeps its reserve
    book.approve_claim(claim_id)  # within its window, after the term
    free = book.pool(desk.model_id).free
    desk.outsider.expire(policy_id)
    p = book.policy(policy_id)
    assert p.status == PolicyStatus.EXPIRED and p.reserve == 0
    assert p.claims_paid == desk.u(10)
    pool = book.pool(desk.model_id)
    assert pool.free == free + desk.u(LIMIT - 10) and pool.reserved == 0
    (ev,) = [e for e in book.events() if e.name == "PolicyExpired"]
    assert ev.args["released"] == desk.u(LIMIT - 10)
    with reverts("WrongStatus"):
        desk.outsider.expire(policy_id)
    with reverts("WrongStatus"):
        holder.file_claim(policy_id, 1, EVIDENCE_CID)
    # not before its end
    other = desk.active(2)
    end = book.policy(other).expires_at
    at(desk.time, end)
    args = _revert(
        lambda: desk.outsider.client.transact(desk.outsider.fn.expire(other), gas=3_000_000),
        "NotExpired",
    )
    assert args == (other, end, end)
    desk.balance_matches()


def test_expiry_earns_a_premium_not_yet_collected(desk):
    book, holder = desk.insurer, desk.holder
    policy_id = desk.quoted(1, term=3_600)
    holder.accept(policy_id, desk.time.now() + 1 + 60)
    clock(desk.time, book.policy(policy_id).expires_at + 1)
    desk.outsider.expire(policy_id)
    p = book.policy(policy_id)
    assert p.premium_earned and book.pending() == desk.u(PREMIUM)
    assert book.pool(desk.model_id).premiums_held == 0
    names = [e.name for e in book.events()][-2:]
    assert names == ["PremiumEarned", "PolicyExpired"]
    assert book.withdraw() == desk.u(PREMIUM)
    desk.balance_matches()


def test_views_of_unknown_ids(desk):
    for view in (desk.insurer.policy, desk.insurer.expires_at, desk.insurer.in_force):
        with reverts("UnknownPolicy"):
            view(42)
    with reverts("UnknownClaim"):
        desk.insurer.claim_deadline(42)
    assert desk.insurer.pool(99).total == 0
    assert desk.insurer.claims() == []
    assert desk.insurer.policies(insurer=desk.holder.client.address) == []
