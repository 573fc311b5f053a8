// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title Misbehaving ERC-20 tokens (tests only)
/// @notice Each breaks one promise of a well-behaved token, to show Hessian's contracts keep
/// their accounting and never lock money in another currency:
/// {FalseToken} returns false from transfers, {RevertingToken} reverts on demand,
/// {FeeToken} delivers less than asked, {LyingToken} reports a balance it does not hold,
/// {ReentrantToken} calls back into a target during every transfer.
abstract contract MintableTestToken is ERC20 {
    constructor(string memory name_) ERC20(name_, name_) {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}

/// @notice `transfer` and `transferFrom` return false and move nothing.
contract FalseToken is MintableTestToken("FALSE") {
    function transfer(address, uint256) public pure override returns (bool) {
        return false;
    }

    function transferFrom(address, address, uint256) public pure override returns (bool) {
        return false;
    }
}

/// @notice Reverts every transfer while `broken` is set.
contract RevertingToken is MintableTestToken("REVERT") {
    bool public broken;

    function setBroken(bool value) external {
        broken = value;
    }

    function _update(address from, address to, uint256 value) internal override {
        require(!broken, "token is broken");
        super._update(from, to, value);
    }
}

/// @notice Burns 1 % of every transfer between two accounts (fee on transfer).
contract FeeToken is MintableTestToken("FEE") {
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && to != address(0)) {
            uint256 fee = value / 100;
            super._update(from, address(0), fee);
            value -= fee;
        }
        super._update(from, to, value);
    }
}

/// @notice `transferFrom` moves nothing, and `balanceOf` adds what it pretended to move.
contract LyingToken is MintableTestToken("LIAR") {
    mapping(address => uint256) public phantom;

    function transferFrom(address, address to, uint256 value) public override returns (bool) {
        phantom[to] += value;
        return true;
    }

    function balanceOf(address account) public view override returns (uint256) {
        return super.balanceOf(account) + phantom[account];
    }
}

/// @notice On every transfer, calls `target` with `data` once (and records the revert).
contract ReentrantToken is MintableTestToken("REENTER") {
    address public target;
    bytes public data;
    bool private _inside;
    uint256 public attempts;
    bytes public lastError;

    function arm(address target_, bytes calldata data_) external {
        target = target_;
        data = data_;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (target != address(0) && !_inside && from != address(0)) {
            _inside = true;
            attempts += 1;
            (bool ok, bytes memory err) = target.call(data);
            if (!ok) lastError = err;
            _inside = false;
        }
    }
}
