"""LoanBook gas ceilings (gas, not time): apply <= 150k, decide <= 120k, repay/fund <= 100k."""

from __future__ import annotations

from hessian_cli.chain import LOANBOOK_GAS_TARGETS, measure_loanbook_gas


def test_loanbook_gas_targets_hold_for_every_measured_case():
    rows = measure_loanbook_gas()
    measured = {op for op, _, _ in rows}
    assert set(LOANBOOK_GAS_TARGETS) <= measured
    assert {"deployModel", "markLate", "markDefault", "cancel", "retireModel"} <= measured
    for op, case, used in rows:
        if op in LOANBOOK_GAS_TARGETS:
            assert used <= LOANBOOK_GAS_TARGETS[op], f"{op} ({case}) used {used:,} gas"
    cases = {(op, case) for op, case, _ in rows}
    assert ("repay", "final (fully repaid)") in cases
    assert ("decide", "decline") in cases
