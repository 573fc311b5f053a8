"""The pricing rule checked against independent closed forms and brute-force sums."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hessian_common.errors import LendingInputError
from hessian_common.lending.pricing import (
    MAX_APR_BPS,
    PD_EDGES,
    PricingPolicy,
    balances,
    break_even_apr_bps,
    expected_cash_flows,
    expected_loss,
    installment,
    irr_annual,
    monthly_hazard,
    npv,
    pd_bucket,
    pd_bucket_label,
    quote,
)


def loop_schedule(amount, apr, n):
    """Month-by-month amortisation: interest accrues, the payment M is applied."""
    i = apr / 12
    m = installment(amount, apr, n)
    bal, out = amount, [amount]
    for _ in range(n):
        bal = bal * (1 + i) - m
        out.append(bal)
    return m, np.array(out)


@pytest.mark.parametrize("apr", [0.0, 0.05, 0.1234, 0.30, 0.99])
@pytest.mark.parametrize("n", [1, 36, 60])
def test_installment_amortises_to_zero(apr, n):
    m, sched = loop_schedule(10_000.0, apr, n)
    assert abs(sched[-1]) < 1e-6
    assert np.allclose(balances(10_000.0, apr, n)[:-1], sched[:-1], rtol=1e-10, atol=1e-8)
    if apr == 0:
        assert m == pytest.approx(10_000.0 / n)


def test_installment_known_value():
    # $10,000 at 12% over 36 months: the textbook 332.14
    assert installment(10_000, 0.12, 36) == pytest.approx(332.1430981, abs=1e-6)


def test_hazard_reproduces_lifetime_pd():
    for p in (0.0, 0.01, 0.2, 0.9, 1.0):
        h = monthly_hazard(p, 36)
        assert 1 - (1 - h) ** 36 == pytest.approx(p, abs=1e-12)


def test_cash_flows_match_a_monte_carlo_free_enumeration():
    """E[CF_t] by enumerating the month of default (independent of the vectorised formula)."""
    A, apr, n, p, rho = 5_000.0, 0.15, 12, 0.3, 0.25
    h = 1 - (1 - p) ** (1 / n)
    m, sched = loop_schedule(A, apr, n)
    exp = np.zeros(n)
    for d in range(1, n + 2):  # default in month d (n+1: never)
        prob = (1 - h) ** (d - 1) * (h if d <= n else 1.0)
        for t in range(1, n + 1):
            if t < d:
                exp[t - 1] += prob * m
            elif t == d:
                exp[t - 1] += prob * rho * sched[t - 1]
    assert np.allclose(expected_cash_flows(p, apr, n, A, rho), exp, rtol=1e-12)


def test_pd_zero_break_even_is_the_required_return():
    policy = PricingPolicy(step_bps=1)
    k = (1.08) ** (1 / 12) - 1
    exact_bps = 12 * k * 10_000  # 772.07...: the APR whose monthly rate is k
    for rho in (0.0, 0.5, 1.0):  # recovery is irrelevant when nobody defaults
        pol = PricingPolicy(step_bps=1, recovery_rate=rho)
        be = break_even_apr_bps(pol, 0.0, 10_000, 36)
        assert be == math.ceil(exact_bps)
        assert npv(0.0, exact_bps / 10_000, 36, 10_000, rho, 0.08) == pytest.approx(0, abs=1e-6)
    q = quote(policy, 0.0, 10_000, 36)
    assert q.approved and q.apr_bps == math.ceil(exact_bps)
    assert q.expected_loss == 0.0
    # at PD 0 the IRR of the schedule is the APR (compounded monthly)
    assert q.expected_return == pytest.approx((1 + q.apr_bps / 120_000) ** 12 - 1, rel=1e-9)


def test_irr_of_the_schedule_at_pd_zero_is_the_apr():
    for apr in (0.0, 0.07, 0.25):
        cf = expected_cash_flows(0.0, apr, 60, 20_000, 0.1)
        assert irr_annual(cf, 20_000) == pytest.approx((1 + apr / 12) ** 12 - 1, abs=1e-10)


def test_npv_is_monotone_in_apr_and_decreasing_in_pd():
    aprs = np.linspace(0, 1, 201)
    for p in (0.0, 0.1, 0.5):
        values = [npv(p, r, 36, 10_000, 0.1, 0.08) for r in aprs]
        assert np.all(np.diff(values) > 0)
    pds = np.linspace(0, 1, 51)
    values = [npv(p, 0.15, 36, 10_000, 0.1, 0.08) for p in pds]
    assert np.all(np.diff(values) < 0)


def test_quote_is_the_smallest_grid_apr_with_non_negative_npv():
    policy = PricingPolicy()
    q = quote(policy, 0.12, 12_000, 36)
    assert q.approved and q.apr_bps % 5 == 0
    assert npv(0.12, q.apr, 36, 12_000, 0.1, 0.08) >= 0
    assert npv(0.12, (q.apr_bps - 5) / 10_000, 36, 12_000, 0.1, 0.08) < 0
    assert q.installment == pytest.approx(installment(12_000, q.apr, 36))
    assert q.break_even_apr_bps == q.apr_bps  # above the 5% floor
    assert 0.08 <= q.expected_return < 0.0815  # NPV >= 0 at 8% <=> IRR >= 8%
    assert 0 < q.expected_loss < 12_000 * 0.12
    # a tiny PD is priced at the floor
    low = quote(policy, 0.0, 12_000, 36)
    assert low.apr_bps == 772 + 3  # 772.07 -> next multiple of 5 from 500
    assert quote(PricingPolicy(min_apr_bps=900), 0.0, 12_000, 36).apr_bps == 900


def test_declines():
    policy = PricingPolicy()
    high = quote(policy, 0.36, 10_000, 36)
    assert not high.approved and "maximum" in high.reason and high.apr_bps == 0
    capped = quote(PricingPolicy(max_apr_bps=1000), 0.3, 10_000, 36)
    assert not capped.approved and "cap" in capped.reason
    assert capped.break_even_apr_bps > 1000
    assert not quote(policy, 0.1, 10_000, 48).approved
    assert not quote(policy, 0.1, 500, 36).approved
    assert not quote(policy, 0.1, 50_000, 36).approved
    assert break_even_apr_bps(PricingPolicy(recovery_rate=0.0), 1.0, 10_000, 36) is None


def test_expected_loss_closed_form_for_one_month():
    # one payment: default with probability p loses (1 - rho) of the principal
    assert expected_loss(0.2, 0.1, 1, 1_000, 0.25) == pytest.approx(0.2 * 0.75 * 1_000)


def test_bad_inputs():
    with pytest.raises(LendingInputError) as e:
        quote(PricingPolicy(), float("nan"), 10_000, 36)
    assert "pd" in e.value.errors
    with pytest.raises(LendingInputError):
        quote(PricingPolicy(), 1.5, 10_000, 36)
    bad = PricingPolicy(
        required_return=2.0, recovery_rate=-1, max_pd=0, min_apr_bps=4000, max_apr_bps=3000,
        step_bps=0, wei_per_dollar=0, min_amount=10, max_amount=5, terms=(0,),
    )  # fmt: skip
    with pytest.raises(LendingInputError) as e:
        bad.check()
    assert set(e.value.errors) == {
        "required_return", "recovery_rate", "max_pd", "max_apr_bps", "step_bps",
        "wei_per_dollar", "max_amount", "terms",
    }  # fmt: skip
    assert PricingPolicy(max_apr_bps=MAX_APR_BPS).check()


def test_policy_round_trip_and_units():
    p = PricingPolicy(required_return=0.1, terms=(12, 36))
    d = p.to_dict()
    assert d["format"] == "hessian.pricing/1" and d["terms"] == [12, 36]
    assert PricingPolicy.from_dict(d) == p
    with pytest.raises(LendingInputError):
        PricingPolicy.from_dict({**d, "format": "x"})
    with pytest.raises(LendingInputError):
        PricingPolicy.from_dict({**d, "surprise": 1})
    with pytest.raises(LendingInputError):
        PricingPolicy.from_dict({**d, "max_pd": 7})
    assert PricingPolicy().to_wei(10_000) == 10**18
    assert PricingPolicy().to_wei(0.01) == 10**12
    assert PricingPolicy().to_dollars(10**18) == 10_000


def test_pd_buckets_have_the_30_percent_edge_and_close_at_one():
    """One definition of the PD buckets (the desk's and the simulation's used to differ:
    the desk had no 30 % edge)."""
    assert 0.30 in PD_EDGES and PD_EDGES[0] == 0.0 and PD_EDGES[-1] == 1.0
    assert pd_bucket_label(pd_bucket(0.29)) == "25%-30%"
    assert pd_bucket_label(pd_bucket(0.30)) == "30%-35%"
    assert pd_bucket_label(pd_bucket(0.0)) == "0%-5%"
    assert pd_bucket(1.0) == pd_bucket(0.99) == len(PD_EDGES) - 2
    assert pd_bucket(-0.1) == 0
