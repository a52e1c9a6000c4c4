"""VMTP group 8: an external host uploading to / downloading from a VM's floating IP."""

VMTP_KIND = "external"


def test_flow(vmtp_scenario, external_endpoints, vmtp_measure):
    vmtp_measure(external_endpoints)
