"""Post a training task: split the lender's data, fit, encrypt, publish, commit, escrow.

Protocol::

    data -> seed / private hold-out                     (stratified split, split_indices)
    Preprocessor.fit(seed);  X = transform(.)           (column 0 is the intercept)
    prior = feature second moments of seed, seed ∪ hold-out (never labels), ridge
    w0 = argmin Taylor loss on (X_seed, y_seed) under the prior   (learning: initial_model)
    s0 = metric(y_hold, sigmoid(X_hold · w0))           (initial score, must be < target)
    (pk, sk) = Paillier keys;  enc(w0), the prior and the seed row count in the model spec
    (rk, RK) = X25519 row key; RK and a row salt in the spec (owners seal row pseudonyms to RK)
    commitment = keccak256(testSetCid || salt)          (commit now, reveal after close)
    createModel(specCid, commitment, terms) + bounty    (terms: metric, s0, target, minimum
                                                         paid gain, deadline, windows, deposit,
                                                         max rows, stale reward)
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import TYPE_CHECKING

import numpy as np

from hessian_common.chain import Mechanism, Metric, test_set_commitment
from hessian_common.crypto import encrypt_vector, generate_keypair
from hessian_common.crypto.sealing import new_application_key
from hessian_common.data import Preprocessor, load_bytes, load_file
from hessian_common.errors import ChainError, ContractRevert, DataError, TaskInputError
from hessian_common.learning.acceptance import AcceptanceRule
from hessian_common.learning.metrics import paid_gain_floor, score_weights
from hessian_common.learning.prior import initial_model
from hessian_common.learning.spec import ModelSpec
from hessian_common.progress import Progress, no_progress
from hessian_common.store import cid_of
from hessian_common.tasks.params import METRIC_LABELS, MIN_PART_ROWS, TaskParams
from hessian_common.tasks.state import ModelRecord
from hessian_common.tasks.testset import split_indices, test_set_bytes
from hessian_common.types import to_ppm

if TYPE_CHECKING:
    from hessian_common.tasks.context import TaskContext

log = logging.getLogger(__name__)

STEPS = 8


def create_task(
    ctx: TaskContext, params: TaskParams, progress: Progress | None = None
) -> ModelRecord:
    """Post a training task for ``lender``; see the module docstring for the steps.

    Everything that can be checked is checked before anything is written or sent
    (:class:`TaskInputError` with one message per field, including a target not above the
    initial score and a bounty above the balance). The sealed key, the hold-out and the
    salt are written to a pending directory *before* ``createModel`` is sent, so a crash
    after the transaction never loses the key; the directory is renamed to the model id
    when the transaction is mined, or deleted when it fails.

    Returns
    -------
    ModelRecord
        The local record of the new model (``model_id`` from the ``ModelCreated`` event).
    """
    step = progress or no_progress
    client = ctx.repo.client
    now = client.block_timestamp()
    errors = params.check(balance_wei=ctx.balance(), now=max(now, int(time.time())))
    if errors:
        raise TaskInputError(errors)

    step(done=0, total=STEPS, message="reading the loan data")
    try:
        if params.data_bytes is not None:
            data = load_bytes(params.data_bytes, params.schema, source=params.data_name)
        else:
            data = load_file(params.data_path, params.schema)
    except DataError as exc:
        raise TaskInputError({"data": str(exc)}) from None
    y_all = np.asarray(data.y).astype(int)
    n_hold = round(len(y_all) * params.holdout_fraction)
    n_def = int(y_all.sum())
    if min(n_hold, len(y_all) - n_hold) < MIN_PART_ROWS or min(n_def, len(y_all) - n_def) < 4:
        raise TaskInputError(
            {
                "data": f"{data.source}: {len(y_all)} usable loans ({n_def} defaults) are "
                f"too few to split into seed data and a hold-out of at least "
                f"{MIN_PART_ROWS} loans each with both outcomes"
            }
        )
    seed_idx, hold_idx = split_indices(y_all, params.holdout_fraction, params.split_seed)

    step(done=1, message="fitting the preprocessing on the seed data")
    seed_features = data.features.iloc[seed_idx].reset_index(drop=True)
    hold_features = data.features.iloc[hold_idx].reset_index(drop=True)
    pre = Preprocessor(params.schema).fit(seed_features, y_all[seed_idx])
    X_seed, X_hold = pre.transform(seed_features), pre.transform(hold_features)
    y_seed, y_hold = y_all[seed_idx], y_all[hold_idx]
    names = list(pre.feature_names_)

    step(done=2, message="training the initial model")
    rule_params = params.rule_params()
    w0, prior = initial_model(X_seed, y_seed, X_hold, l2=float(rule_params.get("l2", 1e-4)))
    initial = float(score_weights(X_hold, y_hold, w0)[params.metric])
    if to_ppm(params.target) <= to_ppm(initial):
        raise TaskInputError(
            {
                "target": f"the initial model already scores {initial:.4f} "
                f"({METRIC_LABELS[params.metric]}) on the hold-out; choose a target above it"
            }
        )
    min_gain = params.min_gain
    if min_gain is None:
        min_gain = paid_gain_floor(y_hold, initial, params.metric)
    if to_ppm(min_gain) >= to_ppm(params.target) - to_ppm(initial):
        raise TaskInputError(
            {
                "min_gain": f"the minimum paid gain ({min_gain:.4f}) must be below target − "
                f"initial score ({params.target - initial:.4f})"
            }
        )

    step(done=3, message=f"generating a {params.key_size}-bit Paillier key")
    pk, sk = generate_keypair(int(params.key_size))

    step(done=4, message="encrypting the initial weights")
    enc_w0 = encrypt_vector(pk, w0, workers=ctx.workers)
    row_private, row_public = new_application_key()
    spec = ModelSpec(
        name=params.name.strip(),
        schema_name=pre.schema_.name,
        schema=pre.schema_.to_dict(),
        preprocessing=pre.to_dict(),
        public_key=pk,
        weights=enc_w0,
        feature_names=names,
        rule=params.update_rule,
        params=rule_params,
        metric=params.metric,
        seed_rows=len(seed_idx),
        row_key=row_public.hex(),
        row_salt=secrets.token_bytes(32).hex(),
        prior=prior.to_dict(),
        acceptance=AcceptanceRule("paired", float(params.tolerance)).to_dict(),
    )

    step(done=5, message="committing to the hold-out")
    test_bytes = test_set_bytes(X_hold, y_hold, names)
    test_cid = str(cid_of(test_bytes))
    salt = secrets.token_bytes(32)
    commitment = test_set_commitment(test_cid, salt)

    step(done=6, message="publishing the model spec")
    spec_cid = str(ctx.store.put(spec.to_bytes()))
    ctx.store.pin(spec_cid)

    record = ModelRecord(
        model_id=0,
        name=params.name.strip(),
        chain_id=ctx.chain_id,
        contract=ctx.contract,
        spec_cid=spec_cid,
        initial_model_cid=spec_cid,
        current_model_cid=spec_cid,
        metric=params.metric,
        initial_score=initial,
        current_score=initial,
        target=float(params.target),
        test_set_cid=test_cid,
        commitment="0x" + commitment.hex(),
        params=params.public_dict(),
        feature_names=names,
        seed_rows=len(seed_idx),
        holdout_rows=len(hold_idx),
        versions=[{"update_id": 0, "model_cid": spec_cid, "score": initial}],
    )
    pending = ctx.books.write_pending(spec_cid, sk, test_bytes, salt, record, row_private)

    step(done=7, message="sending createModel with the bounty")
    try:
        model_id = ctx.repo.create_model(
            spec_cid,
            bounty=int(params.bounty_wei),
            initial_score=int(to_ppm(initial)),
            target_score=int(to_ppm(params.target)),
            deadline=int(params.deadline),
            evaluation_window=int(params.evaluation_window),
            test_set_commitment=commitment,
            metric=Metric.AUC if params.metric == "auc" else Metric.ACCURACY,
            mechanism=Mechanism[params.mechanism.upper()],
            submission_deposit=int(params.deposit_wei),
            min_gain=int(to_ppm(min_gain)),
            reveal_window=int(params.reveal_window),
            max_rows=int(params.max_rows),
            stale_reward=params.stale_reward,
        )
    except (ContractRevert, ChainError) as exc:
        if isinstance(exc, ContractRevert) or not _maybe_sent(exc):
            ctx.books.discard_pending(pending)
        raise
    record.model_id = int(model_id)
    ctx.books.commit_pending(pending, record, sk, (X_hold, y_hold), spec)
    step(done=STEPS, message=f"model #{model_id} created")
    log.info("created model %s (spec %s) with initial score %.4f", model_id, spec_cid, initial)
    return record


def _maybe_sent(exc: BaseException) -> bool:
    """Whether a failed send may still have reached the chain (a timeout waiting for the
    receipt): then the pending directory with the key is kept."""
    return "timeout" in str(exc).lower() or "timed out" in str(exc).lower()
