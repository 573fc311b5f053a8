"""Paillier keys, sealed private keys, encrypted vectors and the raw fast path."""

from __future__ import annotations

import json
import stat

import gmpy2
import numpy as np
import pytest

from hessian_common.crypto import (
    EncryptedVector,
    decrypt_vector,
    encrypt_vector,
    fingerprint,
    generate_keypair,
    load_private_key,
    public_key_from_dict,
    public_key_to_dict,
    raw,
    save_private_key,
)
from hessian_common.errors import CryptoError, KeyPassphraseError

FAST_SCRYPT = 2**10


@pytest.fixture(scope="module")
def keys():
    return generate_keypair(512)


def test_public_key_json_round_trip(keys):
    pk, _ = keys
    d = json.loads(json.dumps(public_key_to_dict(pk)))
    assert public_key_from_dict(d) == pk


@pytest.mark.parametrize(
    "bad",
    [
        None,
        {"format": "nope", "n": "abcd"},
        {"format": "hessian.paillier.public/1"},
        {"format": "hessian.paillier.public/1", "n": "zz"},
        {"format": "hessian.paillier.public/1", "n": "10"},
    ],
)
def test_malformed_public_key(bad):
    with pytest.raises(CryptoError):
        public_key_from_dict(bad)


def test_private_key_sealed_round_trip(keys, tmp_path):
    pk, sk = keys
    path = save_private_key(sk, tmp_path / "key.json", "correct horse", scrypt_n=FAST_SCRYPT)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert format(sk.p, "x") not in text and format(sk.q, "x") not in text
    sk2 = load_private_key(path, "correct horse")
    assert sk2 == sk
    assert sk2.decrypt(pk.encrypt(42)) == 42


def test_wrong_passphrase(keys, tmp_path):
    _, sk = keys
    path = save_private_key(sk, tmp_path / "key.json", "right", scrypt_n=FAST_SCRYPT)
    with pytest.raises(KeyPassphraseError, match="wrong passphrase"):
        load_private_key(path, "wrong")
    with pytest.raises(KeyPassphraseError):
        load_private_key(path, "")


def test_tampered_or_missing_key_file(keys, tmp_path):
    _, sk = keys
    path = save_private_key(sk, tmp_path / "key.json", "pw", scrypt_n=FAST_SCRYPT)
    d = json.loads(path.read_text())
    other_pk, _ = generate_keypair(512)
    d["public_key"] = public_key_to_dict(other_pk)  # associated data no longer matches
    path.write_text(json.dumps(d))
    with pytest.raises(KeyPassphraseError):
        load_private_key(path, "pw")
    path.write_text("{not json")
    with pytest.raises(CryptoError, match="not readable JSON"):
        load_private_key(path, "pw")
    with pytest.raises(CryptoError, match="no private key file"):
        load_private_key(tmp_path / "absent.json", "pw")


@pytest.mark.parametrize("workers", [1, 2])
def test_vector_round_trip_with_negatives(keys, workers):
    pk, sk = keys
    x = np.array([0.0, -1.5, 2.25, -1e-6, 123.456, -987.654321, 3.0, 0.1, -0.1])
    enc = encrypt_vector(pk, x, workers=workers)
    assert len(enc) == len(x) and set(enc.exponents) == {-13}
    np.testing.assert_allclose(decrypt_vector(sk, enc, workers=workers), x, atol=1e-12)


def test_vector_json_is_compact_and_round_trips(keys):
    pk, sk = keys
    enc = encrypt_vector(pk, [1.0, -2.0, 3.5])
    d = json.loads(enc.to_json())
    assert d["exponent"] == -13 and "exponents" not in d and d["key"] == fingerprint(pk)
    back = EncryptedVector.from_json(enc.to_json(), pk)
    assert back == enc
    np.testing.assert_allclose(decrypt_vector(sk, back), [1.0, -2.0, 3.5])


def test_vector_from_phe_numbers_with_mixed_exponents(keys):
    pk, sk = keys
    nums = [pk.encrypt(0.5), pk.encrypt(-3), pk.encrypt(1e-3)]
    enc = EncryptedVector.from_numbers(nums)
    back = EncryptedVector.from_dict(json.loads(enc.to_json()), pk)
    np.testing.assert_allclose(decrypt_vector(sk, back), [0.5, -3, 1e-3])


def test_malformed_vectors(keys):
    pk, _sk = keys
    good = encrypt_vector(pk, [1.0, 2.0]).to_dict()
    other_pk, other_sk = generate_keypair(512)
    with pytest.raises(CryptoError, match="under key"):
        EncryptedVector.from_dict(good, other_pk)
    for mutate, match in [
        (lambda d: d.update(format="x"), "format"),
        (lambda d: d.update(ciphertexts=[]), "non-empty"),
        (lambda d: d.update(ciphertexts=["***"]), "not base64"),
        (lambda d: d.update(exponent="a"), "exponents"),
        (lambda d: d.update(exponents=[1]), "one per ciphertext"),
        (lambda d: d.update(ciphertexts=["AA=="]), "not a ciphertext"),
    ]:
        d = json.loads(json.dumps(good))
        mutate(d)
        with pytest.raises(CryptoError, match=match):
            EncryptedVector.from_dict(d, pk)
    with pytest.raises(CryptoError, match="not valid JSON"):
        EncryptedVector.from_json("{", pk)
    with pytest.raises(CryptoError, match="encrypted under key"):
        decrypt_vector(other_sk, EncryptedVector.from_dict(good, pk))


def test_bad_inputs():
    with pytest.raises(CryptoError):
        generate_keypair(100)
    pk, _ = generate_keypair(256)
    with pytest.raises(CryptoError, match="empty"):
        encrypt_vector(pk, [])
    with pytest.raises(CryptoError, match="non-finite"):
        encrypt_vector(pk, [float("nan")])
    with pytest.raises(CryptoError, match="overflows"):
        encrypt_vector(pk, [1e100])


def test_multi_powmod_matches_powmod(keys):
    pk, _ = keys
    nsq = pk.nsquare
    rng = np.random.default_rng(3)
    bases = [pk.raw_encrypt(int(v)) for v in rng.integers(1, 1000, size=5)]
    rows = [[int(v) for v in rng.integers(-(2**50), 2**50, size=5)] for _ in range(4)] + [[0] * 5]
    got = raw.multi_powmod(bases, rows, nsq)
    for row, g in zip(rows, got, strict=True):
        want = 1
        for c, k in zip(bases, row, strict=True):
            base = c if k >= 0 else gmpy2.invert(c, nsq)
            want = want * gmpy2.powmod(base, abs(k), nsq) % nsq
        assert g == want


def test_split_and_workers():
    assert [list(r) for r in raw.split(5, 2)] == [[0, 1, 2], [3, 4]]
    assert raw.split(1, 3) == [range(0, 1)]
    assert raw.resolve_workers(8, 3) == 3
    with pytest.raises(ValueError):
        raw.resolve_workers(0, 3)
