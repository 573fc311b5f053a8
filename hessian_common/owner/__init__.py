"""The data owner's workflow, UI-free: used by the data-owner app, the simulation and the tests.

A data owner

1. lists the open models (:func:`list_open_models`): chain state plus the spec from the store;
2. checks a CSV of their loans against a model's schema (:func:`validate_for_model`): usable
   rows, defaults, excluded rows by reason, problems by row and column, and the dataset digest;
3. checks the digest was not already sent to that model (:func:`already_submitted`): the
   contract refuses a digest twice per model, so this is a hard stop, not a warning to click
   through;
4. computes the encrypted update locally (:func:`prepare_update`). With the degree-1 Taylor
   sigmoid the logistic gradient is affine in ``w``::

       g(w) = A·w + b,   A = XᵀX / (4N),   b = Xᵀ(½ − y) / N

   so the spec's update rule is an affine map ``enc(w') = P·enc(w) + q`` with plaintext
   ``P``, ``q`` built from the owner's ``X``, ``y`` (``d²`` ciphertext-by-plaintext
   multiplications, whatever ``N``); the owner never decrypts anything and never sees ``w``.
   With the Newton rule the owner weighs its ``N`` rows against the ``M`` rows the model
   holds, ``M`` = the spec's ``seed_rows`` + the contract's ``acceptedRows``
   (:func:`update_params`), so each owner moves the model about ``N/(N + M)`` of the way;
   the model's curvature comes from the lender's published prior (the spec's ``prior``);
5. signs the blob with its account (it names the chain, contract, model, base version and
   owner: :meth:`~hessian_common.learning.spec.UpdateBlob.sign`), and seals the pseudonyms of
   its rows to the lender's row key, so the lender can refuse rows already in the model
   without seeing them;
6. submits through the local journal (:func:`submit`): ``submitUpdate(modelId, updateCid,
   datasetDigest, rows)`` goes on chain with the deposit, then the blob goes to the content
   store (chain first: see :mod:`hessian_common.journal`). If either is down the entry waits
   in the journal and is retried.

The raw rows never leave the machine: only the encrypted update blob (to the store), its CID,
the dataset digest and the row count (to the chain) do.

One concept per module (shaped like :mod:`hessian_common.tasks`, the lender's side); every
public name is importable from the package, so ``from hessian_common import owner;
owner.share(...)`` is how the apps and the simulation call it:

    models.py       OpenModel, list_open_models, get_model, model_names, schema_of
    check.py        ValidationReport, validate_for_model, ReplayCheck, already_submitted,
                    check_can_submit, row reuse (MIN_ROWS, ROW_REUSE_LIMIT)
    update.py       current_weights, update_params, get_ready, prepare_update (the blob)
    submit.py       submit (through the journal), share (the whole flow), resolve_repository
    submissions.py  MySubmission, my_submissions, local_status, scores_before, STATUS_LABELS
    rewards.py      OwnerAccountSummary, account_summary, withdraw, claim_share,
                    forfeit_share, claim_forfeit, check_own (claims are the owner's own)
    status_cache.py StatusCache (the last status read from the chain, for outages)
"""

from hessian_common.owner.check import (
    MIN_ROWS,
    ROW_REUSE_LIMIT,
    ReplayCheck,
    ValidationReport,
    already_submitted,
    check_can_submit,
    check_row_reuse,
    reused_rows,
    row_pseudonyms,
    validate_for_model,
)
from hessian_common.owner.models import (
    OpenModel,
    get_model,
    list_open_models,
    model_names,
    schema_of,
)
from hessian_common.owner.rewards import (
    OwnerAccountSummary,
    account_summary,
    check_own,
    claim_forfeit,
    claim_share,
    forfeit_share,
    withdraw,
)
from hessian_common.owner.status_cache import KnownStatus, StatusCache
from hessian_common.owner.submissions import (
    STATUS_LABELS,
    MySubmission,
    local_status,
    my_submissions,
    scores_before,
)
from hessian_common.owner.submit import resolve_repository, share, submit
from hessian_common.owner.update import (
    ROWS_INFO,
    current_weights,
    get_ready,
    prepare_update,
    sealed_pseudonyms,
    update_params,
)

__all__ = [
    "MIN_ROWS",
    "ROWS_INFO",
    "ROW_REUSE_LIMIT",
    "STATUS_LABELS",
    "KnownStatus",
    "MySubmission",
    "OpenModel",
    "OwnerAccountSummary",
    "ReplayCheck",
    "StatusCache",
    "ValidationReport",
    "account_summary",
    "already_submitted",
    "check_can_submit",
    "check_own",
    "check_row_reuse",
    "claim_forfeit",
    "claim_share",
    "current_weights",
    "forfeit_share",
    "get_model",
    "get_ready",
    "list_open_models",
    "local_status",
    "model_names",
    "my_submissions",
    "prepare_update",
    "resolve_repository",
    "reused_rows",
    "row_pseudonyms",
    "schema_of",
    "scores_before",
    "sealed_pseudonyms",
    "share",
    "submit",
    "update_params",
    "validate_for_model",
    "withdraw",
]
