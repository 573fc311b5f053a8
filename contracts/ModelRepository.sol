// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import "./ReentrancyGuard.sol";

/// @title ModelRepository: bounty escrow and official state of Hessian's encrypted credit models
/// @notice A lender posts a training task with a bounty; data owners submit encrypted updates
/// (stored off-chain on IPFS, referenced by CID); the lender evaluates them on its private
/// hold-out set and the contract pays the owners from the escrowed bounty.
///
/// Units: scores are integers in parts per million (0.731 AUC == 731000); amounts in wei.
///
/// Reward mechanisms, all O(1) gas per call (there is no loop over owners anywhere):
/// - IMPROVEMENT: an accepted update that raises the best score so far from `s` to `s'` earns
///   `bounty * (s' - s) / (targetScore - initialScore)`, capped by what remains.
/// - EQUAL: when the model is finalised, what remains becomes a pool; each accepted submission
///   claims `pool / acceptedCount`.
/// - PRO_RATA_ROWS: as EQUAL, but each accepted submission claims `pool * rows / acceptedRows`.
///   In both, the last claim takes the rounding dust, so the pool is paid out exactly.
///
/// Life cycle of a model: OPEN -> CLOSED (at the target score, after the deadline by anyone, or
/// early by the lender) -> finalised (closed and no submission waiting; EQUAL/PRO_RATA shares
/// are fixed then) -> the lender reclaims what was not allotted.
///
/// Stalling: a submission WAITING longer than `evaluationWindow` is stale. The lender may still
/// evaluate it, but anyone may instead settle it with {settleStale}: its deposit is refunded and
/// its owner is paid from the bounty (IMPROVEMENT: `remaining / waitingCount`, an equal split of
/// what remains among the submissions waiting; EQUAL/PRO_RATA_ROWS: it counts as accepted and
/// shares the pool). A closed model cannot be finalised, so the bounty cannot be reclaimed,
/// while any submission waits: a lender never gains by not evaluating.
///
/// Anti-spam deposit: each submission sends exactly `submissionDeposit`. It is refunded to the
/// owner when the submission is accepted or settled as stale. When the lender rejects it, the
/// deposit is forfeited and locked in this contract for ever (burned): it goes neither to the
/// lender (who must not profit from rejecting) nor back to the spammer.
///
/// CIDs are not kept in storage (a CID string costs 3 storage slots): they are emitted in events
/// ({ModelCreated}, {UpdateSubmitted}, {UpdateEvaluated}, {TestSetRevealed}) that the Python
/// wrapper reads back; storage keeps the id of the event's subject (e.g. `lastAcceptedUpdateId`
/// points to the {UpdateEvaluated} event carrying the current model CID).
///
/// Test-set commitment: `keccak256(abi.encodePacked(testSetCid, salt))` with `testSetCid` the
/// CID string and `salt` 32 random bytes (see {testSetCommitmentOf}).
///
/// Escrow invariant, per model: `paid + owed + remaining + reclaimed == bounty`, where `paid` is
/// credited to owners, `owed = pool - claimed` is fixed shares not yet claimed and `reclaimed` is
/// credited back to the lender. Deposits: `submissionCount * submissionDeposit` == held (waiting)
/// + refunded + forfeited. See {escrowOf}.
contract ModelRepository is ReentrancyGuard {
    // ------------------------------------------------------------------ types

    /// @notice Score metric the lender evaluates with.
    enum Metric {
        AUC,
        ACCURACY
    }

    /// @notice How the bounty is paid out.
    enum Mechanism {
        IMPROVEMENT,
        EQUAL,
        PRO_RATA_ROWS
    }

    /// @notice State of a submission.
    enum Status {
        WAITING,
        ACCEPTED,
        REJECTED
    }

    /// @notice State of a model.
    enum ModelStatus {
        OPEN,
        CLOSED
    }

    /// @notice Why a model closed.
    enum CloseReason {
        TARGET_REACHED,
        DEADLINE_PASSED,
        CLOSED_BY_LENDER
    }

    /// @notice The stored state of a model (CIDs are in events, see the contract notice).
    struct Model {
        // slot 0
        address lender;
        Metric metric;
        Mechanism mechanism;
        ModelStatus status;
        bool finalized;
        bool revealed;
        uint32 initialScore;
        // slot 1
        uint32 targetScore;
        uint32 currentScore;
        uint40 deadline;
        uint32 evaluationWindow;
        uint32 submissionCount;
        uint32 waitingCount;
        uint32 acceptedCount;
        // slot 2
        uint128 remaining;
        uint128 paid;
        // slot 3
        uint128 bounty;
        uint96 submissionDeposit;
        uint32 claimedCount;
        // slot 4
        uint128 pool;
        uint128 claimed;
        // slot 5
        uint64 acceptedRows;
        uint32 lastAcceptedUpdateId;
        uint32 rejectedCount;
        uint128 reclaimed;
        // slot 6
        bytes32 testSetCommitment;
    }

    /// @notice The stored state of a submission (its CID and dataset digest are in events).
    struct Submission {
        // slot 0
        address owner;
        uint32 modelId;
        uint40 submittedAt;
        Status status;
        bool stale;
        bool claimed;
        // slot 1
        uint64 rows;
        uint32 newScore;
        uint128 reward;
    }

    // ------------------------------------------------------------------ constants

    /// @notice One in parts per million: the largest valid score.
    uint32 public constant PPM = 1_000_000;


    // ------------------------------------------------------------------ storage

    uint32 private _modelCount;
    uint32 private _submissionCount;
    mapping(uint256 => Model) private _models;
    mapping(uint256 => Submission) private _submissions;
    /// model id => dataset digest => id of the submission that used it (0: never used)
    mapping(uint256 => mapping(bytes32 => uint256)) private _digestUsedBy;
    mapping(address => uint256) private _pending;

    // ------------------------------------------------------------------ events

    /// @notice A lender created a model and escrowed `bounty`.
    event ModelCreated(
        uint256 indexed modelId,
        address indexed lender,
        string specCid,
        Metric metric,
        Mechanism mechanism,
        uint32 initialScore,
        uint32 targetScore,
        uint64 deadline,
        uint32 evaluationWindow,
        uint256 submissionDeposit,
        uint256 bounty,
        bytes32 testSetCommitment
    );

    /// @notice A data owner submitted an encrypted update.
    event UpdateSubmitted(
        uint256 indexed modelId,
        uint256 indexed updateId,
        address indexed owner,
        string updateCid,
        bytes32 datasetDigest,
        uint64 rows
    );

    /// @notice The lender evaluated a submission; `reward` was credited now (IMPROVEMENT only).
    event UpdateEvaluated(
        uint256 indexed modelId,
        uint256 indexed updateId,
        address indexed owner,
        bool accepted,
        uint32 newScore,
        string newModelCid,
        uint256 reward
    );

    /// @notice A stale submission was settled by `settler`; `reward` was credited now.
    event StaleSettled(
        uint256 indexed modelId,
        uint256 indexed updateId,
        address indexed owner,
        address settler,
        uint256 reward
    );

    /// @notice A model closed to new submissions.
    event ModelClosed(uint256 indexed modelId, CloseReason reason, uint32 score);

    /// @notice A closed model has no submission waiting: shares are fixed (`pool` may be 0).
    event ModelFinalized(uint256 indexed modelId, uint256 pool, uint32 acceptedCount, uint64 rows);

    /// @notice An accepted submission's share of the pool was credited to its owner.
    event ShareClaimed(
        uint256 indexed modelId,
        uint256 indexed updateId,
        address indexed owner,
        uint256 amount
    );

    /// @notice What remained of the bounty was credited back to the lender.
    event BountyReclaimed(uint256 indexed modelId, address indexed lender, uint256 amount);

    /// @notice The lender revealed the committed test set.
    event TestSetRevealed(uint256 indexed modelId, string testSetCid, bytes32 salt);

    /// @notice `account` withdrew its pending balance.
    event Withdrawn(address indexed account, uint256 amount);

    // ------------------------------------------------------------------ errors

    /// @notice A score is above one million ppm.
    error ScoreOutOfRange(uint256 score);
    /// @notice The target score is not above the initial score.
    error InvalidScores(uint256 initialScore, uint256 targetScore);
    /// @notice The deadline is not in the future.
    error DeadlineInPast(uint256 deadline, uint256 timestamp);
    /// @notice A model needs a bounty.
    error ZeroBounty();
    /// @notice A model needs a non-zero evaluation window.
    error ZeroEvaluationWindow();
    /// @notice A CID argument is empty.
    error EmptyCid();
    /// @notice An amount or count does not fit in its storage field.
    error ValueTooLarge(uint256 value, uint256 max);
    /// @notice No model with this id.
    error UnknownModel(uint256 modelId);
    /// @notice No submission with this id.
    error UnknownSubmission(uint256 updateId);
    /// @notice The model no longer takes submissions.
    error ModelNotOpen(uint256 modelId);
    /// @notice The model is still open.
    error ModelStillOpen(uint256 modelId);
    /// @notice Submissions are no longer accepted after the deadline.
    error DeadlinePassed(uint256 modelId, uint256 deadline, uint256 timestamp);
    /// @notice Only the lender may close before the deadline.
    error DeadlineNotReached(uint256 modelId, uint256 deadline, uint256 timestamp);
    /// @notice The value sent is not the model's submission deposit.
    error WrongDeposit(uint256 sent, uint256 required);
    /// @notice This dataset digest was already submitted to this model (replay).
    error DigestAlreadySubmitted(uint256 modelId, bytes32 datasetDigest, uint256 updateId);
    /// @notice A submission must cover at least one row.
    error ZeroRows();
    /// @notice Only the model's lender may do this.
    error NotLender(address caller, address lender);
    /// @notice The submission was already evaluated or settled.
    error NotWaiting(uint256 updateId, Status status);
    /// @notice The submission has not waited longer than the evaluation window yet.
    error NotStale(uint256 updateId, uint256 staleAfter, uint256 timestamp);
    /// @notice Submissions are still waiting for an evaluation.
    error SubmissionsWaiting(uint256 modelId, uint256 waitingCount);
    /// @notice The model's mechanism has no shares to claim.
    error NoShares(uint256 modelId, Mechanism mechanism);
    /// @notice Only accepted submissions earn a share.
    error NotAccepted(uint256 updateId, Status status);
    /// @notice The share of this submission was already claimed.
    error AlreadyClaimed(uint256 updateId);
    /// @notice Nothing remains to reclaim.
    error NothingToReclaim(uint256 modelId);
    /// @notice The test set was already revealed.
    error AlreadyRevealed(uint256 modelId);
    /// @notice `keccak256(abi.encodePacked(testSetCid, salt))` is not the model's commitment.
    error CommitmentMismatch(uint256 modelId, bytes32 expected, bytes32 actual);
    /// @notice No pending balance.
    error NothingToWithdraw(address account);
    /// @notice Sending ether failed.
    error TransferFailed(address to, uint256 amount);

    // ------------------------------------------------------------------ lender

    /// @notice Create a model and escrow the bounty sent with the call.
    /// @param specCid CID of the model spec (schema, preprocessing, public key, enc(w), rule).
    /// @param metric Score metric the lender evaluates with.
    /// @param initialScore Score of the initial model on the hold-out set, ppm.
    /// @param targetScore Score at which the model closes, ppm; above `initialScore`.
    /// @param mechanism How the bounty is paid out.
    /// @param deadline Unix time after which no submission is taken and anyone may close.
    /// @param evaluationWindow Seconds the lender has to evaluate a submission before it is stale.
    /// @param submissionDeposit Wei each submission must send (0: none).
    /// @param testSetCommitment `keccak256(abi.encodePacked(testSetCid, salt))`.
    /// @return modelId Id of the new model (from 1).
    /// Emits a {ModelCreated} event.
    function createModel(
        string calldata specCid,
        Metric metric,
        uint32 initialScore,
        uint32 targetScore,
        Mechanism mechanism,
        uint64 deadline,
        uint32 evaluationWindow,
        uint96 submissionDeposit,
        bytes32 testSetCommitment
    ) external payable returns (uint256 modelId) {
        if (bytes(specCid).length == 0) revert EmptyCid();
        if (targetScore > PPM) revert ScoreOutOfRange(targetScore);
        if (targetScore <= initialScore) revert InvalidScores(initialScore, targetScore);
        if (deadline <= block.timestamp) revert DeadlineInPast(deadline, block.timestamp);
        if (deadline > type(uint40).max) revert ValueTooLarge(deadline, type(uint40).max);
        if (evaluationWindow == 0) revert ZeroEvaluationWindow();
        if (msg.value == 0) revert ZeroBounty();
        if (msg.value > type(uint128).max) revert ValueTooLarge(msg.value, type(uint128).max);
        if (_modelCount == type(uint32).max) revert ValueTooLarge(_modelCount, type(uint32).max);

        modelId = ++_modelCount;
        Model storage m = _models[modelId];
        m.lender = msg.sender;
        m.metric = metric;
        m.mechanism = mechanism;
        m.initialScore = initialScore;
        m.targetScore = targetScore;
        m.currentScore = initialScore;
        m.deadline = uint40(deadline);
        m.evaluationWindow = evaluationWindow;
        m.remaining = uint128(msg.value);
        m.bounty = uint128(msg.value);
        m.submissionDeposit = submissionDeposit;
        m.testSetCommitment = testSetCommitment;
        emit ModelCreated(
            modelId,
            msg.sender,
            specCid,
            metric,
            mechanism,
            initialScore,
            targetScore,
            deadline,
            evaluationWindow,
            submissionDeposit,
            msg.value,
            testSetCommitment
        );
    }

    /// @notice Record the lender's evaluation of a waiting submission and pay by mechanism.
    /// @dev Allowed after close and after the evaluation window, as long as nobody settled the
    /// submission. Accepted: deposit refunded; IMPROVEMENT pays for the gain over the best
    /// score so far; reaching the target closes the model. Rejected: deposit forfeited.
    /// @param updateId The submission.
    /// @param accepted Whether the update is kept.
    /// @param newScore Score of the updated model on the hold-out set, ppm.
    /// @param newModelCid CID of the new encrypted model (may be empty when rejected).
    /// Emits an {UpdateEvaluated} event, and {ModelClosed}/{ModelFinalized} when they happen.
    function evaluateUpdate(
        uint256 updateId,
        bool accepted,
        uint32 newScore,
        string calldata newModelCid
    ) external {
        Submission storage s = _waitingSubmission(updateId);
        uint256 modelId = s.modelId;
        Model storage m = _models[modelId];
        if (msg.sender != m.lender) revert NotLender(msg.sender, m.lender);
        if (newScore > PPM) revert ScoreOutOfRange(newScore);
        if (accepted && bytes(newModelCid).length == 0) revert EmptyCid();

        address owner = s.owner;
        uint256 reward;
        uint256 credit;
        m.waitingCount -= 1;
        s.newScore = newScore;
        if (accepted) {
            s.status = Status.ACCEPTED;
            m.acceptedCount += 1;
            m.acceptedRows += s.rows;
            m.lastAcceptedUpdateId = uint32(updateId);
            uint32 best = m.currentScore;
            if (newScore > best) {
                m.currentScore = newScore;
                if (m.mechanism == Mechanism.IMPROVEMENT) {
                    reward =
                        (uint256(m.bounty) * (newScore - best)) /
                        (m.targetScore - m.initialScore);
                    if (reward > m.remaining) reward = m.remaining;
                    if (reward > 0) {
                        m.remaining -= uint128(reward);
                        m.paid += uint128(reward);
                        s.reward = uint128(reward);
                    }
                }
            }
            credit = reward + m.submissionDeposit;
            if (credit > 0) _pending[owner] += credit;
        } else {
            s.status = Status.REJECTED;
            m.rejectedCount += 1;
        }
        emit UpdateEvaluated(modelId, updateId, owner, accepted, newScore, newModelCid, reward);

        if (m.status == ModelStatus.OPEN) {
            if (accepted && newScore >= m.targetScore) {
                _close(modelId, m, CloseReason.TARGET_REACHED);
            }
        } else if (m.waitingCount == 0) {
            _finalize(modelId, m);
        }
    }

    /// @notice Close a model to new submissions: by anyone after the deadline, or by the lender
    /// at any time. Shares are fixed as soon as no submission is waiting.
    /// @param modelId The model.
    /// Emits a {ModelClosed} event, and {ModelFinalized} if nothing is waiting.
    function closeModel(uint256 modelId) external {
        Model storage m = _model(modelId);
        if (m.status != ModelStatus.OPEN) revert ModelNotOpen(modelId);
        CloseReason reason;
        if (block.timestamp > m.deadline) {
            reason = CloseReason.DEADLINE_PASSED;
        } else if (msg.sender == m.lender) {
            reason = CloseReason.CLOSED_BY_LENDER;
        } else {
            revert DeadlineNotReached(modelId, m.deadline, block.timestamp);
        }
        _close(modelId, m, reason);
    }

    /// @notice Credit what remains of the bounty back to the lender (withdraw it afterwards).
    /// @dev Only once the model is closed and finalised, i.e. no submission is waiting (stale
    /// ones must be evaluated or settled first).
    /// @param modelId The model.
    /// Emits a {BountyReclaimed} event.
    function reclaim(uint256 modelId) external {
        Model storage m = _model(modelId);
        if (msg.sender != m.lender) revert NotLender(msg.sender, m.lender);
        if (m.status == ModelStatus.OPEN) revert ModelStillOpen(modelId);
        if (!m.finalized) revert SubmissionsWaiting(modelId, m.waitingCount);
        uint256 amount = m.remaining;
        if (amount == 0) revert NothingToReclaim(modelId);
        m.remaining = 0;
        m.reclaimed += uint128(amount);
        _pending[msg.sender] += amount;
        emit BountyReclaimed(modelId, msg.sender, amount);
    }

    /// @notice Reveal the committed test set so anyone can audit the recorded scores.
    /// @param modelId The model; it must be closed.
    /// @param testSetCid CID of the hold-out set.
    /// @param salt The 32 bytes used in the commitment.
    /// Emits a {TestSetRevealed} event.
    function revealTestSet(uint256 modelId, string calldata testSetCid, bytes32 salt) external {
        Model storage m = _model(modelId);
        if (msg.sender != m.lender) revert NotLender(msg.sender, m.lender);
        if (m.status == ModelStatus.OPEN) revert ModelStillOpen(modelId);
        if (m.revealed) revert AlreadyRevealed(modelId);
        bytes32 actual = testSetCommitmentOf(testSetCid, salt);
        if (actual != m.testSetCommitment) {
            revert CommitmentMismatch(modelId, m.testSetCommitment, actual);
        }
        m.revealed = true;
        emit TestSetRevealed(modelId, testSetCid, salt);
    }

    // ------------------------------------------------------------------ data owners

    /// @notice Submit an encrypted update, sending exactly the model's submission deposit.
    /// @param modelId The model.
    /// @param updateCid CID of the update blob.
    /// @param datasetDigest Digest of the owner's dataset; each digest once per model.
    /// @param rows Number of rows the update was computed from (> 0).
    /// @return updateId Id of the new submission (from 1, shared by all models).
    /// Emits an {UpdateSubmitted} event.
    function submitUpdate(
        uint256 modelId,
        string calldata updateCid,
        bytes32 datasetDigest,
        uint64 rows
    ) external payable returns (uint256 updateId) {
        Model storage m = _model(modelId);
        if (m.status != ModelStatus.OPEN) revert ModelNotOpen(modelId);
        if (block.timestamp > m.deadline) {
            revert DeadlinePassed(modelId, m.deadline, block.timestamp);
        }
        if (msg.value != m.submissionDeposit) revert WrongDeposit(msg.value, m.submissionDeposit);
        if (bytes(updateCid).length == 0) revert EmptyCid();
        if (rows == 0) revert ZeroRows();
        uint256 usedBy = _digestUsedBy[modelId][datasetDigest];
        if (usedBy != 0) revert DigestAlreadySubmitted(modelId, datasetDigest, usedBy);
        if (_submissionCount == type(uint32).max) {
            revert ValueTooLarge(_submissionCount, type(uint32).max);
        }

        updateId = ++_submissionCount;
        _digestUsedBy[modelId][datasetDigest] = updateId;
        m.submissionCount += 1;
        m.waitingCount += 1;
        _submissions[updateId] = Submission({
            owner: msg.sender,
            modelId: uint32(modelId),
            submittedAt: uint40(block.timestamp),
            status: Status.WAITING,
            stale: false,
            claimed: false,
            rows: rows,
            newScore: 0,
            reward: 0
        });
        emit UpdateSubmitted(modelId, updateId, msg.sender, updateCid, datasetDigest, rows);
    }

    /// @notice Settle a submission the lender left waiting longer than the evaluation window.
    /// @dev Anyone may call. The deposit is refunded. IMPROVEMENT: the owner is credited
    /// `remaining / waitingCount` now. EQUAL/PRO_RATA_ROWS: the submission counts as accepted
    /// and shares the pool when the model is finalised.
    /// @param updateId The stale submission.
    /// Emits a {StaleSettled} event, and {ModelFinalized} if it was the last one waiting.
    function settleStale(uint256 updateId) external {
        Submission storage s = _waitingSubmission(updateId);
        uint256 modelId = s.modelId;
        Model storage m = _models[modelId];
        uint256 staleAfter = uint256(s.submittedAt) + m.evaluationWindow;
        if (block.timestamp <= staleAfter) revert NotStale(updateId, staleAfter, block.timestamp);

        address owner = s.owner;
        uint256 reward;
        if (m.mechanism == Mechanism.IMPROVEMENT) {
            reward = m.remaining / m.waitingCount;
            m.remaining -= uint128(reward);
            m.paid += uint128(reward);
            s.reward = uint128(reward);
        }
        m.waitingCount -= 1;
        m.acceptedCount += 1;
        m.acceptedRows += s.rows;
        s.status = Status.ACCEPTED;
        s.stale = true;
        uint256 credit = reward + m.submissionDeposit;
        if (credit > 0) _pending[owner] += credit;
        emit StaleSettled(modelId, updateId, owner, msg.sender, reward);

        if (m.status == ModelStatus.CLOSED && m.waitingCount == 0) _finalize(modelId, m);
    }

    /// @notice Credit an accepted submission's share of an EQUAL or PRO_RATA_ROWS pool to its
    /// owner (anyone may call; the owner withdraws).
    /// @param updateId The accepted submission.
    /// Emits a {ShareClaimed} event.
    function claimShare(uint256 updateId) external {
        Submission storage s = _submission(updateId);
        uint256 modelId = s.modelId;
        Model storage m = _models[modelId];
        if (m.mechanism == Mechanism.IMPROVEMENT) revert NoShares(modelId, m.mechanism);
        if (s.status != Status.ACCEPTED) revert NotAccepted(updateId, s.status);
        if (!m.finalized) {
            if (m.status == ModelStatus.OPEN) revert ModelStillOpen(modelId);
            revert SubmissionsWaiting(modelId, m.waitingCount);
        }
        if (s.claimed) revert AlreadyClaimed(updateId);

        uint256 amount = _shareOf(m, s);
        s.claimed = true;
        s.reward = uint128(amount);
        m.claimedCount += 1;
        m.claimed += uint128(amount);
        if (amount > 0) _pending[s.owner] += amount;
        emit ShareClaimed(modelId, updateId, s.owner, amount);
    }

    // ------------------------------------------------------------------ everyone

    /// @notice Send the caller its pending balance (rewards, refunds, reclaimed bounty).
    /// @dev Checks-effects-interactions and a reentrancy guard.
    /// Emits a {Withdrawn} event.
    function withdraw() external nonReentrant {
        uint256 amount = _pending[msg.sender];
        if (amount == 0) revert NothingToWithdraw(msg.sender);
        _pending[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok, ) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert TransferFailed(msg.sender, amount);
    }

    // ------------------------------------------------------------------ views

    /// @notice Number of models; ids run from 1 to this.
    function modelCount() external view returns (uint256) {
        return _modelCount;
    }

    /// @notice Number of submissions (all models); ids run from 1 to this.
    function submissionCount() external view returns (uint256) {
        return _submissionCount;
    }

    /// @notice The stored state of a model.
    function getModel(uint256 modelId) external view returns (Model memory) {
        return _model(modelId);
    }

    /// @notice The stored state of a submission.
    function getSubmission(uint256 updateId) external view returns (Submission memory) {
        return _submission(updateId);
    }

    /// @notice Ids of a model's submissions among ids `fromId .. fromId + maxScan - 1`.
    /// @dev A view for off-chain listing (no transaction loops); page with `nextId`.
    /// @return ids The model's submission ids in that range.
    /// @return nextId Where to continue (past the last submission: done).
    function submissionsOf(
        uint256 modelId,
        uint256 fromId,
        uint256 maxScan
    ) external view returns (uint256[] memory ids, uint256 nextId) {
        _model(modelId);
        if (fromId == 0) fromId = 1;
        uint256 end = fromId + maxScan;
        if (end > uint256(_submissionCount) + 1) end = uint256(_submissionCount) + 1;
        uint256[] memory found = new uint256[](end > fromId ? end - fromId : 0);
        uint256 n;
        for (uint256 id = fromId; id < end; ++id) {
            if (_submissions[id].modelId == modelId) found[n++] = id;
        }
        assembly {
            mstore(found, n)
        }
        return (found, end);
    }

    /// @notice Id of the submission that used `datasetDigest` for `modelId` (0: unused).
    function digestUsedBy(uint256 modelId, bytes32 datasetDigest) external view returns (uint256) {
        return _digestUsedBy[modelId][datasetDigest];
    }

    /// @notice Balance `account` can withdraw.
    function pendingOf(address account) external view returns (uint256) {
        return _pending[account];
    }

    /// @notice Whether a waiting submission can be settled with {settleStale} now.
    function isStale(uint256 updateId) external view returns (bool) {
        Submission storage s = _submission(updateId);
        return
            s.status == Status.WAITING &&
            block.timestamp > uint256(s.submittedAt) + _models[s.modelId].evaluationWindow;
    }

    /// @notice What {claimShare} would credit for `updateId` now (0 if nothing).
    function shareOf(uint256 updateId) external view returns (uint256) {
        Submission storage s = _submission(updateId);
        Model storage m = _models[s.modelId];
        if (
            m.mechanism == Mechanism.IMPROVEMENT ||
            !m.finalized ||
            s.status != Status.ACCEPTED ||
            s.claimed
        ) return 0;
        return _shareOf(m, s);
    }

    /// @notice Escrow accounting of a model: `paid + owed + remaining + reclaimed == bounty`.
    /// @return bounty Wei deposited by the lender.
    /// @return paid Credited to owners as IMPROVEMENT rewards, stale settlements or shares.
    /// @return owed Fixed shares not yet claimed.
    /// @return remaining Not yet allotted.
    /// @return reclaimed Credited back to the lender.
    /// @return depositsHeld Deposits of submissions still waiting.
    /// @return depositsForfeited Deposits of rejected submissions, locked for ever.
    function escrowOf(
        uint256 modelId
    )
        external
        view
        returns (
            uint256 bounty,
            uint256 paid,
            uint256 owed,
            uint256 remaining,
            uint256 reclaimed,
            uint256 depositsHeld,
            uint256 depositsForfeited
        )
    {
        Model storage m = _model(modelId);
        bounty = m.bounty;
        paid = uint256(m.paid) + m.claimed;
        owed = uint256(m.pool) - m.claimed;
        remaining = m.remaining;
        reclaimed = m.reclaimed;
        depositsHeld = uint256(m.waitingCount) * m.submissionDeposit;
        depositsForfeited = uint256(m.rejectedCount) * m.submissionDeposit;
    }

    /// @notice The test-set commitment: `keccak256(abi.encodePacked(testSetCid, salt))`.
    function testSetCommitmentOf(
        string calldata testSetCid,
        bytes32 salt
    ) public pure returns (bytes32) {
        return keccak256(abi.encodePacked(testSetCid, salt));
    }

    // ------------------------------------------------------------------ internals

    function _model(uint256 modelId) private view returns (Model storage m) {
        m = _models[modelId];
        if (m.lender == address(0)) revert UnknownModel(modelId);
    }

    function _submission(uint256 updateId) private view returns (Submission storage s) {
        s = _submissions[updateId];
        if (s.owner == address(0)) revert UnknownSubmission(updateId);
    }

    function _waitingSubmission(uint256 updateId) private view returns (Submission storage s) {
        s = _submission(updateId);
        if (s.status != Status.WAITING) revert NotWaiting(updateId, s.status);
    }

    /// EQUAL: pool / acceptedCount; PRO_RATA_ROWS: pool * rows / acceptedRows; the last claim
    /// takes pool - claimed, so rounding dust is paid too.
    function _shareOf(Model storage m, Submission storage s) private view returns (uint256) {
        if (m.claimedCount + 1 == m.acceptedCount) return uint256(m.pool) - m.claimed;
        if (m.mechanism == Mechanism.EQUAL) return uint256(m.pool) / m.acceptedCount;
        return (uint256(m.pool) * s.rows) / m.acceptedRows;
    }

    function _close(uint256 modelId, Model storage m, CloseReason reason) private {
        m.status = ModelStatus.CLOSED;
        emit ModelClosed(modelId, reason, m.currentScore);
        if (m.waitingCount == 0) _finalize(modelId, m);
    }

    /// Fix the shares: for EQUAL/PRO_RATA_ROWS with accepted submissions, all that remains
    /// becomes the pool. Called once, when a closed model has nothing waiting.
    function _finalize(uint256 modelId, Model storage m) private {
        m.finalized = true;
        uint256 pool;
        if (m.mechanism != Mechanism.IMPROVEMENT && m.acceptedCount > 0) {
            pool = m.remaining;
            m.pool = uint128(pool);
            m.remaining = 0;
        }
        emit ModelFinalized(modelId, pool, m.acceptedCount, m.acceptedRows);
    }
}
