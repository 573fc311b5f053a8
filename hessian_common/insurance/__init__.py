"""The insurance half of Hessian: a closed claims model prices motor policies (pure library).

Pure parts: :mod:`.severity` (the lognormal claim severity, its layer and its fit from paid
claims), :mod:`.pricing` (the premium rule and the insurer's policy document), :mod:`.application`
(the applicant's form, canonical bytes, features) and :mod:`.desk` (score an application with
the deployed claims model, calibrate, price, decline). The chain part (``PolicyBook``) comes
later. Calibration is shared with lending: :mod:`hessian_common.learning.calibration`.

Imports are lazy so that ``import hessian_common.insurance`` does not pull in scipy.
"""

from __future__ import annotations

from typing import Any

_EXPORTS = {
    "Lognormal": "severity",
    "SeverityFit": "severity",
    "fit_lognormal": "severity",
    "fit_severity": "severity",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        import importlib

        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
