"""Raw Paillier arithmetic on integers (gmpy2), and the process pool that parallelises it.

This is the fast layer under :mod:`hessian_common.crypto.paillier`; use that module unless you
are writing a hot loop. Everything here takes and returns plain integers: ciphertexts ``c`` in
``Z*_{n²}`` and signed plaintext exponents. The identities used (``g = n + 1``)::

    D(c1 · c2 mod n²)  = D(c1) + D(c2)                  (homomorphic addition)
    D(c ^ k mod n²)    = k · D(c)                       (multiplication by a plaintext k)
    D(c ^ -k)          = -k · D(c)     with c^-k = (c⁻¹)^k, so k stays small
    enc(m; r)          = (1 + m·n) · r^n mod n²         (r uniform in Z*_n: the randomiser)

An encrypted affine map (:func:`affine_rows`, :func:`parallel_affine_rows`) is one
multi-exponentiation per output row over the same bases (:mod:`.multiexp`: the ``grouped``
kernel by default, the earlier ``straus`` one and the ``naive`` one-``powmod``-per-product
kept for measurements) and one randomiser ``r^n`` per output, taken from the key's pool of
precomputed ones when it has any, else computed fresh (:mod:`.randomisers`, which also says why
a pooled randomiser is as safe as a fresh one).

Parallelism: :func:`run_parallel` forks a process pool for one call and shuts it down before
returning (``fork`` start method: no re-import of ``__main__``, so scripts and the CLI work
without a ``__main__`` guard; pass ``workers=1`` to stay in-process). No worker outlives the
call: a long-lived forked worker would keep the parent's pipes and sockets open, and a child
process waiting for EOF on one of them (a browser driver, a node) would wait for ever. The fork
costs a few milliseconds against the hundreds a submission takes; background randomiser
fillers are paused around it, and background table builders finished before it. The
``grouped`` kernel splits the *columns* (bases) over the workers, so each builds only its own
groups' tables, and multiplies the partial products — or, when this process holds precomputed
tables for the bases (:func:`.multiexp.prepare_tables`), splits their groups, which the forked
workers inherit; the ``straus`` and ``naive`` kernels split the rows, as before.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Literal, TypeVar

import gmpy2

from hessian_common.crypto import multiexp
from hessian_common.crypto import randomisers as rnd
from hessian_common.crypto.multiexp import DEFAULT_KERNEL, KERNELS
from hessian_common.errors import CryptoError

T = TypeVar("T")

RandomiserSource = Literal["pool", "fresh"]
"""Where :func:`affine_rows` gets its randomisers: ``"pool"`` (the key's precomputed ones,
the shortfall computed fresh; the default) or ``"fresh"`` (all computed in the call)."""


def resolve_workers(workers: int | None, jobs: int) -> int:
    """How many processes to use: ``None`` means one per core, never more than ``jobs``."""
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return max(1, min(workers, jobs))


def run_parallel(fn: Callable[..., T], calls: Sequence[tuple[Any, ...]], workers: int) -> list[T]:
    """``[fn(*args) for args in calls]`` over ``workers`` forked processes, results in order.

    This process computes ``calls[0]`` itself while ``workers − 1`` forked ones take the rest
    (one fork fewer, and no core left waiting). The pool exists only for this call (see the
    module notes on why no worker may outlive it); background randomiser fillers are paused
    while it runs.
    """
    if len(calls) <= 1 or workers <= 1:
        return [fn(*args) for args in calls]
    multiexp.wait_for_tables()  # no child inherits a half-built table set
    ctx = multiprocessing.get_context("fork")
    with rnd.paused(), ProcessPoolExecutor(max_workers=workers - 1, mp_context=ctx) as executor:
        futures = [executor.submit(fn, *args) for args in calls[1:]]
        first = fn(*calls[0])
        return [first, *(f.result() for f in futures)]


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
    return rnd.fresh_one(gmpy2.mpz(n), gmpy2.mpz(nsquare))


def raw_encrypt(m: int, n: int, nsquare: int) -> gmpy2.mpz:
    """``enc(m) = (1 + m·n) · r^n mod n²`` for an integer ``m`` (negative: taken mod n)."""
    nude = (1 + (m % n) * n) % nsquare
    return gmpy2.mpz(nude) * obfuscator(n, nsquare) % nsquare


def multi_powmod(
    bases: Sequence[int],
    rows: Sequence[Sequence[int]],
    nsquare: int,
    kernel: str = DEFAULT_KERNEL,
) -> list[gmpy2.mpz]:
    """For each row ``k`` of signed exponents, ``Π_j bases[j]^k_j mod n²``.

    Parameters
    ----------
    bases : sequence of int, length d
        Ciphertexts ``c_j`` (must be invertible mod n², as every Paillier ciphertext is).
    rows : sequence of rows, each a sequence of d signed ints
        Exponents; a negative ``k`` means ``(c⁻¹)^|k|``, zero means 1.
    nsquare : int
        The modulus ``n²``.
    kernel : str
        ``"grouped"`` (default), ``"straus"`` or ``"naive"`` (:mod:`.multiexp`); all give the
        same integers.

    Returns
    -------
    list of mpz, one per row.
    """
    return _kernel(kernel)(bases, rows, nsquare)


def _kernel(name: str) -> Callable[..., list[gmpy2.mpz]]:
    try:
        return KERNELS[name]
    except KeyError:
        raise CryptoError(
            f"unknown multi-exponentiation kernel {name!r}; expected one of {', '.join(KERNELS)}"
        ) from None


def _check_source(source: str) -> None:
    if source not in ("pool", "fresh"):
        raise CryptoError(f"unknown randomiser source {source!r}; expected 'pool' or 'fresh'")


def _randomisers(n: int, nsquare: int, count: int, source: RandomiserSource) -> list[gmpy2.mpz]:
    _check_source(source)
    if source == "pool":
        return rnd.pool_for(n).take(count)
    return rnd.fresh(n, nsquare, count)


def _finish(
    products: Sequence[int],
    offsets: Sequence[int],
    n: int,
    nsq: gmpy2.mpz,
    randomisers: Sequence[int] | None,
) -> list[int]:
    """``c_i = products_i · (1 + q_i·n) [· ρ_i] mod n²``."""
    out = []
    for i, (prod, q) in enumerate(zip(products, offsets, strict=True)):
        c = gmpy2.mpz(prod) * ((1 + (int(q) % n) * n) % nsq) % nsq
        if randomisers is not None:
            c = c * randomisers[i] % nsq
        out.append(int(c))
    return out


def _check_shapes(
    bases: Sequence[int], rows: Sequence[Sequence[int]], offsets: Sequence[int]
) -> None:
    if len(rows) != len(offsets):
        raise CryptoError(f"affine map: {len(rows)} rows of P but {len(offsets)} offsets q")


def affine_rows(
    bases: Sequence[int],
    rows: Sequence[Sequence[int]],
    offsets: Sequence[int],
    n: int,
    nsquare: int,
    obfuscate: bool = True,
    *,
    kernel: str = DEFAULT_KERNEL,
    randomisers: RandomiserSource = "pool",
) -> list[int]:
    """``c'_i = Π_j c_j^{P_ij} · (1 + q_i·n) · r_i^n mod n²`` for each row ``i``.

    The encrypted affine map on integers: ``D(c'_i) = Σ_j P_ij·D(c_j) + q_i (mod n)``, with a
    fresh randomiser per output so the result reveals nothing about ``P`` or ``q`` beyond the
    decrypted value (even to the key holder, see :mod:`.randomisers`). ``obfuscate=False``
    skips ``r_i^n`` (only for measurements and tests: the output would leak ``P`` and ``q``).
    Before obfuscation the integers are exactly those of ``phe``'s operators:
    ``Σ_j EncryptedNumber(c_j) * P_ij + q_i``.
    """
    _check_shapes(bases, rows, offsets)
    nsq = gmpy2.mpz(nsquare)
    products = _kernel(kernel)(bases, rows, nsq)
    rs = _randomisers(n, nsq, len(rows), randomisers) if obfuscate else None
    return _finish(products, offsets, n, nsq, rs)


def _encrypt_chunk(values: Sequence[int], n: int, nsquare: int) -> list[int]:
    return [int(raw_encrypt(m, n, nsquare)) for m in values]


def encrypt_ints(values: Sequence[int], n: int, nsquare: int, workers: int | None) -> list[int]:
    """Encrypt integer plaintexts (already encoded), over ``workers`` processes."""
    k = resolve_workers(workers, len(values) // 4 or 1)
    if k == 1:
        return _encrypt_chunk(values, n, nsquare)
    calls = [([values[i] for i in part], n, nsquare) for part in split(len(values), k)]
    return [c for chunk in run_parallel(_encrypt_chunk, calls, k) for c in chunk]


def _products_chunk(
    kernel: str,
    bases: list[int],
    rows: list[list[int]],
    nsquare: int,
    n: int,
    fresh_count: int,
    tables: tuple[str, int, int] | None = None,
) -> tuple[list[int], list[int]]:
    """One worker's share: its products and ``fresh_count`` fresh randomisers. ``tables``:
    ``(key, first, stop)``, groups of the precomputed tables named ``key`` (inherited from the
    parent at the fork) that cover exactly ``bases``."""
    found = multiexp.tables_by_key(tables[0]) if tables is not None else None
    if found is not None and tables is not None:
        products = multiexp.grouped_rows(bases, rows, nsquare, tables=found.groups(*tables[1:]))
    else:
        products = _kernel(kernel)(bases, rows, nsquare)
    return [int(p) for p in products], [int(r) for r in rnd.fresh(n, nsquare, fresh_count)]


def parallel_affine_rows(
    bases: Sequence[int],
    rows: Sequence[Sequence[int]],
    offsets: Sequence[int],
    n: int,
    nsquare: int,
    workers: int | None,
    obfuscate: bool = True,
    *,
    kernel: str = DEFAULT_KERNEL,
    randomisers: RandomiserSource = "pool",
) -> list[int]:
    """:func:`affine_rows` over ``workers`` processes (same integers up to the randomisers).

    ``grouped`` kernel: the bases (columns) are split over the workers and the partial
    products multiplied here; ``straus`` / ``naive``: the rows are split. Randomisers: the
    pool's ready ones are taken here, the shortfall is computed fresh by the workers (an equal
    share each) and sent back with the products.
    """
    _check_shapes(bases, rows, offsets)
    d_out, d_in = len(rows), len(bases)
    by_columns = kernel == "grouped"
    _kernel(kernel)
    k = resolve_workers(workers, d_in if by_columns else d_out)
    if k == 1 or d_out == 0:
        return affine_rows(
            bases, rows, offsets, n, nsquare, obfuscate, kernel=kernel, randomisers=randomisers
        )
    nsq = gmpy2.mpz(nsquare)
    _check_source(randomisers)
    ready = rnd.pool_for(n).take_ready(d_out) if obfuscate and randomisers == "pool" else []
    shortfall = split(d_out - len(ready), k) if obfuscate else []
    fresh_counts = [len(r) for r in shortfall] + [0] * (k - len(shortfall))
    ints = [int(c) for c in bases]
    if by_columns:
        multiexp.wait_for_tables()  # a builder for these very bases may be finishing
        pre = multiexp.cached_tables(ints, nsquare)
        if pre is not None and len(pre.bounds) >= k:  # the workers share out its groups
            shares = split(len(pre.bounds), k)
            cuts = [slice(pre.bounds[g.start][0], pre.bounds[g.stop - 1][1]) for g in shares]
            named: list[tuple[str, int, int] | None] = [
                (pre.key, g.start, g.stop) for g in shares
            ]
        else:
            cuts = [slice(part.start, part.stop) for part in split(d_in, k)]
            named = [None] * len(cuts)
        calls = [
            (kernel, ints[cut], [list(row[cut]) for row in rows], int(nsquare), int(n), fresh,
             tables)
            for cut, fresh, tables in zip(cuts, fresh_counts, named, strict=True)
        ]  # fmt: skip
        results = run_parallel(_products_chunk, calls, len(calls))
        products = [gmpy2.mpz(p) for p in results[0][0]]
        for part_products, _ in results[1:]:
            products = [a * b % nsq for a, b in zip(products, part_products, strict=True)]
    else:
        parts = split(d_out, k)
        calls = [
            (kernel, ints, [list(rows[i]) for i in part], int(nsquare), int(n), fresh_counts[w])
            for w, part in enumerate(parts)
        ]
        results = run_parallel(_products_chunk, calls, len(calls))
        products = [p for part_products, _ in results for p in part_products]
    rs = None
    if obfuscate:
        rs = ready + [gmpy2.mpz(r) for _, fresh in results for r in fresh]
    return _finish(products, offsets, n, nsq, rs)
