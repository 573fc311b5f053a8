"""Jinja filters: ether amounts, ppm scores, dates, short hashes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

__all__ = ["eth", "score", "short", "signed_score", "until", "when"]


def eth(wei: int | None, places: int = 4) -> str:
    """``1234500000000000000`` -> ``"1.2345 ETH"``."""
    if wei is None:
        return "–"
    value = Decimal(int(wei)) / Decimal(10**18)
    text = f"{value:,.{places}f}".rstrip("0").rstrip(".")
    return f"{text or '0'} ETH"


def score(ppm: int | None) -> str:
    """A ppm score as a fraction with 4 places (``731000`` -> ``"0.7310"``)."""
    return "–" if ppm is None else f"{int(ppm) / 1_000_000:.4f}"


def signed_score(ppm: int | None) -> str:
    """A ppm score change with its sign (``+0.0123``)."""
    return "–" if ppm is None else f"{int(ppm) / 1_000_000:+.4f}"


def when(ts: float | int | None) -> str:
    """A unix time as ``2026-11-26 14:03 UTC``."""
    if not ts:
        return "–"
    return dt.datetime.fromtimestamp(float(ts), dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def until(ts: float | int | None, now: float | None = None) -> str:
    """Time left until ``ts`` in words (``"3 d 4 h left"``, ``"ended"``)."""
    import time

    if not ts:
        return "–"
    left = float(ts) - (time.time() if now is None else now)
    if left <= 0:
        return "ended"
    days, rest = divmod(int(left), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h left"
    if hours:
        return f"{hours} h {minutes} min left"
    return f"{minutes} min left"


def short(value: str | None, keep: int = 8) -> str:
    """``0x1234…cdef`` style abbreviation of a hash, CID or address."""
    if not value:
        return "–"
    text = str(value)
    return text if len(text) <= 2 * keep + 1 else f"{text[:keep]}…{text[-keep // 2 - 2 :]}"
