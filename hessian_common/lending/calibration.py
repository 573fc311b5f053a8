"""Calibration moved to :mod:`hessian_common.learning.calibration` (shared with insurance).

Re-exported here so the lending modules and pages that import it from this name keep working;
new code imports from :mod:`hessian_common.learning.calibration`.
"""

from hessian_common.learning.calibration import (
    FORMAT,
    CalibrationReport,
    CalibrationSummary,
    Calibrator,
    ReliabilityBin,
    calibrate,
    calibration_report,
    cross_fit,
    fit_platt,
)

__all__ = [
    "FORMAT",
    "CalibrationReport",
    "CalibrationSummary",
    "Calibrator",
    "ReliabilityBin",
    "calibrate",
    "calibration_report",
    "cross_fit",
    "fit_platt",
]
