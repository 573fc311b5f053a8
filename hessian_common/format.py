"""One way to show amounts, numbers and dates to a user, in both apps and in messages.

Every user-facing amount, number and date goes through these functions (the Jinja filters of
:mod:`hessian_common.web.format` are these functions), so the same amount reads the same on
the lender's queue and the borrower's offer, with the same decimals, and there is one date
format.

Amounts are integers in a currency's base units (wei for ETH) and are shown in whole units::

    format_amount(32_432_100_000_000_000)            -> "0.032432 ETH"
    format_amount(10**18)                            -> "1.00 ETH"
    format_amount(1_234 * 10**18)                    -> "1,234.00 ETH"
    format_amount(1)                                 -> "< 0.000001 ETH"
    format_amount(8_000_000_000, TUSD)               -> "8,000.00 tUSD"   (6 decimals)
    format_whole(8000, TUSD)                         -> "8,000.00 tUSD"   (whole units)

There is no exchange rate anywhere: an amount is shown in the currency it is in (a loan of
8,000 in a dollar token is 8,000 of it, a bounty in HSN is HSN).

The rule: round half to even to ``currency.places`` decimals (6 for ETH), then drop trailing
zeros down to ``currency.min_places`` (2). A :class:`Currency` names its symbol and decimals, so
an ERC-20 token (e.g. a dollar stablecoin with 6 decimals) is one more constant, not new code.
Never wei in a message: :func:`format_amount` is for messages too.

Numbers never use scientific notation and group thousands with commas (``10,000,000``, not
``1e+07``). Dates are UTC, ``2026-11-26 07:10 UTC`` (:data:`DATE_FORMAT`), whether given as
unix seconds, a ``datetime`` or an ISO text like ``2026-11-26T07:10:00Z``.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Any

DASH = "—"
"""What a missing value shows."""

DATE_FORMAT = "%Y-%m-%d %H:%M UTC"
"""The one date-and-time format of both apps (UTC)."""

DAY_FORMAT = "%Y-%m-%d"


@dataclass(frozen=True)
class Currency:
    """How amounts of one currency are counted and shown.

    Attributes
    ----------
    symbol : str
        Shown after the amount (``"ETH"``).
    decimals : int
        Base units per whole unit are ``10**decimals`` (18 for ETH: wei; 6 for USDC).
    places : int
        Most decimals shown (rounded half to even).
    min_places : int
        Fewest decimals shown (trailing zeros are dropped down to this).
    address : str or None
        The ERC-20 token's contract address (checksummed) when the currency is a token on
        chain; ``None`` for ether. :func:`hessian_common.chain.token.currency_of` builds a
        token's :class:`Currency` from the chain (its ``symbol()`` and ``decimals()``).
    """

    symbol: str
    decimals: int
    places: int = 6
    min_places: int = 2
    address: str | None = None

    @property
    def unit(self) -> int:
        """Base units in one whole unit (``10**decimals``)."""
        return 10**self.decimals

    @property
    def is_ether(self) -> bool:
        """Ether (no token address)."""
        return self.address is None


ETH = Currency("ETH", 18, places=6, min_places=2)
"""Ether: 18 decimals (wei), shown with up to 6."""


def _decimal(units: int, currency: Currency) -> Decimal:
    return Decimal(int(units)) / Decimal(currency.unit)


def _group(text: str) -> str:
    """``"1234567.50"`` -> ``"1,234,567.50"``."""
    sign = "-" if text.startswith("-") else ""
    body = text.lstrip("-")
    whole, _, frac = body.partition(".")
    grouped = f"{int(whole):,}" if whole else "0"
    return sign + grouped + (f".{frac}" if frac else "")


def format_amount(
    units: int | None, currency: Currency = ETH, *, places: int | None = None, sign: bool = False
) -> str:
    """An amount in base units (wei) as ``"0.032432 ETH"`` (see the module docstring).

    ``places`` overrides the currency's most decimals; ``sign`` shows ``+`` on gains.
    """
    if units is None:
        return DASH
    most = currency.places if places is None else int(places)
    value = _decimal(units, currency)
    step = Decimal(1).scaleb(-most)
    rounded = value.quantize(step, rounding=ROUND_HALF_EVEN)
    if rounded == 0 and value != 0:
        smallest = f"{step:f}"
        return f"{'> -' if value < 0 else '< '}{smallest} {currency.symbol}"
    text = f"{rounded:f}"
    if "." in text:
        whole, frac = text.split(".")
        frac = frac.rstrip("0")
        frac = frac + "0" * max(0, min(currency.min_places, most) - len(frac))
        text = f"{whole}.{frac}" if frac else whole
    out = _group(text)
    if sign and rounded > 0:
        out = "+" + out
    return f"{out} {currency.symbol}"


def format_usd(dollars: float | Decimal | None) -> str:
    """Dollars with cents and thousands separators: ``"$12,345.67"``."""
    if dollars is None:
        return DASH
    value = Decimal(str(dollars)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
    text = _group(f"{abs(value):f}")
    return f"{'-' if value < 0 else ''}${text}"


def format_whole(
    amount: float | Decimal | int | None, currency: Currency = ETH, *, places: int | None = None
) -> str:
    """An amount already in whole units (a policy's ``8000`` loan limit) shown like
    :func:`format_amount` shows base units: ``format_whole(8000, TUSD) -> "8,000.00 tUSD"``."""
    if amount is None:
        return DASH
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return DASH
    if not value.is_finite():
        return DASH
    units = (value * currency.unit).to_integral_value(rounding=ROUND_HALF_EVEN)
    return format_amount(int(units), currency, places=places)


def format_balances(balances: Any) -> str:
    """``{Currency: units}`` (or pairs) as ``"1.00 ETH · 250.00 HSN"`` (zero balances too)."""
    items = balances.items() if hasattr(balances, "items") else balances
    return " · ".join(format_amount(units, cur) for cur, units in items) or DASH


def format_number(x: Any, places: int | None = None) -> str:
    """A plain number with thousands separators and never an exponent.

    Whole numbers without decimals (``10000000`` -> ``"10,000,000"``); others with
    ``places`` decimals (default: as many as needed, at most 6, trailing zeros dropped).
    """
    if x is None:
        return DASH
    try:
        value = Decimal(str(x))
    except InvalidOperation:
        return str(x)
    if not value.is_finite():
        return str(x)
    if places is None:
        if value == value.to_integral_value():
            return _group(f"{value.quantize(Decimal(1)):f}")
        text = f"{value.quantize(Decimal('0.000001'), rounding=ROUND_HALF_EVEN):f}"
        text = text.rstrip("0").rstrip(".")
        return _group(text)
    step = Decimal(1).scaleb(-int(places))
    return _group(f"{value.quantize(step, rounding=ROUND_HALF_EVEN):f}")


def format_percent(fraction: float | None, places: int = 2) -> str:
    """A fraction as a percentage: ``0.1234`` -> ``"12.34%"``."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return DASH
    return f"{format_number(Decimal(str(fraction)) * 100, places)}%"


def format_bps(bps: int | None, places: int = 2) -> str:
    """Basis points as a percentage: ``1234`` -> ``"12.34%"``."""
    if bps is None:
        return DASH
    return f"{format_number(Decimal(int(bps)) / 100, places)}%"


def format_ppm_percent(ppm: int | None, places: int = 2) -> str:
    """Parts per million as a percentage: ``123400`` -> ``"12.34%"``."""
    if ppm is None or ppm == "":
        return DASH
    return f"{format_number(Decimal(int(ppm)) / 10_000, places)}%"


def format_score(x: float | None, places: int = 4) -> str:
    """A score in [0, 1] with fixed decimals (``0.7310``)."""
    return DASH if x is None else f"{float(x):.{places}f}"


def format_signed(x: float | None, places: int = 4) -> str:
    """A score change with its sign (``+0.0123``)."""
    return DASH if x is None else f"{float(x):+.{places}f}"


def format_ppm_score(ppm: int | None, places: int = 4) -> str:
    """A score held in ppm (on chain) as a fraction: ``731000`` -> ``"0.7310"``."""
    return DASH if ppm is None else format_score(int(ppm) / 1_000_000, places)


def format_signed_ppm(ppm: int | None, places: int = 4) -> str:
    """A ppm score change with its sign: ``12300`` -> ``"+0.0123"``."""
    return DASH if ppm is None else format_signed(int(ppm) / 1_000_000, places)


def _as_datetime(when: Any) -> dt.datetime | None:
    if when is None or when == "" or when == 0:
        return None
    if isinstance(when, dt.datetime):
        return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    if isinstance(when, str):
        text = when.strip()
        try:
            return _as_datetime(float(text))
        except ValueError:
            pass
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return dt.datetime.fromtimestamp(float(when), dt.UTC)


def format_datetime(when: Any) -> str:
    """``2026-11-26 07:10 UTC`` from unix seconds, a ``datetime`` or an ISO text."""
    moment = _as_datetime(when)
    if moment is None:
        return DASH if not isinstance(when, str) or not when else when
    return moment.astimezone(dt.UTC).strftime(DATE_FORMAT)


def format_day(when: Any) -> str:
    """``2026-11-26`` (UTC)."""
    moment = _as_datetime(when)
    return DASH if moment is None else moment.astimezone(dt.UTC).strftime(DAY_FORMAT)


def format_span(seconds: float) -> str:
    """A duration in the largest two units: ``3 d 4 h``, ``2 h 5 min``, ``7 min``, ``40 s``."""
    s = int(abs(seconds))
    d, s = divmod(s, 86400)
    h, s = divmod(s, 3600)
    m, s = divmod(s, 60)
    if d:
        return f"{d} d {h} h"
    if h:
        return f"{h} h {m} min"
    if m:
        return f"{m} min"
    return f"{s} s"


def format_duration(seconds: float | None) -> str:
    """Seconds as a span (``24 h 0 min``, ``3 d 0 h``)."""
    return DASH if seconds is None else format_span(float(seconds))


def format_countdown(ts: float | None, now: float | None = None) -> str:
    """Time until ``ts``: ``in 3 d 4 h``, or ``1 h 5 min ago`` once passed."""
    if not ts:
        return DASH
    left = float(ts) - (time.time() if now is None else float(now))
    return f"in {format_span(left)}" if left >= 0 else f"{format_span(left)} ago"


def format_time_left(ts: float | None, now: float | None = None) -> str:
    """A deadline: ``3 d 4 h left``, or ``ended 2 h 0 min ago``."""
    if not ts:
        return DASH
    left = float(ts) - (time.time() if now is None else float(now))
    return f"{format_span(left)} left" if left > 0 else f"ended {format_span(left)} ago"


def short(value: str | None, keep: int = 8) -> str:
    """``0x1234…cdef`` style abbreviation of a hash, CID or address."""
    if not value:
        return DASH
    text = str(value)
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-keep // 2 - 2 :]}"


def short_addr(addr: str | None) -> str:
    """``0x1234…abcd``."""
    return DASH if not addr else f"{addr[:6]}…{addr[-4:]}"


def short_cid(cid: str | None) -> str:
    """``bafkrei…x7q4``."""
    if not cid:
        return DASH
    return f"{cid[:10]}…{cid[-6:]}" if len(cid) > 20 else cid


def sentence(text: str) -> str:
    """``text`` as one sentence ending in exactly one full stop (or its own ``!``/``?``).

    Messages are joined from parts; this keeps ``"…: the file is empty. Nothing was sent."``
    readable instead of ``"…: the file is empty Nothing was sent."`` or ``"100.. Nothing"``.
    The first letter is left as it is (a message may start with a file name).
    """
    text = " ".join(str(text).split()).rstrip()
    while text.endswith(".."):
        text = text[:-1]
    if text and not text.endswith((".", "!", "?", "…")):
        text += "."
    return text


def sentences(*parts: str) -> str:
    """Several messages as sentences, in order, blanks dropped (see :func:`sentence`)."""
    return " ".join(sentence(p) for p in parts if p and str(p).strip())


__all__ = [
    "DASH",
    "DATE_FORMAT",
    "ETH",
    "Currency",
    "format_amount",
    "format_balances",
    "format_bps",
    "format_countdown",
    "format_datetime",
    "format_day",
    "format_duration",
    "format_number",
    "format_percent",
    "format_ppm_percent",
    "format_ppm_score",
    "format_score",
    "format_signed",
    "format_signed_ppm",
    "format_span",
    "format_time_left",
    "format_usd",
    "format_whole",
    "sentence",
    "sentences",
    "short",
    "short_addr",
    "short_cid",
]
