// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title HessianToken (HSN): the token of the Hessian system
/// @notice A plain ERC-20 with EIP-2612 `permit`, 18 decimals and a fixed supply minted once, at
/// deployment, to an address the deployer names. There is no owner, no mint after deployment,
/// no pause and no upgrade hook: nothing a holder has to trust. Used as a bounty currency (the
/// demo's default) and for whatever its holders use it for.
contract HessianToken is ERC20, ERC20Permit {
    /// @notice The recipient of the supply is the zero address.
    error ZeroRecipient();
    /// @notice The supply is zero.
    error ZeroSupply();

    /// @param recipient Receives the whole supply.
    /// @param supply Total supply in base units (18 decimals).
    constructor(
        address recipient,
        uint256 supply
    ) ERC20("Hessian", "HSN") ERC20Permit("Hessian") {
        if (recipient == address(0)) revert ZeroRecipient();
        if (supply == 0) revert ZeroSupply();
        _mint(recipient, supply);
    }
}
