"""Off-chain mirror of the contract's three reward mechanisms.

``ModelRepository.sol`` pays data owners from the lender's escrowed bounty by one of three
mechanisms, fixed when the model is created. This module recomputes, in Python and with the
contract's integer arithmetic (wei, scores in parts per million, integer division rounding
down), what each mechanism pays for a given sequence of evaluated submissions. The simulation
uses it to show what the *other* mechanisms would have paid for the same run, and a test checks
it against the real contract's payouts.

The rules, for a model with bounty ``B``, initial score ``s0`` and target ``T`` (ppm):

- ``IMPROVEMENT``: an accepted submission that raises the best score so far ``s`` to ``s'``
  is paid at evaluation time::

      reward = min(remaining, B * (s' - s) // (T - s0))

  An accepted submission that does not beat the best score, and every rejected one, is paid
  nothing. The best score only moves up; an accepted score ``>= T`` closes the model.
- ``EQUAL``: nothing is paid at evaluation time. When the model is finalised, what remains
  becomes the pool ``R``; each of the ``k`` accepted submissions claims ``R // k``.
- ``PRO_RATA_ROWS``: as EQUAL, each accepted submission with ``r`` rows claims
  ``R * r // rows_accepted``.

  In both, the *last* claim takes ``R - claimed`` (the rounding dust), so the pool is paid out
  exactly. The mirror assumes claims are made in evaluation order.

Everything here is O(n) in the submissions; the contract does the same in O(1) gas per call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hessian_common.chain.repository import Mechanism
from hessian_common.errors import ConfigError


@dataclass(frozen=True)
class Evaluation:
    """One submission as the lender evaluated it, in evaluation order.

    Attributes
    ----------
    owner : str
        The submitting owner (an address, or any label).
    rows : int
        Rows declared in ``submitUpdate``.
    accepted : bool
        The lender's verdict.
    new_score : int
        Score (ppm) of the candidate model; becomes the best score when accepted and higher.
    """

    owner: str
    rows: int
    accepted: bool
    new_score: int


@dataclass
class Payout:
    """What a mechanism paid, per submission (same order as the evaluations) and in total."""

    mechanism: Mechanism
    bounty: int
    rewards: list[int]
    remaining: int
    final_score: int
    closed_at_target: bool = False
    by_owner: dict[str, int] = field(default_factory=dict)

    @property
    def paid(self) -> int:
        """Total wei paid to owners."""
        return sum(self.rewards)


def improvement_reward(
    bounty: int, remaining: int, initial: int, target: int, current: int, new_score: int
) -> int:
    """Reward of one accepted evaluation under ``IMPROVEMENT`` (wei).

    ``min(remaining, bounty * (new_score - current) // (target - initial))``, and 0 when the
    score does not improve.
    """
    if target <= initial:
        raise ConfigError(f"target score {target} must be above the initial score {initial}")
    if new_score <= current:
        return 0
    return min(remaining, bounty * (new_score - current) // (target - initial))


def _check(bounty: int, initial: int, target: int) -> None:
    if bounty < 0:
        raise ConfigError(f"bounty must be >= 0 wei, not {bounty}")
    if target <= initial:
        raise ConfigError(f"target score {target} must be above the initial score {initial}")


def payouts(
    mechanism: Mechanism | str | int,
    bounty: int,
    initial: int,
    target: int,
    evaluations: Sequence[Evaluation],
) -> Payout:
    """Replay ``evaluations`` through ``mechanism`` with the contract's arithmetic.

    Parameters
    ----------
    mechanism : Mechanism or str or int
        Which rule to apply.
    bounty : int
        Wei deposited by the lender.
    initial, target : int
        Initial and target scores (ppm).
    evaluations : sequence of Evaluation
        In evaluation order. Once the target is reached the model closes: later evaluations
        cannot happen on chain and are paid 0 here.

    Returns
    -------
    Payout
        Rewards per evaluation, what remains in escrow, and totals per owner.
    """
    mech = Mechanism.parse(mechanism)
    _check(bounty, initial, target)
    rewards = [0] * len(evaluations)
    remaining = bounty
    current = initial
    closed = False
    accepted_idx: list[int] = []
    for i, ev in enumerate(evaluations):
        if closed:
            break
        if not ev.accepted:
            continue
        accepted_idx.append(i)
        if ev.new_score > current:
            if mech is Mechanism.IMPROVEMENT:
                reward = improvement_reward(
                    bounty, remaining, initial, target, current, ev.new_score
                )
                rewards[i] = reward
                remaining -= reward
            current = ev.new_score
        if ev.new_score >= target:
            closed = True
    if mech is not Mechanism.IMPROVEMENT and accepted_idx:
        pool, claimed = remaining, 0
        total_rows = sum(evaluations[i].rows for i in accepted_idx)
        for n, i in enumerate(accepted_idx, start=1):
            if n == len(accepted_idx):
                share = pool - claimed
            elif mech is Mechanism.EQUAL:
                share = pool // len(accepted_idx)
            else:
                share = pool * evaluations[i].rows // total_rows
            rewards[i] = share
            claimed += share
        remaining = 0
    by_owner: dict[str, int] = {}
    for ev, reward in zip(evaluations, rewards, strict=True):
        by_owner[ev.owner] = by_owner.get(ev.owner, 0) + reward
    return Payout(mech, bounty, rewards, remaining, current, closed, by_owner)


def all_payouts(
    bounty: int, initial: int, target: int, evaluations: Sequence[Evaluation]
) -> dict[Mechanism, Payout]:
    """:func:`payouts` for every mechanism, on the same evaluations."""
    return {m: payouts(m, bounty, initial, target, evaluations) for m in Mechanism}


def share_of(payout: Payout, owners: Iterable[str]) -> float:
    """Fraction of the bounty that went to ``owners`` (0 when the bounty is 0)."""
    wanted = set(owners)
    total = sum(v for k, v in payout.by_owner.items() if k in wanted)
    return total / payout.bounty if payout.bounty else 0.0
