# ruff: noqa: F811  (the fixtures come from loanbook_support and are named as arguments)
"""The instalment: Python's ``installment_for`` mirrors the contract's ``installmentFor``."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hessian_common.chain.loanbook import MAX_APR_BPS, MAX_TERM, installment_for
from hessian_common.errors import ConfigError
from tests.contracts.helpers import reverts
from tests.contracts.loanbook_support import loanbook  # noqa: F401  (fixture)

UINT128_MAX = 2**128 - 1


def _annuity(principal: int, apr_bps: int, term: int) -> Fraction:
    """The exact annuity ``A i (1+i)^n / ((1+i)^n - 1)``, ``i = apr / 12``, in rationals.

    Floats are not good enough for the reference: ``1 - (1+i)^-n`` cancels catastrophically
    for a small rate and a short term (at 3 bp over one month the float answer is 3e-12 high).
    """
    i = Fraction(apr_bps, 120_000)
    if i == 0:
        return Fraction(principal, term)
    growth = (1 + i) ** term
    return principal * i * growth / (growth - 1)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    principal=st.one_of(st.integers(0, UINT128_MAX), st.integers(10**17, 4 * 10**18)),
    apr_bps=st.one_of(st.integers(0, MAX_APR_BPS), st.sampled_from([0, 1, 500, 3000, 10_000])),
    term=st.one_of(st.integers(1, MAX_TERM), st.sampled_from([1, 36, 60, 120])),
)
def test_python_mirror_equals_contract(loanbook, principal, apr_bps, term):
    assert installment_for(principal, apr_bps, term) == loanbook.installment_on_chain(
        principal, apr_bps, term
    )


@given(
    principal=st.integers(10**15, 10**24),
    apr_bps=st.integers(0, MAX_APR_BPS),
    term=st.integers(1, MAX_TERM),
)
def test_close_to_the_annuity_and_never_short(principal, apr_bps, term):
    exact = _annuity(principal, apr_bps, term)
    got = installment_for(principal, apr_bps, term)
    # rounding is upward at every division; the monthly rate is floored to 1e-18, which lowers
    # the annuity by at most (1e-18 / i) of itself <= 1.2e-13 (d ln A / di <= 1 / i)
    assert got >= exact * (1 - Fraction(1, 10**12)) - 1
    assert got <= exact * (1 + Fraction(1, 10**9)) + 2
    assert got * term >= principal


def test_known_values():
    eth = 10**18
    assert installment_for(eth, 1_200, 36) == 33_214_309_812_851_195  # 1 %/month, 3 years
    assert installment_for(eth, 0, 3) == 333_333_333_333_333_334  # ceil(A / n)
    assert installment_for(10, 0, 3) == 4
    assert installment_for(0, 1_200, 12) == 0
    assert installment_for(eth, 1_200, 1) == 1_010_000_000_000_000_000  # one month: A (1 + i)


def test_extremes_do_not_overflow(loanbook):
    for apr in (1, MAX_APR_BPS):
        for term in (1, MAX_TERM):
            on_chain = loanbook.installment_on_chain(UINT128_MAX, apr, term)
            assert on_chain == installment_for(UINT128_MAX, apr, term)


def test_out_of_range_inputs_refused_alike(loanbook):
    for principal, apr, term, error in (
        (1, 0, 0, "InvalidTerm"),
        (1, 0, MAX_TERM + 1, "InvalidTerm"),
        (1, MAX_APR_BPS + 1, 12, "AprTooHigh"),
        (UINT128_MAX + 1, 0, 12, "ValueTooLarge"),
    ):
        with reverts(error):
            loanbook.installment_on_chain(principal, apr, term)
        with pytest.raises(ConfigError):
            installment_for(principal, apr, term)
