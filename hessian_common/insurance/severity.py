"""Claim severity: a lognormal ground-up loss per vehicle type, its layer, and its fit.

A policy with deductible ``D`` and coverage limit ``L`` (``D < L``) pays, for a ground-up loss
``S`` (the damage assessed), ``min(max(S − D, 0), L − D)``: nothing below the deductible, the
loss above it up to the limit. A claim is filed only when ``S > D``. With ``S`` lognormal,
``ln S ~ N(μ, σ²)`` (Φ the standard normal distribution function)::

    F(x)     = Φ((ln x − μ)/σ)                         P(S ≤ x)
    E[S]     = exp(μ + σ²/2)
    LEV(u)   = E[min(S, u)]                            limited expected value
             = exp(μ + σ²/2)·Φ((ln u − μ − σ²)/σ) + u·(1 − F(u))        (u > 0; LEV(0) = 0)
    layer    = E[min(max(S − D, 0), L − D)] = LEV(L) − LEV(D)            (per accident)
    payment  = E[min(S, L) − D | S > D] = (LEV(L) − LEV(D)) / (1 − F(D))  (per claim filed)

so ``0 ≤ payment ≤ L − D`` and ``layer = (1 − F(D))·payment``. A claims model predicts the
probability ``p`` that a claim is *filed* (``S > D``), so the expected loss of a policy is
``p·payment`` — the same number as ``P(accident)·layer``, without needing ``P(accident)``.

Fitting (:func:`fit_lognormal`): the insurer's own claims file holds, per claim, the amount
*paid* ``y = min(S, L) − D`` with the policy's ``D`` and ``L``. The paid amounts are neither
the loss (net of ``D``) nor complete (losses at or below ``D`` are never filed: the sample is
**truncated** at ``D``; losses above ``L`` are paid ``L − D``: **censored** at ``L``), so
their mean is the severity of this book's mix of deductibles and limits only. Maximum
likelihood of the ground-up lognormal with both effects is consistent and prices any
``(D, L)``::

    x_i = D_i + y_i                                     the loss, when y_i < L_i − D_i
    ℓ(μ, σ) = Σ_uncensored [ln φ((ln x_i − μ)/σ) − ln σ − ln x_i]
            + Σ_censored   ln(1 − F(L_i))
            − Σ_all        ln(1 − F(D_i))               (the truncation at D_i)

maximised over ``(μ, ln σ)`` by L-BFGS (scipy), from the moments of ``ln x`` of the
uncensored claims. Per vehicle type (:func:`fit_severity`): a type with fewer than
``min_claims`` claims takes the fit of all claims together (a thin type's own fit would be
noise; the pooled one is the best estimate the insurer has, and the report says which types
were pooled).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hessian_common.errors import DataError

CENSORED_TOLERANCE = 0.005
"""A paid amount within half a cent of ``L − D`` is a claim paid at the limit (censored)."""
MIN_CLAIMS = 30
"""Fewest claims of one vehicle type for its own fit (:func:`fit_severity`)."""


def _phi_cdf(z: Any) -> Any:
    from scipy.special import ndtr  # heavy optional: scipy

    return ndtr(z)


@dataclass(frozen=True)
class Lognormal:
    """A lognormal loss ``ln S ~ N(mu, sigma²)`` (dollars); see the module docstring."""

    mu: float
    sigma: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.mu) and math.isfinite(self.sigma) and self.sigma > 0):
            raise DataError(f"lognormal: need finite mu and sigma > 0, got {self.mu}, {self.sigma}")

    @classmethod
    def from_median(cls, median: float, sigma: float) -> Lognormal:
        """The lognormal with this median (``exp(μ)``) and ``σ``."""
        return cls(math.log(float(median)), float(sigma))

    @property
    def median(self) -> float:
        return math.exp(self.mu)

    @property
    def mean(self) -> float:
        """``E[S] = exp(μ + σ²/2)``."""
        return math.exp(self.mu + self.sigma**2 / 2)

    def cdf(self, x: Any) -> np.ndarray:
        """``F(x) = Φ((ln x − μ)/σ)`` (0 for x ≤ 0)."""
        x = np.asarray(x, dtype=float)
        with np.errstate(divide="ignore"):
            z = (np.log(np.where(x > 0, x, 1.0)) - self.mu) / self.sigma
        return np.where(x > 0, _phi_cdf(z), 0.0)

    def sf(self, x: Any) -> np.ndarray:
        """``1 − F(x)``."""
        return 1.0 - self.cdf(x)

    def limited_mean(self, u: Any) -> np.ndarray:
        """``LEV(u) = E[min(S, u)]`` (``u`` may be ``inf``: the mean)."""
        u = np.asarray(u, dtype=float)
        pos = np.isfinite(u) & (u > 0)
        safe = np.where(pos, u, 1.0)
        z = (np.log(safe) - self.mu) / self.sigma
        lev = self.mean * _phi_cdf(z - self.sigma) + safe * (1.0 - _phi_cdf(z))
        return np.where(pos, lev, np.where(np.isinf(u) & (u > 0), self.mean, 0.0))

    def layer_mean(self, deductible: Any, limit: Any) -> np.ndarray:
        """``E[min(max(S − D, 0), L − D)] = LEV(L) − LEV(D)``: paid per accident."""
        d, lim = np.asarray(deductible, dtype=float), np.asarray(limit, dtype=float)
        return np.maximum(self.limited_mean(np.maximum(lim, d)) - self.limited_mean(d), 0.0)

    def payment_mean(self, deductible: Any, limit: Any) -> np.ndarray:
        """``E[min(S, L) − D | S > D]``: paid per claim filed, in ``[0, L − D]``."""
        d, lim = np.asarray(deductible, dtype=float), np.asarray(limit, dtype=float)
        sf = self.sf(d)
        layer = self.layer_mean(d, lim)
        out = np.where(sf > 0, layer / np.where(sf > 0, sf, 1.0), np.maximum(lim - d, 0.0))
        return np.clip(out, 0.0, np.maximum(lim - d, 0.0))

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` losses."""
        return np.exp(self.mu + self.sigma * rng.standard_normal(int(n)))

    def to_dict(self) -> dict[str, float]:
        return {"mu": float(self.mu), "sigma": float(self.sigma)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Lognormal:
        if not isinstance(d, Mapping) or set(d) != {"mu", "sigma"}:
            raise DataError(f"lognormal: need exactly mu and sigma, got {d!r}")
        mu, sigma = d["mu"], d["sigma"]
        for v in (mu, sigma):
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise DataError(f"lognormal: mu and sigma must be numbers, got {v!r}")
        return cls(float(mu), float(sigma))


def _as_arrays(paid: Any, deductible: Any, limit: Any) -> tuple[np.ndarray, ...]:
    y = np.asarray(paid, dtype=float).ravel()
    d = np.broadcast_to(np.asarray(deductible, dtype=float), y.shape).astype(float)
    lim = np.broadcast_to(np.asarray(limit, dtype=float), y.shape).astype(float)
    if not (np.isfinite(y).all() and np.isfinite(d).all() and np.isfinite(lim).all()):
        raise DataError("severity fit: paid amounts, deductibles and limits must be finite")
    if (d < 0).any() or (lim <= d).any():
        raise DataError("severity fit: need 0 <= deductible < limit on every claim")
    if (y <= 0).any() or (y > lim - d + CENSORED_TOLERANCE).any():
        raise DataError("severity fit: a paid amount must be in (0, limit − deductible]")
    return y, d, lim


def fit_lognormal(paid: Any, deductible: Any, limit: Any) -> Lognormal:
    """Maximum-likelihood ground-up lognormal of paid claims (module docstring).

    Parameters
    ----------
    paid : array of shape (n,), the amounts paid (``min(S, L) − D`` > 0), dollars.
    deductible, limit : arrays of shape (n,) (or scalars), each claim's policy terms.

    Raises
    ------
    DataError
        Fewer than 2 uncensored claims, or amounts outside ``(0, L − D]``.
    """
    from scipy.optimize import minimize  # heavy optional: scipy
    from scipy.stats import norm  # heavy optional: scipy

    y, d, lim = _as_arrays(paid, deductible, limit)
    censored = y >= lim - d - CENSORED_TOLERANCE
    x = np.log(d[~censored] + y[~censored])
    if len(x) < 2:
        raise DataError(f"severity fit: {len(x)} uncensored claims; need at least 2")
    log_d = np.log(np.where(d > 0, d, 1.0))
    has_d = d > 0
    log_l = np.log(lim[censored])

    def nll(theta: np.ndarray) -> float:
        mu, s = theta[0], math.exp(theta[1])
        ll = norm.logpdf((x - mu) / s).sum() - len(x) * math.log(s) - x.sum()
        ll += norm.logsf((log_l - mu) / s).sum()
        ll -= norm.logsf((log_d[has_d] - mu) / s).sum()
        return -float(ll)

    start = np.array([x.mean(), math.log(max(x.std(), 0.05))])
    res = minimize(nll, start, method="L-BFGS-B", bounds=[(-10.0, 25.0), (-5.0, 2.5)])
    if not np.isfinite(res.fun):
        raise DataError("severity fit: the likelihood did not converge")
    return Lognormal(float(res.x[0]), float(math.exp(res.x[1])))


@dataclass(frozen=True)
class SeverityFit:
    """:func:`fit_severity`: the table and how it was made."""

    table: dict[str, Lognormal]
    pooled: Lognormal
    claims: dict[str, int] = field(default_factory=dict)
    pooled_types: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": {k: v.to_dict() for k, v in self.table.items()},
            "pooled": self.pooled.to_dict(),
            "claims": dict(self.claims),
            "pooled_types": list(self.pooled_types),
        }


def fit_severity(
    vehicle: Any,
    paid: Any,
    deductible: Any,
    limit: Any,
    types: tuple[str, ...] | list[str],
    min_claims: int = MIN_CLAIMS,
) -> SeverityFit:
    """A lognormal per vehicle type from the insurer's paid claims (module docstring).

    Parameters
    ----------
    vehicle : array of shape (n,), each claim's vehicle type (text).
    paid, deductible, limit : arrays of shape (n,), dollars.
    types : the vehicle types to price (each gets an entry; thin ones the pooled fit).
    min_claims : fewest claims for a type's own fit.
    """
    v = np.asarray(vehicle, dtype=object).ravel()
    y, d, lim = _as_arrays(paid, deductible, limit)
    if len(v) != len(y):
        raise DataError(f"severity fit: {len(v)} vehicle types for {len(y)} claims")
    pooled = fit_lognormal(y, d, lim)
    table: dict[str, Lognormal] = {}
    counts: dict[str, int] = {}
    thin: list[str] = []
    for t in types:
        mask = v == t
        counts[str(t)] = int(mask.sum())
        if mask.sum() >= max(int(min_claims), 2):
            try:
                table[str(t)] = fit_lognormal(y[mask], d[mask], lim[mask])
                continue
            except DataError:
                pass
        table[str(t)] = pooled
        thin.append(str(t))
    return SeverityFit(table, pooled, counts, tuple(thin))


def fit_book_severity(
    loaded: Any, types: tuple[str, ...] | list[str] | None = None, min_claims: int = MIN_CLAIMS
) -> SeverityFit:
    """:func:`fit_severity` on the insurer's own claims file, read with the
    ``insurance_claims`` schema (a :class:`~hessian_common.data.loader.LoadedData`).

    Uses the rows labelled as a claim with a paid ``claim_amount`` (a leakage column: parsed
    into ``loaded.context``, never a feature) and their ``vehicle_type``, ``deductible`` and
    ``coverage_limit``; ``types`` defaults to the schema's vehicle types.

    Raises
    ------
    DataError
        The file has no ``claim_amount`` column, or too few usable claims.
    """
    if "claim_amount" not in getattr(loaded, "context", {}):
        raise DataError("severity fit: the file has no claim_amount column (the amounts paid)")
    paid = np.asarray(loaded.context["claim_amount"], dtype=float)
    feats = loaded.features
    vehicle = feats["vehicle_type"].to_numpy(dtype=object)
    ded = feats["deductible"].to_numpy(dtype=float)
    lim = feats["coverage_limit"].to_numpy(dtype=float)
    use = (
        (np.asarray(loaded.y) == 1)
        & np.isfinite(paid)
        & (paid > 0)
        & np.isfinite(ded)
        & np.isfinite(lim)
        & (ded >= 0)
        & (lim > ded)
        & (paid <= lim - ded + CENSORED_TOLERANCE)
        & np.array([isinstance(v, str) for v in vehicle])
    )
    if types is None:
        spec = next(c for c in loaded.schema.columns if c.name == "vehicle_type")
        types = tuple(spec.categories)
    return fit_severity(vehicle[use], paid[use], ded[use], lim[use], types, min_claims)


__all__ = [
    "CENSORED_TOLERANCE",
    "MIN_CLAIMS",
    "Lognormal",
    "SeverityFit",
    "fit_book_severity",
    "fit_lognormal",
    "fit_severity",
]
