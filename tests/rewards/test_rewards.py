"""The off-chain mirror of the reward mechanisms, and contribution valuation."""

from __future__ import annotations

import numpy as np
import pytest

from hessian_common.errors import ConfigError, DataError
from hessian_common.rewards import (
    Evaluation,
    Mechanism,
    SequentialUtility,
    all_payouts,
    leave_one_out,
    monte_carlo_shapley,
    payouts,
    share_of,
)

ETH = 10**18


def _evs() -> list[Evaluation]:
    return [
        Evaluation("a", 100, True, 650_000),  # +50k over 600k
        Evaluation("bad", 80, False, 550_000),
        Evaluation("b", 300, True, 700_000),  # +50k
        Evaluation("c", 100, True, 690_000),  # accepted without improvement
    ]


def test_improvement_pays_score_gain_over_target_span() -> None:
    p = payouts("improvement", 10 * ETH, 600_000, 800_000, _evs())
    assert p.rewards == [10 * ETH * 50_000 // 200_000, 0, 10 * ETH * 50_000 // 200_000, 0]
    assert p.paid + p.remaining == 10 * ETH
    assert p.final_score == 700_000  # the best score only moves up
    assert share_of(p, ["bad"]) == 0.0
    assert share_of(p, ["a"]) == pytest.approx(0.25)


def test_improvement_capped_by_remaining_and_closes_at_target() -> None:
    evs = [
        Evaluation("a", 10, True, 790_000),
        Evaluation("b", 10, True, 900_000),
        Evaluation("c", 10, True, 950_000),
    ]
    p = payouts(Mechanism.IMPROVEMENT, 1000, 600_000, 800_000, evs)
    assert p.rewards == [950, 50, 0]
    assert p.remaining == 0 and p.closed_at_target


def test_equal_and_pro_rata_split_remaining_among_accepted() -> None:
    eq = payouts("equal", 1000, 600_000, 800_000, _evs())
    assert eq.rewards == [333, 0, 333, 334] and eq.remaining == 0  # last claim takes the dust
    pr = payouts("pro-rata-rows", 1001, 600_000, 800_000, _evs())
    assert pr.rewards == [200, 0, 600, 201] and pr.remaining == 0
    both = all_payouts(1000, 600_000, 800_000, _evs())
    assert set(both) == set(Mechanism)


def test_no_accepted_submission_pays_nothing() -> None:
    evs = [Evaluation("x", 5, False, 1)]
    for m in Mechanism:
        p = payouts(m, 1000, 600_000, 800_000, evs)
        assert p.paid == 0 and p.remaining == 1000


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
