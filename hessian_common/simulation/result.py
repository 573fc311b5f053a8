"""What a simulation run produced: per owner, per submission, per model, per borrower.

Plain dataclasses, JSON-safe through ``to_dict``; the report writer and the CLI read only
these. The summary figures come from the pure tables (:mod:`.tables`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hessian_common.simulation import tables
from hessian_common.simulation.phases import WEI_PER_ETH

DAY = 86_400

__all__ = [
    "WEI_PER_ETH",
    "AuditOutcome",
    "BorrowerOutcome",
    "LendingOutcome",
    "MechanismOutcome",
    "OwnerOutcome",
    "SimulationResult",
    "SubmissionOutcome",
]


@dataclass
class OwnerOutcome:
    """One owner: who they are, what they sent, what their data was worth.

    ``loo`` and ``shapley`` are in AUC points (hold-out AUC differences), see
    :mod:`hessian_common.rewards.valuation`; owners whose submission carries no data of
    their own (``crash``, ``copy_other``, ``frontrun``, ``replay``, ``copy``) are not valued.
    """

    index: int
    name: str
    arrival: int
    kind: str
    victim: int | None
    address: str
    rows: int
    digest: str
    loo: float = 0.0
    shapley: float = 0.0
    shapley_stderr: float = 0.0

    @property
    def honest(self) -> bool:
        """True for an honest owner."""
        return self.kind == "honest"


@dataclass
class SubmissionOutcome:
    """One attempted submission to one model, in arrival order.

    ``status`` is ``accepted`` / ``rejected`` (by the lender, ``reason`` its code on chain),
    ``refused`` (the contract reverted ``submitUpdate``; ``error`` names the custom error) or
    ``idle`` (a front-runner that found nothing to copy).
    """

    arrival: int
    owner: int
    status: str
    update_id: int | None = None
    error: str | None = None
    new_score: float | None = None
    score_after: float = 0.0
    reward_wei: int = 0
    reason: str | None = None
    """The lender's reason code on chain (``accepted``, ``worse``, ``malformed``, ...)."""
    rows: int = 0
    """Rows declared on chain."""


@dataclass
class AuditOutcome:
    """The audit of one revealed model (:func:`hessian_common.tasks.audit.audit_model`)."""

    model_id: int
    ok: bool
    checked: int
    matched: int
    unverifiable: int
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    """Each mismatch: ``update_id``, ``label``, ``recorded``, ``recomputed``, ``evidence``."""
    notes: list[str] = field(default_factory=list)
    lies: list[dict[str, Any]] = field(default_factory=list)
    """What a lying lender did (``--lying-lender``): ``update_id``, ``lie``, ``truth``."""


@dataclass
class MechanismOutcome:
    """One model (one reward mechanism) run end to end on the chain."""

    mechanism: str
    model_id: int
    bounty_wei: int
    initial_score: float
    target_score: float
    final_score: float
    submissions: list[SubmissionOutcome] = field(default_factory=list)
    rewards_wei: dict[int, int] = field(default_factory=dict)
    withdrawn_wei: dict[int, int] = field(default_factory=dict)
    reclaimed_wei: int = 0
    mirror_wei: dict[str, dict[int, int]] = field(default_factory=dict)
    mirror_matches_chain: bool | None = None
    mirror_diffs: list[str] = field(default_factory=list)
    escrow_chain: dict[str, int] = field(default_factory=dict)
    escrow_mirror: dict[str, int] = field(default_factory=dict)
    audit: AuditOutcome | None = None
    min_gain_ppm: int = 0
    """The model's minimum paid gain (ppm)."""

    @property
    def history(self) -> list[float]:
        """Model score before any submission, then after each arrival."""
        return [self.initial_score] + [s.score_after for s in self.submissions]

    @property
    def paid_wei(self) -> int:
        """Total credited to owners on chain."""
        return sum(self.rewards_wei.values())

    def count(self, status: str) -> int:
        """Submissions with this status."""
        return sum(1 for s in self.submissions if s.status == status)


@dataclass
class BorrowerOutcome:
    """One simulated borrower, from application to the end of the loan.

    ``status``: ``declined`` / ``funded`` (approved, accepted, funded) / ``failed`` (the
    application could not be made, ``error`` says why). ``truth_default`` is the generator's
    ground truth (``Charged Off``). Amounts on chain are wei; ``amount`` is dollars.
    ``payments`` are ``[month, wei]`` pairs (month 1 = the first payment period after
    funding), the recovery included.
    """

    index: int
    address: str
    grade: str
    term: int
    amount: float
    truth_default: bool
    status: str = "failed"
    loan_id: int | None = None
    pd: float | None = None
    apr_bps: int = 0
    reason: str = ""
    error: str | None = None
    principal_wei: int = 0
    installment_wei: int = 0
    total_owed_wei: int = 0
    expected_return: float | None = None
    instalments_paid: int = 0
    defaulted: bool = False
    default_month: int | None = None
    recovery_wei: int = 0
    repaid_wei: int = 0
    chain_status: str = ""
    payments: list[list[int]] = field(default_factory=list)

    @property
    def funded(self) -> bool:
        """True when the lender funded the loan."""
        return self.status == "funded"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (wei as strings)."""
        d = asdict(self)
        for k in ("principal_wei", "installment_wei", "total_owed_wei", "recovery_wei"):
            d[k] = str(d[k])
        d["repaid_wei"] = str(d["repaid_wei"])
        d["payments"] = [[m, str(w)] for m, w in self.payments]
        return d


@dataclass
class LendingOutcome:
    """What the lending phase measured (see the module docstring)."""

    model_id: int
    mechanism: str
    loanbook: str
    policy: dict[str, Any]
    calibration: dict[str, Any]
    borrowers: list[BorrowerOutcome]
    expected_flows: list[float]
    """The pricing rule's expected portfolio cash flow (dollars) of month 1, 2, ... (funded
    loans only; month 0 is −Σ principal)."""
    payment_period: int = 30 * DAY
    default_after: int = 120 * DAY
    wei_per_dollar: int = 10**14
    gas: dict[str, dict[str, dict[str, int]]] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    months_simulated: int = 0
    chain_matches: bool | None = None
    lender_withdrawn_wei: int = 0

    @property
    def funded(self) -> list[BorrowerOutcome]:
        """The funded loans."""
        return [b for b in self.borrowers if b.funded]

    def realised_flows(self) -> list[float]:
        """Portfolio cash flow (dollars) of month 1, 2, ... from the on-chain repayments."""
        months = max((m for b in self.funded for m, _ in b.payments), default=0)
        flows = np.zeros(months)
        for b in self.funded:
            for m, wei in b.payments:
                flows[m - 1] += wei / self.wei_per_dollar
        return flows.tolist()

    def returns(self) -> dict[str, Any]:
        """Realised vs expected return of the funded loans (:func:`.tables.portfolio_returns`)."""
        return tables.portfolio_returns(
            self.funded,
            self.realised_flows(),
            self.expected_flows,
            self.wei_per_dollar,
            self.policy.get("required_return"),
        )

    def summary(self) -> dict[str, Any]:
        """The ``lending`` block of the run's ``--json`` summary."""
        applied = [b for b in self.borrowers if b.status != "failed"]
        funded = self.funded
        returns = self.returns()
        return {
            "model_id": self.model_id,
            "mechanism": self.mechanism,
            "loanbook": self.loanbook,
            "borrowers": len(self.borrowers),
            "applied": len(applied),
            "failed_applications": len(self.borrowers) - len(applied),
            "approved": len(funded),
            "approval_rate": len(funded) / len(applied) if applied else 0.0,
            "defaulted": sum(1 for b in funded if b.defaulted),
            "default_rate": (sum(1 for b in funded if b.defaulted) / len(funded))
            if funded
            else 0.0,
            "applicant_default_rate_truth": (
                sum(1 for b in applied if b.truth_default) / len(applied) if applied else 0.0
            ),
            "declined_default_rate_truth": tables.rate_of(
                [b.truth_default for b in applied if b.status == "declined"]
            ),
            "mean_pd_funded": tables.mean_of([b.pd for b in funded]),
            "mean_apr_funded": tables.mean_of([b.apr_bps / 10_000 for b in funded]),
            "returns": returns,
            "by_grade": tables.by_grade(self.borrowers),
            "pd_buckets_funded": tables.pd_buckets([b for b in funded]),
            "pd_buckets_applicants": tables.pd_buckets(applied, truth=True),
            "gas_mean_per_operation": tables.gas_means(self.gas),
            "months_simulated": self.months_simulated,
            "chain_matches": self.chain_matches,
            "phases_s": {k: round(v, 3) for k, v in self.phases.items()},
            "total_s": round(sum(self.phases.values()), 3),
            "policy": self.policy,
            "calibration": self.calibration,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe."""
        d = {k: v for k, v in asdict(self).items() if k != "borrowers"}
        d["borrowers"] = [b.to_dict() for b in self.borrowers]
        d["lender_withdrawn_wei"] = str(self.lender_withdrawn_wei)
        return d


@dataclass
class SimulationResult:
    """Everything a run measured."""

    scenario: dict[str, Any]
    owners: list[OwnerOutcome]
    runs: list[MechanismOutcome]
    centralized_auc: float
    centralized_history: list[float]
    gas: dict[str, dict[str, int]]
    phases: dict[str, float]
    conditions: dict[str, Any] = field(default_factory=dict)
    shapley_permutations: int = 0
    lending: LendingOutcome | None = None
    """The lending phase's measurements (``None`` when the run had no borrowers)."""

    def owner(self, index: int) -> OwnerOutcome:
        """The owner with this split index."""
        return next(o for o in self.owners if o.index == index)

    def bad_indices(self) -> set[int]:
        """Split indices of the misbehaving owners."""
        return {o.index for o in self.owners if not o.honest}

    def primary(self) -> MechanismOutcome:
        """The IMPROVEMENT run if there is one, else the first run."""
        return next((r for r in self.runs if r.mechanism == "improvement"), self.runs[0])

    def bad_share(self, run: MechanismOutcome) -> float:
        """Fraction of ``run``'s bounty credited to misbehaving owners."""
        bad = self.bad_indices()
        paid = sum(v for k, v in run.rewards_wei.items() if k in bad)
        return paid / run.bounty_wei if run.bounty_wei else 0.0

    def kind_shares(self, run: MechanismOutcome) -> dict[str, dict[str, Any]]:
        """Per owner kind (honest and each misbehaviour): owners, paid, share of the bounty
        and the largest single owner's share (:func:`.tables.share_by_kind`)."""
        kinds = {o.index: o.kind for o in self.owners}
        return tables.share_by_kind(kinds, run.rewards_wei, run.bounty_wei)

    def audit_mismatches(self) -> int:
        """Mismatches the audits found over every model (0 for an honest lender)."""
        return sum(len(r.audit.mismatches) for r in self.runs if r.audit is not None)

    def summary(self) -> dict[str, Any]:
        """The ``--json`` object: the headline figures and per-mechanism payouts."""
        main = self.primary()
        auc_ratio = main.final_score / self.centralized_auc if self.centralized_auc else 0.0
        kinds: dict[str, int] = {}
        for o in self.owners:
            kinds[o.kind] = kinds.get(o.kind, 0) + 1
        mechanisms = {}
        for run in self.runs:
            by_kind: dict[str, int] = {}
            for o in self.owners:
                by_kind[o.kind] = by_kind.get(o.kind, 0) + run.rewards_wei.get(o.index, 0)
            mechanisms[run.mechanism] = {
                "model_id": run.model_id,
                "bounty_wei": str(run.bounty_wei),
                "paid_wei": str(run.paid_wei),
                "paid_share": run.paid_wei / run.bounty_wei if run.bounty_wei else 0.0,
                "reclaimed_wei": str(run.reclaimed_wei),
                "bad_owner_share": self.bad_share(run),
                "share_by_kind": self.kind_shares(run),
                "initial_auc": run.initial_score,
                "target_auc": run.target_score,
                "final_auc": run.final_score,
                "min_gain_ppm": run.min_gain_ppm,
                "accepted": run.count("accepted"),
                "rejected": run.count("rejected"),
                "refused_by_contract": run.count("refused"),
                "rejections_by_reason": _reasons(run),
                "paid_by_kind_wei": {k: str(v) for k, v in by_kind.items()},
                "rewards_wei": {str(k): str(v) for k, v in sorted(run.rewards_wei.items())},
                "mirror_matches_chain": run.mirror_matches_chain,
                "escrow_chain": {k: str(v) for k, v in run.escrow_chain.items()},
                "audit": asdict(run.audit) if run.audit is not None else None,
            }
        kind_of = {o.index: o.kind for o in self.owners}
        attempts = {k: 0 for k in kinds}
        stopped = {k: 0 for k in kinds}  # refused by the contract or rejected by the lender
        for s in main.submissions:
            attempts[kind_of[s.owner]] += 1
            stopped[kind_of[s.owner]] += s.status in ("refused", "rejected")
        return {
            "owners": len(self.owners),
            "bad_owners": len(self.bad_indices()),
            "kinds": kinds,
            "mechanism": main.mechanism,
            "federated_auc": main.final_score,
            "centralized_auc": self.centralized_auc,
            "auc_ratio": auc_ratio,
            "bad_owner_share": self.bad_share(main),
            "share_by_kind": self.kind_shares(main),
            "max_bad_kind_share": max(
                (v["share"] for k, v in self.kind_shares(main).items() if k != "honest"),
                default=0.0,
            ),
            "audit_mismatches": self.audit_mismatches(),
            "audits_ok": all(r.audit.ok for r in self.runs if r.audit is not None),
            "stopped_by_kind": {k: stopped[k] for k in sorted(kinds) if k != "honest"},
            "attempts_by_kind": {k: attempts[k] for k in sorted(kinds) if k != "honest"},
            "replays_rejected": stopped.get("replay", 0),
            "replays_attempted": attempts.get("replay", 0),
            "copies_rejected": stopped.get("copy", 0),
            "copies_attempted": attempts.get("copy", 0),
            "phases_s": {k: round(v, 3) for k, v in self.phases.items()},
            "total_s": round(sum(self.phases.values()), 3),
            "gas": self.gas,
            "mechanisms": mechanisms,
            "shapley_permutations": self.shapley_permutations,
            "conditions": self.conditions,
            "scenario": self.scenario,
            "lending": self.lending.summary() if self.lending is not None else None,
        }

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-safe (wei as strings)."""
        d = asdict(self)
        d["lending"] = self.lending.to_dict() if self.lending is not None else None
        for run in d["runs"]:
            run["rewards_wei"] = {str(k): str(v) for k, v in run["rewards_wei"].items()}
            run["withdrawn_wei"] = {str(k): str(v) for k, v in run["withdrawn_wei"].items()}
            run["mirror_wei"] = {
                m: {str(k): str(v) for k, v in per.items()} for m, per in run["mirror_wei"].items()
            }
            run["bounty_wei"] = str(run["bounty_wei"])
            run["reclaimed_wei"] = str(run["reclaimed_wei"])
            run["escrow_chain"] = {k: str(v) for k, v in run["escrow_chain"].items()}
            run["escrow_mirror"] = {k: str(v) for k, v in run["escrow_mirror"].items()}
            for s in run["submissions"]:
                s["reward_wei"] = str(s["reward_wei"])
        return d


def _reasons(run: MechanismOutcome) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in run.submissions:
        if s.status == "rejected" and s.reason:
            out[s.reason] = out.get(s.reason, 0) + 1
    return dict(sorted(out.items()))
