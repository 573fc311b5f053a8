"""The lognormal layer against numerical integration, and the fit against what it is given."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from hessian_common.errors import DataError
from hessian_common.insurance.severity import Lognormal, fit_lognormal, fit_severity

DISTS = [Lognormal.from_median(2800, 1.05), Lognormal.from_median(5500, 1.2), Lognormal(0.0, 0.3)]


@pytest.mark.parametrize("dist", DISTS)
@pytest.mark.parametrize("u", [0.5, 250.0, 2000.0, 25_000.0, 1e7])
def test_limited_mean_is_the_integral_of_the_survival_function(dist, u):
    """E[min(S, u)] = ∫_0^u (1 − F(x)) dx."""
    g = stats.lognorm(s=dist.sigma, scale=math.exp(dist.mu))
    top = min(u, g.isf(1e-15))  # beyond it the survival function is 0 to double precision
    points = [p for p in (dist.median, dist.mean) if p < top]
    want, _ = integrate.quad(g.sf, 0, top, limit=500, points=points or None)
    assert float(dist.limited_mean(u)) == pytest.approx(want, rel=1e-7, abs=1e-9)


@pytest.mark.parametrize("dist", DISTS[:2])
def test_layer_and_payment_against_the_definition(dist):
    g = stats.lognorm(s=dist.sigma, scale=math.exp(dist.mu))
    for d, lim in [(0, 15_000), (250, 25_000), (2000, 100_000), (500, 600)]:
        # ∫_D^L (x − D) f(x) dx + (L − D)·(1 − F(L))
        inner, _ = integrate.quad(
            lambda x, d=d: (x - d) * g.pdf(x), d, lim, limit=500,
            points=[p for p in (dist.median, dist.mean) if d < p < lim] or None,
        )  # fmt: skip
        want = inner + (lim - d) * g.sf(lim)
        assert float(dist.layer_mean(d, lim)) == pytest.approx(want, rel=1e-6)
        pay = float(dist.payment_mean(d, lim))
        assert pay == pytest.approx(want / g.sf(d), rel=1e-6)
        assert 0 <= pay <= lim - d
    assert float(dist.limited_mean(np.inf)) == pytest.approx(dist.mean)
    assert float(dist.limited_mean(0.0)) == 0.0 and float(dist.payment_mean(100, 100)) == 0.0


def draw_claims(rng, dist, n, deductibles, limits):
    """Accidents with random terms; only losses above the deductible are claims; paid capped."""
    loss = dist.sample(rng, n)
    d = rng.choice(deductibles, n).astype(float)
    lim = rng.choice(limits, n).astype(float)
    claim = loss > d
    return (np.minimum(loss, lim) - d)[claim], d[claim], lim[claim]


def test_the_fit_recovers_a_truncated_and_censored_lognormal():
    rng = np.random.default_rng(0)
    true = Lognormal.from_median(3000, 1.1)
    paid, d, lim = draw_claims(rng, true, 20_000, [250, 1000, 2000, 5000], [8000, 25_000])
    assert (paid >= lim - d - 1e-9).mean() > 0.05  # a fair share is censored at the limit
    got = fit_lognormal(paid, d, lim)
    assert got.mu == pytest.approx(true.mu, abs=0.04)
    assert got.sigma == pytest.approx(true.sigma, abs=0.03)
    # the naive reading (the paid amounts are the losses) prices this book badly
    naive = float(np.mean(paid))
    assert abs(naive - float(true.payment_mean(5000, 25_000))) > 0.1 * naive


def test_fit_by_type_pools_the_thin_ones():
    rng = np.random.default_rng(1)
    a, b = Lognormal.from_median(2000, 0.9), Lognormal.from_median(6000, 1.3)
    pa, da, la = draw_claims(rng, a, 3000, [500], [50_000])
    pb, db, lb = draw_claims(rng, b, 3000, [500], [50_000])
    v = np.array(["a"] * len(pa) + ["b"] * len(pb) + ["c"] * 5, dtype=object)
    paid = np.concatenate([pa, pb, pa[:5]])
    fit = fit_severity(v, paid, np.concatenate([da, db, da[:5]]),
                       np.concatenate([la, lb, la[:5]]), ["a", "b", "c", "d"])  # fmt: skip
    assert fit.table["a"].median == pytest.approx(2000, rel=0.08)
    assert fit.table["b"].median == pytest.approx(6000, rel=0.08)
    assert fit.pooled_types == ("c", "d") and fit.table["c"] == fit.pooled
    assert fit.claims == {"a": len(pa), "b": len(pb), "c": 5, "d": 0}
    assert set(fit.to_dict()) == {"table", "pooled", "claims", "pooled_types"}


@pytest.mark.parametrize(
    ("paid", "d", "lim", "match"),
    [
        ([100.0, np.nan], 0, 1000, "finite"),
        ([100.0, 200.0], 500, 400, "deductible < limit"),
        ([100.0, 0.0], 0, 1000, "in \\(0, limit"),
        ([100.0, 2000.0], 0, 1000, "in \\(0, limit"),
        ([1000.0, 1000.0], 0, 1000, "uncensored claims"),
    ],
)
def test_bad_claims_are_refused(paid, d, lim, match):
    with pytest.raises(DataError, match=match):
        fit_lognormal(paid, d, lim)


def test_lognormal_checks_and_dict():
    for mu, sigma in [(0.0, 0.0), (float("nan"), 1.0), (1.0, -1.0)]:
        with pytest.raises(DataError):
            Lognormal(mu, sigma)
    d = Lognormal(8.0, 1.0)
    assert Lognormal.from_dict(d.to_dict()) == d
    for bad in ({"mu": 1.0}, {"mu": "8", "sigma": 1.0}, {"mu": True, "sigma": 1.0}, [1, 2]):
        with pytest.raises(DataError):
            Lognormal.from_dict(bad)
