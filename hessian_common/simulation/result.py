"""What a simulation run produced: per owner, per submission, per mechanism, and the summary.

Plain dataclasses, JSON-safe through :meth:`SimulationResult.to_dict`; the report writer and the
CLI read only these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hessian_common.simulation.lending import LendingOutcome

WEI_PER_ETH = 10**18


@dataclass
class OwnerOutcome:
    """One owner: who they are, what they sent, what their data was worth.

    ``loo`` and ``shapley`` are in AUC points (hold-out AUC differences), see
    :mod:`hessian_common.rewards.valuation`.
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

    ``status`` is ``accepted`` / ``rejected`` (by the lender's acceptance rule) or
    ``refused`` (the contract reverted ``submitUpdate``; ``error`` names the custom error).
    """

    arrival: int
    owner: int
    status: str
    update_id: int | None = None
    error: str | None = None
    new_score: float | None = None
    score_after: float = 0.0
    reward_wei: int = 0


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
                "initial_auc": run.initial_score,
                "target_auc": run.target_score,
                "final_auc": run.final_score,
                "accepted": run.count("accepted"),
                "rejected": run.count("rejected"),
                "refused_by_contract": run.count("refused"),
                "paid_by_kind_wei": {k: str(v) for k, v in by_kind.items()},
                "rewards_wei": {str(k): str(v) for k, v in sorted(run.rewards_wei.items())},
                "mirror_matches_chain": run.mirror_matches_chain,
            }
        replays = sum(
            1
            for s in main.submissions
            if s.status == "refused" and self.owner(s.owner).kind == "replay"
        )
        copies = [s for s in main.submissions if self.owner(s.owner).kind == "copy"]
        return {
            "owners": len(self.owners),
            "bad_owners": len(self.bad_indices()),
            "kinds": kinds,
            "mechanism": main.mechanism,
            "federated_auc": main.final_score,
            "centralized_auc": self.centralized_auc,
            "auc_ratio": auc_ratio,
            "bad_owner_share": self.bad_share(main),
            "replays_rejected": replays,
            "replays_attempted": kinds.get("replay", 0),
            "copies_refused_by_contract": sum(1 for s in copies if s.status == "refused"),
            "copies_attempted": len(copies),
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
            for s in run["submissions"]:
                s["reward_wei"] = str(s["reward_wei"])
        return d
