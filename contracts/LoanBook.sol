// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import "./products/ProductBase.sol";

/// @title LoanBook: loans decided by a deployed (closed, trained) Hessian credit model
/// @notice A lender deploys one of its CLOSED ModelRepository models; borrowers apply to it with
/// the SHA-256 digest of their plaintext application (the application itself is sealed to the
/// deployment's X25519 `applicationKey` and stored off-chain, its CID emitted in an event); the
/// lender records a decision (probability of default in ppm, APR in basis points, principal,
/// term); the borrower accepts; the lender funds it (the principal is credited to the borrower's
/// pending balance); the borrower repays monthly-style instalments; late payment and default are
/// recorded after the due dates. All money moves by pull payments ({withdraw}(currency)).
///
/// Currency: each deployment names one ({deployModel}: `address(0)` = ether, else an ERC-20);
/// the loans of that model are in it: amounts applied for, principal, instalments, payoffs and
/// recoveries are base units of that currency with its own decimals (nothing assumes 18). In
/// ether the money comes as `msg.value`; in a token it is pulled with `transferFrom` after the
/// payer's `approve` or, in the same transaction, its EIP-2612 permit ({fundWithPermit},
/// {repayWithPermit}, {repayAllWithPermit}: a borrower signs once per payment); a token that
/// delivers less than asked (fee on transfer) is refused with {ShortTransfer}. Money comes in
/// last (checks-effects-interactions): a token that calls back while it is pulled finds the
/// books already updated, and any call back that moves the same token makes the balance
/// change differ from the amount, which reverts the whole payment ({ShortTransfer}). Model
/// deployment, sealed applications and the pull payments are {ProductBase}'s (shared with
/// PolicyBook).
///
/// Life cycle of a loan (`LoanStatus`): APPLIED -> OFFERED (approved) | DECLINED;
/// OFFERED -> ACCEPTED (borrower, before `offerExpires`) -> FUNDED (lender sends the principal,
/// within `fundingWindow` of the acceptance) -> REPAID (fully paid, or paid off early with
/// {repayAll}) | DEFAULTED (an instalment overdue by `defaultAfter` or more; later payments are
/// recoveries) -> RECOVERED (a defaulted loan paid in full after all). APPLIED / OFFERED /
/// ACCEPTED -> CANCELLED (borrower; the lender only once it made an offer). `late` is a flag on
/// a FUNDED loan, set by the lender when a due instalment is unpaid and cleared by the repayment
/// that catches up.
///
/// Applications are recorded per (model, borrower, digest): someone who copies a borrower's
/// pending digest cannot block the borrower's own application (and the sealed application names
/// its borrower, which the lender checks).
///
/// Early payoff ({payoffAmount}, {repayAll}): the balance outstanding after the instalments due
/// so far plus the interest accrued since the last due date, and any arrears, never the
/// interest of future months:
///   k = instalments due by now (min((now - fundedAt) / paymentPeriod, n)),
///   B_0 = principal, B_j = max(0, ceil(B_{j-1} * (WAD + i) / WAD) - installment): the
///         scheduled balance after j instalments, rounded up month by month (the exact
///         principal * (1 + i)^k - installment * ((1 + i)^k - 1) / i, at least 0;
///         max(0, principal - k * installment) at 0 %),
///   accrued = ceil(B_k * i * (now - fundedAt - k * paymentPeriod) / (WAD * paymentPeriod)),
///   payoff = min(totalOwed - repaid, max(0, dueBy(now) + B_k + accrued - repaid)),
///   everything owed (totalOwed - repaid) from the last due date on.
/// Rounding is up (the lender is never short): at most sum_{j<=k} (1 + i)^j units above the exact
/// payoff at the monthly rate i. It never falls as time passes: at a due date the instalment
/// moves from the balance into dueBy, and B_k + installment = ceil(B_{k-1} * (1 + i)) is what
/// the balance and its accrued interest reached the second before (a balance computed afresh
/// for each month in closed form could round a unit or two below it).
///
/// Instalment (integer, mirrored exactly by `hessian_common.chain.loanbook.installment_for`):
///   WAD = 1e18, i = aprBps * WAD / 120000 (monthly rate, floor),
///   f = rpow(WAD + i, n): binary exponentiation in WAD fixed point, each product floored
///       (z = z * x / WAD, x = x * x / WAD),
///   installment = ceilDiv(ceilDiv(principal * f, f - WAD) * i, WAD)  (= A i f / (f - 1)),
///   and ceilDiv(principal, n) when aprBps == 0. Rounding is up: the lender is never short.
/// No overflow for principal < 2^128, n <= 120, aprBps <= 10000: f < 2^74, so
/// principal * f < 2^202, and ceilDiv(principal * f, f - WAD) <= principal * (1 + 1 / (n i))
/// < 2^145 with i >= 8.3e12, times i < 2^57 gives < 2^202.
///
/// Schedule: instalment k (1..n) falls due at `fundedAt + k * paymentPeriod`;
/// `dueBy(t) = min(k_due(t), n) * installment` with `k_due(t) = (t - fundedAt) / paymentPeriod`;
/// `totalOwed = installment * n`.
///
/// Timing: instalment k counts as due from the second `fundedAt + k * paymentPeriod` itself
/// (late from then if unpaid); "before `offerExpires`" includes that second. The borrower's
/// function is {applyForLoan} (`apply` is a reserved word in Solidity).
///
/// Invariant, per currency: what this contract holds of it (`address(this).balance` for
/// ether) `== totalPendingOf(currency) == sum of pendingOf(account, currency)`; per loan
/// `repaid <= totalOwed`.
contract LoanBook is ProductBase {
    // ------------------------------------------------------------------ types

    /// @notice State of a loan.
    enum LoanStatus {
        APPLIED,
        OFFERED,
        DECLINED,
        ACCEPTED,
        FUNDED,
        REPAID,
        DEFAULTED,
        CANCELLED,
        RECOVERED
    }

    /// @notice The stored state of a loan (the application CID and digest are in {LoanApplied}).
    struct Loan {
        // slot 0
        address borrower;
        uint32 modelId;
        LoanStatus status;
        bool late;
        uint16 requestedTerm;
        uint16 termMonths;
        // slot 1
        uint128 amount;
        uint128 principal;
        // slot 2
        uint128 installment;
        uint128 repaid;
        // slot 3
        uint40 appliedAt;
        uint40 offerExpires;
        uint40 acceptedAt;
        uint40 fundedAt;
        uint32 pdPpm;
        uint16 aprBps;
    }

    // ------------------------------------------------------------------ constants

    /// @notice The largest APR, in basis points (100%).
    uint16 public constant MAX_APR_BPS = 10_000;
    /// @notice The longest term, in months (payment periods).
    uint16 public constant MAX_TERM = 120;
    uint256 private constant WAD = 1e18;

    // ------------------------------------------------------------------ immutables

    /// @notice Seconds between instalments.
    uint64 public immutable paymentPeriod;
    /// @notice Seconds an instalment may be overdue before the loan can be marked DEFAULTED.
    uint64 public immutable defaultAfter;
    /// @notice Seconds an offer stays open to acceptance.
    uint64 public immutable offerValidity;
    /// @notice Seconds the lender has to fund an accepted loan.
    uint64 public immutable fundingWindow;

    // ------------------------------------------------------------------ storage

    uint256 private _loanCount;
    mapping(uint256 => Loan) private _loans;

    // ------------------------------------------------------------------ events

    /// @notice A borrower applied; the sealed application is at `applicationCid`.
    event LoanApplied(
        uint256 indexed loanId,
        uint256 indexed modelId,
        address indexed borrower,
        bytes32 applicationDigest,
        string applicationCid,
        uint256 amount,
        uint16 termMonths
    );
    /// @notice The lender decided an application (declined: apr, principal, term are 0).
    event LoanDecided(
        uint256 indexed loanId,
        bool approved,
        uint32 pdPpm,
        uint16 aprBps,
        uint256 principal,
        uint16 termMonths,
        uint256 installment
    );
    /// @notice The borrower accepted the offer.
    event OfferAccepted(uint256 indexed loanId);
    /// @notice The lender funded the loan; the principal is the borrower's to withdraw.
    event LoanFunded(uint256 indexed loanId, uint256 principal, uint64 fundedAt);
    /// @notice A payment was made (after a default: a recovery).
    event Repayment(
        uint256 indexed loanId,
        address indexed payer,
        uint256 amount,
        uint256 totalRepaid
    );
    /// @notice The loan is fully repaid.
    event LoanRepaid(uint256 indexed loanId);
    /// @notice The borrower paid the loan off early (`amount`; no future interest charged).
    event LoanPaidOff(uint256 indexed loanId, uint256 amount);
    /// @notice A defaulted loan was recovered in full.
    event LoanRecovered(uint256 indexed loanId);
    /// @notice The lender recorded a missed instalment; `overdue` = due so far - repaid.
    event LoanLate(uint256 indexed loanId, uint256 overdue);
    /// @notice A late loan caught up.
    event LoanCured(uint256 indexed loanId);
    /// @notice The lender recorded a default; `outstanding` = total owed - repaid.
    event LoanDefaulted(uint256 indexed loanId, uint256 outstanding);
    /// @notice The loan was cancelled before funding by `by`.
    event LoanCancelled(uint256 indexed loanId, address indexed by);

    // ------------------------------------------------------------------ errors

    /// @notice Only the model's lender may do this.
    error NotLender(address caller, address lender);
    /// @notice Only the loan's borrower may do this.
    error NotBorrower(address caller, address borrower);
    /// @notice Neither the borrower nor (where allowed) the lender of the loan.
    error NotParty(address caller, uint256 loanId);
    /// @notice A term is outside 1..MAX_TERM months.
    error InvalidTerm(uint256 termMonths);
    /// @notice No loan with this id.
    error UnknownLoan(uint256 loanId);
    /// @notice The loan is not in a status that allows this.
    error WrongStatus(uint256 loanId, LoanStatus status);
    /// @notice An APR above MAX_APR_BPS.
    error AprTooHigh(uint256 aprBps, uint256 max);
    /// @notice The principal is zero or above the amount applied for.
    error InvalidPrincipal(uint256 principal, uint256 amount);
    /// @notice The offer expired before it was accepted.
    error OfferExpired(uint256 loanId, uint256 expires, uint256 timestamp);
    /// @notice The lender did not fund the accepted loan within the funding window.
    error FundingExpired(uint256 loanId, uint256 deadline, uint256 timestamp);
    /// @notice The value sent is below the payoff amount.
    error InsufficientPayoff(uint256 sent, uint256 payoff);
    /// @notice The value sent is not the principal.
    error WrongAmount(uint256 sent, uint256 required);
    /// @notice A payment above what is outstanding.
    error Overpayment(uint256 sent, uint256 outstanding);
    /// @notice The loan is already marked late.
    error AlreadyLate(uint256 loanId);
    /// @notice Nothing is overdue (by at least `defaultAfter`, for a default).
    error NotOverdue(uint256 loanId, uint256 repaid, uint256 due);

    /// @param repository_ The ModelRepository whose models are deployed here.
    /// @param paymentPeriod_ Seconds between instalments (e.g. 30 days).
    /// @param defaultAfter_ Seconds overdue before a default can be recorded (e.g. 120 days).
    /// @param offerValidity_ Seconds an offer stays open (e.g. 7 days).
    /// @param fundingWindow_ Seconds the lender has to fund an accepted loan (e.g. 7 days).
    constructor(
        address repository_,
        uint64 paymentPeriod_,
        uint64 defaultAfter_,
        uint64 offerValidity_,
        uint64 fundingWindow_
    ) ProductBase(repository_) {
        if (paymentPeriod_ == 0) revert ZeroParameter("paymentPeriod");
        if (defaultAfter_ == 0) revert ZeroParameter("defaultAfter");
        if (offerValidity_ == 0) revert ZeroParameter("offerValidity");
        if (fundingWindow_ == 0) revert ZeroParameter("fundingWindow");
        paymentPeriod = paymentPeriod_;
        defaultAfter = defaultAfter_;
        offerValidity = offerValidity_;
        fundingWindow = fundingWindow_;
    }

    // ------------------------------------------------------------------ lender

    /// @notice Decide an application.
    /// @param loanId An APPLIED loan of one of the caller's models.
    /// @param approve Offer the loan (OFFERED) or decline it (DECLINED).
    /// @param pdPpm The model's probability of default, ppm (recorded either way).
    /// @param aprBps Offered APR in basis points (<= MAX_APR_BPS); ignored when declining.
    /// @param principal Offered principal (currency units), 0 < principal <= amount applied for.
    /// @param termMonths Offered term, 1..MAX_TERM.
    /// Emits a {LoanDecided} event.
    function decide(
        uint256 loanId,
        bool approve,
        uint32 pdPpm,
        uint16 aprBps,
        uint128 principal,
        uint16 termMonths
    ) external {
        Loan storage l = _loanAs(loanId, LoanStatus.APPLIED);
        _onlyLender(l);
        _checkProbability(pdPpm);
        l.pdPpm = pdPpm;
        if (!approve) {
            l.status = LoanStatus.DECLINED;
            emit LoanDecided(loanId, false, pdPpm, 0, 0, 0, 0);
            return;
        }
        if (aprBps > MAX_APR_BPS) revert AprTooHigh(aprBps, MAX_APR_BPS);
        if (principal == 0 || principal > l.amount) revert InvalidPrincipal(principal, l.amount);
        if (termMonths == 0 || termMonths > MAX_TERM) revert InvalidTerm(termMonths);
        uint256 inst = installmentFor(principal, aprBps, termMonths);
        uint256 owed = inst * termMonths;
        if (owed > type(uint128).max) revert ValueTooLarge(owed, type(uint128).max);
        uint256 expires = block.timestamp + offerValidity;
        if (expires > type(uint40).max) revert ValueTooLarge(expires, type(uint40).max);
        l.status = LoanStatus.OFFERED;
        l.aprBps = aprBps;
        l.principal = principal;
        l.termMonths = termMonths;
        l.installment = uint128(inst);
        l.offerExpires = uint40(expires);
        emit LoanDecided(loanId, true, pdPpm, aprBps, principal, termMonths, inst);
    }

    /// @notice Fund an ACCEPTED loan with exactly its principal, within `fundingWindow` of the
    /// acceptance; the borrower withdraws it. In ether: send the principal as `msg.value`; in a
    /// token: the lender approved this contract for it first (or see {fundWithPermit}), and
    /// the principal is pulled with `transferFrom` (a token that delivers less is refused,
    /// {ShortTransfer}).
    /// Emits a {LoanFunded} event.
    function fund(uint256 loanId) external payable {
        (Loan storage l, Deployment storage d) = _fundable(loanId);
        _take(_currency(d), msg.sender, l.principal);
    }

    /// @notice {fund} in a token, with the lender's EIP-2612 permit for the principal in the
    /// same transaction (an already used or failing permit is ignored: the allowance decides).
    /// Emits a {LoanFunded} event.
    function fundWithPermit(uint256 loanId, Permit calldata p) external payable {
        (Loan storage l, Deployment storage d) = _fundable(loanId);
        _takeWithPermit(d, l.principal, p);
    }

    /// @notice Record that a FUNDED loan missed an instalment (`repaid < dueBy(now)`).
    /// Emits a {LoanLate} event.
    function markLate(uint256 loanId) external {
        Loan storage l = _loanAs(loanId, LoanStatus.FUNDED);
        _onlyLender(l);
        if (l.late) revert AlreadyLate(loanId);
        uint256 due = _dueBy(l, block.timestamp);
        if (l.repaid >= due) revert NotOverdue(loanId, l.repaid, due);
        l.late = true;
        emit LoanLate(loanId, due - l.repaid);
    }

    /// @notice Record a default: an instalment of a FUNDED loan is overdue by at least
    /// `defaultAfter` (`repaid < dueBy(now - defaultAfter)`).
    /// Emits a {LoanDefaulted} event.
    function markDefault(uint256 loanId) external {
        Loan storage l = _loanAs(loanId, LoanStatus.FUNDED);
        _onlyLender(l);
        uint256 due = _dueBy(l, _minusDefaultAfter(block.timestamp));
        if (l.repaid >= due) revert NotOverdue(loanId, l.repaid, due);
        l.status = LoanStatus.DEFAULTED;
        l.late = false; // superseded by the default
        emit LoanDefaulted(loanId, _totalOwed(l) - l.repaid);
    }

    // ------------------------------------------------------------------ borrower

    /// @notice Apply for a loan from a deployed, active model.
    /// @param modelId The deployed model.
    /// @param applicationDigest SHA-256 of the canonical plaintext application; once per model.
    /// @param applicationCid CID of the sealed application.
    /// @param amount Amount asked for, in the deployment's currency (> 0).
    /// @param termMonths Term asked for, 1..MAX_TERM.
    /// @return loanId Id of the new loan (from 1, shared by all models).
    /// Emits a {LoanApplied} event.
    function applyForLoan(
        uint256 modelId,
        bytes32 applicationDigest,
        string calldata applicationCid,
        uint128 amount,
        uint16 termMonths
    ) external returns (uint256 loanId) {
        Deployment storage d = _activeDeployment(modelId);
        if (amount == 0) revert ZeroAmount();
        if (termMonths == 0 || termMonths > MAX_TERM) revert InvalidTerm(termMonths);
        loanId = ++_loanCount;
        _recordApplication(d, modelId, applicationDigest, applicationCid, loanId);
        Loan storage l = _loans[loanId];
        l.borrower = msg.sender;
        l.modelId = uint32(modelId);
        l.requestedTerm = termMonths;
        l.amount = amount;
        l.appliedAt = uint40(block.timestamp);
        emit LoanApplied(
            loanId,
            modelId,
            msg.sender,
            applicationDigest,
            applicationCid,
            amount,
            termMonths
        );
    }

    /// @notice Accept an offer before it expires.
    /// Emits an {OfferAccepted} event.
    function accept(uint256 loanId) external {
        Loan storage l = _loanAs(loanId, LoanStatus.OFFERED);
        if (msg.sender != l.borrower) revert NotBorrower(msg.sender, l.borrower);
        if (block.timestamp > l.offerExpires) {
            revert OfferExpired(loanId, l.offerExpires, block.timestamp);
        }
        l.status = LoanStatus.ACCEPTED;
        l.acceptedAt = uint40(block.timestamp);
        emit OfferAccepted(loanId);
    }

    /// @notice Pay `amount` towards a FUNDED loan, or recover on a DEFAULTED one (anyone may
    /// pay). In ether `msg.value` is `amount`; in a token the payer approved this contract for
    /// it (or see {repayWithPermit}).
    /// @dev Credited to the lender. A FUNDED loan takes `0 < amount <= payoffAmount(now)`
    /// (paying ahead never pays future months' interest) and is REPAID when the payment is its
    /// whole payoff; a late one that caught up (`repaid >= dueBy(now)`) is cured. A DEFAULTED
    /// loan takes up to what is outstanding and is RECOVERED when paid in full.
    /// Emits a {Repayment} event, and {LoanRepaid} or {LoanCured} when that happens.
    function repay(uint256 loanId, uint256 amount) external payable {
        _take(_currency(_repay(loanId, amount)), msg.sender, amount);
    }

    /// @notice {repay} in a token with the payer's EIP-2612 permit for `amount` in the same
    /// transaction: one signature and one transaction per payment.
    /// Emits a {Repayment} event, and {LoanRepaid} or {LoanCured} when that happens.
    function repayWithPermit(
        uint256 loanId,
        uint256 amount,
        Permit calldata p
    ) external payable {
        _takeWithPermit(_repay(loanId, amount), amount, p);
    }

    /// @notice Pay a FUNDED loan off early (anyone may pay), offering up to `maxAmount`
    /// (`>= payoffAmount(loanId)` at the block's time). In ether `msg.value` is `maxAmount`:
    /// the payoff is credited to the lender and the excess back to the payer's pending
    /// balance. In a token exactly the payoff is pulled (the payer approved at least it). The
    /// loan is REPAID. See the contract notice for the payoff rule.
    /// Emits {Repayment}, {LoanPaidOff} and {LoanRepaid} events.
    function repayAll(uint256 loanId, uint256 maxAmount) external payable {
        (Deployment storage d, uint256 amount) = _repayAll(loanId, maxAmount);
        _take(_currency(d), msg.sender, d.inToken ? amount : maxAmount);
    }

    /// @notice {repayAll} in a token with the payer's EIP-2612 permit (for `maxAmount`, or at
    /// least the payoff) in the same transaction.
    /// Emits {Repayment}, {LoanPaidOff} and {LoanRepaid} events.
    function repayAllWithPermit(
        uint256 loanId,
        uint256 maxAmount,
        Permit calldata p
    ) external payable {
        (Deployment storage d, uint256 amount) = _repayAll(loanId, maxAmount);
        _takeWithPermit(d, d.inToken ? amount : maxAmount, p);
    }

    /// @notice Cancel a loan before funding: the borrower in APPLIED / OFFERED / ACCEPTED, the
    /// lender in OFFERED / ACCEPTED.
    /// Emits a {LoanCancelled} event.
    function cancel(uint256 loanId) external {
        Loan storage l = _loan(loanId);
        LoanStatus status = l.status;
        bool open = status == LoanStatus.OFFERED || status == LoanStatus.ACCEPTED;
        if (msg.sender == l.borrower) {
            if (!open && status != LoanStatus.APPLIED) revert WrongStatus(loanId, status);
        } else if (msg.sender == _deployments[l.modelId].deployer) {
            if (!open) revert WrongStatus(loanId, status);
        } else {
            revert NotParty(msg.sender, loanId);
        }
        l.status = LoanStatus.CANCELLED;
        emit LoanCancelled(loanId, msg.sender);
    }

    // ------------------------------------------------------------------ views

    /// @notice Number of loans; ids run from 1 to this.
    function loanCount() external view returns (uint256) {
        return _loanCount;
    }

    /// @notice The stored state of a loan.
    function getLoan(uint256 loanId) external view returns (Loan memory) {
        return _loan(loanId);
    }

    /// @notice What {repayAll} takes at `timestamp` (>= now; 0 unless FUNDED): the balance after
    /// the instalments due by then, the interest accrued since the last due date, and arrears.
    function payoffAmount(uint256 loanId, uint256 timestamp) external view returns (uint256) {
        Loan storage l = _loan(loanId);
        if (l.status != LoanStatus.FUNDED) return 0;
        return _payoff(l, timestamp > block.timestamp ? timestamp : block.timestamp);
    }

    /// @notice `installment * termMonths` (0 before an offer).
    function totalOwed(uint256 loanId) external view returns (uint256) {
        return _totalOwed(_loan(loanId));
    }

    /// @notice What remains to pay on a FUNDED or DEFAULTED loan (0 otherwise).
    function outstanding(uint256 loanId) external view returns (uint256) {
        Loan storage l = _loan(loanId);
        if (l.status != LoanStatus.FUNDED && l.status != LoanStatus.DEFAULTED) return 0;
        return _totalOwed(l) - l.repaid;
    }

    /// @notice Cumulative amount due by `timestamp` (0 unless funded).
    function dueBy(uint256 loanId, uint256 timestamp) external view returns (uint256) {
        return _dueBy(_loan(loanId), timestamp);
    }

    /// @notice The earliest unpaid instalment of a FUNDED loan: its due time, and what to pay
    /// to be up to date by then (`dueBy(max(timestamp, now)) - repaid`, so arrears included).
    /// (0, 0) for a loan that is not FUNDED.
    function nextDue(uint256 loanId) external view returns (uint256 timestamp, uint256 amount) {
        Loan storage l = _loan(loanId);
        if (l.status != LoanStatus.FUNDED) return (0, 0);
        uint256 k = uint256(l.repaid) / l.installment + 1;
        timestamp = uint256(l.fundedAt) + k * paymentPeriod;
        uint256 at = timestamp > block.timestamp ? timestamp : block.timestamp;
        amount = _dueBy(l, at) - l.repaid;
    }

    /// @notice Whether a FUNDED loan has an unpaid instalment due now ({markLate} would pass
    /// unless it is already marked).
    function isLate(uint256 loanId) external view returns (bool) {
        Loan storage l = _loan(loanId);
        return l.status == LoanStatus.FUNDED && l.repaid < _dueBy(l, block.timestamp);
    }

    /// @notice Whether {markDefault} would succeed now.
    function canDefault(uint256 loanId) external view returns (bool) {
        Loan storage l = _loan(loanId);
        return
            l.status == LoanStatus.FUNDED &&
            l.repaid < _dueBy(l, _minusDefaultAfter(block.timestamp));
    }

    /// @notice The instalment of an amortised loan (see the contract notice for the formula).
    function installmentFor(
        uint256 principal,
        uint256 aprBps,
        uint256 termMonths
    ) public pure returns (uint256) {
        if (termMonths == 0 || termMonths > MAX_TERM) revert InvalidTerm(termMonths);
        if (aprBps > MAX_APR_BPS) revert AprTooHigh(aprBps, MAX_APR_BPS);
        if (principal > type(uint128).max) revert ValueTooLarge(principal, type(uint128).max);
        if (aprBps == 0) return _ceilDiv(principal, termMonths);
        uint256 i = (aprBps * WAD) / 120_000;
        uint256 f = _rpow(WAD + i, termMonths);
        return _ceilDiv(_ceilDiv(principal * f, f - WAD) * i, WAD);
    }

    // ------------------------------------------------------------------ internals

    function _loan(uint256 loanId) private view returns (Loan storage l) {
        l = _loans[loanId];
        if (l.borrower == address(0)) revert UnknownLoan(loanId);
    }

    function _loanAs(uint256 loanId, LoanStatus status) private view returns (Loan storage l) {
        l = _loan(loanId);
        if (l.status != status) revert WrongStatus(loanId, l.status);
    }

    function _onlyLender(Loan storage l) private view returns (Deployment storage d) {
        d = _deployments[l.modelId];
        if (msg.sender != d.deployer) revert NotLender(msg.sender, d.deployer);
    }

    function _revertNotDeployer(address caller, address deployer) internal pure override {
        revert NotLender(caller, deployer);
    }

    /// Fund the ACCEPTED loan `loanId` (the caller is its lender, within the funding window;
    /// in ether `msg.value` is the principal): credit the borrower; the caller takes the money.
    function _fundable(uint256 loanId) private returns (Loan storage l, Deployment storage d) {
        l = _loanAs(loanId, LoanStatus.ACCEPTED);
        d = _onlyLender(l);
        uint256 fundBy = uint256(l.acceptedAt) + fundingWindow;
        if (block.timestamp > fundBy) revert FundingExpired(loanId, fundBy, block.timestamp);
        uint256 principal = l.principal;
        if (!d.inToken && msg.value != principal) revert WrongAmount(msg.value, principal);
        l.status = LoanStatus.FUNDED;
        l.fundedAt = uint40(block.timestamp);
        _credit(l.borrower, _currency(d), principal);
        emit LoanFunded(loanId, principal, uint64(block.timestamp));
    }

    /// Book a payment of `amount` on `loanId` (see {repay}); the caller takes the money.
    function _repay(uint256 loanId, uint256 amount) private returns (Deployment storage d) {
        Loan storage l = _loan(loanId);
        LoanStatus status = l.status;
        if (status != LoanStatus.FUNDED && status != LoanStatus.DEFAULTED) {
            revert WrongStatus(loanId, status);
        }
        if (amount == 0) revert ZeroAmount();
        uint256 owed = _totalOwed(l);
        uint256 repaid = l.repaid;
        // a FUNDED loan takes at most its payoff: paying ahead never pays future interest
        uint256 cap = status == LoanStatus.FUNDED ? _payoff(l, block.timestamp) : owed - repaid;
        if (amount > cap) revert Overpayment(amount, cap);
        repaid += amount;
        l.repaid = uint128(repaid);
        d = _deployments[l.modelId];
        _credit(d.deployer, _currency(d), amount);
        emit Repayment(loanId, msg.sender, amount, repaid);
        if (status != LoanStatus.FUNDED) {
            if (repaid == owed) {
                l.status = LoanStatus.RECOVERED;
                emit LoanRecovered(loanId);
            }
            return d;
        }
        if (amount == cap) {
            l.status = LoanStatus.REPAID;
            l.late = false;
            if (repaid < owed) emit LoanPaidOff(loanId, amount);
            emit LoanRepaid(loanId);
        } else if (l.late && repaid >= _dueBy(l, block.timestamp)) {
            l.late = false;
            emit LoanCured(loanId);
        }
    }

    /// Book the payoff of `loanId` offered up to `maxAmount` (see {repayAll}); returns the
    /// deployment and the payoff; the caller takes the money.
    function _repayAll(
        uint256 loanId,
        uint256 maxAmount
    ) private returns (Deployment storage d, uint256 amount) {
        Loan storage l = _loanAs(loanId, LoanStatus.FUNDED);
        amount = _payoff(l, block.timestamp);
        if (maxAmount < amount) revert InsufficientPayoff(maxAmount, amount);
        uint256 repaid = uint256(l.repaid) + amount;
        l.repaid = uint128(repaid);
        l.status = LoanStatus.REPAID;
        l.late = false;
        d = _deployments[l.modelId];
        _credit(d.deployer, _currency(d), amount);
        // in ether the payer sent maxAmount: the excess is its to withdraw
        if (!d.inToken && maxAmount > amount) _credit(msg.sender, ETH, maxAmount - amount);
        emit Repayment(loanId, msg.sender, amount, repaid);
        emit LoanPaidOff(loanId, amount);
        emit LoanRepaid(loanId);
    }

    function _totalOwed(Loan storage l) private view returns (uint256) {
        return uint256(l.installment) * l.termMonths;
    }

    function _dueBy(Loan storage l, uint256 timestamp) private view returns (uint256) {
        uint256 fundedAt = l.fundedAt;
        if (fundedAt == 0 || timestamp < fundedAt) return 0;
        uint256 k = (timestamp - fundedAt) / paymentPeriod;
        if (k > l.termMonths) k = l.termMonths;
        return k * l.installment;
    }

    /// The early payoff at `t` (see the contract notice), rounded up, capped by what is owed.
    function _payoff(Loan storage l, uint256 t) private view returns (uint256) {
        uint256 n = l.termMonths;
        uint256 inst = l.installment;
        uint256 repaid = l.repaid;
        uint256 owedLeft = inst * n - repaid;
        uint256 elapsed = t - l.fundedAt;
        uint256 k = elapsed / paymentPeriod;
        if (k >= n) return owedLeft;
        uint256 balance = l.principal;
        uint256 accrued;
        if (l.aprBps == 0) {
            balance = balance > k * inst ? balance - k * inst : 0;
        } else {
            uint256 i = (uint256(l.aprBps) * WAD) / 120_000;
            uint256 g = WAD + i;
            // B_j = max(0, ceil(B_{j-1} * g / WAD) - installment) for j = 1..k (k < n <= 120;
            // ~110 gas a month). Unchecked: the balance never grows (installment >=
            // ceil(principal * i / WAD)), so balance * g + WAD < 2^128 * 2^60; the subtraction
            // follows its check; once 0 it stays 0
            unchecked {
                for (uint256 j = k; j != 0; --j) {
                    balance = (balance * g + (WAD - 1)) / WAD;
                    if (balance <= inst) {
                        balance = 0;
                        break;
                    }
                    balance -= inst;
                }
            }
            accrued = _ceilDiv(balance * i * (elapsed - k * paymentPeriod), WAD * paymentPeriod);
        }
        uint256 total = k * inst + balance + accrued;
        if (total <= repaid) return 0;
        total -= repaid;
        return total < owedLeft ? total : owedLeft;
    }

    function _minusDefaultAfter(uint256 timestamp) private view returns (uint256) {
        return timestamp > defaultAfter ? timestamp - defaultAfter : 0;
    }

    /// x^n in WAD fixed point, by squaring, each product floored.
    function _rpow(uint256 x, uint256 n) private pure returns (uint256 z) {
        z = WAD;
        while (n > 0) {
            if (n & 1 == 1) z = (z * x) / WAD;
            n >>= 1;
            if (n > 0) x = (x * x) / WAD;
        }
    }

    function _ceilDiv(uint256 a, uint256 b) private pure returns (uint256) {
        return a == 0 ? 0 : (a - 1) / b + 1;
    }
}
