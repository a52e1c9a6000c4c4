"""VMTP groups 1-6: VM to VM on one network, across a router (fixed IP) and through NAT
(floating IP), with both VMs on one compute host (intra-node) or on two (inter-node)."""

VMTP_KIND = "vm"


def test_flow(vmtp_scenario, vm_endpoints, vmtp_measure):
    vmtp_measure(vm_endpoints)
