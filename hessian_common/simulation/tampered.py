"""The misbehaving owners' tampered clients: what each kind sends instead of the honest flow.

An honest owner runs the owner workflow (:func:`hessian_common.owner.share`: validate, replay
checks, encrypted update, journal, ``submitUpdate``, store). A misbehaving owner of a
*tampered* kind (:data:`.misbehave.TAMPERED`) skips the honest client's checks and calls the
contract directly, so it is the contract and the lender's evaluation that have to stop it:

- ``replay`` / ``copy``: an update computed from the victim's rows (same file, or reshuffled),
  signed by the attacker; the rows' pseudonyms repeat the victim's;
- ``crash``: the CID of a deeply nested blob, or a string that is no CID;
- ``copy_other``: the victim's update blob re-signed by the attacker (same ciphertexts);
- ``inflate_rows``: an update computed on its rows repeated :data:`.misbehave.INFLATE_FACTOR`
  times, claiming that many rows, with random pseudonyms padding its real ones;
- ``frontrun``: :class:`FrontRunner` wraps the victim's repository; when the victim sends
  ``submitUpdate``, the attacker sends the same (CID, digest, rows) first.

Every function returns what happened as a :class:`~.result.SubmissionOutcome` and never raises
for a refusal by the contract (the custom error is recorded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from eth_account.signers.local import LocalAccount

from hessian_common import owner as owner_flow
from hessian_common.chain.repository import ModelRepository, Submitted
from hessian_common.data.loader import LoadedData
from hessian_common.errors import ContractRevert, HessianError
from hessian_common.journal import Journal
from hessian_common.learning.spec import UpdateBlob
from hessian_common.simulation import misbehave
from hessian_common.simulation.data import OwnerData
from hessian_common.simulation.result import SubmissionOutcome
from hessian_common.untrusted import MAX_BYTES, fetch

NOT_A_CID = "bafy-this-is-not-a-cid"
"""What the second ``crash`` owner submits as its update CID."""


@dataclass
class OwnerSide:
    """One simulated owner: plan and data, key, journal, repository signing as it."""

    data: OwnerData
    account: LocalAccount
    repo: ModelRepository
    journal: Journal

    @property
    def plan(self) -> Any:
        """The owner's :class:`~.scenario.OwnerPlan`."""
        return self.data.plan


def honest_turn(
    side: OwnerSide, store: Any, model_id: int, params: dict[str, float] | None
) -> SubmissionOutcome:
    """The owner workflow (:func:`hessian_common.owner.share`), as the data-owner app runs it."""
    plan = side.plan
    sub = SubmissionOutcome(plan.arrival, plan.index, "refused", rows=side.data.loaded.rows)
    try:
        entry = owner_flow.share(
            side.journal,
            store,
            side.repo,
            model=model_id,
            path=side.data.path,
            account=side.account,
            label=plan.name,
            params=params,
        )
    except HessianError as exc:
        sub.error = f"{type(exc).__name__}: {exc}"
        return sub
    if entry.update_id is not None:
        sub.update_id, sub.status = int(entry.update_id), "waiting"
    else:
        sub.error = entry.last_error or str(entry.state)
    return sub


def tampered_turn(
    side: OwnerSide,
    victim: OwnerSide | None,
    store: Any,
    model_id: int,
    params: dict[str, float] | None,
) -> SubmissionOutcome:
    """What a tampered client of ``side``'s kind sends to ``model_id`` (module docstring).

    ``frontrun`` sends nothing of its own here: it is idle until its victim submits
    (:class:`FrontRunner`).
    """
    plan = side.plan
    sub = SubmissionOutcome(plan.arrival, plan.index, "idle", rows=side.data.loaded.rows)
    if plan.kind == "frontrun":
        sub.error = "waiting for the next honest submission" if victim else "nobody to copy"
        return sub
    loaded = side.data.loaded
    rows, digest = int(loaded.rows), loaded.digest()
    if plan.kind == "crash":
        nested = plan.variant % 2 == 0  # alternate: a deeply nested blob, or no CID at all
        cid = str(store.put(b"[" * misbehave.DEEP_NESTING)) if nested else NOT_A_CID
    elif plan.kind == "copy_other":
        if victim is None:
            sub.error = "nobody to copy"
            return sub
        blob = _victim_blob(victim, store, model_id)
        if blob is None:
            sub.error = "the victim has no update for this model"
            return sub
        mine = replace(blob, owner=side.account.address, signature="").sign(side.account)
        cid, rows, digest = str(store.put(mine.to_bytes())), blob.rows, blob.dataset_digest
    else:  # replay, copy, inflate_rows: an update of the attacker's own making
        factor = misbehave.INFLATE_FACTOR if plan.kind == "inflate_rows" else 1
        blob = _own_blob(side, store, model_id, params, factor)
        cid, rows = str(store.put(blob.to_bytes())), blob.rows
    sub.rows = int(rows)
    return _send(sub, lambda: side.repo.submit(model_id, cid, digest, int(rows)))


def _send(sub: SubmissionOutcome, submit: Callable[[], Submitted]) -> SubmissionOutcome:
    try:
        sub.update_id, sub.status = int(submit().update_id), "waiting"
    except ContractRevert as exc:
        sub.status, sub.error = "refused", exc.error_name or str(exc)
    return sub


def _victim_blob(victim: OwnerSide, store: Any, model_id: int) -> UpdateBlob | None:
    """The victim's last update blob for ``model_id`` (public: CID on chain, blob in store)."""
    mine = [
        s
        for s in victim.repo.submissions(model_id)
        if str(s.owner).lower() == victim.account.address.lower()
    ]
    if not mine:
        return None
    model = owner_flow.get_model(victim.repo, store, model_id)
    raw = fetch(store, str(mine[-1].update_cid), what="update", max_bytes=MAX_BYTES["update"])
    return UpdateBlob.from_bytes(raw, model.spec)


@dataclass(frozen=True)
class _Inflated:
    """An owner's rows repeated ``factor`` times, with its own digest and padded pseudonyms
    (what :func:`hessian_common.owner.prepare_update` reads of a data set)."""

    base: LoadedData
    factor: int

    @property
    def features(self) -> pd.DataFrame:
        return pd.concat([self.base.features] * self.factor, ignore_index=True)

    @property
    def y(self) -> np.ndarray:
        return np.tile(np.asarray(self.base.y), self.factor)

    def digest(self) -> bytes:
        return self.base.digest()

    def row_pseudonyms(self, salt: bytes) -> list[bytes]:
        real = self.base.row_pseudonyms(salt)
        rng = np.random.default_rng(list(self.base.digest()))
        pad = rng.integers(0, 256, size=(len(real) * (self.factor - 1), 8), dtype=np.uint8)
        return real + [bytes(row) for row in pad]


def _own_blob(
    side: OwnerSide, store: Any, model_id: int, params: dict[str, float] | None, factor: int
) -> UpdateBlob:
    """A signed update on the current model from the owner's file (rows ``× factor``)."""
    model = owner_flow.get_model(side.repo, store, model_id)
    validation = owner_flow.validate_for_model(side.data.path, model.spec)
    data = validation.data if factor == 1 else _Inflated(validation.data, factor)
    current, base_cid = owner_flow.current_weights(store, model)
    return owner_flow.prepare_update(
        model.spec,
        current,
        data,
        model_id=model_id,
        base_cid=base_cid,
        account=side.account,
        chain_id=model.chain_id,
        contract=model.contract,
        params=params,
        accepted_rows=model.accepted_rows,
    )


class FrontRunner:
    """The victim's repository as a mempool watcher sees it: every ``submit`` the victim sends
    is first sent, with the same arguments, from the attacker's account.

    ``on_copy(model_id, update_id, error)`` is told what the attacker's copy got. Everything
    else is the victim's repository.
    """

    def __init__(
        self,
        victim: ModelRepository,
        attacker: ModelRepository,
        on_copy: Callable[[int, int | None, str | None], None],
    ) -> None:
        self._victim = victim
        self._attacker = attacker
        self._on_copy = on_copy

    def submit(
        self,
        model_id: int,
        update_cid: str,
        dataset_digest: bytes | str,
        rows: int,
        min_stale_reserve: int = 0,
    ) -> Submitted:
        """The attacker's copy first, then the victim's own ``submitUpdate``."""
        try:
            copy = self._attacker.submit(model_id, update_cid, dataset_digest, rows)
            self._on_copy(model_id, int(copy.update_id), None)
        except ContractRevert as exc:
            self._on_copy(model_id, None, exc.error_name or str(exc))
        return self._victim.submit(model_id, update_cid, dataset_digest, rows, min_stale_reserve)

    def submit_update(
        self,
        model_id: int,
        update_cid: str,
        dataset_digest: bytes | str,
        rows: int,
        min_stale_reserve: int = 0,
    ) -> int:
        """:meth:`submit`, returning the victim's update id."""
        return self.submit(model_id, update_cid, dataset_digest, rows, min_stale_reserve).update_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._victim, name)
