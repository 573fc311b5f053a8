"""The lender's lending desk, UI-free: deploy a closed model, decide applications, run loans.

Used by the company app, the CLI and the simulation. A :class:`LendingDesk` holds the
lender's :class:`~hessian_common.tasks.Lender` (its local books, store and repository) and
a :class:`~hessian_common.chain.loanbook.LoanBook` whose client signs as the lender.

Deploying model ``m`` (:meth:`LendingDesk.deploy`)::

    checks          policy valid; m is ours (local record) and CLOSED on chain
    w               = D(enc(w_current))      the chain's current model CID, the Paillier key
    credit model    = build_credit_model(w, spec, hold-out)   (Platt, cross-fitted; rates)
    p, P            = new X25519 application key
    local (0600)    models/<m>/lending/{credit_model.json, calibration.json,
                                        application_key.json (p sealed), policy.json}
    currency        the deployment's: ether, or a token checked on chain (decimals(), symbol());
                    the policy names its symbol and decimals, amounts are in its units
    store           the public policy document (hessian.lending-policy/1) -> policyCid
    chain           deployModel(m, policyCid, P, currency)

Everything local is written *before* the transaction, so a crash never loses the key; a
second call reuses the local deployment if the chain has none, and returns the chain's if
it has one. Bad inputs raise :class:`LendingInputError` before anything is written or sent.

Deciding a loan: open the sealed application (the chain's CID, the application key), check
its SHA-256 against the chain's digest and its amount and term against the request, score it
(:class:`~hessian_common.lending.scoring.CreditModel`) and price it
(:func:`~hessian_common.lending.pricing.quote`): the quote is the *suggested* decision. An
application that cannot be read or does not match is shown with the error and a suggested
decline (recorded with PD 100 %).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hessian_common.chain import pages
from hessian_common.chain.loanbook import LoanBook, LoanStatus, installment_for
from hessian_common.chain.pages import Page
from hessian_common.chain.token import currency_address, currency_of
from hessian_common.crypto.sealing import INFO as SEALING_INFO
from hessian_common.crypto.sealing import new_application_key, public_key_of
from hessian_common.errors import (
    BlobNotFound,
    ConfigError,
    ContractRevert,
    CryptoError,
    LendingInputError,
    StoreIntegrityError,
    UntrustedBlobError,
)
from hessian_common.format import ETH, format_bps
from hessian_common.forms import open_sealed_form
from hessian_common.lending.application import APPLICATION_FIELDS, Application
from hessian_common.lending.calibration import CalibrationSummary
from hessian_common.lending.pricing import (
    PD_EDGES,
    PricingPolicy,
    Quote,
    expected_cash_flows,
    irr_annual,
    pd_bucket,
    pd_bucket_label,
    quote,
)
from hessian_common.lending.scoring import CreditModel, Score, build_credit_model
from hessian_common.products.desk import CALIBRATION_FILE, ProductDesk
from hessian_common.progress import Progress, no_progress
from hessian_common.tasks.workflow import Lender
from hessian_common.types import PPM, Wei, to_ppm
from hessian_common.untrusted import MAX_BYTES, fetch

POLICY_FORMAT = "hessian.lending-policy/1"
LENDING_DIR = "lending"
CREDIT_MODEL_FILE = "credit_model.json"


def _noop(*_a: Any, **_k: Any) -> None:
    return None


@dataclass(frozen=True)
class DeployedModel:
    """One of our deployed models: chain state, the public policy and the calibration."""

    model_id: int
    name: str
    model_cid: str
    policy: PricingPolicy
    policy_cid: str
    application_key: bytes
    deployed_at: int
    active: bool
    loan_count: int
    calibration: CalibrationSummary
    reference_rates: dict[str, float]
    currency: Any = None
    """The deployment's :class:`~hessian_common.format.Currency` (from the chain)."""


@dataclass(frozen=True)
class ApplicationView:
    """A loan application as the lender sees it, with the suggested decision (``quote``)."""

    loan: Any
    application: Application | None
    score: Score | None
    quote: Quote
    error: str | None = None
    waiting: bool = False
    """The sealed application is not in the store (yet): *decide all* leaves it pending."""
    currency: Any = ETH
    """The deployment's :class:`~hessian_common.format.Currency` (the amounts' currency)."""

    @property
    def loan_id(self) -> int:
        return int(self.loan.loan_id)

    @property
    def status(self) -> str:
        return self.loan.status.label

    @property
    def pending(self) -> bool:
        """Waiting for the lender's decision (``APPLIED`` on chain)."""
        return self.loan.status == LoanStatus.APPLIED

    @property
    def suggested_approve(self) -> bool:
        return self.error is None and self.quote.approved

    @property
    def suggested_installment(self) -> Wei | None:
        """The instalment (wei) the suggested offer would fix on chain: the contract's own
        rounding (:func:`~hessian_common.chain.loanbook.installment_for`) of the amount asked,
        the quoted APR and the term asked; ``None`` when the suggestion is to decline."""
        if not self.quote.approved:
            return None
        loan = self.loan
        return Wei(
            installment_for(int(loan.amount), int(self.quote.apr_bps), int(loan.requested_term))
        )

    @property
    def pd_ppm(self) -> int:
        """The PD recorded with the decision (100 % when the application is unusable)."""
        return PPM if self.score is None else int(to_ppm(self.score.pd))


@dataclass(frozen=True)
class LoanView:
    """A loan in the lender's book."""

    loan: Any
    grade: str | None
    pd: float
    apr: float
    status: str
    repaid: Wei
    outstanding: Wei
    next_due_at: int
    next_due_amount: Wei
    can_mark_late: bool
    can_default: bool
    actions: tuple[str, ...] = ()
    """The :data:`LOAN_ACTIONS` the contract allows now (:meth:`LendingDesk.allowed_actions`)."""
    currency: Any = ETH
    """The deployment's :class:`~hessian_common.format.Currency`: every amount is in it."""


@dataclass(frozen=True)
class CurrencyTotals:
    """The lender's loans in one currency (base units of it): lent (funded principal),
    received (repayments and recoveries), outstanding, and credited to withdraw."""

    currency: Any
    lent: int
    received: int
    outstanding: int
    pending: int


@dataclass
class PerformanceRow:
    """Counts and money of one group of loans (a grade, a PD bucket, or all)."""

    label: str
    applied: int = 0
    decided: int = 0
    approved: int = 0
    funded: int = 0
    resolved: int = 0
    defaulted: int = 0
    pd_sum: float = 0.0
    lent: int = 0
    received: int = 0
    expected_flows: float = 0.0
    resolved_lent: int = 0
    resolved_received: int = 0
    irr_weighted: float = 0.0

    @property
    def approval_rate(self) -> float:
        """approved / decided (NaN before any decision)."""
        return self.approved / self.decided if self.decided else float("nan")

    @property
    def default_rate(self) -> float:
        """Realised: defaulted / resolved (repaid or defaulted) funded loans."""
        return self.defaulted / self.resolved if self.resolved else float("nan")

    @property
    def mean_pd(self) -> float:
        """Mean predicted PD of the funded loans."""
        return self.pd_sum / self.funded if self.funded else float("nan")

    @property
    def expected_return(self) -> float:
        """Principal-weighted annualised IRR of the expected flows at the decided APRs."""
        return self.irr_weighted / self.lent if self.lent else float("nan")

    @property
    def expected_total_return(self) -> float:
        """``Σ E[CF] / lent − 1`` over funded loans (undiscounted)."""
        return self.expected_flows / self.lent - 1.0 if self.lent else float("nan")

    @property
    def realised_total_return(self) -> float:
        """``received / lent − 1`` over resolved loans (undiscounted, recoveries included)."""
        return (
            self.resolved_received / self.resolved_lent - 1.0
            if self.resolved_lent
            else float("nan")
        )


@dataclass
class Performance:
    """:meth:`LendingDesk.performance`: by grade, by PD bucket, and all loans (money in base
    units of the deployment's currency; mixing currencies adds base units of each)."""

    total: PerformanceRow
    by_grade: list[PerformanceRow] = field(default_factory=list)
    by_pd: list[PerformanceRow] = field(default_factory=list)


class LendingDesk(ProductDesk):
    """The lender's side of lending (see the module docstring): a
    :class:`~hessian_common.products.desk.ProductDesk` (local files, deployability,
    decrypting, publishing: shared with the insurer's desk) over a ``LoanBook``.

    Parameters
    ----------
    lender : Lender
        Its books hold the models' records, keys and hold-outs (and the passphrase).
    book : LoanBook
        Signing as the lender's account.
    """

    subdir = LENDING_DIR
    model_file = CREDIT_MODEL_FILE
    input_error = LendingInputError
    who = "lender"
    policy_class = PricingPolicy

    def __init__(self, lender: Lender, book: LoanBook):
        super().__init__(lender, book)
        self._models: dict[int, CreditModel] = {}
        self._opened: dict[int, tuple[Application | None, str | None]] = {}

    def credit_model(self, model_id: int) -> CreditModel:
        """The deployed credit model of ``model_id`` (local, private; cached)."""
        if model_id not in self._models:
            self._models[model_id] = CreditModel.from_dict(
                self._read_json(model_id, CREDIT_MODEL_FILE)
            )
        return self._models[model_id]

    # ------------------------------------------------------------ deploy

    def deploy(
        self,
        model_id: int,
        policy: PricingPolicy | None = None,
        progress: Progress | None = None,
        currency: Any = None,
    ) -> DeployedModel:
        """Deploy a closed model of ours with ``policy`` (see the module docstring).

        ``currency``: ether (``None``, ``"eth"``), a token's address or a ``Currency``; a
        token must answer ``decimals()`` and ``symbol()`` on this chain (else
        :class:`LendingInputError` on ``currency``, nothing sent). The policy's ``currency``
        and ``decimals`` are set from it.
        """
        step = progress or no_progress
        model_id = int(model_id)
        policy = PricingPolicy() if policy is None else policy
        try:
            cur = currency_of(self.book.client, currency)
        except ConfigError as exc:
            raise LendingInputError({"currency": str(exc)}) from None
        if isinstance(policy, PricingPolicy):
            policy = replace(policy, currency=cur.symbol, decimals=cur.decimals)
        with self._lock:
            errors = policy.errors() if isinstance(policy, PricingPolicy) else {"policy": "missing"}
            record, info = self.check_deployable(model_id, errors)
            on_chain = self.book.deployment(model_id)
            if on_chain is not None:
                if not self._has_local(model_id):
                    raise ConfigError(
                        f"model #{model_id} is deployed on chain but its lending files are "
                        f"missing from {self._dir(model_id)}"
                    )
                return self.deployed_model(model_id)  # type: ignore[return-value]
            reuse = self._has_local(model_id) and (
                self.credit_model(model_id).model_cid == str(info.model_cid)
            )
            if reuse:
                step(message="reusing the local deployment files")
                model = self.credit_model(model_id)
                private = self._application_key(model_id)
                public = public_key_of(private)
            else:
                w, spec, X, y = self.decrypt_current(model_id, record, info, step)
                step(message="calibrating on the hold-out")
                model, summary = build_credit_model(w, spec, X, y, model_id, str(info.model_cid))
                private, public = new_application_key()
                step(message="saving the credit model and the application key")
                self._write_json(model_id, CREDIT_MODEL_FILE, model.to_dict())
                self._write_json(model_id, CALIBRATION_FILE, summary.to_dict())
                self._save_application_key(model_id, private)
            doc = {
                "format": POLICY_FORMAT,
                "model_id": model_id,
                "model_cid": model.model_cid,
                "schema": model.schema_name,
                "policy": policy.to_dict(),
                "application_key": public.hex(),
                "fields": _field_names(),
                "lender": self.lender.address,
                "loanbook": self.book.address,
                "currency": currency_address(cur),
            }
            step(message="publishing the policy")
            policy_cid = self.publish_policy(model_id, doc)
            self._models[model_id] = model
            self._policies[model_id] = policy
            step(message="deploying on chain")
            self.book.deploy_model(model_id, policy_cid, public, currency=currency_address(cur))
            return self.deployed_model(model_id)  # type: ignore[return-value]

    def retire(self, model_id: int) -> None:
        """Stop new applications for ``model_id`` (existing loans go on)."""
        self._own_deployment(model_id)
        self.book.retire_model(int(model_id))

    def deployed_model(self, model_id: int) -> DeployedModel | None:
        """Our deployment of ``model_id`` (None if not deployed by us or no local files)."""
        d = self.book.deployment(int(model_id))
        if d is None or not self.is_ours(d):
            return None
        if not self._has_local(model_id):
            return None
        model = self.credit_model(int(model_id))
        return DeployedModel(
            model_id=int(model_id),
            name=self.lender.record(model_id).name,
            model_cid=model.model_cid,
            policy=self.policy(int(model_id)),
            policy_cid=str(d.policy_cid),
            application_key=bytes(d.application_key),
            deployed_at=int(d.deployed_at),
            active=bool(d.active),
            loan_count=int(d.loan_count),
            calibration=CalibrationSummary.from_dict(self._read_json(model_id, CALIBRATION_FILE)),
            reference_rates=dict(model.reference_rates),
            currency=self.currency(int(model_id)),
        )

    def currencies(self) -> list[Any]:
        """The currencies of our deployments (each once, in deployment order)."""
        out: list[Any] = []
        for d in self.deployed():
            if d.currency is not None and d.currency not in out:
                out.append(d.currency)
        return out

    def _own_deployment(self, model_id: int) -> None:
        if self.deployed_model(int(model_id)) is None:
            raise LendingInputError({"model": f"model #{model_id} is not deployed by this lender"})

    # ------------------------------------------------------------ applications

    def _open(self, loan: Any) -> tuple[Application | None, str | None]:
        """The loan's application, checked against the chain (cached), or an error."""
        loan_id = int(loan.loan_id)
        if loan_id in self._opened:
            return self._opened[loan_id]
        result: tuple[Application | None, str | None]
        try:
            blob = fetch(
                self.store,
                loan.application_cid,
                what="sealed application",
                max_bytes=MAX_BYTES["sealed application"],
            )
            app = open_sealed_form(
                self._application_key(int(loan.model_id)),
                blob,
                loan.application_digest,
                Application.from_bytes,
                info=SEALING_INFO,
                sender=str(loan.borrower),
                party="borrower",
            )
            policy = self.policy(int(loan.model_id))
            if policy.to_units(app.amount) != int(loan.amount) or app.term != loan.requested_term:
                raise LendingInputError(
                    {"application": "amount or term differ from the request on chain"}
                )
            result = (app, None)
        except BlobNotFound as exc:
            # not cached: on a content network the blob may still arrive (the next read retries)
            return (None, f"sealed application {loan.application_cid} not found (yet): {exc}")
        except StoreIntegrityError as exc:
            result = (None, f"sealed application {loan.application_cid} unavailable: {exc}")
        except (CryptoError, LendingInputError, UntrustedBlobError) as exc:
            result = (None, f"unusable application: {exc}")
        # keep only final answers (a store outage raises StoreUnavailable, not cached)
        self._opened[loan_id] = result
        return result

    def _view(self, loan: Any) -> ApplicationView:
        app, error = self._open(loan)
        policy = self.policy(int(loan.model_id))
        if app is None:
            q = Quote(False, 0, 1.0, error or "unreadable", 0.0, 0.0, 0.0, None)
            # only a blob not found yet is left out of the cache (see _open)
            waiting = int(loan.loan_id) not in self._opened
            cur = self.currency(int(loan.model_id))
            return ApplicationView(loan, None, None, q, error, waiting, currency=cur)
        score = self.credit_model(int(loan.model_id)).score(app)
        q = quote(policy, score.pd, app.amount, app.term)
        return ApplicationView(loan, app, score, q, currency=self.currency(int(loan.model_id)))

    def _our_loans(self, model_id: int | None = None) -> list[Any]:
        mine = {d.model_id for d in self.deployed()}
        if model_id is not None:
            mine &= {int(model_id)}
        return [
            loan
            for loan in self.book.loans(model_id=model_id, lender=self.lender.address)
            if loan.model_id in mine
        ]

    def applications(
        self, status: str = "pending", model_id: int | None = None
    ) -> list[ApplicationView]:
        """Applications to our models with the suggested decision, oldest first.

        ``status``: ``"pending"`` (waiting for a decision) or ``"all"``.
        """
        if status not in ("pending", "all"):
            raise LendingInputError({"status": f"{status!r} is not 'pending' or 'all'"})
        loans = self._our_loans(model_id)
        if status == "pending":
            loans = [x for x in loans if x.status == LoanStatus.APPLIED]
        return [self._view(x) for x in loans]

    def application(self, loan_id: int) -> ApplicationView:
        """One application of ours (:class:`LendingInputError` if not ours)."""
        return self._view(self._our_loan(loan_id))

    def _our_loan(self, loan_id: int) -> Any:

        try:
            loan = self.book.loan(int(loan_id))
        except ContractRevert:
            raise LendingInputError({"loan": f"there is no loan #{loan_id}"}) from None
        if not self.is_ours(loan) or not self._has_local(loan.model_id):
            raise LendingInputError({"loan": f"loan #{loan_id} is not for one of our models"})
        return loan

    def decide(
        self,
        loan_id: int,
        approve: bool | None = None,
        apr_bps: int | None = None,
        principal_wei: int | None = None,
    ) -> ApplicationView:
        """Decide an application (``None``: follow the suggestion) and record it on chain.

        A manual approval may set ``apr_bps`` (within the policy's range ``min_apr_bps`` to
        ``max_apr_bps``, whoever decides: the page, the CLI or the simulation) and a smaller
        ``principal_wei``; the term is the one asked for. The PD is recorded either way.
        """
        with self._lock:
            view = self._view(self._our_loan(loan_id))
            loan = view.loan
            if loan.status != LoanStatus.APPLIED:
                raise LendingInputError(
                    {"loan": f"loan #{loan_id} is {loan.status.label}, not waiting for a decision"}
                )
            go = view.suggested_approve if approve is None else bool(approve)
            if not go:
                self.book.decide(int(loan_id), False, view.pd_ppm)
                return self._view(self.book.loan(int(loan_id)))
            policy = self.policy(int(loan.model_id))
            errors: dict[str, str] = {}
            if view.application is None:
                errors["approve"] = f"cannot approve an unusable application ({view.error})"
            apr = view.quote.apr_bps if apr_bps is None else apr_bps
            if isinstance(apr, bool) or not isinstance(apr, int | np.integer):
                errors["apr_bps"] = f"must be whole basis points, got {apr!r}"
            elif apr_bps is None and not view.quote.approved:
                errors["apr_bps"] = f"no suggested APR ({view.quote.reason}); give one"
            elif not policy.min_apr_bps <= apr <= policy.max_apr_bps:
                errors["apr_bps"] = (
                    f"{format_bps(apr)} is outside the policy's range "
                    f"{format_bps(policy.min_apr_bps)} to {format_bps(policy.max_apr_bps)}"
                )
            principal = int(loan.amount) if principal_wei is None else principal_wei
            if isinstance(principal, bool) or not isinstance(principal, int | np.integer):
                errors["principal_wei"] = f"must be whole wei, got {principal!r}"
            elif not 0 < principal <= int(loan.amount):
                errors["principal_wei"] = f"must be 1..{int(loan.amount)} (the amount asked)"
            if errors:
                raise LendingInputError(errors)
            self.book.decide(
                int(loan_id), True, view.pd_ppm, int(apr), int(principal), loan.requested_term
            )
            return self._view(self.book.loan(int(loan_id)))

    def decide_all_pending(
        self, model_id: int | None = None, progress: Progress | None = None
    ) -> list[ApplicationView]:
        """Follow the suggestion on every pending application, oldest first.

        An application whose sealed blob is not in the store yet is left pending (it may
        still arrive); one that cannot be used (wrong key, wrong digest) is declined.
        """
        step = progress or no_progress
        pending = [v for v in self.applications("pending", model_id) if not v.waiting]
        out = []
        for k, view in enumerate(pending):
            step(done=k, total=len(pending), message=f"deciding loan #{view.loan_id}")
            out.append(self.decide(view.loan_id))
        step(done=len(pending), total=len(pending), message="done")
        return out

    def pending_application(self, loan_id: int) -> ApplicationView | None:
        """The application ``loan_id`` if it is ours and waiting for a decision, else None."""
        try:
            view = self.application(loan_id)
        except LendingInputError:
            return None
        return view if view.pending else None

    # ------------------------------------------------------------ loans

    def allowed_actions(self, view: LoanView) -> list[str]:
        """The :data:`LOAN_ACTIONS` the contract allows on this loan now (by name)."""
        return [a.name for a in LOAN_ACTIONS.values() if a.allowed(view)]

    def loan_view(self, loan_id: int) -> LoanView | None:
        """Our loan ``loan_id`` as the loan book shows it (None if not in our book): one loan
        read, not the book."""
        try:
            return self._loan_view(self._our_loan(loan_id))
        except LendingInputError:
            return None

    def act(self, loan_id: int, action: str) -> dict[str, Any]:
        """Do one of :data:`LOAN_ACTIONS` to our loan; refused (:class:`LendingInputError`,
        nothing sent) unless the contract allows it now."""
        if action not in LOAN_ACTIONS:
            raise LendingInputError({"action": f"unknown loan action {action!r}"})
        rule = LOAN_ACTIONS[action]
        view = self.loan_view(loan_id)
        if view is None:
            raise LendingInputError({"loan": f"loan #{loan_id} is not in this lender's book"})
        if not rule.allowed(view):
            raise LendingInputError(
                {"loan": f"Loan #{loan_id} cannot be {rule.done}: it is not {rule.needs}"}
            )
        do = {
            "fund": self.fund,
            "mark-late": self.mark_late,
            "mark-default": self.mark_default,
            "cancel": self.cancel,
        }[action]
        return do(int(loan_id))

    def _require(self, loan_id: int, statuses: tuple[Any, ...], what: str) -> Any:
        loan = self._our_loan(loan_id)
        if loan.status not in statuses:
            raise LendingInputError(
                {"loan": f"cannot {what} loan #{loan_id}: it is {loan.status.label}"}
            )
        return loan

    def fund(self, loan_id: int) -> dict[str, Any]:
        """Send the principal of an accepted loan (credited to the borrower)."""
        self._require(loan_id, (LoanStatus.ACCEPTED,), "fund")
        fund_by = self.book.fund_by(int(loan_id))
        if self.book.client.block_timestamp() > fund_by:
            raise LendingInputError(
                {"loan": f"loan #{loan_id} was accepted more than the funding window ago; "
                 "it can only be cancelled"}
            )  # fmt: skip
        return self.book.fund(int(loan_id))

    def mark_late(self, loan_id: int) -> dict[str, Any]:
        """Record that an instalment due is unpaid."""
        self._require(loan_id, (LoanStatus.FUNDED,), "mark late")
        if not self.book.is_late(int(loan_id)):
            raise LendingInputError({"loan": f"loan #{loan_id} has nothing overdue"})
        return self.book.mark_late(int(loan_id))

    def mark_default(self, loan_id: int) -> dict[str, Any]:
        """Record a default (an instalment overdue by more than the contract's window)."""
        self._require(loan_id, (LoanStatus.FUNDED,), "mark as defaulted")
        if not self.book.can_default(int(loan_id)):
            raise LendingInputError(
                {"loan": f"loan #{loan_id} is not overdue long enough to default"}
            )
        return self.book.mark_default(int(loan_id))

    def cancel(self, loan_id: int) -> dict[str, Any]:
        """Withdraw an offer (offered or accepted, not yet funded)."""
        self._require(loan_id, (LoanStatus.OFFERED, LoanStatus.ACCEPTED), "cancel")
        return self.book.cancel(int(loan_id))

    def withdraw(self, currency: Any = None) -> int:
        """Withdraw repayments credited to the lender in ``currency`` (ether by default; a
        token's address or ``Currency``), in its base units (0, no transaction, if none)."""
        address = currency_address(currency)
        if not self.book.pending(currency=address):
            return 0
        return self.book.withdraw(address)

    def totals(self) -> list[CurrencyTotals]:
        """Lent, received, outstanding and to withdraw, per currency of our deployments
        (ether first; a currency appears when a deployment uses it or it holds credit)."""
        funded = {LoanStatus.FUNDED, LoanStatus.REPAID, LoanStatus.DEFAULTED, LoanStatus.RECOVERED}
        sums: dict[Any, list[int]] = {}
        for loan in self._our_loans():
            row = sums.setdefault(self.currency(int(loan.model_id)), [0, 0, 0])
            if loan.status in funded:
                row[0] += int(loan.principal)
            row[1] += int(loan.repaid)
            row[2] += int(loan.outstanding)
        out = []
        for cur, units in self.pending().items():
            lent, received, outstanding = sums.get(cur, [0, 0, 0])
            used = cur in sums or cur in self.currencies()
            if used or units:
                out.append(CurrencyTotals(cur, lent, received, outstanding, units))
        return out

    def pending(self) -> dict[Any, int]:
        """What the LoanBook owes the lender, per currency of our deployments (and ether)."""
        out: dict[Any, int] = {}
        for cur in [ETH, *self.currencies()]:
            if cur not in out:
                out[cur] = int(self.book.pending(currency=currency_address(cur)))
        return out

    def loan_book(self, model_id: int | None = None) -> list[LoanView]:
        """Our loans with what the lender acts on (next due, late, can default)."""
        return [self._loan_view(loan) for loan in self._our_loans(model_id)]

    def loan_book_page(
        self,
        number: int = 1,
        per_page: int | None = None,
        model_id: int | None = None,
        state: str = "decided",
    ) -> Page[LoanView]:
        """One page of the loan book, newest first: the page's loan ids from the events of
        our deployed models (``state``: ``"decided"``, the applications decided or cancelled;
        ``"all"``), then only those loans read."""
        ids = pages.loan_ids_page(
            self.book, number, per_page or pages.DEFAULT_PER_PAGE,
            model_ids=self._our_model_ids(model_id), state=state, order="desc",
        )  # fmt: skip
        return ids.map(lambda i: self._loan_view(self.book.loan(i)))

    def applications_page(
        self,
        state: str = "pending",
        number: int = 1,
        per_page: int | None = None,
        model_id: int | None = None,
    ) -> Page[ApplicationView]:
        """One page of :meth:`applications`: ``state`` ``"pending"`` (oldest first: the
        queue), ``"decided"`` or ``"all"`` (newest first); only the page's applications are
        read, opened and scored."""
        if state not in ("pending", "decided", "all"):
            raise LendingInputError({"state": f"{state!r} is not 'pending', 'decided' or 'all'"})
        ids = pages.loan_ids_page(
            self.book, number, per_page or pages.DEFAULT_PER_PAGE,
            model_ids=self._our_model_ids(model_id), state=state,
            order="asc" if state == "pending" else "desc",
        )  # fmt: skip
        return ids.map(lambda i: self._view(self.book.loan(i)))

    def _our_model_ids(self, model_id: int | None = None) -> list[int]:
        """Our deployed models with local files (all, or ``model_id`` if it is one)."""
        mine = pages.deployed_model_ids(self.book, self.lender.address)
        return [
            m for m in mine if (model_id is None or m == int(model_id)) and self._has_local(m)
        ]

    def _loan_view(self, loan: Any) -> LoanView:
        app, _ = self._open(loan)
        funded = loan.status == LoanStatus.FUNDED
        ts, amount = self.book.next_due(loan.loan_id) if funded else (0, Wei(0))
        late_now = funded and self.book.is_late(loan.loan_id)
        view = LoanView(
            loan=loan,
            grade=app.grade if app else None,
            pd=loan.pd,
            apr=loan.apr,
            status=("late" if funded and loan.late else loan.status.label),
            repaid=loan.repaid,
            outstanding=loan.outstanding,
            next_due_at=int(ts),
            next_due_amount=Wei(int(amount)),
            can_mark_late=bool(late_now and not loan.late),
            can_default=bool(funded and self.book.can_default(loan.loan_id)),
            currency=self.currency(int(loan.model_id)),
        )
        return replace(view, actions=tuple(self.allowed_actions(view)))

    def performance(self, model_id: int | None = None) -> Performance:
        """Approval, funding and default counts and money, by grade and by PD bucket.

        Over the whole book, from its events (``chain.pages.loan_states``): a few SQLite
        queries with an event index, and each application opened once (then cached)."""
        decided_states = {
            LoanStatus.OFFERED, LoanStatus.DECLINED, LoanStatus.ACCEPTED, LoanStatus.FUNDED,
            LoanStatus.REPAID, LoanStatus.DEFAULTED,
        }  # fmt: skip
        funded_states = {LoanStatus.FUNDED, LoanStatus.REPAID, LoanStatus.DEFAULTED}
        total = PerformanceRow("all")
        grades: dict[str, PerformanceRow] = {}
        buckets = [PerformanceRow(pd_bucket_label(k)) for k in range(len(PD_EDGES) - 1)]
        # folded from the book's events (no struct read per loan); applications opened once
        for loan in pages.loan_states(self.book, self._our_model_ids(model_id)):
            app, _ = self._open(loan)
            rows = [total, grades.setdefault(app.grade if app else "?", PerformanceRow(""))]
            decided = loan.status in decided_states or (
                loan.status == LoanStatus.CANCELLED and int(loan.principal) > 0
            )
            if decided and app is not None:
                rows.append(buckets[pd_bucket(loan.pd)])
            for row in rows:
                _add(row, loan, decided, loan.status in funded_states, self.policy(loan.model_id))
        for g, row in grades.items():
            row.label = g
        return Performance(
            total=total,
            by_grade=[grades[g] for g in sorted(grades)],
            by_pd=[b for b in buckets if b.applied],
        )


@dataclass(frozen=True)
class LoanAction:
    """Something the lender does to a loan, and when the contract allows it."""

    name: str
    """The action's key (``fund``, ``mark-late``, ``mark-default``, ``cancel``)."""
    done: str
    """Past participle for messages (``funded``)."""
    needs: str
    """What the loan must be, in words, for the action to be allowed."""
    allowed: Callable[[LoanView], bool] = field(repr=False, compare=False)


LOAN_ACTIONS: dict[str, LoanAction] = {
    a.name: a
    for a in (
        LoanAction(
            "fund",
            "funded",
            "accepted by the borrower",
            lambda v: v.loan.status == LoanStatus.ACCEPTED,
        ),
        LoanAction(
            "mark-late",
            "marked late",
            "behind its schedule (and not marked late)",
            lambda v: v.can_mark_late,
        ),
        LoanAction(
            "mark-default",
            "marked in default",
            "overdue past the default period",
            lambda v: v.can_default,
        ),
        LoanAction(
            "cancel",
            "cancelled",
            "an open offer (offered or accepted, not funded)",
            lambda v: v.loan.status in (LoanStatus.OFFERED, LoanStatus.ACCEPTED),
        ),
    )
}
"""The lender's loan actions, in the order the loan book shows them."""


def _add(row: PerformanceRow, loan: Any, decided: bool, funded: bool, policy: Any) -> None:

    row.applied += 1
    if not decided:
        return
    row.decided += 1
    approved = int(loan.principal) > 0
    row.approved += approved
    if not funded:
        return
    principal = int(loan.principal)
    row.funded += 1
    row.pd_sum += loan.pd
    row.lent += principal
    row.received += int(loan.repaid)
    whole = policy.from_units(principal)
    cf = expected_cash_flows(loan.pd, loan.apr, loan.term_months, whole, policy.recovery_rate)
    row.expected_flows += float(cf.sum()) * 10 ** int(policy.decimals)
    row.irr_weighted += irr_annual(cf, whole) * principal
    if loan.status in (LoanStatus.REPAID, LoanStatus.DEFAULTED):
        row.resolved += 1
        row.defaulted += loan.status == LoanStatus.DEFAULTED
        row.resolved_lent += principal
        row.resolved_received += int(loan.repaid)


def _field_names() -> list[str]:

    return [f.name for f in APPLICATION_FIELDS]


__all__ = [
    "LOAN_ACTIONS",
    "ApplicationView",
    "CurrencyTotals",
    "DeployedModel",
    "LendingDesk",
    "LoanAction",
    "LoanView",
    "Performance",
    "PerformanceRow",
]
