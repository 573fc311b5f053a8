"""The owner's money: balances, withdrawals, shares claimed after close, and shares of a
bounty the lender forfeited by not revealing its evaluations in time."""

from __future__ import annotations

from dataclasses import dataclass

from hessian_common.chain.repository import ModelRepository
from hessian_common.errors import DataError


@dataclass(frozen=True)
class OwnerAccountSummary:
    """The owner's balances, in wei."""

    address: str
    balance: int
    pending: int


def account_summary(repo: ModelRepository, address: str) -> OwnerAccountSummary:
    """Wallet balance and rewards owed by the contract (``pendingOf``)."""
    return OwnerAccountSummary(
        address, int(repo.client.balance(address)), int(repo.pending(address))
    )


def withdraw(repo: ModelRepository) -> int:
    """Withdraw everything the contract owes the owner; returns the amount in wei.

    Raises ``DataError`` when nothing is owed (checked first, so no transaction is wasted).
    """
    address = repo.client.address
    owed = int(repo.pending(address))
    if owed == 0:
        raise DataError(f"the contract owes {address} nothing to withdraw")
    repo.withdraw()
    return owed


def forfeit_share(repo: ModelRepository, update_id: int, now: int | None = None) -> int:
    """About what ``claim_forfeit(update_id)`` would credit now (0 when nothing): the lender let
    the reveal deadline pass, so what remained of the bounty is split equally among the
    model's submissions (the last claim takes the dust)."""
    sub = repo.submission(int(update_id))
    if sub.claimed:
        return 0
    info = repo.model(int(sub.model_id))
    now = int(repo.client.block_timestamp()) if now is None else int(now)
    if info.revealed or not info.finalized or now <= info.reveal_deadline:
        return 0
    pool = int(info.pool) if info.forfeited else int(info.remaining)
    return pool // max(1, int(info.submission_count))


def check_own(repo: ModelRepository, update_id: int) -> None:
    """Refuse (``DataError``) a claim on a submission the signing account did not make: an
    owner claims only its own shares."""
    sub = repo.submission(int(update_id))
    if str(sub.owner).lower() != str(repo.client.address).lower():
        raise DataError(
            f"update #{update_id} is not yours: {sub.owner} submitted it, "
            f"you sign as {repo.client.address}"
        )


def claim_forfeit(repo: ModelRepository, update_id: int) -> int:
    """Credit this submission's share of a forfeited bounty (then withdraw it); only the
    submission's owner may claim it (:func:`check_own`)."""
    check_own(repo, update_id)
    if not forfeit_share(repo, update_id):
        raise DataError(f"update #{update_id} has no share of a forfeited bounty to claim")
    return int(repo.claim_forfeit(update_id))


def claim_share(repo: ModelRepository, update_id: int) -> int:
    """Credit an accepted EQUAL / PRO_RATA_GAIN share after close (then withdraw it); only
    the submission's owner may claim it (:func:`check_own`)."""
    check_own(repo, update_id)
    amount = int(repo.share_of(update_id))
    if amount == 0:
        raise DataError(f"update #{update_id} has no share to claim (yet)")
    repo.claim_share(update_id)
    return amount
