"""Sealed boxes to an X25519 key (loan applications, an owner's row pseudonyms), and the
X25519 private key at rest.

Used for loan applications (sealed to the lender's per-deployment application key) and for the
row pseudonyms of a training update (sealed to the lender's per-model row key): a different
``info`` string for each use keeps the keys of one use useless for the other.

An application is sealed to the lender's per-deployment X25519 *application key* (its public
half is on chain and in the policy document)::

    e, E = fresh X25519 key pair (ephemeral, one per application)
    z    = X25519(e, P)                                   P: the lender's public key
    k    = HKDF-SHA256(z, salt = E ‖ P, info = "hessian.sealed-application/1", 32 bytes)
    blob = MAGIC ‖ E (32) ‖ nonce (12) ‖ AES-256-GCM_k(plaintext, aad = MAGIC ‖ E ‖ P) ‖ tag (16)

Only the holder of ``p`` (``P = X25519(p, 9)``) derives ``z = X25519(p, E)`` and so ``k``;
GCM authenticates everything, so a wrong key or a changed byte gives :class:`CryptoError`.
The sender keeps no secret (``e`` is forgotten), and each blob has a fresh ``k``.

The lender keeps ``p`` sealed with its passphrase, the construction of the Paillier keys
(:mod:`hessian_common.crypto.passphrase`): ``scrypt(passphrase, salt)`` → AES-256-GCM.

X25519, HKDF and AES-GCM come from pycryptodome (already used for the Paillier keys), not a
hand-written implementation.
"""

from __future__ import annotations

import os
from typing import Any

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.DH import import_x25519_private_key, import_x25519_public_key, key_agreement
from Crypto.Protocol.KDF import HKDF

from hessian_common.crypto.passphrase import SCRYPT_N, open_with_passphrase, seal_with_passphrase
from hessian_common.errors import CryptoError

MAGIC = b"HSA1"
INFO = b"hessian.sealed-application/1"
KEY_FORMAT = "hessian.application-key/1"
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16


def _private(private32: bytes) -> Any:

    if not isinstance(private32, bytes | bytearray) or len(private32) != KEY_BYTES:
        raise CryptoError("an X25519 private key is 32 bytes")
    return import_x25519_private_key(bytes(private32))


def _public(public32: bytes) -> Any:

    if not isinstance(public32, bytes | bytearray) or len(public32) != KEY_BYTES:
        raise CryptoError("an X25519 public key is 32 bytes")
    try:
        return import_x25519_public_key(bytes(public32))
    except ValueError as exc:
        raise CryptoError(f"not a valid X25519 public key: {exc}") from None


def _raw_public(key: Any) -> bytes:
    return bytes(key.public_key().export_key(format="raw"))


def public_key_of(private32: bytes) -> bytes:
    """The 32-byte public key of a 32-byte X25519 private key."""
    return _raw_public(_private(private32))


def new_application_key() -> tuple[bytes, bytes]:
    """A fresh X25519 key pair ``(private 32 bytes, public 32 bytes)``."""
    private = os.urandom(KEY_BYTES)
    return private, public_key_of(private)


def _shared_key(priv: Any, pub: Any, eph_pub: bytes, recipient: bytes, info: bytes) -> bytes:

    try:
        z = key_agreement(static_priv=priv, static_pub=pub, kdf=lambda x: x)
    except ValueError as exc:  # low-order point: all-zero shared secret
        raise CryptoError(f"X25519 key agreement failed: {exc}") from None
    return HKDF(z, KEY_BYTES, eph_pub + recipient, SHA256, context=info)


def seal(public32: bytes, plaintext: bytes, info: bytes = INFO) -> bytes:
    """Encrypt ``plaintext`` to the holder of the private key of ``public32`` (``info``: the
    HKDF context naming the use, default loan applications)."""
    recipient = bytes(public32)
    pub = _public(recipient)
    eph_priv, eph_pub = new_application_key()
    key = _shared_key(_private(eph_priv), pub, eph_pub, recipient, info)
    nonce = os.urandom(NONCE_BYTES)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(MAGIC + eph_pub + recipient)
    ct, tag = cipher.encrypt_and_digest(bytes(plaintext))
    return MAGIC + eph_pub + nonce + ct + tag


def open_sealed(private32: bytes, blob: bytes, info: bytes = INFO) -> bytes:
    """Decrypt a :func:`seal` blob (sealed with the same ``info``); :class:`CryptoError` on a
    wrong key or any tampering."""
    blob = bytes(blob)
    head = len(MAGIC) + KEY_BYTES + NONCE_BYTES
    if len(blob) < head + TAG_BYTES or not blob.startswith(MAGIC):
        raise CryptoError("not a sealed application (bad header or too short)")
    eph_pub = blob[len(MAGIC) : len(MAGIC) + KEY_BYTES]
    nonce = blob[len(MAGIC) + KEY_BYTES : head]
    ct, tag = blob[head:-TAG_BYTES], blob[-TAG_BYTES:]
    priv = _private(private32)
    recipient = _raw_public(priv)
    key = _shared_key(priv, _public(eph_pub), eph_pub, recipient, info)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(MAGIC + eph_pub + recipient)
    try:
        return cipher.decrypt_and_verify(ct, tag)
    except ValueError:
        raise CryptoError(
            "cannot open the sealed blob: wrong key or modified blob"
        ) from None


def seal_key_at_rest(private32: bytes, passphrase: str, scrypt_n: int = SCRYPT_N) -> dict:
    """The application private key sealed with a passphrase (scrypt + AES-256-GCM), as JSON."""
    public = public_key_of(private32)
    sealed = seal_with_passphrase(
        bytes(private32), passphrase, KEY_FORMAT.encode() + public, scrypt_n
    )
    return {"format": KEY_FORMAT, "public_key": public.hex(), **sealed}


def open_key_at_rest(d: Any, passphrase: str) -> bytes:
    """Inverse of :func:`seal_key_at_rest`; :class:`KeyPassphraseError` on a wrong passphrase."""
    if not isinstance(d, dict) or d.get("format") != KEY_FORMAT:
        raise CryptoError(f"application key file: not a {KEY_FORMAT} document")
    try:
        public = bytes.fromhex(d["public_key"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CryptoError(f"application key file is malformed: {exc}") from None
    aad = KEY_FORMAT.encode() + public
    private = open_with_passphrase(d, passphrase, aad, "application key")
    if public_key_of(private) != public:
        raise CryptoError("application key file: the private key does not match its public key")
    return private
