"""``hessian simulate --currency hsn``: the whole protocol in a token (issue 15). A tiny run on
eth-tester: the bounty and deposits in a fresh HSN, the owners' rewards withdrawn in it, the
credit model's loans, repayments and recoveries in it, and the report's amounts named by it."""

from __future__ import annotations

import pytest

from hessian_common.errors import ConfigError
from hessian_common.simulation.run import run_simulation
from hessian_common.simulation.scenario import Scenario

pytestmark = pytest.mark.slow

HSN = 10**18


def test_a_tiny_run_in_hsn(tmp_path) -> None:
    scenario = Scenario(
        owners=2,
        bad=0,
        rows=400,
        seed=2,
        key_bits=512,
        bounty_eth=50.0,  # whole units of the run's currency: 50 HSN
        shapley_permutations=0,
        borrowers=4,
        lending_policy={"terms": (36,)},
        currency="hsn",
    )
    result = run_simulation(scenario, chain="eth-tester", workdir=tmp_path)
    [run] = result.runs
    assert run.bounty_wei == 50 * HSN
    paid = sum(run.rewards_wei.values())
    assert 0 < paid <= 50 * HSN
    # every owner withdrew its reward (and deposit refunds) in HSN; the lender reclaimed the rest
    assert sum(run.withdrawn_wei.values()) >= paid
    assert paid + run.reclaimed_wei == 50 * HSN
    lending = result.lending
    assert lending is not None and lending.currency == "HSN" and lending.unit == HSN
    for b in lending.funded:
        assert b.principal_wei == round(b.amount * 100) * HSN // 100  # $8,000 asked: 8,000 HSN
    assert lending.chain_matches is True
    r = result.summary()["lending"]["returns"]
    assert r["currency"] == "HSN"
    assert r["lent"] == pytest.approx(sum(b.amount for b in lending.funded))


def test_an_unknown_currency_is_refused() -> None:
    with pytest.raises(ConfigError, match="--currency must be one of eth, hsn, usd"):
        Scenario(owners=2, bad=0, rows=400, currency="doge")
