"""Paillier randomisers ``ρ = r^n mod n²``: fresh, or precomputed in a pool used once each.

Every ciphertext that leaves the machine is multiplied by a fresh randomiser (``phe``'s
``obfuscate()``): an encrypted update ``enc(w'_i) = Π_j c_j^{P_ij} · (1 + q_i·n) · ρ_i`` needs
``d`` of them. Each costs a full-size exponentiation (|n|-bit exponent modulo n², about 10 ms at
2048 bits, about as much as 2,000 modular multiplications), so after the faster product kernel
(:mod:`hessian_common.crypto.multiexp`) they are most of an owner's submission. They depend
on nothing but the public key, so they can be computed *before* the submission — while the
owner reviews the file — by :class:`RandomiserPool`, in a background thread.

The default: precomputed, full-size randomisers
-----------------------------------------------
:func:`hessian_common.crypto.raw.affine_rows` takes its randomisers from the key's pool
(:func:`pool_for`) and computes any shortfall fresh, so without a warmed pool nothing changes.
Why a pooled randomiser is exactly as safe as a fresh one:

- *Same distribution.* Each is ``r^n mod n²`` with ``r`` uniform in ``[1, n)`` from the OS
  CSPRNG (:mod:`secrets`), as ``phe`` draws it (``SystemRandom().randrange(1, n)``). When it
  was computed does not change what it is.
- *Used once.* :meth:`RandomiserPool.take` removes values under a lock before returning them;
  a forked child's copy of every pool is emptied at the fork (``os.register_at_fork``), so a
  parent and a child never both use one; the pool lives in process memory only (never written,
  logged or sent). Re-use would be fatal: two outputs sharing ``ρ`` differ by a quotient free
  of randomness.
- *Hides P and q even from the key holder.* With the factorisation the lender can extract an
  output's randomness ``R_i = ρ_i · Π_j r_j^{P_ij} mod n`` (the n-th root of the ciphertext
  over ``(1+n)^{w'_i}``), and it knows its own ``r_j``. As ``ρ_i`` is uniform in ``Z*_n`` and
  independent of everything else, so is ``R_i``, whatever ``P`` and ``q`` were: the output is
  distributed as a fresh encryption of ``w'_i`` and reveals nothing beyond it, without any
  assumption.

Not used: short-exponent / fixed-base randomisers
-------------------------------------------------
``ρ = h^s`` with a fixed n-th residue ``h = x^n`` and a short ``s`` (256–1024 bits, the
Damgård–Jurik–Nielsen variant) would make a fresh randomiser 2–8× cheaper, and against an
outsider it is semantically secure under DCR plus a short-exponent assumption. But here the
party to hide ``P`` and ``q`` from is the lender, who holds the key: it can take the n-th root,
and deciding whether ``R_i / Π_j r_j^{P_ij}`` lies in ``{x^s : s short}`` for a guessed ``P`` is
a discrete-logarithm question modulo the 1024-bit primes ``p`` and ``q`` — about 80-bit security
by index calculus, less than the 112 bits of a 2048-bit key and far less than the perfect
hiding above. A pool filled while the owner reviews costs nothing on the critical path, so the
weaker randomisers are not worth having.

Threads: ``gmpy2`` releases the GIL during the fillers' exponentiations
(``allow_release_gil``), so a filler does not block the thread serving the owner. Around a
fork (:func:`hessian_common.crypto.raw.run_parallel`) every filler is paused by
:func:`paused` and resumed afterwards.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import weakref
from collections.abc import Iterator

import gmpy2

from hessian_common.errors import CryptoError


def fresh_one(n: int, nsquare: int) -> gmpy2.mpz:
    """A fresh ``r^n mod n²`` with ``r`` uniform in ``[1, n)`` (from the OS CSPRNG)."""
    r = 1 + secrets.randbelow(int(n) - 1)
    return gmpy2.powmod(gmpy2.mpz(r), n, nsquare)


def fresh(n: int, nsquare: int, count: int) -> list[gmpy2.mpz]:
    """``count`` fresh randomisers, computed here."""
    n, nsquare = gmpy2.mpz(n), gmpy2.mpz(nsquare)
    return [fresh_one(n, nsquare) for _ in range(count)]


_ALL: weakref.WeakSet[RandomiserPool] = weakref.WeakSet()


class RandomiserPool:
    """Precomputed randomisers ``r^n mod n²`` for one public key ``n``; each handed out once.

    ``fill(k)`` computes until ``k`` are ready (in this thread); ``start(k)`` does it in a
    background thread and returns at once; ``take(k)`` returns ``k`` of them, removed from the
    pool, computing any shortfall fresh; ``take_ready(k)`` returns only those already computed.
    Thread-safe. Use :func:`pool_for` to get the process-wide pool of a key.
    """

    def __init__(self, n: int) -> None:
        if int(n) < 3:
            raise CryptoError(f"randomiser pool: {n!r} is not a Paillier modulus")
        self.n = gmpy2.mpz(n)
        self.nsquare = self.n * self.n
        self._ready: list[gmpy2.mpz] = []
        self._lock = threading.Lock()
        self._target = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        _ALL.add(self)

    def __len__(self) -> int:
        """How many randomisers are ready."""
        with self._lock:
            return len(self._ready)

    @property
    def filling(self) -> bool:
        """Whether a background filler is running."""
        with self._lock:
            return self._running()

    def _running(self) -> bool:
        t = self._thread
        return t is not None and t.is_alive()

    def fill(self, count: int) -> int:
        """Compute in this thread until ``count`` are ready; returns how many are ready."""
        while True:
            with self._lock:
                if len(self._ready) >= count:
                    return len(self._ready)
            value = fresh_one(self.n, self.nsquare)
            with self._lock:
                self._ready.append(value)

    def start(self, count: int) -> None:
        """Fill up to ``count`` in a background (daemon) thread; returns immediately.

        Calling it again while a filler runs raises the filler's target to the larger count.
        """
        if count < 0:
            raise CryptoError(f"randomiser pool: count must be >= 0, got {count}")
        with self._lock:
            running = self._running()
            self._target = max(self._target, int(count)) if running else int(count)
            if running or len(self._ready) >= self._target:
                return
            self._stop = threading.Event()
            self._thread = threading.Thread(
                target=self._run, args=(self._stop,), name="paillier-randomisers", daemon=True
            )
            self._thread.start()

    def _run(self, stop: threading.Event) -> None:
        n, nsq = self.n, self.nsquare
        with gmpy2.context(gmpy2.get_context(), allow_release_gil=True):
            while True:
                # Deciding to leave and deregistering happen under one lock, so a start()
                # never raises the target of a filler that is already leaving.
                with self._lock:
                    if stop.is_set() or len(self._ready) >= self._target:
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return
                value = fresh_one(n, nsq)
                with self._lock:
                    self._ready.append(value)

    def stop(self) -> None:
        """Stop the background filler (waits for the exponentiation under way, ~10 ms)."""
        thread = self._thread
        self._stop.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None

    def take_ready(self, count: int) -> list[gmpy2.mpz]:
        """Up to ``count`` randomisers already computed, removed from the pool."""
        if count < 0:
            raise CryptoError(f"randomiser pool: count must be >= 0, got {count}")
        with self._lock:
            k = min(count, len(self._ready))
            out = self._ready[len(self._ready) - k :]
            del self._ready[len(self._ready) - k :]
        return out

    def take(self, count: int) -> list[gmpy2.mpz]:
        """Exactly ``count`` randomisers: the ready ones first, the rest computed fresh here."""
        out = self.take_ready(count)
        out.extend(fresh(self.n, self.nsquare, count - len(out)))
        return out

    def discard(self) -> None:
        """Stop filling and forget every ready randomiser."""
        self.stop()
        with self._lock:
            self._ready.clear()
            self._target = 0

    def _forget_after_fork(self) -> None:
        """In a forked child: drop the parent's randomisers (the parent may use them)."""
        self._lock = threading.Lock()
        self._ready = []
        self._target = 0
        self._stop = threading.Event()
        self._thread = None


_POOLS: dict[int, RandomiserPool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(n: int) -> RandomiserPool:
    """The process-wide pool of the public key with modulus ``n`` (created empty if new)."""
    key = int(n)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = RandomiserPool(key)
        return pool


def warm(n: int, count: int) -> RandomiserPool:
    """Start filling the pool of ``n`` up to ``count`` in the background; returns the pool."""
    pool = pool_for(n)
    pool.start(count)
    return pool


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Pause every background filler for the duration (e.g. around a fork), then resume."""
    running = [p for p in list(_ALL) if p.filling]
    targets = [p._target for p in running]
    for p in running:
        p.stop()
    try:
        yield
    finally:
        for p, target in zip(running, targets, strict=True):
            p.start(target)


def _after_fork_in_child() -> None:
    global _POOLS_LOCK
    _POOLS_LOCK = threading.Lock()
    _POOLS.clear()
    for pool in list(_ALL):
        pool._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
