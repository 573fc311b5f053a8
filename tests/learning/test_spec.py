"""Model spec, encrypted model and update blobs: JSON round-trips and validation."""

from __future__ import annotations

import json

import numpy as np
import pytest
from eth_account import Account

from hessian_common.crypto import decrypt_vector, encrypt_vector, generate_keypair
from hessian_common.errors import CryptoError, DataError, UntrustedBlobError
from hessian_common.learning.spec import EncryptedModel, ModelSpec, UpdateBlob

OWNER = Account.from_key("0x" + "11" * 32)
CONTRACT = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


def update(weights, **kw) -> UpdateBlob:
    """An unsigned update blob of ``OWNER`` for model 1 on chain 1337."""
    fields = dict(
        model_id=1,
        base_model_cid="bafk",
        weights=weights,
        rows=10,
        dataset_digest="00" * 32,
        rule="newton",
        chain_id=1337,
        contract=CONTRACT,
        owner=OWNER.address,
    )
    fields.update(kw)
    return UpdateBlob(**fields)


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
    blob = update(
        spec.weights, model_id=7, base_model_cid="bafkreiabc", rows=1234, dataset_digest="ab" * 32
    ).sign(OWNER)
    assert UpdateBlob.from_bytes(blob.to_bytes(), spec) == blob
    assert blob.signer() == OWNER.address


def test_update_signature_binds_every_field(spec):
    """The owner signs everything but the signature: change a field and the signer changes;
    an unsigned or badly signed blob has no signer; nobody signs as another owner."""
    blob = update(spec.weights).sign(OWNER)
    assert blob.signer() == OWNER.address
    assert update(spec.weights).signer() is None
    for change in (
        {"rows": 11},
        {"model_id": 2},
        {"chain_id": 1},
        {"base_model_cid": "bafkother"},
        {"owner": "0x" + "22" * 20},
        {"rows_sealed": "ab"},
    ):
        forged = UpdateBlob.from_dict({**json.loads(blob.to_bytes()), **change}, spec)
        assert forged.signer() != OWNER.address, change
    bad = json.loads(blob.to_bytes())
    bad["signature"] = "0x" + "00" * 65
    assert UpdateBlob.from_dict(bad, spec).signer() is None
    thief = Account.from_key("0x" + "33" * 32)
    with pytest.raises(DataError, match="owner is"):
        update(spec.weights).sign(thief)


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
    with pytest.raises(UntrustedBlobError, match="not UTF-8"):
        ModelSpec.from_bytes(b"\xff{")
    with pytest.raises(UntrustedBlobError, match="not valid JSON"):
        ModelSpec.from_bytes(b"{")
    with pytest.raises(UntrustedBlobError, match="JSON object"):
        ModelSpec.from_bytes(b"[1]")
    with pytest.raises(UntrustedBlobError, match="deeper than"):
        ModelSpec.from_bytes(b"[" * 200_000)


def test_spec_bounds_key_size_and_dimension(keys):
    """A spec can ask an owner for d² products mod n²: both are bounded."""
    big_pk, _ = generate_keypair(4200)
    with pytest.raises(UntrustedBlobError, match="key size"):
        ModelSpec(
            name="x", schema_name="s", schema={}, preprocessing={}, public_key=big_pk,
            weights=encrypt_vector(big_pk, [0.0, 1.0]), feature_names=["intercept", "a"],
            rule="newton",
        )  # fmt: skip
    pk, _ = keys
    wide = 600
    with pytest.raises(UntrustedBlobError, match="number of weights"):
        ModelSpec(
            name="x", schema_name="s", schema={}, preprocessing={}, public_key=pk,
            weights=encrypt_vector(pk, [0.0] * wide),
            feature_names=[f"f{i}" for i in range(wide)], rule="newton",
        )  # fmt: skip


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("rows", 0, "rows"),
        ("rows", True, "rows"),
        ("dataset_digest", "xyz", "64"),
        ("model_id", -1, "model_id"),
        ("base_model_cid", "", "CID"),
        ("rule", "sgd", "rule"),
        ("owner", "me", "owner"),
        ("contract", 5, "wrong type"),
        ("signature", "0x12", "signature"),
        ("rows_sealed", "XYZ", "rows_sealed"),
    ],
)
def test_malformed_update(spec, field, value, match):
    blob = update(spec.weights, rule="gradient")
    d = json.loads(blob.to_bytes())
    d[field] = value
    with pytest.raises(DataError, match=match):
        UpdateBlob.from_dict(d, spec)


def test_update_under_another_key_or_size(spec):
    other_pk, _ = generate_keypair(256)
    blob = update(encrypt_vector(other_pk, [1.0, 2.0, 3.0]))
    with pytest.raises(UntrustedBlobError, match="under key"):  # a stranger's bytes
        UpdateBlob.from_bytes(blob.to_bytes(), spec)
    short = update(encrypt_vector(spec.public_key, [1.0]))
    with pytest.raises(DataError, match="1 weights"):
        UpdateBlob.from_bytes(short.to_bytes(), spec)
