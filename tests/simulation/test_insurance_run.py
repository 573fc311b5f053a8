"""A tiny insurance run on eth-tester (2 owners, 12 customers, 512-bit keys): the keys the
CLI prints are there, the pool is checked at every step and never short, and the chain's
money adds up (premiums − claims paid is what the insurer gains)."""

from __future__ import annotations

import json
import math

import pytest

from hessian_common.simulation.insurance import InsuranceScenario, decile_table, run_insurance

pytestmark = pytest.mark.slow


def test_a_tiny_insurance_run_reports_its_figures(tmp_path):
    from hessian_common.simulation.insurance_report import write_insurance_report

    scenario = InsuranceScenario(
        owners=2, customers=12, rows=2400, key_bits=512, seed=3, unanswered=0.5, step_days=60
    )
    out = run_insurance(scenario, chain="eth-tester", workdir=tmp_path / "run")
    page = write_insurance_report(out, tmp_path / "report")
    assert "Claim frequency by decile" in page.read_text()
    assert (tmp_path / "report" / "insurance_deciles.png").stat().st_size > 1000
    summary = out.summary()
    assert json.loads((tmp_path / "report" / "insurance_summary.json").read_text()).keys() == (
        summary.keys()
    )
    for key in (
        "claim_frequency_by_decile", "loss_ratio", "target_loss_ratio", "claims_paid",
        "claims_settled_unanswered", "pool_never_short", "insurer_return",
    ):  # fmt: skip
        assert key in summary, key
    assert summary["pool_never_short"] is True and out.pool_checks >= 6
    assert summary["bought"] >= 1 and 0 < summary["target_loss_ratio"] < 1
    bought = [c for c in out.customers if c.bought]
    assert sum(c.premium for c in bought) == out.premiums
    assert sum(c.paid for c in bought) == out.claims_paid
    # every claim due on a bought policy was filed and paid (approved or settled)
    due = [c for c in bought if c.claim_due and c.claim_amount > 0]
    assert out.claims_paid_count == len(due) == out.claims_filed
    # half of them left unanswered by the insurer, settled by the customers after the window
    assert out.claims_settled_unanswered == min(len(due), max(round(0.5 * len(due)), 1))
    assert out.insurer_received - out.capital_deposited == out.premiums - out.claims_paid
    assert math.isclose(
        out.insurer_return, (out.premiums - out.claims_paid) / out.capital_deposited
    )


def test_deciles_split_by_prediction():
    rows = decile_table([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], groups=2)
    assert [r["policies"] for r in rows] == [2, 2]
    assert rows[0]["realised"] == 0 and rows[1]["realised"] == 1
    assert decile_table([], [], []) == []


def test_the_cli_refuses_bad_insurance_options():
    from click.testing import CliRunner

    from hessian_cli.simulate import simulate

    r = CliRunner().invoke(simulate, ["--product", "insurance", "--customers", "0", "--quiet"])
    assert r.exit_code != 0 and "--customers" in str(r.exception or r.output)
