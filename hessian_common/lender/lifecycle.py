"""The end of a model: close, reveal the committed test set, reclaim, withdraw.

Order on chain: ``closeModel`` (by the lender at any time, by anyone after the deadline, or
by reaching the target) -> ``revealTestSet(modelId, testSetCid, salt)``, checked by the
contract against ``keccak256(testSetCid || salt)`` -> ``reclaim`` (only when closed with
nothing waiting) credits the unallotted bounty -> ``withdraw`` pays it out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hessian_common.errors import ConfigError, CryptoError
from hessian_common.lender.audit import audit_bundle
from hessian_common.types import CID, Wei

if TYPE_CHECKING:
    from hessian_common.lender.workflow import Lender


def close(lender: Lender, model_id: int) -> None:
    """Close one of the lender's models to new submissions (``closeModel``)."""
    lender.books.record(model_id)
    lender.repo.close_model(int(model_id))


def reclaim(lender: Lender, model_id: int) -> Wei:
    """Credit the unallotted bounty back to the lender (then :func:`withdraw`)."""
    lender.books.record(model_id)
    return lender.repo.reclaim(int(model_id))


def withdraw(lender: Lender) -> Wei:
    """Withdraw the lender's pending credit (reclaimed bounty)."""
    return lender.repo.withdraw()


def reveal_test_set(lender: Lender, model_id: int) -> CID:
    """Publish the hold-out and an audit bundle, then ``revealTestSet`` on chain.

    The test set's CID must be the committed one (checked here and by the contract).
    The audit bundle lists the decrypted weights of every model version and candidate
    that has a recorded score, so auditors without the key can re-score them.
    """
    from hessian_common.chain import ModelStatus, test_set_commitment
    from hessian_common.store import cid_of

    books, store = lender.books, lender.store
    record = books.record(model_id)
    info = lender.repo.model(int(model_id))  # chain first: nothing is published if it is down
    if info.status == ModelStatus.OPEN:
        raise ConfigError(f"model #{model_id} is still open; close it before the reveal")
    if info.revealed:
        raise ConfigError(f"model #{model_id}: the test set is already revealed")
    data, salt = books.reveal_material(model_id)
    if test_set_commitment(record.test_set_cid, salt) != bytes(info.test_set_commitment):
        raise CryptoError(f"the local salt of model #{model_id} does not match its commitment")
    if str(cid_of(data)) != record.test_set_cid:
        raise CryptoError(
            f"the local hold-out of model #{model_id} hashes to {cid_of(data)}, "
            f"not the committed {record.test_set_cid}"
        )
    bundle = audit_bundle(lender, record)
    cid = str(store.put(data))
    store.pin(cid)
    bundle_cid = str(store.put_json(bundle))
    lender.repo.reveal_test_set(int(model_id), cid, salt)
    record.revealed = True
    record.audit_bundle_cid = bundle_cid
    books.save(record)
    return CID(cid)
