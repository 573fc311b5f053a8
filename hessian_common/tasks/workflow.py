"""The :class:`Lender` facade: one object the apps, the CLI and the simulation hold.

It owns the connections (repository, store), the local books (:class:`LocalModels`) and the
evaluation lock, and delegates each operation to the module that does it: :mod:`.task`,
:mod:`.evaluate`, :mod:`.lifecycle`, :mod:`.audit`, :mod:`.summaries`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hessian_common.chain import ChainClient, ModelRepository, open_repository
from hessian_common.chain.client import chain_id_of
from hessian_common.errors import ConfigError
from hessian_common.progress import Progress
from hessian_common.store.base import ContentStore
from hessian_common.tasks import audit as _audit
from hessian_common.tasks import evaluate as _evaluate
from hessian_common.tasks import lifecycle as _lifecycle
from hessian_common.tasks import state as _state
from hessian_common.tasks import summaries as _summaries
from hessian_common.tasks import task as _task
from hessian_common.tasks.audit import AuditReport
from hessian_common.tasks.context import TaskContext
from hessian_common.tasks.evaluate import EvaluationResult
from hessian_common.tasks.params import TaskParams
from hessian_common.tasks.state import LenderState, LocalModels, ModelRecord
from hessian_common.tasks.summaries import LenderAccountSummary, ModelDetail, ModelSummary
from hessian_common.types import CID, Wei


class Lender:
    """The lender's side of the protocol on one deployed ``ModelRepository``.

    Build with :meth:`open` (from a ``Web3``) or directly from a
    :class:`~hessian_common.chain.ModelRepository` whose client signs as the lender.
    Evaluations are serialised (one lock), so the app's background jobs, the auto-evaluation
    worker and a user's clicks cannot evaluate the same submission twice.

    Parameters
    ----------
    repo : ModelRepository
    store : ContentStore
    state : LenderState
    passphrase : str
        Opens the sealed Paillier private keys; kept in memory only.
    key_source : str
        How the Ethereum account was obtained (shown to the user; never the key).
    workers : int or None
        Processes for encryption and decryption (``None``: one per core).
    """

    def __init__(
        self,
        repo: ModelRepository,
        store: ContentStore,
        state: LenderState,
        passphrase: str,
        key_source: str = "keystore",
        workers: int | None = 1,
    ):
        self.state = state
        self.key_source = key_source
        books = LocalModels(state, int(repo.client.chain_id), repo.address, passphrase, store)
        self.ctx = TaskContext(repo, store, books, workers)
        """What the steps work with (:class:`~hessian_common.tasks.context.TaskContext`)."""

    @property
    def repo(self) -> ModelRepository:
        """The ``ModelRepository``, signing as the lender."""
        return self.ctx.repo

    @property
    def store(self) -> ContentStore:
        """The content store."""
        return self.ctx.store

    @property
    def books(self) -> LocalModels:
        """The local records, keys and hold-outs."""
        return self.ctx.books

    @property
    def workers(self) -> int | None:
        """Processes for encryption and decryption (``None``: one per core)."""
        return self.ctx.workers

    @property
    def chain_id(self) -> int:
        """The chain id."""
        return self.ctx.chain_id

    @property
    def contract(self) -> str:
        """The repository's address."""
        return self.ctx.contract

    def __repr__(self) -> str:  # never shows the passphrase
        return f"Lender({self.address}, chain {self.chain_id}, contract {self.contract})"

    @classmethod
    def open(
        cls,
        w3: Any,
        store: ContentStore,
        *,
        state_root: Path | None = None,
        settings: Any = None,
        contract_address: str | None = None,
        dev_index: int | None = None,
        passphrase: str | None = None,
        account: Any = None,
    ) -> Lender:
        """Connect the lender: passphrase, account, contract (deployment record or address).

        Raises ``ChainUnavailable`` (naming the node) if the chain cannot be reached.
        """
        chain_id = chain_id_of(w3)
        secret = _state.resolve_passphrase(chain_id, passphrase)
        state = LenderState(state_root)
        state.ensure()
        if account is not None:
            source = "given account"
        elif dev_index is not None:
            if chain_id not in _state.LOCAL_CHAIN_IDS:
                raise ConfigError(
                    f"dev accounts are for local demo chains only, not chain {chain_id}"
                )
            account = _state.lender_account(state, secret, dev_index=int(dev_index))
            source = f"dev account {int(dev_index)} (local demo chain)"
        else:
            account = _state.lender_account(state, secret)
            source = f"encrypted keystore {state.keystore_path}"
        client = ChainClient(w3, account)
        if contract_address:
            repo = ModelRepository(client, contract_address)
        else:
            deployments = getattr(settings, "deployments_dir", None)
            repo = open_repository(client, deployments)
        return cls(repo, store, state, secret, key_source=source)

    # ------------------------------------------------------------ account

    @property
    def address(self) -> str:
        """The lender's Ethereum address."""
        return self.repo.client.address

    def balance(self) -> Wei:
        """The account balance in wei."""
        return self.ctx.balance()

    def account_summary(self) -> LenderAccountSummary:
        """Address, balance, withdrawable credit, chain and contract."""
        return LenderAccountSummary(
            address=self.address,
            balance=self.balance(),
            pending=self.repo.pending(),
            chain_id=self.chain_id,
            contract=self.contract,
            key_source=self.key_source,
            state_dir=str(self.state.root),
        )

    def withdraw(self) -> Wei:
        """Withdraw the lender's pending credit (reclaimed bounty)."""
        return _lifecycle.withdraw(self.ctx)

    # ------------------------------------------------------------ create

    def create_task(self, params: TaskParams, progress: Progress | None = None) -> ModelRecord:
        """Post a training task (:func:`hessian_common.tasks.task.create_task`)."""
        return _task.create_task(self.ctx, params, progress)

    # ------------------------------------------------------------ local records

    def record(self, model_id: int) -> ModelRecord:
        """The local record of one of this lender's models (:class:`ConfigError` if none)."""
        return self.books.record(model_id)

    def has_record(self, model_id: int) -> bool:
        """Whether this lender keeps a record (and key) for ``model_id``."""
        return self.books.has(model_id)

    def records(self) -> list[ModelRecord]:
        """All local records on this contract, by model id."""
        return self.books.records()

    def _dir(self, model_id: int) -> Path:
        return self.books.dir(model_id)

    def _private_key(self, model_id: int) -> Any:
        return self.books.private_key(model_id)

    def _holdout(self, model_id: int) -> tuple[np.ndarray, np.ndarray]:
        return self.books.holdout(model_id)

    # ------------------------------------------------------------ reads for the dashboard

    def summary(self, record: ModelRecord, info: Any | None = None) -> ModelSummary:
        """Join a local record with the chain's view of the model."""
        return _summaries.summarize(record, info or self.repo.model(record.model_id))

    def models(self) -> list[ModelSummary]:
        """This lender's models (those with a local record), newest first."""
        return [self.summary(r) for r in reversed(self.records())]

    def model(self, model_id: int) -> ModelDetail | None:
        """The model page's data, or None if ``model_id`` is not one of this lender's."""
        if not self.has_record(model_id):
            return None
        return _summaries.model_detail(self.repo, self.record(model_id))

    def waiting(self, model_id: int | None = None) -> list[int]:
        """Ids of submissions waiting for this lender's evaluation, oldest first."""
        ids = [model_id] if model_id is not None else self.books.model_ids()
        return _evaluate.waiting(self.repo, ids)

    def model_of_update(self, update_id: int) -> int:
        """The model a submission belongs to."""
        return int(self.repo.submission(update_id).model_id)

    # ------------------------------------------------------------ evaluate

    def evaluate_submission(
        self, update_id: int, progress: Progress | None = None
    ) -> EvaluationResult:
        """Evaluate one submission (:func:`hessian_common.tasks.evaluate.evaluate_submission`),
        one at a time."""
        return _evaluate.evaluate_submission(self.ctx, update_id, progress)

    def reject_submission(self, update_id: int, note: str) -> EvaluationResult:
        """Reject the head submission of its model by hand, with a note
        (:func:`hessian_common.tasks.evaluate.reject_submission`)."""
        return _evaluate.reject_submission(self.ctx, update_id, note)

    def evaluate_all_waiting(
        self, model_id: int | None = None, progress: Progress | None = None
    ) -> list[EvaluationResult]:
        """Evaluate every waiting submission (of ``model_id``, or of all this lender's
        models), oldest first, so each is scored against the model its predecessors made."""
        return _evaluate.evaluate_all_waiting(self.ctx, model_id, progress)

    # ------------------------------------------------------------ close, reclaim, reveal

    def close(self, model_id: int) -> None:
        """Close the model to new submissions (``closeModel``)."""
        _lifecycle.close(self.ctx, model_id)

    def reclaim(self, model_id: int) -> Wei:
        """Credit the unallotted bounty back to the lender (then :meth:`withdraw`)."""
        return _lifecycle.reclaim(self.ctx, model_id)

    def reveal_test_set(self, model_id: int) -> CID:
        """Publish the hold-out and the decryption transcript, then ``revealTestSet`` on chain
        (:func:`hessian_common.tasks.lifecycle.reveal_test_set`)."""
        return _lifecycle.reveal_test_set(self.ctx, model_id)

    def audit(self, model_id: int) -> AuditReport:
        """:func:`audit_model` of one of this lender's revealed models (what anyone sees)."""
        self.record(model_id)
        return _audit.audit_model(self.repo, self.store, model_id)
