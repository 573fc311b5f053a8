"""Raw Paillier arithmetic on integers (gmpy2), and the process pool that parallelises it.

This is the fast layer under :mod:`hessian_common.crypto.paillier`; use that module unless you
are writing a hot loop. Everything here takes and returns plain integers: ciphertexts ``c`` in
``Z*_{n²}`` and signed plaintext exponents. The identities used (``g = n + 1``)::

    D(c1 · c2 mod n²)  = D(c1) + D(c2)                  (homomorphic addition)
    D(c ^ k mod n²)    = k · D(c)                       (multiplication by a plaintext k)
    D(c ^ -k)          = -k · D(c)     with c^-k = (c⁻¹)^k, so k stays small
    enc(m; r)          = (1 + m·n) · r^n mod n²         (r uniform in Z*_n: the obfuscator)

Only the obfuscator ``r^n`` costs a full-size (|n|-bit exponent) modular exponentiation;
products by small plaintexts cost ``|k|`` squarings, and :func:`multi_powmod` shares those
squarings between the terms of a sum (Straus' simultaneous exponentiation with 4-bit windows),
so a dot product ``Π_j c_j^{k_j}`` costs about ``|k| + d·|k|/4`` modular multiplications
instead of ``d·|k|``.

Parallelism: :func:`run_parallel` forks a process pool for one call and shuts it down before
returning (``fork`` start method: no re-import of ``__main__``, so scripts and the CLI work
without a ``__main__`` guard; pass ``workers=1`` to stay in-process). No worker outlives the
call: a long-lived forked worker would keep the parent's pipes and sockets open, and a child
process waiting for EOF on one of them (a browser driver, a node) would wait for ever. The fork
costs a few milliseconds against the hundreds a submission takes. ``gmpy2`` does not release
the GIL, so threads would not help.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

import gmpy2

WINDOW_BITS = 4
"""Window width of the simultaneous exponentiation (table of 2^4 − 1 powers per base)."""

T = TypeVar("T")


def resolve_workers(workers: int | None, jobs: int) -> int:
    """How many processes to use: ``None`` means one per core, never more than ``jobs``."""
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return max(1, min(workers, jobs))


def run_parallel(fn: Callable[..., T], calls: Sequence[tuple[Any, ...]], workers: int) -> list[T]:
    """``[fn(*args) for args in calls]`` over ``workers`` forked processes, results in order.

    The pool exists only for this call (see the module notes on why no worker may outlive it).
    """
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as executor:
        futures = [executor.submit(fn, *args) for args in calls]
        return [f.result() for f in futures]


def split(n_items: int, parts: int) -> list[range]:
    """Split ``range(n_items)`` into ``parts`` contiguous chunks of near-equal size."""
    step, extra = divmod(n_items, parts)
    out, start = [], 0
    for i in range(parts):
        stop = start + step + (1 if i < extra else 0)
        if stop > start:
            out.append(range(start, stop))
        start = stop
    return out


def obfuscator(n: int, nsquare: int) -> gmpy2.mpz:
    """A fresh ``r^n mod n²`` with ``r`` uniform in ``[1, n)`` (from the OS CSPRNG)."""
    r = 1 + secrets.randbelow(n - 1)
    return gmpy2.powmod(gmpy2.mpz(r), n, nsquare)


def raw_encrypt(m: int, n: int, nsquare: int) -> gmpy2.mpz:
    """``enc(m) = (1 + m·n) · r^n mod n²`` for an integer ``m`` (negative: taken mod n)."""
    nude = (1 + (m % n) * n) % nsquare
    return gmpy2.mpz(nude) * obfuscator(n, nsquare) % nsquare


def _power_table(c: gmpy2.mpz, nsquare: gmpy2.mpz) -> list[gmpy2.mpz]:
    """``[c^0, c^1, ..., c^(2^w − 1)] mod n²``."""
    table = [gmpy2.mpz(1), c]
    for _ in range((1 << WINDOW_BITS) - 2):
        table.append(table[-1] * c % nsquare)
    return table


def multi_powmod(
    bases: Sequence[int], rows: Sequence[Sequence[int]], nsquare: int
) -> list[gmpy2.mpz]:
    """For each row ``k`` of signed exponents, ``Π_j bases[j]^k_j mod n²``.

    Parameters
    ----------
    bases : sequence of int, length d
        Ciphertexts ``c_j`` (must be invertible mod n², as every Paillier ciphertext is).
    rows : sequence of rows, each a sequence of d signed ints
        Exponents; a negative ``k`` uses ``(c⁻¹)^|k|``.
    nsquare : int
        The modulus ``n²``.

    Returns
    -------
    list of mpz, one per row.

    Notes
    -----
    Straus' simultaneous exponentiation: the tables ``c_j^m`` and ``(c_j⁻¹)^m`` for
    ``m < 2^w`` are built once and shared by every row; each row then costs
    ``⌈L/w⌉·w`` squarings and at most ``d·⌈L/w⌉`` multiplications, ``L`` the largest
    exponent bit length in the row.
    """
    nsq = gmpy2.mpz(nsquare)
    cs = [gmpy2.mpz(c) for c in bases]
    need_neg = [any(row[j] < 0 for row in rows) for j in range(len(cs))]
    pos = [_power_table(c, nsq) for c in cs]
    neg = [
        _power_table(gmpy2.invert(c, nsq), nsq) if nn else None
        for c, nn in zip(cs, need_neg, strict=True)
    ]
    mask = (1 << WINDOW_BITS) - 1
    out = []
    for row in rows:
        mags = [abs(int(k)) for k in row]
        tables = [pos[j] if row[j] >= 0 else neg[j] for j in range(len(cs))]
        bits = max((m.bit_length() for m in mags), default=0)
        windows = (bits + WINDOW_BITS - 1) // WINDOW_BITS
        acc = gmpy2.mpz(1)
        for w in range(windows - 1, -1, -1):
            if acc != 1:
                acc = gmpy2.powmod(acc, 1 << WINDOW_BITS, nsq)
            shift = w * WINDOW_BITS
            for m, table in zip(mags, tables, strict=True):
                digit = (m >> shift) & mask
                if digit:
                    acc = acc * table[digit] % nsq
        out.append(acc)
    return out


def affine_rows(
    bases: Sequence[int],
    rows: Sequence[Sequence[int]],
    offsets: Sequence[int],
    n: int,
    nsquare: int,
    obfuscate: bool = True,
) -> list[int]:
    """``c'_i = Π_j c_j^{P_ij} · (1 + q_i·n) · r_i^n mod n²`` for each row ``i``.

    The encrypted affine map on integers: ``D(c'_i) = Σ_j P_ij·D(c_j) + q_i (mod n)``, with a
    fresh obfuscator per output so the result reveals nothing about ``P`` or ``q`` beyond the
    decrypted value. ``obfuscate=False`` skips ``r_i^n`` (only for measurements).
    """
    nsq = gmpy2.mpz(nsquare)
    products = multi_powmod(bases, rows, nsq)
    out = []
    for prod, q in zip(products, offsets, strict=True):
        c = prod * ((1 + (int(q) % n) * n) % nsq) % nsq
        if obfuscate:
            c = c * obfuscator(n, nsq) % nsq
        out.append(int(c))
    return out


def _encrypt_chunk(values: Sequence[int], n: int, nsquare: int) -> list[int]:
    return [int(raw_encrypt(m, n, nsquare)) for m in values]


def encrypt_ints(values: Sequence[int], n: int, nsquare: int, workers: int | None) -> list[int]:
    """Encrypt integer plaintexts (already encoded), over ``workers`` processes."""
    k = resolve_workers(workers, len(values) // 4 or 1)
    if k == 1:
        return _encrypt_chunk(values, n, nsquare)
    calls = [([values[i] for i in part], n, nsquare) for part in split(len(values), k)]
    return [c for chunk in run_parallel(_encrypt_chunk, calls, k) for c in chunk]


def parallel_affine_rows(
    bases: Sequence[int],
    rows: Sequence[Sequence[int]],
    offsets: Sequence[int],
    n: int,
    nsquare: int,
    workers: int | None,
    obfuscate: bool = True,
) -> list[int]:
    """:func:`affine_rows` with the rows split over ``workers`` processes."""
    k = resolve_workers(workers, len(rows))
    if k == 1:
        return affine_rows(bases, rows, offsets, n, nsquare, obfuscate)
    bases = [int(c) for c in bases]
    calls = [
        (bases, [rows[i] for i in part], [offsets[i] for i in part], n, nsquare, obfuscate)
        for part in split(len(rows), k)
    ]
    return [c for chunk in run_parallel(affine_rows, calls, k) for c in chunk]
