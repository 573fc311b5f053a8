"""A model to deploy, trained in one process through the real protocol.

What the demo's deployed models and the insurance simulation need: a task created by the
lender (or insurer) from its own file, one encrypted update from each owner's file sent
through the owner workflow (each owner's own journal and account, as its app would do:
``enc(w') = P·enc(w) + q`` on the chain's current model), every update evaluated by the
lender on its hold-out, and the task closed, ready for ``deployModel``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hessian_common.chain import ChainClient
from hessian_common.journal import Journal
from hessian_common.owner import share


def train_with_owner_files(
    lender: Any,
    params: Any,
    owners: Iterable[tuple[Path, Any]],
    state_root: Path,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Create the task of ``params``, share each ``(file, account)`` of ``owners`` as its
    owner, evaluate every update, close the task; the closed model's id.

    ``state_root/owner-<k>/journal.sqlite`` is owner ``k``'s journal (k from 1). Each account
    must hold gas money (and the task's deposit, if any).
    """
    say = progress or (lambda _m: None)
    record = lender.create_task(params)
    model_id = int(record.model_id)
    w3 = lender.repo.client.w3
    for k, (path, account) in enumerate(owners, start=1):
        state = Path(state_root) / f"owner-{k}"
        state.mkdir(parents=True, exist_ok=True)
        say(f"owner {k} shares {Path(path).name}")
        share(
            Journal(state / "journal.sqlite"),
            lender.store,
            lender.repo.as_account(ChainClient(w3, account)),
            model=model_id,
            path=path,
            account=account,
            label=Path(path).name,
        )
    say("evaluating the updates")
    lender.evaluate_all_waiting(model_id)
    lender.close(model_id)
    return model_id


__all__ = ["train_with_owner_files"]
