"""The insurer's underwriting desk, UI-free and chain-free: score, calibrate, price, decline.

What the insurer does with one sealed application once a closed claims model is deployed
(the chain part — ``PolicyBook``, quotes on chain, premiums, claims — comes later and calls
these)::

    plain   = open_sealed(application key, blob)      checked against the chain's digest and
                                                       the applicant's address
    app     = InsuranceApplication.from_bytes(plain)
    x       = Preprocessor.transform(features_frame(app))          shape (1, d)
    s       = x·w;  p = σ(a·s + b)                   the claims model, Platt-calibrated on the
                                                       insurer's hold-out (shared with loans)
    quote   = pricing.quote(policy, p, vehicle, D, L, term, decimals)
              premium = p·E[min(S, L) − D | S > D]·(1 + θ) + e, declined above the maximum p

Deploying (:func:`build_claims_model`, :func:`fit_pricing`): the decrypted weights are
calibrated on the insurer's hold-out (out-of-fold report, as for loans), and the pricing
policy's severity table is fitted from the insurer's own claims file (the amounts paid, with
the truncation at the deductible and the censoring at the limit,
:func:`~hessian_common.insurance.severity.fit_book_severity`).

The scoring and calibration are the loan desk's (:mod:`hessian_common.learning.deployed`,
:mod:`hessian_common.learning.calibration`), and opening a sealed application is the shared
:func:`hessian_common.forms.open_sealed_form`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from hessian_common.errors import DataError, InsuranceInputError
from hessian_common.forms import open_sealed_form
from hessian_common.insurance.application import (
    SEAL_INFO,
    InsuranceApplication,
    features_frame,
)
from hessian_common.insurance.pricing import PricingPolicy, Quote, quote
from hessian_common.insurance.severity import MIN_CLAIMS, SeverityFit, fit_book_severity
from hessian_common.learning.calibration import CalibrationSummary
from hessian_common.learning.deployed import CalibratedModel, calibrate_on_holdout, sigmoid

FORMAT = "hessian.claims-model/1"


@dataclass
class ClaimsModel(CalibratedModel):
    """The deployed claims model (private to the insurer): a :class:`CalibratedModel` of the
    ``insurance_claims`` schema, with the chain's model id and the model CID it came from."""

    model_id: int = 0
    model_cid: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "model_id": int(self.model_id),
            "model_cid": str(self.model_cid),
            **self.model_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ClaimsModel:
        if not isinstance(d, Mapping) or d.get("format") != FORMAT:
            raise DataError(f"claims model: not a {FORMAT} document")
        try:
            return cls(
                **cls.model_kwargs(d), model_id=int(d["model_id"]), model_cid=str(d["model_cid"])
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"claims model: malformed ({exc!r})") from None


@dataclass(frozen=True)
class ClaimScore:
    """One application's score: ``probability`` (calibrated) is what pricing uses."""

    probability: float
    probability_raw: float
    linear: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Decision:
    """The suggested decision for one application: its score and the quote."""

    application: InsuranceApplication
    score: ClaimScore
    quote: Quote

    @property
    def approve(self) -> bool:
        return self.quote.approved


def build_claims_model(
    weights: Any,
    spec: Any,
    X_hold: np.ndarray,
    y_hold: np.ndarray,
    model_id: int = 0,
    model_cid: str = "",
    folds: int = 5,
) -> tuple[ClaimsModel, CalibrationSummary]:
    """The claims model of decrypted ``weights`` and its calibration on the hold-out.

    ``spec`` is the model's :class:`~hessian_common.learning.spec.ModelSpec` (anything with
    ``preprocessing``, ``feature_names`` and ``schema_name``); ``X_hold``, ``y_hold`` the
    insurer's preprocessed hold-out. Calibration: Platt on ``s = X_hold·w``, 5-fold
    cross-fitted report, the identity when Platt does not lower the out-of-fold log loss.
    """
    calibrator, summary = calibrate_on_holdout(weights, X_hold, y_hold, folds)
    model = ClaimsModel(
        weights=np.asarray(weights, dtype=float),
        preprocessing=dict(spec.preprocessing),
        feature_names=list(spec.feature_names),
        calibrator=calibrator,
        schema_name=str(spec.schema_name),
        model_id=int(model_id),
        model_cid=str(model_cid),
    )
    return model, summary


def fit_pricing(
    policy: PricingPolicy, claims: Any, min_claims: int = MIN_CLAIMS
) -> tuple[PricingPolicy, SeverityFit]:
    """``policy`` with its severity table fitted from the insurer's own claims file
    (``claims``: a ``LoadedData`` of the ``insurance_claims`` schema), and the fit.

    Every vehicle type of the schema gets an entry (thin ones the pooled fit).
    """
    fit = fit_book_severity(claims, min_claims=min_claims)
    return replace(policy, severity=dict(fit.table)).check(), fit


def score_application(model: CalibratedModel, app: InsuranceApplication) -> ClaimScore:
    """The claims model's calibrated probability that ``app`` claims during its term."""
    p, s = model.score_frame(features_frame(app))
    return ClaimScore(float(p[0]), sigmoid(float(s[0])), float(s[0]))


def decide(
    model: CalibratedModel, policy: PricingPolicy, app: InsuranceApplication, decimals: int
) -> Decision:
    """Score ``app`` and price it under ``policy`` (amounts in the currency's base units,
    ``decimals`` its decimal places): the suggested decision."""
    if not isinstance(app, InsuranceApplication):
        raise InsuranceInputError({"application": "not an InsuranceApplication"})
    score = score_application(model, app)
    q = quote(
        policy, score.probability, app.vehicle_type, app.deductible, app.coverage_limit,
        app.term, decimals,
    )  # fmt: skip
    return Decision(app, score, q)


def open_application(
    private_key: bytes, blob: bytes, digest: bytes, applicant: str | None = None
) -> InsuranceApplication:
    """The sealed application ``blob``, checked against the chain's ``digest`` and, when
    given, the ``applicant``'s address (``CryptoError`` / ``UntrustedBlobError``)."""
    return open_sealed_form(
        private_key, blob, digest, InsuranceApplication.from_bytes, info=SEAL_INFO,
        what="insurance application", sender=applicant, party="applicant",
    )  # fmt: skip


__all__ = [
    "FORMAT",
    "ClaimScore",
    "ClaimsModel",
    "Decision",
    "build_claims_model",
    "decide",
    "fit_pricing",
    "open_application",
    "score_application",
]
