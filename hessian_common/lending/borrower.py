"""The borrower's side of lending, UI-free (the data-owner app's ``/borrow`` pages call these).

``book`` is a :class:`~hessian_common.chain.loanbook.LoanBook` whose client signs as the
borrower; ``store`` the content store. A borrower

1. lists the lenders (:func:`lenders`): active deployments and their public policy documents;
2. applies (:func:`apply`): the application is checked against the policy (term, amount),
   sealed to the deployment's application key (:func:`~.sealing.seal`), put on the store, and
   ``applyForLoan(modelId, sha256(application), cid, amount, term)`` is sent (the amount in
   base units of the deployment's currency: 8,000 in a 6-decimal dollar token is
   ``8_000_000_000``). The
   plaintext is kept only locally, in ``<state_dir>/applications/<loanId>.json`` (0600), so
   the borrower sees what they sent;
   the form's answers are kept as a *draft* (:func:`save_draft`, ``<state_dir>/drafts/``,
   0600) from the moment it is posted until the application is on chain, so an outage of the
   chain or the store loses nothing: the form comes back filled in (:func:`load_draft`);
3. follows their loans (:func:`my_loans`), accepts an offer (:func:`accept`), withdraws the
   principal once funded (:func:`withdraw`), repays (:func:`repay`, :func:`repay_all`).

Every refusal (:class:`LendingInputError`) happens before anything is written or sent.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from hessian_common.chain.currencies import per_currency
from hessian_common.chain.loanbook import LoanBook, LoanStatus
from hessian_common.chain.token import currency_address, currency_of
from hessian_common.crypto.sealing import seal
from hessian_common.errors import (
    ApplicationAlreadySent,
    BlobNotFound,
    ContractRevert,
    LendingInputError,
    StoreError,
    StoreIntegrityError,
    UntrustedBlobError,
)
from hessian_common.files import write_private
from hessian_common.format import ETH, Currency, format_amount
from hessian_common.lending.application import APPLICATION_FIELDS, Application, parse_application
from hessian_common.lending.pricing import PricingPolicy
from hessian_common.store.base import ContentStore
from hessian_common.types import Wei
from hessian_common.untrusted import MAX_BYTES, fetch, fetch_json, loads_object, reading

POLICY_FORMAT = "hessian.lending-policy/1"
APPLICATIONS_DIR = "applications"
DRAFTS_DIR = "drafts"


@dataclass(frozen=True)
class LenderOffer:
    """An active deployment as a borrower sees it (``error`` set when its policy is unusable)."""

    model_id: int
    lender: str
    policy_cid: str
    application_key: bytes
    deployed_at: int
    loan_count: int
    policy: PricingPolicy | None
    model_cid: str = ""
    schema: str = ""
    fields: tuple[str, ...] = ()
    error: str | None = None
    currency: Currency = ETH
    """The deployment's currency, read from the chain (every amount of its loans is in it)."""

    @property
    def usable(self) -> bool:
        return self.error is None and self.policy is not None


@dataclass(frozen=True)
class BorrowerLoan:
    """One of the borrower's loans (amounts in base units of ``currency``, times unix
    seconds)."""

    loan: Any
    status: str
    amount: Wei
    term: int
    apr_bps: int
    installment: Wei
    principal: Wei
    total_owed: Wei
    offer_expires: int
    repaid: Wei
    outstanding: Wei
    next_due_at: int
    next_due_amount: Wei
    late: bool
    application: Application | None
    currency: Currency = ETH

    @property
    def loan_id(self) -> int:
        return int(self.loan.loan_id)


def deployment_currency(book: LoanBook, model_id: int) -> Currency:
    """The currency of ``model_id``'s deployment, from the chain (a token that does not answer
    like one is shown by its short address; never raises for it)."""
    return currency_of(book.client, book.currency_of(int(model_id)), strict=False)


def _offer(book: LoanBook, store: ContentStore, d: Any) -> LenderOffer:
    currency = deployment_currency(book, int(d.model_id))
    base = dict(
        model_id=int(d.model_id),
        lender=d.lender,
        policy_cid=str(d.policy_cid),
        application_key=bytes(d.application_key),
        deployed_at=int(d.deployed_at),
        loan_count=int(d.loan_count),
    )
    try:
        raw = fetch(store, d.policy_cid, what="policy", max_bytes=MAX_BYTES["policy"])
        doc, policy = parse_policy_document(raw)
        if doc["model_id"] != int(d.model_id):
            raise LendingInputError({"policy": "the document is for another model"})
        if bytes.fromhex(doc["application_key"]) != bytes(d.application_key):
            raise LendingInputError({"policy": "its application key differs from the chain's"})
        if policy.decimals != currency.decimals:
            raise LendingInputError(
                {
                    "policy": f"it counts amounts with {policy.decimals} decimals, the chain's "
                    f"currency {currency.symbol} has {currency.decimals}"
                }
            )
    except (BlobNotFound, StoreIntegrityError, LendingInputError, UntrustedBlobError) as exc:
        return LenderOffer(
            **base, policy=None, error=f"policy {d.policy_cid}: {exc}", currency=currency
        )
    return LenderOffer(
        **base,
        policy=policy,
        model_cid=str(doc.get("model_cid", "")),
        schema=str(doc.get("schema", "")),
        fields=tuple(str(f) for f in doc.get("fields", [])),
        currency=currency,
    )


def lenders(book: LoanBook, store: ContentStore) -> list[LenderOffer]:
    """Active deployments with their policy documents (unreadable ones carry ``error``)."""
    return [_offer(book, store, d) for d in book.deployments() if d.active]


def lender_offer(book: LoanBook, store: ContentStore, model_id: int) -> LenderOffer:
    """The deployment of ``model_id`` (:class:`LendingInputError` if none or retired)."""
    d = book.deployment(int(model_id))
    if d is None:
        raise LendingInputError({"model": f"model #{model_id} is not deployed for lending"})
    if not d.active:
        raise LendingInputError({"model": f"model #{model_id} no longer takes applications"})
    return _offer(book, store, d)


def _apps_dir(state_dir: Path | str | None) -> Path | None:
    return None if state_dir is None else Path(state_dir) / APPLICATIONS_DIR


def check_application(offer: LenderOffer, application: Application) -> None:
    """The policy's terms and amounts (:class:`LendingInputError` naming the field)."""
    if not offer.usable:
        raise LendingInputError({"model": offer.error or "the lender's policy is unusable"})
    policy = offer.policy
    assert policy is not None
    errors: dict[str, str] = {}
    if application.term not in policy.terms:
        terms = ", ".join(str(t) for t in policy.terms)
        errors["term"] = f"this lender offers {terms} months"
    if not policy.min_amount <= application.amount <= policy.max_amount:
        errors["loan_amnt"] = (
            f"this lender lends {policy.min_amount:,.0f} to {policy.max_amount:,.0f} "
            f"{offer.currency.symbol}"
        )
    if errors:
        raise LendingInputError(errors)


def apply(
    book: LoanBook,
    store: ContentStore,
    model_id: int,
    application: Application,
    *,
    state_dir: Path | str | None = None,
) -> int:
    """Seal, store and send ``application`` to ``model_id``'s lender; returns the loan id.

    Raises
    ------
    LendingInputError
        The model is not deployed / retired, its policy is unusable, or the term or amount
        is not offered (nothing is written or sent);
        :class:`~hessian_common.errors.ApplicationAlreadySent` (a ``LendingInputError``) when
        this very application is already on chain for this model as this account's loan
        (applications are recorded per borrower: another account's copy does not count).
    ChainUnavailable, StoreUnavailable
        The node or the store is down; nothing is on chain yet (a sealed blob may be left in
        the store; the local plaintext stays as ``applications/pending-<digest>.json``).
    """
    if not isinstance(application, Application):
        raise LendingInputError({"application": "not an Application (parse the form first)"})
    offer = lender_offer(book, store, model_id)
    check_application(offer, application)
    assert offer.policy is not None
    application = replace(application, borrower=str(book.client.address))
    policy = offer.policy

    def send(digest: bytes) -> int:
        cid = store.put(seal(offer.application_key, application.to_bytes()))
        amount_units = policy.to_units(application.amount)
        return book.apply(int(model_id), digest, str(cid), amount_units, application.term)

    return send_once(book, model_id, application, _apps_dir(state_dir), send)


def send_once(
    book: Any, model_id: int, application: Any, apps: Path | None, send: Callable[[bytes], int]
) -> int:
    """The sending shared by every product's application (a loan's, a policy's): the id the
    book gives ``application`` (anything with ``digest()`` and ``to_bytes()``).

    If this account already sent the same application to ``model_id`` (the book knows its
    digest: perhaps the answer was lost), the local copy gets that id's name and
    :class:`~hessian_common.errors.ApplicationAlreadySent` is raised; nothing is sent.
    Otherwise the plaintext is kept in ``apps`` as ``pending-<digest>.json`` before anything
    leaves the machine, ``send(digest)`` seals, stores and sends it and returns the new id,
    and the local copy is renamed ``<id>.json``. An outage inside ``send`` leaves the pending
    copy (:func:`saved_application` still finds it by its digest).
    """
    digest = application.digest()
    used = book.digest_used(int(model_id), digest)
    pending = None if apps is None else apps / f"pending-{digest.hex()}.json"
    if used:
        if pending is not None and pending.is_file():
            os.replace(pending, pending.with_name(f"{int(used)}.json"))
        raise ApplicationAlreadySent(int(model_id), int(used))
    if pending is not None:
        write_private(pending, application.to_bytes())
    new_id = int(send(digest))
    if pending is not None:
        os.replace(pending, pending.with_name(f"{new_id}.json"))
    return new_id


def saved_application(
    apps: Path | None, item_id: int, digest: bytes, parse: Callable[[bytes], Any]
) -> Any:
    """The plaintext application kept by :func:`send_once` for the book's item ``item_id``
    whose on-chain digest is ``digest`` (as ``<id>.json``, or still ``pending-<digest>.json``),
    read with ``parse``; ``None`` when there is none or it does not hash to ``digest``."""
    if apps is None:
        return None
    for path in (apps / f"{int(item_id)}.json", apps / f"pending-{bytes(digest).hex()}.json"):
        try:
            app = parse(path.read_bytes())
        except (OSError, UntrustedBlobError):
            continue
        if app.digest() == bytes(digest):
            return app
    return None


def send_form(
    send: Callable[[], int], forget: Callable[[], None], refused: tuple[type[Exception], ...]
) -> int:
    """The send-once rule, step 2, for every product's form: ``send()``, then ``forget()`` the
    draft once the application is on chain (sent now, or found already sent:
    ``ApplicationAlreadySent`` is raised after) or refused (one of ``refused``); an outage
    keeps the draft, so the form comes back filled in. Returns ``send()``'s id."""
    try:
        sent = send()
    except refused:
        forget()
        raise
    forget()
    return sent


@dataclass(frozen=True)
class Draft:
    """The answers of an application form not yet on chain (as typed, field name -> text).

    ``created_at`` is the time stamped on the application built from them, when it was
    well-formed: sending the same answers again reuses it, so the same application (same
    digest) goes out, and one that did reach the chain is recognised
    (:class:`~hessian_common.errors.ApplicationAlreadySent`) instead of sent twice.
    """

    model_id: int
    values: dict[str, str]
    saved_at: float
    created_at: str | None = None


def _draft_path(state_dir: Path | str, model_id: int, product: str = "model") -> Path:
    return Path(state_dir) / DRAFTS_DIR / f"{product}-{int(model_id)}.json"


def draft_values(values: Mapping[str, Any], fields: Any = None) -> dict[str, str]:
    """The application's own fields of a form (``fields``, by default the loan form's
    :data:`~hessian_common.lending.application.APPLICATION_FIELDS`), as text, at most 200
    characters each, empty ones left out: what a draft keeps and compares."""
    return {
        f.name: str(values.get(f.name) or "").strip()[:200]
        for f in (APPLICATION_FIELDS if fields is None else fields)
        if str(values.get(f.name) or "").strip()
    }


def save_draft(
    state_dir: Path | str,
    model_id: int,
    values: Mapping[str, Any],
    *,
    created_at: str | None = None,
    now: float | None = None,
    fields: Any = None,
    product: str = "model",
) -> Path:
    """Keep the form's answers for ``model_id`` on this machine (0600) until they are sent.

    Only :func:`draft_values` of ``values`` are kept, with the application's ``created_at``
    when given; a later draft for the same model replaces the earlier one. ``fields`` and
    ``product`` (the file's prefix) let another product's form keep its drafts the same way
    (insurance: :mod:`hessian_common.insurance.customer`).
    """
    doc = {"model_id": int(model_id), "saved_at": time.time() if now is None else now,
           "values": draft_values(values, fields), "created_at": created_at}  # fmt: skip
    path = _draft_path(state_dir, model_id, product)
    write_private(path, json.dumps(doc, sort_keys=True).encode())
    return path


def load_draft(state_dir: Path | str | None, model_id: int, product: str = "model") -> Draft | None:
    """The saved answers for ``model_id``, or ``None`` (no draft, or an unreadable one)."""
    if state_dir is None:
        return None
    try:
        doc = json.loads(_draft_path(state_dir, model_id, product).read_text())
        values = {str(k): str(v) for k, v in dict(doc["values"]).items()}
        created = doc.get("created_at")
        return Draft(
            int(model_id),
            values,
            float(doc["saved_at"]),
            None if created is None else str(created),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def discard_draft(state_dir: Path | str | None, model_id: int, product: str = "model") -> None:
    """Forget the saved answers for ``model_id`` (once the application is on chain)."""
    if state_dir is not None:
        _draft_path(state_dir, model_id, product).unlink(missing_ok=True)


def keep_posted_answers(
    state_dir: Path | str,
    model_id: int,
    form: Mapping[str, Any],
    *,
    fields: Any = None,
    parse: Callable[..., Any] = parse_application,
    refused: type[Exception] = LendingInputError,
    product: str = "model",
) -> Any:
    """The send-once rule, step 1: keep a posted form's answers as a draft before the chain or
    the store is touched, and build the application to send from them.

    Only a well-formed application is kept (``None`` otherwise: bad input leaves nothing
    behind). The same answers as a kept draft make the same application, its ``created_at``
    included, so one that reached the chain while the borrower was told otherwise is
    recognised by :func:`apply` (:class:`ApplicationAlreadySent`), not sent twice.
    ``fields``, ``parse`` (``parse(values, created_at=...)``), ``refused`` (its input error)
    and ``product`` let another product's form follow the same rule (insurance:
    :func:`hessian_common.insurance.customer.keep_posted_answers`).
    """
    values = draft_values(form, fields)
    earlier = load_draft(state_dir, model_id, product)
    same = earlier is not None and earlier.values == values
    try:
        application = parse(values, created_at=earlier.created_at if same else None)
    except refused:
        return None
    save_draft(
        state_dir, model_id, values, created_at=application.created_at, fields=fields,
        product=product,
    )  # fmt: skip
    return application


def submit_form(
    book: LoanBook,
    store: ContentStore,
    model_id: int,
    application: Application,
    *,
    state_dir: Path | str,
) -> int:
    """The send-once rule, step 2: :func:`apply`, then forget the draft once the application
    is on chain (sent now, or found already sent: :class:`ApplicationAlreadySent` is raised
    after the draft is deleted) or refused (:class:`LendingInputError`: the caller shows the
    answers with the reasons). An outage (``ChainUnavailable``, ``StoreUnavailable``) keeps
    the draft, so the form comes back filled in. Returns the loan id.
    """
    return send_form(
        lambda: apply(book, store, model_id, application, state_dir=state_dir),
        lambda: discard_draft(state_dir, model_id),
        (LendingInputError,),
    )


def _saved_application(state_dir: Path | str | None, loan: Any) -> Application | None:
    return saved_application(
        _apps_dir(state_dir), loan.loan_id, loan.application_digest, Application.from_bytes
    )


def my_loans(
    book: LoanBook, address: str | None = None, state_dir: Path | str | None = None
) -> list[BorrowerLoan]:
    """The loans of ``address`` (default: the book's account), oldest first."""
    who = address or book.client.address
    out = []
    for loan in book.loans(borrower=who):
        funded = loan.status == LoanStatus.FUNDED
        ts, amount = book.next_due(loan.loan_id) if funded else (0, 0)
        out.append(
            BorrowerLoan(
                loan=loan,
                status=loan.status.label,
                amount=loan.amount,
                term=int(loan.term_months or loan.requested_term),
                apr_bps=int(loan.apr_bps),
                installment=loan.installment,
                principal=loan.principal,
                total_owed=loan.total_owed,
                offer_expires=int(loan.offer_expires),
                repaid=loan.repaid,
                outstanding=loan.outstanding,
                next_due_at=int(ts),
                next_due_amount=Wei(int(amount)),
                late=bool(funded and (loan.late or book.is_late(loan.loan_id))),
                application=_saved_application(state_dir, loan),
                currency=deployment_currency(book, int(loan.model_id)),
            )
        )
    return out


def _mine(book: LoanBook, loan_id: int) -> Any:
    try:
        loan = book.loan(int(loan_id))
    except ContractRevert:
        raise LendingInputError({"loan": f"there is no loan #{loan_id}"}) from None
    if loan.borrower.lower() != book.client.address.lower():
        raise LendingInputError({"loan": f"loan #{loan_id} is not yours"})
    return loan


def _require(book: LoanBook, loan_id: int, statuses: tuple[Any, ...], what: str) -> Any:
    loan = _mine(book, loan_id)
    if loan.status not in statuses:
        raise LendingInputError(
            {"loan": f"cannot {what} loan #{loan_id}: it is {loan.status.label}"}
        )
    return loan


def accept(book: LoanBook, loan_id: int) -> dict[str, Any]:
    """Accept the offer (before it expires)."""
    loan = _require(book, loan_id, (LoanStatus.OFFERED,), "accept")
    now = book.client.block_timestamp()
    if now > loan.offer_expires:
        raise LendingInputError({"loan": f"the offer of loan #{loan_id} has expired"})
    return book.accept(int(loan_id))


def cancel(book: LoanBook, loan_id: int) -> dict[str, Any]:
    """Withdraw the application or turn down the offer (before funding)."""
    states = (LoanStatus.APPLIED, LoanStatus.OFFERED, LoanStatus.ACCEPTED)
    _require(book, loan_id, states, "cancel")
    return book.cancel(int(loan_id))


def repay(book: LoanBook, loan_id: int, amount_wei: int | None = None) -> dict[str, Any]:
    """Pay ``amount_wei`` (base units of the loan's currency) towards a funded (or
    defaulted) loan. A token is paid by permit when it takes them (one signature, one
    transaction), else after an ``approve`` (``LoanBook.repay``).

    ``None``: the next instalment (what brings the loan up to date at its next due date,
    arrears included; at least one instalment), capped at what the contract takes: a FUNDED
    loan's payoff now (paying ahead never pays future months' interest; paying the whole payoff
    repays the loan), a DEFAULTED loan's outstanding amount.
    """
    loan = _require(book, loan_id, (LoanStatus.FUNDED, LoanStatus.DEFAULTED), "repay")
    if loan.status == LoanStatus.FUNDED:
        cap, what = int(book.payoff_amount(int(loan_id))), "the payoff now"
    else:
        cap, what = int(loan.outstanding), "the outstanding"
    if amount_wei is None:
        _ts, due = book.next_due(int(loan_id)) if loan.status == LoanStatus.FUNDED else (0, 0)
        amount = min(max(int(due), int(loan.installment)), cap)
    else:
        amount = amount_wei
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= cap:
        cur = deployment_currency(book, int(loan.model_id))
        got = format_amount(amount, cur) if isinstance(amount, int) else repr(amount)
        raise LendingInputError(
            {
                "amount": f"must be more than 0 and at most {what}, "
                f"{format_amount(cap, cur)}, got {got}"
            }
        )
    return book.repay(int(loan_id), int(amount))


@dataclass(frozen=True)
class Instalment:
    """One row of the repayment schedule.

    Instalment ``k`` (1..n) is due at ``funded_at + k * payment_period`` (the contract's rule);
    each is ``installment`` wei (the contract's ``totalOwed = installment * n``). ``paid`` is
    how much of it the cumulative repayments cover: ``clip(repaid - (k-1)*installment, 0,
    installment)``. ``settled`` marks the instalments an early payoff replaced (the loan is
    REPAID for less than ``installment * n``: their interest was never owed).
    """

    number: int
    due_at: int | None
    amount: int
    paid: int
    settled: bool = False

    @property
    def state(self) -> str:
        """``"paid"``, ``"settled"`` (by an early payoff), ``"part"`` or ``"due"``."""
        if self.paid >= self.amount:
            return "paid"
        if self.settled:
            return "settled"
        return "part" if self.paid else "due"


def repayment_schedule(info: Any, payment_period: int, paid_off: int = 0) -> list[Instalment]:
    """The instalments of a loan (a ``LoanInfo``) with due dates once funded, and what is paid.

    ``paid_off``: what an early payoff took (``LoanBook.paid_off``); the instalments the
    payments before it did not cover are ``settled``. Empty until the loan has an offer (no
    instalment amount yet).
    """
    installment, term = int(info.installment), int(info.term_months)
    if not installment or not term:
        return []
    funded_at, repaid = int(info.funded_at), int(info.repaid) - int(paid_off)
    settled = int(paid_off) > 0
    return [
        Instalment(
            number=k,
            due_at=funded_at + k * int(payment_period) if funded_at else None,
            amount=installment,
            paid=min(max(repaid - (k - 1) * installment, 0), installment),
            settled=settled,
        )
        for k in range(1, term + 1)
    ]


PAYOFF_MARGIN = 3_600
"""Seconds of interest :func:`repay_all` sends on top of the payoff now: the transaction is
mined a little later, and the contract credits any excess back to the payer."""


def payoff_quote(book: LoanBook, loan_id: int) -> Wei:
    """What paying the loan off now costs: a FUNDED loan's payoff (outstanding principal,
    interest accrued to date and arrears, no future interest), a DEFAULTED loan's
    outstanding amount."""
    loan = _require(book, loan_id, (LoanStatus.FUNDED, LoanStatus.DEFAULTED), "repay")
    if loan.status == LoanStatus.DEFAULTED:
        return Wei(int(loan.outstanding))
    return book.payoff_amount(int(loan_id))


def repay_all(book: LoanBook, loan_id: int) -> dict[str, Any]:
    """Pay the loan off: a FUNDED one early (``repayAll``: the payoff at the block's time,
    sent with :data:`PAYOFF_MARGIN` seconds of interest to spare, the excess credited back to
    withdraw), a DEFAULTED one in full (``repay``)."""
    loan = _require(book, loan_id, (LoanStatus.FUNDED, LoanStatus.DEFAULTED), "repay")
    if loan.status == LoanStatus.DEFAULTED:
        return book.repay(int(loan_id), int(loan.outstanding))
    at = int(book.client.block_timestamp()) + PAYOFF_MARGIN
    return book.repay_all(int(loan_id), int(book.payoff_amount(int(loan_id), at)))


def withdraw(book: LoanBook, currency: Any = None) -> int:
    """Withdraw the borrower's pending credit (the funded principal) in ``currency`` (ether by
    default; a token's address or ``Currency``); 0 without a transaction when there is none."""
    address = currency_address(currency)
    if not book.pending(currency=address):
        return 0
    return int(book.withdraw(address))


def parse_policy_document(data: bytes) -> tuple[dict[str, Any], PricingPolicy]:
    """A lending policy document (``hessian.lending-policy/1``, a stranger's blob) and its
    pricing policy; every failure is an :class:`UntrustedBlobError`."""
    with reading("policy"):
        doc = loads_object(data, what="policy", max_bytes=MAX_BYTES["policy"])
        if doc.get("format") != POLICY_FORMAT:
            raise ValueError(f"not a {POLICY_FORMAT} document")
        model_id, key = doc.get("model_id"), doc.get("application_key")
        if isinstance(model_id, bool) or not isinstance(model_id, int) or model_id < 1:
            raise ValueError("model_id must be a positive integer")
        if not isinstance(key, str) or len(bytes.fromhex(key)) != 32:
            raise ValueError("application_key must be 32 bytes of hex")
        return doc, PricingPolicy.from_dict(doc["policy"])


def read_policy(store: ContentStore, cid: str) -> dict[str, Any]:
    """The raw policy document at ``cid`` (for display; read through the safe reader)."""
    try:
        return fetch_json(store, cid, what="policy", max_bytes=MAX_BYTES["policy"])
    except (StoreError, ValueError) as exc:
        raise LendingInputError({"policy": f"{cid}: {exc}"}) from None


def credits(book: Any, address: str | None = None, currencies: Any = ()) -> dict[Currency, int]:
    """What the LoanBook holds for ``address`` (default: the book's account; a funded
    principal, or a payoff's excess) in ether and each of ``currencies`` (the currencies of
    its offers and loans): ``{Currency: base units}``, non-zero ones only."""
    who = address or book.client.address
    return per_currency(lambda a: book.pending(who, currency=a), [ETH, *currencies])
