"""Rewards: the contract's mechanisms mirrored off-chain, and contribution valuation.

- :mod:`.mechanisms`: ``payouts(mechanism, bounty, initial, target, evaluations)`` recomputes,
  with the contract's integer arithmetic, what ``IMPROVEMENT``, ``EQUAL`` and ``PRO_RATA_ROWS``
  pay for one sequence of evaluated submissions.
- :mod:`.valuation`: leave-one-out and truncated Monte-Carlo Shapley values of the owners, with
  utility = hold-out AUC of the model the protocol builds from a coalition's updates (applied
  in plaintext; decrypting the encrypted protocol gives the same weights).
"""

from hessian_common.rewards.mechanisms import (
    Evaluation,
    Mechanism,
    Payout,
    all_payouts,
    improvement_reward,
    payouts,
    share_of,
)
from hessian_common.rewards.valuation import (
    SequentialUtility,
    ShapleyResult,
    leave_one_out,
    monte_carlo_shapley,
)

__all__ = [
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
    "share_of",
]
