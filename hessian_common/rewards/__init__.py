"""Rewards: the contract's escrow and mechanisms mirrored off-chain, and contribution valuation.

- :mod:`.mechanisms`: :class:`Escrow` replays the contract's money calls (stale reserves,
  ``IMPROVEMENT`` / ``EQUAL`` / ``PRO_RATA_GAIN`` with the minimum paid gain, stale
  settlement, shares, forfeit, reclaim) with its integer arithmetic; :func:`replay_events`
  runs a model's chain events through it and names any amount that differs;
  :func:`payouts` is the short form for submissions evaluated as they arrive.
- :mod:`.valuation`: leave-one-out and truncated Monte-Carlo Shapley values of the owners, with
  utility = hold-out AUC of the model the protocol builds from a coalition's updates (applied
  in plaintext; decrypting the encrypted protocol gives the same weights).
"""

from hessian_common.rewards.mechanisms import (
    Escrow,
    Evaluation,
    Mechanism,
    Payout,
    all_payouts,
    improvement_reward,
    payouts,
    replay_events,
    share_of,
)
from hessian_common.rewards.valuation import (
    SequentialUtility,
    ShapleyResult,
    leave_one_out,
    monte_carlo_shapley,
)

__all__ = [
    "Escrow",
    "Evaluation",
    "Mechanism",
    "Payout",
    "SequentialUtility",
    "ShapleyResult",
    "all_payouts",
    "improvement_reward",
    "leave_one_out",
    "monte_carlo_shapley",
    "payouts",
    "replay_events",
    "share_of",
]
