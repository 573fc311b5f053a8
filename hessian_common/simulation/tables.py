"""Pure tables of a simulation run: numbers in, rows out (no chain, no files).

The lending tables read :class:`~hessian_common.simulation.result.BorrowerOutcome`-shaped
records (attributes ``grade``, ``status``, ``funded``, ``pd``, ``apr_bps``, ``defaulted``,
``truth_default``, ``principal_wei``, ``expected_return``, ``recovery_wei``); the PD buckets are
the lending library's (:data:`hessian_common.lending.pricing.PD_EDGES`, :func:`pd_bucket`), so
the company app and the simulation report the same buckets.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hessian_common.lending.pricing import PD_EDGES, irr_annual, pd_bucket

GRADES = tuple("ABCDEFG")


def mean_of(xs: Sequence[float | None]) -> float | None:
    """Mean of the values that are not None (None when there are none)."""
    vals = [float(x) for x in xs if x is not None]
    return float(np.mean(vals)) if vals else None


def rate_of(flags: Sequence[bool]) -> float | None:
    """Share of True flags (None for no flags)."""
    return sum(flags) / len(flags) if flags else None


def monthly_irr_annual(flows: Sequence[float], amount: float) -> float:
    """Annualised IRR of lending ``amount`` at month 0 for ``flows`` of months 1, 2, ...

    ``(1 + irr_m)^12 − 1`` where ``Σ_m flows_m / (1 + irr_m)^m = amount``
    (:func:`hessian_common.lending.pricing.irr_annual`); NaN without flows or amount.
    """
    if amount <= 0 or not flows:
        return float("nan")
    return float(irr_annual(np.asarray(flows, dtype=float), float(amount)))


def portfolio_returns(
    funded: Sequence[Any],
    realised: Sequence[float],
    expected: Sequence[float],
    wei_per_dollar: int,
    required_return: float | None = None,
) -> dict[str, Any]:
    """Realised vs expected return of a funded portfolio.

    ``money_multiple = Σ received / Σ lent``; ``irr`` = annualised IRR of the month-indexed
    ``realised`` flows (dollars); ``expected_*`` the same for the pricing rule's ``expected``
    flows of the same loans; ``mean_quoted_return`` the principal-weighted mean of the per-loan
    quoted expected returns.
    """
    lent = sum(b.principal_wei for b in funded) / wei_per_dollar
    quoted_loans = [b for b in funded if b.expected_return is not None]
    quoted = (
        float(
            np.average(
                [b.expected_return for b in quoted_loans],
                weights=[b.principal_wei for b in quoted_loans],
            )
        )
        if quoted_loans and sum(b.principal_wei for b in quoted_loans) > 0
        else None
    )
    return {
        "lent_usd": lent,
        "received_usd": float(sum(realised)),
        "expected_received_usd": float(sum(expected)),
        "money_multiple": float(sum(realised)) / lent if lent else None,
        "expected_money_multiple": float(sum(expected)) / lent if lent else None,
        "irr": monthly_irr_annual(realised, lent) if lent else None,
        "expected_irr": monthly_irr_annual(expected, lent) if lent else None,
        "mean_quoted_return": quoted,
        "required_return": required_return,
        "recovered_usd": sum(b.recovery_wei for b in funded) / wei_per_dollar,
    }


def by_grade(borrowers: Sequence[Any]) -> dict[str, dict[str, Any]]:
    """Per credit grade: applied, approved, approval rate, mean PD / APR of the approved,
    realised default rate of the funded loans, and the ground-truth default rate of all
    applicants and of the declined ones (what the model kept away)."""
    out: dict[str, dict[str, Any]] = {}
    for g in GRADES:
        applied = [b for b in borrowers if b.grade == g and b.status != "failed"]
        if not applied:
            continue
        funded = [b for b in applied if b.funded]
        declined = [b for b in applied if b.status == "declined"]
        out[g] = {
            "applied": len(applied),
            "approved": len(funded),
            "approval_rate": len(funded) / len(applied),
            "mean_pd_approved": mean_of([b.pd for b in funded]),
            "mean_apr_approved": mean_of([b.apr_bps / 10_000 for b in funded]),
            "defaulted": sum(1 for b in funded if b.defaulted),
            "default_rate_funded": rate_of([b.defaulted for b in funded]),
            "default_rate_applicants_truth": rate_of([b.truth_default for b in applied]),
            "default_rate_declined_truth": rate_of([b.truth_default for b in declined]),
        }
    return out


def pd_buckets(
    borrowers: Sequence[Any], edges: Sequence[float] = PD_EDGES, truth: bool = False
) -> list[dict[str, Any]]:
    """Mean predicted PD vs realised default rate per PD bucket ``[lo, hi)``.

    ``truth=False`` (funded loans): realised = defaulted on chain. ``truth=True`` (every
    applicant, approved or not): realised = the generator's ground truth. Each row carries a
    95 % Wilson interval of the realised rate (few loans per bucket: read it). ``hi`` is
    reported at most 1.
    """
    rows = []
    scored = [b for b in borrowers if b.pd is not None]
    edges = tuple(edges)
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        members = [b for b in scored if pd_bucket(b.pd, edges) == k]
        if not members:
            continue
        hits = [b.truth_default if truth else b.defaulted for b in members]
        n, k = len(members), sum(hits)
        low, high = wilson(k, n)
        rows.append(
            {
                "lo": lo,
                "hi": min(hi, 1.0),
                "count": n,
                "mean_pd": float(np.mean([b.pd for b in members])),
                "default_rate": k / n,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return rows


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a binomial rate ``k / n``."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    den = 1 + z * z / n
    mid = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (max(0.0, mid - half), min(1.0, mid + half))


def gas_means(gas: Mapping[str, Mapping[str, Mapping[str, int]]]) -> dict[str, int]:
    """Mean gas per call of each operation, over every role (``{role: {op: {count, gas}}}``)."""
    total: dict[str, list[int]] = {}
    for per in gas.values():
        for op, g in per.items():
            t = total.setdefault(op, [0, 0])
            t[0] += int(g["gas"])
            t[1] += int(g["count"])
    return {op: round(g / n) for op, (g, n) in sorted(total.items()) if n}


def share_by_kind(
    kinds: Mapping[int, str], rewards: Mapping[int, int], bounty: int
) -> dict[str, dict[str, Any]]:
    """Per owner kind: owners, wei paid, share of the bounty, and the largest single owner's
    share (``kinds``: owner -> kind; ``rewards``: owner -> wei)."""
    out: dict[str, dict[str, Any]] = {}
    for owner, kind in kinds.items():
        row = out.setdefault(kind, {"owners": 0, "paid_wei": 0, "max_owner_wei": 0})
        paid = int(rewards.get(owner, 0))
        row["owners"] += 1
        row["paid_wei"] += paid
        row["max_owner_wei"] = max(row["max_owner_wei"], paid)
    for row in out.values():
        row["share"] = row["paid_wei"] / bounty if bounty else 0.0
        row["max_owner_share"] = row["max_owner_wei"] / bounty if bounty else 0.0
        row["paid_wei"] = str(row["paid_wei"])
        row["max_owner_wei"] = str(row["max_owner_wei"])
    return dict(sorted(out.items()))
