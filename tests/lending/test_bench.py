"""``hessian bench lending``: runs small, reports its fields, and the two quote methods agree.

No timing assertions (speed is the benchmark's output, not a test).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from hessian_cli.bench_lending import break_even_apr, quote_by_bisection, run
from hessian_common.lending.pricing import PricingPolicy, monthly_rate, npv, quote


@pytest.mark.parametrize(
    "policy",
    [PricingPolicy(), PricingPolicy(max_apr_bps=1500, max_pd=0.25, step_bps=25, min_apr_bps=610)],
)
def test_bisection_quote_agrees_with_the_grid(policy):
    """Same decision; APR and break-even APR to the grid step, over PDs from 0 to 0.95."""
    for pd in np.linspace(0.0, 0.95, 39):
        for amount, term in ((1000.0, 36), (12_345.67, 60), (40_000.0, 36), (500.0, 36)):
            g = quote(policy, pd, amount, term)
            b = quote_by_bisection(policy, pd, amount, term)
            assert g.approved == b.approved, (pd, amount, term, g.reason, b.reason)
            assert abs(g.apr_bps - b.apr_bps) <= policy.step_bps
            if g.break_even_apr_bps is None or b.break_even_apr_bps is None:
                assert g.break_even_apr_bps is None and b.break_even_apr_bps is None
            else:
                assert abs(g.break_even_apr_bps - b.break_even_apr_bps) <= policy.step_bps
            if g.approved:
                assert b.installment == pytest.approx(g.installment, rel=1e-2)
    assert not quote_by_bisection(policy, 0.1, 10_000.0, 48).approved  # term not offered


def test_break_even_apr_is_the_npv_root():
    policy = PricingPolicy()
    r0 = break_even_apr(policy, 0.0, 10_000.0, 36)
    assert r0 == pytest.approx(12 * monthly_rate(0.08), abs=1e-9)  # 7.72 % at PD 0
    r = break_even_apr(policy, 0.2, 10_000.0, 60)
    assert npv(0.2, r, 60, 10_000.0, 0.10, 0.08) == pytest.approx(0.0, abs=1e-5)
    assert break_even_apr(policy, 0.99, 10_000.0, 36) is None


def test_run_reports_every_figure_with_mixed_decisions():
    policy = PricingPolicy(max_pd=0.2, max_apr_bps=2000)
    report = run(applicants=25, seed=3, train_rows=800, policy=policy)
    assert report["applicants"] + report["skipped"] == 25
    assert report["model"]["calibration"] in ("platt", "identity")
    s, p = report["score"], report["price"]
    for key in ("per_app_s", "dot_per_row_s", "ratio_to_dot", "dot_batched_per_row_s"):
        assert s[key] > 0
    # the baseline computes the same raw probability as CreditModel.score
    assert s["max_abs_diff_pd_raw"] < 1e-12 and s["max_abs_diff_batched"] < 1e-12
    assert p["grid_per_app_s"] > 0 and p["bisection_per_app_s"] > 0
    assert 0 < p["approved"] < report["applicants"]  # both paths exercised
    assert p["agree"] and p["same_decision"] == report["applicants"]
    assert p["max_apr_diff_bps"] <= p["step_bps"]
    assert report["offchain"]["per_app_s"] == pytest.approx(s["per_app_s"] + p["grid_per_app_s"])
    assert report["chain"] is None


def test_cli_json_with_chain():
    out = CliRunner().invoke(
        _bench_group(),
        ["lending", "--applicants", "8", "--train-rows", "800", "--seed", "1", "--json",
         "--chain", "--chain-decisions", "3"],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    report = json.loads(out.output)
    assert report["applicants"] + report["skipped"] == 8
    assert report["price"]["agree"]
    chain = report["chain"]
    assert chain["decisions"] == 3 and chain["per_decision_s"] > 0
    assert chain["mean_gas"] > 21_000 and chain["ratio_to_offchain"] > 0


def test_cli_table_and_bad_input():
    runner = CliRunner()
    out = runner.invoke(_bench_group(), ["lending", "--applicants", "5", "--train-rows", "800"])
    assert out.exit_code == 0, out.output
    assert "score" in out.output and "quote methods agree" in out.output
    bad = runner.invoke(_bench_group(), ["lending", "--applicants", "0"])
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def _bench_group():
    from hessian_cli.bench import bench

    return bench
