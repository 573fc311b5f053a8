"""The premium rule: its properties (hypothesis), its units, and the policy document."""

from __future__ import annotations

import contextlib
import json
import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hessian_common.errors import InsuranceInputError, UntrustedBlobError
from hessian_common.insurance.pricing import (
    DOCUMENT_FORMAT,
    PricingPolicy,
    expected_loss,
    parse_policy_document,
    policy_document,
    premium_dollars,
    quote,
    to_units,
)
from hessian_common.insurance.severity import Lognormal

POLICY = PricingPolicy().check()
VEHICLES = sorted(POLICY.severity)
TERMS_ASKED = [
    (d, lim) for d in POLICY.deductibles for lim in POLICY.coverage_limits if d < lim
]  # fmt: skip
KEY = bytes(range(32))

probabilities = st.floats(0.0, 1.0, allow_nan=False)
asks = st.tuples(st.sampled_from(VEHICLES), st.sampled_from(TERMS_ASKED), st.sampled_from([6, 12]))
policies = st.builds(
    PricingPolicy,
    risk_loading=st.floats(0.0, 3.0),
    expense_per_policy=st.floats(0.0, 500.0),
    max_claim_probability=st.floats(0.01, 1.0),
    token_price=st.sampled_from(["1", "0.9997", "3000", "10000", "1e-3"]),
)


def test_a_quote_by_hand():
    """p = 10 %, sedan, D = 500, L = 25,000: premium = 0.1·sev·1.25 + 40, to the cent."""
    sev = float(POLICY.severity["sedan"].payment_mean(500, 25_000))
    q = quote(POLICY, 0.1, "sedan", 500, 25_000, 12, 6)
    assert q.approved and q.expected_severity == pytest.approx(sev)
    assert q.expected_loss == pytest.approx(0.1 * sev)
    want = Decimal(repr(0.1 * sev * 1.25 + 40.0)).quantize(Decimal("0.01"), "ROUND_CEILING")
    assert q.premium_dollars == want and q.premium == int(want * 10**6)
    assert (q.deductible, q.coverage_limit, q.term) == (500 * 10**6, 25_000 * 10**6, 12)
    assert q.probability_ppm == 100_000
    assert q.to_dict()["premium_dollars"] == str(want)


@settings(max_examples=200)
@given(policies, probabilities, asks, st.sampled_from([6, 18]))
def test_premium_properties(policy, p, ask, decimals):
    vehicle, (d, lim), term = ask
    q = quote(policy, p, vehicle, d, lim, term, decimals)
    assert all(isinstance(v, int) for v in (q.premium, q.deductible, q.coverage_limit))
    assert q.premium >= 0 and q.deductible >= 0 and q.coverage_limit > q.deductible
    assert 0.0 <= q.expected_loss <= p * (lim - d) + 1e-9 and q.expected_loss <= lim - d
    assert 0.0 <= q.expected_severity <= lim - d
    assert q.approved == (p <= policy.max_claim_probability)
    if not q.approved:
        assert q.premium == 0 and "above the policy's maximum" in q.reason
        return
    # the premium in base units is the dollar premium, rounded up, never below the rule
    exact = Fraction(q.premium_dollars) / Fraction(Decimal(policy.token_price)) * 10**decimals
    assert q.premium - 1 < exact <= q.premium
    rule = q.expected_loss * (1 + policy.risk_loading) + policy.expense_per_policy
    assert rule <= float(q.premium_dollars) < rule + 0.01 + 1e-9
    # monotone in the claim probability
    lower = quote(policy, p / 2, vehicle, d, lim, term, decimals)
    assert lower.approved and lower.premium <= q.premium


@settings(max_examples=100)
@given(probabilities, probabilities, asks)
def test_premium_is_monotone_in_the_probability(p1, p2, ask):
    vehicle, (d, lim), term = ask
    lo, hi = sorted((p1, p2))
    policy = PricingPolicy(max_claim_probability=1.0)
    a = quote(policy, lo, vehicle, d, lim, term, 18)
    b = quote(policy, hi, vehicle, d, lim, term, 18)
    assert a.premium <= b.premium and a.expected_loss <= b.expected_loss


def test_zero_probability_costs_the_expense_and_a_larger_deductible_less():
    q = quote(POLICY, 0.0, "van", 250, 15_000, 12, 6)
    assert q.approved and q.premium == 40 * 10**6 and q.expected_loss == 0.0
    el, sev = expected_loss(POLICY, 0.2, "suv", 1000, 50_000)
    assert el == pytest.approx(0.2 * sev)
    layers = [float(POLICY.severity["suv"].layer_mean(d, 50_000)) for d in POLICY.deductibles]
    assert layers == sorted(layers, reverse=True)


@pytest.mark.parametrize(
    ("ask", "reason"),
    [
        (("tractor", 500, 25_000, 12), "vehicle type 'tractor'"),
        (("sedan", 500, 25_000, 9), "9-month term is not offered"),
        (("sedan", 300, 25_000, 12), "deductible of \\$300 is not offered"),
        (("sedan", 500, 20_000, 12), "coverage limit of \\$20,000 is not offered"),
    ],
)
def test_what_is_not_offered_is_declined(ask, reason):
    q = quote(POLICY, 0.05, *ask, 6)
    assert not q.approved and q.premium == 0
    assert re.search(reason, q.reason)
    policy = PricingPolicy(deductibles=(500, 30_000), coverage_limits=(25_000,))
    assert "below the coverage limit" in quote(policy, 0.05, "sedan", 30_000, 25_000, 12, 6).reason


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan"), True, "0.1", None])
def test_a_probability_must_be_one(p):
    with pytest.raises(InsuranceInputError, match="probability"):
        quote(POLICY, p, "sedan", 500, 25_000, 12, 6)


def test_units_are_exact_for_any_decimals():
    assert to_units("0.1", "1", 18) == 10**17
    assert to_units(0.1, "1", 6) == 100_000
    assert to_units("250", "10000", 18) == 25 * 10**15  # 0.025 ETH at $10,000
    assert to_units("1", "3", 0, "up") == 1 and to_units("1", "3", 0, "down") == 0
    assert to_units("1", "3", 6, "down") == 333_333 and to_units("1", "3", 6) == 333_334
    assert to_units(Decimal("579.71"), "1", 6) == 579_710_000
    for bad in (-1, 37, 2.0, True, "6"):
        with pytest.raises(InsuranceInputError, match="decimals"):
            to_units(1, "1", bad)
    for amount in (-1, "x", float("inf"), None, [1]):
        with pytest.raises(InsuranceInputError, match="amount"):
            to_units(amount, "1", 6)
    with pytest.raises(InsuranceInputError, match="token_price"):
        to_units(1, "0", 6)
    with pytest.raises(InsuranceInputError, match="rounding"):
        to_units(1, "1", 6, "nearest")
    # a limit rounds down, a deductible up: never more cover than was priced
    odd = PricingPolicy(token_price="3")
    q = quote(odd, 0.1, "sedan", 500, 25_000, 12, 0)
    assert q.deductible == 167 and q.coverage_limit == 8333


def test_premium_rounds_up_to_the_cent():
    assert premium_dollars(POLICY, 0.0) == Decimal("40.00")
    assert premium_dollars(POLICY, 1.0 / 3.0) == Decimal("40.42")  # 40.41666... up


def test_policy_round_trip_and_checks():
    d = json.loads(json.dumps(POLICY.to_dict()))
    assert d["format"] == "hessian.insurance-pricing/1"
    assert PricingPolicy.from_dict(d) == POLICY
    custom = PricingPolicy(
        risk_loading=0.4, expense_per_policy=12.5, max_claim_probability=0.2,
        deductibles=(0, 100), coverage_limits=(5000,), terms=(12,),
        severity={"sedan": Lognormal(7.5, 0.8)}, token_price="2500.5",
    )  # fmt: skip
    assert PricingPolicy.from_dict(json.loads(json.dumps(custom.to_dict()))) == custom.check()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"risk_loading": -0.1}, "risk_loading"),
        ({"risk_loading": True}, "risk_loading"),
        ({"risk_loading": float("nan")}, "risk_loading"),
        ({"expense_per_policy": "40"}, "expense_per_policy"),
        ({"max_claim_probability": 0.0}, "max_claim_probability"),
        ({"max_claim_probability": 1.5}, "max_claim_probability"),
        ({"deductibles": ()}, "deductibles"),
        ({"deductibles": (500, 500)}, "deductibles"),
        ({"deductibles": (500.5,)}, "deductibles"),
        ({"deductibles": tuple(range(21))}, "deductibles"),
        ({"coverage_limits": (0,)}, "coverage_limits"),
        ({"deductibles": (5000,), "coverage_limits": (5000,)}, "coverage_limits"),
        ({"terms": (0,)}, "terms"),
        ({"terms": "12"}, "terms"),
        ({"severity": {}}, "severity"),
        ({"severity": {"sedan": (8.0, 1.0)}}, "severity"),
        ({"severity": {"sedan": Lognormal(30.0, 1.0)}}, "severity"),
        ({"severity": {"x" * 41: Lognormal(8.0, 1.0)}}, "severity"),
        ({"token_price": 1}, "token_price"),
        ({"token_price": "1,5"}, "token_price"),
        ({"token_price": "0"}, "token_price"),
        ({"token_price": "NaN"}, "token_price"),
    ],
)
def test_every_bad_field_is_named(change, field):
    policy = PricingPolicy(**change)
    assert field in policy.errors()
    with pytest.raises(InsuranceInputError) as info:
        policy.check()
    assert field in info.value.errors


def document(**over):
    doc = policy_document(
        model_id=3, model_cid="bafkqaaa", schema="insurance_claims", policy=POLICY,
        application_key=KEY, fields=["driver_age"], insurer="0x" + "11" * 20,
    )  # fmt: skip
    doc.update(over)
    return json.dumps(doc).encode()


def test_policy_document_round_trip():
    doc, policy = parse_policy_document(document())
    assert policy == POLICY and doc["format"] == DOCUMENT_FORMAT and doc["model_id"] == 3
    assert bytes.fromhex(doc["application_key"]) == KEY


def hostile_documents() -> list[bytes]:
    good = json.loads(document())
    bad_policies = [
        {**good["policy"], "risk_loading": -1},
        {**good["policy"], "severity": {"sedan": {"mu": 8.0}}},
        {**good["policy"], "severity": {"sedan": {"mu": 8.0, "sigma": 1e308}}},
        {**good["policy"], "severity": [1, 2]},
        {**good["policy"], "severity": {str(i): {"mu": 8, "sigma": 1} for i in range(50)}},
        {**good["policy"], "deductibles": [[1]]},
        {**good["policy"], "terms": {"a": 1}},
        {**good["policy"], "extra": 1},
        {**good["policy"], "format": "hessian.pricing/1"},
        {**good["policy"], "token_price": None},
        "policy",
        None,
    ]
    return [
        b"", b"null", b"[]", b"{", b"\xff\xfe", b"[" * 100_000, b'{"format": NaN}',
        document(format="hessian.lending-policy/1"), document(model_id=0),
        document(model_id=True), document(model_id="3"), document(application_key="zz"),
        document(application_key="00" * 31), document(fields="driver_age"),
        document(fields=[1]),
        *(document(policy=p) for p in bad_policies),
        document(policy=good["policy"]) + b"x",
    ]  # fmt: skip


@pytest.mark.parametrize("data", hostile_documents())
def test_a_hostile_policy_document_is_one_error(data):
    with pytest.raises(UntrustedBlobError):
        parse_policy_document(data)


@settings(max_examples=150)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_any_bytes_are_a_document_or_one_error(data):
    with contextlib.suppress(UntrustedBlobError):
        parse_policy_document(data)


@settings(max_examples=150)
@given(st.data())
def test_a_mutated_document_is_a_document_or_one_error(data):
    raw = bytearray(document())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    try:
        _, policy = parse_policy_document(bytes(raw))
    except UntrustedBlobError:
        return
    assert policy.errors() == {}
