"""The customer's side of insurance, UI-free (the data-owner app's ``/insure`` pages call these).

``book`` is a :class:`~hessian_common.chain.policybook.PolicyBook` whose client signs as the
customer; ``store`` the content store. A customer

1. lists the insurers (:func:`insurers`): active deployments and their public policy
   documents (``hessian.insurance-policy/1``: the pricing rule, severity table, application
   key, currency);
2. applies (:func:`apply`): the application is checked against the policy (vehicle type,
   deductible, limit, term offered), sealed to the deployment's application key, put on the
   store, and ``applyForPolicy(modelId, sha256(application), cid, units(L), term_seconds(t))``
   is sent. The plaintext stays local (``<state_dir>/insurance/<policyId>.json``, 0600);
   the form's answers are kept as a draft until the application is on chain (the loan
   form's drafts, :func:`hessian_common.lending.borrower.save_draft`, ``product="insurance"``);
3. sees the quote and buys the policy by paying the premium (:func:`accept`), files a claim
   with evidence (:func:`file_claim`: a file put on the store, or a CID), settles a claim the
   insurer left unanswered past its window (:func:`settle`), withdraws what is owed
   (:func:`withdraw`: paid claims, refunds).

Every refusal (:class:`~hessian_common.errors.InsuranceInputError`) happens before anything
is written or sent.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hessian_common.chain.policybook import ClaimStatus, PolicyStatus
from hessian_common.chain.token import currency_address
from hessian_common.errors import (
    ApplicationAlreadySent,
    BlobNotFound,
    ContractRevert,
    InsuranceInputError,
    StoreIntegrityError,
    UntrustedBlobError,
)
from hessian_common.format import Currency
from hessian_common.insurance.application import (
    APPLICATION_FIELDS,
    InsuranceApplication,
    parse_application,
    seal_application,
)
from hessian_common.insurance.pricing import PricingPolicy, parse_policy_document, to_units
from hessian_common.insurance.underwriting import currency_info, term_seconds
from hessian_common.lending import borrower as _drafts
from hessian_common.numbers import NumberFormatError, parse_decimal
from hessian_common.store import parse_cid
from hessian_common.untrusted import MAX_BYTES, fetch

APPLICATIONS_DIR = "insurance"
DRAFT_PRODUCT = "insurance"
MAX_EVIDENCE_BYTES = 8 * 1024 * 1024
"""Largest evidence file a claim may carry (bytes)."""


@dataclass(frozen=True)
class InsurerOffer:
    """An active deployment as a customer sees it (``error`` set when its policy is unusable)."""

    model_id: int
    insurer: str
    policy_cid: str
    application_key: bytes
    deployed_at: int
    policy_count: int
    currency: Currency
    policy: PricingPolicy | None
    document: dict[str, Any] | None = None
    error: str | None = None

    @property
    def usable(self) -> bool:
        return self.error is None and self.policy is not None

    def units(self, dollars: Any, rounding: str = "up") -> int:
        """Dollars in this deployment's base units (the policy's token price)."""
        assert self.policy is not None
        return self.policy.to_units(dollars, self.currency.decimals, rounding)


@dataclass(frozen=True)
class MyPolicy:
    """One of the customer's policies with its claims and what may be done now."""

    policy: Any
    """:class:`~hessian_common.chain.policybook.PolicyInfo`."""
    claims: list[Any]
    application: InsuranceApplication | None
    currency: Currency
    now: int

    @property
    def policy_id(self) -> int:
        return int(self.policy.policy_id)

    @property
    def status(self) -> str:
        return self.policy.status.label

    @property
    def can_accept(self) -> bool:
        return self.policy.status == PolicyStatus.QUOTED and self.now <= self.policy.quote_expires

    @property
    def can_claim(self) -> bool:
        p = self.policy
        return (
            p.status == PolicyStatus.ACTIVE
            and p.starts_at <= self.now < p.expires_at
            and not p.claim_open
            and p.max_claim > 0
        )

    def settleable(self) -> list[Any]:
        """Claims left unanswered past their window (anyone may settle them)."""
        return [c for c in self.claims if c.status == ClaimStatus.FILED and self.now > c.deadline]


def _offer(book: Any, store: Any, d: Any) -> InsurerOffer:
    cur = currency_info(book.client, d.currency)
    base = dict(
        model_id=int(d.model_id),
        insurer=d.insurer,
        policy_cid=str(d.policy_cid),
        application_key=bytes(d.application_key),
        deployed_at=int(d.deployed_at),
        policy_count=int(d.policy_count),
        currency=cur,
    )
    try:
        raw = fetch(store, d.policy_cid, what="insurance policy", max_bytes=MAX_BYTES["policy"])
        doc, policy = parse_policy_document(raw)
        if doc["model_id"] != int(d.model_id):
            raise InsuranceInputError({"policy": "the document is for another model"})
        if bytes.fromhex(doc["application_key"]) != bytes(d.application_key):
            raise InsuranceInputError({"policy": "its application key differs from the chain's"})
    except (BlobNotFound, StoreIntegrityError, InsuranceInputError, UntrustedBlobError) as exc:
        return InsurerOffer(**base, policy=None, error=f"policy {d.policy_cid}: {exc}")
    return InsurerOffer(**base, policy=policy, document=doc)


def insurers(book: Any, store: Any) -> list[InsurerOffer]:
    """Active deployments with their policy documents (unreadable ones carry ``error``)."""
    return [_offer(book, store, d) for d in book.deployments() if d.active]


def insurer_offer(book: Any, store: Any, model_id: int) -> InsurerOffer:
    """The deployment of ``model_id`` (:class:`InsuranceInputError` if none or retired)."""
    d = book.deployment(int(model_id))
    if d is None:
        raise InsuranceInputError({"model": f"model #{model_id} is not deployed for insurance"})
    if not d.active:
        raise InsuranceInputError({"model": f"model #{model_id} no longer takes applications"})
    return _offer(book, store, d)


def check_application(offer: InsurerOffer, app: InsuranceApplication) -> None:
    """What the insurer's policy offers (:class:`InsuranceInputError` naming the field)."""
    if not offer.usable:
        raise InsuranceInputError({"model": offer.error or "the insurer's policy is unusable"})
    policy = offer.policy
    assert policy is not None
    errors: dict[str, str] = {}
    if app.vehicle_type not in policy.severity:
        errors["vehicle_type"] = f"this insurer covers {', '.join(sorted(policy.severity))}"
    if app.term not in policy.terms:
        errors["policy_term"] = f"this insurer offers {_listed(policy.terms)} months"
    if app.deductible not in policy.deductibles:
        errors["deductible"] = f"this insurer offers ${_listed(policy.deductibles, '$')}"
    if app.coverage_limit not in policy.coverage_limits:
        errors["coverage_limit"] = f"this insurer offers ${_listed(policy.coverage_limits, '$')}"
    if errors:
        raise InsuranceInputError(errors)


def _listed(values: tuple[int, ...], money: str = "") -> str:
    return f", {money}".join(f"{v:,}" for v in values)


def _apps_dir(state_dir: Path | str | None) -> Path | None:
    return None if state_dir is None else Path(state_dir) / APPLICATIONS_DIR


def apply(
    book: Any,
    store: Any,
    model_id: int,
    application: InsuranceApplication,
    *,
    state_dir: Path | str | None = None,
) -> int:
    """Seal, store and send ``application`` to ``model_id``'s insurer; the policy id.

    Raises
    ------
    InsuranceInputError
        Not deployed / retired, unusable policy, or a term, deductible, limit or vehicle
        not offered (nothing written or sent);
        :class:`~hessian_common.errors.ApplicationAlreadySent` when this very application is
        already on chain as this account's policy (a lost answer): ``.loan_id`` is the
        policy id.
    ChainUnavailable, StoreUnavailable
        Nothing is on chain yet (the local plaintext stays as ``pending-<digest>.json``).
    """
    if not isinstance(application, InsuranceApplication):
        raise InsuranceInputError({"application": "not an InsuranceApplication"})
    offer = insurer_offer(book, store, model_id)
    check_application(offer, application)
    application = replace(application, applicant=str(book.client.address))

    def send(digest: bytes) -> int:
        cid = store.put(seal_application(offer.application_key, application))
        coverage = offer.units(application.coverage_limit, "down")
        return book.apply(int(model_id), digest, str(cid), coverage, term_seconds(application.term))

    return _drafts.send_once(book, model_id, application, _apps_dir(state_dir), send)


def save_draft(state_dir: Path | str, model_id: int, values: Any, **kw: Any) -> Path:
    """The insurance form's answers kept until sent (the loan form's drafts, own files)."""
    return _drafts.save_draft(
        state_dir, model_id, values, fields=APPLICATION_FIELDS, product=DRAFT_PRODUCT, **kw
    )


def load_draft(state_dir: Path | str | None, model_id: int) -> Any:
    """The saved answers for ``model_id`` (a :class:`~hessian_common.lending.borrower.Draft`)."""
    return _drafts.load_draft(state_dir, model_id, DRAFT_PRODUCT)


def discard_draft(state_dir: Path | str | None, model_id: int) -> None:
    """Forget the saved answers for ``model_id``."""
    _drafts.discard_draft(state_dir, model_id, DRAFT_PRODUCT)


def keep_posted_answers(
    state_dir: Path | str, model_id: int, form: Any
) -> InsuranceApplication | None:
    """The send-once rule, step 1 (the loan form's,
    :func:`hessian_common.lending.borrower.keep_posted_answers`): a well-formed posted
    application is kept as a draft before the chain or the store is touched; the same answers
    make the same application (its ``created_at`` too). ``None`` for bad input (nothing kept).
    """
    return _drafts.keep_posted_answers(
        state_dir, model_id, form, fields=APPLICATION_FIELDS, parse=parse_application,
        refused=InsuranceInputError, product=DRAFT_PRODUCT,
    )  # fmt: skip


def submit_form(
    book: Any, store: Any, model_id: int, application: InsuranceApplication, *, state_dir: Any
) -> int:
    """The send-once rule, step 2: :func:`apply`, then forget the draft once the application
    is on chain (or found already there: ``ApplicationAlreadySent`` is raised after) or
    refused (``InsuranceInputError``); an outage keeps it. The policy id."""
    return _drafts.send_form(
        lambda: apply(book, store, model_id, application, state_dir=state_dir),
        lambda: discard_draft(state_dir, model_id),
        (InsuranceInputError, ApplicationAlreadySent),
    )


def _saved_application(state_dir: Path | str | None, info: Any) -> InsuranceApplication | None:
    return _drafts.saved_application(
        _apps_dir(state_dir), info.policy_id, info.application_digest,
        InsuranceApplication.from_bytes,
    )  # fmt: skip


def my_policies(
    book: Any, address: str | None = None, state_dir: Path | str | None = None
) -> list[MyPolicy]:
    """The policies of ``address`` (default: the book's account), oldest first."""
    who = address or book.client.address
    now = book.client.block_timestamp()
    out = []
    currencies: dict[int, Currency] = {}
    for info in book.policies(holder=who):
        if info.model_id not in currencies:
            currencies[info.model_id] = currency_info(book.client, info.currency)
        claims = book.claims(policy_id=info.policy_id) if info.claim_count else []
        out.append(
            MyPolicy(
                info, claims, _saved_application(state_dir, info), currencies[info.model_id], now
            )
        )
    return out


def my_policy(book: Any, policy_id: int, state_dir: Path | str | None = None) -> MyPolicy:
    """One of the customer's policies (:class:`InsuranceInputError` if not theirs)."""
    info = _mine(book, policy_id)
    claims = book.claims(policy_id=info.policy_id) if info.claim_count else []
    return MyPolicy(
        info,
        claims,
        _saved_application(state_dir, info),
        currency_info(book.client, info.currency),
        book.client.block_timestamp(),
    )


def _mine(book: Any, policy_id: int) -> Any:
    try:
        info = book.policy(int(policy_id))
    except ContractRevert:
        raise InsuranceInputError({"policy": f"there is no policy #{policy_id}"}) from None
    if info.holder.lower() != book.client.address.lower():
        raise InsuranceInputError({"policy": f"policy #{policy_id} is not yours"})
    return info


def accept(book: Any, policy_id: int) -> dict[str, Any]:
    """Buy a quoted policy: pay the premium (cover starts now)."""
    info = _mine(book, policy_id)
    if info.status != PolicyStatus.QUOTED:
        raise InsuranceInputError(
            {"policy": f"policy #{policy_id} is {info.status.label}, not quoted"}
        )
    if book.client.block_timestamp() > info.quote_expires:
        raise InsuranceInputError({"policy": f"the quote of policy #{policy_id} has expired"})
    return book.accept(int(policy_id))


def cancel(book: Any, policy_id: int) -> dict[str, Any]:
    """Withdraw an application, turn down a quote, or cancel before cover starts."""
    info = _mine(book, policy_id)
    ok = info.status in (PolicyStatus.APPLIED, PolicyStatus.QUOTED) or (
        info.status == PolicyStatus.ACTIVE and book.client.block_timestamp() < info.starts_at
    )
    if not ok:
        raise InsuranceInputError(
            {"policy": f"policy #{policy_id} is {info.status.label}: it cannot be cancelled"}
        )
    return book.cancel(int(policy_id))


def claim_units(policy: PricingPolicy, mine: MyPolicy, amount: Any) -> int:
    """A claim amount typed in dollars (``1500``, ``$1500.50``; a comma refused) in the
    policy's base units (rounded down, the insurer's ``policy`` gives the token price),
    checked against the policy: positive, at most ``min(L − D, reserve)``."""
    try:
        dollars = parse_decimal(str(amount).strip(), dollars=True)
    except NumberFormatError as exc:
        raise InsuranceInputError({"amount": str(exc)}) from None
    if not dollars > 0:
        raise InsuranceInputError({"amount": "must be a positive amount of dollars"})
    units = to_units(dollars, policy.token_price, mine.currency.decimals, "down")
    if units <= 0:
        raise InsuranceInputError({"amount": "must be a positive amount"})
    if units > mine.policy.max_claim:
        raise InsuranceInputError(
            {"amount": "more than the policy pays now (its limit less the deductible)"}
        )
    return units


def file_claim(
    book: Any,
    store: Any,
    policy_id: int,
    amount: int,
    *,
    evidence: bytes | None = None,
    evidence_cid: str | None = None,
) -> int:
    """File a claim of ``amount`` base units (net of the deductible) on an in-force policy,
    with ``evidence`` (a file's bytes, put on the store) or an ``evidence_cid``; the claim id."""
    mine = my_policy(book, policy_id)
    errors: dict[str, str] = {}
    if not mine.can_claim:
        p = mine.policy
        why = (
            "a claim is already open" if p.claim_open else
            f"it is {p.status.label}" if p.status != PolicyStatus.ACTIVE else
            "it is not in force now" if not p.starts_at <= mine.now < p.expires_at else
            "its cover is used up"
        )  # fmt: skip
        errors["policy"] = f"policy #{policy_id} takes no claim: {why}"
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        errors["amount"] = "must be a positive amount"
    elif amount > mine.policy.max_claim:
        errors["amount"] = "more than the policy pays now (its limit less the deductible)"
    cid = (evidence_cid or "").strip()
    if evidence:
        if len(evidence) > MAX_EVIDENCE_BYTES:
            errors["evidence"] = f"the file is larger than {MAX_EVIDENCE_BYTES // 2**20} MiB"
    elif cid:
        try:
            cid = str(parse_cid(cid))
        except ValueError as exc:
            errors["evidence"] = str(exc)
    else:
        errors["evidence"] = "attach a file or give the CID of your evidence"
    if errors:
        raise InsuranceInputError(errors)
    if evidence:
        cid = str(store.put(evidence))
    return book.file_claim(int(policy_id), int(amount), cid)


def settle(book: Any, claim_id: int) -> dict[str, Any]:
    """Pay a claim the insurer left unanswered past its window (anyone may)."""
    try:
        claim = book.claim(int(claim_id))
    except ContractRevert:
        raise InsuranceInputError({"claim": f"there is no claim #{claim_id}"}) from None
    if claim.status != ClaimStatus.FILED:
        raise InsuranceInputError({"claim": f"claim #{claim_id} is {claim.status.label}"})
    if book.client.block_timestamp() <= claim.deadline:
        raise InsuranceInputError(
            {"claim": f"claim #{claim_id} is within the insurer's window until its deadline"}
        )
    return book.settle_claim(int(claim_id))


def withdraw(book: Any, currency: Any = None) -> int:
    """Withdraw paid claims and refunds in ``currency`` (ether by default); 0 if none."""
    cur = currency_address(currency)
    if not book.pending(currency=cur):
        return 0
    return book.withdraw(cur)


__all__ = [
    "InsurerOffer",
    "MyPolicy",
    "accept",
    "apply",
    "cancel",
    "check_application",
    "claim_units",
    "discard_draft",
    "file_claim",
    "insurer_offer",
    "insurers",
    "keep_posted_answers",
    "load_draft",
    "my_policies",
    "my_policy",
    "save_draft",
    "settle",
    "submit_form",
    "withdraw",
]
