// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import "./Payments.sol";

/// @title ModelRepository: bounty escrow and official state of Hessian's encrypted credit models
/// @notice A lender posts a training task with a bounty; data owners submit encrypted updates
/// (stored off-chain on IPFS, referenced by CID); the lender evaluates them on its private
/// hold-out set, in the order they were submitted, and the contract pays the owners from the
/// escrowed bounty. After the model closes the lender must reveal its committed test set and a
/// decryption transcript before a deadline fixed at creation; a lender that does not is never
/// paid back: what remains goes to the owners who submitted.
///
/// Units: scores are integers in parts per million (0.731 AUC == 731000); amounts in base
/// units of the model's currency (wei for ether; a token's smallest unit, whatever its
/// decimals: nothing here assumes 18).
///
/// Currency: each model names its own at {createModel}: `address(0)` for ether, else an ERC-20
/// token. Its bounty, deposits, rewards, stale reserves, shares, forfeit shares and reclaim are
/// all in that currency, credited to pending balances per (account, currency) and pulled with
/// {Payments-withdraw}(currency). We chose one contract for every currency over one deployment
/// per currency: one address to audit, record and index, one queue of models for the apps to
/// list, and an owner's rewards from several lenders in one place, while the price is small:
/// the currency address is packed with `remaining` in a slot every paying path reads anyway,
/// so the ether paths pay no extra storage read for it. The risk of sharing a contract with a
/// bad token is contained by construction: tokens move only in {createModel} / {submitUpdate}
/// (pulled in, the balance change measured: fee-on-transfer and rebasing tokens are refused
/// with {Payments-ShortTransfer}) and in {Payments-withdraw} (pulled out, one currency per
/// call, reentrancy-guarded); evaluations, settlements, claims and reclaims only move
/// accounting, so a token that reverts, lies or re-enters cannot stall another model's queue
/// or touch a balance in another currency. Permits: {createModelWithPermit} and
/// {submitUpdateWithPermit} take an EIP-2612 signature and pull in the same transaction; a
/// permit someone else submitted first is ignored and the allowance decides (see
/// {Payments-_permit}); a token without permit needs an `approve` first.
///
/// Reward mechanisms, all O(1) gas per call (there is no loop over owners anywhere). A
/// submission is *paid* when it is accepted and raises the best score so far `s` to `s'` with
/// a gain `s' - s >= max(minGain, 1)`: gains within the hold-out's noise earn nothing.
/// - IMPROVEMENT: a paid submission earns `bounty * (s' - s) / (targetScore - initialScore)`
///   at once, capped by what remains unreserved.
/// - EQUAL: when the model is finalised, what remains becomes a pool; each paid submission
///   claims `pool / paidCount`.
/// - PRO_RATA_GAIN: as EQUAL, but each paid submission claims `pool * gain / totalGain`: pay for
///   the measured contribution. (Rows are self-declared and nobody can check them, so no
///   mechanism pays by rows.)
///   In both share mechanisms the last claim takes the rounding dust, so the pool is paid out
///   exactly.
///
/// Order: a model's waiting submissions form a FIFO queue (a linked list through
/// `Submission.next`, head and tail in the model). {evaluateUpdate} and {settleStale} take only
/// the head, so a lender cannot pick which submission to look at first (e.g. accept a
/// sock-puppet copy of an honest update ahead of the original).
///
/// Stalling: a submission WAITING longer than `evaluationWindow` is stale. The lender may still
/// evaluate it, but anyone may instead settle it (queue order) with {settleStale}: its deposit is
/// refunded and its owner is paid the stale reserve fixed when it was submitted:
/// `min(staleReward, remaining - reserved)` at that moment, set aside from the bounty until the
/// submission leaves the queue. Later submissions (a lender's sock-puppet flood, say) cannot
/// dilute it; the reserve an owner gets is known before sharing. A closed model cannot be
/// finalised, so the bounty cannot be reclaimed, while any submission waits.
///
/// Anti-spam deposit: each submission sends exactly `submissionDeposit`. It is refunded when the
/// submission is accepted or settled as stale. When the lender rejects it, the deposit is
/// forfeited and locked in this contract for ever (burned): it goes neither to the lender (who
/// must not profit from rejecting) nor back to the spammer.
///
/// Replays: a dataset digest is recorded per (model, owner, digest), so a watcher who copies an
/// honest owner's pending (CID, digest, rows) cannot block the owner's own submission; the
/// lender rejects the copy because the update blob is signed by the owner it names.
///
/// Audit: after close and before `revealDeadline = deadline + evaluationWindow + revealWindow`
/// the lender calls {revealTestSet} with the test set CID, the salt of its commitment and the CID
/// of the decryption transcript (every evaluated candidate's plaintext and Paillier randomness),
/// so anyone re-encrypts, compares with the ciphertexts and re-scores every evaluation. Only
/// then can it {reclaim} (a model nobody submitted to has nothing to audit and needs no
/// reveal). Past the deadline without a reveal, anyone may {claimForfeit}: what remains is
/// split equally among the submissions the lender *rejected* (the ones its hidden transcript
/// would have had to justify), or among all of them when it rejected none; the last claim takes
/// the dust. A lender that rejects its own sock puppets to catch the forfeit burns their
/// deposits.
///
/// CIDs are not kept in storage (a CID string costs 3 storage slots): they are emitted in events
/// ({ModelCreated}, {UpdateSubmitted}, {UpdateEvaluated}, {TestSetRevealed}) that the Python
/// wrapper reads back; storage keeps the id of the event's subject (e.g. `lastAcceptedUpdateId`
/// points to the {UpdateEvaluated} event carrying the current model CID).
///
/// Test-set commitment: `keccak256(abi.encodePacked(testSetCid, salt))` with `testSetCid` the
/// CID string and `salt` 32 random bytes (see {testSetCommitmentOf}).
///
/// Escrow invariant, per model (in its currency): `paid + owed + remaining + reclaimed ==
/// bounty`, where `paid` is
/// credited to owners, `owed = pool - claimed` is fixed shares (or forfeit shares) not yet
/// claimed and `reclaimed` is credited back to the lender; `reserved <= remaining`. Deposits:
/// `submissionCount * submissionDeposit` == held (waiting) + refunded + forfeited. See
/// {escrowOf}. Per currency, what the contract holds is `totalPendingOf(currency)` plus, over
/// the models in that currency, `owed + remaining + depositsHeld + depositsForfeited`.
contract ModelRepository is Payments {
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
        PRO_RATA_GAIN
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

    /// @notice What the lender fixes when it creates a model (all checked by {createModel}).
    struct Terms {
        Metric metric;
        Mechanism mechanism;
        uint32 initialScore;
        uint32 targetScore;
        uint32 minGain;
        uint64 deadline;
        uint32 evaluationWindow;
        uint32 revealWindow;
        uint96 submissionDeposit;
        uint64 maxRows;
        uint96 staleReward;
    }

    /// @notice The stored state of a model (CIDs are in events, see the contract notice).
    /// @dev Packed so that the hot paths touch no more slots than before the currency existed:
    /// {submitUpdate} writes slots 1, 2 and 5; an accepted evaluation writes 1-5 (the currency
    /// is read with `remaining`, the deposit with `acceptedRows`), a rejection 1 and 2. Every
    /// slot a submission or an evaluation writes is non-zero from creation (slot 2 holds the
    /// evaluation window), so neither pays for a new slot but the owner's pending balance.
    struct Model {
        // slot 0
        address lender;
        Metric metric;
        Mechanism mechanism;
        ModelStatus status;
        bool finalized;
        bool revealed;
        bool forfeited;
        uint32 initialScore;
        // slot 1
        uint32 targetScore;
        uint32 currentScore;
        /// Below `targetScore - initialScore <= PPM`: 24 bits are enough.
        uint24 minGain;
        uint40 deadline;
        uint32 submissionCount;
        uint96 reserved;
        // slot 2 (non-zero from creation: the evaluation window)
        uint32 waitingCount;
        uint32 acceptedCount;
        uint32 paidCount;
        uint32 rejectedCount;
        uint32 evaluationWindow;
        uint32 lastAcceptedUpdateId;
        uint32 head;
        uint32 tail;
        // Amounts are uint96: the bounty is at most 2**96 - 1 base units (checked by
        // {createModel}; 79 billion whole units of an 18-decimal token) and every amount is
        // part of it. Claims and the reclaim pay for slot 7.
        // slot 3
        /// `address(0)`: ether; else the ERC-20 token every amount of this model is in.
        address currency;
        uint96 remaining;
        // slot 4
        uint96 submissionDeposit;
        /// At most 2**32 submissions of at most 2**64 - 1 rows: it cannot overflow.
        uint96 acceptedRows;
        uint64 maxRows;
        // slot 5
        uint96 bounty;
        uint96 paid;
        /// Sum of the paid gains, at most `PPM - initialScore` (each raises the best score).
        uint32 totalGain;
        // slot 6
        uint96 staleReward;
        uint96 pool;
        uint32 revealWindow;
        // slot 7
        uint96 claimed;
        uint96 reclaimed;
        uint32 claimedCount;
        // slot 8
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
        uint32 gain;
        uint32 next;
        /// While WAITING: the stale reserve set aside for it; afterwards: what it was paid
        /// (IMPROVEMENT reward, stale reserve, or share once claimed).
        uint96 amount;
    }

    // ------------------------------------------------------------------ constants

    /// @notice One in parts per million: the largest valid score.
    uint32 public constant PPM = 1_000_000;
    /// @notice The latest deadline a model may have, from its creation.
    uint256 public constant MAX_DURATION = 366 days;
    /// @notice The longest evaluation window and the longest reveal window.
    uint256 public constant MAX_WINDOW = 90 days;

    /// @notice Reason code of an accepted update (the others are the lender's rejection codes,
    /// documented off chain: hessian_common.chain.repository.Reason).
    uint8 public constant REASON_ACCEPTED = 0;

    // ------------------------------------------------------------------ storage

    uint32 private _modelCount;
    uint32 private _submissionCount;
    mapping(uint256 => Model) private _models;
    mapping(uint256 => Submission) private _submissions;
    /// model id => keccak256(owner, dataset digest) => id of the submission that used it
    mapping(uint256 => mapping(bytes32 => uint256)) private _digestUsedBy;

    // ------------------------------------------------------------------ events

    /// @notice A lender created a model and escrowed `bounty` of `currency` (`address(0)`:
    /// ether).
    event ModelCreated(
        uint256 indexed modelId,
        address indexed lender,
        address indexed currency,
        string specCid,
        Terms terms,
        uint256 bounty,
        bytes32 testSetCommitment
    );

    /// @notice A data owner submitted an encrypted update; `staleReserve` is set aside for it.
    event UpdateSubmitted(
        uint256 indexed modelId,
        uint256 indexed updateId,
        address indexed owner,
        string updateCid,
        bytes32 datasetDigest,
        uint64 rows,
        uint256 staleReserve
    );

    /// @notice The lender evaluated a submission; `reward` was credited now (IMPROVEMENT only);
    /// `gain` is the paid gain (0: not paid); `reason` is 0 when accepted, else a rejection code.
    event UpdateEvaluated(
        uint256 indexed modelId,
        uint256 indexed updateId,
        address indexed owner,
        bool accepted,
        uint8 reason,
        uint32 newScore,
        uint32 gain,
        string newModelCid,
        uint256 reward
    );

    /// @notice A stale submission was settled by `settler`; its reserve `reward` was credited.
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
    event ModelFinalized(uint256 indexed modelId, uint256 pool, uint32 paidCount, uint64 totalGain);

    /// @notice A paid submission's share of an EQUAL / PRO_RATA_GAIN pool was credited.
    event ShareClaimed(
        uint256 indexed modelId,
        uint256 indexed updateId,
        address indexed owner,
        uint256 amount
    );

    /// @notice The lender missed the reveal deadline: `pool` is split into `shares` equal shares
    /// (one per rejected submission, or per submission when none was rejected).
    event BountyForfeited(uint256 indexed modelId, uint256 pool, uint32 shares);

    /// @notice A submission's share of a forfeited bounty was credited to its owner.
    event ForfeitClaimed(
        uint256 indexed modelId,
        uint256 indexed updateId,
        address indexed owner,
        uint256 amount
    );

    /// @notice What remained of the bounty was credited back to the lender.
    event BountyReclaimed(uint256 indexed modelId, address indexed lender, uint256 amount);

    /// @notice The lender revealed the committed test set and its decryption transcript.
    event TestSetRevealed(
        uint256 indexed modelId,
        string testSetCid,
        bytes32 salt,
        string transcriptCid
    );

    // ------------------------------------------------------------------ errors

    /// @notice A score is above one million ppm.
    error ScoreOutOfRange(uint256 score);
    /// @notice The target score is not above the initial score.
    error InvalidScores(uint256 initialScore, uint256 targetScore);
    /// @notice The minimum paid gain is not below `targetScore - initialScore`.
    error InvalidMinGain(uint256 minGain, uint256 span);
    /// @notice The deadline is not in the future.
    error DeadlineInPast(uint256 deadline, uint256 timestamp);
    /// @notice The deadline is more than MAX_DURATION away.
    error DeadlineTooFar(uint256 deadline, uint256 latest);
    /// @notice A window is zero or longer than MAX_WINDOW.
    error InvalidWindow(uint256 window, uint256 max);
    /// @notice A model needs a bounty.
    error ZeroBounty();
    /// @notice The stale reward is zero or above the bounty.
    error InvalidStaleReward(uint256 staleReward, uint256 bounty);
    /// @notice A model must allow at least one row per submission.
    error ZeroMaxRows();
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
    /// @notice The ether sent is not the model's submission deposit (a token model takes no
    /// ether: `required` is then 0 and the deposit is pulled in its token).
    error WrongDeposit(uint256 sent, uint256 required);
    /// @notice This owner already submitted this dataset digest to this model (replay).
    error DigestAlreadySubmitted(uint256 modelId, bytes32 datasetDigest, uint256 updateId);
    /// @notice A submission must cover 1..maxRows rows.
    error InvalidRows(uint256 rows, uint256 maxRows);
    /// @notice Only the model's lender may do this.
    error NotLender(address caller, address lender);
    /// @notice The submission was already evaluated or settled.
    error NotWaiting(uint256 updateId, Status status);
    /// @notice Submissions are evaluated or settled in the order they arrived; `expected` is next.
    error OutOfOrder(uint256 updateId, uint256 expected);
    /// @notice An accepted update needs reason code 0, a rejected one a non-zero code.
    error InvalidReason(bool accepted, uint8 reason);
    /// @notice The submission has not waited longer than the evaluation window yet.
    error NotStale(uint256 updateId, uint256 staleAfter, uint256 timestamp);
    /// @notice Submissions are still waiting for an evaluation.
    error SubmissionsWaiting(uint256 modelId, uint256 waitingCount);
    /// @notice The model's mechanism has no shares to claim.
    error NoShares(uint256 modelId, Mechanism mechanism);
    /// @notice Only paid submissions (accepted with a gain of at least `minGain`) earn a share.
    error NotPaid(uint256 updateId);
    /// @notice The share of this submission was already claimed.
    error AlreadyClaimed(uint256 updateId);
    /// @notice Nothing remains to reclaim.
    error NothingToReclaim(uint256 modelId);
    /// @notice The test set was already revealed.
    error AlreadyRevealed(uint256 modelId);
    /// @notice The lender must reveal before it reclaims (once anyone submitted).
    error NotRevealed(uint256 modelId);
    /// @notice The reveal deadline passed: the bounty left is forfeited to the submitters.
    error RevealDeadlinePassed(uint256 modelId, uint256 revealDeadline, uint256 timestamp);
    /// @notice The reveal deadline has not passed (or the lender revealed): nothing to forfeit.
    error NotForfeitable(uint256 modelId, uint256 revealDeadline, uint256 timestamp);
    /// @notice Nothing remained of the bounty to forfeit (shares or rewards took it all).
    error NothingToForfeit(uint256 modelId);
    /// @notice A forfeited bounty goes to the rejected submissions when there are any.
    error NotRejected(uint256 updateId);
    /// @notice The stale reserve a submission would get now is below what its owner accepts.
    error ReserveTooLow(uint256 reserve, uint256 minimum);
    /// @notice `keccak256(abi.encodePacked(testSetCid, salt))` is not the model's commitment.
    error CommitmentMismatch(uint256 modelId, bytes32 expected, bytes32 actual);

    // ------------------------------------------------------------------ lender

    /// @notice Create a model and escrow its bounty: ether sent with the call, or a token pulled
    /// from the caller with `transferFrom` (approve this contract first, or use
    /// {createModelWithPermit}).
    /// @param specCid CID of the model spec (schema, preprocessing, public key, enc(w), rule).
    /// @param testSetCommitment `keccak256(abi.encodePacked(testSetCid, salt))`.
    /// @param t The terms: metric; mechanism; initial score of the initial model on the hold-out
    /// (ppm); target score at which the model closes (ppm, above the initial one); minimum paid
    /// gain (ppm, below target - initial); deadline (unix time, at most MAX_DURATION away)
    /// after which no submission is taken and anyone may close; evaluation window (seconds the
    /// lender has to evaluate a submission before it is stale, 1..MAX_WINDOW); reveal window
    /// (seconds after `deadline + evaluationWindow` to reveal, 1..MAX_WINDOW); submission
    /// deposit (in the currency, 0: none); maximum rows per submission (> 0); stale reward
    /// (reserved per submission for the case the lender stalls, 0 < staleReward <= bounty).
    /// @param currency `address(0)` for ether, else the ERC-20 token of every amount of the
    /// model (a contract; it must deliver exactly what is pulled).
    /// @param bounty The bounty in base units of `currency` (1..2**96 - 1); for ether, exactly
    /// the value sent.
    /// @return modelId Id of the new model (from 1).
    /// Emits a {ModelCreated} event.
    function createModel(
        string calldata specCid,
        bytes32 testSetCommitment,
        Terms calldata t,
        address currency,
        uint256 bounty
    ) external payable returns (uint256 modelId) {
        modelId = _createModel(specCid, testSetCommitment, t, currency, bounty);
    }

    /// @notice {createModel} in a token, with the lender's EIP-2612 permit for the bounty: one
    /// transaction, no prior `approve`. A permit that fails (already submitted by someone
    /// else, expired, a token without permit) is ignored: the allowance decides.
    /// @param p The permit (`value` at least `bounty`, for this contract as spender).
    /// Emits a {ModelCreated} event.
    function createModelWithPermit(
        string calldata specCid,
        bytes32 testSetCommitment,
        Terms calldata t,
        address currency,
        uint256 bounty,
        Permit calldata p
    ) external returns (uint256 modelId) {
        _permit(currency, msg.sender, p);
        modelId = _createModel(specCid, testSetCommitment, t, currency, bounty);
    }

    /// Checks, records the model, then pulls the bounty (checks-effects-interactions; the pull
    /// holds the reentrancy guard and reverts everything if it falls short).
    function _createModel(
        string calldata specCid,
        bytes32 testSetCommitment,
        Terms calldata t,
        address currency,
        uint256 bounty
    ) private returns (uint256 modelId) {
        if (bytes(specCid).length == 0) revert EmptyCid();
        if (t.targetScore > PPM) revert ScoreOutOfRange(t.targetScore);
        if (t.targetScore <= t.initialScore) revert InvalidScores(t.initialScore, t.targetScore);
        if (t.minGain >= t.targetScore - t.initialScore) {
            revert InvalidMinGain(t.minGain, t.targetScore - t.initialScore);
        }
        if (t.deadline <= block.timestamp) revert DeadlineInPast(t.deadline, block.timestamp);
        if (t.deadline > block.timestamp + MAX_DURATION) {
            revert DeadlineTooFar(t.deadline, block.timestamp + MAX_DURATION);
        }
        if (t.evaluationWindow == 0 || t.evaluationWindow > MAX_WINDOW) {
            revert InvalidWindow(t.evaluationWindow, MAX_WINDOW);
        }
        if (t.revealWindow == 0 || t.revealWindow > MAX_WINDOW) {
            revert InvalidWindow(t.revealWindow, MAX_WINDOW);
        }
        if (t.maxRows == 0) revert ZeroMaxRows();
        if (bounty == 0) revert ZeroBounty();
        if (bounty > type(uint96).max) revert ValueTooLarge(bounty, type(uint96).max);
        if (t.staleReward == 0 || t.staleReward > bounty) {
            revert InvalidStaleReward(t.staleReward, bounty);
        }
        if (_modelCount == type(uint32).max) revert ValueTooLarge(_modelCount, type(uint32).max);

        modelId = ++_modelCount;
        Model storage m = _models[modelId];
        m.lender = msg.sender;
        m.metric = t.metric;
        m.mechanism = t.mechanism;
        m.initialScore = t.initialScore;
        m.targetScore = t.targetScore;
        m.currentScore = t.initialScore;
        m.minGain = uint24(t.minGain);
        m.deadline = uint40(t.deadline);
        m.evaluationWindow = t.evaluationWindow;
        m.revealWindow = t.revealWindow;
        m.currency = currency;
        m.remaining = uint96(bounty);
        m.bounty = uint96(bounty);
        m.staleReward = t.staleReward;
        m.submissionDeposit = t.submissionDeposit;
        m.maxRows = t.maxRows;
        m.testSetCommitment = testSetCommitment;
        _openCurrency(currency);
        emit ModelCreated(modelId, msg.sender, currency, specCid, t, bounty, testSetCommitment);
        _pull(currency, bounty);
    }

    /// @notice Record the lender's evaluation of the oldest waiting submission of its model and
    /// pay by mechanism.
    /// @dev Allowed after close and after the evaluation window, as long as nobody settled the
    /// submission. Accepted: deposit refunded; the submission is paid when it raises the best
    /// score by at least `max(minGain, 1)` (IMPROVEMENT: at once; EQUAL / PRO_RATA_GAIN: a share
    /// at finalisation); reaching the target closes the model. Rejected: deposit forfeited.
    /// Either way the submission's stale reserve goes back to the unreserved bounty.
    /// @param updateId The submission; it must be the head of its model's queue.
    /// @param accepted Whether the update is kept.
    /// @param reason 0 when accepted, else the lender's rejection code.
    /// @param newScore Score of the updated model on the hold-out set, ppm.
    /// @param newModelCid CID of the new encrypted model (may be empty when rejected).
    /// Emits an {UpdateEvaluated} event, and {ModelClosed}/{ModelFinalized} when they happen.
    function evaluateUpdate(
        uint256 updateId,
        bool accepted,
        uint8 reason,
        uint32 newScore,
        string calldata newModelCid
    ) external {
        Submission storage s = _waitingSubmission(updateId);
        uint256 modelId = s.modelId;
        Model storage m = _models[modelId];
        if (msg.sender != m.lender) revert NotLender(msg.sender, m.lender);
        if (m.head != updateId) revert OutOfOrder(updateId, m.head);
        if (newScore > PPM) revert ScoreOutOfRange(newScore);
        if (accepted != (reason == REASON_ACCEPTED)) revert InvalidReason(accepted, reason);
        if (accepted && bytes(newModelCid).length == 0) revert EmptyCid();

        _dequeue(m, s);
        s.newScore = newScore;
        uint256 reward;
        uint32 gain;
        if (accepted) {
            s.status = Status.ACCEPTED;
            m.acceptedCount += 1;
            m.acceptedRows += s.rows;
            m.lastAcceptedUpdateId = uint32(updateId);
            uint32 best = m.currentScore;
            if (newScore > best) {
                m.currentScore = newScore;
                if (newScore - best >= m.minGain) {
                    gain = newScore - best;
                    reward = _pay(m, s, gain);
                }
            }
            uint256 credit = reward + m.submissionDeposit;
            if (credit > 0) _credit(s.owner, m.currency, credit);
        } else {
            s.status = Status.REJECTED;
            m.rejectedCount += 1;
        }
        emit UpdateEvaluated(
            modelId,
            updateId,
            s.owner,
            accepted,
            reason,
            newScore,
            gain,
            newModelCid,
            reward
        );

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
    /// @dev Only once the model is closed and finalised (no submission waiting) and the test
    /// set and decryption transcript are revealed; a model nobody submitted to has no
    /// evaluation to audit and nobody to forfeit to, so it needs no reveal (else its bounty
    /// would be locked for ever once the reveal deadline passed).
    /// @param modelId The model.
    /// Emits a {BountyReclaimed} event.
    function reclaim(uint256 modelId) external {
        Model storage m = _model(modelId);
        if (msg.sender != m.lender) revert NotLender(msg.sender, m.lender);
        if (m.status == ModelStatus.OPEN) revert ModelStillOpen(modelId);
        if (!m.finalized) revert SubmissionsWaiting(modelId, m.waitingCount);
        if (!m.revealed && m.submissionCount != 0) revert NotRevealed(modelId);
        uint256 amount = m.remaining;
        if (amount == 0) revert NothingToReclaim(modelId);
        m.remaining = 0;
        m.reclaimed += uint96(amount);
        _credit(msg.sender, m.currency, amount);
        emit BountyReclaimed(modelId, msg.sender, amount);
    }

    /// @notice Reveal the committed test set and the decryption transcript so anyone can audit
    /// every recorded score.
    /// @param modelId The model; it must be closed with nothing waiting, before its reveal
    /// deadline.
    /// @param testSetCid CID of the hold-out set.
    /// @param salt The 32 bytes used in the commitment.
    /// @param transcriptCid CID of the decryption transcript (plaintexts and randomness).
    /// Emits a {TestSetRevealed} event.
    function revealTestSet(
        uint256 modelId,
        string calldata testSetCid,
        bytes32 salt,
        string calldata transcriptCid
    ) external {
        Model storage m = _model(modelId);
        if (msg.sender != m.lender) revert NotLender(msg.sender, m.lender);
        if (m.status == ModelStatus.OPEN) revert ModelStillOpen(modelId);
        if (!m.finalized) revert SubmissionsWaiting(modelId, m.waitingCount);
        if (m.revealed) revert AlreadyRevealed(modelId);
        uint256 due = _revealDeadline(m);
        if (block.timestamp > due) revert RevealDeadlinePassed(modelId, due, block.timestamp);
        if (bytes(transcriptCid).length == 0) revert EmptyCid();
        bytes32 actual = testSetCommitmentOf(testSetCid, salt);
        if (actual != m.testSetCommitment) {
            revert CommitmentMismatch(modelId, m.testSetCommitment, actual);
        }
        m.revealed = true;
        emit TestSetRevealed(modelId, testSetCid, salt, transcriptCid);
    }

    // ------------------------------------------------------------------ data owners

    /// @notice Submit an encrypted update with the model's submission deposit: ether sent with
    /// the call, or the model's token pulled from the caller with `transferFrom` (approve this
    /// contract first, or use {submitUpdateWithPermit}).
    /// @param modelId The model.
    /// @param updateCid CID of the update blob (signed by the sender, naming it).
    /// @param datasetDigest Digest of the owner's dataset; once per (model, owner).
    /// @param rows Number of rows the update was computed from (1..maxRows; self-declared).
    /// @param minStaleReserve The least stale reserve the owner accepts (what it was shown by
    /// {staleReserveNow}): a flood of submissions mined just before this one cannot lower it.
    /// @return updateId Id of the new submission (from 1, shared by all models).
    /// Emits an {UpdateSubmitted} event.
    function submitUpdate(
        uint256 modelId,
        string calldata updateCid,
        bytes32 datasetDigest,
        uint64 rows,
        uint96 minStaleReserve
    ) external payable returns (uint256 updateId) {
        updateId = _submitUpdate(modelId, updateCid, datasetDigest, rows, minStaleReserve);
    }

    /// @notice {submitUpdate} to a token model, with the owner's EIP-2612 permit for the
    /// deposit: one transaction, no prior `approve`. A permit that fails (already submitted by
    /// someone else, expired, a token without permit) is ignored: the allowance decides.
    /// @param p The permit (`value` at least the deposit, for this contract as spender).
    /// Emits an {UpdateSubmitted} event.
    function submitUpdateWithPermit(
        uint256 modelId,
        string calldata updateCid,
        bytes32 datasetDigest,
        uint64 rows,
        uint96 minStaleReserve,
        Permit calldata p
    ) external returns (uint256 updateId) {
        _permit(_model(modelId).currency, msg.sender, p);
        updateId = _submitUpdate(modelId, updateCid, datasetDigest, rows, minStaleReserve);
    }

    /// Checks, queues the submission, then pulls a token deposit (checks-effects-interactions;
    /// the pull holds the reentrancy guard and reverts everything if it falls short). An ether
    /// submission calls nothing outside.
    function _submitUpdate(
        uint256 modelId,
        string calldata updateCid,
        bytes32 datasetDigest,
        uint64 rows,
        uint96 minStaleReserve
    ) private returns (uint256 updateId) {
        Model storage m = _model(modelId);
        if (m.status != ModelStatus.OPEN) revert ModelNotOpen(modelId);
        if (block.timestamp > m.deadline) {
            revert DeadlinePassed(modelId, m.deadline, block.timestamp);
        }
        address currency = m.currency;
        {
            uint256 required = currency == ETH ? m.submissionDeposit : 0;
            if (msg.value != required) revert WrongDeposit(msg.value, required);
        }
        if (bytes(updateCid).length == 0) revert EmptyCid();
        if (rows == 0 || rows > m.maxRows) revert InvalidRows(rows, m.maxRows);
        {
            bytes32 key = _digestKey(msg.sender, datasetDigest);
            uint256 usedBy = _digestUsedBy[modelId][key];
            if (usedBy != 0) revert DigestAlreadySubmitted(modelId, datasetDigest, usedBy);
            if (_submissionCount == type(uint32).max) {
                revert ValueTooLarge(_submissionCount, type(uint32).max);
            }
            updateId = ++_submissionCount;
            _digestUsedBy[modelId][key] = updateId;
        }
        uint96 reserve;
        {
            uint256 free = uint256(m.remaining) - m.reserved;
            reserve = free < m.staleReward ? uint96(free) : m.staleReward;
        }
        if (reserve < minStaleReserve) revert ReserveTooLow(reserve, minStaleReserve);
        m.reserved += reserve;
        m.submissionCount += 1;
        m.waitingCount += 1;
        if (m.tail == 0) {
            m.head = uint32(updateId);
        } else {
            _submissions[m.tail].next = uint32(updateId);
        }
        m.tail = uint32(updateId);
        Submission storage s = _submissions[updateId];
        s.owner = msg.sender;
        s.modelId = uint32(modelId);
        s.submittedAt = uint40(block.timestamp);
        s.rows = rows;
        s.amount = reserve;
        emit UpdateSubmitted(
            modelId,
            updateId,
            msg.sender,
            updateCid,
            datasetDigest,
            rows,
            reserve
        );
        if (currency != ETH) _pull(currency, m.submissionDeposit);
    }

    /// @notice Settle the oldest waiting submission of a model once the lender left it waiting
    /// longer than the evaluation window.
    /// @dev Anyone may call. The deposit is refunded and the owner is credited the stale reserve
    /// fixed at submission (whatever the mechanism; it takes no share of a pool).
    /// @param updateId The stale submission; it must be the head of its model's queue.
    /// Emits a {StaleSettled} event, and {ModelFinalized} if it was the last one waiting.
    function settleStale(uint256 updateId) external {
        Submission storage s = _waitingSubmission(updateId);
        uint256 modelId = s.modelId;
        Model storage m = _models[modelId];
        if (m.head != updateId) revert OutOfOrder(updateId, m.head);
        uint256 staleAfter = uint256(s.submittedAt) + m.evaluationWindow;
        if (block.timestamp <= staleAfter) revert NotStale(updateId, staleAfter, block.timestamp);

        uint96 reward = s.amount;
        _dequeue(m, s);
        s.amount = reward;
        m.remaining -= reward;
        m.paid += reward;
        m.acceptedCount += 1;
        m.acceptedRows += s.rows;
        s.status = Status.ACCEPTED;
        s.stale = true;
        uint256 credit = reward + m.submissionDeposit;
        if (credit > 0) _credit(s.owner, m.currency, credit);
        emit StaleSettled(modelId, updateId, s.owner, msg.sender, reward);

        if (m.status == ModelStatus.CLOSED && m.waitingCount == 0) _finalize(modelId, m);
    }

    /// @notice Credit a paid submission's share of an EQUAL or PRO_RATA_GAIN pool to its owner
    /// (anyone may call; the owner withdraws).
    /// @param updateId The paid submission.
    /// Emits a {ShareClaimed} event.
    function claimShare(uint256 updateId) external {
        Submission storage s = _submission(updateId);
        uint256 modelId = s.modelId;
        Model storage m = _models[modelId];
        if (m.mechanism == Mechanism.IMPROVEMENT) revert NoShares(modelId, m.mechanism);
        if (s.gain == 0) revert NotPaid(updateId);
        if (!m.finalized) {
            if (m.status == ModelStatus.OPEN) revert ModelStillOpen(modelId);
            revert SubmissionsWaiting(modelId, m.waitingCount);
        }
        if (s.claimed) revert AlreadyClaimed(updateId);

        uint256 amount = _shareOf(m, s);
        s.claimed = true;
        s.amount = uint96(amount);
        _takeFromPool(m, amount);
        if (amount > 0) _credit(s.owner, m.currency, amount);
        emit ShareClaimed(modelId, updateId, s.owner, amount);
    }

    /// @notice After the reveal deadline passed without a reveal, credit one submission's equal
    /// share of what remained of the bounty to its owner (anyone may call).
    /// @dev The first claim fixes the pool (`remaining`) and emits {BountyForfeited}. The shares
    /// go to the model's rejected submissions (`pool / rejectedCount`), or to all of them
    /// (`pool / submissionCount`) when none was rejected; the last claim takes the dust.
    /// @param updateId A submission of the model (a rejected one, if any was rejected).
    /// Emits a {ForfeitClaimed} event (and {BountyForfeited} on the first claim).
    function claimForfeit(uint256 updateId) external {
        Submission storage s = _submission(updateId);
        uint256 modelId = s.modelId;
        Model storage m = _models[modelId];
        uint256 due = _revealDeadline(m);
        if (m.revealed || block.timestamp <= due) {
            revert NotForfeitable(modelId, due, block.timestamp);
        }
        if (!m.finalized) {
            if (m.status == ModelStatus.OPEN) revert ModelStillOpen(modelId);
            revert SubmissionsWaiting(modelId, m.waitingCount);
        }
        if (!m.forfeited) {
            if (m.remaining == 0) revert NothingToForfeit(modelId);
            m.forfeited = true;
            m.pool = m.remaining;
            m.remaining = 0;
            emit BountyForfeited(modelId, m.pool, _forfeitShares(m));
        }
        if (m.rejectedCount > 0 && s.status != Status.REJECTED) revert NotRejected(updateId);
        if (s.claimed) revert AlreadyClaimed(updateId);
        uint32 shares = _forfeitShares(m);
        uint256 amount = m.claimedCount + 1 == shares
            ? uint256(m.pool) - m.claimed
            : uint256(m.pool) / shares;
        s.claimed = true;
        s.amount += uint96(amount);
        _takeFromPool(m, amount);
        if (amount > 0) _credit(s.owner, m.currency, amount);
        emit ForfeitClaimed(modelId, updateId, s.owner, amount);
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

    /// @notice Id of `owner`'s submission that used `datasetDigest` for `modelId` (0: unused).
    function digestUsedBy(
        uint256 modelId,
        address owner,
        bytes32 datasetDigest
    ) external view returns (uint256) {
        return _digestUsedBy[modelId][_digestKey(owner, datasetDigest)];
    }

    /// @notice The currency of a model: `address(0)` for ether, else its ERC-20 token.
    function currencyOf(uint256 modelId) external view returns (address) {
        return _model(modelId).currency;
    }

    /// @notice The submission {evaluateUpdate} / {settleStale} must take next (0: none waiting).
    function nextInQueue(uint256 modelId) external view returns (uint256) {
        return _model(modelId).head;
    }

    /// @notice The stale reserve a submission made now would get: `min(staleReward, remaining -
    /// reserved)` (0 for a model that takes no submissions).
    function staleReserveNow(uint256 modelId) external view returns (uint256) {
        Model storage m = _model(modelId);
        if (m.status != ModelStatus.OPEN || block.timestamp > m.deadline) return 0;
        uint256 free = uint256(m.remaining) - m.reserved;
        return free < m.staleReward ? free : m.staleReward;
    }

    /// @notice Last second at which the lender may reveal: `deadline + evaluationWindow +
    /// revealWindow`; after it, an unrevealed model's remaining bounty is forfeited.
    function revealDeadline(uint256 modelId) external view returns (uint256) {
        return _revealDeadline(_model(modelId));
    }

    /// @notice Whether a waiting submission can be settled with {settleStale} now (it must also
    /// be the head of its queue).
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
        if (m.mechanism == Mechanism.IMPROVEMENT || !m.finalized || s.gain == 0 || s.claimed) {
            return 0;
        }
        return _shareOf(m, s);
    }

    /// @notice Escrow accounting of a model: `paid + owed + remaining + reclaimed == bounty`.
    /// @return bounty Wei deposited by the lender.
    /// @return paid Credited to owners as rewards, stale settlements, shares or forfeit shares.
    /// @return owed Fixed shares (or forfeit shares) not yet claimed.
    /// @return remaining Not yet allotted (of which `reserved` is set aside for stale reserves).
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

    function _digestKey(address owner, bytes32 digest) private pure returns (bytes32) {
        return keccak256(abi.encode(owner, digest));
    }

    /// How many submissions share a forfeited bounty: the rejected ones, or all if none was.
    function _forfeitShares(Model storage m) private view returns (uint32) {
        return m.rejectedCount > 0 ? m.rejectedCount : m.submissionCount;
    }

    function _revealDeadline(Model storage m) private view returns (uint256) {
        return uint256(m.deadline) + m.evaluationWindow + m.revealWindow;
    }

    /// Take `amount` of `currency` from the caller (ether: check `msg.value`; a token: pull and
    /// measure, see {Payments-_take}), holding the reentrancy guard while the token runs: a
    /// token that calls back into {Payments-withdraw}, {createModel} or {submitUpdate} of a
    /// token model is refused; into anything else it only sees the state as if paid (the
    /// effects are written) and, if it moves its own balance, the measurement reverts it all.
    function _pull(address currency, uint256 amount) private nonReentrant {
        _take(currency, msg.sender, amount);
    }

    /// Take the head `s` off its model's queue and give its stale reserve back.
    function _dequeue(Model storage m, Submission storage s) private {
        uint32 next = s.next;
        m.head = next;
        if (next == 0) m.tail = 0;
        m.waitingCount -= 1;
        m.reserved -= s.amount;
        s.amount = 0;
    }

    /// Record a paid gain: IMPROVEMENT credits `bounty * gain / (target - initial)` now, capped
    /// by what is not reserved for other submissions; the share mechanisms count it for the pool.
    function _pay(Model storage m, Submission storage s, uint32 gain) private returns (uint256) {
        s.gain = gain;
        m.paidCount += 1;
        if (m.mechanism != Mechanism.IMPROVEMENT) {
            m.totalGain += gain;
            return 0;
        }
        uint256 reward = (uint256(m.bounty) * gain) / (m.targetScore - m.initialScore);
        uint256 free = uint256(m.remaining) - m.reserved;
        if (reward > free) reward = free;
        if (reward > 0) {
            m.remaining -= uint96(reward);
            m.paid += uint96(reward);
            s.amount = uint96(reward);
        }
        return reward;
    }

    /// EQUAL: pool / paidCount; PRO_RATA_GAIN: pool * gain / totalGain; the last claim takes
    /// pool - claimed, so rounding dust is paid too.
    function _shareOf(Model storage m, Submission storage s) private view returns (uint256) {
        if (m.claimedCount + 1 == m.paidCount) return uint256(m.pool) - m.claimed;
        if (m.mechanism == Mechanism.EQUAL) return uint256(m.pool) / m.paidCount;
        return (uint256(m.pool) * s.gain) / m.totalGain;
    }

    function _takeFromPool(Model storage m, uint256 amount) private {
        m.claimedCount += 1;
        m.claimed += uint96(amount);
    }

    function _close(uint256 modelId, Model storage m, CloseReason reason) private {
        m.status = ModelStatus.CLOSED;
        emit ModelClosed(modelId, reason, m.currentScore);
        if (m.waitingCount == 0) _finalize(modelId, m);
    }

    /// Fix the shares: for EQUAL/PRO_RATA_GAIN with paid submissions, all that remains becomes
    /// the pool. Called once, when a closed model has nothing waiting (then `reserved == 0`).
    function _finalize(uint256 modelId, Model storage m) private {
        m.finalized = true;
        uint256 pool;
        if (m.mechanism != Mechanism.IMPROVEMENT && m.paidCount > 0) {
            pool = m.remaining;
            m.pool = uint96(pool);
            m.remaining = 0;
        }
        emit ModelFinalized(modelId, pool, m.paidCount, m.totalGain);
    }
}
