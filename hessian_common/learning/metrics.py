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
