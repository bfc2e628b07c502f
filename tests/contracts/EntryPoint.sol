// SPDX-License-Identifier: MIT
// The deposit part of an ERC-4337 EntryPoint: depositTo(address) payable and
// balanceOf(address) (selector 0x70a08231), which is what a paymaster's deposit is read with.
pragma solidity ^0.8.20;

contract EntryPoint {
    mapping(address => uint256) public balanceOf;

    function depositTo(address account) external payable {
        balanceOf[account] += msg.value;
    }
}
