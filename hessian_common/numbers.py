"""One reading of numbers, wherever a person types one or a CSV holds one: refuse the ambiguous.

``1,5`` is one and a half in Germany and fifteen to a careless thousands-separator strip (it
was sealed and put on chain as 15). ``1,000`` is a thousand or one. ``1.000`` is one here and
a thousand in Germany, but the decimal point is the one convention every export and form of
ours uses, so a dot is always the decimal point. The rule, the same for the loan application
form, the company app's forms and every number column of a CSV:

    [sign] digits [. digits] [e [sign] digits]        e.g.  1500   -2.5   .5   1e6   13.56

- accepted: that, with spaces around it; a trailing ``%`` where the field is a percentage
  (``13.56%``, as Lending Club's exports write rates); a leading ``$`` where the field is in
  dollars (``$5000``);
- refused, with a message that says why and how to write it: any comma (a decimal comma or a
  thousands separator: the message shows both readings), any other separator inside the
  number (space, apostrophe, underscore), two decimal points, words (``inf``, ``nan``,
  ``ten``), and numbers too large to be finite (``1e999``).

Validity ranges (impossible values, e.g. a FICO score of -5) are not this module's business:
they belong to the field (``Field.minimum``/``maximum`` of an application) or the column
(``valid`` in a schema file, see :mod:`hessian_common.data.schema`).
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

from hessian_common.errors import DataError

PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
"""The one accepted shape (see the module docstring), matched against the whole text."""

_SEPARATORS = (" ", "'", "_", "\u00a0", "\u202f", "\u2019")


class NumberFormatError(DataError):
    """A text that is not a number we can read without guessing (also a ``ValueError``)."""

    def __init__(self, text: str, reason: str) -> None:
        super().__init__(reason)
        self.text = text
        self.reason = reason


def _shape(text: str) -> str:
    return text.strip()


def _readings(body: str) -> list[str]:
    """The numbers a text with commas could mean (decimal comma, thousands separator)."""
    out = []
    if body.count(",") == 1 and "." not in body:
        candidate = body.replace(",", ".")
        if PLAIN_NUMBER.fullmatch(candidate):
            out.append(candidate)
    if "." in body and body.count(",") == 1 and body.index(",") > body.index("."):
        candidate = body.replace(".", "").replace(",", ".")  # 1.234,5 (European)
        if PLAIN_NUMBER.fullmatch(candidate):
            out.append(candidate)
    candidate = body.replace(",", "")
    if PLAIN_NUMBER.fullmatch(candidate):
        out.append(candidate)
    unique: list[str] = []
    for r in out:
        if r not in unique:
            unique.append(r)
    return unique


def problem(text: str, *, percent: bool = False, dollars: bool = False) -> str | None:
    """Why ``text`` is not a number we accept (``None``: it is one). The reason quotes the
    text and says how to write it."""
    body = _shape(str(text))
    shown = repr(str(text).strip())
    if dollars and body.startswith("$"):
        body = body[1:].strip()
    if percent and body.endswith("%"):
        body = body[:-1].strip()
    if not body:
        return f"{shown} is not a number"
    if PLAIN_NUMBER.fullmatch(body):
        try:
            value = float(body)
        except ValueError:  # pragma: no cover - the pattern only lets floats through
            return f"{shown} is not a number"
        if not math.isfinite(value):
            return f"{shown} is too large to be a number we can use"
        return None
    if body.lower().lstrip("+-") in ("inf", "infinity", "nan"):
        return f"{shown} is not a finite number"
    if re.search(r"[^\d\s.,'_+\-eE\u00a0\u202f\u2019]", body) or not re.search(r"\d", body):
        if body.startswith("$"):
            return f"{shown} is not a number (give the amount without the $ sign)"
        if body.endswith("%"):
            return f"{shown} is not a number (give it without the % sign)"
        return f"{shown} is not a number"
    if "," in body:
        readings = _readings(body)
        could = f" (it could mean {' or '.join(readings)})" if len(readings) > 1 else ""
        return (
            f"{shown} is ambiguous: a comma can be a decimal comma or a thousands "
            f"separator{could}. Write numbers with a decimal point and no separators "
            "(e.g. 1.5 or 1500)"
        )
    if any(sep in body for sep in _SEPARATORS):
        cleaned = body
        for sep in _SEPARATORS:
            cleaned = cleaned.replace(sep, "")
        example = cleaned if PLAIN_NUMBER.fullmatch(cleaned) else "1234.5"
        return f"{shown} has a separator inside; write the number without one, e.g. {example}"
    if body.count(".") > 1:
        return (
            f"{shown} has more than one decimal point; write the number with one decimal "
            "point and no separators, e.g. 1234.5"
        )
    return f"{shown} is not a number"


def parse_decimal(text: str, *, percent: bool = False, dollars: bool = False) -> Decimal:
    """``text`` as an exact :class:`~decimal.Decimal` (see the module docstring).

    Raises
    ------
    NumberFormatError
        The text is ambiguous or not a number; the message says why and how to write it.
    """
    reason = problem(text, percent=percent, dollars=dollars)
    if reason is not None:
        raise NumberFormatError(str(text), reason)
    body = _shape(str(text))
    if dollars and body.startswith("$"):
        body = body[1:].strip()
    if percent and body.endswith("%"):
        body = body[:-1].strip()
    try:
        return Decimal(body)
    except InvalidOperation:  # pragma: no cover - the pattern only lets decimals through
        raise NumberFormatError(str(text), f"{text!r} is not a number") from None


def parse_number(text: str, *, percent: bool = False, dollars: bool = False) -> float:
    """``text`` as a finite ``float`` (see :func:`parse_decimal`)."""
    return float(parse_decimal(text, percent=percent, dollars=dollars))


__all__ = [
    "PLAIN_NUMBER",
    "NumberFormatError",
    "parse_decimal",
    "parse_number",
    "problem",
]
