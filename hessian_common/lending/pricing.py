"""Risk-based pricing: from a probability of default to an APR, or a decline.

The maths (all amounts in dollars, times in months)::

    Amortised loan: principal A, term n months, APR r, monthly rate i = r / 12
        installment  M = A·i / (1 − (1 + i)^−n)           (M = A / n when r = 0)
        balance after t payments  B(t) = A·(1+i)^t − M·((1+i)^t − 1) / i
                                  (B(t) = A − t·M when r = 0;  B(0) = A, B(n) = 0)

    The model's PD p is the probability of charge-off over the life of the loan. With a
    constant monthly hazard h:
        1 − (1 − h)^n = p   ⇒   h = 1 − (1 − p)^(1/n)
        survival  S(t) = (1 − h)^t   (still paying after t months)

    Expected cash flow of month t = 1..n (paid if alive; recovery if it defaults in month t):
        CF_t = S(t)·M + S(t−1)·h·ρ·B(t−1)
    where ρ is the recovery rate (fraction of the outstanding balance recovered after a
    default) and B(t−1) the balance outstanding when the month-t instalment is missed.

    Lender's required annual return R (cost of funds + margin), monthly k = (1+R)^(1/12) − 1:
        NPV(r) = Σ_t CF_t / (1 + k)^t − A
    NPV(r) is increasing in r (M and every B(t) grow with r), so the break-even APR is the
    root of NPV(r) = 0. At p = 0 the recovery term vanishes and NPV(r) = 0 exactly when
    i = k, i.e. r* = 12·((1+R)^(1/12) − 1) (7.72 % for R = 8 %): the nominal APR whose
    monthly rate is the required monthly return.

    Quote (:func:`quote`):
        decline if p > max_pd;
        else APR = the smallest r on the grid [min_apr_bps, max_apr_bps] (step step_bps)
        with NPV(r) ≥ 0; decline if there is none (the rate needed is above the cap).
        expected_return = (1 + irr_m)^12 − 1, irr_m the monthly IRR of (−A, CF_1..CF_n)
        expected_loss   = Σ_t S(t−1)·h·(1 − ρ)·B(t−1)
                          (expected principal lost net of recoveries, undiscounted dollars:
                          the lifetime PD × LGD × exposure at the month of default)
        break_even_apr_bps = the smallest r on the grid 0..MAX_APR_BPS (same step) with
                          NPV(r) ≥ 0, reported even when it is above the cap (None if even
                          100 % does not break even).

On chain, amounts are wei: ``principal_wei = round(dollars × wei_per_dollar)`` (the public
policy document says ``wei_per_dollar``), and the chain's integer installment
(``chain.loanbook.installment_for``) mirrors :func:`installment`.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hessian_common.errors import LendingInputError, PolicyInputError

FORMAT = "hessian.pricing/1"
MAX_APR_BPS = 10_000
"""The contract's cap on an APR (100 %), in basis points."""
BPS = 10_000


PD_EDGES = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30, 0.35, 1.0)
"""Edges of the PD buckets every report uses (the desk's performance table, the simulation's
calibration table): bucket k is ``[PD_EDGES[k], PD_EDGES[k+1])``, the last one closed at 1."""


def pd_bucket(pd: float, edges: tuple[float, ...] = PD_EDGES) -> int:
    """The index k of the bucket ``[edges[k], edges[k+1])`` holding ``pd`` (the last bucket
    also holds ``edges[-1]``; a PD outside the edges goes to the nearest end bucket)."""
    k = bisect.bisect_right(edges, float(pd)) - 1
    return min(max(k, 0), len(edges) - 2)


def pd_bucket_label(k: int, edges: tuple[float, ...] = PD_EDGES) -> str:
    """``"lo%-hi%"`` of bucket k, e.g. ``"30%-35%"``."""
    return f"{edges[k]:.0%}-{edges[k + 1]:.0%}"


def installment(amount: float, apr: float, term: int) -> float:
    """Monthly payment of an amortised loan: ``M = A·i / (1 − (1+i)^−n)``, ``i = apr/12``.

    Parameters
    ----------
    amount : principal A (dollars).
    apr : annual percentage rate as a fraction (0.12 = 12 %).
    term : number of monthly payments n (>= 1).
    """
    i = float(apr) / 12.0
    n = int(term)
    if n < 1:
        raise LendingInputError({"term": f"a loan needs at least one payment, got {term}"})
    if i == 0.0:
        return float(amount) / n
    return float(amount) * i / (1.0 - (1.0 + i) ** -n)


def balances(amount: float, apr: float, term: int) -> np.ndarray:
    """Scheduled balance ``B(t)`` after ``t = 0..n`` payments, shape (n + 1,)."""
    i = float(apr) / 12.0
    n = int(term)
    t = np.arange(n + 1, dtype=float)
    m = installment(amount, apr, n)
    if i == 0.0:
        b = amount - t * m
    else:
        g = (1.0 + i) ** t
        b = amount * g - m * (g - 1.0) / i
    b[-1] = 0.0
    return np.maximum(b, 0.0)


def monthly_hazard(pd: float, term: int) -> float:
    """``h = 1 − (1 − p)^(1/n)``: the constant monthly hazard with lifetime PD ``p``."""
    p = float(pd)
    if not 0.0 <= p <= 1.0:
        raise LendingInputError({"pd": f"a probability must be in [0, 1], got {pd}"})
    return 1.0 - (1.0 - p) ** (1.0 / int(term))


def expected_cash_flows(
    pd: float, apr: float, term: int, amount: float, recovery: float
) -> np.ndarray:
    """Expected cash flows ``CF_t = S(t)·M + S(t−1)·h·ρ·B(t−1)``, t = 1..n, shape (n,)."""
    n = int(term)
    h = monthly_hazard(pd, n)
    m = installment(amount, apr, n)
    b = balances(amount, apr, n)
    s = (1.0 - h) ** np.arange(n + 1, dtype=float)
    return s[1:] * m + s[:-1] * h * float(recovery) * b[:-1]


def monthly_rate(annual: float) -> float:
    """``k = (1 + R)^(1/12) − 1``: the monthly rate compounding to the annual ``R``."""
    return (1.0 + float(annual)) ** (1.0 / 12.0) - 1.0


def npv(
    pd: float, apr: float, term: int, amount: float, recovery: float, required_return: float
) -> float:
    """``NPV(r) = Σ_t CF_t / (1 + k)^t − A`` at the required annual return ``R``."""
    cf = expected_cash_flows(pd, apr, term, amount, recovery)
    k = monthly_rate(required_return)
    disc = (1.0 + k) ** -np.arange(1, len(cf) + 1, dtype=float)
    return float(cf @ disc - float(amount))


def _npv_grid(
    pd: float, aprs: np.ndarray, term: int, amount: float, recovery: float, k: float
) -> np.ndarray:
    """NPV for many APRs at once (vectorised :func:`npv`), shape (len(aprs),)."""
    n = int(term)
    i = np.asarray(aprs, dtype=float)[:, None] / 12.0
    t = np.arange(n + 1, dtype=float)[None, :]
    safe = np.where(i == 0.0, 1.0, i)
    g = (1.0 + i) ** t
    m = np.where(i == 0.0, amount / n, amount * safe / (1.0 - (1.0 + safe) ** -n))
    b = np.where(i == 0.0, amount - t * m, amount * g - m * (g - 1.0) / safe)
    b = np.maximum(b, 0.0)
    h = monthly_hazard(pd, n)
    s = (1.0 - h) ** t[0]
    cf = s[None, 1:] * m + s[None, :-1] * h * recovery * b[:, :-1]
    disc = (1.0 + k) ** -t[0, 1:]
    return cf @ disc - amount


def irr_annual(flows: np.ndarray, amount: float) -> float:
    """Annualised IRR ``(1 + irr_m)^12 − 1`` of paying ``amount`` now for ``flows`` (months 1..n).

    ``irr_m`` solves ``Σ_t flows_t / (1 + irr_m)^t = amount`` (unique: the left side falls
    with the rate when the flows are non-negative). −1 when the flows are all zero.
    """
    from scipy.optimize import brentq  # heavy optional: scipy

    cf = np.asarray(flows, dtype=float)
    if cf.sum() <= 0.0:
        return -1.0
    t = np.arange(1, len(cf) + 1, dtype=float)

    def f(x: float) -> float:
        return float(cf @ (1.0 + x) ** -t) - float(amount)

    lo, hi = -0.999, 1.0
    while f(hi) > 0.0 and hi < 1e6:
        hi *= 2.0
    if f(lo) < 0.0:
        return -1.0
    irr_m = brentq(f, lo, hi, xtol=1e-14, rtol=1e-12, maxiter=500)
    return (1.0 + irr_m) ** 12 - 1.0


def expected_loss(pd: float, apr: float, term: int, amount: float, recovery: float) -> float:
    """``Σ_t S(t−1)·h·(1 − ρ)·B(t−1)``: expected principal lost net of recoveries (dollars)."""
    n = int(term)
    h = monthly_hazard(pd, n)
    b = balances(amount, apr, n)
    s = (1.0 - h) ** np.arange(n, dtype=float)
    return float((s * h * (1.0 - float(recovery)) * b[:-1]).sum())


@dataclass(frozen=True)
class PricingPolicy:
    """The lender's public pricing rule (published on the store with the deployment).

    Attributes
    ----------
    required_return : float
        R, the annual return the lender needs (cost of funds + margin), 0.08 = 8 %.
    recovery_rate : float
        ρ, fraction of the outstanding balance recovered after a default.
    max_pd : float
        Applications with a PD above this are declined.
    min_apr_bps, max_apr_bps, step_bps : int
        The APR grid, in basis points (500 = 5 %); ``max_apr_bps`` is the cap.
    wei_per_dollar : int
        On-chain units: ``principal_wei = round(dollars × wei_per_dollar)``.
    min_amount, max_amount : float
        Loan amounts offered (dollars).
    terms : tuple of int
        Terms offered (months).
    """

    required_return: float = 0.08
    recovery_rate: float = 0.10
    max_pd: float = 0.35
    min_apr_bps: int = 500
    max_apr_bps: int = 3000
    step_bps: int = 5
    wei_per_dollar: int = 10**14
    min_amount: float = 1000.0
    max_amount: float = 40000.0
    terms: tuple[int, ...] = field(default=(36, 60))

    def errors(self) -> dict[str, str]:
        """``{field: message}`` for every invalid field (empty when the policy is usable)."""
        e: dict[str, str] = {}

        def num(name: str) -> float | None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                e[name] = f"must be a finite number, got {v!r}"
                return None
            return float(v)

        r = num("required_return")
        if r is not None and not -0.5 < r < 1.0:
            e["required_return"] = f"must be in (-0.5, 1) (a fraction a year), got {r}"
        rho = num("recovery_rate")
        if rho is not None and not 0.0 <= rho <= 1.0:
            e["recovery_rate"] = f"must be in [0, 1], got {rho}"
        mp = num("max_pd")
        if mp is not None and not 0.0 < mp <= 1.0:
            e["max_pd"] = f"must be in (0, 1], got {mp}"
        for name in ("min_apr_bps", "max_apr_bps", "step_bps", "wei_per_dollar"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | np.integer):
                e[name] = f"must be an integer, got {v!r}"
        if not {"min_apr_bps", "max_apr_bps"} & set(e) and not (
            0 <= self.min_apr_bps <= self.max_apr_bps <= MAX_APR_BPS
        ):
            e["max_apr_bps"] = (
                f"need 0 <= min_apr_bps ({self.min_apr_bps}) <= max_apr_bps "
                f"({self.max_apr_bps}) <= {MAX_APR_BPS}"
            )
        if "step_bps" not in e and self.step_bps < 1:
            e["step_bps"] = f"must be at least 1, got {self.step_bps}"
        if "wei_per_dollar" not in e and self.wei_per_dollar < 1:
            e["wei_per_dollar"] = f"must be at least 1, got {self.wei_per_dollar}"
        lo, hi = num("min_amount"), num("max_amount")
        if lo is not None and hi is not None and not 0.0 < lo <= hi:
            e["max_amount"] = f"need 0 < min_amount ({lo}) <= max_amount ({hi})"
        terms = self.terms
        if (
            not isinstance(terms, tuple | list)
            or not terms
            or any(
                isinstance(t, bool) or not isinstance(t, int) or not 1 <= t <= 120 for t in terms
            )
        ):
            e["terms"] = f"must be a non-empty list of whole months in 1..120, got {terms!r}"
        return e

    def check(self) -> PricingPolicy:
        """Raise :class:`PolicyInputError` (with ``.errors``) unless the policy is usable."""
        errors = self.errors()
        if errors:
            raise PolicyInputError(errors)
        return self

    def to_wei(self, dollars: float) -> int:
        """``round(dollars × wei_per_dollar)`` (exact for whole cents)."""
        cents = round(float(dollars) * 100)
        return (cents * int(self.wei_per_dollar) + 50) // 100

    def to_dollars(self, wei: int) -> float:
        """``wei / wei_per_dollar``."""
        return int(wei) / int(self.wei_per_dollar)

    def apr_grid(self) -> np.ndarray:
        """The APRs a quote may use, in basis points, ascending."""
        return np.arange(self.min_apr_bps, self.max_apr_bps + 1, self.step_bps, dtype=np.int64)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, ``{"format": "hessian.pricing/1", ...}``."""
        d = asdict(self)
        d["terms"] = list(self.terms)
        return {"format": FORMAT, **d}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PricingPolicy:
        """Inverse of :meth:`to_dict`; checks the policy (:class:`PolicyInputError`)."""
        if not isinstance(d, Mapping) or d.get("format") != FORMAT:
            raise PolicyInputError({"policy": f"not a {FORMAT} document"})
        names = set(cls.__dataclass_fields__)
        unknown = sorted(set(d) - names - {"format"})
        if unknown:
            raise PolicyInputError({"policy": f"unknown field(s) {', '.join(unknown)}"})
        kwargs = {k: v for k, v in d.items() if k in names}
        if isinstance(kwargs.get("terms"), list):
            kwargs["terms"] = tuple(kwargs["terms"])
        return cls(**kwargs).check()


@dataclass(frozen=True)
class Quote:
    """The suggested decision for one application.

    ``apr_bps`` and ``installment`` are 0 when declined; ``expected_return`` (annualised IRR
    of the expected flows) and ``expected_loss`` (dollars) are at the quoted APR, or at the
    break-even APR when declined for the cap (else 0).
    """

    approved: bool
    apr_bps: int
    pd: float
    reason: str
    installment: float
    expected_return: float
    expected_loss: float
    break_even_apr_bps: int | None
    amount: float = 0.0
    term: int = 0

    @property
    def apr(self) -> float:
        """The APR as a fraction."""
        return self.apr_bps / BPS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def break_even_apr_bps(policy: PricingPolicy, pd: float, amount: float, term: int) -> int | None:
    """Smallest APR on the grid ``0, step, 2·step, ... ≤ MAX_APR_BPS`` with ``NPV ≥ 0``."""
    grid = np.arange(0, MAX_APR_BPS + 1, policy.step_bps, dtype=np.int64)
    k = monthly_rate(policy.required_return)
    values = _npv_grid(pd, grid / BPS, term, amount, policy.recovery_rate, k)
    ok = np.flatnonzero(values >= -1e-9)
    return int(grid[ok[0]]) if len(ok) else None


def quote(policy: PricingPolicy, pd: float, amount: float, term: int) -> Quote:
    """Price one application under ``policy`` (see the module docstring for the rule).

    Parameters
    ----------
    policy : PricingPolicy
    pd : the calibrated lifetime probability of default, in [0, 1].
    amount : principal in dollars.
    term : months.

    Raises
    ------
    LendingInputError
        ``pd`` is not a probability, or ``amount`` / ``term`` are not numbers.
    """
    p = float(pd)
    if not math.isfinite(p) or not 0.0 <= p <= 1.0:
        raise LendingInputError({"pd": f"a probability must be in [0, 1], got {pd!r}"})
    a, n = float(amount), int(term)
    if not math.isfinite(a) or a <= 0 or n < 1:
        raise LendingInputError({"amount": f"need a positive amount and term, got {a}, {n}"})

    def declined(reason: str, be: int | None = None) -> Quote:
        ret = loss = 0.0
        if be is not None:
            apr = be / BPS
            cf = expected_cash_flows(p, apr, n, a, policy.recovery_rate)
            ret = irr_annual(cf, a)
            loss = expected_loss(p, apr, n, a, policy.recovery_rate)
        return Quote(False, 0, p, reason, 0.0, ret, loss, be, a, n)

    if n not in tuple(policy.terms):
        terms = ", ".join(str(t) for t in policy.terms)
        return declined(f"a {n}-month term is not offered (terms: {terms})")
    if not policy.min_amount <= a <= policy.max_amount:
        return declined(
            f"amount ${a:,.2f} is outside ${policy.min_amount:,.0f}-${policy.max_amount:,.0f}"
        )
    be = break_even_apr_bps(policy, p, a, n)
    if p > policy.max_pd:
        return declined(f"PD {p:.1%} is above the policy's maximum {policy.max_pd:.1%}", be)
    grid = policy.apr_grid()
    k = monthly_rate(policy.required_return)
    values = _npv_grid(p, grid / BPS, n, a, policy.recovery_rate, k)
    ok = np.flatnonzero(values >= -1e-9)
    if not len(ok):
        need = "above 100%" if be is None else f"{be / 100:.2f}%"
        return declined(
            f"the break-even APR ({need}) is above the cap {policy.max_apr_bps / 100:.2f}%", be
        )
    apr_bps = int(grid[ok[0]])
    apr = apr_bps / BPS
    cf = expected_cash_flows(p, apr, n, a, policy.recovery_rate)
    return Quote(
        approved=True,
        apr_bps=apr_bps,
        pd=p,
        reason=f"PD {p:.1%}: smallest APR with NPV >= 0 at {policy.required_return:.1%}",
        installment=installment(a, apr, n),
        expected_return=irr_annual(cf, a),
        expected_loss=expected_loss(p, apr, n, a, policy.recovery_rate),
        break_even_apr_bps=be,
        amount=a,
        term=n,
    )
