"""`hessian train` and `hessian bench update` through the console entry point."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest


def run(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hessian_cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.slow
def test_train_json_on_generated_data():
    out = run("train", "--owners", "10", "--rounds", "2", "--key-bits", "512",
              "--rows", "8000", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    for side in ("federated", "centralized"):
        assert set(result[side]) == {"auc", "accuracy", "log_loss", "ks"}
    assert result["auc_ratio"] == pytest.approx(
        result["federated"]["auc"] / result["centralized"]["auc"]
    )
    assert result["auc_ratio"] >= 0.99
    assert result["owners"] == 10 and result["rounds"] == 2 and result["key_bits"] == 512
    assert len(result["rows"]["owners"]) == 10 and result["timings"]["federated"] > 0


def test_train_on_a_single_file(tmp_path):
    from hessian_common.data import generate_split

    generate_split(tmp_path, rows=1500, owners=1, seed=3)
    out = run("train", "--data", str(tmp_path / "owner_01.csv"), "--owners", "3",
              "--rounds", "1", "--key-bits", "256", "--rule", "gradient", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["submissions"] == 3 and len(result["rows"]["owners"]) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["--rule", "newton", "--lr", "0.1"], "does not apply"),
        (["--owners", "0"], "owners"),
        (["--data", "/no/such/file.csv"], "does not exist"),
    ],
)
def test_train_bad_input(args, message):
    out = run("train", "--key-bits", "256", *args)
    assert out.returncode != 0
    assert message in out.stderr and "Traceback" not in out.stderr


def test_train_bad_data_file(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("not,a,loan,file\n1,2,3,4\n")
    out = run("train", "--data", str(bad), "--key-bits", "256")
    assert out.returncode == 1
    assert str(bad) in out.stderr and "Traceback" not in out.stderr


def test_bench_update_small():
    out = run("bench", "update", "--dim", "6", "--key-bits", "512", "--rows", "20,40",
              "--repeat", "1")  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "| N rows | affine (s)" in out.stdout
    assert out.stdout.count("x |") == 2 and "Floor" in out.stdout


def test_bench_update_bad_rows():
    out = run("bench", "update", "--rows", "ten")
    assert out.returncode != 0 and "Traceback" not in out.stderr and "--rows" in out.stderr
