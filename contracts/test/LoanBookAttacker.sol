// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The part of LoanBook the attacker calls.
interface ILoanBook {
    function applyForLoan(
        uint256 modelId,
        bytes32 applicationDigest,
        string calldata applicationCid,
        uint128 amount,
        uint16 termMonths
    ) external returns (uint256);

    function accept(uint256 loanId) external;

    function repayAll(uint256 loanId, uint256 maxAmount) external payable;

    function withdraw(address currency) external;
}

/// @title LoanBookAttacker (tests only)
/// @notice A borrower that, when paid its principal in ether by {ILoanBook.withdraw}, calls back
/// into the LoanBook to be paid twice. Modes: 0 = no re-entry (an honest contract borrower),
/// 1 = re-enter withdraw() and swallow the revert (records its error data),
/// 2 = re-enter withdraw() and bubble the revert up (the whole withdrawal fails),
/// 3 = pay loan `payoffLoan` off with everything this contract holds ({ILoanBook.repayAll}; a
/// revert there bubbles up), then re-enter withdraw() and swallow the revert.
contract LoanBookAttacker {
    ILoanBook public immutable book;
    uint8 public mode;
    uint256 public reentries;
    uint256 public payoffLoan;
    bytes public lastReentryError;

    constructor(ILoanBook book_) {
        book = book_;
    }

    /// @notice Apply as this contract (it becomes the borrower to be paid).
    function applyFor(
        uint256 modelId,
        bytes32 digest,
        string calldata cid,
        uint128 amount,
        uint16 termMonths
    ) external returns (uint256) {
        return book.applyForLoan(modelId, digest, cid, amount, termMonths);
    }

    /// @notice Accept an offer made to this contract.
    function acceptOffer(uint256 loanId) external {
        book.accept(loanId);
    }

    /// @notice Withdraw with re-entry behaviour `mode_`.
    function attack(uint8 mode_) external {
        mode = mode_;
        book.withdraw(address(0));
    }

    /// @notice Withdraw in mode 3: once paid, pay `loanId` off from inside the withdrawal with
    /// the principal just received plus the ether sent with this call.
    function attackPayoff(uint256 loanId) external payable {
        mode = 3;
        payoffLoan = loanId;
        book.withdraw(address(0));
    }

    receive() external payable {
        if (mode == 0 || reentries > 0) return;
        reentries += 1;
        if (mode == 3) {
            book.repayAll{value: address(this).balance}(payoffLoan, address(this).balance);
        }
        if (mode == 1 || mode == 3) {
            try book.withdraw(address(0)) {
                lastReentryError = "";
            } catch (bytes memory reason) {
                lastReentryError = reason;
            }
        } else {
            book.withdraw(address(0));
        }
    }
}
