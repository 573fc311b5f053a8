// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title TestUSD (tUSD): a TEST dollar token for local development chains only
/// @notice Worthless by design. It gives the lending and insurance halves dollar amounts on a
/// dev chain (6 decimals, like the widely used dollar tokens: $8,000 is 8,000,000,000 base
/// units). Anyone may take test dollars from its {faucet}, but only on the local development
/// chains (chain ids 1337, 31337 and eth-tester's): deployed anywhere else the faucet reverts,
/// and the lender names a real dollar token's address instead. Supports EIP-2612 `permit`.
contract TestUSD is ERC20, ERC20Permit {
    /// @notice Most a single faucet call hands out: $1,000,000.
    uint256 public constant FAUCET_MAX = 1_000_000 * 10 ** 6;

    /// @notice The faucet exists only on local development chains.
    error NotADevChain(uint256 chainId);
    /// @notice More than FAUCET_MAX asked for.
    error FaucetTooMuch(uint256 amount, uint256 max);

    constructor() ERC20("Test USD (dev chains only)", "tUSD") ERC20Permit("Test USD") {}

    /// @notice 6 decimals, like the widely used dollar tokens.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Mint `amount` test dollars to `to` (dev chains only, at most FAUCET_MAX a call).
    /// Emits a {Transfer} event from the zero address.
    function faucet(address to, uint256 amount) external {
        if (!isDevChain()) revert NotADevChain(block.chainid);
        if (amount > FAUCET_MAX) revert FaucetTooMuch(amount, FAUCET_MAX);
        _mint(to, amount);
    }

    /// @notice Whether this chain is a local development chain (the faucet works here).
    function isDevChain() public view returns (bool) {
        uint256 id = block.chainid;
        return id == 1337 || id == 31337 || id == 131277322940537;
    }
}
