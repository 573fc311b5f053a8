"""A loan application: the form's fields, parsing and checking, canonical bytes, features.

The applicant states what a Lending Club application asks (amount, term, income, credit
report items...) including the **credit grade from their credit report** (A–G). The model's
rate-dependent features are *not* asked: ``int_rate`` is the reference rate of the stated
grade and ``installment`` the amortised payment at that rate (filled by the scorer, see
:mod:`hessian_common.lending.scoring`), so the score never depends on the price we quote.
``issue_d`` is the application month (``created_at``), which with ``earliest_cr_line`` gives
the derived feature ``credit_history_years``.

An application is personal data: it goes to the content store only sealed
(:mod:`hessian_common.crypto.sealing`); the chain holds ``digest()``, the SHA-256 of
:meth:`Application.to_bytes` (canonical JSON)::

    {"created_at": "2026-11-26T09:30:00Z", "fields": {...}, "format": "hessian.application/1"}
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hessian_common.errors import LendingInputError
from hessian_common.forms import (
    MONTHS,  # noqa: F401  (re-exported: the months of the form)
    Field,
    canonical_bytes,
    month_index,
    month_label,
    now_iso,
    parse_fields,
    read_form_document,
)
from hessian_common.forms import created_month as _created_month
from hessian_common.untrusted import MAX_BYTES, reading

FORMAT = "hessian.application/1"

GRADES = ("A", "B", "C", "D", "E", "F", "G")
EMP_LENGTHS = (
    "< 1 year", "1 year", "2 years", "3 years", "4 years", "5 years", "6 years", "7 years",
    "8 years", "9 years", "10+ years", "n/a",
)  # fmt: skip
HOME_OWNERSHIP = ("RENT", "MORTGAGE", "OWN", "OTHER")
PURPOSES = (
    "debt_consolidation", "credit_card", "home_improvement", "major_purchase",
    "small_business", "car", "wedding", "medical", "moving", "house", "educational",
    "vacation", "renewable_energy", "other",
)  # fmt: skip
VERIFICATION = ("Not Verified", "Verified", "Source Verified")
STATES = (
    "AK", "AL", "AR", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "HI", "IA", "ID", "IL",
    "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MS", "MT", "NC", "ND", "NE",
    "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT",
    "VA", "VT", "WA", "WI", "WV", "WY",
)  # fmt: skip


APPLICATION_FIELDS: list[Field] = [
    Field("loan_amnt", "Loan amount (US$)", "number", minimum=1000, maximum=40000,
          help="How much you want to borrow.", unit="$"),
    Field("term", "Term (months)", "choice", choices=("36", "60")),
    Field("grade", "Credit grade", "choice", choices=GRADES,
          help="The credit grade on your credit report (A best, G weakest)."),
    Field("emp_length", "Employment length", "choice", choices=EMP_LENGTHS),
    Field("annual_inc", "Annual income (US$)", "number", minimum=0, maximum=10_000_000,
          unit="$"),
    Field("dti", "Debt-to-income ratio (%)", "number", minimum=0, maximum=100,
          help="Monthly debt payments (excluding this loan and a mortgage) / monthly income.",
          unit="%"),
    Field("fico_range_low", "FICO score", "number", minimum=300, maximum=850, integer=True),
    Field("delinq_2yrs", "Delinquencies in the last 2 years", "number", minimum=0,
          maximum=50, integer=True, help="30+ days past due on any account."),
    Field("inq_last_6mths", "Credit inquiries in the last 6 months", "number", minimum=0,
          maximum=50, integer=True),
    Field("open_acc", "Open credit lines", "number", minimum=0, maximum=100, integer=True),
    Field("pub_rec", "Derogatory public records", "number", minimum=0, maximum=50,
          integer=True),
    Field("revol_bal", "Revolving balance (US$)", "number", minimum=0, maximum=10_000_000,
          unit="$"),
    Field("revol_util", "Revolving utilisation (%)", "number", minimum=0, maximum=200,
          required=False, help="Revolving balance / credit limit; blank if you have none.",
          unit="%"),
    Field("total_acc", "Credit lines ever opened", "number", minimum=0, maximum=200,
          integer=True),
    Field("home_ownership", "Home ownership", "choice", choices=HOME_OWNERSHIP),
    Field("purpose", "Purpose", "choice", choices=PURPOSES),
    Field("verification_status", "Income verification", "choice", choices=VERIFICATION),
    Field("earliest_cr_line", "First credit line opened (e.g. Jan-2005)", "month"),
    Field("addr_state", "State", "choice", choices=STATES, required=False),
]  # fmt: skip
"""The application form, in display order (the schema's features minus the rate-dependent
ones, plus ``addr_state`` for context)."""

FIELDS_BY_NAME = {f.name: f for f in APPLICATION_FIELDS}


_now_iso = now_iso
_month_index = month_index


@dataclass(frozen=True)
class Application:
    """A checked application: ``fields`` by name (numbers as float, choices as text; an
    optional field left blank is absent), ``created_at`` (UTC, ``%Y-%m-%dT%H:%M:%SZ``) and
    the ``borrower``'s address (set when it is sent: :func:`hessian_common.lending.borrower.
    apply`), so a sealed application cannot be re-sent as someone else's."""

    fields: dict[str, Any]
    created_at: str = field(default_factory=_now_iso)
    borrower: str | None = None

    @property
    def amount(self) -> float:
        """The amount asked for, in dollars."""
        return float(self.fields["loan_amnt"])

    @property
    def term(self) -> int:
        """Term in months."""
        return int(self.fields["term"])

    @property
    def grade(self) -> str:
        """The credit grade the applicant stated."""
        return str(self.fields["grade"])

    @property
    def month(self) -> str:
        """The application month as the data has it (``issue_d``), e.g. ``Nov-2026``."""
        idx = _created_month(self.created_at)
        return month_label(idx)

    def to_dict(self) -> dict[str, Any]:
        out = {"format": FORMAT, "created_at": self.created_at, "fields": dict(self.fields)}
        if self.borrower is not None:
            out["borrower"] = self.borrower
        return out

    def to_bytes(self) -> bytes:
        """Canonical JSON (sorted keys, compact, UTF-8): what is sealed and digested."""
        return canonical_bytes(self.to_dict())

    def digest(self) -> bytes:
        """SHA-256 of :meth:`to_bytes` (32 bytes; the chain's ``applicationDigest``)."""
        return hashlib.sha256(self.to_bytes()).digest()

    @classmethod
    def from_bytes(cls, data: bytes) -> Application:
        """Parse and re-check :meth:`to_bytes` output: a stranger's bytes (a sealed
        application's plaintext), read through :mod:`hessian_common.untrusted`; every failure
        is an :class:`~hessian_common.errors.UntrustedBlobError`."""

        with reading("application"):
            form, created, borrower = read_form_document(
                data, what="application", format=FORMAT, party="borrower",
                max_bytes=MAX_BYTES["application"],
            )  # fmt: skip
            app = replace(parse_application(form, created_at=created), borrower=borrower)
            if app.to_bytes() != bytes(data):
                raise ValueError("not in canonical form")
            return app


def _number_text(v: float) -> str:
    return repr(float(v))


def parse_application(form: Mapping[str, Any], *, created_at: str | None = None) -> Application:
    """Check a submitted form and build the :class:`Application`.

    Numbers are read by :mod:`hessian_common.numbers`: digits with at most one decimal point
    (``$`` before an amount and ``%`` after a percentage are accepted); a comma (``1,5``,
    ``10,000``) or another separator is refused with a message, never guessed.

    Parameters
    ----------
    form : mapping of field name -> text (a web form; extra keys such as ``csrf_token``
        are ignored).
    created_at : the application time (UTC ``%Y-%m-%dT%H:%M:%SZ``); now if omitted.

    Raises
    ------
    LendingInputError
        With ``.errors`` {field: message} for every bad field; nothing else happens.
    """
    created = created_at or _now_iso()
    try:
        month_now = _created_month(created)
    except (TypeError, ValueError):
        raise LendingInputError({"created_at": f"not a UTC time like {_now_iso()}"}) from None
    out, errors = parse_fields(APPLICATION_FIELDS, form, month_now)
    if "open_acc" in out and "total_acc" in out and out["total_acc"] < out["open_acc"]:
        errors["total_acc"] = "cannot be fewer than the open credit lines"
    if errors:
        raise LendingInputError(errors)
    out["term"] = int(out["term"])
    return Application(out, created)


def application_from_row(row: Mapping[str, Any]) -> Application:
    """An application from a row of :func:`~hessian_common.data.generate_loans` (simulation).

    The application month is the row's ``issue_d``; numbers outside the form's bounds are
    clipped to them (the generator has Lending Club's odd values: dti 999, incomes of 110M,
    amounts below $1,000); a missing ``revol_util`` stays blank. ``int_rate``,
    ``installment`` and ``loan_status`` are not part of an application.
    """
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
            form[f.name] = str(round(x)) if f.integer else _number_text(x)
        elif f.name == "term":
            form[f.name] = str(int(float(str(v).strip().split()[0])))
        elif f.name == "home_ownership":
            form[f.name] = str(v) if str(v) in HOME_OWNERSHIP else "OTHER"
        elif f.name == "purpose":
            form[f.name] = str(v) if str(v) in PURPOSES else "other"
        else:
            form[f.name] = str(v)
    idx = _month_index(str(row["issue_d"]))
    if idx is None:
        raise LendingInputError({"issue_d": f"{row['issue_d']!r} is not a month like Dec-2011"})
    created = f"{idx // 12:04d}-{idx % 12 + 1:02d}-01T00:00:00Z"
    return parse_application(form, created_at=created)


def _emp_years(text: str | None) -> float:
    if text is None or text == "n/a":
        return float("nan")
    if text.startswith("<"):
        return 0.0
    return float(re.match(r"\d+", text).group(0))  # type: ignore[union-attr]


def features_frame(app: Application, int_rate: float, installment: float) -> Any:
    """One row shaped like ``LoadedData.features`` (the schema's feature columns, typed as
    the loader types them), so ``Preprocessor.transform`` applies the model's preprocessing.

    ``int_rate`` is in percent (13.5), ``installment`` in dollars a month.
    """
    import pandas as pd  # heavy optional: pandas

    f = app.fields
    start, end = _month_index(f["earliest_cr_line"]), _created_month(app.created_at)
    days = (
        pd.Timestamp(end // 12, end % 12 + 1, 1) - pd.Timestamp(start // 12, start % 12 + 1, 1)
    ).days
    history = days / 365.25  # as the loader derives it from issue_d and earliest_cr_line
    row = {
        "loan_amnt": app.amount,
        "term": float(app.term),
        "int_rate": float(int_rate),
        "installment": float(installment),
        "emp_length": _emp_years(f.get("emp_length")),
        "annual_inc": float(f["annual_inc"]),
        "dti": float(f["dti"]),
        "delinq_2yrs": float(f["delinq_2yrs"]),
        "fico_range_low": float(f["fico_range_low"]),
        "inq_last_6mths": float(f["inq_last_6mths"]),
        "open_acc": float(f["open_acc"]),
        "pub_rec": float(f["pub_rec"]),
        "revol_bal": float(f["revol_bal"]),
        "revol_util": float(f.get("revol_util", float("nan"))),
        "total_acc": float(f["total_acc"]),
        "grade": app.grade,
        "home_ownership": f["home_ownership"],
        "purpose": f["purpose"],
        "verification_status": f["verification_status"],
        "credit_history_years": history,
    }
    frame = pd.DataFrame([row])
    for c in ("grade", "home_ownership", "purpose", "verification_status"):
        frame[c] = frame[c].astype(object)
    return frame
