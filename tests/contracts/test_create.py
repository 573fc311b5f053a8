"""createModel: escrow, stored terms, events, every revert path and its boundaries."""

from __future__ import annotations

import pytest
from eth_tester import EthereumTester, PyEVMBackend
from web3 import EthereumTesterProvider, Web3

from hessian_common.chain.client import ChainClient, dev_account
from hessian_common.chain.compile import load_artifact
from hessian_common.chain.deploy import deploy_repository
from hessian_common.chain.repository import (
    DEFAULT_MAX_ROWS,
    DEFAULT_REVEAL_WINDOW,
    MAX_DURATION,
    MAX_WINDOW,
    Mechanism,
    Metric,
    ModelRepository,
    ModelStatus,
    test_set_commitment,
)
from tests.contracts.helpers import (
    BOUNTY,
    CID_A,
    DAY,
    DEPOSIT,
    ETH,
    REVEAL_WINDOW,
    SALT,
    STALE,
    TEST_SET_CID,
    U64,
    WINDOW,
    reverts,
    transact_at,
)


def _terms(now: int, **kw) -> tuple:
    """The ``Terms`` tuple with defaults (for raw calls the wrapper would refuse)."""
    t = {
        "metric": 0,
        "mechanism": 0,
        "initial": 0,
        "target": 700_000,
        "min_gain": 0,
        "deadline": now + DAY,
        "window": WINDOW,
        "reveal": REVEAL_WINDOW,
        "deposit": 0,
        "max_rows": 1_000,
        "stale": 1,
    }
    t.update(kw)
    return tuple(t.values())


def test_create_escrows_bounty_and_records_terms(lender, make_model, w3, chain_time):
    before = w3.eth.get_balance(lender.address)
    deadline = chain_time.now() + DAY
    model_id = make_model(
        metric=Metric.ACCURACY,
        mechanism=Mechanism.PRO_RATA_GAIN,
        deadline=deadline,
        min_gain=5_000,
        max_rows=50_000,
        stale_reward=BOUNTY // 4,
    )
    assert model_id == 1
    assert w3.eth.get_balance(lender.address) == before + BOUNTY
    m = lender.model(model_id)
    assert m.lender == lender.client.address
    assert m.spec_cid == CID_A and m.model_cid == CID_A
    assert (m.metric, m.mechanism, m.status) == (
        Metric.ACCURACY,
        Mechanism.PRO_RATA_GAIN,
        ModelStatus.OPEN,
    )
    assert (m.initial_score, m.target_score, m.current_score, m.min_gain) == (
        600_000,
        700_000,
        600_000,
        5_000,
    )
    assert (m.deadline, m.evaluation_window, m.reveal_window) == (deadline, WINDOW, REVEAL_WINDOW)
    assert m.reveal_deadline == deadline + WINDOW + REVEAL_WINDOW
    assert lender.reveal_deadline(model_id) == m.reveal_deadline
    assert (m.max_rows, m.stale_reward, m.reserved) == (50_000, BOUNTY // 4, 0)
    assert m.bounty == m.remaining == BOUNTY and m.pool == m.paid == m.owed == m.reclaimed == 0
    assert m.submission_deposit == DEPOSIT
    assert m.test_set_commitment == test_set_commitment(TEST_SET_CID, SALT)
    assert not m.finalized and not m.revealed and not m.forfeited and m.test_set_cid is None
    assert m.next_in_queue == 0 and lender.stale_reserve_now(model_id) == BOUNTY // 4
    assert lender.model_count() == 1 and make_model() == 2
    created = [e for e in lender.events() if e.name == "ModelCreated"]
    assert [e.args["modelId"] for e in created] == [1, 2]
    assert created[0].args["bounty"] == BOUNTY
    assert created[0].args["lender"] == lender.client.address
    assert created[0].args["specCid"] == CID_A
    assert tuple(created[0].args["terms"].values()) == (
        1, 2, 600_000, 700_000, 5_000, deadline, WINDOW, REVEAL_WINDOW, DEPOSIT, 50_000,
        BOUNTY // 4,
    )  # fmt: skip


def test_wrapper_defaults(lender, make_model):
    m = lender.model(
        lender.create_model(
            CID_A,
            bounty=BOUNTY,
            initial_score=600_000,
            target_score=700_000,
            deadline=lender.client.block_timestamp() + DAY,
            evaluation_window=WINDOW,
            test_set_commitment=b"\0" * 32,
        )
    )
    assert (m.mechanism, m.metric, m.min_gain, m.submission_deposit) == (
        Mechanism.IMPROVEMENT,
        Metric.AUC,
        0,
        0,
    )
    assert (m.reveal_window, m.max_rows, m.stale_reward) == (
        DEFAULT_REVEAL_WINDOW,
        DEFAULT_MAX_ROWS,
        STALE,
    )
    assert lender.model(make_model(bounty=5)).stale_reward == 1  # at least one wei


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"spec_cid": ""}, "EmptyCid"),
        ({"target_score": 1_000_000, "initial_score": 999_999}, None),
        ({"initial_score": 700_000, "target_score": 700_000}, "InvalidScores"),
        ({"initial_score": 700_000, "target_score": 650_000}, "InvalidScores"),
        ({"min_gain": 99_999}, None),  # span - 1
        ({"min_gain": 100_000}, "InvalidMinGain"),  # the whole span
        ({"evaluation_window": 0}, "InvalidWindow"),
        ({"evaluation_window": MAX_WINDOW}, None),
        ({"evaluation_window": MAX_WINDOW + 1}, "InvalidWindow"),
        ({"reveal_window": 0}, "InvalidWindow"),
        ({"reveal_window": 1}, None),
        ({"reveal_window": MAX_WINDOW}, None),
        ({"reveal_window": MAX_WINDOW + 1}, "InvalidWindow"),
        ({"max_rows": 0}, "ZeroMaxRows"),
        ({"max_rows": 1}, None),
        ({"max_rows": U64}, None),
        ({"bounty": 0}, "ZeroBounty"),
        ({"bounty": 1, "stale_reward": 1}, None),
        ({"stale_reward": 0}, "InvalidStaleReward"),
        ({"stale_reward": BOUNTY}, None),
        ({"stale_reward": BOUNTY + 1}, "InvalidStaleReward"),
    ],
)
def test_create_validation(make_model, lender, w3, overrides, error):
    if error is None:
        assert make_model(**overrides) == 1
        return
    with reverts(error):
        make_model(**overrides)
    assert lender.model_count() == 0
    assert w3.eth.get_balance(lender.address) == 0


def test_revert_arguments(make_model):
    with reverts("InvalidMinGain") as info:
        make_model(min_gain=100_000)
    assert info.value.error_args == (100_000, 100_000)
    with reverts("InvalidWindow") as info:
        make_model(reveal_window=MAX_WINDOW + 1)
    assert info.value.error_args == (MAX_WINDOW + 1, MAX_WINDOW)
    with reverts("InvalidStaleReward") as info:
        make_model(stale_reward=BOUNTY + 1)
    assert info.value.error_args == (BOUNTY + 1, BOUNTY)


def test_create_rejects_score_above_one_million(lender, chain_time):
    # the wrapper refuses before sending; the contract refuses too
    with pytest.raises(ValueError, match="ppm"):
        lender.create_model(
            CID_A,
            bounty=BOUNTY,
            initial_score=0,
            target_score=1_000_001,
            deadline=chain_time.now() + DAY,
            evaluation_window=60,
            test_set_commitment=b"\0" * 32,
        )
    fn = lender.fn.createModel(
        CID_A, b"\0" * 32, _terms(chain_time.now(), target=1_000_001), ETH, BOUNTY
    )
    with reverts("ScoreOutOfRange"):
        lender.client.transact(fn, value=BOUNTY)
    assert lender.model_count() == 0


def test_deadline_boundaries(lender, chain_time):
    def create(deadline: int, at: int) -> dict:
        fn = lender.fn.createModel(CID_A, b"\0" * 32, _terms(at, deadline=deadline), ETH, BOUNTY)
        return transact_at(lender, fn, at, value=BOUNTY)

    t = chain_time.now() + 100
    with reverts("DeadlineInPast") as info:
        create(t, at=t)  # the block's own second is not in the future
    assert info.value.error_args == (t, t)
    with reverts("DeadlineTooFar") as info:
        create(t + 2 + MAX_DURATION + 1, at=t + 2)
    assert info.value.error_args == (t + 2 + MAX_DURATION + 1, t + 2 + MAX_DURATION)
    assert lender.model_count() == 0
    create(t + 4 + MAX_DURATION, at=t + 4)  # the latest deadline allowed
    create(t + 7, at=t + 6)  # one second ahead: allowed
    assert [lender.model(i).deadline for i in (1, 2)] == [t + 4 + MAX_DURATION, t + 7]
    assert lender.client.block_timestamp() == t + 6


def test_bounty_above_uint96_is_refused():
    """A bounty must fit the 96-bit amounts (a chain whose account holds 2**100 wei)."""
    rich = PyEVMBackend.generate_genesis_state(overrides={"balance": 2**100}, num_accounts=1)
    w3 = Web3(EthereumTesterProvider(EthereumTester(PyEVMBackend(genesis_state=rich))))
    account = dev_account(0)
    w3.eth.send_transaction({"from": w3.eth.accounts[0], "to": account.address, "value": 2**98})
    art = load_artifact("ModelRepository")
    client = ChainClient(w3, account, abis=[art.abi])
    repo = ModelRepository(client, deploy_repository(client, artifact=art, record=False), art.abi)
    kw = {
        "initial_score": 0,
        "target_score": 1,
        "deadline": client.block_timestamp() + DAY,
        "evaluation_window": WINDOW,
        "test_set_commitment": b"\0" * 32,
        "stale_reward": 1,
    }
    with reverts("ValueTooLarge") as info:
        repo.create_model(CID_A, bounty=2**96, **kw)
    assert info.value.error_args == (2**96, 2**96 - 1)
    model_id = repo.create_model(CID_A, bounty=2**96 - 1, **kw)
    assert repo.model(model_id).bounty == 2**96 - 1
    assert w3.eth.get_balance(repo.address) == 2**96 - 1
