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
    assert result["acceptance"] == "lender" and result["features"] == 41
    assert result["regime"]["schema"] == "lending_club" and result["regime"]["expansions"]


def test_train_small_owners_from_a_file_and_a_schema_file_over_splits(tmp_path):
    """The small-owner regime from a CSV and its schema file: 10 owners of 70 rows, 62
    features, one round, two random splits; the figures per split and their summary."""
    out = run("data", "sample", "--dataset", "german_credit", "--rows", "1000",
              "--out", str(tmp_path / "applications.csv"))  # fmt: skip
    assert out.returncode == 0, out.stderr
    out = run("data", "sample", "--dataset", "german_credit", "--rows", "2000", "--seed", "5",
              "--out", str(tmp_path / "fresh.csv"))  # fmt: skip
    assert out.returncode == 0, out.stderr
    schema = "hessian_common/data/schemas/german_credit.toml"
    out = run("train", "--data", str(tmp_path / "applications.csv"), "--schema", schema,
              "--owners", "10", "--key-bits", "256", "--splits", "2",
              "--test-data", str(tmp_path / "fresh.csv"), "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert r["rounds"] == 1 and r["features"] == 62
    assert r["regime"] == {
        "schema": "german_credit", "dataset": None, "partition": None, "owners": 10,
        "rows_per_owner": 70, "seed_rows": 100, "holdout_rows": 200, "features": 62,
        "expansions": True, "rounds": 1,
    }  # fmt: skip
    assert [s["seed"] for s in r["splits"]] == [0, 1]
    ratios = [s["auc_ratio"] for s in r["splits"]]
    assert r["summary"]["auc_ratio_min"] == min(ratios) and r["auc_ratio"] == ratios[0]
    assert r["summary"]["auc_ratio_mean"] == pytest.approx(sum(ratios) / 2)
    assert min(ratios) >= 0.95 and r["summary"]["accepted_mean"] >= 8
    # the same two models on 2,000 applications neither side saw
    assert r["test"]["rows"] == 2000 and r["splits"][1]["test"]["rows"] == 2000
    tests = [s["test"]["auc_ratio"] for s in r["splits"]]
    assert r["summary"]["test_ratio_min"] == min(tests) >= 0.95


def test_bench_models_json_keys():
    out = run("bench", "models", "--rows", "3000", "--owners", "3", "--key-bits", "256",
              "--no-federated-plain", "--json")  # fmt: skip
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    assert set(r) >= {"federated_auc", "best_centralized_auc", "best_centralized_model", "ratio"}
    assert set(r["models"]) == {
        "centralized plain LR", "centralized expanded LR",
        "gradient boosting (HistGradientBoostingClassifier)", "federated encrypted expanded LR",
    }  # fmt: skip
    assert r["best_centralized_model"] in r["models"]
    assert r["ratio"] == pytest.approx(r["federated_auc"] / r["best_centralized_auc"])
    for m in r["models"].values():
        assert {"auc", "brier", "ece", "brier_platt", "ece_platt"} <= set(m)
    assert r["split"]["features_plain"] == 32 and r["split"]["features_expanded"] == 41


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
        (["--acceptance", "sometimes"], "acceptance"),
        (["--dataset", "titanic"], "dataset"),
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
