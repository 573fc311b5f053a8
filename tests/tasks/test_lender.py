"""hessian_common.tasks without the web layer: inputs, secrets at rest, keys, accounts."""

from __future__ import annotations

import json
import stat

import numpy as np
import pytest

from hessian_common.errors import ConfigError, DataError, KeyPassphraseError
from hessian_common.tasks import (
    DEV_PASSPHRASE,
    ENV_PASSPHRASE,
    Lender,
    TaskInputError,
    audit_model,
    parse_test_set,
    resolve_passphrase,
    test_set_bytes,
)
from tests.fixtures.lender import PASSPHRASE, owner_submit, params

ETH = 10**18


def test_params_check_names_every_bad_field(tmp_path):
    p = params(
        tmp_path / "missing.csv",
        name="x",
        bounty_wei=0,
        target=1.5,
        deadline=1,
        evaluation_window=0,
        key_size=333,
        update_rule="sgd",
        hyper={"lr": -1, "z": 1},
        holdout_fraction=0.9,
        mechanism="x",
        metric="f1",
        tolerance=2,
    )
    errors = p.check(balance_wei=10**30)
    assert set(errors) >= {
        "name",
        "bounty_eth",
        "target",
        "deadline",
        "eval_window_hours",
        "key_size",
        "update_rule",
        "lr",
        "hyper",
        "holdout_fraction",
        "mechanism",
        "metric",
        "data",
        "tolerance",
    }
    too_much = params(None, data_bytes=b"x").check(balance_wei=ETH)["bounty_eth"]
    assert "more than the account balance (1.00 ETH)" in too_much and "wei" not in too_much
    assert params(None, data_bytes=b"x").rule_params() == {"mu": 0.05}


def test_params_check_bounds_the_deposit_by_the_bounty():
    ok = params(None, data_bytes=b"x", bounty_wei=10 * ETH, deposit_wei=ETH)
    assert "deposit_eth" not in ok.check()
    huge = params(None, data_bytes=b"x", bounty_wei=10 * ETH, deposit_wei=10**6 * ETH)
    message = huge.check()["deposit_eth"]
    assert "1,000,000.00 ETH" in message and "10.00 ETH" in message
    assert "no data owner would pay it" in message and "wei" not in message


def test_test_set_bytes_round_trip():
    X = np.array([[1.0, 0.1234567890123, -2.5], [1.0, 1e-300, 3.0]])
    y = np.array([0, 1])
    data = test_set_bytes(X, y, ["intercept", "a", "b"])
    X2, y2, names = parse_test_set(data)
    assert np.array_equal(X, X2) and np.array_equal(y, y2) and names == ["intercept", "a", "b"]
    with pytest.raises(DataError):
        parse_test_set(b"label,a\n1,2,3\n")


def test_passphrase_rules(monkeypatch):
    monkeypatch.delenv(ENV_PASSPHRASE, raising=False)
    assert resolve_passphrase(1337) == DEV_PASSPHRASE
    with pytest.raises(ConfigError, match=ENV_PASSPHRASE):
        resolve_passphrase(11155111)
    monkeypatch.setenv(ENV_PASSPHRASE, "short")
    with pytest.raises(ConfigError, match="8 characters"):
        resolve_passphrase(1)
    monkeypatch.setenv(ENV_PASSPHRASE, "long enough passphrase")
    assert resolve_passphrase(1) == "long enough passphrase"


def test_secrets_are_sealed_at_rest(lender, env, lender_data):
    from hessian_common.crypto import load_private_key

    record = lender.create_task(params(lender_data["lender"]))
    d = lender._dir(record.model_id)
    key_file = d / "paillier_key.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((d / "salt").stat().st_mode) == 0o600
    sk = lender._private_key(record.model_id)
    text = key_file.read_text()
    assert format(sk.p, "x") not in text and format(sk.q, "x") not in text
    with pytest.raises(KeyPassphraseError):
        load_private_key(key_file, "wrong passphrase")
    assert load_private_key(key_file, PASSPHRASE).p == sk.p
    saved = (d / "record.json").read_text()
    assert PASSPHRASE not in saved and format(sk.p, "x") not in saved
    assert PASSPHRASE not in repr(lender)
    assert json.loads(saved)["model_id"] == record.model_id
    assert not (d.parent.parent / "pending" / record.spec_cid).exists()


def test_reverted_create_leaves_nothing(lender, env, lender_data, monkeypatch):
    from hessian_common.errors import ContractRevert

    def revert(*_a, **_k):
        raise ContractRevert("createModel reverted: ZeroBounty()", "ZeroBounty")

    monkeypatch.setattr(env.repo, "create_model", revert)
    with pytest.raises(ContractRevert):
        lender.create_task(params(lender_data["lender"]))
    base = lender.state.deployment_dir(lender.chain_id, lender.contract)
    assert [p for p in base.rglob("*") if p.is_file()] == []


def test_target_at_or_below_initial_score_is_refused(lender, env, lender_data):
    with pytest.raises(TaskInputError) as info:
        lender.create_task(params(lender_data["lender"], target=0.05))
    assert "already scores" in info.value.errors["target"]
    assert env.repo.model_count() == 0


def test_audit_by_anyone_after_the_reveal(lender, env, lender_data):
    """The lender's own view of the audit is what anyone gets (the full audit tests, lying
    lenders included, are in tests/tasks/test_audit.py)."""
    record = lender.create_task(params(lender_data["lender"], mechanism="pro_rata_gain"))
    uid = owner_submit(env, record.model_id, 1, lender_data["owners"][0])
    lender.evaluate_all_waiting(record.model_id)
    lender.close(record.model_id)
    with pytest.raises(ConfigError, match="not revealed"):
        audit_model(env.owner_repo(2), env.store, record.model_id)
    lender.reveal_test_set(record.model_id)
    report = audit_model(env.owner_repo(2), env.store, record.model_id)
    assert report.ok and report.checked == 2 and report.commitment_ok
    assert [r.proof for r in report.rows] == ["ok", "ok"]
    assert lender.audit(record.model_id).ok
    assert env.repo.submission(uid).status != 0


def test_keystore_account_is_created_sealed_and_reopened(env, tmp_path):
    """Without a dev account the lender's key lives in an encrypted keystore (0600)."""
    root = tmp_path / "company"
    first = Lender.open(
        env.w3, env.store, state_root=root, contract_address=env.repo.address, passphrase=PASSPHRASE
    )
    keystore = root / "keystore.json"
    assert stat.S_IMODE(keystore.stat().st_mode) == 0o600
    assert json.loads(keystore.read_text())["crypto"]["kdf"] in ("scrypt", "pbkdf2")
    again = Lender.open(
        env.w3, env.store, state_root=root, contract_address=env.repo.address, passphrase=PASSPHRASE
    )
    assert again.address == first.address and again.balance() == 0
    env.clients[5].send_value(first.address, ETH)  # eth-tester wants a funded eth_call sender
    with pytest.raises(KeyPassphraseError):
        Lender.open(
            env.w3,
            env.store,
            state_root=root,
            contract_address=env.repo.address,
            passphrase="another passphrase",
        )
    assert "keystore" in first.account_summary().key_source


def test_dev_accounts_only_on_local_chains(env, tmp_path, monkeypatch):
    monkeypatch.setattr(type(env.w3.eth), "chain_id", property(lambda self: 11155111))
    with pytest.raises(ConfigError, match="local demo chains"):
        Lender.open(
            env.w3,
            env.store,
            state_root=tmp_path / "c",
            dev_index=0,
            contract_address=env.repo.address,
            passphrase=PASSPHRASE,
        )


def test_the_paid_gain_floor_defaults_to_the_hold_outs_noise(lender, env, lender_data):
    """Without a minimum paid gain the lender fixes the hold-out's noise floor on chain (and
    owners see it before they share); a given one is used as is."""
    from hessian_common.learning.metrics import paid_gain_floor
    from hessian_common.types import from_ppm

    record = lender.create_task(params(lender_data["lender"], metric="auc", target=0.95))
    _X, y = lender.books.holdout(record.model_id)
    info = env.repo.model(record.model_id)
    assert from_ppm(info.min_gain) == pytest.approx(
        paid_gain_floor(y, record.initial_score, "auc"), abs=1e-6
    )
    assert 0.001 < from_ppm(info.min_gain) < 0.05
    fixed = lender.create_task(params(lender_data["lender"], metric="auc", min_gain=0.0005))
    assert env.repo.model(fixed.model_id).min_gain == 500
    with pytest.raises(TaskInputError) as info_err:
        lender.create_task(params(lender_data["lender"], metric="auc", target=0.95, min_gain=0.9))
    assert "min_gain" in info_err.value.errors
