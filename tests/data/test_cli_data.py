"""``hessian data generate|sample|inspect``: real subprocesses, JSON out, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys


def hessian(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hessian_cli", "data", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_generate_then_inspect_json(tmp_path):
    out = tmp_path / "split"
    res = hessian("generate", "--rows", "900", "--owners", "3", "--seed", "4", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "owner_03.csv" in res.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["owners"] == 3 and manifest["seed"] == 4

    res = hessian("inspect", str(out / "owner_01.csv"), "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    info = manifest["files"]["owner_01.csv"]
    assert report["rows"] == info["usable"]
    assert report["defaults"] == info["defaults"]
    assert sum(report["excluded"].values()) == info["unresolved"]
    assert set(report) >= {"rows", "defaults", "excluded", "problems", "columns", "digest"}
    assert report["columns"]["grade"]["type"] == "categorical"

    # refusing to overwrite a split is bad input too: message, no traceback, nothing changed
    before = (out / "owner_01.csv").read_bytes()
    res = hessian("generate", "--rows", "900", "--owners", "3", "--seed", "5", "--out", str(out))
    assert res.returncode == 1 and "already holds CSV files" in res.stderr
    assert (out / "owner_01.csv").read_bytes() == before


def test_inspect_reports_problems_with_rows(tmp_path):
    from tests.data.helpers import csv_text, row

    path = tmp_path / "loans.csv"
    path.write_text(csv_text([row(id="1"), row(id="2", dti="n.a."), row(id="3")]))
    res = hessian("inspect", str(path), "--json")
    assert res.returncode == 0, res.stderr
    report = json.loads(res.stdout)
    assert report["problems"] == [
        {
            "row": 4,
            "column": "dti",
            "message": "'n.a.' is not a number; it is treated as missing (filled with the "
            "median of the lender's data)",
        }
    ]
    assert report["problem_count"] == 1


def test_inspect_other_schema(tmp_path):
    res = hessian(
        "inspect",
        "data/insurance_claims_sample.csv",
        "--schema",
        "hessian_common/data/schemas/insurance_claims.toml",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["schema"] == "insurance_claims"


def test_bad_files_give_a_message_not_a_traceback(tmp_path):
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    utf16 = tmp_path / "utf16.csv"
    utf16.write_text("id,loan_status\n1,Fully Paid\n", encoding="utf-16")
    cases = [
        ([str(tmp_path / "missing.csv")], "no such file"),
        ([str(binary)], "binary content"),
        ([str(utf16)], "UTF-16"),
        (["data/insurance_claims_sample.csv"], "no header line"),
        (["data/LoanStats3a_sample.csv", "--schema", "nope"], "not a built-in schema"),
        (["data/LoanStats3a_sample.csv", "--max-bytes", "100"], "more than the limit"),
    ]
    for args, message in cases:
        res = hessian("inspect", *args)
        assert res.returncode == 1, (args, res.stdout, res.stderr)
        assert message in res.stderr, (args, res.stderr)
        assert "Traceback" not in res.stderr


def test_sample_command_is_deterministic(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    assert hessian("sample", "--rows", "50", "--seed", "3", "--out", str(a)).returncode == 0
    assert hessian("sample", "--rows", "50", "--seed", "3", "--out", str(b)).returncode == 0
    assert a.read_bytes() == b.read_bytes()
