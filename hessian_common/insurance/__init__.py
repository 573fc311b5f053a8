"""The insurance half of Hessian: a closed claims model prices motor policies (pure library).

Pure parts: :mod:`.severity` (the lognormal claim severity, its layer and its fit from paid
claims), :mod:`.pricing` (the premium rule, the insurer's pricing policy and its public
document), :mod:`.application` (the applicant's form, canonical bytes, features, sealing) and
:mod:`.desk` (score an application with the deployed claims model, calibrate, price, decline).
The chain part (``PolicyBook``) comes later. Calibration and the deployed model are shared
with lending (:mod:`hessian_common.learning.calibration`, :mod:`hessian_common.learning.deployed`),
and so are the form reading and sealed documents (:mod:`hessian_common.forms`).

Imports are lazy so that ``import hessian_common.insurance`` does not pull in scipy.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Lognormal": "severity",
    "SeverityFit": "severity",
    "fit_book_severity": "severity",
    "fit_lognormal": "severity",
    "fit_severity": "severity",
    "PricingPolicy": "pricing",
    "Quote": "pricing",
    "quote": "pricing",
    "to_units": "pricing",
    "policy_document": "pricing",
    "parse_policy_document": "pricing",
    "APPLICATION_FIELDS": "application",
    "InsuranceApplication": "application",
    "application_from_row": "application",
    "features_frame": "application",
    "parse_application": "application",
    "seal_application": "application",
    "ClaimsModel": "desk",
    "ClaimScore": "desk",
    "Decision": "desk",
    "build_claims_model": "desk",
    "decide": "desk",
    "fit_pricing": "desk",
    "open_application": "desk",
    "score_application": "desk",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib  # the lazy loader of this package

        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
