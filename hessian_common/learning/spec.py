"""The blobs of the training protocol: model spec, encrypted model, update — as JSON.

These are what goes to the content store (their CIDs go on chain)::

    ModelSpec       the task: schema, preprocessing, public key, enc(w0), rule, metric
    EncryptedModel  enc(w) at some point of training (the contract's modelCid points here)
    UpdateBlob      an owner's submission: enc(w') computed on the model at base_model_cid

Each has ``to_dict``/``from_dict`` (validation: :class:`CryptoError` for keys and
ciphertexts, :class:`DataError` for everything else), ``to_bytes`` (canonical JSON: sorted keys,
no spaces, UTF-8 — the same object always gives the same bytes, hence the same CID) and
``from_bytes``. Ciphertexts are checked against the spec's public key, so
``EncryptedModel``/``UpdateBlob`` are read with the spec's key.

These blobs come from strangers (anyone can publish a spec or submit an update), so
``from_bytes`` parses through :mod:`hessian_common.untrusted` (size, nesting and number bounds
before and while parsing) and checks the domain bounds of :data:`~hessian_common.untrusted.LIMITS`
(key size, dimension); every failure is an :class:`~hessian_common.errors.UntrustedBlobError`
(a :class:`DataError`) or a :class:`CryptoError`, never a crash.

An update belongs to its sender: the blob names the chain, the contract, the model, the base
version and the owner's address, and carries the owner's EIP-191 signature over everything
else (:meth:`UpdateBlob.sign`, :meth:`UpdateBlob.signer`). The lender rejects a blob whose
signer is not the account that submitted it on chain, so a copy re-submitted by someone else
gains nothing, and re-signing a copy under another address yields a candidate the lender has
already seen.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct

from hessian_common.crypto.paillier import (
    EncryptedVector,
    PublicKey,
    public_key_from_dict,
    public_key_to_dict,
)
from hessian_common.errors import CryptoError, DataError
from hessian_common.learning.acceptance import AcceptanceRule
from hessian_common.learning.prior import CurvaturePrior
from hessian_common.learning.updates import DEFAULT_PARAMS, RULES
from hessian_common.untrusted import LIMITS, MAX_BYTES, check_bound, loads_object, reading

SPEC_FORMAT = "hessian.model-spec/1"
MODEL_FORMAT = "hessian.encrypted-model/1"
UPDATE_FORMAT = "hessian.update/2"
METRICS = ("auc", "accuracy")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_SIGNATURE = re.compile(r"^0x[0-9a-f]{130}$")
_HEX = re.compile(r"^([0-9a-f]{2})*$")
SIGNING_DOMAIN = b"hessian.update/2\n"
"""Prefix of what an owner signs (:meth:`UpdateBlob.signing_digest`)."""


def _canonical(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _parse_bytes(data: bytes | str, what: str, kind: str) -> dict:
    """Untrusted bytes -> dict, through the safe reader (``MAX_BYTES[kind]``)."""
    return loads_object(data, what=what, max_bytes=MAX_BYTES[kind])


def _get(d: dict, key: str, typ: type | tuple[type, ...], what: str) -> Any:
    if key not in d:
        raise DataError(f"{what}: missing field {key!r}")
    v = d[key]
    if (isinstance(v, bool) and typ is not bool) or not isinstance(v, typ):
        raise DataError(f"{what}: field {key!r} has the wrong type ({type(v).__name__})")
    return v


def _check_format(d: dict, fmt: str, what: str) -> None:
    if d.get("format") != fmt:
        raise DataError(f"{what}: format is {d.get('format')!r}, expected {fmt!r}")


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _check_rule(rule: Any, params: Any, what: str) -> dict[str, float]:
    if rule not in RULES:
        raise DataError(f"{what}: unknown update rule {rule!r} (expected {', '.join(RULES)})")
    if not isinstance(params, dict):
        raise DataError(f"{what}: rule parameters must be an object")
    for k, v in params.items():
        if k not in DEFAULT_PARAMS[rule]:
            raise DataError(f"{what}: rule {rule!r} has no parameter {k!r}")
        ok = not isinstance(v, bool) and isinstance(v, int | float)
        if not ok or not (v >= 0 if k == "l2" else v > 0):
            raise DataError(f"{what}: parameter {k!r} must be a positive number, got {v!r}")
    return dict(params)


@dataclass(frozen=True)
class ModelSpec:
    """What a lender publishes to start a training task.

    Attributes
    ----------
    name : str
        Human name of the model.
    schema_name : str
        Name of the data schema (``"lending_club"``).
    schema : dict
        The schema content, so owners need no local copy.
    preprocessing : dict
        ``Preprocessor.to_dict()`` fitted by the lender.
    public_key : phe.PaillierPublicKey
    weights : EncryptedVector
        ``enc(w0)``, the initial model.
    feature_names : list of str
        Names of the d weights (first ``"intercept"``).
    rule, params : str, dict
        Update rule (one of ``RULES``) and its hyper-parameters.
    metric : ``"auc"`` or ``"accuracy"``
    created_at : str
        ISO-8601 UTC time.
    seed_rows : int or None
        Rows the initial model was fitted on (the lender's seed data). Owners of a ``newton``
        model weigh their rows against ``seed_rows`` + the contract's ``acceptedRows``
        (:func:`hessian_common.owner.update_params`). ``None``: a spec written before the
        field existed (read as 0 seed rows); it is left out of the JSON then, so such a spec
        serialises to the same bytes.
    row_key, row_salt : str or None
        Row-level reuse check (hex): the lender's X25519 public key for this model, to which an
        owner seals the pseudonyms of its rows, and the 32-byte salt of those pseudonyms
        (``HMAC-SHA256(salt, canonical row)[:8]``, see
        :meth:`hessian_common.data.LoadedData.row_pseudonyms`). ``None`` in specs without the
        check.
    acceptance : dict or None
        The acceptance rule the lender applies to every update
        (:class:`hessian_common.learning.acceptance.AcceptanceRule`: rule, tolerance, levels),
        fixed with the spec at creation so that the audit can re-run it. ``None`` in specs
        written before it (judged by the threshold rule).
    prior : dict or None
        The lender's curvature prior (``CurvaturePrior.to_dict()``, see
        :mod:`hessian_common.learning.prior`): the feature second moments of its seed rows and
        of all its loans, and the total ridge. Owners of a ``newton`` model estimate the
        model's precision from it (:func:`hessian_common.owner.prepare_update`); the lender's
        acceptance rule uses it to check an update's step. ``None``: a spec without one
        (left out of the JSON; owners fall back on their own curvature).
    """

    name: str
    schema_name: str
    schema: dict
    preprocessing: dict
    public_key: PublicKey
    weights: EncryptedVector
    feature_names: list[str]
    rule: str
    params: dict[str, float] = field(default_factory=dict)
    metric: str = "auc"
    created_at: str = field(default_factory=_now)
    seed_rows: int | None = None
    row_key: str | None = None
    row_salt: str | None = None
    prior: dict | None = None
    acceptance: dict | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check consistency; :class:`DataError` / :class:`CryptoError` naming the field."""
        what = "model spec"
        if not isinstance(self.name, str) or not self.name.strip():
            raise DataError(f"{what}: name must be a non-empty string")
        if self.metric not in METRICS:
            raise DataError(f"{what}: metric {self.metric!r} is not one of {', '.join(METRICS)}")
        _check_rule(self.rule, self.params, what)
        if self.seed_rows is not None and (
            isinstance(self.seed_rows, bool)
            or not isinstance(self.seed_rows, int)
            or self.seed_rows < 0
        ):
            raise DataError(f"{what}: seed_rows must be an integer >= 0, got {self.seed_rows!r}")
        if not self.feature_names or not all(isinstance(f, str) for f in self.feature_names):
            raise DataError(f"{what}: feature_names must be a non-empty list of strings")
        if len(self.weights) != len(self.feature_names):
            raise DataError(
                f"{what}: {len(self.weights)} encrypted weights for "
                f"{len(self.feature_names)} features"
            )
        if self.weights.public_key != self.public_key:
            raise CryptoError(f"{what}: the weights are not encrypted under the spec's key")
        check_bound(
            self.public_key.n.bit_length(),
            LIMITS.min_key_bits,
            LIMITS.max_key_bits,
            f"{what}: the Paillier key size (bits)",
        )
        check_bound(self.dim, 2, LIMITS.max_dim, f"{what}: the number of weights")
        for name in ("row_key", "row_salt"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not _HEX64.match(value)):
                raise DataError(f"{what}: {name} must be 64 lowercase hex digits")
        if self.acceptance is not None:

            AcceptanceRule.from_dict(self.acceptance, f"{what}: the acceptance rule")
        if self.prior is not None:

            prior = CurvaturePrior.from_dict(self.prior)
            if prior.dim != len(self.feature_names):
                raise DataError(
                    f"{what}: the curvature prior has {prior.dim} weights, the model "
                    f"{len(self.feature_names)}"
                )

    @property
    def dim(self) -> int:
        """Number of weights d."""
        return len(self.feature_names)

    def to_dict(self) -> dict:
        """JSON-ready dict (``seed_rows``, ``prior`` and ``acceptance`` only when known)."""
        out = {
            "format": SPEC_FORMAT,
            "name": self.name,
            "schema_name": self.schema_name,
            "schema": self.schema,
            "preprocessing": self.preprocessing,
            "public_key": public_key_to_dict(self.public_key),
            "weights": self.weights.to_dict(),
            "feature_names": list(self.feature_names),
            "rule": {"name": self.rule, "params": dict(self.params)},
            "metric": self.metric,
            "created_at": self.created_at,
        }
        if self.seed_rows is not None:
            out["seed_rows"] = self.seed_rows
        if self.row_key is not None:
            out["row_key"] = self.row_key
        if self.row_salt is not None:
            out["row_salt"] = self.row_salt
        if self.prior is not None:
            out["prior"] = self.prior
        if self.acceptance is not None:
            out["acceptance"] = self.acceptance
        return out

    @classmethod
    def from_dict(cls, d: Any) -> ModelSpec:
        """Inverse of :meth:`to_dict`, with validation."""
        what = "model spec"
        if not isinstance(d, dict):
            raise DataError(f"{what} must be a JSON object")
        _check_format(d, SPEC_FORMAT, what)
        pk = public_key_from_dict(_get(d, "public_key", dict, what))
        rule = _get(d, "rule", dict, what)
        return cls(
            name=_get(d, "name", str, what),
            schema_name=_get(d, "schema_name", str, what),
            schema=_get(d, "schema", dict, what),
            preprocessing=_get(d, "preprocessing", dict, what),
            public_key=pk,
            weights=EncryptedVector.from_dict(_get(d, "weights", dict, what), pk),
            feature_names=list(_get(d, "feature_names", list, what)),
            rule=rule.get("name"),
            params=_check_rule(rule.get("name"), rule.get("params", {}), what),
            metric=_get(d, "metric", str, what),
            created_at=_get(d, "created_at", str, what),
            seed_rows=_get(d, "seed_rows", int, what) if "seed_rows" in d else None,
            row_key=_get(d, "row_key", str, what) if "row_key" in d else None,
            row_salt=_get(d, "row_salt", str, what) if "row_salt" in d else None,
            prior=_get(d, "prior", dict, what) if "prior" in d else None,
            acceptance=_get(d, "acceptance", dict, what) if "acceptance" in d else None,
        )

    def to_bytes(self) -> bytes:
        """Canonical JSON bytes (what goes to the content store)."""
        return _canonical(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes | str) -> ModelSpec:
        """Parse and validate bytes written by :meth:`to_bytes` (untrusted: see the module;
        every failure is an :class:`UntrustedBlobError`)."""
        with reading("model spec"):
            return cls.from_dict(_parse_bytes(data, "model spec", "spec"))


def _weights_for(d: Any, spec: ModelSpec, fmt: str, what: str) -> EncryptedVector:
    """Check ``d`` is a ``fmt`` blob and return its weights, which must fit ``spec`` (key and
    length); :class:`DataError` naming ``what`` otherwise."""
    if not isinstance(d, dict):
        raise DataError(f"{what} must be a JSON object")
    _check_format(d, fmt, what)
    weights = EncryptedVector.from_dict(_get(d, "weights", dict, what), spec.public_key)
    if len(weights) != spec.dim:
        raise DataError(f"{what}: {len(weights)} weights, the spec has {spec.dim}")
    return weights


@dataclass(frozen=True)
class EncryptedModel:
    """``enc(w)`` at some version of a model (0 = the spec's initial weights)."""

    weights: EncryptedVector
    version: int = 0
    created_at: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 0:
            raise DataError(f"encrypted model: version must be an integer >= 0: {self.version!r}")

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "format": MODEL_FORMAT,
            "version": self.version,
            "weights": self.weights.to_dict(),
            "created_at": self.created_at,
        }

    @classmethod
    def from_dict(cls, d: Any, spec: ModelSpec) -> EncryptedModel:
        """Inverse of :meth:`to_dict`; the weights must fit ``spec`` (key and length)."""
        what = "encrypted model"
        weights = _weights_for(d, spec, MODEL_FORMAT, what)
        return cls(weights, _get(d, "version", int, what), _get(d, "created_at", str, what))

    def to_bytes(self) -> bytes:
        """Canonical JSON bytes."""
        return _canonical(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes | str, spec: ModelSpec) -> EncryptedModel:
        """Parse and validate against ``spec`` (every failure an :class:`UntrustedBlobError`)."""
        with reading("encrypted model"):
            return cls.from_dict(_parse_bytes(data, "encrypted model", "model"), spec)


@dataclass(frozen=True)
class UpdateBlob:
    """An owner's encrypted update ``enc(w') = P·enc(w) + q`` on the model at ``base_model_cid``.

    ``dataset_digest`` is the 32-byte ``LoadedData.digest()`` as 64 hex digits (the same value
    goes on chain); ``rows`` the number of rows the update was computed on. ``chain_id``,
    ``contract`` and ``owner`` (checksummed addresses) say where it may be submitted and by
    whom; ``signature`` is the owner's EIP-191 signature of :meth:`signing_digest` (empty until
    :meth:`sign`). ``rows_sealed`` (hex, optional) is the list of the rows' 8-byte pseudonyms
    sealed to the spec's ``row_key``.
    """

    model_id: int
    base_model_cid: str
    weights: EncryptedVector
    rows: int
    dataset_digest: str
    rule: str
    chain_id: int
    contract: str
    owner: str
    rows_sealed: str = ""
    created_at: str = field(default_factory=_now)
    signature: str = ""

    def __post_init__(self) -> None:
        what = "update"
        for name in ("model_id", "chain_id"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise DataError(f"{what}: {name} must be an integer >= 0, got {v!r}")
        if not isinstance(self.base_model_cid, str) or not self.base_model_cid:
            raise DataError(f"{what}: base_model_cid must be a non-empty CID string")
        if isinstance(self.rows, bool) or not isinstance(self.rows, int) or self.rows < 1:
            raise DataError(f"{what}: rows must be a positive integer, got {self.rows!r}")
        if not isinstance(self.dataset_digest, str) or not _HEX64.match(self.dataset_digest):
            raise DataError(f"{what}: dataset_digest must be 64 lowercase hex digits")
        if self.rule not in RULES:
            raise DataError(f"{what}: unknown update rule {self.rule!r}")
        for name in ("contract", "owner"):
            v = getattr(self, name)
            if not isinstance(v, str) or not _ADDRESS.match(v):
                raise DataError(f"{what}: {name} must be a 0x address, got {v!r}")
        if not isinstance(self.rows_sealed, str) or not _HEX.match(self.rows_sealed):
            raise DataError(f"{what}: rows_sealed must be lowercase hex")
        if self.signature and (
            not isinstance(self.signature, str) or not _SIGNATURE.match(self.signature)
        ):
            raise DataError(f"{what}: signature must be 65 bytes as 0x hex")

    def _unsigned_dict(self) -> dict:
        out = {
            "format": UPDATE_FORMAT,
            "chain_id": self.chain_id,
            "contract": self.contract,
            "model_id": self.model_id,
            "base_model_cid": self.base_model_cid,
            "owner": self.owner,
            "weights": self.weights.to_dict(),
            "rows": self.rows,
            "dataset_digest": self.dataset_digest,
            "rule": self.rule,
            "created_at": self.created_at,
        }
        if self.rows_sealed:
            out["rows_sealed"] = self.rows_sealed
        return out

    def signing_digest(self) -> bytes:
        """``sha256(SIGNING_DOMAIN ‖ canonical JSON of every field but the signature)``."""
        return hashlib.sha256(SIGNING_DOMAIN + _canonical(self._unsigned_dict())).digest()

    def sign(self, account: Any) -> UpdateBlob:
        """A copy signed by ``account`` (an eth-account ``LocalAccount``), which must be the
        blob's ``owner``."""
        if str(account.address).lower() != self.owner.lower():
            raise DataError(f"update: signing as {account.address}, but the owner is {self.owner}")
        signed = account.sign_message(encode_defunct(primitive=self.signing_digest()))
        return replace(self, signature="0x" + bytes(signed.signature).hex())

    def signer(self) -> str | None:
        """The address that signed the blob (checksummed), or ``None`` if unsigned or the
        signature does not recover."""
        if not self.signature:
            return None
        try:
            return str(
                Account.recover_message(
                    encode_defunct(primitive=self.signing_digest()),
                    signature=bytes.fromhex(self.signature[2:]),
                )
            )
        except Exception:
            return None

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        out = self._unsigned_dict()
        if self.signature:
            out["signature"] = self.signature
        return out

    @classmethod
    def from_dict(cls, d: Any, spec: ModelSpec) -> UpdateBlob:
        """Inverse of :meth:`to_dict`; the weights must fit ``spec`` (key and length)."""
        what = "update"
        weights = _weights_for(d, spec, UPDATE_FORMAT, what)
        return cls(
            model_id=_get(d, "model_id", int, what),
            base_model_cid=_get(d, "base_model_cid", str, what),
            weights=weights,
            rows=_get(d, "rows", int, what),
            dataset_digest=_get(d, "dataset_digest", str, what),
            rule=_get(d, "rule", str, what),
            chain_id=_get(d, "chain_id", int, what),
            contract=_get(d, "contract", str, what),
            owner=_get(d, "owner", str, what),
            rows_sealed=_get(d, "rows_sealed", str, what) if "rows_sealed" in d else "",
            created_at=_get(d, "created_at", str, what),
            signature=_get(d, "signature", str, what) if "signature" in d else "",
        )

    def to_bytes(self) -> bytes:
        """Canonical JSON bytes."""
        return _canonical(self.to_dict())

    @classmethod
    def from_bytes(cls, data: bytes | str, spec: ModelSpec) -> UpdateBlob:
        """Parse and validate against ``spec`` (untrusted: see the module; every failure an
        :class:`UntrustedBlobError`)."""
        with reading("update"):
            return cls.from_dict(_parse_bytes(data, "update", "update"), spec)


__all__ = ["METRICS", "EncryptedModel", "ModelSpec", "UpdateBlob"]
