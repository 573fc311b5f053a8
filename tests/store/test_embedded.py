"""The embedded store: round trips, tamper detection, pins, failures, concurrent writers."""

from __future__ import annotations

import math
import multiprocessing
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from hessian_common.config import load_settings
from hessian_common.errors import (
    BlobNotFound,
    BlobTooLarge,
    StoreError,
    StoreIntegrityError,
    StoreUnavailable,
    UntrustedBlobError,
)
from hessian_common.store import (
    CHUNK_SIZE,
    EmbeddedStore,
    InvalidCID,
    KuboStore,
    canonical_json,
    cid_of,
    open_store,
)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_put_get_round_trip(store):
    for data in [b"", b"hello ipfs\n", os.urandom(CHUNK_SIZE * 3 + 1)]:
        cid = store.put(data)
        assert cid == cid_of(data)
        assert store.get(cid) == data
        assert store.has(cid)


def test_put_is_idempotent_and_leaves_no_temp_files(store):
    a = store.put(b"same")
    b = store.put(b"same")
    assert a == b
    names = [p.name for p in _files(store.root)]
    assert names == [a]


def test_missing_blob(store):
    cid = cid_of(b"never stored")
    assert not store.has(cid)
    with pytest.raises(BlobNotFound, match=cid):
        store.get(cid)
    with pytest.raises(BlobNotFound):
        store.pin(cid)


def test_bad_cid_text_is_refused(store):
    with pytest.raises(InvalidCID):
        store.get("../../etc/passwd")
    with pytest.raises(InvalidCID):
        store.has("not-a-cid")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: b[:-1] + bytes([b[-1] ^ 1]),  # one bit flipped
        lambda b: b[:-1],  # truncated
        lambda b: b"",  # emptied (e.g. power cut without fsync)
        lambda b: b + b"!",  # appended
    ],
)
def test_tampered_file_on_disk_is_detected(store, tamper):
    for data in [b"model spec v1", os.urandom(CHUNK_SIZE + 100)]:
        cid = store.put(data)
        path = store._blob_path(cid)
        path.write_bytes(tamper(path.read_bytes()))
        with pytest.raises(StoreIntegrityError, match="tampered"):
            store.get(cid)


def test_swapped_blob_is_detected(store):
    a, b = store.put(b"weights A"), store.put(b"weights B")
    store._blob_path(a).write_bytes(store._blob_path(b).read_bytes())
    with pytest.raises(StoreIntegrityError):
        store.get(a)


def test_put_repairs_a_corrupted_blob(store):
    cid = store.put(b"precious")
    store._blob_path(cid).write_bytes(b"garbage")
    assert store.put(b"precious") == cid
    assert store.get(cid) == b"precious"


def test_pin_records_a_marker(store):
    cid = store.put(b"pin me")
    assert store.pins() == []
    store.pin(cid)
    store.pin(cid)
    assert store.pins() == [cid]
    assert store.get(cid) == b"pin me"


def test_unwritable_store_raises_unavailable_and_writes_nothing(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store directory should be")
    store = EmbeddedStore(blocker / "store")
    with pytest.raises(StoreUnavailable, match="not-a-dir"):
        store.put(b"data")
    assert _files(tmp_path) == [blocker]


def test_failed_write_leaves_no_partial_file(tmp_path):
    store = EmbeddedStore(tmp_path / "store")
    cid = cid_of(b"data")
    # The blob's final path is a directory: the rename fails after the temp file was written.
    store._blob_path(cid).mkdir(parents=True)
    with pytest.raises(StoreUnavailable):
        store.put(b"data")
    assert _files(tmp_path) == []


def test_json_is_canonical_and_round_trips(store):
    obj = {"b": [1, 2.5, None, True], "a": {"z": "é", "y": "🙂"}}
    assert canonical_json(obj) == '{"a":{"y":"🙂","z":"é"},"b":[1,2.5,null,true]}'.encode()
    cid = store.put_json(obj)
    assert cid == store.put_json(dict(reversed(list(obj.items()))))
    assert store.get_json(cid) == obj


def test_json_refuses_what_json_cannot_hold(store):
    with pytest.raises(StoreError, match="canonical JSON"):
        store.put_json({"x": math.nan})
    with pytest.raises(StoreError):
        store.put_json({"x": object()})
    assert _files(store.root) == []
    with pytest.raises(UntrustedBlobError, match="not UTF-8"):
        store.get_json(store.put(b"\xff not json"))
    with pytest.raises(UntrustedBlobError, match="deeper than"):
        store.get_json(store.put(b"[" * 10_000))
    with pytest.raises(UntrustedBlobError, match="more than"):
        store.get_json(store.put(b" " * 100 + b"{}"), max_bytes=50)


def test_threads_writing_same_and_different_blobs(store):
    shared = [os.urandom(5000) for _ in range(5)]
    own = [os.urandom(CHUNK_SIZE + 10) for _ in range(16)]

    def work(i: int) -> list[str]:
        return [store.put(b) for b in shared] + [store.put(own[i])]

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(work, range(16)))
    assert all(r[:5] == results[0][:5] for r in results)
    for data in shared + own:
        assert store.get(cid_of(data)) == data
    assert not [p for p in _files(store.root) if p.name.startswith(".")]


def _process_writer(root: str, seed: int, shared: list[bytes]) -> list[str]:
    store = EmbeddedStore(root)
    rng = __import__("random").Random(seed)
    cids = []
    for _ in range(20):
        for data in shared:
            cids.append(store.put(data))
        cids.append(store.put(rng.randbytes(3000)))
    return cids


def test_processes_writing_into_one_directory(tmp_path):
    root = str(tmp_path / "shared-store")
    shared = [os.urandom(20_000) for _ in range(3)] + [os.urandom(CHUNK_SIZE * 2)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(3) as pool:
        results = pool.starmap(_process_writer, [(root, seed, shared) for seed in range(3)])
    store = EmbeddedStore(root)
    for cids in results:
        for cid in cids:
            assert cid_of(store.get(cid)) == cid
    assert len({c for cids in results for c in cids}) == len(shared) + 3 * 20
    assert not [p for p in _files(Path(root)) if p.name.startswith(".")]


def test_open_store_follows_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("HESSIAN_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HESSIAN_STORE_DIR", str(tmp_path / "blobs"))
    monkeypatch.delenv("HESSIAN_STORE", raising=False)
    monkeypatch.delenv("HESSIAN_CONFIG", raising=False)
    st = open_store(load_settings())
    assert isinstance(st, EmbeddedStore) and st.root == tmp_path / "blobs"
    monkeypatch.delenv("HESSIAN_STORE_DIR")
    assert open_store(load_settings()).root == tmp_path / "home" / "store"
    monkeypatch.setenv("HESSIAN_STORE", "kubo")
    monkeypatch.setenv("HESSIAN_KUBO_URL", "http://127.0.0.1:5999")
    kubo = open_store(load_settings(), timeout=3)
    assert isinstance(kubo, KuboStore) and kubo.url == "http://127.0.0.1:5999"


def test_a_blob_larger_than_the_cap_is_refused_before_it_is_read(store):
    cid = store.put(b"y" * 5000)
    with pytest.raises(BlobTooLarge, match="holds 5,000 bytes, more than the 4,999 allowed"):
        store.get(cid, max_bytes=4999)
    assert store.get(cid, max_bytes=5000) == b"y" * 5000
