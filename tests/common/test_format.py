"""The one formatting layer: amounts (any currency), numbers, percentages, dates, sentences."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from hessian_common.format import (
    ETH,
    Currency,
    format_amount,
    format_balances,
    format_bps,
    format_countdown,
    format_datetime,
    format_number,
    format_percent,
    format_ppm_percent,
    format_time_left,
    format_usd,
    format_whole,
    sentence,
    sentences,
)

USDC = Currency("USDC", 6, places=2)
"""An ERC-20 dollar token: 6 decimals, shown with cents (the token issue adds it for real)."""


@pytest.mark.parametrize(
    ("units", "text"),
    [
        (10**18, "1.00 ETH"),
        (15 * 10**17, "1.50 ETH"),
        (32_432_100_000_000_000, "0.032432 ETH"),
        (32_432_500_000_000_000, "0.032432 ETH"),  # half to even
        (32_433_500_000_000_000, "0.032434 ETH"),
        (1_234 * 10**18, "1,234.00 ETH"),
        (10**24, "1,000,000.00 ETH"),
        (0, "0.00 ETH"),
        (1, "< 0.000001 ETH"),
        (-(10**18), "-1.00 ETH"),
        (None, "—"),
    ],
)
def test_eth_amounts(units, text):
    assert format_amount(units) == text


def test_the_currency_is_an_argument():
    assert format_amount(324_320_000, USDC) == "324.32 USDC"
    assert format_amount(1, USDC) == "< 0.01 USDC"
    assert format_amount(10**18, ETH, places=2) == "1.00 ETH"
    assert format_amount(10**17, sign=True) == "+0.10 ETH"


def test_amounts_are_shown_in_their_own_currency_never_converted():
    tusd = Currency("tUSD", 6, places=6, min_places=2, address="0x" + "11" * 20)
    assert format_amount(8_000 * 10**6, tusd) == "8,000.00 tUSD"  # a loan of $8,000
    assert format_whole(8000, tusd) == format_amount(8_000_000_000, tusd)
    assert format_whole(0.5) == "0.50 ETH" and format_whole(None) == "—"
    assert format_whole("x") == "—" and format_whole(float("nan")) == "—"
    assert format_balances({ETH: 10**18, tusd: 12_500_000}) == "1.00 ETH · 12.50 tUSD"
    assert format_balances({}) == "—"
    assert format_usd(324.32) == "$324.32" and format_usd(Decimal("1000")) == "$1,000.00"
    assert format_usd(-5) == "-$5.00"


def test_numbers_never_use_an_exponent():
    assert format_number(10_000_000) == "10,000,000"
    assert format_number(1e7) == "10,000,000"
    assert format_number(0.1 + 0.2) == "0.3"
    assert format_number(1234.5678, 2) == "1,234.57"
    assert format_percent(0.1234) == "12.34%" and format_percent(0.08, 1) == "8.0%"
    assert format_bps(1234) == "12.34%" and format_ppm_percent(123_400) == "12.34%"


def test_one_date_format_from_every_kind_of_time():
    when = dt.datetime(2026, 11, 26, 7, 10, tzinfo=dt.UTC)
    expected = "2026-11-26 07:10 UTC"
    assert format_datetime(when.timestamp()) == expected
    assert format_datetime(when) == expected
    assert format_datetime("2026-11-26T07:10:00Z") == expected
    assert format_datetime(None) == "—"
    assert format_countdown(100 + 3 * 86400 + 4 * 3600, now=100) == "in 3 d 4 h"
    assert format_countdown(100, now=100 + 3700) == "1 h 1 min ago"
    assert format_time_left(100 + 90, now=100) == "1 min left"
    assert format_time_left(100, now=200) == "ended 1 min ago"


def test_sentences_have_exactly_one_full_stop():
    assert sentence("upload.csv: the file is empty") == "upload.csv: the file is empty."
    assert sentence("must be between 0 and 100.") == "must be between 0 and 100."
    assert sentence("must be between 0 and 100..") == "must be between 0 and 100."
    assert sentence("is this the right file?") == "is this the right file?"
    assert sentences("the file is empty", "", "Nothing was sent.") == (
        "the file is empty. Nothing was sent."
    )
