"""Premium pricing: from a claim probability to a premium, or a decline.

The maths (amounts in dollars; the policy's currency only at the end)::

    A policy: vehicle type v, deductible D, coverage limit L (D < L), term t months.
    p       = the calibrated probability that a claim is filed during the term (the claims
              model: P(an accident) × P(its loss S exceeds D))
    S       = the ground-up loss of an accident, lognormal by vehicle type (the insurer's
              fitted table, :mod:`hessian_common.insurance.severity`)
    sev     = E[min(S, L) − D | S > D] = (LEV(L) − LEV(D)) / (1 − F(D))
              the expected amount paid per claim, in [0, L − D] (closed form, LEV the
              lognormal's limited expected value)
    EL      = p · sev                                   expected loss of the policy
            = P(accident) · E[min(max(S − D, 0), L − D)]    (the same number)
              so 0 ≤ EL ≤ p·(L − D) ≤ L − D
    premium = EL · (1 + θ) + e                          θ risk loading, e expense per policy

    Quote (:func:`quote`):
        decline if p > max_claim_probability, or the vehicle type, D, L or t is not offered
        (or D ≥ L);
        else premium, rounded up to the cent.
    The premium is increasing in p (linear), and at p = 0 it is the expense e.

    Target loss ratio of a book of policies: Σ EL / Σ premium (< 1/(1 + θ) with expenses);
    the realised one is claims paid / premiums.

Why a closed form: the policy pays a layer ``[D, L]`` of a lognormal loss, whose expectation is
the difference of two limited expected values (no integration error, vectorised); the
severity distribution is the insurer's *ground-up* fit from its own paid claims, with the
truncation at the deductible and the censoring at the limit in the likelihood, so one table
prices every deductible and limit it offers (:func:`~.severity.fit_severity`).

**On chain** amounts are integers in the currency's base units: a currency with ``decimals``
decimal places (6 for a dollar stablecoin such as TestUSD, 18 for ETH; never assumed) and the
policy's ``token_price`` (dollars per whole token, a decimal text: ``"1"`` for a dollar
stablecoin)::

    units(x dollars) = x / token_price × 10^decimals        exact (fractions), then
        premium   rounded up         (the insurer never charges less than its rule)
        deductible rounded up, coverage limit rounded down   (never more cover than priced)

The public policy document (``hessian.insurance-policy/1``, :func:`policy_document`,
:func:`parse_policy_document`) publishes this rule, the severity table, the application key and
the fields an applicant fills in; a stranger's document is read through
:mod:`hessian_common.untrusted`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from hessian_common.data.insurance import SEVERITY
from hessian_common.errors import InsuranceInputError
from hessian_common.insurance.severity import Lognormal
from hessian_common.types import Ppm, to_ppm
from hessian_common.untrusted import MAX_BYTES, loads_object, reading

FORMAT = "hessian.insurance-pricing/1"
DOCUMENT_FORMAT = "hessian.insurance-policy/1"
MAX_DECIMALS = 36
"""Most decimal places of a currency :func:`to_units` accepts."""
MAX_CHOICES = 20
"""Most deductibles, limits, terms or vehicle types a policy may offer."""
MAX_AMOUNT = 10**9
"""Largest deductible or coverage limit, in dollars."""


def default_severity() -> dict[str, Lognormal]:
    """The severity table of the generated data's truth (``hessian_common.data.insurance``);
    a deploying insurer fits its own (:func:`~.severity.fit_severity`)."""

    return dict(SEVERITY)


def _decimal_text(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


@dataclass(frozen=True)
class PricingPolicy:
    """The insurer's public pricing rule (published with the deployment).

    Attributes
    ----------
    risk_loading : float
        θ: the premium is the expected loss × (1 + θ) + the expense (0.25 = 25 %).
    expense_per_policy : float
        e, dollars per policy (administration, claims handling).
    max_claim_probability : float
        Applications with a claim probability above this are declined.
    deductibles, coverage_limits : tuple of int
        What the insurer offers, whole dollars.
    terms : tuple of int
        Policy terms offered, months.
    severity : dict of vehicle type -> Lognormal
        The ground-up loss per accident, by vehicle type (dollars); a type not listed is
        declined.
    token_price : str
        Dollars per whole token of the currency (decimal text; ``"1"``: a dollar stablecoin).
    """

    risk_loading: float = 0.25
    expense_per_policy: float = 40.0
    max_claim_probability: float = 0.35
    deductibles: tuple[int, ...] = (250, 500, 1000, 2000)
    coverage_limits: tuple[int, ...] = (15_000, 25_000, 50_000, 100_000)
    terms: tuple[int, ...] = (6, 12)
    severity: dict[str, Lognormal] = field(default_factory=default_severity)
    token_price: str = "1"

    def errors(self) -> dict[str, str]:
        """``{field: message}`` for every invalid field (empty when the policy is usable)."""
        e: dict[str, str] = {}

        def num(name: str, lo: float, hi: float, words: str) -> None:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                e[name] = f"must be a finite number, got {v!r}"
            elif not lo <= v <= hi:
                e[name] = f"must be in {words}, got {v}"

        num("risk_loading", 0.0, 10.0, "[0, 10] (a fraction of the expected loss)")
        num("expense_per_policy", 0.0, 1e6, "[0, 1,000,000] dollars")
        num("max_claim_probability", 0.0, 1.0, "(0, 1]")
        p = self.max_claim_probability
        if "max_claim_probability" not in e and p <= 0:
            e["max_claim_probability"] = f"must be in (0, 1], got {p}"

        def whole(name: str, lo: int, hi: int) -> tuple[int, ...]:
            v = getattr(self, name)
            if (
                not isinstance(v, tuple | list)
                or not 1 <= len(v) <= MAX_CHOICES
                or any(
                    isinstance(x, bool) or not isinstance(x, int) or not lo <= x <= hi for x in v
                )
                or len(set(v)) != len(v)
            ):
                e[name] = (
                    f"must be a list of 1 to {MAX_CHOICES} different whole numbers in "
                    f"{lo:,}..{hi:,}, got {v!r}"
                )
                return ()
            return tuple(v)

        deds = whole("deductibles", 0, MAX_AMOUNT)
        lims = whole("coverage_limits", 1, MAX_AMOUNT)
        whole("terms", 1, 60)
        if deds and lims and min(deds) >= max(lims):
            e["coverage_limits"] = "every limit is at or below every deductible: nothing to sell"
        sev = self.severity
        if (
            not isinstance(sev, Mapping)
            or not 1 <= len(sev) <= MAX_CHOICES
            or not all(isinstance(k, str) and 0 < len(k) <= 40 for k in sev)
            or not all(isinstance(v, Lognormal) for v in sev.values())
        ):
            e["severity"] = (
                f"must map 1 to {MAX_CHOICES} vehicle types (names of up to 40 characters) to "
                "lognormal losses"
            )
        elif not all(0.0 <= v.mu <= 20.0 and 0.01 <= v.sigma <= 4.0 for v in sev.values()):
            e["severity"] = "each loss needs mu in [0, 20] and sigma in [0.01, 4]"
        price = _decimal_text(self.token_price)
        if not isinstance(self.token_price, str) or price is None:
            e["token_price"] = f"must be a decimal number as text, got {self.token_price!r}"
        elif not Decimal("1e-12") <= price <= Decimal("1e12"):
            e["token_price"] = f"must be in 1e-12..1e12 dollars a token, got {self.token_price}"
        return e

    def check(self) -> PricingPolicy:
        """Raise :class:`InsuranceInputError` (with ``.errors``) unless the policy is usable."""
        errors = self.errors()
        if errors:
            raise InsuranceInputError(errors)
        return self

    def to_units(self, dollars: Any, decimals: int, rounding: str = "up") -> int:
        """``dollars / token_price × 10^decimals``, rounded ``"up"`` or ``"down"`` (exact)."""
        return to_units(dollars, self.token_price, decimals, rounding)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, ``{"format": "hessian.insurance-pricing/1", ...}``."""
        d = {k: v for k, v in asdict(self).items() if k != "severity"}
        for k in ("deductibles", "coverage_limits", "terms"):
            d[k] = list(getattr(self, k))
        d["severity"] = {k: v.to_dict() for k, v in sorted(self.severity.items())}
        return {"format": FORMAT, **d}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> PricingPolicy:
        """Inverse of :meth:`to_dict`; checks the policy (:class:`InsuranceInputError`)."""
        if not isinstance(d, Mapping) or d.get("format") != FORMAT:
            raise InsuranceInputError({"policy": f"not a {FORMAT} document"})
        names = set(cls.__dataclass_fields__)
        unknown = sorted(str(k) for k in set(d) - names - {"format"})
        if unknown:
            raise InsuranceInputError({"policy": f"unknown field(s) {', '.join(unknown)}"})
        kwargs: dict[str, Any] = {k: v for k, v in d.items() if k in names}
        for k in ("deductibles", "coverage_limits", "terms"):
            if isinstance(kwargs.get(k), list):
                kwargs[k] = tuple(kwargs[k])
        if "severity" in kwargs:
            raw = kwargs["severity"]
            if not isinstance(raw, Mapping) or len(raw) > MAX_CHOICES:
                raise InsuranceInputError({"severity": "must map vehicle types to losses"})
            try:
                kwargs["severity"] = {k: Lognormal.from_dict(v) for k, v in raw.items()}
            except ValueError as exc:  # DataError is a ValueError
                raise InsuranceInputError({"severity": str(exc)}) from None
        return cls(**kwargs).check()


def to_units(dollars: Any, token_price: str, decimals: int, rounding: str = "up") -> int:
    """Dollars in a currency's base units: ``dollars / token_price × 10^decimals``.

    Exact (``Fraction`` of the decimal texts), then rounded ``"up"`` or ``"down"`` to an
    integer. ``decimals`` is the currency's (6 for a stablecoin, 18 for ETH), 0..36.
    """
    if isinstance(decimals, bool) or not isinstance(decimals, int):
        raise InsuranceInputError({"decimals": f"must be a whole number, got {decimals!r}"})
    if not 0 <= decimals <= MAX_DECIMALS:
        raise InsuranceInputError({"decimals": f"must be 0..{MAX_DECIMALS}, got {decimals}"})
    amount, price = _decimal_text(dollars), _decimal_text(token_price)
    if amount is None or amount < 0:
        raise InsuranceInputError({"amount": f"must be a finite amount >= 0, got {dollars!r}"})
    if price is None or price <= 0:
        raise InsuranceInputError({"token_price": f"must be positive, got {token_price!r}"})
    exact = Fraction(amount) / Fraction(price) * 10**decimals
    if rounding == "up":
        return -((-exact.numerator) // exact.denominator)
    if rounding == "down":
        return exact.numerator // exact.denominator
    raise InsuranceInputError({"rounding": f"must be 'up' or 'down', got {rounding!r}"})


@dataclass(frozen=True)
class Quote:
    """The suggested decision for one application (amounts on chain in base units).

    ``premium`` is 0 when declined; ``coverage_limit`` and ``deductible`` are the policy's
    terms in base units; ``expected_loss``, ``expected_severity`` and ``premium_dollars`` are
    in dollars (0 when declined for a term that is not offered).
    """

    approved: bool
    reason: str
    probability: float
    probability_ppm: Ppm
    premium: int
    coverage_limit: int
    deductible: int
    term: int
    expected_loss: float = 0.0
    expected_severity: float = 0.0
    premium_dollars: Decimal = Decimal(0)
    decimals: int = 0
    vehicle_type: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["premium_dollars"] = str(self.premium_dollars)
        return d


def expected_loss(
    policy: PricingPolicy, probability: float, vehicle_type: str, deductible: float, limit: float
) -> tuple[float, float]:
    """``(EL, sev)``: ``sev = E[min(S, L) − D | S > D]`` of the vehicle's loss, ``EL = p·sev``."""
    dist = policy.severity[vehicle_type]
    sev = float(dist.payment_mean(float(deductible), float(limit)))
    return float(probability) * sev, sev


def premium_dollars(policy: PricingPolicy, expected: float) -> Decimal:
    """``EL·(1 + θ) + e``, rounded up to the cent."""
    raw = float(expected) * (1.0 + float(policy.risk_loading)) + float(policy.expense_per_policy)
    return Decimal(repr(raw)).quantize(Decimal("0.01"), rounding=ROUND_CEILING)


def quote(
    policy: PricingPolicy,
    probability: float,
    vehicle_type: str,
    deductible: int,
    coverage_limit: int,
    term: int,
    decimals: int,
) -> Quote:
    """Price one application under ``policy`` (the module docstring has the rule).

    Parameters
    ----------
    policy : PricingPolicy
    probability : the calibrated probability that a claim is filed during the term, [0, 1].
    vehicle_type : the applicant's vehicle type (a key of ``policy.severity``).
    deductible, coverage_limit : the terms asked for, whole dollars.
    term : months.
    decimals : the currency's decimal places (6, 18, ...).

    Raises
    ------
    InsuranceInputError
        ``probability`` is not a probability, or ``decimals`` is not 0..36; a term that is
        not offered is a declined quote, not an error.
    """
    p = probability
    if isinstance(p, bool) or not isinstance(p, int | float) or not 0.0 <= float(p) <= 1.0:
        raise InsuranceInputError({"probability": f"must be in [0, 1], got {probability!r}"})
    p = float(p)
    ppm = to_ppm(p)
    ded_units = policy.to_units(deductible, decimals, "up")
    lim_units = policy.to_units(coverage_limit, decimals, "down")
    base = dict(probability=p, probability_ppm=ppm, coverage_limit=lim_units,
                deductible=ded_units, term=int(term), decimals=decimals,
                vehicle_type=str(vehicle_type))  # fmt: skip

    def declined(reason: str, el: float = 0.0, sev: float = 0.0) -> Quote:
        return Quote(False, reason, premium=0, expected_loss=el, expected_severity=sev, **base)

    if vehicle_type not in policy.severity:
        return declined(f"vehicle type {vehicle_type!r} is not insured by this policy")
    if int(term) not in policy.terms:
        return declined(f"a {term}-month term is not offered ({_listed(policy.terms)} months)")
    if deductible not in policy.deductibles:
        return declined(f"a deductible of ${deductible:,} is not offered")
    if coverage_limit not in policy.coverage_limits:
        return declined(f"a coverage limit of ${coverage_limit:,} is not offered")
    if deductible >= coverage_limit:
        return declined("the deductible must be below the coverage limit")
    el, sev = expected_loss(policy, p, vehicle_type, deductible, coverage_limit)
    if p > policy.max_claim_probability:
        return declined(
            f"claim probability {p:.1%} is above the policy's maximum "
            f"{policy.max_claim_probability:.1%}",
            el,
            sev,
        )
    dollars = premium_dollars(policy, el)
    return Quote(
        approved=True,
        reason=f"claim probability {p:.1%} × ${sev:,.2f} a claim, loaded "
        f"{policy.risk_loading:.0%}, + ${policy.expense_per_policy:,.2f}",
        premium=policy.to_units(dollars, decimals, "up"),
        expected_loss=el,
        expected_severity=sev,
        premium_dollars=dollars,
        **base,
    )


def _listed(values: tuple[int, ...]) -> str:
    return ", ".join(str(v) for v in values)


def policy_document(
    *,
    model_id: int,
    model_cid: str,
    schema: str,
    policy: PricingPolicy,
    application_key: bytes,
    fields: list[str],
    insurer: str,
    policybook: str | None = None,
    currency: str | None = None,
) -> dict[str, Any]:
    """The public policy document an insurer publishes when it deploys a claims model."""
    return {
        "format": DOCUMENT_FORMAT,
        "model_id": int(model_id),
        "model_cid": str(model_cid),
        "schema": str(schema),
        "policy": policy.check().to_dict(),
        "application_key": bytes(application_key).hex(),
        "fields": list(fields),
        "insurer": str(insurer),
        "policybook": policybook,
        "currency": currency,
    }


def parse_policy_document(data: bytes) -> tuple[dict[str, Any], PricingPolicy]:
    """An insurance policy document (a stranger's blob) and its pricing policy; every
    failure is an :class:`~hessian_common.errors.UntrustedBlobError`."""

    with reading("insurance policy"):
        doc = loads_object(data, what="insurance policy", max_bytes=MAX_BYTES["policy"])
        if doc.get("format") != DOCUMENT_FORMAT:
            raise ValueError(f"not a {DOCUMENT_FORMAT} document")
        model_id, key = doc.get("model_id"), doc.get("application_key")
        if isinstance(model_id, bool) or not isinstance(model_id, int) or model_id < 1:
            raise ValueError("model_id must be a positive integer")
        if not isinstance(key, str) or len(bytes.fromhex(key)) != 32:
            raise ValueError("application_key must be 32 bytes of hex")
        fields = doc.get("fields", [])
        if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
            raise ValueError("fields must be a list of names")
        return doc, PricingPolicy.from_dict(doc.get("policy"))


__all__ = [
    "DOCUMENT_FORMAT",
    "FORMAT",
    "PricingPolicy",
    "Quote",
    "default_severity",
    "expected_loss",
    "parse_policy_document",
    "policy_document",
    "premium_dollars",
    "quote",
    "to_units",
]
