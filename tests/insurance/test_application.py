"""The insurance application: the form, canonical bytes, hostile bytes, features, sealing."""

from __future__ import annotations

import contextlib
import hashlib
import io
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hessian_common.crypto.sealing import new_application_key, seal
from hessian_common.data import Preprocessor, load_bytes, load_schema
from hessian_common.data.insurance import generate_policies, write_policies
from hessian_common.errors import CryptoError, InsuranceInputError, UntrustedBlobError
from hessian_common.insurance.application import (
    APPLICATION_FIELDS,
    SEAL_INFO,
    InsuranceApplication,
    application_from_row,
    features_frame,
    parse_application,
    seal_application,
)
from hessian_common.insurance.desk import open_application

NOW = "2026-11-26T09:30:00Z"
ME = "0x" + "ab" * 20


def good_form(**over: str) -> dict[str, str]:
    form = {
        "driver_age": "34", "years_licensed": "15", "prior_claims": "1",
        "vehicle_type": "SUV", "vehicle_first_registered": "Mar-2019", "region": "urban",
        "annual_mileage": "12000", "deductible": "$500", "coverage_limit": "25000",
        "policy_term": "12", "csrf_token": "ignored",
    }  # fmt: skip
    form.update(over)
    return form


def test_fields_are_the_schemas_features():
    schema = load_schema("insurance_claims")
    asked = {f.name for f in APPLICATION_FIELDS}
    derived = {"vehicle_age_years"}  # from vehicle_first_registered and the application day
    assert set(schema.feature_columns) - derived <= asked
    assert not any(n.startswith("claim") or "premium" in n for n in asked)


def test_parse_a_good_form():
    app = parse_application(good_form(), created_at=NOW)
    assert app.fields["vehicle_type"] == "suv"  # choices come back as listed
    assert (app.deductible, app.coverage_limit, app.term) == (500, 25_000, 12)
    assert app.policy_start == "2026-11-26" and app.vehicle_type == "suv"
    assert "csrf_token" not in app.fields


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("annual_mileage", "12,000", "comma"),
        ("deductible", "1,5", "comma"),
        ("driver_age", "15", "between 16 and 110"),
        ("driver_age", "34.5", "not a whole number"),
        ("prior_claims", "-1", "between"),
        ("vehicle_type", "tractor", "not one of"),
        ("region", "", "required"),
        ("vehicle_first_registered", "2019-03", "not a month"),
        ("vehicle_first_registered", "Dec-2026", "after the application month"),
        ("policy_term", "9", "not one of"),
        ("years_licensed", "25", "age minus 14"),
        ("deductible", "25000", "below the coverage limit"),
    ],
)
def test_every_bad_field_is_named(field, typed, message):
    with pytest.raises(InsuranceInputError) as info:
        parse_application(good_form(**{field: typed}), created_at=NOW)
    assert field in info.value.errors and message in info.value.errors[field]
    with pytest.raises(InsuranceInputError, match="created_at"):
        parse_application(good_form(), created_at="yesterday")


def test_all_bad_fields_at_once():
    with pytest.raises(InsuranceInputError) as info:
        parse_application({"driver_age": "old", "region": "moon"}, created_at=NOW)
    assert {"driver_age", "region", "vehicle_type", "deductible"} <= set(info.value.errors)


def test_canonical_bytes_digest_and_round_trip():
    app = replace(parse_application(good_form(), created_at=NOW), applicant=ME)
    data = app.to_bytes()
    assert b'"format":"hessian.insurance-application/1"' in data and b" " not in data
    again = InsuranceApplication.from_bytes(data)
    assert again == app and again.digest() == app.digest() and len(app.digest()) == 32
    assert parse_application(good_form(prior_claims="2"), created_at=NOW).digest() != app.digest()
    with pytest.raises(UntrustedBlobError, match="driver_age"):
        InsuranceApplication.from_bytes(data.replace(b'"driver_age":34.0', b'"driver_age":3'))
    with pytest.raises(UntrustedBlobError, match="canonical"):
        InsuranceApplication.from_bytes(data.replace(b",", b", ", 1))
    with pytest.raises(UntrustedBlobError, match="applicant is not an address"):
        InsuranceApplication.from_bytes(data.replace(ME.encode(), b"me"))
    with pytest.raises(UntrustedBlobError, match="unknown key"):
        InsuranceApplication.from_bytes(data.replace(b'{"applicant"', b'{"admin":1,"applicant"'))
    with pytest.raises(UntrustedBlobError, match=r"not a hessian\.insurance-application/1"):
        InsuranceApplication.from_bytes(data.replace(b"insurance-application", b"application"))


HOSTILE = [
    b"", b"null", b"[]", b"{", b"\xff", b"[" * 100_000, b"1" * 300_000,
    b'{"format":"hessian.insurance-application/1","created_at":5,"fields":{}}',
    b'{"format":"hessian.insurance-application/1","created_at":"x","fields":[]}',
    b'{"format":"hessian.insurance-application/1","created_at":"x","fields":{"a":{"b":1}}}',
    b'{"format":"hessian.insurance-application/1","created_at":"2026-11-26T09:30:00Z",'
    b'"fields":{"driver_age":1e999}}',
]  # fmt: skip


@pytest.mark.parametrize("data", HOSTILE)
def test_hostile_bytes_are_one_error(data):
    with pytest.raises(UntrustedBlobError):
        InsuranceApplication.from_bytes(data)


@settings(max_examples=150)
@given(st.data())
def test_any_mutation_is_the_application_or_one_error(data):
    app = replace(parse_application(good_form(), created_at=NOW), applicant=ME)
    raw = bytearray(app.to_bytes())
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    with contextlib.suppress(UntrustedBlobError):
        app = InsuranceApplication.from_bytes(bytes(raw))
        assert app.to_bytes() == bytes(raw)


def test_generated_rows_give_the_loaders_features():
    """features_frame(application_from_row(row)) is what the loader makes of the same row
    (the vehicle's age to the month: the form asks the registration month)."""
    frame = generate_policies(400, seed=8)
    buf = io.StringIO()
    write_policies(frame, buf)
    loaded = load_bytes(buf.getvalue().encode(), "insurance_claims", source="gen.csv")
    pre = Preprocessor("insurance_claims").fit(loaded.features)
    keep = ~frame.claim_status.isin(["Open", "Under Review"]).to_numpy()
    rows = frame[keep].to_dict("records")
    X = pre.transform(loaded.features)
    age = pre.feature_names_.index("vehicle_age_years")
    for i, row in enumerate(rows):
        app = application_from_row(row)
        f = features_frame(app)
        assert tuple(f.columns) == load_schema("insurance_claims").feature_columns
        assert f.vehicle_age_years[0] == pytest.approx(
            loaded.features.vehicle_age_years[i], abs=31 / 365.25
        )
        x = pre.transform(f)[0]
        others = np.arange(len(x)) != age
        assert np.allclose(x[others], X[i][others], atol=1e-9), i


def test_sealed_to_the_insurer_and_checked_against_the_chain():
    private, public = new_application_key()
    app = replace(parse_application(good_form(), created_at=NOW), applicant=ME)
    blob = seal_application(public, app)
    assert open_application(private, blob, app.digest(), ME.upper().replace("0X", "0x")) == app
    assert open_application(private, blob, app.digest()) == app
    other, _ = new_application_key()
    with pytest.raises(CryptoError):
        open_application(other, blob, app.digest())
    with pytest.raises(UntrustedBlobError, match="digest"):
        open_application(private, blob, bytes(32))
    with pytest.raises(UntrustedBlobError, match="not the applicant"):
        open_application(private, blob, app.digest(), "0x" + "cd" * 20)
    tampered = bytearray(blob)
    tampered[-20] ^= 1
    with pytest.raises(CryptoError):
        open_application(private, bytes(tampered), app.digest())
    # a loan application's seal (another HKDF context) does not open as an insurance one
    loan_blob = seal(public, app.to_bytes())
    with pytest.raises(CryptoError):
        open_application(private, loan_blob, app.digest())
    # sealed bytes that are not an application: the digest matches, the parse refuses
    junk = seal(public, b"[1]", info=SEAL_INFO)
    with pytest.raises(UntrustedBlobError):
        open_application(private, junk, hashlib.sha256(b"[1]").digest())
