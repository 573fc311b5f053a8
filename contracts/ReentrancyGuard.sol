// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ReentrancyGuard: the one guard Hessian's contracts share
/// @notice A function marked {nonReentrant} reverts with {ReentrancyGuardReentrantCall} when it
/// is entered again before it returns (e.g. from the receiver of an ether transfer).
/// @dev One storage slot, set to `_ENTERED` for the duration of the guarded call. Inherited
/// first, so the slot is the contract's slot 0.
abstract contract ReentrancyGuard {
    uint256 private constant _NOT_ENTERED = 1;
    uint256 private constant _ENTERED = 2;

    uint256 private _guard = _NOT_ENTERED;

    /// @notice A guarded function was re-entered.
    error ReentrancyGuardReentrantCall();

    modifier nonReentrant() {
        if (_guard == _ENTERED) revert ReentrancyGuardReentrantCall();
        _guard = _ENTERED;
        _;
        _guard = _NOT_ENTERED;
    }
}
