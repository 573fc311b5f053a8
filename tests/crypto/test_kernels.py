"""The multi-exponentiation kernels and the encrypted affine map against ``phe``'s operators."""

from __future__ import annotations

import gmpy2
import numpy as np
import phe
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hessian_common.crypto import generate_keypair, multiexp, raw
from hessian_common.crypto import randomisers as rnd
from hessian_common.errors import CryptoError

EXP = -12  # any common exponent: phe adds the scalars' exponent to the ciphertexts'


@pytest.fixture(scope="module")
def keys():
    return generate_keypair(512)


KEY_256 = generate_keypair(256)
"""A small key for the property tests (hypothesis wants module-level data, not fixtures)."""


def phe_products(pk, bases, rows):
    """``Σ_j EncryptedNumber(c_j) * E_ij`` with phe's operators, as raw ciphertexts."""
    nums = [phe.EncryptedNumber(pk, int(c), 0) for c in bases]
    out = []
    for row in rows:
        acc = None
        for num, k in zip(nums, row, strict=True):
            term = num * phe.EncodedNumber(pk, int(k) % pk.n, EXP)
            acc = term if acc is None else acc + term
        out.append(acc.ciphertext(be_secure=False))
    return out


def phe_affine(pk, bases, rows, offsets):
    """``Σ_j EncryptedNumber(c_j) * E_ij + q_i`` with phe's operators (not obfuscated)."""
    nums = [phe.EncryptedNumber(pk, int(c), 0) for c in bases]
    out = []
    for row, q in zip(rows, offsets, strict=True):
        acc = None
        for num, k in zip(nums, row, strict=True):
            term = num * phe.EncodedNumber(pk, int(k) % pk.n, EXP)
            acc = term if acc is None else acc + term
        acc = acc + phe.EncodedNumber(pk, int(q) % pk.n, EXP)
        out.append(acc.ciphertext(be_secure=False))
    return out


def encrypt_all(pk, values):
    return [int(raw.raw_encrypt(int(v), pk.n, pk.nsquare)) for v in values]


def signed(bits):
    return st.integers(min_value=-(2**bits) + 1, max_value=2**bits - 1)


@st.composite
def problems(draw):
    """Plaintexts (zero allowed), a signed exponent matrix (zero rows/columns allowed)."""
    d = draw(st.integers(1, 7))
    n_rows = draw(st.integers(0, 5))
    bits = draw(st.sampled_from([1, 5, 48, 70]))
    plain = draw(st.lists(st.integers(-(10**12), 10**12), min_size=d, max_size=d))
    rows = draw(
        st.lists(st.lists(signed(bits), min_size=d, max_size=d), min_size=n_rows, max_size=n_rows)
    )
    return plain, rows


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_kernels_equal_phe_operators(problem):
    pk, sk = KEY_256
    plain, rows = problem
    bases = encrypt_all(pk, plain)
    want = phe_products(pk, bases, rows) if rows else []
    for name in multiexp.KERNELS:
        got = [int(c) for c in raw.multi_powmod(bases, rows, pk.nsquare, kernel=name)]
        assert got == want, name
    for row, c in zip(rows, want, strict=True):  # and they decrypt to the dot products
        assert sk.raw_decrypt(c) == sum(k * m for k, m in zip(row, plain, strict=True)) % pk.n


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.data())
def test_affine_rows_equal_phe_operators(problem, data):
    pk, sk = KEY_256
    plain, rows = problem
    offsets = data.draw(st.lists(signed(60), min_size=len(rows), max_size=len(rows)))
    bases = encrypt_all(pk, plain)
    want = phe_affine(pk, bases, rows, offsets) if rows else []
    for name in multiexp.KERNELS:
        got = raw.affine_rows(bases, rows, offsets, pk.n, pk.nsquare, False, kernel=name)
        assert got == want, name
    hidden = raw.affine_rows(bases, rows, offsets, pk.n, pk.nsquare, randomisers="fresh")
    for row, q, c, bare in zip(rows, offsets, hidden, want, strict=True):
        value = (sum(k * m for k, m in zip(row, plain, strict=True)) + q) % pk.n
        assert sk.raw_decrypt(c) == value and c != bare


def test_negative_zero_and_zero_plaintexts(keys):
    pk, sk = keys
    bases = encrypt_all(pk, [0, 5, -7, 0, 123456789])
    rows = [
        [0, 0, 0, 0, 0],  # all zero: the product is 1 (an encryption of 0 without randomness)
        [-1, -(2**48), -3, -(2**63), -5],  # all negative
        [2**48, -(2**48), 0, 1, -1],  # mixed, with a zero
        [pk.max_int, -pk.max_int, 0, 0, 0],  # phe's whole signed range
    ]
    want = phe_products(pk, bases, rows)
    assert want[0] == 1
    for name in multiexp.KERNELS:
        assert [int(c) for c in raw.multi_powmod(bases, rows, pk.nsquare, kernel=name)] == want
    plain = [0, 5, -7, 0, 123456789]
    for row, c in zip(rows, want, strict=True):
        assert sk.raw_decrypt(c) == sum(k * m for k, m in zip(row, plain, strict=True)) % pk.n


def test_grouped_explicit_groups_and_bad_input(keys):
    pk, _ = keys
    rng = np.random.default_rng(5)
    bases = encrypt_all(pk, rng.integers(-1000, 1000, size=9))
    rows = [[int(v) for v in rng.integers(-(2**40), 2**40, size=9)] for _ in range(3)]
    want = multiexp.naive_rows(bases, rows, pk.nsquare)
    for groups in ([(0, 9)], [(0, 1), (1, 9)], [(0, 4), (4, 5), (5, 9)]):
        assert multiexp.grouped_rows(bases, rows, pk.nsquare, groups=groups) == want
    for bad in ([(0, 4)], [(0, 4), (5, 9)], [(0, 9), (9, 9)], [(1, 9)]):
        with pytest.raises(CryptoError, match="column groups"):
            multiexp.grouped_rows(bases, rows, pk.nsquare, groups=bad)
    with pytest.raises(CryptoError, match="exponent row 1 has 8 entries, expected 9"):
        raw.multi_powmod(bases, [rows[0], rows[1][:8]], pk.nsquare)
    with pytest.raises(CryptoError, match="unknown multi-exponentiation kernel"):
        raw.multi_powmod(bases, rows, pk.nsquare, kernel="fast")
    with pytest.raises(CryptoError, match="unknown randomiser source"):
        raw.affine_rows(bases, rows, [0, 0, 0], pk.n, pk.nsquare, randomisers="cached")
    with pytest.raises(CryptoError, match="not invertible"):
        multiexp.grouped_rows([pk.n, bases[0]], [[-1, 1]], pk.nsquare)
    with pytest.raises(CryptoError, match="3 rows of P but 2 offsets"):
        raw.affine_rows(bases, rows, [0, 0], pk.n, pk.nsquare)


def test_plan_groups_counts_real_lookups():
    """Sparse high bits make fewer lookups; the plan never exceeds MAX_GROUP."""
    planes = np.zeros((10, 40, 8), dtype=np.uint8)
    planes[:, :, 0] = 1
    bounds = multiexp.plan_groups(planes)
    assert bounds[0][0] == 0 and bounds[-1][1] == 40
    assert all(0 < b - a <= multiexp.MAX_GROUP for a, b in bounds)
    assert multiexp.plan_groups(np.zeros((3, 0, 4), dtype=np.uint8)) == []


@pytest.mark.parametrize("kernel", ["grouped", "straus"])
def test_parallel_path_gives_the_same_ciphertexts(keys, kernel):
    """Over two processes (columns split for grouped, rows for straus): the same integers."""
    pk, sk = keys
    rng = np.random.default_rng(11)
    d = 12
    plain = [int(v) for v in rng.integers(-(10**9), 10**9, size=d)]
    bases = encrypt_all(pk, plain)
    rows = [[int(v) for v in rng.integers(-(2**48), 2**48, size=d)] for _ in range(d)]
    rows[3] = [0] * d
    offsets = [int(v) for v in rng.integers(-(2**50), 2**50, size=d)]
    alone = raw.affine_rows(bases, rows, offsets, pk.n, pk.nsquare, False)
    both = raw.parallel_affine_rows(bases, rows, offsets, pk.n, pk.nsquare, 2, False, kernel=kernel)
    assert both == alone == phe_affine(pk, bases, rows, offsets)
    hidden = raw.parallel_affine_rows(bases, rows, offsets, pk.n, pk.nsquare, 2, kernel=kernel)
    for row, q, c in zip(rows, offsets, hidden, strict=True):
        assert sk.raw_decrypt(c) == (sum(k * m for k, m in zip(row, plain, strict=True)) + q) % pk.n
    assert all(h != a for h, a in zip(hidden, alone, strict=True))


def test_parallel_path_uses_ready_randomisers_and_computes_the_rest(keys):
    pk, sk = keys
    pool = rnd.pool_for(pk.n)
    pool.discard()
    bases = encrypt_all(pk, [1, 2, 3, 4])
    rows = [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, -1], [1, 1, 1, 1]]
    pool.fill(3)
    out = raw.parallel_affine_rows(bases, rows, [0] * 5, pk.n, pk.nsquare, 2)
    assert len(pool) == 0  # the 3 ready ones were used, 2 computed by the workers
    assert [sk.raw_decrypt(c) for c in out] == [1, 2, 3, pk.n - 4, 10]
    assert len(set(out)) == 5


def test_power_of_n_randomiser_keeps_plaintext(keys):
    """What obfuscation multiplies by is an encryption of zero."""
    pk, sk = keys
    r = raw.obfuscator(pk.n, pk.nsquare)
    assert sk.raw_decrypt(int(r)) == 0
    assert gmpy2.gcd(r, pk.n) == 1


# ---------------------------------------------------------------- precomputed subset tables


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems(), st.integers(1, 4))
def test_precomputed_tables_give_the_same_products(problem, group):
    pk, _ = KEY_256
    plain, rows = problem
    bases = encrypt_all(pk, plain)
    want = phe_products(pk, bases, rows) if rows else []
    try:
        tables = multiexp.precompute_tables(bases, pk.nsquare, group=group)
        assert multiexp.cached_tables(bases, pk.nsquare) is tables
        # used explicitly, found by the bases, and one group's share of them
        got = multiexp.grouped_rows(bases, rows, pk.nsquare, tables=tables)
        assert [int(c) for c in got] == want
        assert [int(c) for c in multiexp.grouped_rows(bases, rows, pk.nsquare)] == want
        a, b = tables.bounds[-1]
        last = multiexp.grouped_rows(bases[a:b], [r[a:b] for r in rows], pk.nsquare,
                                     tables=tables.groups(len(tables.bounds) - 1,
                                                          len(tables.bounds)))  # fmt: skip
        assert last == multiexp.grouped_rows(bases[a:b], [r[a:b] for r in rows], pk.nsquare,
                                             groups=[(0, b - a)])  # fmt: skip
    finally:
        multiexp.forget_tables()


def test_parallel_path_shares_out_precomputed_tables(keys):
    """Tables built in the background before the fork: the forked workers use their groups;
    other bases do not match them; bad groups and sizes are refused."""
    pk, sk = keys
    rng = np.random.default_rng(5)
    d = 11
    plain = [int(v) for v in rng.integers(-(10**9), 10**9, size=d)]
    bases = encrypt_all(pk, plain)
    rows = [[int(v) for v in rng.integers(-(2**48), 2**48, size=d)] for _ in range(d)]
    offsets = [int(v) for v in rng.integers(-(2**50), 2**50, size=d)]
    cold = raw.parallel_affine_rows(bases, rows, offsets, pk.n, pk.nsquare, 2, False)
    try:
        multiexp.prepare_tables(bases, pk.nsquare, group=3)
        multiexp.prepare_tables(bases, pk.nsquare, group=3)  # one builder, not two
        warm = raw.parallel_affine_rows(bases, rows, offsets, pk.n, pk.nsquare, 2, False)
        tables = multiexp.cached_tables(bases, pk.nsquare)
        assert tables is not None and [b - a for a, b in tables.bounds] == [3, 3, 3, 2]
        assert warm == cold == phe_affine(pk, bases, rows, offsets)
        other = encrypt_all(pk, plain)  # the same plaintexts, other ciphertexts
        assert multiexp.cached_tables(other, pk.nsquare) is None
        with pytest.raises(CryptoError, match="do not fit"):
            multiexp.grouped_rows(bases[:5], [r[:5] for r in rows], pk.nsquare, tables=tables)
        with pytest.raises(CryptoError, match="groups"):
            tables.groups(2, 9)
        with pytest.raises(CryptoError, match="1 to"):
            multiexp.precompute_tables(bases, pk.nsquare, group=0)
        hidden = raw.parallel_affine_rows(bases, rows, offsets, pk.n, pk.nsquare, 2)
        for row, q, c in zip(rows, offsets, hidden, strict=True):
            value = (sum(k * m for k, m in zip(row, plain, strict=True)) + q) % pk.n
            assert sk.raw_decrypt(c) == value
    finally:
        multiexp.forget_tables()
    assert multiexp.cached_tables(bases, pk.nsquare) is None
