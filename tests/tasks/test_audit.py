"""The audit anyone runs after the reveal catches a lender that lies, and clears one that doesn't.

Real chain (eth-tester), real store, 512-bit keys. Honest evaluations go through the library's
``Lender``; each lie is recorded the way a cheating lender would have to record it (its own
``evaluateUpdate`` call), and the transcript is the one the library publishes — a lender cannot
publish openings that re-encrypt to the ciphertexts and still support a false score. Each case
asserts the report names the lie with its evidence, and ``hessian audit`` exits with status 2.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from hessian_common.chain import Reason
from hessian_common.crypto import decrypt_vector, encrypt_vector
from hessian_common.learning.metrics import score_weights
from hessian_common.learning.spec import EncryptedModel, UpdateBlob
from hessian_common.tasks import audit_model, decryption_transcript
from hessian_common.tasks.versions import published_weights
from hessian_common.types import to_ppm
from tests.fixtures.lender import owner_submit, params


@pytest.fixture
def task(lender, lender_data):
    record = lender.create_task(
        params(
            lender_data["lender"],
            metric="auc",
            mechanism="improvement",
            tolerance=0.05,
            min_gain=0.0,
        )
    )
    return record.model_id


def _candidate(lender, uid):
    """What the honest lender would see: the candidate, its rounding, their scores."""
    model_id = lender.model_of_update(uid)
    record = lender.record(model_id)
    spec = lender.books.spec(record.spec_cid)
    blob = UpdateBlob.from_bytes(lender.store.get(lender.repo.submission(uid).update_cid), spec)
    w = decrypt_vector(lender.books.private_key(model_id), blob.weights)
    w_pub = published_weights(w, spec.public_key)
    X, y = lender.books.holdout(model_id)
    return spec, w, w_pub, (lambda v: float(score_weights(X, y, v)["auc"]))


def _publish(lender, spec, w) -> str:
    return str(lender.store.put(EncryptedModel(encrypt_vector(spec.public_key, w)).to_bytes()))


def _close_and_reveal(lender, model_id):
    lender.close(model_id)
    lender.reveal_test_set(model_id)
    return audit_model(lender.repo, lender.store, model_id)


def _cli(env, monkeypatch, model_id, *extra):
    """``hessian audit MODEL_ID`` against this test's in-process chain and store."""
    from eth_account import Account

    import hessian_common.chain as chain
    from hessian_cli.audit import audit

    monkeypatch.setattr(chain, "connect", lambda url, **kw: env.w3)
    # eth-tester, unlike real nodes, wants a funded ``from`` even for eth_call.
    monkeypatch.setattr(Account, "create", staticmethod(lambda *a: env.accounts[-1]))
    args = [str(model_id), "--home", str(env.home / "auditor"), "--store-dir"]
    args += [str(env.store.root), "--contract", env.repo.address, *extra]
    return CliRunner().invoke(audit, args)


def test_an_honest_run_passes(lender, env, task, lender_data, monkeypatch):
    for i, path in enumerate(lender_data["owners"][:2]):
        owner_submit(env, task, 1 + i, path)
    bad = env.owner_repo(3).submit_update(task, env.store.put(b"[" * 99), os.urandom(32), 10)
    lender.evaluate_all_waiting(task)
    report = _close_and_reveal(lender, task)
    assert report.ok and report.commitment_ok and not report.mismatches
    assert [r.verdict for r in report.rows] == ["ok"] * 4  # initial + 3 evaluations
    assert [r.proof for r in report.rows[:3]] == ["ok", "ok", "ok"]
    assert report.rows[3].update_id == bad and report.rows[3].reason == "malformed"
    result = _cli(env, monkeypatch, task)
    assert result.exit_code == 0, (result.output, result.exc_info)
    assert "CLEAN" in result.output and "commitment: matches" in result.output
    as_json = _cli(env, monkeypatch, task, "--json")
    assert json.loads(as_json.output)["mismatches"] == 0


@pytest.mark.parametrize("delta", [+0.05, -0.03], ids=["higher", "lower"])
def test_a_false_score_is_named(lender, env, task, lender_data, monkeypatch, delta):
    uid = owner_submit(env, task, 1, lender_data["owners"][0])
    spec, _w, w_pub, score = _candidate(lender, uid)
    lie = score(w_pub) + delta
    lender.repo.evaluate_update(uid, True, to_ppm(lie), _publish(lender, spec, w_pub))
    report = _close_and_reveal(lender, task)
    assert not report.ok
    [row] = report.mismatches
    assert row.update_id == uid and row.proof == "ok"
    assert row.recorded == pytest.approx(lie, abs=1e-6)
    assert row.recomputed == pytest.approx(score(w_pub), abs=1e-6)
    assert any("recorded score" in e for e in row.evidence)
    result = _cli(env, monkeypatch, task)
    assert result.exit_code == 2 and "MISMATCH" in result.output and f"#{uid}" in result.output


def test_swapped_weights_are_named(lender, env, task, lender_data):
    """The lender accepts an owner's update but publishes other weights as the new model
    (with their true score): the published model is not the owner's candidate."""
    uid = owner_submit(env, task, 1, lender_data["owners"][0])
    spec, _w, w_pub, score = _candidate(lender, uid)
    other = w_pub + 0.25
    lender.repo.evaluate_update(uid, True, to_ppm(score(other)), _publish(lender, spec, other))
    report = _close_and_reveal(lender, task)
    [row] = report.mismatches
    assert any("weights swapped" in e for e in row.evidence)


def test_a_false_rejection_is_named(lender, env, task, lender_data):
    """A useful update rejected as worse (to keep the bounty): the acceptance rule, re-run on
    the revealed test set, accepts it."""
    uid = owner_submit(env, task, 1, lender_data["owners"][0])
    spec, w, w_pub, score = _candidate(lender, uid)
    # the rule is fixed in the spec at creation: the one the audit re-runs
    rule = {"rule": "paired", "tolerance": 0.05, "alpha": 0.05, "step_alpha": 0.01}
    assert spec.acceptance == rule
    assert score(w_pub) > lender.record(task).initial_score  # it did improve the model
    lender.repo.evaluate_update(uid, False, to_ppm(score(w)), "", Reason.WORSE)
    report = _close_and_reveal(lender, task)
    [row] = report.mismatches
    assert row.reason == "worse"
    assert any("the acceptance rule accepts it" in e for e in row.evidence)


def test_a_false_malformed_claim_is_named(lender, env, task, lender_data):
    uid = owner_submit(env, task, 1, lender_data["owners"][0])
    lender.repo.evaluate_update(uid, False, 0, "", Reason.MALFORMED)
    report = _close_and_reveal(lender, task)
    [row] = report.mismatches
    assert any("well-formed signed update" in e for e in row.evidence)


def test_a_transcript_whose_randomness_does_not_match_is_named(lender, env, task, lender_data):
    uid = owner_submit(env, task, 1, lender_data["owners"][0])
    lender.evaluate_all_waiting(task)
    lender.close(task)
    record = lender.record(task)
    doc = decryption_transcript(lender, record)
    entry = doc["submissions"][0]
    entry["opening"]["r"][0] = format(int(entry["opening"]["r"][0], 16) + 1, "x")
    data, salt = lender.books.reveal_material(task)
    test_cid = str(lender.store.put(data))
    lender.repo.reveal_test_set(task, test_cid, salt, str(lender.store.put_json(doc)))
    report = audit_model(lender.repo, lender.store, task)
    [row] = report.mismatches
    assert row.update_id == uid and row.proof == "failed"
    assert any("do not re-encrypt" in e for e in row.evidence)


def test_a_transcript_that_leaves_an_evaluation_out_is_named(lender, env, task, lender_data):
    uid = owner_submit(env, task, 1, lender_data["owners"][0])
    lender.evaluate_all_waiting(task)
    lender.close(task)
    doc = decryption_transcript(lender, lender.record(task))
    doc["submissions"] = []
    data, salt = lender.books.reveal_material(task)
    lender.repo.reveal_test_set(
        task, str(lender.store.put(data)), salt, str(lender.store.put_json(doc))
    )
    report = audit_model(lender.repo, lender.store, task)
    [row] = report.mismatches
    assert row.update_id == uid and "leaves this evaluation out" in row.evidence[0]


def test_the_lenders_own_reveal_publishes_what_the_audit_needs(lender, env, task, lender_data):
    """The transcript opens the initial model and every decrypted vector; its values are the
    weights (so publishing it reveals them: see the README's threat model)."""
    uid = owner_submit(env, task, 1, lender_data["owners"][0])
    lender.evaluate_all_waiting(task)
    lender.close(task)
    lender.reveal_test_set(task)
    info = env.repo.model(task)
    doc = env.store.get_json(info.transcript_cid)
    assert doc["format"] == "hessian.audit-transcript/1" and doc["model_id"] == task
    [entry] = doc["submissions"]
    assert entry["update_id"] == uid and entry["opening"] and entry["model_opening"]
    spec = lender.books.spec(lender.record(task).spec_cid)
    w0 = decrypt_vector(lender.books.private_key(task), spec.weights)
    from hessian_common.crypto.proof import Opening

    opened = Opening.from_dict(doc["initial"], spec.public_key).values(spec.public_key)
    np.testing.assert_allclose(opened, w0)
