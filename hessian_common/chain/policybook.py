"""Typed wrapper of the ``PolicyBook`` contract: insurance priced by a deployed claims model.

An insurer deploys a CLOSED claims model (:meth:`PolicyBook.deploy_model`: policy document CID,
X25519 application key, currency: ether by default or an ERC-20 token's address) and backs it
with capital (:meth:`~PolicyBook.deposit_capital`). Applicants apply with a sealed application
(:meth:`~PolicyBook.apply`), the insurer quotes (:meth:`~PolicyBook.quote`: claim probability
in ppm, premium, coverage limit, deductible, term in seconds) or declines, the applicant buys
the policy by paying the premium (:meth:`~PolicyBook.accept`), which reserves the coverage
limit from the pool's free capital. The holder files claims while the policy is in force
(:meth:`~PolicyBook.file_claim`: the amount net of the deductible), the insurer approves or
denies them within the claim window (:meth:`~PolicyBook.decide_claim`), and anyone settles
(pays) a claim left unanswered after it (:meth:`~PolicyBook.settle_claim`). See the contract's
NatSpec for the life cycle.

Amounts are base units of the deployment's currency (wei for ether, the token's own decimals
otherwise); paying in a token needs no step from the caller: the wrapper uses an allowance that
covers the payment, else signs an EIP-2612 permit (``...WithPermit``: one transaction), else
approves first (:func:`hessian_common.chain.token.pay`). Money owed is pulled with
:meth:`~PolicyBook.withdraw` (per currency).

Pool arithmetic, per deployed model::

    pool = free + reserved                    # deposits − capital withdrawn − claims paid
    reserved = Σ reserve over ACTIVE policies # reserve = coverage_limit − claims_paid
    claim amount ≤ min(coverage_limit − deductible, reserve)

The contract keeps CIDs (policy document, sealed application, claim evidence) and application
digests in events only; this wrapper reads them back from the logs, so :class:`PolicyInfo`,
:class:`ClaimInfo` and :class:`PolicyDeploymentInfo` carry them like any other field.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path
from typing import Any

from web3 import Web3

from hessian_common.chain.client import ChainClient, node_errors
from hessian_common.chain.compile import Artifact, load_artifact
from hessian_common.chain.deploy import _record, load_deployment
from hessian_common.chain.product import ProductBook, digest32
from hessian_common.chain.token import pay
from hessian_common.errors import ChainError, ChainUnavailable, ConfigError
from hessian_common.types import CID, PPM

POLICYBOOK_NAME = "PolicyBook"
DAY = 86_400
QUOTE_VALIDITY = 7 * DAY
"""Default seconds a quote stays open."""
START_WINDOW = 30 * DAY
"""Default most seconds between an acceptance and the policy's start."""
CLAIM_WINDOW = 14 * DAY
"""Default seconds the insurer has to decide a claim."""
MAX_TERM = 3_660 * DAY
"""The longest policy term the contract takes, in seconds."""
_UINT128 = 2**128


class PolicyStatus(IntEnum):
    """Policy state (``PolicyBook.PolicyStatus``)."""

    APPLIED = 0
    QUOTED = 1
    DECLINED = 2
    ACTIVE = 3
    """Bought: the premium paid and the coverage limit reserved; in force from ``starts_at``
    to ``expires_at``."""
    EXPIRED = 4
    CANCELLED = 5

    @property
    def label(self) -> str:
        """Lower-case name for the UI and JSON (``"active"``)."""
        return self.name.lower()


class ClaimStatus(IntEnum):
    """Claim state (``PolicyBook.ClaimStatus``)."""

    FILED = 0
    APPROVED = 1
    DENIED = 2
    SETTLED = 3
    """Unanswered within the claim window, then paid by anyone's ``settleClaim``."""

    @property
    def label(self) -> str:
        """Lower-case name for the UI and JSON (``"settled"``)."""
        return self.name.lower()

    @property
    def paid(self) -> bool:
        """Whether the claim was paid (approved or settled)."""
        return self in (ClaimStatus.APPROVED, ClaimStatus.SETTLED)


class DenialReason(IntEnum):
    """Reason codes an insurer denies a claim with (the contract takes any non-zero code;
    these are the ones Hessian's pages name)."""

    NOT_COVERED = 1
    """The loss is outside what the policy document covers."""
    INSUFFICIENT_EVIDENCE = 2
    """The evidence does not support the claim."""
    AMOUNT_NOT_SUPPORTED = 3
    """The evidence supports a loss below the amount claimed."""
    OUTSIDE_TERM = 4
    """The loss happened outside the policy's term."""
    FRAUD_SUSPECTED = 5
    OTHER = 255

    @property
    def label(self) -> str:
        """Lower-case words for the UI (``"not covered"``)."""
        return self.name.lower().replace("_", " ")


@dataclass(frozen=True)
class PolicyDeploymentInfo:
    """A deployed claims model (storage plus the policy CID from its event)."""

    model_id: int
    insurer: str
    policy_cid: CID
    application_key: bytes
    """X25519 public key (32 bytes) applications are sealed to."""
    deployed_at: int
    active: bool
    policy_count: int
    """Applications received (every status)."""
    currency: str
    """ether (the zero address) or the token every amount of this model is in."""


@dataclass(frozen=True)
class PoolInfo:
    """The capital pool of a deployed model, in its currency."""

    model_id: int
    free: int
    """Capital not backing any policy: the insurer may withdraw it or sell cover from it."""
    reserved: int
    """Σ of the reserves of the ACTIVE policies."""
    premiums_held: int
    """Premiums of bought policies that have not started (refunded if cancelled)."""

    @property
    def total(self) -> int:
        """``free + reserved``: the pool."""
        return self.free + self.reserved


@dataclass(frozen=True)
class PolicyInfo:
    """A policy as recorded on chain (storage plus the digest, CID and ask from its event)."""

    policy_id: int
    model_id: int
    holder: str
    insurer: str
    currency: str
    status: PolicyStatus
    application_digest: bytes
    application_cid: CID
    coverage_asked: int
    term_asked: int
    """Seconds of cover asked for."""
    claim_ppm: int
    """The model's claim probability over the term, ppm (recorded at quote or decline)."""
    premium: int
    coverage_limit: int
    deductible: int
    term: int
    """Seconds of cover quoted (0 until quoted)."""
    reserve: int
    """Coverage still reserved (``coverage_limit − claims_paid`` while ACTIVE, else 0)."""
    claims_paid: int
    applied_at: int
    quote_expires: int
    accepted_at: int
    starts_at: int
    expires_at: int
    """``starts_at + term`` once bought, else 0."""
    premium_earned: bool
    claim_open: bool
    claim_count: int

    @property
    def claim_probability(self) -> float:
        """Claim probability as a fraction."""
        return self.claim_ppm / PPM

    @property
    def max_claim(self) -> int:
        """Most a claim filed now may ask: ``min(coverage_limit − deductible, reserve)``."""
        if self.status != PolicyStatus.ACTIVE:
            return 0
        return min(self.coverage_limit - self.deductible, self.reserve)


@dataclass(frozen=True)
class ClaimInfo:
    """A claim as recorded on chain (storage plus the evidence CID from its event)."""

    claim_id: int
    policy_id: int
    holder: str
    status: ClaimStatus
    amount: int
    """Asked for, net of the deductible; what is paid if approved or settled."""
    reason: int
    """Denial reason code (0 unless DENIED); see :class:`DenialReason`."""
    filed_at: int
    deadline: int
    """Last second the insurer may decide (``filed_at + claim_window``)."""
    evidence_cid: CID


def _amount(value: int, what: str, positive: bool = True) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < _UINT128:
        raise ConfigError(f"{what} must be an integer 0..2^128-1 base units, not {value!r}")
    if positive and value == 0:
        raise ConfigError(f"{what} must be positive")
    return value


def _term(value: int, what: str = "term") -> int:
    if not isinstance(value, int) or not 1 <= value <= MAX_TERM:
        raise ConfigError(f"{what} must be 1..{MAX_TERM} seconds, not {value!r}")
    return value


def _ppm(value: int) -> int:
    if not isinstance(value, int) or not 0 <= value <= PPM:
        raise ConfigError(f"claim_ppm must be an integer 0..{PPM}, not {value!r}")
    return value


class PolicyBook(ProductBook):
    """Calls and reads of one deployed ``PolicyBook``.

    Every read and write raises :class:`~hessian_common.errors.ChainUnavailable` naming the
    node's URL when the node cannot be reached; reverts come back as
    :class:`~hessian_common.errors.ContractRevert` with the custom error's name; bad input to
    a write raises :class:`~hessian_common.errors.ConfigError` before anything is sent.

    Constructed as :class:`~hessian_common.chain.wrapper.ContractWrapper` (``client`` signs as
    the insurer or an applicant; the address from :func:`deploy_policybook` or
    :func:`open_policybook`).
    """

    artifact = POLICYBOOK_NAME
    struct_getters = ("getPolicy", "getClaim", "getDeployment", "getPool")
    deployer_role = "insurer"

    # ------------------------------------------------------------ insurer

    def deposit_capital(self, model_id: int, amount: int) -> dict[str, Any]:
        """``depositCapital``: add ``amount`` to the free capital of ``model_id``'s pool, paid
        in the model's currency (a token: allowance, permit or approval)."""
        amount = _amount(amount, "amount")
        return pay(
            self.client,
            self.currency_of(model_id),
            self.address,
            amount,
            lambda: self.fn.depositCapital(model_id, amount),
            lambda permit: self.fn.depositCapitalWithPermit(model_id, amount, permit),
        )

    def withdraw_capital(self, model_id: int, amount: int) -> dict[str, Any]:
        """``withdrawCapital``: move ``amount`` of free capital to our pending balance (then
        :meth:`withdraw` in the model's currency)."""
        amount = _amount(amount, "amount")
        return self.client.transact(self.fn.withdrawCapital(model_id, amount))

    def quote(
        self,
        policy_id: int,
        claim_ppm: int,
        premium: int,
        coverage_limit: int,
        deductible: int,
        term: int,
    ) -> dict[str, Any]:
        """``quote`` an APPLIED policy: claim probability (ppm), premium, coverage limit,
        deductible (``< coverage_limit``), term in seconds (1..:data:`MAX_TERM`)."""
        _ppm(claim_ppm)
        _amount(premium, "premium")
        _amount(coverage_limit, "coverage_limit")
        _amount(deductible, "deductible", positive=False)
        if deductible >= coverage_limit:
            raise ConfigError(
                f"deductible ({deductible}) must be below the coverage limit ({coverage_limit})"
            )
        _term(term)
        return self.client.transact(
            self.fn.quote(policy_id, claim_ppm, premium, coverage_limit, deductible, term)
        )

    def decline(self, policy_id: int, claim_ppm: int) -> dict[str, Any]:
        """``decline`` an APPLIED policy, recording the model's claim probability."""
        return self.client.transact(self.fn.decline(policy_id, _ppm(claim_ppm)))

    def decide_claim(self, claim_id: int, approve: bool, reason: int = 0) -> dict[str, Any]:
        """``decideClaim``: approve (paid from the reserve) or deny with a non-zero
        ``reason`` (:class:`DenialReason`), within the claim window."""
        if not approve and (not isinstance(reason, int) or not 1 <= int(reason) < 2**16):
            raise ConfigError(f"a denial needs a reason code 1..65535, not {reason!r}")
        return self.client.transact(
            self.fn.decideClaim(claim_id, bool(approve), 0 if approve else int(reason))
        )

    def approve_claim(self, claim_id: int) -> dict[str, Any]:
        """``decideClaim(claim_id, true, 0)``."""
        return self.decide_claim(claim_id, True)

    def deny_claim(self, claim_id: int, reason: int = DenialReason.NOT_COVERED) -> dict[str, Any]:
        """``decideClaim(claim_id, false, reason)``."""
        return self.decide_claim(claim_id, False, reason)

    # ------------------------------------------------------------ applicant, holder, anyone

    def apply(
        self,
        model_id: int,
        digest: bytes | str,
        application_cid: str,
        coverage: int,
        term: int,
    ) -> int:
        """``applyForPolicy`` asking for ``coverage`` over ``term`` seconds; returns the new
        policy id."""
        _amount(coverage, "coverage")
        _term(term)
        receipt = self.client.transact(
            self.fn.applyForPolicy(
                model_id, digest32(digest, "digest"), application_cid, coverage, term
            )
        )
        return int(self._event_arg(receipt, "PolicyApplied", "policyId"))

    def accept(self, policy_id: int, starts_at: int = 0) -> dict[str, Any]:
        """``accept``: pay the quoted premium (read from the chain) in the model's currency
        and start cover at ``starts_at`` (0: now; at most ``start_window`` ahead)."""
        s = self._struct("getPolicy", policy_id)
        if not isinstance(starts_at, int) or starts_at < 0:
            raise ConfigError(f"starts_at must be 0 or a unix time, not {starts_at!r}")
        return pay(
            self.client,
            self.currency_of(int(s["modelId"])),
            self.address,
            int(s["premium"]),
            lambda: self.fn.accept(policy_id, starts_at),
            lambda permit: self.fn.acceptWithPermit(policy_id, starts_at, permit),
        )

    def cancel(self, policy_id: int) -> dict[str, Any]:
        """``cancel``: the holder before the policy starts (premium back), the insurer a
        quote."""
        return self.client.transact(self.fn.cancel(policy_id))

    def file_claim(self, policy_id: int, amount: int, evidence_cid: str) -> int:
        """``fileClaim`` for ``amount`` (net of the deductible); returns the new claim id."""
        _amount(amount, "amount")
        if not evidence_cid:
            raise ConfigError("evidence_cid must not be empty")
        receipt = self.client.transact(self.fn.fileClaim(policy_id, amount, evidence_cid))
        return int(self._event_arg(receipt, "ClaimFiled", "claimId"))

    def settle_claim(self, claim_id: int) -> dict[str, Any]:
        """``settleClaim``: pay a claim left undecided past its window (anyone)."""
        return self.client.transact(self.fn.settleClaim(claim_id))

    def collect_premium(self, policy_id: int) -> dict[str, Any]:
        """``collectPremium``: credit a started policy's premium to the insurer (anyone)."""
        return self.client.transact(self.fn.collectPremium(policy_id))

    def expire(self, policy_id: int) -> dict[str, Any]:
        """``expire``: end a policy after its term, releasing its reserve (anyone)."""
        return self.client.transact(self.fn.expire(policy_id))

    # ------------------------------------------------------------ reads

    @property
    def quote_validity(self) -> int:
        """Seconds a quote stays open."""
        return self._immutable("quoteValidity")

    @property
    def start_window(self) -> int:
        """Most seconds between an acceptance and the policy's start."""
        return self._immutable("startWindow")

    @property
    def claim_window(self) -> int:
        """Seconds the insurer has to decide a claim."""
        return self._immutable("claimWindow")

    def policy_count(self) -> int:
        """Number of policies (ids 1..count)."""
        return int(self.client.call(self.fn.policyCount()))

    def claim_count(self) -> int:
        """Number of claims (ids 1..count)."""
        return int(self.client.call(self.fn.claimCount()))

    def policy(self, policy_id: int) -> PolicyInfo:
        """Everything recorded about a policy (raises ``ContractRevert`` UnknownPolicy)."""
        s = self._struct("getPolicy", policy_id)
        applied = self._log("PolicyApplied", "policyId", policy_id) or {}
        return self._policy_info(policy_id, s, applied)

    def policies(
        self, model_id: int | None = None, holder: str | None = None, insurer: str | None = None
    ) -> list[PolicyInfo]:
        """Policies, oldest first, filtered by model, holder and/or insurer (all by default)."""
        filters: dict[str, Any] = {}
        if model_id is not None:
            filters["modelId"] = int(model_id)
        if holder is not None:
            filters["holder"] = Web3.to_checksum_address(holder)
        out = []
        for log in sorted(
            self.find_events("PolicyApplied", filters), key=lambda x: int(x.args["policyId"])
        ):
            args = dict(log.args)
            policy_id = int(args["policyId"])
            self._log_cache[("PolicyApplied", policy_id)] = args
            info = self._policy_info(policy_id, self._struct("getPolicy", policy_id), args)
            if insurer is None or info.insurer == Web3.to_checksum_address(insurer):
                out.append(info)
        return out

    def claim(self, claim_id: int) -> ClaimInfo:
        """Everything recorded about a claim (raises ``ContractRevert`` UnknownClaim)."""
        s = self._struct("getClaim", claim_id)
        filed = self._log("ClaimFiled", "claimId", claim_id) or {}
        return self._claim_info(claim_id, s, filed)

    def claims(self, policy_id: int | None = None, holder: str | None = None) -> list[ClaimInfo]:
        """Claims, oldest first, filtered by policy and/or holder (all by default)."""
        filters: dict[str, Any] = {}
        if policy_id is not None:
            filters["policyId"] = int(policy_id)
        if holder is not None:
            filters["holder"] = Web3.to_checksum_address(holder)
        out = []
        for log in sorted(
            self.find_events("ClaimFiled", filters), key=lambda x: int(x.args["claimId"])
        ):
            args = dict(log.args)
            claim_id = int(args["claimId"])
            self._log_cache[("ClaimFiled", claim_id)] = args
            out.append(self._claim_info(claim_id, self._struct("getClaim", claim_id), args))
        return out

    def pool(self, model_id: int) -> PoolInfo:
        """The capital pool of ``model_id`` (zeros if it has none)."""
        s = self._struct("getPool", model_id)
        return PoolInfo(
            model_id=int(model_id),
            free=int(s["free"]),
            reserved=int(s["reserved"]),
            premiums_held=int(s["premiumsHeld"]),
        )

    def deployment(self, model_id: int) -> PolicyDeploymentInfo | None:
        """The deployment of ``model_id``; None if it was never deployed here."""
        d = self._struct("getDeployment", model_id)
        if int(d["deployer"], 16) == 0:
            return None
        deployed = self._log("ModelDeployed", "modelId", model_id) or {}
        return PolicyDeploymentInfo(
            model_id=int(model_id),
            insurer=Web3.to_checksum_address(d["deployer"]),
            policy_cid=CID(deployed.get("policyCid", "")),
            application_key=bytes(d["applicationKey"]),
            deployed_at=int(d["deployedAt"]),
            active=bool(d["active"]),
            policy_count=int(d["applicationCount"]),
            currency=Web3.to_checksum_address(d["currency"]),
        )

    def in_force(self, policy_id: int) -> bool:
        """Whether an ACTIVE policy is in force now (a claim can be filed)."""
        return bool(self.client.call(self.fn.inForce(policy_id)))

    def expires_at(self, policy_id: int) -> int:
        """When a bought policy's cover ends (0 before acceptance)."""
        return int(self.client.call(self.fn.expiresAt(policy_id)))

    def claim_deadline(self, claim_id: int) -> int:
        """Last second the insurer may decide ``claim_id``."""
        return int(self.client.call(self.fn.claimDeadline(claim_id)))

    def can_cover(self, model_id: int, coverage_limit: int) -> bool:
        """Whether ``model_id``'s free capital covers a policy with this limit now."""
        return bool(self.client.call(self.fn.canCover(model_id, int(coverage_limit))))

    # ------------------------------------------------------------ internals

    def _policy_info(
        self, policy_id: int, s: dict[str, Any], applied: dict[str, Any]
    ) -> PolicyInfo:
        fact = self._deployment_fact(int(s["modelId"]))
        starts = int(s["startsAt"])
        return PolicyInfo(
            policy_id=int(policy_id),
            model_id=int(s["modelId"]),
            holder=Web3.to_checksum_address(s["holder"]),
            insurer=fact["insurer"],
            currency=fact["currency"],
            status=PolicyStatus(s["status"]),
            application_digest=bytes(applied.get("applicationDigest", b"")),
            application_cid=CID(applied.get("applicationCid", "")),
            coverage_asked=int(applied.get("coverage", 0)),
            term_asked=int(applied.get("term", 0)),
            claim_ppm=int(s["claimPpm"]),
            premium=int(s["premium"]),
            coverage_limit=int(s["coverageLimit"]),
            deductible=int(s["deductible"]),
            term=int(s["term"]),
            reserve=int(s["reserve"]),
            claims_paid=int(s["claimsPaid"]),
            applied_at=int(s["appliedAt"]),
            quote_expires=int(s["quoteExpires"]),
            accepted_at=int(s["acceptedAt"]),
            starts_at=starts,
            expires_at=starts + int(s["term"]) if starts else 0,
            premium_earned=bool(s["premiumEarned"]),
            claim_open=bool(s["claimOpen"]),
            claim_count=int(s["claimCount"]),
        )

    def _claim_info(self, claim_id: int, s: dict[str, Any], filed: dict[str, Any]) -> ClaimInfo:
        filed_at = int(s["filedAt"])
        holder = filed.get("holder")
        return ClaimInfo(
            claim_id=int(claim_id),
            policy_id=int(s["policyId"]),
            holder=Web3.to_checksum_address(holder) if holder else "",
            status=ClaimStatus(s["status"]),
            amount=int(s["amount"]),
            reason=int(s["reason"]),
            filed_at=filed_at,
            deadline=filed_at + self.claim_window,
            evidence_cid=CID(filed.get("evidenceCid", "")),
        )


# ---------------------------------------------------------------- deployment


def deploy_policybook(
    client: ChainClient,
    repository_address: str,
    deployments_dir: Path | None = None,
    *,
    quote_validity: int = QUOTE_VALIDITY,
    start_window: int = START_WINDOW,
    claim_window: int = CLAIM_WINDOW,
    record: bool = True,
    artifact: Artifact | None = None,
) -> str:
    """Deploy a ``PolicyBook`` linked to the ModelRepository at ``repository_address``.

    Times are seconds (defaults: quotes open 7 days, cover starting within 30 days of the
    acceptance, 14 days to decide a claim; ``start_window`` may be 0: cover starts at the
    acceptance). With ``record`` writes ``deployments/<chainId>-PolicyBook.json`` (as
    :func:`hessian_common.chain.deploy.deploy_loanbook` does for the LoanBook).

    Raises
    ------
    ConfigError
        A time is out of range, or there is no contract code at ``repository_address``
        (nothing is sent).
    """
    for name, value, least in (
        ("quote_validity", quote_validity, 1),
        ("start_window", start_window, 0),
        ("claim_window", claim_window, 1),
    ):
        if not isinstance(value, int) or not least <= value < 2**64:
            raise ConfigError(f"{name} must be a number of seconds >= {least}, not {value!r}")
    repo = Web3.to_checksum_address(repository_address)
    with node_errors(client.url):
        code = client.w3.eth.get_code(repo)
    if not code:
        raise ConfigError(
            f"no contract at {repo} on chain {client.chain_id} ({client.url}): a PolicyBook "
            "needs a deployed ModelRepository"
        )
    artifact = artifact or load_artifact(POLICYBOOK_NAME)
    receipt = client.deploy(
        artifact.abi, artifact.bytecode, repo, quote_validity, start_window, claim_window
    )
    if record:
        _record(client, artifact, receipt, deployments_dir)
    return Web3.to_checksum_address(receipt["contractAddress"])


def ensure_policybook(
    client: ChainClient, repository_address: str, deployments_dir: Path | None = None
) -> tuple[str, bool]:
    """The recorded ``PolicyBook`` of this chain when it is usable (code present, our ABI,
    linked to ``repository_address``), else a new one deployed and recorded.

    Returns ``(address, fresh)``: ``fresh`` is True when it was deployed now. A new
    PolicyBook would leave every pool, policy and claim of the old one behind, so a usable
    one is always reused (``deploy_policybook`` deploys another on purpose).
    """
    repo = Web3.to_checksum_address(repository_address)
    try:
        book = open_policybook(client, deployments_dir)
        if Web3.to_checksum_address(book.repository_address) == repo:
            return book.address, False
    except ChainUnavailable:
        raise
    except ChainError:  # no record, no code there, another ABI
        pass
    return deploy_policybook(client, repo, deployments_dir), True


def open_policybook(client: ChainClient, deployments_dir: Path | None = None) -> PolicyBook:
    """The recorded ``PolicyBook`` of ``client``'s chain, checked against our ABI.

    Raises
    ------
    DeploymentNotFound
        No PolicyBook record for this chain, or no code at the recorded address.
    ChainError
        The recorded ABI is not the one the sources compile to.
    """
    dep = load_deployment(client.w3, deployments_dir, contract=POLICYBOOK_NAME)
    artifact = load_artifact(POLICYBOOK_NAME)
    if dep.abi_sha256 != artifact.abi_hash:
        raise ChainError(
            f"the PolicyBook at {dep.address} (chain {dep.chain_id}) has ABI "
            f"{dep.abi_sha256[:12]}, the sources compile to {artifact.abi_hash[:12]}; deploy it "
            "again"
        )
    return PolicyBook(client, dep.address, artifact.abi, from_block=dep.block)
