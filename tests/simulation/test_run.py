"""End to end on a real (in-process) chain: the properties the 50-owner run must show, small.

6 owners (label-flipped data, an exact replay, a reshuffled copy among them), 512-bit keys,
eth-tester, every mechanism on chain, checked against the off-chain mirror.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hessian_common.rewards import Mechanism
from hessian_common.simulation.report import write_report
from hessian_common.simulation.run import run_simulation
from hessian_common.simulation.scenario import Scenario

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    scenario = Scenario(
        owners=6,
        bad=3,
        bad_kinds=("label_flip", "replay", "copy"),
        rows=8000,
        seed=11,
        key_bits=512,
        mechanisms=tuple(Mechanism),
        shapley_permutations=30,
        borrowers=0,  # the lending phase has its own tests (test_lending_run.py)
    )
    return run_simulation(scenario, chain="eth-tester", workdir=tmp_path_factory.mktemp("sim"))


def test_contract_refuses_replays_and_reshuffled_copies(result) -> None:
    s = result.summary()
    assert s["replays_attempted"] == 1 and s["replays_rejected"] == 1
    assert s["copies_attempted"] == 1 and s["copies_refused_by_contract"] == 1
    for run in result.runs:
        refused = [x for x in run.submissions if x.status == "refused"]
        assert {x.error for x in refused} == {"DigestAlreadySubmitted"}
        assert {result.owner(x.owner).kind for x in refused} == {"replay", "copy"}


def test_misbehaving_owners_earn_little_under_improvement(result) -> None:
    s = result.summary()
    assert s["mechanism"] == "improvement"
    assert s["bad_owner_share"] <= 0.05
    flip = next(o for o in result.owners if o.kind == "label_flip")
    sub = next(x for x in result.primary().submissions if x.owner == flip.index)
    assert sub.status == "rejected" and sub.reward_wei == 0
    assert flip.shapley < 0


def test_federated_never_worse_and_near_centralized(result) -> None:
    # Owners pass the model's rows (seed + acceptedRows) and take the recursive least-squares
    # Newton step: 0.9956 of the pooled baseline here (plaintext replay; the plain step got
    # 0.969 because no honest update beat the seed model). Seeds 3/7/11: 0.994-0.997. At
    # full scale the property is asserted by test_offline.py (50 owners, 5 bad).
    run = result.primary()
    assert run.final_score >= round(run.initial_score, 6)
    assert result.summary()["auc_ratio"] >= 0.99


def test_chain_payouts_match_the_mirror_and_the_escrow_balances(result) -> None:
    for run in result.runs:
        assert run.mirror_matches_chain is True, run.mechanism
        assert run.paid_wei + run.reclaimed_wei == run.bounty_wei
        assert sum(run.withdrawn_wei.values()) >= run.paid_wei  # rewards + refunded deposits
    assert set(result.gas) >= {"lender", "honest owners", "misbehaving owners"}
    assert result.gas["honest owners"].get("submitUpdate", 0) > 0
    assert result.gas["lender"].get("evaluateUpdate", 0) > 0


def test_report_from_a_real_run(result, tmp_path) -> None:
    page = write_report(result, tmp_path)
    assert "DigestAlreadySubmitted" in page.read_text()
    summary = json.loads((tmp_path / "summary.json").read_text())
    for key in ("auc_ratio", "bad_owner_share", "replays_rejected", "phases_s", "mechanisms"):
        assert key in summary


def test_cli_bad_input_is_a_message_not_a_traceback(tmp_path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "hessian_cli",
            "simulate",
            "--owners",
            "5",
            "--bad",
            "5",
            "--out",
            str(tmp_path / "r"),
            "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "--bad" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()
