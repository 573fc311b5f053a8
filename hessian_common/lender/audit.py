"""Audit a revealed model: anyone re-checks every score the lender recorded on chain.

1. the revealed test set's CID and salt hash to the commitment made at creation:
   ``keccak256(testSetCid || salt) == commitment``;
2. the store returns the test set's bytes (verified against the CID);
3. every recorded score (the initial one, and each evaluated submission's ``newScore``) is
   recomputed, ``s = metric(y_test, sigmoid(X_test · w))``, with ``w`` decrypted from the
   recorded CID (the lender, with its key) or taken from the audit bundle the lender
   published at the reveal (everyone else); it matches within :data:`AUDIT_TOLERANCE_PPM`.
   An accepted update's CID names the lender's fresh encryption of the new model and a
   rejected one's the owner's candidate; the lender scored exactly what each decrypts to
   (:mod:`hessian_common.lender.evaluate`).

The audit bundle (``hessian.audit-bundle/1``) maps each scored CID to its decrypted weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from hessian_common.errors import ConfigError, DataError, HessianError
from hessian_common.lender.testset import parse_test_set
from hessian_common.lender.views import enum_name
from hessian_common.types import from_ppm, to_ppm

if TYPE_CHECKING:
    from hessian_common.lender.state import ModelRecord
    from hessian_common.lender.workflow import Lender

AUDIT_TOLERANCE_PPM = 1
"""Recomputed and recorded scores may differ by rounding only."""

BUNDLE_FORMAT = "hessian.audit-bundle/1"


@dataclass(frozen=True)
class AuditRow:
    """One recorded score re-computed."""

    label: str
    model_cid: str
    recorded: float
    recomputed: float | None
    ok: bool


@dataclass(frozen=True)
class AuditReport:
    """Result of :func:`audit_model`."""

    model_id: int
    test_set_cid: str
    commitment_ok: bool
    test_rows: int
    rows: list[AuditRow]
    tolerance_ppm: int
    notes: list[str]
    bundle_cid: str | None = None

    @property
    def checked(self) -> int:
        return len(self.rows)

    @property
    def matched(self) -> int:
        return sum(1 for r in self.rows if r.ok)

    @property
    def ok(self) -> bool:
        """Commitment matches and every recorded score was reproduced."""
        return self.commitment_ok and self.matched == self.checked


def weights_at(store: Any, spec: Any, cid: str, spec_cid: str) -> Any:
    """The encrypted weights named by ``cid``: the spec's, an EncryptedModel's or an
    UpdateBlob's (a rejected candidate)."""
    from hessian_common.learning.spec import EncryptedModel, UpdateBlob

    if cid == spec_cid:
        return spec.weights
    raw = store.get(cid)
    try:
        return EncryptedModel.from_bytes(raw, spec).weights
    except DataError:
        return UpdateBlob.from_bytes(raw, spec).weights


def recorded_scores(
    repo: Any, model_id: int, spec_cid: str, initial_score: int = 0
) -> list[tuple[str, str, int]]:
    """``[(label, cid, recorded score ppm)]``: every score the chain records for a model.

    The initial model (the spec's weights) and each evaluated submission: its new model's
    CID if accepted, else the rejected candidate's update CID. Waiting and stale-settled
    submissions have no score.
    """
    from hessian_common.chain import SubmissionStatus

    out = [("initial model", str(spec_cid), int(initial_score))]
    for s in repo.submissions(int(model_id)):
        if s.status == SubmissionStatus.WAITING or s.stale:
            continue
        label = f"update #{s.update_id} ({enum_name(s.status)})"
        cid = str(s.new_model_cid) if s.new_model_cid else str(s.update_cid)
        out.append((label, cid, int(s.new_score)))
    return out


def audit_bundle(lender: Lender, record: ModelRecord) -> dict[str, Any]:
    """The bundle published with the reveal: decrypted weights of every scored CID."""
    from hessian_common.crypto import decrypt_vector

    books = lender.books
    sk = books.private_key(record.model_id)
    spec = books.spec(record.spec_cid)
    weights = {}
    for _label, cid, _score in recorded_scores(lender.repo, record.model_id, record.spec_cid):
        enc = weights_at(lender.store, spec, cid, record.spec_cid)
        weights[cid] = [float(v) for v in decrypt_vector(sk, enc, lender.workers)]
    return {
        "format": BUNDLE_FORMAT,
        "model_id": record.model_id,
        "contract": lender.contract,
        "chain_id": lender.chain_id,
        "weights": weights,
    }


def audit_model(
    repo: Any,
    store: Any,
    model_id: int,
    *,
    private_key: Any = None,
    bundle_cid: str | None = None,
) -> AuditReport:
    """Re-check a revealed model's recorded scores (anyone may run this; module docstring).

    Without the key, bundle weights are taken as published: this checks that the recorded
    scores are those of the published weights on the committed test set, not that those
    weights decrypt from the CIDs (that needs the key or a proof of decryption).
    """
    from hessian_common.chain import test_set_commitment
    from hessian_common.crypto import decrypt_vector
    from hessian_common.learning.metrics import score_weights
    from hessian_common.learning.spec import ModelSpec

    info = repo.model(int(model_id))
    if not info.revealed or not info.test_set_cid:
        raise ConfigError(f"model #{model_id}: the test set is not revealed yet; nothing to audit")
    notes: list[str] = []
    commitment_ok = (
        test_set_commitment(info.test_set_cid, info.test_set_salt) == info.test_set_commitment
    )
    if not commitment_ok:
        notes.append("the revealed CID and salt do not hash to the commitment")
    X, y, _ = parse_test_set(store.get(info.test_set_cid))
    spec = ModelSpec.from_bytes(store.get(info.spec_cid))
    if X.shape[1] != spec.dim:
        raise DataError(f"the test set has {X.shape[1]} features; the spec has {spec.dim}")
    bundle: dict[str, list[float]] = {}
    if private_key is None:
        if not bundle_cid:
            raise ConfigError("auditing without the private key needs the lender's audit bundle")
        raw = store.get_json(bundle_cid)
        if not isinstance(raw, dict) or raw.get("format") != BUNDLE_FORMAT:
            raise DataError(f"{bundle_cid} is not a Hessian audit bundle")
        bundle = raw.get("weights", {})

    def weights_of(cid: str) -> np.ndarray | None:
        if private_key is not None:
            return decrypt_vector(private_key, weights_at(store, spec, cid, info.spec_cid))
        if cid in bundle:
            return np.asarray(bundle[cid], dtype=float)
        return None

    rows = []
    for label, cid, recorded in recorded_scores(repo, model_id, info.spec_cid, info.initial_score):
        try:
            w = weights_of(cid)
        except HessianError as exc:
            notes.append(f"{label}: {exc}")
            w = None
        if w is None:
            rows.append(AuditRow(label, cid, from_ppm(recorded), None, False))
            continue
        finite = bool(np.all(np.isfinite(w)))
        recomputed = to_ppm(score_weights(X, y, w)[spec.metric]) if finite else 0
        ok = abs(int(recomputed) - recorded) <= AUDIT_TOLERANCE_PPM
        rows.append(AuditRow(label, cid, from_ppm(recorded), from_ppm(recomputed), ok))
    return AuditReport(
        model_id=int(model_id),
        test_set_cid=str(info.test_set_cid),
        commitment_ok=commitment_ok,
        test_rows=len(y),
        rows=rows,
        tolerance_ppm=AUDIT_TOLERANCE_PPM,
        notes=notes,
        bundle_cid=bundle_cid,
    )
