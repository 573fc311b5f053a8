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
5. submits through the local journal (:func:`submit`): the blob goes to the content store,
   ``submitUpdate(modelId, updateCid, datasetDigest, rows)`` goes on chain with the deposit.
   If either is down the entry waits in the journal and is retried.

The raw rows never leave the machine: only the encrypted update blob (to the store), its CID,
the dataset digest and the row count (to the chain) do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hessian_common.errors import ChainError, ChainUnavailable, DataError, HessianError
from hessian_common.journal import Entry, Journal, State, retry_pending

ProgressFn = Callable[..., None]
"""``progress(done=None, total=None, message=None)``, e.g. a web job's ``Progress.update``."""

MIN_ROWS = 10
"""Fewest usable rows an owner may submit: an update from a handful of rows says too much
about each of them (the lender decrypts ``w'``, which for tiny ``N`` nearly pins ``X``)."""


def _noop(*_args: Any, **_kwargs: Any) -> None:
    return None


# ---------------------------------------------------------------------- open models


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
    accepted_rows: int = 0
    """Rows of the accepted submissions (the contract's ``acceptedRows``), read together with
    ``model_cid``: with the spec's ``seed_rows``, the rows the current model holds."""
    schema_name: str = ""
    n_features: int | None = None
    spec: Any = field(default=None, repr=False, compare=False)
    spec_error: str | None = None

    @property
    def usable(self) -> bool:
        """Open, before its deadline, and its spec could be fetched and verified."""
        return self.is_open and self.spec is not None and self.deadline > time.time()


def _enum_name(value: Any) -> str:
    return getattr(value, "name", str(value))


def _model_view(repo: Any, store: Any, model_id: int) -> OpenModel:
    info = repo.model(model_id)
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
        metric=_enum_name(info.metric),
        mechanism=_enum_name(info.mechanism),
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
        is_open=_enum_name(info.status).upper() == "OPEN",
        rule=str(getattr(spec, "rule", "") or ""),
        schema_name=spec.schema_name if spec is not None else "",
        n_features=spec.dim if spec is not None else None,
        spec=spec,
        spec_error=spec_error,
    )


_SPECS: dict[str, Any] = {}
"""Parsed specs by CID: content-addressed, so a CID always names the same spec."""


def _load_spec(store: Any, cid: str) -> Any:
    from hessian_common.learning.spec import ModelSpec

    if not cid:
        raise DataError("the model has no spec CID on chain")
    if cid not in _SPECS:
        spec = ModelSpec.from_bytes(store.get(cid))  # get() re-hashes the bytes against the CID
        if len(_SPECS) >= 64:
            _SPECS.pop(next(iter(_SPECS)))
        _SPECS[cid] = spec
    return _SPECS[cid]


def _schema_of(spec: Any) -> Any:
    from hessian_common.data import Schema, load_schema

    schema = spec.schema
    if isinstance(schema, Schema):
        return schema
    if isinstance(schema, dict) and schema:
        return Schema.from_dict(schema, source=f"the spec of {spec.name!r}")
    return load_schema(spec.schema_name)


def get_model(repo: Any, store: Any, model_id: int) -> OpenModel:
    """One model with its spec; raises ``ContractRevert`` (``UnknownModel``) if none."""
    return _model_view(repo, store, model_id)


def list_open_models(repo: Any, store: Any, *, include_closed: bool = False) -> list[OpenModel]:
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


def model_names(repo: Any, store: Any, model_ids: set[int]) -> dict[int, str]:
    """Model id -> name from its spec (``"Model N"`` when the spec cannot be read)."""
    return {mid: _model_view(repo, store, mid).name for mid in sorted(model_ids)}


def _model_ids(repo: Any) -> list[int]:
    return list(range(1, int(repo.model_count()) + 1))


# ---------------------------------------------------------------------- validation


@dataclass(frozen=True)
class ValidationReport:
    """What checking a file against a model's schema found (nothing has been sent).

    ``problems`` are ``(row, column, message)`` with ``row`` the file's line number.
    """

    source: str
    schema_name: str
    rows: int
    defaults: int
    excluded: dict[str, int]
    problems: list[tuple[int, str, str]]
    problem_count: int
    digest: str
    columns: list[str]
    non_loan_lines: int = 0
    data: Any = field(default=None, repr=False, compare=False)

    @property
    def default_rate(self) -> float:
        """Share of usable rows that defaulted."""
        return self.defaults / self.rows if self.rows else 0.0

    @property
    def excluded_total(self) -> int:
        """Rows left out (unresolved loans and the like)."""
        return sum(self.excluded.values())

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (without the data)."""
        return {
            "source": self.source,
            "schema": self.schema_name,
            "rows": self.rows,
            "defaults": self.defaults,
            "default_rate": round(self.default_rate, 6),
            "excluded": dict(self.excluded),
            "excluded_total": self.excluded_total,
            "problems": [list(p) for p in self.problems],
            "problem_count": self.problem_count,
            "digest": self.digest,
            "columns": list(self.columns),
        }


def validate_for_model(
    path: str | Path,
    spec: Any,
    *,
    label: str | None = None,
    max_bytes: int | None = None,
    min_rows: int = MIN_ROWS,
) -> ValidationReport:
    """Check the CSV at ``path`` against the schema of ``spec`` and describe it.

    Parameters
    ----------
    path : str or Path
        A CSV file on this machine (read, never copied or sent).
    spec : ModelSpec
        The model's spec; its schema and preprocessing decide what is usable.
    label : str, optional
        The name to show for the file (an upload's original name); defaults to the path.
    max_bytes : int, optional
        Refuse larger files (the loader's own cap otherwise).
    min_rows : int
        Fewest usable rows (see :data:`MIN_ROWS`).

    Raises
    ------
    DataError, SchemaError
        The file cannot be used (not a CSV, wrong encoding, wrong columns or types, empty,
        too few usable rows); the message names the file, row and column.
    """
    from hessian_common.data import load_file

    kwargs: dict[str, Any] = {}
    if max_bytes is not None:
        kwargs["max_bytes"] = int(max_bytes)
    data = load_file(path, _schema_of(spec), **kwargs)
    name = label or str(path)
    if data.rows < min_rows:
        raise DataError(
            f"{name}: only {data.rows} usable loan rows (at least {min_rows} are needed; "
            f"{sum(data.excluded.values())} rows were excluded as unresolved)"
        )
    if data.rows == data.defaults or data.defaults == 0:
        kind = "defaulted" if data.defaults else "were repaid"
        # one class only is allowed: the gradient is still meaningful, but say so in problems
        problems = [(0, data.schema.label.column, f"all {data.rows} usable loans {kind}")]
    else:
        problems = []
    problems += [(p.row, p.column, p.message) for p in data.problems]
    return ValidationReport(
        source=name,
        schema_name=data.schema.name,
        rows=data.rows,
        defaults=data.defaults,
        excluded=dict(sorted(data.excluded.items())),
        problems=problems,
        problem_count=data.problem_count + (len(problems) - len(data.problems)),
        digest="0x" + data.digest().hex(),
        columns=list(data.features.columns),
        non_loan_lines=data.non_loan_lines,
        data=data,
    )


# ---------------------------------------------------------------------- replay


@dataclass(frozen=True)
class ReplayCheck:
    """Was this dataset digest already sent to this model?"""

    model_id: int
    digest: str
    journal_entry: Entry | None
    on_chain_update: int | None
    on_chain_owner: str | None
    chain_checked: bool = True

    @property
    def blocked(self) -> bool:
        """True when a submission would be refused (by the contract or our own journal)."""
        return self.journal_entry is not None or self.on_chain_update is not None

    @property
    def message(self) -> str:
        """What to tell the owner (empty when not blocked)."""
        if self.on_chain_update is not None:
            who = (
                "you"
                if self.journal_entry is not None or not self.on_chain_owner
                else (self.on_chain_owner)
            )
            return (
                f"This exact data set (digest {self.digest[:18]}…) was already submitted to "
                f"model {self.model_id} by {who} as update #{self.on_chain_update}. The contract "
                "refuses the same data twice per model, so it cannot be sent again; new or "
                "different data can be."
            )
        if self.journal_entry is not None:
            return (
                f"You already submitted this exact data set to model {self.model_id} "
                f"(journal entry #{self.journal_entry.id}, {self.journal_entry.state}). The "
                "contract refuses the same data twice per model, so it cannot be sent again; "
                "new or different data can be."
            )
        return ""


def already_submitted(
    journal: Journal, repo: Any, model_id: int, digest: bytes | str, owner: str
) -> ReplayCheck:
    """Check both this owner's journal and the contract's ``digestUsedBy`` for ``digest``.

    ``repo`` may be ``None``, or the chain may be down: only the journal is checked then
    (``chain_checked`` is ``False``; the journal worker checks the chain again before sending).
    """
    d = _hex32(digest)
    entry = journal.find(model_id, owner, d)
    update_id, who, checked = None, None, repo is not None
    if repo is not None:
        try:
            used = _digest_used_by(repo, model_id, d)
            if used:
                update_id = used
                who = str(repo.submission(used).owner)
        except ChainUnavailable:
            checked = False
    return ReplayCheck(int(model_id), d, entry, update_id, who, checked)


def _digest_used_by(repo: Any, model_id: int, digest: str) -> int:
    """Update id that used ``digest`` for ``model_id`` (0 when unused)."""
    used = repo.digest_used(int(model_id), bytes.fromhex(digest[2:]))
    if isinstance(used, bool):
        return -1 if used else 0
    return int(used)


def _hex32(digest: bytes | str) -> str:
    if isinstance(digest, bytes | bytearray):
        raw = bytes(digest)
    else:
        raw = bytes.fromhex(str(digest).lower().removeprefix("0x"))
    if len(raw) != 32:
        raise DataError(f"dataset digest must be 32 bytes, got {len(raw)}")
    return "0x" + raw.hex()


# ---------------------------------------------------------------------- the update


def current_weights(store: Any, model: OpenModel) -> tuple[Any, str]:
    """The encrypted weights an update must build on, and their CID.

    The contract's current model CID (set by the last accepted update) if any, otherwise the
    spec's initial encrypted weights (CID: the spec's). Returns ``(EncryptedVector, cid)``.
    """
    from hessian_common.learning.spec import EncryptedModel

    if model.model_cid:
        current = EncryptedModel.from_bytes(store.get(model.model_cid), model.spec)
        return current.weights, model.model_cid
    return model.spec.weights, model.spec_cid


def update_params(
    spec: Any, *, accepted_rows: int = 0, params: dict[str, Any] | None = None
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


def prepare_update(
    spec: Any,
    current: Any,
    data: Any,
    *,
    model_id: int,
    base_cid: str,
    params: dict[str, Any] | None = None,
    accepted_rows: int = 0,
    progress: ProgressFn | None = None,
) -> Any:
    """Compute the encrypted update blob ``enc(w') = P·enc(w) + q`` from the owner's data.

    Parameters
    ----------
    spec : ModelSpec
        Gives the preprocessing (``Preprocessor.from_dict``), the public key, the update
        rule with its hyper-parameters and the lender's curvature prior (the Newton step's
        estimate of the model's precision, :mod:`hessian_common.learning.prior`).
    current : EncryptedVector
        ``enc(w)``, the weights to update (never decrypted here).
    data : LoadedData
        The owner's usable rows (from :func:`validate_for_model`).
    model_id, base_cid :
        Recorded in the blob so the lender can check what it was computed on.
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
    """
    from hessian_common.data import Preprocessor
    from hessian_common.learning.prior import prior_of
    from hessian_common.learning.spec import UpdateBlob
    from hessian_common.learning.updates import build_update

    report = progress or _noop
    report(done=0, total=4, message="preprocessing with the model's parameters")
    X = Preprocessor.from_dict(spec.preprocessing).transform(data.features)
    y = data.y
    report(done=1, message=f"building the {spec.rule} update from {len(y)} rows (plaintext)")
    rule_params = update_params(spec, accepted_rows=accepted_rows, params=params)
    update = build_update(spec.rule, X, y, rule_params, prior=prior_of(spec))
    d = X.shape[1]
    report(done=2, message=f"applying it to the encrypted weights ({d}×{d} products)")
    enc_new = update.apply_encrypted(current)
    report(done=3, message="packing the encrypted update")
    blob = UpdateBlob(
        model_id=int(model_id),
        base_model_cid=str(base_cid),
        weights=enc_new,
        rows=len(y),
        dataset_digest=data.digest().hex(),
        rule=spec.rule,
    )
    report(done=4, message="encrypted update ready")
    return blob


# ---------------------------------------------------------------------- submit


def submit(
    journal: Journal,
    store: Any,
    repo: Any,
    *,
    model_id: int,
    blob_bytes: bytes,
    digest: bytes | str,
    rows: int,
    owner: str,
    deposit: int,
    label: str = "",
) -> Entry:
    """Journal the submission, then try once to store and send it.

    The entry is written first, so nothing is lost if the store or chain is down: it then
    waits in the journal (state ``prepared`` or ``stored``) and the worker retries it
    (:func:`hessian_common.journal.retry_pending`). ``repo`` may be a callable returning the
    repository (it may raise ``ChainUnavailable``).

    Raises ``JournalError`` for a digest this owner already has in the journal for the model.
    """
    entry = journal.add(
        model_id=model_id,
        owner=owner,
        digest=digest,
        rows=rows,
        blob=blob_bytes,
        deposit=deposit,
        label=label,
    )
    for moved in retry_pending(journal, store, repo):
        if moved.id == entry.id:
            return moved
    return journal.get(entry.id)


def _resolve(repo: Any) -> Any | None:
    """``repo`` itself, or what the callable ``repo`` returns; ``None`` if the chain is down."""
    if repo is None or not callable(repo) or hasattr(repo, "submit_update"):
        return repo
    try:
        return repo()
    except ChainUnavailable:
        return None


def share(
    journal: Journal,
    store: Any,
    repo: Any,
    *,
    model: OpenModel | int,
    path: str | Path,
    owner: str,
    label: str = "",
    params: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    max_bytes: int | None = None,
) -> Entry:
    """The whole owner flow for one file: validate, replay check, encrypted update, submit.

    Parameters
    ----------
    repo : ModelRepository or a callable returning one
        A callable may raise ``ChainUnavailable``: with ``model`` given as an
        :class:`OpenModel` (read while the chain answered) the update is still computed and
        journaled, and waits for the chain.
    model : OpenModel or int
        The model (an id is read from the chain). The update builds on its ``model_cid``
        and, for the Newton rule, weighs the owner's rows against the rows that model holds
        (``seed_rows`` + ``accepted_rows``, read together; :func:`update_params`).
    params : dict, optional
        Overrides of the rule's hyper-parameters (``{"model_rows": 0}``: the plain step).

    Everything that can refuse (bad file, replay, closed model, deposit above balance) is
    checked before the journal entry is written; after that the submission is never lost.
    """
    report = progress or _noop
    report(done=0, total=8, message="reading the model")
    live = _resolve(repo)
    if isinstance(model, int):
        if live is None:
            raise ChainUnavailable("the chain is unreachable; cannot read the model")
        model = get_model(live, store, model)
    check_can_submit(model, live, owner)
    report(done=1, message="checking your file against the model's schema")
    validation = validate_for_model(path, model.spec, label=label or None, max_bytes=max_bytes)
    replay = already_submitted(journal, live, model.model_id, validation.digest, owner)
    if replay.blocked:
        raise DataError(replay.message)
    current, base_cid = current_weights(store, model)

    def sub(done: int | None = None, total: int | None = None, message: str | None = None):
        report(done=None if done is None else 2 + done, message=message)

    blob = prepare_update(
        model.spec,
        current,
        validation.data,
        model_id=model.model_id,
        base_cid=base_cid,
        params=params,
        accepted_rows=model.accepted_rows,
        progress=sub,
    )
    report(done=7, message="saving to the local journal, uploading, sending submitUpdate")
    entry = submit(
        journal,
        store,
        repo,
        model_id=model.model_id,
        blob_bytes=blob.to_bytes(),
        digest=validation.digest,
        rows=validation.rows,
        owner=owner,
        deposit=model.deposit,
        label=label or Path(path).name,
    )
    report(done=8, message=_entry_sentence(entry))
    return entry


def check_can_submit(model: OpenModel, repo: Any | None, owner: str) -> None:
    """Refuse early (``DataError``) what the contract would refuse: closed, past deadline,
    unverifiable spec, deposit above the balance (not checked when ``repo`` is ``None``)."""
    if not model.is_open:
        raise DataError(f"model {model.model_id} is closed; it takes no more submissions")
    if model.deadline <= time.time():
        raise DataError(f"model {model.model_id} passed its deadline; it takes no submissions")
    if model.spec is None:
        raise DataError(f"model {model.model_id}: its spec cannot be used ({model.spec_error})")
    if repo is None:
        return
    try:
        balance = int(repo.client.balance(owner))
    except ChainUnavailable:
        return  # checked again by the contract when the journal sends it
    if balance < model.deposit:
        raise DataError(
            f"the submission deposit is {model.deposit} wei but {owner} holds {balance} wei"
        )


def _entry_sentence(entry: Entry) -> str:
    if entry.state is State.CONFIRMED:
        return f"submitted as update #{entry.update_id}"
    if entry.state is State.FAILED:
        return f"refused: {entry.last_error}"
    return f"saved in the journal; waiting for the {entry.waiting_on or 'network'} (retried)"


# ---------------------------------------------------------------------- my submissions


STATUS_LABELS = {
    "queued": "Queued",
    "waiting_store": "Waiting for store",
    "waiting_chain": "Waiting for chain",
    "waiting_evaluation": "Waiting for evaluation",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "failed": "Not sent",
}


@dataclass(frozen=True)
class MySubmission:
    """A journal entry joined with its on-chain state."""

    entry: Entry
    status: str
    score_before: int | None = None
    new_score: int | None = None
    reward: int | None = None
    claimable: int = 0
    stale: bool = False

    @property
    def status_label(self) -> str:
        """Human status (``"Waiting for chain"``)."""
        return STATUS_LABELS[self.status]

    @property
    def score_change(self) -> int | None:
        """New score minus the score before, in ppm (accepted ones)."""
        if self.new_score is None or self.score_before is None:
            return None
        return self.new_score - self.score_before


def local_status(entry: Entry) -> str:
    """Status key from the journal alone (see :data:`STATUS_LABELS`)."""
    if entry.state is State.FAILED:
        return "failed"
    if entry.state is State.PREPARED:
        return "waiting_store" if entry.waiting_on == "store" else "queued"
    if entry.state in (State.STORED, State.SENT):
        return "waiting_chain"
    return "waiting_evaluation"


def scores_before(repo: Any, model_ids: set[int]) -> dict[int, int]:
    """Update id -> the model's score (ppm) just before that update was evaluated.

    Replays the contract's ``UpdateEvaluated`` events in chain order from each model's initial
    score: ``before(u) = max(initial, new scores of updates accepted before u)``.
    """
    best = {mid: int(repo.model(mid).initial_score) for mid in model_ids}
    before: dict[int, int] = {}
    for event in repo.events():
        if event.name != "UpdateEvaluated":
            continue
        mid = int(event.args["modelId"])
        if mid not in best:
            continue
        uid = int(event.args["updateId"])
        before[uid] = best[mid]
        if event.args["accepted"] and int(event.args["newScore"]) > best[mid]:
            best[mid] = int(event.args["newScore"])
    return before


def my_submissions(journal: Journal, repo: Any | None, owner: str) -> list[MySubmission]:
    """This owner's submissions, newest first, with chain status when the chain answers."""
    out = []
    entries = journal.entries(owner=owner)
    before: dict[int, int] = {}
    confirmed = {e.model_id for e in entries if e.state is State.CONFIRMED}
    if repo is not None and confirmed:
        try:
            before = scores_before(repo, confirmed)
        except ChainError:
            repo = None
    for entry in entries:
        status = local_status(entry)
        if entry.state is not State.CONFIRMED or repo is None:
            out.append(MySubmission(entry, status))
            continue
        try:
            sub = repo.submission(entry.update_id)
            chain_status = _enum_name(sub.status).upper()
            claimable = int(repo.share_of(entry.update_id)) if hasattr(repo, "share_of") else 0
        except ChainError:
            out.append(MySubmission(entry, status))
            continue
        if chain_status == "ACCEPTED":
            status = "accepted"
        elif chain_status == "REJECTED":
            status = "rejected"
        new_score = int(sub.new_score) if status in ("accepted", "rejected") else None
        out.append(
            MySubmission(
                entry,
                status,
                new_score=new_score,
                score_before=before.get(int(entry.update_id)),
                reward=int(sub.reward),
                claimable=claimable,
                stale=bool(getattr(sub, "stale", False)),
            )
        )
    return out


# ---------------------------------------------------------------------- account


@dataclass(frozen=True)
class AccountSummary:
    """The owner's balances, in wei."""

    address: str
    balance: int
    pending: int


def account_summary(repo: Any, address: str) -> AccountSummary:
    """Wallet balance and rewards owed by the contract (``pendingOf``)."""
    return AccountSummary(address, int(repo.client.balance(address)), int(repo.pending(address)))


def withdraw(repo: Any) -> int:
    """Withdraw everything the contract owes the owner; returns the amount in wei.

    Raises ``DataError`` when nothing is owed (checked first, so no transaction is wasted).
    """
    address = repo.client.address
    owed = int(repo.pending(address))
    if owed == 0:
        raise DataError(f"the contract owes {address} nothing to withdraw")
    repo.withdraw()
    return owed


def claim_share(repo: Any, update_id: int) -> int:
    """Credit an accepted EQUAL / PRO_RATA_ROWS share after close (then withdraw it)."""
    amount = int(repo.share_of(update_id))
    if amount == 0:
        raise DataError(f"update #{update_id} has no share to claim (yet)")
    repo.claim_share(update_id)
    return amount


__all__ = [
    "MIN_ROWS",
    "STATUS_LABELS",
    "AccountSummary",
    "MySubmission",
    "OpenModel",
    "ReplayCheck",
    "ValidationReport",
    "account_summary",
    "already_submitted",
    "check_can_submit",
    "claim_share",
    "current_weights",
    "get_model",
    "list_open_models",
    "local_status",
    "model_names",
    "my_submissions",
    "prepare_update",
    "scores_before",
    "share",
    "submit",
    "update_params",
    "validate_for_model",
    "withdraw",
]
