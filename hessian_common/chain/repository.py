"""Typed wrapper of the ``ModelRepository`` contract.

Amounts are integers in base units of the model's currency (wei for ether, typed
:data:`~hessian_common.types.Wei` for history; a token's smallest unit otherwise, whatever its
decimals), scores parts per million (:data:`~hessian_common.types.Ppm`).

Currencies: each model names its own (:attr:`ModelInfo.currency`, a
:class:`~hessian_common.format.Currency`: ether, or an ERC-20 token with its address, symbol
and decimals). :meth:`ModelRepository.create_model` (``currency=``) and
:meth:`ModelRepository.submit` take care of the token's allowance themselves (see
:func:`hessian_common.chain.token.fund`): a token with EIP-2612 permits is pulled with a
permit signed here and sent in the same transaction (``createModelWithPermit``,
``submitUpdateWithPermit``), any other token is ``approve``-d for exactly the amount first;
the caller never handles allowances. Balances owed are kept per (account, currency):
:meth:`ModelRepository.pending` and :meth:`ModelRepository.withdraw` take the currency
(default ether). The contract keeps CIDs in events only (a CID string
would cost three storage slots per write); this wrapper reads them back from the logs, so
:class:`ModelInfo` and :class:`SubmissionInfo` carry the CID strings like any other field.

Test-set commitment: ``keccak256(abi.encodePacked(testSetCid, salt))``, the same in Solidity
(``testSetCommitmentOf``) and here (:func:`test_set_commitment`).

Rules the wrapper mirrors (NatSpec in ``contracts/ModelRepository.sol`` has the detail): a
model's waiting submissions are evaluated or settled in the order they arrived
(:meth:`ModelRepository.next_in_queue`); a submission is *paid* only for a gain of at least
``max(min_gain, 1)`` ppm over the best score; a stale submission is paid the reserve fixed when
it was submitted (:meth:`ModelRepository.stale_reserve_now`); the lender reveals the test set
and the decryption transcript before :meth:`ModelRepository.reveal_deadline` or the remaining
bounty is forfeited to the submitters (:meth:`ModelRepository.claim_forfeit`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, NamedTuple

from web3 import Web3

from hessian_common.chain.client import tx_hash_of
from hessian_common.chain.token import (
    ZERO_ADDRESS,
    Token,
    currency_address,
    currency_of,
    fund,
)
from hessian_common.chain.wrapper import ChainEvent as ChainEvent  # re-exported: it lived here
from hessian_common.chain.wrapper import ContractWrapper
from hessian_common.errors import ConfigError
from hessian_common.format import Currency
from hessian_common.types import CID, PPM, Ppm, Wei, bytes32

DIGEST_BYTES = 32

MAX_WINDOW = 90 * 86_400
"""Longest evaluation and reveal window the contract takes (``MAX_WINDOW``), seconds."""
MAX_DURATION = 366 * 86_400
"""Latest deadline the contract takes, from the model's creation (``MAX_DURATION``), seconds."""
DEFAULT_REVEAL_WINDOW = 14 * 86_400
"""Default seconds after ``deadline + evaluation_window`` for the reveal."""
DEFAULT_MAX_ROWS = 10_000_000
"""Default largest row count per submission (rows are self-declared; they weigh the Newton
step, so a bound limits what a liar can do to the model, and they are never paid for)."""
STALE_REWARD_SHARE = 10
"""By default a stale submission is reserved ``bounty / STALE_REWARD_SHARE``."""


def default_stale_reward(bounty: int) -> int:
    """``max(1, bounty // STALE_REWARD_SHARE)``: the default stale reserve per submission."""
    return max(1, int(bounty) // STALE_REWARD_SHARE)


class Metric(IntEnum):
    """Score metric (``ModelRepository.Metric``)."""

    AUC = 0
    ACCURACY = 1


class Mechanism(IntEnum):
    """Reward mechanism (``ModelRepository.Mechanism``); the off-chain mirror in
    :mod:`hessian_common.rewards.mechanisms` uses the same enum.

    ``PRO_RATA_GAIN`` splits the pool by each paid submission's measured score gain. (It
    replaced ``PRO_RATA_ROWS``, which paid by self-declared row counts nobody can check.)
    """

    IMPROVEMENT = 0
    EQUAL = 1
    PRO_RATA_GAIN = 2

    @classmethod
    def parse(cls, value: str | int | Mechanism) -> Mechanism:
        """``"improvement"``, ``"EQUAL"``, ``"pro-rata-gain"``, ``2`` ... -> member.

        Raises
        ------
        ConfigError
            For a name or number that is not a mechanism.
        """
        if isinstance(value, Mechanism):
            return value
        if isinstance(value, int):
            try:
                return cls(value)
            except ValueError:
                raise ConfigError(f"unknown reward mechanism number {value}") from None
        key = str(value).strip().upper().replace("-", "_")
        try:
            return cls[key]
        except KeyError:
            names = ", ".join(m.name.lower() for m in cls)
            raise ConfigError(f"unknown reward mechanism {value!r}; known: {names}") from None

    @property
    def label(self) -> str:
        """Lower-case name used in the CLI, JSON and reports (``pro_rata_gain``)."""
        return self.name.lower()


class SubmissionStatus(IntEnum):
    """Submission state (``ModelRepository.Status``)."""

    WAITING = 0
    ACCEPTED = 1
    REJECTED = 2


class ModelStatus(IntEnum):
    """Model state (``ModelRepository.ModelStatus``)."""

    OPEN = 0
    CLOSED = 1


class Reason(IntEnum):
    """Why the lender accepted or rejected a submission (``reason`` of ``evaluateUpdate``).

    The contract only checks that an accepted update has ``ACCEPTED`` (0) and a rejected one
    another code; the codes are recorded in the ``UpdateEvaluated`` event for owners and
    auditors.
    """

    ACCEPTED = 0
    WORSE = 1
    """The candidate's hold-out score fails the acceptance rule."""
    UNAVAILABLE = 2
    """The update blob could not be fetched from the store within the retries allowed."""
    MALFORMED = 3
    """The blob is not a readable update (size, JSON, format, key, dimension)."""
    WRONG_SIGNER = 4
    """The blob is not signed by the account that submitted it on chain."""
    WRONG_MODEL = 5
    """The blob names another model, an unknown base version, or other rows / digest."""
    UNDECRYPTABLE = 6
    """The ciphertexts do not decrypt under the model's key."""
    DUPLICATE_MODEL = 7
    """The candidate equals the current model, an earlier version or an earlier candidate."""
    DUPLICATE_ROWS = 8
    """The submission repeats rows already in the model (row pseudonyms)."""
    MANUAL = 9
    """Rejected by hand by the lender (with a note in its audit transcript)."""

    @property
    def label(self) -> str:
        """Lower-case name (``duplicate_model``)."""
        return self.name.lower()

    @property
    def text(self) -> str:
        """A short human description."""
        return REASON_TEXT[self]


REASON_TEXT = {
    Reason.ACCEPTED: "accepted",
    Reason.WORSE: "not better than the current model on the hold-out",
    Reason.UNAVAILABLE: "update blob not available in the store",
    Reason.MALFORMED: "update blob unreadable or malformed",
    Reason.WRONG_SIGNER: "update blob not signed by the submitter",
    Reason.WRONG_MODEL: "update built for another model, version, rows or data set",
    Reason.UNDECRYPTABLE: "update does not decrypt under the model's key",
    Reason.DUPLICATE_MODEL: "a copy of the current model or of an earlier update",
    Reason.DUPLICATE_ROWS: "repeats rows already in the model",
    Reason.MANUAL: "rejected by the lender by hand",
}


class CloseReason(IntEnum):
    """Why a model closed (``ModelRepository.CloseReason``)."""

    TARGET_REACHED = 0
    DEADLINE_PASSED = 1
    CLOSED_BY_LENDER = 2


@dataclass(frozen=True)
class ModelInfo:
    """A model as recorded on chain (storage plus the CIDs from its events)."""

    model_id: int
    lender: str
    currency: Currency
    """What every amount of the model is in: ether, or a token (``currency.address``)."""
    spec_cid: CID
    model_cid: CID
    """CID of the current model: the last accepted update's, else the spec's."""
    metric: Metric
    mechanism: Mechanism
    status: ModelStatus
    finalized: bool
    """Closed with nothing waiting: shares fixed, remainder reclaimable."""
    initial_score: Ppm
    target_score: Ppm
    current_score: Ppm
    """Best score accepted so far (starts at the initial score)."""
    min_gain: Ppm
    """Smallest gain over the best score that is paid (0: any strict gain)."""
    deadline: int
    evaluation_window: int
    reveal_window: int
    reveal_deadline: int
    """``deadline + evaluation_window + reveal_window``: reveal by then or forfeit."""
    max_rows: int
    stale_reward: Wei
    """Reserved per submission (while the bounty lasts) and paid if it is settled as stale."""
    reserved: Wei
    """Part of ``remaining`` set aside for the stale reserves of waiting submissions."""
    submission_deposit: Wei
    bounty: Wei
    remaining: Wei
    paid: Wei
    """Credited to owners (rewards, stale settlements, claimed shares)."""
    owed: Wei
    """Fixed shares not claimed yet."""
    reclaimed: Wei
    pool: Wei
    submission_count: int
    waiting_count: int
    accepted_count: int
    paid_count: int
    """Accepted submissions paid for a gain of at least ``max(min_gain, 1)``."""
    rejected_count: int
    accepted_rows: int
    total_gain: Ppm
    last_accepted_update_id: int
    next_in_queue: int
    """The submission to evaluate (or settle) next; 0 when none waits."""
    test_set_commitment: bytes
    revealed: bool
    forfeited: bool
    test_set_cid: CID | None
    test_set_salt: bytes | None
    transcript_cid: CID | None

    @property
    def is_open(self) -> bool:
        """Still taking submissions (the deadline may have passed without a close call)."""
        return self.status == ModelStatus.OPEN


@dataclass(frozen=True)
class SubmissionInfo:
    """A submission as recorded on chain (storage plus the CID and digest from its event)."""

    update_id: int
    model_id: int
    owner: str
    update_cid: CID
    dataset_digest: bytes
    rows: int
    submitted_at: int
    status: SubmissionStatus
    stale: bool
    """Settled by anyone after the evaluation window (counts as accepted; paid its reserve)."""
    claimed: bool
    """Its pool share (EQUAL / PRO_RATA_GAIN) or forfeit share was credited."""
    new_score: Ppm
    gain: Ppm
    """The paid gain (0: not paid)."""
    reward: Wei
    stale_reserve: Wei
    new_model_cid: CID | None
    reason: Reason | None
    """Why it was accepted or rejected (None while waiting or when settled as stale)."""


class Submitted(NamedTuple):
    """What :meth:`ModelRepository.submit` returns."""

    update_id: int
    tx_hash: str


def test_set_commitment(test_set_cid: str, salt: bytes) -> bytes:
    """``keccak256(abi.encodePacked(testSetCid, salt))``: what ``createModel`` takes."""
    if len(salt) != 32:
        raise ConfigError(f"salt must be 32 bytes, not {len(salt)}")
    return bytes(Web3.solidity_keccak(["string", "bytes32"], [test_set_cid, salt]))


test_set_commitment.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def new_salt() -> bytes:
    """32 random bytes for a test-set commitment."""
    return os.urandom(32)


def _digest(value: bytes | str) -> bytes:
    return bytes32(value, "dataset digest", ConfigError)


def _reason(value: int) -> Reason | None:
    try:
        return Reason(int(value))
    except ValueError:
        return None


def _score(value: int, what: str) -> int:
    if not isinstance(value, int) or not 0 <= value <= PPM:
        raise ConfigError(f"{what} must be an integer in ppm (0..{PPM}), not {value!r}")
    return value


class ModelRepository(ContractWrapper):
    """Calls and reads of one deployed ``ModelRepository``.

    Every read and write raises :class:`~hessian_common.errors.ChainUnavailable` naming the
    node's URL when the node cannot be reached (views through :meth:`ChainClient.call`, logs
    here), so callers never see a raw ``requests`` error.

    Constructed as :class:`~hessian_common.chain.wrapper.ContractWrapper` (``client`` signs as
    the lender or an owner; the address from
    :func:`hessian_common.chain.deploy.load_deployment`).
    """

    artifact = "ModelRepository"
    struct_getters = ("getModel", "getSubmission")
    foreign_errors = ("HessianToken",)
    """A token's own errors (allowance, balance, permit) bubble up through the pulls."""

    # ------------------------------------------------------------ lender

    def create_model(
        self,
        spec_cid: str,
        *,
        bounty: int,
        initial_score: int,
        target_score: int,
        deadline: int,
        evaluation_window: int,
        test_set_commitment: bytes,
        metric: Metric = Metric.AUC,
        mechanism: Mechanism = Mechanism.IMPROVEMENT,
        submission_deposit: int = 0,
        min_gain: int = 0,
        reveal_window: int = DEFAULT_REVEAL_WINDOW,
        max_rows: int = DEFAULT_MAX_ROWS,
        stale_reward: int | None = None,
        currency: Currency | str | None = None,
        permit: bool | None = None,
    ) -> int:
        """``createModel``: escrow ``bounty`` (base units of ``currency``); return the new
        model id.

        ``deadline`` is a unix time, ``evaluation_window`` and ``reveal_window`` seconds,
        scores and ``min_gain`` ppm. ``stale_reward`` defaults to
        :func:`default_stale_reward` of the bounty. ``currency``: ether (``None``, the
        default) or a token (its address or :class:`Currency`); a token's bounty is pulled
        with a permit when the token supports EIP-2612 (``createModelWithPermit``, one
        transaction), else after an ``approve`` (``permit`` forces one or the other).

        Raises
        ------
        ConfigError
            A score out of range, a currency that is not a token on this chain, or a token
            balance below the bounty (nothing is sent).
        """
        _score(initial_score, "initial_score")
        _score(target_score, "target_score")
        _score(min_gain, "min_gain")
        stale = default_stale_reward(bounty) if stale_reward is None else int(stale_reward)
        terms = (
            int(metric),
            int(mechanism),
            initial_score,
            target_score,
            min_gain,
            int(deadline),
            int(evaluation_window),
            int(reveal_window),
            int(submission_deposit),
            int(max_rows),
            stale,
        )
        token = currency_address(currency)
        args = (spec_cid, bytes(test_set_commitment), terms, token, int(bounty))
        if token == ZERO_ADDRESS:
            receipt = self.client.transact(self.fn.createModel(*args), value=int(bounty))
        else:
            self.currency(token, strict=True)
            p = fund(self.client, token, self.address, int(bounty), "the bounty", permit)
            if p is None:
                receipt = self.client.transact(self.fn.createModel(*args))
            else:
                receipt = self.client.transact(self.fn.createModelWithPermit(*args, p.as_tuple()))
        return self._event_arg(receipt, "ModelCreated", "modelId")

    def evaluate_update(
        self,
        update_id: int,
        accepted: bool,
        new_score: int,
        new_model_cid: str = "",
        reason: Reason | int | None = None,
    ) -> dict[str, Any]:
        """``evaluateUpdate`` (lender only, the head of the model's queue); returns the receipt.

        ``reason`` defaults to ``ACCEPTED`` for an accepted update and ``WORSE`` otherwise.
        """
        _score(new_score, "new_score")
        if reason is None:
            reason = Reason.ACCEPTED if accepted else Reason.WORSE
        return self.client.transact(
            self.fn.evaluateUpdate(update_id, bool(accepted), int(reason), new_score, new_model_cid)
        )

    def close_model(self, model_id: int) -> dict[str, Any]:
        """``closeModel``: anyone after the deadline, the lender at any time."""
        return self.client.transact(self.fn.closeModel(model_id))

    def reclaim(self, model_id: int) -> Wei:
        """``reclaim`` (lender): credit what remains back; returns the amount."""
        receipt = self.client.transact(self.fn.reclaim(model_id))
        return Wei(self._event_arg(receipt, "BountyReclaimed", "amount"))

    def reveal_test_set(
        self, model_id: int, test_set_cid: str, salt: bytes, transcript_cid: str
    ) -> dict[str, Any]:
        """``revealTestSet`` (lender, closed with nothing waiting, before the reveal deadline):
        the test set (checked against the commitment) and the decryption transcript's CID."""
        return self.client.transact(
            self.fn.revealTestSet(model_id, test_set_cid, bytes(salt), transcript_cid)
        )

    # ------------------------------------------------------------ owners and anyone

    def submit(
        self,
        model_id: int,
        update_cid: str,
        dataset_digest: bytes | str,
        rows: int,
        min_stale_reserve: int = 0,
        permit: bool | None = None,
    ) -> Submitted:
        """``submitUpdate`` with the model's deposit; the new update id and the transaction.

        ``min_stale_reserve``: the least stale reserve accepted (what the owner was shown);
        the contract refuses (``ReserveTooLow``) if a flood mined first left less. A token
        deposit is pulled with a permit when the token supports EIP-2612
        (``submitUpdateWithPermit``, one transaction), else after an ``approve`` (``permit``
        forces one or the other); an ether deposit is sent with the call.

        Raises
        ------
        ConfigError
            The owner's token balance is below the deposit (nothing is sent).
        """
        m = self._struct("getModel", model_id)
        deposit, token = int(m["submissionDeposit"]), m["currency"]
        args = (model_id, update_cid, _digest(dataset_digest), rows, int(min_stale_reserve))
        if token == ZERO_ADDRESS:
            receipt = self.client.transact(self.fn.submitUpdate(*args), value=deposit)
        else:
            p = fund(self.client, token, self.address, deposit, "the deposit", permit)
            if p is None:
                receipt = self.client.transact(self.fn.submitUpdate(*args))
            else:
                receipt = self.client.transact(self.fn.submitUpdateWithPermit(*args, p.as_tuple()))
        return Submitted(
            self._event_arg(receipt, "UpdateSubmitted", "updateId"), tx_hash_of(receipt)
        )

    def submit_update(
        self,
        model_id: int,
        update_cid: str,
        dataset_digest: bytes | str,
        rows: int,
        min_stale_reserve: int = 0,
        permit: bool | None = None,
    ) -> int:
        """:meth:`submit`, returning only the new update id."""
        return self.submit(
            model_id, update_cid, dataset_digest, rows, min_stale_reserve, permit
        ).update_id

    def settle_stale(self, update_id: int) -> Wei:
        """``settleStale``: pay a submission left waiting past the window; returns the reward."""
        receipt = self.client.transact(self.fn.settleStale(update_id))
        return Wei(self._event_arg(receipt, "StaleSettled", "reward"))

    def claim_share(self, update_id: int) -> Wei:
        """``claimShare`` (EQUAL / PRO_RATA_GAIN, after finalisation); returns the amount."""
        receipt = self.client.transact(self.fn.claimShare(update_id))
        return Wei(self._event_arg(receipt, "ShareClaimed", "amount"))

    def claim_forfeit(self, update_id: int) -> Wei:
        """``claimForfeit``: after an unrevealed model's reveal deadline, credit this
        submission's equal share of the forfeited bounty (shared by the rejected submissions,
        or by all when none was rejected); returns the amount."""
        receipt = self.client.transact(self.fn.claimForfeit(update_id))
        return Wei(self._event_arg(receipt, "ForfeitClaimed", "amount"))

    def withdraw(self, currency: Currency | str | None = None) -> Wei:
        """``withdraw(currency)``: the caller's pending balance in one currency (default
        ether); returns the amount."""
        receipt = self.client.transact(self.fn.withdraw(currency_address(currency)))
        return Wei(self._event_arg(receipt, "Withdrawn", "amount"))

    # ------------------------------------------------------------ reads

    def pending(self, address: str | None = None, currency: Currency | str | None = None) -> Wei:
        """Withdrawable balance of ``address`` (default: the client's account) in ``currency``
        (default ether)."""
        who = Web3.to_checksum_address(address or self.client.address)
        return Wei(self.client.call(self.fn.pendingOf(who, currency_address(currency))))

    def total_pending(self, currency: Currency | str | None = None) -> int:
        """Sum of every account's pending balance in ``currency`` (default ether)."""
        return int(self.client.call(self.fn.totalPendingOf(currency_address(currency))))

    def currency(self, currency: Currency | str | None, strict: bool = False) -> Currency:
        """The :class:`Currency` of ``currency`` (an address, ``None`` for ether), read from
        the chain once per wrapper (see :func:`~hessian_common.chain.token.currency_of`;
        ``strict`` raises for an address that is not an ERC-20 token)."""
        address = currency_address(currency)
        key = f"currency:{address}:{strict}"
        if key not in self._immutables:
            self._immutables[key] = currency_of(self.client, address, strict=strict)
        return self._immutables[key]

    def model_currency(self, model_id: int) -> Currency:
        """The currency of a model (ether, or its token)."""
        return self.currency(self.client.call(self.fn.currencyOf(model_id)))

    def token(self, currency: Currency | str) -> Token:
        """A :class:`~hessian_common.chain.token.Token` wrapper of a model's token, signing
        with this wrapper's client."""
        address = currency_address(currency)
        if address == ZERO_ADDRESS:
            raise ConfigError("ether is not a token")
        return Token(self.client, address)

    def model_count(self) -> int:
        """Number of models (ids 1..count)."""
        return int(self.client.call(self.fn.modelCount()))

    def submission_count(self) -> int:
        """Number of submissions of all models (ids 1..count)."""
        return int(self.client.call(self.fn.submissionCount()))

    def model_deposit(self, model_id: int) -> Wei:
        """The submission deposit of a model, in wei."""
        return Wei(self._struct("getModel", model_id)["submissionDeposit"])

    def model(self, model_id: int) -> ModelInfo:
        """Everything recorded about a model (raises ``ContractRevert`` UnknownModel)."""
        m = self._struct("getModel", model_id)
        escrow = self.escrow(model_id)
        created = self._log("ModelCreated", "modelId", model_id)
        spec_cid = CID(created["specCid"]) if created else CID("")
        model_cid = spec_cid
        if m["lastAcceptedUpdateId"]:
            evaluated = self._log("UpdateEvaluated", "updateId", m["lastAcceptedUpdateId"])
            if evaluated:
                model_cid = CID(evaluated["newModelCid"])
        revealed = self._log("TestSetRevealed", "modelId", model_id) if m["revealed"] else None
        return ModelInfo(
            model_id=model_id,
            lender=m["lender"],
            currency=self.currency(m["currency"]),
            spec_cid=spec_cid,
            model_cid=model_cid,
            metric=Metric(m["metric"]),
            mechanism=Mechanism(m["mechanism"]),
            status=ModelStatus(m["status"]),
            finalized=bool(m["finalized"]),
            revealed=bool(m["revealed"]),
            forfeited=bool(m["forfeited"]),
            initial_score=Ppm(m["initialScore"]),
            target_score=Ppm(m["targetScore"]),
            current_score=Ppm(m["currentScore"]),
            min_gain=Ppm(m["minGain"]),
            deadline=int(m["deadline"]),
            evaluation_window=int(m["evaluationWindow"]),
            reveal_window=int(m["revealWindow"]),
            reveal_deadline=int(m["deadline"])
            + int(m["evaluationWindow"])
            + int(m["revealWindow"]),
            max_rows=int(m["maxRows"]),
            stale_reward=Wei(m["staleReward"]),
            reserved=Wei(m["reserved"]),
            submission_count=int(m["submissionCount"]),
            waiting_count=int(m["waitingCount"]),
            accepted_count=int(m["acceptedCount"]),
            paid_count=int(m["paidCount"]),
            rejected_count=int(m["rejectedCount"]),
            accepted_rows=int(m["acceptedRows"]),
            total_gain=Ppm(m["totalGain"]),
            last_accepted_update_id=int(m["lastAcceptedUpdateId"]),
            next_in_queue=int(m["head"]),
            submission_deposit=Wei(m["submissionDeposit"]),
            bounty=Wei(m["bounty"]),
            remaining=Wei(m["remaining"]),
            pool=Wei(m["pool"]),
            reclaimed=Wei(m["reclaimed"]),
            paid=Wei(escrow["paid"]),
            owed=Wei(escrow["owed"]),
            test_set_commitment=bytes(m["testSetCommitment"]),
            test_set_cid=CID(revealed["testSetCid"]) if revealed else None,
            test_set_salt=bytes(revealed["salt"]) if revealed else None,
            transcript_cid=CID(revealed["transcriptCid"]) if revealed else None,
        )

    def models(self) -> list[ModelInfo]:
        """All models, oldest first."""
        return [self.model(i) for i in range(1, self.model_count() + 1)]

    def submission(self, update_id: int) -> SubmissionInfo:
        """Everything recorded about a submission (raises ``ContractRevert``)."""
        s = self._struct("getSubmission", update_id)
        submitted = self._log("UpdateSubmitted", "updateId", update_id) or {}
        evaluated = None
        if s["status"] != SubmissionStatus.WAITING and not s["stale"]:
            evaluated = self._log("UpdateEvaluated", "updateId", update_id)
        return SubmissionInfo(
            update_id=update_id,
            model_id=int(s["modelId"]),
            owner=s["owner"],
            update_cid=CID(submitted.get("updateCid", "")),
            dataset_digest=bytes(submitted.get("datasetDigest", b"")),
            rows=int(s["rows"]),
            submitted_at=int(s["submittedAt"]),
            status=SubmissionStatus(s["status"]),
            stale=bool(s["stale"]),
            claimed=bool(s["claimed"]),
            new_score=Ppm(s["newScore"]),
            gain=Ppm(s["gain"]),
            reward=Wei(s["amount"] if s["status"] != SubmissionStatus.WAITING else 0),
            stale_reserve=Wei(submitted.get("staleReserve", 0)),
            new_model_cid=CID(evaluated["newModelCid"])
            if evaluated and evaluated["newModelCid"]
            else None,
            reason=_reason(evaluated["reason"]) if evaluated else None,
        )

    def submission_ids(self, model_id: int, page: int = 500) -> list[int]:
        """Ids of a model's submissions, oldest first (paged view calls, no transaction)."""
        ids: list[int] = []
        start, total = 1, self.submission_count()
        while start <= total:
            found, start = self.client.call(self.fn.submissionsOf(model_id, start, page))
            ids.extend(int(i) for i in found)
        return ids

    def submissions(self, model_id: int) -> list[SubmissionInfo]:
        """A model's submissions, oldest first."""
        return [self.submission(i) for i in self.submission_ids(model_id)]

    def digest_used(self, model_id: int, digest: bytes | str, owner: str | None = None) -> int:
        """Id of ``owner``'s submission (default: the client's account) that used ``digest``
        for ``model_id``; 0 if unused. Replays are recorded per (model, owner, digest)."""
        who = Web3.to_checksum_address(owner or self.client.address)
        return int(self.client.call(self.fn.digestUsedBy(model_id, who, _digest(digest))))

    def next_in_queue(self, model_id: int) -> int:
        """The submission the lender must evaluate (or anyone settle) next; 0 if none waits."""
        return int(self.client.call(self.fn.nextInQueue(model_id)))

    def stale_reserve_now(self, model_id: int) -> Wei:
        """What a submission made now would be reserved (and paid if left stale)."""
        return Wei(self.client.call(self.fn.staleReserveNow(model_id)))

    def reveal_deadline(self, model_id: int) -> int:
        """Unix time after which an unrevealed model's remaining bounty is forfeited."""
        return int(self.client.call(self.fn.revealDeadline(model_id)))

    def is_stale(self, update_id: int) -> bool:
        """Whether ``settle_stale(update_id)`` would succeed now."""
        return bool(self.client.call(self.fn.isStale(update_id)))

    def share_of(self, update_id: int) -> Wei:
        """What ``claim_share(update_id)`` would credit now."""
        return Wei(self.client.call(self.fn.shareOf(update_id)))

    def escrow(self, model_id: int) -> dict[str, int]:
        """``escrowOf``: bounty, paid, owed, remaining, reclaimed, depositsHeld/Forfeited."""
        keys = ("bounty", "paid", "owed", "remaining", "reclaimed", "deposits_held")
        values = self.client.call(self.fn.escrowOf(model_id))
        return dict(zip((*keys, "deposits_forfeited"), (int(v) for v in values), strict=True))
