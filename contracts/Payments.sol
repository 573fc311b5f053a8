// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title Payments: pull payments in any currency, the money plumbing Hessian's contracts share
/// @notice A currency is `address(0)` for ether or an ERC-20 token's address. Money owed to an
/// account is credited to its pending balance in that currency and pulled with
/// {withdraw}(currency); one currency's trouble (a token that reverts, say) never touches
/// another's. Money comes in with {_take}: ether as `msg.value`, a token by `transferFrom`
/// (after an optional EIP-2612 `permit` in the same transaction, see {_permit}); a token that
/// delivers less than asked (fee on transfer, rebasing) is refused with {ShortTransfer}, never
/// silently short-credited. Nothing assumes 18 decimals: amounts are base units.
///
/// Invariant, per currency: `totalPendingOf(currency) == Σ pendingOf(account, currency)`, and
/// the inheriting contract's own accounting adds what it holds in escrow.
abstract contract Payments is ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice The currency id of ether.
    address public constant ETH = address(0);

    /// @notice An EIP-2612 permit signed by the payer: `value` for this contract until
    /// `deadline`, signature `(v, r, s)`.
    struct Permit {
        uint256 value;
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// account => currency => amount it can withdraw
    mapping(address => mapping(address => uint256)) private _pending;
    /// currency => 1 + sum of the pending balances in it once the currency is open (see
    /// {_openCurrency}; 0 before): the first credit then pays no new storage slot for the total
    mapping(address => uint256) private _totalPending;

    /// @notice `account` withdrew `amount` of `currency`.
    event Withdrawn(address indexed account, address indexed currency, uint256 amount);

    /// @notice No pending balance in this currency.
    error NothingToWithdraw(address account, address currency);
    /// @notice Sending ether failed.
    error TransferFailed(address to, uint256 amount);
    /// @notice The ether sent is not what the call takes (a token call takes none).
    error WrongValue(uint256 sent, uint256 required);
    /// @notice The token delivered less (or more) than asked: fee-on-transfer and rebasing
    /// tokens are refused.
    error ShortTransfer(address currency, uint256 expected, uint256 received);
    /// @notice The currency is neither ether nor a contract.
    error NotAToken(address currency);

    /// @notice Send the caller its pending balance in `currency` (checks-effects-interactions,
    /// reentrancy guard).
    /// Emits a {Withdrawn} event.
    function withdraw(address currency) external nonReentrant {
        uint256 amount = _pending[msg.sender][currency];
        if (amount == 0) revert NothingToWithdraw(msg.sender, currency);
        _pending[msg.sender][currency] = 0;
        _totalPending[currency] -= amount;
        emit Withdrawn(msg.sender, currency, amount);
        if (currency == ETH) {
            (bool ok, ) = payable(msg.sender).call{value: amount}("");
            if (!ok) revert TransferFailed(msg.sender, amount);
        } else {
            IERC20(currency).safeTransfer(msg.sender, amount);
        }
    }

    /// @notice Balance `account` can withdraw in `currency`.
    function pendingOf(address account, address currency) external view returns (uint256) {
        return _pending[account][currency];
    }

    /// @notice Sum of all pending balances in `currency`.
    function totalPendingOf(address currency) external view returns (uint256) {
        uint256 total = _totalPending[currency];
        return total == 0 ? 0 : total - 1;
    }

    /// Credit `amount` of `currency` to `account` (withdrawn later).
    function _credit(address account, address currency, uint256 amount) internal {
        _pending[account][currency] += amount;
        uint256 total = _totalPending[currency];
        _totalPending[currency] = (total == 0 ? 1 : total) + amount;
    }

    /// Open `currency` before its first credit: its total's storage slot becomes non-zero now
    /// (20,000 gas once per currency, paid by a call that writes new storage anyway, e.g.
    /// creating a model), so that no credit (an evaluation, say) ever pays for it.
    function _openCurrency(address currency) internal {
        if (_totalPending[currency] == 0) _totalPending[currency] = 1;
    }

    /// Take `amount` of `currency` from `from` into this contract: ether must be exactly
    /// `msg.value`; a token is pulled with `transferFrom` (no ether sent) and the balance
    /// change must be exactly `amount`.
    function _take(address currency, address from, uint256 amount) internal {
        if (currency == ETH) {
            if (msg.value != amount) revert WrongValue(msg.value, amount);
            return;
        }
        if (msg.value != 0) revert WrongValue(msg.value, 0);
        if (currency.code.length == 0) revert NotAToken(currency);
        if (amount == 0) return;
        IERC20 token = IERC20(currency);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 afterwards = token.balanceOf(address(this));
        uint256 received = afterwards > before ? afterwards - before : 0;
        if (received != amount) revert ShortTransfer(currency, amount, received);
    }

    /// Use the payer's EIP-2612 permit if it still works. A permit seen in the mempool can be
    /// submitted by anyone first, which would make a strict `permit(); transferFrom()` revert:
    /// so a failed permit is ignored and the allowance decides (the accepted fix in audited
    /// protocols); a token without `permit` simply needs a prior `approve`.
    function _permit(address currency, address owner, Permit calldata p) internal {
        if (currency == ETH || p.deadline == 0) return;
        try IERC20Permit(currency).permit(owner, address(this), p.value, p.deadline, p.v, p.r, p.s) {
            // allowance set
        } catch {
            // already used, or no permit: the allowance decides in transferFrom
        }
    }
}
