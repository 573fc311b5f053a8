"""The deployed credit model: decrypted weights + preprocessing + calibration + reference rates.

Scoring an application (``app``)::

    g      = the grade the applicant stated (credit report)
    rate   = reference_rates[g]                 mean int_rate (%) of grade g in the hold-out
    M_ref  = installment(amount, rate/100, term)
    x      = Preprocessor.transform(features_frame(app, rate, M_ref))      shape (1, d)
    s      = x·w                               the model's linear score
    pd_raw = σ(s);  pd = σ(a·s + b)            calibrated (Platt, or identity)

Reference rates come from the lender's preprocessed hold-out by inverting the
standardisation of ``int_rate``: ``raw = z·std + mean`` (``expm1`` of that if the column
is logged), averaged over the rows of each grade; a grade with no hold-out row takes the
linear inter-/extrapolation over the grade index of the grades that have rows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hessian_common.data.preprocess import Preprocessor
from hessian_common.errors import DataError, LendingInputError
from hessian_common.learning.calibration import CalibrationSummary, Calibrator, calibrate
from hessian_common.learning.deployed import CalibratedModel
from hessian_common.learning.spec import ModelSpec
from hessian_common.lending.application import GRADES, Application, features_frame
from hessian_common.lending.pricing import installment

FORMAT = "hessian.credit-model/1"
RATE_FEATURE = "int_rate"
GRADE_FEATURE = "grade"


@dataclass(frozen=True)
class Score:
    """One application's score (see the module docstring); ``pd`` is what pricing uses."""

    pd: float
    pd_raw: float
    linear: float
    reference_rate: float
    installment_ref: float
    grade: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _entry(preprocessing: Mapping[str, Any], kind: str, name: str) -> dict[str, Any]:
    for e in preprocessing.get(kind, []):
        if e.get("name") == name:
            return e
    raise DataError(f"the model's preprocessing has no {kind} feature {name!r}")


def reference_rates(
    X_hold: np.ndarray, feature_names: list[str], preprocessing: Mapping[str, Any]
) -> dict[str, float]:
    """``{grade: mean int_rate in percent}`` recovered from the preprocessed hold-out.

    Parameters
    ----------
    X_hold : ndarray of shape (n, d), the preprocessed hold-out (intercept first).
    feature_names : the d column names (``"int_rate"``, ``"grade=B"``...).
    preprocessing : ``Preprocessor.to_dict()`` (its ``mean``/``std``/``log`` of int_rate,
        its grade levels; the first level is the one-hot reference when it has no column).
    """
    X = np.asarray(X_hold, dtype=float)
    names = list(feature_names)
    if X.ndim != 2 or X.shape[1] != len(names) or len(X) == 0:
        raise DataError(f"hold-out of shape {X.shape} does not match {len(names)} features")
    num = _entry(preprocessing, "numeric", RATE_FEATURE)
    cat = _entry(preprocessing, "categorical", GRADE_FEATURE)
    raw = X[:, names.index(RATE_FEATURE)] * float(num["std"]) + float(num["mean"])
    if num.get("log"):
        raw = np.expm1(raw)
    onehot = {lvl: X[:, names.index(f"grade={lvl}")] > 0.5 for lvl in cat["columns"]}
    levels = [lvl for lvl in cat["levels"] if lvl in GRADES]
    rates: dict[str, float] = {}
    for lvl in levels:
        if lvl in onehot:
            mask = onehot[lvl]
        else:  # the reference level: no one-hot column set
            mask = ~np.any(np.column_stack(list(onehot.values())), axis=1) if onehot else None
            mask = np.ones(len(X), bool) if mask is None else mask
        if mask.any():
            rates[lvl] = round(float(raw[mask].mean()), 4)
    if not rates:
        raise DataError("the hold-out has no rows of any grade")
    known = sorted((GRADES.index(g), r) for g, r in rates.items())
    for g in GRADES:
        if g in rates:
            continue
        x = GRADES.index(g)
        if len(known) == 1:
            rates[g] = known[0][1]
            continue
        lo = [k for k in known if k[0] < x]
        hi = [k for k in known if k[0] > x]
        (x0, r0), (x1, r1) = (
            (lo[-1], hi[0]) if lo and hi else (known[-2], known[-1]) if lo else (known[0], known[1])
        )
        rates[g] = round(r0 + (r1 - r0) * (x - x0) / (x1 - x0), 4)
    return {g: rates[g] for g in GRADES}


@dataclass
class CreditModel:
    """Everything the lender needs to score an application (kept private, 0600)."""

    model_id: int
    model_cid: str
    weights: np.ndarray
    preprocessing: dict[str, Any]
    feature_names: list[str]
    calibrator: Calibrator = field(default_factory=Calibrator)
    reference_rates: dict[str, float] = field(default_factory=dict)
    schema_name: str = "lending_club"

    def __post_init__(self) -> None:
        # the scoring shared with every product (weights checked, preprocessing built once)
        self._core = CalibratedModel(
            self.weights, self.preprocessing, self.feature_names, self.calibrator, self.schema_name
        )
        self.weights = self._core.weights

    @property
    def preprocessor(self) -> Preprocessor:
        """The fitted :class:`~hessian_common.data.Preprocessor` (built once)."""
        return self._core.preprocessor

    def linear(self, X: np.ndarray) -> np.ndarray:
        """``s = X·w`` for a preprocessed ``X`` of shape (n, d)."""
        return self._core.linear(X)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Calibrated PDs ``σ(a·X·w + b)``, shape (n,)."""
        return self._core.predict(X)

    def score(self, app: Application) -> Score:
        """Score one application (see the module docstring)."""
        grade = app.grade
        if grade not in self.reference_rates:
            raise LendingInputError({"grade": f"no reference rate for grade {grade!r}"})
        rate = float(self.reference_rates[grade])
        m = installment(app.amount, rate / 100.0, app.term)
        X = self.preprocessor.transform(features_frame(app, rate, m))
        s = float(self.linear(X)[0])
        pd = float(self.calibrator.apply(np.array([s]))[0])
        pd_raw = float(1.0 / (1.0 + math.exp(-s))) if s > -700 else 0.0
        return Score(pd, pd_raw, s, rate, m, grade)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "model_id": int(self.model_id),
            "model_cid": str(self.model_cid),
            **self._core.model_dict(),
            "reference_rates": dict(self.reference_rates),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CreditModel:
        if not isinstance(d, Mapping) or d.get("format") != FORMAT:
            raise DataError(f"credit model: not a {FORMAT} document")
        try:
            return cls(
                model_id=int(d["model_id"]),
                model_cid=str(d["model_cid"]),
                **{
                    **CalibratedModel.model_kwargs(d),
                    "schema_name": str(d.get("schema_name", "lending_club")),
                },
                reference_rates={str(k): float(v) for k, v in d["reference_rates"].items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"credit model: malformed ({exc!r})") from None


def build_credit_model(
    weights: Any,
    spec: ModelSpec,
    X_hold: np.ndarray,
    y_hold: np.ndarray,
    model_id: int,
    model_cid: str,
    folds: int = 5,
) -> tuple[CreditModel, CalibrationSummary]:
    """The credit model of decrypted ``weights`` and its calibration on the hold-out.

    ``spec`` is the model's :class:`~hessian_common.learning.spec.ModelSpec` (preprocessing,
    feature names, schema). Calibration: :func:`~.calibration.calibrate` on ``s = X_hold·w``.
    """
    w = np.asarray(weights, dtype=float).ravel()
    names = list(spec.feature_names)
    X = np.asarray(X_hold, dtype=float)
    s = X @ w
    calibrator, raw, cal, chosen = calibrate(s, np.asarray(y_hold), folds=folds)
    model = CreditModel(
        model_id=int(model_id),
        model_cid=str(model_cid),
        weights=w,
        preprocessing=dict(spec.preprocessing),
        feature_names=names,
        calibrator=calibrator,
        reference_rates=reference_rates(X, names, spec.preprocessing),
        schema_name=str(spec.schema_name),
    )
    return model, CalibrationSummary(raw, cal, chosen, calibrator, int(folds))
