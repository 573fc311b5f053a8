"""Multi-exponentiation kernels: ``y_i = Π_j c_j^{E_ij} mod n²`` for every row ``i`` of ``E``.

An owner's encrypted update ``enc(w'_i) = Σ_j P_ij ⊗ enc(w_j) ⊕ enc(q_i)`` is, on the integers
under :mod:`hessian_common.crypto.paillier`, ``d`` such products over the *same* ``d``
ciphertexts ``c_j`` (one row of the exponent matrix ``E`` per output), with signed exponents
of ``L`` ≈ 48 bits. Three kernels compute exactly the same group elements of ``Z*_{n²}``:

- :func:`naive_rows`: one ``powmod`` per product, ``c^k`` or ``(c⁻¹)^|k|`` — what ``phe``'s
  ``EncryptedNumber * scalar`` does; ``d²`` exponentiations of ``L`` squarings each.
- :func:`straus_rows`: Straus' simultaneous exponentiation with 4-bit windows (the kernel used
  until issue 17, kept as the baseline): tables ``c_j^m`` and ``(c_j⁻¹)^m``, ``m < 16``, shared
  by every row; a row shares its ``L`` squarings between its ``d`` terms and costs about
  ``d·L/4`` multiplications.
- :func:`grouped_rows` (the default): bit-sliced simultaneous exponentiation with subset
  tables (Straus–Yao / "Shamir's trick" over groups of bases, the column half of Pippenger's
  method). The ``d`` bases are cut into ``m`` groups of ``g ≈ d/m``; each group gets the
  table of all ``2^g`` subset products ``T[S] = Π_{j∈S} c_j`` (``2^g − g − 1``
  multiplications, built once and shared by every row and every bit). Row ``i`` is then::

      acc ← 1
      for bit s = L−1 … 0:   acc ← acc² · Π_groups T_group[{j in group : bit s of E_ij = 1}]

  i.e. ``L`` squarings and at most ``m·L`` multiplications (a lookup whose subset is empty is
  skipped), against ``d·L/4`` for Straus: with ``d = 120``, ``L = 48``, ``g = 10``: 12 groups,
  ~590 multiplications per row instead of ~1,350, plus 12,000 once for the tables. ``g`` is
  chosen per call by counting the lookups each candidate split would do (:func:`plan_groups`).

Chosen by measurement (2048-bit key, d = 120, ``P`` from a gradient step on 1,000 rows, one
core, CPU seconds on a shared machine): one ``powmod`` per product 3.34 s; Straus with 4-, 6-
and 8-bit windows 0.88 / 0.65 / 0.78 s; grouped with ``g`` = 6 / 8 / 10 / 12 bases per group
0.63 / 0.46 / 0.48 / 0.60 s, as planned 0.42 s. A fixed-base comb per base does not help
here: it trades the ``L`` squarings a row shares for ``d·L/w`` lookups like Straus', and the
squarings are only ~7 % of the work. For a given table size, groups of bases with 1-bit
windows consume the most exponent bits per lookup (``g`` bits for ``2^g`` entries, against
``w`` bits for ``2^w`` entries per base). Further gains would need Pippenger's sharing across
rows, which at this size saves little over the ``d·L·d/g`` lookups.

Precomputed tables. The subset tables depend on the bases only — the model's published
ciphertexts, the same for every owner of a model version — not on the owner's data, so they can
be built before the submission, while the owner reviews the file, as the randomisers are
(:func:`prepare_tables`, called by :func:`hessian_common.owner.update.get_ready`). Off the
critical path a larger group pays: with ``g = 12`` (:data:`PRECOMPUTED_GROUP`: 10 groups at
d = 120, 41,000 multiplications and ~21 MiB at 2048 bits, built once) a row makes 10 lookups
per bit instead of 12, and no table is built in the submission. Kept per process for the
:data:`MAX_TABLES` newest bases (:func:`cached_tables`, keyed by a digest of ``n²`` and the
bases); :func:`grouped_rows` uses them whenever its bases match, and the forked workers of
:func:`hessian_common.crypto.raw.parallel_affine_rows` inherit them. Same integers either way.

Signed exponents without inverse tables: every column ``j`` gets the offset
``B_j = max(0, −min_i E_ij)`` so that ``E_ij + B_j ≥ 0``; one extra row computes
``X = Π_j c_j^{B_j}`` with the same tables and every output is multiplied by ``X⁻¹``::

    Π_j c_j^{E_ij + B_j} · (Π_j c_j^{B_j})⁻¹ = Π_j c_j^{E_ij}        (exactly, in Z*_{n²})

The offset keeps small exponents small (a column of ±0.01 entries is offset by 0.01, not by
2^48), costs one row, one inversion and ``d`` multiplications, and gives the same ciphertext as
``phe``'s ``(c⁻¹)^|k|``: both are the group element ``c^k``. Zero exponents contribute 1.

All functions take plain integers (or ``mpz``) and return ``mpz``; bases must be invertible
mod n² (every Paillier ciphertext is).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import gmpy2
import numpy as np

from hessian_common.errors import CryptoError

WINDOW_BITS = 4
"""Window width of :func:`straus_rows` (a table of 2^4 − 1 powers per base and sign)."""

MAX_GROUP = 14
"""Largest group of :func:`grouped_rows` (a table of 2^14 ciphertexts = 8 MiB at 2048 bits)."""

PRECOMPUTED_GROUP = 12
"""Group size of :func:`precompute_tables` (2^12 entries per group, built off the critical path)."""

MAX_TABLES = 2
"""Precomputed table sets kept per process (the newest bases first)."""

ONE = gmpy2.mpz(1)


def _check(bases: Sequence[int], rows: Sequence[Sequence[int]]) -> None:
    d = len(bases)
    for i, row in enumerate(rows):
        if len(row) != d:
            raise CryptoError(
                f"exponent row {i} has {len(row)} entries, expected {d} (one per base)"
            )


# --------------------------------------------------------------------------- naive


def naive_rows(
    bases: Sequence[int], rows: Sequence[Sequence[int]], nsquare: int
) -> list[gmpy2.mpz]:
    """``Π_j c_j^{E_ij} mod n²`` with one ``powmod`` per product (``phe``'s operators' way).

    A negative ``k`` uses ``(c⁻¹)^|k|``, as ``phe``'s ``EncryptedNumber._raw_mul`` does; the
    products of a row are multiplied together (``phe``'s ``_raw_add``).
    """
    _check(bases, rows)
    nsq = gmpy2.mpz(nsquare)
    cs = [gmpy2.mpz(c) for c in bases]
    inv: dict[int, gmpy2.mpz] = {}
    out = []
    for row in rows:
        acc = ONE
        for j, k in enumerate(row):
            k = int(k)
            if k > 0:
                acc = acc * gmpy2.powmod(cs[j], k, nsq) % nsq
            elif k < 0:
                if j not in inv:
                    inv[j] = gmpy2.invert(cs[j], nsq)
                acc = acc * gmpy2.powmod(inv[j], -k, nsq) % nsq
        out.append(acc)
    return out


# --------------------------------------------------------------------------- Straus


def _power_table(c: gmpy2.mpz, nsquare: gmpy2.mpz) -> list[gmpy2.mpz]:
    """``[c^0, c^1, ..., c^(2^w − 1)] mod n²``."""
    table = [ONE, c]
    for _ in range((1 << WINDOW_BITS) - 2):
        table.append(table[-1] * c % nsquare)
    return table


def straus_rows(
    bases: Sequence[int], rows: Sequence[Sequence[int]], nsquare: int
) -> list[gmpy2.mpz]:
    """``Π_j c_j^{E_ij} mod n²`` by Straus' method with 4-bit windows (the baseline kernel).

    The tables ``c_j^m`` and ``(c_j⁻¹)^m`` for ``m < 2^w`` are built once and shared by every
    row; each row then costs ``⌈L/w⌉·w`` squarings and at most ``d·⌈L/w⌉`` multiplications,
    ``L`` the largest exponent bit length in the row. This is, unchanged, the kernel every
    encrypted update used before :func:`grouped_rows`.
    """
    _check(bases, rows)
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


# --------------------------------------------------------------------------- grouped


def _bit_planes(rows: Sequence[Sequence[int]], n_cols: int, nbits: int) -> np.ndarray:
    """``planes[i, j, s]`` = bit ``s`` of ``rows[i][j]`` (all ≥ 0), as uint8."""
    nbytes = max(1, (nbits + 7) // 8)
    buf = b"".join(int(e).to_bytes(nbytes, "little") for row in rows for e in row)
    raw = np.frombuffer(buf, dtype=np.uint8).reshape(len(rows), n_cols, nbytes)
    return np.unpackbits(raw, axis=2, bitorder="little")[:, :, :nbits]


def _bounds(n_cols: int, groups: int) -> list[tuple[int, int]]:
    """``groups`` contiguous column ranges of near-equal size."""
    step, extra = divmod(n_cols, groups)
    out, start = [], 0
    for k in range(groups):
        stop = start + step + (1 if k < extra else 0)
        out.append((start, stop))
        start = stop
    return out


def plan_groups(planes: np.ndarray) -> list[tuple[int, int]]:
    """The column groups of :func:`grouped_rows` that minimise its multiplications.

    For each candidate number of groups ``m`` (group size ≤ :data:`MAX_GROUP`), the cost is
    the tables, ``Σ_k (2^{g_k} − g_k − 1)``, plus the lookups the rows will actually make
    (pairs (row, bit) whose subset in a group is non-empty, counted on ``planes``). Squarings
    do not depend on ``m``.
    """
    n_rows, n_cols, nbits = planes.shape
    if n_cols == 0:
        return []
    lo = -(-n_cols // MAX_GROUP)

    def tables(bounds: list[tuple[int, int]]) -> int:
        return sum((1 << (b - a)) - (b - a) - 1 for a, b in bounds)

    # Shortlist with every lookup counted (dense rows), then count the real ones.
    dense = n_rows * nbits
    shortlist = sorted(range(lo, n_cols + 1), key=lambda m: tables(_bounds(n_cols, m)) + m * dense)
    best_cost, best = None, []
    for m in shortlist[:3]:
        bounds = _bounds(n_cols, m)
        lookups = sum(int(np.count_nonzero(planes[:, a:b, :].any(axis=1))) for a, b in bounds)
        if best_cost is None or tables(bounds) + lookups < best_cost:
            best_cost, best = tables(bounds) + lookups, bounds
    return best


def _subset_table(cs: Sequence[gmpy2.mpz], nsq: gmpy2.mpz) -> list[gmpy2.mpz]:
    """``T[S] = Π_{t ∈ S} cs[t] mod n²`` for every bit mask ``S < 2^len(cs)``."""
    size = 1 << len(cs)
    table = [ONE] * size
    for t, c in enumerate(cs):
        table[1 << t] = c
    for mask in range(3, size):
        low = mask & -mask
        if mask != low:
            table[mask] = table[mask ^ low] * table[low] % nsq
    return table


@dataclass(frozen=True, eq=False)
class SubsetTables:
    """The subset tables of some bases: ``tables[k][S] = Π_{j∈S} c_{bounds[k][0]+j}`` mod n².

    ``key`` is :func:`tables_key` of the bases and ``n²`` they were built for; ``bounds`` the
    contiguous column groups, from column 0.
    """

    key: str
    bounds: tuple[tuple[int, int], ...]
    tables: tuple[list[gmpy2.mpz], ...]

    def groups(self, first: int, stop: int) -> SubsetTables:
        """Groups ``first..stop-1`` alone, their columns renumbered from 0 (a worker's share)."""
        if not 0 <= first < stop <= len(self.bounds):
            raise CryptoError(f"groups {first}..{stop} are not within 0..{len(self.bounds)}")
        base = self.bounds[first][0]
        bounds = tuple((a - base, b - base) for a, b in self.bounds[first:stop])
        return SubsetTables(f"{self.key}[{first}:{stop}]", bounds, self.tables[first:stop])


def tables_key(bases: Sequence[int], nsquare: int) -> str:
    """A digest naming ``n²`` and the bases in order (SHA-256 of their big-endian bytes)."""
    h = hashlib.sha256()
    size = (int(nsquare).bit_length() + 7) // 8
    h.update(int(nsquare).to_bytes(size, "big"))
    for c in bases:
        h.update(int(c).to_bytes(size, "big"))
    return h.hexdigest()


_TABLES: OrderedDict[str, SubsetTables] = OrderedDict()
_TABLES_LOCK = threading.Lock()
_BUILDERS: dict[str, threading.Thread] = {}


def precompute_tables(
    bases: Sequence[int], nsquare: int, group: int = PRECOMPUTED_GROUP
) -> SubsetTables:
    """Build (or find) the subset tables of ``bases`` in groups of ``group``, and keep them in
    this process for :func:`grouped_rows` (the :data:`MAX_TABLES` newest are kept)."""
    if not 0 < group <= MAX_GROUP:
        raise CryptoError(f"a group has 1 to {MAX_GROUP} bases, not {group}")
    key = tables_key(bases, nsquare)
    with _TABLES_LOCK:
        found = _TABLES.get(key)
    if found is not None:
        return found
    nsq = gmpy2.mpz(nsquare)
    cs = [gmpy2.mpz(c) for c in bases]
    bounds = tuple(_bounds(len(cs), max(1, -(-len(cs) // group)))) if cs else ()
    with gmpy2.context(gmpy2.get_context(), allow_release_gil=True):
        tables = tuple(_subset_table(cs[a:b], nsq) for a, b in bounds)
    made = SubsetTables(key, bounds, tables)
    with _TABLES_LOCK:
        _TABLES[key] = made
        _TABLES.move_to_end(key)
        while len(_TABLES) > MAX_TABLES:
            _TABLES.popitem(last=False)
    return made


def prepare_tables(bases: Sequence[int], nsquare: int, group: int = PRECOMPUTED_GROUP) -> None:
    """Start :func:`precompute_tables` in a background (daemon) thread; returns at once.

    A second call for the same bases while one builds does nothing. :func:`wait_for_tables`
    joins the builders (done before every fork, so a child never inherits a half-built set).
    """
    bases, key = [int(c) for c in bases], tables_key(bases, nsquare)
    with _TABLES_LOCK:
        running = _BUILDERS.get(key)
        if key in _TABLES or (running is not None and running.is_alive()):
            return
        thread = threading.Thread(
            target=precompute_tables, args=(bases, int(nsquare), group),
            name="multiexp-tables", daemon=True,
        )  # fmt: skip
        _BUILDERS[key] = thread
    thread.start()


def wait_for_tables() -> None:
    """Wait for every background table builder of this process to finish."""
    with _TABLES_LOCK:
        threads = list(_BUILDERS.values())
        _BUILDERS.clear()
    for t in threads:
        if t is not threading.current_thread():
            t.join()


def cached_tables(bases: Sequence[int], nsquare: int) -> SubsetTables | None:
    """The precomputed tables of exactly these bases and ``n²``, if this process has them."""
    return tables_by_key(tables_key(bases, nsquare))


def tables_by_key(key: str) -> SubsetTables | None:
    """The precomputed tables named ``key`` (:func:`tables_key`), if this process has them."""
    with _TABLES_LOCK:
        return _TABLES.get(key)


def forget_tables() -> None:
    """Drop every precomputed table set of this process."""
    wait_for_tables()
    with _TABLES_LOCK:
        _TABLES.clear()


def grouped_rows(
    bases: Sequence[int],
    rows: Sequence[Sequence[int]],
    nsquare: int,
    groups: Sequence[tuple[int, int]] | None = None,
    tables: SubsetTables | None = None,
) -> list[gmpy2.mpz]:
    """``Π_j c_j^{E_ij} mod n²`` for every row, by bit-sliced subset tables (the default kernel).

    Parameters
    ----------
    bases : sequence of int, length d
        Ciphertexts ``c_j`` (invertible mod n²).
    rows : sequence of rows, each a sequence of d signed ints
        The exponents ``E_ij``; any sign and size, zero allowed.
    nsquare : int
        The modulus ``n²``.
    groups : sequence of (start, stop), optional
        Column groups (contiguous, covering ``0..d``); default :func:`plan_groups`.
    tables : SubsetTables, optional
        Tables built beforehand for exactly these bases (their groups are used); default: the
        process's precomputed ones if it has them for these bases (:func:`cached_tables`, not
        looked up when ``groups`` is given), else built here.

    Returns
    -------
    list of mpz, one per row: the same group elements as :func:`naive_rows`.

    Notes
    -----
    See the module docstring: offsets ``B_j`` make every exponent non-negative, the extra row
    ``Π_j c_j^{B_j}`` is divided out at the end; each row costs ``L`` squarings and one
    multiplication per non-empty (bit, group) subset.
    """
    _check(bases, rows)
    n_out, d = len(rows), len(bases)
    if n_out == 0:
        return []
    nsq = gmpy2.mpz(nsquare)
    cs = [gmpy2.mpz(c) for c in bases]
    ints = [[int(k) for k in row] for row in rows]
    offsets = [max(0, -min(column)) for column in zip(*ints, strict=True)]
    shifted = any(offsets)
    if shifted:
        ints = [[k + b for k, b in zip(row, offsets, strict=True)] for row in ints]
        ints.append(offsets)
    nbits = max((k.bit_length() for row in ints for k in row), default=0)
    if nbits == 0 or d == 0:
        return [gmpy2.mpz(1) for _ in range(n_out)]
    planes = _bit_planes(ints, d, nbits)
    if tables is None and groups is None:
        tables = cached_tables(cs, nsq)
    if tables is not None:
        if groups is not None or not tables.bounds or tables.bounds[-1][1] != d:
            raise CryptoError(f"precomputed tables for {tables.bounds} do not fit {d} bases")
        groups = tables.bounds
    bounds = list(groups) if groups is not None else plan_groups(planes)
    starts = [0] + [b for _, b in bounds[:-1]]
    if (
        [a for a, _ in bounds] != starts
        or not bounds
        or bounds[-1][1] != d
        or any(not 0 < b - a <= MAX_GROUP for a, b in bounds)
    ):
        raise CryptoError(
            f"column groups {bounds} do not cover 0..{d} contiguously in groups of "
            f"at most {MAX_GROUP}"
        )
    if tables is not None:
        built = list(tables.tables)
    else:
        built = [_subset_table(cs[a:b], nsq) for a, b in bounds]
    # idx[i][s'][k]: subset of group k at bit nbits−1−s' of row i (most significant first)
    idx = np.stack(
        [
            np.tensordot(planes[:, a:b, :], 1 << np.arange(b - a, dtype=np.int64), axes=([1], [0]))
            for a, b in bounds
        ],
        axis=2,
    )[:, ::-1, :].tolist()
    out = []
    for row_idx in idx:
        acc = None
        for subsets in row_idx:
            if acc is not None:
                acc = acc * acc % nsq
            for table, s in zip(built, subsets, strict=True):
                if s:
                    acc = table[s] if acc is None else acc * table[s] % nsq
        out.append(ONE if acc is None else acc)
    if shifted:
        try:
            correction = gmpy2.invert(out.pop(), nsq)
        except ZeroDivisionError:
            raise CryptoError(
                "a base is not invertible mod n² (not a Paillier ciphertext)"
            ) from None
        out = [y * correction % nsq for y in out]
    return out


KERNELS = {"grouped": grouped_rows, "straus": straus_rows, "naive": naive_rows}
"""The kernels by name; ``grouped`` is the default, ``straus`` the one before issue 17."""

DEFAULT_KERNEL = "grouped"
