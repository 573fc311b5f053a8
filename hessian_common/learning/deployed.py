"""A deployed model: decrypted weights, the spec's preprocessing and a calibrated link.

What a product scores applications with once a closed model is deployed (the lender's credit
model, the insurer's claims model): the same preprocessing the owners and the lender trained
through, the weights ``w`` (never published) and the Platt calibrator fitted on the
deployer's hold-out (:mod:`hessian_common.learning.calibration`)::

    x     = Preprocessor.transform(features)      shape (n, d), intercept first
    s     = x·w                                   the linear score
    p_raw = σ(s);  p = σ(a·s + b)                 calibrated (Platt, or the identity)

:class:`CalibratedModel` is kept private by the deployer (its state directory, 0600).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hessian_common.data.preprocess import Preprocessor
from hessian_common.errors import DataError
from hessian_common.learning.calibration import CalibrationSummary, Calibrator, calibrate


def sigmoid(s: float) -> float:
    """``σ(s)`` without overflow."""
    return 1.0 / (1.0 + math.exp(-s)) if s > -700 else 0.0


@dataclass
class CalibratedModel:
    """Weights + preprocessing + calibrator (see the module docstring)."""

    weights: np.ndarray
    preprocessing: dict[str, Any]
    feature_names: list[str]
    calibrator: Calibrator = field(default_factory=Calibrator)
    schema_name: str = ""

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=float).ravel()
        if len(self.weights) != len(self.feature_names):
            raise DataError(
                f"deployed model: {len(self.weights)} weights for {len(self.feature_names)} "
                "features"
            )
        if not np.isfinite(self.weights).all():
            raise DataError("deployed model: the weights contain NaN or infinite values")
        self._pre: Any = None

    @property
    def preprocessor(self) -> Any:
        """The fitted :class:`~hessian_common.data.Preprocessor` (built once)."""
        if self._pre is None:

            self._pre = Preprocessor.from_dict(self.preprocessing)
        return self._pre

    def linear(self, X: np.ndarray) -> np.ndarray:
        """``s = X·w`` for a preprocessed ``X`` of shape (n, d)."""
        return np.asarray(X, dtype=float) @ self.weights

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Calibrated probabilities ``σ(a·X·w + b)``, shape (n,)."""
        return self.calibrator.apply(self.linear(X))

    def score_frame(self, features: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(p, s)`` of rows typed like ``LoadedData.features``: calibrated probabilities
        and linear scores, each shape (n,)."""
        s = self.linear(self.preprocessor.transform(features))
        return self.calibrator.apply(s), s

    def model_dict(self) -> dict[str, Any]:
        """The shared fields as JSON (a product adds its format and its own fields)."""
        return {
            "weights": [float(v) for v in self.weights],
            "preprocessing": self.preprocessing,
            "feature_names": list(self.feature_names),
            "calibrator": self.calibrator.to_dict(),
            "schema_name": self.schema_name,
        }

    @staticmethod
    def model_kwargs(d: Mapping[str, Any]) -> dict[str, Any]:
        """Inverse of :meth:`model_dict` (``KeyError``/``TypeError``/``ValueError`` on a
        malformed dict: the caller names the document)."""
        return {
            "weights": np.asarray(d["weights"], dtype=float),
            "preprocessing": dict(d["preprocessing"]),
            "feature_names": [str(n) for n in d["feature_names"]],
            "calibrator": Calibrator.from_dict(d["calibrator"]),
            "schema_name": str(d.get("schema_name", "")),
        }


def calibrate_on_holdout(
    weights: Any, X_hold: np.ndarray, y_hold: np.ndarray, folds: int = 5
) -> tuple[Calibrator, CalibrationSummary]:
    """Platt on ``s = X_hold·w`` with its out-of-fold report
    (:func:`~hessian_common.learning.calibration.calibrate`)."""
    w = np.asarray(weights, dtype=float).ravel()
    s = np.asarray(X_hold, dtype=float) @ w
    calibrator, raw, cal, chosen = calibrate(s, np.asarray(y_hold), folds=folds)
    return calibrator, CalibrationSummary(raw, cal, chosen, calibrator, int(folds))


__all__ = ["CalibratedModel", "calibrate_on_holdout", "sigmoid"]
