"""The off-chain mirror of the reward mechanisms, and contribution valuation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hessian_common.errors import ConfigError, DataError
from hessian_common.rewards import (
    Escrow,
    Evaluation,
    Mechanism,
    SequentialUtility,
    all_payouts,
    leave_one_out,
    monte_carlo_shapley,
    payouts,
    replay_events,
    share_of,
)

ETH = 10**18


def _evs() -> list[Evaluation]:
    return [
        Evaluation("a", 100, True, 650_000),  # +50k over 600k
        Evaluation("bad", 80, False, 550_000),
        Evaluation("b", 300, True, 700_000),  # +50k
        Evaluation("c", 100, True, 690_000),  # accepted without improvement
        Evaluation("d", 100, True, 700_500),  # +500: below a minimum gain of 1,000
    ]


def test_improvement_pays_score_gain_over_target_span() -> None:
    p = payouts("improvement", 10 * ETH, 600_000, 800_000, _evs(), min_gain=1_000)
    assert p.rewards == [10 * ETH * 50_000 // 200_000, 0, 10 * ETH * 50_000 // 200_000, 0, 0]
    assert p.paid + p.remaining == 10 * ETH
    assert p.final_score == 700_500  # the best score moves up even when the gain is not paid
    assert share_of(p, ["bad"]) == 0.0
    assert share_of(p, ["a"]) == pytest.approx(0.25)
    # without a minimum the +500 is paid (any strict gain: max(minGain, 1))
    assert payouts("improvement", 10 * ETH, 600_000, 800_000, _evs()).rewards[4] == (
        10 * ETH * 500 // 200_000
    )


def test_improvement_capped_by_remaining_and_closes_at_target() -> None:
    evs = [
        Evaluation("a", 10, True, 790_000),
        Evaluation("b", 10, True, 900_000),
        Evaluation("c", 10, True, 950_000),
    ]
    p = payouts(Mechanism.IMPROVEMENT, 1000, 600_000, 800_000, evs)
    assert p.rewards == [950, 50, 0]
    assert p.remaining == 0 and p.closed_at_target


def test_equal_and_pro_rata_gain_split_the_pool_among_paid_submissions() -> None:
    eq = payouts("equal", 1000, 600_000, 800_000, _evs(), min_gain=1_000)
    assert eq.rewards == [500, 0, 500, 0, 0] and eq.remaining == 0  # the unpaid +500 gets none
    pr = payouts("pro-rata-gain", 1001, 600_000, 800_000, _evs())
    # gains 50,000 / 50,000 / 500 of 100,500; the last claim takes the dust
    assert pr.rewards == [498, 0, 498, 0, 5] and pr.remaining == 0
    both = all_payouts(1000, 600_000, 800_000, _evs())
    assert set(both) == set(Mechanism)


def test_no_accepted_submission_pays_nothing() -> None:
    evs = [Evaluation("x", 5, False, 1)]
    for m in Mechanism:
        p = payouts(m, 1000, 600_000, 800_000, evs)
        assert p.paid == 0 and p.remaining == 1000


def test_escrow_stale_reserves_cap_rewards_and_are_paid_when_settled() -> None:
    """The contract's rules for reserves: each submission sets aside min(R, free); an
    IMPROVEMENT reward only takes what is not reserved; a stale settlement pays the reserve."""
    e = Escrow(Mechanism.IMPROVEMENT, 1000, 600_000, 800_000, stale_reward=300)
    assert e.submit(1, "a") == 300 and e.submit(2, "b") == 300 and e.submit(3, "c") == 300
    assert e.submit(4, "d") == 100  # only 100 left unreserved
    with pytest.raises(ConfigError, match="ReserveTooLow"):
        e.submit(5, "e", min_reserve=1)
    with pytest.raises(ConfigError, match="OutOfOrder"):
        e.evaluate(2, True, 700_000)
    # a +200,000 gain would earn the whole bounty; only its own reserve is free again
    assert e.evaluate(1, True, 800_000) == 300
    assert not e.is_open and not e.finalized  # closed at the target, three still waiting
    assert e.settle_stale(2) == 300 and e.settle_stale(3) == 300
    assert e.evaluate(4, False, 0) == 0
    assert e.finalized and e.balances() == {
        "bounty": 1000, "paid": 900, "owed": 0, "remaining": 100, "reclaimed": 0,
    }  # fmt: skip
    assert e.by_owner() == {"a": 300, "b": 300, "c": 300, "d": 0}
    assert e.reclaim() == 100 and e.balances()["reclaimed"] == 100


def test_escrow_forfeit_goes_to_the_rejected_submissions() -> None:
    e = Escrow(Mechanism.IMPROVEMENT, 1000, 600_000, 800_000, stale_reward=1)
    for k, accepted in ((1, True), (2, False), (3, False), (4, False)):
        e.submit(k, f"o{k}")
        e.evaluate(k, accepted, 600_000)
    e.close()
    with pytest.raises(ConfigError, match="NotRejected"):
        e.claim_forfeit(1)
    assert [e.claim_forfeit(k) for k in (2, 3, 4)] == [333, 333, 334]
    assert e.balances()["paid"] == 1000 and e.remaining == 0


class _Ev:
    def __init__(self, name: str, **args: object) -> None:
        self.name, self.args = name, args


def test_replay_events_reproduces_the_chain_and_names_a_difference() -> None:
    terms = (0, 1, 600_000, 800_000, 0, 0, 0, 0, 0, 10, 100)  # EQUAL, stale reward 100
    events = [
        _Ev("ModelCreated", modelId=1, terms=terms, bounty=1000),
        _Ev("UpdateSubmitted", modelId=1, updateId=7, owner="0xA", rows=5, staleReserve=100),
        _Ev("UpdateSubmitted", modelId=2, updateId=8, owner="0xB", rows=5, staleReserve=9),
        _Ev("UpdateEvaluated", modelId=1, updateId=7, accepted=True, newScore=610_000,
            gain=10_000, reward=0),
        _Ev("ModelClosed", modelId=1),
        _Ev("ShareClaimed", modelId=1, updateId=7, amount=1000),
    ]  # fmt: skip
    escrow, diffs = replay_events(events, 1)
    assert diffs == [] and escrow.amount(7) == 1000 and escrow.balances()["paid"] == 1000
    events[-1] = _Ev("ShareClaimed", modelId=1, updateId=7, amount=999)
    assert replay_events(events, 1)[1] == ["update #7 share: chain 999, mirror 1000"]


@pytest.mark.parametrize("bad", ["shapley", 7, -1])
def test_unknown_mechanism_is_a_config_error(bad) -> None:
    with pytest.raises(ConfigError, match="mechanism"):
        Mechanism.parse(bad)


def test_target_must_exceed_initial() -> None:
    with pytest.raises(ConfigError, match="target"):
        payouts("equal", 1, 700_000, 700_000, [])


class _Shift:
    """A translation ``w' = w + q`` (commuting updates, so U is a set function)."""

    def __init__(self, q: np.ndarray) -> None:
        self.q = q

    def apply(self, w: np.ndarray) -> np.ndarray:
        return w + self.q


def _problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    truth = np.array([0.0, 1.0, -0.5, 0.8])
    X = np.c_[np.ones(400), rng.normal(size=(400, 3))]
    y = (X @ truth + rng.normal(scale=1.0, size=400) > 0).astype(int)
    w0 = np.array([0.0, 0.05, 0.05, -0.05])
    updates = [
        _Shift(0.3 * truth),  # good
        _Shift(0.3 * truth),  # good, identical: symmetric with owner 0
        _Shift(np.zeros(4)),  # null player
        _Shift(-0.9 * truth),  # harmful
        _Shift(0.1 * truth),  # small good
    ]
    return SequentialUtility(updates, w0, X, y)


def test_shapley_properties_efficiency_symmetry_null_and_harm() -> None:
    u = _problem()
    res = monte_carlo_shapley(u, max_permutations=300, truncation_tol=0, tolerance=0, seed=1)
    assert res.permutations == 300
    assert res.values.sum() == pytest.approx(res.full_score - res.empty_score, abs=1e-9)
    assert res.values[2] == 0.0
    assert res.values[3] < 0 < res.values[0]
    assert abs(res.values[0] - res.values[1]) < 3 * (res.stderr[0] + res.stderr[1]) + 1e-3
    again = monte_carlo_shapley(u, max_permutations=300, truncation_tol=0, tolerance=0, seed=1)
    np.testing.assert_array_equal(res.values, again.values)


def test_shapley_truncation_and_convergence_bound_the_work() -> None:
    u = _problem()
    res = monte_carlo_shapley(u, max_permutations=500, min_permutations=10, tolerance=0.05)
    assert 10 <= res.permutations < 500
    calls_before = u.calls
    monte_carlo_shapley(u, max_permutations=50, tolerance=0, truncation_tol=0.5)
    # a truncation tolerance this loose stops every scan at once: only U(empty) and U(N)
    assert u.calls - calls_before == 2


def test_leave_one_out_signs() -> None:
    u = _problem()
    loo = leave_one_out(u)
    assert loo[2] == pytest.approx(0.0)
    assert loo[3] < 0
    assert loo[4] >= 0


def test_utility_rejects_bad_hold_out() -> None:
    with pytest.raises(DataError, match="single class"):
        SequentialUtility([], np.zeros(2), np.ones((3, 2)), np.zeros(3))
    with pytest.raises(DataError, match="shape"):
        SequentialUtility([], np.zeros(2), np.ones((3, 3)), np.array([0, 1, 0]))


def test_row_weighted_owners_take_the_step_of_their_place_in_the_coalition() -> None:
    """A NewtonByRows owner is applied at M = base rows + the rows of the owners before it,
    so the coalition in arrival order is the chain run's sequence of row-weighted steps."""
    from hessian_common.learning.updates import fit_taylor, newton_by_rows, proximal_newton

    rng = np.random.default_rng(3)
    d = 5

    def owner(n: int) -> tuple[np.ndarray, np.ndarray]:
        X = np.column_stack([np.ones(n), rng.normal(size=(n, d - 1))])
        return X, (rng.random(n) < 1 / (1 + np.exp(-X @ np.linspace(-1, 1, d)))).astype(float)

    seed, owners = owner(200), [owner(n) for n in (80, 300, 40)]
    X_hold, y_hold = owner(400)
    w0 = fit_taylor(*seed)
    updates = [newton_by_rows(X, y) for X, y in owners]
    u = SequentialUtility(updates, w0, X_hold, y_hold, base_rows=200)
    w, held = w0, 200
    for X, y in owners:
        w = proximal_newton(X, y, model_rows=held).apply(w)
        held += len(y)
    np.testing.assert_allclose(u.weights([0, 1, 2]), w, atol=1e-12)
    # owner 2 first: it takes the step on the seed model alone
    first = proximal_newton(*owners[2], model_rows=200).apply(w0)
    np.testing.assert_allclose(u.weights([2]), first, atol=1e-12)
    # each permutation's marginals add up to the score of that order's full coalition
    res = monte_carlo_shapley(u, max_permutations=1, min_permutations=1, truncation_tol=0)
    perm = np.random.default_rng(0).permutation(3)
    np.testing.assert_allclose(res.values.sum(), u(perm) - res.empty_score, atol=1e-12)
    with pytest.raises(ConfigError, match="base_rows"):
        SequentialUtility(updates, w0, X_hold, y_hold, base_rows=-1)


_steps = st.lists(
    st.tuples(st.booleans(), st.integers(-20_000, 60_000), st.booleans()), min_size=1, max_size=8
)


@settings(max_examples=60, deadline=None)
@given(
    mechanism=st.sampled_from(list(Mechanism)),
    bounty=st.integers(1, 10**19),
    min_gain=st.integers(0, 20_000),
    stale_tenths=st.integers(1, 10),
    steps=_steps,
)
def test_escrow_never_creates_or_loses_money(mechanism, bounty, min_gain, stale_tenths, steps):
    """Any FIFO sequence of submissions, each evaluated (accepted or not, any score) or settled
    stale, then close, claims and reclaim: paid + owed + remaining + reclaimed = bounty after
    every call, the stale reserves fit in what remains, and an accepted update below the
    minimum paid gain earns nothing."""
    initial, target = 600_000, 700_000
    esc = Escrow(
        mechanism,
        bounty,
        initial,
        target,
        min_gain=min_gain,
        stale_reward=max(1, bounty * stale_tenths // 10),
    )

    def conserved() -> None:
        b = esc.balances()
        assert min(b.values()) >= 0 and esc.reserved <= esc.remaining
        assert b["paid"] + b["owed"] + b["remaining"] + b["reclaimed"] == bounty

    for key, _ in enumerate(steps):
        esc.submit(key, f"o{key}")
        conserved()
    best = initial
    for key, (accepted, delta, stale) in enumerate(steps):
        if stale:
            reserve = esc.subs[key].amount
            assert esc.settle_stale(key) == reserve
        else:
            score = best + delta
            reward = esc.evaluate(key, accepted, score)
            if not accepted or score - best < max(min_gain, 1):
                assert reward == 0 and esc.subs[key].gain == 0
            best = max(best, score) if accepted else best
        conserved()
    if esc.is_open:
        esc.close()
    assert esc.finalized
    if mechanism is not Mechanism.IMPROVEMENT:
        for key, s in list(esc.subs.items()):
            if s.gain > 0:
                esc.claim_share(key)
                conserved()
        assert esc.balances()["owed"] == 0
    if esc.remaining:
        esc.reclaim()
    conserved()
    assert sum(esc.by_owner().values()) == esc.balances()["paid"]
