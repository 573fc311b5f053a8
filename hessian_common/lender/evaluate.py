"""Evaluate a submission: fetch, check, decrypt, score on the hold-out, record the verdict.

Protocol::

    blob = store.get(updateCid);  checks: model, rows, digest, base model
    w'   = D(enc(w'))                              (the lender's Paillier key)
    w''  = round(w' · 16^13) / 16^13               (what E(w'') at exponent −13 decrypts to)
    s''  = metric(y_hold, sigmoid(X_hold · w''))
    accepted = not significantly worse than the current model on the hold-out, and the
               step from the base model consistent with the lender's own loans
               (learning room: evaluate_candidate with current_weights and step_context)
    accepted: store.put(EncryptedModel(E(w'')))   -> newModelCid, score s''
    rejected: score s' (of the candidate the update CID names)
    evaluateUpdate(updateId, accepted, score, newModelCid)

Re-encryption: an owner's update comes out at exponent ``e + P_EXPONENT`` for a model at
exponent ``e``, so publishing the candidate's own ciphertexts would lower the model's
exponent with every accepted update until fixed-point decoding overflows (about 20 updates
at ``P_EXPONENT = −12``). The lender has just decrypted ``w'``, so it publishes a fresh
``encrypt_vector(pk, w'')`` at the standard exponent (fresh randomness too): it reveals
nothing the lender did not know, and every model version starts at exponent −13. The
recorded score is always that of what the recorded CID decrypts to, so an audit
(:mod:`hessian_common.lender.audit`) recomputes it exactly.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from hessian_common.errors import ChainError, CryptoError, DataError
from hessian_common.lender.audit import weights_at
from hessian_common.lender.progress import ProgressFn, no_progress
from hessian_common.lender.state import ModelRecord
from hessian_common.lender.views import enum_name
from hessian_common.types import PPM, to_ppm

if TYPE_CHECKING:
    from hessian_common.lender.workflow import Lender

log = logging.getLogger(__name__)


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
    stats: dict[str, float] = field(default_factory=dict)
    """The acceptance rule's statistics (``learning.federated.Evaluation.stats``)."""

    @property
    def gain(self) -> float:
        """Score change against the model current when it was evaluated."""
        return self.score - self.previous_score


def waiting(repo: Any, model_ids: list[int]) -> list[int]:
    """Ids of the submissions of ``model_ids`` still waiting for evaluation, oldest first."""
    from hessian_common.chain import SubmissionStatus

    out = []
    for m in model_ids:
        out += [s.update_id for s in repo.submissions(m) if s.status == SubmissionStatus.WAITING]
    return sorted(out)


def current_version(lender: Lender, record: ModelRecord, info: Any) -> tuple[str, float]:
    """The current model CID (from the chain) and its hold-out score.

    The score comes from the local record, or is re-derived by decrypting and scoring if
    the record missed it (e.g. after a crash between ``evaluateUpdate`` and the save).
    """
    from hessian_common.crypto import decrypt_vector
    from hessian_common.learning.metrics import score_weights

    cid = str(info.model_cid)
    for v in record.versions:
        if v["model_cid"] == cid:
            return cid, float(v["score"])
    books = lender.books
    enc = weights_at(lender.store, books.spec(record.spec_cid), cid, record.spec_cid)
    w = decrypt_vector(books.private_key(record.model_id), enc, lender.workers)
    X, y = books.holdout(record.model_id)
    s = float(score_weights(X, y, w)[record.metric])
    record.versions.append(
        {"update_id": int(info.last_accepted_update_id), "model_cid": cid, "score": s}
    )
    return cid, s


def published_weights(w: Any, public_key: Any, exponent: int | None = None) -> np.ndarray:
    """``w`` rounded as ``encrypt_vector(public_key, w, exponent=exponent)`` stores it.

    ``m_i = round(w_i · 16^−e)`` (:func:`hessian_common.crypto.encode_fixed`), decoded as
    phe decodes it, ``m_i / 16^−e``: decrypting the fresh encryption gives exactly these
    floats, and rounding them again changes nothing.
    """
    from hessian_common.crypto.paillier import DEFAULT_EXPONENT, encode_fixed

    e = DEFAULT_EXPONENT if exponent is None else int(exponent)
    scale = 16**-e
    return np.array([encode_fixed(float(v), e, public_key) / scale for v in np.ravel(w)])


def evaluate_submission(
    lender: Lender, update_id: int, progress: ProgressFn | None = None
) -> EvaluationResult:
    """Fetch, check, decrypt, score on the hold-out, accept or reject, record on chain.

    Acceptance is the learning room's rule (:func:`evaluate_candidate`): the candidate's
    hold-out score must be at least ``current − tolerance``. An update that cannot be used
    (missing or malformed blob, wrong model, wrong key, rows or digest that differ from
    what was submitted on chain, a base model this model never had) is *rejected* on chain
    with the reason logged — never left waiting, so nobody is paid for garbage. A store or
    chain outage raises instead (the submission stays waiting; retry).

    Callers serialise evaluations (:class:`Lender` holds a lock).
    """
    from hessian_common.chain import SubmissionStatus, tx_hash_of
    from hessian_common.crypto import decrypt_vector, encrypt_vector
    from hessian_common.errors import BlobNotFound, StoreIntegrityError
    from hessian_common.learning.federated import evaluate_candidate, step_context
    from hessian_common.learning.metrics import score_weights
    from hessian_common.learning.spec import EncryptedModel, UpdateBlob

    step = progress or no_progress
    repo, store, books = lender.repo, lender.store, lender.books
    sub = repo.submission(int(update_id))
    if sub.status != SubmissionStatus.WAITING:
        raise ChainError(f"update #{update_id} is not waiting (it is {enum_name(sub.status)})")
    model_id = int(sub.model_id)
    record = books.record(model_id)
    info = repo.model(model_id)
    spec = books.spec(record.spec_cid)
    X, y = books.holdout(model_id)
    current_cid, current = current_version(lender, record, info)
    tolerance = float(record.params.get("tolerance", 0.0))

    step(message=f"fetching update #{update_id} from the store")
    reason, w, w_pub = None, None, None
    try:
        blob = UpdateBlob.from_bytes(store.get(sub.update_cid), spec)
    except (BlobNotFound, StoreIntegrityError, DataError, CryptoError) as exc:
        reason = f"unusable update blob {sub.update_cid}: {exc}"
    else:
        known = {v["model_cid"] for v in record.versions} | {current_cid}
        if blob.model_id != model_id:
            reason = f"the update is for model #{blob.model_id}, not #{model_id}"
        elif blob.rows != int(sub.rows):
            reason = f"the blob says {blob.rows} rows, the chain {sub.rows}"
        elif blob.dataset_digest != bytes(sub.dataset_digest).hex():
            reason = "the blob's dataset digest differs from the one on chain"
        elif blob.base_model_cid not in known:
            reason = f"base model {blob.base_model_cid} is not a version of this model"
    if reason is None:
        step(message=f"decrypting update #{update_id}")
        try:
            w = decrypt_vector(books.private_key(model_id), blob.weights, lender.workers)
            w_pub = published_weights(w, spec.public_key)
        except CryptoError as exc:
            reason = f"cannot decrypt the update: {exc}"

    stats: dict[str, float] = {}
    if reason is not None:
        accepted, new_score = False, float("nan")
    else:
        step(message=f"scoring update #{update_id} on the hold-out")
        key = books.private_key(model_id)
        cur_enc = weights_at(store, spec, current_cid, record.spec_cid)
        w_cur = w_base = decrypt_vector(key, cur_enc, lender.workers)
        if blob.base_model_cid != current_cid:
            base_enc = weights_at(store, spec, blob.base_model_cid, record.spec_cid)
            w_base = decrypt_vector(key, base_enc, lender.workers)
        rows_at_base = _accepted_rows_at(repo, record, info, blob.base_model_cid)
        ctx = step_context(spec, w_base, blob.rows, (spec.seed_rows or 0) + rows_at_base)
        verdict = evaluate_candidate(
            w_pub, X, y, current, record.metric, tolerance, current_weights=w_cur, step=ctx
        )
        accepted, new_score, reason = verdict.accepted, verdict.score, verdict.reason
        stats = dict(verdict.stats)
        if not accepted and not np.array_equal(w, w_pub):
            new_score = float(score_weights(X, y, w)[record.metric])  # what audit decrypts

    new_cid = ""
    if accepted:
        step(message="re-encrypting and publishing the new model")
        fresh = encrypt_vector(spec.public_key, w_pub, workers=lender.workers)
        model = EncryptedModel(fresh, version=len(record.versions))
        new_cid = str(store.put(model.to_bytes()))
        store.pin(new_cid)
    score_ppm = int(to_ppm(new_score)) if math.isfinite(new_score) else 0
    score_ppm = max(0, min(PPM, score_ppm))
    step(message=f"recording the verdict on chain ({'accept' if accepted else 'reject'})")
    receipt = repo.evaluate_update(int(update_id), accepted, score_ppm, new_cid)
    result = EvaluationResult(
        update_id=int(update_id),
        model_id=model_id,
        accepted=accepted,
        score=new_score if math.isfinite(new_score) else 0.0,
        previous_score=current,
        model_cid=new_cid or None,
        reason=reason,
        tx=tx_hash_of(receipt),
        stats=stats,
    )
    record.evaluations.append(asdict(result))
    if accepted:
        record.versions.append(
            {"update_id": int(update_id), "model_cid": new_cid, "score": new_score}
        )
        record.current_model_cid, record.current_score = new_cid, new_score
    books.save(record)
    log.info(
        "update %s of model %s: %s (%s)",
        update_id,
        model_id,
        "accepted" if accepted else "rejected",
        reason,
    )
    return result


def _accepted_rows_at(repo: Any, record: ModelRecord, info: Any, base_cid: str) -> int:
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
    lender: Lender, model_id: int | None = None, progress: ProgressFn | None = None
) -> list[EvaluationResult]:
    """Evaluate every waiting submission (of ``model_id``, or of all the lender's models),
    oldest first, so each is scored against the model its predecessors made."""
    step = progress or no_progress
    ids = lender.waiting(model_id)
    step(done=0, total=len(ids), message=f"{len(ids)} waiting")
    out = []
    for i, update_id in enumerate(ids):
        step(done=i, message=f"evaluating update #{update_id} ({i + 1} of {len(ids)})")
        out.append(lender.evaluate_submission(update_id))
        verdict = "accepted" if out[-1].accepted else "rejected"
        step(done=i + 1, message=f"#{update_id} {verdict} at {out[-1].score:.4f}")
    return out
