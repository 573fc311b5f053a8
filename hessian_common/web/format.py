"""The Jinja filters of both apps: :mod:`hessian_common.format`, registered by ``init_web``.

==================  ==============================================  ==========================
filter              example                                         function
==================  ==============================================  ==========================
``amount``          ``{{ units | amount(currency) }}`` ->           ``format_amount``
                    ``0.032432 ETH``, ``8,000.00 tUSD``; ``amount(currency, 2)``: at
                    most 2 decimals (summary tables)
``eth``             the same as ``amount`` for ETH                  ``format_amount``
``whole``           ``{{ 8000 | whole(currency) }}`` -> ``8,000.00 tUSD`` (whole units)
                                                                    ``format_whole``
``balances``        ``{Currency: units}`` -> ``1.00 ETH · 5.00 HSN``  ``format_balances``
``usd``             ``{{ 324.32 | usd }}`` -> ``$324.32``           ``format_usd``
``number``          ``{{ 10000000 | number }}`` -> ``10,000,000``   ``format_number``
``percent``         ``{{ 0.1234 | percent }}`` -> ``12.34%``        ``format_percent``
``bps``, ``ppm_pct``  basis points / ppm as a percentage            ``format_bps`` …
``score``           a fraction, 4 decimals                          ``format_score``
``signed``          a fraction's change, with its sign              ``format_signed``
``ppm_score``       a ppm score (on chain) as a fraction            ``format_ppm_score``
``signed_ppm``      a ppm change with its sign                      ``format_signed_ppm``
``when``            ``2026-11-26 07:10 UTC``                        ``format_datetime``
``day``             ``2026-11-26``                                  ``format_day``
``countdown``       ``in 3 d 4 h`` / ``2 h 0 min ago``              ``format_countdown``
``until``           ``3 d 4 h left`` / ``ended …``                  ``format_time_left``
``duration``        ``24 h 0 min``                                  ``format_duration``
``short``, ``short_addr``, ``short_cid``  abbreviated hashes        ``short`` …
``sentence``        a message ending in one full stop               ``sentence``
==================  ==============================================  ==========================

A filter taking a currency accepts a :class:`~hessian_common.format.Currency` (ETH by
default), so token amounts need no new filter: every amount of both apps is
``{{ units | amount(currency) }}`` with the currency of the model, deployment or balance it
belongs to (its symbol and decimals read from the chain), never a conversion.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from hessian_common import format as fmt


def _amount(units: int | None, currency: Any = None, places: int | None = None) -> str:
    return fmt.format_amount(units, currency or fmt.ETH, places=places)


def _whole(amount: Any, currency: Any = None) -> str:
    return fmt.format_whole(amount, currency or fmt.ETH)


FILTERS = {
    "amount": _amount,
    "eth": _amount,
    "whole": _whole,
    "balances": fmt.format_balances,
    "usd": fmt.format_usd,
    "number": fmt.format_number,
    "percent": fmt.format_percent,
    "bps": fmt.format_bps,
    "ppm_pct": fmt.format_ppm_percent,
    "score": fmt.format_score,
    "signed": fmt.format_signed,
    "ppm_score": fmt.format_ppm_score,
    "signed_ppm": fmt.format_signed_ppm,
    "when": fmt.format_datetime,
    "day": fmt.format_day,
    "countdown": fmt.format_countdown,
    "until": fmt.format_time_left,
    "duration": fmt.format_duration,
    "short": fmt.short,
    "short_addr": fmt.short_addr,
    "short_cid": fmt.short_cid,
    "sentence": fmt.sentence,
}
"""Filter name -> function (see the table above)."""


def register_filters(app: Flask) -> None:
    """Register :data:`FILTERS` on ``app`` (``init_web`` does it for both apps)."""
    for name, function in FILTERS.items():
        app.add_template_filter(function, name)
    app.jinja_env.globals.setdefault("ETH", fmt.ETH)


__all__ = ["FILTERS", "register_filters"]
