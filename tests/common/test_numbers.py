"""One reading of numbers: what cannot be misread is accepted, anything ambiguous refused."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hessian_common.errors import DataError
from hessian_common.numbers import NumberFormatError, parse_decimal, parse_number, problem


@pytest.mark.parametrize(
    ("text", "value"),
    [("1500", 1500), ("-2.5", -2.5), (".5", 0.5), ("5.", 5), ("1e6", 1e6), (" 42 ", 42)],
)
def test_plain_numbers(text, value):
    assert parse_number(text) == value


def test_percent_and_dollar_signs_only_where_the_field_asks():
    assert parse_number("13.56%", percent=True) == 13.56
    assert parse_number("$5000", dollars=True) == 5000
    with pytest.raises(NumberFormatError, match="without the % sign"):
        parse_number("13.56%")
    with pytest.raises(NumberFormatError, match=r"without the \$ sign"):
        parse_number("$5000")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1,5", "it could mean 1.5 or 15"),
        ("1,000", "it could mean 1.000 or 1000"),
        ("1.234,56", "it could mean 1234.56 or 1.23456"),
        ("12,345.67", "a comma can be a decimal comma or a thousands separator"),
        ("1 000", "has a separator inside"),
        ("1'000", "has a separator inside"),
        ("1_000", "has a separator inside"),
        ("1.2.3", "more than one decimal point"),
        ("inf", "not a finite number"),
        ("NaN", "not a finite number"),
        ("1e999", "too large"),
        ("ten", "is not a number"),
        ("", "is not a number"),
    ],
)
def test_what_could_be_misread_is_refused_with_the_reason(text, words):
    assert words in problem(text)
    with pytest.raises(NumberFormatError) as err:
        parse_decimal(text)
    assert isinstance(err.value, DataError) and isinstance(err.value, ValueError)
    assert err.value.text == text and words in str(err.value)


@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, places=6, max_value=10**12, min_value=-(10**12)
    )
)
def test_every_decimal_written_plainly_reads_back_exactly(value):
    text = f"{value:f}"
    assert parse_decimal(text) == Decimal(text)
