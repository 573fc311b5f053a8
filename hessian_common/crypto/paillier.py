"""Paillier keys, encrypted vectors and their compact JSON, private keys encrypted at rest.

Built on ``phe`` (python-paillier, with gmpy2). Paillier is additively homomorphic::

    D(E(a) ⊕ E(b)) = a + b          D(k ⊗ E(a)) = k·a     (k a plaintext)

Real numbers are fixed-point encoded as ``x = m · 16^e`` (phe's ``EncodedNumber``: integer
mantissa ``m`` mod n, exponent ``e``). :func:`encrypt_vector` gives every entry of a vector the
same exponent (default ``e = −13``: absolute precision 16^−13 = 2^−52), so sums of products
never need phe's costly exponent alignment and the JSON stores one exponent.

Formats (all JSON, integers as lowercase hex strings, ciphertexts base64):

- public key: ``{"format": "hessian.paillier.public/1", "n": "<hex>"}``
- encrypted vector: ``{"format": "hessian.encvec/1", "key": "<fingerprint>", "exponent": e,
  "ciphertexts": ["<base64>", ...]}`` (``"exponents": [...]`` instead when they differ)
- private key at rest: scrypt(passphrase) → AES-256-GCM over ``{"p","q"}``, the public key as
  associated data (:mod:`hessian_common.crypto.passphrase`); a wrong passphrase or a modified
  file is a :class:`KeyPassphraseError`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import phe

from hessian_common.crypto import raw
from hessian_common.crypto.passphrase import SCRYPT_N, open_with_passphrase, seal_with_passphrase
from hessian_common.crypto.randomisers import RandomiserPool, pool_for
from hessian_common.errors import CryptoError
from hessian_common.files import write_private

DEFAULT_KEY_BITS = 2048
DEFAULT_EXPONENT = -13
"""Default fixed-point exponent of encrypted vectors: values are multiples of 16^−13."""

PUBLIC_FORMAT = "hessian.paillier.public/1"
PRIVATE_FORMAT = "hessian.paillier.private/1"
VECTOR_FORMAT = "hessian.encvec/1"

PublicKey = phe.PaillierPublicKey
PrivateKey = phe.PaillierPrivateKey


def generate_keypair(n_length: int = DEFAULT_KEY_BITS) -> tuple[PublicKey, PrivateKey]:
    """A fresh Paillier key pair with an ``n_length``-bit modulus (2048 by default).

    Keys under 2048 bits are for tests and benchmarks only.
    """
    if not isinstance(n_length, int) or n_length < 128 or n_length % 8:
        raise CryptoError(f"key size must be a multiple of 8 bits, >= 128; got {n_length!r}")
    return phe.generate_paillier_keypair(n_length=n_length)


def fingerprint(pk: PublicKey) -> str:
    """Short identifier of a public key: first 16 hex digits of sha256(n, big-endian)."""
    n = pk.n
    return hashlib.sha256(n.to_bytes((n.bit_length() + 7) // 8, "big")).hexdigest()[:16]


def _hex_int(value: Any, what: str) -> int:
    if not isinstance(value, str) or not value:
        raise CryptoError(f"{what}: expected a hex string, got {type(value).__name__}")
    try:
        return int(value, 16)
    except ValueError:
        raise CryptoError(f"{what}: not a hex integer: {value[:20]!r}") from None


def _require_format(d: Any, fmt: str, what: str) -> dict:
    if not isinstance(d, dict):
        raise CryptoError(f"{what}: expected a JSON object, got {type(d).__name__}")
    if d.get("format") != fmt:
        raise CryptoError(f"{what}: format is {d.get('format')!r}, expected {fmt!r}")
    return d


def public_key_to_dict(pk: PublicKey) -> dict:
    """The public key as a JSON-ready dict."""
    return {"format": PUBLIC_FORMAT, "n": format(pk.n, "x")}


def public_key_from_dict(d: Any) -> PublicKey:
    """Inverse of :func:`public_key_to_dict`; :class:`CryptoError` if malformed."""
    _require_format(d, PUBLIC_FORMAT, "public key")
    n = _hex_int(d.get("n"), "public key n")
    if n < 2**127 or n % 2 == 0:
        raise CryptoError(
            f"public key n is not a plausible Paillier modulus ({n.bit_length()} bits)"
        )
    return phe.PaillierPublicKey(n)


# --------------------------------------------------------------------------- private keys


def _public_aad(pk_dict: dict) -> bytes:
    """The associated data of a sealed private key: its public key's canonical JSON."""
    return json.dumps(pk_dict, sort_keys=True).encode()


def private_key_to_encrypted_dict(
    sk: PrivateKey, passphrase: str, scrypt_n: int = SCRYPT_N
) -> dict:
    """The private key sealed with a passphrase (scrypt + AES-256-GCM), as a JSON-ready dict."""
    pub = public_key_to_dict(sk.public_key)
    secret = json.dumps({"p": format(sk.p, "x"), "q": format(sk.q, "x")}).encode()
    sealed = seal_with_passphrase(secret, passphrase, _public_aad(pub), scrypt_n)
    return {"format": PRIVATE_FORMAT, "public_key": pub, **sealed}


def private_key_from_encrypted_dict(d: Any, passphrase: str) -> PrivateKey:
    """Open a sealed private key; :class:`KeyPassphraseError` if the passphrase is wrong."""
    _require_format(d, PRIVATE_FORMAT, "private key file")
    try:
        pk = public_key_from_dict(d["public_key"])
    except KeyError as exc:
        raise CryptoError(f"private key file is malformed: {exc}") from None
    raw = open_with_passphrase(d, passphrase, _public_aad(public_key_to_dict(pk)), "private key")
    secret = json.loads(raw)  # authenticated: written by private_key_to_encrypted_dict
    p, q = _hex_int(secret.get("p"), "private key p"), _hex_int(secret.get("q"), "private key q")
    if p * q != pk.n:
        raise CryptoError("private key file: p·q does not match the public key")
    return phe.PaillierPrivateKey(pk, p, q)


def save_private_key(
    sk: PrivateKey, path: str | Path, passphrase: str, scrypt_n: int = SCRYPT_N
) -> Path:
    """Write the sealed private key to ``path`` (mode 0600, fsync-ed, atomically:
    :func:`hessian_common.files.write_private`)."""
    path = Path(path)
    data = json.dumps(private_key_to_encrypted_dict(sk, passphrase, scrypt_n), indent=1)
    return write_private(path, data)  # 0600, fsync-ed, atomic (the one private writer)


def load_private_key(path: str | Path, passphrase: str) -> PrivateKey:
    """Read a key written by :func:`save_private_key`."""
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise CryptoError(f"no private key file at {path}") from None
    except (OSError, ValueError) as exc:
        raise CryptoError(f"private key file {path} is not readable JSON: {exc}") from None
    return private_key_from_encrypted_dict(d, passphrase)


# --------------------------------------------------------------------------- vectors


@dataclass(frozen=True)
class EncryptedVector:
    """A vector of Paillier ciphertexts under one public key, with fixed-point exponents.

    Entry ``i`` decrypts to ``m_i · 16^exponents[i]`` (``m_i`` taken in ``(−n/3, n/3)``).
    """

    public_key: PublicKey
    ciphertexts: tuple[int, ...]
    exponents: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.ciphertexts) != len(self.exponents):
            raise CryptoError(
                f"encrypted vector: {len(self.ciphertexts)} ciphertexts but "
                f"{len(self.exponents)} exponents"
            )
        nsq = self.public_key.nsquare
        for i, c in enumerate(self.ciphertexts):
            if not 0 < c < nsq:
                raise CryptoError(f"encrypted vector entry {i} is not a ciphertext mod n²")

    def __len__(self) -> int:
        return len(self.ciphertexts)

    @classmethod
    def from_numbers(cls, numbers: Sequence[phe.EncryptedNumber]) -> EncryptedVector:
        """From phe ``EncryptedNumber`` objects (obfuscated ciphertexts are taken)."""
        if not numbers:
            raise CryptoError("encrypted vector is empty")
        pk = numbers[0].public_key
        if any(x.public_key != pk for x in numbers):
            raise CryptoError("encrypted numbers are under different public keys")
        return cls(pk, tuple(x.ciphertext() for x in numbers), tuple(x.exponent for x in numbers))

    def to_numbers(self) -> list[phe.EncryptedNumber]:
        """As phe ``EncryptedNumber`` objects."""
        return [
            phe.EncryptedNumber(self.public_key, c, e)
            for c, e in zip(self.ciphertexts, self.exponents, strict=True)
        ]

    def to_dict(self) -> dict:
        """Compact JSON-ready dict (see the module docstring)."""
        size = (self.public_key.nsquare.bit_length() + 7) // 8
        out: dict[str, Any] = {"format": VECTOR_FORMAT, "key": fingerprint(self.public_key)}
        if len(set(self.exponents)) == 1:
            out["exponent"] = self.exponents[0]
        else:
            out["exponents"] = list(self.exponents)
        out["ciphertexts"] = [
            base64.b64encode(int(c).to_bytes(size, "big")).decode() for c in self.ciphertexts
        ]
        return out

    @classmethod
    def from_dict(cls, d: Any, public_key: PublicKey) -> EncryptedVector:
        """Inverse of :meth:`to_dict`; checks the key fingerprint; :class:`CryptoError` if bad."""
        _require_format(d, VECTOR_FORMAT, "encrypted vector")
        if d.get("key") != fingerprint(public_key):
            raise CryptoError(
                f"encrypted vector is under key {d.get('key')!r}, not {fingerprint(public_key)!r}"
            )
        cts = d.get("ciphertexts")
        if not isinstance(cts, list) or not cts:
            raise CryptoError("encrypted vector: 'ciphertexts' must be a non-empty list")
        if "exponents" in d:
            exps = d["exponents"]
            if not isinstance(exps, list) or len(exps) != len(cts):
                raise CryptoError("encrypted vector: 'exponents' must list one per ciphertext")
        else:
            exps = [d.get("exponent")] * len(cts)
        if not all(
            isinstance(e, int) and not isinstance(e, bool) and -4096 < e < 4096 for e in exps
        ):
            raise CryptoError("encrypted vector: exponents must be integers in (-4096, 4096)")
        ints = []
        for i, s in enumerate(cts):
            try:
                ints.append(int.from_bytes(base64.b64decode(s, validate=True), "big"))
            except (TypeError, ValueError, binascii.Error):
                raise CryptoError(f"encrypted vector entry {i} is not base64") from None
        return cls(public_key, tuple(ints), tuple(exps))

    def to_json(self) -> str:
        """:meth:`to_dict` as compact JSON text."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes, public_key: PublicKey) -> EncryptedVector:
        """Inverse of :meth:`to_json`."""
        try:
            d = json.loads(text)
        except ValueError as exc:
            raise CryptoError(f"encrypted vector is not valid JSON: {exc}") from None
        return cls.from_dict(d, public_key)


def encode_fixed(x: float, exponent: int, pk: PublicKey) -> int:
    """Round ``x`` to the integer ``m`` with ``x ≈ m · 16^exponent``; checks phe's range."""
    if not math.isfinite(x):
        raise CryptoError(f"cannot encode non-finite value {x!r}")
    m = round(math.ldexp(float(x), -4 * exponent))
    if abs(m) > pk.max_int:
        raise CryptoError(f"value {x!r} overflows the key's plaintext range at exponent {exponent}")
    return m


def encrypt_vector(
    pk: PublicKey,
    x: Iterable[float],
    workers: int | None = 1,
    exponent: int = DEFAULT_EXPONENT,
) -> EncryptedVector:
    """Encrypt a real vector entry by entry, all at one fixed-point ``exponent``.

    Each encryption costs one full-size exponentiation ``r^n mod n²``; ``workers`` processes
    share them (``None``: one per core; 1: in this process).
    """
    values = np.asarray(list(x), dtype=float).ravel()
    if values.size == 0:
        raise CryptoError("cannot encrypt an empty vector")
    ints = [encode_fixed(v, exponent, pk) for v in values]
    cts = raw.encrypt_ints(ints, pk.n, pk.nsquare, workers)
    return EncryptedVector(pk, tuple(cts), (exponent,) * len(cts))


def prepare_randomisers(pk: PublicKey, count: int, background: bool = True) -> RandomiserPool:
    """Precompute ``count`` randomisers ``r^n mod n²`` for the next encrypted update under ``pk``.

    Call it when the owner starts reviewing a file (``count`` = the model's d): the next
    :meth:`~hessian_common.learning.updates.AffineUpdate.apply_encrypted` under ``pk`` takes
    them instead of computing d full-size exponentiations on the critical path, and computes
    any it lacks. Each value is used once; the pool lives in this process only (see
    :mod:`hessian_common.crypto.randomisers` for why this is as safe as fresh randomness).
    ``background=True`` fills in a daemon thread and returns at once; ``False`` fills here.
    Returns the key's pool (``len(pool)``: how many are ready).
    """
    pool = pool_for(pk.n)
    if background:
        pool.start(count)
    else:
        pool.fill(count)
    return pool


def _decrypt_chunk(sk: PrivateKey, cts: Sequence[int], exps: Sequence[int]) -> list[float]:
    pk = sk.public_key
    out = []
    for c, e in zip(cts, exps, strict=True):
        try:
            out.append(float(sk.decrypt(phe.EncryptedNumber(pk, c, e))))
        except OverflowError:
            raise CryptoError("decrypted value overflowed the key's plaintext range") from None
    return out


def decrypt_vector(
    sk: PrivateKey,
    enc: EncryptedVector | Sequence[phe.EncryptedNumber],
    workers: int | None = 1,
) -> np.ndarray:
    """Decrypt to a float ndarray; :class:`CryptoError` if ``enc`` is under another key."""
    if not isinstance(enc, EncryptedVector):
        enc = EncryptedVector.from_numbers(list(enc))
    if enc.public_key != sk.public_key:
        raise CryptoError(
            f"vector is encrypted under key {fingerprint(enc.public_key)}, "
            f"not {fingerprint(sk.public_key)}"
        )
    k = raw.resolve_workers(workers, len(enc) // 4 or 1)
    if k == 1:
        return np.array(_decrypt_chunk(sk, enc.ciphertexts, enc.exponents))
    calls = [
        (sk, [enc.ciphertexts[i] for i in part], [enc.exponents[i] for i in part])
        for part in raw.split(len(enc), k)
    ]
    return np.array([v for chunk in raw.run_parallel(_decrypt_chunk, calls, k) for v in chunk])
