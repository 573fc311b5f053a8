"""What the product wrappers share: the Python face of ``contracts/products/ProductBase.sol``.

:class:`~hessian_common.chain.loanbook.LoanBook` and
:class:`~hessian_common.chain.policybook.PolicyBook` both sit on ``ProductBase``: a deployer
(the lender, the insurer) links a CLOSED model of its own with a policy document and an X25519
application key, in one currency (ether, or an ERC-20 token's address); applicants send sealed
applications whose digest is recorded once per (model, applicant); money owed is credited to
pending balances per (account, currency) and pulled with ``withdraw(currency)``.
:class:`ProductBook` holds those calls and reads once; the subclasses add their product's
writes and its typed deployment record (:meth:`ProductBook.deployment`).
"""

from __future__ import annotations

from typing import Any, ClassVar

from web3 import Web3

from hessian_common.chain.token import ZERO_ADDRESS, currency_address
from hessian_common.chain.wrapper import ContractWrapper
from hessian_common.errors import ConfigError
from hessian_common.types import bytes32

__all__ = ["ProductBook", "digest32"]


def digest32(value: bytes | str, what: str) -> bytes:
    """``value`` as the 32 bytes of a ``bytes32`` argument (raw, or ``0x`` + 64 hex);
    :class:`ConfigError` naming ``what`` otherwise, before anything is sent."""
    return bytes32(value, what, ConfigError)


class ProductBook(ContractWrapper):
    """Calls and reads every product contract has (``ProductBase``).

    Subclasses set :attr:`artifact`, :attr:`struct_getters` (with ``"getDeployment"``) and
    :attr:`deployer_role` (the name their records give the deployer: ``"lender"``,
    ``"insurer"``), and implement :meth:`deployment`.
    """

    foreign_errors = ("ModelRepository", "HessianToken")
    """``deployModel`` bubbles ModelRepository's ``UnknownModel`` up, and a token payment the
    token's ERC-20 errors (``ERC20InsufficientAllowance``...): decode them too."""
    deployer_role: ClassVar[str] = "deployer"

    # ------------------------------------------------------------ the deployer

    def deploy_model(
        self,
        model_id: int,
        policy_cid: str,
        application_key: bytes | str,
        currency: str | None = ZERO_ADDRESS,
    ) -> dict[str, Any]:
        """``deployModel``: link a CLOSED model of ours, every amount of its product in
        ``currency`` (ether by default, or an ERC-20 token's address); returns the receipt."""
        key = digest32(application_key, "application_key")
        token = currency_address(currency)
        return self.client.transact(self.fn.deployModel(model_id, policy_cid, key, token))

    def retire_model(self, model_id: int) -> dict[str, Any]:
        """``retireModel``: no new applications for ``model_id`` (what was sold goes on)."""
        return self.client.transact(self.fn.retireModel(model_id))

    # ------------------------------------------------------------ anyone

    def withdraw(self, currency: str | None = ZERO_ADDRESS) -> int:
        """``withdraw`` the caller's pending balance in ``currency`` (default ether); returns
        the amount (base units)."""
        receipt = self.client.transact(self.fn.withdraw(currency_address(currency)))
        return int(self._event_arg(receipt, "Withdrawn", "amount"))

    # ------------------------------------------------------------ reads

    @property
    def repository_address(self) -> str:
        """The ModelRepository whose models are deployed here."""
        return self._immutable("repository")

    def deployment(self, model_id: int) -> Any:
        """The typed deployment record of ``model_id``; ``None`` if never deployed here."""
        raise NotImplementedError

    def deployments(self) -> list[Any]:
        """Every deployed model (active or retired), in deployment order."""
        out = []
        for log in self.find_events("ModelDeployed"):
            model_id = int(log.args["modelId"])
            self._log_cache[("ModelDeployed", model_id)] = dict(log.args)
            info = self.deployment(model_id)
            if info is not None:
                out.append(info)
        return out

    def currency_of(self, model_id: int) -> str:
        """The currency of deployed model ``model_id`` (the zero address for ether, else the
        token's address); raises ``ContractRevert`` ModelNotDeployed for another model. Read
        once: a deployment's currency never changes."""
        return self._deployment_fact(model_id)["currency"]

    def digest_used(
        self, model_id: int, digest: bytes | str, applicant: str | None = None
    ) -> int:
        """Id of ``applicant``'s loan or policy (default: the client's account) that used
        ``digest`` for ``model_id``; 0 if unused (digests are recorded per applicant)."""
        who = Web3.to_checksum_address(applicant or self.client.address)
        key = digest32(digest, "digest")
        return int(self.client.call(self.fn.digestUsedBy(model_id, who, key)))

    def pending(self, address: str | None = None, currency: str | None = ZERO_ADDRESS) -> int:
        """Withdrawable balance of ``address`` (default: the client's account) in
        ``currency`` (default ether)."""
        who = Web3.to_checksum_address(address or self.client.address)
        return int(self.client.call(self.fn.pendingOf(who, currency_address(currency))))

    def total_pending(self, currency: str | None = ZERO_ADDRESS) -> int:
        """Sum of all pending balances in ``currency`` (what the contract owes in it)."""
        return int(self.client.call(self.fn.totalPendingOf(currency_address(currency))))

    # ------------------------------------------------------------ internals

    def _deployment_fact(self, model_id: int) -> dict[str, str]:
        """``{deployer_role, "currency"}`` of a deployment (fixed once deployed, so cached)."""
        key = ("deployment", int(model_id))
        if key not in self._log_cache:
            d = self._struct("getDeployment", model_id)
            fact = {
                self.deployer_role: Web3.to_checksum_address(d["deployer"]),
                "currency": Web3.to_checksum_address(d["currency"]),
            }
            if int(d["deployer"], 16) == 0:  # not deployed: the contract's ModelNotDeployed
                self.client.call(self.fn.currencyOf(int(model_id)))
            self._log_cache[key] = fact
        return self._log_cache[key]
