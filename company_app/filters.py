"""Jinja filters: ether amounts, scores, addresses, times and countdowns."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import Flask


def eth(wei: int | None, places: int = 4) -> str:
    """``1500000000000000000`` -> ``"1.5 ETH"`` (trailing zeros trimmed)."""
    if wei is None:
        return "—"
    text = f"{int(wei) / 10**18:.{places}f}".rstrip("0").rstrip(".")
    return f"{text} ETH"


def score(x: float | None, places: int = 4) -> str:
    """A score in [0, 1] with fixed decimals."""
    return "—" if x is None else f"{float(x):.{places}f}"


def signed(x: float | None, places: int = 4) -> str:
    """A score change with its sign (``+0.0123``)."""
    return "—" if x is None else f"{float(x):+.{places}f}"


def short_addr(addr: str | None) -> str:
    """``0x1234…abcd``."""
    if not addr:
        return "—"
    return f"{addr[:6]}…{addr[-4:]}"


def short_cid(cid: str | None) -> str:
    """``bafkrei…x7q4``."""
    if not cid:
        return "—"
    return f"{cid[:10]}…{cid[-6:]}" if len(cid) > 20 else cid


def when(ts: float | None) -> str:
    """Unix time -> ``2026-11-26 07:10 UTC``."""
    if not ts:
        return "—"
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M UTC")


def countdown(ts: float | None, now: float | None = None) -> str:
    """Time left until ``ts``: ``3 d 4 h``, ``2 h 5 min``, ``passed 1 h ago``."""
    if not ts:
        return "—"
    now = time.time() if now is None else now
    left = float(ts) - now
    text = _span(abs(left))
    return f"in {text}" if left >= 0 else f"passed {text} ago"


def _span(seconds: float) -> str:
    s = int(seconds)
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


def duration(seconds: float | None) -> str:
    """Seconds -> ``24 h``, ``3 d 0 h``."""
    return "—" if seconds is None else _span(float(seconds))


def init_app(app: Flask) -> None:
    """Register the filters."""
    for f in (eth, score, signed, short_addr, short_cid, when, countdown, duration):
        app.add_template_filter(f)
