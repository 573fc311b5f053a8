"""Evaluate a submission: fetch, check, decrypt, score on the hold-out, record the verdict.

Every evaluation ends on chain. The contract takes a model's submissions in the order they
arrived (only the head of the queue, :meth:`ModelRepository.next_in_queue`), and a submission
left waiting past the evaluation window can be settled by anyone and is paid its stale reserve;
so a blob that makes the evaluation fail must be *rejected* with a reason code, never left
waiting::

    head of the model's queue?                    else: refused here (evaluate the head first)
    raw  = store.get(updateCid, ≤ MAX_BYTES)      missing: retried until the blob grace period
                                                  ends, then Reason.UNAVAILABLE
    blob = UpdateBlob.from_bytes(raw)             safe reader; bad: Reason.MALFORMED
    signer(blob) == owner on chain == blob.owner  else Reason.WRONG_SIGNER
    chain, contract, model, rows, digest, base    else Reason.WRONG_MODEL
    w'   = D(enc(w'))                             (the lender's Paillier key) else UNDECRYPTABLE
    w''  = round(w' · 16^13) / 16^13              (what E(w'') at exponent −13 decrypts to)
    w'' seen before (a version or a candidate)    Reason.DUPLICATE_MODEL (copies gain nothing)
    pseudonyms of the rows (sealed to the row key) repeating rows already in the model
                                                  beyond ROW_REUSE_LIMIT: Reason.DUPLICATE_ROWS
    s''  = metric(y_hold, sigmoid(X_hold · w''))
    accepted = the spec's acceptance rule (learning room: evaluate_candidate): not
               significantly worse than the current model on the hold-out, and the step
               from the base model consistent with the lender's own loans; else WORSE
    accepted: store.put(EncryptedModel(E(w'')))   -> newModelCid, score s''
    rejected: score s' (of the candidate the update CID names, when it decrypted)
    evaluateUpdate(updateId, accepted, reason, score, newModelCid)

Only an outage of the lender's own side (the chain, or the store before the grace period
ends) raises instead; the submission then waits and is tried again. Any other failure to use
the blob, including an unexpected error while scoring it, is a rejection: nobody is paid for
a blob that breaks the lender.

Re-encryption: an owner's update comes out at exponent ``e + P_EXPONENT`` for a model at
exponent ``e``, so publishing the candidate's own ciphertexts would lower the model's
exponent with every accepted update until fixed-point decoding overflows (about 20 updates
at ``P_EXPONENT = −12``). The lender has just decrypted ``w'``, so it publishes a fresh
``encrypt_vector(pk, w'')`` at the standard exponent (fresh randomness too): it reveals
nothing the lender did not know, and every model version starts at exponent −13. The
recorded score is always that of what the recorded CID decrypts to, so an audit
(:mod:`hessian_common.tasks.audit`) recomputes it exactly.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from hessian_common.chain import Reason, SubmissionStatus, tx_hash_of
from hessian_common.chain.repository import ModelRepository
from hessian_common.crypto import decrypt_vector, encrypt_vector
from hessian_common.crypto.sealing import open_sealed
from hessian_common.errors import (
    BlobNotFound,
    ChainError,
    ConfigError,
    CryptoError,
    DataError,
    StoreIntegrityError,
    StoreUnavailable,
)
from hessian_common.learning.acceptance import AcceptanceRule
from hessian_common.learning.metrics import score_weights
from hessian_common.learning.spec import EncryptedModel, ModelSpec, UpdateBlob
from hessian_common.owner import ROW_REUSE_LIMIT, ROWS_INFO, reused_rows
from hessian_common.progress import Progress, no_progress
from hessian_common.tasks.state import ModelRecord
from hessian_common.tasks.versions import candidate_digest, published_weights, weights_at
from hessian_common.types import PPM, enum_name, to_ppm
from hessian_common.untrusted import MAX_BYTES, fetch

if TYPE_CHECKING:
    from hessian_common.tasks.context import TaskContext

log = logging.getLogger(__name__)

BLOB_GRACE_SHARE = 0.25
"""A blob not in the store yet is waited for during this share of the evaluation window
(counted from the submission, chain time), at most :data:`BLOB_GRACE_MAX` seconds; then the
submission is rejected as unavailable. The owner publishes the blob right after its
transaction is mined (:mod:`hessian_common.journal`), so only an owner whose store stayed
down that long loses it (and its deposit)."""

BLOB_GRACE_MAX = 3_600


class BlobPending(StoreUnavailable):
    """The head submission's blob is not in the store yet and its grace period runs: try again
    later (nothing was recorded; later submissions of the model wait behind it)."""


@dataclass
class EvaluationResult:
    """The lender's verdict on one submission, as recorded on chain."""

    update_id: int
    model_id: int
    accepted: bool
    score: float
    previous_score: float
    model_cid: str | None
    reason: str
    tx: str | None = None
    at: float = field(default_factory=time.time)
    code: int = 0
    """The reason code sent on chain (:class:`hessian_common.chain.Reason`)."""
    candidate: str | None = None
    """SHA-256 of the candidate's plaintext integers (None when it did not decrypt)."""
    stats: dict[str, float] = field(default_factory=dict)
    """The acceptance rule's statistics (``learning.federated.Evaluation.stats``)."""

    @property
    def gain(self) -> float:
        """Score change against the model current when it was evaluated."""
        return self.score - self.previous_score


def waiting(repo: ModelRepository, model_ids: list[int]) -> list[int]:
    """Ids of the submissions of ``model_ids`` still waiting for evaluation, in queue order
    (per model the contract's order is the submission order, i.e. ascending ids)."""
    out = []
    for m in model_ids:
        out += [s.update_id for s in repo.submissions(m) if s.status == SubmissionStatus.WAITING]
    return sorted(out)


def current_version(ctx: TaskContext, record: ModelRecord, info: Any) -> tuple[str, float]:
    """The current model CID (from the chain) and its hold-out score.

    The score comes from the local record, or is re-derived by decrypting and scoring if
    the record missed it (e.g. after a crash between ``evaluateUpdate`` and the save).
    """
    cid = str(info.model_cid)
    for v in record.versions:
        if v["model_cid"] == cid:
            return cid, float(v["score"])
    books = ctx.books
    enc = weights_at(ctx.store, books.spec(record.spec_cid), cid, record.spec_cid)
    w = decrypt_vector(books.private_key(record.model_id), enc, ctx.workers)
    X, y = books.holdout(record.model_id)
    s = float(score_weights(X, y, w)[record.metric])
    record.versions.append(
        {"update_id": int(info.last_accepted_update_id), "model_cid": cid, "score": s}
    )
    return cid, s


def _head_or_refuse(repo: ModelRepository, model_id: int, update_id: int) -> None:
    head = int(repo.next_in_queue(model_id))
    if head != int(update_id):
        raise ConfigError(
            f"update #{update_id} is not next: the contract takes model #{model_id}'s "
            f"submissions in the order they arrived; evaluate update #{head} first"
        )


def _grace_over(repo: ModelRepository, sub: Any, info: Any) -> bool:
    grace = min(int(info.evaluation_window * BLOB_GRACE_SHARE), BLOB_GRACE_MAX)
    return int(repo.client.block_timestamp()) > int(sub.submitted_at) + grace


@dataclass
class _Check:
    """What the checks before scoring found."""

    reason: Any = None  # Reason when the update cannot be used
    note: str = ""
    blob: Any = None
    w: Any = None
    w_pub: Any = None
    pseudonyms: list[bytes] | None = None


def _check_blob(
    ctx: TaskContext, sub: Any, info: Any, record: ModelRecord, spec: ModelSpec
) -> _Check:
    """Fetch, parse and verify the update blob; decrypt it; look for duplicates."""
    repo, books = ctx.repo, ctx.books
    model_id = int(sub.model_id)
    try:
        raw = fetch(ctx.store, sub.update_cid, what="update", max_bytes=MAX_BYTES["update"])
    except (BlobNotFound, StoreUnavailable, StoreIntegrityError) as exc:
        if not _grace_over(repo, sub, info):
            raise BlobPending(
                f"update #{sub.update_id}: its blob {sub.update_cid} is not available yet "
                f"({exc}); it is tried again until its grace period ends"
            ) from None
        return _Check(Reason.UNAVAILABLE, f"blob {sub.update_cid} not available: {exc}")
    except DataError as exc:  # UntrustedBlobError: bad CID, too large
        return _Check(Reason.MALFORMED, str(exc))
    try:
        blob = UpdateBlob.from_bytes(raw, spec)
    except (DataError, CryptoError) as exc:
        return _Check(Reason.MALFORMED, f"unusable update blob {sub.update_cid}: {exc}")

    owner = str(sub.owner).lower()
    signer = blob.signer()
    if signer is None or signer.lower() != owner or blob.owner.lower() != owner:
        return _Check(
            Reason.WRONG_SIGNER,
            f"the blob names {blob.owner} and is signed by {signer or 'nobody'}; "
            f"{sub.owner} submitted it",
            blob,
        )
    known = {v["model_cid"] for v in record.versions} | {str(info.model_cid)}
    if blob.chain_id != ctx.chain_id or blob.contract.lower() != repo.address.lower():
        note = f"the update is for chain {blob.chain_id} contract {blob.contract}"
    elif blob.model_id != model_id:
        note = f"the update is for model #{blob.model_id}, not #{model_id}"
    elif blob.rows != int(sub.rows):
        note = f"the blob says {blob.rows} rows, the chain {sub.rows}"
    elif blob.dataset_digest != bytes(sub.dataset_digest).hex():
        note = "the blob's dataset digest differs from the one on chain"
    elif blob.base_model_cid not in known:
        note = f"base model {blob.base_model_cid} is not a version of this model"
    else:
        note = ""
    if note:
        return _Check(Reason.WRONG_MODEL, note, blob)

    pseudonyms = None
    row_key = books.row_key(model_id)
    if row_key is not None:
        if not blob.rows_sealed:
            return _Check(Reason.MALFORMED, "the update carries no row pseudonyms", blob)
        try:
            packed = open_sealed(row_key, bytes.fromhex(blob.rows_sealed), info=ROWS_INFO)
        except CryptoError as exc:
            return _Check(Reason.MALFORMED, f"row pseudonyms: {exc}", blob)
        if len(packed) != 8 * blob.rows:
            return _Check(
                Reason.MALFORMED,
                f"{len(packed) // 8} row pseudonyms for {blob.rows} rows",
                blob,
            )
        pseudonyms = [packed[i : i + 8] for i in range(0, len(packed), 8)]

    try:
        w = decrypt_vector(books.private_key(model_id), blob.weights, ctx.workers)
        w_pub = published_weights(w, spec.public_key)
    except CryptoError as exc:
        return _Check(Reason.UNDECRYPTABLE, f"cannot decrypt the update: {exc}", blob)
    check = _Check(None, "", blob, w, w_pub, pseudonyms)
    seen = record.candidates.get(candidate_digest(w_pub))
    if seen is not None:
        check.reason, check.note = Reason.DUPLICATE_MODEL, f"the candidate equals {seen}"
        return check
    if pseudonyms is not None:
        reused = reused_rows(pseudonyms, books.rows_seen(model_id))
        if reused > ROW_REUSE_LIMIT * len(pseudonyms):
            check.reason = Reason.DUPLICATE_ROWS
            check.note = (
                f"{reused} of {len(pseudonyms)} rows repeat each other or rows already in the model"
            )
    return check


def evaluate_submission(
    ctx: TaskContext,
    update_id: int,
    progress: Progress | None = None,
    *,
    reject_note: str | None = None,
) -> EvaluationResult:
    """Fetch, check, decrypt, score on the hold-out, accept or reject, record on chain.

    Parameters
    ----------
    update_id : int
        Must be the head of its model's queue (``ConfigError`` otherwise, nothing done).
    reject_note : str, optional
        Reject by hand (``Reason.MANUAL``) with this note, without looking at the blob.

    Acceptance is the learning room's rule (:func:`evaluate_candidate`). An update that
    cannot be used is *rejected* on chain with its reason code (module docstring) — never
    left waiting, so nobody is paid for garbage. A chain outage, or a blob not in the store
    during its grace period (:class:`BlobPending`), raises instead: the submission stays
    waiting; retry.

    One evaluation at a time per lender (``ctx.lock``).
    """
    with ctx.lock:
        return _evaluate_submission(ctx, update_id, progress, reject_note=reject_note)


def _evaluate_submission(
    ctx: TaskContext,
    update_id: int,
    progress: Progress | None = None,
    *,
    reject_note: str | None = None,
) -> EvaluationResult:

    step = progress or no_progress
    repo, store, books = ctx.repo, ctx.store, ctx.books
    sub = repo.submission(int(update_id))
    if sub.status != SubmissionStatus.WAITING:
        raise ChainError(f"update #{update_id} is not waiting (it is {enum_name(sub.status)})")
    model_id = int(sub.model_id)
    record = books.record(model_id)
    info = repo.model(model_id)
    _head_or_refuse(repo, model_id, update_id)
    spec = books.spec(record.spec_cid)
    X, y = books.holdout(model_id)
    current_cid, current = current_version(ctx, record, info)
    _remember_version(ctx, record, current_cid)

    if reject_note is not None:
        check = _Check(Reason.MANUAL, str(reject_note).strip() or "rejected by hand")
    else:
        step(message=f"fetching and checking update #{update_id}")
        check = _check_blob(ctx, sub, info, record, spec)

    accepted, new_score, note = False, float("nan"), check.note
    stats: dict[str, float] = {}
    if check.reason is None:
        step(message=f"scoring update #{update_id} on the hold-out")
        try:
            verdict = judge(ctx, record, info, spec, check.blob, check.w_pub, current_cid, current)
            accepted, new_score, note = verdict.accepted, verdict.score, verdict.reason
            stats = dict(verdict.stats)
        except Exception as exc:  # a candidate that breaks the scoring is rejected
            log.exception("scoring update %s failed", update_id)
            check.reason, note = Reason.MALFORMED, f"the candidate cannot be scored: {exc}"
        else:
            if not accepted:
                check.reason = Reason.WORSE
    scored = (Reason.WORSE, Reason.DUPLICATE_MODEL, Reason.DUPLICATE_ROWS)
    if check.w is not None and not accepted and check.reason in scored:
        # the recorded score of a rejected candidate is that of what its CID decrypts to
        try:
            new_score = float(score_weights(X, y, check.w)[record.metric])
        except Exception:  # a candidate that breaks the scoring has no score
            new_score = float("nan")

    new_cid = ""
    if accepted:
        step(message="re-encrypting and publishing the new model")
        fresh = encrypt_vector(spec.public_key, check.w_pub, workers=ctx.workers)
        model = EncryptedModel(fresh, version=len(record.versions))
        new_cid = str(store.put(model.to_bytes()))
        store.pin(new_cid)
    score_ppm = int(to_ppm(new_score)) if math.isfinite(new_score) else 0
    score_ppm = max(0, min(PPM, score_ppm))
    code = Reason.ACCEPTED if accepted else check.reason
    step(message=f"recording the verdict on chain ({'accept' if accepted else code.label})")
    receipt = repo.evaluate_update(int(update_id), accepted, score_ppm, new_cid, code)
    digest = candidate_digest(check.w_pub) if check.w_pub is not None else None
    result = EvaluationResult(
        update_id=int(update_id),
        model_id=model_id,
        accepted=accepted,
        score=new_score if math.isfinite(new_score) else 0.0,
        previous_score=current,
        model_cid=new_cid or None,
        reason=note,
        tx=tx_hash_of(receipt),
        code=int(code),
        candidate=digest,
        stats=stats,
    )
    record.evaluations.append(asdict(result))
    if digest is not None:
        label = (
            f"model {new_cid} (update #{update_id})"
            if accepted
            else (f"update #{update_id}'s candidate")
        )
        record.candidates.setdefault(digest, label)
    if accepted:
        record.versions.append(
            {"update_id": int(update_id), "model_cid": new_cid, "score": new_score}
        )
        record.current_model_cid, record.current_score = new_cid, new_score
        if check.pseudonyms:
            books.add_rows_seen(model_id, check.pseudonyms)
    books.save(record)
    log.info(
        "update %s of model %s: %s (%s: %s)",
        update_id,
        model_id,
        "accepted" if accepted else "rejected",
        code.label,
        note,
    )
    return result


def _remember_version(ctx: TaskContext, record: ModelRecord, cid: str) -> None:
    """Make sure the current model's plaintext is among the known candidates (the initial
    model of a record written before candidates were kept, say)."""
    if any(label.startswith(f"model {cid}") for label in record.candidates.values()):
        return
    books = ctx.books
    enc = weights_at(ctx.store, books.spec(record.spec_cid), cid, record.spec_cid)
    w = decrypt_vector(books.private_key(record.model_id), enc, ctx.workers)
    record.candidates.setdefault(candidate_digest(w), f"model {cid}")


def judge(
    ctx: TaskContext,
    record: ModelRecord,
    info: Any,
    spec: ModelSpec,
    blob: Any,
    w_pub: Any,
    current_cid: str,
    current_score: float,
) -> Any:
    """The spec's acceptance rule (:class:`~hessian_common.learning.acceptance.AcceptanceRule`)
    on one decrypted candidate: against the current model's weights, and the update's base
    weights, rows and model rows for the step check."""
    books = ctx.books
    X, y = books.holdout(record.model_id)
    rule = AcceptanceRule.of(spec, float(record.params.get("tolerance", 0.0)))
    key = books.private_key(record.model_id)

    def weights(cid: str) -> Any:
        enc = weights_at(ctx.store, spec, cid, record.spec_cid)
        return decrypt_vector(key, enc, ctx.workers)

    w_cur = weights(current_cid)
    w_base = w_cur if blob.base_model_cid == current_cid else weights(blob.base_model_cid)
    model_rows = (spec.seed_rows or 0) + _accepted_rows_at(
        ctx.repo, record, info, blob.base_model_cid
    )
    return rule.judge(spec, w_pub, X, y, current_score, w_cur, w_base, blob.rows, model_rows)


def _accepted_rows_at(repo: ModelRepository, record: ModelRecord, info: Any, base_cid: str) -> int:
    """The contract's ``acceptedRows`` when ``base_cid`` was the current model (what the
    owner read with it): now, for the current model; else the rows of the accepted updates
    up to that version."""
    if base_cid == str(info.model_cid):
        return int(info.accepted_rows)
    rows = 0
    for v in record.versions:
        if v["model_cid"] == base_cid:
            return rows
        if int(v["update_id"]):
            rows += int(repo.submission(int(v["update_id"])).rows)
    return rows


def evaluate_all_waiting(
    ctx: TaskContext, model_id: int | None = None, progress: Progress | None = None
) -> list[EvaluationResult]:
    """Evaluate every waiting submission (of ``model_id``, or of all the lender's models) in
    queue order, so each is scored against the model its predecessors made. A model whose
    head blob is still pending (:class:`BlobPending`) is left for later; the others go on."""
    step = progress or no_progress
    ids = waiting(ctx.repo, [model_id] if model_id is not None else ctx.books.model_ids())
    step(done=0, total=len(ids), message=f"{len(ids)} waiting")
    out: list[EvaluationResult] = []
    blocked: set[int] = set()
    for i, update_id in enumerate(ids):
        mid = int(ctx.repo.submission(update_id).model_id)
        if mid in blocked:
            continue
        step(done=i, message=f"evaluating update #{update_id} ({i + 1} of {len(ids)})")
        try:
            out.append(evaluate_submission(ctx, update_id))
        except BlobPending as exc:
            blocked.add(mid)
            step(done=i + 1, message=str(exc))
            continue
        verdict = "accepted" if out[-1].accepted else "rejected"
        step(done=i + 1, message=f"#{update_id} {verdict} at {out[-1].score:.4f}")
    return out


def reject_submission(ctx: TaskContext, update_id: int, note: str) -> EvaluationResult:
    """Reject the head submission by hand (``Reason.MANUAL``) with ``note`` (kept in the
    lender's record and published in the audit transcript)."""
    if not str(note).strip():
        raise ConfigError("say why the submission is rejected")
    return evaluate_submission(ctx, update_id, reject_note=str(note))


__all__ = [
    "BLOB_GRACE_SHARE",
    "BlobPending",
    "EvaluationResult",
    "candidate_digest",
    "current_version",
    "evaluate_all_waiting",
    "evaluate_submission",
    "published_weights",
    "reject_submission",
    "waiting",
]
