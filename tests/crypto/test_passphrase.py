"""Bytes sealed with a passphrase, and the key files written before the helper was shared.

``tests/crypto/data/*_v1.json`` were written by the code as it stood before
:mod:`hessian_common.crypto.passphrase` existed (``save_private_key`` and
``seal_key_at_rest``, scrypt N = 16); they must keep opening.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hessian_common.crypto import load_private_key, private_key_to_encrypted_dict
from hessian_common.crypto.passphrase import open_with_passphrase, seal_with_passphrase
from hessian_common.crypto.sealing import open_key_at_rest, public_key_of
from hessian_common.errors import CryptoError, KeyPassphraseError

DATA = Path(__file__).parent / "data"
EXPECTED = json.loads((DATA / "expected.json").read_text())
FAST_SCRYPT = 2**4


def test_round_trip_binds_the_associated_data():
    sealed = seal_with_passphrase(b"\x00secret\xff", "pw", b"aad", scrypt_n=FAST_SCRYPT)
    assert set(sealed) == {"kdf", "cipher", "ciphertext"}
    assert sealed["kdf"]["name"] == "scrypt" and sealed["cipher"]["name"] == "aes-256-gcm"
    assert open_with_passphrase(sealed, "pw", b"aad", "test key") == b"\x00secret\xff"
    with pytest.raises(KeyPassphraseError, match="wrong passphrase for the test key"):
        open_with_passphrase(sealed, "wrong", b"aad", "test key")
    with pytest.raises(KeyPassphraseError):
        open_with_passphrase(sealed, "pw", b"other aad", "test key")
    with pytest.raises(KeyPassphraseError, match="non-empty"):
        seal_with_passphrase(b"x", "", b"aad", scrypt_n=FAST_SCRYPT)


def test_malformed_fields_are_crypto_errors():
    sealed = seal_with_passphrase(b"x", "pw", b"", scrypt_n=FAST_SCRYPT)
    with pytest.raises(CryptoError, match="test key file is malformed"):
        open_with_passphrase({**sealed, "ciphertext": "not base64!"}, "pw", b"", "test key")
    with pytest.raises(CryptoError, match="test key file is malformed"):
        open_with_passphrase({"kdf": sealed["kdf"]}, "pw", b"", "test key")
    bad_kdf = {**sealed, "kdf": {**sealed["kdf"], "name": "pbkdf2"}}
    with pytest.raises(CryptoError, match="unsupported kdf"):
        open_with_passphrase(bad_kdf, "pw", b"", "test key")


def test_paillier_key_file_written_before_the_merge_still_loads():
    sk = load_private_key(DATA / "paillier_private_v1.json", "correct horse")
    assert format(sk.public_key.n, "x") == EXPECTED["paillier_n"]
    assert format(sk.p, "x") == EXPECTED["paillier_p"]
    with pytest.raises(KeyPassphraseError):
        load_private_key(DATA / "paillier_private_v1.json", "wrong")


def test_paillier_key_file_layout_is_unchanged():
    old = json.loads((DATA / "paillier_private_v1.json").read_text())
    sk = load_private_key(DATA / "paillier_private_v1.json", "correct horse")
    new = private_key_to_encrypted_dict(sk, "pw", scrypt_n=FAST_SCRYPT)
    assert new["format"] == old["format"] == "hessian.paillier.private/1"
    assert new["public_key"] == old["public_key"]
    assert set(new) == set(old)
    assert set(new["kdf"]) == set(old["kdf"]) and set(new["cipher"]) == set(old["cipher"])


def test_application_key_file_written_before_the_merge_still_opens():
    d = json.loads((DATA / "application_key_v1.json").read_text())
    assert d["format"] == "hessian.application-key/1"
    private = open_key_at_rest(d, "battery staple")
    assert private.hex() == EXPECTED["application_private"]
    assert public_key_of(private).hex() == EXPECTED["application_public"] == d["public_key"]
    with pytest.raises(KeyPassphraseError, match="application key"):
        open_key_at_rest(d, "wrong")
