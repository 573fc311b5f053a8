"""The read side: the lender's models as the dashboard shows them.

Each view joins a local :class:`~hessian_common.tasks.state.ModelRecord` (what only the
lender knows: name, hold-out size, key size) with the chain's state of the model (scores in
ppm, amounts in wei, submissions, events). Nothing here writes or sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hessian_common.chain import ModelStatus, SubmissionStatus
from hessian_common.chain.repository import ModelRepository
from hessian_common.tasks.params import MECHANISM_LABELS, METRIC_LABELS, RULE_LABELS
from hessian_common.tasks.state import ModelRecord
from hessian_common.types import enum_name, from_ppm


@dataclass(frozen=True)
class LenderAccountSummary:
    """The lender's account as the dashboard shows it."""

    address: str
    balance: int
    pending: int
    chain_id: int
    contract: str
    key_source: str
    state_dir: str


@dataclass(frozen=True)
class ModelSummary:
    """One of the lender's models: local record joined with the chain state."""

    model_id: int
    name: str
    status: str
    """``open``, ``closed`` (submissions still waiting) or ``finalized``."""
    metric: str
    mechanism: str
    update_rule: str
    initial_score: float
    current_score: float
    target: float
    bounty: int
    remaining: int
    paid: int
    reclaimed: int
    waiting: int
    submissions: int
    accepted: int
    rejected: int
    deadline: int
    evaluation_window: int
    deposit: int
    revealed: bool
    forfeited: bool
    reveal_deadline: int
    min_gain: float
    stale_reward: int
    next_in_queue: int
    """The submission to evaluate next (0: none waits)."""
    can_reclaim: bool
    spec_cid: str
    current_model_cid: str
    test_set_cid: str
    commitment: str
    seed_rows: int
    holdout_rows: int
    key_size: int

    @property
    def metric_label(self) -> str:
        return METRIC_LABELS.get(self.metric, self.metric)

    @property
    def mechanism_label(self) -> str:
        return MECHANISM_LABELS.get(self.mechanism, self.mechanism)

    @property
    def update_rule_label(self) -> str:
        return RULE_LABELS.get(self.update_rule, self.update_rule)


@dataclass(frozen=True)
class SubmissionRow:
    """One submission as the model page lists it."""

    update_id: int
    owner: str
    rows: int
    submitted_at: int
    status: str
    stale: bool
    new_score: float | None
    score_change: float | None
    reward: int
    due: int
    update_cid: str
    reason: str = ""
    """Why it was rejected (empty otherwise)."""
    is_next: bool = False
    """The head of the model's queue: the one to evaluate (or reject) now."""
    paid_gain: float = 0.0


@dataclass(frozen=True)
class OwnerRewards:
    """What one owner earned from one model."""

    owner: str
    accepted: int
    rows: int
    paid: int


@dataclass(frozen=True)
class HistoryPoint:
    """The score after an evaluation (step 0: the initial model)."""

    step: int
    score: float
    accepted: bool
    label: str
    update_id: int = 0


@dataclass(frozen=True)
class ModelDetail:
    """Everything on a model page."""

    summary: ModelSummary
    submissions: list[SubmissionRow]
    rewards: list[OwnerRewards]
    history: list[HistoryPoint]
    next_stale: int | None
    """When the oldest waiting submission may be settled without the lender (unix time)."""


def summarize(record: ModelRecord, info: Any) -> ModelSummary:
    """Join a local record with the chain's view of the model (a ``ModelInfo``)."""
    if info.status == ModelStatus.OPEN:
        status = "open"
    else:
        status = "finalized" if info.finalized else "closed"
    return ModelSummary(
        model_id=record.model_id,
        name=record.name,
        status=status,
        metric=enum_name(info.metric),
        mechanism=enum_name(info.mechanism),
        update_rule=str(record.params.get("update_rule", "")),
        initial_score=from_ppm(info.initial_score),
        current_score=from_ppm(info.current_score),
        target=from_ppm(info.target_score),
        bounty=int(info.bounty),
        remaining=int(info.remaining),
        paid=int(info.paid),
        reclaimed=int(info.reclaimed),
        waiting=int(info.waiting_count),
        submissions=int(info.submission_count),
        accepted=int(info.accepted_count),
        rejected=int(info.rejected_count),
        deadline=int(info.deadline),
        evaluation_window=int(info.evaluation_window),
        deposit=int(info.submission_deposit),
        revealed=bool(info.revealed),
        forfeited=bool(info.forfeited),
        reveal_deadline=int(info.reveal_deadline),
        min_gain=from_ppm(info.min_gain),
        stale_reward=int(info.stale_reward),
        next_in_queue=int(info.next_in_queue),
        can_reclaim=bool(info.finalized and info.revealed and info.remaining > 0),
        spec_cid=str(info.spec_cid),
        current_model_cid=str(info.model_cid),
        test_set_cid=record.test_set_cid,
        commitment=record.commitment,
        seed_rows=record.seed_rows,
        holdout_rows=record.holdout_rows,
        key_size=int(record.params.get("key_size", 0)),
    )


def model_detail(repo: ModelRepository, record: ModelRecord) -> ModelDetail:
    """The model page: summary, submissions (newest first), rewards per owner (largest
    first), score history from the ``UpdateEvaluated`` events, next stale time."""
    model_id = record.model_id
    info = repo.model(model_id)
    summary = summarize(record, info)
    local = {int(e["update_id"]): e for e in record.evaluations}
    rows, owners = [], {}
    for s in repo.submissions(model_id):
        status = enum_name(s.status)
        ev = local.get(s.update_id)
        change = None
        if ev is not None and status != "waiting":
            change = float(ev["score"]) - float(ev["previous_score"])
        rows.append(
            SubmissionRow(
                update_id=s.update_id,
                owner=s.owner,
                rows=int(s.rows),
                submitted_at=int(s.submitted_at),
                status=status,
                stale=bool(s.stale),
                new_score=from_ppm(s.new_score) if status != "waiting" else None,
                score_change=change,
                reward=int(s.reward),
                due=int(s.submitted_at) + int(info.evaluation_window),
                update_cid=str(s.update_cid),
                reason=s.reason.text if s.reason is not None and status == "rejected" else "",
                is_next=s.update_id == int(info.next_in_queue),
                paid_gain=from_ppm(s.gain),
            )
        )
        if s.status == SubmissionStatus.ACCEPTED:
            o = owners.setdefault(s.owner, [0, 0, 0])
            o[0] += 1
            o[1] += int(s.rows)
            o[2] += int(s.reward)
    rewards = [OwnerRewards(k, v[0], v[1], v[2]) for k, v in owners.items()]
    rewards.sort(key=lambda r: -r.paid)
    history = [HistoryPoint(0, summary.initial_score, True, "initial model")]
    for e in repo.events():
        if e.name != "UpdateEvaluated" or int(e.args["modelId"]) != model_id:
            continue
        history.append(
            HistoryPoint(
                step=len(history),
                score=from_ppm(int(e.args["newScore"])),
                accepted=bool(e.args["accepted"]),
                label=f"update #{int(e.args['updateId'])}",
                update_id=int(e.args["updateId"]),
            )
        )
    waiting_due = [r.due for r in rows if r.status == "waiting"]
    return ModelDetail(
        summary=summary,
        submissions=list(reversed(rows)),
        rewards=rewards,
        history=history,
        next_stale=min(waiting_due) if waiting_due else None,
    )
