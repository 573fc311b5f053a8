"""Calibration of a deployed model's probabilities: Platt scaling, cross-fitted, and a report.

Shared by the products that price from a probability: the credit model (probability of
default, :mod:`hessian_common.lending.scoring`) and the claims model (probability of a claim,
:mod:`hessian_common.insurance.desk`). The federated model is a logistic regression trained
with a Taylor-approximated sigmoid, so its raw probabilities ``σ(s)`` of the linear score
``s = x·w`` may be mis-scaled. Pricing needs probabilities that mean what they say, so the
deployer refits the link on its hold-out::

    Platt scaling      p = σ(a·s + b)          a, b: unpenalised logistic regression of y on s

Honest evaluation with K-fold cross-fitting (K = 5, stratified): for each fold, ``a, b`` are
fitted on the other K − 1 folds and applied to this fold, giving out-of-fold probabilities
that never come from a calibrator that saw their label. The report compares the raw
``σ(s)`` with these out-of-fold probabilities; the calibrator actually deployed is fitted on
the whole hold-out. If Platt does not lower the out-of-fold log loss, the identity
(``a = 1, b = 0``, i.e. the raw probabilities) is deployed instead, and the report says so.

The report's field names come from lending (``mean_pd``, ``default_rate``): they are the mean
predicted probability and the observed event rate, whatever the event (a default, a claim).

Report (:func:`calibration_report`), for ``y`` in {0, 1} and probabilities ``p``::

    Brier      mean((p − y)²)
    log loss   −mean(y·log p + (1 − y)·log(1 − p))      (p clipped to [1e-15, 1 − 1e-15])
    AUC        ROC AUC (NaN with one class)
    ECE        Σ_b (n_b / N)·|mean(p in b) − mean(y in b)|    b = 10 equal-count bins of p
    slope, intercept   of the logistic regression y ~ σ(c + β·logit(p))  (1 and 0 = calibrated)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hessian_common.errors import DataError

FORMAT = "hessian.calibrator/1"
EPS = 1e-15


def _sigmoid(z: np.ndarray) -> np.ndarray:
    from scipy.special import expit  # heavy optional: scipy

    return expit(np.asarray(z, dtype=float))


def _check_sy(s: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(s, dtype=float).ravel()
    y = np.asarray(y).ravel()
    if len(s) != len(y) or len(s) == 0:
        raise DataError(f"calibration: {len(s)} scores and {len(y)} labels")
    if not np.isfinite(s).all():
        raise DataError("calibration: the scores contain NaN or infinite values")
    if not np.isin(y, (0, 1)).all():
        raise DataError("calibration: labels must be 0 or 1")
    return s, y.astype(int)


@dataclass(frozen=True)
class Calibrator:
    """``p = σ(a·s + b)`` of a linear score ``s`` (``a = 1, b = 0``: the identity)."""

    a: float = 1.0
    b: float = 0.0

    def apply(self, linear_scores: Any) -> np.ndarray:
        """Calibrated probabilities of the linear scores ``s``, same shape."""
        return _sigmoid(self.a * np.asarray(linear_scores, dtype=float) + self.b)

    @property
    def is_identity(self) -> bool:
        return self.a == 1.0 and self.b == 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "a": float(self.a), "b": float(self.b)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calibrator:
        if not isinstance(d, Mapping) or d.get("format") != FORMAT:
            raise DataError(f"calibrator: not a {FORMAT} document")
        try:
            a, b = float(d["a"]), float(d["b"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"calibrator: malformed ({exc!r})") from None
        if not (math.isfinite(a) and math.isfinite(b)):
            raise DataError("calibrator: a and b must be finite")
        return cls(a, b)


def fit_platt(s: Any, y: Any) -> Calibrator:
    """Fit ``a, b`` of ``p = σ(a·s + b)`` by unpenalised maximum likelihood (scikit-learn).

    Needs both classes; with one class only the identity is returned.
    """
    from sklearn.linear_model import LogisticRegression  # heavy optional: scikit-learn

    s, y = _check_sy(s, y)
    if len(np.unique(y)) < 2:
        return Calibrator()
    lr = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)
    lr.fit(s.reshape(-1, 1), y)
    return Calibrator(float(lr.coef_[0, 0]), float(lr.intercept_[0]))


def cross_fit(s: Any, y: Any, folds: int = 5, seed: int = 0) -> tuple[Calibrator, np.ndarray]:
    """K-fold (stratified) cross-fitted Platt scaling.

    Returns
    -------
    calibrator : Calibrator
        Fitted on all of ``(s, y)`` (what is deployed).
    oof_p : ndarray of shape (n,)
        Out-of-fold probabilities: row i from the calibrator fitted without i's fold.
    """
    from sklearn.model_selection import StratifiedKFold  # heavy optional: scikit-learn

    s, y = _check_sy(s, y)
    k = int(folds)
    minority = int(min(y.sum(), len(y) - y.sum()))
    if k < 2 or minority < k:
        raise DataError(
            f"calibration: {k}-fold cross-fitting needs at least {max(k, 2)} rows of each "
            f"class (have {minority} of the rarer one)"
        )
    oof = np.empty(len(y), dtype=float)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=int(seed))
    for train, test in splitter.split(s.reshape(-1, 1), y):
        oof[test] = fit_platt(s[train], y[train]).apply(s[test])
    return fit_platt(s, y), oof


@dataclass(frozen=True)
class ReliabilityBin:
    """One equal-count bin of the reliability table: ``lo..hi`` is the range of ``p`` in it."""

    lo: float
    hi: float
    count: int
    mean_pd: float
    default_rate: float


@dataclass(frozen=True)
class CalibrationReport:
    """How well probabilities ``p`` match outcomes ``y`` (see the module docstring)."""

    brier: float
    log_loss: float
    auc: float
    ece: float
    mean_pd: float
    default_rate: float
    slope: float
    intercept: float
    rows: int = 0
    bins: list[ReliabilityBin] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CalibrationReport:
        data = dict(d)
        data["bins"] = [ReliabilityBin(**b) for b in data.get("bins", [])]
        return cls(**data)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def calibration_report(y: Any, p: Any, bins: int = 10) -> CalibrationReport:
    """Brier, log loss, AUC, ECE over ``bins`` equal-count bins, slope/intercept, table."""
    # heavy optional: scikit-learn
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    p = np.asarray(p, dtype=float).ravel()
    y = np.asarray(y).ravel().astype(int)
    if len(p) != len(y) or len(p) == 0:
        raise DataError(f"calibration report: {len(p)} probabilities and {len(y)} labels")
    if not (np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()):
        raise DataError("calibration report: probabilities must be in [0, 1]")
    two = len(np.unique(y)) == 2
    order = np.argsort(p, kind="stable")
    table = []
    ece = 0.0
    for idx in np.array_split(order, min(int(bins), len(p))):
        if not len(idx):
            continue
        mp, dr = float(p[idx].mean()), float(y[idx].mean())
        ece += len(idx) / len(p) * abs(mp - dr)
        table.append(ReliabilityBin(float(p[idx].min()), float(p[idx].max()), len(idx), mp, dr))
    slope = intercept = float("nan")
    if two:
        lr = LogisticRegression(C=np.inf, solver="lbfgs", max_iter=1000)
        lr.fit(_logit(p).reshape(-1, 1), y)
        slope, intercept = float(lr.coef_[0, 0]), float(lr.intercept_[0])
    return CalibrationReport(
        brier=float(brier_score_loss(y, p)),
        log_loss=float(log_loss(y, np.clip(p, EPS, 1 - EPS), labels=[0, 1])),
        auc=float(roc_auc_score(y, p)) if two else float("nan"),
        ece=float(ece),
        mean_pd=float(p.mean()),
        default_rate=float(y.mean()),
        slope=slope,
        intercept=intercept,
        rows=len(p),
        bins=table,
    )


@dataclass(frozen=True)
class CalibrationSummary:
    """What :func:`calibrate` found: raw vs out-of-fold calibrated, and what is deployed."""

    raw: CalibrationReport
    calibrated: CalibrationReport
    chosen: str
    calibrator: Calibrator = Calibrator()
    folds: int = 5

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "hessian.calibration/1",
            "raw": self.raw.to_dict(),
            "calibrated": self.calibrated.to_dict(),
            "chosen": self.chosen,
            "calibrator": self.calibrator.to_dict(),
            "folds": self.folds,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CalibrationSummary:
        return cls(
            raw=CalibrationReport.from_dict(d["raw"]),
            calibrated=CalibrationReport.from_dict(d["calibrated"]),
            chosen=str(d["chosen"]),
            calibrator=Calibrator.from_dict(d["calibrator"]),
            folds=int(d.get("folds", 5)),
        )


def calibrate(
    s: Any, y: Any, folds: int = 5, seed: int = 0, bins: int = 10
) -> tuple[Calibrator, CalibrationReport, CalibrationReport, str]:
    """Cross-fit Platt scaling on ``(s, y)`` and choose what to deploy.

    Returns ``(calibrator, raw_report, calibrated_report, chosen)``: ``raw_report`` of
    ``σ(s)``, ``calibrated_report`` of the out-of-fold Platt probabilities; ``chosen`` is
    ``"platt"`` if that lowered the log loss (the calibrator is then Platt fitted on all
    rows), else ``"identity"`` (the calibrator is ``Calibrator()``).
    """
    s, y = _check_sy(s, y)
    platt, oof = cross_fit(s, y, folds=folds, seed=seed)
    raw = calibration_report(y, _sigmoid(s), bins)
    cal = calibration_report(y, oof, bins)
    if cal.log_loss < raw.log_loss:
        return platt, raw, cal, "platt"
    return Calibrator(), raw, cal, "identity"
