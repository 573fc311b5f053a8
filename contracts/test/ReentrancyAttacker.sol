// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @notice The part of ModelRepository the attacker calls.
interface IModelRepository {
    function submitUpdate(
        uint256 modelId,
        string calldata updateCid,
        bytes32 datasetDigest,
        uint64 rows,
        uint96 minStaleReserve
    ) external payable returns (uint256);

    function withdraw(address currency) external;

    function claimShare(uint256 updateId) external;

    function claimForfeit(uint256 updateId) external;
}

/// @title ReentrancyAttacker (tests only)
/// @notice A data owner that, when paid in ether by {IModelRepository.withdraw}, calls back
/// into the repository to be paid twice. Modes:
/// 0 = no re-entry (an honest contract owner);
/// 1 = re-enter withdraw() and swallow the revert (records its error data);
/// 2 = re-enter withdraw() and bubble the revert up (the whole withdrawal fails);
/// 3 = re-enter claimShare(target) to be credited the share again (swallowed, recorded);
/// 4 = re-enter claimForfeit(target) to be credited the forfeit share again (swallowed,
///     recorded).
/// A successful re-entry in modes 3 and 4 would leave a pending balance (tests check it is 0).
contract ReentrancyAttacker {
    IModelRepository public immutable repo;
    uint8 public mode;
    uint256 public target;
    uint256 public reentries;
    bytes public lastReentryError;

    constructor(IModelRepository repo_) {
        repo = repo_;
    }

    /// @notice Submit an update as this contract (it becomes the owner to be paid).
    function submit(
        uint256 modelId,
        string calldata updateCid,
        bytes32 digest,
        uint64 rows
    ) external payable returns (uint256) {
        return repo.submitUpdate{value: msg.value}(modelId, updateCid, digest, rows, 0);
    }

    /// @notice Withdraw with re-entry behaviour `mode_`.
    function attack(uint8 mode_) external {
        mode = mode_;
        repo.withdraw(address(0));
    }

    /// @notice Claim `updateId`'s share (mode 3: claimShare) or forfeit share (mode 4:
    /// claimForfeit), then withdraw and, when paid, claim the same submission again.
    function claimAndWithdraw(uint8 mode_, uint256 updateId) external {
        mode = mode_;
        target = updateId;
        if (mode_ == 3) {
            repo.claimShare(updateId);
        } else {
            repo.claimForfeit(updateId);
        }
        repo.withdraw(address(0));
    }

    receive() external payable {
        if (mode == 0 || reentries > 0) return;
        reentries += 1;
        if (mode == 2) {
            repo.withdraw(address(0));
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
            repo.withdraw(address(0));
        } else if (mode == 3) {
            repo.claimShare(target);
        } else {
            repo.claimForfeit(target);
        }
    }
}
