"""Gas targets (gas, not time): evaluateUpdate <= 120k in every measured case, including the
worst one (a share model's first paid submission reaching the target, which closes the model,
fixes the pool and is its owner's first credit) and the head of a queue (the order check);
withdraw <= 50k; submitUpdate <= 150k."""

from __future__ import annotations

import pytest

from hessian_cli.chain import GAS_TARGETS, measure_gas


@pytest.fixture(scope="module")
def rows() -> list[tuple[str, str, int]]:
    return measure_gas()


def test_gas_targets_hold_for_every_measured_case(rows):
    measured = {op for op, _, _ in rows}
    assert set(GAS_TARGETS) <= measured
    for op, case, used in rows:
        if op in GAS_TARGETS:
            assert used <= GAS_TARGETS[op], f"{op} ({case}) used {used:,} gas"


def test_the_hard_cases_are_measured(rows):
    cases = {(op, case) for op, case, _ in rows}
    evaluate = [case for op, case in cases if op == "evaluateUpdate"]
    assert any(case.startswith("worst case") for case in evaluate)
    assert any("order check" in case for case in evaluate)
    assert any("reaches target" in case for case in evaluate)
    forfeits = [case for op, case in cases if op == "claimForfeit"]
    assert any("first claim" in case for case in forfeits)
    assert any("last claim" in case for case in forfeits)
    assert ("revealTestSet", "commitment checked, transcript CID") in cases
    assert any(op == "claimShare" and "PRO_RATA_GAIN" in case for op, case in cases)


def test_worst_evaluation_is_the_most_expensive(rows):
    evaluate = {case: used for op, case, used in rows if op == "evaluateUpdate"}
    worst = next(used for case, used in evaluate.items() if case.startswith("worst case"))
    assert worst == max(evaluate.values())
    assert worst <= GAS_TARGETS["evaluateUpdate"]
