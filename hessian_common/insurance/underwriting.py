"""The insurer's desk on chain: deploy a claims model, run its capital pool, quote, decide claims.

Used by the company app's insurance pages, the demo and the simulation. An
:class:`InsuranceDesk` is a :class:`~hessian_common.products.desk.ProductDesk` (shared with the
lender's :class:`~hessian_common.lending.desk.LendingDesk`) over a
:class:`~hessian_common.chain.policybook.PolicyBook` whose client signs as the insurer.

Deploying claims model ``m`` (:meth:`InsuranceDesk.deploy`)::

    checks          policy valid; m ours and CLOSED (ProductDesk.check_deployable)
    w               = D(enc(w_current)); claims model = build_claims_model(w, spec, hold-out)
    severity        fitted from the insurer's own claims file when given (fit_pricing)
    p, P            = new X25519 application key
    local (0600)    models/<m>/insurance/{claims_model.json, calibration.json,
                                          application_key.json (sealed), policy.json}
    store           the public policy document (hessian.insurance-policy/1) -> policyCid
    chain           deployModel(m, policyCid, P, currency)

Quoting policy ``i`` (:meth:`InsuranceDesk.quote`): open the sealed application (the chain's
digest, the applicant's address), check that the coverage and term asked on chain are the
application's (``units(L)`` and :func:`term_seconds`), score it and price it
(:func:`hessian_common.insurance.desk.decide`); an approved quote is sent only when the pool's
free capital covers the limit (so a customer who pays is always covered)::

    quote(i, claim ppm, premium, units(L), units(D), term_seconds(t))   or   decline(i, ppm)

Claims (:meth:`InsuranceDesk.claims`, :meth:`~InsuranceDesk.approve_claim`,
:meth:`~InsuranceDesk.deny_claim`): within the contract's claim window only; after it the
insurer can no longer answer and anyone settles (pays) the claim.

Performance (:meth:`InsuranceDesk.performance`): predicted claims ``Σ p`` against realised
(policies with a paid claim) by band of predicted probability, premiums, claims paid, the
realised loss ratio (claims paid / premiums) against the pricing rule's target
(``Σ EL / Σ premium``, :func:`hessian_common.insurance.pricing.quote`).

Every refusal is an :class:`~hessian_common.errors.InsuranceInputError` raised before anything
is written or sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from hessian_common.chain.policybook import ClaimStatus, DenialReason, PolicyStatus
from hessian_common.chain.token import ZERO_ADDRESS, currency_address, currency_of
from hessian_common.crypto.sealing import new_application_key, public_key_of
from hessian_common.data.loader import load_file
from hessian_common.errors import (
    BlobNotFound,
    ConfigError,
    ContractRevert,
    CryptoError,
    DataError,
    InsuranceInputError,
    StoreIntegrityError,
    UntrustedBlobError,
)
from hessian_common.format import Currency
from hessian_common.insurance.application import APPLICATION_FIELDS, InsuranceApplication
from hessian_common.insurance.desk import (
    ClaimsModel,
    Decision,
    build_claims_model,
    decide,
    fit_pricing,
    open_application,
)
from hessian_common.insurance.pricing import PricingPolicy, Quote, policy_document
from hessian_common.learning.calibration import CalibrationSummary
from hessian_common.products.desk import CALIBRATION_FILE, ProductDesk, _noop
from hessian_common.types import PPM

INSURANCE_DIR = "insurance"
CLAIMS_MODEL_FILE = "claims_model.json"
DAY = 86_400
YEAR = 365 * DAY

PROBABILITY_BANDS = (0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.35, 1.0000001)
"""Edges ``[lo, hi)`` of the claim-probability bands of :meth:`InsuranceDesk.performance`."""


def term_seconds(months: int) -> int:
    """A policy term on chain: ``months × 365 days / 12`` in whole seconds (12 → 365 days)."""
    return int(months) * YEAR // 12


def term_months(seconds: int) -> int:
    """Inverse of :func:`term_seconds` (rounded to whole months)."""
    return round(int(seconds) * 12 / YEAR)


@dataclass(frozen=True)
class DeployedClaimsModel:
    """One of our deployed claims models: chain state, pool, policy and calibration."""

    model_id: int
    name: str
    model_cid: str
    policy: PricingPolicy
    policy_cid: str
    application_key: bytes
    deployed_at: int
    active: bool
    policy_count: int
    calibration: CalibrationSummary
    currency: Currency
    pool: Any
    """:class:`~hessian_common.chain.policybook.PoolInfo` (free, reserved, premiums held)."""


@dataclass(frozen=True)
class QuoteView:
    """An application as the insurer sees it, with the suggested decision."""

    policy: Any
    """:class:`~hessian_common.chain.policybook.PolicyInfo`."""
    application: InsuranceApplication | None
    decision: Decision | None
    error: str | None = None
    waiting: bool = False
    """The sealed application is not in the store (yet): *decide all* leaves it pending."""
    covered: bool = True
    """The pool's free capital covers the limit asked (else a quote is refused)."""

    @property
    def policy_id(self) -> int:
        return int(self.policy.policy_id)

    @property
    def quote(self) -> Quote | None:
        return None if self.decision is None else self.decision.quote

    @property
    def suggested_quote(self) -> bool:
        return self.error is None and self.decision is not None and self.decision.approve

    @property
    def claim_ppm(self) -> int:
        """The probability recorded with the decision (100 % when unusable)."""
        return PPM if self.decision is None else int(self.decision.quote.probability_ppm)


@dataclass(frozen=True)
class ClaimView:
    """A claim on one of our policies, with what the insurer may do now."""

    claim: Any
    """:class:`~hessian_common.chain.policybook.ClaimInfo`."""
    policy: Any
    now: int

    @property
    def claim_id(self) -> int:
        return int(self.claim.claim_id)

    @property
    def open(self) -> bool:
        return self.claim.status == ClaimStatus.FILED

    @property
    def decidable(self) -> bool:
        """Filed and within the window: the insurer may approve or deny."""
        return self.open and self.now <= self.claim.deadline

    @property
    def settleable(self) -> bool:
        """Filed and past the window: anyone may settle (pay) it."""
        return self.open and self.now > self.claim.deadline


@dataclass
class BandRow:
    """Predicted vs realised claims of a group of bought policies (money in base units)."""

    label: str
    policies: int = 0
    predicted: float = 0.0
    """Σ claim probability (the expected number of claims)."""
    claimed: int = 0
    """Policies with a paid (approved or settled) claim."""
    premiums: int = 0
    claims_paid: int = 0

    @property
    def predicted_rate(self) -> float:
        return self.predicted / self.policies if self.policies else float("nan")

    @property
    def realised_rate(self) -> float:
        return self.claimed / self.policies if self.policies else float("nan")

    @property
    def loss_ratio(self) -> float:
        return self.claims_paid / self.premiums if self.premiums else float("nan")


@dataclass
class InsurancePerformance:
    """:meth:`InsuranceDesk.performance`: all bought policies and by probability band."""

    total: BandRow
    bands: list[BandRow] = field(default_factory=list)
    applied: int = 0
    quoted: int = 0
    declined: int = 0
    claims_filed: int = 0
    claims_denied: int = 0
    claims_settled_unanswered: int = 0
    expected_loss: int = 0
    """Σ EL of the bought policies, base units (the rule's expected claims paid)."""

    @property
    def target_loss_ratio(self) -> float:
        """The pricing rule's ``Σ EL / Σ premium`` over the bought policies."""
        return self.expected_loss / self.total.premiums if self.total.premiums else float("nan")


def currency_info(client: Any, address: Any, strict: bool = False) -> Currency:
    """The :class:`~hessian_common.format.Currency` at ``address`` (ether for the zero
    address / None; see :func:`hessian_common.chain.token.currency_of`)."""
    return currency_of(client, address, strict=strict)


class InsuranceDesk(ProductDesk):
    """The insurer's side of insurance (see the module docstring).

    Parameters
    ----------
    lender : Lender
        The insurer's books (it trained the claims model as a task).
    book : PolicyBook
        Signing as the insurer's account.
    """

    subdir = INSURANCE_DIR
    model_file = CLAIMS_MODEL_FILE
    input_error = InsuranceInputError
    what = "insurance"
    who = "insurer"
    policy_class = PricingPolicy

    def __init__(self, lender: Any, book: Any):
        super().__init__(lender, book)
        self._models: dict[int, ClaimsModel] = {}
        self._opened: dict[int, tuple[InsuranceApplication | None, str | None]] = {}

    # ------------------------------------------------------------ local state

    def claims_model(self, model_id: int) -> ClaimsModel:
        """The deployed claims model of ``model_id`` (local, private; cached)."""
        if model_id not in self._models:
            self._models[model_id] = ClaimsModel.from_dict(
                self._read_json(model_id, CLAIMS_MODEL_FILE)
            )
        return self._models[model_id]

    # ------------------------------------------------------------ deploy

    def deploy(
        self,
        model_id: int,
        policy: PricingPolicy | None = None,
        *,
        claims: Any = None,
        currency: str | None = ZERO_ADDRESS,
        progress: Any = None,
    ) -> DeployedClaimsModel:
        """Deploy a closed claims model of ours with ``policy`` (module docstring).

        ``claims``: the insurer's claims file (a path, or a ``LoadedData`` of the
        ``insurance_claims`` schema); its paid amounts fit the policy's severity table.
        ``currency``: ether (default) or an ERC-20 token's address.
        """
        step = progress or _noop
        model_id = int(model_id)
        policy = PricingPolicy() if policy is None else policy
        errors = policy.errors() if isinstance(policy, PricingPolicy) else {"policy": "missing"}
        try:
            cur = currency_info(self.book.client, currency, strict=True)
        except ConfigError as exc:
            errors["currency"] = str(exc)
            cur = currency_info(self.book.client, None)
        with self._lock:
            record, info = self.check_deployable(model_id, errors)
            spec_schema = self.lender.books.spec(record.spec_cid).schema_name
            if spec_schema != "insurance_claims":
                raise InsuranceInputError(
                    {"model": f"model #{model_id} is a {spec_schema} model, not a claims model"}
                )
            if self.book.deployment(model_id) is not None:
                if not self._has_local(model_id):
                    raise ConfigError(
                        f"model #{model_id} is deployed on chain but its insurance files are "
                        f"missing from {self._dir(model_id)}"
                    )
                return self.deployed_model(model_id)  # type: ignore[return-value]
            if claims is not None:
                step(message="fitting the severity from your claims file")
                policy, _ = fit_pricing(policy, _claims_data(claims))
            reuse = self._has_local(model_id) and (
                self.claims_model(model_id).model_cid == str(info.model_cid)
            )
            if reuse:
                step(message="reusing the local deployment files")
                model = self.claims_model(model_id)
                private = self._application_key(model_id)
            else:
                w, spec, X, y = self.decrypt_current(model_id, record, info, step)
                step(message="calibrating on the hold-out")
                model, summary = build_claims_model(w, spec, X, y, model_id, str(info.model_cid))
                private, _ = new_application_key()
                step(message="saving the claims model and the application key")
                self._write_json(model_id, CLAIMS_MODEL_FILE, model.to_dict())
                self._write_json(model_id, CALIBRATION_FILE, summary.to_dict())
                self._save_application_key(model_id, private)
            public = public_key_of(private)
            doc = policy_document(
                model_id=model_id,
                model_cid=model.model_cid,
                schema=model.schema_name,
                policy=policy,
                application_key=public,
                fields=[f.name for f in APPLICATION_FIELDS],
                insurer=self.lender.address,
                policybook=self.book.address,
                currency=currency_address(cur),
            )
            step(message="publishing the policy")
            policy_cid = self.publish_policy(model_id, doc)
            self._models[model_id], self._policies[model_id] = model, policy
            step(message="deploying on chain")
            self.book.deploy_model(model_id, policy_cid, public, currency_address(cur))
            return self.deployed_model(model_id)  # type: ignore[return-value]

    def deployed_model(self, model_id: int) -> DeployedClaimsModel | None:
        """Our deployment of ``model_id`` (None when not deployed here by us)."""
        d = self.book.deployment(int(model_id))
        if d is None or not self.is_ours(d):
            return None
        if not self._has_local(model_id):
            return None
        model = self.claims_model(int(model_id))
        return DeployedClaimsModel(
            model_id=int(model_id),
            name=self.lender.record(model_id).name,
            model_cid=model.model_cid,
            policy=self.policy(int(model_id)),
            policy_cid=str(d.policy_cid),
            application_key=bytes(d.application_key),
            deployed_at=int(d.deployed_at),
            active=bool(d.active),
            policy_count=int(d.policy_count),
            calibration=CalibrationSummary.from_dict(self._read_json(model_id, CALIBRATION_FILE)),
            currency=self.currency(int(model_id)),
            pool=self.book.pool(int(model_id)),
        )

    def _own(self, model_id: int) -> DeployedClaimsModel:
        dm = self.deployed_model(int(model_id))
        if dm is None:
            raise InsuranceInputError(
                {"model": f"model #{model_id} is not deployed by this insurer"}
            )
        return dm

    # ------------------------------------------------------------ capital pool

    def deposit(self, model_id: int, amount: int) -> dict[str, Any]:
        """Add ``amount`` (base units) to ``model_id``'s free capital."""
        self._own(model_id)
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise InsuranceInputError({"amount": f"must be a positive amount, got {amount!r}"})
        return self.book.deposit_capital(int(model_id), int(amount))

    def withdraw_capital(self, model_id: int, amount: int) -> dict[str, Any]:
        """Move ``amount`` of free capital to our pending balance (then :meth:`withdraw`):
        at most the free capital (reserves back the policies in force)."""
        pool = self._own(model_id).pool
        if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
            raise InsuranceInputError({"amount": f"must be a positive amount, got {amount!r}"})
        if amount > pool.free:
            raise InsuranceInputError(
                {"amount": f"only {pool.free} base units are free (the rest backs policies)"}
            )
        return self.book.withdraw_capital(int(model_id), int(amount))

    def withdraw(self, model_id: int | None = None) -> int:
        """Withdraw what the PolicyBook holds for us in ``model_id``'s currency (ether when
        None); 0 without a transaction when nothing is owed."""
        cur = ZERO_ADDRESS if model_id is None else currency_address(self.currency(int(model_id)))
        if not self.book.pending(currency=cur):
            return 0
        return self.book.withdraw(cur)

    # ------------------------------------------------------------ applications

    def _open(self, info: Any) -> tuple[InsuranceApplication | None, str | None]:
        """The policy's application, checked against the chain (cached), or an error."""
        pid = int(info.policy_id)
        if pid in self._opened:
            return self._opened[pid]
        result: tuple[InsuranceApplication | None, str | None]
        try:
            blob = self.fetch_sealed(info.application_cid)
            app = open_application(
                self._application_key(int(info.model_id)), blob, info.application_digest,
                info.holder,
            )  # fmt: skip
            policy = self.policy(int(info.model_id))
            decimals = self.currency(int(info.model_id)).decimals
            asked = policy.to_units(app.coverage_limit, decimals, "down")
            if asked != int(info.coverage_asked) or term_seconds(app.term) != int(info.term_asked):
                raise InsuranceInputError(
                    {"application": "coverage or term differ from the request on chain"}
                )
            result = (app, None)
        except BlobNotFound as exc:
            return (None, f"sealed application {info.application_cid} not found (yet): {exc}")
        except StoreIntegrityError as exc:
            result = (None, f"sealed application {info.application_cid} unavailable: {exc}")
        except (CryptoError, InsuranceInputError, UntrustedBlobError) as exc:
            result = (None, f"unusable application: {exc}")
        self._opened[pid] = result
        return result

    def _view(self, info: Any) -> QuoteView:
        app, error = self._open(info)
        if app is None:
            waiting = int(info.policy_id) not in self._opened
            return QuoteView(info, None, None, error or "unreadable", waiting)
        mid = int(info.model_id)
        d = decide(self.claims_model(mid), self.policy(mid), app, self.currency(mid).decimals)
        covered = True
        if info.status == PolicyStatus.APPLIED and d.approve:
            covered = self.book.pool(mid).free >= int(d.quote.coverage_limit)
        return QuoteView(info, app, d, None, False, covered)

    def _our_policies(self, model_id: int | None = None) -> list[Any]:
        mine = {d.model_id for d in self.deployed()}
        if model_id is not None:
            mine &= {int(model_id)}
        return [
            p
            for p in self.book.policies(model_id=model_id, insurer=self.lender.address)
            if p.model_id in mine
        ]

    def applications(self, status: str = "pending", model_id: int | None = None) -> list[QuoteView]:
        """Applications to our models with the suggested decision, oldest first
        (``status``: ``"pending"`` or ``"all"``)."""
        if status not in ("pending", "all"):
            raise InsuranceInputError({"status": f"{status!r} is not 'pending' or 'all'"})
        policies = self._our_policies(model_id)
        if status == "pending":
            policies = [p for p in policies if p.status == PolicyStatus.APPLIED]
        return [self._view(p) for p in policies]

    def _our_policy(self, policy_id: int) -> Any:
        try:
            info = self.book.policy(int(policy_id))
        except ContractRevert:
            raise InsuranceInputError({"policy": f"there is no policy #{policy_id}"}) from None
        if not self.is_ours(info) or not self._has_local(info.model_id):
            raise InsuranceInputError({"policy": f"policy #{policy_id} is not for our models"})
        return info

    def application(self, policy_id: int) -> QuoteView:
        """One application of ours (:class:`InsuranceInputError` if not ours)."""
        return self._view(self._our_policy(policy_id))

    def decide(self, policy_id: int, approve: bool | None = None) -> QuoteView:
        """Quote (at the desk's premium) or decline a pending application; ``None`` follows
        the suggestion. The claim probability is recorded either way. A quote the pool's free
        capital cannot cover is refused (deposit capital first)."""
        with self._lock:
            view = self.application(policy_id)
            if view.policy.status != PolicyStatus.APPLIED:
                raise InsuranceInputError(
                    {"policy": f"policy #{policy_id} is {view.policy.status.label}, not "
                     "waiting for a quote"}
                )  # fmt: skip
            go = view.suggested_quote if approve is None else bool(approve)
            if not go:
                self.book.decline(int(policy_id), view.claim_ppm)
                return self._view(self.book.policy(int(policy_id)))
            if view.decision is None:
                raise InsuranceInputError(
                    {"approve": f"cannot quote an unusable application ({view.error})"}
                )
            q = view.decision.quote
            if not q.approved:
                raise InsuranceInputError({"approve": f"the policy declines it: {q.reason}"})
            if not view.covered:
                raise InsuranceInputError(
                    {"pool": f"the pool's free capital ({view.policy.model_id}) does not cover "
                     "the limit asked; deposit capital first"}
                )  # fmt: skip
            self.book.quote(
                int(policy_id), int(q.probability_ppm), int(q.premium), int(q.coverage_limit),
                int(q.deductible), term_seconds(q.term),
            )  # fmt: skip
            return self._view(self.book.policy(int(policy_id)))

    def decide_all_pending(
        self, model_id: int | None = None, progress: Any = None
    ) -> list[QuoteView]:
        """Follow the suggestion on every pending application, oldest first; one whose blob
        is not in the store yet, or whose quote the pool cannot cover, stays pending."""
        step = progress or _noop
        pending = [
            v
            for v in self.applications("pending", model_id)
            if not v.waiting and (v.covered or not v.suggested_quote)
        ]
        out = []
        for k, view in enumerate(pending):
            step(done=k, total=len(pending), message=f"deciding policy #{view.policy_id}")
            try:
                out.append(self.decide(view.policy_id))
            except InsuranceInputError:  # the pool ran short meanwhile: left pending
                continue
        step(done=len(pending), total=len(pending), message="done")
        return out

    def policies(self, model_id: int | None = None) -> list[QuoteView]:
        """Our bought policies (active, expired, cancelled after purchase)."""
        bought = (PolicyStatus.ACTIVE, PolicyStatus.EXPIRED)
        return [self._view(p) for p in self._our_policies(model_id) if p.status in bought]

    # ------------------------------------------------------------ claims

    def claims(self, status: str = "open", model_id: int | None = None) -> list[ClaimView]:
        """Claims on our policies, oldest first (``status``: ``"open"`` or ``"all"``)."""
        if status not in ("open", "all"):
            raise InsuranceInputError({"status": f"{status!r} is not 'open' or 'all'"})
        now = self.book.client.block_timestamp()
        out = []
        for p in self._our_policies(model_id):
            if not p.claim_count:
                continue
            for c in self.book.claims(policy_id=p.policy_id):
                view = ClaimView(c, p, now)
                if status == "all" or view.open:
                    out.append(view)
        return sorted(out, key=lambda v: v.claim_id)

    def _our_claim(self, claim_id: int) -> ClaimView:
        try:
            c = self.book.claim(int(claim_id))
        except ContractRevert:
            raise InsuranceInputError({"claim": f"there is no claim #{claim_id}"}) from None
        p = self._our_policy(c.policy_id)
        return ClaimView(c, p, self.book.client.block_timestamp())

    def _decidable(self, claim_id: int) -> ClaimView:
        view = self._our_claim(claim_id)
        if not view.open:
            raise InsuranceInputError(
                {"claim": f"claim #{claim_id} is {view.claim.status.label}, not open"}
            )
        if not view.decidable:
            raise InsuranceInputError(
                {"claim": f"claim #{claim_id} is past its window: it can only be settled "
                 "(paid)"}
            )  # fmt: skip
        return view

    def approve_claim(self, claim_id: int) -> ClaimView:
        """Pay an open claim from the policy's reserve (within the window)."""
        self._decidable(claim_id)
        self.book.approve_claim(int(claim_id))
        return self._our_claim(claim_id)

    def deny_claim(self, claim_id: int, reason: int | str) -> ClaimView:
        """Deny an open claim with a reason (:class:`DenialReason`, its number or name)."""
        code = parse_reason(reason)
        self._decidable(claim_id)
        self.book.deny_claim(int(claim_id), int(code))
        return self._our_claim(claim_id)

    def settle_claim(self, claim_id: int) -> ClaimView:
        """Pay a claim left unanswered past its window (anyone may; so may we)."""
        view = self._our_claim(claim_id)
        if not view.settleable:
            raise InsuranceInputError(
                {"claim": f"claim #{claim_id} cannot be settled: it is "
                 f"{view.claim.status.label}{' and within its window' if view.open else ''}"}
            )  # fmt: skip
        self.book.settle_claim(int(claim_id))
        return self._our_claim(claim_id)

    # ------------------------------------------------------------ performance

    def performance(self, model_id: int | None = None) -> InsurancePerformance:
        """Predicted vs realised claims by probability band, premiums and claims paid."""
        policies = self._our_policies(model_id)
        perf = InsurancePerformance(total=BandRow("all"))
        bands = [BandRow(f"{lo:.0%}-{min(hi, 1.0):.0%}") for lo, hi in pairwise(PROBABILITY_BANDS)]
        for p in policies:
            perf.applied += 1
            if p.status == PolicyStatus.DECLINED:
                perf.declined += 1
            if p.status in (PolicyStatus.QUOTED, PolicyStatus.ACTIVE, PolicyStatus.EXPIRED) or (
                p.status == PolicyStatus.CANCELLED and p.premium
            ):
                perf.quoted += 1
            if p.status not in (PolicyStatus.ACTIVE, PolicyStatus.EXPIRED):
                continue
            claims = self.book.claims(policy_id=p.policy_id) if p.claim_count else []
            perf.claims_filed += len(claims)
            perf.claims_denied += sum(c.status == ClaimStatus.DENIED for c in claims)
            perf.claims_settled_unanswered += sum(c.status == ClaimStatus.SETTLED for c in claims)
            view = self._view(p)
            if view.decision is not None:
                q = view.decision.quote
                perf.expected_loss += int(
                    self.policy(p.model_id).to_units(q.expected_loss, q.decimals, "down")
                )
            k = int(np.searchsorted(PROBABILITY_BANDS, p.claim_probability, side="right")) - 1
            for row in (perf.total, bands[min(max(k, 0), len(bands) - 1)]):
                row.policies += 1
                row.predicted += p.claim_probability
                row.claimed += int(any(c.status.paid for c in claims))
                row.premiums += int(p.premium)
                row.claims_paid += int(p.claims_paid)
        perf.bands = [b for b in bands if b.policies]
        return perf


def parse_reason(reason: int | str) -> DenialReason:
    """A :class:`DenialReason` from its number or name (``"not_covered"``, ``"not covered"``)."""
    try:
        if isinstance(reason, str) and not reason.strip().isdigit():
            return DenialReason[reason.strip().upper().replace(" ", "_")]
        return DenialReason(int(reason))
    except (KeyError, ValueError, TypeError):
        names = ", ".join(r.label for r in DenialReason)
        raise InsuranceInputError({"reason": f"choose a reason: {names}"}) from None


def _claims_data(claims: Any) -> Any:
    if isinstance(claims, str | Path):
        try:
            return load_file(Path(claims), "insurance_claims")
        except DataError as exc:
            raise InsuranceInputError({"claims": str(exc)}) from None
    return claims


__all__ = [
    "PROBABILITY_BANDS",
    "BandRow",
    "ClaimView",
    "DeployedClaimsModel",
    "InsuranceDesk",
    "InsurancePerformance",
    "QuoteView",
    "currency_info",
    "parse_reason",
    "term_months",
    "term_seconds",
]
