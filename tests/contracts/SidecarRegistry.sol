// SPDX-License-Identifier: MIT
// The one view of the fleet's SidecarRegistry that fleetboard reads: the public mapping
// whose getter is operatorMasterWallet(bytes32) (selector 0x664cc611), as in the fleet's
// crates/agentkeys-chain/src/SidecarRegistry.sol. The setter stands in for the real
// registration flow, so tests and the demo can register a slot's master.
pragma solidity ^0.8.20;

contract SidecarRegistry {
    mapping(bytes32 => address) public operatorMasterWallet;

    function setOperatorMasterWallet(bytes32 operatorOmni, address master) external {
        operatorMasterWallet[operatorOmni] = master;
    }
}
