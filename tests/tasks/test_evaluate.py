"""Every evaluation ends on chain, in queue order, and nobody is paid for a copy or a crash.

The attacks of issue 13 against the lender's evaluation, each shown failing on a real chain
(eth-tester), the real embedded store and 512-bit keys, through the library's ``Lender``:

- a blob that breaks the reader (bad CID text, 200 kB of ``[``, wrong types) is rejected on
  chain with a reason code at once — never left waiting for ``settleStale`` to pay it;
- the same nesting run in a fresh interpreter with web3 imported (recursion limit 100,000)
  exits cleanly with the reader's error instead of a segmentation fault;
- a copy of an honest owner's blob sent from another account (front-running or after the
  fact), a re-signed copy, a re-randomised copy: rejected, paid nothing;
- the honest owner still gets its own submission in (replays are per owner);
- rows already in the model (another owner's loans, reshuffled) are refused;
- the queue order: only the head can be evaluated; manual rejection with a reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace

import pytest
from web3 import Web3

from hessian_common import owner
from hessian_common.chain import Reason, SubmissionStatus
from hessian_common.crypto.paillier import EncryptedVector
from hessian_common.errors import ConfigError, UntrustedBlobError
from hessian_common.learning.spec import UpdateBlob
from hessian_common.store import cid_of
from hessian_common.tasks.evaluate import BLOB_GRACE_MAX
from tests.fixtures.lender import ETH, owner_submit, params

DEPOSIT = ETH // 100


@pytest.fixture
def task(lender, lender_data):
    """An open IMPROVEMENT task with a deposit and a tolerance that accepts honest updates."""
    record = lender.create_task(
        params(
            lender_data["lender"],
            metric="auc",
            mechanism="improvement",
            deposit_wei=DEPOSIT,
            tolerance=0.05,
            min_gain=0.0,
        )
    )
    return record.model_id


def _blob_of(env, update_id: int, spec) -> UpdateBlob:
    sub = env.repo.submission(update_id)
    return UpdateBlob.from_bytes(env.store.get(sub.update_cid), spec)


def _submit_raw(env, model_id: int, index: int, data: bytes, rows: int = 50) -> int:
    """Owner ``index`` submits ``data`` as its update blob (stored first)."""
    cid = env.store.put(data)
    return env.owner_repo(index).submit_update(model_id, cid, os.urandom(32), rows)


@pytest.mark.parametrize(
    "blob",
    [
        b"[" * 200_000,  # segfaulted the lender's process before the safe reader
        b'{"format": "hessian.update/2", "weights": 5}',
        b"\xff\xfe not even text",
        json.dumps({"format": "hessian.update/2", "rows": 10**90}).encode(),
    ],
    ids=["deep-nesting", "wrong-types", "binary", "huge-int"],
)
def test_a_blob_that_breaks_the_reader_is_rejected_at_once(lender, env, task, blob):
    uid = _submit_raw(env, task, 2, blob)
    result = lender.evaluate_submission(uid)
    sub = env.repo.submission(uid)
    assert not result.accepted and sub.status == SubmissionStatus.REJECTED
    assert sub.reason == Reason.MALFORMED and sub.reward == 0
    assert env.repo.pending(env.accounts[2].address) == 0  # deposit forfeited, nothing paid
    assert env.repo.model(task).waiting_count == 0


def test_a_cid_that_is_not_a_cid_is_rejected_not_left_waiting(lender, env, task):
    uid = env.owner_repo(2).submit_update(task, "not-a-cid", os.urandom(32), 10)
    result = lender.evaluate_submission(uid)
    assert not result.accepted and env.repo.submission(uid).reason == Reason.MALFORMED
    assert "not a CID" in result.reason or "CID" in result.reason


def test_deep_nesting_in_a_fresh_interpreter_exits_cleanly(tmp_path):
    """web3 raises the recursion limit to 100,000, so the C JSON scanner would overflow the
    stack before RecursionError; the safe reader refuses the nesting before parsing."""
    path = tmp_path / "blob.json"
    path.write_bytes(b"[" * 200_000)
    code = textwrap.dedent(
        f"""
        import sys, web3  # noqa: F401 - the import that raises the recursion limit
        assert sys.getrecursionlimit() >= 10_000, sys.getrecursionlimit()
        from hessian_common.errors import UntrustedBlobError
        from hessian_common.learning.spec import ModelSpec
        try:
            ModelSpec.from_bytes(open({str(path)!r}, "rb").read())
        except UntrustedBlobError as exc:
            print("refused:", exc)
            sys.exit(3)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 3, (out.returncode, out.stderr[-2000:])
    assert "deeper than" in out.stdout and "Traceback" not in out.stderr


def test_a_missing_blob_waits_its_grace_period_then_is_rejected(lender, env, task, lender_data):
    """The owner publishes its blob right after its transaction is mined; the lender waits
    for it (the queue waits behind it) for at most its grace period, then rejects it."""
    cid = "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"  # nobody has it
    uid = env.owner_repo(2).submit_update(task, cid, os.urandom(32), 10)
    honest = owner_submit(env, task, 1, lender_data["owners"][0])
    assert lender.evaluate_all_waiting(task) == []  # nothing recorded while it may arrive
    assert env.repo.model(task).waiting_count == 2
    with pytest.raises(ConfigError, match="not next"):
        lender.evaluate_submission(honest)  # the queue is in order
    env.chain_time.advance(BLOB_GRACE_MAX + 1)
    results = lender.evaluate_all_waiting(task)
    assert [r.update_id for r in results] == [uid, honest]
    assert env.repo.submission(uid).reason == Reason.UNAVAILABLE
    assert env.repo.submission(honest).status == SubmissionStatus.ACCEPTED


def test_copies_of_an_honest_update_earn_nothing(lender, env, task, lender_data):
    """The honest owner's public blob, submitted again by others: as is (WRONG_SIGNER), with
    rows and digest changed and re-signed as the copier's (DUPLICATE_MODEL: its candidate
    equals the model it already became), and with re-randomised ciphertexts (same
    plaintext: DUPLICATE_MODEL). Under any mechanism none of them is paid."""
    spec = lender.books.spec(lender.record(task).spec_cid)
    honest = owner_submit(env, task, 1, lender_data["owners"][0])
    blob = _blob_of(env, honest, spec)
    copier = env.owner_repo(2)
    as_is = copier.submit_update(task, env.store.put(blob.to_bytes()), os.urandom(32), 10)

    def resigned(weights, rows) -> bytes:
        fields = replace(
            blob,
            weights=weights,
            rows=rows,
            dataset_digest=os.urandom(32).hex(),
            owner=Web3.to_checksum_address(copier.client.address),
            signature="",
        )
        return fields.sign(copier.client.account).to_bytes()

    pk = spec.public_key
    nsq = pk.nsquare
    rerandomised = EncryptedVector(
        pk,
        tuple(c * pow(7 + i, pk.n, nsq) % nsq for i, c in enumerate(blob.weights.ciphertexts)),
        blob.weights.exponents,
    )
    copies = {}
    for weights, rows, reason in (
        (blob.weights, blob.rows, Reason.DUPLICATE_MODEL),
        (rerandomised, blob.rows, Reason.DUPLICATE_MODEL),
        # claiming a million rows needs a million pseudonyms: the copy has the owner's few
        (blob.weights, 10**6, Reason.MALFORMED),
    ):
        raw = resigned(weights, rows)
        digest = bytes.fromhex(json.loads(raw)["dataset_digest"])
        copies[copier.submit_update(task, env.store.put(raw), digest, rows)] = reason

    results = {r.update_id: r for r in lender.evaluate_all_waiting(task)}
    assert results[honest].accepted and env.repo.submission(honest).reward > 0
    assert env.repo.submission(as_is).reason == Reason.WRONG_SIGNER
    for uid, reason in copies.items():
        sub = env.repo.submission(uid)
        assert sub.reason == reason and sub.reward == 0 and sub.gain == 0, results[uid].reason
    assert env.repo.pending(copier.client.address) == 0


def test_front_running_an_honest_submission_gains_nothing(lender, env, task, lender_data):
    """A watcher sends the honest owner's (CID, digest, rows) first, from its own account: the
    owner's own submission still goes through (replays are per owner), the copy is first in
    the queue but is rejected (the blob names and is signed by the owner), the owner is paid."""
    spec = lender.books.spec(lender.record(task).spec_cid)
    me = env.owner_repo(1)
    model = owner.get_model(me, env.store, task)
    report = owner.validate_for_model(lender_data["owners"][0], model.spec)
    current, base = owner.current_weights(env.store, model)
    blob = owner.prepare_update(
        model.spec, current, report.data, model_id=task, base_cid=base,
        account=me.client.account, chain_id=me.client.chain_id, contract=me.address,
    )  # fmt: skip
    raw = blob.to_bytes()
    cid = str(cid_of(raw))  # what the pending transaction shows
    thief = env.owner_repo(3)
    first = thief.submit_update(task, cid, report.digest, report.rows)
    mine = me.submit_update(task, cid, report.digest, report.rows)
    assert first < mine
    env.store.put(raw)  # published once on chain, as the journal does
    results = {r.update_id: r for r in lender.evaluate_all_waiting(task)}
    assert env.repo.submission(first).reason == Reason.WRONG_SIGNER
    assert results[mine].accepted and env.repo.submission(mine).reward > 0
    assert env.repo.pending(thief.client.address) == 0
    assert _blob_of(env, mine, spec).signer() == me.client.address


def test_rows_already_in_the_model_are_refused(lender, env, task, lender_data, tmp_path):
    """Another owner's loans, reshuffled and re-sent: the sealed pseudonyms repeat rows the
    model already holds, so the lender rejects them (without seeing any row)."""
    first = owner_submit(env, task, 1, lender_data["owners"][0])
    lines = lender_data["owners"][0].read_text().splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith('"id"'))
    rows = [line for line in lines[head + 1 :] if line.startswith('"') and line.count(",") > 10]
    copy = tmp_path / "copy.csv"  # the same loans, in another order, in a new file
    copy.write_text("\n".join([lines[head], *reversed(rows)]) + "\n")
    again = owner_submit(env, task, 2, copy)
    results = {r.update_id: r for r in lender.evaluate_all_waiting(task)}
    assert results[first].accepted
    sub = env.repo.submission(again)
    assert sub.reason == Reason.DUPLICATE_ROWS and sub.reward == 0
    assert "repeat" in results[again].reason


def test_wrong_model_base_or_chain_is_rejected(lender, env, task, lender_data):
    """A blob built for another model, an unknown base version or another chain (signed by
    its sender, with the digest and rows it declares on chain) is rejected as such."""
    spec = lender.books.spec(lender.record(task).spec_cid)
    honest = owner_submit(env, task, 1, lender_data["owners"][0])
    blob = _blob_of(env, honest, spec)
    lender.evaluate_all_waiting(task)
    bad = []
    changes = ({"model_id": task + 1}, {"base_model_cid": "bafkreinotav"}, {"chain_id": 1})
    for i, change in enumerate(changes):
        other = env.owner_repo(2 + i)
        me = Web3.to_checksum_address(other.client.address)
        forged = replace(blob, owner=me, signature="", **change).sign(other.client.account)
        cid = env.store.put(forged.to_bytes())
        digest = bytes.fromhex(forged.dataset_digest)
        bad.append(other.submit_update(task, cid, digest, forged.rows))
        lender.evaluate_all_waiting(task)
    for uid in bad:
        assert env.repo.submission(uid).reason == Reason.WRONG_MODEL


def test_manual_rejection_with_a_reason(lender, env, task, lender_data):
    uid = owner_submit(env, task, 1, lender_data["owners"][0])
    later = owner_submit(env, task, 2, lender_data["owners"][1])
    with pytest.raises(ConfigError, match="not next"):
        lender.reject_submission(later, "spam")
    with pytest.raises(ConfigError, match="say why"):
        lender.reject_submission(uid, "  ")
    result = lender.reject_submission(uid, "the owner asked to withdraw it")
    assert not result.accepted and env.repo.submission(uid).reason == Reason.MANUAL
    assert lender.record(task).evaluations[-1]["reason"] == "the owner asked to withdraw it"


def test_untrusted_blob_error_is_the_one_error():
    assert issubclass(UntrustedBlobError, ValueError)
