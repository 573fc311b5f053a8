"""The currency a simulation runs in (``hessian simulate --currency eth|hsn|usd``).

``eth``: ether, the faucet's (:meth:`~hessian_common.simulation.phases.Chain.fund`).
``hsn``: a fresh HSN whose whole supply goes to the lender, who hands the owners and borrowers
what they need. ``usd``: a fresh TestUSD (6 decimals); everyone's dollars come from its faucet.
Bounties, deposits, rewards, loans and repayments are all in it; gas is always ether (the
faucet's). Amounts are base units of the currency (``unit`` per whole one).
"""

from __future__ import annotations

from typing import Any

from hessian_common.chain.client import ChainClient
from hessian_common.chain.deploy import deploy_hsn, deploy_test_usd
from hessian_common.chain.token import TestUSD, Token, currency_of
from hessian_common.errors import ConfigError
from hessian_common.format import ETH, Currency

CURRENCIES = ("eth", "hsn", "usd")


class RunMoney:
    """The run's currency and how accounts get it.

    Parameters
    ----------
    kind : ``"eth"``, ``"hsn"`` or ``"usd"``.
    client : the lender's :class:`ChainClient` (deploys the token, holds HSN's supply).
    fund : the chain's ether faucet, ``fund(accounts, amounts)``.
    """

    def __init__(self, kind: str, client: ChainClient, fund: Any) -> None:
        if kind not in CURRENCIES:
            raise ConfigError(f"currency must be one of {', '.join(CURRENCIES)}, not {kind!r}")
        self.kind = kind
        self.client = client
        self.ether_fund = fund
        self.token: Token | None = None
        if kind == "hsn":
            self.token = Token(client, deploy_hsn(client, client.address, record=False))
        elif kind == "usd":
            self.token = TestUSD(client, deploy_test_usd(client, record=False))
        self.currency: Currency = (
            ETH if self.token is None else currency_of(client, self.token.address)
        )

    @property
    def unit(self) -> int:
        """Base units per whole unit (``10**decimals``)."""
        return self.currency.unit

    @property
    def address(self) -> Any:
        """The contracts' currency argument: ``None`` for ether, else the token's address."""
        return None if self.token is None else self.token.address

    def give(self, accounts: list[Any], amounts: list[int]) -> None:
        """Each account gets its amount of the run's currency (ether: from the faucet; HSN:
        from the lender's supply; TestUSD: from its faucet, in calls of at most its limit)."""
        if self.token is None:
            self.ether_fund(accounts, amounts)
            return
        limit = int(self.token._immutable("FAUCET_MAX")) if self.kind == "usd" else None
        for acct, amount in zip(accounts, amounts, strict=True):
            who = getattr(acct, "address", acct)
            left = int(amount)
            while left > 0:
                if limit is None:
                    self.token.transfer(who, left)
                    break
                step = min(left, limit)
                assert isinstance(self.token, TestUSD)
                self.token.faucet(step, who)
                left -= step

    def balance(self, address: str) -> int:
        """``address``'s balance in the run's currency."""
        if self.token is None:
            return int(self.client.balance(address))
        return int(self.token.balance_of(address))


__all__ = ["CURRENCIES", "RunMoney"]
