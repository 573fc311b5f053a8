"""Application forms shared by the products (a loan application, an insurance application).

What an applicant fills in and seals to a deployer is the same kind of thing for every product:
a list of :class:`Field` s, one reading of what was typed (:func:`parse_fields`), canonical
bytes that are sealed and whose SHA-256 goes on chain (:func:`canonical_bytes`), and a reader
of those bytes when they come back from a stranger (:func:`read_form_document`). The product
modules (:mod:`hessian_common.lending.application`, :mod:`hessian_common.insurance.application`)
list their fields and say what the values mean; the reading lives here once.

A document is ``{"format": ..., "created_at": "2026-11-26T09:30:00Z", "fields": {...}}`` plus
the sender's address under a product-specific key (``borrower``, ``applicant``), so a sealed
document cannot be re-sent as someone else's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hessian_common.crypto.sealing import open_sealed
from hessian_common.errors import UntrustedBlobError
from hessian_common.format import format_number
from hessian_common.numbers import parse_number
from hessian_common.numbers import problem as number_problem
from hessian_common.untrusted import loads

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_RE = re.compile(r"^([A-Za-z]{3})-(\d{4})$")
ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


@dataclass(frozen=True)
class Field:
    """One form field: what the page shows and what :func:`parse_fields` checks.

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


def now_iso() -> str:
    """Now, UTC, as ``2026-11-26T09:30:00Z``."""
    return datetime.now(UTC).strftime(TIME_FORMAT)


def month_index(label: str) -> int | None:
    """``"Mar-2019"`` -> ``2019·12 + 2``; None if it is not a month like that."""
    m = _MONTH_RE.match(label.strip())
    if not m or m.group(1).capitalize() not in MONTHS:
        return None
    return int(m.group(2)) * 12 + MONTHS.index(m.group(1).capitalize())


def month_label(index: int) -> str:
    """Inverse of :func:`month_index`."""
    return f"{MONTHS[index % 12]}-{index // 12}"


def created_month(created_at: str) -> int:
    """The :func:`month_index` of a ``created_at`` time (``ValueError`` if malformed)."""
    t = datetime.strptime(created_at, TIME_FORMAT)
    return t.year * 12 + t.month - 1


def parse_fields(
    fields: Sequence[Field], form: Mapping[str, Any], month_now: int
) -> tuple[dict[str, Any], dict[str, str]]:
    """Read a submitted form against ``fields``: ``(values, errors)``.

    Numbers are read by :mod:`hessian_common.numbers` (digits with at most one decimal point;
    ``$`` before an amount and ``%`` after a percentage accepted; a comma refused, never
    guessed) and rounded to 2 places; choices match case-insensitively and come back as
    listed; months as ``Jan-2005``, at most 80 years before ``month_now`` and not after it.
    An optional field left blank is absent from ``values``. Keys of ``form`` that are not
    fields (a ``csrf_token``) are ignored. ``errors`` maps each bad field to its message.
    """
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for f in fields:
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
            idx = month_index(text)
            if idx is None:
                errors[f.name] = f"{text!r} is not a month like Jan-2005"
            elif idx > month_now:
                errors[f.name] = "cannot be after the application month"
            elif idx < month_now - 12 * 80:
                errors[f.name] = "more than 80 years ago"
            else:
                out[f.name] = month_label(idx)
    return out, errors


def canonical_bytes(document: Mapping[str, Any]) -> bytes:
    """Canonical JSON (sorted keys, compact, UTF-8, no NaN): what is sealed and digested."""
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def read_form_document(
    data: bytes, *, what: str, format: str, party: str, max_bytes: int
) -> tuple[dict[str, str], str, str | None]:
    """The form, time and sender of a stranger's form document: ``(form, created_at, sender)``.

    Call it inside :func:`hessian_common.untrusted.reading` and parse ``form`` with the
    product's own parser; every failure here is a ``ValueError`` or an
    :class:`~hessian_common.errors.UntrustedBlobError` (bounded JSON, the right ``format``,
    ``fields`` an object, ``created_at`` text, the sender under ``party`` absent or an
    address). The values come back as text, as a web form would send them.
    """

    d = loads(data, what=what, max_bytes=max_bytes)
    if not isinstance(d, dict) or d.get("format") != format:
        raise ValueError(f"not a {format} document")
    fields, created = d.get("fields"), d.get("created_at")
    if not isinstance(fields, dict) or not isinstance(created, str):
        raise ValueError("fields or created_at missing")
    unknown = sorted(set(d) - {"format", "fields", "created_at", party})
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}")
    sender = d.get(party)
    if sender is not None and (not isinstance(sender, str) or not ADDRESS_RE.fullmatch(sender)):
        raise ValueError(f"{party} is not an address")
    form = {str(k): ("" if v is None else str(v)) for k, v in fields.items()}
    return form, created, sender


def open_sealed_form(
    private_key: bytes,
    blob: bytes,
    digest: bytes,
    read: Any,
    *,
    info: bytes,
    what: str = "application",
    sender: str | None = None,
    party: str = "applicant",
) -> Any:
    """Open a sealed form document and check it against what the chain recorded.

    ``plain = open_sealed(private_key, blob, info)``; ``sha256(plain)`` must equal the chain's
    ``digest``; ``read(plain)`` parses it (a ``from_bytes`` that raises only
    :class:`~hessian_common.errors.UntrustedBlobError`); when ``sender`` is given, the
    document's ``party`` attribute must name that address.

    Raises
    ------
    CryptoError
        Not sealed to this key, or tampered with.
    UntrustedBlobError
        Not the document the chain names (digest), not readable, or someone else's.
    """


    plain = open_sealed(private_key, blob, info)
    if hashlib.sha256(plain).digest() != bytes(digest):
        raise UntrustedBlobError(f"{what}: does not match the digest on chain")
    doc = read(plain)
    named = getattr(doc, party, None)
    if sender is not None and (named or "").lower() != str(sender).lower():
        raise UntrustedBlobError(f"{what}: it names {named}, not the applicant {sender}")
    return doc


__all__ = [
    "ADDRESS_RE",
    "MONTHS",
    "Field",
    "canonical_bytes",
    "created_month",
    "month_index",
    "month_label",
    "now_iso",
    "open_sealed_form",
    "parse_fields",
    "read_form_document",
]
