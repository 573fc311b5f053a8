"""Submitting through the local journal: the journal entry first, then one worker step
(``submitUpdate`` on chain, then the blob to the store; see :mod:`hessian_common.journal`),
and :func:`share`, the whole flow for one file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hessian_common.chain.repository import ModelRepository
from hessian_common.errors import ChainUnavailable, DataError
from hessian_common.journal import (
    Entry,
    Journal,
    RepositorySource,
    State,
    repository_from,
    retry_pending,
)
from hessian_common.owner.check import (
    already_submitted,
    check_can_submit,
    check_row_reuse,
    row_pseudonyms,
    validate_for_model,
)
from hessian_common.owner.models import OpenModel, get_model
from hessian_common.owner.update import current_weights, prepare_update
from hessian_common.progress import Progress, no_progress
from hessian_common.store.base import ContentStore


def submit(
    journal: Journal,
    store: ContentStore,
    repo: RepositorySource | None,
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


def resolve_repository(source: RepositorySource | None) -> ModelRepository | None:
    """The repository ``source`` names (:func:`~hessian_common.journal.repository_from`), or
    ``None`` when there is none or the chain is down."""
    if source is None:
        return None
    try:
        return repository_from(source)
    except ChainUnavailable:
        return None


def share(
    journal: Journal,
    store: ContentStore,
    repo: RepositorySource | None,
    *,
    model: OpenModel | int,
    path: str | Path,
    account: Any,
    label: str = "",
    params: dict[str, Any] | None = None,
    progress: Progress | None = None,
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
    report = progress or no_progress
    report(done=0, total=8, message="reading the model")
    live = resolve_repository(repo)
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


def _entry_sentence(entry: Entry) -> str:
    if entry.state is State.PUBLISHED:
        return f"submitted as update #{entry.update_id}"
    if entry.state is State.CONFIRMED:
        return (
            f"submitted as update #{entry.update_id}; publishing the update to the store (retried)"
        )
    if entry.state is State.FAILED:
        return f"refused: {entry.last_error}"
    return f"saved in the journal; waiting for the {entry.waiting_on or 'network'} (retried)"
