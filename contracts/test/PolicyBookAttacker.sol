// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The part of PolicyBook the attacker calls.
interface IPolicyBook {
    function applyForPolicy(
        uint256 modelId,
        bytes32 applicationDigest,
        string calldata applicationCid,
        uint128 coverage,
        uint32 term
    ) external returns (uint256);

    function accept(uint256 policyId, uint64 startsAt) external payable;

    function fileClaim(
        uint256 policyId,
        uint128 amount,
        string calldata evidenceCid
    ) external returns (uint256);

    function settleClaim(uint256 claimId) external;

    function cancel(uint256 policyId) external;

    function withdraw(address currency) external;
}

/// @title PolicyBookAttacker (tests only)
/// @notice A policyholder contract that, when paid in ether by {IPolicyBook.withdraw}, calls
/// back into the PolicyBook to be paid twice. Modes: 0 = no re-entry (an honest contract
/// holder); 1 = re-enter withdraw() and swallow the revert (records its error data);
/// 2 = re-enter withdraw() and bubble the revert up (the whole withdrawal fails);
/// 3 = re-enter settleClaim(target) to be paid the claim again (swallowed, recorded);
/// 4 = re-enter cancel(target) to be refunded the premium again (swallowed, recorded).
contract PolicyBookAttacker {
    IPolicyBook public immutable book;
    uint8 public mode;
    uint256 public target;
    uint256 public reentries;
    bytes public lastReentryError;

    constructor(IPolicyBook book_) {
        book = book_;
    }

    /// @notice Apply as this contract (it becomes the holder to be paid).
    function applyFor(
        uint256 modelId,
        bytes32 digest,
        string calldata cid,
        uint128 coverage,
        uint32 term
    ) external returns (uint256) {
        return book.applyForPolicy(modelId, digest, cid, coverage, term);
    }

    /// @notice Buy a quoted policy, paying the premium sent with this call.
    function buy(uint256 policyId, uint64 startsAt) external payable {
        book.accept{value: msg.value}(policyId, startsAt);
    }

    /// @notice File a claim as the holder.
    function claim(uint256 policyId, uint128 amount, string calldata cid) external returns (uint256) {
        return book.fileClaim(policyId, amount, cid);
    }

    /// @notice Cancel a policy as the holder.
    function cancelPolicy(uint256 policyId) external {
        book.cancel(policyId);
    }

    /// @notice Withdraw with re-entry behaviour `mode_` against `target_`.
    function attack(uint8 mode_, uint256 target_) external {
        mode = mode_;
        target = target_;
        book.withdraw(address(0));
    }

    receive() external payable {
        if (mode == 0 || reentries > 0) return;
        reentries += 1;
        if (mode == 2) {
            book.withdraw(address(0));
            return;
        }
        try this.reenter() {
            lastReentryError = "";
        } catch (bytes memory reason) {
            lastReentryError = reason;
        }
    }

    /// @notice The re-entering call of the current mode (external so {receive} can catch it).
    function reenter() external {
        require(msg.sender == address(this), "self only");
        if (mode == 1) {
            book.withdraw(address(0));
        } else if (mode == 3) {
            book.settleClaim(target);
        } else {
            book.cancel(target);
        }
    }
}
