"""PolicyBook gas ceilings (gas, not time): issue 18's 150k for apply, quote, accept, claim,
decide, settle and withdraw (``POLICYBOOK_GAS_TARGETS``), measured by the bench's own run
(``measure_policybook_gas``, what ``hessian bench gas`` prints)."""

from __future__ import annotations

from hessian_cli.chain import POLICYBOOK_GAS_TARGETS, measure_policybook_gas


def test_every_policybook_operation_of_the_issue_is_measured_and_under_its_ceiling():
    rows = measure_policybook_gas()
    measured = {op for op, _, _ in rows}
    assert set(POLICYBOOK_GAS_TARGETS) <= measured
    for op, case, used in rows:
        if op in POLICYBOOK_GAS_TARGETS:
            assert used <= POLICYBOOK_GAS_TARGETS[op], (op, case, used)
    assert all(used > 21_000 for _, _, used in rows)
