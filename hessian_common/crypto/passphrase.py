"""Bytes sealed with a passphrase: scrypt + AES-256-GCM, as the JSON fields of a key file.

One construction for every secret kept at rest (the Paillier private key,
:mod:`hessian_common.crypto.paillier`; the lender's X25519 application key,
:mod:`hessian_common.crypto.sealing`)::

    k          = scrypt(passphrase (UTF-8), salt (16 random bytes), 32 bytes, N, r = 8, p = 1)
    ct ‖ tag   = AES-256-GCM_k(secret, nonce (12 random bytes), aad)

``aad`` (associated data: what the secret belongs to, e.g. its public key) is authenticated but
not stored here; the caller stores it in its own fields and passes it again to open. The fields
written, which the caller puts next to its ``"format"`` and public part::

    "kdf":        {"name": "scrypt", "salt": b64, "n": N, "r": 8, "p": 1}
    "cipher":     {"name": "aes-256-gcm", "nonce": b64, "tag": b64}
    "ciphertext": b64

A wrong passphrase, a changed byte or a changed ``aad`` gives :class:`KeyPassphraseError`.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import Any

from Crypto.Cipher import AES
from Crypto.Protocol.KDF import scrypt

from hessian_common.errors import CryptoError, KeyPassphraseError

SCRYPT_N = 2**15
"""scrypt cost (N=2^15, r=8, p=1: ~0.1 s and 32 MiB per unlock; OWASP's minimum is 2^15)."""
SALT_BYTES = 16
NONCE_BYTES = 12


def _kdf(passphrase: str, salt: bytes, n: int) -> bytes:

    if not isinstance(passphrase, str) or not passphrase:
        raise KeyPassphraseError("the passphrase must be a non-empty string")
    return scrypt(passphrase.encode("utf-8"), salt, 32, N=n, r=8, p=1)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def seal_with_passphrase(
    secret: bytes, passphrase: str, aad: bytes, scrypt_n: int = SCRYPT_N
) -> dict[str, Any]:
    """``secret`` sealed with ``passphrase``: the ``kdf``, ``cipher`` and ``ciphertext`` fields.

    Raises
    ------
    KeyPassphraseError
        An empty passphrase.
    """
    salt, nonce = os.urandom(SALT_BYTES), os.urandom(NONCE_BYTES)
    cipher = AES.new(_kdf(passphrase, salt, scrypt_n), AES.MODE_GCM, nonce=nonce)
    cipher.update(bytes(aad))
    ct, tag = cipher.encrypt_and_digest(bytes(secret))
    return {
        "kdf": {"name": "scrypt", "salt": _b64(salt), "n": scrypt_n, "r": 8, "p": 1},
        "cipher": {"name": "aes-256-gcm", "nonce": _b64(nonce), "tag": _b64(tag)},
        "ciphertext": _b64(ct),
    }


def open_with_passphrase(d: dict[str, Any], passphrase: str, aad: bytes, what: str) -> bytes:
    """Inverse of :func:`seal_with_passphrase` (``d`` holds at least its fields).

    ``what`` names the secret in messages (``"private key"`` -> "private key file is
    malformed", "wrong passphrase for the private key ...").

    Raises
    ------
    CryptoError
        Missing or malformed fields, or a kdf/cipher other than scrypt/AES-256-GCM.
    KeyPassphraseError
        A wrong (or empty) passphrase, or a modified file or ``aad``.
    """
    try:
        kdf, cip = d["kdf"], d["cipher"]
        salt = base64.b64decode(kdf["salt"], validate=True)
        nonce = base64.b64decode(cip["nonce"], validate=True)
        tag = base64.b64decode(cip["tag"], validate=True)
        ct = base64.b64decode(d["ciphertext"], validate=True)
        n = int(kdf["n"])
    except (KeyError, TypeError, ValueError, binascii.Error) as exc:
        raise CryptoError(f"{what} file is malformed: {exc}") from None
    if kdf.get("name") != "scrypt" or cip.get("name") != "aes-256-gcm" or n < 2 or n & (n - 1):
        raise CryptoError(f"{what} file: unsupported kdf or cipher parameters")
    cipher = AES.new(_kdf(passphrase, salt, n), AES.MODE_GCM, nonce=nonce)
    cipher.update(bytes(aad))
    try:
        return cipher.decrypt_and_verify(ct, tag)
    except ValueError:
        raise KeyPassphraseError(
            f"wrong passphrase for the {what} (or the key file was modified)"
        ) from None
