"""`hessian bench update` through the console entry point (small key, small d)."""

from __future__ import annotations

import json
import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hessian_cli", "bench", "update", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_bench_update_json_has_the_kernel_figures():
    out = run("--dim", "9", "--key-bits", "512", "--rows", "30", "--repeat", "1", "--json")
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    timed = ["kernel_today_s", "kernel_new_s", "kernel_new_fresh_s", "products_today_s"]
    timed += ["products_new_s", "products_naive_s", "submission_s", "submission_fresh_s"]
    timed += ["products_new_fresh_s", "tables_s"]
    for key in timed:
        assert r[key] > 0, key
    assert r["kernel_speedup"] == r["kernel_today_s"] / r["kernel_new_s"]
    assert r["products_speedup"] == r["products_today_s"] / r["products_new_s"]
    assert r["products_speedup_fresh"] == r["products_today_s"] / r["products_new_fresh_s"]
    for key in ("randomisation_share_today", "randomisation_share_new"):
        assert 0 <= r[key] <= 1
    assert 0 <= r["randomisation_share_new_fresh"] <= 1
    assert set(r["cpu_s"]) == {"products_today", "products_new", "products_new_fresh", "today",
                               "new", "new_fresh", "submission", "submission_fresh"}  # fmt: skip
    if r["cpu_s"]["new"] > 0:
        assert r["kernel_speedup_cpu"] == r["cpu_s"]["today"] / r["cpu_s"]["new"]
    assert r["identical_ciphertexts"] is True
    assert r["kernel_max_abs_diff"] < 1e-9
    assert r["submission_randomisers"] == r["submission_tables"] == "precomputed"
    assert r["dim"] == 9 and r["results"][0]["rows"] == 30
    assert r["results"][0]["max_abs_diff"] < 1e-9


def test_bench_update_table():
    out = run("--dim", "5", "--key-bits", "512", "--rows", "20", "--repeat", "1")
    assert out.returncode == 0, out.stderr
    assert "| kernel | products (s) |" in out.stdout and "kernel_speedup = " in out.stdout
    assert "submission_s = " in out.stdout and "identical" in out.stdout
