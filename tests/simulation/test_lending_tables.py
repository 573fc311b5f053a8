"""The lending phase's pure parts: default timing, cash flows, IRR, tables, the report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hessian_common.errors import ConfigError
from hessian_common.lending.pricing import PD_EDGES, balances, expected_cash_flows, installment
from hessian_common.simulation.lending import draw_instalments_paid
from hessian_common.simulation.report import LENDING_PLOTS, PLOTS, write_report
from hessian_common.simulation.result import (
    BorrowerOutcome,
    LendingOutcome,
    MechanismOutcome,
    OwnerOutcome,
    SimulationResult,
)
from hessian_common.simulation.scenario import Scenario, lending_policy
from hessian_common.simulation.tables import (
    by_grade,
    monthly_irr_annual,
    pd_buckets,
    wilson,
)

WPD = 10**14  # wei per dollar


def test_default_timing_follows_the_pricing_rules_hazard() -> None:
    # P(t | default) = (1-h)^(t-1) h / p, t = 1..n; k = t - 1 instalments paid
    rng = np.random.default_rng(0)
    p, n = 0.6, 12
    h = 1 - (1 - p) ** (1 / n)
    draws = np.array([draw_instalments_paid(p, n, rng) for _ in range(20_000)])
    assert draws.min() >= 0 and draws.max() <= n - 1
    t = np.arange(1, n + 1)
    exact = (1 - h) ** (t - 1) * h / p
    observed = np.bincount(draws, minlength=n) / len(draws)
    assert np.abs(observed - exact).max() < 0.01
    assert exact[0] > exact[-1]  # earlier defaults are likelier under a constant hazard
    assert draw_instalments_paid(1.0, n, rng) == 0
    assert 0 <= draw_instalments_paid(0.0, n, rng) < n


def test_irr_of_a_loan_paid_on_schedule_is_its_apr() -> None:
    amount, apr, n = 10_000.0, 0.12, 36
    m = installment(amount, apr, n)
    annual = monthly_irr_annual([m] * n, amount)
    assert annual == pytest.approx((1 + apr / 12) ** 12 - 1, rel=1e-9)
    assert monthly_irr_annual([0.0] * n, amount) == -1.0


def _loan(i, grade, pd, truth, *, funded=True, defaulted=False, k=36, apr_bps=1200):
    amount = 10_000.0
    principal = amount * WPD
    inst = round(installment(principal, apr_bps / 10_000, 36))
    out = BorrowerOutcome(
        index=i, address=f"0x{i:040x}", grade=grade, term=36, amount=amount,
        truth_default=truth, status="funded" if funded else "declined", loan_id=i + 1, pd=pd,
        apr_bps=apr_bps if funded else 0,
    )  # fmt: skip
    if funded:
        out.principal_wei, out.installment_wei, out.total_owed_wei = (
            int(principal), inst, inst * 36
        )  # fmt: skip
        paid = k if defaulted else 36
        out.payments = [[m, inst] for m in range(1, paid + 1)]
        out.instalments_paid = paid
        if defaulted:
            out.defaulted = True
            rec = round(0.1 * balances(principal, apr_bps / 10_000, 36)[k])
            out.payments.append([k + 5, rec])
            out.recovery_wei = rec
    return out


def _outcome(borrowers) -> LendingOutcome:
    funded = [b for b in borrowers if b.funded]
    expected = np.zeros(36)
    for b in funded:
        expected += expected_cash_flows(b.pd, b.apr_bps / 10_000, 36, b.amount, 0.1)
    return LendingOutcome(
        model_id=1, mechanism="improvement", loanbook="0x" + "ab" * 20,
        policy=lending_policy({}).to_dict(), calibration={"chosen": "platt"},
        borrowers=borrowers, expected_flows=expected.tolist(), wei_per_dollar=WPD,
        gas={"lender": {"decide": {"count": 2, "gas": 200_000}},
             "borrowers": {"repay": {"count": 4, "gas": 160_000}}},
        phases={"lending: deploy": 1.0, "lending: repayments": 2.0},
    )  # fmt: skip


def test_portfolio_returns_from_month_indexed_flows() -> None:
    paid = _loan(0, "A", 0.05, False)
    lost = _loan(1, "B", 0.2, True, defaulted=True, k=10)
    out = _outcome([paid, lost, _loan(2, "C", 0.5, True, funded=False)])
    r = out.returns()
    assert r["lent_usd"] == pytest.approx(20_000.0)
    flows = out.realised_flows()
    received = sum(w for b in (paid, lost) for _, w in b.payments) / WPD
    assert sum(flows) == pytest.approx(received)
    assert flows[0] == pytest.approx(2 * paid.installment_wei / WPD)
    assert flows[14] == pytest.approx((paid.installment_wei + lost.recovery_wei) / WPD)
    assert r["money_multiple"] == pytest.approx(received / 20_000)
    # the IRR solves sum_m flows_m (1+i)^-m = lent
    i = (1 + r["irr"]) ** (1 / 12) - 1
    pv = sum(f / (1 + i) ** (m + 1) for m, f in enumerate(flows))
    assert pv == pytest.approx(20_000.0, rel=1e-9)
    assert r["irr"] < 0.12 < r["expected_irr"] + 0.12  # a 10-month default costs the portfolio
    assert r["expected_money_multiple"] == pytest.approx(sum(out.expected_flows) / 20_000)


def test_tables_by_grade_and_pd_bucket() -> None:
    borrowers = [
        _loan(0, "A", 0.04, False),
        _loan(1, "A", 0.06, True, defaulted=True, k=3),
        _loan(2, "A", 0.07, False),
        _loan(3, "D", 0.45, True, funded=False),
        _loan(4, "D", 0.40, False, funded=False),
        BorrowerOutcome(5, "0x5", "B", 36, 5000.0, False, status="failed", error="x"),
    ]
    g = by_grade(borrowers)
    assert set(g) == {"A", "D"}  # a failed application is not an applicant
    assert g["A"]["applied"] == 3 and g["A"]["approval_rate"] == 1.0
    assert g["A"]["default_rate_funded"] == pytest.approx(1 / 3)
    assert g["D"]["approval_rate"] == 0.0 and g["D"]["default_rate_funded"] is None
    assert g["D"]["default_rate_declined_truth"] == 0.5
    funded = pd_buckets([b for b in borrowers if b.funded])
    assert [(b["lo"], b["count"]) for b in funded] == [(0.0, 1), (0.05, 2)]
    assert funded[1]["default_rate"] == 0.5 and funded[1]["mean_pd"] == pytest.approx(0.065)
    everyone = pd_buckets([b for b in borrowers if b.status != "failed"], truth=True)
    assert everyone[-1]["lo"] == 0.35 and everyone[-1]["default_rate"] == 0.5
    assert everyone[-1]["hi"] == 1.0  # the desk's last edge is past 1; reported as 1
    # one definition: the desk's buckets, with the 30 % edge the calibration table needs
    edge = pd_buckets([_loan(9, "E", 0.32, False)])
    assert 0.30 in PD_EDGES and (edge[0]["lo"], edge[0]["hi"]) == (0.30, 0.35)
    lo, hi = wilson(1, 2)
    assert 0 < lo < 0.5 < hi < 1


def test_policy_options_are_checked() -> None:
    assert lending_policy({"max_apr_bps": 2500}).max_apr_bps == 2500
    with pytest.raises(ConfigError, match="max_apr_bps"):
        lending_policy({"max_apr_bps": 20_000})
    with pytest.raises(ConfigError, match="unknown"):
        lending_policy({"max_aprr": 1})
    with pytest.raises(ConfigError, match="borrowers"):
        Scenario(borrowers=-1)
    with pytest.raises(ConfigError, match="required_return"):
        Scenario(lending_policy={"required_return": 3.0})
    assert Scenario().borrowers == 200


def test_report_has_a_lending_section(tmp_path) -> None:
    borrowers = [
        _loan(0, "A", 0.04, False),
        _loan(1, "B", 0.16, True, defaulted=True, k=7),
        _loan(2, "E", 0.45, True, funded=False),
    ]
    owners = [OwnerOutcome(0, "owner_00", 0, "honest", None, "0xa", 500, "00")]
    run = MechanismOutcome("improvement", 1, 10**19, 0.65, 0.75, 0.70, [], {0: 10**19})
    result = SimulationResult(
        scenario={"owners": 1}, owners=owners, runs=[run], centralized_auc=0.7,
        centralized_history=[0.65, 0.7], gas={"lender": {"createModel": 1}}, phases={"setup": 1.0},
        lending=_outcome(borrowers),
    )  # fmt: skip
    page = write_report(result, tmp_path)
    for name in PLOTS + LENDING_PLOTS:
        assert (tmp_path / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    text = page.read_text()
    assert text.count("data:image/png;base64,") == len(PLOTS) + len(LENDING_PLOTS)
    assert "Predicted vs realised default by PD bucket" in text
    summary = json.loads((tmp_path / "summary.json").read_text())
    lending = summary["lending"]
    assert lending["approved"] == 2 and lending["applied"] == 3
    assert lending["by_grade"]["B"]["default_rate_funded"] == 1.0
    assert lending["gas_mean_per_operation"] == {"decide": 100_000, "repay": 40_000}
    full = json.loads((tmp_path / "result.json").read_text())
    assert len(full["lending"]["borrowers"]) == 3
