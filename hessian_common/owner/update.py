"""Preparing an update: the encrypted, signed blob ``enc(w') = P·enc(w) + q`` computed from
the owner's rows on the model's current encrypted weights (never decrypted here)."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from hessian_common.crypto import prepare_randomisers
from hessian_common.crypto.multiexp import prepare_tables
from hessian_common.crypto.sealing import seal
from hessian_common.data import Preprocessor
from hessian_common.errors import DataError
from hessian_common.learning.prior import prior_of
from hessian_common.learning.spec import EncryptedModel, ModelSpec, UpdateBlob
from hessian_common.learning.updates import build_update
from hessian_common.owner.check import row_pseudonyms
from hessian_common.owner.models import OpenModel
from hessian_common.progress import Progress, no_progress
from hessian_common.store.base import ContentStore
from hessian_common.untrusted import MAX_BYTES, fetch


def current_weights(store: ContentStore, model: OpenModel) -> tuple[Any, str]:
    """The encrypted weights an update must build on, and their CID.

    The contract's current model CID (set by the last accepted update) if any, otherwise the
    spec's initial encrypted weights (CID: the spec's). Returns ``(EncryptedVector, cid)``.
    """
    if model.model_cid:
        raw = fetch(store, model.model_cid, what="current model", max_bytes=MAX_BYTES["model"])
        return EncryptedModel.from_bytes(raw, model.spec).weights, model.model_cid
    return model.spec.weights, model.spec_cid


def update_params(
    spec: ModelSpec, *, accepted_rows: int = 0, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The hyper-parameters of an owner's update: the spec's, the row weighting, the caller's.

    For the ``newton`` rule the owner weighs its N rows against the M rows the current model
    holds (recursive least squares, :func:`hessian_common.learning.updates.proximal_newton`)::

        M = spec.seed_rows + acceptedRows      (seed rows: 0 for specs without the field)

    where ``acceptedRows`` is the contract's count for the model (public chain state; it also
    counts submissions settled as stale, which the model did not absorb). ``M = 0`` (an old
    spec before anything was accepted) is the plain proximal step. ``params`` overrides
    everything, ``{"model_rows": 0}`` included (the plain step on purpose).

    Parameters
    ----------
    spec : ModelSpec
    accepted_rows : int
        ``acceptedRows`` of the model, read with the model CID the update builds on
        (:attr:`OpenModel.accepted_rows`).
    params : dict, optional
        The caller's overrides.
    """
    out: dict[str, Any] = dict(spec.params)
    if spec.rule == "newton":
        if accepted_rows < 0:
            raise DataError(f"accepted rows must be >= 0, got {accepted_rows}")
        out["model_rows"] = float(int(spec.seed_rows or 0) + int(accepted_rows))
    out.update(params or {})
    return out


def get_ready(spec: ModelSpec, current: Any = None) -> None:
    """Start precomputing, in background threads of this process, what the next update under
    ``spec``'s key needs and the owner's data does not decide: the ``d`` randomisers
    ``r^n mod n²`` (:func:`hessian_common.crypto.prepare_randomisers`) and, given the current
    encrypted weights ``current`` (an ``EncryptedVector``), the subset tables of its
    ciphertexts (:func:`hessian_common.crypto.multiexp.prepare_tables`). Called while the owner
    reviews a file, it takes both off the submission's critical path (``hessian bench
    update``: ``submission_s`` against ``submission_fresh_s``); if the model moves on before
    the submission, the tables do not match its weights and are simply not used."""
    prepare_randomisers(spec.public_key, spec.dim)
    if current is not None:
        prepare_tables(current.ciphertexts, spec.public_key.nsquare)


def prepare_update(
    spec: ModelSpec,
    current: Any,
    data: Any,
    *,
    model_id: int,
    base_cid: str,
    account: Any,
    chain_id: int,
    contract: str,
    params: dict[str, Any] | None = None,
    accepted_rows: int = 0,
    progress: Progress | None = None,
) -> Any:
    """Compute the signed, encrypted update blob ``enc(w') = P·enc(w) + q`` from the owner's data.

    Parameters
    ----------
    spec : ModelSpec
        Gives the preprocessing (``Preprocessor.from_dict``), the public key, the update
        rule with its hyper-parameters, the lender's curvature prior (the Newton step's
        estimate of the model's precision, :mod:`hessian_common.learning.prior`) and
        (optionally) the row key and salt.
    current : EncryptedVector
        ``enc(w)``, the weights to update (never decrypted here).
    data : LoadedData
        The owner's usable rows (from :func:`validate_for_model`).
    model_id, base_cid :
        Recorded in the blob so the lender can check what it was computed on.
    account : eth_account LocalAccount
        Signs the blob (EIP-191); must be the account that will submit it.
    chain_id, contract :
        Where it will be submitted (named in the signed blob, so it is valid nowhere else).
    params : dict, optional
        Overrides of the spec's hyper-parameters (e.g. ``{"epochs": 5}``), see
        :func:`update_params`.
    accepted_rows : int
        The contract's ``acceptedRows`` when ``current`` was the model (Newton rule: the
        update weighs the owner's rows against ``spec.seed_rows + accepted_rows``).
    progress : callable, optional
        ``progress(done=, total=, message=)``.

    Returns
    -------
    UpdateBlob
        Signed; with ``rows_sealed`` when the spec has a row key.
    """
    report = progress or no_progress
    report(done=0, total=4, message="preprocessing with the model's parameters")
    X = Preprocessor.from_dict(spec.preprocessing).transform(data.features)
    y = data.y
    report(done=1, message=f"building the {spec.rule} update from {len(y)} rows (plaintext)")
    rule_params = update_params(spec, accepted_rows=accepted_rows, params=params)
    update = build_update(spec.rule, X, y, rule_params, prior=prior_of(spec))
    d = X.shape[1]
    report(done=2, message=f"applying it to the encrypted weights ({d}×{d} products)")
    enc_new = update.apply_encrypted(current)
    report(done=3, message="sealing the row pseudonyms, signing the encrypted update")
    blob = UpdateBlob(
        model_id=int(model_id),
        base_model_cid=str(base_cid),
        weights=enc_new,
        rows=len(y),
        dataset_digest=data.digest().hex(),
        rule=spec.rule,
        chain_id=int(chain_id),
        contract=Web3.to_checksum_address(contract),
        owner=Web3.to_checksum_address(account.address),
        rows_sealed=sealed_pseudonyms(spec, data),
    ).sign(account)
    report(done=4, message="encrypted update ready")
    return blob


def sealed_pseudonyms(spec: ModelSpec, data: Any) -> str:
    """The rows' pseudonyms concatenated and sealed to the spec's ``row_key`` (hex; empty if
    the spec has no row key)."""
    pseudonyms = row_pseudonyms(spec, data)
    if pseudonyms is None or not getattr(spec, "row_key", None):
        return ""
    return seal(bytes.fromhex(spec.row_key), b"".join(pseudonyms), info=ROWS_INFO).hex()


ROWS_INFO = b"hessian.row-pseudonyms/1"
"""HKDF context of the sealed row pseudonyms (see :mod:`hessian_common.crypto.sealing`)."""
