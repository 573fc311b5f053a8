"""Model quality on a hold-out set: AUC, accuracy, log-loss and KS (scikit-learn).

The federated model is trained with the Taylor sigmoid, so ``X·w`` is a linear score; it is
mapped to a probability of default with the *true* logistic function, ``p = 1/(1 + e^(−X·w))``,
for log-loss and accuracy (AUC and KS depend only on the ranking, so the mapping does not
change them).

    KS = max_t (TPR(t) − FPR(t))     (Kolmogorov–Smirnov distance between the two classes'
                                      score distributions, the credit-scoring classic)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score, roc_curve

from hessian_common.errors import DataError

METRICS = ("auc", "accuracy", "log_loss", "ks")


def predict_proba(X: Any, w: Any) -> np.ndarray:
    """Probability of default ``σ(X·w)`` with the true sigmoid; X of shape (n, d)."""
    X = np.asarray(X, dtype=float)
    w = np.asarray(w, dtype=float).ravel()
    if X.ndim != 2 or X.shape[1] != w.shape[0]:
        raise DataError(f"X has shape {X.shape} but the model has {w.shape[0]} weights")
    return expit(X @ w)


def score(y: Any, p: Any) -> dict[str, float]:
    """``{"auc", "accuracy", "log_loss", "ks"}`` of probabilities ``p`` against labels ``y``.

    Accuracy thresholds ``p`` at ½. Both classes must be present in ``y``.
    """
    y = np.asarray(y).ravel()
    p = np.asarray(p, dtype=float).ravel()
    if y.shape != p.shape or y.size == 0:
        raise DataError(f"{y.size} labels but {p.size} predictions")
    if len(np.unique(y)) != 2:
        raise DataError("scoring needs both classes (0 and 1) in the hold-out labels")
    if not np.all(np.isfinite(p)):
        raise DataError("predictions contain non-finite values")
    fpr, tpr, _ = roc_curve(y, p)
    return {
        "auc": float(roc_auc_score(y, p)),
        "accuracy": float(accuracy_score(y, p >= 0.5)),
        "log_loss": float(log_loss(y, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1])),
        "ks": float(np.max(tpr - fpr)),
    }


def score_weights(X: Any, y: Any, w: Any) -> dict[str, float]:
    """:func:`score` of the linear model ``w`` on ``X, y``."""
    return score(y, predict_proba(X, w))


PAID_GAIN_Z = 1.645
"""One-sided 95 % quantile: a gain below ``z`` standard errors is not told apart from noise."""

NEIGHBOUR_CORRELATION = 0.98
"""Correlation of the hold-out scores of two successive models (one owner's step apart):
``sd(s' − s) = sd(s) · sqrt(2 (1 − ρ))``."""


def paid_gain_floor(
    y: Any,
    score_value: float,
    metric: str = "auc",
    z: float = PAID_GAIN_Z,
    correlation: float = NEIGHBOUR_CORRELATION,
) -> float:
    """The smallest score gain worth paying on a hold-out with labels ``y`` (noise floor).

    The standard error of the metric on ``n`` hold-out rows (Hanley & McNeil for the AUC)::

        AUC:       se² = (A(1−A) + (n₁−1)(Q₁−A²) + (n₀−1)(Q₂−A²)) / (n₁ n₀),
                   Q₁ = A/(2−A),  Q₂ = 2A²/(1+A)
        accuracy:  se² = a(1−a) / n

    and the gain of a candidate over a model one step away is a difference of two highly
    correlated scores, ``sd = se · sqrt(2 (1 − ρ))``. The floor is ``z`` of those: with the
    defaults, a gain a noise update reaches by chance about 5 % of the time at most.
    """
    yy = np.asarray(y).astype(int).ravel()
    n1, n0 = int(yy.sum()), int(len(yy) - yy.sum())
    if n1 == 0 or n0 == 0:
        raise DataError("the hold-out needs both outcomes to set a noise floor")
    a = min(max(float(score_value), 1e-6), 1 - 1e-6)
    if metric == "auc":
        q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
        var = (a * (1 - a) + (n1 - 1) * (q1 - a * a) + (n0 - 1) * (q2 - a * a)) / (n1 * n0)
    elif metric == "accuracy":
        var = a * (1 - a) / (n1 + n0)
    else:
        raise DataError(f"metric must be 'auc' or 'accuracy', got {metric!r}")
    return float(z * np.sqrt(max(var, 0.0)) * np.sqrt(2 * (1 - correlation)))
