"""The read side: the lender's models as the dashboard shows them.

Each view joins a local :class:`~hessian_common.tasks.state.ModelRecord` (what only the
lender knows: name, hold-out size, key size) with the chain's state of the model (scores in
ppm, amounts in wei, submissions, events). Nothing here writes or sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hessian_common.chain import ModelStatus, pages
from hessian_common.chain.repository import ModelRepository
from hessian_common.format import ETH, Currency
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
    currency: Currency = ETH
    """The model's currency (chain): bounty, deposit, rewards and reclaims are in it."""

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
    page: Any = None
    """The page of submissions shown (``hessian_common.chain.pages.Page`` of
    :class:`SubmissionRow`: number, total, first..last)."""
    evaluations: int = 0
    """Evaluations in all (the history shows the newest ``HISTORY_POINTS``)."""


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
        currency=info.currency,
    )


def model_detail(
    repo: ModelRepository, record: ModelRecord, page: int = 1, per_page: int | None = None
) -> ModelDetail:
    """The model page: summary, one page of submissions (newest first), rewards per owner
    (largest first), the score history of the newest evaluations, next stale time.

    Costs what the page shows (:mod:`hessian_common.chain.pages`): one struct read per
    submission on the page; the owners' totals, the scores and the queue are read as columns
    of the contract's events (an event index when the repository has one), never by
    replaying the history or reading every submission.
    """
    model_id = record.model_id
    info = repo.model(model_id)
    summary = summarize(record, info)
    local = {int(e["update_id"]): e for e in record.evaluations}
    subs = pages.submissions_page(repo, model_id, page, per_page or pages.DEFAULT_PER_PAGE)
    rows = []
    for s in subs.items:
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
    rewards = [
        OwnerRewards(t.owner, t.accepted, t.rows, t.paid)
        for t in pages.owner_totals(repo, model_id)
        if t.accepted
    ]
    events, evaluated = pages.score_history(repo, model_id)
    history = [HistoryPoint(0, summary.initial_score, True, "initial model")]
    first_step = evaluated - len(events) + 1
    for k, e in enumerate(events):
        history.append(
            HistoryPoint(
                step=first_step + k,
                score=from_ppm(int(e.args["newScore"])),
                accepted=bool(e.args["accepted"]),
                label=f"update #{int(e.args['updateId'])}",
                update_id=int(e.args["updateId"]),
            )
        )
    head = int(info.next_in_queue)
    next_stale = None
    if head:  # the queue's head is the oldest waiting submission
        next_stale = int(repo.submission(head).submitted_at) + int(info.evaluation_window)
    return ModelDetail(
        summary=summary,
        submissions=rows,
        rewards=rewards,
        history=history,
        next_stale=next_stale,
        page=pages.Page(rows, subs.number, subs.per_page, subs.total, subs.requested),
        evaluations=evaluated,
    )
