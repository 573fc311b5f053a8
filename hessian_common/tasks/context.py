"""What each step of the lender's workflow works with: :class:`TaskContext`.

The steps (:mod:`.task`, :mod:`.evaluate`, :mod:`.lifecycle`, :mod:`.audit`) take this small
object, not the :class:`~hessian_common.tasks.workflow.Lender` facade, so imports run one way:
``workflow`` -> steps -> ``context`` -> ``state``; no step imports the facade.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from hessian_common.chain.repository import ModelRepository
from hessian_common.store.base import ContentStore
from hessian_common.tasks.state import LocalModels
from hessian_common.types import Wei


@dataclass
class TaskContext:
    """The connections and local books of one lender on one ``ModelRepository``.

    Parameters
    ----------
    repo : ModelRepository
        Signs as the lender.
    store : ContentStore
    books : LocalModels
        Local records, sealed keys and hold-outs of this lender's models on ``repo``.
    workers : int or None
        Processes for encryption and decryption (``None``: one per core).
    lock : threading.RLock
        Serialises evaluations (the app's jobs, the auto-evaluation worker and a user's
        clicks cannot evaluate the same submission twice).
    """

    repo: ModelRepository
    store: ContentStore
    books: LocalModels
    workers: int | None = 1
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def chain_id(self) -> int:
        """The chain the repository is on."""
        return self.books.chain_id

    @property
    def contract(self) -> str:
        """The repository's address."""
        return str(self.repo.address)

    def balance(self) -> Wei:
        """The lender's account balance in wei."""
        return Wei(self.repo.client.balance())
