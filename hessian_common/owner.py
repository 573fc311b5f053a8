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
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hessian_common.errors import ChainError, ChainUnavailable, DataError, HessianError
from hessian_common.journal import Entry, Journal, State, retry_pending
from hessian_common.untrusted import MAX_BYTES, fetch

ProgressFn = Callable[..., None]
"""``progress(done=None, total=None, message=None)``, e.g. a web job's ``Progress.update``."""

MIN_ROWS = 10
"""Fewest usable rows an owner may submit: an update from a handful of rows says too much
about each of them (the lender decrypts ``w'``, which for tiny ``N`` nearly pins ``X``)."""

ROW_REUSE_LIMIT = 0.05
"""Largest share of a submission's rows that may repeat rows already sent to the model (by
this owner, checked here from the journal, or by anyone, checked by the lender from the sealed
pseudonyms) or repeat each other: above it the file is refused here and the update rejected
there (``Reason.DUPLICATE_ROWS``)."""


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


_SPECS: dict[str, Any] = {}
"""Parsed specs by CID: content-addressed, so a CID always names the same spec."""


def _load_spec(store: Any, cid: str) -> Any:
    from hessian_common.learning.spec import ModelSpec

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
            return (
                f"You already submitted this exact data set (digest {self.digest[:18]}…) to "
                f"model {self.model_id} as update #{self.on_chain_update}. The contract "
                "refuses the same data twice per model and owner, so it cannot be sent again; "
                "new or different data can be."
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
    """Check both this owner's journal and the contract's ``digestUsedBy(model, owner, digest)``
    for ``digest`` (replays are per owner: another account's copy does not block ours).

    ``repo`` may be ``None``, or the chain may be down: only the journal is checked then
    (``chain_checked`` is ``False``; the journal worker checks the chain again before sending).
    """
    d = _hex32(digest)
    entry = journal.find(model_id, owner, d)
    update_id, checked = None, repo is not None
    if repo is not None:
        try:
            update_id = repo.digest_used(int(model_id), bytes.fromhex(d[2:]), owner=owner) or None
        except ChainUnavailable:
            checked = False
    return ReplayCheck(int(model_id), d, entry, update_id, owner if update_id else None, checked)


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
        raw = fetch(store, model.model_cid, what="current model", max_bytes=MAX_BYTES["model"])
        return EncryptedModel.from_bytes(raw, model.spec).weights, model.model_cid
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


def get_ready(spec: Any) -> None:
    """Start precomputing, in a background thread of this process, the ``d`` randomisers
    ``r^n mod n²`` the next update under ``spec``'s key needs
    (:func:`hessian_common.crypto.prepare_randomisers`): called while the owner reviews a
    file, it takes them off the submission's critical path (``hessian bench update``:
    ``submission_s`` against ``submission_fresh_s``)."""
    from hessian_common.crypto import prepare_randomisers

    prepare_randomisers(spec.public_key, spec.dim)


def prepare_update(
    spec: Any,
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
    progress: ProgressFn | None = None,
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
    from web3 import Web3

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


def row_pseudonyms(spec: Any, data: Any) -> list[bytes] | None:
    """The 8-byte pseudonyms of ``data``'s rows under the spec's salt (None without one)."""
    if not getattr(spec, "row_salt", None):
        return None
    return data.row_pseudonyms(bytes.fromhex(spec.row_salt))


def sealed_pseudonyms(spec: Any, data: Any) -> str:
    """The rows' pseudonyms concatenated and sealed to the spec's ``row_key`` (hex; empty if
    the spec has no row key)."""
    from hessian_common.crypto.sealing import seal

    pseudonyms = row_pseudonyms(spec, data)
    if pseudonyms is None or not getattr(spec, "row_key", None):
        return ""
    return seal(bytes.fromhex(spec.row_key), b"".join(pseudonyms), info=ROWS_INFO).hex()


ROWS_INFO = b"hessian.row-pseudonyms/1"
"""HKDF context of the sealed row pseudonyms (see :mod:`hessian_common.crypto.sealing`)."""


def reused_rows(pseudonyms: list[bytes], seen: set[bytes]) -> int:
    """How many of ``pseudonyms`` repeat ``seen`` or an earlier one of the same list."""
    reused, mine = 0, set()
    for p in pseudonyms:
        if p in seen or p in mine:
            reused += 1
        mine.add(p)
    return reused


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
    pseudonyms: list[bytes] | None = None,
    min_reserve: int = 0,
) -> Entry:
    """Journal the submission, then try once to send it and publish the blob.

    ``min_reserve``: the stale reserve the owner was shown (the contract refuses the
    submission if a flood mined first left less; the entry then fails with that reason).

    The entry is written first, so nothing is lost if the store or chain is down: it then
    waits in the journal (``prepared``, or ``confirmed`` until the store takes the blob) and
    the worker retries it (:func:`hessian_common.journal.retry_pending`). ``repo`` may be a
    callable returning the repository (it may raise ``ChainUnavailable``).

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
        pseudonyms=pseudonyms,
        min_reserve=min_reserve,
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
    account: Any,
    label: str = "",
    params: dict[str, Any] | None = None,
    progress: ProgressFn | None = None,
    max_bytes: int | None = None,
) -> Entry:
    """The whole owner flow for one file: validate, replay checks, encrypted update, submit.

    Parameters
    ----------
    account : eth_account LocalAccount
        The owner: signs the update blob and the transaction (``repo`` must sign as it).
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

    Everything that can refuse (bad file, replay, rows this owner already sent to the model,
    closed model, deposit above balance) is checked before the journal entry is written;
    after that the submission is never lost.
    """
    owner = str(account.address)
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
    if model.max_rows and validation.rows > model.max_rows:
        raise DataError(
            f"the file has {validation.rows} usable rows; model {model.model_id} takes at most "
            f"{model.max_rows} per submission"
        )
    pseudonyms = row_pseudonyms(model.spec, validation.data)
    if pseudonyms is not None:
        check_row_reuse(pseudonyms, journal.submitted_pseudonyms(model.model_id, owner))
    current, base_cid = current_weights(store, model)

    def sub(done: int | None = None, total: int | None = None, message: str | None = None):
        report(done=None if done is None else 2 + done, message=message)

    blob = prepare_update(
        model.spec,
        current,
        validation.data,
        model_id=model.model_id,
        base_cid=base_cid,
        account=account,
        chain_id=model.chain_id,
        contract=model.contract,
        params=params,
        accepted_rows=model.accepted_rows,
        progress=sub,
    )
    report(done=7, message="saving to the local journal, sending submitUpdate, publishing")
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
        pseudonyms=pseudonyms,
        min_reserve=model.stale_reserve,
    )
    report(done=8, message=_entry_sentence(entry))
    return entry


def check_row_reuse(pseudonyms: list[bytes], seen: set[bytes]) -> None:
    """Refuse (``DataError``) a file whose rows repeat each other or rows this owner already
    sent to the model beyond :data:`ROW_REUSE_LIMIT` (slices or repeats of one file)."""
    reused = reused_rows(pseudonyms, seen)
    if reused > ROW_REUSE_LIMIT * len(pseudonyms):
        raise DataError(
            f"{reused} of the {len(pseudonyms)} rows repeat rows of this file or rows you "
            "already submitted to this model; at most "
            f"{ROW_REUSE_LIMIT:.0%} may. Reused rows add nothing to the model and are not "
            "paid: send only new loans."
        )


def check_can_submit(model: OpenModel, repo: Any | None, owner: str) -> None:
    """Refuse early (``DataError``) what the contract would refuse: closed, past deadline,
    unverifiable spec, deposit above the balance (not checked when ``repo`` is ``None``)."""
    if not model.is_open:
        raise DataError(f"model {model.model_id} is closed; it takes no more submissions")
    if model.deadline <= time.time():
        raise DataError(f"model {model.model_id} passed its deadline; it takes no submissions")
    if model.spec is None:
        raise DataError(f"model {model.model_id}: its spec cannot be used ({model.spec_error})")
    if not model.contract or not model.chain_id:
        raise DataError(f"model {model.model_id}: read it from the chain first")
    if repo is None:
        return
    try:
        balance = int(repo.client.balance(owner))
    except ChainUnavailable:
        return  # checked again by the contract when the journal sends it
    if balance < model.deposit:
        from hessian_common.format import format_amount

        raise DataError(
            f"the submission deposit is {format_amount(model.deposit)} but {owner} holds "
            f"{format_amount(balance)}"
        )


def _entry_sentence(entry: Entry) -> str:
    if entry.state is State.PUBLISHED:
        return f"submitted as update #{entry.update_id}"
    if entry.state is State.CONFIRMED:
        return (
            f"submitted as update #{entry.update_id}; publishing the update to the store "
            "(retried)"
        )
    if entry.state is State.FAILED:
        return f"refused: {entry.last_error}"
    return f"saved in the journal; waiting for the {entry.waiting_on or 'network'} (retried)"


# ---------------------------------------------------------------------- my submissions


STATUS_LABELS = {
    "queued": "Queued",
    "waiting_store": "Waiting for store",
    "waiting_chain": "Waiting for chain",
    "publishing": "On chain; publishing to the store",
    "waiting_evaluation": "Waiting for evaluation",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "failed": "Not sent",
    "unknown": "On chain, status unknown",
}
"""``unknown``: on chain (the journal has its update id) but the chain does not answer and
its status was never read on this machine: shown as such, never guessed."""


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
    reason: str | None = None
    """Why the lender rejected it (``Reason.text``), None otherwise."""
    paid_gain: int = 0
    """The gain (ppm) the contract paid for (0: not paid, e.g. below the model's minimum)."""
    forfeitable: int = 0
    """About what this submission can claim of a bounty the lender forfeited by not revealing
    its evaluations before the deadline (:func:`forfeit_share`)."""
    known_at: float | None = None
    """``None``: read from the chain now. Else the chain did not answer and this is the last
    known status, read at this time (from :class:`~hessian_common.owner_cache.StatusCache`)."""

    @property
    def status_label(self) -> str:
        """Human status (``"Waiting for chain"``)."""
        return STATUS_LABELS[self.status]

    @property
    def last_known(self) -> bool:
        """True when the status is the last known one, not read from the chain now."""
        return self.known_at is not None

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
        return "waiting_chain" if entry.waiting_on == "chain" else "queued"
    if entry.state is State.SENT:
        return "waiting_chain"
    if entry.state is State.CONFIRMED:
        return "waiting_store" if entry.waiting_on == "store" else "publishing"
    return "waiting_evaluation"


def scores_before(repo: Any, model_ids: set[int]) -> dict[int, int]:
    """Update id -> the model's score (ppm) just before that update was evaluated.

    ``before(u) = max(initial, new scores of updates accepted before u)`` over each model's
    ``UpdateEvaluated`` events in chain order, read as a column of the event index
    (:func:`hessian_common.chain.pages.scores_before`): no replay of the contract's events.
    """
    from hessian_common.chain import pages

    before: dict[int, int] = {}
    for mid in sorted(model_ids):
        before.update(pages.scores_before(repo, mid, int(repo.model(mid).initial_score)))
    return before


def my_submissions_page(
    journal: Journal,
    repo: Any | None,
    owner: str,
    cache: Any | None = None,
    number: int = 1,
    per_page: int | None = None,
    *,
    model_id: int | None = None,
) -> Any:
    """One page (``hessian_common.chain.pages.Page``) of :func:`my_submissions`, newest
    first (of one model's if ``model_id``): the journal is paged first, so only the page's
    submissions are read from the chain."""
    from hessian_common.chain import pages

    entries = journal.entries(owner=owner, model_id=model_id)
    page = pages.paginate(entries, number, per_page or pages.DEFAULT_PER_PAGE)
    rows = my_submissions(journal, repo, owner, cache, entries=page.items)
    return pages.Page(rows, page.number, page.per_page, page.total, page.requested)


def open_models_page(
    repo: Any,
    store: Any,
    number: int = 1,
    per_page: int | None = None,
    *,
    include_closed: bool = False,
) -> Any:
    """One page (``Page`` of :class:`OpenModel`) of :func:`list_open_models`, newest first:
    the ids from the chain's counts and ``ModelClosed`` events, then only the page's models
    read."""
    from hessian_common.chain import pages

    ids = pages.model_ids_page(
        repo, number, per_page or pages.DEFAULT_PER_PAGE, include_closed=include_closed
    )
    return ids.map(lambda mid: _model_view(repo, store, mid))


def my_submissions(
    journal: Journal,
    repo: Any | None,
    owner: str,
    cache: Any | None = None,
    *,
    entries: list[Entry] | None = None,
) -> list[MySubmission]:
    """This owner's submissions, newest first, with their chain status.

    Parameters
    ----------
    journal : Journal
        What this machine sent (the source of the list).
    repo : ModelRepository or None
        The chain; ``None`` when it is known to be down.
    owner : str
        The owner's address.
    cache : StatusCache, optional
        Where the last status read from the chain is kept
        (:class:`~hessian_common.owner_cache.StatusCache`). Each status read now is written to
        it; when the chain does not answer, a submission that reached the chain shows the
        cached status with ``known_at`` (the time it was read), or ``"unknown"`` if it was
        never read: never a status guessed from the journal. The reads here are always live
        (:func:`~hessian_common.chain.outage.fresh_reads`), so a web page's last-known
        answers never pass for fresh ones.
    entries : list of Entry, optional
        Only these journal entries (a page of them; default: all of the owner's).
    """
    from hessian_common.chain.outage import current_scope, fresh_reads

    out = []
    if entries is None:
        entries = journal.entries(owner=owner)
    before: dict[int, int] = {}
    confirmed = {e.model_id for e in entries if e.on_chain}
    known = cache.known() if cache is not None else {}
    seen: dict[Any, Any] = {}
    with fresh_reads():
        if repo is not None and confirmed:
            try:
                before = scores_before(repo, confirmed)
            except ChainError:
                repo = None
        for entry in entries:
            status = local_status(entry)
            if not entry.on_chain:
                out.append(MySubmission(entry, status))
                continue
            live = None
            if repo is not None:
                try:
                    live = _chain_status(repo, entry, before, seen)
                except ChainError:
                    repo = None  # down: the rest from the cache, no second timeout
            if live is not None:
                if cache is not None:
                    cache.save(
                        entry.id,
                        status=live.status,
                        update_id=entry.update_id,
                        score_before=live.score_before,
                        new_score=live.new_score,
                        reward=live.reward,
                        claimable=live.claimable,
                        stale=live.stale,
                    )
                out.append(live)
                continue
            last = known.get(entry.id)
            if last is None:
                out.append(MySubmission(entry, "unknown"))
            else:
                scope = current_scope()
                if scope is not None:  # the page says it shows a last known state
                    scope.served_stale(last.checked_at)
                out.append(
                    MySubmission(
                        entry,
                        last.status,
                        score_before=last.score_before,
                        new_score=last.new_score,
                        reward=last.reward,
                        claimable=last.claimable,
                        stale=last.stale,
                        known_at=last.checked_at,
                    )
                )
    return out


def _chain_status(
    repo: Any, entry: Entry, before: dict[int, int], seen: dict[Any, Any] | None = None
) -> MySubmission:
    """A confirmed entry's status read from the chain now (raises ``ChainError``).

    ``seen``: reads shared by the rows of one page (each model's state, the block time)."""
    sub = repo.submission(entry.update_id)
    chain_status = _enum_name(sub.status).upper()
    status = {"ACCEPTED": "accepted", "REJECTED": "rejected"}.get(
        chain_status, local_status(entry)
    )
    new_score = int(sub.new_score) if status in ("accepted", "rejected") else None
    return MySubmission(
        entry,
        status,
        new_score=new_score,
        score_before=before.get(int(entry.update_id)),
        reward=int(sub.reward),
        claimable=int(repo.share_of(entry.update_id)),
        stale=bool(sub.stale),
        reason=sub.reason.text if status == "rejected" and sub.reason else None,
        paid_gain=int(sub.gain),
        forfeitable=_forfeit_of(repo, sub, seen if seen is not None else {}),
    )


def _forfeit_of(repo: Any, sub: Any, seen: dict[Any, Any]) -> int:
    """:func:`forfeit_share` of a submission already read, the model and the time read once
    per page."""
    if sub.claimed:
        return 0
    key = ("model", int(sub.model_id))
    if key not in seen:
        seen[key] = repo.model(int(sub.model_id))
    info = seen[key]
    if info.revealed or not info.finalized:
        return 0
    if "now" not in seen:
        seen["now"] = int(repo.client.block_timestamp())
    if seen["now"] <= info.reveal_deadline:
        return 0
    pool = int(info.pool) if info.forfeited else int(info.remaining)
    return pool // max(1, int(info.submission_count))


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


def forfeit_share(repo: Any, update_id: int, now: int | None = None) -> int:
    """About what ``claim_forfeit(update_id)`` would credit now (0 when nothing): the lender let
    the reveal deadline pass, so what remained of the bounty is split equally among the
    model's submissions (the last claim takes the dust)."""
    sub = repo.submission(int(update_id))
    if sub.claimed:
        return 0
    info = repo.model(int(sub.model_id))
    now = int(repo.client.block_timestamp()) if now is None else int(now)
    if info.revealed or not info.finalized or now <= info.reveal_deadline:
        return 0
    pool = int(info.pool) if info.forfeited else int(info.remaining)
    return pool // max(1, int(info.submission_count))


def claim_forfeit(repo: Any, update_id: int) -> int:
    """Credit this submission's share of a forfeited bounty (then withdraw it)."""
    if not forfeit_share(repo, update_id):
        raise DataError(f"update #{update_id} has no share of a forfeited bounty to claim")
    return int(repo.claim_forfeit(update_id))


def claim_share(repo: Any, update_id: int) -> int:
    """Credit an accepted EQUAL / PRO_RATA_GAIN share after close (then withdraw it)."""
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
    "scores_before",
    "share",
    "submit",
    "update_params",
    "validate_for_model",
    "withdraw",
]
