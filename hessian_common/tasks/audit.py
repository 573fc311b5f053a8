"""The decryption transcript a lender must publish, and the audit anyone runs on it.

After a model closes (nothing waiting) and before its reveal deadline, the lender reveals the
committed test set and publishes a *decryption transcript* (``hessian.audit-transcript/1``):
for the initial model and every evaluated submission, the plaintext integers and the Paillier
randomness of every ciphertext it decrypted (:mod:`hessian_common.crypto.proof`), with the
reason code and note of each verdict. Its CID goes on chain with the reveal.

:func:`audit_model` needs no key. For each model it checks:

1. the revealed test set's CID and salt hash to the commitment made at creation;
2. the initial model: the opening re-encrypts to the spec's ciphertexts and scores the
   recorded initial score on the test set;
3. every submission on chain, in queue order (stale settlements have nothing to check):

   - **proof**: the opening re-encrypts exactly to the ciphertexts of the update blob the
     owner submitted (and, for an accepted one, of the new model the lender published);
   - **weights**: the published model is the candidate rounded as the lender publishes it
     (:func:`~hessian_common.tasks.evaluate.published_weights`): no swapped weights;
   - **score**: the recorded score is the candidate's (accepted: the published model's)
     score on the test set, within :data:`AUDIT_TOLERANCE_PPM`;
   - **verdict**: the spec's acceptance rule (:class:`~hessian_common.learning.acceptance.
     AcceptanceRule`, fixed at creation) reproduces accept / reject against the current model
     of the time and the version the update was built on; a reason the auditor can check is
     checked (a "malformed" blob that parses, a "wrong signer" blob signed by the submitter,
     a "duplicate" candidate seen nowhere before); reasons it cannot check (rows reused,
     blob unavailable, rejected by hand) are reported as *unverifiable* with the lender's note.

Each submission gets a verdict ``ok``, ``mismatch`` (with the evidence) or ``unverifiable``;
the report is ``ok`` only with a valid commitment and no mismatch. A lender that lied about a
score or weight is named with the evidence (``hessian audit`` exits non-zero).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hessian_common.chain import ModelStatus, Reason, SubmissionStatus, test_set_commitment
from hessian_common.chain.repository import ModelRepository
from hessian_common.crypto.proof import Opening, open_vector, verify_opening
from hessian_common.errors import ConfigError, CryptoError, DataError, HessianError
from hessian_common.learning.acceptance import AcceptanceRule
from hessian_common.learning.metrics import score_weights
from hessian_common.learning.spec import EncryptedModel, ModelSpec, UpdateBlob
from hessian_common.store.base import ContentStore
from hessian_common.tasks.testset import parse_test_set
from hessian_common.tasks.versions import candidate_digest, published_weights, weights_at
from hessian_common.types import from_ppm, to_ppm
from hessian_common.untrusted import LIMITS, MAX_BYTES, fetch, loads_object, reading

if TYPE_CHECKING:
    from hessian_common.tasks.context import TaskContext
    from hessian_common.tasks.state import ModelRecord

AUDIT_TOLERANCE_PPM = 1
"""Recomputed and recorded scores may differ by rounding only."""

TRANSCRIPT_FORMAT = "hessian.audit-transcript/1"

OK, MISMATCH, UNVERIFIABLE = "ok", "mismatch", "unverifiable"

SCORED_REASONS = frozenset({0, 1, 7, 8})
"""Reason codes (``Reason.ACCEPTED, WORSE, DUPLICATE_MODEL, DUPLICATE_ROWS``) under which the
lender decrypted and scored the candidate: the transcript opens those, and only those."""


@dataclass(frozen=True)
class AuditRow:
    """One audited evaluation (or the initial model)."""

    label: str
    update_id: int
    model_cid: str
    status: str
    reason: str
    recorded: float | None
    recomputed: float | None
    proof: str
    """``ok`` (the opening re-encrypts to the ciphertexts), ``failed`` or ``none``."""
    verdict: str
    """``ok``, ``mismatch`` or ``unverifiable``."""
    evidence: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing wrong found (an unverifiable row is not a mismatch)."""
        return self.verdict != MISMATCH


@dataclass(frozen=True)
class AuditReport:
    """Result of :func:`audit_model`."""

    model_id: int
    lender: str
    test_set_cid: str
    transcript_cid: str
    commitment_ok: bool
    test_rows: int
    rows: list[AuditRow]
    tolerance_ppm: int
    notes: list[str]

    @property
    def checked(self) -> int:
        return len(self.rows)

    @property
    def matched(self) -> int:
        return sum(1 for r in self.rows if r.verdict == OK)

    @property
    def mismatches(self) -> list[AuditRow]:
        return [r for r in self.rows if r.verdict == MISMATCH]

    @property
    def unverifiable(self) -> int:
        return sum(1 for r in self.rows if r.verdict == UNVERIFIABLE)

    @property
    def ok(self) -> bool:
        """Commitment matches, the transcript is usable and nothing contradicts it."""
        return self.commitment_ok and not self.mismatches and not self.notes

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (what ``hessian audit --json`` prints)."""
        return {
            "model_id": self.model_id,
            "lender": self.lender,
            "ok": self.ok,
            "commitment_ok": self.commitment_ok,
            "test_set_cid": self.test_set_cid,
            "transcript_cid": self.transcript_cid,
            "test_rows": self.test_rows,
            "checked": self.checked,
            "matched": self.matched,
            "mismatches": len(self.mismatches),
            "unverifiable": self.unverifiable,
            "notes": list(self.notes),
            "rows": [
                {
                    "label": r.label,
                    "update_id": r.update_id,
                    "status": r.status,
                    "reason": r.reason,
                    "recorded": r.recorded,
                    "recomputed": r.recomputed,
                    "proof": r.proof,
                    "verdict": r.verdict,
                    "evidence": list(r.evidence),
                }
                for r in self.rows
            ],
        }


# --------------------------------------------------------------------------- the lender's side


def decryption_transcript(ctx: TaskContext, record: ModelRecord) -> dict[str, Any]:
    """The transcript published with the reveal (module docstring): every decrypted vector's
    opening, with the verdicts' reason codes and notes."""
    books, store = ctx.books, ctx.store
    sk = books.private_key(record.model_id)
    spec = books.spec(record.spec_cid)
    notes = {int(e["update_id"]): e.get("reason", "") for e in record.evaluations}
    out: list[dict[str, Any]] = []
    for s in ctx.repo.submissions(int(record.model_id)):
        if s.status == SubmissionStatus.WAITING or s.stale:
            continue
        entry: dict[str, Any] = {
            "update_id": s.update_id,
            "update_cid": str(s.update_cid),
            "reason": int(s.reason) if s.reason is not None else None,
            "note": notes.get(s.update_id, ""),
            "opening": None,
            "model_cid": str(s.new_model_cid) if s.new_model_cid else None,
            "model_opening": None,
        }
        if entry["reason"] in SCORED_REASONS:
            enc = weights_at(store, spec, str(s.update_cid), record.spec_cid)
            entry["opening"] = open_vector(sk, enc, ctx.workers).to_dict()
        if s.new_model_cid:
            enc = weights_at(store, spec, str(s.new_model_cid), record.spec_cid)
            entry["model_opening"] = open_vector(sk, enc, ctx.workers).to_dict()
        out.append(entry)
    return {
        "format": TRANSCRIPT_FORMAT,
        "chain_id": ctx.chain_id,
        "contract": ctx.contract,
        "model_id": record.model_id,
        "spec_cid": record.spec_cid,
        "acceptance": {"tolerance": float(record.params.get("tolerance", 0.0))},
        "initial": open_vector(sk, spec.weights, ctx.workers).to_dict(),
        "submissions": out,
    }


# --------------------------------------------------------------------------- anyone's audit


def parse_transcript(data: bytes, model_id: int) -> dict[str, Any]:
    """A decryption transcript (a lender's blob) for ``model_id``, structurally checked; every
    failure is an :class:`~hessian_common.errors.UntrustedBlobError`."""
    with reading("decryption transcript"):
        doc = loads_object(data, what="decryption transcript", max_bytes=MAX_BYTES["transcript"])
        if doc.get("format") != TRANSCRIPT_FORMAT:
            raise ValueError("not a Hessian decryption transcript")
        if doc.get("model_id") != model_id:
            raise ValueError(f"it is for model {doc.get('model_id')!r}, not {model_id}")
        subs = doc.get("submissions")
        if not isinstance(subs, list) or not all(isinstance(e, dict) for e in subs):
            raise ValueError("'submissions' must be a list of objects")
        if not isinstance(doc.get("initial"), dict):
            raise ValueError("'initial' must open the initial model")
        acceptance = doc.setdefault("acceptance", {})
        tolerance = acceptance.get("tolerance", 0.0) if isinstance(acceptance, dict) else None
        if isinstance(tolerance, bool) or not isinstance(tolerance, int | float):
            raise ValueError("'acceptance' must give the tolerance as a number")
        if not 0 <= tolerance < 1:
            raise ValueError("the acceptance tolerance must be in [0, 1)")
        return doc


def _transcript(store: ContentStore, cid: str, model_id: int) -> dict[str, Any]:
    raw = fetch(store, cid, what="decryption transcript", max_bytes=MAX_BYTES["transcript"])
    return parse_transcript(raw, model_id)


class _Auditor:
    """State carried through one model's evaluations, in queue order."""

    def __init__(
        self,
        repo: ModelRepository,
        store: ContentStore,
        info: Any,
        spec: ModelSpec,
        X: Any,
        y: Any,
        doc: dict,
    ):

        self.repo, self.store, self.info, self.spec = repo, store, info, spec
        self.X, self.y, self.doc = X, y, doc
        self.metric = spec.metric
        legacy = float((doc.get("acceptance") or {}).get("tolerance", 0.0))
        self.rule = AcceptanceRule.of(spec, legacy)
        self.published = lambda w: published_weights(w, spec.public_key)
        self.current: float | None = None
        self.current_w: np.ndarray | None = None
        self.accepted_rows = 0
        self.versions: dict[str, tuple[np.ndarray, int]] = {}
        """Each model version's CID -> its weights and the rows accepted before it."""
        self.seen: dict[str, str] = {}
        self.known_cids = {str(info.spec_cid)}

    def score(self, w: np.ndarray) -> float:

        if not np.all(np.isfinite(w)):
            return 0.0
        return float(score_weights(self.X, self.y, w)[self.metric])

    def open(self, enc: Any, d: Any, what: str) -> tuple[str, np.ndarray | None, str]:
        """``(proof, values, evidence)`` of an opening against ciphertexts."""
        if d is None:
            return "none", None, ""
        try:
            opening = Opening.from_dict(d, self.spec.public_key, what)
        except CryptoError as exc:
            return "failed", None, f"{what}: {exc}"
        checks = verify_opening(self.spec.public_key, enc, opening)
        if not all(checks):
            bad = [i for i, ok in enumerate(checks) if not ok]
            return "failed", None, f"{what}: entries {bad[:8]} do not re-encrypt to the ciphertexts"
        return "ok", np.asarray(opening.values(self.spec.public_key), dtype=float), ""

    def initial(self) -> AuditRow:

        proof, w, evidence = self.open(self.spec.weights, self.doc.get("initial"), "initial")
        recorded = from_ppm(int(self.info.initial_score))
        recomputed = self.score(w) if w is not None else None
        ev = [evidence] if evidence else []
        if w is not None:
            self.seen[candidate_digest(w)] = "the initial model"
            self.current, self.current_w = recomputed, w
            self.versions[str(self.info.spec_cid)] = (w, 0)
            if not _same(recomputed, recorded):
                ev.append(f"the initial model scores {recomputed:.6f}, recorded {recorded:.6f}")
        verdict = OK if proof == "ok" and not ev else MISMATCH
        if proof == "none":
            ev.append("the transcript does not open the initial model")
        if self.current is None:
            self.current = recorded
        return AuditRow(
            "initial model",
            0,
            str(self.info.spec_cid),
            "initial",
            "",
            recorded,
            recomputed,
            proof,
            verdict,
            ev,
        )

    def submission(self, s: Any, entry: dict[str, Any] | None) -> AuditRow:

        status = s.status.name.lower()
        code = s.reason if s.reason is not None else Reason.ACCEPTED
        label = f"update #{s.update_id} ({status}, {code.label})"
        recorded = from_ppm(int(s.new_score))
        if entry is None:
            return AuditRow(
                label,
                s.update_id,
                str(s.update_cid),
                status,
                code.label,
                recorded,
                None,
                "none",
                MISMATCH,
                ["the transcript leaves this evaluation out"],
            )
        ev: list[str] = []
        if entry.get("reason") != int(code):
            ev.append(f"the transcript says reason {entry.get('reason')}, the chain {int(code)}")
        blob, blob_error = self._blob(s)
        recomputed = None
        accepted = s.status == SubmissionStatus.ACCEPTED
        unverifiable = False
        proof, w = "none", None
        scored = int(code) in SCORED_REASONS
        if scored and blob is not None:
            proof, w, evidence = self.open(blob.weights, entry.get("opening"), "update")
            if evidence:
                ev.append(evidence)
        elif scored:
            ev.append(f"scored, but its blob cannot be read: {blob_error}")
        if not scored:
            unverifiable = self._check_rejection(s, code, blob, blob_error, ev)
        elif w is not None:
            w_pub = self.published(w)
            digest = candidate_digest(w_pub)
            if accepted:
                recomputed = self.score(w_pub)
                ev += self._published_model(s, entry, w_pub)
            else:
                recomputed = self.score(w)
            if not _same(recomputed, recorded):
                ev.append(f"recorded score {recorded:.6f}, the candidate scores {recomputed:.6f}")
            if code == Reason.DUPLICATE_MODEL and digest not in self.seen:
                ev.append("rejected as a duplicate, but no earlier candidate or version equals it")
            elif code != Reason.DUPLICATE_MODEL and digest in self.seen and accepted:
                ev.append(f"accepted, but it equals {self.seen[digest]}")
            if code == Reason.DUPLICATE_ROWS:
                unverifiable = True  # the rows' pseudonyms are sealed to the lender
            if code in (Reason.ACCEPTED, Reason.WORSE) and self.current is not None:
                ev += self._verdict(s, blob, w_pub, accepted)
            self.seen.setdefault(digest, f"update #{s.update_id}'s candidate")
            if accepted:
                self.current, self.current_w = recomputed, w_pub
                self.accepted_rows += int(s.rows)
                if s.new_model_cid:
                    self.versions[str(s.new_model_cid)] = (w_pub, self.accepted_rows)
        elif not ev:
            ev.append("the transcript does not open this candidate, though it was scored")
        verdict = MISMATCH if ev else (UNVERIFIABLE if unverifiable else OK)
        if verdict == UNVERIFIABLE and entry.get("note"):
            ev.append(f"the lender's note: {entry['note']}")
        return AuditRow(
            label,
            s.update_id,
            str(s.update_cid),
            status,
            code.label,
            recorded,
            recomputed,
            proof,
            verdict,
            ev,
        )

    def _verdict(self, s: Any, blob: Any, w_pub: np.ndarray, accepted: bool) -> list[str]:
        """Re-run the spec's acceptance rule on the candidate, against the model of the time
        and the version the update was built on."""
        base = self.versions.get(str(blob.base_model_cid))
        if base is None:
            return [f"scored, but it was built on {blob.base_model_cid}, no version of the model"]
        w_base, rows_before = base
        model_rows = (self.spec.seed_rows or 0) + rows_before
        try:
            rule = self.rule.judge(
                self.spec,
                w_pub,
                self.X,
                self.y,
                float(self.current),
                self.current_w,
                w_base,
                int(s.rows),
                model_rows,
            )
        except DataError as exc:
            return [f"the acceptance rule cannot be run on it: {exc}"]
        if rule.accepted == accepted:
            return []
        return [
            f"the acceptance rule {'accepts' if rule.accepted else 'rejects'} it "
            f"against the model of the time ({self.current:.6f}): {rule.reason}"
        ]

    def _blob(self, s: Any) -> tuple[Any, str]:

        try:
            raw = fetch(self.store, str(s.update_cid), what="update", max_bytes=MAX_BYTES["update"])
            return UpdateBlob.from_bytes(raw, self.spec), ""
        except (HessianError, ValueError) as exc:
            return None, str(exc)

    def _published_model(self, s: Any, entry: dict[str, Any], w_pub: np.ndarray) -> list[str]:

        ev: list[str] = []
        cid = str(s.new_model_cid or "")
        if not cid:
            return ["accepted without a new model CID"]
        try:
            raw = fetch(self.store, cid, what="published model", max_bytes=MAX_BYTES["model"])
            enc = EncryptedModel.from_bytes(raw, self.spec).weights
        except (HessianError, ValueError) as exc:
            return [f"the published model {cid} cannot be read: {exc}"]
        proof, m, evidence = self.open(enc, entry.get("model_opening"), "published model")
        if proof != "ok" or m is None:
            return [evidence or "the transcript does not open the published model"]
        if not np.array_equal(m, w_pub):
            ev.append("the published model is not the owner's candidate (weights swapped)")
        self.known_cids.add(cid)
        return ev

    def _check_rejection(
        self, s: Any, code: Any, blob: Any, blob_error: str, ev: list[str]
    ) -> bool:
        """Check a rejection without a decrypted candidate; True when it cannot be checked."""
        if code == Reason.MALFORMED:
            if blob is not None and blob.signer() is not None:
                ev.append("rejected as malformed, but the blob is a well-formed signed update")
            return False
        if code == Reason.WRONG_SIGNER:
            owner = str(s.owner).lower()
            if blob is not None and (blob.signer() or "").lower() == owner == blob.owner.lower():
                ev.append("rejected for its signer, but the submitter signed it")
            return False
        if code == Reason.WRONG_MODEL:
            if blob is not None and self._fits(s, blob):
                ev.append("rejected as built for another model, but every field matches")
            return False
        return True  # UNAVAILABLE, UNDECRYPTABLE, DUPLICATE_ROWS, MANUAL: the lender's word

    def _fits(self, s: Any, blob: Any) -> bool:
        return (
            blob.model_id == int(self.info.model_id)
            and blob.rows == int(s.rows)
            and blob.dataset_digest == bytes(s.dataset_digest).hex()
            and blob.base_model_cid in self.known_cids
            and blob.contract.lower() == str(self.repo.address).lower()
        )


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return False
    return abs(int(to_ppm(a)) - int(to_ppm(b))) <= AUDIT_TOLERANCE_PPM


def audit_model(repo: ModelRepository, store: ContentStore, model_id: int) -> AuditReport:
    """Audit a revealed model from the chain and the store alone (module docstring).

    Raises
    ------
    ConfigError
        The model is not revealed yet (nothing to audit).
    """
    info = repo.model(int(model_id))
    if not info.revealed or not info.test_set_cid:
        raise ConfigError(f"model #{model_id}: the test set is not revealed yet; nothing to audit")
    notes: list[str] = []
    commitment_ok = (
        test_set_commitment(info.test_set_cid, info.test_set_salt) == info.test_set_commitment
    )
    if not commitment_ok:
        notes.append("the revealed CID and salt do not hash to the commitment")
    raw = fetch(store, str(info.test_set_cid), what="test set", max_bytes=MAX_BYTES["test set"])
    X, y, _ = parse_test_set(raw)
    if len(y) > LIMITS.max_test_rows:
        raise DataError(f"the test set has {len(y)} rows, more than {LIMITS.max_test_rows}")
    spec = ModelSpec.from_bytes(
        fetch(store, str(info.spec_cid), what="model spec", max_bytes=MAX_BYTES["spec"])
    )
    if X.shape[1] != spec.dim:
        raise DataError(f"the test set has {X.shape[1]} features; the spec has {spec.dim}")
    try:
        doc = _transcript(store, str(info.transcript_cid), int(model_id))
    except HessianError as exc:
        doc = None
        notes.append(f"the decryption transcript cannot be used: {exc}")
    rows: list[AuditRow] = []
    if doc is not None:
        auditor = _Auditor(repo, store, info, spec, X, y, doc)
        rows.append(auditor.initial())
        entries = {e.get("update_id"): e for e in doc["submissions"] if isinstance(e, dict)}
        for s in repo.submissions(int(model_id)):
            if s.status == SubmissionStatus.WAITING or s.stale:
                continue
            rows.append(auditor.submission(s, entries.get(s.update_id)))
    return AuditReport(
        model_id=int(model_id),
        lender=str(info.lender),
        test_set_cid=str(info.test_set_cid),
        transcript_cid=str(info.transcript_cid or ""),
        commitment_ok=commitment_ok,
        test_rows=len(y),
        rows=rows,
        tolerance_ppm=AUDIT_TOLERANCE_PPM,
        notes=notes,
    )


# --------------------------------------------------------------------------- track record


@dataclass(frozen=True)
class ModelVerdict:
    """One model of a lender as an owner sees it before sharing (chain and store only).

    ``status``: ``open``; ``awaiting reveal`` (closed, reveal deadline not passed);
    ``forfeited`` (the lender let the reveal deadline pass: it hid its evaluations);
    ``clean`` (revealed, the audit found nothing wrong); ``contradicted`` (revealed, the audit
    found mismatches or an unusable transcript).
    """

    model_id: int
    status: str
    checked: int = 0
    mismatches: int = 0
    unverifiable: int = 0
    reveal_deadline: int = 0

    @property
    def bad(self) -> bool:
        """The lender hid or misreported this model's evaluations."""
        return self.status in ("forfeited", "contradicted")


def model_verdict(
    repo: ModelRepository,
    store: ContentStore,
    info: Any,
    now: int,
    cache: dict[str, dict] | None = None,
) -> ModelVerdict:
    """The :class:`ModelVerdict` of a model (a ``ModelInfo``); audits a revealed one, keyed in
    ``cache`` by its transcript CID (content-addressed, so a verdict never goes stale)."""
    base = {"model_id": int(info.model_id), "reveal_deadline": int(info.reveal_deadline)}
    if info.status == ModelStatus.OPEN:
        return ModelVerdict(status="open", **base)
    if not info.revealed:
        late = info.forfeited or now > int(info.reveal_deadline)
        return ModelVerdict(status="forfeited" if late else "awaiting reveal", **base)
    key = str(info.transcript_cid)
    found = (cache or {}).get(key)
    if found is None:
        try:
            report = audit_model(repo, store, int(info.model_id))
            found = {
                "ok": report.ok,
                "checked": report.checked,
                "mismatches": len(report.mismatches) + len(report.notes),
                "unverifiable": report.unverifiable,
            }
        except (HessianError, ValueError) as exc:
            found = {"ok": False, "checked": 0, "mismatches": 1, "unverifiable": 0}
            found["error"] = str(exc)
        if cache is not None:
            cache[key] = found
    return ModelVerdict(
        status="clean" if found["ok"] else "contradicted",
        checked=int(found["checked"]),
        mismatches=int(found["mismatches"]),
        unverifiable=int(found["unverifiable"]),
        **base,
    )


def track_record(
    repo: ModelRepository, store: ContentStore, lender: str, cache_path: Any = None
) -> list[ModelVerdict]:
    """Every model ``lender`` created on this contract, newest first, with its verdict.

    ``cache_path``: a JSON file keeping audit verdicts by transcript CID between runs.
    """
    cache: dict[str, dict] = {}
    path = Path(cache_path) if cache_path is not None else None
    if path is not None and path.is_file():
        try:
            cache = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            cache = {}
    before = dict(cache)
    now = int(repo.client.block_timestamp())
    who = str(lender).lower()
    out = [
        model_verdict(repo, store, info, now, cache)
        for info in reversed(repo.models())
        if str(info.lender).lower() == who
    ]
    if path is not None and cache != before:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(cache), encoding="utf-8")
    return out


__all__ = [
    "AUDIT_TOLERANCE_PPM",
    "TRANSCRIPT_FORMAT",
    "AuditReport",
    "AuditRow",
    "ModelVerdict",
    "audit_model",
    "decryption_transcript",
    "model_verdict",
    "parse_transcript",
    "track_record",
    "weights_at",
]
