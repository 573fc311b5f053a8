"""Generated motor-insurance policies and claims, with a documented truth.

The insurance half of Hessian (issue 18) needs a claims file whose claim *frequency* is driven
by the application's features and whose claim *severity* has a known distribution, so pricing
can be checked and the simulation can compare predicted with realised claims. Its schema is the
built-in ``insurance_claims`` (``schemas/insurance_claims.toml``); one row is one policy year
(or half year) of one vehicle.

**Applicants** (independent draws, one ``numpy.random.Generator``)::

    driver_age        18 + Gamma(2.6, 10), whole years, ≤ 90        (≈ 9 % under 25)
    years_licensed    age − (17 + Gamma(1, 2.5)), whole years, ≥ 0  (the file: "10+ years")
    prior_claims      Poisson(0.07·min(years_licensed, 5)·(1.5 if age < 25)), ≤ 5
    vehicle_type      sedan 42 %, suv 27 %, truck 12 %, van 11 %, sports 8 % (sports: more
                      under 30)
    region            urban 38 %, suburban 42 %, rural 20 %
    annual_mileage    11,000·exp(0.45·N(0, 1)) × (rural 1.2, urban 0.85) × (truck, van 1.25),
                      to the 100, in 1,000..60,000
    vehicle_age       Gamma(2, 3.5) years (vehicle_first_registered = policy_start − age)
    deductible        250 15 %, 500 40 %, 1,000 33 %, 2,000 12 %
    coverage_limit    15,000 25 %, 25,000 40 %, 50,000 25 %, 100,000 10 %
    policy_term       12 months 85 %, 6 months 15 %
    policy_start      uniform over 2022-01-01 .. 2023-12-31

**Frequency** (the truth: :func:`accident_logit`, :func:`true_claim_probability`)::

    η = A + 1.1·exp(−(age − 18)/6) + 0.025·max(age − 70, 0)      young and old drivers
          + 0.6·exp(−years_licensed/2.5)                          inexperience
          + 0.28·prior_claims
          + VEHICLE[v] + REGION[r]
          + 0.40·ln(annual_mileage / 11,000)
          − 0.012·(vehicle_age − 7)
    P(accident in the policy year) q = σ(η);  over a term of t months 1 − (1 − q)^(t/12)
    P(claim filed) = (1 − (1 − q)^(t/12)) · (1 − F_v(D))          a claim needs S > D

with ``A`` = :data:`INTERCEPT`, ``VEHICLE`` and ``REGION`` below, ``F_v`` the vehicle's severity
distribution and ``D`` the deductible: a higher deductible means fewer claims. At most one
claim per policy (the label is "claimed or not"). About 11 % of policies claim; a logistic
regression on the schema's features separates them with ROC AUC ≈ 0.65-0.68 (motor claim
frequency models are weak: Gini 0.2-0.4).

**Severity** (the truth: :data:`SEVERITY`, :func:`expected_severity`): the ground-up loss of
an accident is lognormal by vehicle type (medians sedan 2,800, suv 3,400, truck 3,900, van
3,200, sports 5,500 dollars; σ 1.05, 1.05, 1.10, 1.00, 1.20). The policy pays
``min(S, L) − D``; a loss at or above the limit is a total loss. Expected payment per claim:
``(LEV(L) − LEV(D)) / (1 − F(D))`` (:mod:`hessian_common.insurance.severity`).

**The file** (:func:`write_policies`): a line ``Report generated ...`` before the header, the
columns of :data:`COLUMNS`, a ``Total policies: N`` footer. ``claim_status`` is ``No Claim``,
``Claimed`` or ``Claimed - Total Loss``; 3 % of policies are ``Open`` and 1 % ``Under Review``
(chosen at random, whatever their outcome, so leaving them out biases nothing).
``claim_amount`` (the amount paid, dollars) and ``claim_date`` are known only after the policy
year: **leakage columns**, never features (the schema lists them; the preprocessing refuses
them). The severity of the insurer's book is fitted from them
(:func:`hessian_common.insurance.severity.fit_severity`).

The same seed gives identical bytes.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hessian_common.errors import DataError
from hessian_common.insurance.severity import Lognormal

SCHEMA_NAME = "insurance_claims"
LABEL = "claim_status"
GENERATOR_VERSION = 1

VEHICLE_TYPES = ("sedan", "suv", "truck", "van", "sports")
VEHICLE_SHARE = (0.42, 0.27, 0.12, 0.11, 0.08)
REGIONS = ("urban", "suburban", "rural")
REGION_SHARE = (0.38, 0.42, 0.20)
DEDUCTIBLES = (250, 500, 1000, 2000)
DEDUCTIBLE_SHARE = (0.15, 0.40, 0.33, 0.12)
LIMITS = (15_000, 25_000, 50_000, 100_000)
LIMIT_SHARE = (0.25, 0.40, 0.25, 0.10)
TERMS = (6, 12)

INTERCEPT = -2.70
"""``A``, the log-odds of an accident in a year for the reference driver (so that ≈ 11 % of
policies claim)."""
VEHICLE = {"sedan": 0.0, "suv": 0.05, "truck": 0.10, "van": 0.15, "sports": 0.60}
"""Effect of the vehicle type on the log-odds of an accident."""
REGION = {"urban": 0.40, "suburban": 0.15, "rural": 0.0}
"""Effect of the region on the log-odds of an accident."""
MILEAGE_REF = 11_000.0

SEVERITY: dict[str, Lognormal] = {
    "sedan": Lognormal.from_median(2800, 1.05),
    "suv": Lognormal.from_median(3400, 1.05),
    "truck": Lognormal.from_median(3900, 1.10),
    "van": Lognormal.from_median(3200, 1.00),
    "sports": Lognormal.from_median(5500, 1.20),
}
"""The ground-up loss of an accident, by vehicle type (dollars)."""

OPEN_SHARE, REVIEW_SHARE = 0.03, 0.01

COLUMNS = [
    "policy_id", "driver_age", "years_licensed", "prior_claims", "vehicle_type",
    "vehicle_first_registered", "region", "annual_mileage", "deductible", "coverage_limit",
    "policy_term", "policy_start", LABEL, "claim_amount", "claim_date",
]  # fmt: skip
"""Columns of the file, in order."""

TRUTH_COLUMNS = ["vehicle_age", "accident", "loss"]
"""Columns of :func:`generate_policies`'s frame that are not in the file (the truth)."""


def _sigmoid(z: np.ndarray) -> np.ndarray:
    from scipy.special import expit  # heavy optional: scipy

    return expit(z)


def _num(frame: pd.DataFrame, name: str) -> np.ndarray:
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float)


def _vehicle_age(frame: pd.DataFrame) -> np.ndarray:
    if "vehicle_age" in frame:
        return _num(frame, "vehicle_age")
    start = pd.to_datetime(frame["policy_start"])
    reg = pd.to_datetime(frame["vehicle_first_registered"])
    return ((start - reg).dt.days / 365.25).to_numpy(dtype=float)


def accident_logit(frame: pd.DataFrame) -> np.ndarray:
    """``η``, the log-odds of an accident in a policy year (module docstring), shape (n,).

    ``frame`` has the columns of :func:`generate_policies` (``years_licensed`` a number,
    ``vehicle_age`` or the two dates).
    """
    age = _num(frame, "driver_age")
    lic = _num(frame, "years_licensed")
    prior = _num(frame, "prior_claims")
    mileage = _num(frame, "annual_mileage")
    veh = np.array([VEHICLE[v] for v in frame["vehicle_type"]])
    reg = np.array([REGION[r] for r in frame["region"]])
    return (
        INTERCEPT
        + 1.5 * np.exp(-(age - 18.0) / 6.0)
        + 0.025 * np.maximum(age - 70.0, 0.0)
        + 0.6 * np.exp(-lic / 2.5)
        + 0.40 * prior
        + veh
        + reg
        + 0.55 * np.log(mileage / MILEAGE_REF)
        - 0.012 * (_vehicle_age(frame) - 7.0)
    )


def accident_probability(frame: pd.DataFrame) -> np.ndarray:
    """``1 − (1 − σ(η))^(t/12)``: P(an accident during the policy's term), shape (n,)."""
    q = _sigmoid(accident_logit(frame))
    t = _num(frame, "policy_term")
    return 1.0 - (1.0 - q) ** (t / 12.0)


def true_claim_probability(frame: pd.DataFrame) -> np.ndarray:
    """P(a claim is filed) = P(accident during the term) · (1 − F_v(D)), shape (n,).

    What a perfect claims model would predict for each row of ``frame`` (the generator's
    columns; see :func:`accident_logit`).
    """
    ded = _num(frame, "deductible")
    above = np.array(
        [float(SEVERITY[v].sf(d)) for v, d in zip(frame["vehicle_type"], ded, strict=True)]
    )
    return accident_probability(frame) * above


def expected_severity(vehicle: str, deductible: float, limit: float) -> float:
    """E[amount paid | a claim] = ``E[min(S, L) − D | S > D]`` for this vehicle type (dollars)."""
    if vehicle not in SEVERITY:
        raise DataError(f"no severity for vehicle type {vehicle!r} (have {', '.join(SEVERITY)})")
    return float(SEVERITY[vehicle].payment_mean(deductible, limit))


def expected_claims_cost(frame: pd.DataFrame) -> np.ndarray:
    """The truth's expected amount paid per policy: P(claim) · E[payment | claim], shape (n,)."""
    p = true_claim_probability(frame)
    sev = np.array(
        [
            expected_severity(v, d, lim)
            for v, d, lim in zip(
                frame["vehicle_type"],
                _num(frame, "deductible"),
                _num(frame, "coverage_limit"),
                strict=True,
            )
        ]
    )
    return p * sev


def _choice(rng: np.random.Generator, levels: tuple, share: tuple, n: int) -> np.ndarray:
    return np.asarray(levels, dtype=object)[rng.choice(len(levels), size=n, p=share)]


def generate_policies(rows: int = 10_000, seed: int | np.random.Generator = 0) -> pd.DataFrame:
    """Draw ``rows`` policies and their outcomes (module docstring).

    Returns a frame with :data:`COLUMNS` (``years_licensed`` as a number, dates as text,
    ``claim_amount`` NaN without a paid claim) and the truth's :data:`TRUTH_COLUMNS`
    (``vehicle_age`` in years, ``accident`` 0/1, ``loss`` the ground-up loss or 0).
    """
    if not isinstance(rows, int | np.integer) or isinstance(rows, bool) or rows < 1:
        raise DataError(f"rows must be a positive integer, got {rows!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    n = int(rows)
    age = np.minimum(np.floor(18 + rng.gamma(2.2, 11.0, n)), 90.0)
    licensed_at = 17.0 + rng.gamma(1.0, 2.5, n)
    lic = np.maximum(np.floor(age - licensed_at), 0.0)
    prior = np.minimum(rng.poisson(0.07 * np.minimum(lic, 5) * np.where(age < 25, 1.5, 1.0)), 5)
    share = np.tile(np.asarray(VEHICLE_SHARE), (n, 1))
    share[:, VEHICLE_TYPES.index("sports")] *= np.where(age < 30, 2.0, 1.0)
    share /= share.sum(axis=1, keepdims=True)
    pick = (rng.random(n)[:, None] > share.cumsum(axis=1)).sum(axis=1)
    vehicle = np.asarray(VEHICLE_TYPES, dtype=object)[np.minimum(pick, len(VEHICLE_TYPES) - 1)]
    region = _choice(rng, REGIONS, REGION_SHARE, n)
    mileage = (
        MILEAGE_REF
        * np.exp(0.5 * rng.standard_normal(n))
        * np.select([region == "rural", region == "urban"], [1.2, 0.85], 1.0)
        * np.where(np.isin(vehicle, ["truck", "van"]), 1.25, 1.0)
    )
    mileage = np.clip(np.round(mileage / 100) * 100, 1000, 60_000)
    start = np.datetime64("2022-01-01") + rng.integers(0, 730, n).astype("timedelta64[D]")
    vehicle_days = np.round(rng.gamma(2.0, 3.5, n) * 365.25).astype("timedelta64[D]")
    registered = start - vehicle_days
    ded = _choice(rng, DEDUCTIBLES, DEDUCTIBLE_SHARE, n).astype(float)
    lim = _choice(rng, LIMITS, LIMIT_SHARE, n).astype(float)
    term = np.where(rng.random(n) < 0.85, 12.0, 6.0)
    frame = pd.DataFrame(
        {
            "policy_id": [f"P{100000 + i}" for i in range(n)],
            "driver_age": age,
            "years_licensed": lic,
            "prior_claims": prior.astype(float),
            "vehicle_type": vehicle,
            "vehicle_first_registered": registered.astype(str).astype(object),
            "region": region,
            "annual_mileage": mileage,
            "deductible": ded,
            "coverage_limit": lim,
            "policy_term": term,
            "policy_start": start.astype(str).astype(object),
        }
    )
    frame["vehicle_age"] = vehicle_days.astype(float) / 365.25
    accident = rng.random(n) < accident_probability(frame)
    z = rng.standard_normal(n)
    loss = np.zeros(n)
    for v, dist in SEVERITY.items():
        m = vehicle == v
        loss[m] = np.exp(dist.mu + dist.sigma * z[m])
    loss = np.where(accident, loss, 0.0)
    claimed = accident & (loss > ded)
    total = claimed & (loss >= lim)
    status = np.where(total, "Claimed - Total Loss", np.where(claimed, "Claimed", "No Claim"))
    u = rng.random(n)
    status = np.where(u < OPEN_SHARE, "Open", status)
    status = np.where((u >= OPEN_SHARE) & (u < OPEN_SHARE + REVIEW_SHARE), "Under Review", status)
    settled = claimed & np.isin(status, ["Claimed", "Claimed - Total Loss"])
    paid = np.round(np.minimum(loss, lim) - ded, 2)
    day = (rng.random(n) * term * 30.4).astype(int).astype("timedelta64[D]")
    frame[LABEL] = status.astype(object)
    frame["claim_amount"] = np.where(settled, paid, np.nan)
    frame["claim_date"] = np.where(claimed, (start + day).astype(str), "").astype(object)
    frame["accident"] = accident.astype(np.int8)
    frame["loss"] = np.round(loss, 2)
    return frame


def _years_text(v: float) -> str:
    if v != v:
        return "n/a"
    k = int(v)
    if k >= 10:
        return "10+ years"
    if k < 1:
        return "< 1 year"
    return "1 year" if k == 1 else f"{k} years"


def write_policies(frame: pd.DataFrame, out: str | Path | io.TextIOBase) -> None:
    """Write policies as the policy system's export: a report line, the header, the rows
    (``years_licensed`` as ``"10+ years"``, terms as ``"12 months"``), a ``Total policies``
    footer."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"frame lacks column(s) {', '.join(missing)}")

    def num(v: Any, fmt: str) -> str:
        return "" if v is None or v != v else format(float(v), fmt)

    own = not isinstance(out, io.TextIOBase)
    fh = open(out, "w", encoding="utf-8", newline="") if own else out  # noqa: SIM115
    try:
        w = csv.writer(fh, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        w.writerow(["Report generated by the policy system"])
        w.writerow(COLUMNS)
        for r in frame[COLUMNS].itertuples(index=False):
            w.writerow(
                [
                    r.policy_id,
                    num(r.driver_age, ".0f"),
                    _years_text(float(r.years_licensed)),
                    num(r.prior_claims, ".0f"),
                    r.vehicle_type,
                    r.vehicle_first_registered,
                    r.region,
                    num(r.annual_mileage, ".0f"),
                    num(r.deductible, ".0f"),
                    num(r.coverage_limit, ".0f"),
                    f"{float(r.policy_term):.0f} months",
                    r.policy_start,
                    r.claim_status,
                    num(r.claim_amount, ".2f"),
                    r.claim_date,
                ]
            )
        w.writerow([f"Total policies: {len(frame)}"])
    finally:
        if own:
            fh.close()


__all__ = [
    "COLUMNS",
    "DEDUCTIBLES",
    "GENERATOR_VERSION",
    "INTERCEPT",
    "LIMITS",
    "REGION",
    "REGIONS",
    "SEVERITY",
    "TERMS",
    "VEHICLE",
    "VEHICLE_TYPES",
    "accident_logit",
    "accident_probability",
    "expected_claims_cost",
    "expected_severity",
    "generate_policies",
    "true_claim_probability",
    "write_policies",
]
