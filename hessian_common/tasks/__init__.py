"""The lender's side of training tasks: post a task, evaluate submissions, close, reclaim,
reveal, audit.

Why ``tasks`` (this package was ``hessian_common.tasks`` until issue 14): it sat beside
:mod:`hessian_common.lending` (deploying a closed model to decide *loans*), and "lender" and
"lending" told a newcomer nothing about which one a change belongs in. A *training task* is
what the lender posts and the owners answer (the company app's "New task" page, ``TaskParams``,
``create_task``), so the room is named after it; its data owner's side is
:mod:`hessian_common.owner`. The read models that were ``views.py`` are now ``summaries.py``:
"views" is what Flask calls the apps' request handlers (``company_app/views/``).

UI-free: the company app, the CLI demo and the simulation all call this package, mostly
through the :class:`Lender` facade. One concept per module:

    params.py     TaskParams, its checks, TaskInputError
    state.py      LenderState (directory layout), ModelRecord, LocalModels (records, sealed
                  Paillier keys, hold-outs), passphrase and Ethereum account
    testset.py    split_indices, test_set_bytes / parse_test_set (what the commitment binds)
    context.py    TaskContext: what every step below takes (repo, store, books, workers,
                  the evaluation lock) instead of the facade, so imports run one way
    versions.py   weights_at, published_weights, candidate_digest (model versions)
    task.py       create_task
    evaluate.py   evaluate_submission, evaluate_all_waiting, reject_submission,
                  EvaluationResult, BlobPending
    lifecycle.py  close, reclaim, reveal_test_set, withdraw
    audit.py      decryption_transcript (the lender's), audit_model (anyone's), AuditReport
    summaries.py  ModelSummary, ModelDetail and the other read-side dataclasses
    workflow.py   Lender (the facade: holds a TaskContext, delegates to the steps)

Protocol (see ``docs/architecture.md`` and ``DESIGN.md``)::

    create_task   data -> seed / private hold-out (stratified split)
                  Preprocessor.fit(seed);  X = transform(.)  (column 0 is the intercept)
                  w0 = argmin logistic loss on (X_seed, y_seed)          (scikit-learn)
                  s0 = metric(y_hold, sigmoid(X_hold · w0))              (initial score)
                  (pk, sk) = Paillier keys;  enc(w0) published in the model spec
                  commitment = keccak256(testSetCid || salt)             (commit, reveal later)
                  createModel(specCid, commitment, terms) + bounty
    evaluate      the head of the model's queue only (the contract's order)
                  blob = store.get(updateCid): signed by the submitter, for this model
                  w' = D(enc(w'));  not a copy of anything seen;  rows not reused
                  s' = metric(y_hold, sigmoid(X_hold · w'))
                  accepted = acceptance rule (s' against the current score)
                  evaluateUpdate(updateId, accepted, reason, s', newModelCid)
    reveal        nothing waiting, before the reveal deadline:
                  store.put(test set) == testSetCid;  store.put(decryption transcript)
                  revealTestSet(modelId, testSetCid, salt, transcriptCid)
    audit         anyone: commitment, every opening re-encrypted, every score re-computed

Local state: ``$HESSIAN_HOME/company/`` by default (layout in :mod:`.state`). The passphrase
for the sealed secrets comes from ``HESSIAN_COMPANY_PASSPHRASE`` (or a prompt);
:data:`DEV_PASSPHRASE` is accepted only on local demo chains.
"""

from hessian_common.errors import TaskInputError
from hessian_common.tasks.audit import (
    AUDIT_TOLERANCE_PPM,
    AuditReport,
    AuditRow,
    audit_model,
    decryption_transcript,
)
from hessian_common.tasks.context import TaskContext
from hessian_common.tasks.evaluate import BlobPending, EvaluationResult
from hessian_common.tasks.params import (
    GAS_RESERVE_WEI,
    KEY_SIZES,
    MECHANISM_LABELS,
    MECHANISMS,
    METRIC_LABELS,
    METRICS,
    MIN_PART_ROWS,
    RULE_LABELS,
    UPDATE_RULES,
    TaskParams,
)
from hessian_common.tasks.state import (
    DEV_PASSPHRASE,
    ENV_PASSPHRASE,
    LOCAL_CHAIN_IDS,
    LenderState,
    LocalModels,
    ModelRecord,
    lender_account,
    resolve_passphrase,
)
from hessian_common.tasks.summaries import (
    HistoryPoint,
    LenderAccountSummary,
    ModelDetail,
    ModelSummary,
    OwnerRewards,
    SubmissionRow,
)
from hessian_common.tasks.testset import parse_test_set, split_indices, test_set_bytes
from hessian_common.tasks.workflow import Lender

__all__ = [
    "AUDIT_TOLERANCE_PPM",
    "DEV_PASSPHRASE",
    "ENV_PASSPHRASE",
    "GAS_RESERVE_WEI",
    "KEY_SIZES",
    "LOCAL_CHAIN_IDS",
    "MECHANISMS",
    "MECHANISM_LABELS",
    "METRICS",
    "METRIC_LABELS",
    "MIN_PART_ROWS",
    "RULE_LABELS",
    "UPDATE_RULES",
    "AuditReport",
    "AuditRow",
    "BlobPending",
    "EvaluationResult",
    "HistoryPoint",
    "Lender",
    "LenderAccountSummary",
    "LenderState",
    "LocalModels",
    "ModelDetail",
    "ModelRecord",
    "ModelSummary",
    "OwnerRewards",
    "SubmissionRow",
    "TaskContext",
    "TaskInputError",
    "TaskParams",
    "audit_model",
    "decryption_transcript",
    "lender_account",
    "parse_test_set",
    "resolve_passphrase",
    "split_indices",
    "test_set_bytes",
]
