"""Platt scaling, cross-fitting and the calibration report, against scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.calibration import calibration_curve
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold

from hessian_common.errors import DataError
from hessian_common.lending.calibration import (
    CalibrationReport,
    CalibrationSummary,
    Calibrator,
    calibrate,
    calibration_report,
    cross_fit,
    fit_platt,
)


def draw(n, a_true=1.0, b_true=0.0, seed=0):
    """Scores s and labels y ~ Bernoulli(σ(a_true·s + b_true))."""
    rng = np.random.default_rng(seed)
    s = rng.normal(-1.5, 1.0, n)
    y = (rng.random(n) < expit(a_true * s + b_true)).astype(int)
    return s, y


def test_platt_recovers_a_known_link():
    s, y = draw(20_000, a_true=0.5, b_true=-0.7, seed=1)
    cal = fit_platt(s, y)
    assert cal.a == pytest.approx(0.5, abs=0.05) and cal.b == pytest.approx(-0.7, abs=0.08)
    assert np.allclose(cal.apply(s), expit(cal.a * s + cal.b))


def test_miscalibrated_scores_are_fixed_and_platt_is_chosen():
    s, y = draw(4_000, a_true=0.4, b_true=-1.0, seed=2)
    calibrator, raw, cal, chosen = calibrate(s, y)
    assert chosen == "platt" and not calibrator.is_identity
    assert cal.log_loss < raw.log_loss and cal.ece < raw.ece and cal.brier < raw.brier
    assert raw.mean_pd > raw.default_rate + 0.03  # σ(s) over-predicts
    assert cal.mean_pd == pytest.approx(cal.default_rate, abs=0.01)
    assert cal.slope == pytest.approx(1.0, abs=0.15)
    assert cal.auc == pytest.approx(raw.auc, abs=0.01)  # a monotone map keeps the ranking


def test_identity_is_deployed_when_platt_does_not_help():
    chosen_seen = set()
    for seed in range(8):
        s, y = draw(300, seed=10 + seed)  # already calibrated
        calibrator, raw, cal, chosen = calibrate(s, y)
        chosen_seen.add(chosen)
        if chosen == "identity":
            assert calibrator == Calibrator() and cal.log_loss >= raw.log_loss
        else:
            assert cal.log_loss < raw.log_loss
    assert "identity" in chosen_seen


def test_cross_fit_is_out_of_fold():
    s, y = draw(1_000, a_true=0.6, seed=3)
    calibrator, oof = cross_fit(s, y, folds=5, seed=4)
    expected = np.empty(len(y))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=4).split(s[:, None], y):
        expected[test] = fit_platt(s[train], y[train]).apply(s[test])
    assert np.allclose(oof, expected)
    assert calibrator == fit_platt(s, y)
    assert not np.allclose(oof, calibrator.apply(s))


def test_report_matches_scikit_learn():
    s, y = draw(2_000, a_true=0.7, b_true=0.3, seed=5)
    p = expit(s)
    rep = calibration_report(y, p, bins=10)
    assert rep.brier == pytest.approx(brier_score_loss(y, p), rel=1e-12)
    assert rep.log_loss == pytest.approx(log_loss(y, p), rel=1e-12)
    assert rep.auc == pytest.approx(roc_auc_score(y, p), rel=1e-12)
    # 2,000 continuous p: sklearn's quantile bins hold 200 each, so ECE = mean |gap|
    prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="quantile")
    assert rep.ece == pytest.approx(np.mean(np.abs(prob_true - prob_pred)), rel=1e-9)
    assert [b.count for b in rep.bins] == [200] * 10
    assert np.allclose([b.mean_pd for b in rep.bins], prob_pred)
    assert np.allclose([b.default_rate for b in rep.bins], prob_true)
    assert rep.mean_pd == pytest.approx(p.mean()) and rep.default_rate == pytest.approx(y.mean())
    # slope/intercept: y ~ σ(c + β logit p) with logit p = s, truth β = 0.7, c = 0.3
    assert rep.slope == pytest.approx(0.7, abs=0.15) and rep.intercept == pytest.approx(
        0.3, abs=0.2
    )
    again = CalibrationReport.from_dict(rep.to_dict())
    assert again == rep


def test_platt_on_a_model_trained_on_generated_loans(loaded_split, fitted_preprocessor):
    """The lender's Taylor model on generated data: Platt must not worsen the out-of-fold
    log loss by more than noise, and must keep the AUC."""
    from hessian_common.learning.updates import fit_taylor

    pre = fitted_preprocessor
    X = np.vstack([pre.transform(d.features) for d in loaded_split["owners"]])
    y = np.concatenate([d.y for d in loaded_split["owners"]]).astype(float)
    w = fit_taylor(X, y)
    hold = loaded_split["holdout"]
    s = pre.transform(hold.features) @ w
    calibrator, raw, cal, chosen = calibrate(s, hold.y)
    assert cal.log_loss <= raw.log_loss + 0.01
    assert cal.auc == pytest.approx(raw.auc, abs=0.02) and raw.auc > 0.6
    assert (chosen == "platt") == (cal.log_loss < raw.log_loss)
    summary = CalibrationSummary(raw, cal, chosen, calibrator)
    assert CalibrationSummary.from_dict(summary.to_dict()) == summary


def test_bad_inputs():
    with pytest.raises(DataError):
        calibrate([0.1, np.nan], [0, 1])
    with pytest.raises(DataError):
        calibrate([0.1, 0.2], [0, 2])
    with pytest.raises(DataError):
        cross_fit(np.zeros(20), np.r_[np.zeros(18), np.ones(2)], folds=5)
    with pytest.raises(DataError):
        calibration_report([0, 1], [0.5, 1.5])
    with pytest.raises(DataError):
        Calibrator.from_dict({"format": "hessian.calibrator/1", "a": "x", "b": 0})
    assert Calibrator.from_dict(Calibrator(2.0, -1.0).to_dict()) == Calibrator(2.0, -1.0)
    assert fit_platt([0.0, 1.0], [1, 1]) == Calibrator()
    assert logit(0.5) == 0
