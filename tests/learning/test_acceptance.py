"""The lender's acceptance rule: paired hold-out tests (DeLong, McNemar, the protocol's loss),
the check of an update's step against the lender's own loans, and the threshold rule."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hessian_common.errors import DataError
from hessian_common.learning.federated import (
    StepContext,
    delong_paired,
    evaluate_candidate,
    paired_loss_z,
    taylor_loss_rows,
)
from hessian_common.learning.prior import initial_model
from hessian_common.learning.updates import fit_taylor, newton_by_rows, proximal_newton


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


def test_delong_of_identical_rankings_is_zero_and_the_loss_sees_the_scale(loans):
    X, y, beta = loans
    diff, se = delong_paired(y, X @ beta, 3 * (X @ beta) + 1)  # same order
    assert diff == 0 and se == 0
    assert evaluate_candidate(beta, X, y, 0.7, current_weights=beta).accepted
    # The same ranking three times as steep: AUC cannot tell, the protocol's loss can.
    ev = evaluate_candidate(3 * beta, X, y, 0.7, current_weights=beta)
    assert ev.stats["z_auc"] == 0 and ev.stats["z_loss"] < -10
    assert not ev.accepted and "hold-out loss significantly worse" in ev.reason


def test_the_loss_is_the_taylor_loss_and_its_paired_z(loans):
    X, y, beta = loans
    s = X @ beta
    np.testing.assert_allclose(taylor_loss_rows(X, y, beta), s * s / 8 + (0.5 - y) * s)
    # 2(½ + s/4 − y)² = ℓ + 2(½ − y)²: the Brier score of the linear probability.
    np.testing.assert_allclose(
        2 * (0.5 + s / 4 - y) ** 2, taylor_loss_rows(X, y, beta) + 2 * (0.5 - y) ** 2
    )
    other = beta + 0.1
    delta = taylor_loss_rows(X, y, other) - taylor_loss_rows(X, y, beta)
    z = -delta.mean() / (delta.std(ddof=1) / np.sqrt(len(y)))
    assert paired_loss_z(X, y, other, beta) == pytest.approx(z)
    assert paired_loss_z(X, y, beta, beta) == 0


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
    assert not strict.accepted and strict.z is None and strict.stats == {}
    assert paired.accepted and -1.645 < paired.z < 0
    assert "not significantly worse" in paired.reason and "alpha 0.05" in paired.reason
    assert set(paired.stats) == {"z_auc", "z_loss", "alpha"}


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
    # A tolerance widens the metric test only: a drop up to it passes even when significant,
    # but the protocol's loss still sees random weights.
    wide = evaluate_candidate(noise, X, y, current, tolerance=1.0, current_weights=beta)
    assert not wide.accepted and "auc significantly" not in wide.reason
    assert "hold-out loss significantly worse" in wide.reason


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
    with pytest.raises(DataError, match="step_alpha"):
        evaluate_candidate(beta, X, y, 0.7, current_weights=beta, step_alpha=0.6)
    with pytest.raises(DataError, match="current weights"):
        evaluate_candidate(beta, X, y, 0.7, current_weights=beta[:3])
    with pytest.raises(DataError, match="current weights"):
        evaluate_candidate(beta, X, y, 0.7, current_weights=beta * np.nan)
    with pytest.raises(DataError, match="2 rows of each class"):
        delong_paired([1, 0, 0], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])
    nan = evaluate_candidate(beta * np.nan, X, y, 0.7, current_weights=beta)
    assert not nan.accepted and nan.reason == "non-finite weights"


def test_default_is_the_threshold_rule_the_lender_workflow_calls(loans):
    # hessian_common.tasks calls evaluate_candidate(w, X, y, current, metric, tolerance).
    X, y, beta = loans
    current = roc_auc_score(y, X @ beta)
    assert evaluate_candidate(beta, X, y, current, "auc", 0.0).accepted
    assert not evaluate_candidate(beta, X, y, current + 1e-6, "auc", 0.0).accepted


def _rows(rng: np.random.Generator, n: int, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = len(beta)
    dense = rng.normal(size=(n, d // 2))
    levels = (rng.random((n, d - 1 - d // 2)) < 0.2).astype(float)
    X = np.column_stack([np.ones(n), dense, levels])
    return X, (rng.random(n) < 1 / (1 + np.exp(-(X @ beta)))).astype(float)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_small_honest_update_accepted_label_flipped_and_noise_rejected(seed):
    """The lender's rule on a small model (300 seed rows, 1,000 hold-out rows, d = 12) and an
    owner of 150 rows taking the spec's row-weighted Newton step: its honest file is
    accepted; the same rows with flipped labels, or with every column shuffled (noise), are
    rejected by the step check (default rate, agreement with the model's ranking)."""
    rng = np.random.default_rng(seed)
    beta = np.concatenate([[-1.2], rng.normal(0, 0.5, 11)])
    Xs, ys = _rows(rng, 300, beta)
    Xh, yh = _rows(rng, 1000, beta)
    w0, prior = initial_model(Xs, ys, Xh)
    current = roc_auc_score(yh, Xh @ w0)
    X, y = _rows(rng, 150, beta)
    shuffled = np.column_stack([X[:, 0]] + [X[rng.permutation(150), j] for j in range(1, 12)])
    files = {
        "honest": (X, y),
        "label_flip": (X, 1 - y),
        "noise": (shuffled, y[rng.permutation(150)]),
    }
    verdicts = {}
    for kind, (Xo, yo) in files.items():
        w = newton_by_rows(Xo, yo, prior=prior).at(300).apply(w0)
        step = StepContext(w0, 150, 300, prior, 1e-4)
        verdicts[kind] = evaluate_candidate(w, Xh, yh, current, current_weights=w0, step=step)
    assert verdicts["honest"].accepted, verdicts["honest"].reason
    assert set(verdicts["honest"].stats) >= {"z_auc", "z_loss", "z_intercept", "z_score"}
    flip, noise = verdicts["label_flip"], verdicts["noise"]
    assert not flip.accepted and flip.stats["z_intercept"] < -5 and flip.stats["z_score"] > 3
    assert "default rate disagrees" in flip.reason
    assert not noise.accepted and noise.stats["z_score"] > 2.33
    assert "disagree with the model's ranking" in noise.reason
    if seed == 1:  # this honest update lowers the hold-out AUC: the threshold rule drops it
        assert verdicts["honest"].score < current
        assert not evaluate_candidate(
            newton_by_rows(X, y, prior=prior).at(300).apply(w0), Xh, yh, current
        ).accepted


def test_step_statistics_are_standard_normal_for_honest_owners():
    """Across 200 honest owners of 80 rows the two step statistics are N(0, 1) (mean within
    ±0.25, sd 0.8-1.25), so each check rejects about step_alpha of honest updates."""
    rng = np.random.default_rng(11)
    beta = np.concatenate([[-1.0], rng.normal(0, 0.5, 9)])
    Xs, ys = _rows(rng, 400, beta)
    Xh, yh = _rows(rng, 1500, beta)
    w0, prior = initial_model(Xs, ys, Xh)
    current = roc_auc_score(yh, Xh @ w0)
    zs = []
    for _ in range(200):
        X, y = _rows(rng, 80, beta)
        w = newton_by_rows(X, y, prior=prior).at(400).apply(w0)
        ev = evaluate_candidate(
            w, Xh, yh, current, current_weights=w0, step=StepContext(w0, 80, 400, prior, 1e-4)
        )
        zs.append((ev.stats["z_intercept"], ev.stats["z_score"]))
    zs = np.array(zs)
    assert np.all(np.abs(zs.mean(axis=0)) < 0.25), zs.mean(axis=0)
    assert np.all((zs.std(axis=0) > 0.8) & (zs.std(axis=0) < 1.25)), zs.std(axis=0)


# ------------------------------------------------------------------ the rule in the spec


def test_the_rule_in_the_spec_round_trips_and_refuses_bad_values():
    from hessian_common.learning.acceptance import AcceptanceRule

    rule = AcceptanceRule("paired", 0.01, 0.05, 0.01)
    assert AcceptanceRule.from_dict(rule.to_dict()) == rule
    expected = {"rule": "paired", "tolerance": 0.01, "alpha": 0.05, "step_alpha": 0.01}
    assert rule.to_dict() == expected
    for bad, match in (
        ({"rule": "vote"}, "one of"),
        ({"tolerance": 1.0}, r"\[0, 1\)"),
        ({"tolerance": -0.1}, r"\[0, 1\)"),
        ({"alpha": 0}, r"\(0, 0.5\]"),
        ({"step_alpha": 0.7}, r"\(0, 0.5\]"),
        ({"alpha": True}, "number"),
        ({"alpha": "0.05"}, "number"),
        ({"extra": 1}, "unknown keys"),
    ):
        with pytest.raises(DataError, match=match):
            AcceptanceRule.from_dict({**rule.to_dict(), **bad})
    with pytest.raises(DataError, match="object"):
        AcceptanceRule.from_dict([1])


def test_a_spec_without_the_rule_is_judged_by_the_threshold_rule(loans):
    from types import SimpleNamespace

    from hessian_common.learning.acceptance import AcceptanceRule

    X, y, beta = loans
    legacy = SimpleNamespace(acceptance=None, metric="auc", rule="newton", params={})
    rule = AcceptanceRule.of(legacy, 0.02)
    assert rule == AcceptanceRule("threshold", 0.02) and not rule.paired
    current = float(roc_auc_score(y, X @ beta))
    worse = beta * np.array([1, 0.2, 1, 1, 1])  # loses most of one feature's signal
    drop = current - float(roc_auc_score(y, X @ worse))
    assert drop > 0.02
    verdict = rule.judge(legacy, worse, X, y, current, beta, beta, 100, 1000)
    assert not verdict.accepted and verdict.z is None  # the threshold rule has no test
    loose = AcceptanceRule.of(legacy, drop + 0.01)
    assert loose.judge(legacy, worse, X, y, current, beta, beta, 100, 1000).accepted
