"""Metrics, the lender's acceptance rule, federated training against centralized."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from hessian_common.errors import DataError
from hessian_common.learning.federated import (
    centralized_baseline,
    evaluate_candidate,
    run_federated,
)
from hessian_common.learning.metrics import predict_proba, score


def test_score_values():
    y = np.array([0, 0, 1, 1])
    p = np.array([0.1, 0.6, 0.4, 0.9])
    m = score(y, p)
    assert m["auc"] == pytest.approx(0.75)
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["ks"] == pytest.approx(0.5)
    assert m["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.4, 0.4, 0.9])))


def test_score_bad_input():
    with pytest.raises(DataError, match="both classes"):
        score([0, 0], [0.1, 0.2])
    with pytest.raises(DataError, match="labels"):
        score([0, 1], [0.1])
    with pytest.raises(DataError, match="weights"):
        predict_proba(np.ones((2, 3)), [1.0])


def test_acceptance_rule():
    rng = np.random.default_rng(0)
    X = np.hstack([np.ones((200, 1)), rng.normal(size=(200, 2))])
    y = (X[:, 1] + rng.normal(size=200) > 0).astype(int)
    good, bad = np.array([0, 1.0, 0]), np.array([0, -1.0, 0])
    auc_good = roc_auc_score(y, X[:, 1])
    ev = evaluate_candidate(good, X, y, current_score=0.5)
    assert ev.accepted and ev.score == pytest.approx(auc_good) and ev.gain > 0
    assert not evaluate_candidate(bad, X, y, current_score=0.5).accepted
    assert evaluate_candidate(good, X, y, current_score=auc_good + 0.01, tolerance=0.02).accepted
    assert not evaluate_candidate(good, X, y, current_score=auc_good + 0.01).accepted
    assert not evaluate_candidate([np.nan, 0, 0], X, y, current_score=0.5).accepted
    with pytest.raises(DataError):
        evaluate_candidate(good, X, y, 0.5, metric="f1")


@pytest.fixture(scope="module")
def split():
    """Generated Lending Club data, preprocessed by the lender's fit (10 owners)."""
    import tempfile
    from pathlib import Path

    from hessian_cli.train import _prepare

    with tempfile.TemporaryDirectory() as tmp:
        return _prepare(None, None, 10, 8000, 0, Path(tmp))


@pytest.mark.slow
def test_federated_close_to_centralized(split):
    owners, seed_xy, hold_xy, info = split
    assert len(owners) == 10 and info["features"] > 10
    central = centralized_baseline(owners, *seed_xy, *hold_xy)
    fed = run_federated(owners, *seed_xy, *hold_xy, rounds=2, key_bits=512, workers=1)
    assert fed.submissions == 20 and fed.accepted >= 1
    assert fed.final["auc"] >= fed.initial["auc"]
    assert fed.final["auc"] >= 0.99 * central["auc"]
    assert 0.6 < central["auc"] < 0.8  # realistic difficulty, not a toy


def test_federated_bad_input(split):
    owners, seed_xy, hold_xy, _ = split
    with pytest.raises(DataError, match="at least one owner"):
        run_federated([], *seed_xy, *hold_xy, key_bits=256)
    with pytest.raises(DataError, match="owner 0"):
        run_federated([(owners[0][0][:, :3], owners[0][1])], *seed_xy, *hold_xy, key_bits=256)
    with pytest.raises(DataError, match="rounds"):
        run_federated(owners, *seed_xy, *hold_xy, rounds=0, key_bits=256)
    with pytest.raises(DataError, match="acceptance"):
        run_federated(owners, *seed_xy, *hold_xy, key_bits=256, acceptance="sometimes")


@pytest.mark.slow
def test_one_pass_small_owners_with_the_prior_and_the_lender_s_rule(tmp_path):
    """Ten owners of 70 generated applications (62 features), one encrypted step each: the
    lender's rule records its statistics and the model lands near the centralized one."""
    from hessian_cli.train import _prepare

    owners, seed_xy, hold_xy, info = _prepare(
        None, None, 10, 1000, 3, tmp_path, dataset="german_credit"
    )
    assert info["features"] == 62 and info["rows"]["owners"] == [70] * 10
    fed = run_federated(owners, *seed_xy, *hold_xy, key_bits=512, workers=1)
    central = centralized_baseline(owners, *seed_xy, *hold_xy)
    assert fed.submissions == 10 and fed.accepted >= 8
    assert fed.prior is not None and fed.prior.seed_rows == 100
    assert fed.prior.population_rows == 300  # seed ∪ hold-out: features only
    assert all(
        {"z_auc", "z_loss", "z_intercept", "z_score"} <= set(h["stats"]) for h in fed.history
    )
    assert fed.final["auc"] >= 0.97 * central["auc"]
    assert fed.final["auc"] > fed.initial["auc"] + 0.02
