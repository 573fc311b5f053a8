"""Proof of correct decryption for Paillier ciphertexts: the plaintext and its randomness.

phe encrypts ``m ∈ Z_n`` with randomness ``r ∈ Z_n*`` as::

    c = g^m · r^n  mod n²,   g = n + 1,   so   c = (1 + m·n) · r^n  mod n²

The pair ``(m, r)`` is unique for each ciphertext (``x -> x^n`` is a bijection of ``Z_n*``
because ``gcd(n, φ(n)) = 1``). The key holder finds both:

    m = D(c)                                   (phe's raw decryption)
    r = (c mod n)^(n⁻¹ mod φ(n))  mod n        (since c ≡ r^n  mod n)

and anyone holding only the public key checks a claimed ``(m, r)`` by re-encrypting:
``(1 + m·n) · r^n mod n² == c``. So a lender who publishes ``(m, r)`` for every ciphertext it
decrypted cannot misstate a single plaintext: a wrong ``m`` has no ``r`` that re-encrypts to
``c``. (This is the standard Paillier "decryption proof by revealing the randomness"; it reveals
the plaintext, which is the point, and nothing about the private key: ``r`` is what the
encryptor chose, and anyone could compute it from ``c`` given ``m`` if they could take ``n``-th
roots mod ``n``, which is as hard as factoring.)

Values are encoded fixed-point by phe: ``m`` stands for ``decode(m) · 16^exponent`` with
``decode(m) = m`` for ``m <= max_int`` and ``m − n`` for ``m >= n − max_int``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gmpy2
import phe

from hessian_common.crypto import raw
from hessian_common.errors import CryptoError

if TYPE_CHECKING:  # pragma: no cover
    from hessian_common.crypto.paillier import EncryptedVector, PrivateKey, PublicKey


@dataclass(frozen=True)
class Opening:
    """The plaintexts (in ``Z_n``) and randomness of one encrypted vector, with its exponents."""

    plaintexts: tuple[int, ...]
    randomness: tuple[int, ...]
    exponents: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: hex strings (``"m"``, ``"r"``) and the exponents."""
        out: dict[str, Any] = {
            "m": [format(m, "x") for m in self.plaintexts],
            "r": [format(r, "x") for r in self.randomness],
        }
        if len(set(self.exponents)) == 1:
            out["exponent"] = self.exponents[0]
        else:
            out["exponents"] = list(self.exponents)
        return out

    @classmethod
    def from_dict(cls, d: Any, public_key: PublicKey, what: str = "opening") -> Opening:
        """Inverse of :meth:`to_dict`; values must lie in ``Z_n`` (``CryptoError`` otherwise)."""
        if not isinstance(d, dict):
            raise CryptoError(f"{what}: must be an object")
        ms, rs = d.get("m"), d.get("r")
        if not isinstance(ms, list) or not isinstance(rs, list) or len(ms) != len(rs) or not ms:
            raise CryptoError(f"{what}: 'm' and 'r' must be non-empty lists of equal length")
        if "exponents" in d:
            exps = d["exponents"]
            if not isinstance(exps, list) or len(exps) != len(ms):
                raise CryptoError(f"{what}: one exponent per value")
        else:
            exps = [d.get("exponent")] * len(ms)
        if not all(
            isinstance(e, int) and not isinstance(e, bool) and -4096 < e < 4096 for e in exps
        ):
            raise CryptoError(f"{what}: exponents must be integers in (-4096, 4096)")
        n = public_key.n
        hex_len = (n.bit_length() + 3) // 4

        def num(text: Any) -> int:
            if not isinstance(text, str) or not 0 < len(text) <= hex_len:
                raise CryptoError(f"{what}: values must be hex strings of <= {hex_len} digits")
            try:
                v = int(text, 16)
            except ValueError:
                raise CryptoError(f"{what}: {text[:16]!r} is not hex") from None
            if not 0 <= v < n:
                raise CryptoError(f"{what}: a value is not in Z_n")
            return v

        return cls(tuple(num(m) for m in ms), tuple(num(r) for r in rs), tuple(exps))

    def values(self, public_key: PublicKey) -> list[float]:
        """The real numbers the plaintexts encode (phe's fixed-point decoding)."""
        out = []
        for m, e in zip(self.plaintexts, self.exponents, strict=True):
            out.append(float(phe.EncodedNumber(public_key, m, e).decode()))
        return out


def _open_chunk(p: int, q: int, n: int, cts: Sequence[int]) -> list[tuple[int, int]]:
    """``(m, r)`` of each ciphertext, with ``p``, ``q`` the factors of ``n``."""
    pk = phe.PaillierPublicKey(n)
    sk = phe.PaillierPrivateKey(pk, p, q)
    n_inv = int(gmpy2.invert(n, (p - 1) * (q - 1)))
    out = []
    mpz_n = gmpy2.mpz(n)
    for c in cts:
        m = sk.raw_decrypt(c)
        r = int(gmpy2.powmod(gmpy2.mpz(c) % mpz_n, n_inv, mpz_n))
        out.append((m, r))
    return out


def open_vector(sk: PrivateKey, enc: EncryptedVector, workers: int | None = 1) -> Opening:
    """The :class:`Opening` of ``enc`` (the key holder only); ``workers`` as in ``raw``."""
    if enc.public_key != sk.public_key:
        raise CryptoError("the vector is not encrypted under this private key")
    n = sk.public_key.n
    k = raw.resolve_workers(workers, len(enc) // 4 or 1)
    parts = raw.split(len(enc), k)
    calls = [(sk.p, sk.q, n, [enc.ciphertexts[i] for i in part]) for part in parts]
    pairs = [pr for chunk in _run(_open_chunk, calls, k) for pr in chunk]
    return Opening(
        tuple(m for m, _ in pairs), tuple(r for _, r in pairs), tuple(enc.exponents)
    )


def _run(fn: Any, calls: list[tuple[Any, ...]], k: int) -> list[Any]:
    """``fn`` over ``calls``: in this process for one worker, else forked processes."""
    if k == 1:
        return [fn(*args) for args in calls]
    return raw.run_parallel(fn, calls, k)


def _check_chunk(n: int, items: Sequence[tuple[int, int, int]]) -> list[bool]:
    nn = gmpy2.mpz(n) * n
    out = []
    for c, m, r in items:
        if r == 0 or gmpy2.gcd(r, n) != 1:
            out.append(False)
            continue
        again = (1 + gmpy2.mpz(m) * n) * gmpy2.powmod(gmpy2.mpz(r), n, nn) % nn
        out.append(int(again) == int(c))
    return out


def verify_opening(
    public_key: PublicKey, enc: EncryptedVector, opening: Opening, workers: int | None = 1
) -> list[bool]:
    """For each entry: does ``(m, r)`` re-encrypt to the ciphertext (and the exponent match)?

    Anyone can run this (public key only). Returns one bool per entry; a length mismatch is
    all ``False``.
    """
    if len(opening.plaintexts) != len(enc) or enc.public_key != public_key:
        return [False] * len(enc)
    items = list(
        zip(enc.ciphertexts, opening.plaintexts, opening.randomness, strict=True)
    )
    k = raw.resolve_workers(workers, len(items) // 4 or 1)
    calls = [(public_key.n, [items[i] for i in part]) for part in raw.split(len(items), k)]
    ok = [b for chunk in _run(_check_chunk, calls, k) for b in chunk]
    return [
        good and e1 == e2
        for good, e1, e2 in zip(ok, enc.exponents, opening.exponents, strict=True)
    ]


__all__ = ["Opening", "open_vector", "verify_opening"]
