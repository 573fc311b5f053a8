"""Gas targets (gas, not time): submitUpdate, evaluateUpdate <= 120k, withdraw <= 50k."""

from __future__ import annotations

from hessian_cli.chain import GAS_TARGETS, measure_gas


def test_gas_targets_hold_for_every_measured_case():
    rows = measure_gas()
    measured = {op for op, _, _ in rows}
    assert set(GAS_TARGETS) <= measured
    for op, case, used in rows:
        if op in GAS_TARGETS:
            assert used <= GAS_TARGETS[op], f"{op} ({case}) used {used:,} gas"
