"""Sealed applications (X25519 + HKDF-SHA256 + AES-256-GCM) and the key at rest."""

from __future__ import annotations

import pytest

from hessian_common.crypto.sealing import (
    new_application_key,
    open_key_at_rest,
    open_sealed,
    public_key_of,
    seal,
    seal_key_at_rest,
)
from hessian_common.errors import CryptoError, KeyPassphraseError


def test_round_trip_and_fresh_ciphertexts():
    sk, pk = new_application_key()
    assert len(sk) == len(pk) == 32 and public_key_of(sk) == pk
    msg = b'{"loan_amnt": 12000}' * 10
    a, b = seal(pk, msg), seal(pk, msg)
    assert a != b and msg not in a  # fresh ephemeral key and nonce each time
    assert open_sealed(sk, a) == msg == open_sealed(sk, b)
    assert open_sealed(sk, seal(pk, b"")) == b""


def test_wrong_key_and_tampering_are_refused():
    sk, pk = new_application_key()
    other, _ = new_application_key()
    blob = seal(pk, b"personal data")
    with pytest.raises(CryptoError, match="wrong key"):
        open_sealed(other, blob)
    for pos in (4, 40, 50, len(blob) - 20, len(blob) - 1):  # key, nonce, body, tag
        bad = bytearray(blob)
        bad[pos] ^= 1
        with pytest.raises(CryptoError):
            open_sealed(sk, bytes(bad))
    with pytest.raises(CryptoError):
        open_sealed(sk, blob[:30])
    with pytest.raises(CryptoError):
        open_sealed(sk, b"XXXX" + blob[4:])
    with pytest.raises(CryptoError):
        seal(b"short", b"x")


def test_key_at_rest():
    sk, pk = new_application_key()
    d = seal_key_at_rest(sk, "correct horse", scrypt_n=2**10)
    assert d["public_key"] == pk.hex() and sk.hex() not in str(d)
    assert open_key_at_rest(d, "correct horse") == sk
    with pytest.raises(KeyPassphraseError):
        open_key_at_rest(d, "wrong horse")
    with pytest.raises(CryptoError):
        open_key_at_rest({**d, "public_key": new_application_key()[1].hex()}, "correct horse")
    with pytest.raises(CryptoError):
        open_key_at_rest({"format": "x"}, "correct horse")


def test_a_box_sealed_for_one_use_does_not_open_for_another():
    """The HKDF context names the use: a sealed application is not a row-pseudonym box."""
    sk, pk = new_application_key()
    blob = seal(pk, b"rows", info=b"hessian.row-pseudonyms/1")
    assert open_sealed(sk, blob, info=b"hessian.row-pseudonyms/1") == b"rows"
    with pytest.raises(CryptoError, match="wrong key"):
        open_sealed(sk, blob)
