"""The owner's money: balances, withdrawals, shares claimed after close, and shares of a
bounty the lender forfeited by not revealing its evaluations in time."""

from __future__ import annotations

from dataclasses import dataclass

from hessian_common.chain.currencies import AccountMoney, account_money
from hessian_common.chain.repository import ModelRepository
from hessian_common.chain.token import currency_address, currency_of
from hessian_common.errors import DataError
from hessian_common.format import Currency


@dataclass(frozen=True)
class OwnerAccountSummary:
    """The owner's balances, in wei."""

    address: str
    balance: int
    pending: int
    money: AccountMoney | None = None
    """Every balance in the currencies in use and the credits per currency
    (:func:`hessian_common.chain.currencies.account_money`)."""


def account_summary(
    repo: ModelRepository,
    address: str,
    currencies: list[Currency] | None = None,
    book: object = None,
    deployments_dir: object = None,
) -> OwnerAccountSummary:
    """Wallet balance and rewards owed by the contract (``pendingOf``) in ether, and in
    ``money`` every balance in ether, the recorded tokens and ``currencies`` (the models'), with
    what the repository (and ``book``, a LoanBook) owe per currency."""
    money = account_money(
        repo.client,
        address,
        repo=repo,
        book=book,
        extra=currencies or [],
        deployments_dir=deployments_dir,  # type: ignore[arg-type]
    )
    return OwnerAccountSummary(
        address, int(repo.client.balance(address)), int(repo.pending(address)), money
    )


def withdraw(repo: ModelRepository, currency: Currency | str | None = None) -> int:
    """Withdraw everything the contract owes the owner in ``currency`` (ether by default, a
    token's address or ``Currency``); returns the amount in its base units.

    Raises ``DataError`` when nothing is owed (checked first, so no transaction is wasted).
    """
    address = repo.client.address
    token = currency_address(currency)
    owed = int(repo.pending(address, token))
    if owed == 0:
        cur = currency_of(repo.client, token, strict=False)
        raise DataError(
            f"the contract owes {address} nothing to withdraw in {cur.symbol}; nothing was sent"
        )
    repo.withdraw(token)
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
