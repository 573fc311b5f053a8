"""The lending half of Hessian: a closed, trained model is deployed and decides loans.

Pure parts: :mod:`.pricing` (the pricing rule and its maths),
:mod:`hessian_common.learning.calibration` (Platt scaling, cross-fitted, and its report; shared
with insurance), :mod:`.application` (the form, canonical bytes,
features), :mod:`.sealing` (applications sealed to the lender's X25519 key),
:mod:`.scoring` (the deployed credit model). Workflows (UI-free): :mod:`.desk` (the
lender) and :mod:`.borrower` (the borrower), on the chain's ``LoanBook``.
"""

from hessian_common.crypto.sealing import (
    new_application_key,
    open_key_at_rest,
    open_sealed,
    seal,
    seal_key_at_rest,
)
from hessian_common.learning.calibration import (
    CalibrationReport,
    CalibrationSummary,
    Calibrator,
    ReliabilityBin,
    calibrate,
    calibration_report,
    cross_fit,
    fit_platt,
)
from hessian_common.lending.application import (
    APPLICATION_FIELDS,
    Application,
    Field,
    application_from_row,
    features_frame,
    parse_application,
)
from hessian_common.lending.pricing import (
    PricingPolicy,
    Quote,
    expected_cash_flows,
    installment,
    irr_annual,
    npv,
    quote,
)
from hessian_common.lending.scoring import (
    CreditModel,
    Score,
    build_credit_model,
    reference_rates,
)

__all__ = [
    "APPLICATION_FIELDS",
    "Application",
    "CalibrationReport",
    "CalibrationSummary",
    "Calibrator",
    "CreditModel",
    "Field",
    "PricingPolicy",
    "Quote",
    "ReliabilityBin",
    "Score",
    "application_from_row",
    "build_credit_model",
    "calibrate",
    "calibration_report",
    "cross_fit",
    "expected_cash_flows",
    "features_frame",
    "fit_platt",
    "installment",
    "irr_annual",
    "new_application_key",
    "npv",
    "open_key_at_rest",
    "open_sealed",
    "parse_application",
    "quote",
    "reference_rates",
    "seal",
    "seal_key_at_rest",
]
