"""The randomiser pool: fresh values, each handed out once, across threads and forks."""

from __future__ import annotations

import threading
import time

import pytest

from hessian_common.crypto import generate_keypair, prepare_randomisers, raw
from hessian_common.crypto import randomisers as rnd
from hessian_common.errors import CryptoError


@pytest.fixture(scope="module")
def keys():
    return generate_keypair(256)


@pytest.fixture
def pool(keys):
    pk, _ = keys
    p = rnd.RandomiserPool(pk.n)
    yield p
    p.discard()


def wait_for(condition, seconds=60.0):
    """Poll ``condition`` (no timing assertion: only a generous limit against a hang)."""
    end = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.01)


def test_values_are_encryptions_of_zero_and_all_different(keys, pool):
    _pk, sk = keys
    assert pool.fill(8) == 8 and len(pool) == 8
    first = pool.take(5)
    assert len(pool) == 3
    second = pool.take(6)  # 3 ready + 3 computed here
    assert len(pool) == 0
    values = first + second
    assert len(set(values)) == 11
    assert all(sk.raw_decrypt(int(v)) == 0 for v in values)


def test_take_ready_never_computes(pool):
    assert pool.take_ready(4) == []
    pool.fill(2)
    assert len(pool.take_ready(4)) == 2 and len(pool) == 0
    with pytest.raises(CryptoError, match="count must be >= 0"):
        pool.take_ready(-1)


def test_concurrent_takers_never_share_a_value(pool):
    pool.fill(40)
    got: list[list] = []
    lock = threading.Lock()

    def taker():
        mine = pool.take(12)  # 8 threads × 12 = 96 > 40: some computed fresh, concurrently
        with lock:
            got.append(mine)

    threads = [threading.Thread(target=taker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    values = [v for chunk in got for v in chunk]
    assert len(values) == 96 and len(set(values)) == 96 and len(pool) == 0


def test_background_filler_fills_stops_and_shares_safely(pool):
    pool.start(12)
    taken = []
    while len(taken) < 6:  # take while the filler is still adding
        taken += pool.take_ready(1)
    wait_for(lambda: not pool.filling)
    assert 6 <= len(pool) <= 12  # refilled to 12 unless it had finished before the takes
    taken += pool.take_ready(100)
    assert len(set(taken)) == len(taken) >= 12
    pool.start(3)
    wait_for(lambda: not pool.filling)
    assert len(pool) == 3
    pool.start(10**6)
    assert pool.filling
    pool.stop()
    assert not pool.filling and len(pool) < 10**6
    pool.discard()
    assert len(pool) == 0
    with pytest.raises(CryptoError, match="count must be >= 0"):
        pool.start(-2)


def test_paused_stops_and_resumes_fillers(pool):
    pool.start(10**6)
    with rnd.paused():
        assert not pool.filling
        size = len(pool)
        assert len(pool) == size  # nothing is added while paused
    assert pool.filling
    pool.stop()


def _pool_size(n: int) -> int:
    return len(rnd.pool_for(n))


def test_a_forked_child_never_sees_the_parents_randomisers(keys):
    pk, _ = keys
    shared = rnd.pool_for(pk.n)
    shared.discard()
    shared.fill(5)
    parent, child = raw.run_parallel(_pool_size, [(pk.n,), (pk.n,)], 2)
    assert parent == 5 and child == 0
    assert len(shared) == 5
    shared.discard()


def test_affine_rows_takes_from_the_keys_pool(keys):
    pk, sk = keys
    prepared = prepare_randomisers(pk, 4, background=False)
    assert prepared is rnd.pool_for(pk.n) and len(prepared) >= 4
    before = len(prepared)
    bases = [int(raw.raw_encrypt(v, pk.n, pk.nsquare)) for v in (3, -4)]
    out = raw.affine_rows(bases, [[1, 1], [2, -1]], [0, 1], pk.n, pk.nsquare)
    assert len(prepared) == before - 2
    assert [sk.raw_decrypt(c) for c in out] == [pk.n - 1, 11]
    again = raw.affine_rows(bases, [[1, 1], [2, -1]], [0, 1], pk.n, pk.nsquare)
    assert set(again).isdisjoint(out)
    fresh = raw.affine_rows(bases, [[1, 1]], [0], pk.n, pk.nsquare, randomisers="fresh")
    assert len(prepared) == before - 4 and sk.raw_decrypt(fresh[0]) == pk.n - 1
    prepared.discard()
    background = prepare_randomisers(pk, 3)
    wait_for(lambda: len(background) >= 3)
    background.discard()


def test_bad_modulus():
    with pytest.raises(CryptoError, match="not a Paillier modulus"):
        rnd.RandomiserPool(1)
