"""The lender's acceptance rule: DeLong's paired test, McNemar, and the threshold rule."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hessian_common.errors import DataError
from hessian_common.learning.federated import delong_paired, evaluate_candidate
from hessian_common.learning.updates import fit_taylor, proximal_newton


@pytest.fixture(scope="module")
def loans():
    """Hold-out-like data: 3000 rows, 20% defaults, a weak signal (AUC ≈ 0.7) in 4 features."""
    rng = np.random.default_rng(3)
    n, d = 3000, 5
    X = np.hstack([np.ones((n, 1)), rng.normal(size=(n, d - 1))])
    beta = np.array([-1.6, 0.5, 0.3, -0.2, 0.1])
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ beta))).astype(int)
    return X, y, beta


def test_delong_difference_is_the_auc_difference_and_its_se_the_bootstrap_one(loans):
    X, y, beta = loans
    w_a, w_b = beta, beta + np.array([0, 0.3, -0.2, 0.1, 0.2])
    s_a, s_b = X @ w_a, X @ w_b
    diff, se = delong_paired(y, s_a, s_b)
    assert diff == pytest.approx(roc_auc_score(y, s_a) - roc_auc_score(y, s_b), abs=1e-12)
    rng = np.random.default_rng(0)
    boots = []
    for _ in range(300):
        i = rng.integers(0, len(y), len(y))
        boots.append(roc_auc_score(y[i], s_a[i]) - roc_auc_score(y[i], s_b[i]))
    assert se == pytest.approx(np.std(boots), rel=0.2)
    # Paired: far smaller than either AUC's own standard error (~0.012 here).
    assert se < 0.01


def test_delong_of_identical_rankings_is_zero(loans):
    X, y, beta = loans
    diff, se = delong_paired(y, X @ beta, 3 * (X @ beta) + 1)  # same order
    assert diff == 0 and se == 0
    assert evaluate_candidate(3 * beta, X, y, 0.7, current_weights=beta).accepted


def test_paired_rule_accepts_a_change_within_the_noise_the_threshold_rule_rejects(loans):
    X, y, beta = loans
    rng = np.random.default_rng(5)
    for _ in range(50):  # a small perturbation that happens to lower the hold-out AUC
        cand = beta + rng.normal(scale=0.04, size=beta.shape)
        if roc_auc_score(y, X @ cand) < roc_auc_score(y, X @ beta):
            break
    current = roc_auc_score(y, X @ beta)
    strict = evaluate_candidate(cand, X, y, current)
    paired = evaluate_candidate(cand, X, y, current, current_weights=beta)
    assert not strict.accepted and strict.z is None
    assert paired.accepted and -1.645 < paired.z < 0
    assert "not significantly worse" in paired.reason and "alpha 0.05" in paired.reason


def test_paired_rule_rejects_label_flipped_and_noise_updates(loans):
    X, y, beta = loans
    current = roc_auc_score(y, X @ beta)
    w0 = fit_taylor(X, y)
    # A long step to a label-flipped optimum reverses the ranking: far beyond the noise.
    flipped = proximal_newton(X[:500], 1 - y[:500], mu=0.02).apply(w0)
    ev = evaluate_candidate(flipped, X, y, current, current_weights=beta)
    assert not ev.accepted and ev.z < -10 and "significantly worse" in ev.reason
    # A short one (mu 0.5: a third of the way) mostly shrinks w, which AUC ignores.
    short = proximal_newton(X[:500], 1 - y[:500], mu=0.5).apply(w0)
    assert np.corrcoef(X @ short, X @ w0)[0, 1] > 0.9
    rng = np.random.default_rng(1)
    noise = rng.normal(size=beta.shape)
    ev = evaluate_candidate(noise, X, y, current, current_weights=beta)
    assert not ev.accepted and ev.z < -3
    # A tolerance widens the rule: a drop up to the tolerance passes even when significant.
    assert evaluate_candidate(noise, X, y, current, tolerance=1.0, current_weights=beta).accepted


def test_paired_rule_on_accuracy_is_mcnemar(loans):
    X, y, beta = loans
    better = beta.copy()
    worse = -beta  # predicts default for nearly everyone who repays, and vice versa
    acc_cur = float(np.mean((X @ better >= 0) == (y == 1)))
    ev = evaluate_candidate(worse, X, y, acc_cur, metric="accuracy", current_weights=better)
    b = np.sum(((X @ worse >= 0) == (y == 1)) & ((X @ better >= 0) != (y == 1)))
    c = np.sum(((X @ worse >= 0) != (y == 1)) & ((X @ better >= 0) == (y == 1)))
    assert ev.z == pytest.approx((b - c) / np.sqrt(b + c))
    assert not ev.accepted
    same = evaluate_candidate(better, X, y, acc_cur, metric="accuracy", current_weights=better)
    assert same.accepted and same.z == 0


def test_paired_rule_bad_input_is_a_named_error(loans):
    X, y, beta = loans
    with pytest.raises(DataError, match="alpha"):
        evaluate_candidate(beta, X, y, 0.7, current_weights=beta, alpha=0)
    with pytest.raises(DataError, match="current weights"):
        evaluate_candidate(beta, X, y, 0.7, current_weights=beta[:3])
    with pytest.raises(DataError, match="current weights"):
        evaluate_candidate(beta, X, y, 0.7, current_weights=beta * np.nan)
    with pytest.raises(DataError, match="2 rows of each class"):
        delong_paired([1, 0, 0], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
    nan = evaluate_candidate(beta * np.nan, X, y, 0.7, current_weights=beta)
    assert not nan.accepted and nan.reason == "non-finite weights"


def test_default_is_the_threshold_rule_the_lender_workflow_calls(loans):
    # hessian_common.lender calls evaluate_candidate(w, X, y, current, metric, tolerance).
    X, y, beta = loans
    current = roc_auc_score(y, X @ beta)
    assert evaluate_candidate(beta, X, y, current, "auc", 0.0).accepted
    assert not evaluate_candidate(beta, X, y, current + 1e-6, "auc", 0.0).accepted
