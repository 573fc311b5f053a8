"""The end of a model: close, reveal the committed test set, reclaim, withdraw.

Order on chain: ``closeModel`` (by the lender at any time, by anyone after the deadline, or
by reaching the target) -> every waiting submission evaluated (or settled as stale) ->
``revealTestSet(modelId, testSetCid, salt, transcriptCid)`` before the reveal deadline,
checked by the contract against ``keccak256(testSetCid || salt)`` -> ``reclaim`` (only once
revealed) credits the unallotted bounty -> ``withdraw`` pays it out. A lender that misses the
reveal deadline forfeits what remains to the submitters (``claimForfeit``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hessian_common.chain import ModelStatus, test_set_commitment
from hessian_common.errors import ConfigError, CryptoError
from hessian_common.store import cid_of
from hessian_common.tasks.audit import decryption_transcript
from hessian_common.types import CID, Wei

if TYPE_CHECKING:
    from hessian_common.tasks.context import TaskContext


def close(ctx: TaskContext, model_id: int) -> None:
    """Close one of the lender's models to new submissions (``closeModel``)."""
    ctx.books.record(model_id)
    ctx.repo.close_model(int(model_id))


def reclaim(ctx: TaskContext, model_id: int) -> Wei:
    """Credit the unallotted bounty back to the lender (then :func:`withdraw`)."""
    ctx.books.record(model_id)
    return ctx.repo.reclaim(int(model_id))


def withdraw(ctx: TaskContext) -> Wei:
    """Withdraw the lender's pending credit (reclaimed bounty)."""
    return ctx.repo.withdraw()


def reveal_test_set(ctx: TaskContext, model_id: int) -> CID:
    """Publish the hold-out and the decryption transcript, then ``revealTestSet`` on chain.

    The test set's CID must be the committed one (checked here and by the contract). The
    transcript opens every ciphertext the lender decrypted (plaintext and randomness,
    :func:`hessian_common.tasks.audit.decryption_transcript`), so anyone re-encrypts,
    compares and re-scores (:func:`hessian_common.tasks.audit.audit_model`).
    """
    books, store = ctx.books, ctx.store
    record = books.record(model_id)
    info = ctx.repo.model(int(model_id))  # chain first: nothing is published if it is down
    if info.status == ModelStatus.OPEN:
        raise ConfigError(f"model #{model_id} is still open; close it before the reveal")
    if info.revealed:
        raise ConfigError(f"model #{model_id}: the test set is already revealed")
    if info.waiting_count:
        raise ConfigError(
            f"model #{model_id}: {info.waiting_count} submission(s) still wait; evaluate them "
            "(or let them be settled) before the reveal"
        )
    if ctx.repo.client.block_timestamp() > info.reveal_deadline:
        raise ConfigError(
            f"model #{model_id}: the reveal deadline passed; what remained of the bounty is "
            "forfeited to the submitters"
        )
    data, salt = books.reveal_material(model_id)
    if test_set_commitment(record.test_set_cid, salt) != bytes(info.test_set_commitment):
        raise CryptoError(f"the local salt of model #{model_id} does not match its commitment")
    if str(cid_of(data)) != record.test_set_cid:
        raise CryptoError(
            f"the local hold-out of model #{model_id} hashes to {cid_of(data)}, "
            f"not the committed {record.test_set_cid}"
        )
    transcript = decryption_transcript(ctx, record)
    cid = str(store.put(data))
    store.pin(cid)
    transcript_cid = str(store.put_json(transcript))
    store.pin(transcript_cid)
    ctx.repo.reveal_test_set(int(model_id), cid, salt, transcript_cid)
    record.revealed = True
    record.transcript_cid = transcript_cid
    books.save(record)
    return CID(cid)
