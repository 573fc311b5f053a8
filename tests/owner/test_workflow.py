"""The owner workflow on a real chain (eth-tester) and a real embedded store.

Covers: open models, validation, the encrypted update (decrypts to the plaintext rule), replay
checks (journal and contract), and the journal's worker: store down, chain down, a crash
between sending and bookkeeping, contract refusals -- each submission lands exactly once.
"""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest

from hessian_common import owner
from hessian_common.chain.client import connect
from hessian_common.crypto import decrypt_vector
from hessian_common.data import Preprocessor, load_file
from hessian_common.errors import ChainUnavailable, DataError
from hessian_common.journal import Journal, JournalError, State, retry_pending
from hessian_common.learning.spec import UpdateBlob
from hessian_common.learning.updates import build_update
from tests.fixtures.procs import free_port
from tests.owner.world import OTHER, as_owner, open_model, prepare


def _model(owner_repo, owner_store, lender):
    return owner.get_model(owner_repo, owner_store, lender.model_id)


def test_list_open_models(owner_repo, owner_store, lender):
    [m] = owner.list_open_models(owner_repo, owner_store)
    assert (m.model_id, m.name, m.metric, m.mechanism) == (
        lender.model_id,
        "Prime personal loans 2026",
        "AUC",
        "IMPROVEMENT",
    )
    assert m.remaining == m.bounty == 5 * 10**18 and m.deposit == 10**16
    assert m.current_score == m.initial_score < m.target_score
    assert m.is_open and m.usable and m.spec_error is None
    assert m.model_cid is None and m.spec_cid == lender.spec_cid
    assert m.rule == "newton" and m.schema_name == "lending_club" and m.n_features == m.spec.dim


def test_model_with_a_missing_spec_is_listed_but_unusable(owner_repo, owner_store, lender):
    for p in owner_store.root.rglob(lender.spec_cid):
        p.unlink()
    [m] = owner.list_open_models(owner_repo, owner_store)
    assert m.spec is None and not m.usable
    assert lender.spec_cid in m.spec_error


def test_validation_report(owner_repo, owner_store, lender, owner_split):
    m = _model(owner_repo, owner_store, lender)
    path = owner_split / "owner_01.csv"
    report = owner.validate_for_model(path, m.spec, label="mine.csv")
    data = load_file(path, "lending_club")
    assert (report.rows, report.defaults) == (data.rows, data.defaults)
    assert report.excluded == data.excluded and report.excluded_total > 0
    assert report.digest == "0x" + data.digest().hex()
    assert report.source == "mine.csv" and report.schema_name == "lending_club"
    assert 0 < report.default_rate < 0.5
    assert report.to_dict()["rows"] == data.rows


def test_update_decrypts_to_the_plaintext_rule(owner_repo, owner_store, lender, owner_split):
    """enc(w') = P·enc(w) + q: decrypting the blob gives P·w0 + q of the owner's data."""
    m = _model(owner_repo, owner_store, lender)
    report = owner.validate_for_model(owner_split / "owner_02.csv", m.spec)
    current, base = owner.current_weights(owner_store, m)
    assert base == m.spec_cid
    steps = []
    blob = prepare(
        owner_repo, m, current, report.data, base, progress=lambda **kw: steps.append(kw)
    )
    assert isinstance(blob, UpdateBlob) and blob.rows == report.rows
    # signed by the owner, for this chain, contract and model
    assert blob.signer() == blob.owner == owner_repo.client.address
    assert (blob.chain_id, blob.contract) == (owner_repo.client.chain_id, owner_repo.address)
    assert "0x" + blob.dataset_digest == report.digest
    assert blob.base_model_cid == m.spec_cid
    X = Preprocessor.from_dict(m.spec.preprocessing).transform(report.data.features)
    # Newton: the owner weighs its rows against the rows the model holds (seed + accepted)
    assert m.spec.seed_rows > 0 and m.accepted_rows == 0
    rows_held = {"model_rows": m.spec.seed_rows}
    expected = build_update("newton", X, report.data.y, rows_held).apply(
        decrypt_vector(lender.sk, m.spec.weights)
    )
    np.testing.assert_allclose(decrypt_vector(lender.sk, blob.weights), expected, atol=1e-9)
    assert steps[-1]["done"] == 4
    # round trip through the store format the lender reads
    assert UpdateBlob.from_bytes(blob.to_bytes(), m.spec).rows == blob.rows


def test_share_then_replay_is_refused(journal, owner_repo, owner_store, lender, owner_split):
    me, account = owner_repo.client.address, owner_repo.client.account
    path = owner_split / "owner_02.csv"
    e = owner.share(
        journal, owner_store, owner_repo, model=lender.model_id, path=path, account=account
    )
    assert e.state is State.PUBLISHED and e.update_id == 1 and e.tx_hash.startswith("0x")
    assert owner_store.has(e.cid)
    check = owner.already_submitted(journal, owner_repo, lender.model_id, e.digest, me)
    assert check.blocked and check.journal_entry.id == e.id and check.on_chain_update == 1
    with pytest.raises(DataError, match="already submitted"):
        owner.share(
            journal, owner_store, owner_repo, model=lender.model_id, path=path, account=account
        )
    with pytest.raises(JournalError, match="already has a submission"):
        owner.submit(
            journal, owner_store, owner_repo, model_id=lender.model_id,
            blob_bytes=b"x", digest=e.digest, rows=1, owner=me, deposit=0,
        )  # fmt: skip
    assert owner_repo.model(lender.model_id).submission_count == 1


def test_same_data_from_another_account_does_not_block_mine(
    journal, chain_repo, owner_repo, owner_store, lender, owner_split, tmp_path
):
    """Replays are per (model, owner, digest): a copier's submission of my digest (e.g. read
    from my pending transaction) does not keep my own submission off the chain."""
    path = owner_split / "owner_02.csv"
    other = as_owner(chain_repo, OTHER)
    other_journal = Journal(tmp_path / "other.sqlite")
    owner.share(
        other_journal, owner_store, other, model=lender.model_id, path=path,
        account=other.client.account,
    )  # fmt: skip
    me = owner_repo.client.address
    digest = owner.validate_for_model(path, lender.spec).digest
    check = owner.already_submitted(journal, owner_repo, lender.model_id, digest, me)
    assert not check.blocked
    e = owner.share(
        journal, owner_store, owner_repo, model=lender.model_id, path=path,
        account=owner_repo.client.account,
    )  # fmt: skip
    assert e.state is State.PUBLISHED and e.update_id == 2


def _prepared(journal, owner_repo, owner_store, lender, owner_split, name="owner_02.csv"):
    """Compute an update and hand it to submit() with the given store/repo (see callers)."""
    m = _model(owner_repo, owner_store, lender)
    report = owner.validate_for_model(owner_split / name, m.spec)
    current, base = owner.current_weights(owner_store, m)
    blob = prepare(owner_repo, m, current, report.data, base)
    return m, report, blob.to_bytes()


def test_store_down_waits_in_the_journal_then_lands_once(
    journal, owner_repo, owner_store, lender, owner_split, tmp_path
):
    """Chain first: with the store down the submission goes on chain, and the blob waits in
    the journal until the store takes it (the lender waits for it within its grace period)."""
    me = owner_repo.client.address
    m, report, blob = _prepared(journal, owner_repo, owner_store, lender, owner_split)
    # the store's disk goes away: its directory is replaced by a plain file
    moved = tmp_path / "store-away"
    shutil.move(owner_store.root, moved)
    owner_store.root.write_bytes(b"not a directory")
    e = owner.submit(
        journal, owner_store, owner_repo, model_id=m.model_id, blob_bytes=blob,
        digest=report.digest, rows=report.rows, owner=me, deposit=m.deposit,
    )  # fmt: skip
    assert e.state is State.CONFIRMED and e.waiting_on == "store" and e.attempts == 1
    assert "store" in e.last_error
    assert owner.local_status(e) == "waiting_store"
    assert owner_repo.model(m.model_id).submission_count == 1  # on chain, by its CID
    assert owner_repo.submission(e.update_id).update_cid == e.cid
    # still down: another attempt, still waiting, counted
    [e] = retry_pending(journal, owner_store, owner_repo)
    assert e.state is State.CONFIRMED and e.attempts == 2
    # the store is back
    owner_store.root.unlink()
    shutil.move(moved, owner_store.root)
    [e] = retry_pending(journal, owner_store, owner_repo)
    assert e.state is State.PUBLISHED and e.update_id == 1
    assert owner_store.get(e.cid) == blob
    assert retry_pending(journal, owner_store, owner_repo) == []  # nothing left to do
    assert owner_repo.model(m.model_id).submission_count == 1


def test_chain_down_waits_then_lands_once(journal, owner_repo, owner_store, lender, owner_split):
    """A node that does not answer (nothing listens on the port) -> waits with the CID known."""
    me = owner_repo.client.address
    m, report, blob = _prepared(journal, owner_repo, owner_store, lender, owner_split)
    dead = f"http://127.0.0.1:{free_port()}"
    e = owner.submit(
        journal, owner_store, lambda: connect(dead, timeout=2), model_id=m.model_id,
        blob_bytes=blob, digest=report.digest, rows=report.rows, owner=me, deposit=m.deposit,
    )  # fmt: skip
    assert e.state is State.PREPARED and e.cid and e.waiting_on == "chain"
    assert dead in e.last_error
    assert owner.local_status(e) == "waiting_chain"
    assert not owner_store.has(e.cid)  # the blob stays private until its CID is on chain
    with pytest.raises(ChainUnavailable):
        connect(dead, timeout=2)
    [e] = retry_pending(journal, owner_store, owner_repo)
    assert e.state is State.PUBLISHED
    assert owner_repo.model(m.model_id).submission_count == 1
    assert owner_repo.submission(e.update_id).update_cid == e.cid


def test_crash_after_sending_does_not_send_twice(
    journal, owner_repo, owner_store, lender, owner_split
):
    """The transaction was mined but the app died before writing it down: the worker finds the
    submission by its digest (digestUsedBy) instead of sending again."""
    me = owner_repo.client.address
    m, report, blob = _prepared(journal, owner_repo, owner_store, lender, owner_split)
    entry = journal.add(
        model_id=m.model_id, owner=me, digest=report.digest, rows=report.rows, blob=blob,
        deposit=m.deposit,
    )  # fmt: skip
    update_id = owner_repo.submit_update(m.model_id, entry.cid, report.digest, report.rows)
    journal.mark_sent(entry.id, "0x" + "00" * 32)  # "crash"; even a wrong hash is fine
    [e] = retry_pending(journal, owner_store, owner_repo)
    assert e.state is State.PUBLISHED and e.update_id == update_id
    assert owner_repo.model(m.model_id).submission_count == 1


def test_contract_refusal_fails_for_good(journal, owner_repo, owner_store, lender, owner_split):
    me = owner_repo.client.address
    m, report, blob = _prepared(journal, owner_repo, owner_store, lender, owner_split)
    lender.repo.close_model(m.model_id)
    with pytest.raises(DataError, match="closed"):
        owner.share(
            journal, owner_store, owner_repo, model=m.model_id,
            path=owner_split / "owner_02.csv", account=owner_repo.client.account,
        )  # fmt: skip
    assert journal.entries() == []  # refused before anything was written
    e = owner.submit(
        journal, owner_store, owner_repo, model_id=m.model_id, blob_bytes=blob,
        digest=report.digest, rows=report.rows, owner=me, deposit=m.deposit,
    )  # fmt: skip
    assert e.state is State.FAILED and "ModelNotOpen" in e.last_error
    assert owner.local_status(e) == "failed"
    assert retry_pending(journal, owner_store, owner_repo) == []


def test_my_submissions_and_rewards(journal, owner_repo, owner_store, lender, owner_split):
    me = owner_repo.client.address
    e = owner.share(
        journal, owner_store, owner_repo, model=lender.model_id,
        path=owner_split / "owner_02.csv", account=owner_repo.client.account,
    )  # fmt: skip
    [s] = owner.my_submissions(journal, owner_repo, me)
    assert s.status == "waiting_evaluation" and s.status_label == "Waiting for evaluation"
    accepted, _score = lender.evaluate(e.update_id)
    assert accepted
    [s] = owner.my_submissions(journal, owner_repo, me)
    assert s.status == "accepted" and s.reward > 0
    assert s.score_before == lender.repo.model(lender.model_id).initial_score
    assert s.score_change == s.new_score - s.score_before > 0
    # without the chain and no record of what it said: on chain, status unknown (not a guess)
    [s] = owner.my_submissions(journal, None, me)
    assert s.status == "unknown" and s.status_label == "On chain, status unknown"

    summary = owner.account_summary(owner_repo, me)
    assert summary.pending == s.entry.deposit + owner_repo.submission(e.update_id).reward
    assert owner.withdraw(owner_repo) == summary.pending
    with pytest.raises(DataError, match="nothing to withdraw"):
        owner.withdraw(owner_repo)
    # an owner claims only its own shares (the rule was in the page before)
    other = as_owner(owner_repo, OTHER)
    for claim in (owner.claim_share, owner.claim_forfeit):
        with pytest.raises(DataError, match=f"update #{e.update_id} is not yours"):
            claim(other, e.update_id)


def test_my_submissions_show_the_last_known_status_while_the_chain_is_down(
    journal, owner_repo, owner_store, lender, owner_split, tmp_path
):
    from hessian_common.owner.status_cache import StatusCache

    me = owner_repo.client.address
    cache = StatusCache(tmp_path / "status_cache.sqlite", clock=lambda: 1_800_000_000.0)
    entries = {
        name: owner.share(
            journal, owner_store, owner_repo, model=lender.model_id,
            path=owner_split / name, account=owner_repo.client.account,
        )
        for name in ("owner_02.csv", "owner_03.csv", "owner_04.csv")
    }  # fmt: skip
    accepted, _ = lender.evaluate(entries["owner_02.csv"].update_id)
    assert accepted
    score = lender.repo.model(lender.model_id).current_score
    lender.repo.evaluate_update(entries["owner_03.csv"].update_id, False, score - 1000, "")
    live = {s.entry.id: s for s in owner.my_submissions(journal, owner_repo, me, cache)}
    assert all(not s.last_known for s in live.values())
    # the chain goes away: every status is the one last read, with when it was read
    down = {s.entry.id: s for s in owner.my_submissions(journal, None, me, cache)}
    for entry_id, s in down.items():
        assert s.known_at == 1_800_000_000.0 and s.last_known
        assert (s.status, s.reward, s.new_score, s.score_before) == (
            live[entry_id].status,
            live[entry_id].reward,
            live[entry_id].new_score,
            live[entry_id].score_before,
        )
    statuses = sorted(s.status for s in down.values())
    assert statuses == ["accepted", "rejected", "waiting_evaluation"]


def test_entry_of_another_account_is_not_sent_by_this_one(
    journal, chain_repo, owner_repo, owner_store, lender, owner_split
):
    """If the app is restarted with another account, the journal waits instead of sending
    someone else's submission (and deposit) from the wrong address."""
    m, report, blob = _prepared(journal, owner_repo, owner_store, lender, owner_split)
    other = as_owner(chain_repo, OTHER)
    e = owner.submit(
        journal, owner_store, other, model_id=m.model_id, blob_bytes=blob,
        digest=report.digest, rows=report.rows, owner=owner_repo.client.address,
        deposit=m.deposit,
    )  # fmt: skip
    assert e.state is State.PREPARED and "belongs to" in e.last_error
    assert owner_repo.model(m.model_id).submission_count == 0
    [e] = retry_pending(journal, owner_store, owner_repo)
    assert e.state is State.PUBLISHED
    assert owner_repo.submission(e.update_id).owner == owner_repo.client.address


def test_rows_already_sent_are_refused_before_anything_is_written(
    journal, chain_repo, owner_repo, owner_store, owner_split, tmp_path
):
    """Slices and repeats of a file this owner already submitted add nothing: refused here
    from the journal's pseudonyms (and by the lender from the sealed ones, see the company
    tests)."""
    from hessian_common.crypto.sealing import new_application_key

    _private, public = new_application_key()
    m_lender = open_model(chain_repo, owner_store, owner_split, row_key=public)
    account = owner_repo.client.account
    path = owner_split / "owner_01.csv"
    first = owner.share(
        journal, owner_store, owner_repo, model=m_lender.model_id, path=path, account=account
    )
    assert first.state is State.PUBLISHED
    lines = path.read_text().splitlines()
    header, body = lines[0], lines[1:]
    # a slice of the same file, and the file twice over: both mostly rows already sent
    half = tmp_path / "slice.csv"
    half.write_text("\n".join([header, *body[: len(body) // 2]]) + "\n")
    twice = tmp_path / "twice.csv"
    twice.write_text("\n".join([header, *body, *body]) + "\n")
    for p in (half, twice):
        with pytest.raises(DataError, match="repeat rows"):
            owner.share(
                journal, owner_store, owner_repo, model=m_lender.model_id, path=p,
                account=account,
            )  # fmt: skip
    assert owner_repo.model(m_lender.model_id).submission_count == 1
    # new loans are fine
    fresh = owner.share(
        journal, owner_store, owner_repo, model=m_lender.model_id,
        path=owner_split / "owner_02.csv", account=account,
    )  # fmt: skip
    assert fresh.state is State.PUBLISHED


def test_one_click_sends_one_transaction(
    journal, owner_repo, owner_store, lender, owner_split
):
    """The web request and the background worker run retry_pending on the same entry at the
    same time: the lease lets one of them send; exactly one transaction leaves the account."""
    me = owner_repo.client.address
    m, report, blob = _prepared(journal, owner_repo, owner_store, lender, owner_split)
    entry = journal.add(
        model_id=m.model_id, owner=me, digest=report.digest, rows=report.rows, blob=blob,
        deposit=m.deposit,
    )  # fmt: skip
    w3 = owner_repo.client.w3
    nonce = w3.eth.get_transaction_count(me)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            retry_pending(journal, owner_store, owner_repo)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    retry_pending(journal, owner_store, owner_repo)  # whatever is left, once more
    assert errors == []
    assert w3.eth.get_transaction_count(me) == nonce + 1  # one transaction, no reverted second
    e = journal.get(entry.id)
    assert e.state is State.PUBLISHED and owner_repo.model(m.model_id).submission_count == 1


def test_a_deposit_above_the_balance_is_refused_in_eth_not_wei(
    chain_repo, owner_repo, owner_store, owner_split
):
    huge = open_model(chain_repo, owner_store, owner_split, deposit=10**6 * 10**18)
    model = owner.get_model(owner_repo, owner_store, huge.model_id)
    with pytest.raises(DataError) as err:
        owner.check_can_submit(model, owner_repo, owner_repo.client.address)
    message = str(err.value)
    assert "the submission deposit is 1,000,000.00 ETH" in message
    assert "wei" not in message and "1000000000000000000000000" not in message


def test_a_flood_mined_first_cannot_shrink_the_reserve_the_owner_was_shown(
    journal, chain_repo, owner_repo, owner_store, owner_split
):
    """The owner is shown the stale reserve of a submission made now; a flood of sock-puppet
    submissions mined ahead of its transaction would shrink it: the contract refuses, the entry
    fails with that reason in words, and the blob never reaches the store."""
    from hessian_common.chain.client import ChainClient, dev_account

    small = open_model(chain_repo, owner_store, owner_split, bounty=10**18)
    model = owner.get_model(owner_repo, owner_store, small.model_id)
    shown = model.stale_reserve
    assert shown == 10**17  # a tenth of the bounty by default
    w3 = owner_repo.client.w3
    for i in range(10):  # the flood: the bounty is then fully reserved
        puppet = chain_repo.as_account(ChainClient(w3, dev_account(3)))
        puppet.submit_update(small.model_id, "bafkreiflood", (1000 + i).to_bytes(32, "big"), 1)
    e = owner.share(
        journal, owner_store, owner_repo, model=model, path=owner_split / "owner_02.csv",
        account=owner_repo.client.account,
    )  # fmt: skip
    assert e.state is State.FAILED and "stale reserve" in e.last_error
    assert "0.10 ETH you were shown" in e.last_error and not owner_store.has(e.cid)
