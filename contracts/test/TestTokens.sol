// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title PlainToken (tests only): a well-behaved ERC-20 without permit, any decimals
/// @notice Shows that nothing assumes 18 decimals or EIP-2612: a token with 0, 2 or 6
/// decimals and no `permit` is a currency like any other (the wrappers `approve` it), and that
/// a token's symbol is a stranger's string (the apps show it safely).
contract PlainToken is ERC20 {
    uint8 private immutable _decimals;

    constructor(
        string memory name_,
        string memory symbol_,
        uint8 decimals_
    ) ERC20(name_, symbol_) {
        _decimals = decimals_;
    }

    function decimals() public view override returns (uint8) {
        return _decimals;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
