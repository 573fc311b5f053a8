"""The one private-file writer (issue 14): 0600 from the first byte, fsync-ed, atomic, and used
by every secret file (the Paillier private key was once written without fsync)."""

from __future__ import annotations

import ast
import os
import stat
from pathlib import Path

import pytest

from hessian_common import files
from hessian_common.crypto import generate_keypair, load_private_key, save_private_key
from hessian_common.files import private_file, write_private

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fsyncs(monkeypatch) -> list[int]:
    """Record the file descriptors ``os.fsync`` is called on (the real fsync still runs)."""
    calls: list[int] = []
    real = os.fsync

    def recording(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(files.os, "fsync", recording)
    return calls


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_private_is_0600_fsynced_and_replaces_atomically(tmp_path, fsyncs):
    old = os.umask(0)  # a permissive umask must not open the file to others
    try:
        path = write_private(tmp_path / "deep" / "secret.json", "first")
    finally:
        os.umask(old)
    assert path.read_text() == "first" and _mode(path) == 0o600
    assert len(fsyncs) >= 2  # the file and its directory
    write_private(path, b"second")
    assert path.read_bytes() == b"second" and _mode(path) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret.json"]  # no temp left


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = write_private(tmp_path / "key", b"old")
    with pytest.raises(RuntimeError), private_file(path) as fh:
        fh.write(b"half of the new")
        raise RuntimeError("crash")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["key"]


def test_exclusive_never_overwrites(tmp_path):
    path = write_private(tmp_path / "keystore.json", b"mine", exclusive=True)
    with pytest.raises(FileExistsError):
        write_private(path, b"theirs", exclusive=True)
    assert path.read_bytes() == b"mine"
    assert [p.name for p in tmp_path.iterdir()] == ["keystore.json"]


def test_the_paillier_private_key_file_goes_through_it(tmp_path, fsyncs):
    _pk, sk = generate_keypair(256)
    path = save_private_key(sk, tmp_path / "paillier_key.json", "pass phrase", scrypt_n=2**4)
    assert fsyncs and _mode(path) == 0o600
    assert load_private_key(path, "pass phrase").p == sk.p


def test_no_other_private_file_writer_in_the_code_base():
    """Nobody opens a file with an explicit 0600 mode or ``O_EXCL`` outside ``files.py``."""
    offenders = []
    for folder in ("hessian_common", "company_app", "data_owner_app", "hessian_cli"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "files.py" and path.parent.name == "hessian_common":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Attribute) and node.attr in ("O_EXCL", "O_CREAT"):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
