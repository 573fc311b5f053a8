"""Model spec, encrypted model and update blobs: JSON round-trips and validation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hessian_common.crypto import decrypt_vector, encrypt_vector, generate_keypair
from hessian_common.errors import CryptoError, DataError
from hessian_common.learning.spec import EncryptedModel, ModelSpec, UpdateBlob


@pytest.fixture(scope="module")
def keys():
    return generate_keypair(256)


@pytest.fixture
def spec(keys):
    pk, _ = keys
    return ModelSpec(
        name="credit v1",
        schema_name="lending_club",
        schema={"name": "lending_club"},
        preprocessing={"format": "hessian-preprocessing"},
        public_key=pk,
        weights=encrypt_vector(pk, [0.5, -1.0, 2.0]),
        feature_names=["intercept", "a", "b"],
        rule="newton",
        params={"mu": 0.5},
    )


def test_spec_round_trip(spec, keys):
    _, sk = keys
    back = ModelSpec.from_bytes(spec.to_bytes())
    assert back == spec
    assert back.to_bytes() == spec.to_bytes()  # canonical: same object, same bytes, same CID
    np.testing.assert_allclose(decrypt_vector(sk, back.weights), [0.5, -1.0, 2.0])


def test_model_and_update_round_trip(spec):
    model = EncryptedModel(spec.weights, version=3)
    assert EncryptedModel.from_bytes(model.to_bytes(), spec) == model
    blob = UpdateBlob(
        model_id=7,
        base_model_cid="bafkreiabc",
        weights=spec.weights,
        rows=1234,
        dataset_digest="ab" * 32,
        rule="newton",
    )
    assert UpdateBlob.from_bytes(blob.to_bytes(), spec) == blob


@pytest.mark.parametrize(
    "mutate, error, match",
    [
        (lambda d: d.update(format="x"), DataError, "format"),
        (lambda d: d.update(metric="f1"), DataError, "metric"),
        (lambda d: d.update(rule={"name": "sgd", "params": {}}), DataError, "unknown update"),
        (lambda d: d.update(rule={"name": "newton", "params": {"lr": 1}}), DataError, "no param"),
        (lambda d: d.update(rule={"name": "newton", "params": {"mu": -1}}), DataError, "positive"),
        (lambda d: d.update(feature_names=["intercept"]), DataError, "3 encrypted weights"),
        (lambda d: d.pop("name"), DataError, "missing field 'name'"),
        (lambda d: d.update(name=3), DataError, "wrong type"),
        (lambda d: d["public_key"].update(n="zz"), CryptoError, "hex"),
        (lambda d: d["weights"].update(key="0" * 16), CryptoError, "under key"),
    ],
)
def test_malformed_spec(spec, mutate, error, match):
    d = json.loads(spec.to_bytes())
    mutate(d)
    with pytest.raises(error, match=match):
        ModelSpec.from_dict(d)


def test_malformed_bytes(spec):
    with pytest.raises(DataError, match="not valid JSON"):
        ModelSpec.from_bytes(b"\xff{")
    with pytest.raises(DataError, match="JSON object"):
        ModelSpec.from_bytes(b"[1]")


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("rows", 0, "rows"),
        ("rows", True, "rows"),
        ("dataset_digest", "xyz", "64"),
        ("model_id", -1, "model_id"),
        ("base_model_cid", "", "CID"),
        ("rule", "sgd", "rule"),
    ],
)
def test_malformed_update(spec, field, value, match):
    blob = UpdateBlob(1, "bafk", spec.weights, 10, "00" * 32, "gradient")
    d = json.loads(blob.to_bytes())
    d[field] = value
    with pytest.raises(DataError, match=match):
        UpdateBlob.from_dict(d, spec)


def test_update_under_another_key_or_size(spec):
    other_pk, _ = generate_keypair(256)
    blob = UpdateBlob(1, "bafk", encrypt_vector(other_pk, [1.0, 2.0, 3.0]), 10, "00" * 32, "newton")
    with pytest.raises(CryptoError, match="under key"):
        UpdateBlob.from_bytes(blob.to_bytes(), spec)
    short = UpdateBlob(1, "bafk", encrypt_vector(spec.public_key, [1.0]), 10, "00" * 32, "newton")
    with pytest.raises(DataError, match="1 weights"):
        UpdateBlob.from_bytes(short.to_bytes(), spec)
