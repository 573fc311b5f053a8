// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import "./products/ProductBase.sol";

/// @title PolicyBook: insurance policies priced by a deployed (closed, trained) claims model
/// @notice An insurer deploys one of its CLOSED ModelRepository claims models ({deployModel}:
/// policy document CID, X25519 application key, currency) and backs it with a capital pool
/// ({depositCapital}). Applicants apply with the SHA-256 digest of their plaintext application
/// (sealed to the application key, its CID in {PolicyApplied}); the insurer quotes (claim
/// probability in ppm, premium, coverage limit, deductible, term) or declines; the applicant
/// buys the policy by paying the premium ({accept}), naming when it starts (at most
/// `startWindow` seconds after the acceptance, so no reserve stays locked for a policy that
/// never begins). Every sold policy is fully collateralised: its coverage limit moves from the
/// pool's free capital to its reserve at acceptance (a policy the pool cannot pay is never
/// sold: {InsufficientCapital}), and what is left of the reserve returns to free capital when
/// the policy expires ({expire}) or is cancelled before it starts ({cancel}, premium
/// refunded). While the policy is in force the policyholder may file a claim ({fileClaim}: an
/// amount net of the deductible, at most `coverageLimit - deductible` and what is left of the
/// reserve; an evidence CID; one open claim at a time); the insurer approves it (paid from the
/// reserve) or denies it with a non-zero reason code within `claimWindow` seconds
/// ({decideClaim}); a claim left unanswered past the window is paid by {settleClaim}, which
/// anyone may call: the insurer cannot stall. The premium is held until the policy starts and
/// is the insurer's from then on ({collectPremium}, also done by {expire}; at once when the
/// policy starts at its acceptance). All money moves by pull payments ({withdraw}(currency));
/// amounts are base units of the deployment's currency (any decimals).
///
/// Life cycle of a policy (`PolicyStatus`): APPLIED -> QUOTED | DECLINED; QUOTED -> ACTIVE
/// (the holder pays the premium before `quoteExpires`) | CANCELLED (holder; or the insurer
/// withdrawing its quote); APPLIED -> CANCELLED (holder); ACTIVE -> CANCELLED (holder, before
/// `startsAt`: premium back, reserve released) | EXPIRED (anyone, after `expiresAt` with no
/// claim open: reserve released). An ACTIVE policy is in force from `startsAt` to `expiresAt =
/// startsAt + term` (both seconds included). A claim (`ClaimStatus`): FILED -> APPROVED |
/// DENIED (insurer, up to `filedAt + claimWindow` included) | SETTLED (anyone, after it).
///
/// Invariants, per deployed model: `free + reserved` is the pool; `reserved == sum of reserve`
/// over its ACTIVE policies; a policy's `reserve + claimsPaid == coverageLimit` while ACTIVE,
/// so no payout exceeds its reserve; `premiumsHeld` is the sum of the premiums of ACTIVE
/// policies not yet earned. Per currency: what this contract holds of it equals
/// `totalPendingOf(currency)` plus `free + reserved + premiumsHeld` over the models in it.
///
/// Checks-effects-interactions: money comes in last ({Payments-_take}), money goes out only by
/// {withdraw} (reentrancy guard).
contract PolicyBook is ProductBase {
    // ------------------------------------------------------------------ types

    /// @notice State of a policy.
    enum PolicyStatus {
        APPLIED,
        QUOTED,
        DECLINED,
        ACTIVE,
        EXPIRED,
        CANCELLED
    }

    /// @notice State of a claim.
    enum ClaimStatus {
        FILED,
        APPROVED,
        DENIED,
        SETTLED
    }

    /// @notice The stored state of a policy (the application CID and digest, and the amount
    /// and term asked for, are in {PolicyApplied}).
    struct Policy {
        // slot 0
        address holder;
        uint32 modelId;
        PolicyStatus status;
        bool claimOpen;
        bool premiumEarned;
        uint40 appliedAt;
        // slot 1
        uint128 premium;
        uint128 coverageLimit;
        // slot 2
        uint128 deductible;
        uint128 reserve;
        // slot 3
        uint40 quoteExpires;
        uint40 acceptedAt;
        uint40 startsAt;
        uint32 term;
        uint32 claimPpm;
        uint32 claimCount;
        // slot 4
        uint128 claimsPaid;
    }

    /// @notice The stored state of a claim (its evidence CID is in {ClaimFiled}).
    struct Claim {
        // slot 0
        uint64 policyId;
        uint40 filedAt;
        ClaimStatus status;
        uint16 reason;
        uint128 amount;
    }

    /// @notice The capital pool of a deployed model, in its currency.
    struct Pool {
        // slot 0
        uint128 free;
        uint128 reserved;
        // slot 1
        uint128 premiumsHeld;
    }

    // ------------------------------------------------------------------ constants

    /// @notice The longest policy term, in seconds (3,660 days).
    uint32 public constant MAX_TERM = 3_660 days;

    // ------------------------------------------------------------------ immutables

    /// @notice Seconds a quote stays open to acceptance.
    uint64 public immutable quoteValidity;
    /// @notice Most seconds between an acceptance and the policy's start.
    uint64 public immutable startWindow;
    /// @notice Seconds the insurer has to decide a claim; after that anyone may settle it.
    uint64 public immutable claimWindow;

    // ------------------------------------------------------------------ storage

    uint256 private _policyCount;
    uint256 private _claimCount;
    mapping(uint256 => Policy) private _policies;
    mapping(uint256 => Claim) private _claims;
    mapping(uint256 => Pool) private _pools;

    // ------------------------------------------------------------------ events

    /// @notice The insurer added capital to the model's pool (`free`: free capital after).
    event CapitalDeposited(uint256 indexed modelId, uint256 amount, uint256 free);
    /// @notice The insurer took free capital out (credited to its pending balance).
    event CapitalWithdrawn(uint256 indexed modelId, uint256 amount, uint256 free);
    /// @notice An applicant applied; the sealed application is at `applicationCid`;
    /// `coverage` and `term` are what it asks for.
    event PolicyApplied(
        uint256 indexed policyId,
        uint256 indexed modelId,
        address indexed holder,
        bytes32 applicationDigest,
        string applicationCid,
        uint256 coverage,
        uint32 term
    );
    /// @notice The insurer quoted a policy.
    event PolicyQuoted(
        uint256 indexed policyId,
        uint32 claimPpm,
        uint256 premium,
        uint256 coverageLimit,
        uint256 deductible,
        uint32 term,
        uint64 quoteExpires
    );
    /// @notice The insurer declined an application (the model's claim probability recorded).
    event PolicyDeclined(uint256 indexed policyId, uint32 claimPpm);
    /// @notice The holder bought the policy: premium paid, coverage limit reserved.
    event PolicyAccepted(
        uint256 indexed policyId,
        uint256 premium,
        uint256 reserved,
        uint64 startsAt,
        uint64 expiresAt
    );
    /// @notice The policy started: its premium is the insurer's (credited to its pending).
    event PremiumEarned(uint256 indexed policyId, uint256 amount);
    /// @notice The policy was cancelled by `by` (`refund`: premium back to the holder;
    /// `released`: reserve back to free capital).
    event PolicyCancelled(
        uint256 indexed policyId,
        address indexed by,
        uint256 refund,
        uint256 released
    );
    /// @notice The policy expired; what was left of its reserve is free capital again.
    event PolicyExpired(uint256 indexed policyId, uint256 released);
    /// @notice The holder filed a claim for `amount` (net of the deductible).
    event ClaimFiled(
        uint256 indexed claimId,
        uint256 indexed policyId,
        address indexed holder,
        uint256 amount,
        string evidenceCid
    );
    /// @notice The insurer approved the claim; `amount` is the holder's to withdraw.
    event ClaimApproved(uint256 indexed claimId, uint256 indexed policyId, uint256 amount);
    /// @notice The insurer denied the claim with `reason`.
    event ClaimDenied(uint256 indexed claimId, uint256 indexed policyId, uint16 reason);
    /// @notice Nobody answered within the claim window: `by` settled it and it was paid.
    event ClaimSettled(
        uint256 indexed claimId,
        uint256 indexed policyId,
        uint256 amount,
        address by
    );

    // ------------------------------------------------------------------ errors

    /// @notice Only the model's insurer may do this.
    error NotInsurer(address caller, address insurer);
    /// @notice Only the policy's holder may do this.
    error NotHolder(address caller, address holder);
    /// @notice Neither the holder nor (where allowed) the insurer of the policy.
    error NotParty(address caller, uint256 policyId);
    /// @notice No policy with this id.
    error UnknownPolicy(uint256 policyId);
    /// @notice No claim with this id.
    error UnknownClaim(uint256 claimId);
    /// @notice The policy is not in a status that allows this.
    error WrongStatus(uint256 policyId, PolicyStatus status);
    /// @notice The claim is not in a status that allows this.
    error WrongClaimStatus(uint256 claimId, ClaimStatus status);
    /// @notice A term outside 1..MAX_TERM seconds.
    error InvalidTerm(uint256 term);
    /// @notice The deductible is not below the coverage limit.
    error InvalidDeductible(uint256 deductible, uint256 coverageLimit);
    /// @notice The quote expired before it was accepted.
    error QuoteExpired(uint256 policyId, uint256 expires, uint256 timestamp);
    /// @notice The start is before now or more than `startWindow` after it.
    error InvalidStart(uint256 startsAt, uint256 earliest, uint256 latest);
    /// @notice The pool's free capital cannot back this (`needed` more than `free`).
    error InsufficientCapital(uint256 modelId, uint256 free, uint256 needed);
    /// @notice The policy already started (it can no longer be cancelled).
    error AlreadyStarted(uint256 policyId, uint256 startsAt);
    /// @notice The policy is not in force now (claims are filed from `startsAt` to `expiresAt`).
    error NotInForce(uint256 policyId, uint256 startsAt, uint256 expiresAt, uint256 timestamp);
    /// @notice The policy has not ended yet.
    error NotExpired(uint256 policyId, uint256 expiresAt, uint256 timestamp);
    /// @notice The policy has not started yet (its premium is still held).
    error NotStarted(uint256 policyId, uint256 startsAt, uint256 timestamp);
    /// @notice The premium was already earned.
    error PremiumAlreadyEarned(uint256 policyId);
    /// @notice The policy has a claim waiting for a decision.
    error ClaimOpen(uint256 policyId);
    /// @notice A claim above what the policy can pay (`max = min(limit - deductible, reserve)`).
    error ClaimTooLarge(uint256 amount, uint256 max);
    /// @notice The claim window is over: the claim can only be settled.
    error ClaimWindowClosed(uint256 claimId, uint256 deadline, uint256 timestamp);
    /// @notice The claim window is still open: the insurer may still decide.
    error ClaimWindowOpen(uint256 claimId, uint256 deadline, uint256 timestamp);
    /// @notice A denial needs a non-zero reason code.
    error MissingReason(uint256 claimId);

    /// @param repository_ The ModelRepository whose models are deployed here.
    /// @param quoteValidity_ Seconds a quote stays open (e.g. 7 days).
    /// @param startWindow_ Most seconds from acceptance to start (e.g. 30 days; 0: at once).
    /// @param claimWindow_ Seconds the insurer has to decide a claim (e.g. 14 days).
    constructor(
        address repository_,
        uint64 quoteValidity_,
        uint64 startWindow_,
        uint64 claimWindow_
    ) ProductBase(repository_) {
        if (quoteValidity_ == 0) revert ZeroParameter("quoteValidity");
        if (claimWindow_ == 0) revert ZeroParameter("claimWindow");
        quoteValidity = quoteValidity_;
        startWindow = startWindow_;
        claimWindow = claimWindow_;
    }

    // ------------------------------------------------------------------ insurer

    /// @notice Add `amount` to the free capital of a deployed model's pool (insurer only). In
    /// ether send it as `msg.value`; in a token approve this contract first (or see
    /// {depositCapitalWithPermit}).
    /// Emits a {CapitalDeposited} event.
    function depositCapital(uint256 modelId, uint128 amount) external payable {
        Deployment storage d = _deposit(modelId, amount);
        _take(_currency(d), msg.sender, amount);
    }

    /// @notice {depositCapital} in a token with the insurer's EIP-2612 permit for `amount`.
    /// Emits a {CapitalDeposited} event.
    function depositCapitalWithPermit(
        uint256 modelId,
        uint128 amount,
        Permit calldata p
    ) external payable {
        _takeWithPermit(_deposit(modelId, amount), amount, p);
    }

    /// @notice Move `amount` of free capital to the insurer's pending balance (then
    /// {withdraw}(currency)). Reserves are never touched.
    /// Emits a {CapitalWithdrawn} event.
    function withdrawCapital(uint256 modelId, uint128 amount) external {
        Deployment storage d = _deployment(modelId);
        if (msg.sender != d.deployer) revert NotInsurer(msg.sender, d.deployer);
        if (amount == 0) revert ZeroAmount();
        Pool storage pool = _pools[modelId];
        uint128 free = pool.free;
        if (amount > free) revert InsufficientCapital(modelId, free, amount);
        free -= amount;
        pool.free = free;
        _credit(msg.sender, _currency(d), amount);
        emit CapitalWithdrawn(modelId, amount, free);
    }

    /// @notice Quote an APPLIED policy.
    /// @param claimPpm The model's claim probability over the term, ppm.
    /// @param premium Price of the policy (> 0).
    /// @param coverageLimit Most the policy pays in total (> deductible); reserved at
    /// acceptance.
    /// @param deductible Part of each loss the holder bears (< coverageLimit).
    /// @param term Seconds of cover from the start, 1..MAX_TERM.
    /// Emits a {PolicyQuoted} event.
    function quote(
        uint256 policyId,
        uint32 claimPpm,
        uint128 premium,
        uint128 coverageLimit,
        uint128 deductible,
        uint32 term
    ) external {
        Policy storage p = _policyAs(policyId, PolicyStatus.APPLIED);
        _onlyInsurer(p);
        _checkProbability(claimPpm);
        if (premium == 0 || coverageLimit == 0) revert ZeroAmount();
        if (deductible >= coverageLimit) revert InvalidDeductible(deductible, coverageLimit);
        if (term == 0 || term > MAX_TERM) revert InvalidTerm(term);
        uint256 expires = block.timestamp + quoteValidity;
        if (expires > type(uint40).max) revert ValueTooLarge(expires, type(uint40).max);
        p.status = PolicyStatus.QUOTED;
        p.premium = premium;
        p.coverageLimit = coverageLimit;
        p.deductible = deductible;
        p.quoteExpires = uint40(expires);
        p.term = term;
        p.claimPpm = claimPpm;
        emit PolicyQuoted(
            policyId,
            claimPpm,
            premium,
            coverageLimit,
            deductible,
            term,
            uint64(expires)
        );
    }

    /// @notice Decline an APPLIED policy, recording the model's claim probability.
    /// Emits a {PolicyDeclined} event.
    function decline(uint256 policyId, uint32 claimPpm) external {
        Policy storage p = _policyAs(policyId, PolicyStatus.APPLIED);
        _onlyInsurer(p);
        _checkProbability(claimPpm);
        p.status = PolicyStatus.DECLINED;
        p.claimPpm = claimPpm;
        emit PolicyDeclined(policyId, claimPpm);
    }

    /// @notice Approve (pay from the policy's reserve) or deny (with a non-zero `reason`) a
    /// FILED claim, up to `filedAt + claimWindow` included (insurer only).
    /// Emits a {ClaimApproved} or {ClaimDenied} event.
    function decideClaim(uint256 claimId, bool approve, uint16 reason) external {
        Claim storage c = _claimAs(claimId);
        Policy storage p = _policies[c.policyId];
        Deployment storage d = _onlyInsurer(p);
        uint256 deadline = uint256(c.filedAt) + claimWindow;
        if (block.timestamp > deadline) {
            revert ClaimWindowClosed(claimId, deadline, block.timestamp);
        }
        if (approve) {
            c.status = ClaimStatus.APPROVED;
            _payClaim(d, p, c);
            emit ClaimApproved(claimId, c.policyId, c.amount);
        } else {
            if (reason == 0) revert MissingReason(claimId);
            c.status = ClaimStatus.DENIED;
            c.reason = reason;
            p.claimOpen = false;
            emit ClaimDenied(claimId, c.policyId, reason);
        }
    }

    // ------------------------------------------------------------------ applicant, holder

    /// @notice Apply for a policy from a deployed, active model.
    /// @param applicationDigest SHA-256 of the canonical plaintext application; once per
    /// model and applicant.
    /// @param applicationCid CID of the sealed application.
    /// @param coverage Coverage asked for (> 0; the quote may differ).
    /// @param term Seconds of cover asked for, 1..MAX_TERM (the quote may differ).
    /// @return policyId Id of the new policy (from 1, shared by all models).
    /// Emits a {PolicyApplied} event.
    function applyForPolicy(
        uint256 modelId,
        bytes32 applicationDigest,
        string calldata applicationCid,
        uint128 coverage,
        uint32 term
    ) external returns (uint256 policyId) {
        Deployment storage d = _activeDeployment(modelId);
        if (coverage == 0) revert ZeroAmount();
        if (term == 0 || term > MAX_TERM) revert InvalidTerm(term);
        policyId = ++_policyCount;
        _recordApplication(d, modelId, applicationDigest, applicationCid, policyId);
        Policy storage p = _policies[policyId];
        p.holder = msg.sender;
        p.modelId = uint32(modelId);
        p.appliedAt = uint40(block.timestamp);
        emit PolicyApplied(
            policyId,
            modelId,
            msg.sender,
            applicationDigest,
            applicationCid,
            coverage,
            term
        );
    }

    /// @notice Buy a QUOTED policy before its quote expires: pay the premium (in ether as
    /// `msg.value`; in a token after approving this contract, or see {acceptWithPermit});
    /// the coverage limit is reserved from the pool's free capital.
    /// @param startsAt When cover starts: 0 for now, else now..now + startWindow.
    /// Emits a {PolicyAccepted} event (and {PremiumEarned} when it starts now).
    function accept(uint256 policyId, uint64 startsAt) external payable {
        (Deployment storage d, uint256 premium) = _accept(policyId, startsAt);
        _take(_currency(d), msg.sender, premium);
    }

    /// @notice {accept} in a token with the holder's EIP-2612 permit for the premium.
    /// Emits a {PolicyAccepted} event (and {PremiumEarned} when it starts now).
    function acceptWithPermit(
        uint256 policyId,
        uint64 startsAt,
        Permit calldata permit
    ) external payable {
        (Deployment storage d, uint256 premium) = _accept(policyId, startsAt);
        _takeWithPermit(d, premium, permit);
    }

    /// @notice Cancel: the holder an APPLIED or QUOTED policy, or an ACTIVE one before it
    /// starts (premium back to its pending balance, reserve back to free capital); the
    /// insurer a QUOTED one (withdrawing its quote).
    /// Emits a {PolicyCancelled} event.
    function cancel(uint256 policyId) external {
        Policy storage p = _policy(policyId);
        PolicyStatus status = p.status;
        Deployment storage d = _deployments[p.modelId];
        uint256 refund;
        uint256 released;
        if (msg.sender == p.holder) {
            if (status == PolicyStatus.ACTIVE) {
                if (block.timestamp >= p.startsAt) revert AlreadyStarted(policyId, p.startsAt);
                refund = p.premium; // not earned before the start
                released = p.reserve;
                Pool storage pool = _pools[p.modelId];
                pool.premiumsHeld -= uint128(refund);
                pool.reserved -= uint128(released);
                pool.free += uint128(released);
                p.reserve = 0;
                _credit(msg.sender, _currency(d), refund);
            } else if (status != PolicyStatus.APPLIED && status != PolicyStatus.QUOTED) {
                revert WrongStatus(policyId, status);
            }
        } else if (msg.sender == d.deployer) {
            if (status != PolicyStatus.QUOTED) revert WrongStatus(policyId, status);
        } else {
            revert NotParty(msg.sender, policyId);
        }
        p.status = PolicyStatus.CANCELLED;
        emit PolicyCancelled(policyId, msg.sender, refund, released);
    }

    /// @notice File a claim on an ACTIVE policy in force (holder only; one open at a time).
    /// @param amount What the holder asks to be paid, net of the deductible: 0 < amount <=
    /// min(coverageLimit - deductible, reserve left).
    /// @param evidenceCid CID of the (sealed) evidence.
    /// @return claimId Id of the new claim (from 1, shared by all policies).
    /// Emits a {ClaimFiled} event.
    function fileClaim(
        uint256 policyId,
        uint128 amount,
        string calldata evidenceCid
    ) external returns (uint256 claimId) {
        Policy storage p = _policyAs(policyId, PolicyStatus.ACTIVE);
        if (msg.sender != p.holder) revert NotHolder(msg.sender, p.holder);
        uint256 startsAt = p.startsAt;
        uint256 expiresAt = startsAt + p.term;
        if (block.timestamp < startsAt || block.timestamp > expiresAt) {
            revert NotInForce(policyId, startsAt, expiresAt, block.timestamp);
        }
        if (p.claimOpen) revert ClaimOpen(policyId);
        if (amount == 0) revert ZeroAmount();
        if (bytes(evidenceCid).length == 0) revert EmptyCid();
        uint256 max = p.coverageLimit - p.deductible;
        uint256 reserve = p.reserve;
        if (reserve < max) max = reserve;
        if (amount > max) revert ClaimTooLarge(amount, max);
        claimId = ++_claimCount;
        p.claimOpen = true;
        p.claimCount += 1;
        Claim storage c = _claims[claimId];
        c.policyId = uint64(policyId);
        c.filedAt = uint40(block.timestamp);
        c.amount = amount;
        emit ClaimFiled(claimId, policyId, msg.sender, amount, evidenceCid);
    }

    // ------------------------------------------------------------------ anyone

    /// @notice Pay a FILED claim nobody decided within the claim window (anyone, from
    /// `filedAt + claimWindow + 1`): the insurer cannot stall.
    /// Emits a {ClaimSettled} event.
    function settleClaim(uint256 claimId) external {
        Claim storage c = _claimAs(claimId);
        uint256 deadline = uint256(c.filedAt) + claimWindow;
        if (block.timestamp <= deadline) revert ClaimWindowOpen(claimId, deadline, block.timestamp);
        Policy storage p = _policies[c.policyId];
        c.status = ClaimStatus.SETTLED;
        _payClaim(_deployments[p.modelId], p, c);
        emit ClaimSettled(claimId, c.policyId, c.amount, msg.sender);
    }

    /// @notice Credit a started policy's premium to the insurer (anyone, from `startsAt`).
    /// Emits a {PremiumEarned} event.
    function collectPremium(uint256 policyId) external {
        Policy storage p = _policyAs(policyId, PolicyStatus.ACTIVE);
        if (p.premiumEarned) revert PremiumAlreadyEarned(policyId);
        if (block.timestamp < p.startsAt) {
            revert NotStarted(policyId, p.startsAt, block.timestamp);
        }
        _earnPremium(policyId, p);
    }

    /// @notice End an ACTIVE policy after `expiresAt` with no claim open (anyone): what is
    /// left of its reserve becomes free capital, and its premium is earned if it was not.
    /// Emits a {PolicyExpired} event (and {PremiumEarned} if not earned before).
    function expire(uint256 policyId) external {
        Policy storage p = _policyAs(policyId, PolicyStatus.ACTIVE);
        uint256 expiresAt = uint256(p.startsAt) + p.term;
        if (block.timestamp <= expiresAt) revert NotExpired(policyId, expiresAt, block.timestamp);
        if (p.claimOpen) revert ClaimOpen(policyId);
        if (!p.premiumEarned) _earnPremium(policyId, p);
        uint128 released = p.reserve;
        Pool storage pool = _pools[p.modelId];
        pool.reserved -= released;
        pool.free += released;
        p.reserve = 0;
        p.status = PolicyStatus.EXPIRED;
        emit PolicyExpired(policyId, released);
    }

    // ------------------------------------------------------------------ views

    /// @notice Number of policies; ids run from 1 to this.
    function policyCount() external view returns (uint256) {
        return _policyCount;
    }

    /// @notice Number of claims; ids run from 1 to this.
    function claimCount() external view returns (uint256) {
        return _claimCount;
    }

    /// @notice The stored state of a policy.
    function getPolicy(uint256 policyId) external view returns (Policy memory) {
        return _policy(policyId);
    }

    /// @notice The stored state of a claim.
    function getClaim(uint256 claimId) external view returns (Claim memory) {
        return _claimOf(claimId);
    }

    /// @notice The capital pool of a model (all zero if it has none).
    function getPool(uint256 modelId) external view returns (Pool memory) {
        return _pools[modelId];
    }

    /// @notice When an ACTIVE policy's cover ends (`startsAt + term`; 0 before acceptance).
    function expiresAt(uint256 policyId) external view returns (uint256) {
        Policy storage p = _policy(policyId);
        return p.startsAt == 0 ? 0 : uint256(p.startsAt) + p.term;
    }

    /// @notice Whether an ACTIVE policy is in force now (a claim can be filed).
    function inForce(uint256 policyId) external view returns (bool) {
        Policy storage p = _policy(policyId);
        return
            p.status == PolicyStatus.ACTIVE &&
            block.timestamp >= p.startsAt &&
            block.timestamp <= uint256(p.startsAt) + p.term;
    }

    /// @notice The last second the insurer may decide a claim (`filedAt + claimWindow`).
    function claimDeadline(uint256 claimId) external view returns (uint256) {
        return uint256(_claimOf(claimId).filedAt) + claimWindow;
    }

    /// @notice Whether a policy with this coverage limit could be sold now from `modelId`'s
    /// pool (its free capital covers it).
    function canCover(uint256 modelId, uint256 coverageLimit) external view returns (bool) {
        return _pools[modelId].free >= coverageLimit;
    }

    // ------------------------------------------------------------------ internals

    function _revertNotDeployer(address caller, address deployer) internal pure override {
        revert NotInsurer(caller, deployer);
    }

    function _policy(uint256 policyId) private view returns (Policy storage p) {
        p = _policies[policyId];
        if (p.holder == address(0)) revert UnknownPolicy(policyId);
    }

    function _policyAs(uint256 policyId, PolicyStatus status) private view returns (Policy storage p) {
        p = _policy(policyId);
        if (p.status != status) revert WrongStatus(policyId, p.status);
    }

    function _claimOf(uint256 claimId) private view returns (Claim storage c) {
        c = _claims[claimId];
        if (c.policyId == 0) revert UnknownClaim(claimId);
    }

    /// A FILED claim.
    function _claimAs(uint256 claimId) private view returns (Claim storage c) {
        c = _claimOf(claimId);
        if (c.status != ClaimStatus.FILED) revert WrongClaimStatus(claimId, c.status);
    }

    function _onlyInsurer(Policy storage p) private view returns (Deployment storage d) {
        d = _deployments[p.modelId];
        if (msg.sender != d.deployer) revert NotInsurer(msg.sender, d.deployer);
    }

    /// Book a deposit of `amount` into `modelId`'s pool (the caller takes the money).
    function _deposit(uint256 modelId, uint128 amount) private returns (Deployment storage d) {
        d = _deployment(modelId);
        if (msg.sender != d.deployer) revert NotInsurer(msg.sender, d.deployer);
        if (amount == 0) revert ZeroAmount();
        Pool storage pool = _pools[modelId];
        uint256 free = uint256(pool.free) + amount;
        if (free + pool.reserved > type(uint128).max) {
            revert ValueTooLarge(free + pool.reserved, type(uint128).max);
        }
        pool.free = uint128(free);
        emit CapitalDeposited(modelId, amount, free);
    }

    /// Book the purchase of `policyId` starting at `startsAt` (see {accept}); returns the
    /// deployment and the premium (the caller takes the money).
    function _accept(
        uint256 policyId,
        uint64 startsAt
    ) private returns (Deployment storage d, uint256 premium) {
        Policy storage p = _policyAs(policyId, PolicyStatus.QUOTED);
        if (msg.sender != p.holder) revert NotHolder(msg.sender, p.holder);
        if (block.timestamp > p.quoteExpires) {
            revert QuoteExpired(policyId, p.quoteExpires, block.timestamp);
        }
        uint256 start = startsAt == 0 ? block.timestamp : startsAt;
        uint256 latest = block.timestamp + startWindow;
        if (start < block.timestamp || start > latest) {
            revert InvalidStart(start, block.timestamp, latest);
        }
        if (start + p.term > type(uint40).max) {
            revert ValueTooLarge(start + p.term, type(uint40).max);
        }
        uint256 modelId = p.modelId;
        Pool storage pool = _pools[modelId];
        uint128 limit = p.coverageLimit;
        uint128 free = pool.free;
        if (free < limit) revert InsufficientCapital(modelId, free, limit);
        pool.free = free - limit;
        pool.reserved += limit;
        p.reserve = limit;
        p.status = PolicyStatus.ACTIVE;
        p.acceptedAt = uint40(block.timestamp);
        p.startsAt = uint40(start);
        premium = p.premium;
        d = _deployments[modelId];
        emit PolicyAccepted(policyId, premium, limit, uint64(start), uint64(start + p.term));
        if (start == block.timestamp) {
            p.premiumEarned = true;
            _credit(d.deployer, _currency(d), premium);
            emit PremiumEarned(policyId, premium);
        } else {
            pool.premiumsHeld += uint128(premium);
        }
    }

    /// Move a started policy's held premium to the insurer's pending balance.
    function _earnPremium(uint256 policyId, Policy storage p) private {
        uint128 premium = p.premium;
        p.premiumEarned = true;
        _pools[p.modelId].premiumsHeld -= premium;
        Deployment storage d = _deployments[p.modelId];
        _credit(d.deployer, _currency(d), premium);
        emit PremiumEarned(policyId, premium);
    }

    /// Pay claim `c` of policy `p` from its reserve to the holder's pending balance.
    function _payClaim(Deployment storage d, Policy storage p, Claim storage c) private {
        uint128 amount = c.amount;
        p.reserve -= amount; // never short: amount <= reserve at filing, unchanged since
        p.claimsPaid += amount;
        p.claimOpen = false;
        _pools[p.modelId].reserved -= amount;
        _credit(p.holder, _currency(d), amount);
    }
}
