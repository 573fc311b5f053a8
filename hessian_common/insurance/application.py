"""An insurance application: the form's fields, parsing and checking, canonical bytes, features.

The applicant states what the insurer's claims model reads (the ``insurance_claims`` schema's
features): the driver, the vehicle, where and how much it is driven, and the policy asked for —
deductible, coverage limit and term. The premium is *not* asked or used: it is what the model
prices. ``policy_start`` is the application day (``created_at``), which with the month the
vehicle was first registered gives the derived feature ``vehicle_age_years``.

An application is personal data: it goes to the content store only sealed to the insurer's
application key (:func:`seal_application`, X25519 + HKDF + AES-GCM as for loans, with its own
HKDF context so a key of one product opens nothing of the other); the chain holds
``digest()``, the SHA-256 of :meth:`InsuranceApplication.to_bytes` (canonical JSON)::

    {"applicant": "0x…", "created_at": "2026-11-26T09:30:00Z", "fields": {...},
     "format": "hessian.insurance-application/1"}

The field list, the one reading of what was typed, the canonical bytes and the reader of a
stranger's bytes are shared with the loan application (:mod:`hessian_common.forms`).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from hessian_common.crypto.sealing import seal
from hessian_common.errors import InsuranceInputError
from hessian_common.forms import (
    TIME_FORMAT,
    Field,
    canonical_bytes,
    created_month,
    month_index,
    month_label,
    now_iso,
    parse_fields,
    read_form_document,
)
from hessian_common.untrusted import MAX_BYTES, reading

FORMAT = "hessian.insurance-application/1"
SEAL_INFO = b"hessian.sealed-insurance-application/1"
"""HKDF context of a sealed insurance application (:mod:`hessian_common.crypto.sealing`)."""

VEHICLE_TYPES = ("sedan", "suv", "truck", "van", "sports")
REGIONS = ("urban", "suburban", "rural")
TERMS = ("6", "12")
YEARS_CAP = 10.0
"""Policy exports write ``"10+ years"`` (the loader reads 10): the model never saw more."""

APPLICATION_FIELDS: list[Field] = [
    Field("driver_age", "Driver's age", "number", minimum=16, maximum=110, integer=True),
    Field("years_licensed", "Years licensed", "number", minimum=0, maximum=95, integer=True,
          help="Whole years since the driver's licence was issued."),
    Field("prior_claims", "Claims in the last 5 years", "number", minimum=0, maximum=50,
          integer=True, help="Motor claims you filed with any insurer."),
    Field("vehicle_type", "Vehicle type", "choice", choices=VEHICLE_TYPES),
    Field("vehicle_first_registered", "Vehicle first registered (e.g. Mar-2019)", "month"),
    Field("region", "Where the vehicle is kept", "choice", choices=REGIONS),
    Field("annual_mileage", "Miles driven a year", "number", minimum=0, maximum=200_000,
          integer=True),
    Field("deductible", "Deductible (US$)", "number", minimum=0, maximum=1_000_000,
          integer=True, unit="$", help="You pay this part of each claim."),
    Field("coverage_limit", "Coverage limit (US$)", "number", minimum=1,
          maximum=100_000_000, integer=True, unit="$",
          help="The largest loss covered (the policy pays the loss above the deductible)."),
    Field("policy_term", "Term (months)", "choice", choices=TERMS),
]  # fmt: skip
"""The application form, in display order (the schema's features; the dates come from the
vehicle's registration month and the application day)."""

FIELDS_BY_NAME = {f.name: f for f in APPLICATION_FIELDS}


@dataclass(frozen=True)
class InsuranceApplication:
    """A checked application: ``fields`` by name (numbers as whole floats, choices as text),
    ``created_at`` (UTC, ``%Y-%m-%dT%H:%M:%SZ``: the policy would start that day) and the
    ``applicant``'s address (set when it is sent), so a sealed application cannot be re-sent
    as someone else's."""

    fields: dict[str, Any]
    created_at: str = field(default_factory=now_iso)
    applicant: str | None = None

    @property
    def vehicle_type(self) -> str:
        return str(self.fields["vehicle_type"])

    @property
    def deductible(self) -> int:
        """Whole dollars."""
        return int(self.fields["deductible"])

    @property
    def coverage_limit(self) -> int:
        """Whole dollars."""
        return int(self.fields["coverage_limit"])

    @property
    def term(self) -> int:
        """Months."""
        return int(self.fields["policy_term"])

    @property
    def policy_start(self) -> str:
        """The application day, ``YYYY-MM-DD`` (the data's ``policy_start``)."""
        return self.created_at[:10]

    def to_dict(self) -> dict[str, Any]:
        out = {"format": FORMAT, "created_at": self.created_at, "fields": dict(self.fields)}
        if self.applicant is not None:
            out["applicant"] = self.applicant
        return out

    def to_bytes(self) -> bytes:
        """Canonical JSON (sorted keys, compact, UTF-8): what is sealed and digested."""
        return canonical_bytes(self.to_dict())

    def digest(self) -> bytes:
        """SHA-256 of :meth:`to_bytes` (32 bytes; the chain's application digest)."""
        return hashlib.sha256(self.to_bytes()).digest()

    @classmethod
    def from_bytes(cls, data: bytes) -> InsuranceApplication:
        """Parse and re-check :meth:`to_bytes` output: a stranger's bytes (a sealed
        application's plaintext), read through :mod:`hessian_common.untrusted`; every failure
        is an :class:`~hessian_common.errors.UntrustedBlobError`."""

        with reading("insurance application"):
            form, created, applicant = read_form_document(
                data, what="insurance application", format=FORMAT, party="applicant",
                max_bytes=MAX_BYTES["application"],
            )  # fmt: skip
            app = replace(parse_application(form, created_at=created), applicant=applicant)
            if app.to_bytes() != bytes(data):
                raise ValueError("not in canonical form")
            return app


def parse_application(
    form: Mapping[str, Any], *, created_at: str | None = None
) -> InsuranceApplication:
    """Check a submitted form and build the :class:`InsuranceApplication`.

    Numbers are read by :mod:`hessian_common.numbers` (``$`` before an amount accepted; a
    comma refused, never guessed). Beyond each field's range: the licence cannot be older
    than the driver's 14th birthday, the deductible must be below the coverage limit.

    Raises
    ------
    InsuranceInputError
        With ``.errors`` {field: message} for every bad field; nothing else happens.
    """
    created = created_at or now_iso()
    try:
        month_now = created_month(created)
    except (TypeError, ValueError):
        raise InsuranceInputError({"created_at": f"not a UTC time like {now_iso()}"}) from None
    out, errors = parse_fields(APPLICATION_FIELDS, form, month_now)
    age, licensed = out.get("driver_age"), out.get("years_licensed")
    if age is not None and licensed is not None and licensed > age - 14:
        errors["years_licensed"] = "cannot be more than the driver's age minus 14"
    ded, lim = out.get("deductible"), out.get("coverage_limit")
    if ded is not None and lim is not None and ded >= lim:
        errors["deductible"] = "must be below the coverage limit"
    if errors:
        raise InsuranceInputError(errors)
    return InsuranceApplication(out, created)


def application_from_row(row: Mapping[str, Any]) -> InsuranceApplication:
    """An application from a row of :func:`~hessian_common.data.insurance.generate_policies`
    (simulation): the policy starts on the row's ``policy_start``; the registration date is
    kept to its month; numbers outside the form's bounds are clipped to them."""
    form: dict[str, str] = {}
    for f in APPLICATION_FIELDS:
        v = row.get(f.name)
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        if f.kind == "number":
            x = float(v)
            if f.minimum is not None:
                x = max(x, f.minimum)
            if f.maximum is not None:
                x = min(x, f.maximum)
            form[f.name] = str(round(x))
        elif f.kind == "month":
            t = datetime.strptime(str(v)[:10], "%Y-%m-%d")
            form[f.name] = month_label(t.year * 12 + t.month - 1)
        elif f.name == "policy_term":
            form[f.name] = str(round(float(str(v).split()[0])))
        else:
            form[f.name] = str(v)
    if "years_licensed" in form and "driver_age" in form:
        form["years_licensed"] = str(
            min(int(form["years_licensed"]), max(int(form["driver_age"]) - 14, 0))
        )
    created = datetime.strptime(str(row["policy_start"])[:10], "%Y-%m-%d").strftime(TIME_FORMAT)
    return parse_application(form, created_at=created)


def features_frame(app: InsuranceApplication) -> Any:
    """One row shaped like ``LoadedData.features`` of the ``insurance_claims`` schema (the
    loader's types and derivations), so ``Preprocessor.transform`` applies the model's
    preprocessing: ``years_licensed`` capped at 10 as the exports write it, and
    ``vehicle_age_years`` = days from the first of the registration month to the
    application day / 365.25."""
    import pandas as pd  # heavy optional: pandas

    f = app.fields
    reg = month_index(f["vehicle_first_registered"])
    assert reg is not None  # checked by parse_application
    start = pd.Timestamp(app.policy_start)
    days = (start - pd.Timestamp(reg // 12, reg % 12 + 1, 1)).days
    row = {
        "driver_age": float(f["driver_age"]),
        "years_licensed": min(float(f["years_licensed"]), YEARS_CAP),
        "prior_claims": float(f["prior_claims"]),
        "vehicle_type": str(f["vehicle_type"]),
        "region": str(f["region"]),
        "annual_mileage": float(f["annual_mileage"]),
        "deductible": float(f["deductible"]),
        "coverage_limit": float(f["coverage_limit"]),
        "policy_term": float(f["policy_term"]),
        "vehicle_age_years": days / 365.25,
    }
    frame = pd.DataFrame([row])
    for c in ("vehicle_type", "region"):
        frame[c] = frame[c].astype(object)
    return frame


def seal_application(public_key: bytes, app: InsuranceApplication) -> bytes:
    """``app.to_bytes()`` sealed to the insurer's application key (its own HKDF context)."""

    return seal(public_key, app.to_bytes(), info=SEAL_INFO)


__all__ = [
    "APPLICATION_FIELDS",
    "FIELDS_BY_NAME",
    "FORMAT",
    "REGIONS",
    "SEAL_INFO",
    "TERMS",
    "VEHICLE_TYPES",
    "InsuranceApplication",
    "application_from_row",
    "features_frame",
    "parse_application",
    "seal_application",
]
