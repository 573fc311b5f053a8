"""Typed wrapper of the ``LoanBook`` contract: loans decided by a deployed credit model.

Each deployed model names its currency (:meth:`LoanBook.deploy_model`, ``currency``: ether by
default, or an ERC-20 token's address); every amount of its loans is in base units of that
currency, with the token's own decimals (wei for ether; the :data:`~hessian_common.types.Wei`
annotations below mean "base units"). Paying in a token needs no step from the caller: the
wrapper uses an allowance that already covers the payment, else signs an EIP-2612 permit
(``fundWithPermit``, ``repayWithPermit``, ``repayAllWithPermit``: one signature and one
transaction per payment), else approves first (:func:`hessian_common.chain.token.pay`).
Probabilities of default are parts per million, APRs basis points, terms months (payment
periods of ``payment_period`` seconds).
The contract keeps CIDs (policy, sealed application) and application digests in events only;
this wrapper reads them back from the logs, so :class:`LoanInfo` and :class:`DeploymentInfo`
carry them like any other field.

The Solidity function is ``applyForLoan`` (``apply`` is a reserved word in Solidity); the
wrapper method is :meth:`LoanBook.apply`.

Instalment, exactly as the contract computes it (:func:`installment_for`), for principal ``A``
wei, APR ``r`` basis points and ``n`` months::

    WAD = 10**18
    i = r * WAD // 120000                      # monthly rate, floored
    f = rpow(WAD + i, n)                       # (1 + i)^n by squaring, each product floored
    M = ceil(ceil(A * f / (f - WAD)) * i / WAD)   # = A i (1+i)^n / ((1+i)^n - 1), rounded up
    M = ceil(A / n)                            # when r == 0

Total owed is ``M * n``; instalment ``k`` (1..n) falls due ``k * payment_period`` seconds
after funding.

Early payoff (:func:`payoff_for`, the contract's ``payoffAmount``): with ``k`` instalments due
by ``t``, the scheduled balance after them, rounded up month by month,
``B_0 = A``, ``B_j = max(0, ceil(B_{j−1} (WAD + i) / WAD) − M)`` (``max(0, A − k M)`` at 0 %),
the interest accrued in the current period ``ceil(B_k · i · e / (WAD · period))`` (``e``
seconds into it) and arrears: ``min(total − repaid, max(0, k M + B_k + accrued − repaid))``;
everything owed once ``k = n``. It never falls as time passes (at a due date
``B_k + M = ceil(B_{k−1} (1 + i))``, what the second before reached) and is at most
``Σ_{j≤k} (1 + i)^j`` wei above the exact payoff at the monthly rate ``i / WAD``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3

from hessian_common.chain.client import BatchCall
from hessian_common.chain.product import ProductBook, digest32
from hessian_common.chain.token import ZERO_ADDRESS, pay
from hessian_common.errors import ConfigError
from hessian_common.types import CID, PPM, Wei

WAD = 10**18
MAX_APR_BPS = 10_000
"""The largest APR the contract takes, in basis points (100%)."""
MAX_TERM = 120
"""The longest term, in months."""
DIGEST_BYTES = 32
KEY_BYTES = 32
_UINT128 = 2**128


class LoanStatus(IntEnum):
    """Loan state (``LoanBook.LoanStatus``)."""

    APPLIED = 0
    OFFERED = 1
    DECLINED = 2
    ACCEPTED = 3
    FUNDED = 4
    REPAID = 5
    DEFAULTED = 6
    CANCELLED = 7
    RECOVERED = 8
    """A defaulted loan paid in full after all."""

    @property
    def label(self) -> str:
        """Lower-case name for the UI and JSON (``"funded"``)."""
        return self.name.lower()


@dataclass(frozen=True)
class LoanInfo:
    """A loan as recorded on chain (storage plus the digest and CID from its event)."""

    loan_id: int
    model_id: int
    borrower: str
    lender: str
    currency: str
    """The deployment's currency: ether (the zero address) or a token address."""
    status: LoanStatus
    late: bool
    application_digest: bytes
    application_cid: CID
    amount: Wei
    """Amount applied for (base units of ``currency``)."""
    requested_term: int
    """Months applied for."""
    principal: Wei
    """Amount offered (0 until approved)."""
    term_months: int
    """Months offered (0 until approved)."""
    apr_bps: int
    pd_ppm: int
    installment: Wei
    repaid: Wei
    applied_at: int
    offer_expires: int
    accepted_at: int
    funded_at: int
    total_owed: Wei
    """``installment * term_months``."""
    outstanding: Wei
    """``total_owed - repaid`` for a FUNDED or DEFAULTED loan, else 0."""

    @property
    def pd(self) -> float:
        """Probability of default as a fraction."""
        return self.pd_ppm / PPM

    @property
    def apr(self) -> float:
        """APR as a fraction (``apr_bps / 10000``)."""
        return self.apr_bps / 10_000


@dataclass(frozen=True)
class DeploymentInfo:
    """A deployed model (storage plus the policy CID from its event)."""

    model_id: int
    lender: str
    policy_cid: CID
    application_key: bytes
    """X25519 public key (32 bytes) applications are sealed to."""
    deployed_at: int
    active: bool
    loan_count: int
    currency: str = ZERO_ADDRESS
    """ether (the zero address) or the token every amount of this model is in."""


def _rpow(x: int, n: int) -> int:
    z = WAD
    while n > 0:
        if n & 1:
            z = z * x // WAD
        n >>= 1
        if n > 0:
            x = x * x // WAD
    return z


def _ceil_div(a: int, b: int) -> int:
    return 0 if a == 0 else (a - 1) // b + 1


def installment_for(principal: int, apr_bps: int, term: int) -> int:
    """The contract's ``installmentFor``: instalment in base units (see the module docstring).

    Raises
    ------
    ConfigError
        ``term`` outside 1..120, ``apr_bps`` outside 0..10000, ``principal`` outside
        0..2^128-1 (the contract reverts on the same inputs).
    """
    if not isinstance(term, int) or not 1 <= term <= MAX_TERM:
        raise ConfigError(f"term must be 1..{MAX_TERM} months, not {term!r}")
    if not isinstance(apr_bps, int) or not 0 <= apr_bps <= MAX_APR_BPS:
        raise ConfigError(f"apr_bps must be 0..{MAX_APR_BPS}, not {apr_bps!r}")
    if not isinstance(principal, int) or not 0 <= principal < _UINT128:
        raise ConfigError(f"principal must be 0..2^128-1 base units, not {principal!r}")
    if apr_bps == 0:
        return _ceil_div(principal, term)
    i = apr_bps * WAD // 120_000
    f = _rpow(WAD + i, term)
    return _ceil_div(_ceil_div(principal * f, f - WAD) * i, WAD)


def payoff_for(
    principal: int,
    apr_bps: int,
    term: int,
    installment: int,
    repaid: int,
    funded_at: int,
    timestamp: int,
    payment_period: int,
) -> int:
    """The contract's early payoff of a FUNDED loan at ``timestamp`` (module docstring), in
    base units."""
    owed_left = installment * term - repaid
    elapsed = int(timestamp) - int(funded_at)
    k = elapsed // payment_period
    if k >= term:
        return owed_left
    accrued = 0
    if apr_bps == 0:
        balance = max(principal - k * installment, 0)
    else:
        i = apr_bps * WAD // 120_000
        balance = principal
        for _ in range(k):
            if balance == 0:
                break
            balance = max(_ceil_div(balance * (WAD + i), WAD) - installment, 0)
        accrued = _ceil_div(balance * i * (elapsed - k * payment_period), WAD * payment_period)
    total = k * installment + balance + accrued
    if total <= repaid:
        return 0
    return min(total - repaid, owed_left)


class LoanBook(ProductBook):
    """Calls and reads of one deployed ``LoanBook``.

    Every read and write raises :class:`~hessian_common.errors.ChainUnavailable` naming the
    node's URL when the node cannot be reached; reverts come back as
    :class:`~hessian_common.errors.ContractRevert` with the custom error's name.

    Constructed as :class:`~hessian_common.chain.wrapper.ContractWrapper` (``client`` signs as
    the lender or a borrower; the address from
    :func:`hessian_common.chain.deploy.open_loanbook`).
    """

    artifact = "LoanBook"
    struct_getters = ("getLoan", "getDeployment")
    deployer_role = "lender"

    # ------------------------------------------------------------ lender

    def decide(
        self,
        loan_id: int,
        approve: bool,
        pd_ppm: int,
        apr_bps: int = 0,
        principal_wei: int = 0,
        term_months: int = 0,
    ) -> dict[str, Any]:
        """``decide``: offer (``approve``) or decline; ``pd_ppm`` is recorded either way."""
        if not isinstance(pd_ppm, int) or not 0 <= pd_ppm <= PPM:
            raise ConfigError(f"pd_ppm must be an integer 0..{PPM}, not {pd_ppm!r}")
        if approve:
            installment_for(principal_wei, apr_bps, term_months)  # same checks as the contract
        return self.client.transact(
            self.fn.decide(
                loan_id,
                bool(approve),
                pd_ppm,
                apr_bps if approve else 0,
                principal_wei if approve else 0,
                term_months if approve else 0,
            )
        )

    def fund(self, loan_id: int) -> dict[str, Any]:
        """``fund``: pay the offered principal (read from the chain) in the loan's currency
        (a token: by the allowance, a permit or an approval, see the module docstring)."""
        s = self._struct("getLoan", loan_id)
        return pay(
            self.client,
            self.currency_of(int(s["modelId"])),
            self.address,
            int(s["principal"]),
            lambda: self.fn.fund(loan_id),
            lambda permit: self.fn.fundWithPermit(loan_id, permit),
        )

    def mark_late(self, loan_id: int) -> dict[str, Any]:
        """``markLate`` (lender): an instalment due is unpaid."""
        return self.client.transact(self.fn.markLate(loan_id))

    def mark_default(self, loan_id: int) -> dict[str, Any]:
        """``markDefault`` (lender): an instalment is overdue by more than ``default_after``."""
        return self.client.transact(self.fn.markDefault(loan_id))

    # ------------------------------------------------------------ borrower and anyone

    def apply(
        self,
        model_id: int,
        digest: bytes | str,
        application_cid: str,
        amount_wei: int,
        term_months: int,
    ) -> int:
        """``applyForLoan``; returns the new loan id."""
        receipt = self.client.transact(
            self.fn.applyForLoan(
                model_id, digest32(digest, "digest"), application_cid, amount_wei, term_months
            )
        )
        return int(self._event_arg(receipt, "LoanApplied", "loanId"))

    def accept(self, loan_id: int) -> dict[str, Any]:
        """``accept`` (borrower, before the offer expires)."""
        return self.client.transact(self.fn.accept(loan_id))

    def repay(self, loan_id: int, amount_wei: int) -> dict[str, Any]:
        """``repay``: pay ``amount_wei`` (base units) towards the loan (a FUNDED loan: at most
        its payoff now, and paying all of it repays the loan; a DEFAULTED one: at most what is
        outstanding). In a token: ``repayWithPermit`` with a permit for exactly the amount
        unless the allowance covers it."""
        amount = int(amount_wei)
        return pay(
            self.client,
            self._loan_currency(loan_id),
            self.address,
            amount,
            lambda: self.fn.repay(loan_id, amount),
            lambda permit: self.fn.repayWithPermit(loan_id, amount, permit),
        )

    def repay_batch(
        self, payments: Sequence[tuple[LocalAccount, int, int]], gas: int | None = None
    ) -> list[dict[str, Any]]:
        """``repay`` of many ether loans at once, each signed by its payer: ``[(account,
        loan_id, wei)]`` -> receipts in order (:meth:`ChainClient.transact_batch`: nonces and
        fees handled there; ``gas`` one limit for every call). Token loans pay one by one
        (:meth:`repay`: each payer signs its own permit)."""
        return self.client.transact_batch(
            [
                BatchCall(self.fn.repay(int(i), int(wei)), int(wei), acct)
                for acct, i, wei in payments
            ],
            gas=gas,
        )

    def repay_all(self, loan_id: int, amount_wei: int) -> dict[str, Any]:
        """``repayAll``: pay the loan off early offering ``amount_wei`` (at least the payoff
        at the block's time). In ether the whole amount is sent and the excess credited back
        to the payer's pending balance; in a token exactly the payoff is pulled."""
        amount = int(amount_wei)
        return pay(
            self.client,
            self._loan_currency(loan_id),
            self.address,
            amount,
            lambda: self.fn.repayAll(loan_id, amount),
            lambda permit: self.fn.repayAllWithPermit(loan_id, amount, permit),
        )

    def cancel(self, loan_id: int) -> dict[str, Any]:
        """``cancel``: the borrower before funding, the lender once an offer was made."""
        return self.client.transact(self.fn.cancel(loan_id))

    # ------------------------------------------------------------ reads

    @property
    def payment_period(self) -> int:
        """Seconds between instalments."""
        return self._immutable("paymentPeriod")

    @property
    def default_after(self) -> int:
        """Seconds an instalment may be overdue before a default can be recorded."""
        return self._immutable("defaultAfter")

    @property
    def offer_validity(self) -> int:
        """Seconds an offer stays open."""
        return self._immutable("offerValidity")

    @property
    def funding_window(self) -> int:
        """Seconds the lender has to fund an accepted loan."""
        return self._immutable("fundingWindow")

    def loan_count(self) -> int:
        """Number of loans (ids 1..count)."""
        return int(self.client.call(self.fn.loanCount()))

    def loan(self, loan_id: int) -> LoanInfo:
        """Everything recorded about a loan (raises ``ContractRevert`` UnknownLoan)."""
        s = self._struct("getLoan", loan_id)
        applied = self._log("LoanApplied", "loanId", loan_id) or {}
        return self._loan_info(loan_id, s, applied)

    def loans(
        self, model_id: int | None = None, borrower: str | None = None, lender: str | None = None
    ) -> list[LoanInfo]:
        """Loans, oldest first, filtered by model, borrower and/or lender (all by default)."""
        filters: dict[str, Any] = {}
        if model_id is not None:
            filters["modelId"] = int(model_id)
        if borrower is not None:
            filters["borrower"] = Web3.to_checksum_address(borrower)
        logs = self.find_events("LoanApplied", filters)
        out = []
        for log in sorted(logs, key=lambda x: int(x.args["loanId"])):
            args = dict(log.args)
            loan_id = int(args["loanId"])
            self._log_cache[("LoanApplied", loan_id)] = args
            info = self._loan_info(loan_id, self._struct("getLoan", loan_id), args)
            if lender is None or info.lender == Web3.to_checksum_address(lender):
                out.append(info)
        return out

    def deployment(self, model_id: int) -> DeploymentInfo | None:
        """The deployment of ``model_id``; None if it was never deployed here."""
        d = self._struct("getDeployment", model_id)
        if int(d["deployer"], 16) == 0:
            return None
        deployed = self._log("ModelDeployed", "modelId", model_id) or {}
        return DeploymentInfo(
            model_id=int(model_id),
            lender=Web3.to_checksum_address(d["deployer"]),
            policy_cid=CID(deployed.get("policyCid", "")),
            application_key=bytes(d["applicationKey"]),
            deployed_at=int(d["deployedAt"]),
            active=bool(d["active"]),
            loan_count=int(d["applicationCount"]),
            currency=Web3.to_checksum_address(d["currency"]),
        )

    def due_by(self, loan_id: int, timestamp: int) -> Wei:
        """Cumulative wei due by ``timestamp`` (0 unless funded)."""
        return Wei(int(self.client.call(self.fn.dueBy(loan_id, int(timestamp)))))

    def next_due(self, loan_id: int) -> tuple[int, Wei]:
        """``(timestamp, amount)`` of the earliest unpaid instalment; ``(0, 0)`` unless FUNDED.

        ``amount`` brings the loan up to date at that time (arrears included).
        """
        ts, amount = self.client.call(self.fn.nextDue(loan_id))
        return int(ts), Wei(int(amount))

    def total_owed(self, loan_id: int) -> Wei:
        """``installment * term_months`` of a loan."""
        return Wei(int(self.client.call(self.fn.totalOwed(loan_id))))

    def outstanding(self, loan_id: int) -> Wei:
        """What remains to pay on a FUNDED or DEFAULTED loan (0 otherwise)."""
        return Wei(int(self.client.call(self.fn.outstanding(loan_id))))

    def is_late(self, loan_id: int) -> bool:
        """A FUNDED loan with an instalment due and unpaid now."""
        return bool(self.client.call(self.fn.isLate(loan_id)))

    def can_default(self, loan_id: int) -> bool:
        """Whether ``mark_default(loan_id)`` would succeed now."""
        return bool(self.client.call(self.fn.canDefault(loan_id)))

    def payoff_amount(self, loan_id: int, at: int | None = None) -> Wei:
        """What ``repay_all`` takes at ``at`` (default now; never before now); 0 unless
        FUNDED."""
        return Wei(int(self.client.call(self.fn.payoffAmount(loan_id, int(at or 0)))))

    def paid_off(self, loan_id: int) -> Wei:
        """What ``repayAll`` took when the loan was paid off early (0 if it was not)."""
        event = self._log("LoanPaidOff", "loanId", loan_id)
        return Wei(int(event["amount"]) if event else 0)

    def fund_by(self, loan_id: int) -> int:
        """Last second the lender may fund an ACCEPTED loan (0 for another status)."""
        s = self._struct("getLoan", loan_id)
        if LoanStatus(s["status"]) != LoanStatus.ACCEPTED:
            return 0
        return int(s["acceptedAt"]) + self.funding_window

    def installment_on_chain(self, principal: int, apr_bps: int, term: int) -> Wei:
        """The contract's ``installmentFor`` (a view call; :func:`installment_for` is local)."""
        return Wei(int(self.client.call(self.fn.installmentFor(principal, apr_bps, term))))

    # ------------------------------------------------------------ internals

    def _loan_info(self, loan_id: int, s: dict[str, Any], applied: dict[str, Any]) -> LoanInfo:
        status = LoanStatus(s["status"])
        total = int(s["installment"]) * int(s["termMonths"])
        owing = status in (LoanStatus.FUNDED, LoanStatus.DEFAULTED)
        fact = self._deployment_fact(int(s["modelId"]))
        return LoanInfo(
            loan_id=int(loan_id),
            model_id=int(s["modelId"]),
            borrower=Web3.to_checksum_address(s["borrower"]),
            lender=fact["lender"],
            currency=fact["currency"],
            status=status,
            late=bool(s["late"]),
            application_digest=bytes(applied.get("applicationDigest", b"")),
            application_cid=CID(applied.get("applicationCid", "")),
            amount=Wei(int(s["amount"])),
            requested_term=int(s["requestedTerm"]),
            principal=Wei(int(s["principal"])),
            term_months=int(s["termMonths"]),
            apr_bps=int(s["aprBps"]),
            pd_ppm=int(s["pdPpm"]),
            installment=Wei(int(s["installment"])),
            repaid=Wei(int(s["repaid"])),
            applied_at=int(s["appliedAt"]),
            offer_expires=int(s["offerExpires"]),
            accepted_at=int(s["acceptedAt"]),
            funded_at=int(s["fundedAt"]),
            total_owed=Wei(total),
            outstanding=Wei(total - int(s["repaid"]) if owing else 0),
        )

    def _loan_currency(self, loan_id: int) -> str:
        return self.currency_of(int(self._struct("getLoan", loan_id)["modelId"]))
