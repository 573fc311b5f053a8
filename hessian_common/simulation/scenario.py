"""A simulation scenario: who the owners are, who misbehaves, in which order they arrive.

A :class:`Scenario` only stores and validates the knobs; :func:`plan_owners` turns it into the
cast, deterministically from ``seed``:

- owners arrive in a random order (``arrival``); the first to arrive is always honest;
- ``bad`` of them misbehave; kinds are handed out round-robin from ``bad_kinds``;
- a ``replay``, ``copy`` or ``copy_other`` owner reuses the data (or the update) of an honest
  owner who arrived earlier (the *victim*); a ``frontrun`` owner copies the next honest owner
  to arrive after it that nobody else watches (it came last: an honest owner nobody watches;
  it acts when its victim sends, wherever it stands in the order).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from hessian_common.errors import ConfigError, LendingInputError
from hessian_common.lending.pricing import PricingPolicy
from hessian_common.rewards.mechanisms import Mechanism
from hessian_common.simulation.misbehave import KINDS, NEEDS_VICTIM, parse_kinds

PARTITIONS = ("iid", "state", "grade")


@dataclass(frozen=True)
class Scenario:
    """Every knob of a simulation run.

    Attributes
    ----------
    owners : int
        Number of data owners (>= 2).
    bad : int
        How many of them misbehave (0 <= bad < owners).
    partition : str
        How honest data is split among owners: ``iid``, ``state`` or ``grade`` (skewed).
    mechanisms : tuple of Mechanism
        Reward mechanisms run on chain (one model each, same owners and data).
    bad_kinds : tuple of str
        Misbehaviours handed out round-robin (see :mod:`.misbehave`).
    rows : int
        Loans generated in total (owners + lender seed + lender hold-out).
    seed : int
        Seeds the data, the cast, the arrival order and the Shapley permutations.
    key_bits : int
        Paillier modulus size (2048 by default; smaller keys make tests fast).
    bounty_eth : float
        Bounty escrowed per model.
    target : float or None
        Target score of each model; ``None`` = the centralized baseline's AUC + ``target_margin``
        (so the model stays open for every owner and most of an IMPROVEMENT bounty is used).
    tiny_rows : int
        Rows in a ``tiny`` owner's data set.
    shapley_permutations : int
        Upper bound on Monte-Carlo Shapley permutations (0 skips the valuation).
    update_rule : str
        The model's update rule (``gradient``, ``epochs`` or ``newton``).
    hyper : dict
        Its hyper-parameters over the learning room's defaults (``lr``, ``epochs``, ``mu``).
        ``mu = 0.5`` by default: a proximal Newton step moves part way to each owner's own
        optimum, which survives the strict acceptance rule far more often than ``mu = 0.05``
        (measured on 50 owners: AUC ratio 0.990 against 0.964).
    owners_pass_model_rows : bool
        Newton rule: each owner's step weighs its rows against the rows the current model
        holds (the spec's ``seed_rows`` + the contract's ``acceptedRows`` when it computes
        its update; the owner workflow's own rule, :func:`hessian_common.owner.update_params`,
        as in the apps), so its step is the recursive least-squares one
        (:func:`hessian_common.learning.updates.proximal_newton`), weighed against everything
        the model has seen instead of a fixed trust region. On by default: with it, 50
        owners of 280 rows reach >= 0.99 of the centralized AUC (docs/simulation/README.md).
        Off: owners override ``model_rows = 0`` (the plain ``μ`` step).
    borrowers : int
        Borrowers of the lending phase (:mod:`.lending`) run after training on the primary
        model (IMPROVEMENT if it ran, else the first mechanism's); 0 = no lending phase.
    lending_policy : dict
        Overrides of the lender's :class:`~hessian_common.lending.pricing.PricingPolicy`
        (``required_return``, ``max_apr_bps``, ``max_pd``, ``recovery_rate``, ...).
    """

    owners: int = 10
    bad: int = 2
    partition: str = "iid"
    mechanisms: tuple[Mechanism, ...] = (Mechanism.IMPROVEMENT,)
    bad_kinds: tuple[str, ...] = KINDS
    rows: int = 20_000
    seed: int = 7
    key_bits: int = 2048
    bounty_eth: float = 10.0
    target: float | None = None
    target_margin: float = 0.01
    tiny_rows: int = 20
    seed_fraction: float = 0.06
    holdout_fraction: float = 0.24
    shapley_permutations: int = 100
    update_rule: str = "newton"
    hyper: dict = field(default_factory=lambda: {"mu": 0.5})
    owners_pass_model_rows: bool = True
    borrowers: int = 200
    lending_policy: dict = field(default_factory=dict)
    lying_lender: bool = False
    """The lender lies (:mod:`.lying`): it rejects the first update it would pay as worse, and
    records an inflated score for the next one it accepts; the audit after the reveal must
    name both."""

    def __post_init__(self) -> None:
        if self.owners < 2:
            raise ConfigError(f"--owners must be at least 2, not {self.owners}")
        if not 0 <= self.bad < self.owners:
            raise ConfigError(
                f"--bad must be between 0 and owners-1 ({self.owners - 1}), not {self.bad}"
            )
        if self.partition not in PARTITIONS:
            raise ConfigError(f"--partition must be one of {PARTITIONS}, not {self.partition!r}")
        if not self.mechanisms:
            raise ConfigError("at least one reward mechanism is needed")
        object.__setattr__(self, "mechanisms", tuple(Mechanism.parse(m) for m in self.mechanisms))
        object.__setattr__(self, "bad_kinds", parse_kinds(self.bad_kinds))
        if self.key_bits < 256 or self.key_bits % 8:
            raise ConfigError(f"--key-bits must be a multiple of 8, >= 256, not {self.key_bits}")
        per_owner = self.rows * (1 - self.seed_fraction - self.holdout_fraction) / self.owners
        if per_owner < 50:
            raise ConfigError(
                f"--rows {self.rows} leaves {per_owner:.0f} rows per owner; give at least 50 "
                f"per owner (e.g. --rows {int(60 * self.owners / 0.7) + 1})"
            )
        if self.bounty_eth <= 0:
            raise ConfigError(f"bounty must be positive, not {self.bounty_eth}")
        if self.target is not None and not 0.5 < self.target <= 1.0:
            raise ConfigError(f"--target must be an AUC in (0.5, 1], not {self.target}")
        if self.tiny_rows < 2:
            raise ConfigError(f"tiny data sets need at least 2 rows, not {self.tiny_rows}")
        if self.update_rule not in ("gradient", "epochs", "newton"):
            raise ConfigError(
                f"--rule must be gradient, epochs or newton, not {self.update_rule!r}"
            )
        if self.shapley_permutations < 0:
            raise ConfigError("shapley permutations must be >= 0")
        if isinstance(self.borrowers, bool) or not isinstance(self.borrowers, int):
            raise ConfigError(f"--borrowers must be a whole number, not {self.borrowers!r}")
        if not 0 <= self.borrowers <= 100_000:
            raise ConfigError(f"--borrowers must be between 0 and 100000, not {self.borrowers}")
        if self.lending_policy:
            lending_policy(self.lending_policy)  # ConfigError naming the bad option

    def to_dict(self) -> dict:
        """JSON-safe dict (mechanisms by name)."""
        d = asdict(self)
        d["mechanisms"] = [m.label for m in self.mechanisms]
        d["bad_kinds"] = list(self.bad_kinds)
        return d


@dataclass(frozen=True)
class OwnerPlan:
    """One owner of the cast.

    Attributes
    ----------
    index : int
        The owner's number in the generated split (``owner_XX`` file, dev account offset).
    arrival : int
        Position in the submission order (0 first).
    kind : str
        ``"honest"`` or a misbehaviour from :data:`.misbehave.KINDS`.
    victim : int or None
        For ``replay`` / ``copy`` / ``copy_other`` / ``frontrun``: the index of the honest
        owner whose data or update is reused.
    variant : int
        How many owners of the same kind arrived before (a ``crash`` owner alternates its
        blob by it).
    """

    index: int
    arrival: int
    kind: str = "honest"
    victim: int | None = None
    variant: int = 0

    @property
    def honest(self) -> bool:
        """True for an honest owner."""
        return self.kind == "honest"

    @property
    def name(self) -> str:
        """``owner_07``."""
        return f"owner_{self.index:02d}"


def plan_owners(scenario: Scenario) -> list[OwnerPlan]:
    """The cast of ``scenario``, sorted by arrival (deterministic in ``scenario.seed``)."""
    rng = np.random.default_rng([scenario.seed, 8])
    order = rng.permutation(scenario.owners)  # order[k] = index of the k-th arrival
    bad_positions = sorted(
        rng.choice(np.arange(1, scenario.owners), size=scenario.bad, replace=False).tolist()
    )
    kinds = {
        pos: scenario.bad_kinds[j % len(scenario.bad_kinds)] for j, pos in enumerate(bad_positions)
    }
    plans: list[OwnerPlan] = []
    seen: dict[str, int] = {}
    for pos, idx in enumerate(order.tolist()):
        kind = kinds.get(pos, "honest")
        victim = None
        if kind in NEEDS_VICTIM and kind != "frontrun":
            earlier = [p.index for p in plans if p.honest]
            victim = int(earlier[int(rng.integers(len(earlier)))])
        variant = seen.get(kind, 0)
        seen[kind] = variant + 1
        plans.append(OwnerPlan(int(idx), pos, kind, victim, variant))
    watched: set[int] = set()
    for k, p in enumerate(plans):
        if p.kind == "frontrun":
            # a mempool watcher acts when its victim sends, wherever it stands in the order:
            # the next honest owner to arrive, else (the watcher came last) any honest owner
            # nobody watches yet
            free = [q.index for q in plans if q.honest and q.index not in watched]
            later = [q.index for q in plans[k + 1 :] if q.honest and q.index not in watched]
            victim = later[0] if later else (free[-1] if free else None)
            if victim is not None:
                watched.add(victim)
            plans[k] = replace(p, victim=victim)
    return plans


def lending_policy(overrides: Mapping[str, Any] | None) -> PricingPolicy:
    """The :class:`~hessian_common.lending.pricing.PricingPolicy` with ``overrides`` (checked).

    Raises :class:`ConfigError` naming the bad option.
    """
    known = set(PricingPolicy.__dataclass_fields__)
    unknown = sorted(set(overrides or {}) - known)
    if unknown:
        raise ConfigError(f"unknown lending policy option(s): {', '.join(unknown)}")
    try:
        return PricingPolicy(**dict(overrides or {})).check()
    except LendingInputError as exc:
        detail = "; ".join(f"{k}: {v}" for k, v in getattr(exc, "errors", {}).items())
        raise ConfigError(f"lending policy: {detail or exc}") from exc
