"""``hessian store`` commands: CIDs printed, bytes verified, non-zero exit on every failure."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hessian_common.store import EmbeddedStore, cid_of
from tests.fixtures.procs import free_port

HELLO_CID = "bafkreid3yvacrpfyy4vl5imho46qghn5c3clq5vxhrqqvpzfxkdjm3i4g4"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("HESSIAN_")}
    return {
        **clean,
        "HESSIAN_HOME": str(tmp_path / "home"),
        "HESSIAN_STORE_DIR": str(tmp_path / "s"),
    }


def hessian(env: dict[str, str], *args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hessian_cli", "store", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=60,
    )


def test_put_prints_cid_and_get_returns_bytes(tmp_path, env):
    src = tmp_path / "hello.txt"
    src.write_bytes(b"hello ipfs\n")
    out = hessian(env, "put", str(src))
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode().strip().splitlines()[-1] == HELLO_CID
    got = hessian(env, "get", HELLO_CID)
    assert got.returncode == 0 and got.stdout == b"hello ipfs\n"
    dest = tmp_path / "copy.txt"
    assert hessian(env, "get", HELLO_CID, "-o", str(dest)).returncode == 0
    assert dest.read_bytes() == b"hello ipfs\n"
    assert EmbeddedStore(tmp_path / "s").get(HELLO_CID) == b"hello ipfs\n"


def test_put_from_stdin_with_pin_and_has(env, tmp_path):
    data = os.urandom(300_000)
    out = hessian(env, "put", "-", "--pin", stdin=data)
    assert out.returncode == 0, out.stderr
    cid = out.stdout.decode().split()[-1]
    assert cid == cid_of(data)
    assert EmbeddedStore(tmp_path / "s").pins() == [cid]
    assert hessian(env, "has", cid).stdout.decode().strip() == "present"
    absent = hessian(env, "has", cid_of(b"nope"))
    assert absent.returncode == 1 and absent.stdout.decode().strip() == "absent"
    assert hessian(env, "pin", cid).returncode == 0


def test_store_dir_option_overrides_environment(tmp_path, env):
    other = tmp_path / "other"
    out = hessian(env, "put", "-", "--store-dir", str(other), stdin=b"x")
    assert out.returncode == 0
    assert EmbeddedStore(other).has(cid_of(b"x"))
    assert not EmbeddedStore(tmp_path / "s").has(cid_of(b"x"))


def _assert_clean_failure(out: subprocess.CompletedProcess, *words: str) -> None:
    err = out.stderr.decode()
    assert out.returncode != 0
    assert "Traceback" not in err
    for w in words:
        assert w in err, err


def test_failures_exit_non_zero_with_a_message(tmp_path, env):
    _assert_clean_failure(hessian(env, "get", cid_of(b"missing")), "not in the store")
    _assert_clean_failure(hessian(env, "get", "Qm-not-a-cid"), "not a CID")
    _assert_clean_failure(hessian(env, "put", str(tmp_path / "nope.bin")), "nope.bin")
    _assert_clean_failure(hessian(env, "pin", cid_of(b"missing")), "cannot pin")


def test_tampered_blob_fails_and_writes_no_output(tmp_path, env):
    store = EmbeddedStore(tmp_path / "s")
    cid = store.put(b"encrypted weights")
    store._blob_path(cid).write_bytes(b"encrypted weightz")
    dest = tmp_path / "out.bin"
    out = hessian(env, "get", cid, "-o", str(dest))
    _assert_clean_failure(out, "tampered")
    assert not dest.exists()
    assert list(tmp_path.glob(".out.bin*")) == []


def test_kubo_down_fails_cleanly(env):
    url = f"http://127.0.0.1:{free_port()}"
    out = hessian(env, "put", "-", "--backend", "kubo", "--kubo-url", url, stdin=b"x")
    _assert_clean_failure(out, url, "connection refused")
    env = {**env, "HESSIAN_STORE": "kubo", "HESSIAN_KUBO_URL": url}
    _assert_clean_failure(hessian(env, "get", HELLO_CID), url)


def test_bench_store_prints_a_ratio(env):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hessian_cli",
            "bench",
            "store",
            "--size",
            "4KiB,300KiB",
            "--n",
            "3",
            "--kubo-url",
            f"http://127.0.0.1:{free_port()}",
        ],
        capture_output=True,
        env=env,
        timeout=120,
    )
    text = out.stdout.decode()
    assert out.returncode == 0, out.stderr
    assert "embedded" in text and "300KiB" in text
    assert re.search(r"\d+\.\d+x", text), text
    assert "no node answered" in text
