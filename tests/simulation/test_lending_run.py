"""The lending phase end to end on a real (in-process) chain: a small run, every step on the
LoanBook, outcomes that follow the generator's ground truth, the books balanced.

3 honest owners, 512-bit keys, eth-tester (time travel), 16 borrowers, 36-month loans only
(the policy declines 60-month applications: fewer instalments to run in the test).
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from hessian_common.simulation.report import LENDING_PLOTS, write_report
from hessian_common.simulation.run import run_simulation
from hessian_common.simulation.scenario import Scenario

pytestmark = pytest.mark.slow

BORROWERS = 16


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    scenario = Scenario(
        owners=3,
        bad=0,
        rows=1500,
        seed=2,  # generator v2: a seed whose 16 borrowers are approved and declined, with a default
        key_bits=512,
        shapley_permutations=0,
        borrowers=BORROWERS,
        lending_policy={"terms": (36,)},  # 36-month loans only: fewer instalments to run
        currency="usd",  # the lending half speaks dollars: a fresh TestUSD
    )
    return run_simulation(scenario, chain="eth-tester", workdir=tmp_path_factory.mktemp("lend"))


def test_every_borrower_is_accounted_for(result) -> None:
    lending = result.lending
    assert lending is not None and len(lending.borrowers) == BORROWERS
    statuses = {b.status for b in lending.borrowers}
    assert statuses <= {"funded", "declined", "failed"}
    s = result.summary()["lending"]
    assert s["applied"] + s["failed_applications"] == BORROWERS
    # the borrower's client checks the public policy first: 60-month requests are not offered
    failed = [b for b in lending.borrowers if b.status == "failed"]
    assert s["failed_applications"] == len(failed) > 0
    assert all(b.term == 60 and b.loan_id is None and "term" in b.error for b in failed)
    assert 0 < s["approved"] < s["applied"]  # the policy both approves and declines
    for b in lending.borrowers:
        if b.status == "failed":
            continue
        assert b.pd is not None and 0.0 <= b.pd <= 1.0
        if b.status == "declined":
            assert b.chain_status == "DECLINED" and b.apr_bps == 0
        else:
            assert 500 <= b.apr_bps <= 3000  # the policy's grid
            # no $ peg: the application's dollars are TestUSD units (6 decimals)
            assert lending.currency == "tUSD" and lending.unit == 10**6
            assert b.principal_wei == round(b.amount * 100) * lending.unit // 100


def test_outcomes_follow_the_ground_truth_on_chain(result) -> None:
    lending = result.lending
    funded = lending.funded
    assert lending.chain_matches is True
    for b in funded:
        assert b.defaulted == b.truth_default
        assert b.chain_status == ("DEFAULTED" if b.truth_default else "REPAID")
        if b.defaulted:
            assert b.instalments_paid < b.term and b.recovery_wei > 0
            # marked only after the missed instalment was overdue by defaultAfter (4 periods)
            assert b.default_month >= b.instalments_paid + 1 + 4
        else:
            assert b.repaid_wei == b.total_owed_wei
            assert [m for m, _ in b.payments] == list(range(1, b.term + 1))
    assert any(b.defaulted for b in funded), "pick a seed with a default among funded loans"
    # the lender withdrew every repayment: the book holds nothing
    assert lending.lender_withdrawn_wei == sum(b.repaid_wei for b in funded)


def test_returns_gas_and_report(result, tmp_path) -> None:
    s = result.summary()["lending"]
    r = s["returns"]
    assert r["currency"] == "tUSD"
    assert r["lent"] == pytest.approx(sum(b.amount for b in result.lending.funded))
    assert r["received"] == pytest.approx(
        sum(b.repaid_wei for b in result.lending.funded) / result.lending.unit
    )
    assert -1.0 < r["irr"] < 0.5 and -1.0 < r["expected_irr"] < 0.5
    assert r["expected_irr"] >= 0.08 - 0.01  # priced to the required return (grid step)
    gas = s["gas_mean_per_operation"]
    for op in ("deployModel", "applyForLoan", "decide", "accept", "fund", "withdraw", "repay"):
        # in a token (this run: TestUSD) funding and repaying carry a permit
        assert gas.get(op, 0) > 0 or gas.get(f"{op}WithPermit", 0) > 0, (op, gas)
    assert gas.get("markDefault", 0) > 0 and gas.get("markLate", 0) > 0
    assert s["total_s"] > 0 and "lending: repayments, defaults, recoveries" in s["phases_s"]
    page = write_report(result, tmp_path)
    for name in LENDING_PLOTS:
        assert (tmp_path / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    assert "Gas per lending operation" in page.read_text()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--borrowers", "-3"], "--borrowers"),
        (["--max-apr", "250"], "max_apr_bps"),
        (["--required-return", "300"], "required_return"),
    ],
)
def test_cli_bad_lending_options_are_a_message(tmp_path, args, needle) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "hessian_cli", "simulate", "--out", str(tmp_path / "r"),
         "--quiet", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1
    assert needle in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "r").exists()
