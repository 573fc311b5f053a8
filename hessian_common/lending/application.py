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
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from hessian_common.errors import LendingInputError
from hessian_common.format import format_number
from hessian_common.numbers import parse_number
from hessian_common.numbers import problem as number_problem
from hessian_common.untrusted import MAX_BYTES, loads, reading

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
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_RE = re.compile(r"^([A-Za-z]{3})-(\d{4})$")


@dataclass(frozen=True)
class Field:
    """One form field: what the page shows and what :func:`parse_application` checks.

    ``kind`` is ``"number"`` (``minimum``..``maximum``; whole numbers if ``integer``),
    ``"choice"`` (one of ``choices``) or ``"month"`` (``Jan-2005``, not after the
    application month).
    """

    name: str
    label: str
    kind: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    help: str = ""
    required: bool = True
    integer: bool = False
    unit: str = ""
    """``"$"`` (a leading ``$`` is accepted), ``"%"`` (a trailing ``%`` is accepted) or ``""``."""


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


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _month_index(label: str) -> int | None:
    m = _MONTH_RE.match(label.strip())
    if not m or m.group(1).capitalize() not in MONTHS:
        return None
    return int(m.group(2)) * 12 + MONTHS.index(m.group(1).capitalize())


def _created_month(created_at: str) -> int:
    t = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%SZ")
    return t.year * 12 + t.month - 1


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
        return f"{MONTHS[idx % 12]}-{idx // 12}"

    def to_dict(self) -> dict[str, Any]:
        out = {"format": FORMAT, "created_at": self.created_at, "fields": dict(self.fields)}
        if self.borrower is not None:
            out["borrower"] = self.borrower
        return out

    def to_bytes(self) -> bytes:
        """Canonical JSON (sorted keys, compact, UTF-8): what is sealed and digested."""
        return json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False,
            allow_nan=False,
        ).encode("utf-8")  # fmt: skip

    def digest(self) -> bytes:
        """SHA-256 of :meth:`to_bytes` (32 bytes; the chain's ``applicationDigest``)."""
        return hashlib.sha256(self.to_bytes()).digest()

    @classmethod
    def from_bytes(cls, data: bytes) -> Application:
        """Parse and re-check :meth:`to_bytes` output: a stranger's bytes (a sealed
        application's plaintext), read through :mod:`hessian_common.untrusted`; every failure
        is an :class:`~hessian_common.errors.UntrustedBlobError`."""
        with reading("application"):
            d = loads(data, what="application", max_bytes=MAX_BYTES["application"])
            if not isinstance(d, dict) or d.get("format") != FORMAT:
                raise ValueError(f"not a {FORMAT} document")
            fields, created = d.get("fields"), d.get("created_at")
            if not isinstance(fields, dict) or not isinstance(created, str):
                raise ValueError("fields or created_at missing")
            borrower = d.get("borrower")
            if borrower is not None and (
                not isinstance(borrower, str) or not re.fullmatch(r"0x[0-9a-fA-F]{40}", borrower)
            ):
                raise ValueError("borrower is not an address")
            form = {k: ("" if v is None else str(v)) for k, v in fields.items()}
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
    errors: dict[str, str] = {}
    created = created_at or _now_iso()
    try:
        month_now = _created_month(created)
    except (TypeError, ValueError):
        raise LendingInputError({"created_at": f"not a UTC time like {_now_iso()}"}) from None
    out: dict[str, Any] = {}
    for f in APPLICATION_FIELDS:
        raw = form.get(f.name)
        text = "" if raw is None else str(raw).strip()
        if not text:
            if f.required:
                errors[f.name] = "required"
            continue
        if f.kind == "number":
            # one reading of numbers everywhere: "1,5" is refused, never read as 15
            reason = number_problem(text, percent=f.unit == "%", dollars=f.unit == "$")
            if reason is not None:
                errors[f.name] = reason
                continue
            v = parse_number(text, percent=f.unit == "%", dollars=f.unit == "$")
            if f.integer and v != int(v):
                errors[f.name] = f"{text!r} is not a whole number"
            elif (f.minimum is not None and v < f.minimum) or (
                f.maximum is not None and v > f.maximum
            ):
                errors[f.name] = (
                    f"must be between {format_number(f.minimum)} and {format_number(f.maximum)}"
                )
            else:
                out[f.name] = round(v, 2)
        elif f.kind == "choice":
            match = {c.lower(): c for c in f.choices}.get(text.lower())
            if match is None:
                errors[f.name] = f"{text!r} is not one of {', '.join(f.choices)}"
            else:
                out[f.name] = match
        else:  # month
            idx = _month_index(text)
            if idx is None:
                errors[f.name] = f"{text!r} is not a month like Jan-2005"
            elif idx > month_now:
                errors[f.name] = "cannot be after the application month"
            elif idx < month_now - 12 * 80:
                errors[f.name] = "more than 80 years ago"
            else:
                out[f.name] = f"{MONTHS[idx % 12]}-{idx // 12}"
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
