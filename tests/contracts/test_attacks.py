"""Attacks on the bounty (issues 13 and 16), each shown failing against the contract.

1. Front-running an owner's submission with a copy of its (CID, digest, rows).
2. Rows = 2**64 - 1 to overflow the accepted-rows counter and lock the model.
3. Evaluating (or settling) out of order, e.g. a lender's sock-puppet copy before the original.
4. Flood-and-stall: a lender's sock puppets flood the queue, then the lender stalls.
5. Pay for noise: gains within the hold-out's noise (below ``minGain``).
6. Hidden evaluation: a lender that never reveals its test set and transcript.
7. Re-entrancy through ``withdraw`` after ``claimShare`` / ``claimForfeit`` credits.
"""

from __future__ import annotations

import pytest
from eth_utils import function_signature_to_4byte_selector

from hessian_common.chain.compile import load_artifact
from hessian_common.chain.repository import Mechanism, Reason, SubmissionStatus
from tests.contracts.helpers import (
    BOUNTY,
    CID_A,
    CID_B,
    DEPOSIT,
    SALT,
    STALE,
    TEST_SET_CID,
    TRANSCRIPT_CID,
    U64,
    WINDOW,
    assert_escrow,
    assert_solvent,
    digest,
    reveal,
    reverts,
)

# ---------------------------------------------------------------- 1. front-running


@pytest.mark.parametrize("mechanism", list(Mechanism))
def test_front_running_a_submission_gains_nothing(
    make_model, lender, owners, outsider, w3, mechanism
):
    model_id = make_model(mechanism=mechanism)
    honest, watcher = owners[0], outsider
    # the watcher sees the honest transaction pending and sends the same arguments first
    copy = watcher.submit_update(model_id, CID_A, digest(42), 579)
    original = honest.submit_update(model_id, CID_A, digest(42), 579)  # still goes through
    assert honest.digest_used(model_id, digest(42)) == original
    assert watcher.digest_used(model_id, digest(42)) == copy
    assert lender.next_in_queue(model_id) == copy
    # the blob is signed by the honest owner: the lender rejects the copy, accepts the original
    lender.evaluate_update(copy, False, 0, reason=Reason.WRONG_SIGNER)
    lender.evaluate_update(original, True, 650_000, CID_B)
    lender.close_model(model_id)
    if mechanism != Mechanism.IMPROVEMENT:
        with reverts("NotPaid"):
            watcher.claim_share(copy)
        assert honest.claim_share(original) == BOUNTY
    else:
        assert lender.submission(original).reward == BOUNTY // 2
    assert lender.pending(watcher.client.address) == 0  # its deposit is forfeited too
    assert lender.submission(copy).reason == Reason.WRONG_SIGNER
    assert_solvent(lender, w3, [c.client.address for c in (lender, *owners, outsider)])


# ---------------------------------------------------------------- 2. rows overflow


def test_rows_beyond_max_rows_are_refused(make_model, owners):
    model_id = make_model()  # the wrapper's default max_rows, 10 million
    with reverts("InvalidRows") as info:
        owners[0].submit_update(model_id, CID_A, digest(1), U64)
    assert info.value.error_args == (U64, 10_000_000)
    assert owners[0].model(model_id).submission_count == 0


@pytest.mark.parametrize("mechanism", [Mechanism.IMPROVEMENT, Mechanism.EQUAL])
def test_max_rows_submissions_do_not_overflow(
    make_model, lender, owners, outsider, chain_time, w3, mechanism
):
    model_id = make_model(mechanism=mechanism, max_rows=U64)
    u1 = owners[0].submit_update(model_id, CID_A, digest(1), U64)
    u2 = owners[1].submit_update(model_id, CID_A, digest(2), U64)
    u3 = owners[2].submit_update(model_id, CID_A, digest(3), 1)
    lender.evaluate_update(u1, True, 620_000, CID_B)  # accepted with 2**64 - 1 rows
    chain_time.advance(WINDOW + 1)
    assert outsider.settle_stale(u2) == STALE  # settled with 2**64 - 1 rows
    lender.evaluate_update(u3, True, 630_000, CID_B)  # a later accept still works
    m = lender.model(model_id)
    assert m.accepted_rows == 2 * U64 + 1  # fits the 96-bit counter
    lender.close_model(model_id)
    assert lender.model(model_id).finalized
    if mechanism == Mechanism.EQUAL:
        pool = BOUNTY - STALE
        assert outsider.claim_share(u1) + outsider.claim_share(u3) == pool
    reveal(lender, model_id)
    if mechanism == Mechanism.IMPROVEMENT:
        assert lender.reclaim(model_id) == BOUNTY - BOUNTY * 3 // 10 - STALE
    else:
        with reverts("NothingToReclaim"):
            lender.reclaim(model_id)
    assert_solvent(lender, w3, [c.client.address for c in (lender, *owners, outsider)])


# ---------------------------------------------------------------- 3. out of order


def test_a_sock_puppet_copy_cannot_be_evaluated_first(
    make_model, lender, owners, puppets, chain_time
):
    model_id = make_model(mechanism=Mechanism.EQUAL)
    original = owners[0].submit_update(model_id, CID_A, digest(1), 100)
    # the lender decrypts the original and sends the same weights from a sock puppet
    (puppet,) = puppets(1)
    copy = puppet.submit_update(model_id, CID_B, digest(2), 100)
    with reverts("OutOfOrder") as info:
        lender.evaluate_update(copy, True, 650_000, CID_B)
    assert info.value.error_args == (copy, original)
    m = lender.model(model_id)
    assert (m.waiting_count, m.current_score, m.next_in_queue) == (2, 600_000, original)
    chain_time.advance(WINDOW + 1)
    with reverts("OutOfOrder") as info:  # stale settlement takes the queue in order too
        puppet.settle_stale(copy)
    assert info.value.error_args == (copy, original)
    # the original is judged first: the copy then brings no gain and is not paid
    lender.evaluate_update(original, True, 650_000, CID_B)
    lender.evaluate_update(copy, True, 650_000, CID_B)
    lender.close_model(model_id)
    with reverts("NotPaid"):
        puppet.claim_share(copy)
    assert owners[0].claim_share(original) == BOUNTY


# ---------------------------------------------------------------- 4. flood and stall


def test_flood_after_an_honest_submission_does_not_dilute_its_reserve(
    make_model, lender, owners, puppets, outsider, chain_time, w3
):
    model_id = make_model(stale_reward=BOUNTY // 2)
    assert lender.stale_reserve_now(model_id) == BOUNTY // 2
    honest = owners[0].submit_update(model_id, CID_A, digest(1), 1_000)
    flood = [p.submit_update(model_id, CID_B, digest(100 + i), 1) for i, p in enumerate(puppets(9))]
    assert [lender.submission(u).stale_reserve for u in flood] == [BOUNTY // 2] + [0] * 8
    chain_time.advance(WINDOW + 1)  # the lender stalls
    assert outsider.settle_stale(honest) == BOUNTY // 2  # the full reserve, not 1/10
    assert lender.pending(owners[0].client.address) == BOUNTY // 2 + DEPOSIT
    for uid in flood:
        outsider.settle_stale(uid)
    lender.close_model(model_id)
    m = lender.model(model_id)
    assert m.finalized and m.remaining == 0 and m.reserved == 0
    assert_solvent(lender, w3, [lender.submission(u).owner for u in [honest, *flood]])


def test_flood_before_an_honest_submission_leaves_the_reserve_it_was_shown(
    make_model, lender, owners, puppets, outsider, chain_time, w3
):
    model_id = make_model()  # stale reward: a tenth of the bounty
    flood = [p.submit_update(model_id, CID_B, digest(100 + i), 1) for i, p in enumerate(puppets(9))]
    shown = lender.stale_reserve_now(model_id)
    assert shown == BOUNTY - 9 * STALE  # what the owner sees before it shares
    honest = owners[0].submit_update(model_id, CID_A, digest(1), 1_000)
    assert lender.submission(honest).stale_reserve == shown
    assert lender.stale_reserve_now(model_id) == 0
    # the lender rejects its own junk (reserves released, puppet deposits burned) and stalls
    for uid in flood:
        lender.evaluate_update(uid, False, 0, reason=Reason.MALFORMED)
    assert lender.stale_reserve_now(model_id) == BOUNTY // 10
    chain_time.advance(WINDOW + 1)
    assert outsider.settle_stale(honest) == shown
    assert_solvent(lender, w3, [lender.submission(u).owner for u in [honest, *flood]])


def test_flood_front_running_an_honest_submission_cannot_lower_its_reserve(
    make_model, lender, owners, puppets
):
    """The owner sends the reserve it was shown as its minimum: a flood mined ahead of its
    transaction makes it revert (nothing is lost but gas, and the blob is still private:
    the journal publishes only after the transaction is mined) instead of leaving it less."""
    model_id = make_model()
    shown = lender.stale_reserve_now(model_id)  # the owner reads it, then sends its update
    for i, puppet in enumerate(puppets(10)):  # the lender sees it pending and floods first
        puppet.submit_update(model_id, CID_B, digest(100 + i), 1)
    left = lender.stale_reserve_now(model_id)
    assert left < shown
    with reverts("ReserveTooLow") as info:
        owners[0].submit_update(model_id, CID_A, digest(1), 1_000, min_stale_reserve=shown)
    assert info.value.error_args == (left, shown)
    assert lender.model(model_id).submission_count == 10
    honest = owners[0].submit_update(model_id, CID_A, digest(1), 1_000, min_stale_reserve=left)
    assert lender.submission(honest).stale_reserve == left  # what it agreed to


# ---------------------------------------------------------------- 5. pay for noise


@pytest.mark.parametrize("mechanism", list(Mechanism))
def test_gains_below_min_gain_are_not_paid(make_model, lender, owners, mechanism):
    model_id = make_model(mechanism=mechanism, min_gain=5_000)
    noise = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    real = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    lender.evaluate_update(noise, True, 604_999, CID_B)  # within the noise: accepted, unpaid
    lender.evaluate_update(real, True, 620_000, CID_B)  # 15,001 over the best
    s = lender.submission(noise)
    assert s.status == SubmissionStatus.ACCEPTED and s.gain == 0 and s.reward == 0
    assert lender.pending(owners[0].client.address) == DEPOSIT  # its deposit back, no more
    lender.close_model(model_id)
    if mechanism == Mechanism.IMPROVEMENT:
        assert lender.submission(real).reward == BOUNTY * 15_001 // 100_000
    else:
        assert lender.share_of(noise) == 0
        with reverts("NotPaid"):
            owners[0].claim_share(noise)
        assert owners[1].claim_share(real) == BOUNTY  # the whole pool
    assert lender.model(model_id).paid_count == 1
    assert_escrow(lender, model_id)


# ---------------------------------------------------------------- 6. hidden evaluation


def test_a_lender_that_never_reveals_forfeits_the_bounty(
    make_model, lender, owners, outsider, chain_time, w3
):
    bounty = 10**18 + 3
    model_id = make_model(bounty=bounty, stale_reward=bounty // 10)
    accepted = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    rejected = owners[1].submit_update(model_id, CID_A, digest(2), 10)
    stale = owners[2].submit_update(model_id, CID_A, digest(3), 10)
    lender.evaluate_update(accepted, True, 601_000, CID_B)  # 1 %
    lender.evaluate_update(rejected, False, 590_000)  # keeps the weights, pays nothing
    chain_time.advance(WINDOW + 1)
    outsider.settle_stale(stale)
    lender.close_model(model_id)
    with reverts("NotRevealed"):
        lender.reclaim(model_id)
    due = lender.reveal_deadline(model_id)
    chain_time.advance(due + 1 - chain_time.now())
    with reverts("RevealDeadlinePassed"):
        reveal(lender, model_id)
    with reverts("NotRevealed"):
        lender.reclaim(model_id)
    pool = bounty - bounty // 100 - bounty // 10
    # the rejection the hidden transcript would have had to justify takes the forfeit
    for other in (accepted, stale):
        with reverts("NotRejected"):
            outsider.claim_forfeit(other)
    assert outsider.claim_forfeit(rejected) == pool
    assert lender.pending(owners[1].client.address) == pool  # its deposit stays burned
    assert lender.pending(owners[2].client.address) == bounty // 10 + DEPOSIT
    assert lender.submission(rejected).reward == pool
    assert lender.pending(lender.client.address) == 0
    with reverts("RevealDeadlinePassed"):
        lender.reveal_test_set(model_id, TEST_SET_CID, SALT, TRANSCRIPT_CID)
    e = assert_escrow(lender, model_id)
    assert e["reclaimed"] == 0 and e["remaining"] == 0 and e["paid"] == bounty
    assert_solvent(lender, w3, [c.client.address for c in (lender, *owners, outsider)])


# ---------------------------------------------------------------- 7. re-entrancy

GUARD = function_signature_to_4byte_selector("ReentrancyGuardReentrantCall()")
ALREADY_CLAIMED = function_signature_to_4byte_selector("AlreadyClaimed(uint256)")


def _attacker(client, repository):
    art = load_artifact("ReentrancyAttacker")
    receipt = client.deploy(art.abi, art.bytecode, repository.address)
    return client.w3.eth.contract(address=receipt["contractAddress"], abi=art.abi)


def _attacker_paid(clients, repository, make_model, lender):
    """An attacker contract owning an accepted IMPROVEMENT submission (half the bounty)."""
    attacker = _attacker(clients[2], repository)
    model_id = make_model()
    clients[2].transact(attacker.functions.submit(model_id, CID_A, digest(9), 10), value=DEPOSIT)
    lender.evaluate_update(1, True, 650_000, CID_B)
    return attacker, BOUNTY // 2 + DEPOSIT


def test_reentrant_withdraw_is_refused_by_the_guard(clients, repository, make_model, lender, w3):
    attacker, due = _attacker_paid(clients, repository, make_model, lender)
    contract_before = w3.eth.get_balance(repository.address)
    # mode 1: the attacker re-enters withdraw() from receive() and swallows the failure
    clients[2].transact(attacker.functions.attack(1))
    assert w3.eth.get_balance(attacker.address) == due  # paid once, not twice
    assert w3.eth.get_balance(repository.address) == contract_before - due
    assert bytes(attacker.functions.lastReentryError().call())[:4] == GUARD
    assert attacker.functions.reentries().call() == 1
    assert repository.pending(attacker.address) == 0


def test_reentrancy_that_bubbles_up_fails_and_changes_nothing(
    clients, repository, make_model, lender, w3
):
    attacker, due = _attacker_paid(clients, repository, make_model, lender)
    contract_before = w3.eth.get_balance(repository.address)
    with reverts("TransferFailed"):
        clients[2].transact(attacker.functions.attack(2))
    assert repository.pending(attacker.address) == due
    assert w3.eth.get_balance(repository.address) == contract_before
    # an honest contract owner (mode 0) withdraws normally
    clients[2].transact(attacker.functions.attack(0))
    assert w3.eth.get_balance(attacker.address) == due


def test_reentrant_claim_share_is_refused(clients, repository, make_model, lender, owners, w3):
    attacker = _attacker(clients[2], repository)
    model_id = make_model(mechanism=Mechanism.EQUAL)
    clients[2].transact(attacker.functions.submit(model_id, CID_A, digest(9), 10), value=DEPOSIT)
    honest = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(1, True, 650_000, CID_B)
    lender.evaluate_update(honest, True, 660_000, CID_B)
    lender.close_model(model_id)
    # claim, withdraw, and from receive() claim the same share again
    clients[2].transact(attacker.functions.claimAndWithdraw(3, 1))
    assert w3.eth.get_balance(attacker.address) == BOUNTY // 2 + DEPOSIT
    assert bytes(attacker.functions.lastReentryError().call())[:4] == ALREADY_CLAIMED
    assert repository.pending(attacker.address) == 0  # no second credit left behind
    assert owners[0].claim_share(honest) == BOUNTY - BOUNTY // 2
    assert_solvent(lender, w3, [attacker.address, *(c.address for c in clients)])


def test_reentrant_claim_forfeit_is_refused(
    clients, repository, make_model, lender, owners, chain_time, w3
):
    attacker = _attacker(clients[2], repository)
    model_id = make_model()
    clients[2].transact(attacker.functions.submit(model_id, CID_A, digest(9), 10), value=DEPOSIT)
    honest = owners[0].submit_update(model_id, CID_A, digest(1), 10)
    lender.evaluate_update(1, False, 0)
    lender.evaluate_update(honest, False, 0)
    lender.close_model(model_id)
    chain_time.advance(lender.reveal_deadline(model_id) + 1 - chain_time.now())
    clients[2].transact(attacker.functions.claimAndWithdraw(4, 1))
    assert w3.eth.get_balance(attacker.address) == BOUNTY // 2
    assert bytes(attacker.functions.lastReentryError().call())[:4] == ALREADY_CLAIMED
    assert repository.pending(attacker.address) == 0
    assert owners[0].claim_forfeit(honest) == BOUNTY - BOUNTY // 2
    assert_solvent(lender, w3, [attacker.address, *(c.address for c in clients)])
