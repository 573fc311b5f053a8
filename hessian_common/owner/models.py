"""Listing the models an owner can share with: chain state plus what each spec says."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from hessian_common.chain.repository import ModelRepository
from hessian_common.data import Schema, load_schema
from hessian_common.errors import DataError, HessianError
from hessian_common.learning.spec import ModelSpec
from hessian_common.store.base import ContentStore
from hessian_common.types import enum_name
from hessian_common.untrusted import MAX_BYTES, fetch


@dataclass(frozen=True)
class OpenModel:
    """A model as an owner sees it: chain state plus what its spec says.

    Scores are in ppm, amounts in wei, times are unix seconds.
    """

    model_id: int
    name: str
    lender: str
    spec_cid: str
    model_cid: str | None
    metric: str
    mechanism: str
    initial_score: int
    current_score: int
    target_score: int
    bounty: int
    remaining: int
    deadline: int
    evaluation_window: int
    deposit: int
    submissions: int
    waiting: int
    accepted: int
    is_open: bool
    rule: str = ""
    chain_id: int = 0
    contract: str = ""
    min_gain: int = 0
    """Smallest score gain (ppm) that is paid."""
    max_rows: int = 0
    stale_reward: int = 0
    stale_reserve: int = 0
    """What a submission made now is reserved, and paid if the lender leaves it stale."""
    reveal_deadline: int = 0
    revealed: bool = False
    forfeited: bool = False
    accepted_rows: int = 0
    """Rows of the accepted submissions (the contract's ``acceptedRows``), read together with
    ``model_cid``: with the spec's ``seed_rows``, the rows the current model holds."""
    schema_name: str = ""
    n_features: int | None = None
    spec: ModelSpec | None = field(default=None, repr=False, compare=False)
    spec_error: str | None = None

    @property
    def usable(self) -> bool:
        """Open, before its deadline, and its spec could be fetched and verified."""
        return self.is_open and self.spec is not None and self.deadline > time.time()


def _model_view(repo: ModelRepository, store: ContentStore, model_id: int) -> OpenModel:
    info = repo.model(model_id)
    reserve = int(repo.stale_reserve_now(model_id)) if info.is_open else 0
    spec, spec_error = None, None
    try:
        spec = _load_spec(store, info.spec_cid)
    except HessianError as exc:
        spec_error = str(exc)
    return OpenModel(
        model_id=int(model_id),
        name=getattr(spec, "name", None) or f"Model {model_id}",
        lender=info.lender,
        spec_cid=str(info.spec_cid),
        model_cid=str(info.model_cid) if info.model_cid != info.spec_cid else None,
        metric=enum_name(info.metric).upper(),
        mechanism=enum_name(info.mechanism).upper(),
        initial_score=int(info.initial_score),
        current_score=int(info.current_score),
        target_score=int(info.target_score),
        bounty=int(info.bounty),
        remaining=int(info.remaining),
        deadline=int(info.deadline),
        evaluation_window=int(info.evaluation_window),
        deposit=int(info.submission_deposit),
        submissions=int(info.submission_count),
        waiting=int(info.waiting_count),
        accepted=int(info.accepted_count),
        accepted_rows=int(info.accepted_rows),
        is_open=enum_name(info.status).upper() == "OPEN",
        rule=str(getattr(spec, "rule", "") or ""),
        chain_id=int(repo.client.chain_id),
        contract=str(repo.address),
        min_gain=int(info.min_gain),
        max_rows=int(info.max_rows),
        stale_reward=int(info.stale_reward),
        stale_reserve=reserve,
        reveal_deadline=int(info.reveal_deadline),
        revealed=bool(info.revealed),
        forfeited=bool(info.forfeited),
        schema_name=spec.schema_name if spec is not None else "",
        n_features=spec.dim if spec is not None else None,
        spec=spec,
        spec_error=spec_error,
    )


_SPECS: dict[str, ModelSpec] = {}
"""Parsed specs by CID: content-addressed, so a CID always names the same spec."""


def _load_spec(store: ContentStore, cid: str) -> ModelSpec:
    if not cid:
        raise DataError("the model has no spec CID on chain")
    if cid not in _SPECS:
        # a stranger's blob: size-capped read (re-hashed against the CID), safe parse
        raw = fetch(store, cid, what="model spec", max_bytes=MAX_BYTES["spec"])
        spec = ModelSpec.from_bytes(raw)
        if len(_SPECS) >= 64:
            _SPECS.pop(next(iter(_SPECS)))
        _SPECS[cid] = spec
    return _SPECS[cid]


def schema_of(spec: ModelSpec) -> Schema:
    """The :class:`Schema` a spec names: its embedded schema, else the built-in by name."""
    schema = spec.schema
    if isinstance(schema, Schema):
        return schema
    if isinstance(schema, dict) and schema:
        return Schema.from_dict(schema, source=f"the spec of {spec.name!r}")
    return load_schema(spec.schema_name)


def get_model(repo: ModelRepository, store: ContentStore, model_id: int) -> OpenModel:
    """One model with its spec; raises ``ContractRevert`` (``UnknownModel``) if none."""
    return _model_view(repo, store, model_id)


def list_open_models(
    repo: ModelRepository, store: ContentStore, *, include_closed: bool = False
) -> list[OpenModel]:
    """The models on chain, newest first (only open ones unless ``include_closed``).

    A spec that cannot be fetched or does not match its CID does not hide the model: it is
    listed with ``spec_error`` set and cannot be used for a submission.
    """
    views = []
    for model_id in sorted(_model_ids(repo), reverse=True):
        view = _model_view(repo, store, model_id)
        if include_closed or view.is_open:
            views.append(view)
    return views


def model_names(repo: ModelRepository, store: ContentStore, model_ids: set[int]) -> dict[int, str]:
    """Model id -> name from its spec (``"Model N"`` when the spec cannot be read)."""
    return {mid: _model_view(repo, store, mid).name for mid in sorted(model_ids)}


def _model_ids(repo: ModelRepository) -> list[int]:
    return list(range(1, int(repo.model_count()) + 1))
